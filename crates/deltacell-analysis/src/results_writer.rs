//! Writing a results file ([`crate::results`], DeLTA 3's format 0.1.0) frame by frame, so that
//! a position's planes never have to be held in memory together.
//!
//! [`ResultsWriter::create`] makes the file under a temporary name in the destination folder
//! (deltacell's temporary naming, [`deltacell_data::output::temp_dir_in`]) and defines every
//! group, dimension, coordinate and stack from the position's [`PositionLayout`] (known once
//! the ROIs are found: the number of frames is known up front); [`ResultsWriter::write_frame`]
//! writes one ROI's planes of one frame; [`ResultsWriter::write_cells`] adds what is only known
//! at the end (the drift, the lineages and the per-cell features); [`ResultsWriter::commit`]
//! closes the file and renames it into place. A writer dropped before `commit` (an error, a
//! cancelled analysis) removes its temporary file: nothing appears under the final name.
//!
//! This is the one definition of the file's layout: [`PositionResults::write`] writes
//! in-memory results through it too. Stacks are deflated (level 4, shuffle) in chunks of one
//! frame (DeLTA's files have one chunk per stack; readers see the same values); per-cell arrays
//! in one chunk each, as DeLTA's. The netCDF library's chunk cache is turned off
//! ([`crate::results`]' set-up), so that written frames leave memory at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netcdf::{Extent, Extents, NcTypeDescriptor};

use crate::error::{Error, Result};
use crate::lineage::{Cell, CellId, Lineage};
use crate::results::{
    init_netcdf, nc_err, CellFeatures, CropBox, PositionResults, RoiResults, EDGE_NAMES,
    FORMAT_VERSION,
};

/// What a ROI's group holds besides its planes, lineage and features: known before the first
/// frame.
#[derive(Clone, Debug, PartialEq)]
pub struct RoiLayout {
    /// The ROI's number (group `roi{nb:02}`).
    pub roi_nb: u32,
    /// The ROI's box in the corrected frame.
    pub bbox: CropBox,
    /// `(y, x)` scaling from the segmentation's size to the ROI's ([`RoiResults::scaling`]).
    pub scaling: [f64; 2],
    /// DeLTA's configuration (JSON text).
    pub config: String,
    /// The program that writes the results.
    pub version: String,
    /// `(model, hash)` for each model of the configuration.
    pub model_hashes: Vec<(String, String)>,
    /// The movie's frame number of frame index 0.
    pub first_frame: i32,
    /// Number of frames.
    pub frames: usize,
    /// `(height, width)` of the image, fluorescence and label planes, pixels.
    pub shape: (usize, usize),
    /// `(height, width)` of the segmentation planes, pixels.
    pub seg_shape: (usize, usize),
    /// The extra channels' numbers in the movie.
    pub fluo_channels: Vec<i64>,
}

/// What a results file holds besides its planes, the drift, lineages and features.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionLayout {
    /// The position's number in the movie.
    pub position_nb: u32,
    /// The rotation applied to the frames, degrees.
    pub rotate: f64,
    /// `(height, width)` of the movie's frames, pixels.
    pub shape: (usize, usize),
    /// DeLTA's configuration (JSON text).
    pub config: String,
    /// The program that writes the results.
    pub version: String,
    /// The ROIs, in order of `roi_nb`.
    pub rois: Vec<RoiLayout>,
}

impl RoiResults {
    /// This ROI's [`RoiLayout`].
    pub fn layout(&self) -> RoiLayout {
        RoiLayout {
            roi_nb: self.roi_nb,
            bbox: self.bbox,
            scaling: self.scaling,
            config: self.config.clone(),
            version: self.version.clone(),
            model_hashes: self.model_hashes.clone(),
            first_frame: self.first_frame,
            frames: self.frames(),
            shape: self.img.plane_shape(),
            seg_shape: self.seg.plane_shape(),
            fluo_channels: self.fluo_channels.clone(),
        }
    }
}

impl PositionResults {
    /// This position's [`PositionLayout`].
    pub fn layout(&self) -> PositionLayout {
        PositionLayout {
            position_nb: self.position_nb,
            rotate: self.rotate,
            shape: self.shape,
            config: self.config.clone(),
            version: self.version.clone(),
            rois: self.rois.iter().map(RoiResults::layout).collect(),
        }
    }

    /// Writes the results as DeLTA 3 does, atomically (the file appears complete under its
    /// final name, or not at all), through a [`ResultsWriter`]. Checks every ROI first
    /// ([`RoiResults::check`]).
    ///
    /// ```
    /// use deltacell_analysis::results::PositionResults;
    /// let position = PositionResults {
    ///     position_nb: 2,
    ///     rotate: 0.5,
    ///     shape: (8, 6),
    ///     config: "{}".into(),
    ///     drift: vec![(1, -1)],
    ///     version: "test".into(),
    ///     rois: Vec::new(),
    /// };
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("Position000002.nc");
    /// position.write(&path).unwrap();
    /// assert_eq!(PositionResults::read(&path).unwrap(), position);
    /// ```
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        for roi in &self.rois {
            roi.check()?;
        }
        let mut writer = ResultsWriter::create(path, &self.layout())?;
        for (i, roi) in self.rois.iter().enumerate() {
            let (h, w) = roi.img.plane_shape();
            let per_frame = roi.fluo_channels.len() * h * w;
            for t in 0..roi.frames() {
                let planes = RoiPlanes {
                    img: roi.img.frame(t),
                    fluo: &roi.fluo.as_slice()[t * per_frame..(t + 1) * per_frame],
                    seg: roi.seg.frame(t),
                    labels: roi.labels.frame(t),
                };
                writer.write_frame(i, t, &planes)?;
            }
        }
        writer.write_cells(&self.drift, &RoiCells::of(self))?;
        writer.commit()
    }
}

/// One ROI's planes of one frame, row-major.
#[derive(Clone, Copy, Debug)]
pub struct RoiPlanes<'a> {
    /// The phase-contrast image, `shape`.
    pub img: &'a [f32],
    /// The extra channels' images, one `shape` plane after the other, in channel order.
    pub fluo: &'a [f32],
    /// The segmentation (0 or 1), `seg_shape`.
    pub seg: &'a [u8],
    /// The cell ids, `shape`.
    pub labels: &'a [u16],
}

/// One ROI's lineage and per-cell features, for [`ResultsWriter::write_cells`].
#[derive(Clone, Copy, Debug)]
pub struct RoiCells<'a> {
    /// The cells and their divisions.
    pub lineage: &'a Lineage,
    /// Each cell's features, one per frame of its life.
    pub features: &'a BTreeMap<CellId, Vec<CellFeatures>>,
}

impl<'a> RoiCells<'a> {
    /// The lineage and features of each ROI of `position`, in order.
    pub fn of(position: &'a PositionResults) -> Vec<RoiCells<'a>> {
        position
            .rois
            .iter()
            .map(|r| RoiCells {
                lineage: &r.lineage,
                features: &r.features,
            })
            .collect()
    }
}

/// A results file being written (see the [module](self) documentation).
pub struct ResultsWriter {
    // Dropped in this order: the file is closed before its temporary folder is removed.
    file: Option<netcdf::FileMut>,
    tmp_file: PathBuf,
    _tmp_dir: tempfile::TempDir,
    path: PathBuf,
    layout: PositionLayout,
    cells_written: bool,
}

/// How a variable is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Contiguous, uncompressed (coordinates, per-cell scalars).
    Plain,
    /// Deflated, in one chunk.
    Whole,
    /// Deflated, in chunks of one index of the first dimension (one frame).
    PerFrame,
}

impl ResultsWriter {
    /// Creates the results file `path` under a temporary name in its folder, with every
    /// attribute, dimension and stack of `layout` defined (the stacks still empty).
    pub fn create(path: &Path, layout: &PositionLayout) -> Result<ResultsWriter> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp_dir = deltacell_data::output::temp_dir_in(dir)?;
        let tmp_file = tmp_dir.path().join("position.nc");
        let e = nc_err(path);
        init_netcdf();
        let mut file = netcdf::create_with(&tmp_file, netcdf::Options::NETCDF4).map_err(&e)?;
        file.add_attribute("position_nb", i64::from(layout.position_nb))
            .map_err(&e)?;
        file.add_attribute("nb_rois", layout.rois.len() as i64)
            .map_err(&e)?;
        file.add_attribute("rotate", layout.rotate).map_err(&e)?;
        file.add_attribute("shape", vec![layout.shape.0 as i64, layout.shape.1 as i64])
            .map_err(&e)?;
        file.add_attribute("config", layout.config.as_str())
            .map_err(&e)?;
        file.add_attribute("DeLTA_version", layout.version.as_str())
            .map_err(&e)?;
        file.add_attribute("file_format_version", FORMAT_VERSION)
            .map_err(&e)?;
        for roi in &layout.rois {
            let mut group = file.add_group(&group_name(roi.roi_nb)).map_err(&e)?;
            define_roi(path, &mut group, roi)?;
        }
        Ok(ResultsWriter {
            file: Some(file),
            tmp_file,
            _tmp_dir: tmp_dir,
            path: path.to_path_buf(),
            layout: layout.clone(),
            cells_written: false,
        })
    }

    /// The layout the file was created with.
    pub fn layout(&self) -> &PositionLayout {
        &self.layout
    }

    fn file(&mut self) -> Result<&mut netcdf::FileMut> {
        self.file.as_mut().ok_or_else(|| Error::NetCdf {
            path: self.path.clone(),
            message: "the file is already closed".into(),
        })
    }

    /// The ROI of index `roi` (into the layout's ROIs) with frame `t` checked, and its group's
    /// name.
    fn roi(&self, roi: usize, t: usize) -> Result<(RoiLayout, String)> {
        let r = self.layout.rois.get(roi).ok_or_else(|| Error::NetCdf {
            path: self.path.clone(),
            message: format!("no ROI of index {roi} ({} ROIs)", self.layout.rois.len()),
        })?;
        if t >= r.frames {
            return Err(Error::InvalidResults {
                roi: r.roi_nb,
                problem: format!("frame index {t}, the ROI has {} frames", r.frames),
            });
        }
        Ok((r.clone(), group_name(r.roi_nb)))
    }

    /// Writes the planes of frame index `t` of the ROI of index `roi` (into the layout's ROIs).
    /// Errors: an index out of range, planes of the wrong sizes, a failed write.
    pub fn write_frame(&mut self, roi: usize, t: usize, planes: &RoiPlanes<'_>) -> Result<()> {
        let (r, name) = self.roi(roi, t)?;
        let (h, w) = r.shape;
        let (hr, wr) = r.seg_shape;
        let nc = r.fluo_channels.len();
        for (what, have, want) in [
            ("image", planes.img.len(), h * w),
            ("fluorescence", planes.fluo.len(), nc * h * w),
            ("segmentation", planes.seg.len(), hr * wr),
            ("label", planes.labels.len(), h * w),
        ] {
            if have != want {
                return Err(Error::InvalidResults {
                    roi: r.roi_nb,
                    problem: format!("frame index {t}: {have} {what} values, expected {want}"),
                });
            }
        }
        let path = self.path.clone();
        let e = nc_err(&path);
        let file = self.file()?;
        let mut g = file
            .group_mut(&name)
            .map_err(&e)?
            .ok_or_else(|| vanished(&path, &name))?;
        let seg: Vec<i8> = planes.seg.iter().map(|&v| i8::from(v != 0)).collect();
        put_frame(&path, &mut g, "img_stack", t, planes.img)?;
        put_frame(&path, &mut g, "fluo_stack", t, planes.fluo)?;
        put_frame(&path, &mut g, "seg_stack", t, &seg)?;
        put_frame(&path, &mut g, "label_stack", t, planes.labels)?;
        Ok(())
    }

    /// Reads back the label plane of frame index `t` of the ROI of index `roi` (as written by
    /// [`ResultsWriter::write_frame`]), row-major, `shape`.
    pub fn read_labels(&mut self, roi: usize, t: usize) -> Result<Vec<u16>> {
        let (_, name) = self.roi(roi, t)?;
        let path = self.path.clone();
        let e = nc_err(&path);
        let file = self.file()?;
        let g = file
            .group(&name)
            .map_err(&e)?
            .ok_or_else(|| vanished(&path, &name))?;
        let var = g
            .variable("label_stack")
            .ok_or_else(|| vanished(&path, "label_stack"))?;
        var.get_values::<u16, _>(frame_extents(3, t)).map_err(&e)
    }

    /// Writes what is known only at the end: the drift (`(x, y)` per frame, pixels; empty
    /// without drift correction) and each ROI's lineage and features (one per layout ROI, in
    /// order). Errors: inconsistent cells (a cell living outside the frames, an id above
    /// 65535, features missing), a failed write.
    pub fn write_cells(&mut self, drift: &[(i64, i64)], rois: &[RoiCells<'_>]) -> Result<()> {
        if rois.len() != self.layout.rois.len() || self.cells_written {
            return Err(Error::NetCdf {
                path: self.path.clone(),
                message: format!(
                    "cells of {} ROIs for a file of {} ROIs, or written twice",
                    rois.len(),
                    self.layout.rois.len()
                ),
            });
        }
        let path = self.path.clone();
        let e = nc_err(&path);
        let layout = self.layout.clone();
        let file = self.file()?;
        if drift.is_empty() {
            // xarray writes an empty list as an empty float64 array.
            file.add_attribute("drift_x", Vec::<f64>::new())
                .map_err(&e)?;
            file.add_attribute("drift_y", Vec::<f64>::new())
                .map_err(&e)?;
        } else {
            file.add_attribute("drift_x", drift.iter().map(|d| d.0).collect::<Vec<i64>>())
                .map_err(&e)?;
            file.add_attribute("drift_y", drift.iter().map(|d| d.1).collect::<Vec<i64>>())
                .map_err(&e)?;
        }
        for (roi, cells) in layout.rois.iter().zip(rois) {
            let name = group_name(roi.roi_nb);
            let mut g = file
                .group_mut(&name)
                .map_err(&e)?
                .ok_or_else(|| vanished(&path, &name))?;
            write_roi_cells(&path, &mut g, roi, cells)?;
        }
        self.cells_written = true;
        Ok(())
    }

    /// Closes the file, flushes it to disk and renames it to its final name (replacing an
    /// earlier file). Errors when [`ResultsWriter::write_cells`] was not called.
    pub fn commit(mut self) -> Result<()> {
        if !self.cells_written {
            return Err(Error::NetCdf {
                path: self.path.clone(),
                message: "the lineages and features were not written".into(),
            });
        }
        let e = nc_err(&self.path);
        let file = self.file.take().ok_or_else(|| Error::NetCdf {
            path: self.path.clone(),
            message: "the file is already closed".into(),
        })?;
        file.close().map_err(&e)?;
        let io = |err: std::io::Error| Error::Data(deltacell_data::Error::io(&self.path, err));
        std::fs::File::open(&self.tmp_file)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&self.tmp_file, &self.path).map_err(io)?;
        // The (now empty) temporary folder is removed with `self`.
        Ok(())
    }
}

fn group_name(roi_nb: u32) -> String {
    format!("roi{roi_nb:02}")
}

fn vanished(path: &Path, what: &str) -> Error {
    Error::NetCdf {
        path: path.to_path_buf(),
        message: format!("`{what}` vanished"),
    }
}

/// Extents of index `t` of the first of `ndims` dimensions, all of the others.
fn frame_extents(ndims: usize, t: usize) -> Extents {
    let mut e: Vec<Extent> = vec![(t..t + 1).into()];
    e.extend((1..ndims).map(|_| Extent::from(..)));
    e.into()
}

/// Writes frame `t` of a per-frame stack (nothing when it holds no values).
fn put_frame<T: NcTypeDescriptor + Copy>(
    path: &Path,
    g: &mut netcdf::GroupMut<'_>,
    name: &str,
    t: usize,
    values: &[T],
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let mut var = g.variable_mut(name).ok_or_else(|| vanished(path, name))?;
    let ndims = var.dimensions().len();
    var.put_values(values, frame_extents(ndims, t))
        .map_err(nc_err(path))?;
    Ok(())
}

/// Defines a variable (compressed per `storage`; NaN fill for floats) and writes `values`
/// unless empty.
fn put<T: NcTypeDescriptor + Copy>(
    path: &Path,
    g: &mut netcdf::GroupMut<'_>,
    name: &str,
    dims: &[&str],
    values: &[T],
    storage: Storage,
    nan_fill: Option<T>,
) -> Result<()> {
    let e = nc_err(path);
    let shape: Vec<usize> = dims
        .iter()
        .map(|d| g.dimension(d).map_or(0, |d| d.len()))
        .collect();
    let mut var = g.add_variable::<T>(name, dims).map_err(&e)?;
    if storage != Storage::Plain {
        var.set_compression(4, true).map_err(&e)?;
        if !shape.contains(&0) {
            let mut chunk = shape.clone();
            if storage == Storage::PerFrame {
                chunk[0] = 1;
            }
            var.set_chunking(&chunk).map_err(&e)?;
        }
    }
    if let Some(fill) = nan_fill {
        var.set_fill_value(fill).map_err(&e)?;
    }
    if !values.is_empty() {
        var.put_values(values, ..).map_err(&e)?;
    }
    Ok(())
}

fn put_strings(
    path: &Path,
    g: &mut netcdf::GroupMut<'_>,
    name: &str,
    values: &[&str],
) -> Result<()> {
    let e = nc_err(path);
    let mut var = g.add_string_variable(name, &[name]).map_err(&e)?;
    for (i, v) in values.iter().enumerate() {
        var.put_string(v, [i]).map_err(&e)?;
    }
    Ok(())
}

fn add_dimension(path: &Path, g: &mut netcdf::GroupMut<'_>, name: &str, len: usize) -> Result<()> {
    let e = nc_err(path);
    // A dimension of length 0 is unlimited, as xarray writes it.
    if len == 0 {
        g.add_unlimited_dimension(name).map_err(&e)?;
    } else {
        g.add_dimension(name, len).map_err(&e)?;
    }
    Ok(())
}

fn bool_attribute(path: &Path, g: &mut netcdf::GroupMut<'_>, name: &str) -> Result<()> {
    g.variable_mut(name)
        .ok_or_else(|| vanished(path, name))?
        .put_attribute("dtype", "bool")
        .map_err(nc_err(path))?;
    Ok(())
}

/// A ROI's group before its frames: attributes, dimensions but `cell`, coordinates, and the
/// (empty) stacks.
fn define_roi(path: &Path, g: &mut netcdf::GroupMut<'_>, roi: &RoiLayout) -> Result<()> {
    let e = nc_err(path);
    g.add_attribute("roi_nb", i64::from(roi.roi_nb))
        .map_err(&e)?;
    g.add_attribute("box", roi.bbox.to_attribute())
        .map_err(&e)?;
    g.add_attribute("scaling", roi.scaling.to_vec())
        .map_err(&e)?;
    g.add_attribute("config", roi.config.as_str()).map_err(&e)?;
    g.add_attribute("DeLTA_version", roi.version.as_str())
        .map_err(&e)?;
    g.add_attribute("file_format_version", FORMAT_VERSION)
        .map_err(&e)?;
    for (model, hash) in &roi.model_hashes {
        g.add_attribute(&format!("{model}_model_hash"), hash.as_str())
            .map_err(&e)?;
    }

    let n = roi.frames;
    let (h, w) = roi.shape;
    let (hr, wr) = roi.seg_shape;
    let nc = roi.fluo_channels.len();
    for (name, len) in [
        ("frame", n),
        ("y_orig", h),
        ("x_orig", w),
        ("channel", nc),
        ("y_resized", hr),
        ("x_resized", wr),
        ("yx", 2),
        ("edge", 4),
    ] {
        add_dimension(path, g, name, len)?;
    }
    let nan = Some(f32::NAN);
    let range16 = |len: usize| -> Result<Vec<i16>> {
        (0..len)
            .map(|i| {
                i16::try_from(i).map_err(|_| Error::InvalidResults {
                    roi: roi.roi_nb,
                    problem: format!(
                        "a side of {len} pixels does not fit the file's 16-bit coordinates"
                    ),
                })
            })
            .collect()
    };
    let frames: Vec<i32> = (0..n as i32).map(|i| roi.first_frame + i).collect();
    let none: &[f32] = &[];
    put(path, g, "frame", &["frame"], &frames, Storage::Plain, None)?;
    put(
        path,
        g,
        "y_orig",
        &["y_orig"],
        &range16(h)?,
        Storage::Plain,
        None,
    )?;
    put(
        path,
        g,
        "x_orig",
        &["x_orig"],
        &range16(w)?,
        Storage::Plain,
        None,
    )?;
    let stack = ["frame", "y_orig", "x_orig"];
    put(path, g, "img_stack", &stack, none, Storage::PerFrame, nan)?;
    let channels = &roi.fluo_channels;
    put(
        path,
        g,
        "channel",
        &["channel"],
        channels,
        Storage::Plain,
        None,
    )?;
    let fluo_dims = ["frame", "channel", "y_orig", "x_orig"];
    put(
        path,
        g,
        "fluo_stack",
        &fluo_dims,
        none,
        Storage::PerFrame,
        nan,
    )?;
    let (yr, xr) = (range16(hr)?, range16(wr)?);
    put(
        path,
        g,
        "y_resized",
        &["y_resized"],
        &yr,
        Storage::Plain,
        None,
    )?;
    put(
        path,
        g,
        "x_resized",
        &["x_resized"],
        &xr,
        Storage::Plain,
        None,
    )?;
    let seg_dims = ["frame", "y_resized", "x_resized"];
    put::<i8>(
        path,
        g,
        "seg_stack",
        &seg_dims,
        &[],
        Storage::PerFrame,
        None,
    )?;
    bool_attribute(path, g, "seg_stack")?;
    put::<u16>(path, g, "label_stack", &stack, &[], Storage::PerFrame, None)?;
    // The coordinate variables `yx` and `edge` come with the cells (write_roi_cells), where
    // DeLTA's files have them.
    Ok(())
}

/// A ROI's lineage and features: the `cell` dimension and the per-cell arrays, cell × frame
/// (× yx, edge, channel).
fn write_roi_cells(
    path: &Path,
    g: &mut netcdf::GroupMut<'_>,
    roi: &RoiLayout,
    cells: &RoiCells<'_>,
) -> Result<()> {
    let n = roi.frames;
    let nc = roi.fluo_channels.len();
    let list: Vec<&Cell> = cells.lineage.cells().collect();
    let k = list.len();
    let bad = |problem: String| Error::InvalidResults {
        roi: roi.roi_nb,
        problem,
    };
    for c in &list {
        if c.id > CellId::from(u16::MAX) || c.mother.is_some_and(|m| m > CellId::from(u16::MAX)) {
            return Err(bad(format!(
                "cell id {} does not fit the file's 16-bit ids",
                c.id
            )));
        }
        if c.last_frame >= n || c.first_frame > c.last_frame {
            return Err(bad(format!(
                "cell {} lives from frame index {} to {}, the ROI has {n} frames",
                c.id, c.first_frame, c.last_frame
            )));
        }
        let life = c.last_frame - c.first_frame + 1;
        let have = cells.features.get(&c.id).map_or(0, Vec::len);
        if have != life {
            return Err(bad(format!(
                "cell {} lives {life} frames but has features for {have}",
                c.id
            )));
        }
    }
    add_dimension(path, g, "cell", k)?;
    let nan = Some(f32::NAN);
    let ids: Vec<u16> = list.iter().map(|c| c.id as u16).collect();
    let mothers: Vec<u16> = list.iter().map(|c| c.mother.unwrap_or(0) as u16).collect();
    let mut daughter = vec![0u16; k * n];
    let mut new_pole = vec![0i16; k * n * 2];
    let mut old_pole = vec![0i16; k * n * 2];
    let mut edges = vec![0i8; k * n * 4];
    let mut fluo = vec![f32::NAN; k * n * nc];
    let mut scalars = vec![vec![f32::NAN; k * n]; 6];
    for (ci, c) in list.iter().enumerate() {
        for &(f, d) in &c.divisions {
            if f < n {
                daughter[ci * n + f] = d as u16;
            }
        }
        for (i, feat) in cells.features[&c.id].iter().enumerate() {
            let at = ci * n + c.first_frame + i;
            new_pole[at * 2..at * 2 + 2].copy_from_slice(&feat.new_pole);
            old_pole[at * 2..at * 2 + 2].copy_from_slice(&feat.old_pole);
            for (j, on) in feat.edges.as_array().into_iter().enumerate() {
                edges[at * 4 + j] = i8::from(on);
            }
            for (j, &v) in feat.fluo.iter().take(nc).enumerate() {
                fluo[at * nc + j] = v as f32;
            }
            let values = [
                feat.length,
                feat.width,
                feat.area,
                feat.perimeter,
                feat.growthrate_length,
                feat.growthrate_area,
            ];
            for (s, v) in scalars.iter_mut().zip(values) {
                s[at] = v as f32;
            }
        }
    }
    let first: Vec<i32> = list
        .iter()
        .map(|c| roi.first_frame + c.first_frame as i32)
        .collect();
    let last: Vec<i32> = list
        .iter()
        .map(|c| roi.first_frame + c.last_frame as i32)
        .collect();
    let (plain, whole) = (Storage::Plain, Storage::Whole);
    put(path, g, "cell", &["cell"], &ids, plain, None)?;
    put(path, g, "mother", &["cell"], &mothers, plain, None)?;
    put(
        path,
        g,
        "daughter",
        &["cell", "frame"],
        &daughter,
        whole,
        None,
    )?;
    put_strings(path, g, "yx", &["y", "x"])?;
    let pole_dims = ["cell", "frame", "yx"];
    put(path, g, "new_pole", &pole_dims, &new_pole, whole, None)?;
    put(path, g, "old_pole", &pole_dims, &old_pole, whole, None)?;
    put_strings(path, g, "edge", &EDGE_NAMES)?;
    put(
        path,
        g,
        "edges",
        &["cell", "frame", "edge"],
        &edges,
        whole,
        None,
    )?;
    bool_attribute(path, g, "edges")?;
    put(
        path,
        g,
        "fluo",
        &["cell", "frame", "channel"],
        &fluo,
        whole,
        nan,
    )?;
    put(path, g, "first_frame", &["cell"], &first, plain, None)?;
    put(path, g, "last_frame", &["cell"], &last, plain, None)?;
    for (name, values) in [
        "length",
        "width",
        "area",
        "perimeter",
        "growthrate_length",
        "growthrate_area",
    ]
    .into_iter()
    .zip(&scalars)
    {
        put(path, g, name, &["cell", "frame"], values, whole, nan)?;
    }
    Ok(())
}
