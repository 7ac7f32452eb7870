//! `deltacell batches` on small synthetic training sets.

use std::path::Path;
use std::process::Command;

use deltacell_data::image::{Image, Mask};
use deltacell_data::io::{self, Depth};

fn write_set(root: &Path, folders: &[&str], n: usize, (h, w): (usize, usize)) {
    for f in folders {
        std::fs::create_dir_all(root.join(f)).unwrap();
    }
    for i in 0..n {
        let name = format!("Position000001_Chamber000001_Frame{:06}.png", i + 2);
        for f in folders {
            let path = root.join(f).join(&name);
            if f.contains("img") {
                let img =
                    Image::from_vec(h, w, (0..h * w).map(|k| (k % 17) as f32 / 16.0).collect())
                        .unwrap();
                io::write_image(&path, &img, Depth::U8).unwrap();
            } else {
                let m = Mask::from_fn(h, w, |r, c| {
                    (h / 4..h / 2).contains(&r) && (w / 4..3 * w / 4).contains(&c)
                });
                io::write_mask(&path, &m).unwrap();
            }
        }
    }
}

fn deltacell(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn seg_batches_picture_has_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    write_set(&set, &["img", "seg", "wei"], 3, (40, 20));
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        "[models.seg]\ntarget_size = [32, 16]\nbatch_size = 2\n",
    )
    .unwrap();
    let out = dir.path().join("batch.png");
    let o = deltacell(&[
        "batches",
        set.to_str().unwrap(),
        "--kind",
        "seg",
        "--config",
        cfg.to_str().unwrap(),
        "--n",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("preloaded"), "{stdout}");
    // 3 batches x 2 samples = 6 rows of 32 px; 3 columns (image, label, weight) of 16 px; gaps
    // of 2 px around tiles and 6 px between batches.
    let shape = io::read_raw(&out).unwrap().shape();
    assert_eq!(shape, (6 * 32 + 7 * 2 + 2 * 6, 3 * 16 + 4 * 2));
}

#[test]
fn track_batches_show_six_channels() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("track");
    write_set(
        &set,
        &["img", "seg", "previmg", "segall", "mot_dau"],
        2,
        (64, 32),
    );
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        "crop_windows = true\n[models.track]\ntarget_size = [32, 32]\nshift = 2\nbatch_size = 1\n",
    )
    .unwrap();
    let out = dir.path().join("t.png");
    let o = deltacell(&[
        "batches",
        set.to_str().unwrap(),
        "--kind",
        "track",
        "--config",
        cfg.to_str().unwrap(),
        "--n",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shape = io::read_raw(&out).unwrap().shape();
    assert_eq!(shape, (2 * 32 + 3 * 2 + 6, 6 * 32 + 7 * 2));
}

#[test]
fn bad_config_key_and_missing_folder_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    write_set(&set, &["img", "seg"], 1, (20, 20));
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(&cfg, "[models.rois]\ntarget_sise = [32, 16]\n").unwrap();
    let o = deltacell(&[
        "batches",
        set.to_str().unwrap(),
        "--kind",
        "rois",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cfg.toml") && err.contains("target_sise"),
        "{err}"
    );

    let missing = dir.path().join("nowhere");
    let o = deltacell(&["batches", missing.to_str().unwrap(), "--kind", "seg"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nowhere"));
}
