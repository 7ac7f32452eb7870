//! `deltacell synth` end to end: every kind, reproducibility, refusal of a used folder.

use std::path::Path;
use std::process::{Command, Output};

fn deltacell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("run deltacell")
}

fn synth(kind: &str, n: &str, seed: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "synth", "--kind", kind, "--n", n, "--seed", seed, "--out", out, "--quiet",
    ];
    args.extend_from_slice(extra);
    deltacell(&args)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Every file under `dir` (relative path → bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_kind_writes_its_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 6] = [
        ("mm-seg", "4", &["img", "seg"]),
        ("2d-seg", "1", &["img", "seg"]),
        ("rois", "1", &["img", "seg"]),
        (
            "mm-track",
            "5",
            &["previmg", "seg", "img", "segall", "mot_dau"],
        ),
        (
            "2d-track",
            "3",
            &["previmg", "seg", "img", "segall", "mot_dau"],
        ),
        (
            "movie",
            "1",
            &["mm/img", "mm/seg", "mm/labels", "mm/mot_dau", "2d/img"],
        ),
    ];
    for (kind, n, folders) in cases {
        let out = tmp.path().join(kind);
        let o = synth(kind, n, "1", &out, &[]);
        assert!(
            o.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains(kind), "{stdout}");
        for f in folders {
            let d = out.join(f);
            assert!(d.is_dir(), "{kind}: missing {f}");
            if kind != "movie" {
                assert_eq!(count_files(&d), n.parse::<usize>().unwrap(), "{kind}/{f}");
            } else if f.ends_with("img") {
                assert_eq!(count_files(&d), 8, "{kind}/{f}");
            }
        }
        if kind == "movie" {
            assert!(out.join("mm/lineage.csv").is_file() && out.join("2d/lineage.csv").is_file());
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    for d in [&a, &b] {
        assert!(synth("mm-track", "6", "42", d, &[]).status.success());
    }
    assert!(synth("mm-track", "6", "43", &c, &[]).status.success());
    let (ta, tb, tc) = (tree(&a), tree(&b), tree(&c));
    assert_eq!(ta.len(), 30);
    assert!(ta == tb, "same seed, different files");
    assert!(ta != tc, "different seeds, same files");
}

#[test]
fn refuses_a_used_folder_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("set");
    assert!(synth("mm-seg", "2", "1", &out, &[]).status.success());
    let o = synth("mm-seg", "2", "1", &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not empty") && err.contains(out.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let o = synth("mm-seg", "3", "1", &out, &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(count_files(&out.join("img")), 3);
}

#[test]
fn bad_arguments_give_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    let o = synth("mm-seg", "0", "1", &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("between 1 and"));
    let o = synth("cells", "2", "1", &out, &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cells") && err.contains("mm-seg"), "{err}");
}
