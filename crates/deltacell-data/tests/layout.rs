//! Matching rules of training-set layouts: stems across extensions, letter case, duplicates,
//! orphans, sorting, weights, and the strict open listing every offending file.

use std::path::Path;

use deltacell_data::check::check;
use deltacell_data::image::{Mask, Plane};
use deltacell_data::io;
use deltacell_data::layout::{Folders, Role, TrainingSet};
use deltacell_data::Error;
use deltacell_data::Kind;

const H: usize = 16;
const W: usize = 8;

fn img(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let plane = Plane::from_fn(H, W, |r, c| (r * 300 + c * 7) as u16);
    let ext = path.extension().unwrap().to_ascii_lowercase();
    if ext == "png" {
        io::write_png_u16(path, &plane).unwrap();
    } else {
        io::write_tiff_u16(path, &[plane]).unwrap();
    }
}

fn mask(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    io::write_mask(path, &Mask::from_fn(H, W, |r, c| r > 3 && r < 9 && c > 1)).unwrap();
}

fn stems(set: &TrainingSet) -> Vec<&str> {
    set.samples.iter().map(|s| s.stem()).collect()
}

#[test]
fn stems_match_across_extensions_and_letter_case() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    img(&r.join("img/a.TIF"));
    mask(&r.join("seg/a.png"));
    img(&r.join("img/b.png"));
    mask(&r.join("seg/b.TIFF"));
    img(&r.join("img/c.tiff"));
    mask(&r.join("seg/c.Png"));
    let set = TrainingSet::open(r, None).unwrap();
    assert_eq!(stems(&set), ["a", "b", "c"]);
    assert_eq!(
        set.samples[0].path(Role::Img),
        Some(r.join("img/a.TIF").as_path())
    );
    assert_eq!(
        set.samples[0].path(Role::Seg),
        Some(r.join("seg/a.png").as_path())
    );
    assert_eq!(
        set.samples[1].path(Role::Seg),
        Some(r.join("seg/b.TIFF").as_path())
    );
    assert_eq!(set.samples[2].path(Role::Wei), None);
}

#[test]
fn stems_keep_inner_dots_and_are_case_sensitive() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    img(&r.join("img/x.v2.tif"));
    mask(&r.join("seg/x.v2.png"));
    img(&r.join("img/Y.png"));
    mask(&r.join("seg/y.png"));
    let set = TrainingSet::discover(r, None).unwrap();
    assert_eq!(stems(&set), ["x.v2"]);
    // "Y" and "y" are different stems: each lacks its partner.
    let missing: Vec<&str> = set
        .unmatched
        .missing_partners
        .iter()
        .map(|m| m.stem.as_str())
        .collect();
    assert_eq!(missing, ["Y", "y"]);
}

#[test]
fn duplicates_in_one_folder_are_reported_with_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    img(&r.join("img/a.png"));
    img(&r.join("img/a.tif"));
    mask(&r.join("seg/a.png"));
    img(&r.join("img/b.png"));
    mask(&r.join("seg/b.png"));
    mask(&r.join("seg/b.tiff"));
    img(&r.join("img/c.png"));
    mask(&r.join("seg/c.png"));
    let set = TrainingSet::discover(r, None).unwrap();
    assert_eq!(stems(&set), ["c"]);
    let dups = &set.unmatched.duplicates;
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0].files, [r.join("img/a.png"), r.join("img/a.tif")]);
    assert_eq!(dups[1].files, [r.join("seg/b.png"), r.join("seg/b.tiff")]);

    let err = TrainingSet::open(r, None).unwrap_err();
    let text = err.to_string();
    for f in ["img/a.png", "img/a.tif", "seg/b.png", "seg/b.tiff"] {
        assert!(text.contains(f), "{f} not named in {text}");
    }
}

#[test]
fn samples_are_sorted_by_img_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    // DeLTA sorts img/ by file name: "a-1.png" < "a.png" ('-' < '.') although stem "a" < "a-1".
    for stem in ["a", "a-1", "Frame10", "Frame2"] {
        img(&r.join(format!("img/{stem}.png")));
        mask(&r.join(format!("seg/{stem}.png")));
    }
    let set = TrainingSet::open(r, None).unwrap();
    assert_eq!(stems(&set), ["Frame10", "Frame2", "a-1", "a"]);
}

#[test]
fn weights_join_the_samples_and_orphan_weights_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for stem in ["a", "b"] {
        img(&r.join(format!("img/{stem}.png")));
        mask(&r.join(format!("seg/{stem}.png")));
        mask(&r.join(format!("wei/{stem}.png")));
    }
    let set = TrainingSet::open(r, None).unwrap();
    assert_eq!(set.folders.wei.as_deref(), Some(r.join("wei").as_path()));
    assert_eq!(
        set.samples[1].path(Role::Wei),
        Some(r.join("wei/b.png").as_path())
    );
    assert!(check(&set).has_weights);

    mask(&r.join("wei/zz.png"));
    std::fs::remove_file(r.join("wei/a.png")).unwrap();
    let set = TrainingSet::discover(r, None).unwrap();
    assert_eq!(stems(&set), ["b"]);
    let m = &set.unmatched.missing_partners;
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].stem, "a");
    assert_eq!(m[0].missing_in, [r.join("wei")]);
    assert_eq!(m[1].stem, "zz");
    assert_eq!(m[1].present, [r.join("wei/zz.png")]);
    assert_eq!(m[1].missing_in, [r.join("img"), r.join("seg")]);
}

#[test]
fn tracking_layout_matches_five_folders_by_stem() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for stem in [
        "Position01_Frame002Cell000001",
        "Position01_Frame003Cell000002",
    ] {
        img(&r.join(format!("previmg/{stem}.png")));
        img(&r.join(format!("img/{stem}.tif")));
        for folder in ["seg", "segall", "mot_dau"] {
            mask(&r.join(format!("{folder}/{stem}.png")));
        }
    }
    let set = TrainingSet::open(r, None).unwrap();
    assert_eq!(set.kind, Kind::Track);
    assert_eq!(set.len(), 2);
    let roles: Vec<Role> = set.samples[0].files().map(|(role, _)| role).collect();
    assert_eq!(
        roles,
        [
            Role::PrevImg,
            Role::Seg,
            Role::Img,
            Role::SegAll,
            Role::MotDau
        ]
    );
    // A missing mot_dau/ folder is named.
    std::fs::remove_dir_all(r.join("mot_dau")).unwrap();
    let err = TrainingSet::discover(r, None).unwrap_err();
    assert!(matches!(err, Error::NotATrainingSet { .. }), "{err}");
    assert!(err.to_string().contains("mot_dau/"), "{err}");
}

#[test]
fn rois_must_be_asked_for_and_folders_may_live_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    img(&r.join("frames/a.png"));
    mask(&r.join("chambers/a.png"));
    let folders = Folders {
        img: Some(r.join("frames")),
        seg: Some(r.join("chambers")),
        ..Folders::default()
    };
    let set = TrainingSet::open_folders(folders.clone(), Some(Kind::Rois)).unwrap();
    assert_eq!(set.kind, Kind::Rois);
    assert_eq!(set.root, r);
    let set = TrainingSet::open_folders(folders, None).unwrap();
    assert_eq!(set.kind, Kind::Seg);
}

#[test]
fn strict_open_lists_every_broken_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for i in 0..6 {
        img(&r.join(format!("img/s{i}.png")));
        mask(&r.join(format!("seg/s{i}.png")));
    }
    // s1: truncated image; s2: 16-bit label mask; s3: wrong size; s4: no mask.
    let bytes = std::fs::read(r.join("img/s1.png")).unwrap();
    std::fs::write(r.join("img/s1.png"), &bytes[..bytes.len() - 20]).unwrap();
    io::write_labels(
        r.join("seg/s2.png"),
        &deltacell_data::Labels::from_plane(Plane::from_fn(H, W, |r, _| (r / 4) as u32)),
    )
    .unwrap();
    io::write_mask(r.join("seg/s3.png"), &Mask::zeros(H, W + 1)).unwrap();
    std::fs::remove_file(r.join("seg/s4.png")).unwrap();

    let set = TrainingSet::discover(r, None).unwrap();
    let report = check(&set);
    assert!(!report.usable());
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.non_binary_masks.len(), 1);
    assert_eq!(report.non_binary_masks[0].distinct, 4);
    assert_eq!(report.size_mismatches.len(), 1);
    assert_eq!(report.missing_partners.len(), 1);
    // s0 and s5 are fine; s4's img is decoded although it has no partner.
    assert_eq!(report.good_samples, 2);
    assert_eq!(report.folders[0].files, 6);

    let Err(Error::Layout { problems, .. }) = TrainingSet::open(r, None) else {
        panic!("strict open must fail");
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    for (i, name) in [
        (1, "img/s1.png"),
        (2, "seg/s2.png"),
        (3, "seg/s3.png"),
        (4, "img/s4.png"),
    ] {
        let hits = problems.iter().filter(|p| p.contains(name)).count();
        assert_eq!(hits, 1, "s{i}: {problems:#?}");
    }
}

#[test]
fn report_serialises_to_json() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    img(&r.join("img/a.png"));
    std::fs::create_dir(r.join("seg")).unwrap();
    io::write_mask(r.join("seg/a.png"), &Mask::zeros(H, W)).unwrap();
    let report = check(&TrainingSet::open(r, None).unwrap());
    let v: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(v["usable"], true);
    assert_eq!(v["cell_fraction"], 0.0);
    assert_eq!(v["empty_masks"][0], r.join("seg/a.png").to_str().unwrap());
    assert_eq!(v["folders"][1]["role"], "seg");
    assert_eq!(v["folders"][1]["sizes"][0]["height"], H);
    assert_eq!(v["stale_weights"].as_array().unwrap().len(), 0);
    // The human summary says where the empty mask is.
    assert!(report.to_string().contains("seg/a.png"), "{report}");
}

#[cfg(unix)]
#[test]
fn real_label_masks_are_flagged_and_symlinked_files_are_followed() {
    // A set made of links to the Omnipose images and their uint8 label masks: every mask has
    // many labels, so every mask is reported as not binary, by name.
    let omni =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/omnipose/test_files");
    assert!(omni.is_dir(), "{} is missing", omni.display());
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir(r.join("img")).unwrap();
    std::fs::create_dir(r.join("seg")).unwrap();
    let names = ["caulo_15", "e1t1_crop", "ec_5I_t141xy5c1"];
    for stem in names {
        let img = omni.join(format!("{stem}.tif")).canonicalize().unwrap();
        let seg = omni
            .join(format!("masks/{stem}_cp_masks.tif"))
            .canonicalize()
            .unwrap();
        std::os::unix::fs::symlink(img, r.join(format!("img/{stem}.tif"))).unwrap();
        std::os::unix::fs::symlink(seg, r.join(format!("seg/{stem}.tif"))).unwrap();
    }
    let set = TrainingSet::discover(r, None).unwrap();
    assert_eq!(stems(&set), names);
    let report = check(&set);
    assert!(!report.usable());
    assert_eq!(report.non_binary_masks.len(), 3, "{report}");
    assert!(report.non_binary_masks.iter().all(|m| m.distinct > 20));
    assert!(report.size_mismatches.is_empty() && report.unreadable.is_empty());
    assert_eq!(report.folders[0].bit_depths[0].count, 3);
    assert_eq!(report.folders[0].bit_depths[0].depth.label(), "16-bit");
    assert_eq!(report.folders[0].sizes.len(), 3);
}
