//! A file longer than the model's span (8 key frames) is scored in windows that cover all of it,
//! each scored as a clip of its frames, pooled by a documented formula; `--whole-clip` keeps the
//! reference's one-clip rule. A 60 s clip at 8 fps and 64x48 (480 frames), or its first 25 s: the
//! tiny bundle's span is 8 key frames of 8 frames, 64 frames.

#[path = "support/cli.rs"]
mod cli;

use std::io::Write;
use std::path::{Path, PathBuf};

use cli::{data, stderr};
use serde_json::Value;
use vsrqa::frame::{ColorMatrix, ColorRange};
use vsrqa::prelude::*;

const WIDTH: u32 = 64;
const HEIGHT: u32 = 48;
const FPS: f64 = 8.0;
const FRAMES: usize = 480;
const SPAN: u64 = 64;

/// A pattern that changes over the minute, so that windows score differently: I420 frames.
fn frames() -> Vec<Vec<u8>> {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    (0..FRAMES)
        .map(|t| {
            let detail = 0.05 + 0.5 * (t as f64 / FRAMES as f64);
            let mut frame: Vec<u8> = (0..w * h)
                .map(|p| {
                    let (x, y) = ((p % w) as f64, (p / w) as f64);
                    (128.0 + 90.0 * (x * detail + t as f64 * 0.2).sin() * (y * detail).cos()) as u8
                })
                .collect();
            frame.extend((0..w * h / 2).map(|p| (100 + (p + t) % 56) as u8));
            frame
        })
        .collect()
}

fn write_y4m(path: &Path, frames: &[Vec<u8>]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F8:1 Ip A1:1 C420jpeg").unwrap();
    for frame in frames {
        file.write_all(b"FRAME\n").unwrap();
        file.write_all(frame).unwrap();
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    frames: Vec<Vec<u8>>,
    engine: Engine,
}

/// The minute, or its first `count` frames.
fn fixture_of(count: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minute.y4m");
    let mut frames = frames();
    frames.truncate(count);
    write_y4m(&path, &frames);
    let options = EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() };
    let engine = Engine::new(data("tiny_bundle"), options).unwrap();
    Fixture { _dir: dir, path, frames, engine }
}

fn fixture() -> Fixture {
    fixture_of(FRAMES)
}

/// The report as `vsrqa score` builds it, in process: its numbers are the doubles themselves,
/// not a JSON parser's reading of them.
fn report(fixture: &Fixture, options: vsrqa_cli::FileOptions) -> Value {
    let report = vsrqa_cli::score_file_json(&fixture.engine, &fixture.path, &options).report;
    assert!(report.get("error").is_none(), "{report}");
    report
}

/// `Engine::score_clip` of some of the frames, as the Y4M reader gives them to the CLI.
fn score_clip(fixture: &Fixture, frames: &[Vec<u8>]) -> f64 {
    let views: Vec<FrameView> = frames
        .iter()
        .map(|f| {
            let mut view = FrameView::packed(PixelFormat::I420, WIDTH, HEIGHT, f).unwrap();
            (view.matrix, view.range) = (ColorMatrix::Bt601, ColorRange::Limited);
            view
        })
        .collect();
    fixture.engine.score_clip(&views, FPS).unwrap().score
}

fn windows(report: &Value) -> &Vec<Value> {
    report["windows"].as_array().unwrap()
}

#[test]
fn windows_cover_the_whole_video_each_scored_as_a_clip() {
    let fixture = fixture();
    let report = report(&fixture, vsrqa_cli::FileOptions::default());
    assert_eq!(report["scoring"]["mode"], "windows");
    assert_eq!(report["scoring"]["window_frames"], SPAN);
    assert_eq!(report["scoring"]["model_span_frames"], SPAN);
    assert_eq!(report["scoring"]["pooling"], "mean");
    // 480 frames: 7 windows of 64 and a last one of 32, nothing lost or counted twice.
    let windows = windows(&report);
    assert_eq!(windows.len(), 8);
    let mut next = 0;
    for (i, window) in windows.iter().enumerate() {
        assert_eq!(window["window"], i);
        assert_eq!(window["first_frame"], next);
        let frames = window["frames"].as_u64().unwrap();
        assert_eq!(frames, if i < 7 { SPAN } else { 32 });
        assert_eq!(window["flags"], if i < 7 { serde_json::json!([]) } else { serde_json::json!(["short"]) });
        assert_eq!(window["start_seconds"].as_f64().unwrap(), next as f64 / FPS);
        // Each window's score is the clip score of its frames, to the bit.
        let first = next as usize;
        let expected = score_clip(&fixture, &fixture.frames[first..first + frames as usize]);
        assert_eq!(window["score"].as_f64().unwrap(), expected, "window {i}");
        next += frames;
    }
    assert_eq!(next, FRAMES as u64);
    assert_eq!(report["frames"], FRAMES);
    let coverage = &report["coverage"];
    assert_eq!((coverage["frames_covered"].as_u64(), coverage["share"].as_f64()), (Some(480), Some(1.0)));
    assert_eq!((coverage["last_frame"].as_u64(), coverage["end_seconds"].as_f64()), (Some(479), Some(60.0)));
    // One key frame a second, all of them scored, each tagged with its window.
    let keys = report["frame_scores"].as_array().unwrap();
    assert_eq!(keys.len(), 60);
    for (k, key) in keys.iter().enumerate() {
        assert_eq!((key["frame_index"].as_u64(), key["key_frame"].as_u64()), (Some(8 * k as u64), Some(k as u64)));
        assert_eq!(key["window"].as_u64(), Some(8 * k as u64 / SPAN));
    }
    // The mean weighs each window by its frames (summed in window order: the same doubles).
    let weighted: f64 = windows.iter().map(|w| w["score"].as_f64().unwrap() * w["frames"].as_f64().unwrap()).sum();
    assert_eq!(report["clip_score"].as_f64().unwrap(), weighted / FRAMES as f64);
    let scores: Vec<f64> = windows.iter().map(|w| w["score"].as_f64().unwrap()).collect();
    assert!(scores.iter().any(|s| *s != scores[0]), "the windows score alike: {scores:?}");
    let notes = report["input"]["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("scored in 8 windows of up to 8.0 s")), "{notes:?}");
}

#[test]
fn the_poolings_follow_their_formulas() {
    // 25 s: windows of 64, 64, 64 and 8 frames.
    let fixture = fixture_of(200);
    let pooled = |name: &str| {
        let options = vsrqa_cli::FileOptions { pooling: Some(name.into()), ..Default::default() };
        let report = report(&fixture, options);
        assert_eq!(report["scoring"]["pooling"], name);
        let windows: Vec<(f64, f64)> =
            windows(&report).iter().map(|w| (w["score"].as_f64().unwrap(), w["frames"].as_f64().unwrap())).collect();
        (report["clip_score"].as_f64().unwrap(), windows)
    };
    let (min, windows) = pooled("min");
    assert_eq!(min, windows.iter().map(|w| w.0).fold(f64::INFINITY, f64::min));
    let (harmonic, _) = pooled("harmonic_mean");
    assert_eq!(windows.len(), 4);
    let expected = 200.0 / windows.iter().map(|(s, f)| f / s).sum::<f64>();
    assert_eq!(harmonic, expected);
    // p25 by nearest rank over the frames: the lowest score whose frames reach 50 of 200.
    let (p25, _) = pooled("p25");
    let mut sorted = windows.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut reached = 0.0;
    let expected = sorted.iter().find(|(_, f)| {
        reached += f;
        reached >= 50.0
    });
    assert_eq!(Some(p25), expected.map(|w| w.0));
}

#[test]
fn whole_clip_is_the_reference_rule_and_says_what_it_leaves_out() {
    let fixture = fixture();
    let options = vsrqa_cli::FileOptions { whole_clip: true, ..Default::default() };
    let report = report(&fixture, options);
    assert_eq!(report["scoring"]["mode"], "whole_clip");
    assert!(report.get("windows").is_none());
    // Today's score: one session over every frame, of unknown length, as before windows.
    let mut session = fixture.engine.session(FPS).unwrap();
    for frame in &fixture.frames {
        let mut view = FrameView::packed(PixelFormat::I420, WIDTH, HEIGHT, frame).unwrap();
        (view.matrix, view.range) = (ColorMatrix::Bt601, ColorRange::Limited);
        session.push(view).unwrap();
    }
    assert_eq!(report["clip_score"].as_f64().unwrap(), session.finish().unwrap().score);
    assert_eq!(report["key_frames"], 8);
    let coverage = &report["coverage"];
    assert_eq!((coverage["frames_covered"].as_u64(), coverage["last_frame"].as_u64()), (Some(64), Some(63)));
    assert_eq!(coverage["share"].as_f64(), Some(64.0 / 480.0));
    assert_eq!(coverage["uncovered"][0]["first_frame"], 64);
    let notes = report["input"]["notes"].to_string();
    assert!(notes.contains("frames 0 to 63, 8.0 s of 60.0 s") && notes.contains("416 frames"), "{notes}");
}

#[test]
fn other_window_lengths_and_what_they_leave_out() {
    let fixture = fixture();
    // 4 s: 32 frames, 4 key frames each, every frame covered.
    let short = report(&fixture, vsrqa_cli::FileOptions { window_seconds: Some(4.0), ..Default::default() });
    assert_eq!(windows(&short).len(), 15);
    assert_eq!(short["coverage"]["share"], 1.0);
    assert_eq!(windows(&short)[1]["key_frames"], 4);
    // 10 s: 80 frames, past the model's 64: the last 16 of each window are seen only by FAST-VQA.
    let long = report(&fixture, vsrqa_cli::FileOptions { window_seconds: Some(10.0), ..Default::default() });
    assert_eq!(windows(&long).len(), 6);
    assert_eq!(long["coverage"]["frames_covered"], 6 * 64);
    assert_eq!(long["coverage"]["uncovered"].as_array().unwrap().len(), 6);
    assert_eq!(windows(&long)[0]["flags"], serde_json::json!(["partly_covered"]));
    assert!(long["input"]["notes"].to_string().contains("96 of 480 frames"), "{}", long["input"]["notes"]);
}

#[test]
fn a_clip_within_the_span_is_one_window_scored_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let path = dir.path().join("short.y4m");
    write_y4m(&path, &fixture.frames[..50]);
    let report = vsrqa_cli::score_file_json(&fixture.engine, &path, &Default::default()).report;
    assert_eq!(windows(&report).len(), 1);
    assert_eq!(report["clip_score"].as_f64().unwrap(), score_clip(&fixture, &fixture.frames[..50]));
    assert_eq!(report["clip_score"], report["windows"][0]["score"]);
    assert!(report["input"]["notes"].as_array().unwrap().is_empty(), "{}", report["input"]["notes"]);
}

#[test]
fn the_command_line_options_and_their_mistakes() {
    // 25 s: windows of 64, 64, 64 and 8 frames.
    let fixture = fixture_of(200);
    let (model, clip) = (data("tiny_bundle"), fixture.path.to_str().unwrap().to_owned());
    let model = model.to_str().unwrap();
    for (args, message) in [
        (vec!["--window", "0"], "a window is a positive number of seconds"),
        (vec!["--window", "nan"], "a window is a positive number of seconds"),
        (vec!["--window", "4", "--whole-clip"], "cannot be used with"),
        (vec!["--pooling", "median"], "use mean, harmonic_mean, min, or a percentile"),
    ] {
        let mut all = vec!["score", "-m", model, &clip, "--backend", "cpu"];
        all.extend(args.iter().copied());
        let run = cli::vsrqa(&all);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert!(stderr(&run).contains(message), "{args:?}: {}", stderr(&run));
    }
    // CSV: a row per window; text: a line per window.
    let csv = cli::vsrqa(&["score", "-m", model, &clip, "--backend", "cpu", "--format", "csv"]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains(",window,")).count(), 4, "{csv}");
    let text = cli::vsrqa(&["score", "-m", model, &clip, "--backend", "cpu", "--format", "text", "--pooling", "p10"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("windows      4 pooled by p10"), "{text}");
    assert!(text.contains("window 3") && text.contains("(24.0-25.0 s, frames 192-199, 1 key frames)"), "{text}");
}

#[test]
fn a_feature_bank_records_the_frames_a_long_video_gave() {
    // Training keeps the reference's rule (one clip, its first 8 key frames) and says so.
    let fixture = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (list, bank) = (dir.path().join("list.csv"), dir.path().join("bank"));
    std::fs::write(&list, format!("path,mos\n{},3.5\n", fixture.path.display())).unwrap();
    let model = data("tiny_bundle");
    let args = ["features", "-m", model.to_str().unwrap(), "--backend", "cpu", "--list", list.to_str().unwrap()];
    let run = cli::vsrqa(&[&args[..], &["--out", bank.to_str().unwrap(), "--quiet"]].concat());
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("480 frames, past the model's span of 64"), "{}", stderr(&run));
    let bank = vsrqa_train::bank::FeatureBank::open(&bank).unwrap();
    let entries = bank.entries().unwrap();
    assert_eq!((entries[0].frames, entries[0].frames_used, entries[0].rows), (480, Some(64), 8));
}
