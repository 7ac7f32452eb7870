//! `deltacell export-keras RUN_DIR --out FILE.hdf5|FILE.h5|FILE.keras [--input-size H,W]
//! [--head logits|sigmoid]`.
//!
//! Writes a run folder's best model as a Keras model that DeLTA loads: a full legacy-HDF5 model
//! (`.hdf5`/`.h5`: `tf.keras.models.load_model(path, compile=False)`, DeLTA 2.0.7's
//! `model_file_seg` & co., and `load_weights` on `delta.model.unet_seg/unet_track/unet_rois`)
//! or a Keras 3 zip (`.keras`). DeLTA's layer names; a linear output (logits, DeLTA 3, whose
//! pipeline thresholds at 0) or a sigmoid one (DeLTA 2.0.7); see [`deltacell_nn::keras`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use deltacell_nn::keras::{self, ExportOptions};
use deltacell_nn::run_dir::Head;

/// Arguments of `deltacell export-keras`.
#[derive(Args, Debug)]
pub struct ExportKerasArgs {
    /// The run folder (`model.toml` + `model.safetensors`), from `train` or `import-keras`.
    pub run_dir: PathBuf,
    /// The Keras file to write: `.hdf5`/`.h5` (legacy HDF5, DeLTA 2.0.7) or `.keras` (Keras 3).
    /// An existing file is replaced atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Input size `HEIGHT,WIDTH` declared in the Keras model (default: the run's input size).
    /// Multiples of 2^(levels−1).
    #[arg(long, value_name = "H,W", value_parser = parse_size)]
    pub input_size: Option<[usize; 2]>,
    /// The output layer: `logits` (no activation, DeLTA 3: its pipeline thresholds at 0) or
    /// `sigmoid` (probabilities, DeLTA 2.0.7). Default: logits for `.keras`, sigmoid for
    /// `.hdf5`/`.h5`.
    #[arg(long, value_name = "logits|sigmoid", value_parser = parse_head)]
    pub head: Option<Head>,
}

/// `logits` or `sigmoid` → the head.
fn parse_head(s: &str) -> Result<Head, String> {
    match s.to_ascii_lowercase().as_str() {
        "logits" | "linear" => Ok(Head::Logits),
        "sigmoid" => Ok(Head::Sigmoid),
        _ => Err(format!(
            "{s:?}: expected logits (DeLTA 3) or sigmoid (DeLTA 2.0.7)"
        )),
    }
}

/// `H,W` (or `HxW`) → `[H, W]`.
fn parse_size(s: &str) -> Result<[usize; 2], String> {
    let (h, w) = s
        .split_once([',', 'x', '×'])
        .ok_or_else(|| format!("{s:?}: expected HEIGHT,WIDTH, e.g. 256,32"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("{s:?}: expected HEIGHT,WIDTH as two whole numbers"))
    };
    Ok([parse(h)?, parse(w)?])
}

/// Runs the export and prints a one-line summary.
pub fn run(args: ExportKerasArgs) -> anyhow::Result<ExitCode> {
    let options = ExportOptions {
        input_size: args.input_size,
        head: args.head,
    };
    let done = keras::export_keras(&args.run_dir, &args.out, &options)?;
    let spec = &done.spec;
    println!(
        "exported {} → {}: {}, {} model, {} levels, filters {:?}, input {}×{}×{}, {}, \
         {} parameters, {} bytes",
        args.run_dir.display(),
        done.path.display(),
        done.format.describe(),
        spec.kind,
        spec.levels(),
        spec.filters,
        done.input_size[0],
        done.input_size[1],
        spec.input_channels,
        match done.head {
            Head::Logits => "logits output (DeLTA 3: threshold 0)",
            Head::Sigmoid => "sigmoid output (DeLTA 2.0.7: threshold 0.5)",
        },
        spec.param_count(),
        done.bytes,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::{parse_head, parse_size, Head};

    #[test]
    fn heads_parse() {
        assert_eq!(parse_head("logits"), Ok(Head::Logits));
        assert_eq!(parse_head("Sigmoid"), Ok(Head::Sigmoid));
        assert!(parse_head("softmax").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("256,32"), Ok([256, 32]));
        assert_eq!(parse_size("512x512"), Ok([512, 512]));
        assert!(parse_size("256").is_err());
        assert!(parse_size("a,b").is_err());
    }
}
