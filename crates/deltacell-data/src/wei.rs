//! The `wei/` folder of a training set: DeLTA's `make_weights` (one weight map per mask, written
//! as 8-bit PNGs normalised to their maximum) and deltacell's manifest `wei/manifest.json`, which
//! records the recipe and the SHA-256 of every source mask so that weights made from masks that
//! have changed since are found ([`stale_weights`]) and refused by every command that reads them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::image::WeightMap;
use crate::io;
use crate::weights::WeightRecipe;

/// The manifest `make_weights` writes to `wei/manifest.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeightsManifest {
    /// Format version (1).
    pub version: u32,
    /// The function and its parameters (written as `{"function": "seg_weights", …}`).
    #[serde(with = "recipe_record")]
    pub recipe: WeightRecipe,
    /// Per weight file name: the SHA-256 (hex) of its source mask file (for tracking weights:
    /// of the `mot_dau/` file's bytes followed by the `segall/` file's bytes).
    pub sources: BTreeMap<String, String>,
}

/// The manifest's spelling of a [`WeightRecipe`]: an object tagged with DeLTA's function name
/// (`{"function": "seg_weights", "classweights": …, "w0": …, "sigma": …}`), the format every
/// `wei/manifest.json` has had.
mod recipe_record {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::weights::{SegWeightParams, WeightRecipe};

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "function", rename_all = "snake_case")]
    enum Record {
        SegWeights(SegWeightParams),
        SegWeights2d { classweights: (f32, f32) },
        TrackingWeights { halo_distance: f32 },
    }

    pub fn serialize<S: Serializer>(r: &WeightRecipe, s: S) -> Result<S::Ok, S::Error> {
        match *r {
            WeightRecipe::Seg(p) => Record::SegWeights(p),
            WeightRecipe::Seg2d { classweights } => Record::SegWeights2d { classweights },
            WeightRecipe::Track { halo_distance } => Record::TrackingWeights { halo_distance },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WeightRecipe, D::Error> {
        Ok(match Record::deserialize(d)? {
            Record::SegWeights(p) => WeightRecipe::Seg(p),
            Record::SegWeights2d { classweights } => WeightRecipe::Seg2d { classweights },
            Record::TrackingWeights { halo_distance } => WeightRecipe::Track { halo_distance },
        })
    }
}

/// File name of the manifest inside `wei/`.
pub const MANIFEST_NAME: &str = "manifest.json";

/// Sorted names of the image files (`.png`, `.tif`, `.tiff`) directly in `dir`.
fn image_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if !path.is_file() || !io::is_image_path(&path) {
            continue;
        }
        let Some(os_name) = path.file_name() else {
            continue;
        };
        // The manifest records names as text: a name that is not UTF-8 is refused by name
        // rather than skipped.
        let Some(name) = os_name.to_str() else {
            return Err(Error::FileName {
                name: path.display().to_string(),
                message: "the file name is not valid UTF-8; rename the file".into(),
            });
        };
        if !name.starts_with('.') {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Fingerprint of the source(s) of weight file `name`.
fn fingerprint(root: &Path, recipe: &WeightRecipe, name: &str) -> Result<String> {
    let main = read_bytes(&root.join(recipe.source_folder()).join(name))?;
    match recipe {
        WeightRecipe::Track { .. } => {
            let segall = read_bytes(&root.join("segall").join(name))?;
            Ok(sha256_hex(&[&main, &segall]))
        }
        _ => Ok(sha256_hex(&[&main])),
    }
}

/// Computes the weight map of one file of the training set.
fn weights_for(root: &Path, recipe: &WeightRecipe, name: &str) -> Result<WeightMap> {
    let src = root.join(recipe.source_folder()).join(name);
    let mask = io::read_binary_mask(&src)?;
    let segall = match recipe {
        WeightRecipe::Track { .. } => {
            let other = root.join("segall").join(name);
            let segall = io::read_binary_mask(&other)?;
            if segall.shape() != mask.shape() {
                return Err(Error::ShapeMismatch {
                    context: format!("{} vs {}", src.display(), other.display()),
                    expected: mask.shape(),
                    found: segall.shape(),
                });
            }
            Some(segall)
        }
        _ => None,
    };
    recipe.compute(&mask, segall.as_ref())
}

/// DeLTA's `make_weights(training_dataset_path, weights_function)`: computes the weight map of
/// every mask of the training set at `set_root` and writes it to `wei/<same file name>` as an
/// 8-bit image normalised by its maximum (`floor(w / max · 255)`, see
/// [`io::write_weights_u8`]), in parallel.
///
/// Sources: `seg/` for [`WeightRecipe::Seg`] and [`WeightRecipe::Seg2d`];
/// `mot_dau/` with the `segall/` file of the same name for [`WeightRecipe::Track`].
/// Masks are read with [`io::read_binary_mask`] (more than two values are refused). Also writes `wei/manifest.json`
/// ([`WeightsManifest`]).
///
/// An existing `wei/` is refused ([`Error::WeightsExist`]) unless `force`, in which case files of
/// the same names are overwritten (others are left alone). `progress(done, total)` is called
/// after each file. Returns the number of weight files written. The first failing file stops the
/// run with an error naming it; a `wei/` folder created by the failed run is removed again.
pub fn make_weights(
    set_root: impl AsRef<Path>,
    recipe: &WeightRecipe,
    force: bool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize> {
    let root = set_root.as_ref();
    recipe.validate()?;
    let src_dir = root.join(recipe.source_folder());
    let mut problems = Vec::new();
    if !src_dir.is_dir() {
        problems.push(format!("{}: folder is missing", src_dir.display()));
    }
    if let WeightRecipe::Track { .. } = recipe {
        let segall = root.join("segall");
        if !segall.is_dir() {
            problems.push(format!("{}: folder is missing", segall.display()));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Layout {
            root: root.to_path_buf(),
            problems,
        });
    }
    let wei = root.join("wei");
    let existed = wei.exists();
    if existed && !force {
        return Err(Error::WeightsExist { path: wei });
    }
    let names = image_names(&src_dir)?;
    std::fs::create_dir_all(&wei).map_err(|e| Error::io(&wei, e))?;
    crate::output::clean_stale_temp_files(&wei)?;
    let result = write_all_weights(root, &wei, &names, recipe, progress);
    if result.is_err() && !existed {
        // Everything in `wei/` is from this failed run: leave the set as it was, so that the
        // next run is not refused.
        let _ = std::fs::remove_dir_all(&wei);
    }
    result
}

fn write_all_weights(
    root: &Path,
    wei: &Path,
    names: &[String],
    recipe: &WeightRecipe,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize> {
    let total = names.len();
    let done = AtomicUsize::new(0);
    let fingerprints: Vec<(String, String)> = names
        .par_iter()
        .map(|name| -> Result<(String, String)> {
            let fp = fingerprint(root, recipe, name)?;
            let weights = weights_for(root, recipe, name)?;
            io::write_weights_u8(wei.join(name), &weights)?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok((name.clone(), fp))
        })
        .collect::<Result<_>>()?;
    let manifest = WeightsManifest {
        version: 1,
        recipe: *recipe,
        sources: fingerprints.into_iter().collect(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Config {
        source_name: wei.join(MANIFEST_NAME).display().to_string(),
        message: e.to_string(),
    })?;
    io::write_atomic(wei.join(MANIFEST_NAME), |w| {
        std::io::Write::write_all(w, &json)
    })?;
    Ok(total)
}

/// Reads `wei/manifest.json` of the training set at `set_root`, `None` when there is none.
pub fn read_manifest(set_root: impl AsRef<Path>) -> Result<Option<WeightsManifest>> {
    let path = set_root.as_ref().join("wei").join(MANIFEST_NAME);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = read_bytes(&path)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Config {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })
}

/// The weight files of the training set at `set_root` that are stale: missing from `wei/`, or
/// made from a source mask that has changed since (its SHA-256 differs from the manifest's), or
/// absent from the manifest. Sorted file names; empty when the set has no `wei/` folder (weights
/// are optional).
///
/// Without a manifest (weights made by DeLTA) only missing files can be detected; the source
/// folder is then `mot_dau/` when it exists, else `seg/`.
pub fn stale_weights(set_root: impl AsRef<Path>) -> Result<Vec<String>> {
    let root = set_root.as_ref();
    let wei = root.join("wei");
    if !wei.is_dir() {
        return Ok(Vec::new());
    }
    let manifest = read_manifest(root)?;
    let folder = match &manifest {
        Some(m) => m.recipe.source_folder(),
        None if root.join("mot_dau").is_dir() => "mot_dau",
        None => "seg",
    };
    let src_dir = root.join(folder);
    if !src_dir.is_dir() {
        return Ok(Vec::new());
    }
    let names = image_names(&src_dir)?;
    // Weights are matched to masks by stem, as the datasets match them (DeLTA's own `wei/`
    // files may have another extension than the masks).
    let stem = |name: &str| Path::new(name).file_stem().map(|s| s.to_os_string());
    let weight_stems: std::collections::BTreeSet<_> =
        image_names(&wei)?.iter().filter_map(|n| stem(n)).collect();
    let stale: Vec<Option<String>> = names
        .par_iter()
        .map(|name| -> Result<Option<String>> {
            if !stem(name).is_some_and(|s| weight_stems.contains(&s)) {
                return Ok(Some(name.clone()));
            }
            let Some(m) = &manifest else {
                return Ok(None);
            };
            let fresh = match m.sources.get(name) {
                Some(fp) => *fp == fingerprint(root, &m.recipe, name)?,
                None => false,
            };
            Ok((!fresh).then(|| name.clone()))
        })
        .collect::<Result<_>>()?;
    Ok(stale.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Labels, Mask, Plane};
    use crate::weights::{seg_weights, SegWeightParams};
    use std::path::Path;

    fn write_chamber_set(root: &Path, n: usize) {
        std::fs::create_dir_all(root.join("seg")).unwrap();
        for i in 0..n {
            let m = Mask::from_fn(64, 16, |r, c| {
                (2..14).contains(&c) && ((4 + i..20).contains(&r) || (22..40).contains(&r))
            });
            io::write_mask(root.join("seg").join(format!("m{i}.png")), &m).unwrap();
        }
    }

    #[test]
    fn make_weights_writes_normalised_pngs_and_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        write_chamber_set(dir.path(), 3);
        let calls = AtomicUsize::new(0);
        let recipe = WeightRecipe::Seg(SegWeightParams::default());
        let n = make_weights(dir.path(), &recipe, false, &|_, total| {
            assert_eq!(total, 3);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!((n, calls.load(Ordering::Relaxed)), (3, 3));
        let mask = io::read_mask(dir.path().join("seg/m1.png")).unwrap();
        let expected = seg_weights(&mask, &SegWeightParams::default());
        let max = expected.max();
        let raw = io::read_raw(dir.path().join("wei/m1.png")).unwrap();
        let io::RawPixels::U8(saved) = raw else {
            panic!("8-bit expected")
        };
        for (s, e) in saved.as_slice().iter().zip(expected.as_slice()) {
            assert_eq!(*s, (e / max * 255.0) as u8);
        }
        let manifest = read_manifest(dir.path()).unwrap().unwrap();
        assert_eq!(manifest.recipe, recipe);
        assert_eq!(manifest.sources.len(), 3);
        assert!(stale_weights(dir.path()).unwrap().is_empty());

        // Refused a second time, accepted with force.
        let again = make_weights(dir.path(), &recipe, false, &|_, _| {});
        assert!(matches!(again, Err(Error::WeightsExist { .. })));
        make_weights(dir.path(), &recipe, true, &|_, _| {}).unwrap();

        // A changed mask and a missing weight file are stale.
        let changed = Mask::from_fn(64, 16, |r, _| r < 10);
        io::write_mask(dir.path().join("seg/m2.png"), &changed).unwrap();
        std::fs::remove_file(dir.path().join("wei/m0.png")).unwrap();
        assert_eq!(stale_weights(dir.path()).unwrap(), vec!["m0.png", "m2.png"]);
    }

    #[test]
    fn make_weights_tracking_names_mismatched_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["mot_dau", "segall"] {
            std::fs::create_dir_all(root.join(f)).unwrap();
        }
        io::write_mask(root.join("mot_dau/a.png"), &Mask::zeros(32, 16)).unwrap();
        io::write_mask(root.join("segall/a.png"), &Mask::zeros(32, 17)).unwrap();
        let recipe = WeightRecipe::Track {
            halo_distance: 50.0,
        };
        let err = make_weights(root, &recipe, false, &|_, _| {}).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }));
        assert!(err.to_string().contains("a.png"), "{err}");
        let missing = make_weights(dir.path().join("nowhere"), &recipe, true, &|_, _| {});
        assert!(matches!(missing, Err(Error::Layout { .. })));
    }

    #[test]
    fn weights_refuse_label_images_and_photos_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("seg")).unwrap();
        // 0/255 binary.
        let m = Mask::from_fn(8, 8, |r, _| r > 3);
        io::write_mask(root.join("seg/bin.png"), &m).unwrap();
        let recipe = WeightRecipe::Seg2d {
            classweights: (1.0, 1.0),
        };
        assert_eq!(make_weights(root, &recipe, false, &|_, _| {}).unwrap(), 1);
        // Labels 0, 1, 2 (three values): refused, like `check` refuses them.
        let l = Labels::from_plane(Plane::from_fn(8, 8, |r, c| {
            if r < 4 {
                0
            } else if c < 4 {
                1
            } else {
                2
            }
        }));
        io::write_labels(root.join("seg/labels.png"), &l).unwrap();
        let err = make_weights(root, &recipe, true, &|_, _| {}).unwrap_err();
        assert!(matches!(err, Error::NotBinary { .. }), "{err}");
        assert!(err.to_string().contains("labels.png"), "{err}");
        // A "photo": many values.
        std::fs::remove_file(root.join("seg/labels.png")).unwrap();
        let photo = Plane::from_fn(8, 8, |r, c| (r * 8 + c) as u8 + 10);
        io::write_png_u8(root.join("seg/photo.png"), &photo).unwrap();
        let err = make_weights(root, &recipe, true, &|_, _| {}).unwrap_err();
        assert!(err.to_string().contains("photo.png"), "{err}");
    }
}
