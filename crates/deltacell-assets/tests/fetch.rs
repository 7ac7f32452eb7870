//! The real download code against a real HTTP server on 127.0.0.1: good file, cache hit, wrong
//! checksum, truncated transfer, server errors, damaged cache, bad archives, unverified entries,
//! refused and stalled connections.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{sha256_hex, synth_mm_seg, tree, zip_dir, zip_entries, Reply, Server};
use deltacell_assets::{
    fetch, fetch_with, verify_cached, Asset, Cache, Check, Error, FetchOptions, Origin, Registry,
    Status, Timeouts,
};
use deltacell_data::check::check;
use deltacell_data::layout::TrainingSet;

/// Short limits: no test can wait long on the network.
fn opts() -> FetchOptions {
    FetchOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            stall: Duration::from_secs(5),
        },
        ..FetchOptions::default()
    }
}

/// One registry entry, parsed like a user's file.
fn entry(name: &str, url: &str, sha: Option<&str>, format: &str, root: Option<&str>) -> Asset {
    let mut text = format!(
        "[assets.{name}]\nkind = \"training-set\"\nurl = \"{url}\"\nformat = \"{format}\"\nfile = \"{name}.{}\"\n",
        if format == "zip" { "zip" } else { "bin" }
    );
    if let Some(s) = sha {
        text.push_str(&format!("sha256 = \"{s}\"\n"));
    }
    if let Some(r) = root {
        text.push_str(&format!("root = \"{r}\"\n"));
    }
    Registry::from_toml_str(&text, Origin::File("test.toml".into()))
        .unwrap()
        .get(name)
        .unwrap()
        .clone()
}

/// A zip of a 3-sample mm-seg set laid out like DeLTA's: `mini/train_multisets/{img,seg}`.
/// Returns (zip bytes, the source set folder).
fn mini_zip(tmp: &Path) -> (Vec<u8>, std::path::PathBuf) {
    let src = tmp.join("src");
    synth_mm_seg(&src.join("train_multisets"), 3);
    (zip_dir(&src, "mini"), src)
}

/// Entries of the cache folder (hidden temporary ones included).
fn listing(cache: &Cache) -> Vec<String> {
    match std::fs::read_dir(cache.dir()) {
        Ok(rd) => {
            let mut v: Vec<String> = rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

#[test]
fn good_zip_is_unpacked_verified_and_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, src) = mini_zip(tmp.path());
    let server = Server::start();
    server.route("/mini.zip", Reply::Body(zip.clone()));
    let sha = sha256_hex(&zip);
    let asset = entry(
        "mini",
        &server.url("/mini.zip"),
        Some(&sha),
        "zip",
        Some("mini/train_multisets"),
    );
    let cache = Cache::new(tmp.path().join("cache"));

    let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
    let got = fetch(&asset, &cache, &mut |d, t| calls.push((d, t))).unwrap();
    assert_eq!(server.hits("/mini.zip"), 1);
    assert_eq!(got.path, tmp.path().join("cache/mini/mini/train_multisets"));
    assert_eq!(got.dir, tmp.path().join("cache/mini"));
    assert_eq!(got.sha256, sha);
    assert!(got.verified);
    assert_eq!(got.downloaded, Some(zip.len() as u64));
    assert_eq!(got.replaced, None);
    // Progress: from 0 to the whole size, never decreasing, total known.
    let n = zip.len() as u64;
    assert_eq!(calls.first(), Some(&(0, Some(n))));
    assert_eq!(calls.last(), Some(&(n, Some(n))));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    // The unpacked files are exactly the source files.
    assert_eq!(tree(&got.path), tree(&src.join("train_multisets")));
    // ... and deltacell reads them as a training set.
    let set = TrainingSet::open(&got.path, None).unwrap();
    assert_eq!(set.len(), 3);
    assert!(check(&set).usable());
    // Nothing temporary is left; the zip itself is not kept.
    assert_eq!(listing(&cache), vec!["mini".to_string()]);
    match cache.status(&asset, Check::Full) {
        Status::Complete(record) => {
            assert_eq!(record.sha256, sha);
            assert_eq!(record.files.len(), 6);
            assert!(record
                .files
                .iter()
                .all(|f| f.path.starts_with("mini/train_multisets/")));
        }
        s => panic!("{s:?}"),
    }

    // Second fetch: the cache, not the server.
    let mut called = false;
    let again = fetch_with(&asset, &cache, &opts(), &mut |_, _| called = true).unwrap();
    assert_eq!(server.hits("/mini.zip"), 1);
    assert_eq!(again.downloaded, None);
    assert_eq!(again.path, got.path);
    assert!(!called);
    // Even with the full check.
    let full = FetchOptions {
        check: Check::Full,
        ..opts()
    };
    fetch_with(&asset, &cache, &full, &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 1);
    // Forced: downloaded again and replaced.
    let force = FetchOptions {
        force: true,
        ..opts()
    };
    let forced = fetch_with(&asset, &cache, &force, &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 2);
    assert!(forced.replaced.is_some());
    assert_eq!(listing(&cache), vec!["mini".to_string()]);
}

#[test]
fn wrong_checksum_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, _) = mini_zip(tmp.path());
    let server = Server::start();
    server.route("/mini.zip", Reply::Body(zip.clone()));
    let wrong = sha256_hex(b"something else");
    let url = server.url("/mini.zip");
    let asset = entry("mini", &url, Some(&wrong), "zip", None);
    let cache = Cache::new(tmp.path().join("cache"));
    let err = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap_err();
    match &err {
        Error::ChecksumMismatch {
            expected,
            got,
            bytes,
            ..
        } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*got, sha256_hex(&zip));
            assert_eq!(*bytes, zip.len() as u64);
        }
        e => panic!("{e}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("mini") && msg.contains(&url) && msg.contains(&wrong),
        "{msg}"
    );
    assert_eq!(cache.status(&asset, Check::Quick), Status::Missing);
    assert!(listing(&cache).is_empty(), "{:?}", listing(&cache));
    // Asking again downloads again (no record of the failure is taken for the asset).
    let _ = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap_err();
    assert_eq!(server.hits("/mini.zip"), 2);
}

#[test]
fn a_web_page_instead_of_the_file_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route(
        "/quota",
        Reply::Typed(
            "text/html; charset=utf-8",
            b"<html>quota exceeded</html>".to_vec(),
        ),
    );
    let asset = entry(
        "mini",
        &server.url("/quota"),
        Some(&"0".repeat(64)),
        "zip",
        None,
    );
    let cache = Cache::new(tmp.path().join("cache"));
    let msg = fetch_with(&asset, &cache, &opts(), &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("checksum mismatch") && msg.contains("text/html") && msg.contains("web page"),
        "{msg}"
    );
}

#[test]
fn truncated_transfer_is_an_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, _) = mini_zip(tmp.path());
    let half = zip.len() / 2;
    let server = Server::start();
    server.route(
        "/mini.zip",
        Reply::Truncated {
            body: zip[..half].to_vec(),
            announced: zip.len() as u64,
        },
    );
    let url = server.url("/mini.zip");
    let asset = entry("mini", &url, Some(&sha256_hex(&zip)), "zip", None);
    let cache = Cache::new(tmp.path().join("cache"));
    let mut last = 0;
    let err = fetch_with(&asset, &cache, &opts(), &mut |d, _| last = d).unwrap_err();
    match &err {
        Error::Truncated {
            received, expected, ..
        } => {
            assert_eq!(*received, half as u64);
            assert_eq!(*expected, zip.len() as u64);
        }
        e => panic!("{e}"),
    }
    assert_eq!(last, half as u64);
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("cut short"), "{msg}");
    assert_eq!(cache.status(&asset, Check::Quick), Status::Missing);
    assert!(listing(&cache).is_empty(), "{:?}", listing(&cache));
}

#[test]
fn registry_size_is_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route("/f.bin", Reply::Chunked(vec![7u8; 30_000]));
    let text = format!(
        "[assets.f]\nkind = \"model\"\nurl = \"{}\"\nsha256 = \"{}\"\nsize = 20000\nformat = \"file\"\nfile = \"f.bin\"\n",
        server.url("/f.bin"),
        sha256_hex(&[7u8; 30_000])
    );
    let registry = Registry::from_toml_str(&text, Origin::File("t.toml".into())).unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let err = fetch_with(registry.get("f").unwrap(), &cache, &opts(), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLong {
                expected: 20000,
                ..
            }
        ),
        "{err}"
    );
    assert!(listing(&cache).is_empty());
}

#[test]
fn server_errors_name_status_and_url() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route("/boom.zip", Reply::Status(500, "Internal Server Error"));
    let cache = Cache::new(tmp.path().join("cache"));
    for (path, code, reason) in [
        ("/boom.zip", 500u16, "Internal Server Error"),
        ("/absent.zip", 404, "Not Found"),
    ] {
        let url = server.url(path);
        let asset = entry("mini", &url, Some(&"0".repeat(64)), "zip", None);
        let err = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap_err();
        assert!(
            matches!(&err, Error::HttpStatus { status, .. } if *status == code),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&url) && msg.contains(&format!("HTTP {code} {reason}")),
            "{msg}"
        );
        assert_eq!(server.hits(path), 1);
    }
    assert!(listing(&cache).is_empty());
}

#[test]
fn damaged_cache_is_detected_and_fetched_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, src) = mini_zip(tmp.path());
    let server = Server::start();
    server.route("/mini.zip", Reply::Body(zip.clone()));
    let asset = entry(
        "mini",
        &server.url("/mini.zip"),
        Some(&sha256_hex(&zip)),
        "zip",
        Some("mini/train_multisets"),
    );
    let cache = Cache::new(tmp.path().join("cache"));
    let got = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    let victim = std::fs::read_dir(got.path.join("img"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    // A missing file: the quick check sees it, fetch downloads again and replaces the copy.
    std::fs::remove_file(&victim).unwrap();
    assert!(
        matches!(cache.status(&asset, Check::Quick), Status::Damaged { problem } if problem.contains("missing"))
    );
    let err = verify_cached(&asset, &cache, Check::Quick).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err}");
    let again = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 2);
    assert!(again.replaced.as_deref().unwrap().contains("missing"));
    assert_eq!(tree(&again.path), tree(&src.join("train_multisets")));
    assert_eq!(listing(&cache), vec!["mini".to_string()]);

    // Same size, other bytes: only the full check sees it.
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&victim, &bytes).unwrap();
    fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 2);
    let full = FetchOptions {
        check: Check::Full,
        ..opts()
    };
    let repaired = fetch_with(&asset, &cache, &full, &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 3);
    assert!(repaired.replaced.as_deref().unwrap().contains("sha256"));
    verify_cached(&asset, &cache, Check::Full).unwrap();

    // A half-unpacked folder (no completion record) is never taken for the asset.
    std::fs::remove_file(got.dir.join(deltacell_assets::RECORD_FILE)).unwrap();
    assert!(matches!(
        cache.status(&asset, Check::Quick),
        Status::Damaged { .. }
    ));
    fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/mini.zip"), 4);

    // A changed checksum in the registry makes the copy stale.
    let (zip2, _) = {
        let t2 = tmp.path().join("second");
        let s = t2.join("src");
        synth_mm_seg(&s.join("train_multisets"), 2);
        (zip_dir(&s, "mini"), s)
    };
    server.route("/mini2.zip", Reply::Body(zip2.clone()));
    let updated = entry(
        "mini",
        &server.url("/mini2.zip"),
        Some(&sha256_hex(&zip2)),
        "zip",
        Some("mini/train_multisets"),
    );
    assert!(matches!(
        cache.status(&updated, Check::Quick),
        Status::Stale { .. }
    ));
    let newer = fetch_with(&updated, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert!(newer.replaced.as_deref().unwrap().starts_with("stale"));
    assert_eq!(TrainingSet::open(&newer.path, None).unwrap().len(), 2);
}

#[test]
fn a_file_asset_is_kept_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let model: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let server = Server::start();
    server.route("/m.keras?id=1", Reply::Chunked(model.clone()));
    let asset = entry(
        "m",
        &server.url("/m.keras?id=1"),
        Some(&sha256_hex(&model)),
        "file",
        None,
    );
    let cache = Cache::new(tmp.path().join("cache"));
    let mut totals = Vec::new();
    let got = fetch_with(&asset, &cache, &opts(), &mut |_, t| totals.push(t)).unwrap();
    assert!(totals.iter().all(Option::is_none), "chunked: no total");
    assert_eq!(got.path, tmp.path().join("cache/m/m.bin"));
    assert_eq!(std::fs::read(&got.path).unwrap(), model);
    assert_eq!(listing(&cache), vec!["m".to_string()]);
    fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert_eq!(server.hits("/m.keras?id=1"), 1);
}

#[test]
fn bad_archives_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    let cache = Cache::new(tmp.path().join("cache"));
    let not_zip = b"this is not a zip file at all".to_vec();
    let slip = zip_entries(&[("ok.txt", b"fine"), ("../evil.txt", b"escape")]);
    let no_root = zip_entries(&[("other/a.txt", b"a"), ("b.txt", b"b")]);
    for (path, bytes, root, expect) in [
        ("/garbage.zip", not_zip, None, "bad zip archive"),
        ("/slip.zip", slip, None, "unsafe path"),
        ("/noroot.zip", no_root, Some("mini/train"), "has no folder"),
    ] {
        server.route(path, Reply::Body(bytes.clone()));
        let asset = entry(
            "mini",
            &server.url(path),
            Some(&sha256_hex(&bytes)),
            "zip",
            root,
        );
        let msg = fetch_with(&asset, &cache, &opts(), &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(msg.contains("mini") && msg.contains(expect), "{msg}");
        if expect == "has no folder" {
            assert!(msg.contains("b.txt, other"), "{msg}");
        }
        assert!(listing(&cache).is_empty(), "{path}: {:?}", listing(&cache));
    }
    assert!(!tmp.path().join("evil.txt").exists());
}

/// `bytes` with every occurrence of `from` replaced by `to` (same length).
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut hits = 0;
    for i in 0..=bytes.len() - from.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            hits += 1;
        }
    }
    assert!(hits >= 2, "local and central header");
    bytes
}

/// Two entries of one name (the zip crate's reader keeps only the last, its writer refuses to
/// make them, so the archive is patched), and two names that unpack to one path: refused,
/// nothing left in the cache.
#[test]
fn duplicate_entries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start();
    let cache = Cache::new(tmp.path().join("cache"));
    let twice = patch(
        zip_entries(&[
            ("mini/img/a.png", b"first"),
            ("mini/img/b.png", b"second"),
            ("mini/img/c.png", b"third"),
        ]),
        b"mini/img/b.png",
        b"mini/img/a.png",
    );
    let file_and_dir = zip_entries(&[("mini/x", b"file"), ("mini/x/", b"")]);
    let dot = zip_entries(&[("mini/y.txt", b"1"), ("mini/./y.txt", b"2")]);
    for (path, bytes, expect) in [
        ("/twice.zip", twice, "\"mini/img/a.png\" appears twice"),
        ("/filedir.zip", file_and_dir, "as an earlier entry does"),
        ("/dot.zip", dot, "y.txt"),
    ] {
        server.route(path, Reply::Body(bytes.clone()));
        let asset = entry(
            "mini",
            &server.url(path),
            Some(&sha256_hex(&bytes)),
            "zip",
            None,
        );
        let msg = fetch_with(&asset, &cache, &opts(), &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("mini") && msg.contains(expect),
            "{path}: {msg}"
        );
        assert!(listing(&cache).is_empty(), "{path}: {:?}", listing(&cache));
    }
}

#[test]
fn entries_without_checksum_need_permission_and_record_the_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = b"unverified content".to_vec();
    let server = Server::start();
    server.route("/u.bin", Reply::Body(bytes.clone()));
    let url = server.url("/u.bin");
    let asset = entry("u", &url, None, "file", None);
    let cache = Cache::new(tmp.path().join("cache"));
    let err = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, Error::Unverified { .. }), "{err}");
    assert!(err.to_string().contains("--allow-unverified"), "{err}");
    assert_eq!(server.hits("/u.bin"), 0);
    let allow = FetchOptions {
        allow_unverified: true,
        ..opts()
    };
    let got = fetch_with(&asset, &cache, &allow, &mut |_, _| {}).unwrap();
    assert!(!got.verified);
    assert_eq!(got.sha256, sha256_hex(&bytes));
    // Cached now: used without permission or network; a new URL makes it stale.
    let again = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap();
    assert_eq!((again.downloaded, again.verified), (None, false));
    assert_eq!(server.hits("/u.bin"), 1);
    let moved = entry("u", &server.url("/v.bin"), None, "file", None);
    assert!(matches!(
        cache.status(&moved, Check::Quick),
        Status::Stale { .. }
    ));
}

#[test]
fn refused_and_stalled_connections_fail_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/x.zip");
    let asset = entry("x", &url, Some(&"0".repeat(64)), "zip", None);
    let err = fetch_with(&asset, &cache, &opts(), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");

    // A server that accepts and never answers: abandoned after the stall limit.
    let server = Server::start();
    server.route("/hang.zip", Reply::Hang { secs: 10 });
    let asset = entry(
        "x",
        &server.url("/hang.zip"),
        Some(&"0".repeat(64)),
        "zip",
        None,
    );
    let quick = FetchOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            stall: Duration::from_millis(500),
        },
        ..FetchOptions::default()
    };
    let start = Instant::now();
    let err = fetch_with(&asset, &cache, &quick, &mut |_, _| {}).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(&err, Error::Connection { message, .. } if message.contains("timed out")),
        "{err}"
    );
    assert!(listing(&cache).is_empty());
}

#[test]
fn registry_files_extend_the_builtin_one() {
    let tmp = tempfile::tempdir().unwrap();
    let user = tmp.path().join("mine.toml");
    std::fs::write(
        &user,
        "[assets.moma_seg]\nkind = \"model\"\nurl = \"http://127.0.0.1:9/m.keras\"\nformat = \"file\"\nfile = \"m.keras\"\n\n[assets.extra]\nkind = \"movie\"\nurl = \"https://example.org/e.zip\"\nformat = \"zip\"\nfile = \"e.zip\"\n",
    )
    .unwrap();
    let r = Registry::load(std::slice::from_ref(&user)).unwrap();
    assert_eq!(r.len(), Registry::builtin().unwrap().len() + 1);
    assert_eq!(
        r.get("moma_seg").unwrap().origin,
        Origin::File(user.clone())
    );
    assert_eq!(r.get("moma_seg").unwrap().sha256, None);
    assert_eq!(r.get("2D_seg").unwrap().origin, Origin::BuiltIn);

    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[assets.extra]\nkind = \"movie\"\nurl = \"https://example.org/e.zip\"\nformat = \"zip\"\nfile = \"e.zip\"\nchecksum = \"abc\"\n",
    )
    .unwrap();
    let msg = Registry::load(std::slice::from_ref(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&bad.display().to_string()) && msg.contains("checksum"),
        "{msg}"
    );
    let missing = tmp.path().join("absent.toml");
    let msg = Registry::load(std::slice::from_ref(&missing))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("absent.toml"), "{msg}");
}
