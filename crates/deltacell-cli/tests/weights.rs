//! `deltacell weights` end to end on small synthetic training sets.

use std::path::Path;
use std::process::{Command, Output};

use deltacell_data::{io, wei, Mask};

fn deltacell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("run deltacell")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A mother-machine-like set: `n` 64×16 chambers with two rod cells each (`img/` and `seg/`).
fn seg_set(root: &Path, n: usize) {
    std::fs::create_dir_all(root.join("seg")).unwrap();
    std::fs::create_dir_all(root.join("img")).unwrap();
    for i in 0..n {
        let img =
            deltacell_data::Image::from_plane(deltacell_data::Plane::from_fn(64, 16, |r, c| {
                ((r + c + i) % 7) as f32 / 7.0
            }));
        io::write_image(
            root.join("img").join(format!("Position01_Frame{i:03}.png")),
            &img,
            io::Depth::U16,
        )
        .unwrap();
        let m = Mask::from_fn(64, 16, |r, c| {
            (3..13).contains(&c) && ((2 + i..24).contains(&r) || (26..50).contains(&r))
        });
        io::write_mask(
            root.join("seg").join(format!("Position01_Frame{i:03}.png")),
            &m,
        )
        .unwrap();
    }
}

#[test]
fn seg_weights_are_written_then_refused_then_forced() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seg_set(root, 4);
    let r = root.to_str().unwrap();
    let out = deltacell(&["weights", r, "--kind", "seg"]);
    assert!(out.status.success(), "{}", text(&out));
    for i in 0..4 {
        let w = io::read_weights(root.join(format!("wei/Position01_Frame{i:03}.png"))).unwrap();
        assert_eq!(w.shape(), (64, 16));
        assert_eq!(w.max(), 1.0);
        // The gap between the two cells carries the largest weights.
        assert!(w.get(25, 8) > w.get(60, 8));
    }
    assert!(root.join("wei/manifest.json").is_file());
    assert!(wei::stale_weights(root).unwrap().is_empty());

    let again = deltacell(&["weights", r, "--kind", "seg"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("--force"), "{}", text(&again));

    let forced = deltacell(&[
        "weights",
        r,
        "--kind",
        "seg",
        "--w0",
        "10",
        "--sigma",
        "3",
        "--classweights",
        "0.5,2",
        "--force",
    ]);
    assert!(forced.status.success(), "{}", text(&forced));
    let manifest = std::fs::read_to_string(root.join("wei/manifest.json")).unwrap();
    assert!(manifest.contains("\"w0\": 10.0"), "{manifest}");

    // A mask edited after the weights were made is reported stale.
    io::write_mask(
        root.join("seg/Position01_Frame002.png"),
        &Mask::from_fn(64, 16, |r, _| r < 5),
    )
    .unwrap();
    assert_eq!(
        wei::stale_weights(root).unwrap(),
        vec!["Position01_Frame002.png"]
    );
    // `check` refuses it (as training does) with the command that fixes it.
    let checked = deltacell(&["check", r]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    let report = text(&checked);
    assert!(report.contains("wei/Position01_Frame002.png"), "{report}");
    assert!(
        report.contains(&format!("deltacell weights {r} --force")),
        "{report}"
    );
    let json = deltacell(&["check", r, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["stale_weights"],
        serde_json::json!(["wei/Position01_Frame002.png"])
    );
}

#[test]
fn seg2d_and_track_kinds_write_weights() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seg_set(root, 2);
    let out = deltacell(&[
        "weights",
        root.to_str().unwrap(),
        "--kind",
        "seg2d",
        "--classweights",
        "1,1.5",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(root.join("wei/Position01_Frame001.png").is_file());

    let track = tempfile::tempdir().unwrap();
    let t = track.path();
    for f in ["mot_dau", "segall"] {
        std::fs::create_dir_all(t.join(f)).unwrap();
    }
    let all = Mask::from_fn(64, 16, |r, c| {
        (3..13).contains(&c) && !(20..=24).contains(&r)
    });
    let mother = Mask::from_fn(64, 16, |r, c| (3..13).contains(&c) && r < 20);
    io::write_mask(t.join("mot_dau/a.png"), &mother).unwrap();
    io::write_mask(t.join("segall/a.png"), &all).unwrap();
    let out = deltacell(&[
        "weights",
        t.to_str().unwrap(),
        "--kind",
        "track",
        "--halo",
        "30",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let w = io::read_weights(t.join("wei/a.png")).unwrap();
    // Inside the tracked cell weights are high, far background is lowest.
    assert!(w.get(10, 8) > w.get(63, 0));
}

#[test]
fn bad_input_names_the_file() {
    // Size mismatch between mot_dau/ and segall/.
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    for f in ["mot_dau", "segall"] {
        std::fs::create_dir_all(t.join(f)).unwrap();
    }
    io::write_mask(t.join("mot_dau/cell7.png"), &Mask::zeros(32, 16)).unwrap();
    io::write_mask(t.join("segall/cell7.png"), &Mask::zeros(30, 16)).unwrap();
    let out = deltacell(&["weights", t.to_str().unwrap(), "--kind", "track"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("cell7.png"), "{}", text(&out));
    assert!(text(&out).contains("shape mismatch"), "{}", text(&out));
    // The failed run leaves no half-written wei/ behind.
    assert!(!t.join("wei").exists());

    // Missing folder.
    let empty = tempfile::tempdir().unwrap();
    let out = deltacell(&["weights", empty.path().to_str().unwrap(), "--kind", "seg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("seg"), "{}", text(&out));
    assert!(text(&out).contains("missing"), "{}", text(&out));

    // A file that is not a mask.
    let photo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(photo.path().join("seg")).unwrap();
    let p = deltacell_data::Plane::from_fn(16, 16, |r, c| (r * 16 + c) as u8 | 1);
    io::write_png_u8(photo.path().join("seg/photo.png"), &p).unwrap();
    let out = deltacell(&["weights", photo.path().to_str().unwrap(), "--kind", "seg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("photo.png"), "{}", text(&out));
    assert!(text(&out).contains("not binary"), "{}", text(&out));

    // Malformed class weights are a usage error.
    let out = deltacell(&[
        "weights",
        photo.path().to_str().unwrap(),
        "--kind",
        "seg",
        "--classweights",
        "1",
    ]);
    assert!(!out.status.success());
}
