//! `vsrqa score` reports: several files (JSON Lines), CSV, text, --output, summary statistics,
//! partial and failed files, --plot, --reference (PSNR-Y, SSIM-Y) and usage errors.

use std::path::Path;
use std::process::{Command, Output};

use vsrqa_testkit::data;

fn bundle() -> String {
    data("tiny_bundle").to_str().unwrap().to_owned()
}

fn sample() -> String {
    data("sample.y4m").to_str().unwrap().to_owned()
}

fn vsrqa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args).output().unwrap()
}

fn score(extra: &[&str]) -> Output {
    let bundle = bundle();
    let mut args = vec!["score", "-m", bundle.as_str()];
    args.extend_from_slice(extra);
    vsrqa(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", stderr(output));
    stdout(output)
}

/// The lines of JSON Lines output, parsed.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The sample's Y4M header line and its frames (each without the "FRAME\n" line).
fn sample_frames() -> (Vec<u8>, Vec<Vec<u8>>) {
    let y4m = std::fs::read(data("sample.y4m")).unwrap();
    let header_end = y4m.iter().position(|&b| b == b'\n').unwrap() + 1;
    let frame_len = 112 * 80 * 3 / 2;
    let mut frames = Vec::new();
    let mut pos = header_end;
    while pos < y4m.len() {
        pos += "FRAME\n".len();
        frames.push(y4m[pos..pos + frame_len].to_vec());
        pos += frame_len;
    }
    (y4m[..header_end].to_vec(), frames)
}

fn write_y4m(path: &Path, header: &[u8], frames: &[Vec<u8>]) {
    let mut out = header.to_vec();
    for frame in frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(frame);
    }
    std::fs::write(path, out).unwrap();
}

/// Checks a `summary` object against the frame scores it summarizes.
fn check_summary(report: &serde_json::Value) {
    let scores: Vec<f64> =
        report["frame_scores"].as_array().unwrap().iter().map(|f| f["score"].as_f64().unwrap()).collect();
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let std = (scores.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let harmonic = n / scores.iter().map(|v| 1.0 / v).sum::<f64>();
    let summary = &report["summary"];
    let close = |key: &str, want: f64| {
        let got = summary[key].as_f64().unwrap_or_else(|| panic!("summary.{key} in {summary}"));
        assert!((got - want).abs() < 1e-12, "summary.{key} = {got}, want {want}");
    };
    assert_eq!(summary["count"], scores.len());
    close("mean", mean);
    close("min", scores.iter().copied().fold(f64::INFINITY, f64::min));
    close("max", scores.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    close("harmonic_mean", harmonic);
    close("std", std);
}

#[test]
fn one_file_is_one_pretty_object_with_a_summary() {
    let report: serde_json::Value = serde_json::from_str(&ok(&score(&[&sample()]))).unwrap();
    assert_eq!(report["frames"], 20);
    assert_eq!(report["frame_scores"].as_array().unwrap().len(), 3);
    assert_eq!(report["partial"], false);
    assert!(report.get("error").is_none());
    assert!(report.get("reference").is_none());
    assert!(report["frame_scores"][0].get("psnr_y_db").is_none());
    check_summary(&report);
    assert_eq!(report["summary"]["count"], 3);
}

#[test]
fn several_files_are_json_lines_and_output_goes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.y4m");
    std::fs::copy(data("sample.y4m"), &copy).unwrap();

    let text = ok(&score(&[&sample(), s(&copy)]));
    let lines = json_lines(&text);
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(text.lines().count(), 2);
    assert_eq!(lines[0]["input"]["path"], sample());
    assert_eq!(lines[1]["input"]["path"], s(&copy));
    assert_eq!(lines[0]["clip_score"], lines[1]["clip_score"]);
    for line in &lines {
        assert_eq!(line["frames"], 20);
        assert_eq!(line["partial"], false);
        check_summary(line);
    }

    let out = dir.path().join("report.jsonl");
    let run = score(&["--output", s(&out), &sample(), s(&copy)]);
    assert_eq!(ok(&run), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn csv_has_a_row_per_key_frame_and_a_clip_row_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.y4m");
    std::fs::copy(data("sample.y4m"), &copy).unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&score(&[&sample()]))).unwrap();
    // serde_json's default float parsing may be off by one ulp; CSV holds the shortest exact text.
    let same = |csv: &str, json: &serde_json::Value| {
        let (a, b) = (csv.parse::<f64>().unwrap(), json.as_f64().unwrap());
        assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
    };

    let text = ok(&score(&["--format", "csv", &sample(), s(&copy)]));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "file",
            "kind",
            "frame_index",
            "key_frame",
            "score",
            "psnr_y_db",
            "ssim_y_gaussian11",
            "frames",
            "count",
            "mean",
            "min",
            "max",
            "harmonic_mean",
            "std",
            "partial",
            "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 * 4);
    for (file, chunk) in [sample(), s(&copy).to_owned()].iter().zip(rows.chunks(4)) {
        for (i, row) in chunk[..3].iter().enumerate() {
            let expected = &json["frame_scores"][i];
            assert_eq!(&row[0], file);
            assert_eq!(&row[1], "frame");
            assert_eq!(row[2].parse::<u64>().unwrap(), expected["frame_index"].as_u64().unwrap());
            assert_eq!(row[3].parse::<u64>().unwrap(), i as u64);
            same(&row[4], &expected["score"]);
            assert!(row.iter().skip(5).all(str::is_empty), "{row:?}");
        }
        let clip = &chunk[3];
        assert_eq!(&clip[1], "clip");
        assert_eq!((&clip[2], &clip[3]), ("", ""));
        same(&clip[4], &json["clip_score"]);
        assert_eq!(&clip[7], "20");
        assert_eq!(&clip[8], "3");
        same(&clip[9], &json["summary"]["mean"]);
        same(&clip[13], &json["summary"]["std"]);
        assert_eq!(&clip[14], "false");
        assert_eq!(&clip[15], "");
    }
}

#[test]
fn text_reports_each_file_and_a_final_summary() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.y4m");
    std::fs::copy(data("sample.y4m"), &copy).unwrap();
    // The tiny bundle's clip score on the sample, from the PyTorch reference's golden.
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/tiny_sample.json")).unwrap()).unwrap();
    let expected = format!("{:.4}", golden["clip_score"].as_f64().unwrap());
    let one = ok(&score(&["--format", "text", &sample()]));
    assert!(one.contains(&format!("clip score   {expected}")), "{one}");
    assert!(one.contains("std (population)"), "{one}");
    assert!(!one.contains("summary of"), "{one}");

    let two = ok(&score(&["--format", "text", &sample(), s(&copy), "--quiet"]));
    assert!(two.contains(&sample()) && two.contains(s(&copy)), "{two}");
    assert!(two.contains("summary of 2 files: 2 scored, 0 partial, 0 failed"), "{two}");
    assert!(two.contains(&format!("clip scores  mean {expected}")), "{two}");
}

#[test]
fn a_missing_file_fails_the_run_but_the_others_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.y4m");
    let run = score(&[&sample(), s(&missing)]);
    assert_eq!(run.status.code(), Some(1));
    let lines = json_lines(&stdout(&run));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["frames"], 20);
    assert!(lines[0].get("error").is_none());
    let error = lines[1]["error"].as_str().unwrap();
    assert!(error.contains(s(&missing)) && error.contains("cannot open"), "{error}");
    assert_eq!(lines[1]["input"]["path"], s(&missing));
    assert!(lines[1].get("clip_score").is_none());
    assert!(stderr(&run).contains("1 of 2 inputs failed"), "{}", stderr(&run));

    let csv = score(&["--format", "csv", &sample(), s(&missing)]);
    assert_eq!(csv.status.code(), Some(1));
    let text = stdout(&csv);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with(&format!("{},clip,", s(&missing))), "{last}");
    assert!(last.contains("cannot open"), "{last}");
}

#[test]
fn a_stream_that_breaks_is_scored_up_to_the_break_and_fails_the_run() {
    let (header, frames) = sample_frames();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.y4m");
    write_y4m(&broken, &header, &frames[..11]);
    // Half of frame 11.
    let mut bytes = std::fs::read(&broken).unwrap();
    bytes.extend_from_slice(b"FRAME\n");
    bytes.extend_from_slice(&frames[11][..5000]);
    std::fs::write(&broken, bytes).unwrap();

    let run = score(&[s(&broken)]);
    assert_eq!(run.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(report["partial"], true);
    assert_eq!(report["frames"], 11);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains(s(&broken)) && error.contains("frame 11 is truncated"), "{error}");
    let indices: Vec<u64> =
        report["frame_scores"].as_array().unwrap().iter().map(|f| f["frame_index"].as_u64().unwrap()).collect();
    assert_eq!(indices, [0, 8]);
    assert!(report["clip_score"].as_f64().unwrap() > 0.0);
    check_summary(&report);
    assert!(stderr(&run).contains("frame 11 is truncated"));

    // With a good file beside it: text says which is partial.
    let text = score(&["--format", "text", &sample(), s(&broken)]);
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("summary of 2 files: 1 scored, 1 partial, 0 failed"), "{}", stdout(&text));
}

#[test]
fn plot_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("scores.png");
    let svg = dir.path().join("scores.svg");
    let copy = dir.path().join("copy.y4m");
    std::fs::copy(data("sample.y4m"), &copy).unwrap();
    ok(&score(&["--plot", s(&png), &sample(), s(&copy)]));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 1000);
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    ok(&score(&["--plot", s(&svg), &sample()]));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.trim_start().starts_with("<svg"), "{}", &text[..100.min(text.len())]);
    assert!(text.trim_end().ends_with("</svg>"));
    assert!(text.contains("<polyline") || text.contains("<path"), "no curve drawn");

    // A path that cannot be written: a sentence naming it, not a Debug dump; the report is out.
    for unwritable in [dir.path().join("missing/scores.png"), dir.path().join("missing/scores.svg")] {
        let run = score(&["--plot", s(&unwritable), &sample()]);
        assert_eq!(run.status.code(), Some(1));
        let message = stderr(&run);
        assert!(
            message.contains(&format!("--plot {}: cannot create the file: No such file", unwritable.display())),
            "{message}"
        );
        assert!(!message.contains("IoError") && !message.contains("Os {"), "{message}");
        assert!(stdout(&run).contains("clip_score"));
    }
}

#[test]
fn reference_identical_clip_gives_null_psnr_and_ssim_1() {
    let run = ok(&score(&["--reference", &sample(), &sample()]));
    let report: serde_json::Value = serde_json::from_str(&run).unwrap();
    for frame in report["frame_scores"].as_array().unwrap() {
        assert!(frame["psnr_y_db"].is_null(), "{frame}");
        assert!((frame["ssim_y_gaussian11"].as_f64().unwrap() - 1.0).abs() < 1e-12, "{frame}");
    }
    let reference = &report["reference"];
    assert_eq!(reference["path"], sample());
    assert_eq!(reference["frames_compared"], 3);
    assert!(reference["psnr_y_db"].is_null());
    assert!((reference["ssim_y_gaussian11"].as_f64().unwrap() - 1.0).abs() < 1e-12);

    let csv = ok(&score(&["--format", "csv", "--reference", &sample(), &sample()]));
    let first = csv::Reader::from_reader(csv.as_bytes()).records().next().unwrap().unwrap();
    assert_eq!(&first[5], "inf");
    assert!((first[6].parse::<f64>().unwrap() - 1.0).abs() < 1e-12, "{first:?}");
}

#[test]
fn reference_with_luma_offset_by_2_gives_the_exact_psnr() {
    let (header, frames) = sample_frames();
    let luma = 112 * 80;
    let degraded: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let mut f = f.clone();
            for v in &mut f[..luma] {
                *v = if *v <= 253 { *v + 2 } else { *v - 2 };
            }
            f
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("degraded.y4m");
    write_y4m(&path, &header, &degraded);

    let report: serde_json::Value = serde_json::from_str(&ok(&score(&["--reference", &sample(), s(&path)]))).unwrap();
    let expected = 20.0 * (255.0f64 / 2.0).log10();
    for frame in report["frame_scores"].as_array().unwrap() {
        let psnr = frame["psnr_y_db"].as_f64().unwrap();
        assert!((psnr - expected).abs() < 1e-9, "{psnr} vs {expected}");
        let ssim = frame["ssim_y_gaussian11"].as_f64().unwrap();
        assert!(ssim < 1.0 && ssim > 0.99, "{ssim}");
    }
    assert!((report["reference"]["psnr_y_db"].as_f64().unwrap() - expected).abs() < 1e-9);

    // Text shows both metrics.
    let text = ok(&score(&["--format", "text", "--reference", &sample(), s(&path)]));
    assert!(text.contains("PSNR-Y 42.1102 dB"), "{text}");
}

#[test]
fn reference_of_another_size_or_length_is_an_error_for_that_file() {
    let (header, frames) = sample_frames();
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.y4m");
    write_y4m(&short, &header, &frames[..10]);
    let run = score(&["--reference", s(&short), &sample()]);
    assert_eq!(run.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("has 10 frames") && error.contains("same frame count"), "{error}");

    // The other way round: the reference is longer than the clip.
    let run = score(&["--reference", &sample(), s(&short)]);
    assert_eq!(run.status.code(), Some(1));
    let error = serde_json::from_str::<serde_json::Value>(&stdout(&run)).unwrap()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("more frames than this clip (10)"), "{error}");

    // 56x40: the top-left quarter of each plane.
    let small_header = String::from_utf8(header.clone()).unwrap().replace("W112 H80", "W56 H40");
    let crop = |f: &Vec<u8>| {
        let mut out = Vec::new();
        for y in 0..40 {
            out.extend_from_slice(&f[y * 112..y * 112 + 56]);
        }
        for plane in 0..2 {
            let base = 112 * 80 + plane * 56 * 40;
            for y in 0..20 {
                out.extend_from_slice(&f[base + y * 56..base + y * 56 + 28]);
            }
        }
        out
    };
    let small = dir.path().join("small.y4m");
    write_y4m(&small, small_header.as_bytes(), &frames.iter().map(crop).collect::<Vec<_>>());
    let run = score(&["--reference", s(&small), &sample(), s(&short)]);
    assert_eq!(run.status.code(), Some(1));
    let lines = json_lines(&stdout(&run));
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let error = line["error"].as_str().unwrap();
        assert!(error.contains("56x40") && error.contains("same size"), "{error}");
    }
    assert!(stderr(&run).contains("2 of 2 inputs failed"));
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let (sample, jpg) = (sample(), dir.path().join("p.jpg"));
    for args in [
        vec!["--format", "xml", &sample],
        vec!["--plot", s(&jpg), &sample],
        vec!["-", "-"],
        vec!["--reference", "-", "-"],
        vec!["--pix-fmt", "yuv444p", "--size", "8x8", "--fps", "8", "x.yuv"],
    ] {
        let run = score(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", stderr(&run));
        assert_eq!(stdout(&run), "", "{args:?}");
        assert!(!jpg.exists());
    }
    let plot = score(&["--plot", "x.gif", &sample]);
    assert!(stderr(&plot).contains(".png or .svg"), "{}", stderr(&plot));
    assert_eq!(vsrqa(&["score", "-m", &bundle()]).status.code(), Some(2));
}

/// A copy of the tiny bundle that records checkpoint weights for every part, so that `vsrqa score`
/// has no provenance warning to print.
fn recorded_bundle() -> tempfile::TempDir {
    let dir = vsrqa_testkit::copy_of(&data("tiny_bundle"));
    let path = dir.path().join("vsrqa.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let checkpoint = serde_json::json!({ "source": "checkpoint", "file": "w.pth", "sha256": "c".repeat(64) });
    for origin in manifest["provenance"]["branches"].as_object_mut().unwrap().values_mut() {
        *origin = checkpoint.clone();
    }
    manifest["provenance"]["head"] = checkpoint;
    std::fs::write(&path, manifest.to_string()).unwrap();
    dir
}

#[test]
fn stderr_is_quiet_when_it_is_not_a_terminal() {
    let recorded = recorded_bundle();
    let score = |extra: &[&str]| vsrqa(&[&["score", "-m", s(recorded.path())][..], extra].concat());
    let run = score(&[&sample()]);
    assert_eq!(stderr(&run), "");
    let quiet = score(&["--quiet", &sample()]);
    assert_eq!(stderr(&quiet), "");
    assert_eq!(stdout(&run), stdout(&quiet));
}

#[test]
fn score_warns_once_on_stderr_on_every_run_of_a_random_bundle() {
    let warning = vsrqa::bundle::Bundle::load(bundle()).unwrap().provenance_warning().unwrap();
    let expected = format!("vsrqa: warning: {warning}\n");
    let run = score(&[&sample()]);
    assert_eq!(stderr(&run), expected);
    // --quiet silences progress, not the warning; the report on stdout is untouched.
    let quiet = score(&["--quiet", &sample()]);
    assert_eq!(stderr(&quiet), expected);
    assert_eq!(stdout(&run), stdout(&quiet));
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&run)).unwrap()["clip_score"].is_number());
    // With --verbose the engine's log carries it: still once.
    let verbose = score(&["--verbose", &sample()]);
    assert_eq!(stderr(&verbose).matches(&warning).count(), 1, "{}", stderr(&verbose));
    assert_eq!(stdout(&verbose), stdout(&run));
    // CSV on stdout stays clean too.
    let csv = ok(&score(&["--format", "csv", &sample()]));
    assert!(!csv.contains("random"), "{csv}");
}

#[test]
fn ssim_matches_scikit_image() {
    // Luma shifted right by one pixel (wrapping), as numpy.roll(y, 1, axis=1). Expected values:
    // skimage.metrics.structural_similarity(y, shifted, gaussian_weights=True, sigma=1.5,
    // use_sample_covariance=False, data_range=255) on frames 0, 8 and 16 (scikit-image 0.26).
    let expected = [0.720683481547023, 0.7339949193064994, 0.723032005898727];
    let (header, frames) = sample_frames();
    let shifted: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let mut f = f.clone();
            for row in f[..112 * 80].chunks_exact_mut(112) {
                row.rotate_right(1);
            }
            f
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shifted.y4m");
    write_y4m(&path, &header, &shifted);
    let report: serde_json::Value = serde_json::from_str(&ok(&score(&["--reference", &sample(), s(&path)]))).unwrap();
    for (frame, want) in report["frame_scores"].as_array().unwrap().iter().zip(expected) {
        let got = frame["ssim_y_gaussian11"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "frame {}: {got} vs {want}", frame["frame_index"]);
    }
}
