//! Reading a movie: positions × channels × frames of 2-D images, from
//!
//! * a **template** (DeLTA 3's `XPReader`): a file name with the placeholders `{p}`, `{c}` and
//!   `{t}`, each matching a run of digits (`Position{p}Channel{c}Frames{t}.tif`); a missing
//!   placeholder means a single position, channel or frame numbered 0; a placeholder may repeat
//!   (its values must agree). Placeholders go in the file name, not in folder names;
//! * a **multi-page TIFF**: one position, one channel, one frame per page (numbered from 0);
//! * a **folder of frames**: its PNG and TIFF files by name, one position, one channel, one
//!   frame each (numbered from 0).
//!
//! Every combination of position, channel and frame must exist, and every frame must have the
//! size of the first: a missing frame or channel and a frame of another size are errors that
//! name the file. Frames are read one at a time ([`Movie::frame`]), except the pages of a
//! multi-page TIFF, decoded together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deltacell_data::io;
use deltacell_data::Plane;

use crate::error::{Error, Result};

/// Where the frames come from.
#[derive(Clone, Debug)]
enum Source {
    /// One file per `(position, channel, frame)`.
    Files(BTreeMap<(u32, u32, u32), PathBuf>),
    /// The pages of one TIFF file.
    Pages(PathBuf),
}

/// A movie's layout; frames are read on demand.
#[derive(Clone, Debug)]
pub struct Movie {
    input: PathBuf,
    source: Source,
    /// Position numbers, increasing.
    pub positions: Vec<u32>,
    /// Channel numbers, increasing (the first is the phase contrast).
    pub channels: Vec<u32>,
    /// Frame numbers, increasing.
    pub frames: Vec<u32>,
    /// The decoded pages of a multi-page TIFF, once read.
    pages: std::sync::OnceLock<Vec<deltacell_data::Image>>,
}

/// One piece of a template file name.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Literal(String),
    Field(char),
}

fn parse_template(name: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = name;
    while !rest.is_empty() {
        let field = ['p', 'c', 't']
            .into_iter()
            .find(|f| rest.starts_with(&format!("{{{f}}}")));
        if let Some(f) = field {
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(f));
            rest = &rest[3..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// Matches a file name against a template (`\d+` per field, greedy); `Some((p, c, t))` with 0
/// for absent fields, `None` when it does not match or a repeated field disagrees.
fn match_name(pieces: &[Piece], name: &str) -> Option<(u32, u32, u32)> {
    let mut values: BTreeMap<char, u32> = BTreeMap::new();
    let mut rest = name;
    for piece in pieces {
        match piece {
            Piece::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
            Piece::Field(f) => {
                let end = rest
                    .char_indices()
                    .find(|(_, c)| !c.is_ascii_digit())
                    .map_or(rest.len(), |(i, _)| i);
                let v: u32 = rest[..end].parse().ok()?;
                if values.insert(*f, v).is_some_and(|old| old != v) {
                    return None;
                }
                rest = &rest[end..];
            }
        }
    }
    if !rest.is_empty() {
        return None;
    }
    let get = |f| values.get(&f).copied().unwrap_or(0);
    Some((get('p'), get('c'), get('t')))
}

/// Whether `input` is a template (it holds `{p}`, `{c}` or `{t}`).
pub fn is_template(input: &Path) -> bool {
    let s = input.to_string_lossy();
    s.contains("{p}") || s.contains("{c}") || s.contains("{t}")
}

impl Movie {
    /// Opens a template, a multi-page TIFF or a folder of frames (see the module docs). Lists
    /// the files and checks that none is missing; reads no pixel.
    pub fn open(input: &Path) -> Result<Movie> {
        let bad = |problem: String| Error::Movie {
            input: input.to_path_buf(),
            problem,
        };
        if is_template(input) {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let dir = match input.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if is_template(&dir) {
                return Err(bad(
                    "the placeholders {p}, {c}, {t} must be in the file name, not in a folder name"
                        .into(),
                ));
            }
            let pieces = parse_template(&name);
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| Error::Data(deltacell_data::Error::io(&dir, e)))?;
            let mut files = BTreeMap::new();
            for entry in entries {
                let entry = entry.map_err(|e| Error::Data(deltacell_data::Error::io(&dir, e)))?;
                let file_name = entry.file_name().to_string_lossy().to_string();
                if let Some(key) = match_name(&pieces, &file_name) {
                    if let Some(other) = files.insert(key, entry.path()) {
                        return Err(bad(format!(
                            "{} and {} both match position {}, channel {}, frame {}",
                            other.display(),
                            entry.path().display(),
                            key.0,
                            key.1,
                            key.2
                        )));
                    }
                }
            }
            if files.is_empty() {
                return Err(bad(format!(
                    "no file in {} matches the template",
                    dir.display()
                )));
            }
            let positions: BTreeSet<u32> = files.keys().map(|k| k.0).collect();
            let channels: BTreeSet<u32> = files.keys().map(|k| k.1).collect();
            let frames: BTreeSet<u32> = files.keys().map(|k| k.2).collect();
            for &p in &positions {
                for &c in &channels {
                    for &t in &frames {
                        if !files.contains_key(&(p, c, t)) {
                            return Err(bad(format!(
                                "position {p}, channel {c}, frame {t} is missing (other files \
                                 have that position, channel and frame)"
                            )));
                        }
                    }
                }
            }
            return Ok(Movie {
                input: input.to_path_buf(),
                source: Source::Files(files),
                positions: positions.into_iter().collect(),
                channels: channels.into_iter().collect(),
                frames: frames.into_iter().collect(),
                pages: std::sync::OnceLock::new(),
            });
        }
        if input.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::Data(deltacell_data::Error::io(input, e)))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && io::is_image_path(p))
                .collect();
            paths.sort();
            if paths.is_empty() {
                return Err(bad("the folder holds no PNG or TIFF frame".into()));
            }
            let n = paths.len() as u32;
            let files = paths
                .into_iter()
                .enumerate()
                .map(|(i, p)| ((0, 0, i as u32), p))
                .collect();
            return Ok(Movie {
                input: input.to_path_buf(),
                source: Source::Files(files),
                positions: vec![0],
                channels: vec![0],
                frames: (0..n).collect(),
                pages: std::sync::OnceLock::new(),
            });
        }
        if input.is_file() {
            let read = io::read_stack(input, io::Rescale::DtypeMax)?;
            let n = read.len() as u32;
            let pages = std::sync::OnceLock::new();
            let _ = pages.set(read);
            return Ok(Movie {
                input: input.to_path_buf(),
                source: Source::Pages(input.to_path_buf()),
                positions: vec![0],
                channels: vec![0],
                frames: (0..n).collect(),
                pages,
            });
        }
        Err(bad(
            "neither a template with {p}, {c} or {t}, nor a folder of frames, nor a TIFF file"
                .into(),
        ))
    }

    /// The input as given.
    pub fn input(&self) -> &Path {
        &self.input
    }

    /// The files holding `position`'s `frames` (every channel), as `(channel, frame, path)` in
    /// channel, then frame order; a multi-page TIFF is one file (channel 0, frame 0). Frames
    /// not in the movie are left out.
    pub fn files(&self, position: u32, frames: &[u32]) -> Vec<(u32, u32, PathBuf)> {
        match &self.source {
            Source::Files(files) => self
                .channels
                .iter()
                .flat_map(|&c| {
                    frames.iter().filter_map(move |&t| {
                        files.get(&(position, c, t)).map(|p| (c, t, p.clone()))
                    })
                })
                .collect(),
            Source::Pages(path) => vec![(0, 0, path.clone())],
        }
    }

    /// The frame `(position, channel, frame)` (numbers as in [`Movie::positions`] & co.), its
    /// grey values divided by its pixel type's maximum (as DeLTA's stacks hold them), checked to
    /// be `shape` when given. A multi-page TIFF is decoded once and kept in memory.
    pub fn frame(
        &self,
        position: u32,
        channel: u32,
        frame: u32,
        shape: Option<(usize, usize)>,
    ) -> Result<Plane<f32>> {
        let missing = || Error::Movie {
            input: self.input.clone(),
            problem: format!(
                "position {position}, channel {channel}, frame {frame} is not in the movie"
            ),
        };
        let (path, plane) = match &self.source {
            Source::Files(files) => {
                let path = files.get(&(position, channel, frame)).ok_or_else(missing)?;
                let image = io::read_image(path, io::Rescale::DtypeMax)?;
                (path.clone(), image.into_plane())
            }
            Source::Pages(path) => {
                let pages = match self.pages.get() {
                    Some(p) => p,
                    None => {
                        let read = io::read_stack(path, io::Rescale::DtypeMax)?;
                        self.pages.get_or_init(|| read)
                    }
                };
                let page = pages.get(frame as usize).ok_or_else(missing)?;
                (path.clone(), page.plane().clone())
            }
        };
        if let Some(expected) = shape {
            if plane.shape() != expected {
                return Err(Error::FrameSize {
                    path,
                    expected,
                    found: plane.shape(),
                });
            }
        }
        Ok(plane)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_digits_and_repeated_fields_agree() {
        let t = parse_template("Position{p}Channel{c}Frames{t}.tif");
        assert_eq!(
            match_name(&t, "Position01Channel02Frames000010.tif"),
            Some((1, 2, 10))
        );
        assert_eq!(match_name(&t, "Position01Channel02Frames000010.png"), None);
        assert_eq!(match_name(&t, "Position01ChannelXFrames1.tif"), None);
        let r = parse_template("p{p}_{t}_again{p}.png");
        assert_eq!(match_name(&r, "p3_7_again3.png"), Some((3, 0, 7)));
        assert_eq!(match_name(&r, "p3_7_again4.png"), None);
    }
}
