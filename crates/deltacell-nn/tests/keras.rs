//! Parity of imported Keras models with DeLTA 2.0.7's own predictions
//! (`shared/reference/delta-2.0.7/keras/`, both formats).

use std::path::{Path, PathBuf};

use deltacell_nn::infer::Predictor;
use deltacell_nn::keras;
use deltacell_nn::run_dir::{Head, RunDir};
use deltacell_nn::{Batch, Kind};
use ndarray::ArrayD;
use ndarray_npy::NpzReader;

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/keras")
        .join(name)
}

fn io(name: &str) -> (ArrayD<f32>, ArrayD<f32>) {
    let file = std::fs::File::open(reference(&format!("{name}_io.npz"))).unwrap();
    let mut npz = NpzReader::new(file).unwrap();
    let x: ArrayD<f32> = npz.by_name("x").unwrap();
    let y: ArrayD<f32> = npz.by_name("y").unwrap();
    (x, y)
}

fn check(name: &str, ext: &str, kind: Kind, levels: usize, channels: usize) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let info = keras::import(&reference(&format!("{name}.{ext}")), kind, &out).unwrap();
    assert_eq!(info.architecture.levels(), levels);
    assert_eq!(info.architecture.input_channels, channels);
    assert_eq!(info.head, Head::Logits);
    assert_eq!(info.input_size, [64, 32]);
    assert!(info.preset.as_deref().unwrap().contains("sigmoid head"));
    // model.toml round-trips through the RUN_DIR reader.
    assert_eq!(
        RunDir::open(&out)
            .unwrap()
            .model_info()
            .unwrap()
            .architecture,
        info.architecture
    );

    let (x, y) = io(name);
    let shape = x.shape().to_vec();
    assert_eq!(shape[3], channels);
    let mut batch = Batch::zeros(shape[0], shape[1], shape[2], shape[3], 1);
    batch.x = x.iter().copied().collect();
    let predictor = Predictor::load(&out, &deltacell_nn::device::cpu()).unwrap();
    let p = predictor.predict_probabilities(&batch).unwrap();
    assert_eq!(y.shape(), &[shape[0], shape[1], shape[2], 1]);
    let max = p
        .iter()
        .zip(y.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(max < 1e-4, "{name}.{ext}: max |Δ| = {max}");
    // The outputs are not trivially constant (the comparison means something).
    let spread = y.iter().fold(0f32, |m, v| m.max(*v)) - y.iter().fold(1f32, |m, v| m.min(*v));
    assert!(spread > 0.05, "reference outputs nearly constant");
}

#[test]
fn seg_hdf5_matches_delta() {
    check("unet_seg_levels2", "hdf5", Kind::Seg, 2, 1);
}

#[test]
fn seg_keras_matches_delta() {
    check("unet_seg_levels2", "keras", Kind::Seg, 2, 1);
}

#[test]
fn track_hdf5_matches_delta() {
    check("unet_track_levels3", "hdf5", Kind::Track, 3, 4);
}

#[test]
fn track_keras_matches_delta() {
    check("unet_track_levels3", "keras", Kind::Track, 3, 4);
}

#[test]
fn rois_accepts_a_one_channel_model() {
    let dir = tempfile::tempdir().unwrap();
    let info = keras::import(
        &reference("unet_seg_levels2.hdf5"),
        Kind::Rois,
        &dir.path().join("run"),
    )
    .unwrap();
    assert_eq!(info.architecture.kind, Kind::Rois);
}

#[test]
fn wrong_kind_is_rejected() {
    for (file, kind) in [
        ("unet_seg_levels2.hdf5", Kind::Track),
        ("unet_track_levels3.keras", Kind::Seg),
    ] {
        let err = keras::read(&reference(file), kind).unwrap_err().to_string();
        assert!(err.contains("input channel"), "{err}");
        assert!(err.contains(file), "{err}");
    }
}

#[test]
fn truncated_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["unet_seg_levels2.hdf5", "unet_seg_levels2.keras"] {
        let bytes = std::fs::read(reference(file)).unwrap();
        for cut in [bytes.len() / 2, bytes.len() - 100, 1000] {
            let path = dir.path().join(file);
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = keras::read(&path, Kind::Seg).unwrap_err().to_string();
            assert!(err.contains(file), "{file} cut at {cut}: {err}");
        }
    }
}

#[test]
fn load_into_checks_the_architecture() {
    let device = deltacell_nn::device::cpu();
    let path = reference("unet_seg_levels2.hdf5");
    let spec = deltacell_nn::UnetSpec::with_levels(Kind::Seg, 2);
    assert!(keras::load_into(&path, &spec, &device).is_ok());
    let other = deltacell_nn::UnetSpec::with_levels(Kind::Seg, 3);
    assert!(keras::load_into(&path, &other, &device).is_err());
}

/// Fine-tuning starts from the imported weights: with DeLTA's own predictions as (soft)
/// targets, the imported model sits at the minimum of the cross-entropy (loss = entropy of the
/// targets), below a freshly initialised model, and a training step stays near it.
#[test]
fn imported_model_fine_tunes_from_its_weights() {
    use deltacell_nn::Trainer;
    let device = deltacell_nn::device::cpu();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    keras::import(&reference("unet_seg_levels2.hdf5"), Kind::Seg, &out).unwrap();
    let (model, info) = RunDir::open(&out).unwrap().load_best(&device).unwrap();

    let (x, y) = io("unet_seg_levels2");
    let s = x.shape().to_vec();
    let mut batch = Batch::zeros(s[0], s[1], s[2], 1, 2);
    batch.x = x.iter().copied().collect();
    // Stacked targets [label, weight]: DeLTA's prediction as a soft label, weight 1.
    for (i, p) in y.iter().enumerate() {
        batch.y[2 * i] = *p;
        batch.y[2 * i + 1] = 1.0;
    }
    let spec = info.architecture.clone();
    let mut imported = Trainer::from_model(model, spec.clone(), None, &device).unwrap();
    let random = Trainer::new(spec, 1, None, &device).unwrap();
    let l_imported = imported.evaluate(&batch).unwrap().loss;
    let l_random = random.evaluate(&batch).unwrap().loss;
    assert!(
        l_imported < l_random,
        "imported {l_imported} vs random {l_random}"
    );
    imported.step(&batch).unwrap();
    let l_after = imported.evaluate(&batch).unwrap().loss;
    assert!(
        (l_after - l_imported).abs() < 0.25 * (l_random - l_imported),
        "after one step {l_after}, imported {l_imported}, random {l_random}"
    );
}
