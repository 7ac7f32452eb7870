//! Datasets and loader on small synthetic training sets: crop boxes, channel order, shapes,
//! determinism across worker counts, splits, bounded prefetching.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::{
    split_by_file, ChamberDataset, ChamberOptions, Dataset, Loader, LoaderOptions, Mode,
    SegOptions, SegmentationDataset, Storage, StorageChoice, TrackOptions, TrackingDataset,
    Weights,
};
use deltacell_data::image::{Mask, Plane, WeightMap};
use deltacell_data::io;
use deltacell_data::random::SampleRng;
use deltacell_data::tiles::CroppingBox;
use deltacell_data::weights::WeightRecipe;
use deltacell_data::Error;
use deltacell_data::{Batch, SampleLayout};

/// A 16-bit image whose pixel value encodes its position: `(r·w + c + 1 + offset) / 65535`.
fn position_image(h: usize, w: usize, offset: u16) -> Plane<u16> {
    Plane::from_fn(h, w, |r, c| (r * w + c) as u16 + 1 + offset)
}

/// Decodes a position-coded value back to `(row, col)` in an image of width `w`.
fn decode(v: f32, w: usize, offset: u16) -> Option<(usize, usize)> {
    let k = (v * 65535.0).round() as i64 - 1 - i64::from(offset);
    (k >= 0).then(|| ((k as usize) / w, (k as usize) % w))
}

fn rect(h: usize, w: usize, r0: usize, r1: usize, c0: usize, c1: usize) -> Mask {
    Mask::from_fn(h, w, |r, c| (r0..r1).contains(&r) && (c0..c1).contains(&c))
}

fn make_dirs(root: &Path, names: &[&str]) {
    for n in names {
        std::fs::create_dir_all(root.join(n)).unwrap();
    }
}

/// A segmentation set of `n` files of `h × w`, with `wei/` when `weights`.
fn seg_set(root: &Path, n: usize, (h, w): (usize, usize), weights: bool) {
    make_dirs(root, &["img", "seg", "wei"]);
    for i in 0..n {
        let name = format!("Position{i:06}_Frame000001.png");
        io::write_png_u16(root.join("img").join(&name), &position_image(h, w, 0)).unwrap();
        let m = rect(h, w, h / 4 + i % 3, h / 2, w / 4, w / 2 + i % 2);
        io::write_mask(root.join("seg").join(&name), &m).unwrap();
        if weights {
            let wm = WeightMap::from_plane(Plane::from_fn(h, w, |r, _| (r % 7) as f32 + 1.0));
            io::write_weights_u8(root.join("wei").join(&name), &wm).unwrap();
        }
    }
    if !weights {
        std::fs::remove_dir(root.join("wei")).unwrap();
    }
}

#[test]
fn seg_training_crops_are_windows_of_the_image() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3, (70, 50), true);
    let opts = SegOptions {
        target_size: (32, 24),
        crop: true,
        ..Default::default()
    };
    let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    assert_eq!(ds.storage().storage, Storage::Preload);
    assert_eq!(
        ds.layout(),
        SampleLayout {
            height: 32,
            width: 24,
            in_channels: 1,
            out_channels: 2
        }
    );
    let loader = Loader::new(
        Arc::new(ds),
        LoaderOptions {
            batch_size: 4,
            workers: 0,
            steps_per_epoch: Some(5),
            ..Default::default()
        },
    )
    .unwrap();
    let mut starts = BTreeSet::new();
    for step in 0..5 {
        let b = loader.batch_at(0, step).unwrap();
        assert_eq!(
            (b.n, b.x.len(), b.y.len()),
            (4, 4 * 32 * 24, 4 * 32 * 24 * 2)
        );
        for s in 0..b.n {
            let x = b.x_plane(s, 0);
            let (r0, c0) = decode(x.get(0, 0), 50, 0).unwrap();
            assert!(r0 + 32 <= 70 && c0 + 24 <= 50);
            for r in 0..32 {
                for c in 0..24 {
                    assert_eq!(decode(x.get(r, c), 50, 0), Some((r0 + r, c0 + c)));
                }
            }
            // Weights follow the same window: row pattern (r % 7 + 1) / 7 saved as 8-bit.
            let wy = b.y_plane(s, 1);
            let expect = ((((r0 % 7) as f32 + 1.0) / 7.0 * 255.0) as u8) as f32 / 255.0;
            assert!((wy.get(0, 0) - expect).abs() < 1e-6);
            let label = b.y_plane(s, 0);
            assert!(label.as_slice().iter().all(|&v| v == 0.0 || v == 1.0));
            starts.insert((r0, c0));
        }
    }
    assert!(starts.len() > 10, "random crops vary: {starts:?}");
}

#[test]
fn seg_small_files_are_padded_centred_with_zero_weights_outside() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 1, (20, 30), false);
    let opts = SegOptions {
        target_size: (24, 30),
        crop: true,
        ..Default::default()
    };
    let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    let mut rng = deltacell_data::random::stream(1, 0, 0);
    let mut x = vec![0.0; 24 * 30];
    let mut y = vec![0.0; 24 * 30 * 2];
    ds.write_sample(0, &mut rng, &mut x, &mut y).unwrap();
    // 4 missing rows: 2 above, 2 below.
    assert_eq!(x[0], 0.0);
    assert_eq!(decode(x[2 * 30], 30, 0), Some((0, 0)));
    assert_eq!(decode(x[21 * 30 + 29], 30, 0), Some((19, 29)));
    assert_eq!(x[22 * 30], 0.0);
    assert_eq!(y[1], 0.0, "weight of a padded pixel");
    assert_eq!(y[2 * 30 * 2 + 1], 1.0, "ones inside the image");
}

/// `rescale = MinMax` stretches each image to [0, 1] (DeLTA 2.0.7), `DtypeMax` (the default)
/// divides by 65535: a 16-bit image using values 1..=600 only reaches 600/65535.
#[test]
fn seg_rescale_min_max_stretches_narrow_16_bit_images() {
    use deltacell_data::io::Rescale;
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 1, (20, 30), false);
    let sample = |rescale| {
        let opts = SegOptions {
            target_size: (20, 30),
            crop: true,
            rescale,
            ..Default::default()
        };
        let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Training).unwrap();
        let mut rng = deltacell_data::random::stream(1, 0, 0);
        let mut x = vec![0.0; 20 * 30];
        let mut y = vec![0.0; 20 * 30 * 2];
        ds.write_sample(0, &mut rng, &mut x, &mut y).unwrap();
        x
    };
    let range = |x: &[f32]| {
        x.iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    };
    let (lo, hi) = range(&sample(Rescale::DtypeMax));
    assert!((lo - 1.0 / 65535.0).abs() < 1e-9 && (hi - 600.0 / 65535.0).abs() < 1e-9);
    let (lo, hi) = range(&sample(Rescale::MinMax));
    assert_eq!((lo, hi), (0.0, 1.0));
}

#[test]
fn seg_resize_mode_and_evaluation_tiles() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 2, (100, 60), false);
    let opts = SegOptions {
        target_size: (64, 32),
        ..Default::default()
    };
    let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Evaluation).unwrap();
    assert_eq!(ds.len(), 2);
    let loader = Loader::new(
        Arc::new(ds),
        LoaderOptions {
            batch_size: 4,
            workers: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let b = loader.batch_at(0, 0).unwrap();
    assert_eq!((b.n, b.height, b.width, b.out_channels), (2, 64, 32, 2));
    assert!(b.y_plane(0, 1).as_slice().iter().all(|&v| v == 1.0));

    // Evaluation with crop: 100x60 in 48x48 tiles, overlap >= 24 -> 4 x 2 tiles per file
    // (row starts 0, 17, 34, 52; column starts 0, 12).
    let opts = SegOptions {
        target_size: (48, 48),
        crop: true,
        min_overlap: 24,
        ..Default::default()
    };
    let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Evaluation).unwrap();
    assert_eq!(ds.len(), 2 * 4 * 2);
    let loader = Loader::new(
        Arc::new(ds),
        LoaderOptions {
            batch_size: 5,
            workers: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(loader.steps_per_epoch(), 4);
    let b = loader.batch_at(0, 3).unwrap();
    assert_eq!(b.n, 1, "the last evaluation batch holds the remainder");
    // Tiles in row-major order: the first tile starts at (0, 0), the second at (0, 12).
    let b = loader.batch_at(0, 0).unwrap();
    assert_eq!(decode(b.x_plane(0, 0).get(0, 0), 60, 0), Some((0, 0)));
    assert_eq!(decode(b.x_plane(1, 0).get(0, 0), 60, 0), Some((0, 12)));
    assert_eq!(decode(b.x_plane(2, 0).get(0, 0), 60, 0), Some((17, 0)));
}

#[test]
fn preload_and_stream_give_the_same_batches() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 4, (60, 40), true);
    let mut opts = SegOptions {
        target_size: (32, 32),
        crop: true,
        ..Default::default()
    };
    let batches = |opts: &SegOptions| {
        let ds = SegmentationDataset::open(dir.path(), opts, Mode::Training).unwrap();
        let storage = ds.storage().storage;
        let l = Loader::new(
            Arc::new(ds),
            LoaderOptions {
                batch_size: 3,
                workers: 0,
                steps_per_epoch: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        (
            storage,
            (0..3)
                .map(|s| l.batch_at(1, s).unwrap())
                .collect::<Vec<_>>(),
        )
    };
    opts.storage = StorageChoice::Preload;
    let (s1, a) = batches(&opts);
    opts.storage = StorageChoice::Stream;
    let (s2, b) = batches(&opts);
    opts.storage = StorageChoice::Auto;
    opts.preload_limit_bytes = 10;
    let (s3, _) = batches(&opts);
    assert_eq!(
        (s1, s2, s3),
        (Storage::Preload, Storage::Stream, Storage::Stream)
    );
    assert_eq!(a, b);
}

/// A tracking set with one sample whose geometry is known.
fn track_set(root: &Path, seed: &Mask, (h, w): (usize, usize)) {
    make_dirs(root, &["img", "seg", "previmg", "segall", "mot_dau", "wei"]);
    let name = "Position000001_Chamber000001_Frame000002.png";
    io::write_png_u16(root.join("img").join(name), &position_image(h, w, 0)).unwrap();
    io::write_png_u16(
        root.join("previmg").join(name),
        &position_image(h, w, 20000),
    )
    .unwrap();
    io::write_mask(root.join("seg").join(name), seed).unwrap();
    // segall: left half; mot_dau: top half; weights: column pattern.
    io::write_mask(root.join("segall").join(name), &rect(h, w, 0, h, 0, w / 2)).unwrap();
    io::write_mask(root.join("mot_dau").join(name), &rect(h, w, 0, h / 2, 0, w)).unwrap();
    let wm = WeightMap::from_plane(Plane::from_fn(h, w, |_, c| (c % 5) as f32 + 1.0));
    io::write_weights_u8(root.join("wei").join(name), &wm).unwrap();
}

#[test]
fn tracking_channels_and_box_position() {
    let dir = tempfile::tempdir().unwrap();
    let (h, w) = (100, 80);
    // Seed cell rows 40..50, cols 30..40: centroid (44.5, 34.5) -> (44, 34); a 32x32 box
    // starts at (44 - 16, 34 - 16) = (28, 18).
    let seed = rect(h, w, 40, 50, 30, 40);
    track_set(dir.path(), &seed, (h, w));
    let opts = TrackOptions {
        target_size: (32, 32),
        crop: true,
        shift: 0,
        ..Default::default()
    };
    let ds = TrackingDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    assert_eq!(
        ds.layout(),
        SampleLayout {
            height: 32,
            width: 32,
            in_channels: 4,
            out_channels: 2
        }
    );
    let mut rng = deltacell_data::random::stream(1, 0, 0);
    let mut b = Batch::zeros(1, 32, 32, 4, 2);
    ds.write_sample(0, &mut rng, &mut b.x, &mut b.y).unwrap();
    let (y0, x0) = (28, 18);
    for r in 0..32 {
        for c in 0..32 {
            let (ir, ic) = (y0 + r, x0 + c);
            assert_eq!(
                decode(b.x_plane(0, 0).get(r, c), w, 0),
                Some((ir, ic)),
                "ch0 current image"
            );
            assert_eq!(
                b.x_plane(0, 1).get(r, c),
                f32::from(seed.get(ir, ic)),
                "ch1 seed"
            );
            assert_eq!(
                decode(b.x_plane(0, 2).get(r, c), w, 20000),
                Some((ir, ic)),
                "ch2 previous image"
            );
            assert_eq!(
                b.x_plane(0, 3).get(r, c),
                f32::from(u8::from(ic < w / 2)),
                "ch3 segall"
            );
            assert_eq!(
                b.y_plane(0, 0).get(r, c),
                f32::from(u8::from(ir < h / 2)),
                "y0 mot_dau"
            );
            let expect = ((((ic % 5) as f32 + 1.0) / 5.0 * 255.0) as u8) as f32 / 255.0;
            assert!(
                (b.y_plane(0, 1).get(r, c) - expect).abs() < 1e-6,
                "y1 weights"
            );
        }
    }
}

#[test]
fn tracking_drift_moves_the_current_frame_only_and_pads_with_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let (h, w) = (100, 80);
    // Seed near the top-left corner: the 32x32 box sticks out by 13 rows / 11 columns.
    let seed = rect(h, w, 0, 6, 0, 10);
    track_set(dir.path(), &seed, (h, w));
    let opts = TrackOptions {
        target_size: (32, 32),
        crop: true,
        shift: 3,
        weights: Weights::Ones,
        ..Default::default()
    };
    let ds = TrackingDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    let expected = CroppingBox::tracking_box(&seed, (32, 32));
    assert_eq!((expected.ytl, expected.xtl), (2 - 16, 4 - 16));
    let mut shifts = BTreeSet::new();
    for i in 0..300 {
        let mut rng = deltacell_data::random::stream(7, 0, i);
        let mut b = Batch::zeros(1, 32, 32, 4, 2);
        ds.write_sample(0, &mut rng, &mut b.x, &mut b.y).unwrap();
        // Previous image: the unshifted box; its first in-image pixel is at (14, 12).
        assert_eq!(b.x_plane(0, 2).get(13, 11), 0.0);
        assert_eq!(decode(b.x_plane(0, 2).get(14, 12), w, 20000), Some((0, 0)));
        // Current image: find where (0, 0) landed.
        let cur = b.x_plane(0, 0);
        let pos = (0..32 * 32)
            .find(|&k| decode(cur.as_slice()[k], w, 0) == Some((0, 0)))
            .unwrap();
        let (dy, dx) = (14 - (pos / 32) as i64, 12 - (pos % 32) as i64);
        assert!(dy.abs() <= 3 && dx.abs() <= 3);
        shifts.insert((dy, dx));
        // Ones inside the frame, zero outside it, on the current (shifted) window.
        let wy = b.y_plane(0, 1);
        assert_eq!(wy.get(pos / 32, pos % 32), 1.0);
        if pos / 32 > 0 {
            assert_eq!(wy.get(pos / 32 - 1, pos % 32), 0.0);
        }
    }
    let dys: BTreeSet<i64> = shifts.iter().map(|s| s.0).collect();
    let dxs: BTreeSet<i64> = shifts.iter().map(|s| s.1).collect();
    assert_eq!(dys, (-3..=3).collect(), "inclusive drift on y");
    assert_eq!(dxs, (-3..=3).collect(), "inclusive drift on x");
}

#[test]
fn tracking_evaluation_mode_drops_drift_and_augmentation() {
    let dir = tempfile::tempdir().unwrap();
    let (h, w) = (100, 80);
    track_set(dir.path(), &rect(h, w, 40, 50, 30, 40), (h, w));
    let opts = TrackOptions {
        target_size: (32, 32),
        crop: true,
        shift: 3,
        augment: AugmentParams {
            horizontal_flip: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let train = TrackingDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    let eval = TrackingDataset::open(dir.path(), &opts, Mode::Evaluation).unwrap();
    assert!(train.is_training() && !eval.is_training());
    let sample = |ds: &TrackingDataset, i: u64| {
        let mut rng = deltacell_data::random::stream(7, 0, i);
        let mut b = Batch::zeros(1, 32, 32, 4, 2);
        ds.write_sample(0, &mut rng, &mut b.x, &mut b.y).unwrap();
        b
    };
    let first = sample(&eval, 0);
    let mut trained_differently = false;
    for i in 1..20 {
        assert_eq!(
            sample(&eval, i),
            first,
            "evaluation samples do not depend on the draw"
        );
        trained_differently |= sample(&train, i) != first;
    }
    assert!(trained_differently, "training samples drift and flip");
}

#[test]
fn tracking_resize_mode_and_online_weights_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let seed = rect(64, 16, 10, 20, 4, 12);
    track_set(dir.path(), &seed, (64, 16));
    let opts = TrackOptions {
        target_size: (32, 8),
        weights: Weights::Computed(WeightRecipe::Track {
            halo_distance: 50.0,
        }),
        ..Default::default()
    };
    let ds = TrackingDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    let l = Loader::new(
        Arc::new(ds),
        LoaderOptions {
            batch_size: 2,
            workers: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let b = l.batch_at(0, 0).unwrap();
    assert_eq!(
        (b.n, b.height, b.width, b.in_channels, b.out_channels),
        (2, 32, 8, 4, 2)
    );
    assert!(b.y_plane(0, 1).as_slice().iter().all(|&v| v > 0.0));
}

#[test]
fn chamber_dataset_has_one_output_channel() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3, (40, 40), true);
    let opts = ChamberOptions {
        target_size: (16, 16),
        ..Default::default()
    };
    let ds = ChamberDataset::open(dir.path(), &opts, Mode::Training).unwrap();
    assert_eq!(
        ds.layout(),
        SampleLayout {
            height: 16,
            width: 16,
            in_channels: 1,
            out_channels: 1
        }
    );
    let l = Loader::new(
        Arc::new(ds),
        LoaderOptions {
            batch_size: 2,
            workers: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let b = l.batch_at(0, 0).unwrap();
    assert_eq!(b.y.len(), 2 * 16 * 16);
    assert!(b.y.contains(&1.0));
    let s = ChamberDataset::open_split(dir.path(), &opts, 0.34, 0.0, 3).unwrap();
    assert_eq!((s.train.len(), s.validation.map(|v| v.len())), (2, Some(1)));
    assert!(s.test.is_none());
}

#[test]
fn determinism_across_worker_counts() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 5, (60, 50), true);
    let opts = SegOptions {
        target_size: (32, 32),
        crop: true,
        ..Default::default()
    };
    let ds: Arc<dyn Dataset> =
        Arc::new(SegmentationDataset::open(dir.path(), &opts, Mode::Training).unwrap());
    let run = |workers: usize, seed: u64| {
        let mut l = Loader::new(
            Arc::clone(&ds),
            LoaderOptions {
                batch_size: 3,
                workers,
                prefetch: 3,
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        (0..7).map(|_| l.next_batch().unwrap()).collect::<Vec<_>>()
    };
    let reference = run(0, 11);
    for workers in [1, 2, 3] {
        assert_eq!(run(workers, 11), reference, "{workers} workers");
    }
    assert_ne!(run(2, 12), reference, "another seed gives other batches");

    // Tracking with drift, too.
    let tdir = tempfile::tempdir().unwrap();
    track_set(tdir.path(), &rect(100, 80, 40, 50, 30, 40), (100, 80));
    let topts = TrackOptions {
        target_size: (32, 32),
        crop: true,
        shift: 5,
        ..Default::default()
    };
    let tds: Arc<dyn Dataset> =
        Arc::new(TrackingDataset::open(tdir.path(), &topts, Mode::Training).unwrap());
    let trun = |workers: usize| {
        let mut l = Loader::new(
            Arc::clone(&tds),
            LoaderOptions {
                batch_size: 2,
                workers,
                ..Default::default()
            },
        )
        .unwrap();
        (0..4).map(|_| l.next_batch().unwrap()).collect::<Vec<_>>()
    };
    let t1 = trun(1);
    assert_eq!(trun(3), t1);
    assert_ne!(t1[0].x, t1[1].x, "drift differs between samples");
}

/// A dataset that writes its item index and counts the samples built.
struct Counting {
    n: usize,
    built: Arc<AtomicUsize>,
}

impl Dataset for Counting {
    fn len(&self) -> usize {
        self.n
    }
    fn layout(&self) -> SampleLayout {
        SampleLayout {
            height: 1,
            width: 1,
            in_channels: 1,
            out_channels: 1,
        }
    }
    fn is_training(&self) -> bool {
        true
    }
    fn write_sample(
        &self,
        index: usize,
        _rng: &mut SampleRng,
        x: &mut [f32],
        _y: &mut [f32],
    ) -> deltacell_data::Result<()> {
        self.built.fetch_add(1, Ordering::SeqCst);
        x[0] = index as f32;
        Ok(())
    }
}

#[test]
fn epochs_are_permutations_and_steps_per_epoch_is_honoured() {
    let built = Arc::new(AtomicUsize::new(0));
    let ds = Arc::new(Counting { n: 12, built });
    let mut l = Loader::new(
        ds.clone(),
        LoaderOptions {
            batch_size: 4,
            workers: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.steps_per_epoch(), 3);
    let mut epochs = Vec::new();
    for _ in 0..2 {
        let mut seen: Vec<usize> = Vec::new();
        for _ in 0..3 {
            seen.extend(l.next_batch().unwrap().x.iter().map(|&v| v as usize));
        }
        epochs.push(seen.clone());
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..12).collect::<Vec<_>>(),
            "each item once per epoch"
        );
    }
    assert_ne!(epochs[0], epochs[1], "reshuffled every epoch");
    assert_eq!(l.position(), (2, 0));
    assert_eq!(l.stats().samples, 24);

    let l = Loader::new(
        ds,
        LoaderOptions {
            batch_size: 4,
            steps_per_epoch: Some(5),
            workers: 0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.steps_per_epoch(), 5);
    assert_eq!(
        l.batch_at(0, 4).unwrap().n,
        4,
        "the epoch continues into a new permutation"
    );
    assert!(l.batch_at(0, 5).is_err());
}

/// Waits until `count` reaches `at_least` (or 10 s), then a little longer so that any
/// excess work would show.
fn settle(count: &AtomicUsize, at_least: usize) {
    let t0 = std::time::Instant::now();
    while count.load(Ordering::SeqCst) < at_least && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150));
}

#[test]
fn prefetch_bounds_the_batches_built_ahead() {
    let built = Arc::new(AtomicUsize::new(0));
    let ds = Arc::new(Counting {
        n: 100,
        built: built.clone(),
    });
    let mut l = Loader::new(
        ds,
        LoaderOptions {
            batch_size: 2,
            workers: 3,
            prefetch: 3,
            ..Default::default()
        },
    )
    .unwrap();
    settle(&built, 3 * 2);
    assert_eq!(
        built.load(Ordering::SeqCst),
        3 * 2,
        "three batches ahead, no more"
    );
    l.next_batch().unwrap();
    l.next_batch().unwrap();
    settle(&built, 5 * 2);
    assert_eq!(built.load(Ordering::SeqCst), 5 * 2);
    assert_eq!(l.stats().batches, 2);
}

#[test]
fn split_sizes_round_half_to_even() {
    // Boundaries (1 - v) * n: 7.5 -> 8, 8.5 -> 8, 6.5 -> 6, 19.0 -> 19.
    for (n, v, train) in [(10, 0.25, 8), (10, 0.15, 8), (10, 0.35, 6), (20, 0.05, 19)] {
        let s = split_by_file(n, v, 0.0, 1).unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (train, n - train, 0),
            "n {n} v {v}"
        );
        let mut all: Vec<usize> = s.train.iter().chain(&s.validation).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
    let s = split_by_file(10, 0.25, 0.25, 3).unwrap();
    // Boundaries 5.0 and 7.5 -> 8: 5 / 3 / 2.
    assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (5, 3, 2));
    assert_eq!(split_by_file(10, 0.25, 0.25, 3).unwrap(), s, "seeded");
    assert_ne!(split_by_file(10, 0.25, 0.25, 4).unwrap(), s);
    assert!(split_by_file(10, 0.8, 0.3, 1).is_err());

    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 10, (20, 20), false);
    let opts = SegOptions {
        target_size: (16, 16),
        weights: Weights::Ones,
        ..Default::default()
    };
    let sp = SegmentationDataset::open_split(dir.path(), &opts, 0.25, 0.0, 1).unwrap();
    assert_eq!(sp.train.len(), 8);
    assert_eq!(sp.validation.as_ref().map(|v| v.len()), Some(2));
    assert!(sp.test.is_none());
    assert!(!sp.validation.unwrap().is_training());
}

#[test]
fn unmatched_files_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3, (20, 20), false);
    std::fs::remove_file(dir.path().join("seg/Position000001_Frame000001.png")).unwrap();
    let err =
        SegmentationDataset::open(dir.path(), &SegOptions::default(), Mode::Training).unwrap_err();
    assert!(matches!(err, Error::Layout { .. }));
    assert!(
        err.to_string()
            .contains("img/Position000001_Frame000001.png has no file named Position000001_Frame000001.* in seg/"),
        "{err}"
    );
}

/// Issue 29: a growing colony's frames (1, 2, 4, … 32 cells) held out by their cells: the
/// validation files hold at least the fraction of all cells asked for, the split by file
/// (DeLTA's) can hold far fewer, and the recipe's `validation_by_cells` opens the same split.
#[test]
fn validation_held_out_by_cells_reaches_the_fraction_of_cells() {
    use deltacell_data::dataset::{split_by_cells, DatasetRecipe};
    let dir = tempfile::tempdir().unwrap();
    make_dirs(dir.path(), &["img", "seg"]);
    let counts = [1usize, 2, 4, 8, 16, 32, 1, 2, 4, 8];
    for (i, &n) in counts.iter().enumerate() {
        let name = format!("Position000001_Frame{i:06}.png");
        io::write_png_u16(
            dir.path().join("img").join(&name),
            &position_image(64, 64, 0),
        )
        .unwrap();
        // `n` separate 3×3 squares on a grid of 8-px cells.
        let m = Mask::from_fn(64, 64, |r, c| {
            let k = (r / 8) * 8 + c / 8;
            k < n && r % 8 < 3 && c % 8 < 3
        });
        io::write_mask(dir.path().join("seg").join(&name), &m).unwrap();
    }
    let total: usize = counts.iter().sum();
    let split = split_by_cells(&counts, 0.2, 5).unwrap();
    let held: usize = split.validation.iter().map(|&i| counts[i]).sum();
    assert!(held as f64 >= 0.2 * total as f64, "{held} of {total}");
    // Some seed's split by file holds out two files with under a tenth of the cells.
    let poor = (0..50u64).any(|seed| {
        let s = split_by_file(counts.len(), 0.2, 0.0, seed).unwrap();
        s.validation.iter().map(|&i| counts[i]).sum::<usize>() * 10 < total
    });
    assert!(poor);
    let recipe = DatasetRecipe {
        target_size: (32, 32),
        crop: true,
        validation_split: 0.2,
        validation_by_cells: true,
        ..DatasetRecipe::default()
    };
    let sets = recipe
        .open(deltacell_data::Kind::Seg, dir.path(), None, 5)
        .unwrap();
    let held_files: BTreeSet<String> = sets
        .validation_files
        .iter()
        .map(|f| f.image.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = split
        .validation
        .iter()
        .map(|i| format!("Position000001_Frame{i:06}.png"))
        .collect();
    assert_eq!(held_files, expected);
}

/// Issue 29 (rehearsal): the files of `extra_training` join the training items (after the
/// set's own), never the validation; a sample of the extra set is made from its files.
#[test]
fn an_extra_training_set_joins_the_training_items_only() {
    use deltacell_data::dataset::DatasetRecipe;
    let dir = tempfile::tempdir().unwrap();
    let (own, extra) = (dir.path().join("own"), dir.path().join("extra"));
    // The own set's cells are a 4×4 square per image; every pixel of the extra set is a cell.
    for (root, n, all_cells) in [(&own, 4, false), (&extra, 3, true)] {
        make_dirs(root, &["img", "seg"]);
        for i in 0..n {
            let name = format!("Position000001_Frame{i:06}.png");
            io::write_png_u16(root.join("img").join(&name), &position_image(32, 32, 0)).unwrap();
            let m = Mask::from_fn(32, 32, |r, c| all_cells || (r < 4 && c < 4));
            io::write_mask(root.join("seg").join(&name), &m).unwrap();
        }
    }
    let recipe = DatasetRecipe {
        target_size: (32, 32),
        crop: true,
        validation_split: 0.25,
        extra_training: Some(extra.clone()),
        ..DatasetRecipe::default()
    };
    let sets = recipe
        .open(deltacell_data::Kind::Seg, &own, None, 1)
        .unwrap();
    assert_eq!(sets.validation_files.len(), 1);
    assert!(sets.validation_files[0].image.starts_with(&own));
    assert_eq!(sets.train.len(), 3 + 3);
    let layout = sets.train.layout();
    let cells = |i: usize| {
        let mut rng = deltacell_data::random::stream(1, 0, i as u64);
        let (mut x, mut y) = (vec![0.0; layout.x_len()], vec![0.0; layout.y_len()]);
        sets.train
            .write_sample(i, &mut rng, &mut x, &mut y)
            .unwrap();
        y.chunks(layout.out_channels).filter(|p| p[0] > 0.5).count()
    };
    for i in 0..3 {
        assert_eq!(cells(i), 16, "own item {i}");
    }
    for i in 3..6 {
        assert_eq!(cells(i), 32 * 32, "extra item {i}");
    }
    let mut rng = deltacell_data::random::stream(1, 0, 6);
    let (mut x, mut y) = (vec![0.0; layout.x_len()], vec![0.0; layout.y_len()]);
    let past = sets
        .train
        .write_sample(6, &mut rng, &mut x, &mut y)
        .unwrap_err();
    assert!(past.to_string().contains("sample 6"), "{past}");
    // The extra set must exist.
    let missing = DatasetRecipe {
        extra_training: Some(dir.path().join("nowhere")),
        ..recipe
    };
    let e = missing
        .open(deltacell_data::Kind::Seg, &own, None, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("nowhere"), "{e}");
}
