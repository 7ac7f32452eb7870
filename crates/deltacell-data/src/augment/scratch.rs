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

/// Returns a buffer to the pool (dropped when the pool is full).
pub(crate) fn give<T: Pooled>(v: Vec<T>) {
    T::with_pool(|p| {
        if p.len() < 4 {
            p.push(v);
        }
    });
}
