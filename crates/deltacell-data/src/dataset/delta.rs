//! DeLTA's generator signatures on top of the datasets: training sets given as separate folders
//! (2.0.7's `trainGenerator_seg(img_path, mask_path, weight_path)`, `train_generator_track(…,
//! img_path, seg_path, previmg_path, segall_path, track_path, weights_path)`), random access to
//! the batches of a [`Loader`] (a Keras `PyDataset`'s `__getitem__`), and the newest DeLTA's
//! `random_crop`. Used by the Python binding; everything here calls the datasets' own code.

use std::path::Path;

use super::seg::{random_crop_box, SegmentationDataset};
use super::track::TrackingDataset;
use super::{
    crop, matched_in, Loader, Mode, SegFiles, SegOptions, TrackFiles, TrackOptions, Weights,
};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::image::{Image, Mask, WeightMap};
use crate::kind::Kind;
use crate::layout::{Folders, Role};
use crate::random::SampleRng;

impl SegmentationDataset {
    /// The segmentation samples of `folders.img`, `folders.seg` and, when set, `folders.wei`
    /// (DeLTA 2.0.7's `trainGenerator_seg(img_path, mask_path, weight_path)`), matched by stem.
    ///
    /// Weights follow `options.weights`, except that [`Weights::Auto`] without a weight
    /// folder means no weight channel at all (`y` has one channel, as 2.0.7 yields with
    /// `weight_path=None`).
    pub fn open_folders(folders: &Folders, options: &SegOptions, mode: Mode) -> Result<Self> {
        let mut used = Folders::default();
        for role in [Role::Img, Role::Seg] {
            if let Some(p) = folders.get(role) {
                used.set(role, p);
            }
        }
        let with_wei = matches!(options.weights, Weights::Auto | Weights::Folder);
        if with_wei {
            used.wei = folders.wei.clone();
        }
        if options.weights == Weights::Folder && used.wei.is_none() {
            return Err(Error::MissingInput {
                needed_by: "weights = \"folder\"".into(),
                what: "a weight folder".into(),
            });
        }
        let files: Vec<SegFiles> = matched_in(&used, Kind::Seg)?
            .into_iter()
            .map(|s| SegFiles {
                image: s.path(Role::Img).map(Path::to_path_buf).unwrap_or_default(),
                mask: s.path(Role::Seg).map(Path::to_path_buf).unwrap_or_default(),
                weights: s.path(Role::Wei).map(Path::to_path_buf),
            })
            .collect();
        if options.weights == Weights::Auto && used.wei.is_none() {
            return Self::build(files, options, mode, None);
        }
        Self::from_files(files, options, mode)
    }
}

impl TrackingDataset {
    /// The tracking samples of explicit folders (DeLTA's `train_generator_track(…, img_path,
    /// seg_path, previmg_path, segall_path, track_path, weights_path)`), matched by stem;
    /// `folders.wei` is read when set and `options.weights` is [`Weights::Auto`] or
    /// [`Weights::Folder`].
    pub fn open_folders(folders: &Folders, options: &TrackOptions, mode: Mode) -> Result<Self> {
        let mut used = folders.clone();
        if !matches!(options.weights, Weights::Auto | Weights::Folder) {
            used.wei = None;
        }
        if options.weights == Weights::Folder && used.wei.is_none() {
            return Err(Error::MissingInput {
                needed_by: "weights = \"folder\"".into(),
                what: "a weight folder".into(),
            });
        }
        let files = matched_in(&used, Kind::Track)?
            .iter()
            .map(TrackFiles::from_sample)
            .collect();
        Self::from_files(files, options, mode)
    }
}

impl Loader {
    /// Batch `step` of `epoch`, for consumers that ask by index (a Keras `PyDataset`'s
    /// `__getitem__`): the prefetched batch when it is the next one in order, else the stream is
    /// moved there first ([`Loader::seek`]), so sequential access after any jump is prefetched
    /// again. The result equals [`Loader::batch_at`]`(epoch, step)`.
    pub fn fetch(&mut self, epoch: u64, step: usize) -> Result<Batch> {
        if Loader::position(self) != (epoch, step) {
            self.seek(epoch, step)?;
        }
        self.next_batch()
    }
}

/// The newest DeLTA's `random_crop(img, seg, wei, target_size, rng)`: one `target` =
/// `(height, width)` window at a uniform position (row drawn first), the same for the image,
/// the mask and the weights; where the raster is smaller than the target it is zero-padded
/// evenly (`pad // 2` before). Returned unchanged when the shape already equals the target.
///
/// ```
/// use deltacell_data::{dataset::random_crop, random::seeded, Error, Image, Mask};
/// let (image, mask) = (Image::filled(6, 5, 0.5), Mask::zeros(6, 5));
/// let (i, m, w) = random_crop(&image, &mask, None, (4, 4), &mut seeded(1))?;
/// assert_eq!((i.shape(), m.shape(), w.is_none()), ((4, 4), (4, 4), true));
/// let e = random_crop(&image, &mask, None, (0, 4), &mut seeded(1)).unwrap_err();
/// assert!(matches!(e, Error::OutOfRange { .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn random_crop(
    image: &Image,
    mask: &Mask,
    weights: Option<&WeightMap>,
    target: (usize, usize),
    rng: &mut SampleRng,
) -> Result<(Image, Mask, Option<WeightMap>)> {
    let shape = image.shape();
    for (what, s) in [
        ("mask", Some(mask.shape())),
        ("weights", weights.map(|w| w.shape())),
    ] {
        if let Some(s) = s.filter(|&s| s != shape) {
            return Err(Error::ShapeMismatch {
                context: format!("random_crop: image vs {what}"),
                expected: shape,
                found: s,
            });
        }
    }
    if target.0 == 0 || target.1 == 0 {
        return Err(Error::out_of_range(
            "random_crop target size",
            format!("{}x{}", target.0, target.1),
            "a height and width of at least 1",
        ));
    }
    let b = random_crop_box(shape, target, rng);
    Ok((
        Image::from_plane_unchecked(crop(&b, image.plane())),
        Mask::from_plane(crop(&b, mask.plane())),
        weights.map(|w| WeightMap::from_plane(crop(&b, w.plane()))),
    ))
}
