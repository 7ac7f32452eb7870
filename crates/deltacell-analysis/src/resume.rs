//! Resuming an analysis: where each position of a results folder stands against this run
//! ([`PositionState`]: to do, complete, or made from something else), the refusal of changed
//! positions before any work, and [`Run::resume_position`], which skips a complete position and
//! analyses the others. The fingerprint itself (what results are made from, and its file) is
//! [`crate::fingerprint`]'s; the analysis and its outputs are [`crate::run`]'s.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fingerprint::{
    config_hash, failure_path, fingerprint_path, hash_file, hex, Fingerprint, PositionState, FORMAT,
};
use crate::outputs;
use crate::pipeline::Progress;
use crate::run::{PositionSummary, Run};

/// What [`Run::resume_position`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The position was complete; nothing was done.
    Skipped,
    /// The position was analysed and its outputs written.
    Done(PositionSummary),
}

impl Run {
    /// The fingerprint of `position` for this run (hashes the position's input frames).
    pub fn fingerprint(&self, position: u32) -> Result<Fingerprint> {
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let files = self.movie.files(position, &self.frames);
        for (channel, frame, path) in &files {
            hasher.update(channel.to_le_bytes());
            hasher.update(frame.to_le_bytes());
            let mut one = Sha256::new();
            let n = hash_file(&mut one, path)?;
            hasher.update(n.to_le_bytes());
            hasher.update(one.finalize());
            bytes += n;
        }
        let config = self.config.to_json();
        Ok(Fingerprint {
            format: FORMAT,
            deltacell: env!("CARGO_PKG_VERSION").to_string(),
            position,
            experiment: self.positions.clone(),
            input: self.movie.input().display().to_string(),
            frames: self.frames.clone(),
            input_files: files.len(),
            input_bytes: bytes,
            input_sha256: hex(&hasher.finalize()),
            config_sha256: config_hash(&config),
            config,
            models: self.models.hashes().into_iter().collect(),
            outputs: self.outputs.into(),
        })
    }

    /// Where `position` stands in the results folder. Hashes the inputs only when a results
    /// file is there to compare with.
    pub fn state(&self, position: u32) -> Result<PositionState> {
        if !outputs::results_path(self.output(), position).is_file() {
            return Ok(PositionState::ToDo);
        }
        self.state_against(position, &self.fingerprint(position)?)
    }

    /// Where `position` stands, its fingerprint for this run being `now`.
    fn state_against(&self, position: u32, now: &Fingerprint) -> Result<PositionState> {
        let dir = self.output();
        if !outputs::results_path(dir, position).is_file() {
            return Ok(PositionState::ToDo);
        }
        let Some(recorded) = Fingerprint::read(&fingerprint_path(dir, position))? else {
            return Ok(PositionState::Changed(vec![
                "no fingerprint beside its results file (written by an older deltacell or \
                 another program)"
                    .into(),
            ]));
        };
        let changes = recorded.changes(now);
        if changes.is_empty() {
            Ok(PositionState::Complete)
        } else {
            Ok(PositionState::Changed(changes))
        }
    }

    /// The states of `positions`; with `redo` false, an error naming every position whose
    /// results were made from something else and what changed, before any work.
    pub fn check_resume(&self, positions: &[u32], redo: bool) -> Result<Vec<PositionState>> {
        let states = positions
            .iter()
            .map(|&p| self.state(p))
            .collect::<Result<Vec<_>>>()?;
        self.refuse_changed(positions, &states, redo)?;
        Ok(states)
    }

    /// With `redo` false, [`Error::ResultsChanged`] naming every position of `positions` whose
    /// state is [`PositionState::Changed`] and what changed.
    fn refuse_changed(
        &self,
        positions: &[u32],
        states: &[PositionState],
        redo: bool,
    ) -> Result<()> {
        if !redo {
            let changed: Vec<String> = positions
                .iter()
                .zip(states)
                .filter_map(|(p, s)| match s {
                    PositionState::Changed(c) => Some(format!("position {p}: {}", c.join("; "))),
                    _ => None,
                })
                .collect();
            if !changed.is_empty() {
                return Err(Error::ResultsChanged {
                    dir: self.output().to_path_buf(),
                    changes: changed,
                });
            }
        }
        Ok(())
    }

    /// [`Run::position`] unless the position is complete (skipped); results made from
    /// something else are refused ([`Error::ResultsChanged`]) unless `redo`. A failure is
    /// recorded in `PositionNNNNNN.error.txt` (for `deltacell merge`), removed on success; a
    /// cancelled position records nothing.
    pub fn resume_position(
        &self,
        position: u32,
        redo: bool,
        progress: &mut dyn FnMut(Progress),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Outcome> {
        // Hashed once, for the comparison and for the outputs.
        let now = self.fingerprint(position)?;
        let state = self.state_against(position, &now)?;
        self.refuse_changed(&[position], std::slice::from_ref(&state), redo)?;
        if state == PositionState::Complete {
            return Ok(Outcome::Skipped);
        }
        let failure = failure_path(self.output(), position);
        match self.position_with(position, &now, progress, cancelled) {
            Ok(summary) => {
                if failure.exists() {
                    std::fs::remove_file(&failure)
                        .map_err(|e| Error::Data(deltacell_data::Error::io(&failure, e)))?;
                }
                Ok(Outcome::Done(summary))
            }
            Err(Error::Cancelled) => Err(Error::Cancelled),
            Err(e) => {
                // The analysis' error matters more than a failure to record it.
                let _ = deltacell_data::output::write_bytes(&failure, format!("{e}\n").as_bytes());
                Err(e)
            }
        }
    }
}
