//! `vsrqa score`: stream a clip through a session and print the scores as JSON.

use std::path::PathBuf;

use serde_json::json;
use vsrqa::backend::BackendKind;
use vsrqa::frame::{ColorMatrix, ColorRange};
use vsrqa::{Engine, EngineOptions};

use super::input::{Clip, RawOptions};
use super::{print_json, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The model bundle directory (holding vsrqa.json).
    #[arg(long, short = 'm', value_name = "DIR")]
    model: PathBuf,
    /// The clip: a .y4m file, or raw frames (then --pix-fmt, --size, --fps); "-" reads stdin.
    input: PathBuf,
    /// auto, cpu or tensorrt.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// CPU threads per network run (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Frames per second (overrides the Y4M header; required for raw input).
    #[arg(long)]
    fps: Option<f64>,
    /// Raw input pixel format, as FFmpeg names it: rgb24, bgr24, rgba, bgra, yuv420p, nv12,
    /// yuv420p10le, p010le.
    #[arg(long, value_name = "NAME")]
    pix_fmt: Option<String>,
    /// Raw input frame size, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    /// YUV matrix: bt601 (default, as the reference decoded every video) or bt709.
    #[arg(long, value_name = "bt601|bt709")]
    color_matrix: Option<String>,
    /// YUV range: limited (default; Y4M files tagged XCOLORRANGE=FULL are full) or full.
    #[arg(long, value_name = "limited|full")]
    color_range: Option<String>,
    /// Print the log (backend choice, network loading) on stderr.
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let backend: BackendKind = args.backend.parse().map_err(|e: vsrqa::Error| Failure::usage(e.to_string()))?;
    if let Some(fps) = args.fps {
        if !(fps.is_finite() && fps > 0.0) {
            return Err(Failure::usage(format!("--fps {fps} must be a positive number")));
        }
    }
    let options = RawOptions {
        pix_fmt: args.pix_fmt.clone(),
        size: args.size.clone(),
        fps: args.fps,
        matrix: args.color_matrix.as_deref().map(parse_matrix).transpose()?,
        range: args.color_range.as_deref().map(parse_range).transpose()?,
    };
    let mut clip = Clip::open(&args.input, &options)?;

    let logger: Option<vsrqa::engine::Logger> = if args.verbose {
        Some(std::sync::Arc::new(|level, message: &str| eprintln!("vsrqa: {level:?}: {message}")))
    } else {
        None
    };
    let engine = Engine::new(&args.model, EngineOptions { backend, threads: args.threads, logger })?;
    let mut session = engine.session(clip.fps)?;
    let mut frame_scores = Vec::new();
    while let Some(frame) = clip.next_frame()? {
        session.push(&frame)?;
        frame_scores.extend(std::iter::from_fn(|| session.poll()));
    }
    if session.frames_pushed() == 0 {
        return Err(format!("{}: the clip has no frames", args.input.display()).into());
    }
    let clip_score = session.finish()?;
    frame_scores.extend(std::iter::from_fn(|| session.poll()));

    let report = json!({
        "vsrqa_version": vsrqa::VERSION,
        "model": { "path": engine.bundle().dir, "name": engine.bundle().manifest.name },
        "backend": engine.backend_name(),
        "input": {
            "path": clip.path,
            "container": clip.container,
            "pixel_format": format!("{:?}", clip.format),
            "width": clip.width,
            "height": clip.height,
            "fps": clip.fps,
            "color_matrix": format!("{:?}", clip.matrix),
            "color_range": format!("{:?}", clip.range),
        },
        "clip_score": clip_score.score,
        "frames": clip_score.frames,
        "key_frames": clip_score.key_frames,
        "pooled_slots": clip_score.pooled_slots,
        "frame_scores": frame_scores
            .iter()
            .map(|s| json!({ "frame_index": s.frame_index, "key_frame": s.key_frame, "score": s.score }))
            .collect::<Vec<_>>(),
    });
    print_json(&report)
}

fn parse_matrix(text: &str) -> Result<ColorMatrix, Failure> {
    match text {
        "bt601" => Ok(ColorMatrix::Bt601),
        "bt709" => Ok(ColorMatrix::Bt709),
        other => Err(Failure::usage(format!("--color-matrix \"{other}\": use bt601 or bt709"))),
    }
}

fn parse_range(text: &str) -> Result<ColorRange, Failure> {
    match text {
        "limited" | "tv" => Ok(ColorRange::Limited),
        "full" | "pc" => Ok(ColorRange::Full),
        other => Err(Failure::usage(format!("--color-range \"{other}\": use limited or full"))),
    }
}
