//! Synthetic training sets and movies, built in: phase-contrast images of rod-shaped bacteria
//! in mother-machine chambers and on agar pads, with exact ground truth, in DeLTA's layouts.
//!
//! Users and tests get data without downloads: [`generate`] (the `deltacell synth` command)
//! writes a complete set of one [`SynthKind`], byte-identical for the same seed; the in-memory
//! renderers ([`mm_chamber`], [`colony`], [`mm_tracking_pair`], [`colony_tracking_pair`],
//! [`rois_field`], [`mm_movie`], [`colony_movie`]) serve benchmarks and tests without disk.
//!
//! # Image model
//! Cells are spherocylinders (rods) with a flat-topped thickness profile, a per-cell density and
//! a septum constriction shortly before division. Mother-machine chambers add the PDMS walls as a
//! phase object. The image is an absorption-like darkening plus a high-pass of the phase (the
//! phase-contrast halo: bright rims around cells, bright gaps between packed cells), blurred by a
//! Gaussian PSF, times an uneven illumination (gradient and vignetting), plus a static background
//! texture and shot/read noise. Contrast, halo width, blur, illumination and noise are drawn per
//! image (per movie for time series), so the sets cover a spread of microscopes. See
//! `render.rs` for the formula.
//!
//! Colonies are grown, not scattered: rods grow exponentially, divide at about twice their birth
//! length with slightly noisy daughter angles, and overlapping neighbours are pushed apart and
//! rotated after every growth increment. Chambers stack cells from the closed end (top) down;
//! growth pushes cells towards the open end (bottom), where they leave.
//!
//! # Layouts written by [`generate`] (`OUT` is the output folder)
//! File names follow DeLTA's prototype `Position%06d_Chamber%06d_Frame%06d.png`; per-cell
//! tracking files insert `Cell%06d` before the extension with no underscore, exactly as DeLTA's
//! `getfnfromprototype` / `path_from_prototype` do (the frame in those names is the *previous*
//! frame and the cell number is the seed's 4-connected label in raster order of that frame).
//! Images are 16-bit grayscale PNGs, masks 8-bit 0/255 PNGs.
//!
//! | kind | folders | sample `i` (0-based) |
//! |---|---|---|
//! | `mm-seg` | `img/ seg/` | 256×32 chamber, 1–8 cells, `Position000001_Chamber{i+1}_Frame000001.png` |
//! | `2d-seg` | `img/ seg/` | 512×512 colony of 50–300 cells, same names |
//! | `rois` | `img/ seg/` | 512×512 field with a row of chambers; `seg/` marks the chambers |
//! | `mm-track` | `previmg/ seg/ img/ segall/ mot_dau/` | 256×32 chamber pairs |
//! | `2d-track` | same | 256×256 windows on colonies of 20–200 cells |
//! | `movie` | `mm/…`, `2d/…` (below) | one 256×32 chamber and one 256×256 colony movie |
//!
//! Tracking sets: pair `j` (`stream(seed, 0, j)`) gives one sample per cell of its previous
//! frame, named `Position000001_Chamber{j+1}_Frame000001Cell{cell}.png` in all five folders:
//! `previmg/` frame t−1, `seg/` that cell at t−1, `img/` frame t, `segall/` all cells at t,
//! `mot_dau/` the cell at t and its daughter if it divided (empty if it left the chamber).
//! `n` counts samples: pairs are taken in order until `n` samples exist (the last pair may be
//! cut short). No `wei/` folder: DeLTA computes tracking weights online.
//!
//! Movies (`n` movies of each type, movie `j` is position `j+1`), per type folder `mm/` (256×32
//! chamber) and `2d/` (256×256 colony), [`MOVIE_FRAMES`] frames each:
//! ```text
//! OUT/mm/img/Position{j+1}_Chamber000001_Frame{t}.png          frame t = 1..=8, 16-bit
//! OUT/mm/seg/Position{j+1}_Chamber000001_Frame{t}.png          ground-truth mask, 0/255
//! OUT/mm/labels/Position{j+1}_Chamber000001_Frame{t}.png       16-bit instance labels, raster order
//! OUT/mm/mot_dau/Position{j+1}_Chamber000001_Frame{t}Cell{c}.png
//!                      for t = 1..=7: mask at frame t+1 of cell c of frame t and its daughter
//! OUT/mm/lineage.csv   position,frame,label,cell,mother  (one row per labelled cell and frame;
//!                      `cell` is a persistent identity, `mother` the identity it divided from
//!                      at birth, 0 for founders; after a division the old-pole cell, the top
//!                      one in a chamber, keeps the mother's identity)
//! OUT/2d/…             the same for colonies
//! ```
//!
//! # Reproducibility
//! Sample `i` (tracking pair `j`, chamber movie `j`) draws only from
//! [`crate::random::stream`]`(seed, 0, i)` (colony movie `j`: `stream(seed, 1, j)`), so the bytes
//! depend on the seed and the index alone, never on thread count; samples are rendered in
//! parallel with rayon. Writes are atomic ([`crate::io`]). [`generate`] overwrites files of the
//! same names and leaves other files alone: the CLI refuses a non-empty folder unless `--force`
//! ([`ensure_empty_output`]), and with `--force` files of a previous, larger set stay behind.
//!
//! # Speed
//! Release build, one core: a 256×32 chamber renders in well under a millisecond to a few
//! milliseconds depending on machine load, a 512×512 colony of 150 cells (growth simulation
//! included) in tens of milliseconds (`benches/synth.rs`).
//!
//! # Differences from DeLTA
//! DeLTA ships no generator: its training sets are hand-curated real images. These sets are for
//! smoke tests, demos and pre-training; their masks follow DeLTA's conventions (binary,
//! at least one background pixel between cells, tracking masks as in `mot_dau/`).

mod colony;
mod mother;
mod rects;
mod render;
mod scene;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::image::{Image, Labels};
use crate::io::{self, Depth};
use crate::names::cell_file_name;
use crate::random::stream;

pub use colony::{colony, colony_movie, colony_tracking_pair};
pub use mother::{mm_chamber, mm_movie, mm_tracking_pair, rois_field, CHAMBER_SHAPE};
pub use rects::RectangleBatches;
pub use scene::TrackSample;

/// Shape of a `2d-seg` image (rows, cols).
pub const COLONY_SHAPE: (usize, usize) = (512, 512);
/// Shape of a `2d-track` image and of the colony movie (rows, cols).
pub const COLONY_WINDOW: (usize, usize) = (256, 256);
/// Shape of a `rois` full-field image (rows, cols), DeLTA's ROI `target_size`.
pub const ROIS_SHAPE: (usize, usize) = (512, 512);
/// Frames per movie.
pub const MOVIE_FRAMES: usize = 8;
/// The largest `n` [`generate`] accepts (a 2d-seg set of this size is about 50 GB).
pub const MAX_N: usize = 100_000;

/// What [`generate`] writes; see the module docs for each layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynthKind {
    /// Mother-machine segmentation set (`img/`, `seg/`), 256×32.
    MmSeg,
    /// Agar-pad colony segmentation set (`img/`, `seg/`), 512×512.
    TwoDSeg,
    /// Mother-machine tracking set (five folders), 256×32.
    MmTrack,
    /// Agar-pad tracking set (five folders), 256×256.
    TwoDTrack,
    /// Chamber (ROI) set: full fields and chamber masks (`img/`, `seg/`), 512×512.
    Rois,
    /// Time series of a chamber and of a colony, with segmentation and tracking ground truth.
    Movie,
}

impl SynthKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [SynthKind; 6] = [
        SynthKind::MmSeg,
        SynthKind::TwoDSeg,
        SynthKind::MmTrack,
        SynthKind::TwoDTrack,
        SynthKind::Rois,
        SynthKind::Movie,
    ];

    /// The command-line name (`mm-seg`, `2d-seg`, `mm-track`, `2d-track`, `rois`, `movie`).
    pub fn name(self) -> &'static str {
        match self {
            SynthKind::MmSeg => "mm-seg",
            SynthKind::TwoDSeg => "2d-seg",
            SynthKind::MmTrack => "mm-track",
            SynthKind::TwoDTrack => "2d-track",
            SynthKind::Rois => "rois",
            SynthKind::Movie => "movie",
        }
    }

    /// The sub-folders a set of this kind has (for `movie`, inside `mm/` and `2d/`).
    pub fn folders(self) -> &'static [&'static str] {
        match self {
            SynthKind::MmSeg | SynthKind::TwoDSeg | SynthKind::Rois => &["img", "seg"],
            SynthKind::MmTrack | SynthKind::TwoDTrack => {
                &["previmg", "seg", "img", "segall", "mot_dau"]
            }
            SynthKind::Movie => &["img", "seg", "labels", "mot_dau"],
        }
    }
}

impl std::fmt::Display for SynthKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SynthKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<SynthKind> {
        SynthKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownName {
                what: "synthetic set kind",
                name: s.to_string(),
                choices: SynthKind::ALL.iter().map(|k| k.name()).collect(),
            })
    }
}

/// Two consecutive frames with their labels and the tracking ground truth of every cell of the
/// first frame.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackingPair {
    /// Frame t−1 (`previmg/`).
    pub prev: Image,
    /// Raster-ordered instance labels of frame t−1.
    pub prev_labels: Labels,
    /// Frame t (`img/`).
    pub cur: Image,
    /// Raster-ordered instance labels of frame t (`segall/` is its mask).
    pub cur_labels: Labels,
    /// One sample per cell of frame t−1, in DeLTA's cell-number order.
    pub samples: Vec<TrackSample>,
}

/// One row of a movie's lineage table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineageRow {
    /// Frame number, 1-based.
    pub frame: u32,
    /// The cell's label in that frame's label image (raster order, 1-based).
    pub label: u32,
    /// Persistent cell identity (1-based, unique in the movie).
    pub cell: u32,
    /// Identity of the cell it divided from at birth; 0 for founders.
    pub mother: u32,
}

/// A synthetic time series with its segmentation and tracking ground truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Movie {
    /// The frames, in order.
    pub frames: Vec<Image>,
    /// Raster-ordered instance labels per frame.
    pub labels: Vec<Labels>,
    /// `tracks[k]` links frame `k` to frame `k + 1` (0-based): one sample per cell of frame `k`.
    pub tracks: Vec<Vec<TrackSample>>,
    /// Who is who in every frame.
    pub lineage: Vec<LineageRow>,
}

impl Movie {
    fn push_frame(
        &mut self,
        img: Image,
        lab: &Labels,
        own: &[usize],
        views: &[scene::CellView],
        prev: Option<&(Labels, Vec<usize>, Vec<scene::CellView>)>,
        frame: u32,
    ) {
        let t = self.frames.len() as u32 + 1;
        for (k, &i) in own.iter().enumerate() {
            self.lineage.push(LineageRow {
                frame: t,
                label: k as u32 + 1,
                cell: views[i].id,
                mother: views[i].parent,
            });
        }
        if let Some((plab, pown, pviews)) = prev {
            self.tracks.push(scene::track_samples(
                (plab, pown, pviews),
                (lab, own, views),
                frame,
            ));
        }
        self.frames.push(img);
        self.labels.push(lab.clone());
    }
}

/// DeLTA's file name `Position%06d_Chamber%06d_Frame%06d[Cell%06d].png` ([`crate::names`]:
/// the mother-machine prototype, with the per-cell suffix of [`cell_file_name`]).
fn delta_name(position: usize, chamber: usize, frame: usize, cell: Option<u32>) -> String {
    let name = format!("Position{position:06}_Chamber{chamber:06}_Frame{frame:06}.png");
    match cell {
        Some(c) => cell_file_name(&name, u64::from(c)),
        None => name,
    }
}

/// Fails with [`Error::OutputNotEmpty`] when `out` exists and has any entry (the CLI's check
/// before writing without `--force`), and with [`Error::NotAFolder`] when it is a file.
///
/// ```
/// use deltacell_data::{synth::ensure_empty_output, Error};
/// let dir = tempfile::tempdir()?;
/// ensure_empty_output(&dir.path().join("new"))?; // absent
/// ensure_empty_output(dir.path())?; // empty
/// std::fs::write(dir.path().join("a.txt"), "x")?;
/// let used = ensure_empty_output(dir.path());
/// assert!(matches!(used, Err(Error::OutputNotEmpty { .. })));
/// let file = ensure_empty_output(&dir.path().join("a.txt"));
/// assert!(matches!(file, Err(Error::NotAFolder { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ensure_empty_output(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::NotAFolder {
            path: out.to_path_buf(),
        });
    }
    let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
    if entries.next().is_some() {
        return Err(Error::OutputNotEmpty {
            path: out.to_path_buf(),
        });
    }
    Ok(())
}

fn make_dirs(root: &Path, names: &[&str]) -> Result<Vec<PathBuf>> {
    names
        .iter()
        .map(|n| {
            let d = root.join(n);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            Ok(d)
        })
        .collect()
}

/// Progress callback: `(done, total)` samples (movies count one per movie and type).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Writes a synthetic set of `kind` with `n` samples (movies: `n` movies of each type) into
/// `out`, drawing sample `i` from `random::stream(seed, 0, i)`: the same arguments give the same
/// bytes on any machine and thread count. Folders are created as needed; existing files of the
/// same names are overwritten (call [`ensure_empty_output`] first to refuse a used folder).
///
/// `n` must be in `1..=`[`MAX_N`]. Returns the number of samples written (files per folder;
/// for movies, the number of movies of each type).
pub fn generate(
    kind: SynthKind,
    n: usize,
    seed: u64,
    out: &Path,
    progress: Progress,
) -> Result<usize> {
    if n == 0 || n > MAX_N {
        return Err(Error::out_of_range(
            "number of samples",
            n,
            format!("between 1 and {MAX_N}"),
        ));
    }
    let done = AtomicUsize::new(0);
    let tick = |total: usize| progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
    match kind {
        SynthKind::MmSeg | SynthKind::TwoDSeg | SynthKind::Rois => {
            let dirs = make_dirs(out, kind.folders())?;
            (0..n).into_par_iter().try_for_each(|i| {
                let mut rng = stream(seed, 0, i as u64);
                let (img, mask) = match kind {
                    SynthKind::MmSeg => {
                        let k = rng.random_range(1..=8);
                        let (img, lab) = mm_chamber(&mut rng, k);
                        (img, lab.to_mask())
                    }
                    SynthKind::TwoDSeg => {
                        let k = rng.random_range(50..=300);
                        let (img, lab) = colony(&mut rng, COLONY_SHAPE, k);
                        (img, lab.to_mask())
                    }
                    _ => rois_field(&mut rng, ROIS_SHAPE),
                };
                let name = delta_name(1, i + 1, 1, None);
                io::write_image(dirs[0].join(&name), &img, Depth::U16)?;
                io::write_mask(dirs[1].join(&name), &mask)?;
                tick(n);
                Ok(())
            })?;
            Ok(n)
        }
        SynthKind::MmTrack | SynthKind::TwoDTrack => write_tracking(kind, n, seed, out, &tick),
        SynthKind::Movie => {
            let mm = make_dirs(&out.join("mm"), kind.folders())?;
            let d2 = make_dirs(&out.join("2d"), kind.folders())?;
            let movies: Vec<(usize, bool)> = (0..n).flat_map(|j| [(j, false), (j, true)]).collect();
            let rows: Vec<(bool, usize, Vec<LineageRow>)> = movies
                .into_par_iter()
                .map(|(j, is2d)| {
                    let mut rng = stream(seed, u64::from(is2d), j as u64);
                    let movie = if is2d {
                        colony_movie(&mut rng, COLONY_WINDOW, MOVIE_FRAMES)
                    } else {
                        mm_movie(&mut rng, MOVIE_FRAMES)
                    };
                    write_movie(&movie, j + 1, if is2d { &d2 } else { &mm })?;
                    tick(2 * n);
                    Ok((is2d, j, movie.lineage))
                })
                .collect::<Result<_>>()?;
            for (is2d, dir) in [(false, out.join("mm")), (true, out.join("2d"))] {
                let mut csv = String::from("position,frame,label,cell,mother\n");
                for (_, j, lin) in rows.iter().filter(|r| r.0 == is2d) {
                    for r in lin {
                        csv.push_str(&format!(
                            "{},{},{},{},{}\n",
                            j + 1,
                            r.frame,
                            r.label,
                            r.cell,
                            r.mother
                        ));
                    }
                }
                let path = dir.join("lineage.csv");
                io::write_atomic(&path, |w| std::io::Write::write_all(w, csv.as_bytes()))?;
            }
            Ok(n)
        }
    }
}

/// Writes one movie as position `position` into `dirs` = `[img, seg, labels, mot_dau]`.
fn write_movie(movie: &Movie, position: usize, dirs: &[PathBuf]) -> Result<()> {
    for (t, (img, lab)) in movie.frames.iter().zip(&movie.labels).enumerate() {
        let name = delta_name(position, 1, t + 1, None);
        io::write_image(dirs[0].join(&name), img, Depth::U16)?;
        io::write_mask(dirs[1].join(&name), &lab.to_mask())?;
        io::write_labels(dirs[2].join(&name), lab)?;
    }
    for (t, samples) in movie.tracks.iter().enumerate() {
        for s in samples {
            let name = delta_name(position, 1, t + 1, Some(s.cell));
            io::write_mask(dirs[3].join(&name), &s.mot_dau)?;
        }
    }
    Ok(())
}

/// Renders tracking pairs in index order until `n` samples exist, in parallel chunks.
fn write_tracking(
    kind: SynthKind,
    n: usize,
    seed: u64,
    out: &Path,
    tick: &(dyn Fn(usize) + Sync),
) -> Result<usize> {
    let dirs = make_dirs(out, kind.folders())?;
    let is2d = kind == SynthKind::TwoDTrack;
    // Expected samples per pair, to size the chunks (it only affects how much work may be
    // wasted, never which samples are written).
    let per_pair = if is2d { 40 } else { 4 };
    let mut written = 0;
    let mut next_pair = 0usize;
    while written < n {
        // Every pair has at least one cell; the guard only turns a logic error into an error.
        if next_pair > 16 * n + 64 {
            return Err(Error::Internal {
                problem: format!(
                    "{kind}: only {written} of {n} tracking samples after {next_pair} frame pairs"
                ),
            });
        }
        let chunk = (n - written).div_ceil(per_pair).clamp(1, 16);
        let pairs: Vec<TrackingPair> = (next_pair..next_pair + chunk)
            .into_par_iter()
            .map(|j| {
                let mut rng = stream(seed, 0, j as u64);
                if is2d {
                    let k = rng.random_range(20..=200);
                    colony_tracking_pair(&mut rng, COLONY_WINDOW, k)
                } else {
                    let k = rng.random_range(1..=8);
                    mm_tracking_pair(&mut rng, k)
                }
            })
            .collect();
        // Decide in order which samples are kept, then write them in parallel.
        let mut jobs = Vec::new();
        for (k, pair) in pairs.iter().enumerate() {
            for s in &pair.samples {
                if written < n {
                    jobs.push((next_pair + k, pair, s));
                    written += 1;
                }
            }
        }
        jobs.into_par_iter().try_for_each(|(j, pair, s)| {
            let name = delta_name(1, j + 1, 1, Some(s.cell));
            io::write_image(dirs[0].join(&name), &pair.prev, Depth::U16)?;
            io::write_mask(dirs[1].join(&name), &s.seed)?;
            io::write_image(dirs[2].join(&name), &pair.cur, Depth::U16)?;
            io::write_mask(dirs[3].join(&name), &pair.cur_labels.to_mask())?;
            io::write_mask(dirs[4].join(&name), &s.mot_dau)?;
            tick(n);
            Ok::<(), Error>(())
        })?;
        next_pair += chunk;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_names_are_deltas_padded_names() {
        assert_eq!(
            delta_name(1, 12, 3, None),
            "Position000001_Chamber000012_Frame000003.png"
        );
        assert_eq!(
            delta_name(2, 1, 7, Some(4)),
            "Position000002_Chamber000001_Frame000007Cell000004.png"
        );
        // The names DeLTA's prototype parses and formats.
        use crate::names::{FileOrder, FrameId, Prototype};
        let prototype =
            Prototype::from_printf("Position%06d_Chamber%06d_Frame%06d.png", FileOrder::Pct)
                .unwrap();
        let id = FrameId {
            position: 3,
            chamber: 1_234_567,
            frame: 45,
        };
        assert_eq!(prototype.format(&id), delta_name(3, 1_234_567, 45, None));
        assert_eq!(
            prototype.format_cell(&id, 9),
            delta_name(3, 1_234_567, 45, Some(9))
        );
    }
}
