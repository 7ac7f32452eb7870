//! Parity of the losses with DeLTA: the newest line's test value (sum 8053870.791163433) and
//! DeLTA 2.0.7's own per-pixel loss maps (`/work/shared/reference/delta-2.0.7/loss_fixture*.npz`).

use std::fs::File;
use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use deltacell_nn::loss::{self, WeightedVariant};
use ndarray::{Array0, Array2};
use ndarray_npy::NpzReader;

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7")
        .join(name)
}

fn npz(name: &str) -> NpzReader<File> {
    NpzReader::new(File::open(reference(name)).expect("fixture present")).expect("valid npz")
}

/// A 10×20 map as a `1×1×10×20` tensor.
fn plane(a: &Array2<f32>) -> Tensor<4> {
    let (h, w) = a.dim();
    let v: Vec<f32> = a.iter().copied().collect();
    Tensor::from_data(
        TensorData::new(v, [1, 1, h, w]),
        &deltacell_nn::device::cpu(),
    )
}

fn stacked(labels: &Array2<f32>, weights: &Array2<f32>) -> Tensor<4> {
    Tensor::cat(vec![plane(labels), plane(weights)], 1)
}

fn to_vec(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn newest_formula_sum_matches_delta_test() {
    let mut z = npz("loss_fixture_newest.npz");
    let labels: Array2<f64> = z.by_name("in_labels").unwrap();
    let weights: Array2<f64> = z.by_name("in_weights").unwrap();
    let logits: Array2<f64> = z.by_name("in_logits").unwrap();
    let want_seg: Array0<f64> = z.by_name("out_seg_sum").unwrap();
    let want_track: Array0<f64> = z.by_name("out_track_sum").unwrap();
    assert!((want_seg[()] - 8053870.791163433).abs() < 1e-6);
    let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let y = stacked(&f(&labels), &f(&weights));
    for (variant, want) in [
        (WeightedVariant::Seg, want_seg[()]),
        (WeightedVariant::Track, want_track[()]),
    ] {
        let map = loss::weighted_bce_map(plane(&f(&logits)), y.clone(), variant);
        let sum: f64 = to_vec(map).iter().map(|&v| v as f64).sum();
        // float32 arithmetic against a float64 reference
        assert!(
            (sum / want - 1.0).abs() < 1e-5,
            "{variant:?}: {sum} vs {want}"
        );
    }
    // The scalar loss is the mean of the map (Keras' sum-over-batch-size reduction).
    let l = loss::weighted_bce_seg(plane(&f(&logits)), y).into_scalar::<f32>() as f64;
    assert!((l * 200.0 / want_seg[()] - 1.0).abs() < 1e-5);
}

#[test]
fn per_pixel_maps_match_delta_2_0_7() {
    let mut z = npz("loss_fixture.npz");
    let labels: Array2<f32> = z.by_name("in_labels").unwrap();
    let logits: Array2<f32> = z.by_name("in_logits").unwrap();
    for weights_name in ["nonzero", "zeros"] {
        let weights: Array2<f32> = z.by_name(&format!("in_weights_{weights_name}")).unwrap();
        for (variant, tag) in [
            (WeightedVariant::Seg, "seg"),
            (WeightedVariant::Track, "track"),
        ] {
            let want: Array2<f32> = z.by_name(&format!("out_{tag}_{weights_name}")).unwrap();
            let got = to_vec(loss::weighted_bce_map(
                plane(&logits),
                stacked(&labels, &weights),
                variant,
            ));
            for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                // 2.0.7 went through clipped float32 probabilities: allow 1e-4 relative.
                assert!(
                    (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "{tag}/{weights_name} pixel {i}: {g} vs {w}"
                );
            }
        }
    }
    // The zero-weight case separates the variants.
    let seg: Array2<f32> = z.by_name("out_seg_zeros").unwrap();
    let track: Array2<f32> = z.by_name("out_track_zeros").unwrap();
    assert!((seg.sum() - track.sum()).abs() > 1e5);
}
