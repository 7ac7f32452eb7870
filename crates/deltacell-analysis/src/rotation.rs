//! Rotation correction of a position's frames, as DeLTA 3 does it (`imgops.deskew`,
//! `imgops.rotate`, `imgops.affine_transform`).
//!
//! [`deskew`] estimates the angle of the chambers: the reference frame is converted to 8 bits
//! ([`to_u8`], DeLTA's `to_integer_values`), its edges found with [`canny`] (OpenCV's Canny with
//! the L2 gradient, thresholds at the 10 % and 20 % quantiles of the 8-bit image), the edges
//! accumulated by a straight-line Hough transform over 721 angles from −45° to 135°
//! ([`hough_line`], scikit-image's `hough_line`), and the strongest line taken as
//! scikit-image's `hough_line_peaks(num_peaks=1)` picks it ([`hough_peak`]). An angle above 45°
//! (a vertical line) is brought back by −90°.
//!
//! [`rotate`] turns a frame by that angle about its centre `((w − 1)/2, (h − 1)/2)` as OpenCV's
//! `getRotationMatrix2D` + `warpAffine(INTER_LINEAR, BORDER_REPLICATE)` do. DeLTA rotates the
//! frames as it reads them: `float32` in `[0, 1]` (a 16-bit frame divided by 65535), so the
//! result is not rounded back to integers. OpenCV 5.1 maps coordinates exactly (no 1/32-pixel
//! quantisation, unlike OpenCV 4.x); here the coordinates are computed in `f64` and the four taps
//! weighted in `f64`, which gives OpenCV's values to within 1 ulp of `f32`.

use deltacell_data::{Mask, Plane};

use crate::error::{Error, Result};

/// DeLTA's Hough angles: `np.linspace(-π/4, 3π/4, 721)`, radians (a step of 0.25°).
///
/// ```
/// let t = deltacell_analysis::rotation::delta_angles();
/// assert_eq!(t.len(), 721);
/// assert_eq!(t[0], -std::f64::consts::FRAC_PI_4);
/// assert!((t[180]).abs() < 1e-15);
/// ```
pub fn delta_angles() -> Vec<f64> {
    linspace(
        -std::f64::consts::PI / 4.0,
        3.0 * std::f64::consts::PI / 4.0,
        721,
    )
}

/// NumPy's `linspace(start, stop, num)` with the end point, computed as NumPy does
/// (`i·step + start`, the last value set to `stop`).
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

fn preprocess_error(step: &'static str, problem: impl Into<String>) -> Error {
    Error::Preprocess {
        step,
        problem: problem.into(),
    }
}

/// DeLTA's `to_integer_values(frame, np.uint8)`: `frame · 255` in `f32`, truncated to `u8`.
///
/// Fails on an empty plane and on values outside `[0, 1]` or NaN (DeLTA asserts `max ≤ 1`).
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::to_u8;
/// let p = Plane::from_vec(1, 4, vec![0.0f32, 0.5, 0.999, 1.0])?;
/// assert_eq!(to_u8(&p)?.as_slice(), &[0, 127, 254, 255]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_u8(plane: &Plane<f32>) -> Result<Plane<u8>> {
    if plane.is_empty() {
        return Err(preprocess_error("8-bit conversion", "empty image"));
    }
    if let Some(v) = plane.as_slice().iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(preprocess_error(
            "8-bit conversion",
            format!("pixel value {v} outside [0, 1]"),
        ));
    }
    Ok(plane.map(|v| (v * 255.0) as u8))
}

/// NumPy's `quantile(image, q)` with the default linear method, for 8-bit pixels: the value at
/// the virtual index `(n − 1)·q` of the sorted pixels, interpolated as NumPy's `_lerp` does.
/// `q` in `[0, 1]`; `None` for an empty image.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::quantile_u8;
/// let p = Plane::from_vec(1, 5, vec![40u8, 10, 30, 20, 0])?;
/// assert_eq!(quantile_u8(&p, 0.1), Some(4.0));
/// assert_eq!(quantile_u8(&p, 0.5), Some(20.0));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn quantile_u8(image: &Plane<u8>, q: f64) -> Option<f64> {
    let n = image.len();
    if n == 0 {
        return None;
    }
    let mut hist = [0usize; 256];
    for &v in image.as_slice() {
        hist[usize::from(v)] += 1;
    }
    // k-th smallest value (0-based).
    let kth = |k: usize| -> f64 {
        let mut seen = 0usize;
        for (v, &c) in hist.iter().enumerate() {
            seen += c;
            if seen > k {
                return v as f64;
            }
        }
        255.0
    };
    let virtual_index = (n - 1) as f64 * q;
    let lower = virtual_index.floor();
    let gamma = virtual_index - lower;
    let lo = (lower.max(0.0) as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (kth(lo), kth(hi));
    let diff = b - a;
    Some(if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    })
}

/// OpenCV's 3×3 Sobel derivatives `(dx, dy)` of an 8-bit image with replicated borders.
fn sobel(image: &Plane<u8>) -> (Vec<i32>, Vec<i32>) {
    let (h, w) = image.shape();
    let px = |r: isize, c: isize| -> i32 {
        let r = r.clamp(0, h as isize - 1) as usize;
        let c = c.clamp(0, w as isize - 1) as usize;
        i32::from(image.get(r, c))
    };
    let mut dx = vec![0i32; h * w];
    let mut dy = vec![0i32; h * w];
    for r in 0..h as isize {
        for c in 0..w as isize {
            let i = r as usize * w + c as usize;
            dx[i] = (px(r - 1, c + 1) + 2 * px(r, c + 1) + px(r + 1, c + 1))
                - (px(r - 1, c - 1) + 2 * px(r, c - 1) + px(r + 1, c - 1));
            dy[i] = (px(r + 1, c - 1) + 2 * px(r + 1, c) + px(r + 1, c + 1))
                - (px(r - 1, c - 1) + 2 * px(r - 1, c) + px(r - 1, c + 1));
        }
    }
    (dx, dy)
}

/// OpenCV's `Canny(image, low, high, L2gradient=True)` (aperture 3): Sobel derivatives with
/// replicated borders, squared magnitude `dx² + dy²` compared with `⌊low²⌋` and `⌊high²⌋`,
/// non-maximum suppression along the gradient direction quantised to 0°, 45°, 90°, 135° with
/// OpenCV's fixed-point tangents and tie rules, and hysteresis through 8-connected candidates.
/// Thresholds are in gradient units (the 8-bit image's Sobel response), swapped when
/// `low > high`. Returns a mask (1 = edge).
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::canny;
/// // A vertical step between columns 2 and 3: the edge is the column with the larger magnitude
/// // tie broken to the left.
/// let img = Plane::from_fn(5, 6, |_, c| if c < 3 { 0u8 } else { 200 });
/// let e = canny(&img, 10.0, 20.0);
/// assert_eq!(e.row(2), &[0, 0, 1, 0, 0, 0]);
/// ```
pub fn canny(image: &Plane<u8>, low: f64, high: f64) -> Mask {
    let (h, w) = image.shape();
    if h == 0 || w == 0 {
        return Mask::zeros(h, w);
    }
    let (mut low, mut high) = (low, high);
    if low > high {
        std::mem::swap(&mut low, &mut high);
    }
    let square = |t: f64| {
        let t = t.min(32767.0);
        if t > 0.0 {
            t * t
        } else {
            t
        }
    };
    let low = square(low).floor() as i64;
    let high = square(high).floor() as i64;
    let (dx, dy) = sobel(image);
    let mag: Vec<i64> = dx
        .iter()
        .zip(&dy)
        .map(|(&a, &b)| i64::from(a) * i64::from(a) + i64::from(b) * i64::from(b))
        .collect();
    let m_at = |r: isize, c: isize| -> i64 {
        if r < 0 || c < 0 || r >= h as isize || c >= w as isize {
            0
        } else {
            mag[r as usize * w + c as usize]
        }
    };
    // 0: candidate, 1: not an edge, 2: edge.
    let mut map = vec![1u8; h * w];
    let mut stack = Vec::new();
    const SHIFT: i64 = 15;
    let tg22 = (0.414_213_562_373_095_05_f64 * (1i64 << SHIFT) as f64 + 0.5) as i64;
    for r in 0..h as isize {
        for c in 0..w as isize {
            let i = r as usize * w + c as usize;
            let m = mag[i];
            if m <= low {
                continue;
            }
            let (xs, ys) = (i64::from(dx[i]), i64::from(dy[i]));
            let x = xs.abs();
            let y = ys.abs() << SHIFT;
            let tg22x = x * tg22;
            let is_max = if y < tg22x {
                m > m_at(r, c - 1) && m >= m_at(r, c + 1)
            } else {
                let tg67x = tg22x + (x << (SHIFT + 1));
                if y > tg67x {
                    m > m_at(r - 1, c) && m >= m_at(r + 1, c)
                } else {
                    let s: isize = if (xs ^ ys) < 0 { -1 } else { 1 };
                    m > m_at(r - 1, c - s) && m > m_at(r + 1, c + s)
                }
            };
            if is_max {
                if m > high {
                    map[i] = 2;
                    stack.push(i);
                } else {
                    map[i] = 0;
                }
            }
        }
    }
    while let Some(i) = stack.pop() {
        let (r, c) = ((i / w) as isize, (i % w) as isize);
        for dr in -1..=1isize {
            for dc in -1..=1isize {
                let (nr, nc) = (r + dr, c + dc);
                if nr < 0 || nc < 0 || nr >= h as isize || nc >= w as isize {
                    continue;
                }
                let j = nr as usize * w + nc as usize;
                if map[j] == 0 {
                    map[j] = 2;
                    stack.push(j);
                }
            }
        }
    }
    Mask::from_plane(Plane::from_fn(h, w, |r, c| u8::from(map[r * w + c] == 2)))
}

/// A straight-line Hough accumulator (scikit-image's `hough_line`).
#[derive(Clone, Debug, PartialEq)]
pub struct HoughSpace {
    /// Votes, row-major `(distance, angle)`: `accumulator[d · angles.len() + a]`.
    pub accumulator: Vec<u64>,
    /// The angles, radians.
    pub angles: Vec<f64>,
    /// The distance of row `d` is `d − offset` pixels, `offset = ⌈√(h² + w²)⌉`.
    pub offset: usize,
}

impl HoughSpace {
    /// Number of distance bins, `2·offset + 1`.
    pub fn n_distances(&self) -> usize {
        2 * self.offset + 1
    }

    /// The votes at distance row `d` and angle column `a`.
    pub fn get(&self, d: usize, a: usize) -> u64 {
        self.accumulator[d * self.angles.len() + a]
    }
}

/// scikit-image's `round` in its Cython code: half away from zero, as `(r ± 0.5)` truncated.
fn round_half_away(r: f64) -> i64 {
    if r > 0.0 {
        (r + 0.5) as i64
    } else {
        (r - 0.5) as i64
    }
}

/// scikit-image's `hough_line(edges, theta=angles)`: every edge pixel `(x, y)` = `(col, row)`
/// votes, for each angle θ, in the distance bin `round(x·cos θ + y·sin θ) + offset` with
/// `offset = ⌈√(h² + w²)⌉` (distances from −offset to +offset pixels).
///
/// ```
/// use deltacell_data::Mask;
/// use deltacell_analysis::rotation::hough_line;
/// // A horizontal line on row 2 of a 5×5 mask: all 5 votes at θ = 90°, distance 2.
/// let m = Mask::from_fn(5, 5, |r, _| r == 2);
/// let hs = hough_line(&m, &[0.0, std::f64::consts::FRAC_PI_2]);
/// assert_eq!(hs.offset, 8);
/// assert_eq!(hs.get(8 + 2, 1), 5);
/// ```
pub fn hough_line(edges: &Mask, angles: &[f64]) -> HoughSpace {
    let (h, w) = edges.shape();
    let offset = (((h * h + w * w) as f64).sqrt()).ceil() as usize;
    let n_a = angles.len();
    let mut accumulator = vec![0u64; (2 * offset + 1) * n_a];
    let cos: Vec<f64> = angles.iter().map(|t| t.cos()).collect();
    let sin: Vec<f64> = angles.iter().map(|t| t.sin()).collect();
    for r in 0..h {
        for (c, &e) in edges.row(r).iter().enumerate() {
            if e == 0 {
                continue;
            }
            let (x, y) = (c as f64, r as f64);
            for j in 0..n_a {
                let d = round_half_away(cos[j] * x + sin[j] * y) + offset as i64;
                accumulator[d as usize * n_a + j] += 1;
            }
        }
    }
    HoughSpace {
        accumulator,
        angles: angles.to_vec(),
        offset,
    }
}

/// The strongest line of a Hough space as scikit-image's `hough_line_peaks(hspace, angles,
/// distances, num_peaks=1)` (defaults `min_distance = 9`, `min_angle = 10`, threshold
/// `0.5·max`) chooses it: local maxima of a 19 × 21 maximum filter above the threshold are
/// grouped into 8-connected regions, visited by decreasing maximum (ties: the region labelled
/// last first), each read at its rounded centroid (half to even) and suppressing a
/// (distance ± 9, angle ± 10) neighbourhood (angles wrap with the distance mirrored); of the
/// peaks kept, the largest wins, ties to the one found last (a stable sort; NumPy's `argsort`
/// is only stable up to 16 peaks, beyond that its choice among equal peaks is its own).
///
/// Returns `(votes, angle index, distance index)`, or `None` when no peak exceeds the threshold
/// (an image without edges).
///
/// ```
/// use deltacell_data::Mask;
/// use deltacell_analysis::rotation::{hough_line, hough_peak};
/// let m = Mask::from_fn(5, 5, |r, _| r == 2);
/// let hs = hough_line(&m, &[0.0, std::f64::consts::FRAC_PI_2]);
/// assert_eq!(hough_peak(&hs), Some((5, 1, 10)));
/// ```
pub fn hough_peak(space: &HoughSpace) -> Option<(u64, usize, usize)> {
    let cols = space.angles.len();
    let rows = space.n_distances();
    if cols == 0 || rows == 0 {
        return None;
    }
    let img = &space.accumulator;
    let max = img.iter().copied().max().unwrap_or(0);
    let threshold = 0.5 * max as f64;
    let min_y = 9usize;
    let min_x = 10usize.min(cols);
    // Separable maximum filter, constant 0 outside (all votes are ≥ 0).
    let mut tmp = vec![0u64; rows * cols];
    for c in 0..cols {
        for r in 0..rows {
            let lo = r.saturating_sub(min_y);
            let hi = (r + min_y).min(rows - 1);
            tmp[r * cols + c] = (lo..=hi).map(|k| img[k * cols + c]).max().unwrap_or(0);
        }
    }
    let mut img_max = vec![0u64; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let lo = c.saturating_sub(min_x);
            let hi = (c + min_x).min(cols - 1);
            img_max[r * cols + c] = (lo..=hi).map(|k| tmp[r * cols + k]).max().unwrap_or(0);
        }
    }
    // Candidate pixels: local maxima above the threshold.
    let cand: Vec<bool> = (0..rows * cols)
        .map(|i| img[i] == img_max[i] && img[i] as f64 > threshold)
        .collect();
    // 8-connected regions in raster order of their first pixel.
    let mut label = vec![0u32; rows * cols];
    struct Region {
        max: u64,
        sum_r: f64,
        sum_c: f64,
        n: f64,
    }
    let mut regions: Vec<Region> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..rows * cols {
        if !cand[start] || label[start] != 0 {
            continue;
        }
        regions.push(Region {
            max: 0,
            sum_r: 0.0,
            sum_c: 0.0,
            n: 0.0,
        });
        let id = regions.len() as u32;
        label[start] = id;
        stack.push(start);
        let reg = regions.last_mut()?;
        while let Some(i) = stack.pop() {
            let (r, c) = (i / cols, i % cols);
            reg.max = reg.max.max(img_max[i]);
            reg.sum_r += r as f64;
            reg.sum_c += c as f64;
            reg.n += 1.0;
            for dr in -1..=1isize {
                for dc in -1..=1isize {
                    let (nr, nc) = (r as isize + dr, c as isize + dc);
                    if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                        continue;
                    }
                    let j = nr as usize * cols + nc as usize;
                    if cand[j] && label[j] == 0 {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
    }
    // Sorted by maximum ascending (stable), then reversed.
    let mut order: Vec<usize> = (0..regions.len()).collect();
    order.sort_by_key(|&k| regions[k].max);
    order.reverse();
    let mut peaks: Vec<(u64, usize, usize)> = Vec::new();
    for k in order {
        let reg = &regions[k];
        let yc = (reg.sum_r / reg.n).round_ties_even() as isize;
        let xc = (reg.sum_c / reg.n).round_ties_even() as isize;
        let accum = img_max[yc as usize * cols + xc as usize];
        if accum as f64 <= threshold {
            continue;
        }
        for dy in -(min_y as isize)..=(min_y as isize) {
            for dx in -(min_x as isize)..=(min_x as isize) {
                let mut y = yc + dy;
                let mut x = xc + dx;
                if !(y > 0 && y < rows as isize) {
                    continue;
                }
                if x < 0 {
                    y = rows as isize - y;
                    x += cols as isize;
                } else if x >= cols as isize {
                    y = rows as isize - y;
                    x -= cols as isize;
                }
                if x >= 0 && x < cols as isize {
                    img_max[y as usize * cols + x as usize] = 0;
                }
            }
        }
        peaks.push((accum, xc as usize, yc as usize));
    }
    if peaks.len() <= 1 {
        return peaks.first().copied();
    }
    // argsort (stable) reversed: the largest, ties to the last.
    let best = peaks.iter().map(|p| p.0).max()?;
    peaks.iter().rev().find(|p| p.0 == best).copied()
}

/// DeLTA's `deskew(image)`: the rotation, in degrees, that [`rotate`] must apply to `frame`
/// (values in `[0, 1]`) to make its chambers straight. The result is one of DeLTA's Hough
/// angles (a multiple of 0.25°) in `(−45°, 45°]`: a positive angle turns the image
/// counter-clockwise on screen.
///
/// Fails on an empty frame, values outside `[0, 1]`, and a frame without any edge (a constant
/// frame).
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::deskew;
/// // Horizontal stripes: no rotation needed.
/// let img = Plane::from_fn(40, 40, |r, _| if (r / 5) % 2 == 0 { 0.2f32 } else { 0.8 });
/// assert_eq!(deskew(&img)?, 0.0);
/// // A constant frame has no line.
/// assert!(deskew(&Plane::filled(8, 8, 0.5f32)).is_err());
/// # Ok::<(), deltacell_analysis::Error>(())
/// ```
pub fn deskew(frame: &Plane<f32>) -> Result<f64> {
    let image8 = to_u8(frame)?;
    let low = quantile_u8(&image8, 0.1).unwrap_or(0.0);
    let high = quantile_u8(&image8, 0.2).unwrap_or(0.0);
    let edges = canny(&image8, low, high);
    let space = hough_line(&edges, &delta_angles());
    let (_, a, _) = hough_peak(&space).ok_or_else(|| {
        preprocess_error(
            "rotation (deskew)",
            "no straight edge found in the reference frame (constant or featureless image)",
        )
    })?;
    let angle = space.angles[a];
    let quarter = std::f64::consts::PI / 4.0;
    Ok(if angle > quarter {
        (angle - std::f64::consts::PI / 2.0).to_degrees()
    } else {
        angle.to_degrees()
    })
}

/// OpenCV's `getRotationMatrix2D(center, angle, scale)`: the forward map `[a, b, tx, c, d, ty]`
/// (`x' = a·x + b·y + tx`, `y' = c·x + d·y + ty`) turning the image by `angle_degrees`
/// counter-clockwise on screen about `center = (x, y)` and scaling it by `scale`.
///
/// ```
/// use deltacell_analysis::rotation::rotation_matrix;
/// let m = rotation_matrix((1.0, 1.0), 0.0, 1.0);
/// assert_eq!(m, [1.0, 0.0, 0.0, -0.0, 1.0, 0.0]);
/// ```
pub fn rotation_matrix(center: (f64, f64), angle_degrees: f64, scale: f64) -> [f64; 6] {
    let angle = angle_degrees * std::f64::consts::PI / 180.0;
    let alpha = angle.cos() * scale;
    let beta = angle.sin() * scale;
    let (cx, cy) = center;
    [
        alpha,
        beta,
        (1.0 - alpha) * cx - beta * cy,
        -beta,
        alpha,
        beta * cx + (1.0 - alpha) * cy,
    ]
}

/// OpenCV's `invertAffineTransform`.
fn invert_affine(m: &[f64; 6]) -> [f64; 6] {
    let d = m[0] * m[4] - m[1] * m[3];
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (a11, a22, a12, a21) = (m[4] * d, m[0] * d, -m[1] * d, -m[3] * d);
    let b1 = -a11 * m[2] - a12 * m[5];
    let b2 = -a21 * m[2] - a22 * m[5];
    [a11, a12, b1, a21, a22, b2]
}

/// OpenCV's `warpAffine(plane, forward, (w, h), INTER_LINEAR, BORDER_REPLICATE)`: each output
/// pixel `(x, y)` reads the input at the inverse map of `(x, y)`, bilinearly, the four taps
/// clamped to the image. `forward` is `[a, b, tx, c, d, ty]` as [`rotation_matrix`] gives.
/// Output shape = input shape.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::warp_affine;
/// let p = Plane::from_vec(1, 3, vec![0.0f32, 1.0, 2.0])?;
/// // Shift the content left by half a pixel.
/// let out = warp_affine(&p, &[1.0, 0.0, -0.5, 0.0, 1.0, 0.0]);
/// assert_eq!(out.as_slice(), &[0.5, 1.5, 2.0]);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn warp_affine(plane: &Plane<f32>, forward: &[f64; 6]) -> Plane<f32> {
    let (h, w) = plane.shape();
    if h == 0 || w == 0 {
        return plane.clone();
    }
    let m = invert_affine(forward);
    let src = plane.as_slice();
    let (wi, hi) = (w as i64 - 1, h as i64 - 1);
    let tap = |r: i64, c: i64| -> f64 {
        f64::from(src[r.clamp(0, hi) as usize * w + c.clamp(0, wi) as usize])
    };
    Plane::from_fn(h, w, |y, x| {
        let (xf, yf) = (x as f64, y as f64);
        let sx = m[0] * xf + m[1] * yf + m[2];
        let sy = m[3] * xf + m[4] * yf + m[5];
        // Far outside, every tap is an edge pixel: clamp before converting to integers.
        let sx = sx.clamp(-2.0, w as f64 + 1.0);
        let sy = sy.clamp(-2.0, h as f64 + 1.0);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = tap(y0, x0) * (1.0 - fx) + tap(y0, x0 + 1) * fx;
        let bottom = tap(y0 + 1, x0) * (1.0 - fx) + tap(y0 + 1, x0 + 1) * fx;
        (top * (1.0 - fy) + bottom * fy) as f32
    })
}

/// OpenCV's `warpAffine(plane, forward, (w, h), INTER_NEAREST, BORDER_REPLICATE)`, for label
/// images (DeLTA's `affine_transform(…, order=0)`): each output pixel takes the input pixel
/// nearest to the inverse map of `(x, y)` (halves rounded up), clamped to the image.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::{rotation_matrix, warp_affine_nearest};
/// let p = Plane::from_fn(3, 3, |r, c| (r * 3 + c) as u16);
/// // A quarter turn counter-clockwise: the right column becomes the top row.
/// let q = warp_affine_nearest(&p, &rotation_matrix((1.0, 1.0), 90.0, 1.0));
/// assert_eq!(q.row(0), &[2, 5, 8]);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn warp_affine_nearest<T: Copy>(plane: &Plane<T>, forward: &[f64; 6]) -> Plane<T> {
    let (h, w) = plane.shape();
    if h == 0 || w == 0 {
        return plane.clone();
    }
    let m = invert_affine(forward);
    Plane::from_fn(h, w, |y, x| {
        let (xf, yf) = (x as f64, y as f64);
        let sx = (m[0] * xf + m[1] * yf + m[2] + 0.5).floor();
        let sy = (m[3] * xf + m[4] * yf + m[5] + 0.5).floor();
        let sx = sx.clamp(0.0, (w - 1) as f64) as usize;
        let sy = sy.clamp(0.0, (h - 1) as f64) as usize;
        plane.get(sy, sx)
    })
}

/// DeLTA's `imgops.rotate(image, angle)`: turns `plane` by `angle_degrees` (counter-clockwise on
/// screen for a positive angle) about its centre `((w − 1)/2, (h − 1)/2)`, bilinear, replicated
/// borders, same shape. DeLTA rotates `float32` frames (16-bit frames divided by 65535), so
/// nothing is rounded back to integers. Values stay within the input's range.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::rotation::rotate;
/// let p = Plane::from_vec(2, 2, vec![0.0f32, 0.25, 0.5, 1.0])?;
/// assert_eq!(rotate(&p, 0.0), p);
/// // A quarter turn counter-clockwise (cos 90° is not exactly 0 in floating point: OpenCV
/// // also gives 2.8e-17 for the third pixel).
/// let q = rotate(&p, 90.0);
/// let want = [0.25, 1.0, 0.0, 0.5];
/// assert!(q.as_slice().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn rotate(plane: &Plane<f32>, angle_degrees: f64) -> Plane<f32> {
    let (h, w) = plane.shape();
    let center = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    warp_affine(plane, &rotation_matrix(center, angle_degrees, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy_endpoints() {
        let t = delta_angles();
        assert_eq!(t[720], 3.0 * std::f64::consts::PI / 4.0);
        assert!((t[1] - t[0] - (0.25f64).to_radians()).abs() < 1e-15);
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        // NumPy 2.4: np.quantile(np.array([30, 0, 20, 10], np.uint8), 0.1) = 3.0000000000000004,
        // 0.2 → 6.000000000000001 (virtual indices 0.3 and 0.6).
        let p = Plane::from_vec(1, 4, vec![30u8, 0, 20, 10]).unwrap();
        assert_eq!(quantile_u8(&p, 0.1), Some(3.0000000000000004));
        assert_eq!(quantile_u8(&p, 0.2), Some(6.000000000000001));
        assert_eq!(quantile_u8(&Plane::filled(0, 0, 0u8), 0.1), None);
    }

    #[test]
    fn to_u8_rejects_out_of_range() {
        let p = Plane::from_vec(1, 2, vec![0.5f32, 1.5]).unwrap();
        assert!(to_u8(&p).is_err());
        let p = Plane::from_vec(1, 2, vec![0.5f32, f32::NAN]).unwrap();
        assert!(to_u8(&p).is_err());
        assert!(to_u8(&Plane::filled(0, 3, 0f32)).is_err());
    }

    #[test]
    fn canny_matches_opencv_on_steps() {
        // Expected edges from cv2.Canny(img, lo, hi, L2gradient=True), OpenCV 5.1, by hand.
        let img = Plane::from_fn(6, 12, |_, c| match c {
            0..=3 => 0u8,
            4..=7 => 200,
            _ => 205,
        });
        // No magnitude above 1000² = 10⁶ (the strong step gives 800²): no edge at all.
        assert_eq!(canny(&img, 19.5, 1000.0).count(), 0);
        // The strong step at column 3; the weak one (20² = 400 > ⌊19.5²⌋) is not connected.
        let e = canny(&img, 19.5, 21.0);
        assert_eq!(e.count(), 6);
        assert!((0..6).all(|r| e.get(r, 3) == 1));
        // An L-shaped step: OpenCV gives (0..3, 3) and (3, 4..10).
        let img = Plane::from_fn(8, 10, |r, c| match (r < 4, c >= 4) {
            (true, true) => 200u8,
            (false, true) => 5,
            _ => 0,
        });
        let e = canny(&img, 10.0, 100.0);
        let got: Vec<(usize, usize)> = (0..8)
            .flat_map(|r| (0..10).map(move |c| (r, c)))
            .filter(|&(r, c)| e.get(r, c) == 1)
            .collect();
        let want: Vec<(usize, usize)> = [(0, 3), (1, 3), (2, 3)]
            .into_iter()
            .chain((4..10).map(|c| (3, c)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hough_vertical_line_gives_zero_angle() {
        let m = Mask::from_fn(20, 20, |_, c| c == 7);
        let hs = hough_line(&m, &delta_angles());
        let (votes, a, d) = hough_peak(&hs).unwrap();
        assert_eq!(votes, 20);
        assert_eq!(a, 180);
        assert_eq!(d, hs.offset + 7);
    }

    #[test]
    fn hough_peak_ties_go_to_the_last_region() {
        // Two parallel lines far apart in distance, same vote counts: skimage visits the region
        // labelled last first; both are kept, and the stable argsort picks the last kept.
        let m = Mask::from_fn(40, 40, |_, c| c == 2 || c == 35);
        let hs = hough_line(&m, &[0.0, 0.5, 1.0]);
        let (votes, a, d) = hough_peak(&hs).unwrap();
        assert_eq!((votes, a), (40, 0));
        // Kept in order: distance 35 (label 2) first, then 2; the last kept (distance 2) wins.
        assert_eq!(d, hs.offset + 2);
    }

    #[test]
    fn rotation_round_trip_keeps_the_centre() {
        let p = Plane::from_fn(9, 9, |r, c| (r * 9 + c) as f32 / 80.0);
        let out = rotate(&p, 0.5);
        assert!((out.get(4, 4) - p.get(4, 4)).abs() < 1e-6);
        assert!(out.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
