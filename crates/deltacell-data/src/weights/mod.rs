//! Pixel-wise weight maps: DeLTA's `seg_weights`, `seg_weights_2D`, `tracking_weights`,
//! `estimate_seg2D_classweights`, `estimate_classweights` and `make_weights`.
//!
//! The weight maps make the U-Nets learn the thin borders between touching cells. DeLTA calls
//! `seg_weights` "slow, best run offline"; here every map is exact (DeLTA 2.0.7's outputs to
//! 1e-5) and fast enough to compute on the fly.
//!
//! Parity target: DeLTA 2.0.7's outputs (`shared/reference/delta-2.0.7`, matched to 1e-5). The
//! newest DeLTA line computes the same maps with OpenCV's labelling and distance transform
//! instead of scikit-image's (same values); where the two lines differ — `estimate_seg2D_classweights`
//! samples without (2.0.7) or with (newest) replacement, and the newest `tracking_weights` fails on
//! NumPy ≥ 2 (`ndarray.ptp`) — 2.0.7 is followed.
//!
//! # Differences from DeLTA (deliberate)
//! * [`seg_weights`] needs O(H·W) memory whatever the number of cells (DeLTA allocates one
//!   float64 distance map per cell, H·W·N·8 bytes): each cell's distance map is computed only in
//!   a window around it, as far as the border term can still exceed 1e-9 (see the function's
//!   docs for why this is exact to that bound).
//! * Masks are binary by type ([`Mask`] is 0/1): a mask file is read with
//!   [`crate::io::read_binary_mask`], the one rule every command shares (`check`, `weights`, `augment`,
//!   `batches`, `train`): at most two distinct values, the larger is the cell (0/1, 0/255,
//!   0/65535, 1/2). A file with more values (an anti-aliased mask, a label image, a photograph
//!   saved in `seg/` by mistake) is refused naming the file ([`Error::NotBinary`]). DeLTA
//!   instead feeds the raw values to arithmetic (a 0/255 mask gives cell pixels weight 0 in
//!   2.0.7's `seg_weights`) or thresholds them at mid-range.
//! * Distances to an empty set (e.g. a skeleton with no pixel) are +∞ (SciPy returns
//!   meaningless values there); the resulting weights are documented per function.
//! * [`tracking_weights`] computes distances only near the tracked cells (exact: farther away the
//!   halo term is at its floor) and computes in `f64`, rounding once to `f32`; its values reach
//!   ~30 000, so
//!   parity with DeLTA's float64 output is checked after normalising by the maximum (as `wei/`
//!   files store them).
//! * [`crate::wei::make_weights`] also writes `wei/manifest.json` (function, parameters, SHA-256
//!   of every source mask) so that stale weights can be detected ([`crate::wei::stale_weights`]), and refuses to
//!   overwrite an existing `wei/` unless forced (DeLTA refuses always).

use crate::error::{Error, Result};
use crate::image::{Labels, Mask, Plane, WeightMap};
mod classweights;

pub use classweights::{
    estimate_classweights, estimate_seg2d_classweights, estimate_seg2d_classweights_dir,
    list_mask_files, mask_from_labels,
};

use crate::morphology::{
    close, erode, kernel, label, skeletonize, skeletonize_lee, sq_to_dist, squared_distance_to,
    squared_edt, Connectivity, EdtScratch, NO_FEATURE,
};

/// Parameters of [`seg_weights`] (DeLTA defaults: classweights (1, 1), w0 12, sigma 2).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegWeightParams {
    /// `(background, cell)` class weights.
    pub classweights: (f32, f32),
    /// Amplitude of the border term.
    pub w0: f32,
    /// Width of the border term, pixels.
    pub sigma: f32,
}

impl Default for SegWeightParams {
    fn default() -> Self {
        SegWeightParams {
            classweights: (1.0, 1.0),
            w0: 12.0,
            sigma: 2.0,
        }
    }
}

/// The border terms this module drops are below this bound (absolute, in weight units).
pub const BORDER_TERM_CUTOFF: f64 = 1e-9;

/// DeLTA's `seg_weights(mask, classweights, w0, sigma)`: the U-Net weight map.
///
/// Cells are the 8-connected components of `mask`. For a background pixel with `d1 ≤ d2` the
/// Euclidean distances (pixels) to the nearest and the second-nearest cell,
/// `w = w0 · exp(−(d1 + d2)² / (2σ²)) + classweights.0`; cell pixels get `classweights.1`. With
/// fewer than two cells the border term is 0.
///
/// # Exactness of the windowed computation
/// Let `R = σ·sqrt(2·ln(|w0| / 1e-9))`, so that `|w0|·exp(−R²/(2σ²)) = 1e-9`. Each cell's
/// distance map is computed exactly inside its bounding box grown by `⌊R⌋ + 1` pixels (the cell
/// lies inside that window, so distances there are exact). A pixel at distance `≤ R` from a cell
/// lies in that cell's window, so wherever the true `d2 ≤ R` both `d1` and `d2` are found
/// exactly. Elsewhere `d1 + d2 ≥ d2 > R`, so the true border term is below
/// [`BORDER_TERM_CUTOFF`] and is set to 0: the result differs from DeLTA's by less than 1e-9.
/// Memory is O(H·W) (two `u32` planes), time O(Σ window areas).
///
/// `sigma ≤ 0` or `w0 = 0` give no border term.
///
/// ```
/// use deltacell_data::{Mask, weights::{seg_weights, SegWeightParams}};
/// // Two cells with a 2-pixel gap: each gap pixel is 1 px from one cell and 2 px from the
/// // other, so it gets 12·exp(−(1 + 2)²/8) + 1.
/// let m = Mask::from_vec(1, 5, vec![1, 0, 0, 1, 1]).unwrap();
/// let w = seg_weights(&m, &SegWeightParams::default());
/// let gap = 12.0 * (-9.0f64 / 8.0).exp() + 1.0;
/// assert!((f64::from(w.get(0, 1)) - gap).abs() < 1e-6);
/// assert!((f64::from(w.get(0, 2)) - gap).abs() < 1e-6);
/// assert_eq!(w.get(0, 0), 1.0);
/// ```
pub fn seg_weights(mask: &Mask, params: &SegWeightParams) -> WeightMap {
    let (h, w) = mask.shape();
    let (cw0, cw1) = (
        f64::from(params.classweights.0),
        f64::from(params.classweights.1),
    );
    let m = mask.as_slice();
    let mut plane = Plane::filled(h, w, 0f32);
    let out = plane.as_mut_slice();
    for (o, &v) in out.iter_mut().zip(m) {
        *o = if v != 0 { cw1 as f32 } else { cw0 as f32 };
    }
    let w0 = f64::from(params.w0);
    let sigma = f64::from(params.sigma);
    let (labels, n) = label(mask, Connectivity::Eight);
    if n < 2 || sigma <= 0.0 || w0.abs() <= BORDER_TERM_CUTOFF || !w0.is_finite() {
        return WeightMap::from_plane(plane);
    }
    let reach = sigma * (2.0 * (w0.abs() / BORDER_TERM_CUTOFF).ln()).sqrt();
    let reach_sq = reach * reach;
    let pad = reach.floor() as usize + 1;
    let (d1, d2) = two_nearest_cells(&labels, n, pad, reach_sq);
    let two_sigma_sq = 2.0 * sigma * sigma;
    for i in 0..h * w {
        if m[i] != 0 || d2[i] == NO_FEATURE {
            continue;
        }
        let s = f64::from(d1[i]).sqrt() + f64::from(d2[i]).sqrt();
        out[i] = (w0 * (-(s * s) / two_sigma_sq).exp() + cw0) as f32;
    }
    WeightMap::from_plane(plane)
}

/// Per pixel, the squared distances to the nearest and second-nearest labelled cell, each kept
/// only when `≤ reach_sq` ([`NO_FEATURE`] otherwise). Cell `k`'s distances are computed in its
/// bounding box grown by `pad`.
fn two_nearest_cells(labels: &Labels, n: u32, pad: usize, reach_sq: f64) -> (Vec<u32>, Vec<u32>) {
    let (h, w) = labels.shape();
    let l = labels.as_slice();
    // Bounding boxes (r0, r1, c0, c1), inclusive.
    let mut boxes = vec![(usize::MAX, 0usize, usize::MAX, 0usize); n as usize + 1];
    for r in 0..h {
        for c in 0..w {
            let k = l[r * w + c] as usize;
            if k != 0 {
                let b = &mut boxes[k];
                b.0 = b.0.min(r);
                b.1 = b.1.max(r);
                b.2 = b.2.min(c);
                b.3 = b.3.max(c);
            }
        }
    }
    let limit = reach_sq.floor().min(f64::from(u32::MAX - 1)) as u32;
    let mut d1 = vec![NO_FEATURE; h * w];
    let mut d2 = vec![NO_FEATURE; h * w];
    let mut scratch = EdtScratch::default();
    let mut win: Vec<u32> = Vec::new();
    for (k, &(r0, r1, c0, c1)) in boxes.iter().enumerate().skip(1) {
        if r0 == usize::MAX {
            continue;
        }
        let (wr0, wr1) = (r0.saturating_sub(pad), (r1 + pad).min(h - 1));
        let (wc0, wc1) = (c0.saturating_sub(pad), (c1 + pad).min(w - 1));
        let (wh, ww) = (wr1 - wr0 + 1, wc1 - wc0 + 1);
        win.resize(wh * ww, 0);
        let k = k as u32;
        squared_edt(
            wh,
            ww,
            |i| l[(wr0 + i / ww) * w + wc0 + i % ww] == k,
            &mut win,
            &mut scratch,
        );
        for (wr, wrow) in win.chunks_exact(ww).enumerate() {
            let base = (wr0 + wr) * w + wc0;
            for (j, &d) in wrow.iter().enumerate() {
                if d > limit {
                    continue;
                }
                let i = base + j;
                if d < d1[i] {
                    d2[i] = d1[i];
                    d1[i] = d;
                } else if d < d2[i] {
                    d2[i] = d;
                }
            }
        }
    }
    (d1, d2)
}

/// DeLTA's `seg_weights_2D(mask, classweights)`, `classweights = (cells, borders)` (default
/// `(1, 1)`): weights for 2-D colonies that emphasise cell skeletons and the gaps between
/// neighbouring cells.
///
/// 1. `border` = closing of `mask` with [`kernel`]`(20)` minus the cells (gaps between nearby
///    cells); `eroded` = erosion of `mask` with `kernel(2)` (OpenCV conventions, see
///    [`crate::morphology`]).
/// 2. `cell_skel` = [`skeletonize`]`(eroded)`, `border_skel` = `skeletonize(border)`; `dc`, `db` =
///    Euclidean distances (pixels) to the nearest pixel of each skeleton.
/// 3. weight = 0; on `eroded`: `1 / (dc + 1)²`; on `border`: `borders / (db + 1)²`; on
///    `cell_skel`: `cells`; on `border_skel`: `borders` (later steps overwrite earlier ones).
/// 4. Cell or border pixels still at 0 get `1/255`; pure background stays **0** (the
///    segmentation loss treats 0 specially).
///
/// A cell whose skeleton is empty (everything eroded) has `dc = +∞`, so its pixels get `1/255`.
/// `mask` is 0/1 by type: DeLTA's in-place conversion of 0/255 input is done by the mask readers
/// (see the module docs).
///
/// ```
/// use deltacell_data::{Mask, weights::seg_weights_2d};
/// // One rod in the middle of a 40×40 field: no gaps, so only the cell is weighted.
/// let m = Mask::from_fn(40, 40, |r, c| (15..25).contains(&r) && (10..30).contains(&c));
/// let w = seg_weights_2d(&m, (1.0, 1.0));
/// assert_eq!(w.get(20, 20), 1.0); // on the cell's skeleton
/// assert!(w.get(15, 20) < 1.0 && w.get(15, 20) > 0.0); // cell edge, away from the skeleton
/// assert_eq!(w.get(0, 0), 0.0); // background
/// ```
pub fn seg_weights_2d(mask: &Mask, classweights: (f32, f32)) -> WeightMap {
    let (h, w) = mask.shape();
    let (cw0, cw1) = (f64::from(classweights.0), f64::from(classweights.1));
    let m = mask.as_slice();
    // The cell branch and the border branch are independent: run them side by side.
    let ((eroded, cell_skel, dc), (border, border_skel, db)) = rayon::join(
        || {
            let eroded = erode(mask, &kernel(2));
            let skel = skeletonize(&eroded);
            let d = squared_distance_to(&skel);
            (eroded, skel, d)
        },
        || {
            let border = gaps_between_cells(mask);
            let skel = skeletonize(&border);
            let d = squared_distance_to(&skel);
            (border, skel, d)
        },
    );
    let (b, e, cs, bs) = (
        border.as_slice(),
        eroded.as_slice(),
        cell_skel.as_slice(),
        border_skel.as_slice(),
    );
    let (dc, db) = (dc.as_slice(), db.as_slice());
    let mut plane = Plane::filled(h, w, 0f32);
    let out = plane.as_mut_slice();
    for i in 0..h * w {
        let mut v = 0f64;
        if e[i] != 0 {
            let d = sq_to_dist(dc[i]);
            v = 1.0 / ((d + 1.0) * (d + 1.0));
        }
        if b[i] != 0 {
            let d = sq_to_dist(db[i]);
            v = cw1 / ((d + 1.0) * (d + 1.0));
        }
        if cs[i] != 0 {
            v = cw0;
        }
        if bs[i] != 0 {
            v = cw1;
        }
        let mut v = v as f32;
        if v == 0.0 && (m[i] != 0 || b[i] != 0) {
            v = 1.0 / 255.0;
        }
        out[i] = v;
    }
    WeightMap::from_plane(plane)
}

/// `closing(mask, kernel(20))` minus the cells: DeLTA's "border" (gaps between nearby cells).
fn gaps_between_cells(mask: &Mask) -> Mask {
    let mut border = close(mask, &kernel(20));
    for (b, &v) in border.as_mut_slice().iter_mut().zip(mask.as_slice()) {
        if v != 0 {
            *b = 0;
        }
    }
    border
}

/// DeLTA's `tracking_weights(track, segall, halo_distance)` (DeLTA default halo 50 pixels):
/// weights for the tracking U-Net, from the tracked cell(s) `track` (the `mot_dau/` mask) and all
/// cells `segall`. Shapes must match, else [`Error::ShapeMismatch`].
///
/// * Empty `track`: `1 + 20` on `segall` cells, `1` elsewhere.
/// * Otherwise, with `din` = distance from a tracked pixel to the nearest non-tracked pixel and
///   `dout` = distance to the nearest tracked pixel: `w = 1 + 41·(din − min)/(max − min)` over
///   the image (21.5 everywhere when `max = min`, e.g. when `track` fills the image); `w = 255`
///   on Lee's skeleton of `track` ([`skeletonize_lee`]); other cells (`segall` and not `track`)
///   get `+ 63·max(halo − dout, 1)/halo`; finally everything is multiplied by 100. Range
///   `[100, 31 800]`.
///
/// Both masks are 0/1 by type (see the module docs for how 0/255 and label files are read).
/// `halo_distance` must be finite and > 0 ([`Error::OutOfRange`] otherwise). Distances are
/// computed only where they can matter: inside the tracked cells' bounding box grown by 1, and
/// within `⌈halo⌉ + 1` pixels of it (farther, the halo term is at its floor of 1).
///
/// ```
/// use deltacell_data::{Mask, weights::tracking_weights};
/// let track = Mask::zeros(4, 4);
/// let segall = Mask::from_fn(4, 4, |r, _| r == 0);
/// let w = tracking_weights(&track, &segall, 50.0).unwrap();
/// assert_eq!((w.get(0, 0), w.get(3, 3)), (21.0, 1.0));
/// ```
pub fn tracking_weights(track: &Mask, segall: &Mask, halo_distance: f32) -> Result<WeightMap> {
    if track.shape() != segall.shape() {
        return Err(Error::ShapeMismatch {
            context: "tracking_weights(track, segall)".into(),
            expected: track.shape(),
            found: segall.shape(),
        });
    }
    if !(halo_distance > 0.0 && halo_distance.is_finite()) {
        return Err(Error::out_of_range(
            "tracking_weights halo_distance",
            halo_distance,
            "a finite number > 0",
        ));
    }
    let (h, w) = track.shape();
    let t = track.as_slice();
    let s = segall.as_slice();
    let Some(bbox) = bounding_box(track) else {
        let out = segall.plane().map(|v| if v != 0 { 21.0 } else { 1.0 });
        return Ok(WeightMap::from_plane(out));
    };
    let halo = f64::from(halo_distance);
    // Baseline: the ramp's minimum (1, the value of every background pixel) plus, on other
    // cells, the halo term's floor 63·1/halo; the windows below overwrite what differs.
    let has_background = track.count() < h * w;
    let base_ramp = if has_background { 1.0 } else { 21.5 };
    let other_floor = base_ramp + 63.0 / halo;
    let mut plane = Plane::filled(h, w, 0f32);
    let out = plane.as_mut_slice();
    for ((o, &tv), &sv) in out.iter_mut().zip(t).zip(s) {
        let v = if sv != 0 && tv == 0 {
            other_floor
        } else {
            base_ramp
        };
        *o = (v * 100.0) as f32;
    }
    let mut scratch = EdtScratch::default();

    // Inside the tracked cells: the nearest background pixel of a tracked pixel lies in the
    // bounding box grown by 1 (clipped to the image), so distances there are exact.
    let inner = grow(bbox, 1, h, w);
    let (iw, ih) = (inner.3 - inner.2 + 1, inner.1 - inner.0 + 1);
    let mut din = vec![0u32; ih * iw];
    squared_edt(
        ih,
        iw,
        |i| t[(inner.0 + i / iw) * w + inner.2 + i % iw] == 0,
        &mut din,
        &mut scratch,
    );
    let din_max = din
        .iter()
        .filter(|&&d| d != NO_FEATURE)
        .map(|&d| f64::from(d).sqrt())
        .fold(0.0, f64::max);
    let crop = Mask::from_fn(ih, iw, |r, c| t[(inner.0 + r) * w + inner.2 + c] != 0);
    let skel = skeletonize_lee(&crop);
    for r in 0..ih {
        for c in 0..iw {
            let i = (inner.0 + r) * w + inner.2 + c;
            if t[i] == 0 {
                continue;
            }
            let j = r * iw + c;
            let v = if skel.as_slice()[j] != 0 {
                255.0
            } else if has_background && din_max > 0.0 {
                1.0 + 41.0 * f64::from(din[j]).sqrt() / din_max
            } else {
                21.5
            };
            out[i] = (v * 100.0) as f32;
        }
    }

    // Other cells near the tracked ones: beyond `halo − 1` pixels the halo term is at its floor
    // (the baseline), so only the bounding box grown by ⌈halo⌉ + 1 needs distances.
    let reach = halo.ceil() as usize + 1;
    let outer = grow(bbox, reach, h, w);
    let (ow, oh) = (outer.3 - outer.2 + 1, outer.1 - outer.0 + 1);
    let mut dout = vec![0u32; oh * ow];
    squared_edt(
        oh,
        ow,
        |i| t[(outer.0 + i / ow) * w + outer.2 + i % ow] != 0,
        &mut dout,
        &mut scratch,
    );
    for r in 0..oh {
        for c in 0..ow {
            let i = (outer.0 + r) * w + outer.2 + c;
            if s[i] == 0 || t[i] != 0 {
                continue;
            }
            let d = f64::from(dout[r * ow + c]).sqrt();
            let v = base_ramp + 63.0 * (halo - d).max(1.0) / halo;
            out[i] = (v * 100.0) as f32;
        }
    }
    Ok(WeightMap::from_plane(plane))
}

/// Inclusive bounding box `(r0, r1, c0, c1)` of the set pixels, `None` for an empty mask.
fn bounding_box(mask: &Mask) -> Option<(usize, usize, usize, usize)> {
    let h = mask.height();
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for r in 0..h {
        let row = mask.row(r);
        let Some(first) = row.iter().position(|&v| v != 0) else {
            continue;
        };
        let last = row.iter().rposition(|&v| v != 0).unwrap_or(first);
        b = Some(match b {
            None => (r, r, first, last),
            Some((r0, _, c0, c1)) => (r0, r, c0.min(first), c1.max(last)),
        });
    }
    b
}

/// `bbox` grown by `by` pixels on every side, clipped to an `h × w` image.
fn grow(
    (r0, r1, c0, c1): (usize, usize, usize, usize),
    by: usize,
    h: usize,
    w: usize,
) -> (usize, usize, usize, usize) {
    (
        r0.saturating_sub(by),
        (r1 + by).min(h - 1),
        c0.saturating_sub(by),
        (c1 + by).min(w - 1),
    )
}

/// Which of DeLTA's weight functions, with its parameters: the one recipe that
/// [`crate::wei::make_weights`] writes to `wei/`, that the datasets compute on the fly
/// ([`crate::dataset::Weights::Computed`]) and that a training configuration names.
///
/// Written in TOML as `{ seg = { w0 = 12, sigma = 2, classweights = [1, 1] } }`,
/// `{ seg2d = { classweights = [1, 1] } }` or `{ track = { halo_distance = 50 } }` (`online`
/// is accepted for `track`, DeLTA's word); [`FromStr`](std::str::FromStr) reads a bare name
/// (`seg`/`seg_weights`, `seg2d`/`seg_weights_2D`, `track`/`tracking_weights`) with DeLTA's
/// default parameters.
///
/// ```
/// use deltacell_data::weights::{WeightRecipe, SegWeightParams};
/// let r: WeightRecipe = "seg_weights_2D".parse()?;
/// assert_eq!(r, WeightRecipe::Seg2d { classweights: (1.0, 1.0) });
/// assert_eq!(r.delta_name(), "seg_weights_2D");
/// assert_eq!("seg".parse::<WeightRecipe>()?, WeightRecipe::Seg(SegWeightParams::default()));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightRecipe {
    /// [`seg_weights`] on every mask of `seg/` (mother-machine segmentation sets).
    Seg(SegWeightParams),
    /// [`seg_weights_2d`] on every mask of `seg/` (2-D colony segmentation sets).
    Seg2d {
        /// `(cells, borders)`.
        classweights: (f32, f32),
    },
    /// [`tracking_weights`] on every `mot_dau/` mask with its `segall/` partner (tracking sets).
    #[serde(alias = "online")]
    Track {
        /// Halo distance, pixels (DeLTA default 50).
        halo_distance: f32,
    },
}

/// DeLTA's halo around the tracked cell for [`tracking_weights`], pixels.
pub const DEFAULT_HALO_DISTANCE: f32 = 50.0;

impl std::str::FromStr for WeightRecipe {
    type Err = Error;

    /// A bare recipe name with DeLTA's default parameters (any letter case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "seg" | "seg_weights" => Ok(WeightRecipe::Seg(SegWeightParams::default())),
            "seg2d" | "seg_weights_2d" => Ok(WeightRecipe::Seg2d {
                classweights: (1.0, 1.0),
            }),
            "track" | "tracking_weights" | "online" => Ok(WeightRecipe::Track {
                halo_distance: DEFAULT_HALO_DISTANCE,
            }),
            _ => Err(Error::UnknownName {
                what: "weight recipe",
                name: s.to_string(),
                choices: vec![
                    "seg",
                    "seg2d",
                    "track",
                    "seg_weights",
                    "seg_weights_2D",
                    "tracking_weights",
                ],
            }),
        }
    }
}

impl WeightRecipe {
    /// The folder whose masks the weights are made from (`seg` or `mot_dau`).
    pub fn source_folder(&self) -> &'static str {
        match self {
            WeightRecipe::Track { .. } => "mot_dau",
            _ => "seg",
        }
    }

    /// Checks the parameters: class weights finite and > 0, `w0` finite and >= 0, `sigma` and
    /// the halo distance finite and > 0 ([`Error::OutOfRange`] naming the parameter).
    ///
    /// ```
    /// use deltacell_data::weights::WeightRecipe;
    /// assert!(WeightRecipe::Seg2d { classweights: (1.0, 1.0) }.validate().is_ok());
    /// assert!(WeightRecipe::Seg2d { classweights: (f32::NAN, 1.0) }.validate().is_err());
    /// assert!(WeightRecipe::Track { halo_distance: -1.0 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::out_of_range(
                    format!("{} {name}", self.delta_name()),
                    v,
                    "a finite number > 0",
                ))
            }
        };
        match self {
            WeightRecipe::Seg(p) => {
                positive("classweights[0]", p.classweights.0)?;
                positive("classweights[1]", p.classweights.1)?;
                positive("sigma", p.sigma)?;
                if !(p.w0.is_finite() && p.w0 >= 0.0) {
                    return Err(Error::out_of_range(
                        "seg_weights w0",
                        p.w0,
                        "a finite number >= 0",
                    ));
                }
                Ok(())
            }
            WeightRecipe::Seg2d { classweights } => {
                positive("classweights[0]", classweights.0)?;
                positive("classweights[1]", classweights.1)
            }
            WeightRecipe::Track { halo_distance } => positive("halo_distance", *halo_distance),
        }
    }

    /// The weight map of `mask` (for [`WeightRecipe::Track`]: the `mot_dau` mask, with
    /// `segall`, the cells at t, of the same shape; the segmentation recipes ignore it).
    pub fn compute(&self, mask: &Mask, segall: Option<&Mask>) -> Result<WeightMap> {
        match self {
            WeightRecipe::Seg(p) => Ok(seg_weights(mask, p)),
            WeightRecipe::Seg2d { classweights } => Ok(seg_weights_2d(mask, *classweights)),
            WeightRecipe::Track { halo_distance } => match segall {
                Some(segall) => tracking_weights(mask, segall, *halo_distance),
                None => Err(Error::MissingInput {
                    needed_by: "the tracking weight recipe".into(),
                    what: "the mask of all cells at t (segall) besides the tracked cells".into(),
                }),
            },
        }
    }

    /// DeLTA's name of the function.
    pub fn delta_name(&self) -> &'static str {
        match self {
            WeightRecipe::Seg(_) => "seg_weights",
            WeightRecipe::Seg2d { .. } => "seg_weights_2D",
            WeightRecipe::Track { .. } => "tracking_weights",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::morphology::distance_to;

    fn row_mask(v: &[u8]) -> Mask {
        Mask::from_vec(1, v.len(), v.to_vec()).unwrap()
    }

    #[test]
    fn seg_weights_matches_delta_fixture_row() {
        // DeLTA's test_seg_weights_simple (newest line): d1+d2 per pixel and the target formula.
        let m = row_mask(&[
            0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1,
            1, 0, 1, 1, 1,
        ]);
        let d = [
            6, 0, 4, 4, 4, 0, 0, 2, 0, 0, 5, 6, 6, 6, 4, 0, 2, 0, 3, 3, 0, 0, 0, 3, 3, 0, 2, 0, 0,
            0, 2, 0, 0, 0,
        ];
        let p = SegWeightParams {
            classweights: (0.3, 0.7),
            w0: 12.0,
            sigma: 2.0,
        };
        let w = seg_weights(&m, &p);
        for (i, &di) in d.iter().enumerate() {
            let expected = if di == 0 {
                0.7
            } else {
                12.0 * (-(f64::from(di).powi(2)) / 8.0).exp() + 0.3
            };
            assert!(
                (f64::from(w.as_slice()[i]) - expected).abs() < 1e-5,
                "pixel {i}: {} vs {expected}",
                w.as_slice()[i]
            );
        }
    }

    /// The unwindowed definition: every cell's full distance map.
    fn seg_weights_reference(mask: &Mask, p: &SegWeightParams) -> Vec<f64> {
        let (labels, n) = label(mask, Connectivity::Eight);
        let maps: Vec<Plane<f64>> = (1..=n)
            .map(|k| {
                distance_to(&Mask::from_fn(mask.height(), mask.width(), |r, c| {
                    labels.get(r, c) == k
                }))
            })
            .collect();
        (0..mask.len())
            .map(|i| {
                if mask.as_slice()[i] != 0 {
                    return f64::from(p.classweights.1);
                }
                let mut d: Vec<f64> = maps.iter().map(|m| m.as_slice()[i]).collect();
                d.sort_by(f64::total_cmp);
                let s = d.first().copied().unwrap_or(f64::INFINITY)
                    + d.get(1).copied().unwrap_or(f64::INFINITY);
                f64::from(p.w0) * (-(s * s) / (2.0 * f64::from(p.sigma).powi(2))).exp()
                    + f64::from(p.classweights.0)
            })
            .collect()
    }

    #[test]
    fn windowed_seg_weights_equal_the_full_definition() {
        use rand::Rng;
        let mut rng = crate::random::seeded(7);
        for trial in 0..20 {
            let (h, w) = (40 + trial, 30);
            let m = Mask::from_fn(h, w, |_, _| rng.random::<f64>() < 0.08);
            for p in [
                SegWeightParams::default(),
                SegWeightParams {
                    classweights: (0.5, 2.0),
                    w0: 10.0,
                    sigma: 3.0,
                },
                SegWeightParams {
                    classweights: (1.0, 1.0),
                    w0: 1e6,
                    sigma: 8.0,
                },
            ] {
                let got = seg_weights(&m, &p);
                let want = seg_weights_reference(&m, &p);
                for (g, e) in got.as_slice().iter().zip(&want) {
                    assert!((f64::from(*g) - e).abs() <= 1e-9 + 1e-6 * e.abs());
                }
            }
        }
    }

    #[test]
    fn seg_weights_without_two_cells_has_no_border_term() {
        let m = Mask::from_fn(6, 6, |r, c| r < 2 && c < 2);
        let w = seg_weights(&m, &SegWeightParams::default());
        assert!(w.as_slice().iter().all(|&v| v == 1.0));
        let w = seg_weights(&Mask::zeros(3, 3), &SegWeightParams::default());
        assert!(w.as_slice().iter().all(|&v| v == 1.0));
    }

    #[test]
    fn masks_from_255_behave_as_0_1() {
        let data: Vec<u8> = (0..24 * 24)
            .map(|i| {
                if (i / 24) % 6 < 3 && (i % 24) > 2 {
                    255
                } else {
                    0
                }
            })
            .collect();
        let m255 = Mask::from_vec(24, 24, data.clone()).unwrap();
        let m01 = Mask::from_vec(24, 24, data.iter().map(|&v| v / 255).collect()).unwrap();
        assert_eq!(
            seg_weights_2d(&m255, (1.0, 1.0)),
            seg_weights_2d(&m01, (1.0, 1.0))
        );
        assert_eq!(
            tracking_weights(&m255, &m255, 50.0).unwrap(),
            tracking_weights(&m01, &m01, 50.0).unwrap()
        );
    }

    #[test]
    fn label_images_keep_touching_cells_apart() {
        let l = Labels::from_plane(Plane::from_fn(6, 8, |r, c| {
            if r == 0 || r == 5 {
                0
            } else if c < 4 {
                3
            } else {
                9
            }
        }));
        let m = mask_from_labels(&l);
        assert_eq!(crate::morphology::label(&m, Connectivity::Eight).1, 2);
        // The seam columns 3 and 4 became background.
        assert!((1..5).all(|r| m.get(r, 3) == 0 && m.get(r, 4) == 0));
        assert!((1..5).all(|r| m.get(r, 2) == 1 && m.get(r, 5) == 1));
    }

    #[test]
    fn tracking_weights_rejects_shape_mismatch() {
        let e = tracking_weights(&Mask::zeros(4, 4), &Mask::zeros(4, 5), 50.0);
        assert!(matches!(e, Err(Error::ShapeMismatch { .. })));
    }

    #[test]
    fn tracking_weights_of_full_track_is_constant_ramp() {
        let t = Mask::filled(3, 3, 1);
        let w = tracking_weights(&t, &t, 50.0).unwrap();
        // din is +inf everywhere (no background): the ramp is DeLTA's constant 21.5, the
        // skeleton 255.
        assert!(w.as_slice().iter().all(|&v| v == 2150.0 || v == 25500.0));
    }

    #[test]
    fn class_weights_from_batches() {
        let mut b = Batch::zeros(1, 2, 2, 1, 2);
        // labels 1, 0, 0, 0 (channel 0); weights in channel 1 are ignored.
        b.y = vec![1.0, 9.0, 0.0, 9.0, 0.0, 9.0, 0.0, 9.0];
        let w = estimate_classweights([&b, &b]);
        assert!((w[0] - 2.0 / 1.5).abs() < 1e-6);
        assert!((w[1] - 2.0 / 0.5).abs() < 1e-6);
        let empty = Batch::zeros(1, 2, 2, 1, 1);
        assert_eq!(estimate_classweights([&empty]), [1.0, 0.0]);
    }

    #[test]
    fn seg2d_classweights_balance_skeletons() {
        // Two rods side by side with a narrow gap: both skeletons exist.
        let m = Mask::from_fn(40, 40, |r, c| {
            (5..35).contains(&r) && ((5..15).contains(&c) || (20..30).contains(&c))
        });
        let (a, b) = estimate_seg2d_classweights(&[m.clone(), m.clone(), m], Some(2), 1);
        assert!(a > 0.0 && b > 0.0 && (a == 1.0 || b == 1.0));
        assert_eq!(estimate_seg2d_classweights(&[], None, 0), (1.0, 1.0));
    }

    #[test]
    fn windowed_tracking_weights_equal_the_full_definition() {
        use rand::Rng;
        let mut rng = crate::random::seeded(11);
        for trial in 0..30 {
            let (h, w) = (30 + trial % 7 * 9, 20 + trial % 5 * 11);
            let segall = Mask::from_fn(h, w, |_, _| rng.random::<f64>() < 0.3);
            let (labels, n) = label(&segall, Connectivity::Eight);
            let pick = rng.random_range(0..=n);
            let track = Mask::from_fn(h, w, |r, c| labels.get(r, c) == pick && pick > 0);
            let halo = [3.0f32, 7.5, 50.0][trial % 3];
            let got = tracking_weights(&track, &segall, halo).unwrap();
            let want = tracking_weights_reference(&track, &segall, f64::from(halo));
            if track.count() == 0 {
                continue; // the empty branch is DeLTA's 1 + 20·segall, tested elsewhere
            }
            for (i, (g, e)) in got.as_slice().iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*g) - e).abs() <= 1e-6 * e,
                    "trial {trial}, pixel {i}: {g} vs {e}"
                );
            }
        }
        let e = tracking_weights(&Mask::zeros(2, 2), &Mask::zeros(2, 2), 0.0);
        assert!(matches!(e, Err(Error::OutOfRange { .. })));
    }

    /// The definition on the full image, as DeLTA computes it.
    fn tracking_weights_reference(track: &Mask, segall: &Mask, halo: f64) -> Vec<f64> {
        let (h, w) = track.shape();
        let dout = distance_to(track);
        let din = distance_to(&Mask::from_fn(h, w, |r, c| track.get(r, c) == 0));
        let skel = skeletonize_lee(track);
        let (lo, hi) = din
            .as_slice()
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        (0..h * w)
            .map(|i| {
                let mut v = if hi > lo && (hi - lo).is_finite() {
                    1.0 + 41.0 * (din.as_slice()[i] - lo) / (hi - lo)
                } else {
                    21.5
                };
                if skel.as_slice()[i] != 0 {
                    v = 255.0;
                }
                if segall.as_slice()[i] != 0 && track.as_slice()[i] == 0 {
                    v += 63.0 * (halo - dout.as_slice()[i]).max(1.0) / halo;
                }
                v * 100.0
            })
            .collect()
    }
}
