//! `deltacell check` on small synthetic sets: good sets exit 0, every broken set exits 1 and
//! names the offending file.

use std::path::Path;
use std::process::{Command, Output};

use deltacell_data::image::{Mask, Plane};
use deltacell_data::io;

fn deltacell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("the deltacell binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn check(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    deltacell(&args)
}

fn image(h: usize, w: usize, seed: u16) -> Plane<u16> {
    Plane::from_fn(h, w, |r, c| (r * 97 + c * 13) as u16 ^ seed)
}

fn cell(h: usize, w: usize, top: usize) -> Mask {
    Mask::from_fn(h, w, |r, c| {
        (top..top + 4).contains(&r) && (1..w - 1).contains(&c)
    })
}

/// A segmentation set of `n` 32×8 samples named `Position000001_Chamber000001_Frame%06d.png`.
fn seg_set(root: &Path, n: usize) {
    for folder in ["img", "seg"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for i in 1..=n {
        let name = format!("Position000001_Chamber000001_Frame{i:06}.png");
        io::write_png_u16(root.join("img").join(&name), &image(32, 8, i as u16)).unwrap();
        io::write_mask(root.join("seg").join(&name), &cell(32, 8, i)).unwrap();
    }
}

fn tracking_set(root: &Path, n: usize) {
    for i in 1..=n {
        let name = format!("Position000001_Chamber000001_Frame{:06}Cell000001.png", i);
        for folder in ["previmg", "img"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            io::write_png_u16(root.join(folder).join(&name), &image(32, 8, i as u16)).unwrap();
        }
        for (folder, top) in [("seg", 2), ("segall", 2), ("mot_dau", 3)] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            io::write_mask(root.join(folder).join(&name), &cell(32, 8, top)).unwrap();
        }
    }
}

#[test]
fn good_segmentation_set_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3);
    let out = check(dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("segmentation layout, 3 sample(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("32x8 (3)"), "{stdout}");
    assert!(stdout.contains("16-bit (3)"), "{stdout}");
    // No wei/: the user is told how to make it.
    assert!(stdout.contains("deltacell weights"), "{stdout}");
}

#[test]
fn good_tracking_set_exits_0_and_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    tracking_set(dir.path(), 2);
    let out = check(dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("tracking layout, 2 sample(s)"),
        "{}",
        text(&out)
    );
    // A tracking set also holds img/ and seg/, so it can be checked as a chamber set too.
    let out = check(dir.path(), &["--kind", "rois"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn json_report_parses() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 2);
    let out = check(dir.path(), &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["usable"], true);
    assert_eq!(v["layout"], "segmentation");
    assert_eq!(v["samples"], 2);
    assert_eq!(v["folders"][0]["role"], "img");
    assert_eq!(v["folders"][0]["bit_depths"][0]["depth"], "16-bit");
    // 2 masks of 32x8 with a 4x6 cell each.
    let fraction = v["cell_fraction"].as_f64().unwrap();
    assert!((fraction - 24.0 / 256.0).abs() < 1e-12, "{fraction}");
}

#[test]
fn missing_partner_exits_1_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3);
    std::fs::remove_file(
        dir.path()
            .join("seg/Position000001_Chamber000001_Frame000002.png"),
    )
    .unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("missing partner"), "{}", text(&out));
    assert!(
        text(&out).contains("img/Position000001_Chamber000001_Frame000002.png"),
        "{}",
        text(&out)
    );
}

#[test]
fn truncated_png_exits_1_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 3);
    let victim = dir
        .path()
        .join("img/Position000001_Chamber000001_Frame000003.png");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("unreadable"), "{}", text(&out));
    assert!(text(&out).contains("Frame000003.png"), "{}", text(&out));
}

#[test]
fn size_mismatch_exits_1_and_names_the_files() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 2);
    let name = "Position000001_Chamber000001_Frame000001.png";
    io::write_mask(dir.path().join("seg").join(name), &cell(30, 8, 1)).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("size mismatch"), "{t}");
    assert!(t.contains(&format!("seg/{name} is 30x8")), "{t}");
}

#[test]
fn three_valued_mask_exits_1_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 2);
    let name = "Position000001_Chamber000001_Frame000002.png";
    let labels = Plane::from_fn(32, 8, |r, _| (r / 11) as u8);
    io::write_png_u8(dir.path().join("seg").join(name), &labels).unwrap();
    let out = check(dir.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["usable"], false);
    let bad = &v["non_binary_masks"][0];
    assert!(bad["file"].as_str().unwrap().ends_with(name), "{v}");
    assert_eq!(bad["distinct"], 3);
    let out = check(dir.path(), &[]);
    assert!(text(&out).contains("not binary"), "{}", text(&out));
    assert!(text(&out).contains(name), "{}", text(&out));
}

#[test]
fn every_problem_is_listed_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 4);
    for i in [1, 3] {
        let p = dir
            .path()
            .join(format!("seg/Position000001_Chamber000001_Frame{i:06}.png"));
        std::fs::write(&p, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    }
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(
        t.contains("Frame000001.png") && t.contains("Frame000003.png"),
        "{t}"
    );
    assert!(t.contains("2 problem(s)"), "{t}");
}

#[test]
fn empty_folder_exits_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("img/"), "{stderr}");

    std::fs::create_dir(dir.path().join("img")).unwrap();
    std::fs::create_dir(dir.path().join("seg")).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no .png/.tif/.tiff images"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_folder_exits_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("nowhere");
    let out = check(&gone, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    let out = check(&gone, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["usable"], false);
    assert!(v["error"].as_str().unwrap().contains("nowhere"));
}

#[test]
fn folders_can_be_given_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    seg_set(dir.path(), 2);
    let img = dir.path().join("img");
    let seg = dir.path().join("seg");
    let out = deltacell(&[
        "check",
        "--img",
        img.to_str().unwrap(),
        "--seg",
        seg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("2 sample(s)"), "{}", text(&out));
}
