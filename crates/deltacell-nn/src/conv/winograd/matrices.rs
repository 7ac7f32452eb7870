//! The transforms, one dimension at a time (α = 4 for F(2×2), 6 for F(4×4)), on vectors of the
//! instruction set chosen at run time ([`Vx`]), a panel's 32 lanes a vector at a time.

use crate::conv::simd::Simd;

/// What the transforms compute with: `f32`, or vectors of lanes.
pub(super) trait Num:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<f32, Output = Self>
{
    fn zero() -> Self;
}

impl Num for f32 {
    #[inline(always)]
    fn zero() -> Self {
        0.0
    }
}

/// A vector of the instruction set `S`.
#[derive(Clone, Copy)]
pub(super) struct Vx<S: Simd>(pub(super) S::V);

impl<S: Simd> Num for Vx<S> {
    #[inline(always)]
    fn zero() -> Self {
        Vx(S::zero())
    }
}

impl<S: Simd> std::ops::Add for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Vx(S::add(self.0, o.0))
    }
}

impl<S: Simd> std::ops::Sub for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Vx(S::sub(self.0, o.0))
    }
}

impl<S: Simd> std::ops::Mul<f32> for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, s: f32) -> Self {
        Vx(S::scale(self.0, s))
    }
}

/// `Bᵀ d`: input patch column → transform domain.
#[inline(always)]
pub(super) fn bt<T: Num, const A: usize>(d: [T; A]) -> [T; A] {
    let mut t = [T::zero(); A];
    if A == 4 {
        t[0] = d[0] - d[2];
        t[1] = d[1] + d[2];
        t[2] = d[2] - d[1];
        t[3] = d[1] - d[3];
    } else {
        let (a, b) = (d[4] - d[2] * 4.0, d[3] - d[1] * 4.0);
        let (c, e) = (d[4] - d[2], (d[3] - d[1]) * 2.0);
        t[0] = d[0] * 4.0 - d[2] * 5.0 + d[4];
        t[1] = a + b;
        t[2] = a - b;
        t[3] = c + e;
        t[4] = c - e;
        t[5] = d[1] * 4.0 - d[3] * 5.0 + d[5];
    }
    t
}

/// `G g`: kernel column → transform domain.
#[inline(always)]
pub(super) fn gk<T: Num, const A: usize>(g: [T; 3]) -> [T; A] {
    let mut u = [T::zero(); A];
    if A == 4 {
        u[0] = g[0];
        u[1] = (g[0] + g[1] + g[2]) * 0.5;
        u[2] = (g[0] - g[1] + g[2]) * 0.5;
        u[3] = g[2];
    } else {
        let (s, d) = (g[0] + g[2], g[1]);
        u[0] = g[0] * 0.25;
        u[1] = (s + d) * (-1.0 / 6.0);
        u[2] = (s - d) * (-1.0 / 6.0);
        let (a, b) = (g[0] * (1.0 / 24.0) + g[2] * (1.0 / 6.0), d * (1.0 / 12.0));
        u[3] = a + b;
        u[4] = a - b;
        u[5] = g[2];
    }
    u
}

/// `Aᵀ m`: transform domain → output column.
#[inline(always)]
pub(super) fn at<T: Num, const A: usize, const M: usize>(v: [T; A]) -> [T; M] {
    let mut y = [T::zero(); M];
    if A == 4 {
        y[0] = v[0] + v[1] + v[2];
        y[1] = v[1] - v[2] - v[3];
    } else {
        let (s1, d1) = (v[1] + v[2], v[1] - v[2]);
        let (s2, d2) = (v[3] + v[4], v[3] - v[4]);
        y[0] = v[0] + s1 + s2;
        y[1] = d1 + d2 * 2.0;
        y[2] = s1 + s2 * 4.0;
        y[3] = d1 + d2 * 8.0 + v[5];
    }
    y
}

/// `A dy` (the transpose of [`at`]): output-gradient column → transform domain.
#[inline(always)]
pub(super) fn at_t<T: Num, const A: usize, const M: usize>(d: [T; M]) -> [T; A] {
    let mut z = [T::zero(); A];
    if A == 4 {
        z[0] = d[0];
        z[1] = d[0] + d[1];
        z[2] = d[0] - d[1];
        z[3] = T::zero() - d[1];
    } else {
        let (e, o) = (d[0] + d[2], d[1] + d[3]);
        let (e4, o2) = (d[0] + d[2] * 4.0, d[1] * 2.0 + d[3] * 8.0);
        z[0] = d[0];
        z[1] = e + o;
        z[2] = e - o;
        z[3] = e4 + o2;
        z[4] = e4 - o2;
        z[5] = d[3];
    }
    z
}

/// `Gᵀ du` (the transpose of [`gk`]): transform-domain gradient column → kernel column.
#[inline(always)]
pub(super) fn gk_t<T: Num, const A: usize>(u: [T; A]) -> [T; 3] {
    if A == 4 {
        let s = (u[1] + u[2]) * 0.5;
        [u[0] + s, (u[1] - u[2]) * 0.5, s + u[3]]
    } else {
        let (s, d) = (u[1] + u[2], u[1] - u[2]);
        let (s2, d2) = (u[3] + u[4], u[3] - u[4]);
        [
            u[0] * 0.25 - s * (1.0 / 6.0) + s2 * (1.0 / 24.0),
            d2 * (1.0 / 12.0) - d * (1.0 / 6.0),
            (s2 - s) * (1.0 / 6.0) + u[5],
        ]
    }
}

/// `T X Tᵀ` for a square `X` (`[[T; N]; N]`, row-major) and a 1-D transform `f` (`N → K`, an
/// `#[inline(always)]` function, called directly so that it is inlined into the caller compiled
/// for the chosen instruction set): `[[T; K]; K]`.
macro_rules! two_d {
    ($x:expr, $f:expr, $t:ty, $n:expr, $k:expr) => {{
        let x = $x;
        // Columns first: cols[l] = f(column l of X).
        let mut cols = [[<$t>::zero(); $k]; $n];
        for (l, col) in cols.iter_mut().enumerate() {
            let mut c = [<$t>::zero(); $n];
            for (k, v) in c.iter_mut().enumerate() {
                *v = x[k][l];
            }
            *col = $f(c);
        }
        // Then rows: row i of the result = f(row i of the column-transformed matrix).
        let mut out = [[<$t>::zero(); $k]; $k];
        for (i, row) in out.iter_mut().enumerate() {
            let mut r = [<$t>::zero(); $n];
            for (l, v) in r.iter_mut().enumerate() {
                *v = cols[l][i];
            }
            *row = $f(r);
        }
        out
    }};
}
