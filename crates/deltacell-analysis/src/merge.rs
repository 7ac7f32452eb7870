//! `deltacell merge OUT`: one experiment from the positions that shards, array tasks or Dask
//! workers wrote into one results folder.
//!
//! [`merge`] reads every position's fingerprint ([`crate::fingerprint`]) and checks that all
//! were made with the same configuration, models, frames, outputs and deltacell version (an
//! error naming the positions that differ otherwise). The experiment's positions are the union
//! of the position lists the runs recorded (each run's list before sharding). It writes, each
//! file atomically:
//!
//! * `positions.csv`, the index: one row per position, `position,status,rois,cells,rows,frames,
//!   files,problem`: `status` is `complete` (results file and fingerprint), `failed` (its last
//!   attempt's error in `PositionNNNNNN.error.txt`, quoted in `problem`), `partial` (a
//!   fingerprint but no results file: killed while writing) or `missing` (nothing); `rois` is the
//!   results file's `nb_rois`, `cells` the distinct `(roi, cell)` pairs of the position's table,
//!   `rows` its rows, `frames` the frames analysed, `files` the position's outputs
//!   (`;`-separated);
//! * `experiment.csv`, the experiment-wide tidy table: the header of the per-position tables
//!   ([`crate::table`]; those with rows must all have the same columns) and then every
//!   position's rows, in position order (the table's first column is the position). Written
//!   only when every position is complete; an earlier `experiment.csv` is removed otherwise, so
//!   that an incomplete experiment never lies beside an old table.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fingerprint::{failure_path, fingerprint_path, Fingerprint};
use crate::outputs::{labels_dir, results_path};

/// The experiment-wide table's file name.
pub const TABLE: &str = "experiment.csv";
/// The index's file name.
pub const INDEX: &str = "positions.csv";

/// Where a position stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Results file and fingerprint.
    Complete,
    /// Its last attempt failed: the error.
    Failed(String),
    /// A fingerprint but no results file (killed while writing its outputs).
    Partial,
    /// Nothing.
    Missing,
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Failed(_) => "failed",
            Status::Partial => "partial",
            Status::Missing => "missing",
        }
    }
}

/// One row of the index.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The position's number.
    pub position: u32,
    /// Where it stands.
    pub status: Status,
    /// ROIs (the results file's `nb_rois`); 0 unless complete.
    pub rois: usize,
    /// Distinct `(roi, cell)` pairs of its table; 0 unless complete.
    pub cells: usize,
    /// Rows of its table; 0 unless complete.
    pub rows: usize,
    /// Frames analysed (from its fingerprint); 0 without one.
    pub frames: usize,
    /// Its output files and folders, by name.
    pub files: Vec<String>,
}

/// What [`merge`] found and wrote.
#[derive(Clone, Debug)]
pub struct Report {
    /// The index, by position.
    pub entries: Vec<Entry>,
    /// `positions.csv`.
    pub index: PathBuf,
    /// `experiment.csv`, when every position is complete.
    pub table: Option<PathBuf>,
}

impl Report {
    /// The positions that are not complete, with their status.
    pub fn incomplete(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.status != Status::Complete)
            .collect()
    }
}

/// `PositionNNNNNN<rest>` → `(NNNNNN, rest)`.
fn split_name(name: &str) -> Option<(u32, &str)> {
    let rest = name.strip_prefix("Position")?;
    let digits = rest.get(..6)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, &rest[6..]))
}

/// The number of ROIs a results file records.
fn nb_rois(path: &Path) -> Result<usize> {
    use netcdf::AttributeValue as A;
    let nc = |e: netcdf::Error| Error::NetCdf {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = netcdf::open(path).map_err(nc)?;
    let value = file
        .attribute("nb_rois")
        .map(|a| a.value())
        .transpose()
        .map_err(nc)?;
    let n = match value {
        Some(A::Longlong(n)) => n,
        Some(A::Int(n)) => i64::from(n),
        Some(A::Short(n)) => i64::from(n),
        Some(A::Uint(n)) => i64::from(n),
        _ => -1,
    };
    usize::try_from(n).map_err(|_| Error::Format {
        path: path.to_path_buf(),
        problem: "root: attribute `nb_rois` missing or not a count".into(),
    })
}

/// The differences between two positions' fingerprints that make them different experiments
/// (everything but the position and its inputs).
fn experiment_changes(a: &Fingerprint, b: &Fingerprint) -> Vec<String> {
    let mut b = b.clone();
    b.position = a.position;
    b.input_files = a.input_files;
    b.input_bytes = a.input_bytes;
    b.input_sha256.clone_from(&a.input_sha256);
    a.changes(&b)
}

/// Merges the results folder `dir` (see the module docs). An error when it holds no position's
/// results, when positions were made differently or their tables' columns differ; otherwise the
/// report, which says which positions are not complete (then no `experiment.csv`).
pub fn merge(dir: &Path) -> Result<Report> {
    let bad = |problem: String| Error::Merge {
        dir: dir.to_path_buf(),
        problem,
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Data(deltacell_data::Error::io(dir, e)))?;
    let mut files: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((p, _)) = split_name(&name) {
            files.entry(p).or_default().push(name);
        }
    }
    let mut prints: BTreeMap<u32, Fingerprint> = BTreeMap::new();
    for &p in files.keys() {
        let path = fingerprint_path(dir, p);
        match Fingerprint::read(&path)? {
            Some(fp) if fp.position == p => {
                prints.insert(p, fp);
            }
            Some(fp) => {
                return Err(bad(format!(
                    "{} is the fingerprint of position {}",
                    path.display(),
                    fp.position
                )))
            }
            None if results_path(dir, p).is_file() => {
                return Err(bad(format!(
                    "{} has no fingerprint (written by an older deltacell or another program); \
                     run it again with `deltacell run --redo --positions {p}`",
                    results_path(dir, p).display()
                )))
            }
            None => {}
        }
    }
    let Some(reference) = prints.values().next().cloned() else {
        return Err(bad(
            "no position's fingerprint (PositionNNNNNN.fingerprint.json): not a results folder \
             of `deltacell run`"
                .into(),
        ));
    };
    let differing: Vec<String> = prints
        .values()
        .filter_map(|fp| {
            let c = experiment_changes(&reference, fp);
            (!c.is_empty()).then(|| {
                format!(
                    "position {} differs from position {}: {}",
                    fp.position,
                    reference.position,
                    c.join("; ")
                )
            })
        })
        .collect();
    if !differing.is_empty() {
        return Err(bad(differing.join(" | ")));
    }
    let expected: BTreeSet<u32> = prints
        .values()
        .flat_map(|fp| fp.experiment.iter().copied())
        .chain(files.keys().copied())
        .collect();

    let mut out = Vec::with_capacity(expected.len());
    let mut header: Option<(u32, String, bool)> = None;
    for &p in &expected {
        let nc = results_path(dir, p);
        let fp = prints.get(&p);
        let failure = failure_path(dir, p);
        let status = if fp.is_some() && nc.is_file() {
            Status::Complete
        } else if failure.is_file() {
            let text = std::fs::read_to_string(&failure)
                .map_err(|e| Error::Data(deltacell_data::Error::io(&failure, e)))?;
            Status::Failed(text.trim().to_string())
        } else if fp.is_some() {
            Status::Partial
        } else {
            Status::Missing
        };
        let mut entry = Entry {
            position: p,
            rois: 0,
            cells: 0,
            rows: 0,
            frames: fp.map_or(0, |f| f.frames.len()),
            files: files.get(&p).cloned().unwrap_or_default(),
            status,
        };
        entry.files.sort();
        if entry.status == Status::Complete {
            let csv = nc.with_extension("csv");
            let text = std::fs::read_to_string(&csv)
                .map_err(|e| Error::Data(deltacell_data::Error::io(&csv, e)))?;
            let mut lines = text.lines();
            let head = lines.next().unwrap_or_default().to_string();
            // A table without rows (a position without ROIs) has no fluorescence columns: it
            // takes any header.
            let has_rows = text.lines().nth(1).is_some();
            match &header {
                None => header = Some((p, head, has_rows)),
                Some((_, _, false)) if has_rows => header = Some((p, head, has_rows)),
                Some((q, h, true)) if has_rows && *h != head => {
                    return Err(bad(format!(
                        "the tables of positions {q} and {p} have different columns"
                    )))
                }
                Some(_) => {}
            }
            let mut cells = BTreeSet::new();
            for line in lines {
                entry.rows += 1;
                let mut f = line.split(',');
                cells.insert((f.nth(1).map(str::to_string), f.next().map(str::to_string)));
            }
            entry.cells = cells.len();
            entry.rois = nb_rois(&nc)?;
            if reference.outputs.labels && !labels_dir(dir, p).is_dir() {
                return Err(bad(format!(
                    "position {p}: its label images ({}) are missing",
                    labels_dir(dir, p).display()
                )));
            }
        }
        out.push(entry);
    }

    let index = dir.join(INDEX);
    deltacell_data::output::write_atomic(&index, |w| {
        writeln!(w, "position,status,rois,cells,rows,frames,files,problem")?;
        for e in &out {
            let problem = match &e.status {
                Status::Failed(m) => format!("\"{}\"", m.replace('"', "\"\"").replace('\n', " ")),
                _ => String::new(),
            };
            writeln!(
                w,
                "{},{},{},{},{},{},{},{}",
                e.position,
                e.status.name(),
                e.rois,
                e.cells,
                e.rows,
                e.frames,
                e.files.join(";"),
                problem
            )?;
        }
        Ok(())
    })?;

    let table_path = dir.join(TABLE);
    let complete = out.iter().all(|e| e.status == Status::Complete);
    let table = match (&header, complete) {
        (Some((_, head, _)), true) => {
            deltacell_data::output::write_atomic(&table_path, |w| {
                writeln!(w, "{head}")?;
                for e in &out {
                    let csv = results_path(dir, e.position).with_extension("csv");
                    let text = std::fs::read_to_string(csv)?;
                    if let Some((_, rows)) = text.split_once('\n') {
                        w.write_all(rows.as_bytes())?;
                    }
                }
                Ok(())
            })?;
            Some(table_path)
        }
        _ => {
            if table_path.is_file() {
                std::fs::remove_file(&table_path)
                    .map_err(|e| Error::Data(deltacell_data::Error::io(&table_path, e)))?;
            }
            None
        }
    };
    Ok(Report {
        entries: out,
        index,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_file_names_split_into_number_and_rest() {
        assert_eq!(split_name("Position000012.nc"), Some((12, ".nc")));
        assert_eq!(split_name("Position000003_labels"), Some((3, "_labels")));
        assert_eq!(split_name("Position12.nc"), None);
        assert_eq!(split_name("experiment.csv"), None);
    }

    #[test]
    fn a_folder_without_fingerprints_is_not_merged() {
        let dir = tempfile::tempdir().unwrap();
        let err = merge(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no position's fingerprint"), "{err}");
        std::fs::write(dir.path().join("Position000001.nc"), b"x").unwrap();
        let err = merge(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no fingerprint"), "{err}");
        assert!(!dir.path().join(INDEX).exists());
    }
}
