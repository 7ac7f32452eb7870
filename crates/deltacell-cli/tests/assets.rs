//! `deltacell assets list|fetch` end to end, against a real HTTP server on 127.0.0.1 serving a
//! zip of a synthetic training set.

#[path = "../../deltacell-assets/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{sha256_hex, synth_mm_seg, tree, zip_dir, Reply, Server};

/// Runs `deltacell` with the asset variables cleared (set them through `env`).
fn deltacell(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deltacell"));
    cmd.args(args)
        .env_remove("DELTACELL_CACHE")
        .env_remove("DELTACELL_REGISTRY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run deltacell")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A served zip of a 4-sample mm-seg set as `mini/train_multisets/…`, and a registry file naming
/// it with `sha` (or its true checksum).
struct Setup {
    _tmp: tempfile::TempDir,
    server: Server,
    src: PathBuf,
    registry: PathBuf,
    cache: PathBuf,
    sha: String,
}

fn setup(sha: Option<&str>) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    synth_mm_seg(&src.join("train_multisets"), 4);
    let zip = zip_dir(&src, "mini");
    let server = Server::start();
    server.route("/dl?id=mini", Reply::Body(zip.clone()));
    let sha = sha.map_or_else(|| sha256_hex(&zip), str::to_string);
    let registry = tmp.path().join("my-assets.toml");
    std::fs::write(
        &registry,
        format!(
            "[assets.mini]\nkind = \"training-set\"\ndescription = \"tiny synthetic set\"\nurl = \"{}\"\nsha256 = \"{sha}\"\nformat = \"zip\"\nfile = \"mini.zip\"\nroot = \"mini/train_multisets\"\n",
            server.url("/dl?id=mini")
        ),
    )
    .unwrap();
    let cache = tmp.path().join("cache");
    Setup {
        src: src.join("train_multisets"),
        _tmp: tmp,
        server,
        registry,
        cache,
        sha,
    }
}

#[test]
fn list_shows_builtin_and_user_entries() {
    let s = setup(None);
    let out = deltacell(
        &[
            "assets",
            "list",
            "--registry",
            s.registry.to_str().unwrap(),
            "--cache",
            s.cache.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("cache: {}", s.cache.display())),
        "{text}"
    );
    for name in [
        "2D_training_segmentation",
        "2D_training_tracking",
        "mothermachine_training_segmentation",
        "mothermachine_training_tracking",
        "mothermachine_training_rois",
        "moma_seg",
        "2D_track",
    ] {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or("");
        assert!(line.contains("built-in"), "{name}: {text}");
    }
    let mini = text.lines().find(|l| l.starts_with("mini ")).unwrap();
    assert!(
        mini.contains("training-set")
            && mini.contains("my-assets.toml")
            && mini.contains("tiny synthetic set"),
        "{mini}"
    );
    assert_eq!(s.server.hits("/dl?id=mini"), 0, "list never downloads");
}

#[test]
fn fetch_prints_the_path_and_uses_the_cache_afterwards() {
    let s = setup(None);
    let args = [
        "assets",
        "fetch",
        "mini",
        "--registry",
        s.registry.to_str().unwrap(),
        "--cache",
        s.cache.to_str().unwrap(),
        "--quiet",
    ];
    let out = deltacell(&args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = PathBuf::from(stdout(&out).trim());
    assert_eq!(path, s.cache.join("mini/mini/train_multisets"));
    assert_eq!(tree(&path), tree(&s.src));
    let err = stderr(&out);
    assert!(
        err.contains("downloaded") && err.contains(&format!("sha256 {} verified", s.sha)),
        "{err}"
    );
    // The fetched set is a valid training set for deltacell.
    let check = deltacell(&["check", path.to_str().unwrap()], &[]);
    assert!(check.status.success(), "{}", stdout(&check));

    // Again: from the cache, same path, no request.
    let out = deltacell(&args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(PathBuf::from(stdout(&out).trim()), path);
    assert!(
        stderr(&out).contains("cached copy is intact"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.server.hits("/dl?id=mini"), 1);

    let list = deltacell(
        &[
            "assets",
            "list",
            "--registry",
            s.registry.to_str().unwrap(),
            "--cache",
            s.cache.to_str().unwrap(),
        ],
        &[],
    );
    let text = stdout(&list);
    let mini = text.lines().find(|l| l.starts_with("mini ")).unwrap();
    assert!(mini.contains("cached"), "{mini}");
}

#[test]
fn environment_variables_name_cache_and_registry() {
    let s = setup(None);
    let out = deltacell(
        &["assets", "fetch", "mini", "-q"],
        &[
            ("DELTACELL_CACHE", &s.cache),
            ("DELTACELL_REGISTRY", &s.registry),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        PathBuf::from(stdout(&out).trim()),
        s.cache.join("mini/mini/train_multisets")
    );
}

#[test]
fn wrong_checksum_exits_non_zero_with_a_clear_message() {
    let wrong = "ab".repeat(32);
    let s = setup(Some(&wrong));
    let out = deltacell(
        &[
            "assets",
            "fetch",
            "mini",
            "--registry",
            s.registry.to_str().unwrap(),
            "--cache",
            s.cache.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "no path printed: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("checksum mismatch")
            && err.contains(&wrong)
            && err.contains(&s.server.url("/dl?id=mini")),
        "{err}"
    );
    assert!(!s.cache.join("mini").exists());
}

#[test]
fn unknown_names_and_bad_registries_are_explained() {
    let s = setup(None);
    let out = deltacell(
        &[
            "assets",
            "fetch",
            "mothermachine_training_seg",
            "--cache",
            s.cache.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean \"mothermachine_training_segmentation\"?"),
        "{}",
        stderr(&out)
    );

    let bad = s.registry.with_file_name("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&s.registry)
            .unwrap()
            .replace("root =", "set_root ="),
    )
    .unwrap();
    let out = deltacell(
        &["assets", "list", "--registry", bad.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml") && err.contains("set_root"),
        "{err}"
    );
}
