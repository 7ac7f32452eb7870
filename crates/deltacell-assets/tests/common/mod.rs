//! Test helpers: a small HTTP/1.1 server on 127.0.0.1 (a real socket, one thread per
//! connection, every connection closed after one response) and zips of synthetic training sets.
//!
//! Also used by `crates/deltacell-cli/tests/assets.rs` (included by path).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the server answers on a path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with Content-Length and the whole body.
    Body(Vec<u8>),
    /// 200 with a Content-Type, Content-Length and the whole body.
    Typed(&'static str, Vec<u8>),
    /// 200 with chunked transfer encoding (no Content-Length).
    Chunked(Vec<u8>),
    /// The status with a short text body.
    Status(u16, &'static str),
    /// 200 announcing `announced` bytes in Content-Length, then `body` (shorter), then close.
    Truncated { body: Vec<u8>, announced: u64 },
    /// Accept, read the request, send nothing for `secs` seconds, then close.
    Hang { secs: u64 },
}

/// A running loopback server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on 127.0.0.1, port chosen by the system.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, s) = (routes.clone(), hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, h) = (r.clone(), h.clone());
                std::thread::spawn(move || serve(stream, &r, &h));
            }
        });
        Server {
            addr,
            routes,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    /// Sets what `path` (starting with `/`, query included) answers.
    pub fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Number of requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    hits: &Mutex<HashMap<String, usize>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&byte[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    *hits.lock().unwrap().entry(path.to_string()).or_default() += 1;
    let reply = routes.lock().unwrap().get(path).cloned();
    let reply = match (method, reply) {
        ("GET", Some(r)) => r,
        ("GET", None) => Reply::Status(404, "Not Found"),
        _ => Reply::Status(405, "Method Not Allowed"),
    };
    let _ = respond(&mut stream, reply);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn respond(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Body(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)
        }
        Reply::Typed(ct, body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)
        }
        Reply::Chunked(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            for chunk in body.chunks(7000) {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        }
        Reply::Status(code, reason) => {
            let body = format!("{code} {reason}\n");
            write!(
                stream,
                "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Reply::Truncated { body, announced } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            )?;
            stream.write_all(&body)?;
            stream.flush()
        }
        Reply::Hang { secs } => {
            std::thread::sleep(Duration::from_secs(secs));
            Ok(())
        }
    }
}

/// SHA-256 of `bytes`, 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir`: (path relative to `dir` with `/`, bytes), sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A zip (deflated) of every file under `dir`, each entry named `prefix/relative/path`, with a
/// directory entry for `prefix/`.
pub fn zip_dir(dir: &Path, prefix: &str) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.add_directory(format!("{prefix}/"), opts).unwrap();
    for (rel, bytes) in tree(dir) {
        w.start_file(format!("{prefix}/{rel}"), opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A zip holding the given (name, bytes) entries as they are.
pub fn zip_entries(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Writes a tiny synthetic mother-machine segmentation set (`img/`, `seg/`, `n` samples) into
/// `dir` with `deltacell_data::synth`.
pub fn synth_mm_seg(dir: &Path, n: usize) {
    deltacell_data::synth::generate(
        deltacell_data::synth::SynthKind::MmSeg,
        n,
        7,
        dir,
        &|_, _| {},
    )
    .expect("synthetic set");
}
