//! Reading and writing PNG and TIFF files, typed and atomic.
//!
//! # Reading
//! * PNG: 8- and 16-bit gray, gray+alpha, RGB and RGBA. For colour files the **first channel**
//!   (red) is kept, as DeLTA does when it reads a 3-D array (it keeps channel 0).
//! * TIFF: 8/16/32-bit unsigned and 32-bit float, gray or multi-channel (first channel kept),
//!   single page or multi-page. A multi-page TIFF is a movie: [`read_stack`] returns every page,
//!   the other readers take the first page.
//!
//! Integer images become [`Image`]s by dividing by their type's maximum (255, 65535, 2³²−1), as
//! DeLTA's newest line does (`imgops.read_image`). [`Rescale::MinMax`] gives DeLTA 2.0.7's per-image
//! min–max rescale instead. Float TIFFs are clamped to `[0, 1]` (or min–max rescaled).
//!
//! # Writing
//! Every write goes to a temporary file in the destination folder and is renamed into place, so
//! an interrupted run never leaves a truncated file under the final name. Masks are written as
//! 8-bit 0/255.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use crate::error::{Error, Result};
use crate::image::{Image, Labels, Mask, Plane, WeightMap};

/// How integer pixel values are mapped to `[0, 1]` when an [`Image`] is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rescale {
    /// Divide by the pixel type's maximum (uint8 → /255, uint16 → /65535). DeLTA's newest line.
    #[default]
    DtypeMax,
    /// Per-image min–max rescale to `[0, 1]` (a constant image stays as [`Rescale::DtypeMax`]
    /// gives). DeLTA 2.0.7's `readreshape(rangescale=True)`.
    MinMax,
}

/// The pixels of one decoded page, at their native type (first channel only).
#[derive(Clone, Debug, PartialEq)]
pub enum RawPixels {
    /// 8-bit unsigned.
    U8(Plane<u8>),
    /// 16-bit unsigned.
    U16(Plane<u16>),
    /// 32-bit unsigned.
    U32(Plane<u32>),
    /// 32-bit float (TIFF only).
    F32(Plane<f32>),
}

impl RawPixels {
    /// `(height, width)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            RawPixels::U8(p) => p.shape(),
            RawPixels::U16(p) => p.shape(),
            RawPixels::U32(p) => p.shape(),
            RawPixels::F32(p) => p.shape(),
        }
    }

    /// Bits per sample of the native type.
    pub fn bit_depth(&self) -> u32 {
        match self {
            RawPixels::U8(_) => 8,
            RawPixels::U16(_) => 16,
            RawPixels::U32(_) | RawPixels::F32(_) => 32,
        }
    }

    /// Every pixel as `f64` (for statistics and mask checks).
    fn values_f64(&self) -> Vec<f64> {
        match self {
            RawPixels::U8(p) => p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            RawPixels::U16(p) => p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            RawPixels::U32(p) => p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            RawPixels::F32(p) => p.as_slice().iter().map(|&v| f64::from(v)).collect(),
        }
    }

    /// Converts to an [`Image`] in `[0, 1]` following `rescale`.
    pub fn to_image(&self, rescale: Rescale) -> Image {
        let mut plane: Plane<f32> = match self {
            RawPixels::U8(p) => p.map(|v| f32::from(v) / 255.0),
            RawPixels::U16(p) => p.map(|v| f32::from(v) / 65535.0),
            RawPixels::U32(p) => p.map(|v| (f64::from(v) / f64::from(u32::MAX)) as f32),
            RawPixels::F32(p) => p.clone(),
        };
        if rescale == Rescale::MinMax {
            let (lo, hi) = crate::image::min_max(plane.as_slice());
            if hi > lo {
                let span = hi - lo;
                for v in plane.as_mut_slice() {
                    *v = (*v - lo) / span;
                }
            }
        }
        Image::from_plane(plane)
    }
}

/// Decodes the first page (first channel) of a PNG or TIFF file at its native pixel type.
pub fn read_raw(path: impl AsRef<Path>) -> Result<RawPixels> {
    let path = path.as_ref();
    let mut pages = read_raw_pages(path, false)?;
    Ok(pages.remove(0))
}

/// Reads an image file as an [`Image`] in `[0, 1]`.
///
/// ```no_run
/// use deltacell_data::io::{read_image, Rescale};
/// let img = read_image("img/Position000001_Chamber000001_Frame000001.png", Rescale::DtypeMax)?;
/// assert!(img.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn read_image(path: impl AsRef<Path>, rescale: Rescale) -> Result<Image> {
    Ok(read_raw(path)?.to_image(rescale))
}

/// Reads every page of a (multi-page) TIFF, or the single page of a PNG, as a movie of [`Image`]s.
pub fn read_stack(path: impl AsRef<Path>, rescale: Rescale) -> Result<Vec<Image>> {
    let pages = read_raw_pages(path.as_ref(), true)?;
    Ok(pages.iter().map(|p| p.to_image(rescale)).collect())
}

/// Reads a mask leniently: any nonzero pixel is a cell (accepts 0/1, 0/255 and instance labels).
pub fn read_mask(path: impl AsRef<Path>) -> Result<Mask> {
    let raw = read_raw(path)?;
    let (h, w) = raw.shape();
    let data = raw
        .values_f64()
        .into_iter()
        .map(|v| u8::from(v != 0.0))
        .collect();
    Mask::from_vec(h, w, data)
}

/// Reads a mask that must be binary: at most two distinct values, of which the smaller is
/// background and the larger is cell (a single value is all background when 0, all cell otherwise). Three or more values give [`Error::NotBinary`] naming the file.
pub fn read_binary_mask(path: impl AsRef<Path>) -> Result<Mask> {
    let path = path.as_ref();
    let raw = read_raw(path)?;
    let (h, w) = raw.shape();
    let values = raw.values_f64();
    let distinct = distinct_values(&values, 3);
    if distinct.len() > 2 {
        return Err(Error::NotBinary {
            path: path.to_path_buf(),
            distinct: distinct_values(&values, usize::MAX).len(),
            examples: distinct.iter().map(|&v| v as u64).collect(),
        });
    }
    // Two values {a, b}: the larger is the cell (so {1, 2} works like {0, 1}). One value:
    // nonzero means all cell.
    let cell = |v: f64| {
        if distinct.len() == 2 {
            v == distinct[1]
        } else {
            v != 0.0
        }
    };
    let data = values.iter().map(|&v| u8::from(cell(v))).collect();
    Mask::from_vec(h, w, data)
}

/// Reads an instance-label image (8/16/32-bit unsigned); 0 is background.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Labels> {
    let path = path.as_ref();
    let raw = read_raw(path)?;
    let plane = match raw {
        RawPixels::U8(p) => p.map(u32::from),
        RawPixels::U16(p) => p.map(u32::from),
        RawPixels::U32(p) => p,
        RawPixels::F32(_) => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                message: "labels must be an unsigned integer image, found 32-bit float".into(),
            })
        }
    };
    Ok(Labels::from_plane(plane))
}

/// Reads a weight map saved as an image: integer files are divided by their type's maximum (so an
/// 8-bit `wei/` PNG gives weights in `[0, 1]`, as DeLTA's newest line reads them); float TIFFs are
/// kept as they are.
pub fn read_weights(path: impl AsRef<Path>) -> Result<WeightMap> {
    let raw = read_raw(path)?;
    let plane = match &raw {
        RawPixels::F32(p) => p.clone(),
        other => other.to_image(Rescale::DtypeMax).into_plane(),
    };
    Ok(WeightMap::from_plane(plane))
}

fn distinct_values(values: &[f64], limit: usize) -> Vec<f64> {
    let mut seen: Vec<f64> = Vec::new();
    for &v in values {
        if !seen.contains(&v) {
            seen.push(v);
            if seen.len() >= limit {
                break;
            }
        }
    }
    seen.sort_by(f64::total_cmp);
    seen
}

/// The image extensions deltacell reads, lower case.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "tif", "tiff"];

/// True when `path` has a `.png`, `.tif` or `.tiff` extension in any case.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Tiff,
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => Ok(Format::Png),
        Some("tif") | Some("tiff") => Ok(Format::Tiff),
        _ => Err(Error::Unsupported {
            path: path.to_path_buf(),
            message: "expected a .png, .tif or .tiff file".into(),
        }),
    }
}

fn read_raw_pages(path: &Path, all_pages: bool) -> Result<Vec<RawPixels>> {
    let format = format_of(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match format {
        Format::Png => Ok(vec![decode_png(path, &bytes)?]),
        Format::Tiff => decode_tiff(path, Cursor::new(bytes), all_pages),
    }
}

fn decode_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn decode_png(path: &Path, bytes: &[u8]) -> Result<RawPixels> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Expand palettes and sub-byte depths, keep 16-bit samples as they are.
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| decode_err(path, e))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| decode_err(path, "image too large"))?;
    let (w, h) = reader.info().size();
    crate::memory::ensure_fits(
        size as u64,
        &format!("decoding {} ({w}×{h})", path.display()),
        "is the file damaged?",
    )?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| decode_err(path, e))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    match info.bit_depth {
        png::BitDepth::Eight => {
            let line = info.line_size;
            let data = (0..h)
                .flat_map(|r| (0..w).map(move |c| (r, c)))
                .map(|(r, c)| bytes[r * line + c * channels])
                .collect();
            Ok(RawPixels::U8(Plane::from_vec(h, w, data)?))
        }
        png::BitDepth::Sixteen => {
            let line = info.line_size;
            let data = (0..h)
                .flat_map(|r| (0..w).map(move |c| (r, c)))
                .map(|(r, c)| {
                    let i = r * line + c * channels * 2;
                    u16::from_be_bytes([bytes[i], bytes[i + 1]])
                })
                .collect();
            Ok(RawPixels::U16(Plane::from_vec(h, w, data)?))
        }
        other => Err(Error::Unsupported {
            path: path.to_path_buf(),
            message: format!("PNG bit depth {other:?} after expansion"),
        }),
    }
}

fn decode_tiff<R: Read + Seek>(path: &Path, reader: R, all_pages: bool) -> Result<Vec<RawPixels>> {
    use tiff::decoder::{Decoder, DecodingResult};
    let mut decoder = Decoder::new(reader)
        .map_err(|e| decode_err(path, e))?
        .with_limits(tiff::decoder::Limits::unlimited());
    let mut pages = Vec::new();
    loop {
        let (w, h) = decoder.dimensions().map_err(|e| decode_err(path, e))?;
        let (w, h) = (w as usize, h as usize);
        let colortype = decoder.colortype().map_err(|e| decode_err(path, e))?;
        // The header's size is checked against the memory available before decoding: a
        // damaged or hostile header must not end in an allocation abort.
        crate::memory::ensure_fits(
            crate::memory::product(&[w as u64, h as u64, tiff_pixel_bytes(colortype)]),
            &format!("decoding {} ({w}×{h}, {colortype:?})", path.display()),
            "is the file damaged?",
        )?;
        let result = decoder.read_image().map_err(|e| decode_err(path, e))?;
        let n = w * h;
        let channels = |len: usize| -> Result<usize> {
            if n == 0 || len % n != 0 || len / n == 0 {
                return Err(decode_err(
                    path,
                    format!("{len} samples for a {h}x{w} image ({colortype:?})"),
                ));
            }
            Ok(len / n)
        };
        fn first<T: Copy>(v: &[T], ch: usize) -> Vec<T> {
            v.iter().step_by(ch).copied().collect()
        }
        let page = match result {
            DecodingResult::U8(v) => {
                let ch = channels(v.len())?;
                RawPixels::U8(Plane::from_vec(h, w, first(&v, ch))?)
            }
            DecodingResult::U16(v) => {
                let ch = channels(v.len())?;
                RawPixels::U16(Plane::from_vec(h, w, first(&v, ch))?)
            }
            DecodingResult::U32(v) => {
                let ch = channels(v.len())?;
                RawPixels::U32(Plane::from_vec(h, w, first(&v, ch))?)
            }
            DecodingResult::F32(v) => {
                let ch = channels(v.len())?;
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(unsupported_tiff(
                        path,
                        "float pixels that are NaN or infinite",
                    ));
                }
                RawPixels::F32(Plane::from_vec(h, w, first(&v, ch))?)
            }
            DecodingResult::I8(v) => {
                let ch = channels(v.len())?;
                // Signed 8-bit label masks (e.g. from ImageJ) are read as unsigned when non-negative.
                if v.iter().any(|&x| x < 0) {
                    return Err(unsupported_tiff(path, "signed 8-bit with negative values"));
                }
                RawPixels::U8(Plane::from_vec(h, w, first(&v, ch))?.map(|x| x as u8))
            }
            DecodingResult::I16(v) => {
                let ch = channels(v.len())?;
                if v.iter().any(|&x| x < 0) {
                    return Err(unsupported_tiff(path, "signed 16-bit with negative values"));
                }
                RawPixels::U16(Plane::from_vec(h, w, first(&v, ch))?.map(|x| x as u16))
            }
            DecodingResult::I32(v) => {
                let ch = channels(v.len())?;
                if v.iter().any(|&x| x < 0) {
                    return Err(unsupported_tiff(path, "signed 32-bit with negative values"));
                }
                RawPixels::U32(Plane::from_vec(h, w, first(&v, ch))?.map(|x| x as u32))
            }
            DecodingResult::F64(v) => {
                let ch = channels(v.len())?;
                if v.iter()
                    .any(|x| !(x.is_finite() && x.abs() <= f64::from(f32::MAX)))
                {
                    return Err(unsupported_tiff(
                        path,
                        "float pixels that are NaN, infinite or beyond 32-bit range",
                    ));
                }
                RawPixels::F32(Plane::from_vec(h, w, first(&v, ch))?.map(|x| x as f32))
            }
            _ => {
                return Err(unsupported_tiff(
                    path,
                    "pixel type (64-bit integer or 16-bit float)",
                ))
            }
        };
        pages.push(page);
        if !all_pages || !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(|e| decode_err(path, e))?;
    }
    Ok(pages)
}

/// Bytes per pixel of a TIFF colour type (an upper guess for unusual ones).
fn tiff_pixel_bytes(colortype: tiff::ColorType) -> u64 {
    use tiff::ColorType as C;
    let (samples, bits) = match colortype {
        C::Gray(b) | C::Palette(b) => (1, b),
        C::GrayA(b) => (2, b),
        C::RGB(b) | C::YCbCr(b) => (3, b),
        C::RGBA(b) | C::CMYK(b) => (4, b),
        C::CMYKA(b) => (5, b),
        C::Multiband {
            bit_depth,
            num_samples,
        } => (u64::from(num_samples), bit_depth),
        _ => (4, 64),
    };
    (samples * u64::from(bits)).div_ceil(8).max(1)
}

fn unsupported_tiff(path: &Path, what: &str) -> Error {
    Error::Unsupported {
        path: path.to_path_buf(),
        message: format!("TIFF {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

pub use crate::output::write_atomic;

/// Writes a 16-bit grayscale PNG.
pub fn write_png_u16(path: impl AsRef<Path>, plane: &Plane<u16>) -> Result<()> {
    let bytes: Vec<u8> = plane
        .as_slice()
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    write_png(path.as_ref(), plane.shape(), png::BitDepth::Sixteen, &bytes)
}

/// Writes an 8-bit grayscale PNG.
pub fn write_png_u8(path: impl AsRef<Path>, plane: &Plane<u8>) -> Result<()> {
    write_png(
        path.as_ref(),
        plane.shape(),
        png::BitDepth::Eight,
        plane.as_slice(),
    )
}

/// Writes an 8-bit RGB PNG from a row-major `height × width × 3` buffer.
pub fn write_png_rgb(
    path: impl AsRef<Path>,
    height: usize,
    width: usize,
    rgb: &[u8],
) -> Result<()> {
    let path = path.as_ref();
    if rgb.len() != height * width * 3 {
        return Err(Error::LengthMismatch {
            what: format!("{}: bytes of a {height}x{width} RGB image", path.display()),
            expected: height * width * 3,
            found: rgb.len(),
        });
    }
    write_atomic(path, |w| {
        let mut enc = png::Encoder::new(w, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(rgb)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

fn write_png(
    path: &Path,
    (h, w): (usize, usize),
    depth: png::BitDepth,
    bytes: &[u8],
) -> Result<()> {
    write_atomic(path, |out| {
        let mut enc = png::Encoder::new(out, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(depth);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(bytes)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

/// Bit depth for saving an [`Image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// 8-bit, value·255 rounded.
    U8,
    /// 16-bit, value·65535 rounded.
    U16,
}

/// Writes an [`Image`] as a grayscale PNG or TIFF (chosen by extension) at the given depth.
pub fn write_image(path: impl AsRef<Path>, image: &Image, depth: Depth) -> Result<()> {
    let path = path.as_ref();
    match depth {
        Depth::U8 => {
            let p = image.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
            write_u8(path, &p)
        }
        Depth::U16 => {
            let p = image.map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16);
            match format_of(path)? {
                Format::Png => write_png_u16(path, &p),
                Format::Tiff => write_tiff_u16(path, &[p]),
            }
        }
    }
}

fn write_u8(path: &Path, plane: &Plane<u8>) -> Result<()> {
    match format_of(path)? {
        Format::Png => write_png_u8(path, plane),
        Format::Tiff => write_tiff_u8(path, plane),
    }
}

/// Writes a [`Mask`] as 8-bit 0/255 (PNG or TIFF by extension).
pub fn write_mask(path: impl AsRef<Path>, mask: &Mask) -> Result<()> {
    let p = mask.map(|v| if v != 0 { 255u8 } else { 0 });
    write_u8(path.as_ref(), &p)
}

/// Writes a [`WeightMap`] as DeLTA's `wei/` files: divided by its maximum (when > 0) and stored as
/// 8-bit `floor(w / max · 255)` (the truncating cast DeLTA uses).
pub fn write_weights_u8(path: impl AsRef<Path>, weights: &WeightMap) -> Result<()> {
    let max = weights.max();
    let p = weights.map(|v| {
        let v = if max > 0.0 { v / max } else { v };
        (v.clamp(0.0, 1.0) * 255.0) as u8
    });
    write_u8(path.as_ref(), &p)
}

/// Writes instance labels as a 16-bit PNG/TIFF (labels above 65535 are an
/// [`Error::LabelOverflow`]).
///
/// ```
/// use deltacell_data::{io::write_labels, Error, Labels, Plane};
/// let dir = tempfile::tempdir()?;
/// let labels = Labels::from_plane(Plane::from_fn(2, 2, |r, c| (r * 2 + c) as u32));
/// write_labels(dir.path().join("labels.png"), &labels)?;
/// let too_many = Labels::from_plane(Plane::filled(1, 1, 70_000));
/// let e = write_labels(dir.path().join("big.png"), &too_many).unwrap_err();
/// assert!(matches!(e, Error::LabelOverflow { max_label: 70_000, .. }));
/// assert!(!dir.path().join("big.png").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_labels(path: impl AsRef<Path>, labels: &Labels) -> Result<()> {
    let path = path.as_ref();
    if labels.max_label() > u32::from(u16::MAX) {
        return Err(Error::LabelOverflow {
            path: path.to_path_buf(),
            max_label: labels.max_label(),
        });
    }
    let p = labels.map(|v| v as u16);
    match format_of(path)? {
        Format::Png => write_png_u16(path, &p),
        Format::Tiff => write_tiff_u16(path, &[p]),
    }
}

/// Writes a single-page 8-bit grayscale TIFF.
pub fn write_tiff_u8(path: impl AsRef<Path>, plane: &Plane<u8>) -> Result<()> {
    use tiff::encoder::{colortype, TiffEncoder};
    let (h, w) = plane.shape();
    write_atomic(path, |out| {
        let mut enc = TiffEncoder::new(out).map_err(std::io::Error::other)?;
        enc.write_image::<colortype::Gray8>(w as u32, h as u32, plane.as_slice())
            .map_err(std::io::Error::other)
    })
}

/// Writes 16-bit grayscale pages into one (multi-page when `pages.len() > 1`) TIFF.
pub fn write_tiff_u16(path: impl AsRef<Path>, pages: &[Plane<u16>]) -> Result<()> {
    use tiff::encoder::{colortype, TiffEncoder};
    write_atomic(path, |out| {
        let mut enc = TiffEncoder::new(out).map_err(std::io::Error::other)?;
        for p in pages {
            let (h, w) = p.shape();
            enc.write_image::<colortype::Gray16>(w as u32, h as u32, p.as_slice())
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    })
}

/// Writes 32-bit float grayscale pages into one TIFF (for weight maps or probabilities).
pub fn write_tiff_f32(path: impl AsRef<Path>, pages: &[Plane<f32>]) -> Result<()> {
    use tiff::encoder::{colortype, TiffEncoder};
    write_atomic(path, |out| {
        let mut enc = TiffEncoder::new(out).map_err(std::io::Error::other)?;
        for p in pages {
            let (h, w) = p.shape();
            enc.write_image::<colortype::Gray32Float>(w as u32, h as u32, p.as_slice())
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    })
}

/// Opens a file for buffered reading, naming it on error.
pub fn open(path: impl AsRef<Path>) -> Result<BufReader<File>> {
    let path = path.as_ref();
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp16(h: usize, w: usize) -> Plane<u16> {
        Plane::from_fn(h, w, |r, c| (r * 1000 + c * 7) as u16)
    }

    #[test]
    fn png16_round_trip_and_scaling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        let p = ramp16(5, 3);
        write_png_u16(&path, &p).unwrap();
        match read_raw(&path).unwrap() {
            RawPixels::U16(q) => assert_eq!(q, p),
            other => panic!("wrong type {other:?}"),
        }
        let img = read_image(&path, Rescale::DtypeMax).unwrap();
        assert!((img.get(4, 2) - 4014.0 / 65535.0).abs() < 1e-7);
        let mm = read_image(&path, Rescale::MinMax).unwrap();
        assert_eq!(mm.get(0, 0), 0.0);
        assert_eq!(mm.get(4, 2), 1.0);
    }

    #[test]
    fn tiff_stack_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("movie.tif");
        let pages = vec![
            ramp16(4, 6),
            ramp16(4, 6).map(|v| v + 1),
            ramp16(4, 6).map(|v| v + 2),
        ];
        write_tiff_u16(&path, &pages).unwrap();
        let stack = read_stack(&path, Rescale::DtypeMax).unwrap();
        assert_eq!(stack.len(), 3);
        assert!((stack[2].get(0, 0) - 2.0 / 65535.0).abs() < 1e-9);
        // The single-image reader takes the first page.
        assert_eq!(read_image(&path, Rescale::DtypeMax).unwrap(), stack[0]);
    }

    #[test]
    fn masks_are_written_0_255_and_read_back_binary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.png");
        let m = Mask::from_vec(2, 2, vec![0, 1, 1, 0]).unwrap();
        write_mask(&path, &m).unwrap();
        match read_raw(&path).unwrap() {
            RawPixels::U8(q) => assert_eq!(q.as_slice(), &[0, 255, 255, 0]),
            other => panic!("{other:?}"),
        }
        assert_eq!(read_binary_mask(&path).unwrap(), m);
    }

    #[test]
    fn three_valued_mask_is_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        write_png_u8(&path, &Plane::from_vec(1, 3, vec![0, 1, 2]).unwrap()).unwrap();
        let err = read_binary_mask(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.png") && err.contains("not binary"),
            "{err}"
        );
        // The lenient reader accepts label masks.
        assert_eq!(read_mask(&path).unwrap().count(), 2);
    }

    #[test]
    fn truncated_png_is_a_decode_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        write_png_u16(&path, &ramp16(64, 64)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_image(&path, Rescale::DtypeMax)
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.png"), "{err}");
    }

    #[test]
    fn weights_are_normalised_to_their_maximum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.png");
        let w = WeightMap::from_plane(Plane::from_vec(1, 3, vec![0.0, 5.0, 10.0]).unwrap());
        write_weights_u8(&path, &w).unwrap();
        let back = read_weights(&path).unwrap();
        assert_eq!(back.as_slice(), &[0.0, 127.0 / 255.0, 1.0]);
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        let r = write_atomic(&path, |_| Err(std::io::Error::other("boom")));
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn unknown_extension_is_refused() {
        let err = read_image("foo.jpg", Rescale::DtypeMax)
            .unwrap_err()
            .to_string();
        assert!(err.contains("foo.jpg"));
    }
}
