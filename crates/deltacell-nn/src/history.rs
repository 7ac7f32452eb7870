//! Per-epoch training history: `history.csv` and `curves.png`.
//!
//! `curves.png` has two panels, loss (top, y from 0 to the largest loss) and accuracy (bottom,
//! y from 0 to 1), x = epoch; blue is training, red validation, green the validation images'
//! instance F1 when it is scored (`monitor = "val_f1"`), in a pale green band of ± one standard
//! error for its number of cells (`√(F1·(1−F1)/cells)`: the noise of an F1 measured on that
//! many cells), and in dark green the F1 that picks the model and stops the run (the mean of
//! the last [`F1_WINDOW`] epochs). It carries no text: plotters is built without font support
//! so that it needs no system fonts; `history.csv` has the numbers, `val_cells` the count.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use deltacell_data::output::write_bytes;

/// Statistics of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    /// Mean training `unstack_acc` (fraction in [0, 1]).
    pub acc: f64,
    /// Mean validation loss, if validated.
    pub val_loss: Option<f64>,
    /// Mean validation accuracy, if validated.
    pub val_acc: Option<f64>,
    /// Instance F1 at IoU 0.5 of the whole validation images, if scored (`monitor = "val_f1"`).
    pub val_f1: Option<f64>,
    /// The cells of the validation images that [`EpochRecord::val_f1`] was measured on.
    pub val_cells: Option<usize>,
    /// Wall-clock seconds of the epoch (training + validation).
    pub seconds: f64,
    /// Seconds of that spent waiting for training batches.
    pub data_seconds: f64,
    /// Training samples seen in the epoch.
    pub samples: usize,
}

impl EpochRecord {
    /// The record as the one-line log of every trainer (`deltacell train`, the demo, the
    /// examples): `epochs` is the run's total, shown as `epoch 3/20` when given; `improved` adds
    /// ` *best` (the epoch's model became the best so far and was saved).
    ///
    /// ```
    /// use deltacell_nn::history::EpochRecord;
    /// let r = EpochRecord {
    ///     epoch: 3, loss: 0.25, acc: 0.9, val_loss: Some(0.5), val_acc: Some(0.8), val_f1: None,
    ///     val_cells: None, seconds: 2.0, data_seconds: 0.5, samples: 8,
    /// };
    /// assert_eq!(
    ///     r.line(Some(20), true).to_string(),
    ///     "epoch 3/20: loss 0.25000 acc 0.9000 val_loss 0.50000 val_acc 0.8000 2.0s \
    ///      (25.0% waiting for data) *best"
    /// );
    /// assert!(r.line(None, false).to_string().starts_with("epoch 3: loss"));
    /// ```
    pub fn line(&self, epochs: Option<usize>, improved: bool) -> EpochLine<'_> {
        EpochLine {
            record: self,
            epochs,
            improved,
        }
    }
}

/// An [`EpochRecord`] as a log line ([`EpochRecord::line`]).
#[derive(Clone, Copy, Debug)]
pub struct EpochLine<'a> {
    record: &'a EpochRecord,
    epochs: Option<usize>,
    improved: bool,
}

impl std::fmt::Display for EpochLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.record;
        write!(f, "epoch {}", r.epoch)?;
        if let Some(total) = self.epochs {
            write!(f, "/{total}")?;
        }
        write!(f, ": loss {:.5} acc {:.4}", r.loss, r.acc)?;
        if let Some(l) = r.val_loss {
            write!(f, " val_loss {l:.5}")?;
        }
        if let Some(a) = r.val_acc {
            write!(f, " val_acc {a:.4}")?;
        }
        if let Some(v) = r.val_f1 {
            write!(f, " val_f1 {v:.4}")?;
            if let Some(n) = r.val_cells {
                write!(f, " ({n} cells)")?;
            }
        }
        write!(
            f,
            " {:.1}s ({:.1}% waiting for data)",
            r.seconds,
            100.0 * r.data_seconds / r.seconds.max(1e-9)
        )?;
        if self.improved {
            f.write_str(" *best")?;
        }
        Ok(())
    }
}

const HEADER: &str =
    "epoch,loss,acc,val_loss,val_acc,seconds,data_seconds,samples,val_f1,val_cells";
/// The header of run folders written before `val_cells` was recorded.
const HEADER_V2: &str = "epoch,loss,acc,val_loss,val_acc,seconds,data_seconds,samples,val_f1";
/// The header of run folders written before `val_f1` was recorded (read as no F1).
const HEADER_V1: &str = "epoch,loss,acc,val_loss,val_acc,seconds,data_seconds,samples";

/// Epochs over which the validation F1 is averaged to pick the best model and to stop early
/// (`monitor = "val_f1"`): the F1 of one epoch moves by several points from one epoch to the
/// next (the model's own swings and the sampling noise of a few hundred cells), and the
/// single best epoch is then mostly luck.
pub const F1_WINDOW: usize = 3;

fn opt_count(v: Option<usize>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The history of a run (possibly spanning resumed sessions).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch, in order.
    pub epochs: Vec<EpochRecord>,
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

impl History {
    /// The CSV text (header + one row per epoch; empty cells for missing validation).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        for r in &self.epochs {
            s.push_str(&format!(
                "{},{},{},{},{},{:.3},{:.3},{},{},{}\n",
                r.epoch,
                r.loss,
                r.acc,
                opt(r.val_loss),
                opt(r.val_acc),
                r.seconds,
                r.data_seconds,
                r.samples,
                opt(r.val_f1),
                opt_count(r.val_cells)
            ));
        }
        s
    }

    /// Parses the CSV written by [`History::to_csv`].
    pub fn from_csv(text: &str, path: &Path) -> Result<Self> {
        let bad = |line: usize, what: &str| Error::Config {
            path: path.to_path_buf(),
            message: format!("line {line}: {what}"),
        };
        let mut lines = text.lines().enumerate();
        let fields = match lines.next() {
            Some((_, h)) if h.trim() == HEADER => 10,
            Some((_, h)) if h.trim() == HEADER_V2 => 9,
            Some((_, h)) if h.trim() == HEADER_V1 => 8,
            _ => return Err(bad(1, "not a deltacell history header")),
        };
        let mut epochs = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != fields {
                return Err(bad(i + 1, &format!("expected {fields} fields")));
            }
            let num = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| bad(i + 1, "bad number"))
            };
            let optn = |s: &str| -> Result<Option<f64>> {
                if s.trim().is_empty() {
                    Ok(None)
                } else {
                    num(s).map(Some)
                }
            };
            epochs.push(EpochRecord {
                epoch: f[0].trim().parse().map_err(|_| bad(i + 1, "bad epoch"))?,
                loss: num(f[1])?,
                acc: num(f[2])?,
                val_loss: optn(f[3])?,
                val_acc: optn(f[4])?,
                seconds: num(f[5])?,
                data_seconds: num(f[6])?,
                samples: f[7].trim().parse().map_err(|_| bad(i + 1, "bad count"))?,
                val_f1: match f.get(8) {
                    Some(v) => optn(v)?,
                    None => None,
                },
                val_cells: match f.get(9).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    Some(v) => Some(v.parse().map_err(|_| bad(i + 1, "bad cell count"))?),
                    None => None,
                },
            });
        }
        Ok(History { epochs })
    }

    /// The validation F1 that picks the best model and stops early: the mean of the F1 of the
    /// last [`F1_WINDOW`] epochs up to the one at `index` (fewer at the start), `None` when that
    /// epoch was not scored.
    ///
    /// ```
    /// use deltacell_nn::history::{EpochRecord, History};
    /// let rec = |epoch, f1| EpochRecord {
    ///     epoch, loss: 0.1, acc: 0.9, val_loss: None, val_acc: None, val_f1: Some(f1),
    ///     val_cells: Some(200), seconds: 1.0, data_seconds: 0.0, samples: 2,
    /// };
    /// let h = History { epochs: vec![rec(1, 0.2), rec(2, 0.8), rec(3, 0.5), rec(4, 0.5)] };
    /// assert_eq!(h.monitored_f1(0), Some(0.2));
    /// assert!((h.monitored_f1(2).unwrap() - 0.5).abs() < 1e-12);
    /// assert!((h.monitored_f1(3).unwrap() - 0.6).abs() < 1e-12);
    /// ```
    pub fn monitored_f1(&self, index: usize) -> Option<f64> {
        self.epochs.get(index)?.val_f1?;
        let start = (index + 1).saturating_sub(F1_WINDOW);
        let window: Vec<f64> = self.epochs[start..=index]
            .iter()
            .filter_map(|r| r.val_f1)
            .collect();
        Some(window.iter().sum::<f64>() / window.len() as f64)
    }

    /// Reads `path` (a missing file gives an empty history).
    pub fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_csv(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the CSV atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        Ok(write_bytes(path, self.to_csv().as_bytes())?)
    }

    /// Draws `curves.png` (800×600) and writes it atomically.
    pub fn write_curves(&self, path: &Path) -> Result<()> {
        let (w, h) = (800u32, 600u32);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        self.draw(&mut buf, w, h).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("drawing curves: {e}"),
        })?;
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc.write_header().map_err(|e| Error::Config {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            wr.write_image_data(&buf).map_err(|e| Error::Config {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        Ok(write_bytes(path, &png_bytes)?)
    }

    fn draw(
        &self,
        buf: &mut [u8],
        w: u32,
        h: u32,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((2, 1));
        let n = self.epochs.len().max(2) as f64;
        let max_loss = self
            .epochs
            .iter()
            .flat_map(|r| [Some(r.loss), r.val_loss])
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-12)
            * 1.05;
        type Getter = fn(&EpochRecord) -> Option<f64>;
        let specs: [(f64, [(Getter, RGBColor); 3]); 2] = [
            (
                max_loss,
                [
                    (|r| Some(r.loss), BLUE),
                    (|r| r.val_loss, RED),
                    (|_| None, GREEN),
                ],
            ),
            (
                1.0,
                [
                    (|r| Some(r.acc), BLUE),
                    (|r| r.val_acc, RED),
                    (|r| r.val_f1, GREEN),
                ],
            ),
        ];
        for (index, (panel, (ymax, series))) in panels.iter().zip(specs).enumerate() {
            let mut chart = ChartBuilder::on(panel)
                .margin(20)
                .build_cartesian_2d(1.0..n, 0.0..ymax)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .y_labels(5)
                .x_label_style(("sans-serif", 1).into_font().color(&WHITE))
                .y_label_style(("sans-serif", 1).into_font().color(&WHITE))
                .draw()?;
            if index == 1 {
                self.draw_f1_band(&mut chart)?;
            }
            for (get, color) in series {
                let pts: Vec<(f64, f64)> = self
                    .epochs
                    .iter()
                    .filter_map(|r| {
                        get(r)
                            .filter(|v| v.is_finite())
                            .map(|v| (r.epoch as f64, v))
                    })
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
            }
        }
        root.present()?;
        Ok(())
    }

    /// The validation F1's band of ± one standard error for its cells, and the monitored
    /// (averaged) F1, under and over the per-epoch F1 line.
    fn draw_f1_band<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<
            '_,
            DB,
            Cartesian2d<
                plotters::coord::types::RangedCoordf64,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
    ) -> std::result::Result<(), Box<dyn std::error::Error>>
    where
        DB::ErrorType: 'static,
    {
        let band: Vec<(f64, f64, f64)> = self
            .epochs
            .iter()
            .filter_map(|r| {
                let (f1, n) = (r.val_f1?, r.val_cells? as f64);
                let se = (f1 * (1.0 - f1) / n.max(1.0)).sqrt();
                Some((r.epoch as f64, (f1 - se).max(0.0), (f1 + se).min(1.0)))
            })
            .collect();
        if band.len() >= 2 {
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|&(x, _, hi)| (x, hi))
                .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                RGBColor(190, 235, 190).filled(),
            )))?;
        }
        let smoothed: Vec<(f64, f64)> = (0..self.epochs.len())
            .filter_map(|i| Some((self.epochs[i].epoch as f64, self.monitored_f1(i)?)))
            .collect();
        if smoothed.len() >= 2 {
            chart.draw_series(LineSeries::new(
                smoothed,
                RGBColor(0, 100, 0).stroke_width(3),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: usize, val: bool) -> EpochRecord {
        EpochRecord {
            epoch,
            loss: 1.0 / epoch as f64,
            acc: 0.5 + 0.1 * epoch as f64,
            val_loss: val.then_some(1.5 / epoch as f64),
            val_acc: val.then_some(0.4),
            val_f1: val.then_some(0.25 * epoch as f64),
            val_cells: val.then_some(120),
            seconds: 2.0,
            data_seconds: 0.01,
            samples: 8,
        }
    }

    #[test]
    fn csv_round_trip_and_curves() {
        let h = History {
            epochs: vec![rec(1, true), rec(2, false), rec(3, true)],
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("history.csv");
        h.write_csv(&p).unwrap();
        let back = History::read(&p).unwrap();
        assert_eq!(back.epochs.len(), 3);
        assert_eq!(back.epochs[1].val_loss, None);
        assert_eq!(back.epochs[1].val_f1, None);
        assert_eq!(back.epochs[2].val_f1, Some(0.75));
        assert_eq!(
            (back.epochs[1].val_cells, back.epochs[2].val_cells),
            (None, Some(120))
        );
        // Run folders written before `val_cells`, or `val_f1`, were recorded still read.
        let v2 = "epoch,loss,acc,val_loss,val_acc,seconds,data_seconds,samples,val_f1\n\
                  1,0.5,0.9,,,1.000,0.000,8,0.5\n";
        let v2 = History::from_csv(v2, &p).unwrap();
        assert_eq!(
            (v2.epochs[0].val_f1, v2.epochs[0].val_cells),
            (Some(0.5), None)
        );
        let old = "epoch,loss,acc,val_loss,val_acc,seconds,data_seconds,samples\n1,0.5,0.9,,,1.000,0.000,8\n";
        let old = History::from_csv(old, &p).unwrap();
        assert_eq!((old.epochs[0].loss, old.epochs[0].val_f1), (0.5, None));
        assert!((back.epochs[2].loss - h.epochs[2].loss).abs() < 1e-12);
        let png_path = dir.path().join("curves.png");
        h.write_curves(&png_path).unwrap();
        let bytes = std::fs::read(&png_path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // The F1 band and the averaged F1 are drawn: pale and dark green pixels.
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let has = |c: [u8; 3]| buf.chunks_exact(3).any(|p| p == c);
        assert!(has([190, 235, 190]) && has([0, 100, 0]));
        assert!(History::from_csv("nope\n", &p).is_err());
    }
}
