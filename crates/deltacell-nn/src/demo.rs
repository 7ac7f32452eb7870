//! The demo: the whole loop on built-in synthetic data, as `deltacell demo` runs it.
//!
//! 1. a synthetic mother-machine segmentation set ([`SynthKind::MmSeg`]) and its `seg_weights`
//!    maps (`wei/`);
//! 2. a small segmentation U-Net trained on it (a [`Session`]);
//! 3. a synthetic tracking set ([`SynthKind::MmTrack`]) and a small tracking U-Net;
//! 4. a held-out synthetic movie (another seed): the segmentation of its mother-machine frames,
//!    and the tracking of every cell from the true segmentations (so the tracking score
//!    measures the tracking model alone);
//! 5. both scored against the movie's ground truth;
//! 6. the HTML reports of `deltacell eval` and a front page under `OUT/report/`.
//!
//! Tracking outputs are read as DeLTA's pipeline reads them: the cells of frame *t* whose mean
//! probability is at least 0.5 ([`deltacell_data::postprocess::attribute_tracking`]).
//!
//! Floors ([`Demo::min_f1`], [`Demo::min_track_accuracy`]): F1@0.5 0.9 and tracking accuracy
//! 0.7 for the full demo, whose models are meant to be genuinely good on synthetic data
//! (measured, release, seed 1: 0.955 and 0.752 over 129 seed cells of four held-out movies;
//! 0.938 / 0.775 with other rounding in the convolutions); 0.5 and 0.6 for the quick demo,
//! whose models train for a few seconds (measured 0.92 and 0.95): low enough for any machine,
//! high enough that a broken stage (a model that learned nothing, inputs in the wrong order,
//! outputs under the wrong names) fails the run.

use std::path::{Path, PathBuf};

use deltacell_data::metrics::{self, SegEvaluation, TrackScores};
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::weights::{SegWeightParams, WeightRecipe};
use deltacell_data::{output, report, wei::make_weights};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::infer::{self, Predictor, SegOutput, SegPrediction, TrackPrediction};
use crate::session::{Overrides, Session, SessionOptions, TrainingSet, ValidationSteps};
use crate::train::{Control, Event};
use crate::unet::Kind;

/// Marks a folder as a demo's, so that a rerun may overwrite it.
const MARKER: &str = ".deltacell-demo";

/// Probability threshold of the segmentation post-processing: a briefly trained model is
/// generous on the thin gaps between touching cells, and a threshold above DeLTA's 0.5
/// separates them (one model after 100 steps, held-out movie: F1@0.5 0.65 at 0.5, 0.71 at 0.8,
/// 0.99 at 0.9; too high a threshold shrinks the cells of other models, hence 0.7).
pub const SEG_THRESHOLD: f64 = 0.7;

/// The training of one model: filters per level, batch size, epochs, steps per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Filters per level.
    pub filters: &'static [usize],
    /// Samples per step.
    pub batch_size: usize,
    /// Epochs.
    pub epochs: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
}

/// The sizes of a demo and its score floors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Demo {
    /// Samples of the segmentation and of the tracking set.
    pub samples: usize,
    /// Held-out movies of each type.
    pub movies: usize,
    /// The segmentation model's training.
    pub seg: Plan,
    /// The tracking model's training.
    pub track: Plan,
    /// Adam's learning rate of both.
    pub learning_rate: f64,
    /// The lowest acceptable segmentation F1 at IoU 0.5.
    pub min_f1: f64,
    /// The lowest acceptable tracking accuracy.
    pub min_track_accuracy: f64,
}

impl Demo {
    /// The full demo (about a minute on 2 cores, release build).
    pub const FULL: Demo = Demo {
        samples: 300,
        movies: 4,
        seg: Plan {
            filters: &[16, 32, 64, 128],
            batch_size: 4,
            epochs: 20,
            steps_per_epoch: 25,
        },
        track: Plan {
            filters: &[8, 16, 32, 64],
            batch_size: 4,
            epochs: 12,
            steps_per_epoch: 25,
        },
        learning_rate: 1e-3,
        min_f1: 0.9,
        min_track_accuracy: 0.7,
    };

    /// The quick demo: much smaller models, far fewer steps (for CI).
    pub const QUICK: Demo = Demo {
        samples: 100,
        movies: 2,
        seg: Plan {
            filters: &[8, 16, 32, 64],
            batch_size: 4,
            epochs: 8,
            steps_per_epoch: 25,
        },
        track: Plan {
            filters: &[8, 16, 32],
            batch_size: 4,
            epochs: 4,
            steps_per_epoch: 25,
        },
        learning_rate: 1e-3,
        min_f1: 0.5,
        min_track_accuracy: 0.6,
    };
}

/// What [`run`] reports while it works.
#[derive(Debug)]
pub enum DemoEvent<'a> {
    /// Stage `index` of 6 starts.
    Stage {
        /// 1 to 6.
        index: usize,
        /// What it does.
        what: &'static str,
    },
    /// A model's training session is open and starts.
    Training(&'a Session),
    /// A training event of that session.
    Train(&'a Event<'a>),
}

/// What the demo measured and where it wrote its report.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The segmentation of the held-out movies against their truth.
    pub seg: SegEvaluation,
    /// The tracking of the held-out movies against their truth.
    pub track: TrackScores,
    /// The report folder (`index.html`, `seg/`, `track/`).
    pub report: PathBuf,
}

impl Outcome {
    /// Whether both scores reach `demo`'s floors.
    pub fn passes(&self, demo: &Demo) -> bool {
        self.seg.overall.f1_50 >= demo.min_f1 && self.track.accuracy >= demo.min_track_accuracy
    }
}

/// Runs `demo` in `out` (an empty folder, or a previous demo's, whose products it replaces;
/// any other folder is refused with [`deltacell_data::Error::OutputNotEmpty`]) with `seed`.
pub fn run(
    demo: &Demo,
    out: &Path,
    seed: u64,
    mut on_event: impl FnMut(DemoEvent<'_>),
) -> Result<Outcome> {
    prepare(out)?;
    let data = out.join("data");
    let lr = demo.learning_rate;
    on_event(DemoEvent::Stage {
        index: 1,
        what: "synthesising a mother-machine segmentation set and its weights",
    });
    let seg_set = data.join("mm-seg");
    synth::generate(SynthKind::MmSeg, demo.samples, seed, &seg_set, &|_, _| {})?;
    let recipe = WeightRecipe::Seg(SegWeightParams::default());
    make_weights(&seg_set, &recipe, true, &|_, _| {})?;
    on_event(DemoEvent::Stage {
        index: 2,
        what: "training the segmentation U-Net",
    });
    let seg_run = out.join("runs/seg");
    train(
        Kind::Seg,
        &seg_set,
        &seg_run,
        demo.seg,
        lr,
        seed,
        &mut on_event,
    )?;
    on_event(DemoEvent::Stage {
        index: 3,
        what: "synthesising a tracking set and training the tracking U-Net",
    });
    let track_set = data.join("mm-track");
    synth::generate(
        SynthKind::MmTrack,
        demo.samples,
        seed,
        &track_set,
        &|_, _| {},
    )?;
    let track_run = out.join("runs/track");
    train(
        Kind::Track,
        &track_set,
        &track_run,
        demo.track,
        lr,
        seed,
        &mut on_event,
    )?;

    on_event(DemoEvent::Stage {
        index: 4,
        what: "predicting on a held-out synthetic movie",
    });
    let movie = data.join("movie");
    // Another seed than the training sets: the movie is never seen in training.
    let movie_seed = seed.wrapping_add(1000);
    synth::generate(
        SynthKind::Movie,
        demo.movies,
        movie_seed,
        &movie,
        &|_, _| {},
    )?;
    let mm = movie.join("mm");
    let (img, seg_truth) = (mm.join("img"), mm.join("seg"));
    let (pred_seg, pred_track) = (out.join("pred/seg"), out.join("pred/track"));
    let cpu = crate::device::cpu();
    let seg_model = Predictor::load_kind(&seg_run, Kind::Seg, &cpu)?;
    let seg_options = SegPrediction {
        output: SegOutput::Masks {
            threshold: SEG_THRESHOLD,
            opening: None,
            min_size: 20,
        },
        ..SegPrediction::default()
    };
    infer::predict_seg_folder(&seg_model, &img, &pred_seg, &seg_options, &mut |_| {})?;
    let track_model = Predictor::load_kind(&track_run, Kind::Track, &cpu)?;
    let track_options = TrackPrediction::default();
    infer::predict_track_folder(
        &track_model,
        &img,
        &seg_truth,
        &pred_track,
        &track_options,
        &mut |_, _| {},
    )?;

    on_event(DemoEvent::Stage {
        index: 5,
        what: "evaluating",
    });
    let (seg, seg_items) = metrics::evaluate_seg_folders(&pred_seg, &seg_truth)?;
    let (track, track_items) = metrics::evaluate_track_folders(&pred_track, &mm.join("mot_dau"))?;

    on_event(DemoEvent::Stage {
        index: 6,
        what: "writing the report",
    });
    let report = out.join("report");
    report::write_seg_report(&report.join("seg"), &seg_items, &seg, Some(&img))?;
    report::write_track_report(&report.join("track"), &track_items, &track)?;
    write_index(&report, &seg, &track, &[])?;
    Ok(Outcome { seg, track, report })
}

/// Creates `out`, or clears a previous demo's folder; refuses other non-empty folders.
fn prepare(out: &Path) -> Result<()> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
        if entries.next().is_some() && !out.join(MARKER).is_file() {
            return Err(deltacell_data::Error::OutputNotEmpty {
                path: out.to_path_buf(),
            }
            .into());
        }
        for sub in ["data", "runs", "pred", "report"] {
            let p = out.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    output::write_bytes(out.join(MARKER), b"deltacell demo folder\n")?;
    Ok(())
}

/// Trains a small model of `kind` on the mother-machine preset: no early stopping, 5 % of the
/// files held out, one validation pass per epoch.
fn train(
    kind: Kind,
    set: &Path,
    run: &Path,
    plan: Plan,
    learning_rate: f64,
    seed: u64,
    on_event: &mut impl FnMut(DemoEvent<'_>),
) -> Result<()> {
    let mut config = Config::preset("mothermachine")?;
    config.model_mut(kind)?.validation_split = 0.05;
    let data = TrainingSet::Folder {
        train: set.to_path_buf(),
        val: None,
    };
    let mut options = SessionOptions::new(kind, config, data, run);
    options.overrides = Overrides {
        epochs: Some(plan.epochs),
        steps_per_epoch: Some(plan.steps_per_epoch),
        batch_size: Some(plan.batch_size),
        patience: Some(0),
        learning_rate: Some(learning_rate),
        filters: Some(plan.filters.to_vec()),
        ..Overrides::default()
    };
    (options.seed, options.validation_steps) = (seed, ValidationSteps::OnePass);
    let session = Session::open(options)?;
    on_event(DemoEvent::Training(&session));
    let outcome = session.run(|ev| {
        on_event(DemoEvent::Train(ev));
        Control::Continue
    })?;
    if outcome.history.epochs.is_empty() {
        return Err(Error::Data(format!(
            "{}: training the {kind} model ran no epoch",
            run.display()
        )));
    }
    Ok(())
}

/// The demo's front page: headline numbers and links to the two reports.
/// Writes the report's front page: the headline scores, then `extra` rows `(measure, value)`
/// (the lineage stage's, which runs after [`run`]), with links to the reports.
pub fn write_index(
    report: &Path,
    seg: &SegEvaluation,
    track: &TrackScores,
    extra: &[(String, String)],
) -> Result<()> {
    let o = &seg.overall;
    let rows = [
        (
            "segmentation F1 at IoU 0.5".to_string(),
            format!("{:.3}", o.f1_50),
        ),
        (
            "precision / recall at IoU 0.5".into(),
            format!("{:.3} / {:.3}", o.precision_50, o.recall_50),
        ),
        ("AP at IoU 0.75".into(), format!("{:.3}", o.ap_75)),
        ("pixel IoU".into(), format!("{:.3}", o.pixel_iou)),
        (
            format!("tracking accuracy ({} seed cells)", track.n_seeds),
            format!("{:.3}", track.accuracy),
        ),
        (
            "link precision / recall".into(),
            format!("{:.3} / {:.3}", track.link_precision, track.link_recall),
        ),
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .chain(extra.iter().cloned())
        .map(|(k, v)| vec![report::html_escape(&k), v])
        .collect();
    let lineages = if extra.is_empty() {
        ""
    } else {
        " · <a href=\"lineages/index.html\">lineage report</a>"
    };
    let intro = format!(
        "<p>Synthetic mother-machine data; models trained on CPU by <code>deltacell demo</code>. \
         <a href=\"seg/index.html\">segmentation report</a> · \
         <a href=\"track/index.html\">tracking report</a>{lineages}</p>"
    );
    let html = report::html_page("deltacell demo", &intro, &["measure", "value"], &rows);
    output::write_bytes(report.join("index.html"), html.as_bytes())?;
    Ok(())
}
