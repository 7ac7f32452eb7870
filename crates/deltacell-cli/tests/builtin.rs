//! Built-in pretrained models (issue 29): `train --init-from builtin:NAME`, and the `2D-cpu`
//! preset starting from `builtin:colony-2d` by default.

mod common;

use common::{deltacell, fails, ok};

/// The 2D-cpu preset starts from the built-in colony model: with a learning rate too small to
/// move a weight, the run's model is the built-in one byte for byte; `init_from = "none"` starts
/// from random weights with the configured architecture; an unknown name is refused, naming
/// the known ones, before any run folder exists.
#[test]
fn the_cpu_preset_fine_tunes_the_builtin_colony_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&deltacell(
        &[
            "synth", "--kind", "2d-seg", "--n", "3", "--seed", "2", "--out", "set", "-q",
        ],
        d,
    ));
    let train = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "seg",
            "--preset",
            "2D-cpu",
            "--data",
            "set",
            "--out",
            out,
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        deltacell(&args, d)
    };
    ok(&train("tuned", &["--learning-rate", "1e-20"]));
    let builtin = deltacell_nn::builtin::get("colony-2d").unwrap();
    let (model, info) = builtin.load(&deltacell_nn::device::cpu()).unwrap();
    let tuned = std::fs::read(d.join("tuned/model.safetensors")).unwrap();
    assert_eq!(tuned, deltacell_nn::run_dir::model_bytes(&model).unwrap());
    let toml = std::fs::read_to_string(d.join("tuned/model.toml")).unwrap();
    assert!(toml.contains("filters = [16, 32, 64, 128, 256]"), "{toml}");
    assert_eq!(info.architecture.filters, vec![16, 32, 64, 128, 256]);

    // Random weights on request, with the configuration's architecture.
    std::fs::write(
        d.join("cold.toml"),
        "preset = \"2D-cpu\"\n[models.seg]\ninit_from = \"none\"\nfilters = [4, 8]\n",
    )
    .unwrap();
    ok(&deltacell(
        &[
            "train",
            "seg",
            "--config",
            "cold.toml",
            "--data",
            "set",
            "--out",
            "cold",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--quiet",
        ],
        d,
    ));
    let toml = std::fs::read_to_string(d.join("cold/model.toml")).unwrap();
    assert!(toml.contains("filters = [4, 8]"), "{toml}");

    let err = fails(
        &train("nope", &["--init-from", "builtin:colony-3d"]),
        "colony-2d",
    );
    assert!(err.contains("builtin:colony-3d"), "{err}");
    assert!(!d.join("nope").exists());
}
