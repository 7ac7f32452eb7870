//! Parity with DeLTA 2.0.7: every weight-map and `label_conn2` case of
//! `shared/reference/delta-2.0.7/` (inputs and DeLTA's outputs stored as `.npz`).

use std::fs::File;
use std::path::{Path, PathBuf};

use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::weights::{seg_weights, seg_weights_2d, tracking_weights, SegWeightParams};
use deltacell_data::{Mask, WeightMap};
use ndarray::{Array2, Ix2, OwnedRepr};
use ndarray_npy::NpzReader;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/delta-2.0.7")
}

fn npz(case: &str) -> NpzReader<File> {
    let path = reference_dir().join(format!("{case}.npz"));
    NpzReader::new(File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn read_u8(z: &mut NpzReader<File>, name: &str) -> Array2<u8> {
    z.by_name::<OwnedRepr<u8>, Ix2>(name).unwrap()
}

/// The output as f64, whatever DeLTA's dtype (float64 or float32).
fn read_out(z: &mut NpzReader<File>) -> Array2<f64> {
    match z.by_name::<OwnedRepr<f64>, Ix2>("out") {
        Ok(a) => a,
        Err(_) => z
            .by_name::<OwnedRepr<f32>, Ix2>("out")
            .unwrap()
            .mapv(f64::from),
    }
}

fn mask(a: &Array2<u8>) -> Mask {
    let (h, w) = a.dim();
    assert!(a.iter().all(|&v| v <= 1), "reference masks are 0/1");
    Mask::from_vec(h, w, a.iter().copied().collect()).unwrap()
}

/// Largest absolute difference, with `scale` dividing both sides first.
fn max_abs_diff(got: &WeightMap, want: &Array2<f64>, scale: f64) -> f64 {
    assert_eq!(got.shape(), want.dim());
    got.as_slice()
        .iter()
        .zip(want.iter())
        .map(|(&g, &w)| (f64::from(g) / scale - w / scale).abs())
        .fold(0.0, f64::max)
}

fn check_seg_weights(case: &str, params: SegWeightParams) {
    let mut z = npz(case);
    let m = mask(&read_u8(&mut z, "in_mask"));
    let want = read_out(&mut z);
    let got = seg_weights(&m, &params);
    let d = max_abs_diff(&got, &want, 1.0);
    assert!(d < 1e-5, "{case}: max |Δ| = {d}");
}

#[test]
fn seg_weights_mother_machine() {
    for case in ["seg_weights_mm0", "seg_weights_mm1", "seg_weights_mm2"] {
        check_seg_weights(case, SegWeightParams::default());
    }
}

#[test]
fn seg_weights_non_default_parameters() {
    check_seg_weights(
        "seg_weights_mm_params",
        SegWeightParams {
            classweights: (0.5, 2.0),
            w0: 10.0,
            sigma: 3.0,
        },
    );
}

#[test]
fn seg_weights_single_object() {
    check_seg_weights("seg_weights_single", SegWeightParams::default());
}

fn check_seg_weights_2d(case: &str, classweights: (f32, f32)) {
    let mut z = npz(case);
    let m = mask(&read_u8(&mut z, "in_mask"));
    let want = read_out(&mut z);
    let got = seg_weights_2d(&m, classweights);
    let d = max_abs_diff(&got, &want, 1.0);
    let first_wrong: Vec<String> = got
        .as_slice()
        .iter()
        .zip(want.iter())
        .enumerate()
        .filter(|(_, (&g, &w))| (f64::from(g) - w).abs() >= 1e-5)
        .take(8)
        .map(|(i, (g, w))| format!("({}, {}): {g} vs {w}", i / m.width(), i % m.width()))
        .collect();
    assert!(d < 1e-5, "{case}: max |Δ| = {d}; first: {first_wrong:?}");
}

#[test]
fn seg_weights_2d_colonies() {
    check_seg_weights_2d("seg_weights_2D_0", (1.0, 1.0));
    check_seg_weights_2d("seg_weights_2D_1", (1.0, 1.0));
}

#[test]
fn seg_weights_2d_non_default_classweights() {
    check_seg_weights_2d("seg_weights_2D_cw", (0.7, 1.3));
}

/// Tracking weights reach ~30 000, beyond what `f32` holds to 1e-5 absolute; they are compared
/// as `make_weights` stores them, normalised by DeLTA's maximum.
fn check_tracking_weights(case: &str, halo: f32) {
    let mut z = npz(case);
    let track = mask(&read_u8(&mut z, "in_track"));
    let segall = mask(&read_u8(&mut z, "in_segall"));
    let want = read_out(&mut z);
    let got = tracking_weights(&track, &segall, halo).unwrap();
    let scale = want.iter().copied().fold(0.0, f64::max);
    let d = max_abs_diff(&got, &want, scale);
    assert!(d < 1e-5, "{case}: max |Δ|/max = {d}");
}

#[test]
fn tracking_weights_mother_machine() {
    check_tracking_weights("tracking_weights_mm0", 50.0);
    check_tracking_weights("tracking_weights_mm1", 50.0);
}

#[test]
fn tracking_weights_escaped_cell() {
    // The empty-track branch is small integers: compared raw as well.
    let mut z = npz("tracking_weights_escaped");
    let track = mask(&read_u8(&mut z, "in_track"));
    let segall = mask(&read_u8(&mut z, "in_segall"));
    let want = read_out(&mut z);
    let got = tracking_weights(&track, &segall, 50.0).unwrap();
    assert!(max_abs_diff(&got, &want, 1.0) < 1e-5);
}

#[test]
fn tracking_weights_2d_colony() {
    check_tracking_weights("tracking_weights_2D", 30.0);
}

#[test]
fn label_connectivity_2_matches_scikit_image() {
    let mut z = npz("label_conn2");
    let seg = read_u8(&mut z, "in_seg");
    let want = z.by_name::<OwnedRepr<i32>, Ix2>("out").unwrap();
    let (h, w) = seg.dim();
    let m = Mask::from_vec(h, w, seg.iter().map(|&v| u8::from(v != 0)).collect()).unwrap();
    let (labels, n) = label(&m, Connectivity::Eight);
    assert_eq!(i64::from(n), i64::from(*want.iter().max().unwrap()));
    for (g, w) in labels.as_slice().iter().zip(want.iter()) {
        assert_eq!(i64::from(*g), i64::from(*w));
    }
}
