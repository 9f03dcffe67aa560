//! Argument parsing and dispatch; one module per subcommand.

mod bench;
mod build_engines;
mod bundle;
mod compare;
mod dataset;
mod decoding;
mod eval;
pub mod extract;
mod features;
mod info;
mod input;
mod metrics;
mod plot;
mod progress;
pub(crate) mod report;
pub mod score;
mod stats;
mod train;
mod windows;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vsrqa", version, about = "Learned quality metric for super-resolved video")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a model bundle (branches, feature dims, head) and which backends can run here.
    Info(info::Args),
    /// Score clips (any video FFmpeg decodes, Y4M, or raw frames with --pix-fmt/--size/--fps):
    /// JSON, JSON Lines, CSV or text.
    Score(Box<score::Args>),
    /// Extract the frozen branches' features of a labelled dataset into a feature bank
    /// (resumable: run again to finish an interrupted or partly failed run).
    Features(features::Args),
    /// Train the fusion head on a feature bank (PLCC + rank hinge loss, Adam, seeded 80/20 split)
    /// and write the head or a new bundle.
    Train(Box<train::Args>),
    /// Evaluate a model on a labelled dataset: SRCC, KRCC, PLCC and RMSE (after the logistic fit
    /// and raw), per group, JSON or a table, optional scatter plot.
    Eval(eval::Args),
    /// Compare two bundles' clip scores on the same videos (e.g. another precision): per video,
    /// the largest and mean |difference|, SRCC and PLCC between them (JSON or text).
    Compare(compare::Args),
    /// Time scoring one clip (Y4M) on this machine: each branch's preprocessing and network, the
    /// clip score, per-frame latency, peak memory (JSON; tools/bench/bench.py adds the reference).
    Bench(bench::Args),
    /// Build every branch's TensorRT engine ahead of time into the engine cache (the CLI built
    /// with --features tensorrt-rtx, which needs no GPU, or --features tensorrt, for TensorRT
    /// 10/11, which builds on the GPU the engines are for).
    BuildEngines(build_engines::Args),
    /// Carry a bundle as one archive: `pack` a directory (the manifest's hashes checked, every
    /// file's SHA-256 listed), `unpack` it elsewhere (checked before the directory appears),
    /// `verify` an archive or a directory.
    Bundle(bundle::Args),
}

/// A failure the tool reports: `usage` errors exit with 2, the rest with 1.
pub struct Failure {
    message: String,
    usage: bool,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure { message: message.into(), usage: true }
    }

    /// Sets the exit status only: the reason was printed already.
    fn silent(usage: bool) -> Self {
        Failure { message: String::new(), usage }
    }
}

impl From<vsrqa::Error> for Failure {
    fn from(e: vsrqa::Error) -> Self {
        Failure { message: e.to_string(), usage: false }
    }
}

impl From<vsrqa_train::Error> for Failure {
    fn from(e: vsrqa_train::Error) -> Self {
        Failure { message: e.to_string(), usage: false }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, usage: false }
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Score(args) => score::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BuildEngines(args) => build_engines::run(&args),
        Command::Bundle(args) => bundle::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("vsrqa: error: {}", failure.message);
            }
            ExitCode::from(if failure.usage { 2 } else { 1 })
        }
    }
}

/// The GPU backend's settings for the tool: engines cached where `vsrqa build-engines` puts them
/// by default, so a prebuilt engine is found and a built one is kept.
fn gpu_options() -> vsrqa::backend::GpuOptions {
    vsrqa::backend::GpuOptions { cache_dir: vsrqa::backend::default_engine_cache_dir(), ..Default::default() }
}

/// Writes a JSON value to stdout, pretty-printed, with a final newline.
fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
