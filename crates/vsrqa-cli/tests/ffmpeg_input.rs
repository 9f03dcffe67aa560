//! The `vsrqa` tool on the generated test videos (tests/videos/make.sh): FFmpeg-decoded input,
//! reports, and the errors of the broken files.

use std::path::PathBuf;
use std::process::Command;

#[path = "../../../tests/videos/support.rs"]
mod videos;
use videos::{ffprobe_frame_count, root, video};

fn vsrqa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args).output().unwrap()
}

#[test]
fn the_cli_scores_an_mp4_and_names_a_file_it_cannot_read() {
    let bundle = root().join("tests/data/tiny_bundle");
    let input = video("h264_8bit.mp4");
    let output = vsrqa(&["score", "-m", bundle.to_str().unwrap(), input.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["frames"], 30);
    assert_eq!(report["key_frames"], 2);
    // The demuxer, as FFmpeg names it.
    assert_eq!(report["input"]["container"], "mov,mp4,m4a,3gp,3g2,mj2");
    assert_eq!(report["input"]["fps"], 24.0);
    assert_eq!(report["input"]["width"], 128);

    let bad = video("not_a_video.mp4");
    let output = vsrqa(&["score", "-m", bundle.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not_a_video.mp4") && stderr.contains("not a video FFmpeg can read"), "{stderr}");
    // Nothing from FFmpeg's own log reaches stderr.
    assert!(!stderr.contains("moov atom"), "{stderr}");
}

/// `vsrqa score` on each test video (the "done when"): the decoded frame count (ffprobe's
/// for intact streams), scores in [0, 1], the stream's tags in the report; the broken files fail
/// with an error naming them, the truncated one after scoring what decoded.
#[test]
fn the_cli_reports_every_test_video() {
    let bundle = root().join("tests/data/tiny_bundle");
    // name, codec, the file's pixel format, matrix, range, variable frame rate
    let intact = [
        ("h264_8bit.mp4", "h264", "yuv420p", "bt601", "limited", false),
        ("hevc_10bit.mkv", "hevc", "yuv420p10le", "bt601", "limited", false),
        ("vp9_10bit.webm", "vp9", "yuv420p10le", "bt601", "limited", false),
        ("odd_99x57.mkv", "ffv1", "yuv420p", "bt601", "limited", false),
        ("h264_full_bt709.mp4", "h264", "yuvj420p", "bt709", "full", false),
        ("vfr.mkv", "h264", "yuv420p", "bt601", "limited", true),
        ("tiny_16x16.mp4", "h264", "yuv420p", "bt601", "limited", false),
    ];
    for (name, codec, pix_fmt, matrix, range, vfr) in intact {
        let path = video(name);
        let output = vsrqa(&["score", "-q", "-m", bundle.to_str().unwrap(), path.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["frames"].as_u64().unwrap(), ffprobe_frame_count(&path), "{name}");
        assert_eq!(report["partial"], false, "{name}");
        let input = &report["input"];
        assert_eq!(
            (&input["codec"], &input["pixel_format"], &input["color_matrix"], &input["color_range"]),
            (&codec.into(), &pix_fmt.into(), &matrix.into(), &range.into()),
            "{name}"
        );
        assert_eq!(input["variable_frame_rate"], vfr, "{name}");
        // Every one is read in place: yuvj420p is I420 in full range.
        let scored_as = if pix_fmt == "yuvj420p" { "yuv420p" } else { pix_fmt };
        assert_eq!(input["frame_format"], scored_as, "{name}");
        let clip_score = report["clip_score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&clip_score), "{name}: {clip_score}");
        let scores = report["frame_scores"].as_array().unwrap();
        assert_eq!(scores.len() as u64, report["key_frames"].as_u64().unwrap(), "{name}");
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(&s["score"].as_f64().unwrap())), "{name}");
    }

    // Truncated mid-stream: exit 1, the 24 intact frames scored, where it broke reported.
    let path = video("truncated.ts");
    let output = vsrqa(&["score", "-q", "-m", bundle.to_str().unwrap(), path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((&report["partial"], &report["frames"]), (&true.into(), &24.into()));
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("truncated.ts") && error.contains("broke after 24 frames"), "{error}");
    assert!((0.0..=1.0).contains(&report["clip_score"].as_f64().unwrap()));

    // Nothing decodes: one JSON line each (several inputs), exit 1, the cause named.
    let broken = [
        ("truncated_moov.mp4", "moov atom not found"),
        ("not_a_video.mp4", "not a video FFmpeg can read"),
        ("audio_only.m4a", "no video stream"),
    ];
    let paths: Vec<PathBuf> = broken.iter().map(|(name, _)| video(name)).collect();
    let mut args = vec!["score", "-q", "-m", bundle.to_str().unwrap()];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let output = vsrqa(&args);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), broken.len());
    for ((name, cause), report) in broken.iter().zip(&lines) {
        let error = report["error"].as_str().unwrap_or_else(|| panic!("{name}: {report}"));
        assert!(error.contains(name) && error.contains(cause), "{name}: {error}");
        assert!(report["clip_score"].is_null(), "{name}");
    }
}
