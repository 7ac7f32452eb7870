//! Network inputs for prediction and saving of the outputs (spec §2.7): DeLTA's
//! `predict_generator_seg`, `predict_compile_from_seg_track`, `save_result_seg` and
//! `save_result_track`.
//!
//! # Segmentation
//! [`read_seg_inputs`] reads an image sequence (a folder in sorted order, or a given list) and
//! fits each image to the network input, either by resizing ([`Fit::Resize`], DeLTA's default),
//! by zero padding at the bottom/right ([`Fit::Pad`], 2.0.7's `crop=True`), or by cutting it into
//! overlapping windows ([`Fit::Windows`], newest `crop_windows=True`, see [`crate::tiles`]).
//! [`seg_batches`] stacks the tiles of all images into [`Batch`]es (inputs only) and
//! [`restore_seg_outputs`] undoes the fit on the network's outputs, one raster per image of its
//! original shape.
//!
//! # Tracking
//! [`compile_tracking_inputs`] is `predict_compile_from_seg_track`: the file-name prototype is
//! inferred from the first image name ([`crate::names`]), the samples are ordered by position,
//! chamber and frame, and for every frame `t > 1` each cell of frame `t−1` (4-connected labels in
//! raster order, the numbering of DeLTA's `label(connectivity=1)`) gives one 4-channel input:
//! current image, seed cell at `t−1`, previous image, all cells at `t`. Its output name is the
//! previous frame's name with DeLTA's `Cell%06d` suffix.
//!
//! Differences from DeLTA: 2.0.7 forces `crop=True` for `pt` names (2-D movies); here the
//! caller chooses (`crop_windows`). 2.0.7's helper cannot run as shipped (spec §2.7); the
//! reference case was produced with its two defects corrected and is matched exactly.
//!
//! # Saving
//! [`save_seg`] and [`save_track`] write 8-bit PNGs (`round(p·255)` of a probability in `[0,1]`)
//! atomically through [`crate::io`]; segmentation outputs keep the input's stem with a `.png`
//! extension, tracking outputs carry the per-cell name.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::augment::resize::{resize_image, resize_mask};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::image::{Image, Mask, Plane};
use crate::io::{self, Rescale};
use crate::morphology::{label, Connectivity};
use crate::names::{FrameId, Prototype};
use crate::tiles::{create_windows, create_windows_v207, CroppingBox, Windows};

/// How an image is fitted to the network's input shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Resize (bilinear) to the input shape; outputs are resized back (DeLTA's default).
    Resize,
    /// Zero-pad at the bottom/right to at least the input shape (2.0.7's `crop=True`); outputs
    /// are cropped back. Larger images are cut into tiles that cover them without gaps
    /// (2.0.7's `create_windows` layout with no minimum overlap).
    Pad,
    /// Overlapping windows of the input shape overlapping by at least `min_overlap` pixels,
    /// stitched back (newest `crop_windows=True`; DeLTA uses 24).
    Windows {
        /// Minimum overlap of neighbouring windows in pixels.
        min_overlap: usize,
    },
}

/// How one image was fitted, to undo it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitting {
    /// Resized from the original shape: one tile.
    Resized,
    /// Tiles of a tiling (one tile when the image fits, padded).
    Tiled(Windows),
}

/// One image ready for the network: its tiles (each of the network's input shape) and how to
/// put the outputs back.
#[derive(Clone, Debug)]
pub struct SegInput {
    /// The image file.
    pub path: PathBuf,
    /// `(height, width)` of the image as read.
    pub shape: (usize, usize),
    /// How it was fitted.
    pub fitting: Fitting,
    /// Network-sized tiles, row-major.
    pub tiles: Vec<Image>,
}

/// The image files of a folder (`.png`, `.tif`, `.tiff` in any case), sorted by name (DeLTA's
/// sorted directory listing).
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_file() && io::is_image_path(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Fits one image to `target` = `(height, width)`.
///
/// ```
/// use std::path::Path;
/// use deltacell_data::predict::{fit_image, restore_seg_outputs, Fit};
/// use deltacell_data::{Image, Plane};
/// // A 3×5 image padded into one 4×8 network input; the output is cropped back to 3×5.
/// let image = Image::from_plane(Plane::from_fn(3, 5, |r, c| (r * 5 + c) as f32 / 15.0));
/// let input = fit_image(Path::new("a.png"), image.clone(), (4, 8), Fit::Pad)?;
/// assert_eq!(input.tiles.len(), 1);
/// assert_eq!(input.tiles[0].shape(), (4, 8));
/// let back = restore_seg_outputs(&[input.clone()], vec![input.tiles[0].plane().clone()])?;
/// assert_eq!(&back[0], image.plane());
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn fit_image(path: &Path, image: Image, target: (usize, usize), fit: Fit) -> Result<SegInput> {
    let shape = image.shape();
    let (fitting, tiles) = match fit {
        Fit::Resize => {
            let t = if shape == target {
                image
            } else {
                resize_image(&image, target)
            };
            (Fitting::Resized, vec![t])
        }
        Fit::Pad => {
            // 2.0.7's layout pads at the bottom/right; overlap 0 tiles larger images edge to edge
            // (the last tile flush with the border).
            let (tiles, w) = create_windows_v207(image.plane(), target, 0)?;
            (
                Fitting::Tiled(w),
                tiles.into_iter().map(Image::from_plane_unchecked).collect(),
            )
        }
        Fit::Windows { min_overlap } => {
            let (tiles, w) = create_windows(image.plane(), target, min_overlap)?;
            (
                Fitting::Tiled(w),
                tiles.into_iter().map(Image::from_plane_unchecked).collect(),
            )
        }
    };
    Ok(SegInput {
        path: path.to_path_buf(),
        shape,
        fitting,
        tiles,
    })
}

/// DeLTA's `predict_generator_seg`: reads `files` in order (in parallel) with `rescale`
/// (2.0.7: [`Rescale::MinMax`], newest: [`Rescale::DtypeMax`]) and fits each to `target`.
pub fn read_seg_inputs(
    files: &[PathBuf],
    target: (usize, usize),
    fit: Fit,
    rescale: Rescale,
) -> Result<Vec<SegInput>> {
    files
        .par_iter()
        .map(|p| fit_image(p, io::read_image(p, rescale)?, target, fit))
        .collect()
}

/// Stacks the tiles of `inputs` (in order) into batches of at most `batch_size` samples, with
/// one input channel and no targets (`out_channels` 0).
pub fn seg_batches(inputs: &[SegInput], batch_size: usize) -> Vec<Batch> {
    let tiles: Vec<&Image> = inputs.iter().flat_map(|i| i.tiles.iter()).collect();
    tiles
        .chunks(batch_size.max(1))
        .map(|chunk| {
            let (h, w) = chunk[0].shape();
            let mut b = Batch::zeros(chunk.len(), h, w, 1, 0);
            for (k, t) in chunk.iter().enumerate() {
                b.x[k * h * w..(k + 1) * h * w].copy_from_slice(t.as_slice());
            }
            b
        })
        .collect()
}

/// Splits channel `channel` of a network output buffer (`n × height × width × channels`, the
/// [`Batch`] layout) into one plane per sample.
///
/// ```
/// use deltacell_data::{predict::split_output, Error};
/// // One sample of 1×2 pixels with 2 channels, pixel by pixel.
/// let planes = split_output(&[0.1, 0.9, 0.2, 0.8], 1, (1, 2), 2, 1)?;
/// assert_eq!(planes[0].as_slice(), &[0.9, 0.8]);
/// let e = split_output(&[0.0; 4], 1, (1, 2), 2, 2).unwrap_err(); // no channel 2
/// assert!(matches!(e, Error::IndexOutOfRange { index: 2, len: 2, .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn split_output(
    data: &[f32],
    n: usize,
    (h, w): (usize, usize),
    channels: usize,
    channel: usize,
) -> Result<Vec<Plane<f32>>> {
    if data.len() != n * h * w * channels {
        return Err(Error::LengthMismatch {
            what: format!("values of a {n}x{h}x{w}x{channels} network output"),
            expected: n * h * w * channels,
            found: data.len(),
        });
    }
    if channel >= channels {
        return Err(Error::IndexOutOfRange {
            what: "channel",
            index: channel,
            len: channels,
            within: "network output",
        });
    }
    Ok((0..n)
        .map(|k| {
            Plane::from_fn(h, w, |r, c| {
                data[((k * h + r) * w + c) * channels + channel]
            })
        })
        .collect())
}

/// Undoes the fit: `outputs` holds one plane per tile, in the order of [`seg_batches`]; returns
/// one plane per input of its original shape (resized back, cropped, or stitched).
pub fn restore_seg_outputs(
    inputs: &[SegInput],
    outputs: Vec<Plane<f32>>,
) -> Result<Vec<Plane<f32>>> {
    let needed: usize = inputs.iter().map(|i| i.tiles.len()).sum();
    if outputs.len() != needed {
        return Err(Error::LengthMismatch {
            what: "output tiles (one per input tile)".into(),
            expected: needed,
            found: outputs.len(),
        });
    }
    let mut it = outputs.into_iter();
    inputs
        .iter()
        .map(|inp| {
            let tiles: Vec<Plane<f32>> = it.by_ref().take(inp.tiles.len()).collect();
            match &inp.fitting {
                Fitting::Resized => {
                    let t = tiles
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| Plane::filled(0, 0, 0.0));
                    if t.shape() == inp.shape {
                        Ok(t)
                    } else {
                        Ok(resize_image(&Image::from_plane_unchecked(t), inp.shape).into_plane())
                    }
                }
                Fitting::Tiled(w) => w.stitch(&tiles),
            }
        })
        .collect()
}

/// One tracking sample: which seed cell of which frame, and where its window lies.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackSample {
    /// Output file name: the previous frame's name with DeLTA's `Cell%06d` suffix.
    pub name: String,
    /// The current frame's file name.
    pub frame_file: String,
    /// Position, chamber and (current) frame.
    pub id: FrameId,
    /// 1-based label of the seed cell in the previous frame (4-connected, raster order).
    pub cell: u32,
    /// The window in (fitted) image coordinates: the whole image, or the box centred on the
    /// seed when `crop` is set.
    pub window: CroppingBox,
}

/// Options of [`compile_tracking_inputs`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackInputOptions {
    /// Network input `(height, width)`; DeLTA's default `(256, 32)`.
    pub target: (usize, usize),
    /// `false`: resize whole frames to `target` (DeLTA's default). `true`: keep the full
    /// resolution and cut a `target` window centred on each seed cell.
    #[serde(alias = "crop_windows")]
    pub crop: bool,
    /// Intensity scaling of the images (2.0.7: [`Rescale::MinMax`]).
    pub rescale: Rescale,
}

impl Default for TrackInputOptions {
    fn default() -> Self {
        TrackInputOptions {
            target: (256, 32),
            crop: false,
            rescale: Rescale::MinMax,
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One frame: image and cells, fitted.
fn read_frame(img: &Path, seg: &Path, opts: &TrackInputOptions) -> Result<(Image, Mask)> {
    let image = io::read_image(img, opts.rescale)?;
    let mask = io::read_mask(seg)?;
    if image.shape() != mask.shape() {
        return Err(Error::ShapeMismatch {
            context: format!("{} vs {}", img.display(), seg.display()),
            expected: image.shape(),
            found: mask.shape(),
        });
    }
    if opts.crop || image.shape() == opts.target {
        return Ok((image, mask));
    }
    Ok((
        resize_image(&image, opts.target),
        resize_mask(&mask, opts.target),
    ))
}

/// DeLTA's `predict_compile_from_seg_track`: the tracking inputs of every cell of every frame
/// `t−1` of the movie in `img_dir` (images) and `seg_dir` (segmentations under the same names).
///
/// `files` restricts and orders the inputs (file names in `img_dir`); `None` takes every image
/// of the folder. Returns the batch (`n × th × tw × 4`, no targets) and one [`TrackSample`] per
/// input. A frame whose previous frame is missing is an [`Error::FileName`] naming the missing
/// file.
pub fn compile_tracking_inputs(
    img_dir: &Path,
    seg_dir: &Path,
    files: Option<&[String]>,
    opts: &TrackInputOptions,
) -> Result<(Batch, Vec<TrackSample>)> {
    let names: Vec<String> = match files {
        Some(f) => f.to_vec(),
        None => list_images(img_dir)?.iter().map(|p| file_name(p)).collect(),
    };
    let Some(first) = names.first() else {
        return Err(match files {
            Some(_) => Error::Empty {
                what: "the list of files to compile tracking inputs from".into(),
            },
            None => Error::NoFilesIn {
                path: img_dir.to_path_buf(),
                wanted: "image to compile tracking inputs from".into(),
            },
        });
    };
    let proto = Prototype::infer(first)?;
    let mut frames: Vec<(FrameId, String)> = names
        .iter()
        .map(|n| Ok((proto.parse(n)?, n.clone())))
        .collect::<Result<_>>()?;
    frames.sort();
    let todo: Vec<&(FrameId, String)> = frames.iter().filter(|(id, _)| id.frame > 1).collect();
    let (th, tw) = opts.target;
    // Per frame pair, in parallel: the samples and their 4-channel windows.
    type FrameSamples = Vec<(TrackSample, [Plane<f32>; 4])>;
    let per_frame: Vec<FrameSamples> = todo
        .par_iter()
        .map(|(id, name)| -> Result<FrameSamples> {
            let prev_name = proto.format(&id.with_frame(id.frame - 1));
            let prev_img = img_dir.join(&prev_name);
            if !prev_img.is_file() {
                return Err(Error::FileName {
                    name: prev_img.display().to_string(),
                    message: format!("previous frame of {name} not found"),
                });
            }
            let (cur, cur_seg) = read_frame(&img_dir.join(name), &seg_dir.join(name), opts)?;
            let (prev, prev_seg) = read_frame(&prev_img, &seg_dir.join(&prev_name), opts)?;
            let (labels, n) = label(&prev_seg, Connectivity::Four);
            let cur_seg_f = cur_seg.to_f32();
            let mut out = Vec::with_capacity(n as usize);
            for cell in 1..=n {
                let seed = Mask::from_plane(labels.map(|l| u8::from(l == cell)));
                let window = if opts.crop {
                    CroppingBox::tracking_box(&seed, opts.target)
                } else {
                    CroppingBox::full(cur.height(), cur.width())
                };
                let chans = [
                    window.crop(cur.plane()),
                    window.crop(&seed.to_f32()),
                    window.crop(prev.plane()),
                    window.crop(&cur_seg_f),
                ];
                out.push((
                    TrackSample {
                        name: proto.format_cell(&id.with_frame(id.frame - 1), u64::from(cell)),
                        frame_file: name.clone(),
                        id: *id,
                        cell,
                        window,
                    },
                    chans,
                ));
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let total: usize = per_frame.iter().map(Vec::len).sum();
    let mut batch = Batch::zeros(total, th, tw, 4, 0);
    let mut samples = Vec::with_capacity(total);
    for (k, (sample, chans)) in per_frame.into_iter().flatten().enumerate() {
        for (ch, plane) in chans.iter().enumerate() {
            if plane.shape() != (th, tw) {
                return Err(Error::ShapeMismatch {
                    context: format!("tracking input {}", sample.name),
                    expected: (th, tw),
                    found: plane.shape(),
                });
            }
            for (i, &v) in plane.as_slice().iter().enumerate() {
                batch.x[(k * th * tw + i) * 4 + ch] = v;
            }
        }
        samples.push(sample);
    }
    Ok((batch, samples))
}

fn to_u8(p: &Plane<f32>) -> Plane<u8> {
    p.map(|v| {
        if v.is_nan() {
            0
        } else {
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    })
}

/// The name a segmentation output of `input` is saved under: its stem with `.png`.
///
/// ```
/// use std::path::Path;
/// use deltacell_data::predict::seg_output_name;
/// assert_eq!(seg_output_name(Path::new("movie/Position000001_Frame000002.tif")), "Position000001_Frame000002.png");
/// ```
pub fn seg_output_name(input: &Path) -> std::ffi::OsString {
    // The stem is kept byte for byte, also when it is not UTF-8.
    let mut name = input
        .file_stem()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| "output".into());
    name.push(".png");
    name
}

/// DeLTA's `save_result_seg` for one image: writes `probability` (values in `[0, 1]`; clamped)
/// as an 8-bit PNG `out_dir/<input stem>.png`, atomically. Returns the path written.
pub fn save_seg(out_dir: &Path, input: &Path, probability: &Plane<f32>) -> Result<PathBuf> {
    let path = out_dir.join(seg_output_name(input));
    io::write_png_u8(&path, &to_u8(probability))?;
    Ok(path)
}

/// Writes a post-processed mask as an 8-bit 0/255 PNG under the segmentation output name.
pub fn save_seg_mask(out_dir: &Path, input: &Path, mask: &Mask) -> Result<PathBuf> {
    let path = out_dir.join(seg_output_name(input));
    io::write_mask(&path, mask)?;
    Ok(path)
}

/// DeLTA's `save_result_track` for one sample: writes `probability` (channel 0 of the tracking
/// output, values in `[0, 1]`) as an 8-bit PNG under the sample's per-cell name (with `.png`).
pub fn save_track(
    out_dir: &Path,
    sample: &TrackSample,
    probability: &Plane<f32>,
) -> Result<PathBuf> {
    let path = out_dir.join(seg_output_name(Path::new(&sample.name)));
    io::write_png_u8(&path, &to_u8(probability))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_and_restore_round_trip() {
        let img = Image::from_plane(Plane::from_fn(50, 70, |r, c| {
            ((r * 70 + c) % 97) as f32 / 97.0
        }));
        let path = Path::new("x.png");
        for fit in [Fit::Pad, Fit::Windows { min_overlap: 8 }] {
            let inp = fit_image(path, img.clone(), (32, 32), fit).unwrap();
            assert!(inp.tiles.iter().all(|t| t.shape() == (32, 32)));
            let batches = seg_batches(std::slice::from_ref(&inp), 3);
            assert_eq!(batches.iter().map(|b| b.n).sum::<usize>(), inp.tiles.len());
            // Identity "network": outputs = inputs.
            let outs: Vec<Plane<f32>> = batches
                .iter()
                .flat_map(|b| split_output(&b.x, b.n, (32, 32), 1, 0).unwrap())
                .collect();
            let back = restore_seg_outputs(std::slice::from_ref(&inp), outs).unwrap();
            assert_eq!(&back[0], img.plane(), "{fit:?}");
        }
        let small = Image::from_plane(Plane::filled(20, 10, 0.5));
        let inp = fit_image(path, small, (32, 32), Fit::Pad).unwrap();
        assert_eq!(inp.tiles.len(), 1);
        assert_eq!(inp.tiles[0].get(19, 9), 0.5);
        assert_eq!(inp.tiles[0].get(20, 9), 0.0);
        let inp = fit_image(path, img.clone(), (32, 32), Fit::Resize).unwrap();
        let back = restore_seg_outputs(
            std::slice::from_ref(&inp),
            vec![inp.tiles[0].plane().clone()],
        )
        .unwrap();
        assert_eq!(back[0].shape(), (50, 70));
        assert!(restore_seg_outputs(std::slice::from_ref(&inp), vec![]).is_err());
    }

    #[test]
    fn tracking_windows_centre_on_each_seed_in_pt_movies() {
        let dir = tempfile::tempdir().unwrap();
        let (img_dir, seg_dir) = (dir.path().join("img"), dir.path().join("seg"));
        std::fs::create_dir_all(&img_dir).unwrap();
        std::fs::create_dir_all(&seg_dir).unwrap();
        // Two cells per frame: rows 10..20 and 60..70, cols 20..30 of a 100x60 field.
        let seg = Mask::from_fn(100, 60, |r, c| {
            ((10..20).contains(&r) || (60..70).contains(&r)) && (20..30).contains(&c)
        });
        for t in 1..=2 {
            let name = format!("pos03_t{t:04}.png");
            let img = Plane::from_fn(100, 60, |r, c| ((r + c + t) % 50) as u16 * 1000);
            io::write_png_u16(img_dir.join(&name), &img).unwrap();
            io::write_mask(seg_dir.join(&name), &seg).unwrap();
        }
        let opts = TrackInputOptions {
            target: (32, 32),
            crop: true,
            rescale: Rescale::DtypeMax,
        };
        let (batch, samples) = compile_tracking_inputs(&img_dir, &seg_dir, None, &opts).unwrap();
        assert_eq!(batch.n, 2);
        assert_eq!(samples[0].name, "pos03_t0001Cell000001.png");
        assert_eq!(samples[1].name, "pos03_t0001Cell000002.png");
        // Seed 1's centroid is (14, 24): the window starts 16 rows and columns before it.
        assert_eq!(
            samples[0].window,
            CroppingBox {
                ytl: -2,
                xtl: 8,
                ybr: 30,
                xbr: 40
            }
        );
        // Channel 1 (seed) of sample 1 is 1 at the window's centre and 0 in the top rows,
        // which lie outside the image (zero padding).
        let at =
            |k: usize, r: usize, c: usize, ch: usize| batch.x[((k * 32 + r) * 32 + c) * 4 + ch];
        assert_eq!(at(0, 16, 16, 1), 1.0);
        assert_eq!(at(0, 0, 16, 3), 0.0);
        assert_eq!(at(1, 16, 16, 1), 1.0);
        assert_eq!(at(1, 16, 16, 3), 1.0);
        // Channel 0 is the current frame, channel 2 the previous one.
        assert!((at(1, 16, 16, 0) - ((64 + 24 + 2) % 50) as f32 * 1000.0 / 65535.0).abs() < 1e-6);
        assert!((at(1, 16, 16, 2) - ((64 + 24 + 1) % 50) as f32 * 1000.0 / 65535.0).abs() < 1e-6);
        // A frame without its predecessor is an error naming the missing file.
        std::fs::remove_file(img_dir.join("pos03_t0001.png")).unwrap();
        let err = compile_tracking_inputs(&img_dir, &seg_dir, None, &opts).unwrap_err();
        assert!(err.to_string().contains("pos03_t0001.png"), "{err}");
    }

    #[test]
    fn output_names() {
        assert_eq!(seg_output_name(Path::new("a/b/Pos1.tif")), "Pos1.png");
        let s = TrackSample {
            name: "Position01_Frame001Cell000002.png".into(),
            frame_file: "Position01_Frame002.png".into(),
            id: FrameId::default(),
            cell: 2,
            window: CroppingBox::full(1, 1),
        };
        let dir = tempfile::tempdir().unwrap();
        let p = save_track(dir.path(), &s, &Plane::filled(4, 3, 0.5)).unwrap();
        assert!(p.ends_with("Position01_Frame001Cell000002.png"));
        let m = io::read_raw(&p).unwrap();
        assert_eq!(m, io::RawPixels::U8(Plane::filled(4, 3, 128)));
    }
}
