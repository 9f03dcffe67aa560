//! `vsrqa bench`: where the time goes when this build scores one clip. The clip (Y4M) is read into
//! memory first, so decoding is timed apart; then the engine is loaded and the clip is streamed
//! through a session `--repeat` times. Reported: the clip score time of each run, the median
//! run's stages (frame conversion, each branch's preprocessing and network), per-frame push
//! latency, the finish latency and the process's peak memory. tools/bench/bench.py runs it next to
//! the PyTorch reference and ONNX Runtime and prints the ratios (docs/performance.md).
//! `--queue-frames N` streams through a non-blocking session instead (push queues, a worker
//! scores), and `--realtime` hands frames over at the clip's frame rate, as a player does: the
//! push latency of each mode, side by side.

use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vsrqa::backend::BackendKind;
use vsrqa::engine::{StreamRunner, WhenFull};
use vsrqa::frame::{Frame, FrameView};
use vsrqa::{Engine, EngineOptions, EngineTimes, StreamOptions};
use vsrqa_video::y4m::Y4mReader;

use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// The model bundle directory.
    #[arg(long, short = 'm', value_name = "DIR")]
    model: PathBuf,
    /// The clip: Y4M (read into memory before timing).
    #[arg(value_name = "CLIP.y4m")]
    clip: PathBuf,
    /// Runs of the whole clip; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// CPU threads per network run (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// An ensemble bundle's members to run, by name (comma-separated); default: all of them.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    members: Option<Vec<String>>,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
    /// auto, cpu (tract), onnxruntime (needs the library: ORT_DYLIB_PATH) or tensorrt.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// With the tensorrt backend: replay each network as a CUDA graph (to time against plain
    /// launches; ignored by the CPU backends).
    #[arg(long)]
    cuda_graphs: bool,
    /// Stream through a non-blocking session with a queue of N frames (0: blocking, the default).
    #[arg(long, default_value_t = 0, value_name = "N")]
    queue_frames: usize,
    /// Push frames at the clip's frame rate (as a player receives them) instead of at once.
    #[arg(long)]
    realtime: bool,
    /// Write the JSON report to PATH instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
}

struct Run {
    total: Duration,
    pushes: Vec<Duration>,
    finish: Duration,
    times: EngineTimes,
    score: f64,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let backend: BackendKind = args.backend.parse().map_err(|e: vsrqa::Error| Failure::usage(e.to_string()))?;
    args.decoding.check_names()?;
    let color_conversion = args.decoding.conversion()?;
    if args.repeat == 0 {
        return Err(Failure::usage("--repeat must be at least 1"));
    }
    let input_error = |message: &dyn std::fmt::Display| Failure::from(format!("{}: {message}", args.clip.display()));
    let started = Instant::now();
    let file = std::fs::File::open(&args.clip).map_err(|e| input_error(&e))?;
    let mut reader = Y4mReader::new(BufReader::new(file)).map_err(|e| input_error(&e))?;
    let header = reader.header.clone();
    let mut frames = Vec::new();
    let mut buffer = Vec::new();
    while reader.read_frame(&mut buffer).map_err(|e| input_error(&e))? {
        frames.push(buffer.clone());
    }
    let decode = started.elapsed();
    if frames.is_empty() {
        return Err(input_error(&"no frames"));
    }

    let options = |gpu: vsrqa::backend::GpuOptions| EngineOptions {
        backend,
        threads: args.threads,
        gpu: vsrqa::backend::GpuOptions { cuda_graphs: args.cuda_graphs, ..gpu },
        color_conversion,
        members: args.members.clone(),
        ..EngineOptions::default()
    };
    // ONNX Runtime keeps each network's optimized graph in the engine cache. So that the figures
    // do not depend on what an earlier run left there, its loads use a cache of their own: the
    // first load optimizes every network and writes the graphs, the second reads them (what a
    // player pays from its second start on), and the clip runs use the second engine.
    let graph_cache = if backend == BackendKind::OnnxRuntime {
        Some(tempfile::tempdir().map_err(|e| format!("cannot create a temporary graph cache: {e}"))?)
    } else {
        None
    };
    let gpu = match &graph_cache {
        Some(dir) => vsrqa::backend::GpuOptions { cache_dir: Some(dir.path().to_path_buf()), ..Default::default() },
        None => super::gpu_options(),
    };
    let started = Instant::now();
    let mut engine = Engine::new(&args.model, options(gpu.clone()))?;
    let load = started.elapsed();
    let mut cached_load = None;
    if graph_cache.is_some() {
        drop(engine);
        let started = Instant::now();
        engine = Engine::new(&args.model, options(gpu))?;
        cached_load = Some(started.elapsed());
    }
    let decoding = args.decoding.decoding(engine.color_conversion())?;
    // The clip's tags, but where the options set one (a Y4M header has a range, not a matrix).
    let (matrix, range) = (decoding.matrix.unwrap_or_default(), decoding.range.unwrap_or(header.range));

    let mut runs = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        engine.reset_timings();
        let started = Instant::now();
        let options = StreamOptions { expected_frames: Some(frames.len() as u64), ..StreamOptions::new(header.fps) };
        let mut stream = StreamRunner::start(engine.stream(options)?, args.queue_frames, WhenFull::Block)?;
        let mut pushes = Vec::with_capacity(frames.len());
        for (i, data) in frames.iter().enumerate() {
            if args.realtime {
                let due = Duration::from_secs_f64(i as f64 / header.fps);
                std::thread::sleep(due.saturating_sub(started.elapsed()));
            }
            let view =
                FrameView { matrix, range, ..FrameView::packed(header.format, header.width, header.height, data)? };
            let pushed = Instant::now();
            stream.push(&Frame::Host(view), None)?;
            pushes.push(pushed.elapsed());
        }
        let finishing = Instant::now();
        let score = stream.finish()?.score;
        let finish = finishing.elapsed();
        runs.push(Run { total: started.elapsed(), pushes, finish, times: engine.timings(), score });
    }
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| runs[i].total);
    let median = &runs[order[order.len() / 2]];

    let report = json!({
        "vsrqa_version": vsrqa::VERSION,
        "backend": engine.backend_name(),
        "threads": args.threads,
        "cuda_graphs": args.cuda_graphs,
        "queue_frames": args.queue_frames,
        "realtime": args.realtime,
        "machine": machine(),
        // Its version is in the path (the release's folder); ratios swing with it.
        "onnxruntime_library": (engine.backend() == vsrqa::backend::BackendKind::OnnxRuntime)
            .then(vsrqa::backend::onnxruntime::loaded_library),
        "model": engine.bundle().dir,
        "model_name": engine.bundle().manifest.name,
        // What the frames were converted with, as `vsrqa score` reports it.
        "color_conversion": engine.color_conversion().name(),
        "color_matrix": matrix.name(),
        "color_range": range.name(),
        "clip": {
            "path": args.clip, "width": header.width, "height": header.height, "fps": header.fps, "frames": frames.len(),
        },
        "decode_seconds": decode.as_secs_f64(),
        "engine_load_seconds": load.as_secs_f64(),
        "engine_load_cached_graphs_seconds": cached_load.map(|d| d.as_secs_f64()),
        "clip_score_seconds": median.total.as_secs_f64(),
        "runs_seconds": runs.iter().map(|r| r.total.as_secs_f64()).collect::<Vec<_>>(),
        "runs_stages": runs.iter().map(|r| stages(&r.times)).collect::<Vec<_>>(),
        "score": median.score,
        "stages": stages(&median.times),
        "streaming": streaming(median),
        "peak_rss_bytes": peak_rss_bytes(),
        "frames_bytes": frames.iter().map(Vec::len).sum::<usize>(),
    });
    eprint!("{}", summary(&report));
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn stages(times: &EngineTimes) -> Value {
    json!({
        "convert": { "seconds": times.convert.time.as_secs_f64(), "calls": times.convert.calls },
        "branches": times.branches.iter().map(|b| json!({
            "name": b.name,
            "preprocess_seconds": b.preprocess.time.as_secs_f64(),
            "preprocess_calls": b.preprocess.calls,
            "network_seconds": b.network.time.as_secs_f64(),
            "network_calls": b.network.calls,
        })).collect::<Vec<_>>(),
    })
}

/// Push latency percentiles (nearest rank) and the finish latency, in milliseconds.
fn streaming(run: &Run) -> Value {
    let mut ms: Vec<f64> = run.pushes.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    json!({
        "push_ms_p50": rank(0.5),
        "push_ms_p95": rank(0.95),
        "push_ms_p99": rank(0.99),
        "push_ms_max": ms[ms.len() - 1],
        "push_ms_mean": ms.iter().sum::<f64>() / ms.len() as f64,
        "finish_ms": run.finish.as_secs_f64() * 1e3,
    })
}

/// The process's peak resident memory (getrusage: kilobytes on Linux).
fn peak_rss_bytes() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

/// The CPU features the networks' kernels choose between (ONNX Runtime's MLAS and tract pick
/// AVX2/FMA, AVX-512, VNNI or AMX paths): a ratio measured on one set says little about another.
const KERNEL_FLAGS: [&str; 11] = [
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
];

/// What a timing depends on besides vsrqa: the CPU (model, count, kernel features), the load when
/// the run started, the OS.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo.lines().find(|l| l.starts_with(name)).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    };
    let flags: Vec<&str> = field("flags")
        .map(|flags| KERNEL_FLAGS.into_iter().filter(|f| flags.split_whitespace().any(|g| g == *f)).collect())
        .unwrap_or_default();
    let load: Option<Vec<f64>> = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect());
    json!({
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cpu": field("model name"),
        "cpu_kernel_flags": flags,
        "load_average": load,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

fn summary(report: &Value) -> String {
    let seconds = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut out = format!(
        "clip {}x{} {} frames: decode {:.2} s, engine load {:.2} s, clip score {:.2} s (median of {:?})\n",
        report["clip"]["width"],
        report["clip"]["height"],
        report["clip"]["frames"],
        seconds(&report["decode_seconds"]),
        seconds(&report["engine_load_seconds"]),
        seconds(&report["clip_score_seconds"]),
        report["runs_seconds"]
            .as_array()
            .map(|r| r.iter().map(|v| (seconds(v) * 100.0).round() / 100.0).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    if let Some(cached) = report["engine_load_cached_graphs_seconds"].as_f64() {
        out += &format!("  engine load with the optimized graphs cached {cached:.2} s\n");
    }
    out += &format!("  convert to RGB        {:>8.3} s\n", seconds(&report["stages"]["convert"]["seconds"]));
    for b in report["stages"]["branches"].as_array().into_iter().flatten() {
        out += &format!(
            "  {:<10} preprocess {:>8.3} s ({} calls), network {:>8.3} s ({} runs)\n",
            b["name"].as_str().unwrap_or(""),
            seconds(&b["preprocess_seconds"]),
            b["preprocess_calls"],
            seconds(&b["network_seconds"]),
            b["network_calls"]
        );
    }
    let s = &report["streaming"];
    out += &format!(
        "  push latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; finish {:.1} ms; peak RSS {:.0} MB\n",
        seconds(&s["push_ms_p50"]),
        seconds(&s["push_ms_p95"]),
        seconds(&s["push_ms_p99"]),
        seconds(&s["push_ms_max"]),
        seconds(&s["finish_ms"]),
        seconds(&report["peak_rss_bytes"]) / 1e6
    );
    out
}
