//! Skeletonisation: Zhang–Suen thinning and Lee's method, as scikit-image.

use crate::image::Mask;

/// Neighbourhood code of an interior pixel of a zero-padded raster: bit 0 = north-west, then
/// clockwise: 1 = N, 2 = NE, 3 = E, 4 = SE, 5 = S, 6 = SW, 7 = W.
#[inline]
fn code8(p: &[u8], i: usize, pw: usize) -> usize {
    usize::from(p[i - pw - 1])
        | usize::from(p[i - pw]) << 1
        | usize::from(p[i - pw + 1]) << 2
        | usize::from(p[i + 1]) << 3
        | usize::from(p[i + pw + 1]) << 4
        | usize::from(p[i + pw]) << 5
        | usize::from(p[i + pw - 1]) << 6
        | usize::from(p[i - 1]) << 7
}

/// Zhang & Suen's deletion rule for a neighbourhood code: bit 0 = deletable in the first
/// sub-iteration, bit 1 = in the second.
fn zhang_suen_rule(n: usize) -> u8 {
    let b = |k: usize| (n >> k) & 1;
    // P2..P9 in Zhang & Suen's naming: N, NE, E, SE, S, SW, W, NW.
    let seq = [b(1), b(2), b(3), b(4), b(5), b(6), b(7), b(0), b(1)];
    let count = n.count_ones();
    let mut transitions = 0;
    let mut i = 0;
    while i < 8 {
        if seq[i] == 0 && seq[i + 1] == 1 {
            transitions += 1;
        }
        i += 1;
    }
    if !(2..=6).contains(&count) || transitions != 1 {
        return 0;
    }
    let (p2, p4, p6, p8) = (b(1), b(3), b(5), b(7));
    let mut r = 0;
    if p2 * p4 * p6 == 0 && p4 * p6 * p8 == 0 {
        r |= 1;
    }
    if p2 * p4 * p8 == 0 && p2 * p6 * p8 == 0 {
        r |= 2;
    }
    r
}

/// scikit-image's thinning lookup table (`_fast_skeletonize`, BSD-3-Clause) differs from the
/// plain Zhang–Suen rule on these 25 neighbourhoods: it deletes the corner pixels of diagonal
/// staircases (which the original rule leaves two pixels thick) and keeps a few end
/// configurations. `(code, deletable-in)` with bits as in [`zhang_suen_rule`]; found by comparing
/// the rule with scikit-image's table entry by entry. The full table is pinned by the parity
/// tests of `seg_weights_2D`.
const SKIMAGE_EXCEPTIONS: [(usize, u8); 25] = [
    (3, 1),
    (6, 1),
    (10, 3),
    (11, 1),
    (12, 1),
    (14, 1),
    (24, 2),
    (26, 2),
    (40, 3),
    (48, 0),
    (56, 2),
    (96, 2),
    (104, 2),
    (108, 2),
    (129, 0),
    (130, 3),
    (131, 1),
    (134, 1),
    (160, 3),
    (161, 1),
    (176, 2),
    (192, 2),
    (194, 1),
    (198, 1),
    (224, 2),
];

fn thinning_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        t[n] = zhang_suen_rule(n);
        n += 1;
    }
    let mut k = 0;
    while k < SKIMAGE_EXCEPTIONS.len() {
        t[SKIMAGE_EXCEPTIONS[k].0] = SKIMAGE_EXCEPTIONS[k].1;
        k += 1;
    }
    t
}

pub(super) static THINNING: std::sync::LazyLock<[u8; 256]> =
    std::sync::LazyLock::new(thinning_table);

/// Copies `mask` into a zero-padded `(h+2) × (w+2)` buffer; returns it with the indices (in the
/// padded buffer) of the foreground pixels in raster order.
fn padded(mask: &Mask) -> (Vec<u8>, Vec<usize>) {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let mut p = vec![0u8; (h + 2) * pw];
    let mut fg = Vec::new();
    for r in 0..h {
        for (c, &v) in mask.row(r).iter().enumerate() {
            if v != 0 {
                let i = (r + 1) * pw + c + 1;
                p[i] = 1;
                fg.push(i);
            }
        }
    }
    (p, fg)
}

fn unpad(p: &[u8], h: usize, w: usize) -> Mask {
    let pw = w + 2;
    let mut out = Mask::zeros(h, w);
    for r in 0..h {
        out.row_mut(r)
            .copy_from_slice(&p[(r + 1) * pw + 1..(r + 1) * pw + 1 + w]);
    }
    out
}

/// scikit-image's default 2-D skeleton (`skimage.morphology.skeletonize(image)`, the
/// Zhang–Suen thinning with scikit-image's lookup table), pixel-identical. Used by DeLTA's
/// `seg_weights_2D` and `estimate_seg2D_classweights`.
///
/// Each iteration has two parallel sub-iterations (every pixel is judged on the image as it
/// was at the start of the sub-iteration); it stops when an iteration deletes nothing. Pixels
/// outside the image are background. T. Y. Zhang and C. Y. Suen, "A fast parallel algorithm for
/// thinning digital patterns", *Communications of the ACM* 27(3), 1984.
///
/// ```
/// use deltacell_data::{Mask, morphology::skeletonize};
/// // scikit-image's own docstring example: an ellipse thins to a vertical segment.
/// let m = Mask::from_fn(9, 9, |r, c| {
///     let (r, c) = (r as f64 - 4.0, c as f64 - 4.0);
///     r * r / 3.0 + c * c < 9.0
/// });
/// let s = skeletonize(&m);
/// assert_eq!(s, Mask::from_fn(9, 9, |r, c| c == 4 && (3..=6).contains(&r)));
/// ```
pub fn skeletonize(mask: &Mask) -> Mask {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let (mut p, mut fg) = padded(mask);
    let mut removed: Vec<usize> = Vec::new();
    loop {
        let mut any = false;
        for pass in [1u8, 2u8] {
            removed.clear();
            for &i in &fg {
                if THINNING[code8(&p, i, pw)] & pass != 0 {
                    removed.push(i);
                }
            }
            if !removed.is_empty() {
                any = true;
                for &i in &removed {
                    p[i] = 0;
                }
                fg.retain(|&i| p[i] != 0);
            }
        }
        if !any {
            break;
        }
    }
    unpad(&p, h, w)
}

/// Per neighbourhood code: is the centre an end point (exactly one 8-neighbour)?
fn lee_endpoint(n: usize) -> bool {
    n.count_ones() == 1
}

/// Per neighbourhood code: does deleting the centre keep the 8-connected Euler number? (Gray's
/// bit-quad count over the four 2×2 quads that hold the centre.) For a one-plane image this is
/// Lee et al.'s 26-connected Euler-invariance test.
fn lee_euler_invariant(n: usize) -> bool {
    let b = |k: usize| ((n >> k) & 1) as i32;
    // 3×3 neighbourhood, g[row][col], centre = 1.
    let g = [[b(0), b(1), b(2)], [b(7), 1, b(3)], [b(6), b(5), b(4)]];
    // Contribution of a quad (tl, tr, bl, br) to 4 × Euler number, 8-connectivity.
    fn quad(tl: i32, tr: i32, bl: i32, br: i32) -> i32 {
        let s = tl + tr + bl + br;
        if s == 1 {
            1
        } else if s == 3 {
            -1
        } else if s == 2 && tl == br {
            -2
        } else {
            0
        }
    }
    let mut delta = 0;
    let mut qr = 0;
    while qr < 2 {
        let mut qc = 0;
        while qc < 2 {
            let (tl, tr, bl, br) = (g[qr][qc], g[qr][qc + 1], g[qr + 1][qc], g[qr + 1][qc + 1]);
            // The centre is the corner of this quad at (1 - qr, 1 - qc).
            let before = quad(tl, tr, bl, br);
            let after = match (qr, qc) {
                (0, 0) => quad(tl, tr, bl, 0),
                (0, _) => quad(tl, tr, 0, br),
                (_, 0) => quad(tl, 0, bl, br),
                _ => quad(0, tr, bl, br),
            };
            delta += after - before;
            qc += 1;
        }
        qr += 1;
    }
    delta == 0
}

/// Per neighbourhood code: is the centre a simple point, i.e. do its 8-neighbours form at most
/// one 8-connected component once it is removed? (Lee et al.'s octree labelling, for one plane.)
fn lee_simple(n: usize) -> bool {
    // Ring cells in bit order (clockwise from NW). Two ring cells are 8-adjacent when they are
    // consecutive on the ring, or when both are edge cells (odd bits) around one corner, e.g.
    // N and E touch diagonally.
    let b = |k: usize| (n >> k) & 1 == 1;
    // Union-find over the 8 ring cells.
    let mut parent = [0usize; 8];
    let mut i = 0;
    while i < 8 {
        parent[i] = i;
        i += 1;
    }
    fn root(parent: &[usize; 8], mut x: usize) -> usize {
        while parent[x] != x {
            x = parent[x];
        }
        x
    }
    let mut k = 0;
    while k < 8 {
        let next = (k + 1) % 8;
        if b(k) && b(next) {
            let (ra, rb) = (root(&parent, k), root(&parent, next));
            if ra != rb {
                parent[ra] = rb;
            }
        }
        // Edge cell k (odd) and edge cell k+2 are diagonal neighbours around a corner.
        let next2 = (k + 2) % 8;
        if k % 2 == 1 && b(k) && b(next2) {
            let (ra, rb) = (root(&parent, k), root(&parent, next2));
            if ra != rb {
                parent[ra] = rb;
            }
        }
        k += 1;
    }
    let mut comps = 0;
    let mut i = 0;
    while i < 8 {
        if b(i) && root(&parent, i) == i {
            comps += 1;
        }
        i += 1;
    }
    comps <= 1
}

/// Bit 0: end point; bit 1: Euler invariant; bit 2: simple.
fn lee_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        t[n] = (lee_endpoint(n) as u8)
            | (lee_euler_invariant(n) as u8) << 1
            | (lee_simple(n) as u8) << 2;
        n += 1;
    }
    t
}

static LEE: std::sync::LazyLock<[u8; 256]> = std::sync::LazyLock::new(lee_table);

/// scikit-image's `skeletonize(image, method="lee")` for a 2-D image, pixel-identical: the
/// thinning of T.-C. Lee, R. L. Kashyap and C.-N. Chu ("Building skeleton models via 3-D medial
/// surface/axis thinning algorithms", *CVGIP: Graphical Models and Image Processing* 56(6),
/// 1994) as scikit-image runs it on a single plane. Used by DeLTA's `tracking_weights`.
///
/// Sweeps over the four border directions in the order north (upper neighbour background),
/// south, east, west; in each sweep it first collects every border pixel that is not an end
/// point, keeps the Euler number and is simple, then deletes them one by one in raster order,
/// re-checking simplicity on the current image. It stops after four sweeps in a row delete
/// nothing. Pixels outside the image are background.
///
/// ```
/// use deltacell_data::{Mask, morphology::skeletonize_lee};
/// let m = Mask::from_fn(5, 9, |r, c| (1..4).contains(&r) && (1..8).contains(&c));
/// let s = skeletonize_lee(&m);
/// assert!(s.count() > 0 && s.count() < m.count());
/// assert!(s.as_slice().iter().zip(m.as_slice()).all(|(&a, &b)| a <= b));
/// ```
pub fn skeletonize_lee(mask: &Mask) -> Mask {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let (mut p, mut fg) = padded(mask);
    // Offsets of the neighbour that must be background for each border direction, in
    // scikit-image's order: row above, row below, column right, column left.
    let dirs: [isize; 4] = [-(pw as isize), pw as isize, 1, -1];
    let mut candidates: Vec<usize> = Vec::new();
    let mut unchanged = 0;
    while unchanged < dirs.len() {
        unchanged = 0;
        for &d in &dirs {
            candidates.clear();
            for &i in &fg {
                if p[(i as isize + d) as usize] != 0 {
                    continue;
                }
                let t = LEE[code8(&p, i, pw)];
                if t & 1 == 0 && t & 2 != 0 && t & 4 != 0 {
                    candidates.push(i);
                }
            }
            let mut changed = false;
            for &i in &candidates {
                if LEE[code8(&p, i, pw)] & 4 != 0 {
                    p[i] = 0;
                    changed = true;
                }
            }
            if changed {
                fg.retain(|&i| p[i] != 0);
            } else {
                unchanged += 1;
            }
        }
    }
    unpad(&p, h, w)
}
