//! The error type of `deltacell-assets`: every variant names the asset, the URL or the file.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading a registry, downloading, verifying or unpacking an
/// asset.
///
/// Messages name the asset and the URL or file concerned, say what is wrong, and where it helps,
/// what to do next. Causes are part of the message (not `#[source]`), so that a CLI printing the
/// whole error chain does not print them twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No asset of that name in the registry.
    #[error("unknown asset {name:?}{}; known assets: {}", suggestion_text(suggestion), known.join(", "))]
    UnknownAsset {
        /// The name asked for.
        name: String,
        /// The closest known name, if one is close enough to be a likely typo.
        suggestion: Option<String>,
        /// Every known name, sorted.
        known: Vec<String>,
    },

    /// A registry file (or the built-in registry) is not valid: TOML syntax, unknown key, missing
    /// or malformed value.
    #[error("{origin}: bad asset registry: {message}")]
    Registry {
        /// The file (or `built-in registry`).
        origin: String,
        /// What is wrong, naming the entry and key.
        message: String,
    },

    /// The server answered with a status other than 200.
    #[error("asset {name}: {url}: the server answered HTTP {status}{}", if reason.is_empty() { String::new() } else { format!(" {reason}") })]
    HttpStatus {
        /// The asset.
        name: String,
        /// The URL asked for.
        url: String,
        /// The HTTP status code, e.g. 404.
        status: u16,
        /// The reason phrase for the code (e.g. `Not Found`), possibly empty.
        reason: String,
    },

    /// The server could not be reached or the connection failed before the response was complete
    /// (name resolution, refused connection, TLS, timeout, protocol error).
    #[error("asset {name}: {url}: {message}")]
    Connection {
        /// The asset.
        name: String,
        /// The URL asked for.
        url: String,
        /// What failed.
        message: String,
    },

    /// The transfer ended before the announced number of bytes arrived.
    #[error("asset {name}: {url}: transfer cut short: received {received} of {expected} bytes{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    Truncated {
        /// The asset.
        name: String,
        /// The URL asked for.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced (Content-Length) or recorded in the registry (`size`).
        expected: u64,
        /// What the connection reported, if anything.
        detail: String,
    },

    /// More bytes arrived than the registry's `size` (or the Content-Length) allows.
    #[error("asset {name}: {url}: received more than the expected {expected} bytes")]
    TooLong {
        /// The asset.
        name: String,
        /// The URL asked for.
        url: String,
        /// The expected size in bytes.
        expected: u64,
    },

    /// The SHA-256 of the downloaded bytes is not the one in the registry.
    #[error("asset {name}: {url}: checksum mismatch: expected sha256 {expected}, got {got} ({bytes} bytes received{})", html_hint(content_type))]
    ChecksumMismatch {
        /// The asset.
        name: String,
        /// The URL asked for.
        url: String,
        /// The SHA-256 in the registry (64 lowercase hex digits).
        expected: String,
        /// The SHA-256 of what arrived.
        got: String,
        /// Bytes received.
        bytes: u64,
        /// The Content-Type the server sent, if any.
        content_type: Option<Box<str>>,
    },

    /// The registry has no checksum for the asset and the caller did not allow unverified
    /// downloads.
    #[error("asset {name}: the registry has no sha256 for {url}, so the download cannot be verified; add `sha256 = \"...\"` to the entry, or allow an unverified download (`--allow-unverified`), which records the hash it computes")]
    Unverified {
        /// The asset.
        name: String,
        /// Its URL.
        url: String,
    },

    /// The downloaded archive is not a readable zip file, or holds something unsafe (paths
    /// leaving the folder, links).
    #[error("asset {name}: {url}: bad zip archive: {message}")]
    BadZip {
        /// The asset.
        name: String,
        /// Where the archive was downloaded from.
        url: String,
        /// What is wrong.
        message: String,
    },

    /// The unpacked archive does not have the folder the registry names as its root.
    #[error("asset {name}: the archive from {url} has no folder {root:?} (the entry's `root`); its top level holds: {}", found.join(", "))]
    MissingRoot {
        /// The asset.
        name: String,
        /// Its URL.
        url: String,
        /// The `root` of the registry entry.
        root: String,
        /// What the archive's top level holds.
        found: Vec<String>,
    },

    /// A cached copy is damaged and could not be repaired (only reported by
    /// [`crate::verify_cached`]; [`crate::fetch_with`] downloads it again instead).
    #[error("asset {name}: cached copy at {} is damaged: {problem}", path.display())]
    Damaged {
        /// The asset.
        name: String,
        /// The cached folder.
        path: PathBuf,
        /// The first problem found (missing file, wrong size, wrong hash).
        problem: String,
    },

    /// The asset is not in the cache (only from functions that never download).
    #[error("asset {name} is not in the cache {}; fetch it first (`deltacell assets fetch {name}`)", cache.display())]
    NotCached {
        /// The asset.
        name: String,
        /// The cache folder.
        cache: PathBuf,
    },

    /// No cache folder: `DELTACELL_CACHE` is unset and the system has no user cache folder.
    #[error("no cache folder: set DELTACELL_CACHE (or pass --cache DIR); the system reports no user cache directory")]
    NoCacheDir,

    /// Reading or writing a file or folder failed at the operating-system level.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

fn html_hint(content_type: &Option<Box<str>>) -> String {
    match content_type {
        Some(ct) if ct.to_ascii_lowercase().contains("text/html") => format!(
            ", Content-Type {ct}: the server sent a web page, not the file; for Google Drive this is usually a quota or confirmation page, try again later"
        ),
        Some(ct) => format!(", Content-Type {ct}"),
        None => String::new(),
    }
}
