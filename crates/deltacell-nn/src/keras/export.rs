//! Writing a run folder's model as a Keras model (`deltacell export-keras`); see the
//! [module docs](super).
//!
//! The layer graph is DeLTA 2.0.7's `delta.model.unet` (no dropout), in the order Keras lists
//! its layers (`model.layers`), which is also the order `model.load_weights` pairs them in:
//!
//! ```text
//! true_input
//! Level0_Conv2D_1, Level0_Conv2D_2
//! for l in 1..levels:        Level{l}_Contracting_MaxPooling2D, _Conv2D_1, _Conv2D_2
//! for l in levels−2 down to 0: Level{l}_Expanding_UpSampling2D, _Conv2D_1 (2×2),
//!                            _Concatenate ([skip, up]), _Conv2D_2, _Conv2D_3
//! true_output (1×1; linear: logits, DeLTA 3; or sigmoid, DeLTA 2.0.7: see [`default_head`])
//! ```
//!
//! Legacy HDF5 layout (as Keras 3's `legacy_h5_format` writes it): root attributes `backend`,
//! `keras_version`, `model_config` (JSON); group `model_weights` with attributes `backend`,
//! `keras_version`, `layer_names`; one group per layer (`weight_names` attribute, empty for
//! layers without weights) holding `<layer>/kernel` and `<layer>/bias`; an empty
//! `top_level_model_weights` group.
//!
//! `.keras` layout: a zip (entries stored, timestamps 1980-01-01) of `metadata.json`,
//! `config.json` and `model.weights.h5`, whose groups are `vars` (the model) and
//! `layers/<class in snake case>[_k]/vars` with datasets `0` (kernel) and `1` (bias).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};
use serde_json::{json, Value};

use super::problem::Checked;
use super::KerasFormat;
use crate::run_dir::{Head, ModelInfo, RunDir, MODEL_FILE, MODEL_INFO_FILE};
use crate::unet::UnetSpec;

/// The Keras version written into the files: the release whose format they follow and that
/// the export is tested with (Keras 3 as shipped with TensorFlow 2.21).
pub const KERAS_VERSION: &str = "3.15.1";

/// The output layer's activation by default for a format: logits for `.keras` (the format
/// DeLTA 3 reads; its pipeline thresholds logits at 0), sigmoid for legacy HDF5 (DeLTA 2.0.7's
/// format; it thresholds probabilities).
///
/// ```
/// use deltacell_nn::keras::{default_head, KerasFormat};
/// use deltacell_nn::run_dir::Head;
/// assert_eq!(default_head(KerasFormat::Keras3), Head::Logits);
/// assert_eq!(default_head(KerasFormat::Hdf5), Head::Sigmoid);
/// ```
pub fn default_head(format: KerasFormat) -> Head {
    match format {
        KerasFormat::Keras3 => Head::Logits,
        KerasFormat::Hdf5 => Head::Sigmoid,
    }
}

/// The Keras activation of the output layer for `head` (`linear` or `sigmoid`).
fn head_activation(head: Head) -> &'static str {
    match head {
        Head::Logits => "linear",
        Head::Sigmoid => "sigmoid",
    }
}

/// Options of [`export_keras`].
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Input `[height, width]` declared in the Keras model. Default: the run's `input_size`
    /// (`model.toml`). Both must be multiples of 2^(levels−1).
    pub input_size: Option<[usize; 2]>,
    /// The output layer's activation: [`Head::Logits`] (DeLTA 3) or [`Head::Sigmoid`] (DeLTA
    /// 2.0.7). Default: [`default_head`] of the format.
    pub head: Option<Head>,
}

/// What [`export_keras`] wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The file written.
    pub path: PathBuf,
    /// Its format.
    pub format: KerasFormat,
    /// The architecture.
    pub spec: UnetSpec,
    /// The input `[height, width]` declared in the file.
    pub input_size: [usize; 2],
    /// The output layer's activation.
    pub head: Head,
    /// The file's size in bytes.
    pub bytes: usize,
}

/// Why an export was refused or failed. Nothing is written under the output's name then.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The run folder does not exist or holds no model.
    #[error(
        "{}: no model in this run folder ({missing} missing; train one with `deltacell train` or \
         convert a Keras file with `deltacell import-keras`)",
        run_dir.display()
    )]
    NoModel {
        /// The run folder.
        run_dir: PathBuf,
        /// What is missing (`the folder`, `model.toml`, `model.safetensors`).
        missing: String,
    },
    /// The output's extension names no Keras format.
    #[error(
        "{}: unknown extension (use .hdf5 or .h5 for a legacy HDF5 Keras model, .keras for a \
         Keras 3 zip)",
        path.display()
    )]
    UnknownExtension {
        /// The output path.
        path: PathBuf,
    },
    /// The input size does not fit the U-Net.
    #[error(
        "input size {height}×{width} does not fit a {levels}-level U-Net: both must be positive \
         multiples of {multiple} (2^(levels−1))"
    )]
    InputSize {
        /// Height asked for.
        height: usize,
        /// Width asked for.
        width: usize,
        /// Levels of the model.
        levels: usize,
        /// 2^(levels−1).
        multiple: usize,
    },
    /// The run folder's metadata could not be read.
    #[error(transparent)]
    RunDir(#[from] crate::error::Error),
    /// The weights file does not hold the model `model.toml` describes.
    #[error("{}: {message}", path.display())]
    Weights {
        /// `model.safetensors`.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The HDF5 data could not be assembled.
    #[error("assembling the HDF5 data: {0}")]
    Hdf5(#[from] hdf5_pure::Error),
    /// The `.keras` zip could not be assembled.
    #[error("assembling the .keras zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The file could not be written (the message names it).
    #[error(transparent)]
    Write(#[from] deltacell_data::Error),
}

/// Writes the best model of the run folder `run_dir` to `out` as a Keras model: legacy HDF5
/// for `.hdf5`/`.h5`, the Keras 3 zip for `.keras` (see the [module docs](super)).
///
/// Refused before anything is written: a run folder without `model.toml` or
/// `model.safetensors`, an unknown extension, an input size that is not a multiple of
/// 2^(levels−1). The file is written atomically (temporary file in the same folder, `fsync`,
/// rename) and its bytes depend only on the run folder's model and the options.
pub fn export_keras(
    run_dir: &Path,
    out: &Path,
    options: &ExportOptions,
) -> Result<Exported, ExportError> {
    let format = KerasFormat::from_path(out).ok_or_else(|| ExportError::UnknownExtension {
        path: out.to_path_buf(),
    })?;
    let head = options.head.unwrap_or(default_head(format));
    let (bytes, spec, input_size) = export_bytes(run_dir, format, options, head)?;
    deltacell_data::output::write_bytes(out, &bytes)?;
    Ok(Exported {
        path: out.to_path_buf(),
        format,
        spec,
        input_size,
        head,
        bytes: bytes.len(),
    })
}

/// The bytes [`export_keras`] writes, with the architecture and input size.
fn export_bytes(
    run_dir: &Path,
    format: KerasFormat,
    options: &ExportOptions,
    head: Head,
) -> Result<(Vec<u8>, UnetSpec, [usize; 2]), ExportError> {
    let no_model = |missing: &str| ExportError::NoModel {
        run_dir: run_dir.to_path_buf(),
        missing: missing.to_string(),
    };
    if !run_dir.is_dir() {
        return Err(no_model("the folder"));
    }
    let run = RunDir::open(run_dir)?;
    for file in [MODEL_INFO_FILE, MODEL_FILE] {
        if !run.file(file).is_file() {
            return Err(no_model(file));
        }
    }
    let info: ModelInfo = run.model_info()?;
    let spec = info.architecture.clone();
    spec.validate()?;
    let [height, width] = options.input_size.unwrap_or(info.input_size);
    if spec.check_input_size(height, width).is_err() {
        return Err(ExportError::InputSize {
            height,
            width,
            levels: spec.levels(),
            multiple: spec.size_multiple(),
        });
    }
    let weights_path = run.file(MODEL_FILE);
    let weights = std::fs::read(&weights_path).map_err(|e| crate::error::Error::Io {
        path: weights_path.clone(),
        source: e,
    })?;
    let tensors = Safetensors::parse(&weights).map_err(|message| ExportError::Weights {
        path: weights_path.clone(),
        message: message.0,
    })?;
    let layers = build_layers(&spec, [height, width], &tensors, head).map_err(|message| {
        ExportError::Weights {
            path: weights_path.clone(),
            message: message.0,
        }
    })?;
    let bytes = match format {
        KerasFormat::Hdf5 => legacy_hdf5(&layers)?,
        KerasFormat::Keras3 => keras_zip(&layers)?,
    };
    Ok((bytes, spec, [height, width]))
}

/// The tensors of a safetensors file (F32 only, what deltacell saves).
struct Safetensors<'a> {
    /// name → (shape, little-endian bytes).
    tensors: BTreeMap<String, (Vec<usize>, &'a [u8])>,
}

impl<'a> Safetensors<'a> {
    fn parse(bytes: &'a [u8]) -> Checked<Self> {
        let truncated = || "truncated or not a safetensors file".to_string();
        let mut length = [0u8; 8];
        length.copy_from_slice(bytes.get(..8).ok_or_else(truncated)?);
        let n = u64::from_le_bytes(length);
        let n = usize::try_from(n).map_err(|_| truncated())?;
        let header = bytes
            .get(8..8usize.checked_add(n).ok_or_else(truncated)?)
            .ok_or_else(truncated)?;
        let data = &bytes[8 + n..];
        let header: Value = serde_json::from_slice(header)
            .map_err(|e| format!("safetensors header is not JSON: {e}"))?;
        let header = header
            .as_object()
            .ok_or("safetensors header is not a JSON object")?;
        let mut tensors = BTreeMap::new();
        for (name, entry) in header {
            if name == "__metadata__" {
                continue;
            }
            let dtype = entry.get("dtype").and_then(Value::as_str).unwrap_or("?");
            if dtype != "F32" {
                return Err(format!("tensor {name} is {dtype}, expected F32").into());
            }
            let shape: Vec<usize> = entry
                .get("shape")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("tensor {name} without a shape"))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("tensor {name}: bad shape"))?;
            let offsets = entry
                .get("data_offsets")
                .and_then(Value::as_array)
                .filter(|o| o.len() == 2)
                .and_then(|o| Some((o[0].as_u64()? as usize, o[1].as_u64()? as usize)))
                .ok_or_else(|| format!("tensor {name}: bad data_offsets"))?;
            let raw = data
                .get(offsets.0..offsets.1)
                .ok_or_else(|| format!("tensor {name}: data beyond the end (truncated file?)"))?;
            if raw.len() != 4 * shape.iter().product::<usize>() {
                return Err(
                    format!("tensor {name}: {} bytes for shape {shape:?}", raw.len()).into(),
                );
            }
            tensors.insert(name.clone(), (shape, raw));
        }
        Ok(Safetensors { tensors })
    }

    /// The tensor `name`, checked against `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Checked<Vec<f32>> {
        let (found, raw) = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("no tensor {name} (not the model model.toml describes?)"))?;
        if found.as_slice() != shape {
            return Err(format!(
                "tensor {name} has shape {found:?}, model.toml's architecture needs {shape:?}"
            )
            .into());
        }
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// A convolution's weights in Keras' layout: kernel HWIO, bias.
struct ConvWeights {
    kernel_shape: [usize; 4],
    kernel: Vec<f32>,
    bias: Vec<f32>,
}

/// Reads burn's `{prefix}.weight` (OIHW) and `{prefix}.bias` and converts the kernel to HWIO.
fn conv_weights(
    t: &Safetensors<'_>,
    prefix: &str,
    cin: usize,
    cout: usize,
    k: usize,
) -> Checked<ConvWeights> {
    let w = t.get(&format!("{prefix}.weight"), &[cout, cin, k, k])?;
    let bias = t.get(&format!("{prefix}.bias"), &[cout])?;
    let mut kernel = vec![0f32; w.len()];
    for o in 0..cout {
        for i in 0..cin {
            for y in 0..k {
                for x in 0..k {
                    kernel[((y * k + x) * cin + i) * cout + o] = w[((o * cin + i) * k + y) * k + x];
                }
            }
        }
    }
    Ok(ConvWeights {
        kernel_shape: [k, k, cin, cout],
        kernel,
        bias,
    })
}

/// What a layer is.
enum Op {
    Input,
    Conv {
        filters: usize,
        kernel: usize,
        /// `relu` inside the network, `linear` or `sigmoid` for the output layer.
        activation: &'static str,
        weights: ConvWeights,
    },
    MaxPool,
    UpSample,
    Concat,
}

impl Op {
    fn class(&self) -> &'static str {
        match self {
            Op::Input => "InputLayer",
            Op::Conv { .. } => "Conv2D",
            Op::MaxPool => "MaxPooling2D",
            Op::UpSample => "UpSampling2D",
            Op::Concat => "Concatenate",
        }
    }
}

/// One Keras layer: name, operation, inputs (layer names) and output shape `[h, w, c]`.
struct Layer {
    name: String,
    op: Op,
    inputs: Vec<Port>,
    output: [usize; 3],
}

/// A layer's output as the next layers read it: the layer's name and its output shape
/// `[height, width, channels]`.
type Port = (String, [usize; 3]);

impl Layer {
    /// This layer's output, to be another layer's input.
    fn port(&self) -> Port {
        (self.name.clone(), self.output)
    }
}

/// DeLTA 2.0.7's U-Net as Keras layers, with the run's weights.
fn build_layers(
    spec: &UnetSpec,
    [height, width]: [usize; 2],
    t: &Safetensors<'_>,
    head: Head,
) -> Checked<Vec<Layer>> {
    let f = &spec.filters;
    let levels = f.len();
    let mut layers: Vec<Layer> = Vec::new();
    let size = |l: usize| (height >> l, width >> l);
    layers.push(Layer {
        name: "true_input".into(),
        op: Op::Input,
        inputs: vec![],
        output: [height, width, spec.input_channels],
    });
    let input = layers[0].port();
    // A 3×3 / 2×2 / 1×1 convolution of the previous layer.
    let conv = |layers: &mut Vec<Layer>,
                name: String,
                input: Port,
                prefix: String,
                cout: usize,
                k: usize,
                activation: &'static str|
     -> Checked<Port> {
        let [h, w, cin] = input.1;
        let weights = conv_weights(t, &prefix, cin, cout, k)?;
        layers.push(Layer {
            name: name.clone(),
            op: Op::Conv {
                filters: cout,
                kernel: k,
                activation,
                weights,
            },
            inputs: vec![input],
            output: [h, w, cout],
        });
        Ok((name, [h, w, cout]))
    };
    let mut prev = conv(
        &mut layers,
        "Level0_Conv2D_1".into(),
        input,
        "down.0.conv1".into(),
        f[0],
        3,
        "relu",
    )?;
    prev = conv(
        &mut layers,
        "Level0_Conv2D_2".into(),
        prev,
        "down.0.conv2".into(),
        f[0],
        3,
        "relu",
    )?;
    let mut skips = vec![prev.clone()];
    for l in 1..levels {
        let block = format!("Level{l}_Contracting");
        let (h, w) = size(l);
        let pool = format!("{block}_MaxPooling2D");
        let pool = Layer {
            name: pool,
            op: Op::MaxPool,
            inputs: vec![prev],
            output: [h, w, f[l - 1]],
        };
        let pooled = pool.port();
        layers.push(pool);
        prev = conv(
            &mut layers,
            format!("{block}_Conv2D_1"),
            pooled,
            format!("down.{l}.conv1"),
            f[l],
            3,
            "relu",
        )?;
        prev = conv(
            &mut layers,
            format!("{block}_Conv2D_2"),
            prev,
            format!("down.{l}.conv2"),
            f[l],
            3,
            "relu",
        )?;
        skips.push(prev.clone());
    }
    // The bottom level's output is not a skip connection.
    skips.pop();
    // burn's `up` stages run from the deepest decoder level (levels − 2) to level 0.
    for (i, l) in (0..levels.saturating_sub(1)).rev().enumerate() {
        let block = format!("Level{l}_Expanding");
        let (h, w) = size(l);
        let up = format!("{block}_UpSampling2D");
        let up = Layer {
            name: up,
            op: Op::UpSample,
            inputs: vec![prev],
            output: [h, w, f[l + 1]],
        };
        let upsampled = up.port();
        layers.push(up);
        let up_conv = conv(
            &mut layers,
            format!("{block}_Conv2D_1"),
            upsampled,
            format!("up.{i}.conv_up"),
            f[l],
            2,
            "relu",
        )?;
        let skip = skips
            .pop()
            .ok_or("the architecture has fewer encoder than decoder levels")?;
        let merge = Layer {
            name: format!("{block}_Concatenate"),
            op: Op::Concat,
            inputs: vec![skip, up_conv],
            output: [h, w, 2 * f[l]],
        };
        let merged = merge.port();
        layers.push(merge);
        prev = conv(
            &mut layers,
            format!("{block}_Conv2D_2"),
            merged,
            format!("up.{i}.convs.conv1"),
            f[l],
            3,
            "relu",
        )?;
        prev = conv(
            &mut layers,
            format!("{block}_Conv2D_3"),
            prev,
            format!("up.{i}.convs.conv2"),
            f[l],
            3,
            "relu",
        )?;
    }
    conv(
        &mut layers,
        "true_output".into(),
        prev,
        "head".into(),
        1,
        1,
        head_activation(head),
    )?;
    // Every tensor of the file belongs to the model: a leftover means another architecture.
    let convs = layers
        .iter()
        .filter(|l| matches!(l.op, Op::Conv { .. }))
        .count();
    if t.tensors.len() != 2 * convs {
        return Err(format!(
            "{} tensors, model.toml's architecture has {}",
            t.tensors.len(),
            2 * convs
        )
        .into());
    }
    Ok(layers)
}

/// `[null, h, w, c]`.
fn batch_shape(s: [usize; 3]) -> Value {
    json!([null, s[0], s[1], s[2]])
}

/// A Keras initializer reference (`HeNormal`, `GlorotUniform`, `Zeros`).
fn initializer(class: &str) -> Value {
    let config = if class == "Zeros" {
        json!({})
    } else {
        json!({"seed": null})
    };
    json!({"module": "keras.initializers", "class_name": class, "config": config,
           "registered_name": null})
}

/// The layer's own `config` (the arguments of its constructor).
fn layer_config(layer: &Layer) -> Value {
    let name = layer.name.as_str();
    match &layer.op {
        Op::Input => json!({
            "batch_shape": batch_shape(layer.output),
            "dtype": "float32",
            "sparse": false,
            "name": name,
        }),
        Op::Conv {
            filters,
            kernel,
            activation,
            ..
        } => {
            let head = name == "true_output";
            json!({
                "name": name,
                "trainable": true,
                "dtype": "float32",
                "filters": filters,
                "kernel_size": [kernel, kernel],
                "strides": [1, 1],
                "padding": if head { "valid" } else { "same" },
                "data_format": "channels_last",
                "dilation_rate": [1, 1],
                "groups": 1,
                "activation": activation,
                "use_bias": true,
                "kernel_initializer": initializer(if head { "GlorotUniform" } else { "HeNormal" }),
                "bias_initializer": initializer("Zeros"),
                "kernel_regularizer": null,
                "bias_regularizer": null,
                "activity_regularizer": null,
                "kernel_constraint": null,
                "bias_constraint": null,
            })
        }
        Op::MaxPool => json!({
            "name": name,
            "trainable": true,
            "dtype": "float32",
            "pool_size": [2, 2],
            "padding": "valid",
            "strides": [2, 2],
            "data_format": "channels_last",
        }),
        Op::UpSample => json!({
            "name": name,
            "trainable": true,
            "dtype": "float32",
            "size": [2, 2],
            "data_format": "channels_last",
            "interpolation": "nearest",
        }),
        Op::Concat => json!({
            "name": name,
            "trainable": true,
            "dtype": "float32",
            "axis": 3,
        }),
    }
}

/// The layer's entry in the model's `layers` list (`keras3`: with the `.keras` extras
/// `module`, `registered_name` and `build_config`).
fn layer_entry(layer: &Layer, keras3: bool) -> Value {
    let tensor = |(name, shape): &Port| {
        json!({"class_name": "__keras_tensor__",
               "config": {"shape": batch_shape(*shape), "dtype": "float32",
                          "keras_history": [name, 0, 0]}})
    };
    let inbound = match layer.inputs.len() {
        0 => json!([]),
        1 => json!([{"args": [tensor(&layer.inputs[0])], "kwargs": {}}]),
        _ => {
            let args: Vec<Value> = layer.inputs.iter().map(tensor).collect();
            json!([{"args": [args], "kwargs": {}}])
        }
    };
    let mut entry = json!({
        "class_name": layer.op.class(),
        "config": layer_config(layer),
        "name": layer.name,
        "inbound_nodes": inbound,
    });
    if let (true, Some(map)) = (keras3, entry.as_object_mut()) {
        map.insert("module".into(), json!("keras.layers"));
        map.insert("registered_name".into(), Value::Null);
        // Keras records how a layer was built only for layers with a `build` of their own
        // (not the input and pooling layers).
        if !matches!(layer.op, Op::Input | Op::MaxPool) {
            let shapes: Vec<Value> = layer
                .inputs
                .iter()
                .map(|(_, shape)| batch_shape(*shape))
                .collect();
            let input_shape = if shapes.len() == 1 {
                shapes[0].clone()
            } else {
                Value::Array(shapes)
            };
            map.insert("build_config".into(), json!({"input_shape": input_shape}));
        }
    }
    entry
}

/// The `Functional` model's `config`.
fn functional_config(layers: &[Layer], keras3: bool) -> Value {
    let entries: Vec<Value> = layers.iter().map(|l| layer_entry(l, keras3)).collect();
    json!({
        "name": "functional",
        "trainable": true,
        "layers": entries,
        "input_layers": ["true_input", 0, 0],
        "output_layers": ["true_output", 0, 0],
    })
}

/// The root attribute `model_config` of a legacy HDF5 model.
fn legacy_model_config(layers: &[Layer]) -> String {
    json!({"class_name": "Functional", "config": functional_config(layers, false)}).to_string()
}

/// `config.json` of a `.keras` zip.
fn keras3_config(layers: &[Layer]) -> String {
    json!({
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": functional_config(layers, true),
        "registered_name": "Functional",
        "build_config": {"input_shape": null},
        "compile_config": null,
    })
    .to_string()
}

fn text(s: &str) -> AttrValue {
    AttrValue::VarLenString(s.to_string())
}

fn u64s(shape: &[usize]) -> Vec<u64> {
    shape.iter().map(|&d| d as u64).collect()
}

/// The full model in Keras' legacy HDF5 format.
fn legacy_hdf5(layers: &[Layer]) -> Result<Vec<u8>, ExportError> {
    let mut file = FileBuilder::new();
    file.set_attr("backend", text("tensorflow"));
    file.set_attr("keras_version", text(KERAS_VERSION));
    file.set_attr("model_config", text(&legacy_model_config(layers)));
    let mut weights = file.create_group("model_weights");
    weights.set_attr("backend", text("tensorflow"));
    weights.set_attr("keras_version", text(KERAS_VERSION));
    weights.set_attr(
        "layer_names",
        AttrValue::VarLenStringArray(layers.iter().map(|l| l.name.clone()).collect()),
    );
    // Keras writes the layer groups sorted by name.
    let mut sorted: Vec<&Layer> = layers.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for layer in sorted {
        let mut group = weights.create_group(&layer.name);
        match &layer.op {
            Op::Conv { weights: w, .. } => {
                group.set_attr(
                    "weight_names",
                    AttrValue::VarLenStringArray(vec![
                        format!("{}/kernel", layer.name),
                        format!("{}/bias", layer.name),
                    ]),
                );
                let mut inner = group.create_group(&layer.name);
                conv_datasets(&mut inner, w, "kernel", "bias");
                group.add_group(inner.finish());
            }
            _ => group.set_attr("weight_names", AttrValue::F64Array(vec![])),
        }
        weights.add_group(group.finish());
    }
    let mut top = weights.create_group("top_level_model_weights");
    top.set_attr("weight_names", AttrValue::F64Array(vec![]));
    weights.add_group(top.finish());
    file.add_group(weights.finish());
    Ok(file.finish()?)
}

fn conv_datasets(group: &mut GroupBuilder, w: &ConvWeights, kernel: &str, bias: &str) {
    group
        .create_dataset(kernel)
        .with_f32_data(&w.kernel)
        .with_shape(&u64s(&w.kernel_shape));
    group
        .create_dataset(bias)
        .with_f32_data(&w.bias)
        .with_shape(&[w.bias.len() as u64]);
}

/// `model.weights.h5` of a `.keras` zip.
fn keras3_weights(layers: &[Layer]) -> Result<Vec<u8>, ExportError> {
    let mut file = FileBuilder::new();
    let mut root_vars = file.create_group("vars");
    root_vars.set_attr("name", text("functional"));
    file.add_group(root_vars.finish());
    let mut group = file.create_group("layers");
    // Keras 3 names each layer's group after its class in snake case, numbered per class in
    // the order of `model.layers`.
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    for layer in layers {
        let snake = super::import::snake_case(layer.op.class());
        let n = per_class.entry(snake.clone()).or_insert(0);
        let stored = if *n == 0 {
            snake
        } else {
            format!("{snake}_{n}")
        };
        *n += 1;
        let mut g = group.create_group(&stored);
        let mut vars = g.create_group("vars");
        vars.set_attr("name", text(&layer.name));
        if let Op::Conv { weights: w, .. } = &layer.op {
            conv_datasets(&mut vars, w, "0", "1");
        }
        g.add_group(vars.finish());
        group.add_group(g.finish());
    }
    file.add_group(group.finish());
    Ok(file.finish()?)
}

/// The `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5`, stored (not
/// compressed, as Keras writes them), every timestamp 1980-01-01 00:00:00.
fn keras_zip(layers: &[Layer]) -> Result<Vec<u8>, ExportError> {
    use zip::write::SimpleFileOptions;
    let metadata = json!({
        "keras_version": KERAS_VERSION,
        "saved_by": format!("deltacell {}", env!("CARGO_PKG_VERSION")),
    })
    .to_string();
    let config = keras3_config(layers);
    let weights = keras3_weights(layers)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [
        ("metadata.json", metadata.as_bytes()),
        ("config.json", config.as_bytes()),
        ("model.weights.h5", weights.as_slice()),
    ] {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o600)
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        zip.start_file(name, options)?;
        zip.write_all(bytes).map_err(zip::result::ZipError::Io)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            KerasFormat::from_path(Path::new("a/m.hdf5")),
            Some(KerasFormat::Hdf5)
        );
        assert_eq!(
            KerasFormat::from_path(Path::new("m.H5")),
            Some(KerasFormat::Hdf5)
        );
        assert_eq!(
            KerasFormat::from_path(Path::new("m.keras")),
            Some(KerasFormat::Keras3)
        );
        assert_eq!(KerasFormat::from_path(Path::new("m.onnx")), None);
        assert_eq!(KerasFormat::from_path(Path::new("model")), None);
    }
}
