//! `deltacell`: retrain DeLTA's U-Nets on your own data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// deltacell: segment and track bacteria with DeLTA's U-Nets, retrained on your own data.
#[derive(Parser, Debug)]
#[command(name = "deltacell", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version and the build's features.
    Info,
    /// Training configurations: show a preset as a commented TOML file.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Train a U-Net (seg, track or rois) and write a run folder.
    Train(Box<cmd::train::TrainArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn try_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info => cmd::info::run(),
        Command::Config(c) => cmd::config::run(c),
        Command::Train(args) => cmd::train::run(*args),
    }
}
