//! `deltacell augment` on a tiny synthetic training set.

use std::path::Path;
use std::process::Command;

use deltacell_data::image::{Image, Mask, Plane, WeightMap};
use deltacell_data::io;

fn write_set(root: &Path, with_weights: bool) {
    for sub in ["img", "seg", "wei"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for k in 0..3 {
        let (h, w) = (48, 24);
        let img = Image::from_plane(Plane::from_fn(h, w, |r, c| {
            0.2 + 0.6 * (((r + 3 * k) % 12) as f32 / 12.0) * (c as f32 / w as f32)
        }));
        let mask = Mask::from_fn(h, w, |r, c| (r + k) % 16 < 12 && (5..19).contains(&c));
        let wei = WeightMap::from_plane(mask.to_f32().map(|v| 1.0 + 4.0 * v));
        let name = format!("Position01_Frame{k:03}.png");
        io::write_image(root.join("img").join(&name), &img, io::Depth::U8).unwrap();
        // The mask partner is matched by stem, so its extension may differ.
        io::write_mask(root.join("seg").join(name.replace(".png", ".tif")), &mask).unwrap();
        if with_weights {
            io::write_weights_u8(root.join("wei").join(&name), &wei).unwrap();
        }
    }
    if !with_weights {
        std::fs::remove_dir(root.join("wei")).unwrap();
    }
}

fn deltacell(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("run deltacell")
}

#[test]
fn contact_sheet_and_augmented_training_set() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    write_set(&set, true);
    let cfg = tmp.path().join("aug.toml");
    std::fs::write(
        &cfg,
        "rotation = 10\nzoom = 0.2\nhorizontal_flip = true\nvertical_flip = true\n\
         illumination_voodoo = true\ngaussian_noise = 0.03\n\
         [elastic_deformation]\nsigma = 2\npoints = 3\n",
    )
    .unwrap();
    let sheet = tmp.path().join("sheet.png");
    let out_dir = tmp.path().join("augmented");
    let o = deltacell(&[
        "augment",
        set.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--n",
        "3",
        "--seed",
        "7",
        "--out",
        sheet.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 3 samples × (image row + weight row) of 4 tiles (original + 3 variants), 4 px gaps.
    let raw = io::read_raw(&sheet).unwrap();
    assert_eq!(raw.shape(), (4 + 6 * (48 + 4), 4 + 4 * (24 + 4)));
    let mut n = 0;
    for sub in ["img", "seg", "wei"] {
        let files: Vec<_> = std::fs::read_dir(out_dir.join(sub)).unwrap().collect();
        assert_eq!(files.len(), 9, "{sub}");
        n += files.len();
    }
    assert_eq!(n, 27);
    let m = io::read_binary_mask(out_dir.join("seg/Position01_Frame001_aug002.png")).unwrap();
    assert_eq!(m.shape(), (48, 24));
    assert!(m.count() > 0);
    // Same seed, same output; the sheet is reproducible byte for byte.
    let sheet2 = tmp.path().join("sheet2.png");
    let o = deltacell(&[
        "augment",
        set.to_str().unwrap(),
        "-c",
        cfg.to_str().unwrap(),
        "--n",
        "3",
        "--seed",
        "7",
        "--out",
        sheet2.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(&sheet).unwrap(),
        std::fs::read(&sheet2).unwrap()
    );
}

#[test]
fn works_without_weights_and_with_a_preset() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    write_set(&set, false);
    let sheet = tmp.path().join("sheet.png");
    let o = deltacell(&[
        "augment",
        set.to_str().unwrap(),
        "--config",
        "seg",
        "--n",
        "2",
        "--samples",
        "2",
        "--out",
        sheet.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        io::read_raw(&sheet).unwrap().shape(),
        (4 + 2 * 52, 4 + 3 * 28)
    );
}

#[test]
fn misspelled_key_exits_1_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    write_set(&set, true);
    let cfg = tmp.path().join("aug.toml");
    std::fs::write(&cfg, "rotation = 2\ngaussion_noise = 0.03\n").unwrap();
    let o = deltacell(&[
        "augment",
        set.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        tmp.path().join("s.png").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("gaussion_noise"), "{err}");
    assert!(err.contains("did you mean gaussian_noise?"), "{err}");
    assert!(err.contains("aug.toml"), "{err}");
    assert!(!tmp.path().join("s.png").exists());
}
