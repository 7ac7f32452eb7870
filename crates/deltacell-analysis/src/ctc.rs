//! The Cell Tracking Challenge (CTC) format: a ROI's lineage and label stack to and from a CTC
//! folder, so that deltacell's lineages can be scored by the tools the tracking field uses
//! (py-ctcmetrics, traccuracy, the CTC's own software) and ground truth made elsewhere can be
//! scored by deltacell.
//!
//! # Layouts
//! ```text
//! result folder:        res_track.txt       one line "L B E P" per track
//!                       mask000.tif …       16-bit labels, pixel = track label L (0 background)
//! ground-truth folder:  TRA/man_track.txt   as res_track.txt
//!                       TRA/man_track000.tif …
//!                       SEG/man_seg000.tif … (deltacell writes every frame)
//! ```
//! `L` is the track's label (1–65535), `B` and `E` its first and last frame (0-based,
//! inclusive), `P` the label of its parent track (0 for none). File numbers have 3 digits up to
//! 1000 frames, 4 beyond.
//!
//! # The two models, and the conversion
//! DeLTA ([`Lineage`]) keeps a cell's id for its whole life and **a mother keeps her id after a
//! division**; the daughter is a new cell. The CTC ends a track at every division (the
//! mother's track ends, two daughter tracks begin, both with the mother's track as parent) and
//! at every gap (a cell missing from some frames continues as a new track whose parent is the
//! old one). [`to_ctc`] cuts each cell's life into *segments* at its divisions and gaps; every
//! segment becomes one track. [`from_ctc`] glues them back:
//!
//! * a child track whose label is **smaller than its parent's** continues the parent's cell
//!   (deltacell numbers each cell's segments downwards, so its exports always say so);
//! * otherwise, when a parent has no such child, its child that starts after a gap (`B > E_P + 1`;
//!   the earliest, then the smallest label) continues it: that is how other tools write gaps;
//! * every other child is a daughter: a new cell born at its first frame.
//!
//! Cells are numbered 1, 2, … in the order of their first tracks' labels. Exported cells are
//! numbered in id order (mothers before daughters), so a lineage whose ids are 1…n with every
//! daughter's id above her mother's (DeLTA's and [`Lineage::new_cell`]'s numbering) comes back
//! with the same ids, cells, mothers, divisions and frames ([`to_ctc`] then [`from_ctc`] is the
//! identity); other ids come back renumbered, with the same structure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use deltacell_data::image::{Labels, Plane};

use crate::lineage::{Cell, CellId, Lineage, LineageError};

/// One track of a CTC tracking file: the line `L B E P`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CtcTrack {
    /// The track's label in the masks, 1–65535.
    pub label: u16,
    /// First frame, 0-based.
    pub begin: usize,
    /// Last frame, 0-based, inclusive (`begin ≤ end`).
    pub end: usize,
    /// The parent track's label, 0 for none.
    pub parent: u16,
}

/// One ROI in the CTC's model: tracks and one 16-bit label image per frame (pixel = track label).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CtcSequence {
    /// The tracks, in label order.
    pub tracks: Vec<CtcTrack>,
    /// One label image per frame (frame `t` is `masks[t]`), all of one shape.
    pub masks: Vec<Plane<u16>>,
    /// The segmentation ground truth `(frame, labels)` of a ground-truth folder's `SEG/`, in
    /// frame order; empty for a result folder (scores then use `masks`).
    pub seg: Vec<(usize, Plane<u16>)>,
}

/// One ROI in DeLTA's model: the lineage and one label image per frame (pixel = cell id).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackedRoi {
    /// Cells, mothers and divisions.
    pub lineage: Lineage,
    /// One label image per frame, pixel = [`CellId`] (0 background), all of one shape.
    pub labels: Vec<Labels>,
}

/// Which CTC layout a folder has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtcLayout {
    /// `res_track.txt` and `mask*.tif`: a tracking result.
    Result,
    /// `TRA/man_track.txt`, `TRA/man_track*.tif` and `SEG/man_seg*.tif`: ground truth.
    Truth,
}

/// How a cell's labels contradict its lineage (see [`CtcError::LabelsDisagree`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disagreement {
    /// A label value with no cell of that id in the lineage.
    UnknownCell,
    /// A cell of the lineage that is in no label image.
    NeverSeen,
    /// The cell's first or last frame in the labels is not the lineage's.
    Frames {
        /// First and last frame in the lineage.
        lineage: (usize, usize),
        /// First and last frame in the labels.
        labels: (usize, usize),
    },
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disagreement::UnknownCell => write!(f, "is in the labels but not in the lineage"),
            Disagreement::NeverSeen => write!(f, "is in the lineage but in no label image"),
            Disagreement::Frames { lineage, labels } => write!(
                f,
                "lives in frames {}–{} in the lineage but {}–{} in the labels",
                lineage.0, lineage.1, labels.0, labels.1
            ),
        }
    }
}

/// Everything that can be wrong with a CTC folder or a conversion. Every variant about a file
/// names it (and the line, for the tracking file).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtcError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Data(#[from] deltacell_data::error::Error),
    /// A folder that is neither CTC layout.
    #[error("{}: not a CTC folder (no res_track.txt, no TRA/man_track.txt)", .0.display())]
    NotCtc(PathBuf),
    /// A tracking file without masks.
    #[error("{}: no mask files ({pattern}NNN.tif)", dir.display())]
    NoMasks {
        /// The folder.
        dir: PathBuf,
        /// The file prefix looked for.
        pattern: &'static str,
    },
    /// Mask files that are not numbered 0, 1, … without a hole.
    #[error("{}: mask of frame {frame} missing (masks must be numbered from 0 without gaps)", dir.display())]
    MissingFrame {
        /// The folder.
        dir: PathBuf,
        /// The first missing frame.
        frame: usize,
    },
    /// A line of the tracking file that is not four non-negative integers `L B E P`.
    #[error("{}:{line}: expected 'L B E P' (four integers, L ≥ 1, B ≤ E), found '{text}'", path.display())]
    Syntax {
        /// The tracking file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// A label used by two lines.
    #[error("{}:{line}: track {label} is defined twice", path.display())]
    DuplicateTrack {
        /// The tracking file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The label.
        label: u16,
    },
    /// A parent that is not a track.
    #[error("{}:{line}: track {label} has parent {parent}, which is not a track", path.display())]
    UnknownParent {
        /// The tracking file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The child.
        label: u16,
        /// The missing parent.
        parent: u16,
    },
    /// A parent that does not end before its child begins.
    #[error("{}:{line}: track {label} begins at frame {begin} but its parent {parent} ends at frame {parent_end} (a parent must end before its child begins)", path.display())]
    ParentAfterChild {
        /// The tracking file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The child.
        label: u16,
        /// The child's first frame.
        begin: usize,
        /// The parent.
        parent: u16,
        /// The parent's last frame.
        parent_end: usize,
    },
    /// A track whose frames disagree with the masks.
    #[error("{}:{line}: track {label} lives in frames {begin}–{end} but {} {}", path.display(), mask.display(), if *present { format!("contains label {label} (frame {frame})") } else { format!("lacks label {label} (frame {frame})") })]
    TrackMasks {
        /// The tracking file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The track.
        label: u16,
        /// Its first frame.
        begin: usize,
        /// Its last frame.
        end: usize,
        /// The mask file that disagrees.
        mask: PathBuf,
        /// The frame of that mask.
        frame: usize,
        /// Whether the label is present there (outside the track's frames) or absent (inside).
        present: bool,
    },
    /// A mask label that no line of the tracking file defines.
    #[error("{}: label {label} is not a track of {}", mask.display(), path.display())]
    UntrackedLabel {
        /// The mask file.
        mask: PathBuf,
        /// The tracking file.
        path: PathBuf,
        /// The label.
        label: u16,
    },
    /// A mask that is not a single 16-bit greyscale image.
    #[error("{}: CTC masks must be 16-bit greyscale label images, found {found}", path.display())]
    NotSixteenBit {
        /// The file.
        path: PathBuf,
        /// What it is.
        found: String,
    },
    /// Masks of different shapes.
    #[error("{}: shape {found:?} differs from the first mask's {expected:?} (height, width)", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The first mask's shape.
        expected: (usize, usize),
        /// This one's.
        found: (usize, usize),
    },
    /// Label images (DeLTA side) that contradict their lineage.
    #[error("cell {cell} {problem}")]
    LabelsDisagree {
        /// The cell id (or label value).
        cell: CellId,
        /// How.
        problem: Disagreement,
    },
    /// Label images of different shapes (DeLTA side).
    #[error("label image of frame {frame} has shape {found:?}, frame 0 has {expected:?}")]
    LabelShape {
        /// The frame.
        frame: usize,
        /// Frame 0's shape.
        expected: (usize, usize),
        /// This frame's.
        found: (usize, usize),
    },
    /// More tracks than 16-bit labels.
    #[error("{tracks} CTC tracks needed but 16-bit labels allow 65535")]
    TooManyTracks {
        /// The number of tracks needed.
        tracks: usize,
    },
    /// A results file (`PositionNNNNNN.nc`) that cannot be read.
    #[error(transparent)]
    Results(Box<crate::error::Error>),
    /// The lineage (given, or read from a CTC folder) is inconsistent.
    #[error("{context}: {source}")]
    Lineage {
        /// Where it came from.
        context: String,
        /// What is wrong.
        source: LineageError,
    },
}

/// The label of the last frame a value may take in a 16-bit mask.
const MAX_LABEL: usize = u16::MAX as usize;

/// For each frame, the set of non-zero values of a label image.
fn present<T: Copy + Into<u32>>(planes: &[&Plane<T>]) -> Vec<BTreeSet<u32>> {
    planes.iter().map(|p| present_ids(p.as_slice())).collect()
}

/// A track label per `(cell, frame)`.
type LabelOf = HashMap<(CellId, usize), u16>;

/// The CTC tracks of a ROI (see the module documentation) from its lineage and the cells
/// present in each frame's labels, with each `(cell, frame)`'s track label.
fn tracks_of(
    lineage: &Lineage,
    present: &[BTreeSet<u32>],
) -> Result<(Vec<CtcTrack>, LabelOf), CtcError> {
    let mut frames: BTreeMap<CellId, Vec<usize>> = BTreeMap::new();
    for (t, ids) in present.iter().enumerate() {
        for &id in ids {
            if lineage.cell(id).is_none() {
                return Err(CtcError::LabelsDisagree {
                    cell: id,
                    problem: Disagreement::UnknownCell,
                });
            }
            frames.entry(id).or_default().push(t);
        }
    }
    for c in lineage.cells() {
        let Some(f) = frames.get(&c.id) else {
            return Err(CtcError::LabelsDisagree {
                cell: c.id,
                problem: Disagreement::NeverSeen,
            });
        };
        let seen = (f[0], f[f.len() - 1]);
        if seen != (c.first_frame, c.last_frame) {
            return Err(CtcError::LabelsDisagree {
                cell: c.id,
                problem: Disagreement::Frames {
                    lineage: (c.first_frame, c.last_frame),
                    labels: seen,
                },
            });
        }
    }
    // Mothers before daughters: id order when every daughter's id is above her mother's (ids
    // then survive a round trip), else by first frame (a daughter is born after her mother).
    let mut order: Vec<&Cell> = lineage.cells().collect();
    if order.iter().any(|c| c.mother.is_some_and(|m| m > c.id)) {
        order.sort_by_key(|c| (c.first_frame, c.id));
    }
    // Segments of each cell: runs of consecutive frames, cut before each division frame.
    let mut segments: HashMap<CellId, Vec<(usize, usize, u16)>> = HashMap::new();
    let mut next = 1usize;
    for c in &order {
        let f = &frames[&c.id];
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &t in f {
            match runs.last_mut() {
                Some(run)
                    if run.1 + 1 == t && !c.divisions.iter().any(|&(d, _)| d > run.1 && d <= t) =>
                {
                    run.1 = t;
                }
                _ => runs.push((t, t)),
            }
        }
        let k = runs.len();
        if next + k - 1 > MAX_LABEL {
            return Err(CtcError::TooManyTracks {
                tracks: next + k - 1,
            });
        }
        // Downwards: a continuation's label is below its parent's.
        let segs = runs
            .iter()
            .enumerate()
            .map(|(i, &(b, e))| (b, e, (next + k - 1 - i) as u16))
            .collect();
        next += k;
        segments.insert(c.id, segs);
    }
    let segment_at = |id: CellId, before: usize| -> u16 {
        // The segment holding the cell's last frame before `before`.
        segments[&id]
            .iter()
            .rev()
            .find(|s| s.0 < before)
            .map_or(0, |s| s.2)
    };
    let mut tracks = Vec::with_capacity(next - 1);
    let mut label_of: HashMap<(CellId, usize), u16> = HashMap::new();
    for c in &order {
        let segs = &segments[&c.id];
        for (i, &(b, e, label)) in segs.iter().enumerate() {
            let parent = if i > 0 {
                segs[i - 1].2
            } else {
                c.mother.map_or(0, |m| segment_at(m, c.first_frame))
            };
            tracks.push(CtcTrack {
                label,
                begin: b,
                end: e,
                parent,
            });
            for t in b..=e {
                label_of.insert((c.id, t), label);
            }
        }
    }
    tracks.sort_unstable();
    Ok((tracks, label_of))
}

/// The CTC tracks of a ROI from its lineage and the ids present in each frame of its labels
/// (frame after frame: [`present_ids`] of each label plane): [`to_ctc`]'s tracks, without the
/// masks, for a ROI whose label planes are not all in memory.
///
/// # Errors
/// As [`to_ctc`].
///
/// ```
/// use deltacell_analysis::ctc::{ctc_tracks, present_ids};
/// use deltacell_analysis::{Cell, Lineage};
/// let lineage = Lineage::from_cells([Cell { id: 1, mother: None, first_frame: 0, last_frame: 1, divisions: vec![] }]).unwrap();
/// let present = vec![present_ids(&[0u16, 1, 1]), present_ids(&[1u16, 0, 0])];
/// let tracks = ctc_tracks(&lineage, &present).unwrap();
/// assert_eq!((tracks[0].begin, tracks[0].end), (0, 1));
/// ```
pub fn ctc_tracks(lineage: &Lineage, present: &[BTreeSet<u32>]) -> Result<Vec<CtcTrack>, CtcError> {
    lineage.validate().map_err(|source| CtcError::Lineage {
        context: "the lineage to export".into(),
        source,
    })?;
    Ok(tracks_of(lineage, present)?.0)
}

/// The non-zero ids of a label plane.
///
/// ```
/// let ids = deltacell_analysis::ctc::present_ids(&[0u16, 3, 3, 0, 1]);
/// assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![1, 3]);
/// ```
pub fn present_ids<T: Copy + Into<u32>>(plane: &[T]) -> BTreeSet<u32> {
    let mut s = BTreeSet::new();
    let mut last = 0u32;
    for &v in plane {
        let v: u32 = v.into();
        if v != 0 && v != last {
            s.insert(v);
            last = v;
        }
    }
    s
}

/// Converts a ROI from DeLTA's model to the CTC's (see the module documentation).
///
/// # Errors
/// [`CtcError::Lineage`] for an inconsistent lineage, [`CtcError::LabelsDisagree`] when the
/// labels name a cell the lineage lacks or a cell's first and last frames in the labels are
/// not the lineage's, [`CtcError::LabelShape`], [`CtcError::TooManyTracks`].
///
/// # Examples
/// A mother (1) in frames 0–2 whose daughter (2) is born at frame 1: three tracks, the
/// mother's first segment (label 2) ending at frame 0, her continuation (1) and the daughter (3).
/// ```
/// use deltacell_analysis::ctc::{to_ctc, CtcTrack, TrackedRoi};
/// use deltacell_analysis::Lineage;
/// use deltacell_data::image::{Labels, Plane};
///
/// let mut lineage = Lineage::default();
/// let m = lineage.new_cell(0, None);
/// lineage.extend(m, 2);
/// let d = lineage.new_cell(1, Some(m));
/// lineage.extend(d, 2);
/// let frame = |v: Vec<u32>| Labels::from_plane(Plane::from_vec(1, 2, v).unwrap());
/// let roi = TrackedRoi { lineage, labels: vec![frame(vec![1, 0]), frame(vec![1, 2]), frame(vec![1, 2])] };
/// let ctc = to_ctc(&roi).unwrap();
/// let t = |label, begin, end, parent| CtcTrack { label, begin, end, parent };
/// assert_eq!(ctc.tracks, vec![t(1, 1, 2, 2), t(2, 0, 0, 0), t(3, 1, 2, 2)]);
/// assert_eq!(ctc.masks[1].as_slice(), &[1, 3]);
/// ```
pub fn to_ctc(roi: &TrackedRoi) -> Result<CtcSequence, CtcError> {
    let lineage = &roi.lineage;
    lineage.validate().map_err(|source| CtcError::Lineage {
        context: "the lineage to export".into(),
        source,
    })?;
    if let Some(first) = roi.labels.first() {
        let expected = first.plane().shape();
        for (frame, l) in roi.labels.iter().enumerate() {
            if l.plane().shape() != expected {
                return Err(CtcError::LabelShape {
                    frame,
                    expected,
                    found: l.plane().shape(),
                });
            }
        }
    }
    // Frames in which each cell is present.
    let planes: Vec<&Plane<u32>> = roi.labels.iter().map(Labels::plane).collect();
    let (tracks, label_of) = tracks_of(lineage, &present(&planes))?;
    let masks = roi
        .labels
        .iter()
        .enumerate()
        .map(|(t, l)| {
            l.plane().map(|v| {
                if v == 0 {
                    0
                } else {
                    label_of.get(&(v, t)).copied().unwrap_or(0)
                }
            })
        })
        .collect();
    Ok(CtcSequence {
        tracks,
        masks,
        seg: Vec::new(),
    })
}

/// Converts a ROI from the CTC's model to DeLTA's (see the module documentation for how tracks
/// become cells). The sequence should be valid ([`validate`]).
///
/// # Errors
/// [`CtcError::Lineage`] when the tracks cannot be expressed as a DeLTA lineage (a daughter
/// born after a gap in her mother's life with no continuation of the mother).
///
/// # Examples
/// A track (1) that divides into 2 and 3: track 2 has a label above 1, so both are daughters.
/// ```
/// use deltacell_analysis::ctc::{from_ctc, CtcSequence, CtcTrack};
/// use deltacell_data::image::Plane;
///
/// let t = |label, begin, end, parent| CtcTrack { label, begin, end, parent };
/// let m = |v: Vec<u16>| Plane::from_vec(1, 2, v).unwrap();
/// let seq = CtcSequence {
///     tracks: vec![t(1, 0, 0, 0), t(2, 1, 1, 1), t(3, 1, 1, 1)],
///     masks: vec![m(vec![1, 0]), m(vec![2, 3])],
///     seg: vec![],
/// };
/// let roi = from_ctc(&seq).unwrap();
/// assert_eq!(roi.lineage.len(), 3);
/// assert_eq!(roi.lineage.cell(2).unwrap().mother, Some(1));
/// assert_eq!(roi.labels[1].plane().as_slice(), &[2, 3]);
/// ```
pub fn from_ctc(seq: &CtcSequence) -> Result<TrackedRoi, CtcError> {
    let by_label: HashMap<u16, &CtcTrack> = seq.tracks.iter().map(|t| (t.label, t)).collect();
    let continuation = continuations(&seq.tracks);
    let continued: BTreeSet<u16> = continuation.values().copied().collect();
    // Roots (first segments of cells) in label order give the cell ids.
    let roots: Vec<&CtcTrack> = {
        let mut r: Vec<&CtcTrack> = seq
            .tracks
            .iter()
            .filter(|t| !continued.contains(&t.label))
            .collect();
        r.sort_by_key(|t| t.label);
        r
    };
    let mut cell_of: HashMap<u16, CellId> = HashMap::new();
    let mut cells: Vec<Cell> = Vec::with_capacity(roots.len());
    for (i, root) in roots.iter().enumerate() {
        let id = i as CellId + 1;
        let mut last = root.end;
        let mut label = root.label;
        cell_of.insert(label, id);
        while let Some(&next) = continuation.get(&label) {
            label = next;
            if cell_of.insert(label, id).is_some() {
                break; // a cycle: only in sequences that fail `validate`
            }
            last = last.max(by_label.get(&label).map_or(last, |t| t.end));
        }
        cells.push(Cell {
            id,
            mother: None,
            first_frame: root.begin,
            last_frame: last,
            divisions: Vec::new(),
        });
    }
    for (i, root) in roots.iter().enumerate() {
        if root.parent == 0 {
            continue;
        }
        let Some(&mother) = cell_of.get(&root.parent) else {
            continue;
        };
        cells[i].mother = Some(mother);
        let daughter = (root.begin, cells[i].id);
        if let Some(m) = cells.get_mut(mother as usize - 1) {
            m.divisions.push(daughter);
        }
    }
    for c in &mut cells {
        c.divisions.sort_unstable();
    }
    let lineage = Lineage::from_cells(cells).map_err(|source| CtcError::Lineage {
        context: "the CTC tracks as a DeLTA lineage".into(),
        source,
    })?;
    let labels = seq
        .masks
        .iter()
        .map(|m| {
            Labels::from_plane(m.map(|v| {
                if v == 0 {
                    0
                } else {
                    cell_of.get(&v).copied().unwrap_or(0)
                }
            }))
        })
        .collect();
    Ok(TrackedRoi { lineage, labels })
}

/// The continuation of each parent track that has one (module documentation): parent label →
/// the child label that continues the same cell.
fn continuations(tracks: &[CtcTrack]) -> HashMap<u16, u16> {
    let by_label: HashMap<u16, &CtcTrack> = tracks.iter().map(|t| (t.label, t)).collect();
    let mut children: BTreeMap<u16, Vec<&CtcTrack>> = BTreeMap::new();
    for t in tracks {
        if t.parent != 0 {
            children.entry(t.parent).or_default().push(t);
        }
    }
    let mut continuation = HashMap::new();
    for (&p, kids) in &children {
        let Some(parent) = by_label.get(&p) else {
            continue;
        };
        let below = kids.iter().filter(|k| k.label < p).min_by_key(|k| k.label);
        let gap = || {
            kids.iter()
                .filter(|k| k.begin > parent.end + 1)
                .min_by_key(|k| (k.begin, k.label))
        };
        if let Some(k) = below.or_else(gap) {
            continuation.insert(p, k.label);
        }
    }
    continuation
}

/// The DeLTA cell of each track (track label → cell id), as [`from_ctc`] numbers them: for
/// colouring pictures by cell.
///
/// ```
/// use deltacell_analysis::ctc::{track_cells, CtcTrack};
/// let t = |label, begin, end, parent| CtcTrack { label, begin, end, parent };
/// // Track 2 (frames 0–1) continues as 1 and divides off 3 at frame 2.
/// let cells = track_cells(&[t(1, 2, 3, 2), t(2, 0, 1, 0), t(3, 2, 3, 2)]);
/// assert_eq!((cells[&1], cells[&2], cells[&3]), (1, 1, 2));
/// ```
pub fn track_cells(tracks: &[CtcTrack]) -> HashMap<u16, CellId> {
    let continuation = continuations(tracks);
    let continued: BTreeSet<u16> = continuation.values().copied().collect();
    let mut roots: Vec<u16> = tracks
        .iter()
        .map(|t| t.label)
        .filter(|l| !continued.contains(l))
        .collect();
    roots.sort_unstable();
    let mut out = HashMap::new();
    for (i, &root) in roots.iter().enumerate() {
        let id = i as CellId + 1;
        let mut label = root;
        out.insert(label, id);
        while let Some(&next) = continuation.get(&label) {
            if out.insert(next, id).is_some() {
                break;
            }
            label = next;
        }
    }
    out
}

/// Where the tracking file and masks of a CTC folder are.
#[derive(Clone, Debug)]
struct Files {
    track: PathBuf,
    mask_dir: PathBuf,
    mask_prefix: &'static str,
    seg_dir: Option<PathBuf>,
}

fn files(dir: &Path) -> Result<(CtcLayout, Files), CtcError> {
    if dir.join("res_track.txt").is_file() {
        Ok((
            CtcLayout::Result,
            Files {
                track: dir.join("res_track.txt"),
                mask_dir: dir.to_path_buf(),
                mask_prefix: "mask",
                seg_dir: None,
            },
        ))
    } else if dir.join("TRA").join("man_track.txt").is_file() {
        let seg = dir.join("SEG");
        Ok((
            CtcLayout::Truth,
            Files {
                track: dir.join("TRA").join("man_track.txt"),
                mask_dir: dir.join("TRA"),
                mask_prefix: "man_track",
                seg_dir: seg.is_dir().then_some(seg),
            },
        ))
    } else {
        Err(CtcError::NotCtc(dir.to_path_buf()))
    }
}

/// Whether `dir` is a CTC folder of either layout.
pub fn is_ctc_dir(dir: &Path) -> bool {
    files(dir).is_ok()
}

/// The numbered `PREFIXnnn.tif` files of a folder, by frame number.
fn numbered(dir: &Path, prefix: &str) -> Result<BTreeMap<usize, PathBuf>, CtcError> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| deltacell_data::error::Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| deltacell_data::error::Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name
            .strip_suffix(".tif")
            .or_else(|| name.strip_suffix(".tiff"))
        else {
            continue;
        };
        let Some(digits) = stem.strip_prefix(prefix) else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(n) = digits.parse::<usize>() {
            out.insert(n, entry.path());
        }
    }
    Ok(out)
}

/// Reads a CTC mask: a single 16-bit greyscale TIFF.
pub fn read_mask(path: &Path) -> Result<Plane<u16>, CtcError> {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::ColorType;
    let reader = deltacell_data::io::open(path)?;
    let decode = |e: tiff::TiffError| deltacell_data::error::Error::Decode {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut dec = Decoder::new(reader).map_err(decode)?;
    let colour = dec.colortype().map_err(decode)?;
    if colour != ColorType::Gray(16) {
        return Err(CtcError::NotSixteenBit {
            path: path.to_path_buf(),
            found: format!("{colour:?}"),
        });
    }
    let (w, h) = dec.dimensions().map_err(decode)?;
    match dec.read_image().map_err(decode)? {
        DecodingResult::U16(data) => Ok(Plane::from_vec(h as usize, w as usize, data)?),
        other => Err(CtcError::NotSixteenBit {
            path: path.to_path_buf(),
            found: format!("{} samples", sample_kind(&other)),
        }),
    }
}

fn sample_kind(d: &tiff::decoder::DecodingResult) -> &'static str {
    use tiff::decoder::DecodingResult as D;
    match d {
        D::U8(_) => "8-bit",
        D::U16(_) => "16-bit",
        D::U32(_) => "32-bit",
        D::U64(_) => "64-bit",
        D::I8(_) => "signed 8-bit",
        D::I16(_) => "signed 16-bit",
        D::I32(_) => "signed 32-bit",
        D::I64(_) => "signed 64-bit",
        D::F32(_) => "float 32-bit",
        D::F64(_) => "float 64-bit",
        _ => "unusual",
    }
}

/// Parses a tracking file (`L B E P` per line; blank lines ignored). Returns the tracks with
/// their line numbers (from 1).
pub fn parse_tracks(path: &Path, text: &str) -> Result<Vec<(usize, CtcTrack)>, CtcError> {
    let mut out = Vec::new();
    let mut seen: HashMap<u16, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let syntax = || CtcError::Syntax {
            path: path.to_path_buf(),
            line: line_no,
            text: line.trim().chars().take(80).collect(),
        };
        let nums: Vec<usize> = line
            .split_whitespace()
            .map(str::parse::<usize>)
            .collect::<Result<_, _>>()
            .map_err(|_| syntax())?;
        let [l, b, e, p] = nums[..] else {
            return Err(syntax());
        };
        if l == 0 || l > MAX_LABEL || p > MAX_LABEL || b > e {
            return Err(syntax());
        }
        let track = CtcTrack {
            label: l as u16,
            begin: b,
            end: e,
            parent: p as u16,
        };
        if seen.insert(track.label, line_no).is_some() {
            return Err(CtcError::DuplicateTrack {
                path: path.to_path_buf(),
                line: line_no,
                label: track.label,
            });
        }
        out.push((line_no, track));
    }
    Ok(out)
}

/// Checks tracks against their masks: parents known and ending before their children begin,
/// each track's label present in exactly the frames `B..=E`, no untracked label. `mask_paths`
/// name the masks in errors.
pub fn validate(
    track_path: &Path,
    tracks: &[(usize, CtcTrack)],
    masks: &[Plane<u16>],
    mask_paths: &[PathBuf],
) -> Result<(), CtcError> {
    let by_label: HashMap<u16, &CtcTrack> = tracks.iter().map(|(_, t)| (t.label, t)).collect();
    for &(line, t) in tracks {
        if t.parent != 0 {
            let Some(p) = by_label.get(&t.parent) else {
                return Err(CtcError::UnknownParent {
                    path: track_path.to_path_buf(),
                    line,
                    label: t.label,
                    parent: t.parent,
                });
            };
            if p.end >= t.begin {
                return Err(CtcError::ParentAfterChild {
                    path: track_path.to_path_buf(),
                    line,
                    label: t.label,
                    begin: t.begin,
                    parent: t.parent,
                    parent_end: p.end,
                });
            }
        }
    }
    let planes: Vec<&Plane<u16>> = masks.iter().collect();
    let seen = present(&planes);
    let mask_path = |t: usize| {
        mask_paths
            .get(t)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(format!("frame {t}")))
    };
    for &(line, t) in tracks {
        let disagree = |frame: usize, present: bool| CtcError::TrackMasks {
            path: track_path.to_path_buf(),
            line,
            label: t.label,
            begin: t.begin,
            end: t.end,
            mask: mask_path(frame),
            frame,
            present,
        };
        if t.end >= seen.len() {
            return Err(disagree(t.end, false));
        }
        for (frame, s) in seen.iter().enumerate() {
            let inside = (t.begin..=t.end).contains(&frame);
            if s.contains(&u32::from(t.label)) != inside {
                return Err(disagree(frame, !inside));
            }
        }
    }
    for (frame, s) in seen.iter().enumerate() {
        for &v in s {
            let label = v as u16;
            if !by_label.contains_key(&label) {
                return Err(CtcError::UntrackedLabel {
                    mask: mask_path(frame),
                    path: track_path.to_path_buf(),
                    label,
                });
            }
        }
    }
    Ok(())
}

/// Reads and validates a CTC folder of either layout ([`validate`]).
///
/// # Errors
/// [`CtcError::NotCtc`], [`CtcError::NoMasks`], [`CtcError::MissingFrame`], the tracking
/// file's errors (naming file and line), [`CtcError::NotSixteenBit`], [`CtcError::Shape`].
pub fn read_ctc(dir: &Path) -> Result<(CtcLayout, CtcSequence), CtcError> {
    let (layout, f) = files(dir)?;
    let text = std::fs::read_to_string(&f.track)
        .map_err(|e| deltacell_data::error::Error::io(&f.track, e))?;
    let tracks = parse_tracks(&f.track, &text)?;
    let found = numbered(&f.mask_dir, f.mask_prefix)?;
    if found.is_empty() {
        return Err(CtcError::NoMasks {
            dir: f.mask_dir,
            pattern: f.mask_prefix,
        });
    }
    let paths: Vec<PathBuf> = found.values().cloned().collect();
    for (i, &n) in found.keys().enumerate() {
        if n != i {
            return Err(CtcError::MissingFrame {
                dir: f.mask_dir,
                frame: i,
            });
        }
    }
    let masks = read_all(&paths)?;
    validate(&f.track, &tracks, &masks, &paths)?;
    let mut seg = Vec::new();
    if let Some(seg_dir) = &f.seg_dir {
        let expected = masks[0].shape();
        for (frame, path) in numbered(seg_dir, "man_seg")? {
            let m = read_mask(&path)?;
            if m.shape() != expected || frame >= masks.len() {
                return Err(CtcError::Shape {
                    path,
                    expected,
                    found: m.shape(),
                });
            }
            seg.push((frame, m));
        }
    }
    let mut tracks: Vec<CtcTrack> = tracks.into_iter().map(|(_, t)| t).collect();
    tracks.sort_unstable();
    Ok((layout, CtcSequence { tracks, masks, seg }))
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<Plane<u16>>, CtcError> {
    let mut masks: Vec<Plane<u16>> = Vec::with_capacity(paths.len());
    for path in paths {
        let m = read_mask(path)?;
        if let Some(first) = masks.first() {
            if first.shape() != m.shape() {
                return Err(CtcError::Shape {
                    path: path.clone(),
                    expected: first.shape(),
                    found: m.shape(),
                });
            }
        }
        masks.push(m);
    }
    Ok(masks)
}

/// The file name of frame `t`'s mask: `PREFIX` + 3 digits (4 beyond 1000 frames) + `.tif`.
fn mask_name(prefix: &str, t: usize, frames: usize) -> String {
    if frames > 1000 {
        format!("{prefix}{t:04}.tif")
    } else {
        format!("{prefix}{t:03}.tif")
    }
}

/// The tracking file's text: one `L B E P` line per track.
pub fn tracks_text(tracks: &[CtcTrack]) -> String {
    let mut s = String::new();
    for t in tracks {
        s.push_str(&format!("{} {} {} {}\n", t.label, t.begin, t.end, t.parent));
    }
    s
}

/// Writes a CTC folder (created if needed; files of the same names are replaced atomically).
/// The ground-truth layout writes every frame to both `TRA/` and `SEG/` (the sequence's `seg`
/// frames instead when it has some).
pub fn write_ctc(dir: &Path, seq: &CtcSequence, layout: CtcLayout) -> Result<(), CtcError> {
    use deltacell_data::error::Error as DataError;
    use deltacell_data::io::write_tiff_u16;
    use deltacell_data::output::write_bytes;
    let n = seq.masks.len();
    let mkdir = |d: &Path| std::fs::create_dir_all(d).map_err(|e| DataError::io(d, e));
    match layout {
        CtcLayout::Result => {
            mkdir(dir)?;
            for (t, m) in seq.masks.iter().enumerate() {
                write_tiff_u16(dir.join(mask_name("mask", t, n)), std::slice::from_ref(m))?;
            }
            write_bytes(
                dir.join("res_track.txt"),
                tracks_text(&seq.tracks).as_bytes(),
            )?;
        }
        CtcLayout::Truth => {
            let tra = dir.join("TRA");
            let seg = dir.join("SEG");
            mkdir(&tra)?;
            mkdir(&seg)?;
            for (t, m) in seq.masks.iter().enumerate() {
                write_tiff_u16(
                    tra.join(mask_name("man_track", t, n)),
                    std::slice::from_ref(m),
                )?;
            }
            if seq.seg.is_empty() {
                for (t, m) in seq.masks.iter().enumerate() {
                    write_tiff_u16(
                        seg.join(mask_name("man_seg", t, n)),
                        std::slice::from_ref(m),
                    )?;
                }
            } else {
                for (t, m) in &seq.seg {
                    write_tiff_u16(
                        seg.join(mask_name("man_seg", *t, n)),
                        std::slice::from_ref(m),
                    )?;
                }
            }
            write_bytes(
                tra.join("man_track.txt"),
                tracks_text(&seq.tracks).as_bytes(),
            )?;
        }
    }
    Ok(())
}

/// The ROIs of an input: a CTC folder is one ROI (named after the folder), a folder of CTC
/// folders (`roi00/`, `roi01/`, … or any names) one ROI per sub-folder, in name order.
pub fn read_ctc_rois(path: &Path) -> Result<Vec<(String, CtcSequence)>, CtcError> {
    if is_ctc_dir(path) {
        let name = path
            .file_name()
            .map_or_else(|| "roi00".to_string(), |n| n.to_string_lossy().into_owned());
        return Ok(vec![(name, read_ctc(path)?.1)]);
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| deltacell_data::error::Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && is_ctc_dir(p))
        .collect();
    subs.sort();
    if subs.is_empty() {
        return Err(CtcError::NotCtc(path.to_path_buf()));
    }
    subs.iter()
        .map(|p| {
            let name = p
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            Ok((name, read_ctc(p)?.1))
        })
        .collect()
}

/// The ROIs of a results file (`PositionNNNNNN.nc`, [`crate::results`]): each ROI's lineage
/// and label stack, named `roi00`, `roi01`, … as the file's groups.
///
/// # Errors
/// [`CtcError::Results`] when the file cannot be read.
pub fn read_results_rois(path: &Path) -> Result<Vec<(String, TrackedRoi)>, CtcError> {
    let position =
        crate::results::PositionResults::read(path).map_err(|e| CtcError::Results(Box::new(e)))?;
    results_rois(position)
}

/// Each ROI's lineage and label stack of a position's results, named `roi00`, `roi01`, …
///
/// # Errors
/// Label planes of inconsistent sizes.
pub fn results_rois(
    position: crate::results::PositionResults,
) -> Result<Vec<(String, TrackedRoi)>, CtcError> {
    let n = position.rois.len();
    let mut out = Vec::with_capacity(n);
    for (i, roi) in position.rois.into_iter().enumerate() {
        let (h, w) = roi.labels.plane_shape();
        let labels = (0..roi.labels.frames())
            .map(|t| {
                let data = roi.labels.frame(t).iter().map(|&v| u32::from(v)).collect();
                Ok(Labels::from_plane(Plane::from_vec(h, w, data)?))
            })
            .collect::<Result<Vec<_>, CtcError>>()?;
        out.push((
            roi_dir_name(i, n),
            TrackedRoi {
                lineage: roi.lineage,
                labels,
            },
        ));
    }
    Ok(out)
}

/// Whether `path` is a results file (`.nc`).
pub fn is_results_file(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("nc"))
}

/// The tracked ROIs of an input in DeLTA's model: a results file (`.nc`), a CTC folder or a
/// folder of CTC folders ([`read_ctc_rois`], converted with [`from_ctc`]).
///
/// # Errors
/// As [`read_results_rois`], [`read_ctc_rois`] and [`from_ctc`].
pub fn read_tracked_rois(path: &Path) -> Result<Vec<(String, TrackedRoi)>, CtcError> {
    if is_results_file(path) {
        return read_results_rois(path);
    }
    read_ctc_rois(path)?
        .into_iter()
        .map(|(name, seq)| Ok((name, from_ctc(&seq)?)))
        .collect()
}

/// The ROIs of an input in the CTC's model: a results file (`.nc`, converted with [`to_ctc`]), a
/// CTC folder or a folder of CTC folders ([`read_ctc_rois`]).
///
/// # Errors
/// As [`read_results_rois`], [`to_ctc`] and [`read_ctc_rois`].
pub fn read_rois(path: &Path) -> Result<Vec<(String, CtcSequence)>, CtcError> {
    if is_results_file(path) {
        return read_results_rois(path)?
            .into_iter()
            .map(|(name, roi)| Ok((name, to_ctc(&roi)?)))
            .collect();
    }
    read_ctc_rois(path)
}

/// The folder name of ROI `i` in a multi-ROI export: `roi00`, `roi01`, … (3 digits from 100).
pub fn roi_dir_name(i: usize, rois: usize) -> String {
    if rois > 100 {
        format!("roi{i:03}")
    } else {
        format!("roi{i:02}")
    }
}

/// One row of a synthetic movie's `lineage.csv` (`position,frame,label,cell,mother`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SynthRow {
    position: usize,
    frame: usize,
    label: u32,
    cell: u32,
    mother: u32,
}

/// A synthetic movie's ground truth in DeLTA's model: position `position` (from 1) of a
/// `deltacell synth --kind movie` type folder (`mm/` or `2d/`), from its `lineage.csv` and
/// `labels/` (raster-ordered labels, mapped to cell ids through the table).
///
/// # Errors
/// Reading the files; [`CtcError::Syntax`] for a malformed table line;
/// [`CtcError::Lineage`] when the table is not a lineage.
pub fn read_synth_movie(type_dir: &Path, position: usize) -> Result<TrackedRoi, CtcError> {
    let csv = type_dir.join("lineage.csv");
    let rows: Vec<deltacell_data::synth::LineageRow> = synth_rows(&csv)?
        .into_iter()
        .filter(|r| r.position == position)
        .map(|r| deltacell_data::synth::LineageRow {
            frame: r.frame as u32,
            label: r.label,
            cell: r.cell,
            mother: r.mother,
        })
        .collect();
    let frames = rows.iter().map(|r| r.frame as usize).max().unwrap_or(0);
    let mut raw = Vec::with_capacity(frames);
    for t in 1..=frames {
        let path = type_dir.join("labels").join(format!(
            "Position{position:06}_Chamber000001_Frame{t:06}.png"
        ));
        raw.push(deltacell_data::io::read_labels(&path)?);
    }
    synth_tracked_roi(
        &rows,
        &raw,
        &format!("{} position {position}", csv.display()),
    )
}

/// A synthetic movie's ground truth in DeLTA's model, from the movie in memory
/// ([`deltacell_data::synth::Movie`]: its lineage table and raster-ordered labels).
///
/// # Errors
/// [`CtcError::Lineage`] when the table is not a lineage.
pub fn synth_truth(movie: &deltacell_data::synth::Movie) -> Result<TrackedRoi, CtcError> {
    synth_tracked_roi(&movie.lineage, &movie.labels, "synthetic movie")
}

/// The lineage of a synthetic movie's table (frames from 1) and its labels mapped to cell ids.
fn synth_tracked_roi(
    rows: &[deltacell_data::synth::LineageRow],
    raw: &[Labels],
    context: &str,
) -> Result<TrackedRoi, CtcError> {
    let mut cells: BTreeMap<CellId, Cell> = BTreeMap::new();
    for r in rows {
        let frame = r.frame as usize;
        let c = cells.entry(r.cell).or_insert(Cell {
            id: r.cell,
            mother: (r.mother != 0).then_some(r.mother),
            first_frame: frame - 1,
            last_frame: frame - 1,
            divisions: Vec::new(),
        });
        c.first_frame = c.first_frame.min(frame - 1);
        c.last_frame = c.last_frame.max(frame - 1);
    }
    // A mother outside the movie (the cell was born before its first frame) is no mother here.
    let lives: HashMap<CellId, (usize, usize)> = cells
        .values()
        .map(|c| (c.id, (c.first_frame, c.last_frame)))
        .collect();
    for c in cells.values_mut() {
        let alive = c
            .mother
            .and_then(|m| lives.get(&m))
            .is_some_and(|&(first, last)| first < c.first_frame && last + 1 >= c.first_frame);
        if !alive {
            c.mother = None;
        }
    }
    let births: Vec<(CellId, usize, CellId)> = cells
        .values()
        .filter_map(|c| c.mother.map(|m| (m, c.first_frame, c.id)))
        .collect();
    for (m, frame, d) in births {
        if let Some(mother) = cells.get_mut(&m) {
            mother.divisions.push((frame, d));
            mother.divisions.sort_unstable();
        }
    }
    let lineage = Lineage::from_cells(cells.into_values()).map_err(|source| CtcError::Lineage {
        context: context.to_string(),
        source,
    })?;
    let labels = raw
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let t = i as u32 + 1;
            let to_cell: HashMap<u32, u32> = rows
                .iter()
                .filter(|r| r.frame == t)
                .map(|r| (r.label, r.cell))
                .collect();
            Labels::from_plane(l.plane().map(|v| to_cell.get(&v).copied().unwrap_or(0)))
        })
        .collect();
    Ok(TrackedRoi { lineage, labels })
}

fn synth_rows(csv: &Path) -> Result<Vec<SynthRow>, CtcError> {
    let text =
        std::fs::read_to_string(csv).map_err(|e| deltacell_data::error::Error::io(csv, e))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let syntax = || CtcError::Syntax {
            path: csv.to_path_buf(),
            line: i + 1,
            text: line.chars().take(80).collect(),
        };
        let v: Vec<u32> = line
            .split(',')
            .map(|x| x.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| syntax())?;
        let [position, frame, label, cell, mother] = v[..] else {
            return Err(syntax());
        };
        if frame == 0 || cell == 0 {
            return Err(syntax());
        }
        rows.push(SynthRow {
            position: position as usize,
            frame: frame as usize,
            label,
            cell,
            mother,
        });
    }
    Ok(rows)
}

/// Writes the ground truth of every movie of a `deltacell synth --kind movie` folder as CTC
/// ground-truth folders: `OUT/mm/ctc/roi00/` (position 1), … and the same under `OUT/2d/`.
/// Returns the number of folders written.
///
/// # Errors
/// As [`read_synth_movie`], [`to_ctc`] and [`write_ctc`].
pub fn write_synth_truth(out: &Path) -> Result<usize, CtcError> {
    let mut written = 0;
    for kind in ["mm", "2d"] {
        let type_dir = out.join(kind);
        let csv = type_dir.join("lineage.csv");
        if !csv.is_file() {
            continue;
        }
        let positions: BTreeSet<usize> = synth_rows(&csv)?.iter().map(|r| r.position).collect();
        for &p in &positions {
            let roi = read_synth_movie(&type_dir, p)?;
            let seq = to_ctc(&roi)?;
            let dir = type_dir
                .join("ctc")
                .join(roi_dir_name(p - 1, positions.len()));
            write_ctc(&dir, &seq, CtcLayout::Truth)?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(h: usize, w: usize, v: Vec<u32>) -> Labels {
        Labels::from_plane(Plane::from_vec(h, w, v).unwrap())
    }

    /// A mother (1) seen in frames 0–5 except frame 3 (a gap), dividing at frame 2 into
    /// daughter 2 (frames 2–5) and at frame 5 into daughter 3; a founder 4 in frames 0–1.
    fn roi() -> TrackedRoi {
        let mut lineage = Lineage::default();
        let m = lineage.new_cell(0, None);
        lineage.extend(m, 5);
        let d = lineage.new_cell(2, Some(m));
        lineage.extend(d, 5);
        let d2 = lineage.new_cell(5, Some(m));
        let f = lineage.new_cell(0, None);
        lineage.extend(f, 1);
        assert_eq!((m, d, d2, f), (1, 2, 3, 4));
        let frames = vec![
            labels(1, 4, vec![1, 0, 4, 0]),
            labels(1, 4, vec![1, 0, 4, 0]),
            labels(1, 4, vec![1, 2, 0, 0]),
            labels(1, 4, vec![0, 2, 0, 0]),
            labels(1, 4, vec![1, 2, 0, 0]),
            labels(1, 4, vec![1, 2, 0, 3]),
        ];
        TrackedRoi {
            lineage,
            labels: frames,
        }
    }

    #[test]
    fn divisions_and_gaps_become_tracks_and_come_back() {
        let r = roi();
        let ctc = to_ctc(&r).unwrap();
        let t = |label, begin, end, parent| CtcTrack {
            label,
            begin,
            end,
            parent,
        };
        // Mother: segments 0–1 (4), 2 (3), 4 (2), 5 (1), numbered downwards.
        assert_eq!(
            ctc.tracks,
            vec![
                t(1, 5, 5, 2),
                t(2, 4, 4, 3),
                t(3, 2, 2, 4),
                t(4, 0, 1, 0),
                t(5, 2, 5, 4),
                t(6, 5, 5, 2),
                t(7, 0, 1, 0),
            ]
        );
        let back = from_ctc(&ctc).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn labels_that_contradict_the_lineage_are_refused() {
        let mut r = roi();
        r.labels[0] = labels(1, 4, vec![1, 0, 0, 0]);
        assert!(matches!(
            to_ctc(&r),
            Err(CtcError::LabelsDisagree {
                cell: 4,
                problem: Disagreement::Frames { .. }
            })
        ));
        let mut r = roi();
        r.labels[0] = labels(1, 4, vec![1, 9, 4, 0]);
        assert!(matches!(
            to_ctc(&r),
            Err(CtcError::LabelsDisagree {
                cell: 9,
                problem: Disagreement::UnknownCell
            })
        ));
    }

    #[test]
    fn foreign_gaps_continue_the_cell() {
        // Track 1 (frames 0–1) continues as track 2 after a gap (frame 2 missing).
        let m = |v: Vec<u16>| Plane::from_vec(1, 1, v).unwrap();
        let seq = CtcSequence {
            tracks: vec![
                CtcTrack {
                    label: 1,
                    begin: 0,
                    end: 1,
                    parent: 0,
                },
                CtcTrack {
                    label: 2,
                    begin: 3,
                    end: 3,
                    parent: 1,
                },
            ],
            masks: vec![m(vec![1]), m(vec![1]), m(vec![0]), m(vec![2])],
            seg: vec![],
        };
        let roi = from_ctc(&seq).unwrap();
        assert_eq!(roi.lineage.len(), 1);
        assert_eq!(roi.lineage.cell(1).unwrap().last_frame, 3);
        // Back to the CTC: the same graph, numbered deltacell's way.
        let again = to_ctc(&roi).unwrap();
        assert_eq!(again.tracks.len(), 2);
        assert_eq!(
            again.tracks[0],
            CtcTrack {
                label: 1,
                begin: 3,
                end: 3,
                parent: 2
            }
        );
    }

    #[test]
    fn tracking_files_are_checked_line_by_line() {
        let p = Path::new("res_track.txt");
        assert!(matches!(
            parse_tracks(p, "1 0 2 0\n2 x 1 0\n"),
            Err(CtcError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            parse_tracks(p, "1 0 2 0\n1 3 4 0\n"),
            Err(CtcError::DuplicateTrack { line: 2, .. })
        ));
        let tracks = parse_tracks(p, "1 0 2 0\n2 2 3 1\n").unwrap();
        let masks = vec![Plane::filled(1, 1, 1u16); 4];
        let err = validate(p, &tracks, &masks, &[]).unwrap_err();
        assert!(
            matches!(
                err,
                CtcError::ParentAfterChild {
                    line: 2,
                    label: 2,
                    ..
                }
            ),
            "{err}"
        );
        let tracks = parse_tracks(p, "1 0 2 0\n").unwrap();
        let err = validate(p, &tracks, &masks, &[]).unwrap_err();
        assert!(
            matches!(
                err,
                CtcError::TrackMasks {
                    line: 1,
                    frame: 3,
                    present: true,
                    ..
                }
            ),
            "{err}"
        );
    }
}
