//! A run of the pipeline over a movie into a results folder: what `deltacell run` and the
//! Python package's `deltacell.pipeline` do.
//!
//! [`Run::open`] checks everything that can be checked before any work (the configuration, the
//! movie's layout, the positions and frames asked for, the output folder lying outside every
//! input, the models), so that a bad input fails at once with one error naming it;
//! [`Run::position`] then analyses one position and writes its outputs
//! ([`crate::outputs`]) as its frames are done, so that memory does not grow with the movie's
//! length, independently of the other positions (positions can go to different processes).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::AnalysisConfig;
use crate::error::{Error, Result};
use crate::models::Models;
use crate::movie::Movie;
use crate::outputs::{OutputOptions, PositionOutputs};
use crate::pipeline::{self, PositionInput, Progress};
use crate::results::PositionResults;
use crate::results_movie::{self, MovieFormat, MovieOptions};
use crate::{drift, rotation};
use deltacell_data::report::RgbImage;

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
    /// DeLTA's results movie of a position, drawn frame by frame in a second pass: its
    /// phase-contrast frames read again, corrected as the analysis corrected them, drawn over
    /// with each ROI's labels read back from the results file being written
    /// ([`results_movie::movie_frame`], the grey range gathered in the first pass) and
    /// encoded one at a time (MP4 through `ffmpeg`, else an animated PNG
    /// `PositionNNNNNN_movie.png`).
    fn results_movie(
        &self,
        results: &PositionResults,
        outputs: &mut PositionOutputs,
    ) -> Result<PathBuf> {
        let phase = self.movie.channels[0];
        let range = outputs.movie_range();
        let options = MovieOptions::default();
        let mut next = |i: usize| -> Result<RgbImage> {
            let f = self.frames[i];
            let mut p = self
                .movie
                .frame(results.position_nb, phase, f, Some(results.shape))?;
            if self.config.correct_rotation {
                p = rotation::rotate(&p, results.rotate);
            }
            if let Some(&d) = results.drift.get(i) {
                p = drift::correct(&p, d);
            }
            let labels = (0..results.rois.len())
                .map(|r| outputs.labels(r, i))
                .collect::<Result<Vec<_>>>()?;
            results_movie::movie_frame(&p, range, i, results, &labels, &options)
        };
        let base = self
            .output
            .join(format!("Position{:06}", results.position_nb));
        let (path, format) = results_movie::write_movie_with(
            &base,
            results.shape,
            self.frames.len(),
            results_movie::DELTA_FPS,
            &mut next,
        )?;
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

    /// Analyses `position`, its results file and label images written frame by frame under
    /// temporary names ([`PositionOutputs`]); then writes its fingerprint
    /// ([`crate::fingerprint`]), the results movie (a second pass over the frames), the table
    /// and the lineage picture, and renames the label images and the results file (last) into
    /// place. `progress` and `cancelled` as in [`pipeline::analyse_position`]; a cancelled or
    /// failed position leaves nothing under a final name (its temporary files are removed). [`Run::resume_position`] skips a complete position.
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
        // The results file and the label images are written frame by frame, under temporary
        // names until every output is done.
        let mut outputs = PositionOutputs::new(&self.output, self.outputs);
        let results = pipeline::stream_position(
            &input,
            &self.config,
            &self.models,
            progress,
            cancelled,
            &mut outputs,
        )?;
        outputs.end(&results)?;
        fingerprint.begin_outputs(&self.output)?;
        let mut written = Vec::new();
        if self.outputs.movie {
            written.push(self.results_movie(&results, &mut outputs)?);
        }
        written.extend(outputs.commit(&results)?);
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
