//! A run of the pipeline over a movie into a results folder: what `deltacell run` and the
//! Python package's `deltacell.pipeline` do.
//!
//! [`Run::open`] checks everything that can be checked before any work (the configuration, the
//! movie's layout, the positions and frames asked for, the output folder lying outside every
//! input, the models), so that a bad input fails at once with one error naming it;
//! [`Run::position`] then analyses one position and writes its outputs
//! ([`crate::outputs`]), independently of the others (positions can go to different processes).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::AnalysisConfig;
use crate::error::{Error, Result};
use crate::models::Models;
use crate::movie::Movie;
use crate::outputs::{self, OutputOptions};
use crate::pipeline::{self, PositionInput, Progress};
use crate::results::PositionResults;
use crate::results_movie::{self, MovieFormat, MovieOptions};
use crate::{drift, rotation};

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The configuration (models, sizes, corrections).
    pub config: AnalysisConfig,
    /// The movie: a `{p}`/`{c}`/`{t}` template, a multi-page TIFF or a folder of frames.
    pub input: PathBuf,
    /// The results folder (created; must not be or lie inside an input).
    pub output: PathBuf,
    /// The positions to analyse (the movie's numbers); `None`: all.
    pub positions: Option<Vec<u32>>,
    /// Inclusive range of the movie's frame numbers; `None`: all.
    pub frames: Option<(Option<u32>, Option<u32>)>,
    /// Which outputs besides the results file and the table.
    pub outputs: OutputOptions,
}

/// What one position gave.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionSummary {
    /// The position's number.
    pub position: u32,
    /// ROIs found.
    pub rois: usize,
    /// Frames analysed.
    pub frames: usize,
    /// Cells in all ROIs.
    pub cells: usize,
    /// Rotation applied, degrees.
    pub rotate: f64,
    /// Files and folders written (the results file last).
    pub written: Vec<PathBuf>,
    /// Wall time of the analysis and the writing, seconds.
    pub seconds: f64,
}

/// A checked run, ready to analyse positions.
pub struct Run {
    pub(crate) config: AnalysisConfig,
    pub(crate) movie: Movie,
    pub(crate) models: Models,
    pub(crate) positions: Vec<u32>,
    pub(crate) frames: Vec<u32>,
    pub(crate) output: PathBuf,
    pub(crate) outputs: OutputOptions,
}

impl Run {
    /// DeLTA's results movie of a position: its phase-contrast frames read again, corrected
    /// as the analysis corrected them, drawn over ([`crate::results_movie`]) and written
    /// (MP4 through `ffmpeg`, else an animated PNG `PositionNNNNNN_movie.png`).
    fn results_movie(&self, results: &PositionResults) -> Result<PathBuf> {
        let phase = self.movie.channels[0];
        let frames = self
            .frames
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let mut p = self
                    .movie
                    .frame(results.position_nb, phase, f, Some(results.shape))?;
                if self.config.correct_rotation {
                    p = rotation::rotate(&p, results.rotate);
                }
                if let Some(&d) = results.drift.get(i) {
                    p = drift::correct(&p, d);
                }
                Ok(p)
            })
            .collect::<Result<Vec<_>>>()?;
        let pictures = results_movie::movie_frames(&frames, results, &MovieOptions::default())?;
        let base = self
            .output
            .join(format!("Position{:06}", results.position_nb));
        let (path, format) =
            results_movie::write_movie(&base, &pictures, results_movie::DELTA_FPS)?;
        if format == MovieFormat::Apng {
            // `PositionNNNNNN.png` is the lineage picture: the animation gets its own name.
            let named = self
                .output
                .join(format!("Position{:06}_movie.png", results.position_nb));
            std::fs::rename(&path, &named).map_err(|e| deltacell_data::Error::io(&named, e))?;
            return Ok(named);
        }
        Ok(path)
    }
}

/// The folder a movie input's files lie in.
fn input_folder(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.to_path_buf()
    } else {
        input
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    }
}

impl Run {
    /// Checks the request and loads the models; creates the output folder.
    pub fn open(request: RunRequest) -> Result<Run> {
        let RunRequest {
            config,
            input,
            output,
            positions,
            frames,
            outputs,
        } = request;
        config.check()?;
        let movie = Movie::open(&input)?;
        let positions = match positions {
            None => movie.positions.clone(),
            Some(list) => {
                let missing: Vec<String> = list
                    .iter()
                    .filter(|p| !movie.positions.contains(p))
                    .map(u32::to_string)
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::Movie {
                        input,
                        problem: format!(
                            "position(s) {} not in the movie (it has {:?})",
                            missing.join(", "),
                            movie.positions
                        ),
                    });
                }
                list
            }
        };
        let frames = pipeline::select_frames(&movie, frames)?;
        let mut inputs = vec![input_folder(&input)];
        inputs.extend(
            config
                .models
                .values()
                .filter(|m| !m.model_path.as_os_str().is_empty())
                .map(|m| m.model_path.clone()),
        );
        let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        let models = Models::load(&config)?;
        deltacell_data::output::prepare_dir(&output, &refs)?;
        Ok(Run {
            config,
            movie,
            models,
            positions,
            frames,
            output,
            outputs,
        })
    }

    /// The positions to analyse, in order.
    pub fn positions(&self) -> &[u32] {
        &self.positions
    }

    /// The movie's frame numbers analysed.
    pub fn frames(&self) -> &[u32] {
        &self.frames
    }

    /// The results folder.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Analyses `position` and writes its fingerprint ([`crate::fingerprint`]), then its
    /// outputs. `progress` and `cancelled` as in [`pipeline::analyse_position`]; a cancelled
    /// position writes nothing. [`Run::resume_position`] skips a complete position.
    pub fn position(
        &self,
        position: u32,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<PositionSummary> {
        // What the results are made from (crate::fingerprint), hashed before the analysis.
        let fingerprint = self.fingerprint(position)?;
        self.position_with(position, &fingerprint, progress, cancelled)
    }

    /// [`Run::position`] with the position's fingerprint already computed.
    pub(crate) fn position_with(
        &self,
        position: u32,
        fingerprint: &crate::fingerprint::Fingerprint,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<PositionSummary> {
        let t0 = Instant::now();
        let input = PositionInput {
            movie: &self.movie,
            position,
            frames: self.frames.clone(),
        };
        let results =
            pipeline::analyse_position(&input, &self.config, &self.models, progress, cancelled)?;
        fingerprint.begin_outputs(&self.output)?;
        let mut written = Vec::new();
        if self.outputs.movie {
            written.push(self.results_movie(&results)?);
        }
        written.extend(outputs::write_position(
            &self.output,
            &results,
            self.outputs,
        )?);
        Ok(PositionSummary {
            position,
            rois: results.rois.len(),
            frames: self.frames.len(),
            cells: results.rois.iter().map(|r| r.lineage.len()).sum(),
            rotate: results.rotate,
            written,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}
