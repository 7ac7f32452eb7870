//! DeLTA's Keras models, in and out: `deltacell import-keras` ([`import()`], [`read`],
//! [`load_into`]) and `deltacell export-keras` ([`export_keras`]).
//!
//! Both formats are read and written without Python or the HDF5 C library (the pure-Rust
//! `hdf5-pure` reader and writer):
//! * **legacy HDF5** (`.hdf5` / `.h5`), what DeLTA 2.0.7's `model.save` writes and the format of
//!   its released models (`unet_moma_seg.hdf5`, …): `model_weights/<layer>/<layer>/kernel[:0]`
//!   and `…/bias[:0]` (the `:0` suffix is written by Keras 2, not by Keras 3), and the model
//!   description as JSON in the root attribute `model_config`;
//! * **Keras 3** (`.keras`), a zip holding `config.json` (the model description) and
//!   `model.weights.h5`, whose groups are not named after the layers but after their class:
//!   `layers/conv2d`, `layers/conv2d_1`, … in the order of the layers in `config.json`, each
//!   with `vars/0` (kernel) and `vars/1` (bias).
//!
//! # Import
//!
//! Layer names are mapped onto [`crate::Unet`] for both of DeLTA's naming schemes (spec §3.1):
//!
//! | role | DeLTA 2.0.7 | DeLTA newest |
//! |---|---|---|
//! | encoder level l, conv 1/2 | `Level0_Conv2D_1/2`, `Level{l}_Contracting_Conv2D_1/2` | `Level{l}_Conv2D_1/2` |
//! | decoder level l, 2×2 conv after upsampling | `Level{l}_Expanding_Conv2D_1` | `Level{l}_Conv2D_3` |
//! | decoder level l, conv 1/2 after concatenation | `Level{l}_Expanding_Conv2D_2/3` | `Level{l}_Conv2D_4/5` |
//! | head (1×1 conv) | `true_output` | `true_output` (any single 1×1 conv to 1 channel) |
//!
//! Levels, filters per level and input channels are inferred from the weights and every shape
//! is checked against the U-Net topology. Keras kernels are `H×W×in×out` (HWIO); burn's are
//! `out×in×H×W` (OIHW).
//!
//! **Head.** DeLTA 2.0.7's models end in a sigmoid, the newest line's in logits. Only the
//! activation differs, so the imported network always outputs logits (the weights are the
//! pre-activation ones) and [`crate::infer::Predictor::predict_probabilities`] reproduces
//! DeLTA's sigmoid outputs for both; `model.toml` records `head = "logits"` for the imported
//! network and names the source head in its `preset` field, e.g.
//! `keras:unet_moma_seg.hdf5 (sigmoid head)`.
//!
//! # Export
//!
//! [`export_keras`] writes a run folder's best model as the Keras model DeLTA 2.0.7's
//! `unet_seg` / `unet_track` / `unet_rois` build, with DeLTA 2.0.7's layer names and order
//! (`true_input`, `Level0_Conv2D_1`, …, `Level{l}_Contracting_MaxPooling2D`, …,
//! `Level{l}_Expanding_UpSampling2D`, …, `true_output`) and its **sigmoid** output layer
//! (deltacell's head outputs logits; the same weights with Keras' `activation: "sigmoid"` give
//! DeLTA's probabilities). The file format follows the extension: `.hdf5`/`.h5` is a full
//! legacy-HDF5 model (`tf.keras.models.load_model(path, compile=False)`, and
//! `model.load_weights(path)` on DeLTA's constructors), `.keras` a Keras 3 zip
//! (`keras.saving.load_model(path, compile=False)`). The model description is what Keras 3
//! writes, reduced to the keys every Keras 3 release reads (no DType-policy objects, no
//! initializer arguments newer than `seed`, no `shared_object_id`); there is no optimizer, no
//! training configuration and no `date_saved`, so the bytes depend only on the run folder.

mod export;
mod import;
mod problem;

pub use export::{default_head, export_keras, ExportError, ExportOptions, Exported, KERAS_VERSION};
pub use import::{import, load_into, read, KerasUnet};

use std::path::Path;

/// A Keras model file's format: what an imported model came from, what an export writes
/// (chosen by the output's extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KerasFormat {
    /// `.hdf5` / `.h5`: a full model in Keras' legacy HDF5 format (`model.save("x.hdf5")`,
    /// DeLTA 2.0.7 and its released models).
    Hdf5,
    /// `.keras`: the Keras 3 zip (`model.save("x.keras")`).
    Keras3,
}

impl KerasFormat {
    /// The format for `path`'s extension (case-insensitive), if it is one.
    ///
    /// ```
    /// use deltacell_nn::keras::KerasFormat;
    /// assert_eq!(KerasFormat::from_path("a/m.H5".as_ref()), Some(KerasFormat::Hdf5));
    /// assert_eq!(KerasFormat::from_path("m.keras".as_ref()), Some(KerasFormat::Keras3));
    /// assert_eq!(KerasFormat::from_path("m.onnx".as_ref()), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "hdf5" | "h5" => Some(KerasFormat::Hdf5),
            "keras" => Some(KerasFormat::Keras3),
            _ => None,
        }
    }

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            KerasFormat::Hdf5 => "legacy HDF5 Keras model",
            KerasFormat::Keras3 => "Keras 3 model (.keras zip)",
        }
    }
}
