//! DeLTA 3's analysis configuration (`delta.config.Config`): which models run, their input
//! sizes and thresholds, and the image corrections.
//!
//! Read from one of DeLTA's presets ([`AnalysisConfig::preset`], `2D` or `mothermachine`) or
//! from a DeLTA 3 TOML file as it is ([`AnalysisConfig::read`]), then changed key by key
//! ([`AnalysisConfig::set`], DeLTA's `-C key=value`). Unlike DeLTA, values given as text are
//! parsed to the key's type (DeLTA 3 stores `-C models.seg.min_area=40` as the string `"40"`,
//! which then fails deep inside its pipeline), and an unknown key or a bad value is an error
//! that names the key.
//!
//! ```
//! use deltacell_analysis::config::{AnalysisConfig, ModelRole};
//! let mut c = AnalysisConfig::preset("mothermachine")?;
//! assert_eq!(c.model(ModelRole::Seg)?.target_size, (256, 32));
//! c.set("models.seg.min_area", "40")?;
//! assert_eq!(c.model(ModelRole::Seg)?.min_area, 40.0);
//! assert!(c.set("models.seg.min_aera", "40").is_err());
//! # Ok::<(), deltacell_analysis::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The three models of DeLTA's pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    /// Chamber (ROI) detection on the first frame (mother machine only).
    Rois,
    /// Cell segmentation.
    Seg,
    /// Cell tracking.
    Track,
}

impl ModelRole {
    /// DeLTA's name of the model (`rois`, `seg`, `track`).
    pub fn name(self) -> &'static str {
        match self {
            ModelRole::Rois => "rois",
            ModelRole::Seg => "seg",
            ModelRole::Track => "track",
        }
    }

    /// The role named `name` (DeLTA's names).
    pub fn from_name(name: &str) -> Option<ModelRole> {
        match name {
            "rois" => Some(ModelRole::Rois),
            "seg" => Some(ModelRole::Seg),
            "track" => Some(ModelRole::Track),
            _ => None,
        }
    }
}

impl fmt::Display for ModelRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One model's settings (`delta.config.ModelConfig`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The model: a deltacell run folder (`model.toml` + weights) or a Keras file (`.keras`,
    /// `.hdf5`, `.h5`, imported when the run starts). Empty in a preset until given.
    pub model_path: PathBuf,
    /// The network's input `(height, width)`, pixels.
    pub target_size: (usize, usize),
    /// Smallest object kept, pixels (ROIs and cells; unused by tracking).
    pub min_area: f64,
    /// Images are resized to `target_size` when both sides are less than this factor times
    /// the target's (DeLTA's `resizing_tolerable`); larger images are cut into windows.
    /// Positive.
    pub tolerable_resizing_factor: f64,
    /// Images per network call (≥ 1; DeLTA's GPU memory bound). deltacell gives a network at
    /// least [`crate::models::MIN_BATCH`] images per call ([`crate::models::inference_batch`]).
    pub batch_size: usize,
    /// Images prepared per chunk (≥ 1; DeLTA's memory bound, kept for its files).
    pub chunk_size: usize,
}

impl ModelConfig {
    /// DeLTA 3's defaults for this model and preset (`ModelConfig._default_without_model`),
    /// without a model path.
    pub fn default_for(role: ModelRole, preset: Preset) -> ModelConfig {
        let mm = preset == Preset::MotherMachine;
        let target_size = match (role, mm) {
            (ModelRole::Rois, _) => (512, 512),
            (ModelRole::Seg, false) => (512, 512),
            (ModelRole::Seg, true) => (256, 32),
            (ModelRole::Track, false) => (256, 256),
            (ModelRole::Track, true) => (256, 32),
        };
        let (min_area, tolerable_resizing_factor, chunk_size) = match role {
            ModelRole::Rois => (500.0, 4.0, 1),
            ModelRole::Seg => (20.0, 1.0, 64),
            ModelRole::Track => (0.0, 1.0, 64),
        };
        let batch_size = if role == ModelRole::Track && mm {
            64
        } else {
            1
        };
        ModelConfig {
            model_path: PathBuf::new(),
            target_size,
            min_area,
            tolerable_resizing_factor,
            batch_size,
            chunk_size,
        }
    }

    /// Whether an image of `shape` `(height, width)` is resized to the model's input (true) or
    /// cut into windows / cell-centred boxes (false): both sides below
    /// `tolerable_resizing_factor` × the target's (DeLTA's `resizing_tolerable`).
    ///
    /// ```
    /// use deltacell_analysis::config::{ModelConfig, ModelRole, Preset};
    /// let seg = ModelConfig::default_for(ModelRole::Seg, Preset::MotherMachine);
    /// assert!(seg.resizing_tolerable((230, 30)));
    /// assert!(!seg.resizing_tolerable((520, 696)));
    /// ```
    pub fn resizing_tolerable(&self, shape: (usize, usize)) -> bool {
        let (y, x) = (shape.0 as f64, shape.1 as f64);
        let (yt, xt) = (self.target_size.0 as f64, self.target_size.1 as f64);
        y / yt < self.tolerable_resizing_factor && x / xt < self.tolerable_resizing_factor
    }

    fn check(&self, role: ModelRole) -> Result<()> {
        let bad = |key: &str, problem: String| Error::Config {
            key: format!("models.{role}.{key}"),
            problem,
        };
        if self.target_size.0 == 0 || self.target_size.1 == 0 {
            return Err(bad("target_size", "must be two positive sizes".into()));
        }
        if !(self.min_area.is_finite() && self.min_area >= 0.0) {
            return Err(bad(
                "min_area",
                format!("{} is not a finite area ≥ 0", self.min_area),
            ));
        }
        if !(self.tolerable_resizing_factor.is_finite() && self.tolerable_resizing_factor > 0.0) {
            return Err(bad(
                "tolerable_resizing_factor",
                format!(
                    "{} is not a positive factor",
                    self.tolerable_resizing_factor
                ),
            ));
        }
        if self.batch_size == 0 {
            return Err(bad("batch_size", "must be at least 1".into()));
        }
        if self.chunk_size == 0 {
            return Err(bad("chunk_size", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// DeLTA's two presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Agar pads: segmentation and tracking on the whole frame, no corrections.
    TwoD,
    /// Mother machine: chambers, rotation and drift correction.
    MotherMachine,
}

impl Preset {
    /// The preset named `2D` or `mothermachine` (case-insensitive; `mother_machine` too).
    pub fn from_name(name: &str) -> Option<Preset> {
        match name.to_ascii_lowercase().as_str() {
            "2d" => Some(Preset::TwoD),
            "mothermachine" | "mother_machine" | "mother-machine" | "mm" => {
                Some(Preset::MotherMachine)
            }
            _ => None,
        }
    }
}

/// DeLTA 3's configuration of an analysis (`delta.config.Config`).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// The models that run: `rois` (mother machine), `seg`, `track`.
    pub models: BTreeMap<ModelRole, ModelConfig>,
    /// Correct the frames' rotation (deskew the first frame).
    pub correct_rotation: bool,
    /// Correct drift over time (template matching against the first frame).
    pub correct_drift: bool,
    /// Match drift over the whole frame instead of the region above the chambers.
    pub whole_frame_drift: bool,
    /// DeLTA's `backends` table, kept as read (deltacell runs on its own backend; DeLTA's
    /// TensorFlow settings are written back into results files unchanged).
    pub backends: BTreeMap<String, toml::Table>,
}

/// The keys of a DeLTA 3 TOML configuration file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    models: BTreeMap<String, toml::Table>,
    #[serde(default)]
    backends: BTreeMap<String, toml::Table>,
    #[serde(default)]
    correct_rotation: bool,
    #[serde(default)]
    correct_drift: bool,
    #[serde(default)]
    whole_frame_drift: bool,
}

impl AnalysisConfig {
    /// DeLTA 3's preset `2D` (seg, track) or `mothermachine` (rois, seg, track, rotation and
    /// drift corrections), without model paths (give them with [`AnalysisConfig::set`],
    /// `models.seg.model_path`).
    pub fn preset(name: &str) -> Result<AnalysisConfig> {
        let preset = Preset::from_name(name).ok_or_else(|| Error::Config {
            key: "preset".into(),
            problem: format!("unknown preset {name:?}: `2D` or `mothermachine`"),
        })?;
        let roles: &[ModelRole] = match preset {
            Preset::TwoD => &[ModelRole::Seg, ModelRole::Track],
            Preset::MotherMachine => &[ModelRole::Rois, ModelRole::Seg, ModelRole::Track],
        };
        Ok(AnalysisConfig {
            models: roles
                .iter()
                .map(|&r| (r, ModelConfig::default_for(r, preset)))
                .collect(),
            correct_rotation: preset == Preset::MotherMachine,
            correct_drift: preset == Preset::MotherMachine,
            whole_frame_drift: false,
            backends: BTreeMap::new(),
        })
    }

    /// Reads a DeLTA 3 TOML configuration file (`delta.config.read_toml`): each model's keys
    /// over the mother-machine defaults, as DeLTA does; a relative `model_path` is taken
    /// relative to the file's folder. Unknown keys are errors that name them.
    pub fn read(path: &Path) -> Result<AnalysisConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigFile {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        let mut config = Self::parse(&text).map_err(|e| match e {
            Error::Config { key, problem } => Error::ConfigFile {
                path: path.to_path_buf(),
                problem: format!("{key}: {problem}"),
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for m in config.models.values_mut() {
            if !m.model_path.as_os_str().is_empty() && m.model_path.is_relative() {
                m.model_path = base.join(&m.model_path);
            }
        }
        Ok(config)
    }

    /// [`AnalysisConfig::read`] from the file's text (relative model paths left as they are).
    ///
    /// ```
    /// use deltacell_analysis::config::{AnalysisConfig, ModelRole};
    /// let c = AnalysisConfig::parse(r#"
    ///     correct_rotation = true
    ///     [models.seg]
    ///     model_path = "seg.keras"
    ///     target_size = [256, 32]
    ///     [models.track]
    ///     model_path = "track.keras"
    ///     target_size = [256, 32]
    ///     batch_size = 64
    /// "#)?;
    /// assert!(c.correct_rotation && !c.correct_drift);
    /// assert_eq!(c.model(ModelRole::Track)?.batch_size, 64);
    /// assert_eq!(c.model(ModelRole::Seg)?.min_area, 20.0); // DeLTA's default
    /// # Ok::<(), deltacell_analysis::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<AnalysisConfig> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| Error::Config {
            key: "(file)".into(),
            problem: e.to_string(),
        })?;
        let mut models = BTreeMap::new();
        for (name, table) in file.models {
            let role = ModelRole::from_name(&name).ok_or_else(|| Error::Config {
                key: format!("models.{name}"),
                problem: "unknown model: `rois`, `seg` or `track`".into(),
            })?;
            let mut m = ModelConfig::default_for(role, Preset::MotherMachine);
            for (key, value) in table {
                set_model_key(&mut m, role, &key, Value::Toml(value))?;
            }
            models.insert(role, m);
        }
        let config = AnalysisConfig {
            models,
            correct_rotation: file.correct_rotation,
            correct_drift: file.correct_drift,
            whole_frame_drift: file.whole_frame_drift,
            backends: file.backends,
        };
        config.check()?;
        Ok(config)
    }

    /// DeLTA's `-c`: a preset name (`2D`, `mothermachine`) or a TOML file's path.
    pub fn load(spec: &str) -> Result<AnalysisConfig> {
        let path = Path::new(spec);
        if path.is_file()
            || path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        {
            return AnalysisConfig::read(path);
        }
        AnalysisConfig::preset(spec).map_err(|_| Error::Config {
            key: "config".into(),
            problem: format!(
                "{spec:?} is neither a configuration file nor one of the presets `2D`, `mothermachine`"
            ),
        })
    }

    /// Applies `KEY=VALUE` settings in order ([`AnalysisConfig::set`]).
    ///
    /// ```
    /// use deltacell_analysis::config::AnalysisConfig;
    /// let mut c = AnalysisConfig::preset("2D")?;
    /// c.apply(&["models.seg.min_area=10", "correct_drift=true"])?;
    /// assert!(c.correct_drift);
    /// assert!(c.apply(&["min_area"]).is_err()); // no `=`
    /// # Ok::<(), deltacell_analysis::Error>(())
    /// ```
    pub fn apply<S: AsRef<str>>(&mut self, settings: &[S]) -> Result<()> {
        for kv in settings {
            let kv = kv.as_ref();
            let (key, value) = kv.split_once('=').ok_or_else(|| Error::Config {
                key: kv.trim().into(),
                problem: "expected KEY=VALUE".into(),
            })?;
            self.set(key.trim(), value.trim())?;
        }
        self.check()
    }

    /// The settings of `role`'s model, or an error if the configuration has no such model.
    pub fn model(&self, role: ModelRole) -> Result<&ModelConfig> {
        self.models.get(&role).ok_or_else(|| Error::Config {
            key: format!("models.{role}"),
            problem: "this configuration has no such model".into(),
        })
    }

    /// Sets one key from text, as DeLTA's `-C key=value`: `models.seg.min_area=40`,
    /// `models.track.model_path=track.keras`, `models.seg.target_size=256,32`,
    /// `correct_rotation=false`, … Also DeLTA 2's `min_cell_area` and `min_roi_area`
    /// (`models.seg.min_area`, `models.rois.min_area`). The value is parsed to the key's type;
    /// an unknown key or a value that does not parse is an error naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let key = match key {
            "min_cell_area" => "models.seg.min_area",
            "min_roi_area" => "models.rois.min_area",
            k => k,
        };
        if let Some(rest) = key.strip_prefix("models.") {
            let (name, sub) = rest.split_once('.').ok_or_else(|| Error::Config {
                key: key.into(),
                problem: "expected models.MODEL.KEY".into(),
            })?;
            let role = ModelRole::from_name(name).ok_or_else(|| Error::Config {
                key: key.into(),
                problem: format!("unknown model {name:?}: `rois`, `seg` or `track`"),
            })?;
            let m = self.models.get_mut(&role).ok_or_else(|| Error::Config {
                key: key.into(),
                problem: format!("this configuration has no `{role}` model"),
            })?;
            set_model_key(m, role, sub, Value::Text(value))?;
            return m.check(role);
        }
        if key.starts_with("backends.") {
            // DeLTA's TensorFlow settings: accepted and kept, without effect here.
            let parts: Vec<&str> = key.splitn(3, '.').collect();
            if parts.len() != 3 {
                return Err(Error::Config {
                    key: key.into(),
                    problem: "expected backends.BACKEND.KEY".into(),
                });
            }
            self.backends
                .entry(parts[1].to_string())
                .or_default()
                .insert(parts[2].to_string(), toml::Value::String(value.into()));
            return Ok(());
        }
        let flag = match key {
            "correct_rotation" => &mut self.correct_rotation,
            "correct_drift" => &mut self.correct_drift,
            "whole_frame_drift" => &mut self.whole_frame_drift,
            _ => {
                return Err(Error::Config {
                    key: key.into(),
                    problem: "unknown key: `correct_rotation`, `correct_drift`, \
                              `whole_frame_drift`, `models.MODEL.KEY` or `backends.BACKEND.KEY`"
                        .into(),
                })
            }
        };
        *flag = parse_bool(value).ok_or_else(|| Error::Config {
            key: key.into(),
            problem: format!("{value:?} is not true or false"),
        })?;
        Ok(())
    }

    /// Checks every model's values (sizes, areas, factors, batch sizes).
    pub fn check(&self) -> Result<()> {
        if !self.models.contains_key(&ModelRole::Seg) {
            return Err(Error::Config {
                key: "models.seg".into(),
                problem: "a segmentation model is required".into(),
            });
        }
        self.models.iter().try_for_each(|(r, m)| m.check(*r))
    }

    /// The configuration as DeLTA 3 serialises it into results files (`Config.serialize`,
    /// the netCDF root attribute `config`): JSON with `models`, `backends`,
    /// `correct_rotation`, `correct_drift`, `whole_frame_drift`, which DeLTA's
    /// `Config.deserialize` reads back.
    pub fn to_json(&self) -> String {
        let models: serde_json::Map<String, serde_json::Value> = self
            .models
            .iter()
            .map(|(role, m)| {
                (
                    role.name().to_string(),
                    serde_json::json!({
                        "model_path": m.model_path.display().to_string(),
                        "target_size": [m.target_size.0, m.target_size.1],
                        "min_area": m.min_area,
                        "tolerable_resizing_factor": m.tolerable_resizing_factor,
                        "batch_size": m.batch_size,
                        "chunk_size": m.chunk_size,
                    }),
                )
            })
            .collect();
        let backends: serde_json::Map<String, serde_json::Value> = self
            .backends
            .iter()
            .map(|(name, table)| {
                let get = |k: &str| {
                    table
                        .get(k)
                        .and_then(|v| v.as_integer().or_else(|| v.as_str()?.parse().ok()))
                };
                (
                    name.clone(),
                    serde_json::json!({
                        "number_of_cores": get("number_of_cores"),
                        "memory_growth_limit": get("memory_growth_limit"),
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "models": models,
            "backends": backends,
            "correct_rotation": self.correct_rotation,
            "correct_drift": self.correct_drift,
            "whole_frame_drift": self.whole_frame_drift,
        })
        .to_string()
    }
}

/// A value from a TOML file or from the command line.
enum Value<'a> {
    Toml(toml::Value),
    Text(&'a str),
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn set_model_key(m: &mut ModelConfig, role: ModelRole, key: &str, value: Value<'_>) -> Result<()> {
    let full = format!("models.{role}.{key}");
    let bad = |what: &str| Error::Config {
        key: full.clone(),
        problem: format!("expected {what}"),
    };
    let number = |v: &Value<'_>| -> Option<f64> {
        match v {
            Value::Toml(t) => t.as_float().or_else(|| t.as_integer().map(|i| i as f64)),
            Value::Text(s) => s.trim().parse().ok(),
        }
    };
    let count = |v: &Value<'_>| -> Option<usize> {
        match v {
            Value::Toml(t) => t.as_integer().and_then(|i| usize::try_from(i).ok()),
            Value::Text(s) => s.trim().parse().ok(),
        }
    };
    match key {
        "model_path" => {
            m.model_path = match value {
                Value::Toml(toml::Value::String(s)) => PathBuf::from(s),
                Value::Text(s) => PathBuf::from(s),
                Value::Toml(_) => return Err(bad("a path (text)")),
            }
        }
        "target_size" => {
            let sizes: Option<Vec<usize>> = match &value {
                Value::Toml(toml::Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_integer().and_then(|i| usize::try_from(i).ok()))
                    .collect(),
                Value::Text(s) => s
                    .trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']')
                    .split([',', 'x', '×'])
                    .map(|p| p.trim().parse().ok())
                    .collect(),
                Value::Toml(_) => None,
            };
            match sizes.as_deref() {
                Some(&[h, w]) => m.target_size = (h, w),
                _ => return Err(bad("two sizes (height, width), e.g. 256,32")),
            }
        }
        "min_area" => m.min_area = number(&value).ok_or_else(|| bad("a number"))?,
        "tolerable_resizing_factor" => {
            m.tolerable_resizing_factor = number(&value).ok_or_else(|| bad("a number"))?
        }
        "batch_size" => m.batch_size = count(&value).ok_or_else(|| bad("a whole number"))?,
        "chunk_size" => m.chunk_size = count(&value).ok_or_else(|| bad("a whole number"))?,
        _ => {
            return Err(Error::Config {
                key: full.clone(),
                problem: "unknown key: `model_path`, `target_size`, `min_area`, \
                          `tolerable_resizing_factor`, `batch_size` or `chunk_size`"
                    .into(),
            })
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_delta_3s() {
        let mm = AnalysisConfig::preset("mothermachine").unwrap();
        assert_eq!(mm.models.len(), 3);
        assert!(mm.correct_rotation && mm.correct_drift && !mm.whole_frame_drift);
        let rois = mm.model(ModelRole::Rois).unwrap();
        assert_eq!(
            (
                rois.target_size,
                rois.min_area,
                rois.tolerable_resizing_factor
            ),
            ((512, 512), 500.0, 4.0)
        );
        assert_eq!(mm.model(ModelRole::Track).unwrap().batch_size, 64);
        let two = AnalysisConfig::preset("2D").unwrap();
        assert!(two.model(ModelRole::Rois).is_err());
        assert!(!two.correct_rotation && !two.correct_drift);
        assert_eq!(two.model(ModelRole::Track).unwrap().target_size, (256, 256));
        assert!(AnalysisConfig::preset("agar").is_err());
    }

    #[test]
    fn set_parses_each_type_and_names_bad_keys() {
        let mut c = AnalysisConfig::preset("mothermachine").unwrap();
        c.set("models.seg.target_size", "128,16").unwrap();
        assert_eq!(c.models[&ModelRole::Seg].target_size, (128, 16));
        c.set("correct_drift", "false").unwrap();
        assert!(!c.correct_drift);
        c.set("min_cell_area", "33.5").unwrap();
        assert_eq!(c.models[&ModelRole::Seg].min_area, 33.5);
        let e = c.set("models.seg.batch_size", "0").unwrap_err().to_string();
        assert!(e.contains("models.seg.batch_size"), "{e}");
        let e = c.set("models.seg.min_area", "big").unwrap_err().to_string();
        assert!(
            e.contains("models.seg.min_area") && e.contains("number"),
            "{e}"
        );
        let e = c.set("correct_rotaton", "true").unwrap_err().to_string();
        assert!(e.contains("correct_rotaton"), "{e}");
        let mut two = AnalysisConfig::preset("2D").unwrap();
        let e = two
            .set("models.rois.min_area", "3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `rois` model"), "{e}");
    }

    #[test]
    fn files_name_unknown_keys_and_json_round_trips_the_values() {
        let e = AnalysisConfig::parse("[models.seg]\nmodel_pth = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("models.seg.model_pth"), "{e}");
        let e = AnalysisConfig::parse("[models.seg]\ntarget_size = [1]\n").unwrap_err();
        assert!(e.to_string().contains("target_size"), "{e}");
        let e = AnalysisConfig::parse("correct_rotaton = true\n[models.seg]\n").unwrap_err();
        assert!(e.to_string().contains("correct_rotaton"), "{e}");
        let c = AnalysisConfig::parse(
            "correct_drift = true\n[models.seg]\nmodel_path = \"s\"\ntarget_size = [256, 32]\n\
             [backends.tensorflow]\nnumber_of_cores = 2\n",
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(
            json["models"]["seg"]["target_size"],
            serde_json::json!([256, 32])
        );
        assert_eq!(json["models"]["seg"]["min_area"], serde_json::json!(20.0));
        assert_eq!(json["correct_drift"], serde_json::json!(true));
        assert_eq!(
            json["backends"]["tensorflow"]["number_of_cores"],
            serde_json::json!(2)
        );
    }
}
