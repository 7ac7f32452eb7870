//! Folders of predictions scored against folders of ground truth, files paired by stem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::*;

/// The image files of `dir` by stem (`.png`, `.tif`, `.tiff`); two files with one stem, or no
/// image at all, is an error naming the folder.
pub fn images_by_stem(dir: &Path) -> crate::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for path in crate::predict::list_images(dir)? {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(prev) = out.insert(stem.clone(), path.clone()) {
            return Err(crate::Error::Layout {
                root: dir.to_path_buf(),
                problems: vec![format!(
                    "two files with the stem {stem}: {} and {}",
                    prev.display(),
                    path.display()
                )],
            });
        }
    }
    if out.is_empty() {
        return Err(crate::Error::Layout {
            root: dir.to_path_buf(),
            problems: vec![format!("{}: no PNG or TIFF files", dir.display())],
        });
    }
    Ok(out)
}

/// Pairs the images of a prediction folder and a ground-truth folder by stem: `(stem,
/// prediction, truth)` in stem order. Every file without its partner is listed in one
/// [`crate::Error::Layout`].
pub fn pair_by_stem(pred: &Path, truth: &Path) -> crate::Result<Vec<(String, PathBuf, PathBuf)>> {
    let p = images_by_stem(pred)?;
    let t = images_by_stem(truth)?;
    let mut problems: Vec<String> = t
        .iter()
        .filter(|(s, _)| !p.contains_key(*s))
        .map(|(_, path)| format!("{}: no prediction with this stem", path.display()))
        .collect();
    problems.extend(
        p.iter()
            .filter(|(s, _)| !t.contains_key(*s))
            .map(|(_, path)| format!("{}: no truth with this stem", path.display())),
    );
    if !problems.is_empty() {
        return Err(crate::Error::Layout {
            root: pred.to_path_buf(),
            problems,
        });
    }
    Ok(t.into_iter()
        .filter_map(|(s, tp)| p.get(&s).map(|pp| (s, pp.clone(), tp)))
        .collect())
}

/// One image of a folder evaluation: its instances and how they matched.
#[derive(Clone, Debug)]
pub struct SegPair {
    /// The shared stem.
    pub name: String,
    /// Predicted instances ([`instances`] of the file).
    pub pred: Labels,
    /// True instances.
    pub truth: Labels,
    /// The matching and its scores.
    pub matched: SegMatch,
}

/// Scores a folder of predicted masks (or label images) against a folder of true ones, paired
/// by stem ([`pair_by_stem`]), in parallel: what `deltacell eval seg` prints. Returns the
/// pooled and per-image scores and every pair (for reports).
pub fn evaluate_seg_folders(
    pred: &Path,
    truth: &Path,
) -> crate::Result<(SegEvaluation, Vec<SegPair>)> {
    evaluate_seg_folders_with(pred, truth, Connectivity::Eight)
}

/// [`evaluate_seg_folders`] with binary masks split into cells with `connectivity`
/// ([`instances_with`]; label images are taken as they are).
pub fn evaluate_seg_folders_with(
    pred: &Path,
    truth: &Path,
    connectivity: Connectivity,
) -> crate::Result<(SegEvaluation, Vec<SegPair>)> {
    let pairs = pair_by_stem(pred, truth)?;
    let items: Vec<SegPair> = pairs
        .par_iter()
        .map(|(name, pp, tp)| {
            let pred = instances_with(&crate::io::read_labels(pp)?, connectivity);
            let truth = instances_with(&crate::io::read_labels(tp)?, connectivity);
            let matched = evaluate_seg(&pred, &truth)?;
            Ok(SegPair {
                name: name.clone(),
                pred,
                truth,
                matched,
            })
        })
        .collect::<crate::Result<_>>()?;
    let evaluation = SegEvaluation::from_images(
        items
            .iter()
            .map(|it| ImageScores {
                name: it.name.clone(),
                scores: it.matched.scores.clone(),
            })
            .collect(),
    );
    Ok((evaluation, items))
}

/// One seed cell of a folder evaluation: its result and both masks.
#[derive(Clone, Debug)]
pub struct TrackPair {
    /// The comparison.
    pub result: SeedResult,
    /// The predicted mask.
    pub pred: Mask,
    /// The true mask.
    pub truth: Mask,
}

/// Scores a folder of per-cell tracking predictions (DeLTA's `…Cell%06d.png`) against a folder
/// of true `mot_dau` masks, paired by stem, in parallel: what `deltacell eval track` prints.
pub fn evaluate_track_folders(
    pred: &Path,
    truth: &Path,
) -> crate::Result<(TrackScores, Vec<TrackPair>)> {
    let pairs = pair_by_stem(pred, truth)?;
    let items: Vec<TrackPair> = pairs
        .par_iter()
        .map(|(name, pp, tp)| {
            let pred = crate::io::read_mask(pp)?;
            let truth = crate::io::read_mask(tp)?;
            let result = compare_track(name, &pred, &truth)?;
            Ok(TrackPair {
                result,
                pred,
                truth,
            })
        })
        .collect::<crate::Result<_>>()?;
    let scores = TrackScores::from_seeds(items.iter().map(|it| it.result.clone()).collect());
    Ok((scores, items))
}
