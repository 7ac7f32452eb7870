//! Pretrained models that ship with deltacell, the starting points of fine-tuning:
//! `deltacell train --init-from builtin:NAME`, the Python package's `init_from="builtin:NAME"`,
//! and the `init_from` key of a model's configuration (the `2D-cpu` preset's default).
//!
//! DeLTA's released models are one start (`assets fetch` + `import-keras`), but they are DeLTA's
//! to download and were trained on DeLTA's images. These are deltacell's own: compact U-Nets
//! trained on deltacell's synthetic phase-contrast data ([`deltacell_data::synth`]: packed
//! colonies with the phase-contrast halo, texture, illumination and noise drawn per image), so
//! that the minutes of training a CPU affords go to the lab's own images instead of to learning
//! what a cell is. Each is embedded in the library (a few megabytes), with the commands that
//! made it ([`Builtin::recipe`]) and the SHA-256 of its weights ([`Builtin::sha256`]): training
//! is bit-for-bit reproducible for the same thread count and instruction set
//! ([`crate::conv::isa`]), so the recipe run again on such a machine gives the same file.
//!
//! ```
//! use deltacell_nn::builtin;
//! let m = builtin::get("colony-2d")?;
//! assert_eq!(m.info()?.architecture.filters, vec![16, 32, 64, 128, 256]);
//! assert!(builtin::get("colony-3d").unwrap_err().to_string().contains("colony-2d"));
//! assert_eq!(builtin::name_in("builtin:colony-2d".as_ref()), Some("colony-2d"));
//! assert_eq!(builtin::name_in("runs/seg".as_ref()), None);
//! # Ok::<(), deltacell_nn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::run_dir::ModelInfo;
use crate::unet::Unet;

/// The prefix that names a built-in model where a run folder is expected (`builtin:NAME`).
pub const PREFIX: &str = "builtin:";

/// The most images [`Builtin::write_training_images`] writes (the `rehearsal` key's bound).
pub const MAX_TRAINING_IMAGES: usize = 1000;

/// A pretrained model embedded in the library.
#[derive(Debug)]
pub struct Builtin {
    /// Its name (`builtin:NAME`).
    pub name: &'static str,
    /// One line: what it segments, how it was trained.
    pub description: &'static str,
    /// The commands that made it (run from a checkout's root with a release build).
    pub recipe: &'static str,
    /// SHA-256 of [`Builtin::weights`], lowercase hex.
    pub sha256: &'static str,
    /// Its `model.toml`.
    model_toml: &'static str,
    /// Its `model.safetensors`.
    weights: &'static [u8],
    /// The synthetic set it was trained on, as its recipe makes it.
    training_set: SyntheticSet,
}

/// A synthetic training set as a built-in model's recipe makes it: `deltacell synth --kind
/// KIND --seed SEED` and `deltacell weights --kind seg2d --classweights A,B`.
#[derive(Clone, Copy, Debug)]
struct SyntheticSet {
    kind: deltacell_data::synth::SynthKind,
    seed: u64,
    /// `seg_weights_2D`'s class weights (cells, gaps).
    classweights: (f32, f32),
}

/// Every built-in model.
pub const MODELS: &[Builtin] = &[Builtin {
    name: "colony-2d",
    description: "2-D agar-pad colonies, segmentation: compact U-Net (filters 16…256, 1.9 M \
                  weights) trained on 300 synthetic colonies (deltacell synth 2d-seg), 256² \
                  crops, min–max scaling",
    recipe: include_str!("../builtin/colony-2d/recipe.sh"),
    sha256: include_str!("../builtin/colony-2d/model.safetensors.sha256"),
    model_toml: include_str!("../builtin/colony-2d/model.toml"),
    weights: include_bytes!("../builtin/colony-2d/model.safetensors"),
    training_set: SyntheticSet {
        kind: deltacell_data::synth::SynthKind::TwoDSeg,
        seed: 7,
        classweights: (1.0, 3.0),
    },
}];

/// The built-in model called `name`; an error listing the known names otherwise.
pub fn get(name: &str) -> Result<&'static Builtin> {
    MODELS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::Config {
            path: PathBuf::from(format!("{PREFIX}{name}")),
            message: format!(
                "no built-in model {name:?}; built-in models: {}",
                MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
            ),
        })
}

/// The built-in model's name when `path` reads `builtin:NAME`, `None` for any other path.
pub fn name_in(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(PREFIX)
}

impl Builtin {
    /// The model's `model.toml`.
    pub fn info(&self) -> Result<ModelInfo> {
        toml::from_str(self.model_toml).map_err(|e| Error::Config {
            path: self.path(),
            message: format!("model.toml: {e}"),
        })
    }

    /// The model on `device`, with its `model.toml`; the weights are checked against
    /// [`Builtin::sha256`] first.
    pub fn load(&self, device: &Device) -> Result<(Unet, ModelInfo)> {
        let hash: String = Sha256::digest(self.weights)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if hash != self.sha256.trim() {
            return Err(Error::Weights {
                path: self.path(),
                message: format!("weights' SHA-256 {hash}, expected {}", self.sha256.trim()),
            });
        }
        let info = self.info()?;
        let model = crate::run_dir::model_from_bytes(
            self.weights.to_vec(),
            &info.architecture,
            device,
            &self.path(),
        )?;
        Ok((model, info))
    }

    /// Writes the first `n` images of the synthetic set the model was trained on into the empty
    /// or missing folder `out` (`img/`, `seg/`, `wei/`): the same files its recipe writes
    /// first, for rehearsal (the `rehearsal` key of a model's configuration). `n` in
    /// `1..=`[`MAX_TRAINING_IMAGES`].
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let out = dir.path().join("rehearsal");
    /// deltacell_nn::builtin::get("colony-2d")?.write_training_images(1, &out)?;
    /// assert_eq!(std::fs::read_dir(out.join("wei"))?.filter(|e| {
    ///     e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
    /// }).count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_training_images(&self, n: usize, out: &Path) -> Result<()> {
        if n == 0 || n > MAX_TRAINING_IMAGES {
            return Err(Error::Config {
                path: self.path(),
                message: format!(
                    "{n} training images asked for; between 1 and {}",
                    MAX_TRAINING_IMAGES
                ),
            });
        }
        let set = self.training_set;
        deltacell_data::synth::ensure_empty_output(out)?;
        deltacell_data::synth::generate(set.kind, n, set.seed, out, &|_, _| {})?;
        let weights = deltacell_data::weights::WeightRecipe::Seg2d {
            classweights: set.classweights,
        };
        deltacell_data::wei::make_weights(out, &weights, false, &|_, _| {})?;
        Ok(())
    }

    /// `builtin:NAME`, as a path for messages.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("{PREFIX}{}", self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_model_loads_and_matches_its_checksum() {
        let device = crate::device::cpu();
        for m in MODELS {
            let (model, info) = m.load(&device).unwrap();
            assert_eq!(
                info.rescale,
                Some(deltacell_data::io::Rescale::MinMax),
                "{}",
                m.name
            );
            // The embedded weights are the model's own bytes (canonical safetensors).
            assert_eq!(
                crate::run_dir::model_bytes(&model).unwrap(),
                m.weights,
                "{}",
                m.name
            );
            assert!(m.recipe.contains("deltacell"), "{}", m.name);
        }
    }
}
