//! HTTP(S) download of one asset into an open file, hashing while streaming.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::hex;
use crate::error::{Error, Result};
use crate::registry::Asset;

/// Network time limits of a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest wait to resolve the host and open the connection (TLS included). Default 30 s.
    pub connect: Duration,
    /// Longest wait for any single read (the response headers, or the next bytes of the body)
    /// before the transfer is abandoned as stalled. Default 60 s. There is no limit on the whole
    /// transfer, which may take long for a large set on a slow line.
    pub stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(30),
            stall: Duration::from_secs(60),
        }
    }
}

/// What a finished download produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Downloaded {
    /// SHA-256 of the bytes received, 64 lowercase hex digits.
    pub sha256: String,
    /// Bytes received.
    pub bytes: u64,
    /// The response's Content-Type, if any.
    pub content_type: Option<String>,
}

/// True if the URL's host is the loopback interface (no proxy is used for it).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host == "::1" || host.starts_with("127.")
}

/// Downloads `asset.url` into `out` (the temporary file `out_path`), calling
/// `progress(bytes_so_far, total_bytes)` as bytes arrive. Follows redirects (at most 10).
///
/// Succeeds only on HTTP 200 with every announced byte received: the expected size is the
/// registry's `size` if given, else the Content-Length; fewer bytes is [`Error::Truncated`],
/// more is [`Error::TooLong`]. The checksum is not compared here.
pub(crate) fn download(
    asset: &Asset,
    timeouts: &Timeouts,
    out: &mut impl Write,
    out_path: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Downloaded> {
    let url = &asset.url;
    let connection = |message: String| Error::Connection {
        name: asset.name.clone(),
        url: url.clone(),
        message,
    };
    let proxy = if is_loopback(url) {
        None
    } else {
        ureq::Proxy::try_from_env()
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.stall))
        .timeout_recv_response(Some(timeouts.stall))
        .proxy(proxy)
        .user_agent(format!("deltacell/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let response = agent
        .get(url.as_str())
        .call()
        .map_err(|e| connection(describe(&e)))?;
    let status = response.status();
    if status.as_u16() != 200 {
        return Err(Error::HttpStatus {
            name: asset.name.clone(),
            url: url.clone(),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
        });
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let announced = response.body().content_length();
    if let (Some(size), Some(len)) = (asset.size, announced) {
        if size != len {
            return Err(connection(format!(
                "the server announces {len} bytes but the registry says the file has {size}"
            )));
        }
    }
    let expected = asset.size.or(announced);
    let mut reader = response.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    progress(0, expected);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match expected {
                    Some(exp) if bytes < exp => Error::Truncated {
                        name: asset.name.clone(),
                        url: url.clone(),
                        received: bytes,
                        expected: exp,
                        detail: e.to_string(),
                    },
                    _ => connection(format!("reading the response after {bytes} bytes: {e}")),
                })
            }
        };
        bytes += n as u64;
        if expected.is_some_and(|exp| bytes > exp) {
            return Err(Error::TooLong {
                name: asset.name.clone(),
                url: url.clone(),
                expected: expected.unwrap_or(0),
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::io(out_path, e))?;
        progress(bytes, expected);
    }
    out.flush().map_err(|e| Error::io(out_path, e))?;
    if let Some(exp) = expected {
        if bytes < exp {
            return Err(Error::Truncated {
                name: asset.name.clone(),
                url: url.clone(),
                received: bytes,
                expected: exp,
                detail: String::new(),
            });
        }
    }
    Ok(Downloaded {
        sha256: hex(&hasher.finalize()),
        bytes,
        content_type,
    })
}

/// A sentence for a ureq error.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found (no network, or a wrong host name)".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("cannot connect: {io}")
        }
        other => format!("cannot download: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:8080/a.zip"));
        assert!(is_loopback("http://localhost/a"));
        assert!(is_loopback("http://[::1]:99/a"));
        assert!(is_loopback("http://user@127.0.0.2/a"));
        assert!(!is_loopback(
            "https://drive.usercontent.google.com/download?id=1"
        ));
        assert!(!is_loopback("https://example.org/127.0.0.1"));
    }
}
