//! The whole pipeline on synthetic movies with known lineages, with "oracle" networks: the
//! segmentation network returns the true mask of each window it is given (looked up by the
//! window's pixels), the tracking network marks the current cells that overlap the seed cell.
//! With perfect network outputs, the pipeline (windows or resizing, stitching, thresholds,
//! attribution, divisions, lineage, labels) must give back the true lineage exactly.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use deltacell_analysis::config::{AnalysisConfig, ModelRole};
use deltacell_analysis::ctc::{synth_truth, to_ctc, TrackedRoi};
use deltacell_analysis::lineage_eval::evaluate;
use deltacell_analysis::models::{LoadedModel, Models, Network};
use deltacell_analysis::movie::Movie;
use deltacell_analysis::outputs::{write_position, OutputOptions, PositionOutputs};
use deltacell_analysis::pipeline::{
    analyse_position, stream_position, PositionInput, WINDOW_OVERLAP,
};
use deltacell_analysis::results::PositionResults;
use deltacell_data::augment::resize::resize_image;
use deltacell_data::tiles::{create_windows, CroppingBox};
use deltacell_data::{random, synth, Batch, Image, Labels, Mask, Plane};

/// Returns, for each window it is given, the true mask's window (logits ±4).
struct SegOracle {
    truth: Mutex<HashMap<Vec<u32>, Plane<f32>>>,
}

impl Network for SegOracle {
    fn input_channels(&self) -> usize {
        1
    }
    fn logits(&self, batch: &Batch) -> deltacell_analysis::Result<Vec<Plane<f32>>> {
        let truth = self.truth.lock().unwrap();
        Ok((0..batch.n)
            .map(|i| {
                let key: Vec<u32> = batch
                    .x_plane(i, 0)
                    .as_slice()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                truth
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| panic!("the oracle was given a window it does not know"))
            })
            .collect())
    }
}

/// One transition of a movie: the previous frame and its cells' `(seed, mot_dau)` masks.
type Transition = (Plane<f32>, Vec<(Mask, Mask)>);

/// Returns, for each tracking sample, DeLTA's true tracking target (the seed cell and its
/// daughter at the current frame, `mot_dau`), found by locating the sample in the movie: the
/// transition whose previous image and seed cell, cropped at some box near the seed's centre,
/// equal the sample's channels 2 and 1.
struct TrackOracle {
    /// Per transition k → k+1: the previous frame as the pipeline sees it (stretched), and the
    /// true `(seed, mot_dau)` masks of every cell of frame k, full frame.
    transitions: Vec<Transition>,
}

fn crop<T: Copy + Default>(p: &Plane<T>, ytl: i64, xtl: i64, (h, w): (usize, usize)) -> Plane<T> {
    CroppingBox {
        ytl,
        xtl,
        ybr: ytl + h as i64,
        xbr: xtl + w as i64,
    }
    .crop(p)
}

impl Network for TrackOracle {
    fn input_channels(&self) -> usize {
        4
    }
    fn logits(&self, batch: &Batch) -> deltacell_analysis::Result<Vec<Plane<f32>>> {
        let shape = (batch.height, batch.width);
        Ok((0..batch.n)
            .map(|i| {
                let seed_in = batch.x_plane(i, 1).map(|v| u8::from(v > 0.5));
                let prev_in = batch.x_plane(i, 2);
                for (prev, cells) in &self.transitions {
                    for (seed, mot_dau) in cells {
                        let n = seed.count().max(1) as i64;
                        let (sy, sx) = seed
                            .as_slice()
                            .iter()
                            .enumerate()
                            .filter(|(_, &v)| v > 0)
                            .fold((0i64, 0i64), |(y, x), (k, _)| {
                                (y + (k / seed.width()) as i64, x + (k % seed.width()) as i64)
                            });
                        let (cy, cx) = (sy / n, sx / n);
                        // The whole ROI (resized to the same size), or a box near the centre.
                        let boxes = std::iter::once((0, 0)).chain((-3..=3).flat_map(|dy| {
                            (-3..=3).map(move |dx| {
                                (cy - shape.0 as i64 / 2 + dy, cx - shape.1 as i64 / 2 + dx)
                            })
                        }));
                        for (ytl, xtl) in boxes {
                            {
                                let same_image = crop(prev, ytl, xtl, shape)
                                    .as_slice()
                                    .iter()
                                    .zip(prev_in.as_slice())
                                    .all(|(a, b)| (a - b).abs() < 1e-6);
                                if crop(seed.plane(), ytl, xtl, shape) == seed_in && same_image {
                                    return crop(mot_dau.plane(), ytl, xtl, shape).map(|v| {
                                        if v > 0 {
                                            4.0
                                        } else {
                                            -4.0
                                        }
                                    });
                                }
                            }
                        }
                    }
                }
                panic!("the tracking oracle was given a sample it cannot place in the movie")
            })
            .collect())
    }
}

fn loaded(network: Box<dyn Network>) -> LoadedModel {
    LoadedModel {
        network,
        path: "oracle".into(),
        hash: "0".repeat(64),
    }
}

/// Writes the movie as 16-bit TIFFs `Position01Channel01Frame{t}.tif` (t from 1) and returns
/// the frames as the pipeline reads them back (grey values / 65535).
fn write_movie(dir: &Path, frames: &[Image]) -> Vec<Plane<f32>> {
    frames
        .iter()
        .enumerate()
        .map(|(t, f)| {
            let u = f
                .plane()
                .map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16);
            let path = dir.join(format!("Position01Channel01Frame{:06}.tif", t + 1));
            deltacell_data::io::write_tiff_u16(&path, std::slice::from_ref(&u)).unwrap();
            u.map(|v| v as f32 / 65535.0)
        })
        .collect()
}

/// The ROI image as the pipeline makes it: stretched from its minimum to its maximum.
fn stretched(p: &Plane<f32>) -> Image {
    let (lo, hi) = p
        .as_slice()
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    Image::from_plane_unchecked(p.map(|v| (v - lo) / (hi - lo)))
}

/// Scores the pipeline's lineage against the synthetic truth with the Cell Tracking
/// Challenge's measures (which do not depend on which daughter keeps the mother's id): every
/// cell, link and division must be found.
fn assert_lineage_is_the_truth(results: &PositionResults, movie: &synth::Movie) {
    assert_eq!(results.rois.len(), 1);
    let roi = &results.rois[0];
    assert_eq!(roi.frames(), movie.frames.len());
    let (h, w) = roi.labels.plane_shape();
    let labels = (0..roi.frames())
        .map(|t| {
            let data = roi.labels.frame(t).iter().map(|&v| u32::from(v)).collect();
            Labels::from_plane(Plane::from_vec(h, w, data).unwrap())
        })
        .collect();
    let pred = to_ctc(&TrackedRoi {
        lineage: roi.lineage.clone(),
        labels,
    })
    .unwrap();
    let truth = to_ctc(&synth_truth(movie).unwrap()).unwrap();
    let s = evaluate(&pred, &truth, 0).unwrap().scores;
    assert!(s.counts.division_tp > 0, "no division was tested");
    assert_eq!(
        (s.det, s.tra, s.seg, s.division_f1),
        (Some(1.0), Some(1.0), 1.0, Some(1.0)),
        "{:?}",
        s.counts
    );
}

fn run_case(movie: &synth::Movie, config: &AnalysisConfig) -> PositionResults {
    let dir = tempfile::tempdir().unwrap();
    let frames = write_movie(dir.path(), &movie.frames);
    let seg = config.model(ModelRole::Seg).unwrap().clone();
    let mut truth = HashMap::new();
    for (f, lab) in frames.iter().zip(&movie.labels) {
        let img = stretched(f);
        let mask = lab.plane().map(|l| if l > 0 { 4.0f32 } else { -4.0 });
        let (imgs, masks) = if seg.resizing_tolerable(img.shape()) {
            assert_eq!(
                img.shape(),
                seg.target_size,
                "the test resizes only to the same size"
            );
            (
                vec![resize_image(&img, seg.target_size).into_plane()],
                vec![mask],
            )
        } else {
            let (i, _) = create_windows(img.plane(), seg.target_size, WINDOW_OVERLAP).unwrap();
            let (m, _) = create_windows(&mask, seg.target_size, WINDOW_OVERLAP).unwrap();
            (i, m)
        };
        for (i, m) in imgs.into_iter().zip(masks) {
            truth.insert(i.as_slice().iter().map(|v| v.to_bits()).collect(), m);
        }
    }
    let models = Models {
        rois: None,
        seg: loaded(Box::new(SegOracle {
            truth: Mutex::new(truth),
        })),
        track: Some(loaded(Box::new(TrackOracle {
            transitions: frames
                .iter()
                .zip(&movie.tracks)
                .map(|(f, samples)| {
                    let cells = samples
                        .iter()
                        .map(|t| (t.seed.clone(), t.mot_dau.clone()))
                        .collect();
                    (stretched(f).into_plane(), cells)
                })
                .collect(),
        }))),
    };
    let template = dir.path().join("Position{p}Channel{c}Frame{t}.tif");
    let movie_in = Movie::open(&template).unwrap();
    let input = PositionInput {
        movie: &movie_in,
        position: 1,
        frames: movie_in.frames.clone(),
    };
    let mut frames_done = 0;
    let results = analyse_position(
        &input,
        config,
        &models,
        &mut |p| {
            if let deltacell_analysis::pipeline::Progress::Frame { done, .. } = p {
                frames_done = done;
            }
        },
        &|| false,
    )
    .unwrap();
    assert_eq!(frames_done, movie.frames.len());
    assert_streamed_outputs_are_the_in_memory_ones(&input, config, &models, &results);
    assert_a_cancelled_stream_leaves_nothing(&input, config, &models);
    // The results file round-trips.
    let nc = dir.path().join("out.nc");
    results.write(&nc).unwrap();
    let back = PositionResults::read(&nc).unwrap();
    assert_eq!(back.rois.len(), results.rois.len());
    for (a, b) in back.rois.iter().zip(&results.rois) {
        assert_eq!(a.lineage, b.lineage);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.seg, b.seg);
        assert_eq!(a.img, b.img);
        assert_eq!(a.bbox, b.bbox);
    }
    results
}

/// The outputs written frame by frame ([`PositionOutputs`], as `deltacell run` writes them)
/// are those written from the in-memory results: the same results file content, and the same
/// table, label images and lineage picture byte for byte.
fn assert_streamed_outputs_are_the_in_memory_ones(
    input: &PositionInput<'_>,
    config: &AnalysisConfig,
    models: &Models,
    results: &PositionResults,
) {
    let dir = tempfile::tempdir().unwrap();
    let (streamed, memory) = (dir.path().join("streamed"), dir.path().join("memory"));
    std::fs::create_dir(&streamed).unwrap();
    std::fs::create_dir(&memory).unwrap();
    let options = OutputOptions {
        movie: false,
        ..OutputOptions::default()
    };
    let mut sink = PositionOutputs::new(&streamed, options);
    let hollow = stream_position(input, config, models, &mut |_| {}, &|| false, &mut sink).unwrap();
    // Everything but the planes is in the streamed results.
    assert_eq!(hollow.drift, results.drift);
    for (h, r) in hollow.rois.iter().zip(&results.rois) {
        assert_eq!((&h.lineage, &h.features), (&r.lineage, &r.features));
        assert_eq!(h.frames(), r.frames());
        // The same layout but the planes' sizes (hollow: 0 × 0).
        let (mut a, b) = (h.layout(), r.layout());
        assert_eq!((a.shape, a.seg_shape), ((0, 0), (0, 0)));
        (a.shape, a.seg_shape) = (b.shape, b.seg_shape);
        assert_eq!(a, b);
    }
    // Nothing under a final name before the commit.
    sink.end(&hollow).unwrap();
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(names(&streamed)
        .iter()
        .all(|n| n.starts_with(".deltacell-")));
    let written = sink.commit(&hollow).unwrap();
    assert_eq!(written.last().unwrap().extension().unwrap(), "nc");
    write_position(&memory, results, options).unwrap();
    assert_eq!(names(&streamed), names(&memory));
    // (Features are stored as float32: compared as read back.)
    let read = |d: &Path| PositionResults::read(d.join("Position000001.nc")).unwrap();
    assert!(read(&streamed) == read(&memory), "the results files differ");
    for file in ["Position000001.csv", "Position000001.png"] {
        assert_eq!(
            std::fs::read(streamed.join(file)).unwrap(),
            std::fs::read(memory.join(file)).unwrap(),
            "{file}"
        );
    }
    let labels = names(&memory.join("Position000001_labels"));
    assert_eq!(labels.len(), results.rois[0].frames());
    assert_eq!(names(&streamed.join("Position000001_labels")), labels);
    for file in labels {
        let file = Path::new("Position000001_labels").join(file);
        assert_eq!(
            std::fs::read(streamed.join(&file)).unwrap(),
            std::fs::read(memory.join(&file)).unwrap(),
        );
    }
}

/// A position cancelled after two frames, and one whose outputs are dropped before their
/// commit, leave nothing in the results folder: no final name, no temporary file.
fn assert_a_cancelled_stream_leaves_nothing(
    input: &PositionInput<'_>,
    config: &AnalysisConfig,
    models: &Models,
) {
    let dir = tempfile::tempdir().unwrap();
    let done = std::cell::Cell::new(0);
    let mut sink = PositionOutputs::new(dir.path(), OutputOptions::default());
    let err = stream_position(
        input,
        config,
        models,
        &mut |p| {
            if let deltacell_analysis::pipeline::Progress::Frame { done: d, .. } = p {
                done.set(d);
            }
        },
        &|| done.get() >= 2,
        &mut sink,
    )
    .unwrap_err();
    assert!(matches!(err, deltacell_analysis::Error::Cancelled), "{err}");
    // The temporary files exist while the outputs do.
    assert!(std::fs::read_dir(dir.path()).unwrap().count() > 0);
    drop(sink);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Analysed to the end, then dropped (an output that failed): nothing either.
    let mut sink = PositionOutputs::new(dir.path(), OutputOptions::default());
    let hollow = stream_position(input, config, models, &mut |_| {}, &|| false, &mut sink).unwrap();
    sink.end(&hollow).unwrap();
    drop(sink);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_two_d_colony_is_tracked_exactly_with_perfect_network_outputs() {
    let movie = synth::colony_movie(&mut random::seeded(7), (200, 240), 6);
    let mut config = AnalysisConfig::preset("2D").unwrap();
    // Small windows and tracking boxes: several windows per frame, cells near box borders.
    config.set("models.seg.target_size", "128,128").unwrap();
    config.set("models.track.target_size", "64,64").unwrap();
    config.set("models.seg.min_area", "0").unwrap();
    let results = run_case(&movie, &config);
    assert_eq!(results.rotate, 0.0);
    assert!(results.drift.is_empty());
    assert_lineage_is_the_truth(&results, &movie);
}

#[test]
fn a_mother_machine_chamber_is_tracked_exactly_with_perfect_network_outputs() {
    let movie = synth::mm_movie(&mut random::seeded(3), 8);
    let mut config = AnalysisConfig::preset("mothermachine").unwrap();
    // The chamber is the whole frame (no ROI model); no corrections.
    config.models.remove(&ModelRole::Rois);
    config.set("correct_rotation", "false").unwrap();
    config.set("correct_drift", "false").unwrap();
    config.set("models.seg.min_area", "0").unwrap();
    // The chamber is the model's size: resized (to the same size) rather than cut into windows.
    config
        .set("models.seg.tolerable_resizing_factor", "2")
        .unwrap();
    config
        .set("models.track.tolerable_resizing_factor", "2")
        .unwrap();
    let results = run_case(&movie, &config);
    assert_eq!(results.rois[0].scaling, [1.0, 1.0]);
    assert_lineage_is_the_truth(&results, &movie);
}

/// DeLTA 3.0.0a6 reads the results deltacell's pipeline writes (`Position.load_netcdf`, in its
/// own venv, `DELTACELL_DELTA3_PYTHON`; skipped without it): the same ROIs, cells, mothers and
/// label stacks.
#[test]
fn delta3_reads_the_pipelines_results() {
    let Some(py) = common::delta3_python() else {
        return;
    };
    let movie = synth::mm_movie(&mut random::seeded(3), 8);
    let mut config = AnalysisConfig::preset("mothermachine").unwrap();
    config.models.remove(&ModelRole::Rois);
    config
        .apply(&[
            "correct_rotation=false",
            "correct_drift=false",
            "models.seg.tolerable_resizing_factor=2",
            "models.track.tolerable_resizing_factor=2",
        ])
        .unwrap();
    let results = run_case(&movie, &config);
    let dir = tempfile::tempdir().unwrap();
    let nc = dir.path().join("Position000001.nc");
    results.write(&nc).unwrap();
    let roi = &results.rois[0];
    let mothers: Vec<u32> = roi.lineage.cells().map(|c| c.mother.unwrap_or(0)).collect();
    let label_sum: u64 = roi.labels.as_slice().iter().map(|&v| u64::from(v)).sum();
    let script = format!(
        "import numpy as np, delta.pipeline as p\n\
         pos = p.Position.load_netcdf({nc:?})\n\
         roi = pos.rois[0]\n\
         cells = sorted(roi.lineage.cells)\n\
         print(len(pos.rois), len(cells), [roi.lineage.cells[c].motherid or 0 for c in cells], \
         int(np.sum(np.asarray(roi.label_stack, dtype=np.uint64))))\n",
        nc = nc.to_str().unwrap()
    );
    let stdout = common::run_python(&py, &script, &[]);
    let line = stdout.lines().last().unwrap_or_default();
    let want = format!("1 {} {:?} {label_sum}", roi.lineage.len(), mothers);
    assert_eq!(line, want, "DeLTA 3 read: {stdout}");
}
