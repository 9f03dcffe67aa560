//! `vsrqa build-engines`: prebuild every branch's TensorRT engine into the engine cache.

use std::path::PathBuf;

use serde_json::json;
use vsrqa::backend::tensorrt::cache::{self as engine_cache, EngineCache};
use vsrqa::bundle::Bundle;
use vsrqa::engine::build_engines::{build_engines, BuildOptions};

use super::{print_json, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The model bundle directory (holding vsrqa.json).
    #[arg(long, short = 'm', value_name = "DIR")]
    model: PathBuf,
    /// The engine cache directory [default: $XDG_CACHE_HOME/vsrqa/engines, else ~/.cache/vsrqa/engines].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// TensorRT's builder optimization level (0 = fastest build, 5 = most tuning).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=5))]
    optimization_level: u8,
    /// The builder's workspace limit, in MiB.
    #[arg(long, default_value_t = 1024)]
    workspace_mib: u64,
    /// TensorRT 10/11: the CUDA device to build on, and so for (TensorRT-RTX builds without a GPU,
    /// for every GPU it supports, and ignores this).
    #[arg(long, value_name = "N", default_value_t = 0)]
    device: usize,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let bundle = Bundle::load(&args.model)?;
    let dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => engine_cache::default_dir().ok_or_else(|| Failure::usage("no cache directory: pass --cache-dir"))?,
    };
    let cache = EngineCache::new(&dir);
    let options =
        BuildOptions { optimization_level: args.optimization_level, workspace_bytes: args.workspace_mib << 20 };
    let results = build_engines(&bundle, &cache, &options, Some(args.device), |i, n, branch| {
        eprintln!("[{}/{n}] {branch}: building or finding its engine...", i + 1);
    })
    .map_err(|e| Failure::from(e.to_string()))?;
    let mut failed = 0;
    let engines: Vec<serde_json::Value> = results
        .iter()
        .map(|result| match result {
            Ok(engine) => json!({
                "branch": engine.branch,
                "ok": true,
                "outcome": format!("{:?}", engine.outcome).to_lowercase(),
                "key": engine.key,
                "path": engine.path,
                "bytes": engine.bytes,
                "seconds": engine.seconds,
            }),
            Err((branch, error)) => {
                failed += 1;
                eprintln!("vsrqa: {branch}: {error}");
                json!({ "branch": branch, "ok": false, "error": error })
            }
        })
        .collect();
    print_json(&json!({ "cache_dir": dir, "engines": engines }))?;
    if failed > 0 {
        return Err(Failure::from(format!("{failed} of {} engines could not be built", results.len())));
    }
    Ok(())
}
