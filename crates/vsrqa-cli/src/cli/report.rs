//! What `vsrqa score` found for each input file, and how it is written: JSON (one pretty object
//! for one input, JSON Lines for several), CSV, or text.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::metrics::{self, Comparison};
use serde_json::{json, Value};
use vsrqa::frame::{ColorMatrix, ColorRange};
use vsrqa::ClipScore;
use vsrqa_video::raw;

use super::input::Clip;
use super::stats::Summary;

/// Name of the SSIM field: which SSIM this is (see `metrics.rs`).
pub const SSIM_FIELD: &str = "ssim_y_gaussian11";
/// Name of the PSNR field.
pub const PSNR_FIELD: &str = "psnr_y_db";

/// The input as it was opened.
pub struct InputInfo {
    pub container: &'static str,
    /// FFmpeg's codec name, for FFmpeg-decoded files.
    pub codec: Option<String>,
    /// As FFmpeg names it: the format frames are scored in (after any swscale conversion).
    pub pixel_format: &'static str,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub color_matrix: &'static str,
    pub color_range: &'static str,
    pub variable_frame_rate: bool,
    pub notes: Vec<String>,
}

impl InputInfo {
    pub fn of(clip: &Clip) -> InputInfo {
        InputInfo {
            container: clip.container,
            codec: clip.codec.clone(),
            pixel_format: raw::pixel_format_name(clip.format),
            width: clip.width,
            height: clip.height,
            fps: clip.fps,
            color_matrix: match clip.matrix {
                ColorMatrix::Bt601 => "bt601",
                ColorMatrix::Bt709 => "bt709",
                ColorMatrix::Bt2020 => "bt2020",
            },
            color_range: match clip.range {
                ColorRange::Limited => "limited",
                ColorRange::Full => "full",
            },
            variable_frame_rate: clip.variable_frame_rate,
            notes: clip.notes.clone(),
        }
    }
}

/// One key frame's learned score, and its comparison with the reference when there is one.
pub struct FrameRow {
    pub frame_index: u64,
    pub key_frame: u32,
    pub score: f64,
    pub reference: Option<Comparison>,
}

/// Everything reported for one input file.
pub struct FileReport {
    pub path: PathBuf,
    pub input: Option<InputInfo>,
    pub clip: Option<ClipScore>,
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
            frames: Vec::new(),
            partial: false,
            error: None,
            usage_error: false,
        }
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
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

pub fn to_json(context: &Context, report: &FileReport) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("vsrqa_version".into(), json!(vsrqa::VERSION));
    object.insert("model".into(), json!({ "path": context.model_path, "name": context.model_name }));
    object.insert("backend".into(), json!(context.backend));
    let input = match &report.input {
        Some(i) => json!({
            "path": report.path,
            "container": i.container,
            "codec": i.codec,
            "pixel_format": i.pixel_format,
            "width": i.width,
            "height": i.height,
            "fps": i.fps,
            "color_matrix": i.color_matrix,
            "variable_frame_rate": i.variable_frame_rate,
            "notes": i.notes,
            "color_range": i.color_range,
        }),
        None => json!({ "path": report.path }),
    };
    object.insert("input".into(), input);
    if let Some(clip) = &report.clip {
        object.insert("clip_score".into(), json!(clip.score));
        object.insert("frames".into(), json!(clip.frames));
        object.insert("key_frames".into(), json!(clip.key_frames));
        object.insert("pooled_slots".into(), json!(clip.pooled_slots));
    }
    if report.clip.is_some() || !report.frames.is_empty() {
        let frames = report
            .frames
            .iter()
            .map(|f| {
                let mut row = json!({ "frame_index": f.frame_index, "key_frame": f.key_frame, "score": f.score });
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

/// The CSV rows of one file: one `frame` row per key frame, then one `clip` row.
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
        opt(report.clip.map(|c| c.score)),
        psnr,
        ssim,
        report.clip.map(|c| c.frames.to_string()).unwrap_or_default(),
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
        out += &format!(
            "  input        {}{} {} {}x{}, {} fps, {} {} range\n",
            i.container,
            i.codec.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
            i.pixel_format,
            i.width,
            i.height,
            i.fps,
            i.color_matrix,
            i.color_range
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
    let scored: Vec<f64> = reports.iter().filter(|r| !r.failed()).filter_map(|r| r.clip.map(|c| c.score)).collect();
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
