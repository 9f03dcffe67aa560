//! The FFmpeg filter (ffmpeg/vf_vsrqa.c) in the patched ffmpeg builds: its key-frame, window and
//! clip scores equal `vsrqa score`'s on the same files bit for bit, key frames carry their score
//! as frame metadata, its JSON and CSV logs hold what they say, and a bad model fails the graph
//! with the SDK's message.
//!
//! Ignored by a plain `cargo test`: it needs the ffmpeg builds, which scripts/test.sh makes
//! (ffmpeg/build.sh, FFmpeg 5.1 and 7.1) and then runs this file with `--ignored`, naming them in
//! VSRQA_TEST_FFMPEG (paths separated by spaces).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/cli.rs"]
mod cli;
#[path = "../../../tests/videos/support.rs"]
mod videos;

use cli::{data, stderr, vsrqa};

/// The patched ffmpeg binaries named by VSRQA_TEST_FFMPEG.
fn builds() -> Vec<PathBuf> {
    let list = std::env::var("VSRQA_TEST_FFMPEG").expect("VSRQA_TEST_FFMPEG names the patched ffmpeg builds");
    let builds: Vec<PathBuf> = list.split_whitespace().map(PathBuf::from).collect();
    assert!(!builds.is_empty() && builds.iter().all(|b| b.is_file()), "VSRQA_TEST_FFMPEG={list}");
    builds
}

fn ffmpeg(build: &Path, input: &Path, filter: &str) -> Output {
    Command::new(build)
        .args(["-hide_banner", "-nostdin", "-y", "-i"])
        .arg(input)
        .args(["-vf", filter, "-f", "null", "-"])
        .output()
        .unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `vsrqa score`'s report on `file` (tiny bundle, CPU), with `extra` options.
fn cli_report(file: &Path, extra: &[&str]) -> serde_json::Value {
    let tiny = data("tiny_bundle");
    let mut args = vec!["score", "-m", tiny.to_str().unwrap(), "--backend", "cpu", "-q"];
    args.extend(extra);
    args.push(file.to_str().unwrap());
    let output = vsrqa(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn filter(log: &Path, extra: &str) -> String {
    format!("vsrqa=model={}:backend=cpu:log_path={}{extra}", data("tiny_bundle").display(), log.display())
}

/// (frame_index, score) of each key frame.
fn key_frames(rows: &serde_json::Value) -> Vec<(u64, f64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["frame_index"].as_u64().unwrap(), r["score"].as_f64().unwrap()))
        .collect()
}

#[test]
#[ignore = "needs the patched ffmpeg builds: scripts/test.sh runs it with --ignored"]
fn the_filter_scores_as_the_cli_does_8_and_10_bit() {
    let dir = tempfile::tempdir().unwrap();
    for build in builds() {
        for file in [videos::video("h264_8bit.mp4"), data("opencv/h264_10bit.mp4"), videos::video("hevc_10bit.mkv")] {
            let log = dir.path().join("log.json");
            let meta = dir.path().join("meta.txt");
            let graph = format!("{},metadata=print:file={}", filter(&log, ""), meta.display());
            let run = ffmpeg(&build, &file, &graph);
            let text = stderr(&run);
            assert!(run.status.success(), "{} on {}:\n{text}", build.display(), file.display());
            let ours = json(&log);
            let cli = cli_report(&file, &[]);
            let what = format!("{} on {}", build.display(), file.display());
            // The same decoded planes and the same library: the same bits.
            assert_eq!(ours["clip_score"].as_f64(), cli["clip_score"].as_f64(), "{what}");
            assert_eq!(key_frames(&ours["frame_scores"]), key_frames(&cli["frame_scores"]), "{what}");
            assert_eq!(ours["frames"], cli["frames"], "{what}");
            assert!(text.contains(&format!("vsrqa score: {:.6}", cli["clip_score"].as_f64().unwrap())), "{text}");
            // Each key frame carries its score; no other frame does.
            let printed = std::fs::read_to_string(&meta).unwrap();
            let tagged: Vec<&str> =
                printed.lines().filter_map(|line| line.strip_prefix("lavfi.vsrqa.score=")).collect();
            let expected: Vec<String> =
                key_frames(&cli["frame_scores"]).iter().map(|(_, s)| format!("{s:.6}")).collect();
            assert_eq!(tagged, expected, "{what}:\n{printed}");
        }
        // Another conversion than the bundle's (the tiny bundle's is exact), as the CLI's option.
        let file = videos::video("h264_8bit.mp4");
        let log = dir.path().join("reference.json");
        let run = ffmpeg(&build, &file, &filter(&log, ":color_conversion=reference"));
        assert!(run.status.success(), "{}", stderr(&run));
        let cli = cli_report(&file, &["--color-conversion", "reference"]);
        assert_eq!(json(&log)["clip_score"].as_f64(), cli["clip_score"].as_f64());
        assert_ne!(cli["clip_score"], cli_report(&file, &[])["clip_score"], "the conversion changes the score");
    }
}

#[test]
#[ignore = "needs the patched ffmpeg builds: scripts/test.sh runs it with --ignored"]
fn windows_are_the_clis_windows() {
    let dir = tempfile::tempdir().unwrap();
    let file = videos::video("h264_8bit.mp4");
    let cli = cli_report(&file, &["--window", "0.5"]);
    for build in builds() {
        let log = dir.path().join("windows.json");
        let run = ffmpeg(&build, &file, &filter(&log, ":window=0.5"));
        assert!(run.status.success(), "{}", stderr(&run));
        let ours = json(&log);
        let windows = ours["windows"].as_array().unwrap();
        let theirs = cli["windows"].as_array().unwrap();
        assert!(windows.len() > 1, "{ours}");
        assert_eq!(windows.len(), theirs.len());
        for (a, b) in windows.iter().zip(theirs) {
            assert_eq!((&a["first_frame"], &a["frames"], &a["score"]), (&b["first_frame"], &b["frames"], &b["score"]));
        }
        assert_eq!(key_frames(&ours["frame_scores"]), key_frames(&cli["frame_scores"]));
        let pooled = ours["clip_score"].as_f64().unwrap();
        assert!((pooled - cli["clip_score"].as_f64().unwrap()).abs() < 1e-15, "{pooled} against {}", cli["clip_score"]);

        let csv = dir.path().join("windows.csv");
        let run = ffmpeg(&build, &file, &filter(&csv, ":window=0.5:log_fmt=csv"));
        assert!(run.status.success(), "{}", stderr(&run));
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("kind,frame_index,key_frame,window,score,frames"));
        let kinds: Vec<&str> = lines.map(|line| line.split(',').next().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "window").count(), windows.len(), "{text}");
        assert_eq!(kinds.iter().filter(|k| **k == "frame").count(), ours["frame_scores"].as_array().unwrap().len());
        assert_eq!(kinds.last(), Some(&"clip"), "{text}");
    }
}

#[test]
#[ignore = "needs the patched ffmpeg builds: scripts/test.sh runs it with --ignored"]
fn bad_models_and_options_fail_the_graph_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broken = vsrqa_testkit::copy_of(&data("tiny_bundle"));
    std::fs::write(broken.path().join("vsrqa.json"), "{ not json").unwrap();
    let file = data("opencv/h264_420.mp4");
    for build in builds() {
        let cases = [
            ("vsrqa=model=/nonexistent/bundle".to_owned(), "the bundle directory does not exist"),
            (format!("vsrqa=model={}", broken.path().display()), "vsrqa.json"),
            ("vsrqa".to_owned(), "no model: set model="),
            (format!("vsrqa=model={}:backend=gpu", data("tiny_bundle").display()), "backend \"gpu\""),
            (format!("vsrqa=model={}:log_fmt=xml", data("tiny_bundle").display()), "log_fmt \"xml\""),
            (format!("vsrqa=model={}:members=m0", data("tiny_bundle").display()), "not an ensemble"),
            (format!("vsrqa=model={}:color_conversion=fast", data("tiny_bundle").display()), "use reference or exact"),
        ];
        for (graph, reason) in cases {
            let run = ffmpeg(&build, &file, &graph);
            let text = stderr(&run);
            assert!(!run.status.success(), "{graph} ran:\n{text}");
            assert!(text.contains(reason), "{graph}: no \"{reason}\" in:\n{text}");
            assert!(!text.contains("Segmentation fault") && run.status.code().is_some(), "{graph}:\n{text}");
        }
        let log = dir.path().join("never.json");
        let missing_dir = dir.path().join("no/such/dir/log.json");
        let run = ffmpeg(&build, &file, &filter(&missing_dir, ""));
        assert!(!run.status.success() && stderr(&run).contains("cannot write"), "{}", stderr(&run));
        assert!(!log.exists());
    }
}
