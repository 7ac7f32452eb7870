//! `postprocess` against DeLTA 2.0.7: `binarizerange`, `postprocess`, `utilities.label_seg`.

use std::fs::File;
use std::path::Path;

use deltacell_data::postprocess::{binarizerange, label_seg, postprocess, PostprocessParams};
use deltacell_data::{Mask, Plane};
use ndarray::Array2;
use ndarray_npy::{NpzReader, ReadableElement};

fn read<T: ReadableElement + Copy>(case: &str, name: &str) -> Plane<T> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7")
        .join(format!("{case}.npz"));
    let mut z = NpzReader::new(File::open(p).unwrap()).unwrap();
    let a: Array2<T> = z.by_name(name).unwrap();
    Plane::from_vec(a.nrows(), a.ncols(), a.iter().copied().collect()).unwrap()
}

#[test]
fn binarizerange_case() {
    let input: Plane<f64> = read("binarizerange", "in_array");
    let want: Plane<f64> = read("binarizerange", "out");
    let got = binarizerange(&input);
    assert_eq!(got.as_slice().len(), want.as_slice().len());
    for (g, w) in got.as_slice().iter().zip(want.as_slice()) {
        assert_eq!(f64::from(*g), *w);
    }
    assert!(got.count() > 0 && got.count() < got.len());
}

#[test]
fn postprocess_case() {
    let input: Plane<f32> = read("postprocess", "in_pred");
    let want: Plane<f32> = read("postprocess", "out");
    let got = postprocess(&input, &PostprocessParams::v207(5, Some(20)));
    let want: Vec<u8> = want.as_slice().iter().map(|&v| u8::from(v > 0.5)).collect();
    let diff = got
        .as_slice()
        .iter()
        .zip(&want)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(diff, 0, "{diff} pixels differ");
    assert!(got.count() > 0);
}

#[test]
fn label_seg_case() {
    let input: Plane<u8> = read("label_seg", "in_seg");
    let want: Plane<u16> = read("label_seg", "out");
    let mask = Mask::from_plane(input.map(|v| u8::from(v > 0)));
    let got = label_seg(&mask);
    let want: Vec<u32> = want.as_slice().iter().map(|&v| u32::from(v)).collect();
    let diff = got
        .as_slice()
        .iter()
        .zip(&want)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(diff, 0, "{diff} pixels differ");
    assert!(got.max_label() > 2);
    // The case has cells whose lowest points share a row, so the tie order is covered too.
    let mut lowest = vec![0usize; got.max_label() as usize + 1];
    for r in 0..got.height() {
        for c in 0..got.width() {
            lowest[got.get(r, c) as usize] = r;
        }
    }
    assert!(lowest[1..].windows(2).any(|p| p[0] == p[1]));
}

#[test]
fn newest_logits_example() {
    // DeLTA's newest test_imgops: logits [[-3,-1,1.5],[3,.5,-.1]] -> [[0,0,1],[1,1,0]].
    let logits = Plane::from_vec(2, 3, vec![-3.0f32, -1.0, 1.5, 3.0, 0.5, -0.1]).unwrap();
    let out = postprocess(&logits, &PostprocessParams::logits(0, None));
    assert_eq!(out.as_slice(), &[0, 0, 1, 1, 1, 0]);
    // 2.0.7 thresholds the same input at its mid-range (0) too, but opens with a square.
    let opened = postprocess(&logits, &PostprocessParams::v207(3, None));
    assert_eq!(opened.count(), 0);
}
