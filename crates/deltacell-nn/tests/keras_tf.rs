//! The exported files in Keras itself: `load_model(path, compile=False)` for every file and,
//! for DeLTA's full-filter architectures, `model.load_weights(path)` on DeLTA 2.0.7's own
//! `unet_seg` / `unet_track` / `unet_rois`; Keras' `predict` against deltacell's probabilities
//! (≤ 1e-4), and files exported from models imported from DeLTA's reference `.hdf5` against
//! DeLTA's own outputs (≤ 1e-5).
//!
//! Needs a Python with `tensorflow` (≥ 2.16, Keras 3) and `delta2`, named by the environment
//! variable `DELTACELL_TF_PYTHON` (e.g. `venv/bin/python`); skipped with a message otherwise.
//! `scripts/keras_roundtrip.sh` sets it up and runs this test.

mod keras_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use deltacell_nn::keras::{self, ExportOptions};
use deltacell_nn::{Batch, Kind, UnetSpec};
use keras_common::{batch, probabilities, reference, tiny_run};
use ndarray::{Array4, ArrayD};
use ndarray_npy::NpzReader;
use serde_json::{json, Value};

fn python() -> Option<PathBuf> {
    match std::env::var_os("DELTACELL_TF_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIPPED keras_tf: set DELTACELL_TF_PYTHON to a Python with tensorflow>=2.16 and \
                 delta2 installed (see scripts/keras_roundtrip.sh) to load the exported files in \
                 Keras"
            );
            None
        }
    }
}

fn write_npy(path: &Path, shape: [usize; 4], data: Vec<f32>) {
    let a = Array4::from_shape_vec(shape, data).unwrap();
    ndarray_npy::write_npy(path, &a).unwrap();
}

/// Collects the cases for the Python helper.
struct Cases {
    dir: PathBuf,
    list: Vec<Value>,
}

impl Cases {
    /// Exports `run` as `name.ext` for both extensions and adds a case comparing Keras'
    /// predictions on `b` with `expected`.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        run: &Path,
        input_size: Option<[usize; 2]>,
        b: &Batch,
        expected: &[f32],
        tol: f64,
        delta: Option<(Kind, usize)>,
    ) {
        let x = self.dir.join(format!("{name}_x.npy"));
        let y = self.dir.join(format!("{name}_y.npy"));
        write_npy(&x, [b.n, b.height, b.width, b.in_channels], b.x.clone());
        write_npy(&y, [b.n, b.height, b.width, 1], expected.to_vec());
        for ext in ["hdf5", "keras"] {
            let model = self.dir.join(format!("{name}.{ext}"));
            // Compared with probabilities: the sigmoid head for both formats.
            let options = ExportOptions {
                input_size,
                head: Some(deltacell_nn::run_dir::Head::Sigmoid),
            };
            keras::export_keras(run, &model, &options).unwrap();
            let mut case = json!({
                "name": format!("{name}.{ext}"),
                "model": model, "x": x, "y": y, "tol": tol,
            });
            if let Some((kind, levels)) = delta {
                case["delta"] = json!({"kind": kind.name(), "levels": levels});
            }
            self.list.push(case);
        }
    }
}

fn reference_io(name: &str) -> (Batch, Vec<f32>) {
    let file = std::fs::File::open(reference(&format!("{name}_io.npz"))).unwrap();
    let mut npz = NpzReader::new(file).unwrap();
    let x: ArrayD<f32> = npz.by_name("x").unwrap();
    let y: ArrayD<f32> = npz.by_name("y").unwrap();
    let s = x.shape().to_vec();
    let mut b = Batch::zeros(s[0], s[1], s[2], s[3], 0);
    b.x = x.iter().copied().collect();
    (b, y.iter().copied().collect())
}

#[test]
fn exported_models_load_and_predict_in_keras() {
    let Some(python) = python() else { return };
    let work = tempfile::tempdir().unwrap();
    let mut cases = Cases {
        dir: work.path().to_path_buf(),
        list: Vec::new(),
    };

    // Small custom architectures (not DeLTA's filters): load_model only.
    for (kind, seed) in [(Kind::Seg, 1), (Kind::Track, 2), (Kind::Rois, 3)] {
        let run = tiny_run(
            &work.path().join(format!("tiny_{kind}")),
            kind,
            vec![4, 8, 8],
            [16, 8],
            3,
            seed,
        );
        let b = batch(2, 16, 8, kind.input_channels(), 40 + seed);
        let p = probabilities(&run, &b);
        cases.add(&format!("tiny_{kind}"), &run, None, &b, &p, 1e-4, None);
    }

    // DeLTA's full filters (64·2^l) at low depth and small sizes: also load_weights into
    // DeLTA's constructors.
    for (kind, levels, size, seed) in [
        (Kind::Seg, 2, [32, 16], 4),
        (Kind::Track, 3, [32, 16], 5),
        (Kind::Rois, 2, [16, 16], 6),
        (Kind::Seg, 1, [8, 8], 7),
    ] {
        let filters = UnetSpec::with_levels(kind, levels).filters;
        let name = format!("full_{kind}_l{levels}");
        let run = tiny_run(&work.path().join(&name), kind, filters, size, 1, seed);
        let b = batch(2, size[0], size[1], kind.input_channels(), 50 + seed);
        let p = probabilities(&run, &b);
        cases.add(&name, &run, None, &b, &p, 1e-4, Some((kind, levels)));
    }

    // Another input size than the run's (--input-size): DeLTA's 2-D pipeline.
    {
        let run = work.path().join("full_seg_l2");
        let b = batch(1, 64, 48, 1, 60);
        let p = probabilities(&run, &b);
        cases.add(
            "full_seg_l2_64x48",
            &run,
            Some([64, 48]),
            &b,
            &p,
            1e-4,
            Some((Kind::Seg, 2)),
        );
    }

    // Imported from DeLTA's reference files, exported again: DeLTA's own outputs.
    for (name, kind, levels) in [
        ("unet_seg_levels2", Kind::Seg, 2),
        ("unet_track_levels3", Kind::Track, 3),
    ] {
        let run = work.path().join(format!("imported_{name}"));
        keras::import(&reference(&format!("{name}.hdf5")), kind, &run).unwrap();
        let (b, y) = reference_io(name);
        cases.add(
            &format!("reexported_{name}"),
            &run,
            None,
            &b,
            &y,
            1e-5,
            Some((kind, levels)),
        );
    }

    let manifest = work.path().join("cases.json");
    let results = work.path().join("results.json");
    std::fs::write(
        &manifest,
        serde_json::to_string_pretty(&cases.list).unwrap(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/keras_check.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&manifest)
        .arg(&results)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "Keras check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(results.len(), cases.list.len());
    // Every full-filter case was also loaded with load_weights.
    let with_weights = results
        .iter()
        .filter(|r| r.get("load_weights").is_some())
        .count();
    assert_eq!(with_weights, 14);
}
