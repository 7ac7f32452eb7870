//! Reading DeLTA's Keras files (`deltacell import-keras`); see the [module docs](super).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde_json::Value;

use super::problem::{Checked, Problem};
use super::KerasFormat;
use crate::error::{Error, Result};
use crate::run_dir::{Head, ModelInfo, RunDir};
use crate::unet::{Kind, Unet, UnetSpec};

/// One convolution's weights as stored by Keras: kernel `[kh, kw, in, out]` (HWIO), bias `[out]`.
#[derive(Clone)]
struct ConvWeights {
    /// Layer name in the file (for error messages).
    name: String,
    kernel_shape: Vec<usize>,
    kernel: Vec<f32>,
    bias: Vec<f32>,
}

impl std::fmt::Debug for ConvWeights {
    // The weights themselves are millions of numbers: show the layer and its shape only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.name, self.kernel_shape)
    }
}

/// The role of a convolution in the U-Net.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// Encoder level, conv 1 or 2.
    Down(usize, usize),
    /// Decoder level: the 2×2 conv after upsampling.
    UpConv(usize),
    /// Decoder level, conv 1 or 2 after the concatenation.
    Up(usize, usize),
    /// The 1×1 output conv.
    Head,
}

/// A Keras U-Net read from a file, before conversion.
#[derive(Debug)]
pub struct KerasUnet {
    /// The file it came from.
    pub path: PathBuf,
    /// Its format.
    pub format: KerasFormat,
    /// The architecture inferred from the weights (`kind` as requested).
    pub spec: UnetSpec,
    /// The activation of the source model's output layer (sigmoid for DeLTA 2.0.7, logits for
    /// the newest line); the imported network always outputs logits.
    pub source_head: Head,
    /// Input `[height, width]` declared in the model description, if fixed there.
    pub input_size: Option<[usize; 2]>,
    convs: BTreeMap<Role, ConvWeights>,
}

/// Reads a DeLTA U-Net from a Keras file (`.hdf5`/`.h5` legacy HDF5, or `.keras`), checking it
/// against `kind` (seg/rois: 1 input channel, track: 4).
///
/// The format is recognised from the file's content (HDF5 signature or zip), not its name.
pub fn read(path: &Path, kind: Kind) -> Result<KerasUnet> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let err = |problem: Problem| Error::Weights {
        path: path.to_path_buf(),
        message: problem.0,
    };
    let (format, layers, config) = if bytes.starts_with(b"PK") {
        let (config, weights) = read_keras_zip(&bytes).map_err(err)?;
        let layers = keras3_layers(&config, weights).map_err(err)?;
        (KerasFormat::Keras3, layers, Some(config))
    } else if hdf5_pure::is_hdf5_bytes(&bytes) {
        let file = open_hdf5(bytes, "the file").map_err(err)?;
        let (layers, config) = legacy_layers(&file).map_err(err)?;
        (KerasFormat::Hdf5, layers, config)
    } else {
        return Err(err(
            "neither an HDF5 file nor a .keras zip (truncated or another format?)".into(),
        ));
    };
    let convs = assign_roles(layers).map_err(err)?;
    let spec = infer_spec(&convs, kind).map_err(err)?;
    let (source_head, input_size) = match &config {
        Some(c) => describe(c),
        // Without a description assume DeLTA 2.0.7, the only line that wrote legacy HDF5.
        None => (Head::Sigmoid, None),
    };
    Ok(KerasUnet {
        path: path.to_path_buf(),
        format,
        spec,
        source_head,
        input_size,
        convs,
    })
}

impl KerasUnet {
    /// Builds the deltacell [`Unet`] on `device` with these weights (kernels HWIO → OIHW).
    pub fn to_unet(&self, device: &Device) -> Result<Unet> {
        let bytes = self.safetensors()?;
        let mut model = self.spec.init(0, device)?;
        let mut store = SafetensorsStore::from_bytes(Some(bytes)).validate(true);
        let result = model
            .load_from(&mut store)
            .map_err(|e| self.error(e.to_string()))?;
        if !result.is_success() || !result.missing.is_empty() {
            return Err(self.error(format!("weights do not fit the U-Net: {result}")));
        }
        Ok(model)
    }

    /// `model.toml` for the imported model: head logits, `input_size` from the file (or DeLTA's
    /// default for the kind: 256×32, rois 512×512), epoch 0, loss unknown (NaN), seed 0,
    /// `preset = "keras:<file name> (<source head> head)"`, and images stretched from their
    /// minimum to their maximum (`rescale = "min_max"`): what DeLTA 3's pipeline and DeLTA
    /// 2.0.7's prediction feed these models, and deltacell's default for training.
    pub fn model_info(&self) -> ModelInfo {
        let input_size = self.input_size.unwrap_or(match self.spec.kind {
            Kind::Rois => [512, 512],
            Kind::Seg | Kind::Track => [256, 32],
        });
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let head = match self.source_head {
            Head::Sigmoid => "sigmoid",
            Head::Logits => "logits",
        };
        let mut info = ModelInfo::new(self.spec.clone(), input_size);
        info.preset = Some(format!("keras:{name} ({head} head)"));
        info.rescale = Some(deltacell_data::io::Rescale::MinMax);
        info
    }

    fn error(&self, message: String) -> Error {
        Error::Weights {
            path: self.path.clone(),
            message,
        }
    }

    /// The weights as a safetensors file with burn's parameter names for [`Unet`].
    fn safetensors(&self) -> Result<Vec<u8>> {
        let levels = self.spec.levels();
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        let mut push = |prefix: String, role: Role| -> Result<()> {
            let c = self
                .convs
                .get(&role)
                .ok_or_else(|| self.error(format!("missing layer for {role:?}")))?;
            let (shape, kernel) = hwio_to_oihw(&c.kernel_shape, &c.kernel);
            tensors.push((format!("{prefix}.weight"), shape, kernel));
            tensors.push((format!("{prefix}.bias"), vec![c.bias.len()], c.bias.clone()));
            Ok(())
        };
        for l in 0..levels {
            push(format!("down.{l}.conv1"), Role::Down(l, 1))?;
            push(format!("down.{l}.conv2"), Role::Down(l, 2))?;
        }
        // `Unet::up` runs from the deepest decoder level (levels − 2) to level 0.
        for (i, l) in (0..levels.saturating_sub(1)).rev().enumerate() {
            push(format!("up.{i}.conv_up"), Role::UpConv(l))?;
            push(format!("up.{i}.convs.conv1"), Role::Up(l, 1))?;
            push(format!("up.{i}.convs.conv2"), Role::Up(l, 2))?;
        }
        push("head".into(), Role::Head)?;
        Ok(safetensors_bytes(&tensors))
    }
}

/// Reads `path` (Keras) and writes the RUN_DIR `out` (`model.safetensors` + `model.toml`).
/// Returns what was written to `model.toml`.
pub fn import(path: &Path, kind: Kind, out: &Path) -> Result<ModelInfo> {
    let keras = read(path, kind)?;
    let device = crate::device::cpu();
    let model = keras.to_unet(&device)?;
    let info = keras.model_info();
    RunDir::create(out)?.save_best(&model, &info)?;
    Ok(info)
}

/// Copies the weights of a Keras file into `model` (for fine-tuning from a Keras model without
/// an intermediate RUN_DIR). The file's architecture must equal `spec`.
pub fn load_into(path: &Path, spec: &UnetSpec, device: &Device) -> Result<Unet> {
    let keras = read(path, spec.kind)?;
    if keras.spec != *spec {
        return Err(keras.error(format!(
            "architecture {:?} / filters {:?} differs from the requested {:?}",
            keras.spec.input_channels, keras.spec.filters, spec.filters
        )));
    }
    keras.to_unet(device)
}

/// `[kh, kw, in, out]` → (`[out, in, kh, kw]`, data).
fn hwio_to_oihw(shape: &[usize], data: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let (kh, kw, ci, co) = (shape[0], shape[1], shape[2], shape[3]);
    let mut out = vec![0f32; data.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..ci {
                for o in 0..co {
                    out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o];
                }
            }
        }
    }
    (vec![co, ci, kh, kw], out)
}

/// A minimal safetensors writer (F32 only): 8-byte little-endian header length, JSON header,
/// raw little-endian data.
fn safetensors_bytes(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape, data) in tensors {
        let end = offset + 4 * data.len();
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut head = Value::Object(header).to_string().into_bytes();
    // Pad the header with spaces to an 8-byte multiple (data alignment, as the format advises).
    while !head.len().is_multiple_of(8) {
        head.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + head.len() + offset);
    bytes.extend_from_slice(&(head.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&head);
    for (_, _, data) in tensors {
        for v in data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// `config.json` and the bytes of `model.weights.h5` from a `.keras` zip.
fn read_keras_zip(bytes: &[u8]) -> Checked<(Value, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable .keras zip (truncated?): {e}"))?;
    let mut read_entry = |name: &str| -> Checked<Vec<u8>> {
        let mut entry = zip
            .by_name(name)
            .map_err(|e| format!(".keras zip without {name}: {e}"))?;
        let mut buf = Vec::new();
        entry
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading {name} from the .keras zip (truncated?): {e}"))?;
        Ok(buf)
    };
    let config = read_entry("config.json")?;
    let weights = read_entry("model.weights.h5")?;
    let config: Value =
        serde_json::from_slice(&config).map_err(|e| format!("config.json is not JSON: {e}"))?;
    check_description(&config, "config.json")?;
    Ok((config, weights))
}

/// The layer list of a Keras model description (`{"config": {"layers": [...]}}`).
fn config_layers(config: &Value) -> &[Value] {
    config
        .pointer("/config/layers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Refuses a model description without a layer list or whose last `Conv2D` (the head) has no
/// activation: nothing about the architecture is guessed.
fn check_description(config: &Value, what: &str) -> Checked<()> {
    let layers = config_layers(config);
    if layers.is_empty() {
        return Err(format!("{what} has no layer list (config.layers)").into());
    }
    let head = layers
        .iter()
        .rev()
        .find(|l| l.get("class_name").and_then(Value::as_str) == Some("Conv2D"));
    match head {
        None => Err(format!("{what} lists no Conv2D layer: not a DeLTA U-Net").into()),
        Some(l)
            if l.pointer("/config/activation")
                .and_then(Value::as_str)
                .is_none() =>
        {
            Err(
                format!("{what}: the last Conv2D layer has no activation (config.activation)")
                    .into(),
            )
        }
        Some(_) => Ok(()),
    }
}

/// The source head's activation and the fixed input size, from the model description.
fn describe(config: &Value) -> (Head, Option<[usize; 2]>) {
    let layers = config_layers(config);
    let head = layers
        .iter()
        .rev()
        .find(|l| l.get("class_name").and_then(Value::as_str) == Some("Conv2D"))
        .and_then(|l| l.pointer("/config/activation"))
        .and_then(Value::as_str);
    let head = match head {
        Some("sigmoid") => Head::Sigmoid,
        _ => Head::Logits,
    };
    let input = layers
        .iter()
        .find(|l| l.get("class_name").and_then(Value::as_str) == Some("InputLayer"))
        .and_then(|l| {
            l.pointer("/config/batch_shape")
                .or_else(|| l.pointer("/config/batch_input_shape"))
        })
        .and_then(Value::as_array)
        .and_then(|s| {
            let h = s.get(1)?.as_u64()?;
            let w = s.get(2)?.as_u64()?;
            Some([h as usize, w as usize])
        });
    (head, input)
}

type Layers = Vec<ConvWeights>;

/// Reads a float32 dataset and its shape.
fn read_f32(g: &hdf5_pure::Group, name: &str) -> Checked<(Vec<usize>, Vec<f32>)> {
    let ds = g
        .dataset(name)
        .map_err(|e| format!("dataset {name}: {e}"))?;
    let shape = ds
        .shape()
        .map_err(|e| format!("dataset {name}: {e}"))?
        .into_iter()
        .map(|d| d as usize)
        .collect::<Vec<_>>();
    let data = ds
        .read_f32()
        .map_err(|e| format!("dataset {name} (truncated file?): {e}"))?;
    if data.len() != shape.iter().product::<usize>() {
        return Err(format!("dataset {name}: {} values for shape {shape:?}", data.len()).into());
    }
    let bad = data.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(format!(
            "dataset {name}: {bad} weight(s) are NaN or infinite; the model is damaged"
        )
        .into());
    }
    Ok((shape, data))
}

/// Collects `kernel`/`bias` datasets (any depth, `:0` suffix optional) of a layer group.
fn collect_weights(
    g: &hdf5_pure::Group,
    prefix: &str,
    kernel: &mut Option<(Vec<usize>, Vec<f32>)>,
    bias: &mut Option<(Vec<usize>, Vec<f32>)>,
    others: &mut Vec<String>,
) -> Checked<()> {
    for name in g.datasets().map_err(|e| e.to_string())? {
        let base = name.strip_suffix(":0").unwrap_or(&name);
        match base {
            "kernel" => {
                *kernel = Some(read_f32(g, &name).map_err(|e| format!("layer {prefix}: {e}"))?)
            }
            "bias" => *bias = Some(read_f32(g, &name).map_err(|e| format!("layer {prefix}: {e}"))?),
            _ => others.push(format!("{prefix}/{name}")),
        }
    }
    for sub in g.groups().map_err(|e| e.to_string())? {
        let child = g.group(&sub).map_err(|e| format!("group {sub}: {e}"))?;
        collect_weights(&child, &format!("{prefix}/{sub}"), kernel, bias, others)?;
    }
    Ok(())
}

/// Opens HDF5 bytes, rejecting a file shorter than the end-of-file address its superblock
/// records (a truncated copy can otherwise still open when only its tail is missing).
fn open_hdf5(bytes: Vec<u8>, what: &str) -> Checked<hdf5_pure::File> {
    let len = bytes.len() as u64;
    let file = hdf5_pure::File::from_bytes(bytes)
        .map_err(|e| format!("{what} is not a readable HDF5 file (truncated?): {e}"))?;
    let eof = file.superblock().eof_address;
    if len < eof {
        return Err(format!("{what} is truncated: {len} bytes, its header says {eof}").into());
    }
    Ok(file)
}

/// Layers with weights of a legacy HDF5 model, and its `model_config`.
fn legacy_layers(file: &hdf5_pure::File) -> Checked<(Layers, Option<Value>)> {
    let root = file.root();
    // A file written by `save_weights` has no `model_config`; one that has it must describe the
    // model, or the import would guess the head and input size.
    let config = match root
        .attrs()
        .ok()
        .and_then(|attrs| attrs.get("model_config").cloned())
    {
        None => None,
        Some(value) => {
            let text = match value {
                hdf5_pure::AttrValue::String(s)
                | hdf5_pure::AttrValue::AsciiString(s)
                | hdf5_pure::AttrValue::VarLenString(s)
                | hdf5_pure::AttrValue::VarLenAsciiString(s) => s,
                hdf5_pure::AttrValue::StringSized { value, .. }
                | hdf5_pure::AttrValue::AsciiStringSized { value, .. } => value,
                _ => return Err("the model_config attribute is not text".into()),
            };
            let config = serde_json::from_str::<Value>(&text)
                .map_err(|e| format!("the model_config attribute is not valid JSON: {e}"))?;
            check_description(&config, "model_config")?;
            Some(config)
        }
    };
    // A file written by `model.save_weights` has the layer groups at the root.
    let weights = match root.group("model_weights") {
        Ok(g) => g,
        Err(_) => root,
    };
    let mut layers = Vec::new();
    let names = weights
        .groups()
        .map_err(|e| format!("listing layers (truncated file?): {e}"))?;
    for name in names {
        let g = weights
            .group(&name)
            .map_err(|e| format!("layer {name} (truncated file?): {e}"))?;
        let (mut kernel, mut bias, mut others) = (None, None, Vec::new());
        collect_weights(&g, &name, &mut kernel, &mut bias, &mut others)?;
        if let Some(other) = others.first() {
            return Err(
                format!("not a DeLTA U-Net: unexpected weight {other} (layer {name})").into(),
            );
        }
        match (kernel, bias) {
            (None, None) => {} // pooling, upsampling, concatenation, dropout, input
            (Some(kernel), Some(bias)) => layers.push(conv_layer(name, kernel, bias)?),
            _ => return Err(format!("layer {name}: a kernel without a bias or vice versa").into()),
        }
    }
    Ok((layers, config))
}

/// Layers with weights of a Keras 3 model: the k-th `Conv2D` of `config.json` is stored under
/// `layers/conv2d` (k = 0) or `layers/conv2d_k`.
fn keras3_layers(config: &Value, weights: Vec<u8>) -> Checked<Layers> {
    let file = open_hdf5(weights, "model.weights.h5")?;
    let root = file.root();
    let groups = root
        .group("layers")
        .map_err(|e| format!("model.weights.h5 without layers/: {e}"))?;
    // Keras 3 names each saved layer after its class in snake case, numbered per class.
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut layers = Vec::new();
    for layer in config_layers(config) {
        let class = layer
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = layer
            .pointer("/config/name")
            .or_else(|| layer.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let snake = snake_case(class);
        let n = per_class.entry(snake.clone()).or_insert(0);
        let stored = if *n == 0 {
            snake.clone()
        } else {
            format!("{snake}_{n}")
        };
        *n += 1;
        let Ok(g) = groups.group(&stored) else {
            continue;
        };
        let vars = g
            .group("vars")
            .map_err(|e| format!("layer {name} ({stored}): {e}"))?;
        let vars_list = vars.datasets().map_err(|e| e.to_string())?;
        if vars_list.is_empty() {
            continue;
        }
        if class != "Conv2D" || vars_list.len() != 2 {
            return Err(format!(
                "not a DeLTA U-Net: unexpected layer {name} ({class} with {} weights)",
                vars_list.len()
            )
            .into());
        }
        layers.push(conv_layer(
            name,
            read_f32(&vars, "0")?,
            read_f32(&vars, "1")?,
        )?);
    }
    if layers.is_empty() {
        return Err("no convolution weights found (not a DeLTA U-Net?)".into());
    }
    Ok(layers)
}

/// `Conv2D` → `conv2d`, `MaxPooling2D` → `max_pooling2d` (Keras' `to_snake_case`).
pub(super) fn snake_case(class: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = class.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase())) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The convolution `name` from its kernel and bias datasets `(shape, values)`, checked to be a
/// 2-D convolution (HWIO kernel, one bias per output channel).
fn conv_layer(
    name: String,
    (kernel_shape, kernel): (Vec<usize>, Vec<f32>),
    (bias_shape, bias): (Vec<usize>, Vec<f32>),
) -> Checked<ConvWeights> {
    let (k, b) = (&kernel_shape, &bias_shape);
    if k.len() != 4 || b.len() != 1 || b[0] != k[3] {
        return Err(format!(
            "not a DeLTA U-Net: layer {name} is not a 2-D convolution (kernel {k:?}, bias {b:?})"
        )
        .into());
    }
    Ok(ConvWeights {
        name,
        kernel_shape,
        kernel,
        bias,
    })
}

/// Parses `Level{l}_{rest}`.
fn level_of(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("Level")?;
    let (digits, rest) = rest.split_once('_')?;
    Some((digits.parse().ok()?, rest))
}

/// The role of a layer by its name (2.0.7 and newest names), or by its shape for the head.
fn role_of(layer: &ConvWeights) -> Option<Role> {
    if layer.name == "true_output" {
        return Some(Role::Head);
    }
    if let Some((l, rest)) = level_of(&layer.name) {
        return match rest {
            // 2.0.7 level 0 and newest encoder share these names.
            "Conv2D_1" => Some(Role::Down(l, 1)),
            "Conv2D_2" => Some(Role::Down(l, 2)),
            "Contracting_Conv2D_1" => Some(Role::Down(l, 1)),
            "Contracting_Conv2D_2" => Some(Role::Down(l, 2)),
            "Expanding_Conv2D_1" | "Conv2D_3" => Some(Role::UpConv(l)),
            "Expanding_Conv2D_2" | "Conv2D_4" => Some(Role::Up(l, 1)),
            "Expanding_Conv2D_3" | "Conv2D_5" => Some(Role::Up(l, 2)),
            _ => None,
        };
    }
    // A differently named output layer: a 1×1 convolution to one channel.
    let s = &layer.kernel_shape;
    (s[0] == 1 && s[1] == 1 && s[3] == 1).then_some(Role::Head)
}

fn assign_roles(layers: Layers) -> Checked<BTreeMap<Role, ConvWeights>> {
    let mut convs = BTreeMap::new();
    for layer in layers {
        let role = role_of(&layer).ok_or_else(|| {
            format!(
                "not a DeLTA U-Net: unexpected layer {} (kernel {:?})",
                layer.name, layer.kernel_shape
            )
        })?;
        if let Some(previous) = convs.get(&role) {
            let previous: &ConvWeights = previous;
            return Err(format!(
                "not a DeLTA U-Net: layers {} and {} play the same role",
                previous.name, layer.name
            )
            .into());
        }
        convs.insert(role, layer);
    }
    Ok(convs)
}

/// Levels, filters and input channels from the weights; every shape checked.
fn infer_spec(convs: &BTreeMap<Role, ConvWeights>, kind: Kind) -> Checked<UnetSpec> {
    let mut filters = Vec::new();
    while let Some(c) = convs.get(&Role::Down(filters.len(), 1)) {
        filters.push(c.kernel_shape[3]);
    }
    let first = convs
        .get(&Role::Down(0, 1))
        .ok_or("not a DeLTA U-Net: no first convolution (Level0_Conv2D_1)")?;
    let input_channels = first.kernel_shape[2];
    if input_channels != kind.input_channels() {
        let fits = match input_channels {
            1 => " (a seg or rois model: import it as seg or rois)",
            4 => " (a tracking model: import it as track)",
            _ => "",
        };
        return Err(format!(
            "kind {kind} expects {} input channel(s), the model takes {input_channels}{fits}",
            kind.input_channels()
        )
        .into());
    }
    let levels = filters.len();
    let expect = |role: Role, shape: [usize; 4]| -> Checked<()> {
        let c = convs
            .get(&role)
            .ok_or_else(|| format!("not a DeLTA U-Net: missing layer for {role:?}"))?;
        if c.kernel_shape != shape {
            return Err(format!(
                "not a DeLTA U-Net: layer {} has kernel {:?}, expected {shape:?} (H×W×in×out)",
                c.name, c.kernel_shape
            )
            .into());
        }
        Ok(())
    };
    let mut a = input_channels;
    for (l, &f) in filters.iter().enumerate() {
        expect(Role::Down(l, 1), [3, 3, a, f])?;
        expect(Role::Down(l, 2), [3, 3, f, f])?;
        a = f;
    }
    for l in 0..levels.saturating_sub(1) {
        let (deep, f) = (filters[l + 1], filters[l]);
        expect(Role::UpConv(l), [2, 2, deep, f])?;
        expect(Role::Up(l, 1), [3, 3, 2 * f, f])?;
        expect(Role::Up(l, 2), [3, 3, f, f])?;
    }
    expect(Role::Head, [1, 1, filters[0], 1])?;
    // Anything left over (e.g. an encoder conv 2 of a level without conv 1) is unexpected.
    for (role, c) in convs {
        let known = match *role {
            Role::Down(l, _) => l < levels,
            Role::UpConv(l) | Role::Up(l, _) => l + 1 < levels,
            Role::Head => true,
        };
        if !known {
            return Err(format!(
                "not a DeLTA U-Net: unexpected layer {} for a {levels}-level U-Net",
                c.name
            )
            .into());
        }
    }
    let spec = UnetSpec {
        kind,
        input_channels,
        filters,
    };
    spec.validate().map_err(|e| e.to_string())?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_keras() {
        assert_eq!(snake_case("Conv2D"), "conv2d");
        assert_eq!(snake_case("MaxPooling2D"), "max_pooling2d");
        assert_eq!(snake_case("UpSampling2D"), "up_sampling2d");
        assert_eq!(snake_case("InputLayer"), "input_layer");
    }

    #[test]
    fn hwio_to_oihw_moves_axes() {
        // kh=1, kw=2, in=2, out=3: value encodes (x, i, o).
        let shape = [1, 2, 2, 3];
        let mut data = vec![0f32; 12];
        for x in 0..2 {
            for i in 0..2 {
                for o in 0..3 {
                    data[(x * 2 + i) * 3 + o] = (100 * x + 10 * i + o) as f32;
                }
            }
        }
        let (s, out) = hwio_to_oihw(&shape, &data);
        assert_eq!(s, vec![3, 2, 1, 2]);
        // out[o][i][0][x]: (o=2, i=1, x=1) at 11, (o=1, i=0, x=1) at 5.
        assert_eq!(out[11], 112.0);
        assert_eq!(out[5], 101.0);
    }

    #[test]
    fn names_of_both_lines_map_to_roles() {
        let conv = |name: &str| ConvWeights {
            name: name.into(),
            kernel_shape: vec![3, 3, 1, 1],
            kernel: vec![],
            bias: vec![],
        };
        assert_eq!(role_of(&conv("Level0_Conv2D_1")), Some(Role::Down(0, 1)));
        assert_eq!(
            role_of(&conv("Level3_Contracting_Conv2D_2")),
            Some(Role::Down(3, 2))
        );
        assert_eq!(role_of(&conv("Level2_Conv2D_3")), Some(Role::UpConv(2)));
        assert_eq!(
            role_of(&conv("Level1_Expanding_Conv2D_3")),
            Some(Role::Up(1, 2))
        );
        assert_eq!(role_of(&conv("Level1_Conv2D_4")), Some(Role::Up(1, 1)));
        assert_eq!(role_of(&conv("true_output")), Some(Role::Head));
        assert_eq!(role_of(&conv("dense")), None);
    }
}
