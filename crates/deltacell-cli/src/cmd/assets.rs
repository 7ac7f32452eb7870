//! `deltacell assets list|fetch`: DeLTA's released training sets, models and demo movies
//! (DeLTA: `delta.assets`), downloaded, verified by SHA-256 and cached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use deltacell_assets::{
    fetch_with, Cache, Check, FetchOptions, Registry, Status, Timeouts, CACHE_ENV, REGISTRY_ENV,
};

/// `deltacell assets …`
#[derive(Subcommand, Debug)]
pub enum AssetsCommand {
    /// List the known assets (built-in and from registry files) and whether each is cached.
    List(ListArgs),
    /// Download (unless cached and intact), verify and unpack assets; prints each one's path
    /// (for a training set, its root folder) on standard output.
    Fetch(FetchArgs),
}

/// Where the assets are described and kept.
#[derive(Args, Debug)]
pub struct Sources {
    /// Cache folder (default: $DELTACELL_CACHE, else deltacell/assets in the user cache dir).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// A registry TOML file adding or replacing entries (repeatable; read after the built-in
    /// registry and the files in $DELTACELL_REGISTRY).
    #[arg(long, value_name = "FILE")]
    pub registry: Vec<PathBuf>,
}

/// Arguments of `assets list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Re-hash every cached file instead of checking sizes only.
    #[arg(long)]
    pub verify: bool,
}

/// Arguments of `assets fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Asset names (see `deltacell assets list`).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub sources: Sources,
    /// Re-hash every file of a cached copy before using it (default: sizes only).
    #[arg(long)]
    pub verify: bool,
    /// Download again even if a valid copy is cached.
    #[arg(long)]
    pub force: bool,
    /// Allow an entry that has no sha256: the download is kept unverified and its hash printed.
    #[arg(long)]
    pub allow_unverified: bool,
    /// Seconds to wait for a connection.
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub connect_timeout: u64,
    /// Seconds without data after which a transfer is abandoned.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub stall_timeout: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs an `assets` subcommand.
pub fn run(command: AssetsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AssetsCommand::List(args) => list(args),
        AssetsCommand::Fetch(args) => fetch(args),
    }
}

fn open(sources: &Sources) -> anyhow::Result<(Registry, Cache)> {
    let registry = Registry::load(&sources.registry).with_context(|| {
        format!("reading the asset registry (files from --registry and ${REGISTRY_ENV})")
    })?;
    let cache = match &sources.cache {
        Some(dir) => Cache::new(dir),
        None => {
            Cache::from_env().with_context(|| format!("finding the cache folder (${CACHE_ENV})"))?
        }
    };
    Ok((registry, cache))
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (registry, cache) = open(&args.sources)?;
    let check = if args.verify {
        Check::Full
    } else {
        Check::Quick
    };
    println!("cache: {}", cache.dir().display());
    let width = registry
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:<12}  {:<9}  {:<10}  DESCRIPTION",
        "NAME", "KIND", "STATUS", "SOURCE"
    );
    for asset in registry.iter() {
        let status = match cache.status(asset, check) {
            Status::Missing => "-",
            Status::Complete(_) => "cached",
            Status::Stale { .. } => "stale",
            Status::Damaged { .. } => "damaged",
        };
        let mut description = asset.description.clone();
        if asset.sha256.is_none() {
            description.push_str(" [no sha256: unverified]");
        }
        println!(
            "{:<width$}  {:<12}  {:<9}  {:<10}  {}",
            asset.name,
            asset.kind.name(),
            status,
            asset.origin.to_string(),
            description.trim()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let (registry, cache) = open(&args.sources)?;
    // Every name first, so that a typo fails before any download.
    let assets = args
        .names
        .iter()
        .map(|n| registry.get(n))
        .collect::<Result<Vec<_>, _>>()?;
    let options = FetchOptions {
        allow_unverified: args.allow_unverified,
        check: if args.verify {
            Check::Full
        } else {
            Check::Quick
        },
        force: args.force,
        timeouts: Timeouts {
            connect: Duration::from_secs(args.connect_timeout.max(1)),
            stall: Duration::from_secs(args.stall_timeout.max(1)),
        },
    };
    for asset in assets {
        let bar = crate::progress::bytes(&format!("{}:", asset.name), args.quiet);
        let mut sized = false;
        let mut progress = |done: u64, total: Option<u64>| {
            if let (Some(t), false) = (total, sized) {
                sized = true;
                crate::progress::bytes_known(&bar, t);
            }
            bar.set_position(done);
        };
        let got = fetch_with(asset, &cache, &options, &mut progress);
        bar.finish_and_clear();
        let got = got?;
        match (got.downloaded, &got.replaced) {
            (None, _) => eprintln!("{}: cached copy is intact", got.name),
            (Some(bytes), replaced) => {
                if let Some(why) = replaced {
                    eprintln!("{}: replaced the cached copy ({why})", got.name);
                }
                eprintln!("{}: downloaded {bytes} bytes from {}", got.name, asset.url);
            }
        }
        if got.verified {
            eprintln!("{}: sha256 {} verified", got.name, got.sha256);
        } else {
            eprintln!(
                "{}: sha256 {} NOT verified (the registry has none); add `sha256 = \"{}\"` to the entry once you trust this file",
                got.name, got.sha256, got.sha256
            );
        }
        println!("{}", got.path.display());
    }
    Ok(ExitCode::SUCCESS)
}
