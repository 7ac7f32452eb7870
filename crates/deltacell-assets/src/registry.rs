//! The asset registry: which assets exist, where to download them and how to check them.
//!
//! The registry is data, not code: the built-in one is the TOML file `assets.toml` at the root
//! of this crate (embedded at build time), holding DeLTA's released training sets, models and
//! demo movies with DeLTA's own URLs and SHA-256 sums (DeLTA: the pooch registries of
//! `delta/assets.py`). A user adds or replaces entries with their own file of the same format:
//! [`Registry::from_toml_file`] then [`Registry::merge`], or all at once with [`Registry::load`]
//! (which also reads the files named in `DELTACELL_REGISTRY`).
//!
//! ```toml
//! [assets.my_training_set]
//! kind = "training-set"          # training-set | model | movie
//! description = "our agar pads"  # optional
//! url = "https://example.org/my_training_set.zip"
//! sha256 = "…64 hex digits…"     # optional; without it fetch refuses unless allowed
//! size = 123456789               # optional, bytes of the download
//! format = "zip"                 # zip (unpacked) | file (kept as is)
//! file = "my_training_set.zip"   # name the download is stored under
//! root = "my_training_set/train" # optional, zip only: the folder fetch returns
//! source = "where it comes from" # optional
//! ```

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The built-in registry, `assets.toml` of this crate.
pub const BUILTIN_TOML: &str = include_str!("../assets.toml");

/// Environment variable naming extra registry files (separated like `PATH`: `:` on Unix, `;` on
/// Windows), read by [`Registry::load`] after the built-in registry and before the files given
/// explicitly.
pub const REGISTRY_ENV: &str = "DELTACELL_REGISTRY";

/// What an asset is; only used to list and describe it (every kind is fetched the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A training set in DeLTA's layout (DeLTA: `download_training_set`).
    TrainingSet,
    /// A trained model file (DeLTA: `download_model`).
    Model,
    /// A demonstration movie (DeLTA: `download_demo_movie`).
    Movie,
}

impl Kind {
    /// The registry spelling: `training-set`, `model` or `movie`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::TrainingSet => "training-set",
            Kind::Model => "model",
            Kind::Movie => "movie",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a download becomes a cached asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A zip archive, unpacked into the asset's folder (DeLTA: `pooch.Unzip`); the archive
    /// itself is not kept.
    Zip,
    /// A single file, kept as is under the entry's `file` name.
    File,
}

impl Format {
    /// The registry spelling: `zip` or `file`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::File => "file",
        }
    }
}

/// Where a registry entry was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The built-in registry ([`BUILTIN_TOML`]).
    BuiltIn,
    /// A user's registry file.
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One downloadable asset (one `[assets.NAME]` table), validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    /// The name (`2D_training_segmentation`, `moma_seg`, …): ASCII letters, digits, `_`, `-`
    /// and `.`, not starting with `.`; also the name of its folder in the cache.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// One line for `assets list` (may be empty).
    pub description: String,
    /// `http://` or `https://` URL of the file.
    pub url: String,
    /// SHA-256 of the downloaded file, 64 lowercase hex digits (a `sha256:` prefix, as pooch
    /// writes it, is accepted in the TOML and removed). `None`: the publisher gives no checksum;
    /// fetching then needs an explicit permission and records the hash it computes.
    pub sha256: Option<String>,
    /// Size of the download in bytes, if known; checked against Content-Length and the bytes
    /// received.
    pub size: Option<u64>,
    /// Unpacked (`zip`) or kept as is (`file`).
    pub format: Format,
    /// The name the download is stored under (for `file`, the name of the cached file; for
    /// `zip`, informative only).
    pub file: String,
    /// For `zip`: the folder inside the unpacked archive that [`crate::fetch`] returns (the
    /// training set's root), `/`-separated; `None` is the unpacked folder itself.
    pub root: Option<String>,
    /// Where the entry's facts come from (free text).
    pub source: Option<String>,
    /// Which registry file the entry was read from.
    pub origin: Origin,
}

/// The TOML form of a registry file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryToml {
    #[serde(default)]
    assets: BTreeMap<String, EntryToml>,
}

/// The TOML form of one entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryToml {
    kind: Kind,
    #[serde(default)]
    description: String,
    url: String,
    sha256: Option<String>,
    size: Option<u64>,
    format: Format,
    file: String,
    root: Option<String>,
    source: Option<String>,
}

/// A set of assets by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    assets: BTreeMap<String, Asset>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The built-in registry: DeLTA's five training sets, five models and two demo movies
    /// (from [`BUILTIN_TOML`], a constant of this crate checked by its unit tests; an error
    /// names it should it ever be wrong).
    pub fn builtin() -> Result<Registry> {
        Registry::from_toml_str(BUILTIN_TOML, Origin::BuiltIn)
    }

    /// Parses a registry from TOML text; `origin` is recorded in every entry and names the text
    /// in error messages.
    ///
    /// Errors ([`Error::Registry`]): TOML syntax, an unknown key (anywhere), a missing key, or a
    /// bad value (name, URL scheme, checksum, file name, root).
    pub fn from_toml_str(text: &str, origin: Origin) -> Result<Registry> {
        let origin_name = match &origin {
            Origin::BuiltIn => "built-in registry".to_string(),
            Origin::File(p) => p.display().to_string(),
        };
        let bad = |message: String| Error::Registry {
            origin: origin_name.clone(),
            message,
        };
        let parsed: RegistryToml =
            toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;
        let mut assets = BTreeMap::new();
        for (name, entry) in parsed.assets {
            let asset = validate(name.clone(), entry, origin.clone(), |m| {
                bad(format!("asset {name:?}: {m}"))
            })?;
            assets.insert(name, asset);
        }
        Ok(Registry { assets })
    }

    /// Reads a registry file (see the module docs for the format).
    ///
    /// Errors: [`Error::Io`] if the file cannot be read, [`Error::Registry`] naming the file if
    /// it is not a valid registry.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Registry> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Registry::from_toml_str(&text, Origin::File(path.to_path_buf()))
    }

    /// Adds the entries of `other`; an entry of `other` replaces the one of the same name.
    pub fn merge(&mut self, other: Registry) {
        self.assets.extend(other.assets);
    }

    /// The built-in registry, then each file named in `DELTACELL_REGISTRY`, then each of
    /// `files`, merged in that order (later entries replace earlier ones of the same name).
    pub fn load(files: &[PathBuf]) -> Result<Registry> {
        let mut registry = Registry::builtin()?;
        let from_env: Vec<PathBuf> = match std::env::var_os(REGISTRY_ENV) {
            Some(v) if !v.is_empty() => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            _ => Vec::new(),
        };
        for path in from_env.iter().chain(files) {
            registry.merge(Registry::from_toml_file(path)?);
        }
        Ok(registry)
    }

    /// The asset called `name` (exact, case-sensitive).
    ///
    /// Errors: [`Error::UnknownAsset`] with the closest name as a suggestion (a different case,
    /// a unique prefix, or a small edit distance) and the list of names.
    pub fn get(&self, name: &str) -> Result<&Asset> {
        self.assets.get(name).ok_or_else(|| Error::UnknownAsset {
            name: name.to_string(),
            suggestion: self.closest(name),
            known: self.assets.keys().cloned().collect(),
        })
    }

    /// Every asset, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// True if the registry has no asset.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// The known name most likely meant by `name`, if any is close.
    fn closest(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        if let Some(n) = self.assets.keys().find(|k| k.to_ascii_lowercase() == lower) {
            return Some(n.clone());
        }
        let prefixed: Vec<&String> = self
            .assets
            .keys()
            .filter(|k| !lower.is_empty() && k.to_ascii_lowercase().starts_with(&lower))
            .collect();
        if prefixed.len() == 1 {
            return Some(prefixed[0].clone());
        }
        let limit = (name.chars().count() / 3).max(2);
        self.assets
            .keys()
            .map(|k| (strsim::levenshtein(&k.to_ascii_lowercase(), &lower), k))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, k)| k.clone())
    }
}

/// Checks one entry; the error message names the key.
fn validate(
    name: String,
    e: EntryToml,
    origin: Origin,
    bad: impl Fn(String) -> Error,
) -> Result<Asset> {
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        return Err(bad(
            "the name must be 1 to 100 ASCII letters, digits, '_', '-' or '.', not starting with '.'"
                .into(),
        ));
    }
    let lower_url = e.url.to_ascii_lowercase();
    let rest = if let Some(r) = lower_url.strip_prefix("https://") {
        r
    } else if let Some(r) = lower_url.strip_prefix("http://") {
        r
    } else {
        return Err(bad(format!(
            "url {:?}: only http:// and https:// URLs are supported",
            e.url
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || e.url.chars().any(char::is_whitespace) {
        return Err(bad(format!("url {:?}: not a valid URL (no host)", e.url)));
    }
    let sha256 = match e.sha256 {
        None => None,
        Some(s) => {
            let hex = s.strip_prefix("sha256:").unwrap_or(&s).to_ascii_lowercase();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "sha256 {s:?}: expected 64 hexadecimal digits (optionally after \"sha256:\")"
                )));
            }
            Some(hex)
        }
    };
    if e.size == Some(0) {
        return Err(bad("size: must be a positive number of bytes".into()));
    }
    let file_ok = !e.file.is_empty()
        && !e.file.starts_with('.')
        && !e.file.contains(['/', '\\'])
        && !e.file.chars().any(char::is_control);
    if !file_ok {
        return Err(bad(format!(
            "file {:?}: must be a plain file name (no folder, not starting with '.')",
            e.file
        )));
    }
    let root = match e.root {
        Some(r) if r.trim_matches('/').is_empty() => None,
        Some(r) => {
            if e.format != Format::Zip {
                return Err(bad("root: only a zip asset has a root folder".into()));
            }
            let trimmed = r.trim_end_matches('/');
            let safe = !trimmed.contains('\\')
                && Path::new(trimmed)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)));
            if !safe {
                return Err(bad(format!(
                    "root {r:?}: must be a relative '/'-separated path inside the archive, without '..'"
                )));
            }
            Some(trimmed.to_string())
        }
        None => None,
    };
    Ok(Asset {
        name,
        kind: e.kind,
        description: e.description,
        url: e.url,
        sha256,
        size: e.size,
        format: e.format,
        file: e.file,
        root,
        source: e.source,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[assets.mine]
kind = "training-set"
url = "http://127.0.0.1:1/mine.zip"
sha256 = "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
format = "zip"
file = "mine.zip"
root = "mine/train/"
"#;

    fn err(text: &str) -> String {
        Registry::from_toml_str(text, Origin::File("user.toml".into()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn builtin_has_delta_training_sets_and_models_with_checksums() {
        let r = Registry::builtin().unwrap();
        for name in [
            "2D_training_segmentation",
            "2D_training_tracking",
            "mothermachine_training_segmentation",
            "mothermachine_training_tracking",
            "mothermachine_training_rois",
        ] {
            let a = r.get(name).unwrap();
            assert_eq!(a.kind, Kind::TrainingSet);
            assert_eq!(a.format, Format::Zip);
            assert!(a.url.starts_with("https://"), "{name}");
            assert_eq!(a.file, format!("{name}.zip"));
        }
        for name in ["moma_rois", "moma_seg", "moma_track", "2D_seg", "2D_track"] {
            let a = r.get(name).unwrap();
            assert_eq!(a.kind, Kind::Model);
            assert_eq!(a.format, Format::File);
            assert_eq!(a.file, format!("{name}.keras"));
        }
        assert_eq!(r.len(), 12);
        assert!(r
            .iter()
            .all(|a| a.sha256.as_ref().is_some_and(|s| s.len() == 64)));
        assert!(r.iter().all(|a| a.origin == Origin::BuiltIn));
        // DeLTA's set roots: mother-machine seg/track live in train_multisets/.
        assert_eq!(
            r.get("mothermachine_training_tracking")
                .unwrap()
                .root
                .as_deref(),
            Some("mothermachine_training_tracking/train_multisets")
        );
        assert_eq!(
            r.get("mothermachine_training_rois")
                .unwrap()
                .root
                .as_deref(),
            Some("mothermachine_training_rois")
        );
        assert_eq!(
            r.get("2D_training_segmentation").unwrap().sha256.as_deref(),
            Some("28d582ce7c3e99486e7323433fbec441e48b03f651b4c123dcc805bcf85a37c4")
        );
    }

    #[test]
    fn parses_and_normalises_an_entry() {
        let r = Registry::from_toml_str(GOOD, Origin::File("user.toml".into())).unwrap();
        let a = r.get("mine").unwrap();
        assert_eq!(
            a.sha256.as_deref(),
            Some("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
        );
        assert_eq!(a.root.as_deref(), Some("mine/train"));
        assert_eq!(a.description, "");
        assert_eq!(a.origin, Origin::File("user.toml".into()));
    }

    #[test]
    fn merge_adds_and_overrides() {
        let mut r = Registry::builtin().unwrap();
        let user = Registry::from_toml_str(
            &GOOD.replace("[assets.mine]", "[assets.moma_seg]"),
            Origin::File("user.toml".into()),
        )
        .unwrap();
        let mut user2 = Registry::from_toml_str(GOOD, Origin::File("u2.toml".into())).unwrap();
        user2.merge(user);
        r.merge(user2);
        assert_eq!(r.len(), 13);
        assert_eq!(
            r.get("moma_seg").unwrap().url,
            "http://127.0.0.1:1/mine.zip"
        );
        assert_eq!(
            r.get("mine").unwrap().origin,
            Origin::File("u2.toml".into())
        );
        assert_eq!(r.get("2D_seg").unwrap().origin, Origin::BuiltIn);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let e = err(&GOOD.replace("root =", "rooot ="));
        assert!(e.contains("user.toml") && e.contains("rooot"), "{e}");
        let e = err(&format!("version = 2\n{GOOD}"));
        assert!(e.contains("version"), "{e}");
        let e = err(&GOOD.replace("kind = \"training-set\"", "kind = \"dataset\""));
        assert!(e.contains("dataset") && e.contains("training-set"), "{e}");
    }

    #[test]
    fn bad_values_are_errors_naming_entry_and_key() {
        let cases = [
            ("url = \"http://", "url = \"ftp://", "url"),
            (
                "sha256 = \"sha256:ABCDEF",
                "sha256 = \"sha256:XBCDEF",
                "sha256",
            ),
            ("file = \"mine.zip\"", "file = \"../mine.zip\"", "file"),
            ("root = \"mine/train/\"", "root = \"../up\"", "root"),
            ("format = \"zip\"", "format = \"file\"", "root"),
            ("[assets.mine]", "[assets.\".hidden\"]", "name"),
        ];
        for (from, to, key) in cases {
            let e = err(&GOOD.replace(from, to));
            assert!(e.contains("user.toml") && e.contains(key), "{to}: {e}");
        }
        let e = err(&GOOD.replace("url = \"http://127.0.0.1:1/mine.zip\"\n", ""));
        assert!(e.contains("url"), "{e}");
        let e = err("[assets.mine\nkind = 1");
        assert!(e.contains("user.toml"), "{e}");
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let r = Registry::builtin().unwrap();
        let suggest = |n: &str| match r.get(n).unwrap_err() {
            Error::UnknownAsset { suggestion, .. } => suggestion,
            e => panic!("{e}"),
        };
        assert_eq!(suggest("moma_sge").as_deref(), Some("moma_seg"));
        assert_eq!(suggest("2d_seg").as_deref(), Some("2D_seg"));
        assert_eq!(
            suggest("mothermachine_training_seg").as_deref(),
            Some("mothermachine_training_segmentation")
        );
        assert_eq!(suggest("completely-different-thing"), None);
        let msg = r.get("moma_sge").unwrap_err().to_string();
        assert!(
            msg.contains("moma_sge") && msg.contains("did you mean \"moma_seg\"?"),
            "{msg}"
        );
    }
}
