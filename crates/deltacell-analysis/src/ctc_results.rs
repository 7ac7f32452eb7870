//! Results files to CTC folders and back: `deltacell export-ctc RESULTS.nc` then
//! `deltacell import-ctc DIR --out RESULTS.nc` gives back every cell, mother, division and frame
//! and the label stacks ([`crate::ctc`] converts the lineages), so ground truth made or corrected
//! in CTC tools (or another tracker's output) becomes a results file that `features`, `eval`,
//! DeLTA 3's `Position.load_netcdf` and xarray read.
//!
//! A CTC folder holds labels and tracks only. What else a results file holds is kept beside the
//! export in [`LAYOUT_FILE`] (`deltacell-position.toml`: the position's number, frame shape,
//! rotation, drift, first frame, configuration, and each ROI folder's number and box), which the
//! CTC tools ignore; `import-ctc` uses it when present. Not kept: the ROI images, the
//! fluorescence and the segmentation at the model's size (CTC folders carry none): an imported
//! results file has zero images, no fluorescence channel and the labels' foreground as its
//! segmentation (at the labels' size, scaling 1); its features are measured again from the
//! labels ([`crate::features::recompute`]): areas, perimeters and edges as before, poles, lengths
//! and widths from the labels rather than the segmentation at the model's size.
//! Without a layout file each ROI's box is the whole label image, the position number 0 and the
//! configuration DeLTA's preset for the ROI's shape (`mothermachine` for chambers, `2D` otherwise).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::AnalysisConfig;
use crate::ctc::{read_tracked_rois, CtcError, TrackedRoi};
use crate::error::Error;
use crate::lineage_pictures::is_chamber;
use crate::results::{CropBox, PositionResults, RoiResults, Stack};

/// The file beside an export's ROI folders that keeps the rest of the results file.
pub const LAYOUT_FILE: &str = "deltacell-position.toml";

/// What a results file holds beyond the CTC folders' labels and tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionLayout {
    /// The position's number in the movie.
    pub position_nb: u32,
    /// `[height, width]` of the movie's frames, pixels.
    pub shape: [usize; 2],
    /// Rotation applied to the frames, degrees.
    pub rotate: f64,
    /// `[x, y]` drift per frame, pixels.
    pub drift: Vec<[i64; 2]>,
    /// The movie's frame number of frame 0.
    pub first_frame: i32,
    /// The configuration (DeLTA's JSON).
    pub config: String,
    /// The program that analysed the movie.
    pub version: String,
    /// Each model's hash (`seg`, `track`, `rois`), as the results file recorded them.
    #[serde(default)]
    pub model_hashes: BTreeMap<String, String>,
    /// One entry per ROI folder.
    pub roi: Vec<RoiLayout>,
}

/// Where one ROI folder's ROI lies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoiLayout {
    /// The ROI's folder name (`roi00`, …).
    pub folder: String,
    /// The ROI's number.
    pub roi_nb: u32,
    /// `[xtl, ytl, xbr, ybr]` in the corrected frame, pixels.
    pub bbox: [i64; 4],
}

impl PositionLayout {
    /// The layout of a results file whose ROIs are exported to `folders` (in ROI order).
    pub fn of(position: &PositionResults, folders: &[String]) -> Self {
        PositionLayout {
            position_nb: position.position_nb,
            shape: [position.shape.0, position.shape.1],
            rotate: position.rotate,
            drift: position.drift.iter().map(|&(x, y)| [x, y]).collect(),
            first_frame: position.rois.first().map_or(0, |r| r.first_frame),
            config: position.config.clone(),
            version: position.version.clone(),
            model_hashes: position
                .rois
                .first()
                .map(|r| r.model_hashes.iter().cloned().collect())
                .unwrap_or_default(),
            roi: position
                .rois
                .iter()
                .zip(folders)
                .map(|(r, f)| RoiLayout {
                    folder: f.clone(),
                    roi_nb: r.roi_nb,
                    bbox: [r.bbox.xtl, r.bbox.ytl, r.bbox.xbr, r.bbox.ybr],
                })
                .collect(),
        }
    }

    /// Writes the layout as `dir/deltacell-position.toml` (atomically).
    ///
    /// # Errors
    /// Writing the file.
    pub fn write(&self, dir: &Path) -> Result<(), CtcError> {
        let text = toml::to_string(self).map_err(|e| {
            CtcError::Results(Box::new(Error::ConfigFile {
                path: dir.join(LAYOUT_FILE),
                problem: e.to_string(),
            }))
        })?;
        let text = format!(
            "# deltacell: what the results file held besides these CTC folders \
             (`deltacell import-ctc` reads it back)\n{text}"
        );
        deltacell_data::output::write_bytes(dir.join(LAYOUT_FILE), text.as_bytes())?;
        Ok(())
    }

    /// Reads `dir/deltacell-position.toml`; `None` when there is none.
    ///
    /// # Errors
    /// A layout file that cannot be read or parsed (named).
    pub fn read(dir: &Path) -> Result<Option<Self>, CtcError> {
        let path = dir.join(LAYOUT_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| deltacell_data::error::Error::io(&path, e))?;
        toml::from_str(&text).map(Some).map_err(|e| {
            CtcError::Results(Box::new(Error::ConfigFile {
                path,
                problem: e.to_string(),
            }))
        })
    }
}

fn invalid(roi: u32, problem: String) -> CtcError {
    CtcError::Results(Box::new(Error::InvalidResults { roi, problem }))
}

/// One ROI's results from its tracked labels: zero images, no fluorescence, the labels'
/// foreground as segmentation, features measured from the labels.
fn roi_results(
    roi_nb: u32,
    tracked: TrackedRoi,
    bbox: CropBox,
    position: &PositionResults,
    model_hashes: &[(String, String)],
    first_frame: i32,
) -> Result<RoiResults, CtcError> {
    let frames = tracked.labels.len();
    let (h, w) = tracked.labels.first().map_or((0, 0), |l| l.shape());
    let mut labels = Vec::with_capacity(frames * h * w);
    for (t, l) in tracked.labels.iter().enumerate() {
        if l.shape() != (h, w) {
            return Err(invalid(
                roi_nb,
                format!("label image {t} is {:?}, image 0 {:?}", l.shape(), (h, w)),
            ));
        }
        for &v in l.as_slice() {
            labels.push(
                u16::try_from(v)
                    .map_err(|_| invalid(roi_nb, format!("cell id {v} does not fit 16 bits")))?,
            );
        }
    }
    let seg: Vec<u8> = labels.iter().map(|&v| u8::from(v != 0)).collect();
    let stack_err = || invalid(roi_nb, "stacks of inconsistent sizes".into());
    let mut roi = RoiResults {
        roi_nb,
        bbox,
        // The segmentation is the labels' foreground, at their size.
        scaling: [1.0, 1.0],
        config: position.config.clone(),
        version: position.version.clone(),
        model_hashes: model_hashes.to_vec(),
        first_frame,
        img: Stack::zeros(frames, h, w),
        fluo_channels: Vec::new(),
        fluo: Stack::from_vec(0, h, w, Vec::new()).ok_or_else(stack_err)?,
        seg: Stack::from_vec(frames, h, w, seg).ok_or_else(stack_err)?,
        labels: Stack::from_vec(frames, h, w, labels).ok_or_else(stack_err)?,
        lineage: tracked.lineage,
        features: BTreeMap::new(),
    };
    crate::features::recompute(&mut roi).map_err(|e| CtcError::Results(Box::new(e)))?;
    roi.check().map_err(|e| CtcError::Results(Box::new(e)))?;
    Ok(roi)
}

/// A results file's content from a CTC folder or a folder of them (one ROI each), with
/// [`LAYOUT_FILE`] where `path` has one (see the module's documentation for what is kept).
///
/// # Errors
/// As [`read_tracked_rois`]; a layout file that names other folders than there are; cell ids
/// above 16 bits; labels that disagree with the lineage.
pub fn results_from_ctc(path: &Path) -> Result<PositionResults, CtcError> {
    let rois = read_tracked_rois(path)?;
    let layout = if path.is_dir() {
        PositionLayout::read(path)?
    } else {
        None
    };
    let (h, w) = rois
        .first()
        .and_then(|(_, r)| r.labels.first())
        .map_or((0, 0), |l| l.shape());
    let mut position = match &layout {
        Some(l) => PositionResults {
            position_nb: l.position_nb,
            rotate: l.rotate,
            shape: (l.shape[0], l.shape[1]),
            config: l.config.clone(),
            drift: l.drift.iter().map(|d| (d[0], d[1])).collect(),
            version: l.version.clone(),
            rois: Vec::new(),
        },
        None => {
            let preset = if is_chamber((h, w)) {
                "mothermachine"
            } else {
                "2D"
            };
            PositionResults {
                position_nb: 0,
                rotate: 0.0,
                shape: (h, w),
                config: AnalysisConfig::preset(preset)
                    .map_err(|e| CtcError::Results(Box::new(e)))?
                    .to_json(),
                drift: Vec::new(),
                version: crate::pipeline::version(),
                rois: Vec::new(),
            }
        }
    };
    let first_frame = layout.as_ref().map_or(0, |l| l.first_frame);
    // DeLTA 3 reads a hash for every model of the configuration.
    let model_hashes: Vec<(String, String)> = match &layout {
        Some(l) => l.model_hashes.clone().into_iter().collect(),
        None => serde_json::from_str::<serde_json::Value>(&position.config)
            .ok()
            .and_then(|c| c.get("models")?.as_object().cloned())
            .into_iter()
            .flat_map(|models| models.into_iter().map(|(name, _)| name))
            .map(|m| (m, "none (imported from CTC folders)".to_string()))
            .collect(),
    };
    for (i, (name, tracked)) in rois.into_iter().enumerate() {
        let (rh, rw) = tracked.labels.first().map_or((0, 0), |l| l.shape());
        let (roi_nb, bbox) = match &layout {
            Some(l) => {
                let r = l.roi.iter().find(|r| r.folder == name).ok_or_else(|| {
                    invalid(
                        i as u32,
                        format!(
                            "{}: no entry for ROI folder `{name}`",
                            path.join(LAYOUT_FILE).display()
                        ),
                    )
                })?;
                let b = CropBox {
                    xtl: r.bbox[0],
                    ytl: r.bbox[1],
                    xbr: r.bbox[2],
                    ybr: r.bbox[3],
                };
                if b.shape() != (rh as i64, rw as i64) {
                    return Err(invalid(
                        r.roi_nb,
                        format!(
                            "{}: box {:?} of `{name}` is not the size of its labels {:?}",
                            path.join(LAYOUT_FILE).display(),
                            r.bbox,
                            (rh, rw)
                        ),
                    ));
                }
                (r.roi_nb, b)
            }
            None => (
                i as u32,
                CropBox {
                    xtl: 0,
                    ytl: 0,
                    xbr: rw as i64,
                    ybr: rh as i64,
                },
            ),
        };
        let roi = roi_results(roi_nb, tracked, bbox, &position, &model_hashes, first_frame)?;
        position.rois.push(roi);
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctc::{to_ctc, write_ctc, CtcLayout};
    use crate::lineage::Lineage;
    use deltacell_data::image::{Labels, Plane};

    /// A chamber: cell 1 (rows 2–9) divides at frame 2 into itself (top) and cell 2.
    fn chamber() -> TrackedRoi {
        let mut lineage = Lineage::default();
        let one = lineage.new_cell(0, None);
        lineage.extend(one, 1);
        lineage.extend(one, 2);
        let two = lineage.new_cell(2, Some(one));
        let (h, w) = (24, 8);
        let frame = |t: usize| {
            let mut p = Plane::filled(h, w, 0u32);
            for r in 2..20 {
                for c in 2..6 {
                    let id = if t >= 2 && r >= 11 { two } else { one };
                    if t < 2 || r != 10 {
                        p.set(r, c, id);
                    }
                }
            }
            Labels::from_plane(p)
        };
        TrackedRoi {
            lineage,
            labels: (0..3).map(frame).collect(),
        }
    }

    #[test]
    fn a_ctc_folder_becomes_results_with_the_same_cells_and_measured_features() {
        let dir = tempfile::tempdir().unwrap();
        let roi = chamber();
        write_ctc(
            &dir.path().join("roi00"),
            &to_ctc(&roi).unwrap(),
            CtcLayout::Result,
        )
        .unwrap();
        let position = results_from_ctc(dir.path()).unwrap();
        assert_eq!(position.rois.len(), 1);
        let r = &position.rois[0];
        assert_eq!(r.lineage, roi.lineage);
        assert_eq!(r.bbox.shape(), (24, 8));
        assert_eq!(r.labels.frame(2)[12 * 8 + 3], 2);
        // Features for every frame of every cell, measured from the labels: cell 1 is 18 rows
        // long before the division, about half after.
        let f1 = &r.features[&1];
        assert_eq!(f1.len(), 3);
        assert!(f1[0].length > 14.0 && f1[2].length < 10.0, "{f1:?}");
        // Without a layout file: position 0, a chamber's preset, a stand-in hash per model.
        assert_eq!(position.position_nb, 0);
        let names: Vec<&str> = r.model_hashes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["rois", "seg", "track"]);
    }

    #[test]
    fn the_layout_file_restores_boxes_and_a_wrong_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_ctc(
            &dir.path().join("roi00"),
            &to_ctc(&chamber()).unwrap(),
            CtcLayout::Result,
        )
        .unwrap();
        let mut layout = PositionLayout {
            position_nb: 7,
            shape: [100, 50],
            rotate: 0.5,
            drift: vec![[0, 0], [1, -1], [2, 0]],
            first_frame: 4,
            config: "{}".into(),
            version: "test".into(),
            model_hashes: BTreeMap::from([("seg".to_string(), "abc".to_string())]),
            roi: vec![RoiLayout {
                folder: "roi00".into(),
                roi_nb: 3,
                bbox: [10, 20, 18, 44],
            }],
        };
        layout.write(dir.path()).unwrap();
        let position = results_from_ctc(dir.path()).unwrap();
        assert_eq!(
            PositionLayout::read(dir.path()).unwrap(),
            Some(layout.clone())
        );
        assert_eq!(position.position_nb, 7);
        assert_eq!(position.drift[1], (1, -1));
        assert_eq!(position.rois[0].roi_nb, 3);
        assert_eq!(position.rois[0].bbox.xtl, 10);
        assert_eq!(position.rois[0].first_frame, 4);
        assert_eq!(
            position.rois[0].model_hashes,
            vec![("seg".into(), "abc".into())]
        );
        layout.roi[0].bbox = [10, 20, 30, 44];
        layout.write(dir.path()).unwrap();
        let e = results_from_ctc(dir.path()).unwrap_err().to_string();
        assert!(e.contains(LAYOUT_FILE) && e.contains("not the size"), "{e}");
        layout.roi[0].folder = "other".into();
        layout.write(dir.path()).unwrap();
        let e = results_from_ctc(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no entry for ROI folder `roi00`"), "{e}");
    }
}
