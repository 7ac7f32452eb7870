//! Integration tests of the synthetic sets: layouts, reproducibility, mask properties and the
//! consistency of the tracking ground truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deltacell_data::io::{self, RawPixels};
use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::random::stream;
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::{Error, Labels, Mask};

fn no_progress(_: usize, _: usize) {}

/// Every file under `root`, by relative path, with its bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn make(kind: SynthKind, n: usize, seed: u64) -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let written = synth::generate(kind, n, seed, dir.path(), &no_progress).unwrap();
    assert_eq!(written, n);
    let f = files(dir.path());
    (dir, f)
}

/// Sorted file names of one folder.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Reads a mask file and checks it is 8-bit 0/255.
fn mask_0_255(path: &Path) -> Mask {
    match io::read_raw(path).unwrap() {
        RawPixels::U8(p) => assert!(
            p.as_slice().iter().all(|&v| v == 0 || v == 255),
            "{} is not 0/255",
            path.display()
        ),
        other => panic!("{}: not 8-bit ({other:?})", path.display()),
    }
    io::read_binary_mask(path).unwrap()
}

fn is_u16(path: &Path) -> bool {
    matches!(io::read_raw(path).unwrap(), RawPixels::U16(_))
}

/// Checks a flat layout: folders, identical names, same sizes, 16-bit images, binary masks.
fn check_layout(root: &Path, folders: &[&str], n: usize, shape: (usize, usize)) {
    let first = names(&root.join(folders[0]));
    assert_eq!(first.len(), n, "{}", root.display());
    for f in folders {
        assert_eq!(names(&root.join(f)), first, "folder {f}");
    }
    for name in &first {
        for f in folders {
            let p = root.join(f).join(name);
            if matches!(*f, "img" | "previmg") {
                assert!(is_u16(&p), "{} is not 16-bit", p.display());
                assert_eq!(
                    io::read_image(&p, io::Rescale::DtypeMax).unwrap().shape(),
                    shape
                );
            } else {
                assert_eq!(mask_0_255(&p).shape(), shape, "{}", p.display());
            }
        }
    }
}

fn assert_labels_separated(lab: &Labels) {
    let (h, w) = lab.shape();
    for y in 0..h {
        for x in 0..w {
            let v = lab.get(y, x);
            if v == 0 {
                continue;
            }
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let n = lab.get(yy, xx);
                    assert!(n == 0 || n == v, "labels {v} and {n} touch at ({y}, {x})");
                }
            }
        }
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_images_every_kind() {
    for kind in SynthKind::ALL {
        let n = match kind {
            SynthKind::TwoDSeg | SynthKind::Rois | SynthKind::Movie => 1,
            _ => 3,
        };
        let (_a, fa) = make(kind, n, 7);
        let (_b, fb) = make(kind, n, 7);
        assert!(!fa.is_empty());
        assert_eq!(
            fa.keys().collect::<Vec<_>>(),
            fb.keys().collect::<Vec<_>>(),
            "{kind}"
        );
        for (k, v) in &fa {
            assert!(fb[k] == *v, "{kind}: {} differs between runs", k.display());
        }
        let (_c, fc) = make(kind, n, 8);
        let img_differs = fa
            .iter()
            .filter(|(k, _)| k.to_string_lossy().contains("img"))
            .any(|(k, v)| fc.get(k) != Some(v));
        assert!(img_differs, "{kind}: another seed gave the same images");
    }
}

#[test]
fn bytes_do_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| synth::generate(SynthKind::MmTrack, 12, 3, dir.path(), &no_progress))
            .unwrap();
        let f = files(dir.path());
        (dir, f)
    };
    let (_a, one) = run(1);
    let (_b, three) = run(3);
    assert_eq!(one, three);
}

#[test]
fn segmentation_and_roi_layouts() {
    let (a, _) = make(SynthKind::MmSeg, 10, 1);
    check_layout(a.path(), &["img", "seg"], 10, synth::CHAMBER_SHAPE);
    // Names follow DeLTA's prototype.
    assert_eq!(
        names(&a.path().join("img"))[0],
        "Position000001_Chamber000001_Frame000001.png"
    );
    // 1–8 cells per chamber, separated by background (8-connected components are cells).
    for name in names(&a.path().join("seg")) {
        let m = mask_0_255(&a.path().join("seg").join(&name));
        let (_, k) = label(&m, Connectivity::Eight);
        assert!((1..=8).contains(&k), "{name}: {k} cells");
    }
    let (b, _) = make(SynthKind::TwoDSeg, 2, 1);
    check_layout(b.path(), &["img", "seg"], 2, synth::COLONY_SHAPE);
    for name in names(&b.path().join("seg")) {
        let m = mask_0_255(&b.path().join("seg").join(&name));
        let (_, k) = label(&m, Connectivity::Eight);
        assert!((40..=330).contains(&k), "{name}: {k} cells");
    }
    let (c, _) = make(SynthKind::Rois, 2, 1);
    check_layout(c.path(), &["img", "seg"], 2, synth::ROIS_SHAPE);
    for name in names(&c.path().join("seg")) {
        let m = mask_0_255(&c.path().join("seg").join(&name));
        let (_, k) = label(&m, Connectivity::Eight);
        assert!(k >= 3, "{name}: only {k} chambers");
    }
}

#[test]
fn tracking_layouts_and_ground_truth() {
    for (kind, shape) in [
        (SynthKind::MmTrack, synth::CHAMBER_SHAPE),
        (SynthKind::TwoDTrack, synth::COLONY_WINDOW),
    ] {
        let n = 9;
        let (d, _) = make(kind, n, 2);
        let root = d.path();
        let folders = ["previmg", "seg", "img", "segall", "mot_dau"];
        check_layout(root, &folders, n, shape);
        assert!(!root.join("wei").exists());
        let mut overlapping = 0;
        for name in names(&root.join("seg")) {
            assert!(
                name.starts_with("Position000001_Chamber")
                    && name.contains("_Frame000001Cell")
                    && name.ends_with(".png"),
                "{name}"
            );
            let seed = mask_0_255(&root.join("seg").join(&name));
            let segall = mask_0_255(&root.join("segall").join(&name));
            let md = mask_0_255(&root.join("mot_dau").join(&name));
            assert_eq!(label(&seed, Connectivity::Four).1, 1, "{name}: seed");
            // mot_dau is part of the current segmentation, and at most mother + daughter.
            for (m, s) in md.as_slice().iter().zip(segall.as_slice()) {
                assert!(*m <= *s, "{name}: mot_dau outside segall");
            }
            assert!(label(&md, Connectivity::Eight).1 <= 2, "{name}");
            let ov = md
                .as_slice()
                .iter()
                .zip(seed.as_slice())
                .filter(|(a, b)| **a == 1 && **b == 1)
                .count();
            overlapping += usize::from(ov > 0);
            if kind == SynthKind::MmTrack {
                // The mother cell (first of a chamber) sits at the closed end: it always
                // overlaps its next frame. Others are pushed towards the open end (down), never
                // up by more than the stage drift (2 px).
                if name.ends_with("Cell000001.png") {
                    assert!(
                        ov > 0,
                        "{name}: mother cell does not overlap its next frame"
                    );
                }
                let top = |m: &Mask| {
                    m.as_slice()
                        .iter()
                        .position(|&v| v == 1)
                        .map(|i| i / m.width())
                };
                if let (Some(a), Some(b)) = (top(&seed), top(&md)) {
                    assert!(b + 3 >= a, "{name}: cell moved up from row {a} to {b}");
                }
            }
        }
        if kind == SynthKind::TwoDTrack {
            // In a colony cells move little between frames.
            assert!(
                overlapping * 10 >= n * 7,
                "{kind}: {overlapping}/{n} overlap"
            );
        }
    }
}

#[test]
fn in_memory_chambers_have_the_requested_separated_cells() {
    for n in 1..=8usize {
        for s in 0..4 {
            let (img, lab) = synth::mm_chamber(&mut stream(11, 0, s * 10 + n as u64), n);
            assert_eq!(img.shape(), synth::CHAMBER_SHAPE);
            assert_eq!(lab.max_label() as usize, n);
            assert_labels_separated(&lab);
            assert_eq!(label(&lab.to_mask(), Connectivity::Eight).1 as usize, n);
        }
    }
    let (_, lab) = synth::colony(&mut stream(1, 0, 0), (256, 256), 60);
    assert_labels_separated(&lab);
    assert!(lab.max_label() >= 55, "{}", lab.max_label());
}

#[test]
fn tracking_pair_samples_follow_delta_numbering() {
    let pair = synth::mm_tracking_pair(&mut stream(4, 0, 0), 6);
    let (comp, k) = label(&pair.prev_labels.to_mask(), Connectivity::Four);
    assert_eq!(pair.samples.len(), k as usize);
    let mut divided = 0;
    for s in &pair.samples {
        let expect = Mask::from_plane(comp.map(|v| u8::from(v == s.cell)));
        assert_eq!(s.seed, expect, "cell {}", s.cell);
        divided += usize::from(label(&s.mot_dau, Connectivity::Eight).1 == 2);
    }
    // Across a few pairs some cells divide.
    let mut total = divided;
    for i in 1..10 {
        let p = synth::mm_tracking_pair(&mut stream(4, 0, i), 6);
        total += p
            .samples
            .iter()
            .filter(|s| label(&s.mot_dau, Connectivity::Eight).1 == 2)
            .count();
    }
    assert!(total > 0, "no division in 10 pairs");
}

#[test]
fn movie_layout_lineage_and_tracking_agree() {
    let (d, _) = make(SynthKind::Movie, 1, 5);
    for (sub, shape) in [("mm", synth::CHAMBER_SHAPE), ("2d", synth::COLONY_WINDOW)] {
        let root = d.path().join(sub);
        let frames = names(&root.join("img"));
        assert_eq!(frames.len(), synth::MOVIE_FRAMES);
        assert_eq!(names(&root.join("seg")), frames);
        assert_eq!(names(&root.join("labels")), frames);
        assert_eq!(
            frames[0], "Position000001_Chamber000001_Frame000001.png",
            "{sub}"
        );
        // lineage.csv: position,frame,label,cell,mother
        let csv = std::fs::read_to_string(root.join("lineage.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("position,frame,label,cell,mother"));
        let rows: Vec<[u32; 5]> = lines
            .map(|l| {
                let v: Vec<u32> = l.split(',').map(|x| x.parse().unwrap()).collect();
                [v[0], v[1], v[2], v[3], v[4]]
            })
            .collect();
        let labels: Vec<Labels> = frames
            .iter()
            .map(|f| io::read_labels(root.join("labels").join(f)).unwrap())
            .collect();
        for (t, lab) in labels.iter().enumerate() {
            assert_eq!(lab.shape(), shape);
            let n = rows.iter().filter(|r| r[1] == t as u32 + 1).count();
            assert_eq!(n as u32, lab.max_label(), "{sub} frame {}", t + 1);
            let seg = mask_0_255(&root.join("seg").join(&frames[t]));
            assert_eq!(seg, lab.to_mask());
        }
        let cell_of = |t: u32, l: u32| rows.iter().find(|r| r[1] == t && r[2] == l).unwrap()[3];
        let exists = |t: u32, c: u32| rows.iter().any(|r| r[1] == t && r[3] == c);
        let mot_dau = names(&root.join("mot_dau"));
        let expected: usize = labels[..labels.len() - 1]
            .iter()
            .map(|l| l.max_label() as usize)
            .sum();
        assert_eq!(mot_dau.len(), expected, "{sub}");
        let mut divisions = 0;
        for name in &mot_dau {
            // Position000001_Chamber000001_Frame{t}Cell{c}.png
            let t: u32 = name[34..40].parse().unwrap();
            let c: u32 = name[44..50].parse().unwrap();
            let id = cell_of(t, c);
            let next = &labels[t as usize];
            let expect = Mask::from_plane(next.map(|v| {
                u8::from(
                    v != 0 && {
                        let r = rows.iter().find(|r| r[1] == t + 1 && r[2] == v).unwrap();
                        r[3] == id || (r[4] == id && !exists(t, r[3]))
                    },
                )
            }));
            let got = mask_0_255(&root.join("mot_dau").join(name));
            assert_eq!(got, expect, "{sub}/{name}");
            divisions += usize::from(
                rows.iter()
                    .any(|r| r[1] == t + 1 && r[4] == id && !exists(t, r[3])),
            );
        }
        assert!(divisions > 0, "{sub}: no division in the movie");
    }
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(synth::generate(SynthKind::MmSeg, 0, 1, dir.path(), &no_progress).is_err());
    assert!(synth::generate(
        SynthKind::MmSeg,
        synth::MAX_N + 1,
        1,
        dir.path(),
        &no_progress
    )
    .is_err());
    synth::ensure_empty_output(dir.path()).unwrap();
    synth::ensure_empty_output(&dir.path().join("absent")).unwrap();
    std::fs::write(dir.path().join("x.txt"), b"x").unwrap();
    let err = synth::ensure_empty_output(dir.path()).unwrap_err();
    assert!(matches!(err, Error::OutputNotEmpty { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    assert!("mm-seg".parse::<SynthKind>().is_ok() && "2D-track".parse::<SynthKind>().is_ok());
    let e = "nope".parse::<SynthKind>().unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("mm-track"), "{e}");
    for k in SynthKind::ALL {
        assert_eq!(k.name().parse::<SynthKind>().unwrap(), k);
    }
}
