//! `vsrqa eval`: a model's predictions on a labelled dataset against the MOS: SRCC, KRCC, PLCC
//! and RMSE after the 4-parameter logistic fit and raw, overall and per group (difficulty), as
//! JSON or a table, with an optional scatter plot. Predictions come from scoring the videos, or
//! from a feature bank of the same branches (`--bank`: only the head runs, e.g. to compare heads).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};
use vsrqa::Engine;
use vsrqa_train::bank::{fingerprint, FeatureBank};
use vsrqa_train::correlation::{performance, Performance};
use vsrqa_train::Decoding;

use super::dataset::{read_list, Video};
use super::extract::{extract, EngineArgs};
use super::plot::{self, PlotKind, ScatterPoint};
use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    engine: EngineArgs,
    /// The labelled videos: CSV rows path,mos[,group].
    #[arg(long, value_name = "CSV")]
    list: PathBuf,
    /// Take the features from this bank instead of decoding the videos (same branches as --model).
    #[arg(long, value_name = "DIR")]
    bank: Option<PathBuf>,
    /// json or text (a table).
    #[arg(long, value_enum, default_value = "json")]
    format: EvalFormat,
    /// Write the report to PATH instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Scatter plot of predictions against MOS into PATH.png or PATH.svg.
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EvalFormat {
    Json,
    Text,
}

struct Prediction<'a> {
    video: &'a Video,
    result: Result<f64, String>,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let backend = args.engine.backend()?;
    let plot_kind = match &args.plot {
        Some(path) => Some(PlotKind::from_path(path).ok_or_else(|| {
            Failure::usage(format!("--plot {}: the file name must end in .png or .svg", path.display()))
        })?),
        None => None,
    };
    let videos = read_list(&args.list)?;
    let engine = args.engine.engine(backend)?;
    let decoding = args.engine.decoding(&engine)?;
    let predictions = match &args.bank {
        Some(dir) => from_bank(&engine, &decoding, dir, &videos)?,
        None => by_scoring(&engine, &decoding, &videos, args.quiet),
    };

    let groups = grouped(&predictions);
    let report = json!({
        "model": engine.bundle().dir,
        "model_name": engine.bundle().manifest.name,
        "list": args.list,
        "source": if args.bank.is_some() { "bank" } else { "videos" },
        "overall": metrics_json(&groups["all"]),
        "groups": groups.iter().filter(|(name, _)| *name != "all").map(|(name, members)| (name.clone(), metrics_json(members))).collect::<serde_json::Map<_, _>>(),
        "videos": predictions.iter().map(|p| match &p.result {
            Ok(score) => json!({ "video": p.video.name, "mos": p.video.mos, "group": p.video.group, "prediction": score }),
            Err(e) => json!({ "video": p.video.name, "mos": p.video.mos, "group": p.video.group, "error": e }),
        }).collect::<Vec<_>>(),
    });
    let text = match args.format {
        EvalFormat::Json => serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n",
        EvalFormat::Text => table(&groups),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("--output {}: cannot write: {e}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| format!("writing the report: {e}"))?,
    }
    if let (Some(path), Some(kind)) = (&args.plot, plot_kind) {
        let points: Vec<ScatterPoint> = predictions
            .iter()
            .filter_map(|p| p.result.as_ref().ok().map(|&score| (p, score)))
            .map(|(p, score)| ScatterPoint { mos: p.video.mos, prediction: score, group: p.video.group.clone() })
            .collect();
        plot::scatter(path, kind, &points)?;
    }
    let failed = predictions.iter().filter(|p| p.result.is_err()).count();
    if failed > 0 {
        return Err(Failure::from(format!("{failed} of {} videos could not be scored (see the report)", videos.len())));
    }
    Ok(())
}

fn by_scoring<'a>(engine: &Engine, decoding: &Decoding, videos: &'a [Video], quiet: bool) -> Vec<Prediction<'a>> {
    videos
        .iter()
        .enumerate()
        .map(|(i, video)| {
            let result = extract(engine, &video.path, decoding).map(|x| {
                if let Some(warning) = x.warning {
                    eprintln!("vsrqa: warning: {warning}");
                }
                x.score.score
            });
            if !quiet {
                match &result {
                    Ok(score) => eprintln!("[{}/{}] {}: {score:.6}", i + 1, videos.len(), video.name),
                    Err(e) => eprintln!("[{}/{}] {}: FAILED: {e}", i + 1, videos.len(), video.name),
                }
            }
            Prediction { video, result }
        })
        .collect()
}

/// The bank's features, when they are the ones `engine` decoding as `decoding` would extract.
fn from_bank<'a>(
    engine: &Engine,
    decoding: &Decoding,
    dir: &std::path::Path,
    videos: &'a [Video],
) -> Result<Vec<Prediction<'a>>, Failure> {
    let bank = FeatureBank::open(dir)?;
    if fingerprint(engine.bundle(), *decoding)? != bank.info.fingerprint {
        return Err(Failure::from(format!(
            "--bank {}: extracted with other branches or decoding ('{}', {}) than --model's with these options ({})",
            dir.display(),
            bank.info.model_name,
            bank.info.decoding(),
            decoding
        )));
    }
    let head = &engine.bundle().head;
    let mut predictions = Vec::with_capacity(videos.len());
    for video in videos {
        let result = match bank.read(&video.name)? {
            Some(entry) => Ok(head.clip_score_of_rows(&entry.features)),
            None => Err("not in the feature bank (run vsrqa features with this list)".to_string()),
        };
        predictions.push(Prediction { video, result });
    }
    Ok(predictions)
}

/// The scored videos' (MOS, prediction) per group; "all" holds every one.
fn grouped(predictions: &[Prediction<'_>]) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    groups.insert("all".into(), Vec::new());
    for p in predictions {
        let Ok(score) = p.result else { continue };
        groups.get_mut("all").expect("inserted").push((p.video.mos, score));
        if let Some(group) = &p.video.group {
            groups.entry(group.clone()).or_default().push((p.video.mos, score));
        }
    }
    groups
}

fn metrics(members: &[(f64, f64)]) -> Result<Performance, String> {
    let (mos, predicted): (Vec<f64>, Vec<f64>) = members.iter().copied().unzip();
    performance(&mos, &predicted).map_err(|e| e.to_string())
}

fn metrics_json(members: &[(f64, f64)]) -> Value {
    match metrics(members) {
        Ok(p) => {
            json!({ "videos": members.len(), "srcc": p.srcc, "krcc": p.krcc, "plcc": p.plcc, "rmse": p.rmse, "plcc_raw": p.plcc_raw, "rmse_raw": p.rmse_raw, "logistic": p.logistic })
        }
        Err(e) => json!({ "videos": members.len(), "error": e }),
    }
}

fn table(groups: &BTreeMap<String, Vec<(f64, f64)>>) -> String {
    let mut out = format!(
        "{:<16} {:>6} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9}\n",
        "group", "videos", "SRCC", "KRCC", "PLCC", "RMSE", "PLCC raw", "RMSE raw"
    );
    // "all" first, then the groups in name order.
    let order = std::iter::once("all").chain(groups.keys().map(String::as_str).filter(|k| *k != "all"));
    for name in order {
        let members = &groups[name];
        match metrics(members) {
            Ok(p) => {
                out += &format!(
                    "{name:<16} {:>6} {:>7.4} {:>7.4} {:>7.4} {:>9.4} {:>9.4} {:>9.4}\n",
                    members.len(),
                    p.srcc,
                    p.krcc,
                    p.plcc,
                    p.rmse,
                    p.plcc_raw,
                    p.rmse_raw
                )
            }
            Err(e) => out += &format!("{name:<16} {:>6} ({e})\n", members.len()),
        }
    }
    out
}
