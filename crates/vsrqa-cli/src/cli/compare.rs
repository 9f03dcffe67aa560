//! `vsrqa compare`: two bundles' clip scores on the same videos, side by side. This is how a user
//! checks that a bundle exported another way (another precision, a retrained head) scores their
//! own videos as the first does: the largest and mean |difference|, and how well the two rank and
//! line up the videos (SRCC, PLCC).
//!
//! The bundles are scored one after the other, so only one is in memory at a time (a `full`
//! bundle holds Q-Align's LLM).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vsrqa::backend::BackendKind;
use vsrqa_train::correlation::{kendall_tau_b, pearson, spearman};

use super::dataset::{read_paths, Listed};
use super::extract::RunArgs;
use super::score::{file_clip_score, ScoringArgs};
use super::windows::ScoringChoice;
use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// The two model bundles, A then B: `--model A --model B`.
    #[arg(long, short = 'm', value_name = "DIR", required = true)]
    model: Vec<PathBuf>,
    /// The videos: a CSV whose rows start with a path (a `vsrqa eval` list works too).
    #[arg(long, value_name = "CSV")]
    list: PathBuf,
    /// Both bundles run on this backend.
    #[command(flatten)]
    run: RunArgs,
    /// Long videos are scored as `vsrqa score` scores them.
    #[command(flatten)]
    scoring: ScoringArgs,
    /// json or text.
    #[arg(long, value_enum, default_value = "json")]
    format: CompareFormat,
    /// Write the report to PATH instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CompareFormat {
    Json,
    Text,
}

/// One bundle's clip score of each listed video, or why it has none.
struct Scored {
    model: PathBuf,
    model_name: String,
    backend: BackendKind,
    scores: Vec<Result<f64, String>>,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let [model_a, model_b] = args.model.as_slice() else {
        return Err(Failure::usage(format!(
            "compare takes two bundles (--model A --model B), not {}",
            args.model.len()
        )));
    };
    let backend = args.run.backend()?;
    let choice = args.scoring.choice()?;
    let videos = read_paths(&args.list)?;
    // A mistyped second bundle is found before the first has scored every video; the whole
    // check (network hashes) runs when each engine loads.
    for (model, label) in [(model_a, "A"), (model_b, "B")] {
        if !model.join(vsrqa::bundle::MANIFEST_FILE).is_file() {
            return Err(Failure::from(format!(
                "--model {} ({label}): not a model bundle (no {})",
                model.display(),
                vsrqa::bundle::MANIFEST_FILE
            )));
        }
    }
    let a = score_all(model_a, "A", backend, args, &choice, &videos)?;
    let b = score_all(model_b, "B", backend, args, &choice, &videos)?;

    let rows: Vec<Row<'_>> =
        videos.iter().enumerate().map(|(i, video)| Row { video, a: &a.scores[i], b: &b.scores[i] }).collect();
    let summary = Summary::of(&rows);
    let report = json!({
        "models": [model_json(&a), model_json(&b)],
        "list": args.list,
        "summary": summary.to_json(),
        "videos": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
    });
    let text = match args.format {
        CompareFormat::Json => serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n",
        CompareFormat::Text => table(&a, &b, &rows, &summary),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("--output {}: cannot write: {e}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| format!("writing the report: {e}"))?,
    }
    if summary.failed > 0 {
        return Err(Failure::from(format!(
            "{} of {} videos could not be scored by both bundles (see the report)",
            summary.failed,
            rows.len()
        )));
    }
    Ok(())
}

/// Loads one bundle, scores every video with it and lets it go.
fn score_all(
    model: &Path,
    label: &str,
    backend: BackendKind,
    args: &Args,
    choice: &ScoringChoice,
    videos: &[Listed],
) -> Result<Scored, Failure> {
    let engine = args
        .run
        .engine(model, backend)
        .map_err(|e| Failure::from(format!("--model {} ({label}): {}", model.display(), e.message)))?;
    let decoding = args.run.decoding(&engine)?;
    let scores = videos
        .iter()
        .enumerate()
        .map(|(i, video)| {
            let result = file_clip_score(&engine, &video.path, &decoding, choice).map(|clip| clip.score);
            if !args.quiet {
                match &result {
                    Ok(score) => eprintln!("[{label} {}/{}] {}: {score:.6}", i + 1, videos.len(), video.name),
                    Err(e) => eprintln!("[{label} {}/{}] {}: FAILED: {e}", i + 1, videos.len(), video.name),
                }
            }
            result
        })
        .collect();
    Ok(Scored {
        model: model.to_path_buf(),
        model_name: engine.bundle().manifest.name.clone(),
        backend: engine.backend(),
        scores,
    })
}

fn model_json(scored: &Scored) -> Value {
    json!({ "model": scored.model, "model_name": scored.model_name, "backend": scored.backend.name() })
}

struct Row<'a> {
    video: &'a Listed,
    a: &'a Result<f64, String>,
    b: &'a Result<f64, String>,
}

impl Row<'_> {
    /// Both scores, when both bundles scored the video.
    fn pair(&self) -> Option<(f64, f64)> {
        Some((*self.a.as_ref().ok()?, *self.b.as_ref().ok()?))
    }

    /// Why a bundle has no score for the video ("A: ...; B: ..."), when one has none.
    fn error(&self) -> Option<String> {
        let errors: Vec<String> = [("A", self.a), ("B", self.b)]
            .iter()
            .filter_map(|(label, r)| r.as_ref().err().map(|e| format!("{label}: {e}")))
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    fn to_json(&self) -> Value {
        let mut row = json!({
            "video": self.video.name,
            "score_a": self.a.as_ref().ok(),
            "score_b": self.b.as_ref().ok(),
        });
        match (self.pair(), self.error()) {
            (Some((a, b)), _) => row["difference"] = json!(b - a),
            (None, error) => row["error"] = json!(error),
        }
        row
    }
}

/// The agreement of the two bundles over the videos both scored.
struct Summary {
    compared: usize,
    failed: usize,
    max_abs_difference: Option<f64>,
    mean_abs_difference: Option<f64>,
    /// Correlations need at least 3 videos, and are undefined (None) when one side is constant.
    srcc: Option<f64>,
    plcc: Option<f64>,
    krcc: Option<f64>,
}

impl Summary {
    fn of(rows: &[Row<'_>]) -> Self {
        let pairs: Vec<(f64, f64)> = rows.iter().filter_map(Row::pair).collect();
        let differences: Vec<f64> = pairs.iter().map(|(a, b)| (b - a).abs()).collect();
        let (a, b): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let correlation = |f: fn(&[f64], &[f64]) -> f64| Some(f(&a, &b)).filter(|r| pairs.len() >= 3 && r.is_finite());
        Summary {
            compared: pairs.len(),
            failed: rows.len() - pairs.len(),
            max_abs_difference: differences.iter().copied().reduce(f64::max),
            mean_abs_difference: (!differences.is_empty())
                .then(|| differences.iter().sum::<f64>() / differences.len() as f64),
            srcc: correlation(spearman),
            plcc: correlation(pearson),
            krcc: correlation(kendall_tau_b),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "videos": self.compared,
            "failed": self.failed,
            "max_abs_difference": self.max_abs_difference,
            "mean_abs_difference": self.mean_abs_difference,
            "srcc": self.srcc,
            "plcc": self.plcc,
            "krcc": self.krcc,
        })
    }
}

fn table(a: &Scored, b: &Scored, rows: &[Row<'_>], summary: &Summary) -> String {
    let describe = |s: &Scored| format!("{} ({}, {})", s.model.display(), s.model_name, s.backend.name());
    let mut out = format!("A: {}\nB: {}\n\n", describe(a), describe(b));
    let width = rows.iter().map(|r| r.video.name.len()).max().unwrap_or(0).max("video".len());
    out += &format!("{:<width$} {:>9} {:>9} {:>10}\n", "video", "A", "B", "B - A");
    for row in rows {
        match row.pair() {
            Some((sa, sb)) => out += &format!("{:<width$} {sa:>9.6} {sb:>9.6} {:>+10.2e}\n", row.video.name, sb - sa),
            None => out += &format!("{:<width$} {}\n", row.video.name, row.error().unwrap_or_default()),
        }
    }
    let number = |v: Option<f64>, precision: usize| v.map_or("n/a".to_string(), |v| format!("{v:.precision$}"));
    let exponent = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2e}"));
    out += &format!(
        "\n{} videos compared, {} failed: max |B - A| {}, mean |B - A| {}, SRCC {}, PLCC {}, KRCC {}\n",
        summary.compared,
        summary.failed,
        exponent(summary.max_abs_difference),
        exponent(summary.mean_abs_difference),
        number(summary.srcc, 4),
        number(summary.plcc, 4),
        number(summary.krcc, 4),
    );
    out
}
