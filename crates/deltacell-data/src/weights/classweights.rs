//! Class weights estimated from a set's masks (DeLTA's `estimate_seg2D_classweights`), and
//! the masks of instance labels they are read from.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::image::{Labels, Mask};
use crate::morphology::{dilate, erode, kernel, skeletonize};

use super::gaps_between_cells;

/// DeLTA's `estimate_seg2D_classweights(mask_path, sample_size)`: class weights
/// `(cells, borders)` for [`seg_weights_2d`](super::seg_weights_2d) that balance the skeleton pixels of cells and of the
/// gaps between them.
///
/// Uses `sample_size` masks drawn without replacement (as DeLTA 2.0.7's `random.sample`; the
/// newest line draws with replacement) from [`crate::random::stream`]`(seed, 0, 0)`, or all of
/// them when `None` or when `sample_size ≥ masks.len()`. Per mask: `c1 +=` pixels of
/// `skeletonize(erode(mask, kernel(2)))`; `c2 +=` pixels of the skeleton of the gaps that are
/// also outside `dilate(mask, kernel(3))`. Returns `(c2 / max(c1, c2), c1 / max(c1, c2))`, or
/// `(1, 1)` when both counts are 0 (DeLTA divides by zero there).
pub fn estimate_seg2d_classweights(
    masks: &[Mask],
    sample_size: Option<usize>,
    seed: u64,
) -> (f32, f32) {
    let mut order: Vec<usize> = (0..masks.len()).collect();
    if let Some(k) = sample_size {
        if k < masks.len() {
            let mut rng = crate::random::stream(seed, 0, 0);
            order.shuffle(&mut rng);
            order.truncate(k);
        }
    }
    let (c1, c2) = order
        .par_iter()
        .map(|&i| {
            let mask = &masks[i];
            let border = gaps_between_cells(mask);
            let cells = skeletonize(&erode(mask, &kernel(2))).count();
            let grown = dilate(mask, &kernel(3));
            let far_border = Mask::from_fn(mask.height(), mask.width(), |r, c| {
                grown.get(r, c) == 0 && border.get(r, c) != 0
            });
            (cells as u64, skeletonize(&far_border).count() as u64)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let m = c1.max(c2);
    if m == 0 {
        return (1.0, 1.0);
    }
    ((c2 as f64 / m as f64) as f32, (c1 as f64 / m as f64) as f32)
}

/// DeLTA's `estimate_classweights` / 2.0.7 `estimateClassweights(gene, num_samples)`:
/// `[background, cell]` weights from the label channel (channel 0 of `y`) of `batches`.
///
/// Per batch the fractions of pixels with label `== 0` and `> 0` are summed; weight `i` =
/// `number of batches / sum_i`, or 0 when that class never occurs. (DeLTA's multi-channel branch
/// served the retired 3-class tracking model; deltacell batches stack label and weight in `y`,
/// so only the label channel is read.)
pub fn estimate_classweights<'a>(batches: impl IntoIterator<Item = &'a Batch>) -> [f32; 2] {
    let mut sums = [0f64; 2];
    let mut count = 0usize;
    for b in batches {
        count += 1;
        let ch = b.out_channels.max(1);
        let labels = b.y.iter().step_by(ch);
        let (mut zeros, mut total) = (0usize, 0usize);
        for &v in labels {
            total += 1;
            zeros += usize::from(v == 0.0);
        }
        if total > 0 {
            sums[0] += zeros as f64 / total as f64;
            sums[1] += (total - zeros) as f64 / total as f64;
        }
    }
    sums.map(|s| {
        if s > 0.0 {
            (count as f64 / s) as f32
        } else {
            0.0
        }
    })
}
/// Binary mask of instance labels with touching instances kept apart: a labelled pixel that has
/// a different nonzero label among its 8 neighbours becomes background.
///
/// ```
/// use deltacell_data::{Labels, Plane, weights::mask_from_labels};
/// let l = Labels::from_plane(Plane::from_vec(1, 4, vec![1, 1, 2, 2]).unwrap());
/// assert_eq!(mask_from_labels(&l).as_slice(), &[1, 0, 0, 1]);
/// ```
pub fn mask_from_labels(labels: &Labels) -> Mask {
    let (h, w) = labels.shape();
    Mask::from_fn(h, w, |r, c| {
        let v = labels.get(r, c);
        if v == 0 {
            return false;
        }
        for rr in r.saturating_sub(1)..(r + 2).min(h) {
            for cc in c.saturating_sub(1)..(c + 2).min(w) {
                let o = labels.get(rr, cc);
                if o != 0 && o != v {
                    return false;
                }
            }
        }
        true
    })
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
/// ([`list_mask_files`], [`crate::io::read_binary_mask`]) and calls [`estimate_seg2d_classweights`]
/// with `sample_size` and `seed`. A folder without masks is an error.
pub fn estimate_seg2d_classweights_dir(
    dir: &Path,
    sample_size: Option<usize>,
    seed: u64,
) -> Result<(f32, f32)> {
    let files = list_mask_files(dir)?;
    if files.is_empty() {
        return Err(Error::NoFilesIn {
            path: dir.to_path_buf(),
            wanted: ".png or .tif mask to estimate class weights from".into(),
        });
    }
    let masks = files
        .par_iter()
        .map(crate::io::read_binary_mask)
        .collect::<Result<Vec<Mask>>>()?;
    Ok(estimate_seg2d_classweights(&masks, sample_size, seed))
}
