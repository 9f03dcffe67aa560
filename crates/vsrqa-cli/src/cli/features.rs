//! `vsrqa features`: the feature bank of a dataset (docs/training.md). Resumable: videos already in
//! the bank are skipped (only relabeled when the list changed their MOS or group), so a run that
//! was interrupted, or that failed on some videos, is finished by running the same command again.
//! A video that fails is reported (stderr and `errors.json` in the bank) and the others go on; a
//! full disk stops the run (every later video would be extracted only to fail the same way).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use vsrqa::Engine;
use vsrqa_train::bank::{BankInfo, Entry, FeatureBank};

use super::dataset::{read_list, Video};
use super::extract::{extract, EngineArgs};
use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    engine: EngineArgs,
    /// The dataset: CSV rows path,mos[,group] (optional header; paths relative to the CSV).
    #[arg(long, value_name = "CSV")]
    list: PathBuf,
    /// The feature bank directory (created, or resumed when it exists).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// What happened to one video of the list.
enum Outcome {
    Extracted,
    AlreadyThere,
    Relabeled,
    Failed(String),
    /// The bank's disk is full: nothing was written for this video.
    DiskFull(String),
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let backend = args.engine.backend()?;
    let videos = read_list(&args.list)?;
    let engine = args.engine.engine(backend)?;
    let decoding = args.engine.decoding(&engine)?;
    let bank = FeatureBank::create(&args.out, BankInfo::of(engine.bundle(), decoding)?)?;
    let leftovers = bank.remove_temporaries()?;
    if leftovers > 0 && !args.quiet {
        eprintln!("vsrqa: removed {leftovers} partial file(s) of an interrupted run");
    }

    let mut failures = Vec::new();
    let (mut extracted, mut skipped, mut relabeled) = (0usize, 0usize, 0usize);
    let mut disk_full = None;
    for (i, video) in videos.iter().enumerate() {
        if let Some(error) = &disk_full {
            failures.push(json!({ "video": video.name, "error": format!("not attempted: {error}") }));
            continue;
        }
        let started = Instant::now();
        let outcome = process(&engine, &bank, video);
        let what = match &outcome {
            Outcome::Extracted => {
                extracted += 1;
                format!("extracted in {:.1} s", started.elapsed().as_secs_f64())
            }
            Outcome::AlreadyThere => {
                skipped += 1;
                "already in the bank".into()
            }
            Outcome::Relabeled => {
                relabeled += 1;
                "already in the bank, MOS/group updated".into()
            }
            Outcome::Failed(error) => {
                failures.push(json!({ "video": video.name, "error": error }));
                format!("FAILED: {error}")
            }
            Outcome::DiskFull(error) => {
                failures.push(json!({ "video": video.name, "error": error }));
                disk_full = Some(error.clone());
                format!("FAILED: {error}; stopping, the videos after it are not attempted")
            }
        };
        if !args.quiet {
            eprintln!("[{}/{}] {}: {what}", i + 1, videos.len(), video.name);
        }
    }

    let report = json!({ "list": args.list, "videos": videos.len(), "failed": failures });
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    // On a full disk even this small file may not fit; the failures are on stderr anyway.
    if let Err(error) = bank.write_report("errors.json", format!("{text}\n").as_bytes()) {
        if disk_full.is_none() {
            return Err(error.into());
        }
        eprintln!("vsrqa: {error}");
    }
    // By file name (a hash of the video's name): counting them needs no entry read.
    let listed: std::collections::HashSet<PathBuf> = videos.iter().map(|v| bank.entry_path(&v.name)).collect();
    let others = bank.entry_files()?.iter().filter(|path| !listed.contains(*path)).count();
    eprintln!(
        "vsrqa: feature bank {}: {extracted} extracted, {skipped} already there, {relabeled} relabeled, {} failed{}",
        bank.dir().display(),
        failures.len(),
        if others > 0 {
            format!("; {others} entries of videos not in this list (train uses every entry)")
        } else {
            String::new()
        }
    );
    if let Some(error) = disk_full {
        Err(Failure::from(format!(
            "stopped: {error}. Free some space and run the same command again: the {} videos in the bank are kept",
            extracted + skipped + relabeled
        )))
    } else if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::from(format!(
            "{} of {} videos failed (listed in {}); run the same command again to retry them",
            failures.len(),
            videos.len(),
            bank.dir().join("errors.json").display()
        )))
    }
}

fn process(engine: &Engine, bank: &FeatureBank, video: &Video) -> Outcome {
    match bank.read(&video.name) {
        Ok(Some(entry)) if entry.mos == video.mos && entry.group == video.group => return Outcome::AlreadyThere,
        Ok(Some(entry)) => {
            let relabeled = Entry { mos: video.mos, group: video.group.clone(), ..entry };
            return match bank.write(&relabeled) {
                Ok(()) => Outcome::Relabeled,
                Err(e) => write_failure(e),
            };
        }
        Ok(None) => {}
        Err(e) => eprintln!("vsrqa: {e}; extracting it again"),
    }
    let extracted = match extract(engine, &video.path, &bank.info.decoding()) {
        Ok(x) => x,
        Err(e) => return Outcome::Failed(e),
    };
    if let Some(warning) = &extracted.warning {
        eprintln!("vsrqa: warning: {warning}");
    }
    let entry = Entry {
        video: video.name.clone(),
        mos: video.mos,
        group: video.group.clone(),
        frames: extracted.score.frames,
        frames_used: Some(extracted.frames_used),
        rows: extracted.rows,
        features: extracted.features,
    };
    match bank.write(&entry) {
        Ok(()) => Outcome::Extracted,
        Err(e) => write_failure(e),
    }
}

fn write_failure(error: vsrqa_train::Error) -> Outcome {
    match error {
        vsrqa_train::Error::DiskFull { .. } => Outcome::DiskFull(error.to_string()),
        _ => Outcome::Failed(error.to_string()),
    }
}
