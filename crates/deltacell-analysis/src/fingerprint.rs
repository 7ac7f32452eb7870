//! What a position's results were made from, so that a re-submitted run resumes: each position
//! analysed records a *fingerprint*, `PositionNNNNNN.fingerprint.json`, next to its outputs.
//!
//! The fingerprint holds SHA-256 digests of everything the results depend on:
//!
//! * the position's input frames, their bytes (every channel of every selected frame, in
//!   channel, then frame order, each with its channel and frame number and length; the whole
//!   file for a multi-page TIFF), with their count and total size;
//! * the configuration as resolved (file, preset and `-C` settings; the JSON DeLTA records in
//!   results files), without the models' paths: models are compared by their weights, so a model
//!   folder that moved but holds the same weights is the same model;
//! * each model's weights (the SHA-256 the results files record as `{model}_model_hash`);
//! * the frames selected, the outputs asked for (labels, lineage picture, movie) and
//!   deltacell's version.
//!
//! It also records, for `deltacell merge` ([`crate::merge`]), the positions of the experiment
//! (the run's position list before sharding), the input as given and the configuration.
//!
//! **Order of writes** ([`crate::run::Run::position`]): the analysis first (while it runs, the
//! results file and the label images are written under temporary names only,
//! `.deltacell-*.tmp`); then an earlier results file of the position is removed, the fingerprint is
//! written, then the outputs, the results file (`PositionNNNNNN.nc`) last. So a results file
//! always lies beside the fingerprint it was made with, and a position killed at any point has
//! either its complete outputs or no results file.
//!
//! **States** ([`crate::run::Run::state`], in [`crate::resume`]): no results file → the
//! position is (re)done (a partial position, killed mid-write, included); a results file and a
//! fingerprint equal to the run's → complete, skipped; a results file with another fingerprint,
//! or without one (an older deltacell, another program) → changed: refused, naming what
//! changed, unless the run is asked to redo it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::outputs::{self, OutputOptions};

/// Version of the fingerprint file's layout.
pub const FORMAT: u32 = 1;

/// The fingerprint file of position `position_nb` in `dir`.
///
/// ```
/// use std::path::Path;
/// let p = deltacell_analysis::fingerprint::fingerprint_path(Path::new("out"), 7);
/// assert_eq!(p, Path::new("out/Position000007.fingerprint.json"));
/// ```
pub fn fingerprint_path(dir: &Path, position_nb: u32) -> PathBuf {
    dir.join(format!("Position{position_nb:06}.fingerprint.json"))
}

/// The failure record of position `position_nb` in `dir` (the error of its last attempt,
/// removed when it succeeds).
///
/// ```
/// use std::path::Path;
/// let p = deltacell_analysis::fingerprint::failure_path(Path::new("out"), 7);
/// assert_eq!(p, Path::new("out/Position000007.error.txt"));
/// ```
pub fn failure_path(dir: &Path, position_nb: u32) -> PathBuf {
    dir.join(format!("Position{position_nb:06}.error.txt"))
}

/// The outputs asked for, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputsRecord {
    /// Full-frame label images.
    pub labels: bool,
    /// The lineage picture.
    pub lineage_picture: bool,
    /// The results movie.
    pub movie: bool,
}

impl From<OutputOptions> for OutputsRecord {
    fn from(o: OutputOptions) -> Self {
        OutputsRecord {
            labels: o.labels,
            lineage_picture: o.lineage_picture,
            movie: o.movie,
        }
    }
}

/// What one position's results were made from (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`FORMAT`].
    pub format: u32,
    /// deltacell's version.
    pub deltacell: String,
    /// The position's number.
    pub position: u32,
    /// The experiment's positions: the run's list before sharding (not compared).
    pub experiment: Vec<u32>,
    /// The movie input as given (not compared: the frames' bytes are).
    pub input: String,
    /// The movie's frame numbers analysed.
    pub frames: Vec<u32>,
    /// Input files read.
    pub input_files: usize,
    /// Their total size, bytes.
    pub input_bytes: u64,
    /// SHA-256 of the input frames (hexadecimal).
    pub input_sha256: String,
    /// SHA-256 of the configuration without the models' paths (hexadecimal).
    pub config_sha256: String,
    /// The configuration as DeLTA records it in results files (not compared: its hash is).
    pub config: String,
    /// SHA-256 of each model's weights, by role (`rois`, `seg`, `track`).
    pub models: BTreeMap<String, String>,
    /// The outputs asked for.
    pub outputs: OutputsRecord,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the configuration's JSON with every `model_path` removed.
pub(crate) fn config_hash(config_json: &str) -> String {
    let mut value: serde_json::Value =
        serde_json::from_str(config_json).unwrap_or(serde_json::Value::Null);
    if let Some(models) = value.get_mut("models").and_then(|m| m.as_object_mut()) {
        for m in models.values_mut() {
            if let Some(m) = m.as_object_mut() {
                m.remove("model_path");
            }
        }
    }
    hex(&Sha256::digest(value.to_string().as_bytes()))
}

/// Feeds a file's bytes into `hasher`; returns its size.
pub(crate) fn hash_file(hasher: &mut Sha256, path: &Path) -> Result<u64> {
    let io = |e| Error::Data(deltacell_data::Error::io(path, e));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

impl Fingerprint {
    /// Reads a fingerprint file; `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Fingerprint>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Data(deltacell_data::Error::io(path, e))),
        };
        let fp: Fingerprint = serde_json::from_str(&text).map_err(|e| Error::Fingerprint {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        if fp.format != FORMAT {
            return Err(Error::Fingerprint {
                path: path.to_path_buf(),
                problem: format!("format {}, this deltacell reads {FORMAT}", fp.format),
            });
        }
        Ok(Some(fp))
    }

    /// Writes it atomically as `PositionNNNNNN.fingerprint.json` in `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Fingerprint {
            path: fingerprint_path(dir, self.position),
            problem: e.to_string(),
        })?;
        deltacell_data::output::write_bytes(
            fingerprint_path(dir, self.position),
            format!("{text}\n").as_bytes(),
        )?;
        Ok(())
    }

    /// What differs between an earlier fingerprint (`self`) and `now`, in words, one item per
    /// difference; empty when the results would be the same. The experiment's position list,
    /// the input's and the models' paths are not compared.
    ///
    /// ```
    /// use deltacell_analysis::fingerprint::{Fingerprint, OutputsRecord};
    /// let a = Fingerprint {
    ///     format: 1, deltacell: "1.0.0".into(), position: 1, experiment: vec![1, 2],
    ///     input: "movie/p{p}t{t}.tif".into(), frames: vec![0, 1], input_files: 2,
    ///     input_bytes: 10, input_sha256: "aa".into(), config_sha256: "cc".into(),
    ///     config: "{}".into(), models: [("seg".to_string(), "11".to_string())].into(),
    ///     outputs: OutputsRecord { labels: true, lineage_picture: true, movie: false },
    /// };
    /// let mut b = a.clone();
    /// b.experiment = vec![1];
    /// assert!(a.changes(&b).is_empty());
    /// b.models.insert("seg".into(), "22".into());
    /// b.input_sha256 = "ab".into();
    /// let changes = a.changes(&b);
    /// assert_eq!(changes.len(), 2);
    /// assert!(changes[0].starts_with("input frames"));
    /// assert!(changes[1].starts_with("model seg"));
    /// ```
    pub fn changes(&self, now: &Fingerprint) -> Vec<String> {
        let short = |h: &str| h.chars().take(12).collect::<String>();
        let mut out = Vec::new();
        if self.position != now.position {
            out.push(format!("position {} → {}", self.position, now.position));
        }
        if self.frames != now.frames {
            out.push(format!(
                "frames selected ({} → {} frames)",
                self.frames.len(),
                now.frames.len()
            ));
        }
        if (self.input_files, self.input_bytes, &self.input_sha256)
            != (now.input_files, now.input_bytes, &now.input_sha256)
        {
            out.push(format!(
                "input frames ({} files, {} bytes, sha256 {} → {} files, {} bytes, sha256 {})",
                self.input_files,
                self.input_bytes,
                short(&self.input_sha256),
                now.input_files,
                now.input_bytes,
                short(&now.input_sha256)
            ));
        }
        let roles: std::collections::BTreeSet<&String> =
            self.models.keys().chain(now.models.keys()).collect();
        for role in roles {
            let (a, b) = (self.models.get(role), now.models.get(role));
            if a != b {
                let show = |h: Option<&String>| h.map_or("none".to_string(), |h| short(h));
                out.push(format!(
                    "model {role} (weights sha256 {} → {})",
                    show(a),
                    show(b)
                ));
            }
        }
        if self.config_sha256 != now.config_sha256 {
            out.push(format!(
                "configuration (sha256 {} → {})",
                short(&self.config_sha256),
                short(&now.config_sha256)
            ));
        }
        if self.outputs != now.outputs {
            out.push(format!(
                "outputs asked for ({:?} → {:?})",
                self.outputs, now.outputs
            ));
        }
        if self.deltacell != now.deltacell {
            out.push(format!(
                "deltacell version {} → {}",
                self.deltacell, now.deltacell
            ));
        }
        out
    }

    /// Gets the folder ready for this position's outputs: an earlier results file of the
    /// position is removed (so that no results file lies beside a fingerprint it was not made
    /// with), then the fingerprint is written. Called after the analysis, before any output.
    pub fn begin_outputs(&self, dir: &Path) -> Result<()> {
        let nc = outputs::results_path(dir, self.position);
        match std::fs::remove_file(&nc) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Data(deltacell_data::Error::io(&nc, e))),
        }
        self.write(dir)
    }
}

/// Where a position stands in a results folder, against the run's fingerprint.
#[derive(Clone, Debug, PartialEq)]
pub enum PositionState {
    /// No results file: to do (nothing yet, or a position killed or failed mid-way).
    ToDo,
    /// Results made from the same inputs, models, configuration and options: skipped.
    Complete,
    /// Results made from something else: what changed (see [`Fingerprint::changes`]).
    Changed(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_hash_ignores_model_paths_only() {
        let a = r#"{"models":{"seg":{"model_path":"/a/seg","min_area":20}},"correct_drift":true}"#;
        let b = r#"{"models":{"seg":{"model_path":"/b/seg","min_area":20}},"correct_drift":true}"#;
        let c = r#"{"models":{"seg":{"model_path":"/a/seg","min_area":21}},"correct_drift":true}"#;
        assert_eq!(config_hash(a), config_hash(b));
        assert_ne!(config_hash(a), config_hash(c));
        assert_eq!(config_hash(a).len(), 64);
    }

    #[test]
    fn a_fingerprint_round_trips_and_a_missing_one_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Fingerprint::read(&fingerprint_path(dir.path(), 3)).unwrap(),
            None
        );
        let fp = Fingerprint {
            format: FORMAT,
            deltacell: "0".into(),
            position: 3,
            experiment: vec![1, 3],
            input: "x{p}.tif".into(),
            frames: vec![0],
            input_files: 1,
            input_bytes: 4,
            input_sha256: "ab".into(),
            config_sha256: "cd".into(),
            config: "{}".into(),
            models: BTreeMap::new(),
            outputs: OutputsRecord {
                labels: false,
                lineage_picture: true,
                movie: false,
            },
        };
        // begin_outputs removes a stale results file, then writes the fingerprint.
        let nc = outputs::results_path(dir.path(), 3);
        std::fs::write(&nc, b"old").unwrap();
        fp.begin_outputs(dir.path()).unwrap();
        assert!(!nc.exists());
        let back = Fingerprint::read(&fingerprint_path(dir.path(), 3))
            .unwrap()
            .unwrap();
        assert_eq!(back, fp);
        let mut other = fp.clone();
        other.outputs.movie = true;
        other.deltacell = "1".into();
        assert_eq!(fp.changes(&other).len(), 2);
        std::fs::write(fingerprint_path(dir.path(), 4), "{not json").unwrap();
        let err = Fingerprint::read(&fingerprint_path(dir.path(), 4)).unwrap_err();
        assert!(err.to_string().contains("Position000004.fingerprint.json"));
    }
}
