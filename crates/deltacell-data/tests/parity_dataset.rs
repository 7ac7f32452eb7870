//! Parity with DeLTA 2.0.7's reference outputs: `readreshape`, `gettrackingboxes` and the
//! tracking box of the newest line on the same labels.

use std::fs::File;
use std::path::{Path, PathBuf};

use deltacell_data::dataset::read::{
    binarize_range, readreshape_raw, tracking_boxes, Interpolation, ReadReshape,
};
use deltacell_data::image::{Mask, Plane};
use deltacell_data::io::RawPixels;
use ndarray::{Array2, Ix2, OwnedRepr};
use ndarray_npy::NpzReader;

fn reference(case: &str) -> NpzReader<File> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7")
        .join(format!("{case}.npz"));
    NpzReader::new(File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("npz")
}

fn array<T: ndarray_npy::ReadableElement>(npz: &mut NpzReader<File>, name: &str) -> Array2<T> {
    npz.by_name::<OwnedRepr<T>, Ix2>(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn plane<T: Copy>(a: &Array2<T>) -> Plane<T> {
    let (h, w) = a.dim();
    Plane::from_fn(h, w, |r, c| a[[r, c]])
}

#[test]
fn readreshape_image_matches_delta() {
    let mut npz = reference("readreshape");
    let input: Array2<u16> = array(&mut npz, "in_img_u16");
    let expected: Array2<f64> = array(&mut npz, "out_img");
    let opts = ReadReshape {
        target_size: (256, 32),
        interpolation: Interpolation::Linear,
        ..Default::default()
    };
    let out = readreshape_raw(&RawPixels::U16(plane(&input)), &opts).unwrap();
    assert_eq!(out.shape(), expected.dim());
    let mut worst = 0f64;
    for r in 0..256 {
        for c in 0..32 {
            worst = worst.max((out.get(r, c) - expected[[r, c]]).abs());
        }
    }
    assert!(worst < 1e-5, "max abs difference {worst}");
}

#[test]
fn readreshape_mask_matches_delta() {
    let mut npz = reference("readreshape");
    let input: Array2<u8> = array(&mut npz, "in_seg_u8");
    let expected: Array2<u8> = array(&mut npz, "out_seg");
    let opts = ReadReshape {
        target_size: (256, 32),
        binarize: true,
        interpolation: Interpolation::Nearest,
        rangescale: false,
        crop: false,
    };
    let out = readreshape_raw(&RawPixels::U8(plane(&input)), &opts).unwrap();
    let mut wrong = 0;
    for r in 0..256 {
        for c in 0..32 {
            if out.get(r, c) != f64::from(expected[[r, c]]) {
                wrong += 1;
            }
        }
    }
    assert!(expected.iter().any(|&v| v == 1), "fixture has cells");
    assert_eq!(wrong, 0, "pixels differ");
}

#[test]
fn binarizerange_matches_delta() {
    let mut npz = reference("binarizerange");
    let names = npz.names().unwrap();
    let input_name = names.iter().find(|n| n.starts_with("in")).unwrap().clone();
    let output_name = names.iter().find(|n| n.starts_with("out")).unwrap().clone();
    let input: Array2<f64> = npz
        .by_name::<OwnedRepr<f64>, Ix2>(&input_name)
        .or_else(|_| {
            npz.by_name::<OwnedRepr<f32>, Ix2>(&input_name)
                .map(|a| a.mapv(f64::from))
        })
        .unwrap();
    let expected: Array2<f64> = npz
        .by_name::<OwnedRepr<f64>, Ix2>(&output_name)
        .or_else(|_| {
            npz.by_name::<OwnedRepr<f32>, Ix2>(&output_name)
                .map(|a| a.mapv(f64::from))
        })
        .unwrap();
    let out = binarize_range(&plane(&input));
    for ((r, c), &e) in expected.indexed_iter() {
        assert_eq!(out.get(r, c), e, "pixel ({r}, {c})");
    }
}

#[test]
fn gettrackingboxes_matches_delta() {
    let mut npz = reference("gettrackingboxes");
    let labels: Array2<u16> = array(&mut npz, "in_labels");
    let expected: Array2<i64> = array(&mut npz, "out");
    let lab = plane(&labels);
    for (row, label) in [1u16, 5, 9].into_iter().enumerate() {
        let seed = Mask::from_plane(lab.map(|v| u8::from(v == label)));
        let (cb, fb) = tracking_boxes(&seed, (256, 256)).unwrap();
        let got = [
            cb.ytl, cb.xtl, cb.ybr, cb.xbr, fb.ytl, fb.xtl, fb.ybr, fb.xbr,
        ];
        let want: Vec<i64> = expected.row(row).to_vec();
        assert_eq!(got.to_vec(), want, "label {label}");
        // The fill box has the crop box's shape.
        assert_eq!(cb.shape(), fb.shape());
    }
}

/// Evaluation tiles (the interim tiling of the segmentation dataset) start where DeLTA 2.0.7's
/// `create_windows` puts its windows.
#[test]
fn evaluation_tiles_start_at_create_windows_locations() {
    use deltacell_data::dataset::{Dataset, Mode, SegOptions, SegmentationDataset, Weights};
    for (case, target) in [("create_windows_stitch", 512), ("create_windows_pad", 256)] {
        let mut npz = reference(case);
        let image: Array2<f32> = array(&mut npz, "in_img");
        let loc_y: Array2<i64> = array(&mut npz, "out_loc_y");
        let loc_x: Array2<i64> = array(&mut npz, "out_loc_x");
        let (h, w) = image.dim();
        let total = (h * w + 1) as f32;
        let dir = tempfile::tempdir().unwrap();
        for d in ["img", "seg"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let coded = Plane::from_fn(h, w, |r, c| (r * w + c + 1) as f32 / total);
        deltacell_data::io::write_tiff_f32(dir.path().join("img/a.tif"), &[coded]).unwrap();
        deltacell_data::io::write_mask(dir.path().join("seg/a.png"), &Mask::zeros(h, w)).unwrap();
        let opts = SegOptions {
            target_size: (target, target),
            crop: true,
            weights: Weights::Ones,
            min_overlap: 24,
            ..Default::default()
        };
        let ds = SegmentationDataset::open(dir.path(), &opts, Mode::Evaluation).unwrap();
        let expected: Vec<(usize, usize)> = loc_y
            .rows()
            .into_iter()
            .flat_map(|y| {
                loc_x
                    .rows()
                    .into_iter()
                    .map(move |x| (y[0] as usize, x[0] as usize))
            })
            .collect();
        assert_eq!(ds.len(), expected.len(), "{case}");
        let mut rng = deltacell_data::random::stream(0, 0, 0);
        let mut x = vec![0f32; target * target];
        let mut y = vec![0f32; target * target * 2];
        for (i, &(ey, ex)) in expected.iter().enumerate() {
            ds.write_sample(i, &mut rng, &mut x, &mut y).unwrap();
            let k = (x[0] * total).round() as usize - 1;
            assert_eq!((k / w, k % w), (ey, ex), "{case} tile {i}");
        }
    }
}
