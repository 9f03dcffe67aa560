//! `vsrqa score`: stream one or more clips through sessions and report the scores (JSON, JSON
//! Lines, CSV or text), with pooled statistics, optional PSNR-Y/SSIM-Y against a reference clip,
//! an optional plot, and progress on a terminal.
//!
//! Every input is attempted; a file that fails is reported with an `error` (and the run exits
//! with 1), a stream that breaks mid-way is scored over the frames that decoded (`partial`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::metrics::{self, Comparison};
use vsrqa::backend::BackendKind;
use vsrqa::frame::ColorConversion;
use vsrqa::{ClipScore, Engine, EngineOptions};
use vsrqa_train::Decoding;

use super::decoding::{check_matrix_applies, parse_matrix, parse_range, DecodingArgs};
use super::input::{Clip, RawOptions};
use super::plot::{self, PlotKind, Series};
use super::progress::{self, Progress};
use super::report::{Context, FileReport, Format, FrameRow, InputInfo, Segment, Writer};
use super::windows::{Cut, Part, Scoring, ScoringChoice};
use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// The model bundle directory (holding vsrqa.json).
    #[arg(long, short = 'm', value_name = "DIR")]
    model: PathBuf,
    /// The clips: .y4m files, any file FFmpeg decodes (MP4, MKV, WebM, TS... in 8 or 10 bits), or
    /// raw frames (then --pix-fmt, --size, --fps apply to every one); "-" reads Y4M or raw stdin.
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// json: one pretty object for one file, JSON Lines (one object per file) for several;
    /// csv: one row per key frame plus a clip row per file; text: for people.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write the report to PATH instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Draw the key-frame score curves (one line per file) into PATH.png or PATH.svg.
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    /// A reference clip (same size and frame count): adds PSNR-Y and SSIM-Y (11x11 Gaussian) per
    /// key frame. Raw options apply to it too when it is raw.
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
    /// No progress bar (it is only drawn when stderr is a terminal anyway).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// auto (the fastest usable: tensorrt, else onnxruntime, else cpu), cpu (tract), onnxruntime (its
    /// library from ORT_DYLIB_PATH or ~/.cache/vsrqa) or tensorrt.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// CPU threads per network run (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// An ensemble bundle's members to run, by name (comma-separated); default: all of them.
    /// Each costs its own networks' runs; the shared branches run once.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    members: Option<Vec<String>>,
    /// Frames per second (overrides the Y4M header or the stream's rate; required for raw input).
    #[arg(long)]
    fps: Option<f64>,
    /// Raw input pixel format, as FFmpeg names it.
    #[arg(long, value_name = "NAME", value_parser = pixel_format_names())]
    pix_fmt: Option<String>,
    /// Raw input frame size, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    #[command(flatten)]
    decoding: DecodingArgs,
    #[command(flatten)]
    scoring: ScoringArgs,
    /// Print the log (backend choice, network loading) on stderr.
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// What a file's score covers (docs/cli.md, "Long videos").
#[derive(clap::Args)]
pub struct ScoringArgs {
    /// Score in consecutive windows of SECONDS, each a clip of its own. Default: the model's span
    /// (8 key frames, 8 s at one key frame per second); a file within it is one clip.
    #[arg(long, value_name = "SECONDS", conflicts_with = "whole_clip")]
    window: Option<f64>,
    /// One clip for the whole file, as the reference scores a clip: its first 8 key frames (the
    /// rest counts only through FAST-VQA's samples). For reproducing published numbers.
    #[arg(long)]
    whole_clip: bool,
    /// How the windows' scores make the file's: mean, harmonic_mean, min, or a percentile p1 to
    /// p99 (p10: the score 90% of the video is at or above); each window weighs by its frames.
    #[arg(long, value_name = "NAME", default_value = "mean")]
    pooling: String,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    // Command-line mistakes first, before any file or model is touched.
    let backend: BackendKind = args.backend.parse().map_err(|e: vsrqa::Error| Failure::usage(e.to_string()))?;
    let file_options = FileOptions {
        fps: args.fps,
        pix_fmt: args.pix_fmt.clone(),
        size: args.size.clone(),
        color_matrix: args.decoding.color_matrix.clone(),
        color_range: args.decoding.color_range.clone(),
        reference: args.reference.clone(),
        window_seconds: args.scoring.window,
        whole_clip: args.scoring.whole_clip,
        pooling: Some(args.scoring.pooling.clone()),
    };
    let mut options = raw_options(&file_options)?;
    let scoring = scoring_choice(&file_options)?;
    let plot_kind = match &args.plot {
        Some(path) => Some(PlotKind::from_path(path).ok_or_else(|| {
            Failure::usage(format!("--plot {}: the file name must end in .png or .svg", path.display()))
        })?),
        None => None,
    };
    let stdin_uses = args.inputs.iter().chain(&args.reference).filter(|p| p.as_os_str() == "-").count();
    if stdin_uses > 1 {
        return Err(Failure::usage("\"-\" (stdin) can be given only once among the inputs and --reference"));
    }
    let conversion = args.decoding.conversion()?;

    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| format!("--output {}: cannot create: {e}", path.display()))?,
        )),
        None => Box::new(io::stdout().lock()),
    };
    let write_error = |e: io::Error| Failure::from(format!("writing the report: {e}"));

    let engine = open_engine(args, backend, conversion)?;
    options.conversion = engine.color_conversion();
    check_matrix_applies(options.matrix, options.conversion)?;
    // On every run and never on stdout (the report). With --verbose the engine's log already
    // printed it.
    if let (Some(warning), false) = (engine.bundle().provenance_warning(), args.verbose) {
        eprintln!("vsrqa: warning: {warning}");
    }
    let context = Context::new(&engine, args.reference.clone());

    let mut writer = Writer::new(args.format, out, args.inputs.len()).map_err(write_error)?;
    let show_progress = progress::enabled(args.quiet);
    let mut reports = Vec::with_capacity(args.inputs.len());
    for (i, path) in args.inputs.iter().enumerate() {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let label = if args.inputs.len() > 1 { format!("[{}/{}] {name}", i + 1, args.inputs.len()) } else { name };
        let report = score_file(&engine, path, &options, &scoring, args.reference.as_deref(), show_progress, label);
        if let Some(error) = &report.error {
            let what = if report.partial { "partial result" } else { "error" };
            eprintln!("vsrqa: {what}: {error}");
        }
        writer.file(&context, &report).map_err(write_error)?;
        reports.push(report);
    }
    writer.finish(&reports).map_err(write_error)?;

    if let (Some(path), Some(kind)) = (&args.plot, plot_kind) {
        draw_plot(path, kind, &reports)?;
    }
    exit_status(&reports)
}

/// The engine the command scores with; `--verbose` prints its log on stderr.
fn open_engine(args: &Args, backend: BackendKind, conversion: Option<ColorConversion>) -> Result<Engine, Failure> {
    let logger: Option<vsrqa::engine::Logger> = if args.verbose {
        Some(std::sync::Arc::new(|level, message: &str| eprintln!("vsrqa: {level:?}: {message}")))
    } else {
        None
    };
    let options = EngineOptions {
        backend,
        threads: args.threads,
        logger,
        gpu: super::gpu_options(),
        color_conversion: conversion,
        members: args.members.clone(),
        ..EngineOptions::default()
    };
    Ok(Engine::new(&args.model, options)?)
}

/// Draws each file's key-frame scores, and its windows' scores as steps, into `path`.
fn draw_plot(path: &Path, kind: PlotKind, reports: &[FileReport]) -> Result<(), Failure> {
    let mut series: Vec<Series> = Vec::new();
    for r in reports.iter().filter(|r| !r.frames.is_empty()) {
        let label = r.path.display().to_string();
        series
            .push(Series { label: label.clone(), points: r.frames.iter().map(|f| (f.frame_index, f.score)).collect() });
        // Each window's score as a step over its frames.
        if r.windows().len() > 1 {
            let steps = r.windows().iter().flat_map(|w| {
                let c = &w.clip;
                [(c.first_frame, c.score), (c.first_frame + c.frames - 1, c.score)]
            });
            series.push(Series { label: format!("{label} (windows)"), points: steps.collect() });
        }
    }
    let last_frame =
        reports.iter().filter_map(|r| r.clip.as_ref().map(|c| c.frames.saturating_sub(1))).max().unwrap_or(0);
    plot::draw(path, kind, &series, last_frame)?;
    Ok(())
}

/// The command's result once every file is reported: failed files were named on stderr already.
fn exit_status(reports: &[FileReport]) -> Result<(), Failure> {
    let failed = reports.iter().filter(|r| r.failed()).count();
    if failed == 0 {
        return Ok(());
    }
    let usage = reports.iter().any(|r| r.usage_error);
    if reports.len() == 1 {
        Err(Failure::silent(usage))
    } else {
        Err(Failure { message: format!("{failed} of {} inputs failed", reports.len()), usage })
    }
}

/// The per-file options of `vsrqa score`, for a front end that scores one file at a time; the
/// defaults are the command's (each file says its rate, format and colours itself).
#[derive(Clone, Debug, Default)]
pub struct FileOptions {
    /// Frames per second: overrides the file's rate; required for raw input (`--fps`).
    pub fps: Option<f64>,
    /// Raw input: FFmpeg's pixel format name and "WIDTHxHEIGHT" (`--pix-fmt`, `--size`).
    pub pix_fmt: Option<String>,
    pub size: Option<String>,
    /// `--color-matrix` (bt601, bt709, bt2020: the exact conversion only) and `--color-range`
    /// (limited, full).
    pub color_matrix: Option<String>,
    pub color_range: Option<String>,
    /// A reference clip: adds PSNR-Y and SSIM-Y per key frame (`--reference`).
    pub reference: Option<PathBuf>,
    /// Windows of this many seconds (`--window`); default: the model's span.
    pub window_seconds: Option<f64>,
    /// One clip for the whole file, the reference's rule (`--whole-clip`).
    pub whole_clip: bool,
    /// How windows pool (`--pooling`): mean (default), harmonic_mean, min, p1 to p99.
    pub pooling: Option<String>,
}

/// One file's report, as `vsrqa score --format json` writes it.
pub struct FileReportJson {
    /// The JSON object. It has an `error` field when the file failed, with `partial: true` when
    /// the frames before a broken part were scored.
    pub report: serde_json::Value,
    /// The failure is a mistake in the options (the tool's exit status 2), not in the file.
    pub usage_error: bool,
}

/// Scores one file as `vsrqa score` does, with no progress bar, and returns its report: the same
/// fields and numbers as the tool's JSON for that file. Failures are in the report, as the
/// tool's are.
pub fn score_file_json(engine: &Engine, path: &Path, options: &FileOptions) -> FileReportJson {
    let context = Context::new(engine, options.reference.clone());
    let report = match checked_options(engine, options).and_then(|raw| Ok((raw, scoring_choice(options)?))) {
        Ok((raw, scoring)) => {
            score_file(engine, path, &raw, &scoring, options.reference.as_deref(), false, String::new())
        }
        Err(f) => {
            let mut report = FileReport::new(path);
            report.error = Some(f.message);
            report.usage_error = true;
            report
        }
    };
    FileReportJson { report: super::report::to_json(&context, &report), usage_error: report.usage_error }
}

/// Checks the options that do not depend on the file, as `vsrqa score` does before it opens any:
/// `Err` is the message of a usage mistake (exit status 2).
pub fn check_file_options(engine: &Engine, options: &FileOptions) -> Result<(), String> {
    checked_options(engine, options).and_then(|_| scoring_choice(options)).map(|_| ()).map_err(|f| f.message)
}

/// `--window`, `--whole-clip` and `--pooling`, checked.
fn scoring_choice(options: &FileOptions) -> Result<ScoringChoice, Failure> {
    checked_choice(options.window_seconds, options.whole_clip, options.pooling.as_deref())
}

fn checked_choice(
    window_seconds: Option<f64>,
    whole_clip: bool,
    pooling: Option<&str>,
) -> Result<ScoringChoice, Failure> {
    if let Some(seconds) = window_seconds {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(Failure::usage(format!("--window {seconds}: a window is a positive number of seconds")));
        }
        if whole_clip {
            return Err(Failure::usage("--window and --whole-clip exclude each other: windows, or one clip"));
        }
    }
    let pooling = match pooling {
        Some(name) => vsrqa::Pooling::parse(name).map_err(|e| Failure::usage(format!("--pooling: {e}")))?,
        None => vsrqa::Pooling::default(),
    };
    Ok(ScoringChoice { window_seconds, whole_clip, pooling })
}

impl ScoringArgs {
    /// The options, checked (usage errors, before any file is read).
    pub fn choice(&self) -> Result<ScoringChoice, Failure> {
        checked_choice(self.window, self.whole_clip, Some(&self.pooling))
    }
}

/// A video's clip score as `vsrqa score` gives it (the file's own rate and colours, windows as
/// `choice` says), for the commands that need only that number. A stream that breaks mid-way is
/// an error here.
pub fn file_clip_score(
    engine: &Engine,
    path: &Path,
    decoding: &Decoding,
    choice: &ScoringChoice,
) -> Result<ClipScore, String> {
    let options = RawOptions::decoded(decoding);
    let report = score_file(engine, path, &options, choice, None, false, String::new());
    match (report.error, report.clip) {
        (Some(error), _) => Err(error),
        (None, Some(clip)) => Ok(clip),
        (None, None) => Err(format!("{}: the clip has no frames", path.display())),
    }
}

/// The options every file is opened with, for this engine, checked.
fn checked_options(engine: &Engine, options: &FileOptions) -> Result<RawOptions, Failure> {
    let mut raw = raw_options(options)?;
    raw.conversion = engine.color_conversion();
    check_matrix_applies(raw.matrix, raw.conversion)?;
    Ok(raw)
}

/// The names `--pix-fmt` takes, from the core's pixel-format table (`--help` lists them).
fn pixel_format_names() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    let descriptors = vsrqa::frame::format::DESCRIPTORS.iter();
    descriptors.map(|d| PossibleValue::new(d.name).aliases(d.aliases.iter().copied())).collect::<Vec<_>>().into()
}

/// The options every file is opened with, checked (the engine's conversion is set later).
fn raw_options(options: &FileOptions) -> Result<RawOptions, Failure> {
    if let Some(fps) = options.fps {
        if !(fps.is_finite() && fps > 0.0) {
            return Err(Failure::usage(format!("--fps {fps} must be a positive number")));
        }
    }
    if let Some(name) = &options.pix_fmt {
        vsrqa_video::raw::parse_pixel_format(name).map_err(|e| Failure::usage(e.to_string()))?;
    }
    Ok(RawOptions {
        pix_fmt: options.pix_fmt.clone(),
        size: options.size.clone(),
        fps: options.fps,
        matrix: options.color_matrix.as_deref().map(parse_matrix).transpose()?,
        range: options.color_range.as_deref().map(parse_range).transpose()?,
        conversion: ColorConversion::default(),
    })
}

/// `message` naming `path` (prefixing it when the message does not already).
fn naming(path: &Path, message: &str) -> String {
    let name = path.display().to_string();
    if message.contains(&name) {
        message.to_owned()
    } else {
        format!("{name}: {message}")
    }
}

/// Whether frame `index` will be a key frame: the session's rule (every round(fps)-th frame,
/// at most `count` of them), used to compare only the frames that get a score.
struct KeyFramePredictor {
    interval: u64,
    count: Option<u32>,
    seen: u32,
}

impl KeyFramePredictor {
    fn new(engine: &Engine, fps: f64) -> Self {
        KeyFramePredictor {
            interval: vsrqa::Session::key_frame_interval(fps),
            count: engine.bundle().manifest.key_frames.count,
            seen: 0,
        }
    }

    fn is_key(&mut self, index: u64) -> bool {
        let key = index.is_multiple_of(self.interval) && self.count.is_none_or(|c| self.seen < c);
        self.seen += u32::from(key);
        key
    }
}

/// The `--reference` clip of one file, read frame for frame beside it.
struct Reference {
    clip: Clip,
    path: PathBuf,
    /// The scored file, named first in every message.
    scored: PathBuf,
}

impl Reference {
    /// Opens the reference with the inputs' raw options, or without --pix-fmt/--size when those
    /// do not fit it (a Y4M reference for raw inputs); it must have the scored clip's size.
    fn open(path: &Path, options: &RawOptions, scored: &Clip, scored_path: &Path) -> Result<Reference, Failure> {
        let clip = match Clip::open(path, options) {
            Err(f) if f.usage && (options.pix_fmt.is_some() || options.size.is_some()) => {
                let without = RawOptions { pix_fmt: None, size: None, ..*options };
                Clip::open(path, &without).map_err(|_| f)
            }
            other => other,
        }
        .map_err(|f| Failure { message: format!("{}: reference {}", scored_path.display(), f.message), ..f })?;
        let reference = Reference { clip, path: path.to_path_buf(), scored: scored_path.to_path_buf() };
        if (reference.clip.width, reference.clip.height) != (scored.width, scored.height) {
            let (r, c) = (&reference.clip, scored);
            return Err(reference.failure(format!(
                "the reference {} is {}x{}, this clip is {}x{}: they must be the same size",
                reference.path.display(),
                r.width,
                r.height,
                c.width,
                c.height
            )));
        }
        Ok(reference)
    }

    /// Reads the reference's frame `index` and, for a key frame, compares `frame` with it.
    fn compare(
        &mut self,
        index: u64,
        frame: &vsrqa::frame::FrameView<'_>,
        is_key: bool,
    ) -> Result<Option<Comparison>, Failure> {
        match self.clip.next_frame() {
            Ok(Some(reference)) if is_key => metrics::compare(&reference, frame)
                .map(Some)
                .map_err(|e| self.failure(format!("frame {index} against the reference {}: {e}", self.path.display()))),
            Ok(Some(_)) => Ok(None),
            Ok(None) => Err(self.failure(format!(
                "the reference {} has {index} frames, this clip has more: they must have the same frame count",
                self.path.display()
            ))),
            Err(f) => Err(self.failure(format!("reference {}", f.message))),
        }
    }

    /// Checks that the reference ends where the clip did, after `frames` frames.
    fn check_ended(&mut self, frames: u64) -> Result<(), Failure> {
        match self.clip.next_frame() {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(self.failure(format!(
                "the reference {} has more frames than this clip ({frames}): they must have the same frame count",
                self.path.display()
            ))),
            Err(f) => Err(self.failure(format!("reference {}", f.message))),
        }
    }

    fn failure(&self, message: String) -> Failure {
        Failure::from(format!("{}: {message}", self.scored.display()))
    }
}

fn score_file(
    engine: &Engine,
    path: &Path,
    options: &RawOptions,
    choice: &ScoringChoice,
    reference_path: Option<&Path>,
    show_progress: bool,
    label: String,
) -> FileReport {
    let mut report = FileReport::new(path);
    let mut scored = Scored::default();
    let result = (|| {
        let mut clip = Clip::open(path, options).map_err(|f| Stop::before(naming(path, &f.message), f.usage))?;
        report.input = Some(InputInfo::of(&clip));
        let mut reference = match reference_path {
            Some(reference) => {
                Some(Reference::open(reference, options, &clip, path).map_err(|f| Stop::before(f.message, f.usage))?)
            }
            None => None,
        };
        let scoring = choice.at(engine, clip.fps).map_err(|e| Stop::before(naming(path, &e.to_string()), true))?;
        let mut scorer = FileScorer::start(engine, &clip, scoring, path)?;
        let progress = Progress::start(show_progress, label, progress::estimate_frames(&clip));
        let stream_error = loop {
            let frame = match clip.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break None,
                Err(f) => break Some(naming(path, &f.message)),
            };
            scorer.push(frame, reference.as_mut(), &mut scored)?;
            progress.frame_done();
        };
        progress.finish();
        // Notes that decoding added (a frame flagged interlaced, another source format).
        report.input = Some(InputInfo::of(&clip));
        if let (None, Some(reference)) = (&stream_error, reference.as_mut()) {
            reference.check_ended(scorer.index).map_err(|f| Stop::before(f.message, false))?;
        }
        if scorer.session.frames_pushed() == 0 {
            let message = stream_error.unwrap_or_else(|| format!("{}: the clip has no frames", path.display()));
            return Err(Stop::before(message, false));
        }
        scorer.finish(&mut report, &mut scored)?;
        if let Some(error) = stream_error {
            report.partial = true;
            report.error = Some(error);
        }
        Ok(())
    })();
    match result {
        Ok(()) => report.frames = rows(scored.scores, &scored.compared),
        Err(stop) => {
            if stop.keep_frames {
                report.frames = rows(scored.scores, &scored.compared);
            }
            report.error = Some(stop.message);
            report.usage_error = stop.usage;
        }
    }
    report
}

/// Why a file's scoring stopped early, and whether the key frames scored until then are
/// reported (a network or session failure) or not (the inputs disagree).
struct Stop {
    message: String,
    usage: bool,
    keep_frames: bool,
}

impl Stop {
    fn before(message: String, usage: bool) -> Stop {
        Stop { message, usage, keep_frames: false }
    }

    fn after(message: String) -> Stop {
        Stop { message, usage: false, keep_frames: true }
    }
}

/// What a file's scoring has produced so far: kept when it stops early.
#[derive(Default)]
struct Scored {
    scores: Vec<(Tag, vsrqa::FrameScore)>,
    compared: BTreeMap<u64, Comparison>,
}

/// A file's frames cut into parts (a window, or the frames of one size), each scored as a clip by
/// its own session.
struct FileScorer<'a> {
    engine: &'a Engine,
    path: &'a Path,
    fps: f64,
    scoring: Scoring,
    session: vsrqa::Session,
    keys: KeyFramePredictor,
    part: PartStart,
    parts: Vec<Part>,
    /// The frame size of each segment, and the changes between them, for the report.
    sizes: Vec<(u32, u32)>,
    size_changes: Vec<String>,
    /// The next frame's index in the file.
    index: u64,
}

impl<'a> FileScorer<'a> {
    fn start(engine: &'a Engine, clip: &Clip, scoring: Scoring, path: &'a Path) -> Result<FileScorer<'a>, Stop> {
        let session = engine.session(clip.fps).map_err(|e| Stop::before(naming(path, &e.to_string()), false))?;
        Ok(FileScorer {
            engine,
            path,
            fps: clip.fps,
            scoring,
            session,
            keys: KeyFramePredictor::new(engine, clip.fps),
            part: PartStart { segment: 0, window: 0, first_frame: 0, key_frames_before: 0 },
            parts: Vec::new(),
            sizes: vec![(clip.width, clip.height)],
            size_changes: Vec::new(),
            index: 0,
        })
    }

    fn failed(&self, error: vsrqa::Error) -> Stop {
        Stop::after(naming(self.path, &error.to_string()))
    }

    fn push(
        &mut self,
        frame: vsrqa::frame::FrameView<'_>,
        reference: Option<&mut Reference>,
        scored: &mut Scored,
    ) -> Result<(), Stop> {
        let index = self.index;
        let size = self.sizes[self.part.segment as usize];
        let size_changed = (frame.width, frame.height) != size;
        let window_full = matches!(self.scoring.cut, Cut::Windows(n) if self.session.frames_pushed() >= n);
        if size_changed || window_full {
            // A clip has one frame size, and a window at most its length: the frames so far are
            // a part, scored as a clip.
            let done = close_part(&mut self.session, &self.part, &mut scored.scores).map_err(|e| self.failed(e))?;
            self.parts.push(done);
            if size_changed {
                self.size_changes
                    .push(format!("frame {index}: {}x{} to {}x{}", size.0, size.1, frame.width, frame.height));
                self.sizes.push((frame.width, frame.height));
            }
            self.session =
                self.engine.session(self.fps).map_err(|e| Stop::before(naming(self.path, &e.to_string()), false))?;
            self.keys = KeyFramePredictor::new(self.engine, self.fps);
            self.part = PartStart {
                segment: self.sizes.len() as u32 - 1,
                window: self.part.window + 1,
                first_frame: index,
                key_frames_before: self.parts.iter().map(|p| p.clip.key_frames).sum(),
            };
        }
        let is_key = self.keys.is_key(index - self.part.first_frame);
        if let Some(reference) = reference {
            if let Some(comparison) =
                reference.compare(index, &frame, is_key).map_err(|f| Stop::before(f.message, false))?
            {
                scored.compared.insert(index, comparison);
            }
        }
        self.session.push(frame).map_err(|e| Stop::after(format!("{}: frame {index}: {e}", self.path.display())))?;
        let part = &self.part;
        scored.scores.extend(std::iter::from_fn(|| self.session.poll()).map(|s| part.in_file(s)));
        self.index += 1;
        Ok(())
    }

    /// Closes the last part and fills in the report: the pooled score, the segments, the notes.
    fn finish(mut self, report: &mut FileReport, scored: &mut Scored) -> Result<(), Stop> {
        let done = close_part(&mut self.session, &self.part, &mut scored.scores).map_err(|e| self.failed(e))?;
        self.parts.push(done);
        report.clip = self.scoring.pooled(&self.parts);
        if let Some(input) = &mut report.input {
            if self.sizes.len() > 1 {
                input.notes.push(format!(
                    "the frame size changes ({}): a clip has one frame size, so the file is scored as {} segments, \
                     each scored as clips of its own; clip_score pools them ({})",
                    self.size_changes.join("; "),
                    self.sizes.len(),
                    self.scoring.pooling
                ));
            }
            input.notes.extend(self.scoring.notes(&self.parts));
        }
        report.segments = segments(&self.scoring, &self.parts, &self.sizes);
        report.parts = self.parts;
        report.scoring = Some(self.scoring);
        Ok(())
    }
}

/// Where the part in progress (a window, or a whole segment) starts in the file.
struct PartStart {
    segment: u32,
    window: u32,
    first_frame: u64,
    key_frames_before: u32,
}

impl PartStart {
    /// A score of the part's session, numbered in the file.
    fn in_file(&self, mut score: vsrqa::FrameScore) -> (Tag, vsrqa::FrameScore) {
        score.frame_index += self.first_frame;
        score.key_frame += self.key_frames_before;
        (Tag { segment: self.segment, window: self.window }, score)
    }
}

/// Which segment and window a key frame's score belongs to.
#[derive(Clone, Copy)]
struct Tag {
    segment: u32,
    window: u32,
}

/// Finishes the part's session: its clip score (placed in the file) and its last key-frame
/// scores.
fn close_part(
    session: &mut vsrqa::Session,
    part: &PartStart,
    scores: &mut Vec<(Tag, vsrqa::FrameScore)>,
) -> vsrqa::Result<Part> {
    let finished = session.finish();
    scores.extend(std::iter::from_fn(|| session.poll()).map(|s| part.in_file(s)));
    let mut clip = finished?;
    clip.first_frame = part.first_frame;
    clip.window = part.window;
    Ok(Part { segment: part.segment, clip })
}

/// The frame-size segments, each with its parts pooled (when the size changes).
fn segments(scoring: &Scoring, parts: &[Part], sizes: &[(u32, u32)]) -> Vec<Segment> {
    if sizes.len() < 2 {
        return Vec::new();
    }
    (0..sizes.len() as u32)
        .filter_map(|number| {
            let own: Vec<Part> = parts.iter().filter(|p| p.segment == number).cloned().collect();
            let mut clip = scoring.pooled(&own)?;
            clip.first_frame = own[0].clip.first_frame;
            let (width, height) = sizes[number as usize];
            Some(Segment { width, height, clip })
        })
        .collect()
}

fn rows(scores: Vec<(Tag, vsrqa::FrameScore)>, compared: &BTreeMap<u64, Comparison>) -> Vec<FrameRow> {
    scores
        .into_iter()
        .map(|(tag, s)| FrameRow {
            frame_index: s.frame_index,
            key_frame: s.key_frame,
            segment: tag.segment,
            window: tag.window,
            score: s.score,
            reference: compared.get(&s.frame_index).copied(),
        })
        .collect()
}
