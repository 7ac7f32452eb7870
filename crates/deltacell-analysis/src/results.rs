//! A position's results, and their file: DeLTA 3's `PositionNNNNNN.nc` (netCDF-4, format 0.1.0).
//!
//! The file is the one DeLTA 3's `Position.to_netcdf` writes and `Position.load_netcdf` reads
//! (and any netCDF tool: `xarray.open_dataset(path, group="roi00")`, `ncdump`, R's `ncdf4`):
//!
//! * root attributes: `position_nb`, `nb_rois`, `rotate` (degrees), `shape` (height, width of
//!   the frames), `config` (DeLTA's configuration, JSON), `drift_x`, `drift_y` (pixels, one per
//!   frame; empty without drift correction), `DeLTA_version`, `file_format_version` (`0.1.0`);
//! * one group per ROI, `roi00`, `roi01`, …, with attributes `roi_nb`, `box` (a Python dict
//!   literal `{'xtl': …, 'ytl': …, 'xbr': …, 'ybr': …}`), `scaling` (ROI size − 1 over
//!   segmentation size − 1, per axis), `config`, `DeLTA_version`, `file_format_version` and one
//!   `{model}_model_hash` per model of the configuration;
//! * dimensions `frame`, `y_orig`, `x_orig`, `channel`, `y_resized`, `x_resized`, `cell`, `yx`,
//!   `edge`, each with its coordinate variable (`frame`: the movie's frame numbers; `yx`:
//!   `["y", "x"]`; `edge`: `["-x", "+x", "-y", "+y"]`; a dimension of length 0 is unlimited, as
//!   xarray writes it);
//! * stacks `img_stack` (float32, frame × y × x), `fluo_stack` (float32, frame × channel × y ×
//!   x), `seg_stack` (int8 with attribute `dtype = "bool"`, at the segmentation model's size),
//!   `label_stack` (uint16, cell ids, 0 = background);
//! * the lineage: `mother` (uint16, 0 = none), `daughter` (uint16, cell × frame: the daughter
//!   born at that frame), `first_frame`, `last_frame` (int32, movie frame numbers);
//! * features, cell × frame: `new_pole`, `old_pole` (int16, × yx), `edges` (int8 bool, × edge),
//!   `fluo` (float32, × channel), `length`, `width`, `area`, `perimeter`, `growthrate_length`,
//!   `growthrate_area` (float32, `_FillValue` NaN where the cell is absent).
//!
//! Stacks and per-cell arrays are deflated (level 4, shuffle): per-cell arrays in one chunk
//! each, as DeLTA's files are, stacks in chunks of one frame (DeLTA: one chunk per stack), as
//! they are written frame by frame ([`crate::results_writer`], which holds the one definition
//! of the layout and [`PositionResults::write`]). Frames in memory are 0-based indices into the ROI's stacks
//! ([`RoiResults::first_frame`] is the movie's number of index 0), as in [`Lineage`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netcdf::{AttributeValue, NcTypeDescriptor};

use crate::error::{Error, Result};
use crate::lineage::{Cell, CellId, Lineage};

/// The value of the `file_format_version` attributes.
pub const FORMAT_VERSION: &str = "0.1.0";

/// The names of the `edge` coordinate, in the file's order.
pub const EDGE_NAMES: [&str; 4] = ["-x", "+x", "-y", "+y"];

/// A dense `frames × height × width` array, row-major, frame after frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack<T> {
    frames: usize,
    height: usize,
    width: usize,
    data: Vec<T>,
}

impl<T: Copy + Default> Stack<T> {
    /// A stack filled with `T::default()`.
    pub fn zeros(frames: usize, height: usize, width: usize) -> Self {
        Stack {
            frames,
            height,
            width,
            data: vec![T::default(); frames * height * width],
        }
    }
}

impl<T> Stack<T> {
    /// Wraps a buffer of `frames * height * width` values; `None` when the length differs.
    ///
    /// ```
    /// use deltacell_analysis::results::Stack;
    /// let s = Stack::from_vec(2, 1, 3, vec![1u16, 2, 3, 4, 5, 6]).unwrap();
    /// assert_eq!(s.frame(1), &[4, 5, 6]);
    /// assert!(Stack::from_vec(2, 2, 2, vec![0u8; 7]).is_none());
    /// ```
    pub fn from_vec(frames: usize, height: usize, width: usize, data: Vec<T>) -> Option<Self> {
        (data.len() == frames * height * width).then_some(Stack {
            frames,
            height,
            width,
            data,
        })
    }

    /// Number of frames (planes).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// `(height, width)` of each plane.
    pub fn plane_shape(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Plane `i`, row-major. Panics when `i >= frames()`.
    pub fn frame(&self, i: usize) -> &[T] {
        let n = self.height * self.width;
        &self.data[i * n..(i + 1) * n]
    }

    /// Plane `i`, mutable. Panics when `i >= frames()`.
    pub fn frame_mut(&mut self, i: usize) -> &mut [T] {
        let n = self.height * self.width;
        &mut self.data[i * n..(i + 1) * n]
    }

    /// All values, frame after frame.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
}

/// A ROI's box in the (rotated, drift-corrected) frame: top-left corner included, bottom-right
/// excluded, in pixels (DeLTA's `CroppingBox`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropBox {
    /// Left column.
    pub xtl: i64,
    /// Top row.
    pub ytl: i64,
    /// Right column, excluded.
    pub xbr: i64,
    /// Bottom row, excluded.
    pub ybr: i64,
}

impl CropBox {
    /// `(height, width)` of the box.
    pub fn shape(&self) -> (i64, i64) {
        (self.ybr - self.ytl, self.xbr - self.xtl)
    }

    /// The attribute text DeLTA writes (`str` of a Python dict).
    ///
    /// ```
    /// use deltacell_analysis::results::CropBox;
    /// let b = CropBox { xtl: 20, ytl: 81, xbr: 44, ybr: 291 };
    /// assert_eq!(b.to_attribute(), "{'xtl': 20, 'ytl': 81, 'xbr': 44, 'ybr': 291}");
    /// assert_eq!(CropBox::parse_attribute(&b.to_attribute()), Some(b));
    /// ```
    pub fn to_attribute(&self) -> String {
        format!(
            "{{'xtl': {}, 'ytl': {}, 'xbr': {}, 'ybr': {}}}",
            self.xtl, self.ytl, self.xbr, self.ybr
        )
    }

    /// Parses DeLTA's `box` attribute; also accepts NumPy scalars (`np.int64(20)`).
    pub fn parse_attribute(text: &str) -> Option<CropBox> {
        let get = |key: &str| -> Option<i64> {
            let quoted = format!("'{key}'");
            let at = text.find(&quoted)? + quoted.len();
            let rest = text[at..].trim_start().strip_prefix(':')?;
            let rest = rest.trim_start();
            let rest = rest
                .find('(')
                .filter(|&p| {
                    rest[..p]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.')
                })
                .map_or(rest, |p| &rest[p + 1..]);
            let end = rest
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
                .map_or(rest.len(), |(i, _)| i);
            rest[..end].parse().ok()
        };
        Some(CropBox {
            xtl: get("xtl")?,
            ytl: get("ytl")?,
            xbr: get("xbr")?,
            ybr: get("ybr")?,
        })
    }
}

/// Which borders of its ROI a cell touches (its contour reaches the first or last column or
/// row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Edges {
    /// Touches column 0.
    pub minus_x: bool,
    /// Touches the last column.
    pub plus_x: bool,
    /// Touches row 0.
    pub minus_y: bool,
    /// Touches the last row.
    pub plus_y: bool,
}

impl Edges {
    /// In the order of [`EDGE_NAMES`].
    pub fn as_array(&self) -> [bool; 4] {
        [self.minus_x, self.plus_x, self.minus_y, self.plus_y]
    }

    /// From the order of [`EDGE_NAMES`].
    pub fn from_array(a: [bool; 4]) -> Self {
        Edges {
            minus_x: a[0],
            plus_x: a[1],
            minus_y: a[2],
            plus_y: a[3],
        }
    }

    /// DeLTA's string form: the touched edges' names concatenated (`"-x+y"`), or `""`.
    ///
    /// ```
    /// use deltacell_analysis::results::Edges;
    /// let e = Edges { minus_x: true, plus_y: true, ..Edges::default() };
    /// assert_eq!(e.to_delta_string(), "-x+y");
    /// ```
    pub fn to_delta_string(&self) -> String {
        self.as_array()
            .iter()
            .zip(EDGE_NAMES)
            .filter(|(on, _)| **on)
            .map(|(_, n)| n)
            .collect()
    }
}

/// A pixel position `(y, x)` = `(row, column)` in the ROI's original size.
pub type Pole = [i16; 2];

/// One cell's measurements in one frame (DeLTA's `CellFeatures`). Lengths in pixels, areas in
/// square pixels, growth rates in 1/frame (divide by the interval between frames for 1/time).
#[derive(Clone, Debug, PartialEq)]
pub struct CellFeatures {
    /// The pole made by the last division (the septum), `(y, x)`.
    pub new_pole: Pole,
    /// The pole kept through divisions, `(y, x)`.
    pub old_pole: Pole,
    /// Length of the centre line between the poles, pixels.
    pub length: f64,
    /// Twice the mean distance to the background along the centre line, pixels.
    pub width: f64,
    /// Area enclosed by the contour (through pixel centres), square pixels.
    pub area: f64,
    /// Length of the contour (through pixel centres), pixels.
    pub perimeter: f64,
    /// Mean fluorescence in the cell, one per extra channel (the channel's 16-bit grey values).
    pub fluo: Vec<f64>,
    /// The ROI borders the cell touches.
    pub edges: Edges,
    /// Growth rate of the length, 1/frame; NaN when it cannot be computed.
    pub growthrate_length: f64,
    /// Growth rate of the area, 1/frame; NaN when it cannot be computed.
    pub growthrate_area: f64,
}

/// The results of one ROI (a chamber, or the whole frame of a 2-D movie).
#[derive(Clone, Debug, PartialEq)]
pub struct RoiResults {
    /// The ROI's number (0-based; group `roi{nb:02}`).
    pub roi_nb: u32,
    /// The ROI's box in the corrected frame.
    pub bbox: CropBox,
    /// `(y, x)`: (ROI size − 1) / (segmentation size − 1), to bring segmentation coordinates
    /// back to the ROI.
    pub scaling: [f64; 2],
    /// DeLTA's configuration (JSON text).
    pub config: String,
    /// The program that wrote the results (`DeLTA_version` attribute).
    pub version: String,
    /// `(model, hash)` for each model of the configuration (`{model}_model_hash` attributes).
    pub model_hashes: Vec<(String, String)>,
    /// The movie's frame number of stack index 0 (DeLTA numbers frames as the movie's files do).
    pub first_frame: i32,
    /// The phase-contrast image of the ROI, one plane per frame.
    pub img: Stack<f32>,
    /// The extra channels' numbers in the movie (the `channel` coordinate).
    pub fluo_channels: Vec<i64>,
    /// The extra channels' images: plane `frame * fluo_channels.len() + channel`.
    pub fluo: Stack<f32>,
    /// The segmentation (0/1) at the segmentation model's size, one plane per frame.
    pub seg: Stack<u8>,
    /// Cell ids per pixel (0: background) at the ROI's size, one plane per frame.
    pub labels: Stack<u16>,
    /// The cells and their divisions.
    pub lineage: Lineage,
    /// Each cell's features, one per frame of its life (index `frame - cell.first_frame`).
    pub features: BTreeMap<CellId, Vec<CellFeatures>>,
}

impl RoiResults {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.img.frames()
    }

    /// The fluorescence plane of `channel` (index into `fluo_channels`) at `frame`.
    pub fn fluo_plane(&self, frame: usize, channel: usize) -> &[f32] {
        self.fluo.frame(frame * self.fluo_channels.len() + channel)
    }

    /// The features of `cell` at `frame`, if the cell is present then.
    pub fn features_at(&self, cell: CellId, frame: usize) -> Option<&CellFeatures> {
        let c = self.lineage.cell(cell)?;
        let i = frame.checked_sub(c.first_frame)?;
        self.features.get(&cell)?.get(i)
    }

    /// Checks that the stacks agree in frames and sizes and that there are features for
    /// exactly the frames of each cell's life.
    pub fn check(&self) -> Result<()> {
        let bad = |problem: String| Error::InvalidResults {
            roi: self.roi_nb,
            problem,
        };
        let n = self.img.frames();
        let nc = self.fluo_channels.len();
        if self.fluo.frames() != n * nc
            || (nc > 0 && self.fluo.plane_shape() != self.img.plane_shape())
        {
            return Err(bad(format!(
                "the fluorescence stack has {} planes of {:?}, expected {n} frames × {nc} channels of {:?}",
                self.fluo.frames(),
                self.fluo.plane_shape(),
                self.img.plane_shape()
            )));
        }
        if self.labels.frames() != n || self.labels.plane_shape() != self.img.plane_shape() {
            return Err(bad(format!(
                "the label stack has {} frames of {:?}, the image stack {n} of {:?}",
                self.labels.frames(),
                self.labels.plane_shape(),
                self.img.plane_shape()
            )));
        }
        if self.seg.frames() != n {
            return Err(bad(format!(
                "the segmentation stack has {} frames, the image stack {n}",
                self.seg.frames()
            )));
        }
        self.lineage.validate()?;
        for cell in self.lineage.cells() {
            if cell.id > u32::from(u16::MAX) {
                return Err(bad(format!(
                    "cell id {} does not fit the file's 16-bit ids",
                    cell.id
                )));
            }
            if cell.last_frame >= n {
                return Err(bad(format!(
                    "cell {} lives until frame index {}, the stacks have {n} frames",
                    cell.id, cell.last_frame
                )));
            }
            let life = cell.last_frame - cell.first_frame + 1;
            let have = self.features.get(&cell.id).map_or(0, Vec::len);
            if have != life {
                return Err(bad(format!(
                    "cell {} lives {life} frames but has features for {have}",
                    cell.id
                )));
            }
            if let Some(f) = self.features[&cell.id].iter().find(|f| f.fluo.len() != nc) {
                return Err(bad(format!(
                    "cell {}: {} fluorescence values for {nc} channels",
                    cell.id,
                    f.fluo.len()
                )));
            }
        }
        if let Some(id) = self
            .features
            .keys()
            .find(|id| self.lineage.cell(**id).is_none())
        {
            return Err(bad(format!(
                "features for cell {id}, which is not in the lineage"
            )));
        }
        Ok(())
    }
}

/// The results of one position: its ROIs and the corrections applied to its frames.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionResults {
    /// The position's number in the movie (`position_nb`).
    pub position_nb: u32,
    /// The rotation applied to the frames, degrees (`rotate`).
    pub rotate: f64,
    /// `(height, width)` of the movie's frames.
    pub shape: (usize, usize),
    /// DeLTA's configuration (JSON text).
    pub config: String,
    /// `(x, y)` drift per frame, pixels; empty without drift correction.
    pub drift: Vec<(i64, i64)>,
    /// The program that wrote the results (`DeLTA_version` attribute).
    pub version: String,
    /// The ROIs, in order of `roi_nb`.
    pub rois: Vec<RoiResults>,
}

/// `Position000001.nc` for position 1.
///
/// ```
/// assert_eq!(deltacell_analysis::results::file_name(1), "Position000001.nc");
/// ```
pub fn file_name(position_nb: u32) -> String {
    format!("Position{position_nb:06}.nc")
}

/// Set-up of the netCDF library, once, before the first netCDF call:
///
/// * netCDF 4.9.0 (Debian 12's) lets HDF5 print its error stack on stderr for every attribute
///   it probes and does not find (`_QuantizeBitGroomNumberOfSignificantDigits` & co.) when it
///   opens a variable: noise, as netCDF reports real errors by its return codes. Turned off.
/// * The chunk cache (by default up to 16 MiB per variable, kept until the file is closed) is
///   turned off: deltacell reads and writes whole chunks only, which HDF5 then moves straight
///   between the file and the caller's buffer, so that a results file written frame by frame
///   ([`crate::results_writer`]) does not pile its frames up in memory.
///
/// Two threads of one process writing and reading results files at once fail now and then
/// with "NetCDF: HDF error" (seen in the round-trip tests, with or without the cache); deltacell
/// analyses one position at a time.
pub(crate) fn init_netcdf() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _lock = hdf5_metno_sys::LOCK.lock();
        // SAFETY: H5Eset_auto2 with a null handler only clears HDF5's default error printer;
        // nc_set_chunk_cache only sets the default cache of the variables defined or opened
        // afterwards. Both run once, under the lock the netcdf crate takes for every call.
        unsafe {
            hdf5_metno_sys::h5e::H5Eset_auto2(
                hdf5_metno_sys::h5e::H5E_DEFAULT,
                None,
                std::ptr::null_mut(),
            );
            netcdf_sys::nc_set_chunk_cache(0, 1, 0.75);
        }
    });
}

pub(crate) fn nc_err(path: &Path) -> impl Fn(netcdf::Error) -> Error + '_ {
    move |e| Error::NetCdf {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

struct Reader<'a> {
    path: &'a Path,
    group: String,
}

impl Reader<'_> {
    fn format(&self, problem: impl std::fmt::Display) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            problem: format!("{}: {problem}", self.group),
        }
    }

    fn attr(
        &self,
        value: Option<netcdf::Result<AttributeValue>>,
        name: &str,
    ) -> Result<AttributeValue> {
        value
            .ok_or_else(|| self.format(format!("attribute `{name}` missing")))?
            .map_err(nc_err(self.path))
    }

    fn text(&self, v: AttributeValue, name: &str) -> Result<String> {
        match v {
            AttributeValue::Str(s) => Ok(s),
            AttributeValue::Strs(mut s) if s.len() == 1 => Ok(s.remove(0)),
            _ => Err(self.format(format!("attribute `{name}` is not a text"))),
        }
    }

    fn numbers(&self, v: AttributeValue, name: &str) -> Result<Vec<f64>> {
        use AttributeValue as A;
        Ok(match v {
            A::Uchar(x) => vec![f64::from(x)],
            A::Schar(x) => vec![f64::from(x)],
            A::Ushort(x) => vec![f64::from(x)],
            A::Short(x) => vec![f64::from(x)],
            A::Uint(x) => vec![f64::from(x)],
            A::Int(x) => vec![f64::from(x)],
            A::Ulonglong(x) => vec![x as f64],
            A::Longlong(x) => vec![x as f64],
            A::Float(x) => vec![f64::from(x)],
            A::Double(x) => vec![x],
            A::Uchars(x) => x.into_iter().map(f64::from).collect(),
            A::Schars(x) => x.into_iter().map(f64::from).collect(),
            A::Ushorts(x) => x.into_iter().map(f64::from).collect(),
            A::Shorts(x) => x.into_iter().map(f64::from).collect(),
            A::Uints(x) => x.into_iter().map(f64::from).collect(),
            A::Ints(x) => x.into_iter().map(f64::from).collect(),
            A::Ulonglongs(x) => x.into_iter().map(|v| v as f64).collect(),
            A::Longlongs(x) => x.into_iter().map(|v| v as f64).collect(),
            A::Floats(x) => x.into_iter().map(f64::from).collect(),
            A::Doubles(x) => x,
            A::Str(_) | A::Strs(_) => {
                return Err(self.format(format!("attribute `{name}` is a text, not a number")))
            }
        })
    }

    fn integers(&self, v: AttributeValue, name: &str) -> Result<Vec<i64>> {
        self.numbers(v, name)?
            .into_iter()
            .map(|x| {
                if x.fract() == 0.0 && x.abs() < 9.0e15 {
                    Ok(x as i64)
                } else {
                    Err(self.format(format!("attribute `{name}` holds {x}, not an integer")))
                }
            })
            .collect()
    }

    /// A variable's values (converted to `T` by the netCDF library) and its shape, checking
    /// that its dimensions are `dims`.
    fn var<T: NcTypeDescriptor + Copy>(
        &self,
        group: &netcdf::Group<'_>,
        name: &str,
        dims: &[&str],
    ) -> Result<(Vec<T>, Vec<usize>)> {
        let var = group
            .variable(name)
            .ok_or_else(|| self.format(format!("variable `{name}` missing")))?;
        let names: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
        if names != dims {
            return Err(self.format(format!(
                "variable `{name}` has dimensions {names:?}, expected {dims:?}"
            )));
        }
        let shape: Vec<usize> = var.dimensions().iter().map(|d| d.len()).collect();
        if shape.contains(&0) {
            return Ok((Vec::new(), shape));
        }
        let values = var.get_values::<T, _>(..).map_err(|e| {
            self.format(format!(
                "variable `{name}` cannot be read as {}: {e}",
                std::any::type_name::<T>()
            ))
        })?;
        Ok((values, shape))
    }
}

impl PositionResults {
    /// Reads a `PositionNNNNNN.nc` written by DeLTA 3 (or by [`PositionResults::write`]).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        init_netcdf();
        let file = netcdf::open(path).map_err(nc_err(path))?;
        let r = Reader {
            path,
            group: "root".to_string(),
        };
        let position_nb = r.integers(
            r.attr(
                file.attribute("position_nb").map(|a| a.value()),
                "position_nb",
            )?,
            "position_nb",
        )?;
        let rotate = r.numbers(
            r.attr(file.attribute("rotate").map(|a| a.value()), "rotate")?,
            "rotate",
        )?;
        let shape = match file.attribute("shape") {
            Some(a) => r.integers(a.value().map_err(nc_err(path))?, "shape")?,
            None => vec![0, 0],
        };
        let config = r.text(
            r.attr(file.attribute("config").map(|a| a.value()), "config")?,
            "config",
        )?;
        let drift_x = r.integers(
            r.attr(file.attribute("drift_x").map(|a| a.value()), "drift_x")?,
            "drift_x",
        )?;
        let drift_y = r.integers(
            r.attr(file.attribute("drift_y").map(|a| a.value()), "drift_y")?,
            "drift_y",
        )?;
        let version = match file.attribute("DeLTA_version") {
            Some(a) => r.text(a.value().map_err(nc_err(path))?, "DeLTA_version")?,
            None => String::new(),
        };
        let (&[position_nb], &[rotate], &[h, w]) = (&position_nb[..], &rotate[..], &shape[..])
        else {
            return Err(r.format("`position_nb` and `rotate` must be single numbers, `shape` two"));
        };
        if drift_x.len() != drift_y.len() {
            return Err(r.format(format!(
                "`drift_x` has {} values, `drift_y` {}",
                drift_x.len(),
                drift_y.len()
            )));
        }
        let position_nb = u32::try_from(position_nb)
            .map_err(|_| r.format(format!("`position_nb` is {position_nb}")))?;
        let dims = |v: i64| usize::try_from(v).map_err(|_| r.format(format!("`shape` holds {v}")));
        let shape = (dims(h)?, dims(w)?);

        let mut rois = Vec::new();
        let mut names: Vec<(u32, String)> = file
            .groups()
            .map_err(nc_err(path))?
            .map(|g| g.name())
            .filter_map(|n| {
                let nb = n.strip_prefix("roi")?.parse::<u32>().ok()?;
                Some((nb, n))
            })
            .collect();
        names.sort();
        for (_, name) in names {
            let group = file
                .group(&name)
                .map_err(nc_err(path))?
                .ok_or_else(|| r.format(format!("group `{name}` vanished")))?;
            rois.push(read_roi(path, &group, name)?);
        }
        Ok(PositionResults {
            position_nb,
            rotate,
            shape,
            config,
            drift: drift_x.into_iter().zip(drift_y).collect(),
            version,
            rois,
        })
    }
}

fn read_roi(path: &Path, g: &netcdf::Group<'_>, name: String) -> Result<RoiResults> {
    let r = Reader { path, group: name };
    let e = nc_err(path);
    let roi_nb = r.integers(r.attr(g.attribute_value("roi_nb"), "roi_nb")?, "roi_nb")?;
    let &[roi_nb] = &roi_nb[..] else {
        return Err(r.format("`roi_nb` must be one number"));
    };
    let roi_nb = u32::try_from(roi_nb).map_err(|_| r.format(format!("`roi_nb` is {roi_nb}")))?;
    let box_text = r.text(r.attr(g.attribute_value("box"), "box")?, "box")?;
    let bbox = CropBox::parse_attribute(&box_text).ok_or_else(|| {
        r.format(format!(
            "attribute `box` is {box_text:?}, expected {{'xtl': …, 'ytl': …, 'xbr': …, 'ybr': …}}"
        ))
    })?;
    let scaling = r.numbers(r.attr(g.attribute_value("scaling"), "scaling")?, "scaling")?;
    let &[sy, sx] = &scaling[..] else {
        return Err(r.format("`scaling` must hold two numbers"));
    };
    let config = r.text(r.attr(g.attribute_value("config"), "config")?, "config")?;
    let version = match g.attribute_value("DeLTA_version") {
        Some(v) => r.text(v.map_err(&e)?, "DeLTA_version")?,
        None => String::new(),
    };
    let mut model_hashes = Vec::new();
    for a in g.attributes() {
        if let Some(model) = a.name().strip_suffix("_model_hash") {
            let model = model.to_string();
            let hash = r.text(a.value().map_err(&e)?, a.name())?;
            model_hashes.push((model, hash));
        }
    }
    model_hashes.sort();

    let (frames, _) = r.var::<i32>(g, "frame", &["frame"])?;
    let first_frame = frames.first().copied().unwrap_or(0);
    if frames
        .iter()
        .enumerate()
        .any(|(i, &f)| i64::from(f) != i64::from(first_frame) + i as i64)
    {
        return Err(r.format("the `frame` coordinate is not consecutive"));
    }
    let n = frames.len();
    let (img, s) = r.var::<f32>(g, "img_stack", &["frame", "y_orig", "x_orig"])?;
    let (h, w) = (s[1], s[2]);
    let img = stack(&r, "img_stack", n, h, w, img)?;
    let (fluo_channels, _) = r.var::<i64>(g, "channel", &["channel"])?;
    let (fluo, s) = r.var::<f32>(g, "fluo_stack", &["frame", "channel", "y_orig", "x_orig"])?;
    let fluo = stack(&r, "fluo_stack", n * s[1], h, w, fluo)?;
    let (seg, s) = r.var::<i8>(g, "seg_stack", &["frame", "y_resized", "x_resized"])?;
    let seg = stack(
        &r,
        "seg_stack",
        n,
        s[1],
        s[2],
        seg.into_iter().map(|v| u8::from(v != 0)).collect(),
    )?;
    let (labels, _) = r.var::<u16>(g, "label_stack", &["frame", "y_orig", "x_orig"])?;
    let labels = stack(&r, "label_stack", n, h, w, labels)?;

    let (cells, _) = r.var::<u16>(g, "cell", &["cell"])?;
    let k = cells.len();
    let (mother, _) = r.var::<u16>(g, "mother", &["cell"])?;
    let (daughter, _) = r.var::<u16>(g, "daughter", &["cell", "frame"])?;
    let (first, _) = r.var::<i32>(g, "first_frame", &["cell"])?;
    let (last, _) = r.var::<i32>(g, "last_frame", &["cell"])?;
    let (new_pole, _) = r.var::<i16>(g, "new_pole", &["cell", "frame", "yx"])?;
    let (old_pole, _) = r.var::<i16>(g, "old_pole", &["cell", "frame", "yx"])?;
    let (edges, _) = r.var::<i8>(g, "edges", &["cell", "frame", "edge"])?;
    let (fluo_f, _) = r.var::<f32>(g, "fluo", &["cell", "frame", "channel"])?;
    let mut scalars = Vec::new();
    for name in [
        "length",
        "width",
        "area",
        "perimeter",
        "growthrate_length",
        "growthrate_area",
    ] {
        scalars.push(r.var::<f32>(g, name, &["cell", "frame"])?.0);
    }
    let nc = fluo_channels.len();
    let sizes = [
        ("mother", mother.len(), k),
        ("daughter", daughter.len(), k * n),
        ("first_frame", first.len(), k),
        ("last_frame", last.len(), k),
        ("new_pole", new_pole.len(), k * n * 2),
        ("old_pole", old_pole.len(), k * n * 2),
        ("edges", edges.len(), k * n * 4),
        ("fluo", fluo_f.len(), k * n * nc),
    ];
    for (name, have, want) in sizes {
        if have != want {
            return Err(r.format(format!(
                "variable `{name}` has {have} values, expected {want}"
            )));
        }
    }
    if scalars.iter().any(|s| s.len() != k * n) {
        return Err(r.format("a per-cell feature variable does not have cell × frame values"));
    }

    let index = |f: i32, what: &str, cell: u16| -> Result<usize> {
        let i = i64::from(f) - i64::from(first_frame);
        usize::try_from(i)
            .ok()
            .filter(|&i| i < n)
            .ok_or_else(|| r.format(format!("cell {cell}: {what} {f} is outside the frames")))
    };
    let mut lineage_cells = Vec::with_capacity(k);
    let mut features = BTreeMap::new();
    for (ci, &id) in cells.iter().enumerate() {
        let ff = index(first[ci], "first frame", id)?;
        let lf = index(last[ci], "last frame", id)?;
        if lf < ff {
            return Err(r.format(format!("cell {id}: last frame before first frame")));
        }
        let divisions = (ff..=lf)
            .filter_map(|f| {
                let d = daughter[ci * n + f];
                (d != 0).then_some((f, CellId::from(d)))
            })
            .collect();
        lineage_cells.push(Cell {
            id: CellId::from(id),
            mother: (mother[ci] != 0).then_some(CellId::from(mother[ci])),
            first_frame: ff,
            last_frame: lf,
            divisions,
        });
        let feats = (ff..=lf)
            .map(|f| {
                let at = ci * n + f;
                let e = &edges[at * 4..at * 4 + 4];
                CellFeatures {
                    new_pole: [new_pole[at * 2], new_pole[at * 2 + 1]],
                    old_pole: [old_pole[at * 2], old_pole[at * 2 + 1]],
                    length: f64::from(scalars[0][at]),
                    width: f64::from(scalars[1][at]),
                    area: f64::from(scalars[2][at]),
                    perimeter: f64::from(scalars[3][at]),
                    fluo: fluo_f[at * nc..(at + 1) * nc]
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect(),
                    edges: Edges::from_array([e[0] != 0, e[1] != 0, e[2] != 0, e[3] != 0]),
                    growthrate_length: f64::from(scalars[4][at]),
                    growthrate_area: f64::from(scalars[5][at]),
                }
            })
            .collect();
        features.insert(CellId::from(id), feats);
    }
    let lineage =
        Lineage::from_cells(lineage_cells).map_err(|err| r.format(format!("lineage: {err}")))?;
    Ok(RoiResults {
        roi_nb,
        bbox,
        scaling: [sy, sx],
        config,
        version,
        model_hashes,
        first_frame,
        img,
        fluo_channels,
        fluo,
        seg,
        labels,
        lineage,
        features,
    })
}

fn stack<T>(
    r: &Reader<'_>,
    name: &str,
    frames: usize,
    h: usize,
    w: usize,
    data: Vec<T>,
) -> Result<Stack<T>> {
    let len = data.len();
    if frames * h * w == 0 {
        return Ok(Stack {
            frames,
            height: h,
            width: w,
            data: Vec::new(),
        });
    }
    Stack::from_vec(frames, h, w, data).ok_or_else(|| {
        r.format(format!(
            "variable `{name}` has {len} values, expected {frames}×{h}×{w}"
        ))
    })
}

/// The path of the results file of `position_nb` in `dir`.
pub fn path_in(dir: &Path, position_nb: u32) -> PathBuf {
    dir.join(file_name(position_nb))
}
