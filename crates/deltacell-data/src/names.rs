//! DeLTA's file-name conventions (spec §1.5): position / chamber / frame numbers in file names.
//!
//! Two kinds of prototype exist in DeLTA:
//!
//! * [`Prototype`]: the printf-style prototype that DeLTA's evaluation helpers
//!   (`predictCompilefromseg_track`, `getfnfromprototype` / `path_from_prototype`) infer from the
//!   first file of a folder: `Position%06d_Chamber%06d_Frame%06d.png` (order `pct`) or
//!   `Position%02d_Frame%03d.png` (order `pt`). Zero-pad widths are the lengths of the digit runs
//!   of the file the prototype was inferred from.
//! * [`PlaceholderPrototype`]: the newest CLI's `Pos{p}_Cha{c}_Fra{t}.tif` form, matched as a
//!   whole (regex `fullmatch`), each placeholder standing for one run of digits.
//!
//! The per-cell suffix of tracking outputs is written exactly as DeLTA's code writes it: the
//! literal `Cell%06d` inserted between the stem and the extension, **with no underscore**
//! (`Position01_Chamber02_Frame003Cell000004.png`), although DeLTA's docs describe
//! an underscore and lower-case `_cell` plus six digits; files written by DeLTA are the reference, so the code's form is kept.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// Which numbers a [`Prototype`] holds, in file-name order (DeLTA's `fileorder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileOrder {
    /// Position, chamber, frame (`"pct"`): mother-machine movies.
    Pct,
    /// Position, frame (`"pt"`): 2-D agar-pad movies; the chamber is 0.
    Pt,
}

impl FileOrder {
    /// Number of numeric fields (3 for `pct`, 2 for `pt`).
    pub fn fields(self) -> usize {
        match self {
            FileOrder::Pct => 3,
            FileOrder::Pt => 2,
        }
    }
}

/// The numbers a file name carries. `chamber` is 0 for the `pt` order.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct FrameId {
    /// Position (field of view) number.
    pub position: u64,
    /// Chamber (ROI) number; 0 when the name has none.
    pub chamber: u64,
    /// Frame number (DeLTA counts frames from 1).
    pub frame: u64,
}

impl FrameId {
    /// The same position and chamber at another frame.
    pub fn with_frame(self, frame: u64) -> Self {
        FrameId { frame, ..self }
    }
}

/// A printf-style DeLTA file-name prototype: literal texts around 2 or 3 zero-padded numbers.
///
/// `texts` has one more element than `widths`; a width of 0 means "no padding" (`%d`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prototype {
    order: FileOrder,
    texts: Vec<String>,
    widths: Vec<usize>,
}

/// Splits a name into maximal digit / non-digit runs.
fn runs(name: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<bool> = None;
    for (i, ch) in name.char_indices() {
        let d = ch.is_ascii_digit();
        if prev.is_some_and(|p| p != d) {
            out.push((prev.unwrap_or(false), &name[start..i]));
            start = i;
        }
        prev = Some(d);
    }
    if let Some(p) = prev {
        out.push((p, &name[start..]));
    }
    out
}

/// The last path component of `name` (both `/` and `\` separate).
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn parse_number(name: &str, digits: &str) -> Result<u64> {
    digits.parse::<u64>().map_err(|_| Error::FileName {
        name: name.to_string(),
        message: format!("number {digits} is too large"),
    })
}

impl Prototype {
    /// Infers the prototype from one file name (DeLTA: from the **first** file of the list).
    ///
    /// The base name is split into digit and non-digit runs: 3 numbers between 4 texts give the
    /// `pct` order, 2 numbers between 3 texts the `pt` order; each pad width is the length of the
    /// digit run. Anything else is [`Error::FileName`] (DeLTA's "Filename formatting error").
    ///
    /// ```
    /// use deltacell_data::names::{FileOrder, Prototype};
    /// let p = Prototype::infer("Position01_Frame001.png").unwrap();
    /// assert_eq!(p.order(), FileOrder::Pt);
    /// assert_eq!(p.to_printf(), "Position%02d_Frame%03d.png");
    /// ```
    pub fn infer(file_name: &str) -> Result<Self> {
        let base = base_name(file_name);
        let r = runs(base);
        let digits: Vec<&str> = r.iter().filter(|(d, _)| *d).map(|(_, s)| *s).collect();
        let texts: Vec<&str> = r.iter().filter(|(d, _)| !*d).map(|(_, s)| *s).collect();
        let order = match (digits.len(), texts.len()) {
            (3, 4) => FileOrder::Pct,
            (2, 3) => FileOrder::Pt,
            (nd, nt) => {
                return Err(Error::FileName {
                    name: file_name.to_string(),
                    message: format!(
                        "file-name formatting error: expected text, then position, (chamber,) \
                         frame numbers separated by text (e.g. Position01_Chamber01_Frame001.png), \
                         found {nd} number(s) and {nt} text part(s)"
                    ),
                })
            }
        };
        Ok(Prototype {
            order,
            texts: texts.into_iter().map(String::from).collect(),
            widths: digits.iter().map(|d| d.len()).collect(),
        })
    }

    /// Parses a printf-style prototype such as `Position%02d_Chamber%02d_Frame%03d.png` or
    /// `pos%d_t%04d.tif` (`%d`, `%0Nd` and `%%` are understood) with its field order.
    pub fn from_printf(prototype: &str, order: FileOrder) -> Result<Self> {
        let err = |m: &str| Error::FileName {
            name: prototype.to_string(),
            message: m.to_string(),
        };
        let mut texts = vec![String::new()];
        let mut widths = Vec::new();
        let mut chars = prototype.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch != '%' {
                if let Some(t) = texts.last_mut() {
                    t.push(ch);
                }
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                if let Some(t) = texts.last_mut() {
                    t.push('%');
                }
                continue;
            }
            let mut spec = String::new();
            while let Some(&c) = chars.peek() {
                chars.next();
                if c == 'd' {
                    break;
                }
                if !c.is_ascii_digit() {
                    return Err(err("only %d and %0Nd conversions are supported"));
                }
                spec.push(c);
            }
            let width = if spec.is_empty() {
                0
            } else {
                spec.parse::<usize>().map_err(|_| err("bad %0Nd width"))?
            };
            widths.push(width);
            texts.push(String::new());
        }
        if widths.len() != order.fields() {
            return Err(err(&format!(
                "{} numeric fields for file order {order:?}, expected {}",
                widths.len(),
                order.fields()
            )));
        }
        Ok(Prototype {
            order,
            texts,
            widths,
        })
    }

    /// The field order.
    pub fn order(&self) -> FileOrder {
        self.order
    }

    /// The prototype in printf form, e.g. `Position%06d_Chamber%06d_Frame%06d.png`.
    pub fn to_printf(&self) -> String {
        let mut s = self.texts[0].replace('%', "%%");
        for (w, t) in self.widths.iter().zip(&self.texts[1..]) {
            if *w == 0 {
                s.push_str("%d");
            } else {
                let _ = write!(s, "%0{w}d");
            }
            s.push_str(&t.replace('%', "%%"));
        }
        s
    }

    /// Reads position, chamber and frame from a file name (its base name). Like DeLTA, only the
    /// digit runs count (leading zeros do not matter); their number must fit the order.
    pub fn parse(&self, file_name: &str) -> Result<FrameId> {
        let base = base_name(file_name);
        let nums: Vec<&str> = runs(base)
            .into_iter()
            .filter(|(d, _)| *d)
            .map(|(_, s)| s)
            .collect();
        if nums.len() != self.order.fields() {
            return Err(Error::FileName {
                name: file_name.to_string(),
                message: format!(
                    "{} number(s) in the name, expected {} like {}",
                    nums.len(),
                    self.order.fields(),
                    self.to_printf()
                ),
            });
        }
        let v: Vec<u64> = nums
            .iter()
            .map(|d| parse_number(file_name, d))
            .collect::<Result<_>>()?;
        Ok(match self.order {
            FileOrder::Pct => FrameId {
                position: v[0],
                chamber: v[1],
                frame: v[2],
            },
            FileOrder::Pt => FrameId {
                position: v[0],
                chamber: 0,
                frame: v[1],
            },
        })
    }

    /// The file name of `id` (DeLTA's `getfnfromprototype` without a cell number).
    pub fn format(&self, id: &FrameId) -> String {
        let vals: &[u64] = match self.order {
            FileOrder::Pct => &[id.position, id.chamber, id.frame],
            FileOrder::Pt => &[id.position, id.frame],
        };
        let mut s = self.texts[0].clone();
        for ((v, w), t) in vals.iter().zip(&self.widths).zip(&self.texts[1..]) {
            let _ = write!(s, "{v:0w$}", w = *w);
            s.push_str(t);
        }
        s
    }

    /// The per-cell file name of `id` and 1-based `cell` (DeLTA's `getfnfromprototype` with
    /// `cellnb`): [`Prototype::format`] followed by [`cell_file_name`].
    pub fn format_cell(&self, id: &FrameId, cell: u64) -> String {
        cell_file_name(&self.format(id), cell)
    }
}

/// Inserts DeLTA's per-cell suffix `Cell%06d` between the stem and the extension of `name`
/// (no underscore, capital C): `Position01_Frame120.png`, 12 → `Position01_Frame120Cell000012.png`.
///
/// The extension is what follows the last `.` of the base name (Python's `os.path.splitext`,
/// which ignores leading dots); a name without one gets the suffix at the end.
pub fn cell_file_name(name: &str, cell: u64) -> String {
    let split = extension_start(name);
    format!("{}Cell{cell:06}{}", &name[..split], &name[split..])
}

/// Where the extension of `name` starts: at the last `.` of its base name, ignoring leading dots
/// (Python's `os.path.splitext`); `name.len()` without one.
fn extension_start(name: &str) -> usize {
    let base_start = name.len() - base_name(name).len();
    let base = &name[base_start..];
    let trimmed = base.trim_start_matches('.');
    let lead = base.len() - trimmed.len();
    match trimmed.rfind('.') {
        Some(i) => base_start + lead + i,
        None => name.len(),
    }
}

/// Splits a per-cell file name back into the frame's name and the cell number:
/// `..Frame004Cell000002.png` → (`..Frame004.png`, 2). `None` when there is no `Cell` + 6 digits
/// right before the extension.
pub fn split_cell_file_name(name: &str) -> Option<(String, u64)> {
    let split = extension_start(name);
    let stem = &name[..split];
    if stem.len() < 10 || !stem.is_char_boundary(stem.len() - 10) {
        return None;
    }
    let (head, tail) = stem.split_at(stem.len() - 10);
    let digits = tail.strip_prefix("Cell")?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((format!("{head}{}", &name[split..]), digits.parse().ok()?))
}

/// One piece of a [`PlaceholderPrototype`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Piece {
    Text(String),
    Field(usize), // 0 = p, 1 = c, 2 = t
}

/// The newest DeLTA CLI's prototype with `{p}`, `{c}` and `{t}` placeholders, e.g.
/// `Pos{p}_Cha{c}_Fra{t}.tif`.
///
/// Each placeholder stands for one run of digits (regex `(\d+)`), the whole name must match
/// (`fullmatch`), a placeholder may appear several times but must then carry the same number
/// everywhere, and a placeholder that does not appear reads as 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlaceholderPrototype {
    pieces: Vec<Piece>,
}

impl PlaceholderPrototype {
    /// Parses a prototype. Braces other than `{p}`, `{c}`, `{t}` are an [`Error::FileName`].
    pub fn new(prototype: &str) -> Result<Self> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = prototype;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let field = match rest.get(i..i + 3) {
                Some("{p}") => 0,
                Some("{c}") => 1,
                Some("{t}") => 2,
                _ => {
                    return Err(Error::FileName {
                        name: prototype.to_string(),
                        message: "only the placeholders {p}, {c} and {t} are allowed".into(),
                    })
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field(field));
            rest = &rest[i + 3..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(PlaceholderPrototype { pieces })
    }

    /// Matches a whole name (or path, whatever the prototype was written for); `None` when it
    /// does not match or a repeated placeholder carries two different numbers.
    pub fn matches(&self, name: &str) -> Option<FrameId> {
        let mut vals: [Option<u64>; 3] = [None; 3];
        if !match_from(&self.pieces, name.as_bytes(), &mut vals) {
            return None;
        }
        Some(FrameId {
            position: vals[0].unwrap_or(0),
            chamber: vals[1].unwrap_or(0),
            frame: vals[2].unwrap_or(0),
        })
    }

    /// The name of `id` (numbers without padding, since the placeholders carry no width).
    pub fn format(&self, id: &FrameId) -> String {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Field(0) => {
                    let _ = write!(s, "{}", id.position);
                }
                Piece::Field(1) => {
                    let _ = write!(s, "{}", id.chamber);
                }
                Piece::Field(_) => {
                    let _ = write!(s, "{}", id.frame);
                }
            }
        }
        s
    }
}

/// Backtracking matcher: digit runs are tried longest first, as a greedy regex does.
fn match_from(pieces: &[Piece], s: &[u8], vals: &mut [Option<u64>; 3]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return s.is_empty();
    };
    match first {
        Piece::Text(t) => s.starts_with(t.as_bytes()) && match_from(rest, &s[t.len()..], vals),
        Piece::Field(f) => {
            let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
            for len in (1..=n).rev() {
                // Digits are ASCII, so this slice is valid UTF-8.
                let Ok(v) = std::str::from_utf8(&s[..len]).unwrap_or("x").parse::<u64>() else {
                    continue;
                };
                let saved = *vals;
                match vals[*f] {
                    Some(prev) if prev != v => continue,
                    _ => vals[*f] = Some(v),
                }
                if match_from(rest, &s[len..], vals) {
                    return true;
                }
                *vals = saved;
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_pct_with_widths() {
        let p = Prototype::infer("/some/dir/Position000001_Chamber000001_Frame000001.png").unwrap();
        assert_eq!(p.order(), FileOrder::Pct);
        assert_eq!(p.to_printf(), "Position%06d_Chamber%06d_Frame%06d.png");
        let id = p
            .parse("Position000003_Chamber000012_Frame000004.png")
            .unwrap();
        assert_eq!(
            id,
            FrameId {
                position: 3,
                chamber: 12,
                frame: 4
            }
        );
        assert_eq!(
            p.format_cell(&id.with_frame(3), 2),
            "Position000003_Chamber000012_Frame000003Cell000002.png"
        );
    }

    #[test]
    fn rejects_other_layouts() {
        assert!(Prototype::infer("1_Frame2.png").is_err());
        assert!(Prototype::infer("image.png").is_err());
        assert!(Prototype::infer("a1b2c3d4e.png").is_err());
        let p = Prototype::infer("Position01_Frame001.png").unwrap();
        assert!(p.parse("Position01_Chamber1_Frame001.png").is_err());
    }

    #[test]
    fn cell_suffix_and_back() {
        assert_eq!(cell_file_name("a/b.c/x1.png", 7), "a/b.c/x1Cell000007.png");
        assert_eq!(cell_file_name("noext", 1), "noextCell000001");
        assert_eq!(cell_file_name(".hidden", 1), ".hiddenCell000001");
        assert_eq!(
            split_cell_file_name("a/x1Cell000007.png"),
            Some(("a/x1.png".to_string(), 7))
        );
        assert_eq!(split_cell_file_name("x1.png"), None);
    }

    #[test]
    fn placeholders() {
        let p = PlaceholderPrototype::new("Pos{p}_Cha{c}_Fra{t}.tif").unwrap();
        assert_eq!(
            p.matches("Pos1_Cha02_Fra0003.tif"),
            Some(FrameId {
                position: 1,
                chamber: 2,
                frame: 3
            })
        );
        assert_eq!(p.matches("Pos1_Cha02_Fra0003.tiff"), None);
        assert_eq!(p.matches("xPos1_Cha02_Fra0003.tif"), None);
        let q = PlaceholderPrototype::new("pos{p}/pos{p}fra{t}.png").unwrap();
        assert_eq!(q.matches("pos4/pos4fra9.png").map(|i| i.frame), Some(9));
        assert_eq!(q.matches("pos4/pos04fra9.png").map(|i| i.chamber), Some(0));
        assert_eq!(q.matches("pos4/pos5fra9.png"), None);
        // Greedy with backtracking: adjacent placeholders.
        let r = PlaceholderPrototype::new("{p}{t}.png").unwrap();
        assert_eq!(
            r.matches("123.png"),
            Some(FrameId {
                position: 12,
                chamber: 0,
                frame: 3
            })
        );
        assert!(PlaceholderPrototype::new("Pos{x}.tif").is_err());
        assert_eq!(
            p.format(&FrameId {
                position: 1,
                chamber: 2,
                frame: 3
            }),
            "Pos1_Cha2_Fra3.tif"
        );
    }
}
