//! What `vsrqa score` found for each input file, and how it is written: JSON (one pretty object
//! for one input, JSON Lines for several), CSV, or text.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::metrics::{self, Comparison};
use serde_json::{json, Value};
use vsrqa::ClipScore;

use super::input::Clip;
use super::stats::Summary;
use super::windows::{Cut, Part, Scoring};

/// Name of the SSIM field: which SSIM this is (see `metrics.rs`).
pub const SSIM_FIELD: &str = "ssim_y_gaussian11";
/// Name of the PSNR field.
pub const PSNR_FIELD: &str = "psnr_y_db";

/// The input as it was opened.
pub struct InputInfo {
    /// "y4m", "raw", or FFmpeg's demuxer name ("mov,mp4,m4a,3gp,3g2,mj2").
    pub container: String,
    /// FFmpeg's codec name, for FFmpeg-decoded files.
    pub codec: Option<String>,
    /// As FFmpeg names it: the file's own format.
    pub pixel_format: String,
    /// The format frames are scored in: `pixel_format`, or what swscale converted it to.
    pub frame_format: &'static str,
    /// Upright, after any display rotation.
    pub width: u32,
    pub height: u32,
    /// The display rotation applied, degrees clockwise (0 for none).
    pub rotation: u32,
    /// The field order of interlaced video (outside the model's training).
    pub field_order: Option<String>,
    /// The HDR transfer (PQ, HLG; outside the model's training).
    pub hdr_transfer: Option<String>,
    pub fps: f64,
    /// "reference" or "exact" (the engine's YUV->RGB conversion).
    pub color_conversion: &'static str,
    pub color_matrix: &'static str,
    pub color_range: &'static str,
    pub variable_frame_rate: bool,
    pub notes: Vec<String>,
}

impl InputInfo {
    pub fn of(clip: &Clip) -> InputInfo {
        let frame_format = clip.format.name();
        let (field_order, hdr_transfer) = clip.current_field_order_and_transfer();
        InputInfo {
            container: clip.container.clone(),
            codec: clip.codec.clone(),
            pixel_format: clip.source_format.clone().unwrap_or_else(|| frame_format.to_string()),
            frame_format,
            width: clip.width,
            height: clip.height,
            rotation: clip.rotation,
            field_order,
            hdr_transfer,
            fps: clip.fps,
            color_conversion: clip.conversion.name(),
            color_matrix: clip.matrix.name(),
            color_range: clip.range.name(),
            variable_frame_rate: clip.variable_frame_rate,
            notes: clip.current_notes(),
        }
    }
}

/// A run of frames of one size, scored as a clip of its own: a clip has one frame size, so a file
/// whose resolution changes (an adaptive stream's capture) is scored per segment.
#[derive(Clone, Debug)]
pub struct Segment {
    pub width: u32,
    pub height: u32,
    /// The segment's clip score; `first_frame` is its first frame in the file.
    pub clip: ClipScore,
}

/// One key frame's learned score, and its comparison with the reference when there is one.
pub struct FrameRow {
    /// In the file (not the segment).
    pub frame_index: u64,
    /// Ordinal among the file's key frames.
    pub key_frame: u32,
    /// The segment the frame belongs to (0 unless the size changes).
    pub segment: u32,
    /// The window it belongs to (in window mode).
    pub window: u32,
    pub score: f64,
    pub reference: Option<Comparison>,
}

/// Everything reported for one input file.
pub struct FileReport {
    pub path: PathBuf,
    pub input: Option<InputInfo>,
    pub clip: Option<ClipScore>,
    /// The segments, when the frame size changes (more than one); `clip` then combines them.
    pub segments: Vec<Segment>,
    /// How the file was cut and pooled, once it was scored.
    pub scoring: Option<Scoring>,
    /// The clips the file was scored as (windows, or whole segments); `clip` pools them.
    pub parts: Vec<Part>,
    pub frames: Vec<FrameRow>,
    /// The stream broke after some frames; those were scored.
    pub partial: bool,
    /// What went wrong, naming the file.
    pub error: Option<String>,
    /// The error is a command-line mistake (exit status 2).
    pub usage_error: bool,
}

impl FileReport {
    pub fn new(path: &Path) -> FileReport {
        FileReport {
            path: path.to_path_buf(),
            input: None,
            clip: None,
            segments: Vec::new(),
            scoring: None,
            parts: Vec::new(),
            frames: Vec::new(),
            partial: false,
            error: None,
            usage_error: false,
        }
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The windows the file was scored in (none in whole-clip mode).
    pub fn windows(&self) -> &[Part] {
        match &self.scoring {
            Some(scoring) if scoring.cut != Cut::WholeClip => &self.parts,
            _ => &[],
        }
    }

    /// Statistics of the key-frame scores.
    pub fn summary(&self) -> Option<Summary> {
        Summary::of(&self.frames.iter().map(|f| f.score).collect::<Vec<_>>())
    }

    /// PSNR-Y from the mean MSE over the compared key frames, and the mean SSIM-Y.
    pub fn reference_means(&self) -> Option<(f64, f64, usize)> {
        let compared: Vec<&Comparison> = self.frames.iter().filter_map(|f| f.reference.as_ref()).collect();
        let n = compared.len();
        if n == 0 {
            return None;
        }
        let mse = compared.iter().map(|c| c.mse).sum::<f64>() / n as f64;
        let ssim = compared.iter().map(|c| c.ssim).sum::<f64>() / n as f64;
        Some((metrics::psnr(mse, compared[0].peak), ssim, n))
    }
}

/// Shared by every file of a run.
pub struct Context {
    pub model_path: PathBuf,
    pub model_name: String,
    pub backend: &'static str,
    pub reference: Option<PathBuf>,
    /// The ensemble members the engine runs (empty for a plain bundle).
    pub members: Vec<String>,
}

impl Context {
    pub fn new(engine: &vsrqa::Engine, reference: Option<PathBuf>) -> Context {
        Context {
            model_path: engine.bundle().dir.clone(),
            model_name: engine.bundle().manifest.name.clone(),
            backend: engine.backend_name(),
            reference,
            members: engine.members().into_iter().map(str::to_owned).collect(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Text,
}

/// PSNR as JSON: a number, or null when infinite (identical frames).
fn psnr_json(db: f64) -> Value {
    if db.is_finite() {
        json!(db)
    } else {
        Value::Null
    }
}

/// PSNR as text and CSV: "inf" when infinite.
fn psnr_text(db: f64) -> String {
    if db.is_finite() {
        format!("{db}")
    } else {
        "inf".to_owned()
    }
}

/// A clip's fields in a report: `clip_score`, `frames`, `key_frames`, `pooled_slots`, and for an
/// ensemble `member_scores` (each of `members` with its clip score) and `member_spread`. The
/// CLI's reports and the Python package's results (`score_frames`, sessions) both take them from
/// here.
pub fn clip_fields(clip: &ClipScore, members: &[String]) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert("clip_score".into(), json!(clip.score));
    fields.insert("frames".into(), json!(clip.frames));
    fields.insert("key_frames".into(), json!(clip.key_frames));
    fields.insert("pooled_slots".into(), json!(clip.pooled_slots));
    if !clip.member_scores.is_empty() {
        let scores = members.iter().zip(&clip.member_scores);
        let scores: Vec<Value> = scores.map(|(name, score)| json!({ "member": name, "clip_score": score })).collect();
        fields.insert("member_scores".into(), Value::Array(scores));
        fields.insert("member_spread".into(), json!(clip.member_spread()));
    }
    fields
}

/// One key frame's row in `frame_scores`: `frame_index`, `key_frame`, `score` (a file's report
/// adds its segment, window and comparison).
pub fn frame_row(score: &vsrqa::FrameScore) -> Value {
    json!({ "frame_index": score.frame_index, "key_frame": score.key_frame, "score": score.score })
}

/// A clip and its key frames' scores as one object: [`clip_fields`] and `frame_scores`.
pub fn clip_json(clip: &ClipScore, members: &[String], scores: &[vsrqa::FrameScore]) -> Value {
    let mut object = clip_fields(clip, members);
    object.insert("frame_scores".into(), Value::Array(scores.iter().map(frame_row).collect()));
    Value::Object(object)
}

pub fn to_json(context: &Context, report: &FileReport) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("vsrqa_version".into(), json!(vsrqa::VERSION));
    let mut model = json!({ "path": context.model_path, "name": context.model_name });
    if !context.members.is_empty() {
        model["members"] = json!(context.members);
    }
    object.insert("model".into(), model);
    object.insert("backend".into(), json!(context.backend));
    let input = match &report.input {
        Some(i) => json!({
            "path": report.path,
            "container": i.container,
            "codec": i.codec,
            "pixel_format": i.pixel_format,
            "frame_format": i.frame_format,
            "width": i.width,
            "height": i.height,
            "rotation": i.rotation,
            "field_order": i.field_order,
            "hdr_transfer": i.hdr_transfer,
            "fps": i.fps,
            "color_conversion": i.color_conversion,
            "color_matrix": i.color_matrix,
            "variable_frame_rate": i.variable_frame_rate,
            "notes": i.notes,
            "color_range": i.color_range,
        }),
        None => json!({ "path": report.path }),
    };
    object.insert("input".into(), input);
    if let Some(clip) = &report.clip {
        object.extend(clip_fields(clip, &context.members));
    }
    if let Some(scoring) = &report.scoring {
        object.insert("scoring".into(), scoring.scoring_json());
        object.insert("coverage".into(), scoring.coverage_json(&report.parts));
        if let Some(windows) = scoring.windows_json(&report.parts) {
            object.insert("windows".into(), windows);
        }
    }
    if report.segments.len() > 1 {
        let segments = report
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "segment": i,
                    "first_frame": s.clip.first_frame,
                    "frames": s.clip.frames,
                    "width": s.width,
                    "height": s.height,
                    "clip_score": s.clip.score,
                    "key_frames": s.clip.key_frames,
                })
            })
            .collect::<Vec<_>>();
        object.insert("segments".into(), json!(segments));
    }
    if report.clip.is_some() || !report.frames.is_empty() {
        let frames = report
            .frames
            .iter()
            .map(|f| {
                let score = vsrqa::FrameScore { frame_index: f.frame_index, key_frame: f.key_frame, score: f.score };
                let mut row = frame_row(&score);
                if report.segments.len() > 1 {
                    row["segment"] = json!(f.segment);
                }
                if report.windows().len() > 1 {
                    row["window"] = json!(f.window);
                }
                if let Some(c) = &f.reference {
                    row[PSNR_FIELD] = psnr_json(c.psnr());
                    row[SSIM_FIELD] = json!(c.ssim);
                }
                row
            })
            .collect::<Vec<_>>();
        object.insert("frame_scores".into(), json!(frames));
        object.insert("summary".into(), report.summary().map_or(Value::Null, Summary::to_json));
        if let (Some(path), Some((psnr, ssim, n))) = (&context.reference, report.reference_means()) {
            object.insert(
                "reference".into(),
                json!({ "path": path, "frames_compared": n, PSNR_FIELD: psnr_json(psnr), SSIM_FIELD: ssim }),
            );
        }
    }
    object.insert("partial".into(), json!(report.partial));
    if let Some(error) = &report.error {
        object.insert("error".into(), json!(error));
    }
    Value::Object(object)
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 16] = [
    "file",
    "kind",
    "frame_index",
    "key_frame",
    "score",
    PSNR_FIELD,
    SSIM_FIELD,
    "frames",
    "count",
    "mean",
    "min",
    "max",
    "harmonic_mean",
    "std",
    "partial",
    "error",
];

/// The CSV rows of one file: one `frame` row per key frame, one `segment` row per segment when
/// the frame size changes (frame_index: its first frame, score: its clip score), one `window` row
/// per window when scored in several (frame_index: its first frame, key_frame: its number,
/// frames, count: its key frames), then one `clip` row.
pub fn csv_rows(report: &FileReport) -> Vec<[String; 16]> {
    let file = report.path.display().to_string();
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut rows = Vec::with_capacity(report.frames.len() + 1);
    for f in &report.frames {
        let (psnr, ssim) = match &f.reference {
            Some(c) => (psnr_text(c.psnr()), c.ssim.to_string()),
            None => (String::new(), String::new()),
        };
        rows.push([
            file.clone(),
            "frame".into(),
            f.frame_index.to_string(),
            f.key_frame.to_string(),
            f.score.to_string(),
            psnr,
            ssim,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    // A row for a part of the file scored as a clip: its first frame, score, frames, key frames.
    let part_row = |kind: &str, clip: &ClipScore, number: Option<u32>| {
        let mut row: [String; 16] = Default::default();
        row[0] = file.clone();
        row[1] = kind.into();
        row[2] = clip.first_frame.to_string();
        row[3] = number.map(|n| n.to_string()).unwrap_or_default();
        row[4] = clip.score.to_string();
        row[7] = clip.frames.to_string();
        row[8] = clip.key_frames.to_string();
        row
    };
    if report.segments.len() > 1 {
        rows.extend(report.segments.iter().map(|segment| part_row("segment", &segment.clip, None)));
    }
    if report.windows().len() > 1 {
        rows.extend(report.windows().iter().map(|window| part_row("window", &window.clip, Some(window.clip.window))));
    }
    let summary = report.summary();
    let (psnr, ssim) = match report.reference_means() {
        Some((psnr, ssim, _)) => (psnr_text(psnr), ssim.to_string()),
        None => (String::new(), String::new()),
    };
    rows.push([
        file,
        "clip".into(),
        String::new(),
        String::new(),
        opt(report.clip.as_ref().map(|c| c.score)),
        psnr,
        ssim,
        report.clip.as_ref().map(|c| c.frames.to_string()).unwrap_or_default(),
        summary.map(|s| s.count.to_string()).unwrap_or_default(),
        opt(summary.map(|s| s.mean)),
        opt(summary.map(|s| s.min)),
        opt(summary.map(|s| s.max)),
        opt(summary.and_then(|s| s.harmonic_mean)),
        opt(summary.map(|s| s.std)),
        report.partial.to_string(),
        report.error.clone().unwrap_or_default(),
    ]);
    rows
}

/// The human-readable block of one file.
pub fn to_text(context: &Context, report: &FileReport) -> String {
    let mut out = format!("{}\n", report.path.display());
    if let Some(i) = &report.input {
        let converted =
            if i.pixel_format == i.frame_format { String::new() } else { format!(" (scored as {})", i.frame_format) };
        let rotated = if i.rotation == 0 { String::new() } else { format!(" (rotated {}°)", i.rotation) };
        out += &format!(
            "  input        {}{} {}{converted} {}x{}{rotated}, {} fps, {} {} range, {} conversion\n",
            i.container,
            i.codec.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
            i.pixel_format,
            i.width,
            i.height,
            i.fps,
            i.color_matrix,
            i.color_range,
            i.color_conversion
        );
        if i.variable_frame_rate {
            out += "  note         variable frame rate: key frames are every round(fps) frames, as the reference counts them\n";
        }
        for note in &i.notes {
            out += &format!("  note         {note}\n");
        }
    }
    if let Some(clip) = &report.clip {
        out += &format!(
            "  clip score   {:.4}   ({} frames, {} key frames, pooled over {})\n",
            clip.score, clip.frames, clip.key_frames, clip.pooled_slots
        );
        if !clip.member_scores.is_empty() {
            let scores = context.members.iter().zip(&clip.member_scores);
            let scores: Vec<String> = scores.map(|(name, score)| format!("{name} {score:.4}")).collect();
            let spread = clip.member_spread().map(|s| format!("   (spread {s:.4})")).unwrap_or_default();
            out += &format!("  members      {}{spread}\n", scores.join(", "));
        }
    }
    if report.segments.len() > 1 {
        for (n, s) in report.segments.iter().enumerate() {
            out += &format!(
                "  segment {n:<4} {:.4}   (frames {}-{}, {}x{}, {} key frames)\n",
                s.clip.score,
                s.clip.first_frame,
                s.clip.first_frame + s.clip.frames.saturating_sub(1),
                s.width,
                s.height,
                s.clip.key_frames
            );
        }
    }
    if let Some(scoring) = &report.scoring {
        out += &scoring.windows_text(&report.parts);
    }
    if let Some(summary) = report.summary() {
        out += &format!("  key frames   {}\n", summary.to_text());
    }
    if let (Some(path), Some((psnr, ssim, n))) = (&context.reference, report.reference_means()) {
        out += &format!(
            "  reference    {}: PSNR-Y {} dB (from the mean MSE), SSIM-Y (11x11 Gaussian) {ssim:.6}, {n} key frames\n",
            path.display(),
            if psnr.is_finite() { format!("{psnr:.4}") } else { "inf".to_owned() },
        );
    }
    if !report.frames.is_empty() {
        let with_reference = report.frames.iter().any(|f| f.reference.is_some());
        out += "  frame   key   score";
        if with_reference {
            out += "    PSNR-Y dB   SSIM-Y";
        }
        out += "\n";
        for f in &report.frames {
            out += &format!("  {:>5}  {:>4}   {:.4}", f.frame_index, f.key_frame, f.score);
            if let Some(c) = &f.reference {
                let psnr = c.psnr();
                let psnr = if psnr.is_finite() { format!("{psnr:.4}") } else { "inf".to_owned() };
                out += &format!("   {psnr:>9}   {:.6}", c.ssim);
            }
            out += "\n";
        }
    }
    if let Some(error) = &report.error {
        if report.partial {
            out += &format!("  PARTIAL: only the frames before the error were scored: {error}\n");
        } else {
            out += &format!("  FAILED: {error}\n");
        }
    }
    out
}

/// The text footer over several files: counts and statistics of the clip scores of the files
/// scored in full (partial and failed files are counted, not pooled).
pub fn text_footer(reports: &[FileReport]) -> String {
    let scored: Vec<f64> =
        reports.iter().filter(|r| !r.failed()).filter_map(|r| r.clip.as_ref().map(|c| c.score)).collect();
    let partial = reports.iter().filter(|r| r.partial).count();
    let failed = reports.iter().filter(|r| r.failed()).count() - partial;
    let mut out =
        format!("summary of {} files: {} scored, {partial} partial, {failed} failed\n", reports.len(), scored.len());
    if let Some(summary) = Summary::of(&scored) {
        out += &format!("  clip scores  {}\n", summary.to_text());
    }
    out
}

/// Writes the reports in one format as the files are scored.
pub struct Writer {
    format: Format,
    inputs: usize,
    out: Option<Box<dyn Write>>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    written: usize,
}

impl Writer {
    /// `inputs`: how many files will be reported (JSON Lines when more than one).
    pub fn new(format: Format, out: Box<dyn Write>, inputs: usize) -> io::Result<Writer> {
        let mut writer = Writer { format, inputs, out: None, csv: None, written: 0 };
        if format == Format::Csv {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(CSV_HEADER)?;
            csv.flush()?;
            writer.csv = Some(csv);
        } else {
            writer.out = Some(out);
        }
        Ok(writer)
    }

    pub fn file(&mut self, context: &Context, report: &FileReport) -> io::Result<()> {
        if let Some(csv) = &mut self.csv {
            for row in csv_rows(report) {
                csv.write_record(&row)?;
            }
            csv.flush()?;
        } else if let Some(out) = &mut self.out {
            match self.format {
                Format::Json if self.inputs == 1 => {
                    serde_json::to_writer_pretty(&mut *out, &to_json(context, report))?;
                    writeln!(out)?;
                }
                Format::Json => {
                    serde_json::to_writer(&mut *out, &to_json(context, report))?;
                    writeln!(out)?;
                }
                _ => {
                    if self.written > 0 {
                        writeln!(out)?;
                    }
                    out.write_all(to_text(context, report).as_bytes())?;
                }
            }
            out.flush()?;
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output: the text footer when there were several files.
    pub fn finish(&mut self, reports: &[FileReport]) -> io::Result<()> {
        if let (Format::Text, Some(out)) = (self.format, &mut self.out) {
            if reports.len() > 1 {
                writeln!(out)?;
                out.write_all(text_footer(reports).as_bytes())?;
            }
            out.flush()?;
        }
        Ok(())
    }
}
