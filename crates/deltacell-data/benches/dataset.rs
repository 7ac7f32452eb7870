//! Batch generation speed (issue 5). DeLTA 2.0.7 on the same machine kind, per batch of 8:
//! seg 256×32 from `wei/` 28.6 ms; seg 512×512 2-D from `wei/` 5 094 ms; tracking 256×32 online
//! weights 357 ms; tracking 256×256 2-D online weights 1 526 ms.
//!
//! Augmentation uses DeLTA's recipes (`DATA_AUGMENTATION_SEG` / `_TRACK`) when the augmentation
//! module accepts them, else none (the line printed at start says which).
//!
//! Groups: `batch_cpu/…` is the on-CPU time of one thread building a batch of 8 alone (Linux
//! `CLOCK_THREAD_CPUTIME_ID`: the work per batch, whatever the load of the shared machine);
//! `batch/…` the wall time of [`Loader::batch_at`] (the 8 samples in parallel on rayon's pool);
//! `loader/…` the steady-state wall time per batch through 1 or 2 worker threads (samples/s =
//! 8 / that time). The peak RSS of the 512×512 case is printed after its groups (the kernel's
//! high-water mark is reset before it).
//!
//! Run: `cargo bench -p deltacell-data --bench dataset -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::{
    Dataset, Loader, LoaderOptions, Mode, SegOptions, SegmentationDataset, TrackOptions,
    TrackingDataset, Weights,
};
use deltacell_data::image::{Image, Mask, WeightMap};
use deltacell_data::io::{self, Depth};
use deltacell_data::random;
use deltacell_data::weights::WeightRecipe;
use deltacell_data::Batch;
use rand::Rng;

const SEG_AUG: &str = "rotation = 2.0\nzoom = 0.15\nhorizontal_flip = true\nvertical_flip = true\nillumination_voodoo = true\ngaussian_noise = 0.03\ngaussian_blur = 1.0\n";
const TRACK_AUG: &str = "rotation = 1.0\nzoom = 0.15\nhorizontal_flip = true\nhistogram_voodoo = true\nillumination_voodoo = true\n";

/// DeLTA's training recipe, written with DeLTA's key names and read by the real parser (an
/// unknown key or a bad value is an error, so the bench never silently runs without it).
fn augment_params(recipe: &str, name: &str) -> AugmentParams {
    AugmentParams::from_toml_str(recipe)
        .unwrap_or_else(|e| panic!("{name}: DeLTA augmentation recipe rejected: {e}"))
}

/// Random rod-like cells (axis-aligned rectangles) on a `h × w` frame.
fn cells(h: usize, w: usize, n: usize, seed: u64) -> Mask {
    let mut rng = random::stream(seed, 0, 0);
    let mut m = Mask::zeros(h, w);
    for _ in 0..n {
        let (ch, cw) = if w <= 32 {
            (rng.random_range(12..30), rng.random_range(6..10))
        } else {
            (rng.random_range(6..12), rng.random_range(12..30))
        };
        let r0 = rng.random_range(0..h - ch);
        let c0 = rng.random_range(0..w - cw);
        for r in r0..r0 + ch {
            for c in c0..c0 + cw {
                m.set(r, c, 1);
            }
        }
    }
    m
}

fn frame(mask: &Mask, seed: u64) -> Image {
    let mut rng = random::stream(seed, 1, 0);
    let (h, w) = mask.shape();
    Image::from_vec(
        h,
        w,
        mask.as_slice()
            .iter()
            .map(|&v| 0.6 - 0.4 * f32::from(v) + 0.05 * rng.random::<f32>())
            .collect(),
    )
    .unwrap()
}

fn seg_set(root: &Path, n: usize, (h, w): (usize, usize), cells_per: usize) {
    for d in ["img", "seg", "wei"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for i in 0..n {
        let name = format!("Position{i:06}.png");
        let m = cells(h, w, cells_per, i as u64);
        io::write_image(
            root.join("img").join(&name),
            &frame(&m, i as u64),
            Depth::U16,
        )
        .unwrap();
        io::write_mask(root.join("seg").join(&name), &m).unwrap();
        let wm = WeightMap::from_plane(m.map(|v| 1.0 + 4.0 * f32::from(v)));
        io::write_weights_u8(root.join("wei").join(&name), &wm).unwrap();
    }
}

fn track_set(root: &Path, n: usize, (h, w): (usize, usize), cells_per: usize) {
    for d in ["img", "seg", "previmg", "segall", "mot_dau"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for i in 0..n {
        let name = format!("Position{i:06}_Frame000002.png");
        let all = cells(h, w, cells_per, i as u64);
        let prev = cells(h, w, cells_per, i as u64 + 1000);
        // Seed: the cell pixels near the first cell pixel.
        let first = all.as_slice().iter().position(|&v| v != 0).unwrap_or(0);
        let (r0, c0) = (first / w, first % w);
        let seed = Mask::from_fn(h, w, |r, c| {
            all.get(r, c) != 0 && r.abs_diff(r0) < 10 && c.abs_diff(c0) < 10
        });
        io::write_image(
            root.join("img").join(&name),
            &frame(&all, i as u64),
            Depth::U16,
        )
        .unwrap();
        io::write_image(
            root.join("previmg").join(&name),
            &frame(&prev, i as u64),
            Depth::U16,
        )
        .unwrap();
        io::write_mask(root.join("seg").join(&name), &seed).unwrap();
        io::write_mask(root.join("segall").join(&name), &all).unwrap();
        io::write_mask(root.join("mot_dau").join(&name), &seed).unwrap();
    }
}

mod common;
use common::thread_cpu_ns;

/// One batch of 8 built sample after sample on the calling thread (what the loader's workers
/// do per batch), from the same random streams as the loader's positions `8·step ..`.
fn batch_on_this_thread(ds: &dyn Dataset, step: usize) -> Batch {
    let l = ds.layout();
    let mut batch = Batch::zeros(8, l.height, l.width, l.in_channels, l.out_channels);
    let (xl, yl) = (l.x_len(), l.y_len());
    for (k, (x, y)) in batch
        .x
        .chunks_mut(xl)
        .zip(batch.y.chunks_mut(yl))
        .enumerate()
    {
        let p = step * 8 + k;
        let mut rng = random::stream(1, 0, p as u64);
        ds.write_sample(p % ds.len(), &mut rng, x, y).unwrap();
    }
    batch
}

/// Resets the kernel's peak-RSS mark of this process (Linux ≥ 4.0); false when impossible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench_datasets(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mm = dir.path().join("mm_seg");
    seg_set(&mm, 64, (256, 32), 4);
    let pads = dir.path().join("pads_seg");
    seg_set(&pads, 8, (700, 600), 120);
    let mm_track = dir.path().join("mm_track");
    track_set(&mm_track, 64, (256, 32), 4);
    let pads_track = dir.path().join("pads_track");
    track_set(&pads_track, 8, (512, 512), 80);

    let seg_aug = augment_params(SEG_AUG, "seg");
    let track_aug = augment_params(TRACK_AUG, "track");
    let seg_mm = SegmentationDataset::open(
        &mm,
        &SegOptions {
            target_size: (256, 32),
            weights: Weights::Folder,
            augment: seg_aug.clone(),
            ..Default::default()
        },
        Mode::Training,
    )
    .unwrap();
    let seg_2d = SegmentationDataset::open(
        &pads,
        &SegOptions {
            target_size: (512, 512),
            crop: true,
            weights: Weights::Folder,
            augment: seg_aug,
            ..Default::default()
        },
        Mode::Training,
    )
    .unwrap();
    let track_mm = TrackingDataset::open(
        &mm_track,
        &TrackOptions {
            target_size: (256, 32),
            shift: 5,
            weights: Weights::Computed(WeightRecipe::Track {
                halo_distance: 50.0,
            }),
            augment: track_aug.clone(),
            ..Default::default()
        },
        Mode::Training,
    )
    .unwrap();
    let track_2d = TrackingDataset::open(
        &pads_track,
        &TrackOptions {
            target_size: (256, 256),
            crop: true,
            shift: 5,
            weights: Weights::Computed(WeightRecipe::Track {
                halo_distance: 50.0,
            }),
            augment: track_aug,
            ..Default::default()
        },
        Mode::Training,
    )
    .unwrap();
    for (name, r) in [
        ("seg 256x32", seg_mm.storage()),
        ("seg 512x512", seg_2d.storage()),
        ("track 256x32", track_mm.storage()),
        ("track 256x256", track_2d.storage()),
    ] {
        eprintln!("{name}: {r}");
    }
    let datasets: Vec<(&str, Arc<dyn Dataset>)> = vec![
        ("seg_256x32_b8_folder", Arc::new(seg_mm)),
        ("seg_512x512_b8_folder", Arc::new(seg_2d)),
        ("track_256x32_b8_online", Arc::new(track_mm)),
        ("track_256x256_b8_online", Arc::new(track_2d)),
    ];

    // The work of one batch, on one thread.
    let mut group = c.benchmark_group("batch_cpu");
    group.sample_size(10);
    for (name, ds) in &datasets {
        let mut step = 0usize;
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let t0 = thread_cpu_ns();
                for _ in 0..iters {
                    step += 1;
                    black_box(batch_on_this_thread(ds.as_ref(), step));
                }
                Duration::from_nanos(thread_cpu_ns() - t0)
            })
        });
    }
    group.finish();

    // One batch built when asked, its samples in parallel: the cost DeLTA's generators pay
    // per batch.
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    for (name, ds) in &datasets {
        let loader = Loader::new(
            Arc::clone(ds),
            LoaderOptions {
                batch_size: 8,
                workers: 0,
                steps_per_epoch: Some(1 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        let mut step = 0usize;
        group.bench_function(*name, |b| {
            b.iter(|| {
                step = (step + 1) % (1 << 20);
                loader.batch_at(0, step).unwrap()
            })
        });
    }
    group.finish();

    // Throughput through the loader's workers (per batch of 8 at steady state).
    let mut group = c.benchmark_group("loader");
    group.sample_size(10);
    for (name, ds) in &datasets {
        let rss_reset = reset_peak_rss();
        for workers in [1, 2] {
            let mut loader = Loader::new(
                Arc::clone(ds),
                LoaderOptions {
                    batch_size: 8,
                    workers,
                    prefetch: 4,
                    ..Default::default()
                },
            )
            .unwrap();
            group.bench_function(format!("{name}_workers{workers}"), |b| {
                b.iter(|| loader.next_batch().unwrap())
            });
            let s = loader.stats();
            eprintln!(
                "{name}, {workers} worker(s): {} samples, consumer waited {:.1} ms in total",
                s.samples,
                s.waited.as_secs_f64() * 1e3
            );
        }
        if let (true, Some(mib)) = (rss_reset, peak_rss_mib()) {
            eprintln!(
                "{name}: peak RSS while its loaders ran (every dataset resident): {mib:.0} MiB"
            );
        }
    }
    group.finish();
    if let Some(mib) = peak_rss_mib() {
        eprintln!("peak RSS of the bench process: {mib:.0} MiB");
    }
}

criterion_group!(benches, bench_datasets);
criterion_main!(benches);
