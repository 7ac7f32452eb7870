//! Progress bars and log lines: one style for every command.
//!
//! `LABEL [=====>    ] 12/40 MESSAGE (3s<9s)`, on standard error; hidden with `--quiet`. Lines
//! logged while a bar shows go above it ([`log`]); a hidden bar's lines go straight to
//! standard error.

use indicatif::{ProgressBar, ProgressStyle};

/// The template of every counting bar.
const TEMPLATE: &str = "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})";
/// The template of a bar that counts bytes (downloads).
const BYTES_TEMPLATE: &str = "{prefix} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})";
/// The template of a download of unknown size.
const SPINNER_TEMPLATE: &str = "{prefix} {bytes} ({bytes_per_sec})";

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A bar of `len` steps labelled `label` (hidden when `quiet`).
pub fn bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(style(TEMPLATE));
    b.set_prefix(label.to_string());
    b
}

/// A download's bar: a byte counter until [`bytes_known`] gives it a length.
pub fn bytes(label: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new_spinner();
    b.set_style(style(SPINNER_TEMPLATE));
    b.set_prefix(label.to_string());
    b
}

/// Gives a download's bar its length.
pub fn bytes_known(bar: &ProgressBar, total: u64) {
    bar.set_length(total);
    bar.set_style(style(BYTES_TEMPLATE));
}

/// Prints `line` above `bar`, or on standard error when the bar is hidden (a hidden bar
/// swallows its lines).
pub fn log(bar: &ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line.as_ref());
    }
}

/// A training's progress: a bar per epoch (mean loss, accuracy and throughput so far) and one
/// log line per epoch ([`deltacell_nn::history::EpochRecord::line`]), each line after `indent`.
pub struct Training {
    bar: ProgressBar,
    epochs: usize,
    indent: &'static str,
}

impl Training {
    /// The progress of `epochs` epochs of `steps` steps (hidden bar when `quiet`).
    pub fn new(steps: usize, epochs: usize, indent: &'static str, quiet: bool) -> Self {
        Training {
            bar: bar(steps as u64, &format!("{indent}epoch"), quiet),
            epochs,
            indent,
        }
    }

    /// Shows one training event.
    pub fn show(&self, event: &deltacell_nn::Event<'_>) {
        use deltacell_nn::Event;
        let b = &self.bar;
        match event {
            Event::Step {
                epoch,
                step,
                mean_loss,
                mean_acc,
                samples_per_second,
                ..
            } => {
                if *step == 0 || b.position() == 0 {
                    b.reset();
                    b.set_prefix(format!(
                        "{}epoch {}/{}",
                        self.indent,
                        epoch + 1,
                        self.epochs
                    ));
                    b.set_position(*step as u64);
                }
                b.inc(1);
                b.set_message(format!(
                    "loss {mean_loss:.4} acc {mean_acc:.4} {samples_per_second:.1} samples/s"
                ));
            }
            Event::Start { val_f1, val_cells } => log(
                b,
                format!(
                    "{}start: val_f1 {val_f1:.4} ({val_cells} cells), the model to beat",
                    self.indent
                ),
            ),
            Event::Validating { .. } => b.set_message("validating"),
            Event::Epoch { record, improved } => {
                let line = record.line(Some(self.epochs), *improved);
                log(b, format!("{}{line}", self.indent));
                b.reset();
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
