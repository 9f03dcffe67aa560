//! Training end to end through the `vsrqa` binary: `features` (resumable, per-video errors),
//! `train` (a new bundle), `eval` (JSON, table, scatter plot), and the trained bundle scored
//! through the C API.
//!
//! The synthetic dataset: small Y4M clips of a smooth pattern plus noise, where a latent quality
//! q sets the noise amplitude (70 (1 - q) grey levels) and the MOS is 1 + 4 q plus uniform noise
//! of +-0.2. The tiny bundle's random branches respond to the noise, so the head can learn q.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::{RngExt, SeedableRng};

#[path = "support/small_filesystem.rs"]
mod small_filesystem;

#[path = "support/cli.rs"]
mod cli;
use cli::{data, stderr, vsrqa};

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "failed: {}", stderr(output));
    serde_json::from_slice(&output.stdout).unwrap()
}

const WIDTH: usize = 112;
const HEIGHT: usize = 80;
const FRAMES: usize = 16;

/// Writes `count` clips and the list `list.csv` (path,mos,group) into `dir`.
fn synthetic_dataset(dir: &Path, count: usize, seed: u64) -> Vec<(String, f64)> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    for i in 0..count {
        let q = (i as f64 + 0.5) / count as f64;
        let (phase, frequency) = (rng.random_range(0.0..std::f64::consts::TAU), rng.random_range(0.05..0.2));
        let name = format!("clip{i:03}.y4m");
        let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join(&name)).unwrap());
        writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F8:1 Ip A1:1 C420jpeg").unwrap();
        for f in 0..FRAMES {
            file.write_all(b"FRAME\n").unwrap();
            let luma: Vec<u8> = (0..WIDTH * HEIGHT)
                .map(|p| {
                    let (x, y) = ((p % WIDTH) as f64, (p / WIDTH) as f64);
                    let base = 128.0 + 60.0 * (x * frequency + phase).sin() * (y * frequency * 0.7).cos() + f as f64;
                    let noise: f64 = rng.random_range(-1.0..1.0) * 70.0 * (1.0 - q);
                    (base + noise).clamp(0.0, 255.0) as u8
                })
                .collect();
            file.write_all(&luma).unwrap();
            file.write_all(&vec![128u8; WIDTH * HEIGHT / 2]).unwrap();
        }
        let mos = 1.0 + 4.0 * q + rng.random_range(-0.2..0.2);
        rows.push((name, mos));
    }
    write_list(&dir.join("list.csv"), &rows);
    rows
}

fn write_list(path: &Path, rows: &[(String, f64)]) {
    let groups = ["easy", "moderate", "hard"];
    let text: String =
        rows.iter().enumerate().map(|(i, (name, mos))| format!("{name},{mos},{}\n", groups[i % 3])).collect();
    std::fs::write(path, format!("path,mos,group\n{text}")).unwrap();
}

fn entry_files(bank: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(bank.join("videos")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'));
    files.sort();
    files
}

/// The clip score of a Y4M file through the C API (engine, session, push, finish).
fn c_api_score(bundle: &Path, clip: &Path) -> f64 {
    use std::ffi::CString;
    use vsrqa_capi::status::VsrqaStatus::VSRQA_OK;
    use vsrqa_capi::*;
    let mut reader =
        vsrqa_video::y4m::Y4mReader::new(std::io::BufReader::new(std::fs::File::open(clip).unwrap())).unwrap();
    let (w, h) = (reader.header.width as usize, reader.header.height as usize);
    let dir = CString::new(bundle.to_str().unwrap()).unwrap();
    let mut score = unsafe { std::mem::zeroed::<VsrqaClipScore>() };
    // SAFETY: every struct is initialized by its _default function with its own size, the bundle
    // path and the frame planes outlive the calls, and each handle is destroyed once.
    unsafe {
        let mut config = std::mem::zeroed::<VsrqaEngineConfig>();
        assert_eq!(vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()), VSRQA_OK);
        config.bundle_path = dir.as_ptr();
        let mut engine = std::ptr::null_mut();
        assert_eq!(vsrqa_engine_create(&config, &mut engine), VSRQA_OK);
        let mut session_config = std::mem::zeroed::<VsrqaSessionConfig>();
        assert_eq!(
            vsrqa_session_config_default(&mut session_config, std::mem::size_of::<VsrqaSessionConfig>()),
            VSRQA_OK
        );
        session_config.fps = 8.0;
        let mut session = std::ptr::null_mut();
        assert_eq!(vsrqa_session_create(engine, &session_config, &mut session), VSRQA_OK);
        let mut buffer = Vec::new();
        while reader.read_frame(&mut buffer).unwrap() {
            let mut frame = std::mem::zeroed::<VsrqaFrame>();
            assert_eq!(vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()), VSRQA_OK);
            frame.format = VSRQA_PIXEL_FORMAT_I420;
            frame.width = w as u32;
            frame.height = h as u32;
            frame.planes =
                [buffer.as_ptr().cast(), buffer[w * h..].as_ptr().cast(), buffer[w * h * 5 / 4..].as_ptr().cast()];
            frame.pitches = [w, w / 2, w / 2];
            assert_eq!(vsrqa_session_push(session, &frame), VSRQA_OK);
        }
        assert_eq!(vsrqa_clip_score_default(&mut score, std::mem::size_of::<VsrqaClipScore>()), VSRQA_OK);
        assert_eq!(vsrqa_session_finish(session, &mut score), VSRQA_OK);
        vsrqa_session_destroy(session);
        vsrqa_engine_destroy(engine);
    }
    score.score
}

#[test]
fn train_end_to_end_synthetic_videos_to_c_api() {
    let dir = tempfile::tempdir().unwrap();
    let rows = synthetic_dataset(dir.path(), 40, 7);
    let (list, bank, trained) = (dir.path().join("list.csv"), dir.path().join("bank"), dir.path().join("trained"));
    let tiny = data("tiny_bundle");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // The reference conversion, not the tiny bundle's own (exact): the trained bundle must take
    // the bank's, or scoring would see other frames than training did.
    let features = vsrqa(&[
        "features",
        "-m",
        &s(&tiny),
        "--list",
        &s(&list),
        "--out",
        &s(&bank),
        "--color-conversion",
        "reference",
    ]);
    assert!(features.status.success(), "{}", stderr(&features));
    assert!(stderr(&features).contains("40 extracted, 0 already there"), "{}", stderr(&features));
    assert_eq!(entry_files(&bank).len(), 40);

    // RQ-VQA's recipe except a larger learning rate: 1e-5 is for a head next to a fine-tuned
    // Swin-B on thousands of videos; this is 32 videos from a random start.
    let report = json(&vsrqa(&[
        "train",
        "--bank",
        &s(&bank),
        "-m",
        &s(&tiny),
        "--out",
        &s(&trained),
        "--lr",
        "1e-3",
        "--epochs",
        "60",
        "--batch-size",
        "8",
        "--seed",
        "1",
        "-q",
    ]));
    assert_eq!(report["videos"], 40);
    let validation: Vec<String> =
        report["validation"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!((report["train"].as_array().unwrap().len(), validation.len()), (32, 8));
    let best = report["best_validation"]["srcc"].as_f64().unwrap();
    assert!(best > 0.9, "validation SRCC after training: {best}");

    // The new manifest records the head as trained on this bank, with the metrics reported; the
    // branches keep the source's (random) origins, so the warning still names them, not the head.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(trained.join("vsrqa.json")).unwrap()).unwrap();
    let bank_info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bank.join("bank.json")).unwrap()).unwrap();
    let head = &written["provenance"]["head"];
    assert_eq!(head["source"], "trained");
    assert_eq!(head["bank_fingerprint"], bank_info["fingerprint"]);
    assert_eq!(
        (&written["color_conversion"], &bank_info["color_conversion"]),
        (&"reference".into(), &"reference".into())
    );
    assert_eq!((head["train_videos"].as_u64(), head["validation_videos"].as_u64()), (Some(32), Some(8)));
    for metric in ["srcc", "plcc", "krcc", "rmse"] {
        assert_eq!(head["validation_metrics"][metric], report["best_validation"][metric], "{metric}");
    }
    let source: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tiny.join("vsrqa.json")).unwrap()).unwrap();
    assert_eq!(written["provenance"]["branches"], source["provenance"]["branches"]);
    let warning = vsrqa::bundle::Bundle::load(&trained).unwrap().provenance_warning().unwrap();
    assert!(warning.contains("fastvqa networks have random weights") && !warning.contains("head"), "{warning}");

    // The validation videos, scored from the files by the untrained and the trained bundle.
    let validation_rows: Vec<(String, f64)> = rows.iter().filter(|(n, _)| validation.contains(n)).cloned().collect();
    let validation_list = dir.path().join("validation.csv");
    write_list(&validation_list, &validation_rows);
    let eval = |model: &Path| json(&vsrqa(&["eval", "-m", &s(model), "--list", &s(&validation_list), "-q"]));
    let before = eval(&tiny)["overall"]["srcc"].as_f64().unwrap();
    let after_report = eval(&trained);
    let after = after_report["overall"]["srcc"].as_f64().unwrap();
    assert!(before < 0.9 && after > 0.9, "validation SRCC: untrained {before}, trained {after}");
    // The engine's float32 head ranks the videos as training's float64 model did.
    assert!((after - best).abs() < 1e-9, "eval {after} vs train {best}");

    // Through the C API, the trained bundle gives the same scores as `vsrqa eval`.
    for video in after_report["videos"].as_array().unwrap() {
        let name = video["video"].as_str().unwrap();
        let c_score = c_api_score(&trained, &dir.path().join(name));
        let cli_score = video["prediction"].as_f64().unwrap();
        assert!((c_score - cli_score).abs() < 1e-12, "{name}: C API {c_score}, eval {cli_score}");
    }

    // From the bank, only the head runs: the same predictions.
    let from_bank = json(&vsrqa(&["eval", "-m", &s(&trained), "--list", &s(&validation_list), "--bank", &s(&bank)]));
    for (a, b) in from_bank["videos"].as_array().unwrap().iter().zip(after_report["videos"].as_array().unwrap()) {
        assert_eq!(a["video"], b["video"]);
        assert!((a["prediction"].as_f64().unwrap() - b["prediction"].as_f64().unwrap()).abs() < 1e-12);
    }
    assert_eq!(from_bank["source"], "bank");

    // The table, the groups and the plots.
    let table = vsrqa(&[
        "eval",
        "-m",
        &s(&trained),
        "--list",
        &s(&list),
        "--bank",
        &s(&bank),
        "--format",
        "text",
        "--plot",
        &s(&dir.path().join("scatter.png")),
    ]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    for label in ["group", "SRCC", "all                  40", "easy", "moderate", "hard"] {
        assert!(text.contains(label), "no '{label}' in:\n{text}");
    }
    assert!(std::fs::read(dir.path().join("scatter.png")).unwrap().starts_with(b"\x89PNG"));
    let svg = dir.path().join("scatter.svg");
    assert!(vsrqa(&["eval", "-m", &s(&trained), "--list", &s(&list), "--bank", &s(&bank), "--plot", &s(&svg)])
        .status
        .success());
    assert!(std::fs::read_to_string(&svg).unwrap().contains("predictions against MOS"));
    let grouped = json(&vsrqa(&["eval", "-m", &s(&trained), "--list", &s(&list), "--bank", &s(&bank)]));
    assert_eq!(grouped["groups"]["hard"]["videos"], 13);
    assert!(grouped["groups"]["easy"]["srcc"].as_f64().unwrap() > 0.5);
}

#[test]
fn train_features_resume_after_kill() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_dataset(dir.path(), 12, 3);
    let (list, bank) = (dir.path().join("list.csv"), dir.path().join("bank"));
    let tiny = data("tiny_bundle");
    let args = |out: &Path| {
        vec![
            "features".to_string(),
            "-m".into(),
            tiny.to_str().unwrap().into(),
            "--list".into(),
            list.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };

    // Killed (SIGKILL: no chance to clean up) once the first videos are in the bank.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(args(&bank))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while entry_files(&bank).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = entry_files(&bank);
    assert!(done_before.len() >= 2 && done_before.len() < 12, "{} entries when killed", done_before.len());
    let bytes_before: Vec<Vec<u8>> = done_before.iter().map(|p| std::fs::read(p).unwrap()).collect();
    // What an interrupted write leaves (the kill may have left one too).
    std::fs::write(bank.join("videos/.partial-1-leftover.safetensors"), b"half an entry").unwrap();

    let resumed = Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args(&bank)).output().unwrap();
    let log = stderr(&resumed);
    assert!(resumed.status.success(), "{log}");
    assert!(log.contains("partial file(s) of an interrupted run"), "{log}");
    let expected_summary = format!("{} extracted, {} already there", 12 - done_before.len(), done_before.len());
    assert!(log.contains(&expected_summary), "expected '{expected_summary}' in:\n{log}");
    // Finished entries were not touched.
    for (path, bytes) in done_before.iter().zip(&bytes_before) {
        assert!(&std::fs::read(path).unwrap() == bytes, "{} was rewritten", path.display());
    }
    assert!(!std::fs::read_dir(bank.join("videos"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with('.')));

    // The resumed bank equals one made in a single run: the same entries, features bit for bit
    // (the files' bytes may differ in the order of their metadata keys).
    let fresh = dir.path().join("fresh");
    assert!(Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args(&fresh)).output().unwrap().status.success());
    let open = |dir: &Path| vsrqa_train::bank::FeatureBank::open(dir).unwrap().entries().unwrap();
    let (resumed_entries, fresh_entries) = (open(&bank), open(&fresh));
    assert_eq!(resumed_entries.len(), 12);
    assert!(resumed_entries == fresh_entries, "the resumed bank differs from a single run's");
}

#[test]
fn train_features_report_failed_videos_and_retry_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = synthetic_dataset(dir.path(), 3, 5);
    std::fs::write(dir.path().join("garbage.mp4"), b"this is not a video").unwrap();
    rows.push(("missing.y4m".into(), 2.0));
    rows.push(("garbage.mp4".into(), 3.0));
    let list = dir.path().join("list.csv");
    write_list(&list, &rows);
    let bank = dir.path().join("bank");
    let tiny = data("tiny_bundle");
    let run = || {
        vsrqa(&[
            "features",
            "-m",
            tiny.to_str().unwrap(),
            "--list",
            list.to_str().unwrap(),
            "--out",
            bank.to_str().unwrap(),
        ])
    };

    let first = run();
    assert_eq!(first.status.code(), Some(1));
    let log = stderr(&first);
    assert!(log.contains("3 extracted, 0 already there, 0 relabeled, 2 failed"), "{log}");
    assert!(log.contains("missing.y4m: FAILED") && log.contains("garbage.mp4: FAILED"), "{log}");
    let errors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bank.join("errors.json")).unwrap()).unwrap();
    let failed = errors["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["video"], "missing.y4m");
    assert!(failed[0]["error"].as_str().unwrap().contains("missing.y4m"), "{}", failed[0]);
    assert_eq!(entry_files(&bank).len(), 3);

    // The missing file appears, one MOS changes, one entry gets damaged: a rerun does only that work.
    std::fs::copy(dir.path().join("clip000.y4m"), dir.path().join("missing.y4m")).unwrap();
    rows[1].1 = 4.5;
    write_list(&list, &rows);
    let damaged = vsrqa_train::bank::FeatureBank::open(&bank).unwrap().entry_path("clip002.y4m");
    let mut bytes = std::fs::read(&damaged).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let second = run();
    let log = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{log}");
    assert!(log.contains("extracting it again"), "{log}");
    assert!(log.contains("clip002.y4m: extracted"), "{log}");
    assert!(log.contains("2 extracted, 1 already there, 1 relabeled, 1 failed"), "{log}");
    assert!(log.contains("clip001.y4m: already in the bank, MOS/group updated"), "{log}");
    let errors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bank.join("errors.json")).unwrap()).unwrap();
    assert_eq!(errors["failed"].as_array().unwrap().len(), 1);
    let bank_view = vsrqa_train::bank::FeatureBank::open(&bank).unwrap();
    assert_eq!(bank_view.read("clip001.y4m").unwrap().unwrap().mos, 4.5);
    assert_eq!(bank_view.entries().unwrap().len(), 4);
}

#[test]
fn train_cli_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = data("tiny_bundle");
    let t = tiny.to_str().unwrap();
    let empty_bank = dir.path().join("nothing");
    // A bundle output needs the source bundle.
    let no_model =
        vsrqa(&["train", "--bank", empty_bank.to_str().unwrap(), "--out", dir.path().join("b").to_str().unwrap()]);
    assert_eq!(no_model.status.code(), Some(2));
    assert!(stderr(&no_model).contains("--model"), "{}", stderr(&no_model));
    // Never into a directory with files (e.g. the source bundle itself).
    let into_source = vsrqa(&["train", "--bank", empty_bank.to_str().unwrap(), "-m", t, "--out", t]);
    assert_eq!(into_source.status.code(), Some(2));
    assert!(stderr(&into_source).contains("not empty"));
    // Not a bank.
    let not_bank = vsrqa(&[
        "train",
        "--bank",
        empty_bank.to_str().unwrap(),
        "--out",
        dir.path().join("h.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(not_bank.status.code(), Some(1));
    assert!(stderr(&not_bank).contains("bank.json"), "{}", stderr(&not_bank));
    // A list with a bad MOS names the line; a plot needs a known image type.
    let list = dir.path().join("list.csv");
    std::fs::write(&list, "a.y4m,3\nb.y4m,good\n").unwrap();
    let bad_list = vsrqa(&["eval", "-m", t, "--list", list.to_str().unwrap()]);
    assert_eq!(bad_list.status.code(), Some(1));
    assert!(stderr(&bad_list).contains("line 2"), "{}", stderr(&bad_list));
    let bad_plot = vsrqa(&["eval", "-m", t, "--list", list.to_str().unwrap(), "--plot", "x.gif"]);
    assert_eq!(bad_plot.status.code(), Some(2));
}

/// `features`, `eval` and `compare` take `score`'s decoding options: a bank records the range
/// given over the files' tags, `eval --bank` asks for the same, and its predictions are the ones
/// `eval` and `compare` compute from the files with that range (not without it).
#[test]
fn train_commands_take_the_decoding_options_and_the_bank_records_them() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_dataset(dir.path(), 3, 11);
    let (list, bank) = (dir.path().join("list.csv"), dir.path().join("bank"));
    let (tiny, list_s, bank_s) = (data("tiny_bundle"), list.to_str().unwrap(), bank.to_str().unwrap());
    let t = tiny.to_str().unwrap();
    let full = ["--color-range", "full"];
    let made = vsrqa(&[&["features", "-m", t, "--list", list_s, "--out", bank_s, "-q"][..], &full].concat());
    assert!(made.status.success(), "{}", stderr(&made));
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bank.join("bank.json")).unwrap()).unwrap();
    assert_eq!(info["color_range"], "full");

    let predictions = |report: &serde_json::Value, key: &str| -> Vec<f64> {
        report["videos"].as_array().unwrap().iter().map(|v| v[key].as_f64().unwrap()).collect()
    };
    let eval = |extra: &[&str]| vsrqa(&[&["eval", "-m", t, "--list", list_s, "-q"][..], extra].concat());
    let from_bank = predictions(&json(&eval(&[&["--bank", bank_s][..], &full].concat())), "prediction");
    let from_files = predictions(&json(&eval(&full)), "prediction");
    let untagged = predictions(&json(&eval(&[])), "prediction");
    assert_eq!(from_bank, from_files);
    assert_ne!(from_files, untagged);
    let compared = json(&vsrqa(&[&["compare", "-m", t, "-m", t, "--list", list_s, "-q"][..], &full].concat()));
    assert_eq!(predictions(&compared, "score_a"), from_files);

    // The bank without the range it was extracted with: refused, saying both.
    let other = eval(&["--bank", bank_s]);
    assert_eq!(other.status.code(), Some(1));
    assert!(stderr(&other).contains("range full"), "{}", stderr(&other));
    // Resuming the bank with another range is refused too.
    let resumed = vsrqa(&["features", "-m", t, "--list", list_s, "--out", bank_s, "-q"]);
    assert_eq!(resumed.status.code(), Some(1), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains("the exact conversion, range full"), "{}", stderr(&resumed));
    // A matrix under the reference conversion, and unknown names, are usage errors.
    for bad in [&["--color-conversion", "reference", "--color-matrix", "bt709"][..], &["--color-range", "studio"]] {
        let run = vsrqa(&[&["features", "-m", t, "--list", list_s, "--out", bank_s][..], bad].concat());
        assert_eq!(run.status.code(), Some(2), "{bad:?}: {}", stderr(&run));
    }
}

/// The tiny bundle's feature bank of `list` in `out`, in one run.
fn make_bank(list: &Path, out: &Path) {
    let (tiny, list, out) = (data("tiny_bundle"), list.to_str().unwrap(), out.to_str().unwrap());
    let made = vsrqa(&["features", "-m", tiny.to_str().unwrap(), "--list", list, "--out", out, "-q"]);
    assert!(made.status.success(), "{}", stderr(&made));
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string()
}

/// A feature bank on a real full disk (a 32 KiB tmpfs: the bank's description and one entry fit):
/// the run stops at the first entry that does not fit (the later videos are not extracted for
/// nothing), says so, leaves no partial file and keeps the entries that fit; after space is freed
/// the same command finishes the bank, and it equals a bank made in one run.
#[test]
fn full_disk_feature_bank_stops_and_resumes_after_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let count = 6;
    synthetic_dataset(dir.path(), count, 5);
    let (mount_point, out) = (dir.path().join("small"), dir.path().join("out"));
    std::fs::create_dir_all(&mount_point).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
        features() { "$VSRQA" features -m "$MODEL" --list "$LIST" --out "$FS/bank" 2> "$OUT/$1.err"; echo $? > "$OUT/$1.rc"; cp -a "$FS/." "$OUT/$1"; }
        features first
        mount -o remount,size=4m "$FS"
        features second
    "#;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_vsrqa"));
    let output = small_filesystem::run_script(
        &mount_point,
        32,
        script,
        &[("VSRQA", &binary), ("MODEL", &data("tiny_bundle")), ("LIST", &dir.path().join("list.csv")), ("OUT", &out)],
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let first_log = read_trimmed(&out.join("first.err"));
    assert_eq!(read_trimmed(&out.join("first.rc")), "1", "{first_log}");
    let kept = entry_files(&out.join("first/bank"));
    assert!(!kept.is_empty() && kept.len() < count, "{} entries fit on the small disk", kept.len());
    assert!(first_log.contains("the disk is full") && first_log.contains("stopping"), "{first_log}");
    assert!(first_log.contains("Free some space and run the same command again"), "{first_log}");
    // Progress lines: the videos that fit, the one that did not, none after it.
    let progress_lines = first_log.lines().filter(|l| l.starts_with('[')).count();
    assert_eq!(progress_lines, kept.len() + 1, "{first_log}");
    assert_eq!(small_filesystem::temporaries(&out.join("first")), Vec::<String>::new());

    let second_log = read_trimmed(&out.join("second.err"));
    assert_eq!(read_trimmed(&out.join("second.rc")), "0", "{second_log}");
    let summary = format!("{} extracted, {} already there", count - kept.len(), kept.len());
    assert!(second_log.contains(&summary), "expected '{summary}' in:\n{second_log}");
    for path in &kept {
        let again = out.join("second/bank/videos").join(path.file_name().unwrap());
        assert!(std::fs::read(path).unwrap() == std::fs::read(again).unwrap(), "{} was rewritten", path.display());
    }
    assert_eq!(small_filesystem::temporaries(&out.join("second")), Vec::<String>::new());

    let fresh = dir.path().join("fresh");
    make_bank(&dir.path().join("list.csv"), &fresh);
    let open = |dir: &Path| vsrqa_train::bank::FeatureBank::open(dir).unwrap().entries().unwrap();
    assert!(open(&out.join("second/bank")) == open(&fresh), "the resumed bank differs from a single run's");
}

/// `vsrqa train` onto a real full disk (a tmpfs filled up to its last byte): both outputs, the head
/// file and a whole bundle, fail with a clear error and leave nothing under their names and no
/// temporaries; with the space freed the same commands write them.
#[test]
fn full_disk_train_outputs_are_never_half_written() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_dataset(dir.path(), 15, 6);
    let bank = dir.path().join("bank");
    make_bank(&dir.path().join("list.csv"), &bank);
    let (mount_point, out) = (dir.path().join("small"), dir.path().join("out"));
    std::fs::create_dir_all(&mount_point).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
        train() { "$VSRQA" train --bank "$BANK" --epochs 3 -q "$@" > /dev/null; }
        both() {
            train -o "$FS/head.safetensors" 2> "$OUT/$1-head.err"; echo $? > "$OUT/$1-head.rc"
            train -m "$MODEL" -o "$FS/bundle" 2> "$OUT/$1-bundle.err"; echo $? > "$OUT/$1-bundle.rc"
            mkdir "$OUT/$1"; cp -a "$FS/." "$OUT/$1"
        }
        cat /dev/zero > "$FS/filler" 2> /dev/null
        both full
        rm "$FS/filler"
        both freed
    "#;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_vsrqa"));
    let output = small_filesystem::run_script(
        &mount_point,
        8192,
        script,
        &[("VSRQA", &binary), ("MODEL", &data("tiny_bundle")), ("BANK", &bank), ("OUT", &out)],
    );
    assert!(output.status.success(), "{}", stderr(&output));

    for what in ["head", "bundle"] {
        let log = read_trimmed(&out.join(format!("full-{what}.err")));
        assert_eq!(read_trimmed(&out.join(format!("full-{what}.rc"))), "1", "{what}: {log}");
        assert!(log.contains("No space left on device"), "{what}: {log}");
        assert_eq!(read_trimmed(&out.join(format!("freed-{what}.rc"))), "0", "{what}");
    }
    let full: Vec<String> = std::fs::read_dir(out.join("full"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(full, vec!["filler".to_string()], "left on the full disk");
    // The same seed trains the same head: the head file is the new bundle's, byte for byte.
    let bundle = vsrqa::bundle::Bundle::load(out.join("freed/bundle")).unwrap();
    let bundle_head = std::fs::read(bundle.dir.join(&bundle.manifest.head.weights)).unwrap();
    assert!(std::fs::read(out.join("freed/head.safetensors")).unwrap() == bundle_head);
    assert_eq!(small_filesystem::temporaries(&out.join("freed")), Vec::<String>::new());
}
