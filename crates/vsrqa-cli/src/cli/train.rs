//! `vsrqa train`: fits the head on a feature bank (vsrqa_train::trainer, RQ-VQA's recipe) and
//! writes either the head's weights (`--out NAME.safetensors`) or a complete bundle (`--out DIR`
//! with `--model`: the model's manifest and networks with the new head). Per-epoch progress goes
//! to stderr, the report (configuration, split, history, best epoch) to stdout as JSON.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;
use vsrqa::bundle::{Bundle, Manifest, Origin, Provenance, MANIFEST_FILE};
use vsrqa_train::bank::{fingerprint, BankInfo, FeatureBank};
use vsrqa_train::head_model::{HeadModel, Sample};
use vsrqa_train::trainer::{train, Example, TrainConfig, TrainOutcome};

use super::{print_json, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// The feature bank (from `vsrqa features`).
    #[arg(long, value_name = "DIR")]
    bank: PathBuf,
    /// NAME.safetensors: the head's weights only; any other path: a new bundle directory (needs --model).
    #[arg(long, short = 'o', value_name = "PATH")]
    out: PathBuf,
    /// The bundle the bank was extracted with: its networks and manifest go into the new bundle.
    #[arg(long, short = 'm', value_name = "DIR")]
    model: Option<PathBuf>,
    /// Seeds the 80/20 split, the initialization and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Adam's learning rate (RQ-VQA: 1e-5).
    #[arg(long, default_value_t = 1e-5)]
    lr: f64,
    #[arg(long, default_value_t = 1e-7)]
    weight_decay: f64,
    /// The learning rate is multiplied by --decay-ratio every --decay-interval epochs.
    #[arg(long, default_value_t = 2)]
    decay_interval: usize,
    #[arg(long, default_value_t = 0.95)]
    decay_ratio: f64,
    /// Share of the videos held out for validation.
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
    /// No per-epoch lines on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let head_only = args.out.extension().is_some_and(|e| e == "safetensors");
    if !head_only && args.model.is_none() {
        return Err(Failure::usage("--out names a bundle directory: give --model, the bundle the bank was made with (or write NAME.safetensors)"));
    }
    if !head_only && args.out.exists() && fs::read_dir(&args.out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Failure::usage(format!("--out {}: the directory exists and is not empty", args.out.display())));
    }
    let config = TrainConfig {
        seed: args.seed,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        decay_interval: args.decay_interval,
        decay_ratio: args.decay_ratio,
        validation_fraction: args.validation,
    };
    let bank = FeatureBank::open(&args.bank)?;
    let model = match &args.model {
        Some(dir) => {
            let bundle = Bundle::load(dir)?;
            if fingerprint(&bundle, bank.info.decoding())? != bank.info.fingerprint {
                return Err(Failure::from(format!(
                    "--model {}: its branches are not the ones the bank was extracted with ('{}')",
                    dir.display(),
                    bank.info.model_name
                )));
            }
            Some(bundle)
        }
        None => None,
    };
    let entries = bank.entries()?;
    let names: Vec<String> = entries.iter().map(|e| e.video.clone()).collect();
    // The features move into the examples (a bank can be hundreds of MB).
    let examples: Vec<Example> =
        entries.into_iter().map(|e| Example { features: e.features, rows: e.rows, mos: e.mos }).collect();

    let quiet = args.quiet;
    let outcome = train(&examples, &bank.info.head, &config, &mut |log| {
        if !quiet {
            let v = &log.validation;
            eprintln!(
                "epoch {:>3}/{}: lr {:.3e}, train loss {:.5}, validation SRCC {:.4} PLCC {:.4} KRCC {:.4} RMSE {:.4}",
                log.epoch, config.epochs, log.learning_rate, log.train_loss, v.srcc, v.plcc, v.krcc, v.rmse
            );
        }
    })?;

    let spec = &bank.info.head.spec;
    let weights = outcome.model.to_safetensors(spec)?;
    let written = match &model {
        None => {
            write_file(&args.out, &weights)?;
            args.out.clone()
        }
        Some(bundle) => {
            // Written and checked beside the target first, so a full disk or a failed check never
            // leaves a half-written bundle under the target's name.
            let staging = staging_dir(&args.out);
            let manifest = trained_manifest(bundle, &bank.info, &outcome);
            let staged = write_bundle(bundle, &manifest, &staging, &weights)
                .and_then(|()| check_bundle(&staging, &outcome.model, &examples))
                .and_then(|()| move_into(&staging, &args.out));
            let _ = fs::remove_dir_all(&staging);
            staged?;
            args.out.clone()
        }
    };
    eprintln!(
        "vsrqa: best validation SRCC {:.4} (PLCC {:.4}) at epoch {}; wrote {}",
        outcome.best.srcc,
        outcome.best.plcc,
        outcome.best_epoch,
        written.display()
    );
    let name = |i: &usize| names[*i].clone();
    print_json(&json!({
        "bank": args.bank,
        "output": written,
        "config": config,
        "videos": names.len(),
        "train": outcome.train.iter().map(name).collect::<Vec<_>>(),
        "validation": outcome.validation.iter().map(name).collect::<Vec<_>>(),
        "best_epoch": outcome.best_epoch,
        "best_validation": outcome.best,
        "history": outcome.history,
    }))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    vsrqa::atomic_file::write(path, bytes).map_err(|e| Failure::from(format!("{}: cannot write: {e}", path.display())))
}

/// `.partial-<pid>-NAME` beside `out` (the prefix `vsrqa features` and the caches clean up).
fn staging_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!("{}{}-{name}", vsrqa::atomic_file::TEMPORARY_PREFIX, std::process::id()))
}

/// Renames the staged bundle to `out` (checked earlier to be absent or an empty directory).
fn move_into(staging: &Path, out: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::from(format!("{}: {e}", out.display()));
    if out.is_dir() {
        fs::remove_dir(out).map_err(fail)?;
    }
    fs::rename(staging, out).map_err(fail)
}

/// The source bundle's manifest with the head's provenance: trained on this bank, with the
/// validation metrics of the kept epoch, and the bank's YUV->RGB conversion, so that the new
/// bundle scores videos as its training saw them. The branches keep theirs (their networks are
/// copied).
fn trained_manifest(bundle: &Bundle, bank: &BankInfo, outcome: &TrainOutcome) -> Manifest {
    let best = &outcome.best;
    let mut head = Origin::trained(&bank.fingerprint);
    head.train_videos = Some(outcome.train.len());
    head.validation_videos = Some(outcome.validation.len());
    // JSON has no NaN: a metric that is not finite is left out rather than making the manifest unreadable.
    head.validation_metrics = [("srcc", best.srcc), ("plcc", best.plcc), ("krcc", best.krcc), ("rmse", best.rmse)]
        .into_iter()
        .filter(|(_, value)| value.is_finite())
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let mut manifest = bundle.manifest.clone();
    manifest.provenance.get_or_insert_with(Provenance::default).head = Some(head);
    manifest.color_conversion = Some(bank.color_conversion);
    manifest
}

/// The source bundle's networks (copied), `manifest` and the new head weights.
fn write_bundle(bundle: &Bundle, manifest: &Manifest, out: &Path, weights: &[u8]) -> Result<(), Failure> {
    let fail = |path: &Path, e: std::io::Error| Failure::from(format!("{}: {e}", path.display()));
    fs::create_dir_all(out).map_err(|e| fail(out, e))?;
    for branch in &bundle.manifest.branches {
        let (from, to) = (bundle.dir.join(&branch.network), out.join(&branch.network));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
        }
        fs::copy(&from, &to).map_err(|e| fail(&from, e))?;
    }
    write_file(&out.join(&bundle.manifest.head.weights), weights)?;
    // The weights keep their file and tensor names.
    let text = serde_json::to_string_pretty(manifest).map_err(|e| Failure::from(format!("the manifest: {e}")))?;
    write_file(&out.join(MANIFEST_FILE), format!("{text}\n").as_bytes())
}

/// Loads the written bundle and compares its head (float32, as the engine runs it) with the
/// trained model on every video of the bank: a bundle that would not score as trained is an error.
fn check_bundle(dir: &Path, model: &HeadModel, examples: &[Example]) -> Result<(), Failure> {
    let bundle = Bundle::load(dir)?;
    let mut worst = 0f64;
    for example in examples {
        let engine_score = bundle.head.clip_score_of_rows(&example.features);
        let trained = model.predict(Sample { features: &example.features, rows: example.rows });
        worst = worst.max((engine_score - trained).abs());
    }
    // float32 weights and layer outputs against float64 training: observed about 1e-7.
    if worst > 1e-4 {
        return Err(Failure::from(format!("the written head scores up to {worst:e} away from the trained model")));
    }
    Ok(())
}
