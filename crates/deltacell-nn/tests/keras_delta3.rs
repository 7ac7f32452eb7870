//! Exported models in DeLTA 3.0.0a6 itself: DeLTA's reference segmentation U-Net (DeLTA
//! 2.0.7's `unet_seg`, 2 levels, `../shared/reference/delta-2.0.7/keras`) imported, exported by
//! `export_keras` with each head, loaded by DeLTA 3's own loader (`ModelConfig.model()`) and by
//! plain `keras.models.load_model`, run on the reference inputs and thresholded as DeLTA 3's
//! pipeline does (`binarize_threshold(logits, 0)`): the masks must be the reference's
//! (probability > 0.5).
//!
//! Needs a Python with `delta-microscopy==3.0.0a6` and `tensorflow-cpu` (its package is also
//! named `delta`, so not DeLTA 2.0.7's venv), named by `DELTACELL_DELTA3_PYTHON`; skipped with a
//! message otherwise (`.ci/run` creates that venv).

mod keras_common;

use std::path::PathBuf;
use std::process::Command;

use deltacell_nn::keras::{self, ExportOptions};
use deltacell_nn::run_dir::Head;
use deltacell_nn::Kind;
use keras_common::reference;
use ndarray::ArrayD;
use ndarray_npy::NpzReader;

const SCRIPT: &str = r#"
import sys, json
import numpy as np
import keras
from delta import imgops
from delta.config import ModelConfig
x = np.load(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    cfg = ModelConfig(model_path=path, target_size=(64, 32), min_area=0,
                      tolerable_resizing_factor=1, batch_size=2, chunk_size=2)
    for loader, model in (("delta", cfg.model()),
                          ("keras", keras.models.load_model(path, compile=False))):
        logits = model.predict(x, verbose=0)
        seg = imgops.binarize_threshold(logits, threshold=0)
        out[path + " " + loader] = [int(v) for v in np.asarray(seg).reshape(-1)]
print(json.dumps(out))
"#;

#[test]
fn exported_models_segment_in_delta3_with_its_threshold() {
    let Some(python) = std::env::var_os("DELTACELL_DELTA3_PYTHON").filter(|p| !p.is_empty()) else {
        eprintln!(
            "SKIPPED keras_delta3: set DELTACELL_DELTA3_PYTHON to a Python with \
             delta-microscopy==3.0.0a6 and tensorflow-cpu to load exported models in DeLTA 3"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    keras::import(&reference("unet_seg_levels2.hdf5"), Kind::Seg, &run).unwrap();

    let mut npz =
        NpzReader::new(std::fs::File::open(reference("unet_seg_levels2_io.npz")).unwrap()).unwrap();
    let x: ArrayD<f32> = npz.by_name("x").unwrap();
    let y: ArrayD<f32> = npz.by_name("y").unwrap();
    let x_path = work.path().join("x.npy");
    ndarray_npy::write_npy(&x_path, &x).unwrap();
    let expected: Vec<i64> = y.iter().map(|&p| i64::from(p > 0.5)).collect();
    let cells = expected.iter().sum::<i64>() as f64 / expected.len() as f64;
    assert!(
        cells > 0.05 && cells < 0.95,
        "reference mask: {cells} cells"
    );

    let mut files: Vec<(PathBuf, Head)> = Vec::new();
    for (name, head) in [
        ("default.keras", None),
        ("logits.hdf5", Some(Head::Logits)),
        ("sigmoid.keras", Some(Head::Sigmoid)),
        ("default.hdf5", None),
    ] {
        let path = work.path().join(name);
        let done = keras::export_keras(
            &run,
            &path,
            &ExportOptions {
                input_size: None,
                head,
            },
        )
        .unwrap();
        files.push((path, done.head));
    }
    assert_eq!(files[0].1, Head::Logits, ".keras defaults to logits");
    assert_eq!(files[3].1, Head::Sigmoid, ".hdf5 defaults to sigmoid");

    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&x_path)
        .args(files.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "DeLTA 3 failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let masks: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
    for (path, head) in &files {
        for loader in ["delta", "keras"] {
            let key = format!("{} {loader}", path.display());
            let got: Vec<i64> = masks[&key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            let same = got.iter().zip(&expected).filter(|(a, b)| a == b).count();
            let marked = got.iter().sum::<i64>() as f64 / got.len() as f64;
            println!(
                "{} ({head:?} head), {loader} loader: {same}/{} pixels as the reference, {:.1} % marked as cell",
                path.file_name().unwrap().to_string_lossy(),
                got.len(),
                100.0 * marked
            );
            // DeLTA 3's loader resets the last activation to linear, so both heads segment
            // through it; plain Keras keeps a sigmoid head, which threshold 0 cannot split.
            if *head == Head::Logits || loader == "delta" {
                assert_eq!(same, got.len(), "{key}");
            } else {
                assert_eq!(marked, 1.0, "{key}: a sigmoid head thresholded at 0");
            }
        }
    }
}
