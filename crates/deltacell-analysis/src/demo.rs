//! The demo's last stage (`deltacell demo`): the trained models run as DeLTA's pipeline on
//! held-out synthetic mother-machine movies, and the lineages they give are scored against the
//! movies' truth with the Cell Tracking Challenge's measures.
//!
//! Each movie is one chamber (256×32) written as 16-bit TIFF frames, one position per movie
//! (`data/run-movie/Position{p}Channel01Frame{t}.tif`); the configuration is DeLTA's
//! mother-machine preset without chamber detection and corrections (the frames are chambers
//! already), with the demo's run folders as models; [`crate::run::Run`] writes the results
//! into `run/`, and the scores and lineage trees go to `report/lineages/`.

use std::path::{Path, PathBuf};

use deltacell_data::{io, random, synth, Labels, Plane};

use crate::config::{AnalysisConfig, ModelRole};
use crate::ctc::{synth_truth, to_ctc, CtcSequence, TrackedRoi};
use crate::error::{Error, Result};
use crate::lineage_eval::{evaluate_rois, LineageEvaluation};
use crate::lineage_pictures::write_lineage_report;
use crate::outputs::OutputOptions;
use crate::results::PositionResults;
use crate::run::{Run, RunRequest};

/// What the lineage stage measured and where it wrote.
#[derive(Clone, Debug)]
pub struct LineageOutcome {
    /// The scores, pooled and per movie.
    pub evaluation: LineageEvaluation,
    /// The results folder (`PositionNNNNNN.nc`, tables, pictures).
    pub results: PathBuf,
    /// The lineage report (`index.html`).
    pub report: PathBuf,
}

fn ctc_error(e: crate::ctc::CtcError) -> Error {
    Error::InvalidResults {
        roi: 0,
        problem: e.to_string(),
    }
}

fn predicted(position: &PositionResults) -> Result<CtcSequence> {
    let roi = position.rois.first().ok_or_else(|| Error::InvalidResults {
        roi: 0,
        problem: "no ROI".into(),
    })?;
    let (h, w) = roi.labels.plane_shape();
    let labels = (0..roi.frames())
        .map(|t| {
            let data = roi.labels.frame(t).iter().map(|&v| u32::from(v)).collect();
            Ok(Labels::from_plane(Plane::from_vec(h, w, data)?))
        })
        .collect::<Result<Vec<_>>>()?;
    to_ctc(&TrackedRoi {
        lineage: roi.lineage.clone(),
        labels,
    })
    .map_err(ctc_error)
}

/// Synthesises `movies` held-out chamber movies of `frames` frames (seeds from `seed`), runs
/// the pipeline on them with the segmentation and tracking run folders, scores the lineages.
pub fn lineage_stage(
    out: &Path,
    seg_run: &Path,
    track_run: &Path,
    movies: usize,
    frames: usize,
    seed: u64,
) -> Result<LineageOutcome> {
    let movie_dir = out.join("data").join("run-movie");
    std::fs::create_dir_all(&movie_dir).map_err(|e| deltacell_data::Error::io(&movie_dir, e))?;
    let mut truths = Vec::with_capacity(movies);
    for p in 1..=movies {
        let movie = synth::mm_movie(&mut random::seeded(seed.wrapping_add(p as u64)), frames);
        for (t, f) in movie.frames.iter().enumerate() {
            let u = f
                .plane()
                .map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16);
            let name = format!("Position{p:02}Channel01Frame{:06}.tif", t + 1);
            io::write_tiff_u16(movie_dir.join(name), std::slice::from_ref(&u))?;
        }
        let truth = to_ctc(&synth_truth(&movie).map_err(ctc_error)?).map_err(ctc_error)?;
        truths.push((format!("movie{p:02}"), truth));
    }
    let mut config = AnalysisConfig::preset("mothermachine")?;
    config.models.remove(&ModelRole::Rois);
    config.apply(&[
        "correct_rotation=false".to_string(),
        "correct_drift=false".to_string(),
        format!("models.seg.model_path={}", seg_run.display()),
        format!("models.track.model_path={}", track_run.display()),
        // The chambers are the models' size: resized (as DeLTA resizes its chambers), not cut.
        "models.seg.tolerable_resizing_factor=2".to_string(),
        "models.track.tolerable_resizing_factor=2".to_string(),
    ])?;
    let results = out.join("run");
    let run = Run::open(RunRequest {
        config,
        input: movie_dir.join("Position{p}Channel{c}Frame{t}.tif"),
        output: results.clone(),
        positions: None,
        frames: None,
        outputs: OutputOptions::default(),
    })?;
    let mut preds = Vec::with_capacity(movies);
    let mut positions = Vec::with_capacity(movies);
    for (&p, (name, _)) in run.positions().iter().zip(&truths) {
        run.position(p, &mut |_| {}, &|| false)?;
        let position = PositionResults::read(crate::outputs::results_path(&results, p))?;
        preds.push((name.clone(), predicted(&position)?));
        positions.push(position);
    }
    let evaluation =
        evaluate_rois(&preds, &truths, 0).map_err(|(name, e)| Error::InvalidResults {
            roi: 0,
            problem: format!("{name}: {e}"),
        })?;
    let report = out.join("report").join("lineages");
    let movies: Vec<_> = positions.iter().map(|p| p.rois.first()).collect();
    write_lineage_report(&report, &evaluation, &preds, &truths, &movies).map_err(ctc_error)?;
    Ok(LineageOutcome {
        evaluation,
        results,
        report,
    })
}
