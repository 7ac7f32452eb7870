//! DeLTA's `data_augmentation(images_input, aug_par, order)` on a stack of rasters given with
//! DeLTA's conventions (one interpolation `order` per raster) instead of typed targets: each
//! raster becomes a [`Target`] and [`augment`] does the rest.

use crate::augment::{augment, AugmentParams, Sample, Target};
use crate::error::{Error, Result};
use crate::image::{Image, Mask, Plane, WeightMap};
use crate::random::SampleRng;

/// How one raster of a DeLTA `data_augmentation` stack is treated, from its `order` and values.
///
/// DeLTA's rule: `order > 0` marks an intensity image (photometric operations, smooth
/// interpolation), `order == 0` a mask-like raster (nearest neighbour, never photometric). An
/// order-0 raster whose values are all 0 or 1 is a [`Target::Mask`] (touching cells kept apart
/// after elastic warps); any other order-0 raster (a weight map) is a [`Target::Weights`].
/// Images must lie in `[0, 1]` (DeLTA's intensity operations assume it).
///
/// ```
/// use deltacell_data::{augment::{stack_target, Target}, Error, Plane};
/// let mask = stack_target(Plane::from_fn(2, 2, |r, _| r as f32), 0, 0)?;
/// assert!(matches!(mask, Target::Mask(_)));
/// let weights = stack_target(Plane::filled(2, 2, 3.5f32), 0, 1)?;
/// assert!(matches!(weights, Target::Weights(_)));
/// let e = stack_target(Plane::filled(2, 2, 1.5f32), 1, 2).unwrap_err();
/// assert!(matches!(&e, Error::InvalidValue { value, .. } if value == "1.5"));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn stack_target(plane: Plane<f32>, order: u32, index: usize) -> Result<Target> {
    if order > 0 {
        if let Some(v) = plane.as_slice().iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::InvalidValue {
                what: format!("raster {index} of the stack (order {order}, an intensity image)"),
                value: v.to_string(),
                rule: "intensity images must lie in [0, 1]",
            });
        }
        return Ok(Target::Image(Image::from_plane_unchecked(plane)));
    }
    if plane.as_slice().iter().all(|&v| v == 0.0 || v == 1.0) {
        return Ok(Target::Mask(Mask::from_plane(
            plane.map(|v| u8::from(v != 0.0)),
        )));
    }
    if let Some(v) = plane.as_slice().iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidValue {
            what: format!("raster {index} of the stack (order 0, a mask or weight map)"),
            value: v.to_string(),
            rule: "masks and weight maps must be finite",
        });
    }
    Ok(Target::Weights(WeightMap::from_plane(plane)))
}

/// DeLTA's `data_augmentation(images_input, aug_par, order, rng)` on a stack of rasters of one
/// shape: every raster becomes a [`Target`] by [`stack_target`] (`orders` has one entry per
/// raster), [`augment`] applies `params` with draws from `rng`, and the rasters come back in
/// order as `f32` planes (masks as 0.0/1.0).
///
/// ```
/// use deltacell_data::{augment::{augment_stack, AugmentParams}, random::seeded, Error, Plane};
/// let planes = vec![Plane::filled(4, 4, 0.5f32), Plane::filled(4, 4, 1.0f32)];
/// let off = AugmentParams::default(); // every operation off: the rasters come back as given
/// assert_eq!(augment_stack(planes.clone(), &[1, 0], &off, &mut seeded(1))?, planes);
/// let e = augment_stack(planes, &[1], &off, &mut seeded(1)).unwrap_err();
/// assert!(matches!(e, Error::LengthMismatch { expected: 2, found: 1, .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn augment_stack(
    planes: Vec<Plane<f32>>,
    orders: &[u32],
    params: &AugmentParams,
    rng: &mut SampleRng,
) -> Result<Vec<Plane<f32>>> {
    if orders.len() != planes.len() {
        return Err(Error::LengthMismatch {
            what: "interpolation orders (one per raster of the stack)".into(),
            expected: planes.len(),
            found: orders.len(),
        });
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
