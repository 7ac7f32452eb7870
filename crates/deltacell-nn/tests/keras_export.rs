//! `keras::export_keras`: round trips through `import-keras` for the three models and several
//! depths, byte-reproducibility, refusals, and the structure of the files against the Keras
//! files DeLTA 2.0.7 saved (`shared/reference/delta-2.0.7/keras/`).

mod keras_common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use deltacell_nn::keras::{self, ExportError, ExportOptions};
use deltacell_nn::run_dir::RunDir;
use deltacell_nn::Kind;
use keras_common::{batch, max_abs, probabilities, reference, tiny_run};
use serde_json::Value;

fn export(run: &Path, out: &Path) -> keras::Exported {
    keras::export_keras(run, out, &ExportOptions::default()).unwrap()
}

/// Exports `run` in both formats, imports each file back and compares the outputs on fixed
/// inputs of `sizes`.
fn round_trip(run: &Path, kind: Kind, sizes: &[[usize; 2]]) {
    let dir = tempfile::tempdir().unwrap();
    let original = RunDir::open(run).unwrap().model_info().unwrap();
    for ext in ["hdf5", "keras", "h5"] {
        let file = dir.path().join(format!("model.{ext}"));
        let done = export(run, &file);
        assert_eq!(done.spec, original.architecture);
        assert_eq!(done.bytes as u64, std::fs::metadata(&file).unwrap().len());
        let back = dir.path().join(format!("back-{ext}"));
        let info = keras::import(&file, kind, &back).unwrap();
        assert_eq!(info.architecture, original.architecture, "{ext}");
        assert_eq!(info.input_size, original.input_size, "{ext}");
        // `.keras` gets DeLTA 3's logits head by default, legacy HDF5 DeLTA 2.0.7's sigmoid.
        let head = if ext == "keras" { "logits" } else { "sigmoid" };
        assert!(
            info.preset
                .as_deref()
                .unwrap()
                .contains(&format!("{head} head")),
            "{ext}: {:?}",
            info.preset
        );
        for (i, &[h, w]) in sizes.iter().enumerate() {
            let b = batch(3, h, w, original.architecture.input_channels, 7 + i as u64);
            let d = max_abs(&probabilities(run, &b), &probabilities(&back, &b));
            assert!(d <= 1e-6, "{kind} .{ext} {h}×{w}: max |Δ| = {d}");
        }
    }
}

#[test]
fn round_trip_seg_track_rois_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, seed) in [(Kind::Seg, 1), (Kind::Track, 2), (Kind::Rois, 3)] {
        let run = tiny_run(
            &dir.path().join(kind.name()),
            kind,
            vec![4, 8, 8],
            [16, 8],
            3,
            seed,
        );
        round_trip(&run, kind, &[[16, 8], [32, 24]]);
    }
}

#[test]
fn round_trip_any_depth() {
    let dir = tempfile::tempdir().unwrap();
    for (filters, size) in [
        (vec![4], [6, 10]),
        (vec![3, 5], [8, 6]),
        (vec![2, 4, 4, 6], [16, 8]),
    ] {
        let levels = filters.len();
        let run = tiny_run(
            &dir.path().join(format!("l{levels}")),
            Kind::Seg,
            filters,
            size,
            2,
            10 + levels as u64,
        );
        round_trip(&run, Kind::Seg, &[size]);
    }
}

#[test]
fn same_run_folder_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(
        &dir.path().join("run"),
        Kind::Track,
        vec![4, 8],
        [8, 8],
        2,
        5,
    );
    // A copy of the run folder elsewhere, written at another time.
    let copy = dir.path().join("elsewhere/copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["model.toml", "model.safetensors"] {
        std::fs::copy(run.join(f), copy.join(f)).unwrap();
    }
    for ext in ["hdf5", "keras"] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        let c = dir.path().join(format!("c.{ext}"));
        export(&run, &a);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        export(&run, &b);
        export(&copy, &c);
        let a = std::fs::read(&a).unwrap();
        assert_eq!(a, std::fs::read(&b).unwrap(), ".{ext} differs between runs");
        assert_eq!(a, std::fs::read(&c).unwrap(), ".{ext} differs for a copy");
    }
}

#[test]
fn input_size_option_sets_the_declared_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(
        &dir.path().join("run"),
        Kind::Rois,
        vec![4, 4, 8],
        [16, 16],
        1,
        8,
    );
    for ext in ["hdf5", "keras"] {
        let file = dir.path().join(format!("m.{ext}"));
        let options = ExportOptions {
            input_size: Some([64, 48]),
            ..ExportOptions::default()
        };
        let done = keras::export_keras(&run, &file, &options).unwrap();
        assert_eq!(done.input_size, [64, 48]);
        let info = keras::import(&file, Kind::Rois, &dir.path().join(ext)).unwrap();
        assert_eq!(info.input_size, [64, 48]);
    }
}

/// Every file in `dir`, for checking that a refusal left nothing behind.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(
        &dir.path().join("run"),
        Kind::Seg,
        vec![4, 8, 8],
        [16, 8],
        1,
        4,
    );
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    // An existing file under the output name survives every refusal untouched.
    let kept = out_dir.join("kept.hdf5");
    std::fs::write(&kept, b"old").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let half = dir.path().join("half");
    std::fs::create_dir(&half).unwrap();
    std::fs::copy(run.join("model.toml"), half.join("model.toml")).unwrap();
    let before = listing(&out_dir);

    let cases: Vec<(PathBuf, PathBuf, Option<[usize; 2]>, &str)> = vec![
        (
            dir.path().join("nope"),
            out_dir.join("a.hdf5"),
            None,
            "the folder missing",
        ),
        (
            empty.clone(),
            out_dir.join("a.keras"),
            None,
            "model.toml missing",
        ),
        (
            half.clone(),
            out_dir.join("a.hdf5"),
            None,
            "model.safetensors missing",
        ),
        (
            run.clone(),
            out_dir.join("a.onnx"),
            None,
            "unknown extension",
        ),
        (
            run.clone(),
            out_dir.join("model"),
            None,
            "unknown extension",
        ),
        (
            run.clone(),
            out_dir.join("a.keras"),
            Some([18, 8]),
            "multiples of 4",
        ),
        (
            run.clone(),
            out_dir.join("a.hdf5"),
            Some([0, 8]),
            "multiples of 4",
        ),
        (run.clone(), kept.clone(), Some([16, 6]), "16×6"),
        (empty.clone(), kept.clone(), None, "no model"),
    ];
    for (run_dir, out, input_size, expect) in cases {
        let err = keras::export_keras(
            &run_dir,
            &out,
            &ExportOptions {
                input_size,
                ..ExportOptions::default()
            },
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(expect), "{}: {msg}", run_dir.display());
        match &err {
            ExportError::NoModel { .. }
            | ExportError::UnknownExtension { .. }
            | ExportError::InputSize { .. } => {}
            other => panic!("unexpected error kind: {other:?}"),
        }
        assert_eq!(listing(&out_dir), before, "{msg}");
    }
    assert_eq!(std::fs::read(&kept).unwrap(), b"old");
}

#[test]
fn wrong_weights_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(&dir.path().join("run"), Kind::Seg, vec![4, 8], [8, 8], 1, 4);
    // model.toml claims another architecture than the weights hold.
    let toml = std::fs::read_to_string(run.join("model.toml")).unwrap();
    std::fs::write(run.join("model.toml"), toml.replace("[4, 8]", "[4, 16]")).unwrap();
    let out = dir.path().join("m.hdf5");
    let err = keras::export_keras(&run, &out, &ExportOptions::default()).unwrap_err();
    assert!(matches!(err, ExportError::Weights { .. }), "{err:?}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    assert!(!out.exists());
}

// ---- structure against DeLTA 2.0.7's own files ------------------------------------------

fn attr_strings(
    attrs: &std::collections::HashMap<String, hdf5_pure::AttrValue>,
    k: &str,
) -> Vec<String> {
    attrs
        .get(k)
        .and_then(hdf5_pure::AttrValue::as_strings)
        .map(|s| s.to_vec())
        .unwrap_or_default()
}

fn attr_string(attrs: &std::collections::HashMap<String, hdf5_pure::AttrValue>, k: &str) -> String {
    attrs
        .get(k)
        .and_then(hdf5_pure::AttrValue::as_str)
        .unwrap_or_else(|| panic!("no string attribute {k}"))
        .to_string()
}

/// The layers of a model description: (class, name, selected config values).
fn described_layers(config: &Value) -> Vec<(String, String, Value)> {
    config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let c = &l["config"];
            let keys = [
                "filters",
                "kernel_size",
                "strides",
                "padding",
                "activation",
                "use_bias",
                "pool_size",
                "size",
                "interpolation",
                "axis",
                "batch_shape",
                "data_format",
            ];
            let picked: serde_json::Map<String, Value> = keys
                .iter()
                .filter_map(|k| c.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            let inbound = l["inbound_nodes"].to_string();
            let mut v = Value::Object(picked);
            v["inbound"] = Value::String(inbound);
            (
                l["class_name"].as_str().unwrap().to_string(),
                l["name"].as_str().unwrap().to_string(),
                v,
            )
        })
        .collect()
}

fn open(bytes: Vec<u8>) -> hdf5_pure::File {
    hdf5_pure::File::from_bytes(bytes).unwrap()
}

/// Imports DeLTA's `name.hdf5`, exports it again, and compares the new file with DeLTA's:
/// same attributes, layer list, graph, configurations and bit-identical weights.
#[test]
fn reexported_hdf5_matches_delta_file() {
    for (name, kind) in [
        ("unet_seg_levels2", Kind::Seg),
        ("unet_track_levels3", Kind::Track),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        keras::import(&reference(&format!("{name}.hdf5")), kind, &run).unwrap();
        let out = dir.path().join("again.hdf5");
        export(&run, &out);
        let ours = open(std::fs::read(&out).unwrap());
        let theirs = open(std::fs::read(reference(&format!("{name}.hdf5"))).unwrap());

        let (ra, ta) = (ours.root().attrs().unwrap(), theirs.root().attrs().unwrap());
        assert_eq!(attr_string(&ra, "backend"), attr_string(&ta, "backend"));
        assert_eq!(attr_string(&ra, "keras_version"), keras::KERAS_VERSION);
        let config = |a: &std::collections::HashMap<String, hdf5_pure::AttrValue>| -> Value {
            serde_json::from_str(&attr_string(a, "model_config")).unwrap()
        };
        assert_eq!(
            described_layers(&config(&ra)),
            described_layers(&config(&ta))
        );
        for k in ["input_layers", "output_layers"] {
            assert_eq!(config(&ra)["config"][k], config(&ta)["config"][k]);
        }

        let (ow, tw) = (
            ours.group("model_weights").unwrap(),
            theirs.group("model_weights").unwrap(),
        );
        let (owa, twa) = (ow.attrs().unwrap(), tw.attrs().unwrap());
        let names = attr_strings(&twa, "layer_names");
        assert!(names.len() >= 12);
        assert_eq!(attr_strings(&owa, "layer_names"), names);
        assert_eq!(attr_string(&owa, "backend"), "tensorflow");
        let mut groups = ow.groups().unwrap();
        groups.sort();
        let mut expected = tw.groups().unwrap();
        expected.sort();
        assert_eq!(groups, expected);
        for layer in &names {
            let wn = attr_strings(&ow.group(layer).unwrap().attrs().unwrap(), "weight_names");
            assert_eq!(
                wn,
                attr_strings(&tw.group(layer).unwrap().attrs().unwrap(), "weight_names"),
                "{layer}"
            );
            for w in wn {
                let path = format!("model_weights/{layer}/{w}");
                let (a, b) = (ours.dataset(&path).unwrap(), theirs.dataset(&path).unwrap());
                assert_eq!(a.shape().unwrap(), b.shape().unwrap(), "{path}");
                let (a, b) = (a.read_f32().unwrap(), b.read_f32().unwrap());
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{path} differs"
                );
            }
        }
    }
}

fn zip_entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        assert_eq!(e.compression(), zip::CompressionMethod::Stored);
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(e.name().to_string(), buf);
    }
    out
}

/// A dataset: name, shape, the bits of its values.
type Stored = (String, Vec<u64>, Vec<u32>);

/// All `layers/<group>/vars` groups with their `name` attribute and datasets.
fn keras3_groups(file: &hdf5_pure::File) -> BTreeMap<String, (String, Vec<Stored>)> {
    let layers = file.group("layers").unwrap();
    let mut out = BTreeMap::new();
    for g in layers.groups().unwrap() {
        let vars = layers.group(&format!("{g}/vars")).unwrap();
        let name = attr_string(&vars.attrs().unwrap(), "name");
        let mut sets = vars.datasets().unwrap();
        sets.sort();
        let data = sets
            .into_iter()
            .map(|d| {
                let ds = vars.dataset(&d).unwrap();
                let bits = ds.read_f32().unwrap().iter().map(|v| v.to_bits()).collect();
                (d, ds.shape().unwrap(), bits)
            })
            .collect();
        out.insert(g, (name, data));
    }
    out
}

/// The same for `.keras`: zip entries, `config.json` layers and `model.weights.h5` groups.
#[test]
fn reexported_keras_matches_delta_file() {
    for (name, kind) in [
        ("unet_seg_levels2", Kind::Seg),
        ("unet_track_levels3", Kind::Track),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        keras::import(&reference(&format!("{name}.keras")), kind, &run).unwrap();
        let out = dir.path().join("again.keras");
        // DeLTA 2.0.7's reference files have its sigmoid head (`.keras` defaults to logits).
        let options = ExportOptions {
            head: Some(deltacell_nn::run_dir::Head::Sigmoid),
            ..ExportOptions::default()
        };
        keras::export_keras(&run, &out, &options).unwrap();
        let ours = zip_entries(&out);
        let theirs = zip_entries(&reference(&format!("{name}.keras")));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        let config = |e: &BTreeMap<String, Vec<u8>>| -> Value {
            serde_json::from_slice(&e["config.json"]).unwrap()
        };
        let (oc, tc) = (config(&ours), config(&theirs));
        assert_eq!(described_layers(&oc), described_layers(&tc));
        for k in ["module", "class_name", "registered_name"] {
            assert_eq!(oc[k], tc[k], "{k}");
        }
        for (a, b) in oc["config"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .zip(tc["config"]["layers"].as_array().unwrap())
        {
            for k in ["module", "registered_name", "build_config"] {
                assert_eq!(a.get(k), b.get(k), "{k} of {}", a["name"]);
            }
        }
        let meta: Value = serde_json::from_slice(&ours["metadata.json"]).unwrap();
        assert_eq!(meta["keras_version"], keras::KERAS_VERSION);
        let ow = open(ours["model.weights.h5"].clone());
        let tw = open(theirs["model.weights.h5"].clone());
        assert_eq!(keras3_groups(&ow), keras3_groups(&tw));
        assert_eq!(
            attr_string(&ow.group("vars").unwrap().attrs().unwrap(), "name"),
            "functional"
        );
    }
}

/// A custom filter list (not expressible with DeLTA's constructors) is described in the
/// configuration layer by layer.
#[test]
fn custom_filters_are_described() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(
        &dir.path().join("run"),
        Kind::Seg,
        vec![8, 16],
        [8, 8],
        1,
        6,
    );
    let out = dir.path().join("m.hdf5");
    export(&run, &out);
    let file = open(std::fs::read(&out).unwrap());
    let config: Value =
        serde_json::from_str(&attr_string(&file.root().attrs().unwrap(), "model_config")).unwrap();
    let filters: Vec<u64> = config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["class_name"] == "Conv2D")
        .map(|l| l["config"]["filters"].as_u64().unwrap())
        .collect();
    assert_eq!(filters, vec![8, 8, 16, 16, 8, 8, 8, 1]);
    let first = &config["config"]["layers"][0]["config"]["batch_shape"];
    assert_eq!(first, &serde_json::json!([null, 8, 8, 1]));
    let last = config["config"]["layers"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(last["config"]["activation"], "sigmoid");
}
