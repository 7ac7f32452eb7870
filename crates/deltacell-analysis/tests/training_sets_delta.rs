//! Training sets made from DeLTA 3's own results of its mother-machine movie
//! (`../shared/data/delta-3.0.0a6/movie_mothermachine_tif/`: 18 chambers × 10 frames), checked
//! with deltacell's validator and, sample by sample, against the label stacks and lineages.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deltacell_analysis::movie::Movie;
use deltacell_analysis::results::{PositionResults, RoiResults};
use deltacell_analysis::training_sets::{
    chamber_box, write_rois_set, write_seg_set, write_track_set, OutputOptions, RoisFrames,
};
use deltacell_data::io::{self, Rescale};
use deltacell_data::layout::TrainingSet;
use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::Kind;

fn movie_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/delta-3.0.0a6/movie_mothermachine_tif");
    p.join("expected_results/Position000001.nc")
        .is_file()
        .then_some(p)
}

/// Every blocking problem `deltacell check` would report, and the number of samples.
fn check(dir: &Path, kind: Kind) -> (Vec<String>, usize) {
    let set = TrainingSet::discover(dir, Some(kind)).unwrap();
    let report = deltacell_data::check::check(&set);
    (report.problems(), report.samples)
}

/// The expected training mask, written out here without the library: a cell pixel stays unless
/// one of its 8 neighbours belongs to another cell.
fn expected_mask(labels: &[u16], h: usize, w: usize) -> Vec<u8> {
    let mut out = vec![0u8; h * w];
    for r in 0..h {
        for c in 0..w {
            let v = labels[r * w + c];
            if v == 0 {
                continue;
            }
            let mut touching = false;
            for rr in r.saturating_sub(1)..(r + 2).min(h) {
                for cc in c.saturating_sub(1)..(c + 2).min(w) {
                    let n = labels[rr * w + cc];
                    touching |= n != 0 && n != v;
                }
            }
            out[r * w + c] = u8::from(!touching);
        }
    }
    out
}

fn name(roi: &RoiResults, t: usize) -> String {
    format!(
        "Position000001_Chamber{:06}_Frame{:06}",
        roi.roi_nb + 1,
        roi.first_frame as usize + t
    )
}

#[test]
fn deltas_results_make_valid_seg_track_and_rois_sets() {
    let Some(movie_dir) = movie_dir() else {
        println!("skipped: ../shared/data/delta-3.0.0a6/… (DeLTA's expected results) not found");
        return;
    };
    let nc = movie_dir.join("expected_results/Position000001.nc");
    let position = PositionResults::read(&nc).unwrap();
    assert_eq!(position.rois.len(), 18);
    let results = [position];
    let position = &results[0];
    let tmp = tempfile::tempdir().unwrap();
    let options = OutputOptions {
        force: false,
        inputs: vec![nc],
    };

    // --- segmentation: one sample per ROI and frame ---
    let seg_dir = tmp.path().join("seg");
    let start = std::time::Instant::now();
    let seg = write_seg_set(&results, &seg_dir, &options).unwrap();
    println!("seg set: {:.2} s", start.elapsed().as_secs_f64());
    assert_eq!((seg.samples, seg.sources), (180, 18));
    let (problems, samples) = check(&seg_dir, Kind::Seg);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, 180);
    let mut cleared = 0;
    for roi in &position.rois {
        let (h, w) = roi.labels.plane_shape();
        for t in 0..roi.frames() {
            let stem = name(roi, t);
            let mask = io::read_mask(seg_dir.join("seg").join(format!("{stem}.png"))).unwrap();
            let labels = roi.labels.frame(t);
            let expected = expected_mask(labels, h, w);
            assert_eq!(mask.as_slice(), expected.as_slice(), "{stem}");
            cleared += labels
                .iter()
                .zip(&expected)
                .filter(|(&l, &m)| l != 0 && m == 0)
                .count();
            let img = io::read_image(
                seg_dir.join("img").join(format!("{stem}.png")),
                Rescale::DtypeMax,
            )
            .unwrap();
            let err = img
                .as_slice()
                .iter()
                .zip(roi.img.frame(t))
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(err <= 0.6 / 65535.0, "{stem}: image differs by {err}");
        }
    }
    // DeLTA's `detect_touching_cells` finds 7 touching pixels in these label stacks (chamber 18,
    // frame 5: cells 1 and 7).
    assert_eq!(cleared, 7);

    // --- tracking: one sample per cell of frames 0..8 ---
    let track_dir = tmp.path().join("track");
    let start = std::time::Instant::now();
    let track = write_track_set(&results, &track_dir, &options).unwrap();
    println!("track set: {:.2} s", start.elapsed().as_secs_f64());
    let cells: usize = position
        .rois
        .iter()
        .flat_map(|roi| {
            (0..roi.frames() - 1).map(move |t| {
                let ids: BTreeSet<u16> = roi.labels.frame(t).iter().copied().collect();
                ids.len() - usize::from(ids.contains(&0))
            })
        })
        .sum();
    assert_eq!(cells, 828);
    assert_eq!(track.samples, cells);
    // A mot_dau is empty when neither the cell nor a daughter born then is at frame t (the cell
    // left the chamber, or DeLTA lost it).
    let left: usize = position
        .rois
        .iter()
        .map(|roi| {
            let mut n = 0;
            for t in 1..roi.frames() {
                let cur: BTreeSet<u16> = roi.labels.frame(t).iter().copied().collect();
                let prev: BTreeSet<u16> = roi.labels.frame(t - 1).iter().copied().collect();
                for &id in prev.iter().filter(|&&id| id != 0) {
                    let cell = roi.lineage.cell(u32::from(id)).unwrap();
                    let daughters = cell.divisions.iter().filter(|(f, _)| *f == t);
                    let seen = cur.contains(&id)
                        || daughters
                            .into_iter()
                            .any(|(_, d)| cur.contains(&(*d as u16)));
                    n += usize::from(!seen);
                }
            }
            n
        })
        .sum();
    assert_eq!(track.empty_targets, left);
    assert_eq!(left, 73);
    let (problems, samples) = check(&track_dir, Kind::Track);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, cells);
    // Every division: the mother's sample at the frame before holds her, and its mot_dau holds
    // her and her daughter, two pieces apart.
    let mut divisions = 0;
    for roi in &position.rois {
        let (h, w) = roi.labels.plane_shape();
        for mother in roi.lineage.cells() {
            for &(f, daughter) in &mother.divisions {
                if f == 0 || !roi.labels.frame(f - 1).contains(&(mother.id as u16)) {
                    continue;
                }
                let prev = roi.labels.frame(f - 1);
                let prev_mask = expected_mask(prev, h, w);
                // The mother's number: raster order of the cells' first kept pixels.
                let mut order: Vec<u16> = Vec::new();
                for (&l, &m) in prev.iter().zip(&prev_mask) {
                    if m != 0 && !order.contains(&l) {
                        order.push(l);
                    }
                }
                let number = order.iter().position(|&l| l == mother.id as u16).unwrap() + 1;
                let file = format!("{}Cell{number:06}.png", name(roi, f - 1));
                let seed = io::read_mask(track_dir.join("seg").join(&file)).unwrap();
                for ((&s, &l), &m) in seed.as_slice().iter().zip(prev).zip(&prev_mask) {
                    assert_eq!(s != 0, m != 0 && l == mother.id as u16, "{file}");
                }
                let cur = roi.labels.frame(f);
                let cur_mask = expected_mask(cur, h, w);
                let mot_dau = io::read_mask(track_dir.join("mot_dau").join(&file)).unwrap();
                for ((&s, &l), &m) in mot_dau.as_slice().iter().zip(cur).zip(&cur_mask) {
                    let want = m != 0 && (l == mother.id as u16 || l == daughter as u16);
                    assert_eq!(s != 0, want, "{file}");
                }
                let both = cur.contains(&(mother.id as u16)) && cur.contains(&(daughter as u16));
                if both {
                    let (_, pieces) = label(&mot_dau, Connectivity::Eight);
                    assert_eq!(pieces, 2, "{file}");
                    divisions += 1;
                }
            }
        }
    }
    assert!(divisions >= 40, "only {divisions} divisions checked");

    // --- chambers: the rotated reference frame and its chamber rectangles ---
    let template = movie_dir.join("Position{p}Channel{c}Frames{t}.tif");
    let movie = Movie::open(&template).unwrap();
    let rois_dir = tmp.path().join("rois");
    let rois =
        write_rois_set(&results, &movie, RoisFrames::Reference, &rois_dir, &options).unwrap();
    assert_eq!((rois.samples, rois.empty_targets), (1, 0));
    let (problems, samples) = check(&rois_dir, Kind::Rois);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, 1);
    let stem = "Position000001_Frame000001.png";
    let mask = io::read_mask(rois_dir.join("seg").join(stem)).unwrap();
    let area: i64 = position
        .rois
        .iter()
        .map(|r| {
            let (h, w) = chamber_box(&r.bbox).unwrap().shape();
            h * w
        })
        .sum();
    assert_eq!(mask.count() as i64, area);
    // Every frame: each, cropped at each ROI's box moved by the frame's drift, is DeLTA's image
    // of the ROI at that frame (which DeLTA stretches to [0, 1]): rotation, drift and boxes
    // line up. Without the rotation they do not.
    let every_dir = tmp.path().join("rois-every");
    let every = write_rois_set(&results, &movie, RoisFrames::Every, &every_dir, &options).unwrap();
    assert_eq!((every.samples, every.sources), (10, 1));
    let (problems, samples) = check(&every_dir, Kind::Rois);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, 10);
    let reference = std::fs::read(rois_dir.join("img").join(stem)).unwrap();
    assert_eq!(
        std::fs::read(every_dir.join("img").join(stem)).unwrap(),
        reference
    );
    let (height, width) = (position.shape.0 as i64, position.shape.1 as i64);
    let (mut worst, mut worst_unrotated) = (1f64, 1f64);
    for t in 0..10 {
        let stem = format!("Position000001_Frame{:06}.png", t + 1);
        let frame = io::read_image(every_dir.join("img").join(&stem), Rescale::DtypeMax).unwrap();
        let mask = io::read_mask(every_dir.join("seg").join(&stem)).unwrap();
        let unrotated = movie.frame(1, 1, t as u32 + 1, None).unwrap();
        let (dx, dy) = position.drift[t];
        for roi in &position.rois {
            let b = roi.bbox;
            let crop = |plane: &[f32]| -> Vec<f64> {
                (b.ytl + dy..b.ybr + dy)
                    .flat_map(|y| (b.xtl + dx..b.xbr + dx).map(move |x| (y, x)))
                    // DeLTA's shift replicates the border (chamber 18 reaches the right edge).
                    .map(|(y, x)| (y.clamp(0, height - 1), x.clamp(0, width - 1)))
                    .map(|(y, x)| f64::from(plane[y as usize * width as usize + x as usize]))
                    .collect()
            };
            let theirs: Vec<f64> = roi.img.frame(t).iter().map(|&v| f64::from(v)).collect();
            worst = worst.min(correlation(&crop(frame.as_slice()), &theirs));
            worst_unrotated =
                worst_unrotated.min(correlation(&crop(unrotated.as_slice()), &theirs));
            // The chamber's top-left corner, moved by the drift, is in the mask.
            let c = chamber_box(&b).unwrap();
            let (y, x) = ((c.ytl + dy) as usize, (c.xtl + dx) as usize);
            assert_eq!(mask.get(y, x), 1, "{stem}");
            assert_eq!(mask.get(y - 1, x), 0, "{stem}");
        }
    }
    println!(
        "rois: worst correlation with DeLTA's ROI images {worst:.5} (unrotated {worst_unrotated:.5})"
    );
    assert!(worst > 0.999, "{worst}");
    assert!(worst_unrotated < 0.95, "{worst_unrotated}");
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt()
}

/// DeLTA's 2-D movie (one ROI, the whole frame): segmentation and tracking sets are valid; a
/// chamber set is refused, as the movie has no chambers.
#[test]
fn a_2d_movie_makes_seg_and_track_sets_but_no_chamber_set() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/delta-3.0.0a6/movie_2D_tif");
    let nc = dir.join("expected_results/Position000001.nc");
    if !nc.is_file() {
        println!("skipped: ../shared/data/delta-3.0.0a6/movie_2D_tif not found");
        return;
    }
    let results = [PositionResults::read(&nc).unwrap()];
    let tmp = tempfile::tempdir().unwrap();
    let options = OutputOptions::default();
    let seg = write_seg_set(&results, &tmp.path().join("seg"), &options).unwrap();
    assert_eq!(seg.samples, 4);
    let (problems, samples) = check(&tmp.path().join("seg"), Kind::Seg);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, 4);
    let track = write_track_set(&results, &tmp.path().join("track"), &options).unwrap();
    let (problems, samples) = check(&tmp.path().join("track"), Kind::Track);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(samples, track.samples);
    assert!(track.samples >= 3);
    let movie = Movie::open(&dir.join("Position{p}Channel{c}Frame{t}.tif")).unwrap();
    let rois = write_rois_set(
        &results,
        &movie,
        RoisFrames::Reference,
        &tmp.path().join("rois"),
        &options,
    );
    let err = rois.unwrap_err();
    assert!(
        matches!(
            err,
            deltacell_analysis::Error::TrainingSet {
                position: 1,
                roi: Some(0),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("whole frame"), "{err}");
}
