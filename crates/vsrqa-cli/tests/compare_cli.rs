//! `vsrqa compare` through the binary: two bundles' clip scores per video equal what `vsrqa score`
//! gives for each, the summary (|difference|, SRCC, PLCC) is computed from them, a bundle compared
//! with itself agrees exactly, a video that fails is reported while the others are compared, and
//! a wrong command line is a usage error.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};

#[path = "support/cli.rs"]
mod cli;
use cli::{data, stderr, vsrqa};

const WIDTH: usize = 64;
const HEIGHT: usize = 48;
const FRAMES: usize = 12;

/// Writes `count` Y4M clips of a pattern with more noise in each, and returns their names.
fn clips(dir: &Path, count: usize) -> Vec<String> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
    (0..count)
        .map(|i| {
            let name = format!("clip{i}.y4m");
            let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join(&name)).unwrap());
            writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F8:1 Ip A1:1 C420jpeg").unwrap();
            for f in 0..FRAMES {
                file.write_all(b"FRAME\n").unwrap();
                let luma: Vec<u8> = (0..WIDTH * HEIGHT)
                    .map(|p| {
                        let (x, y) = ((p % WIDTH) as f64, (p / WIDTH) as f64);
                        let base = 128.0 + 60.0 * (x * 0.15).sin() * (y * 0.1).cos() + 2.0 * f as f64;
                        (base + rng.random_range(-1.0..1.0) * 25.0 * i as f64).clamp(0.0, 255.0) as u8
                    })
                    .collect();
                file.write_all(&luma).unwrap();
                file.write_all(&vec![128u8; WIDTH * HEIGHT / 2]).unwrap();
            }
            name
        })
        .collect()
}

/// A copy of the tiny bundle whose spatial branch normalizes with other statistics: the same
/// networks, slightly different scores.
fn other_bundle(dir: &Path) -> PathBuf {
    let bundle = dir.join("other_bundle");
    std::fs::create_dir(&bundle).unwrap();
    vsrqa_testkit::copy_files(&data("tiny_bundle"), &bundle);
    let manifest_path = bundle.join("vsrqa.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let spatial = &mut manifest["branches"][0];
    assert_eq!(spatial["name"], "spatial");
    let normalize =
        spatial["preprocess"].as_array_mut().unwrap().iter_mut().find(|op| op["op"] == "normalize").unwrap();
    normalize["mean"] = serde_json::json!([0.45, 0.45, 0.45]);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    bundle
}

fn clip_score(model: &Path, video: &Path) -> f64 {
    let output = vsrqa(&["score", "-m", model.to_str().unwrap(), video.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report["clip_score"].as_f64().unwrap()
}

/// Pearson's r, written out here so that the tool's figure is checked against an independent one.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum::<f64>().sqrt();
    let sy: f64 = y.iter().map(|b| (b - my).powi(2)).sum::<f64>().sqrt();
    cov / (sx * sy)
}

/// Ranks from 1 (the clips' scores have no ties).
fn ranks(x: &[f64]) -> Vec<f64> {
    x.iter().map(|v| 1.0 + x.iter().filter(|w| *w < v).count() as f64).collect()
}

#[test]
fn compare_reports_both_bundles_scores_and_their_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let names = clips(dir.path(), 5);
    let list = dir.path().join("videos.csv");
    std::fs::write(&list, format!("path\n{}\n", names.join("\n"))).unwrap();
    let (a, b) = (data("tiny_bundle"), other_bundle(dir.path()));

    let output =
        vsrqa(&["compare", "-m", a.to_str().unwrap(), "-m", b.to_str().unwrap(), "--list", list.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["models"][0]["model_name"], "tiny-full");
    assert_eq!(report["models"][1]["model"], b.to_str().unwrap());
    assert!(["cpu", "onnxruntime", "tensorrt"].contains(&report["models"][1]["backend"].as_str().unwrap()));

    let (mut score_a, mut score_b) = (Vec::new(), Vec::new());
    for (row, name) in report["videos"].as_array().unwrap().iter().zip(&names) {
        assert_eq!(row["video"], name.as_str());
        let video = dir.path().join(name);
        let (sa, sb) = (row["score_a"].as_f64().unwrap(), row["score_b"].as_f64().unwrap());
        // The same decode and the same engine as `vsrqa score`: the same number.
        assert_eq!(sa, clip_score(&a, &video), "{name}");
        assert_eq!(sb, clip_score(&b, &video), "{name}");
        assert_eq!(row["difference"].as_f64().unwrap(), sb - sa);
        score_a.push(sa);
        score_b.push(sb);
    }
    assert_eq!(score_a.len(), 5);
    let differences: Vec<f64> = score_a.iter().zip(&score_b).map(|(a, b)| (b - a).abs()).collect();
    let summary = &report["summary"];
    assert_eq!((summary["videos"].as_u64(), summary["failed"].as_u64()), (Some(5), Some(0)));
    let max = differences.iter().copied().fold(0.0, f64::max);
    assert!(max > 0.0, "the other bundle must score differently: {differences:?}");
    assert_eq!(summary["max_abs_difference"].as_f64().unwrap(), max);
    assert!((summary["mean_abs_difference"].as_f64().unwrap() - differences.iter().sum::<f64>() / 5.0).abs() < 1e-15);
    assert!((summary["plcc"].as_f64().unwrap() - pearson(&score_a, &score_b)).abs() < 1e-12);
    let srcc = pearson(&ranks(&score_a), &ranks(&score_b));
    assert!((summary["srcc"].as_f64().unwrap() - srcc).abs() < 1e-12);

    // A bundle against itself: no difference, perfect agreement. Text format, to a file.
    let text_path = dir.path().join("same.txt");
    let same = vsrqa(&[
        "compare",
        "-m",
        a.to_str().unwrap(),
        "-m",
        a.to_str().unwrap(),
        "--list",
        list.to_str().unwrap(),
        "--format",
        "text",
        "-o",
        text_path.to_str().unwrap(),
        "-q",
    ]);
    assert!(same.status.success(), "{}", stderr(&same));
    assert!(same.stderr.is_empty(), "--quiet prints nothing: {}", stderr(&same));
    let text = std::fs::read_to_string(&text_path).unwrap();
    assert!(
        text.contains("5 videos compared, 0 failed: max |B - A| 0.00e0, mean |B - A| 0.00e0, SRCC 1.0000, PLCC 1.0000"),
        "{text}"
    );
    assert!(text.contains(&format!("clip0.y4m {:>9.6} {:>9.6}", score_a[0], score_a[0])), "{text}");
    let backend = report["models"][0]["backend"].as_str().unwrap();
    assert!(text.starts_with(&format!("A: {} (tiny-full, {backend})\n", a.display())), "{text}");
}

#[test]
fn compare_reports_a_broken_video_and_compares_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let names = clips(dir.path(), 3);
    std::fs::write(dir.path().join("broken.y4m"), b"YUV4MPEG2 W64 H48 F8:1 C420jpeg\nFRAME\n\x01\x02").unwrap();
    // An eval list (path,mos) works too: the MOS is ignored.
    let list = dir.path().join("eval.csv");
    let rows: String =
        names.iter().chain(std::iter::once(&"broken.y4m".to_string())).map(|n| format!("{n},3.0\n")).collect();
    std::fs::write(&list, format!("filename,mos\n{rows}")).unwrap();
    let a = data("tiny_bundle");
    let output =
        vsrqa(&["compare", "-m", a.to_str().unwrap(), "-m", a.to_str().unwrap(), "--list", list.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("1 of 4 videos could not be scored by both bundles"), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["summary"]["videos"].as_u64(), report["summary"]["failed"].as_u64()), (Some(3), Some(1)));
    let broken = &report["videos"][3];
    assert_eq!(broken["video"], "broken.y4m");
    assert_eq!(broken["score_a"], serde_json::Value::Null);
    let error = broken["error"].as_str().unwrap();
    assert!(error.starts_with("A: ") && error.contains("; B: "), "{error}");
    assert_eq!(report["summary"]["max_abs_difference"].as_f64(), Some(0.0));
}

#[test]
fn compare_needs_two_bundles_and_a_list() {
    let a = data("tiny_bundle");
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("videos.csv");
    std::fs::write(&list, "clip.y4m\n").unwrap();
    let one = vsrqa(&["compare", "-m", a.to_str().unwrap(), "--list", list.to_str().unwrap()]);
    assert_eq!(one.status.code(), Some(2));
    assert!(stderr(&one).contains("compare takes two bundles (--model A --model B), not 1"), "{}", stderr(&one));
    let missing = dir.path().join("missing.csv");
    let no_list =
        vsrqa(&["compare", "-m", a.to_str().unwrap(), "-m", a.to_str().unwrap(), "--list", missing.to_str().unwrap()]);
    assert_eq!(no_list.status.code(), Some(1));
    assert!(stderr(&no_list).contains(&format!("--list {}: cannot read", missing.display())), "{}", stderr(&no_list));
    let bad_model = vsrqa(&[
        "compare",
        "-m",
        a.to_str().unwrap(),
        "-m",
        dir.path().to_str().unwrap(),
        "--list",
        list.to_str().unwrap(),
    ]);
    assert_eq!(bad_model.status.code(), Some(1));
    let message = format!("--model {} (B): not a model bundle (no vsrqa.json)", dir.path().display());
    assert!(stderr(&bad_model).contains(&message), "{}", stderr(&bad_model));
    assert!(!stderr(&bad_model).contains("[A 1/1]"), "nothing is scored first: {}", stderr(&bad_model));
}

/// `--members` runs the same members in `compare`, `eval` and `bench` as in `score`: the tiny
/// ensemble's member m1 alone scores each video as `score --members m1` does.
#[test]
fn members_are_chosen_in_compare_eval_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let names = clips(dir.path(), 3);
    let ensemble = data("tiny_ensemble");
    let model = ensemble.to_str().unwrap();
    let one_member = |video: &Path| -> f64 {
        let output = vsrqa(&["score", "-m", model, "--members", "m1", video.to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()["clip_score"].as_f64().unwrap()
    };
    let expected: Vec<f64> = names.iter().map(|name| one_member(&dir.path().join(name))).collect();
    assert!((expected[0] - clip_score(&ensemble, &dir.path().join(&names[0]))).abs() > 1e-4, "m1 is not the mean");

    let list = dir.path().join("videos.csv");
    std::fs::write(&list, format!("path\n{}\n", names.join("\n"))).unwrap();
    let compare = vsrqa(&["compare", "-m", model, "-m", model, "--members", "m1", "--list", list.to_str().unwrap()]);
    assert!(compare.status.success(), "{}", stderr(&compare));
    let report: serde_json::Value = serde_json::from_slice(&compare.stdout).unwrap();
    let got: Vec<f64> = report["videos"].as_array().unwrap().iter().map(|r| r["score_a"].as_f64().unwrap()).collect();
    assert_eq!(got, expected);

    let mos = dir.path().join("mos.csv");
    let rows: Vec<String> = names.iter().enumerate().map(|(i, name)| format!("{name},{}", i + 1)).collect();
    std::fs::write(&mos, format!("path,mos\n{}\n", rows.join("\n"))).unwrap();
    let eval =
        vsrqa(&["eval", "-m", model, "--members", "m1", "--list", mos.to_str().unwrap(), "--format", "json", "-q"]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let got: Vec<f64> =
        report["videos"].as_array().unwrap().iter().map(|r| r["prediction"].as_f64().unwrap()).collect();
    assert_eq!(got, expected);

    // The stage timings name the members' own networks that were loaded: m1's only when chosen.
    let video = dir.path().join(&names[0]);
    let bench = |members: &[&str]| {
        let mut command = vec!["bench", "-m", model, "--backend", "cpu", "--repeat", "1"];
        command.extend(members);
        command.push(video.to_str().unwrap());
        let output = vsrqa(&command);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned() + &stderr(&output)
    };
    assert!(bench(&[]).contains("spatial.m1"));
    let m2 = bench(&["--members", "m2"]);
    assert!(!m2.contains("spatial.m1"), "m1's network is not loaded:\n{m2}");
}
