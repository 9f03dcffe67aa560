//! `vsrqa score` on files as they come from the field, each made here with the ffmpeg CLI: a
//! phone's rotated video, an audio file with cover art, a capture whose resolution changes,
//! interlaced and HDR video, a pixel format that is converted, full-range (yuvj*) JPEG video.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bundle() -> String {
    vsrqa_testkit::tiny_bundle().display().to_string()
}

fn ffmpeg(args: &[&OsStr]) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// `ffmpeg -f lavfi -i testsrc2=size=SIZE:rate=10 -frames:v N ENCODING... OUT`.
fn generated(out: &Path, size: &str, frames: u32, encoding: &[&str]) -> PathBuf {
    let source = format!("testsrc2=size={size}:rate=10");
    let count = frames.to_string();
    let mut args: Vec<&OsStr> = ["-f", "lavfi", "-i", &source, "-frames:v", &count].map(OsStr::new).to_vec();
    args.extend(encoding.iter().map(OsStr::new));
    args.push(out.as_os_str());
    ffmpeg(&args);
    out.to_path_buf()
}

fn score(path: &Path) -> (Output, serde_json::Value) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(["score", "-q", "-m", &bundle()]).arg(path).output().unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output, report)
}

fn scored(path: &Path) -> serde_json::Value {
    let (output, report) = score(path);
    assert!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    report
}

fn notes(report: &serde_json::Value) -> Vec<String> {
    report["input"]["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

const H264: [&str; 4] = ["-c:v", "libx264", "-pix_fmt", "yuv420p"];

#[test]
fn a_rotated_phone_video_is_scored_upright() {
    let dir = tempfile::tempdir().unwrap();
    let stored = generated(&dir.path().join("stored.mp4"), "64x48", 10, &H264);
    // What a phone writes: landscape frames and a display matrix (here 90°: ffmpeg shows the
    // frames turned counterclockwise).
    let rotated = dir.path().join("rotated.mp4");
    ffmpeg(&[
        "-i".as_ref(),
        stored.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-metadata:s:v:0".as_ref(),
        "rotate=90".as_ref(),
        rotated.as_os_str(),
    ]);
    // The upright picture, as ffmpeg shows it, stored losslessly.
    let upright = dir.path().join("upright.mkv");
    ffmpeg(&["-i".as_ref(), rotated.as_os_str(), "-c:v".as_ref(), "ffv1".as_ref(), upright.as_os_str()]);

    let report = scored(&rotated);
    let input = &report["input"];
    assert_eq!((&input["width"], &input["height"], &input["rotation"]), (&48.into(), &64.into(), &270.into()));
    assert!(notes(&report).iter().any(|n| n.contains("display rotation") && n.contains("90° counterclockwise")));
    let reference = scored(&upright);
    assert_eq!(report["clip_score"], reference["clip_score"], "the rotated file scores as its upright picture");
    assert_eq!(reference["input"]["rotation"], 0);
}

#[test]
fn an_audio_file_with_cover_art_has_no_video_to_score() {
    let dir = tempfile::tempdir().unwrap();
    let cover = generated(&dir.path().join("cover.png"), "64x64", 1, &[]);
    let song = dir.path().join("song.mp3");
    let args = [
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-i",
        cover.to_str().unwrap(),
        "-map",
        "0",
        "-map",
        "1",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "mjpeg",
        "-disposition:v:0",
        "attached_pic",
        song.to_str().unwrap(),
    ];
    ffmpeg(&args.map(OsStr::new));
    let (output, report) = score(&song);
    assert_eq!(output.status.code(), Some(1));
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("song.mp3") && error.contains("attached cover art"), "{error}");
    assert!(report["clip_score"].is_null());
}

#[test]
fn a_resolution_change_is_scored_as_segments() {
    let dir = tempfile::tempdir().unwrap();
    let ts = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts"];
    let first = generated(&dir.path().join("first.ts"), "64x48", 12, &ts);
    let second = generated(&dir.path().join("second.ts"), "48x32", 9, &ts);
    let joined = dir.path().join("joined.ts");
    std::fs::write(&joined, [std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap()].concat()).unwrap();

    let report = scored(&joined);
    let segments = report["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    let alone = [scored(&first), scored(&second)];
    for (segment, alone) in segments.iter().zip(&alone) {
        // Each segment is a clip of its own: the score of that part alone (to float noise: the
        // CPU backend's threaded reductions may round the last bit differently between runs).
        let (a, b) = (segment["clip_score"].as_f64().unwrap(), alone["clip_score"].as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        assert_eq!(segment["frames"], alone["frames"]);
        assert_eq!((&segment["width"], &segment["height"]), (&alone["input"]["width"], &alone["input"]["height"]));
    }
    assert_eq!((&segments[0]["first_frame"], &segments[1]["first_frame"]), (&0.into(), &12.into()));
    let mean =
        (alone[0]["clip_score"].as_f64().unwrap() * 12.0 + alone[1]["clip_score"].as_f64().unwrap() * 9.0) / 21.0;
    assert!((report["clip_score"].as_f64().unwrap() - mean).abs() < 1e-12, "frame-weighted mean");
    assert_eq!((&report["frames"], &report["key_frames"]), (&21.into(), &3.into()));
    // Key frames are numbered in the file, and say their segment.
    let rows: Vec<(u64, u64, u64)> = report["frame_scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["frame_index"].as_u64().unwrap(), r["key_frame"].as_u64().unwrap(), r["segment"].as_u64().unwrap()))
        .collect();
    // Key frames restart with the segment: frames 0 and 10, then 12 (the second's 0).
    assert_eq!(rows, [(0, 0, 0), (10, 1, 0), (12, 2, 1)]);
    assert!(notes(&report).iter().any(|n| n.contains("frame 12: 64x48 to 48x32") && n.contains("2 segments")));
    // One size: no segments field.
    assert!(alone[0].get("segments").is_none());
}

#[test]
fn interlaced_hdr_and_converted_video_say_so_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let interlaced = generated(
        &dir.path().join("interlaced.mp4"),
        "64x48",
        4,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-top", "1"],
    );
    let report = scored(&interlaced);
    assert_eq!(report["input"]["field_order"], "tt (top field first)");
    assert!(notes(&report).iter().any(|n| n.contains("interlaced") && n.contains("outside what it was trained on")));

    let hdr = generated(
        &dir.path().join("hdr.mp4"),
        "64x48",
        3,
        &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p10le",
            "-color_trc",
            "smpte2084",
            "-color_primaries",
            "bt2020",
            "-colorspace",
            "bt2020nc",
        ],
    );
    let report = scored(&hdr);
    let input = &report["input"];
    assert_eq!((&input["hdr_transfer"], &input["color_matrix"]), (&"smpte2084 (PQ)".into(), &"bt2020".into()));
    assert!(notes(&report).iter().any(|n| n.contains("HDR") && n.contains("outside what it was trained on")));

    let full_chroma =
        generated(&dir.path().join("yuv444p.mp4"), "64x48", 3, &["-c:v", "libx264", "-pix_fmt", "yuv444p"]);
    let report = scored(&full_chroma);
    let input = &report["input"];
    assert_eq!((&input["pixel_format"], &input["frame_format"]), (&"yuv444p".into(), &"yuv420p".into()));
    assert!(
        notes(&report).iter().any(|n| n.contains("yuv444p frames are converted to yuv420p")),
        "{:?}",
        notes(&report)
    );
    assert_eq!((&input["field_order"], &input["hdr_transfer"]), (&serde_json::Value::Null, &serde_json::Value::Null));
    let mkv = generated(&dir.path().join("plain.mkv"), "64x48", 3, &H264);
    assert_eq!(scored(&mkv)["input"]["container"], "matroska,webm");
}

#[test]
fn the_report_gives_the_colour_range_the_frames_were_converted_with() {
    // Every yuvj* format is full range, under both conversions: the reference's swscale (as
    // OpenCV sets it up) converts them so, and the report says what was applied. yuvj422p and
    // yuvj444p were reported limited under `reference` while their frames were full range.
    let dir = tempfile::tempdir().unwrap();
    let mjpeg = |name: &str, pix_fmt: &str| {
        generated(&dir.path().join(name), "64x48", 3, &["-c:v", "mjpeg", "-pix_fmt", pix_fmt, "-strict", "-1"])
    };
    let cases = [
        (mjpeg("j420.avi", "yuvj420p"), "yuvj420p", "full"),
        (mjpeg("j422.avi", "yuvj422p"), "yuvj422p", "full"),
        (mjpeg("j444.avi", "yuvj444p"), "yuvj444p", "full"),
        (
            generated(&dir.path().join("y422.mp4"), "64x48", 3, &["-c:v", "libx264", "-pix_fmt", "yuv422p"]),
            "yuv422p",
            "limited",
        ),
    ];
    for (path, pix_fmt, range) in &cases {
        for conversion in ["reference", "exact"] {
            let output = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
                .args(["score", "-q", "-m", &bundle(), "--color-conversion", conversion])
                .arg(path)
                .output()
                .unwrap();
            assert!(output.status.success(), "{pix_fmt}: {}", String::from_utf8_lossy(&output.stderr));
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["input"]["pixel_format"], *pix_fmt);
            assert_eq!(report["input"]["color_range"], *range, "{pix_fmt} under {conversion}");
        }
    }
}
