//! Per-thread reusable buffers for the augmentation kernels.
//!
//! A freshly allocated megabyte costs more than the kernel that fills it (the operating system
//! maps and zeroes every page on first touch, and the allocator hands large blocks back on
//! free). Kernels therefore write into buffers taken from a small per-thread pool and copy the
//! result back into the target's own storage; the pool keeps at most a few buffers per type.

use std::cell::RefCell;

/// Pixel types with a per-thread pool.
pub(crate) trait Pooled: Copy + Default + 'static {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

macro_rules! pooled {
    ($t:ty, $name:ident) => {
        thread_local! {
            static $name: RefCell<Vec<Vec<$t>>> = const { RefCell::new(Vec::new()) };
        }
        impl Pooled for $t {
            fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R {
                $name.with(|p| f(&mut p.borrow_mut()))
            }
        }
    };
}

pooled!(f32, POOL_F32);
pooled!(u8, POOL_U8);
pooled!(u32, POOL_U32);

/// A buffer of `len` elements (contents unspecified but initialised) from the pool.
pub(crate) fn take<T: Pooled>(len: usize) -> Vec<T> {
    let mut v = T::with_pool(|p| p.pop()).unwrap_or_default();
    v.clear();
    v.resize(len, T::default());
    v
}

/// A buffer of `len` elements from the pool whose contents are left as they were (initialised,
/// but arbitrary): for kernels that overwrite every element. Saves the zero-filling pass.
pub(crate) fn take_uninit<T: Pooled>(len: usize) -> Vec<T> {
    let mut v = T::with_pool(|p| p.pop()).unwrap_or_default();
    v.truncate(len);
    v.resize(len, T::default());
    v
}

/// Returns a buffer to the pool (dropped when the pool is full).
pub(crate) fn give<T: Pooled>(v: Vec<T>) {
    T::with_pool(|p| {
        if p.len() < 8 {
            p.push(v);
        }
    });
}

/// Makes `data` (`shape.0 × shape.1` values) the contents of `plane`, whose old buffer goes
/// back to the pool (no copy). A buffer of the wrong length is given back and `plane` kept.
pub(crate) fn replace<T: Pooled>(
    plane: &mut crate::image::Plane<T>,
    shape: (usize, usize),
    data: Vec<T>,
) {
    if let Ok(new) = crate::image::Plane::from_vec(shape.0, shape.1, data) {
        give(std::mem::replace(plane, new).into_vec());
    }
}
