//! Entry points with DeLTA's own argument conventions, for callers that speak DeLTA's API (the
//! Python binding): a stack of rasters with per-image interpolation orders for
//! `data_augmentation`, and a mask folder for `estimate_seg2D_classweights`. Each one converts
//! the arguments to the typed library and calls it.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::augment::{augment, AugmentParams, Sample, Target};
use crate::error::{Error, Result};
use crate::image::{Image, Mask, Plane, WeightMap};
use crate::io;
use crate::random::SampleRng;
use crate::weights::estimate_seg2d_classweights;

/// How one raster of a DeLTA `data_augmentation` stack is treated, from its `order` and values.
///
/// DeLTA's rule: `order > 0` marks an intensity image (photometric operations, smooth
/// interpolation), `order == 0` a mask-like raster (nearest neighbour, never photometric). An
/// order-0 raster whose values are all 0 or 1 is a [`Target::Mask`] (touching cells kept apart
/// after elastic warps); any other order-0 raster (a weight map) is a [`Target::Weights`].
/// Images must lie in `[0, 1]` (DeLTA's intensity operations assume it).
pub fn stack_target(plane: Plane<f32>, order: u32, index: usize) -> Result<Target> {
    if order > 0 {
        if let Some(v) = plane.as_slice().iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::InvalidArgument(format!(
                "data_augmentation: image {index} (order {order}) has the value {v}; \
                 intensity images must lie in [0, 1]"
            )));
        }
        return Ok(Target::Image(Image::from_plane_unchecked(plane)));
    }
    if plane.as_slice().iter().all(|&v| v == 0.0 || v == 1.0) {
        return Ok(Target::Mask(Mask::from_plane(
            plane.map(|v| u8::from(v != 0.0)),
        )));
    }
    if let Some(v) = plane.as_slice().iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "data_augmentation: raster {index} (order 0) has the value {v}"
        )));
    }
    Ok(Target::Weights(WeightMap::from_plane(plane)))
}

/// DeLTA's `data_augmentation(images_input, aug_par, order, rng)` on a stack of rasters of one
/// shape: every raster becomes a [`Target`] by [`stack_target`] (`orders` has one entry per
/// raster), [`augment`] applies `params` with draws from `rng`, and the rasters come back in
/// order as `f32` planes (masks as 0.0/1.0).
pub fn augment_stack(
    planes: Vec<Plane<f32>>,
    orders: &[u32],
    params: &AugmentParams,
    rng: &mut SampleRng,
) -> Result<Vec<Plane<f32>>> {
    if orders.len() != planes.len() {
        return Err(Error::InvalidArgument(format!(
            "data_augmentation: {} orders for {} images",
            orders.len(),
            planes.len()
        )));
    }
    let targets = planes
        .into_iter()
        .zip(orders)
        .enumerate()
        .map(|(i, (p, &o))| stack_target(p, o, i))
        .collect::<Result<Vec<_>>>()?;
    let mut sample = Sample { targets };
    augment(&mut sample, params, rng)?;
    Ok(sample
        .targets
        .into_iter()
        .map(|t| match t {
            Target::Image(i) => i.into_plane(),
            Target::Mask(m) => m.to_f32(),
            Target::Weights(w) => w.into_plane(),
        })
        .collect())
}

/// The mask files of `dir` as DeLTA's `list_files(mask_path, {".png", ".tif"})` lists them:
/// exact suffixes `.png` and `.tif`, sorted by name.
pub fn list_mask_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        let ext = p.extension().and_then(|e| e.to_str());
        if p.is_file() && matches!(ext, Some("png" | "tif")) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// DeLTA's `estimate_seg2D_classweights(mask_path, sample_size)`: reads the masks of `dir`
/// ([`list_mask_files`], [`io::read_binary_mask`]) and calls [`estimate_seg2d_classweights`]
/// with `sample_size` and `seed`. A folder without masks is an error.
pub fn estimate_seg2d_classweights_dir(
    dir: &Path,
    sample_size: Option<usize>,
    seed: u64,
) -> Result<(f32, f32)> {
    let files = list_mask_files(dir)?;
    if files.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{}: no .png or .tif mask to estimate class weights from",
            dir.display()
        )));
    }
    let masks = files
        .par_iter()
        .map(io::read_binary_mask)
        .collect::<Result<Vec<Mask>>>()?;
    Ok(estimate_seg2d_classweights(&masks, sample_size, seed))
}
