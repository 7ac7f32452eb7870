//! `deltacell config show --preset P [--config FILE]`: print a full, commented configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use deltacell_nn::config::Config;

/// `deltacell config …`
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print a full, commented configuration to start from (redirect it into a file).
    Show(ShowArgs),
}

/// Arguments of `config show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Built-in preset: mothermachine, 2D or 2D-cpu.
    #[arg(long, default_value = "2D")]
    pub preset: String,
    /// A config file to lay over the preset (shows the merged result).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs a `config` subcommand.
pub fn run(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Show(args) => {
            let config = load(&args.preset, args.config.as_deref())?;
            print!("{}", config.to_commented_toml());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The preset, or `file` laid over it.
pub fn load(preset: &str, file: Option<&std::path::Path>) -> anyhow::Result<Config> {
    match file {
        Some(f) => Config::load(f, Some(preset))
            .with_context(|| format!("reading the configuration {}", f.display())),
        None => Ok(Config::preset(preset)?),
    }
}
