//! The `vsrqa` binary: JSON output, raw and Y4M input, exit codes and error messages.

use std::process::{Command, Output};

use vsrqa_testkit::data;

fn vsrqa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vsrqa")).args(args).output().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn info_describes_the_bundle() {
    let bundle = data("tiny_bundle");
    let report = json(&vsrqa(&["info", "--model", bundle.to_str().unwrap(), "--json", "--check"]));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("vsrqa.json")).unwrap()).unwrap();
    let dims: u64 = manifest["branches"].as_array().unwrap().iter().map(|b| b["output_dim"].as_u64().unwrap()).sum();
    assert_eq!(report["feature_dim"], dims);
    assert_eq!(report["branches"][0]["name"], "spatial");
    assert_eq!(report["branches"][1]["frames_per_sample"], 8);
    assert_eq!(report["branches"][1]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report["networks_checked_on_cpu"], true);
    let backends = report["backends"].as_array().unwrap();
    assert!(backends.iter().any(|b| b["name"] == "cpu" && b["available"] == true));
    assert!(backends.iter().any(|b| b["name"] == "tensorrt" && b["reason"].is_string()));

    let text = vsrqa(&["info", "-m", bundle.to_str().unwrap()]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("slowfast"));
}

/// `info` lists an ensemble's members with their own files, `score --members` runs some of them,
/// `features` refuses an ensemble.
#[test]
fn info_lists_an_ensembles_members() {
    let dir = vsrqa_testkit::copy_of(&data("tiny_bundle"));
    std::fs::copy(dir.path().join("spatial.onnx"), dir.path().join("spatial_b.onnx")).unwrap();
    let manifest_path = dir.path().join("vsrqa.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["members"] = serde_json::json!([
        { "name": "a" },
        { "name": "b", "networks": { "spatial": { "network": "spatial_b.onnx" } } },
    ]);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let model = dir.path().to_str().unwrap();

    let report = json(&vsrqa(&["info", "--model", model, "--json"]));
    let members = report["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!((&members[0]["name"], &members[1]["name"]), (&"a".into(), &"b".into()));
    assert!(members[0]["networks"].as_object().unwrap().is_empty());
    let own = members[1]["networks"]["spatial"]["path"].as_str().unwrap();
    assert!(own.ends_with("spatial_b.onnx"), "{own}");
    assert_eq!(members[1]["head_weights"], "head.safetensors");
    let text = vsrqa(&["info", "-m", model]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("ensemble of 2 members"), "{}", stderr(&text));

    // --members: member a alone is the plain bundle; an unknown member is refused, naming them.
    let sample = data("sample.y4m");
    let plain = json(&vsrqa(&["score", "-m", data("tiny_bundle").to_str().unwrap(), sample.to_str().unwrap()]));
    let only_a = json(&vsrqa(&["score", "-m", model, "--members", "a", sample.to_str().unwrap()]));
    assert_eq!(only_a["clip_score"], plain["clip_score"]);
    let both = json(&vsrqa(&["score", "-m", model, "--members", "b,a", sample.to_str().unwrap()]));
    assert_eq!(both["clip_score"], plain["clip_score"], "b runs a copy of the same network and head");
    // Each member's score, named, in the bundle's order whatever the order chosen, and their spread.
    assert_eq!(both["model"]["members"], serde_json::json!(["a", "b"]));
    let scores = both["member_scores"].as_array().unwrap();
    assert_eq!((&scores[0]["member"], &scores[1]["member"]), (&"a".into(), &"b".into()));
    assert_eq!((&scores[0]["clip_score"], &scores[1]["clip_score"]), (&plain["clip_score"], &plain["clip_score"]));
    assert_eq!(both["member_spread"], 0.0);
    assert!(plain.get("member_scores").is_none() && plain["model"].get("members").is_none());
    let windowed = json(&vsrqa(&["score", "-m", model, "--window", "0.5", sample.to_str().unwrap()]));
    let windows = windowed["windows"].as_array().unwrap();
    assert!(windows.len() > 1, "{windowed}");
    assert_eq!(windows[0]["member_scores"], serde_json::json!([windows[0]["score"], windows[0]["score"]]));
    assert_eq!(windowed["member_scores"][1]["clip_score"], windowed["clip_score"]);
    let text = vsrqa(&["score", "-m", model, "--format", "text", sample.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let clip = format!("{:.4}", plain["clip_score"].as_f64().unwrap());
    assert!(text.contains(&format!("members      a {clip}, b {clip}   (spread 0.0000)")), "{text}");
    let unknown = vsrqa(&["score", "-m", model, "--members", "c", sample.to_str().unwrap()]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no member 'c' (its members: a, b)"), "{}", stderr(&unknown));

    let list = dir.path().join("list.csv");
    std::fs::write(&list, format!("path,mos\n{},3.5\n", data("sample.y4m").display())).unwrap();
    let bank = dir.path().join("bank");
    let features =
        vsrqa(&["features", "-m", model, "--list", list.to_str().unwrap(), "--out", bank.to_str().unwrap(), "-q"]);
    assert!(!features.status.success());
    assert!(stderr(&features).contains("ensemble of 2 members"), "{}", stderr(&features));
}

#[test]
fn info_takes_the_backend_a_bundles_precision_needs() {
    // int8_dynamic networks run on ONNX Runtime only: `auto` takes it, says why, and --check
    // loads the networks there rather than on the CPU backend, which refuses them.
    let bundle = data("tiny_bundle_int8_dynamic");
    let report = json(&vsrqa(&["info", "--model", bundle.to_str().unwrap(), "--json", "--check"]));
    assert_eq!(report["branches"][0]["precision"], "int8_dynamic");
    assert_eq!(report["auto_backend"], "onnxruntime");
    let reason = report["auto_reason"].as_str().unwrap();
    assert!(reason.contains("branch 'spatial' is int8_dynamic"), "{reason}");
    assert_eq!(report["networks_checked_on"], "onnxruntime");
    assert_eq!(report["networks_checked_on_cpu"], false);
}

#[test]
fn info_shows_where_the_weights_came_from() {
    let tiny = data("tiny_bundle");
    let report = json(&vsrqa(&["info", "-m", tiny.to_str().unwrap(), "--json"]));
    for branch in report["branches"].as_array().unwrap() {
        assert_eq!(branch["provenance"], serde_json::json!({ "source": "random" }), "{branch}");
    }
    assert_eq!(report["head"]["provenance"]["source"], "random");
    let warning = report["provenance_warning"].as_str().unwrap();
    assert!(warning.contains("networks and the head have random weights"), "{warning}");

    // A copy whose spatial network records a checkpoint, whose head was trained and whose
    // fastvqa network records nothing.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&tiny).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let manifest_path = dir.path().join("vsrqa.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let provenance = &mut manifest["provenance"];
    provenance["branches"]["spatial"] =
        serde_json::json!({ "source": "checkpoint", "file": "RQ-VQA.pth", "sha256": "0123456789abcdef".repeat(4) });
    provenance["branches"].as_object_mut().unwrap().remove("fastvqa");
    provenance["head"] = serde_json::json!({ "source": "trained", "bank_fingerprint": "fedcba9876543210".repeat(4),
                                             "train_videos": 32, "validation_videos": 8,
                                             "validation_metrics": { "srcc": 0.9312 } });
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let model = dir.path().to_str().unwrap();
    let report = json(&vsrqa(&["info", "-m", model, "--json"]));
    assert_eq!(report["branches"][0]["provenance"]["file"], "RQ-VQA.pth");
    assert_eq!(report["branches"][4]["provenance"], serde_json::Value::Null);
    assert_eq!(report["head"]["provenance"]["validation_metrics"]["srcc"], 0.9312);

    let text = vsrqa(&["info", "-m", model]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    for line in [
        "  spatial    checkpoint RQ-VQA.pth (sha256 0123456789ab)",
        "  slowfast   random",
        "  fastvqa    not recorded",
        "  head       trained on feature bank fedcba987654 (32 training and 8 validation videos; validation srcc 0.9312)",
        "warning  bundle 'tiny-full': the slowfast, qalign and liqe networks have random weights, and the fastvqa \
         network does not record where its weights came from: its scores say nothing about quality",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
}

#[test]
fn score_y4m_matches_the_golden_scores() {
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/tiny_sample.json")).unwrap()).unwrap();
    let report = json(&vsrqa(&[
        "score",
        "--backend",
        "cpu",
        "-m",
        data("tiny_bundle").to_str().unwrap(),
        data("sample.y4m").to_str().unwrap(),
    ]));
    // Same tolerance as tests/golden_tiny.rs (tract vs PyTorch f32 sums).
    let clip = report["clip_score"].as_f64().unwrap();
    assert!((clip - golden["clip_score"].as_f64().unwrap()).abs() < 1e-6);
    assert_eq!(report["frames"], 20);
    assert_eq!(report["key_frames"], 3);
    let frames = report["frame_scores"].as_array().unwrap();
    assert_eq!(frames.iter().map(|f| f["frame_index"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 8, 16]);
    for (got, expected) in frames.iter().zip(golden["frame_scores"].as_array().unwrap()) {
        assert!((got["score"].as_f64().unwrap() - expected.as_f64().unwrap()).abs() < 1e-6);
    }
    assert_eq!(report["input"]["container"], "y4m");
    assert_eq!(report["backend"], "cpu");
}

#[test]
fn score_raw_frames_gives_the_y4m_result() {
    // Strip the Y4M framing to get raw yuv420p.
    let y4m = std::fs::read(data("sample.y4m")).unwrap();
    let header_end = y4m.iter().position(|&b| b == b'\n').unwrap() + 1;
    let frame_len = 112 * 80 * 3 / 2;
    let mut raw = Vec::new();
    let mut pos = header_end;
    while pos < y4m.len() {
        pos += "FRAME\n".len();
        raw.extend_from_slice(&y4m[pos..pos + frame_len]);
        pos += frame_len;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("sample.yuv");
    std::fs::write(&raw_path, &raw).unwrap();
    let bundle = data("tiny_bundle");
    let from_raw = json(&vsrqa(&[
        "score",
        "-m",
        bundle.to_str().unwrap(),
        "--pix-fmt",
        "yuv420p",
        "--size",
        "112x80",
        "--fps",
        "8",
        raw_path.to_str().unwrap(),
    ]));
    let from_y4m = json(&vsrqa(&["score", "-m", bundle.to_str().unwrap(), data("sample.y4m").to_str().unwrap()]));
    assert_eq!(from_raw["clip_score"], from_y4m["clip_score"]);
    assert_eq!(from_raw["frame_scores"], from_y4m["frame_scores"]);

    // A raw file that ends inside a frame is an error naming the frame.
    std::fs::write(&raw_path, &raw[..raw.len() - 10]).unwrap();
    let truncated = vsrqa(&[
        "score",
        "-m",
        bundle.to_str().unwrap(),
        "--pix-fmt",
        "yuv420p",
        "--size",
        "112x80",
        "--fps",
        "8",
        raw_path.to_str().unwrap(),
    ]);
    assert_eq!(truncated.status.code(), Some(1));
    assert!(stderr(&truncated).contains("frame 19 is truncated"), "{}", stderr(&truncated));
    // The 19 complete frames are still scored, and the report says it is partial.
    let partial: serde_json::Value = serde_json::from_slice(&truncated.stdout).unwrap();
    assert_eq!(partial["partial"], true);
    assert_eq!(partial["frames"], 19);
    assert!(partial["error"].as_str().unwrap().contains("frame 19 is truncated"));
    assert_eq!(partial["frame_scores"].as_array().unwrap().len(), 3);
}

/// A named pipe is read once, as a stream: nothing else may open it again (a second reader takes
/// bytes from the frames). The writer is this test, so the command can only finish by reading it.
#[test]
fn score_reads_a_named_pipe_like_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("clip.y4m");
    let path = std::ffi::CString::new(pipe.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    let sample = std::fs::read(data("sample.y4m")).unwrap();
    let writer = std::thread::spawn({
        let pipe = pipe.clone();
        move || std::io::Write::write_all(&mut std::fs::File::create(pipe).unwrap(), &sample)
    });
    let bundle = data("tiny_bundle");
    let through_the_pipe = json(&vsrqa(&["score", "-m", bundle.to_str().unwrap(), pipe.to_str().unwrap()]));
    writer.join().unwrap().unwrap();
    let from_the_file = json(&vsrqa(&["score", "-m", bundle.to_str().unwrap(), data("sample.y4m").to_str().unwrap()]));
    assert_eq!(through_the_pipe["partial"], false, "{through_the_pipe}");
    assert_eq!(through_the_pipe["frames"], from_the_file["frames"]);
    assert_eq!(through_the_pipe["frame_scores"], from_the_file["frame_scores"]);
    assert_eq!(through_the_pipe["clip_score"], from_the_file["clip_score"]);
}

#[test]
fn usage_errors_exit_with_2_and_say_what_is_missing() {
    let bundle = data("tiny_bundle");
    // Not Y4M and no raw options: FFmpeg tries it, and the error (an input error, 1) points at them.
    let not_a_video =
        vsrqa(&["score", "-m", bundle.to_str().unwrap(), data("tiny_bundle/head.safetensors").to_str().unwrap()]);
    assert_eq!(not_a_video.status.code(), Some(1));
    assert!(stderr(&not_a_video).contains("not a video FFmpeg can read"), "{}", stderr(&not_a_video));
    assert!(stderr(&not_a_video).contains("--pix-fmt"));
    // Some raw options but not all: a usage error.
    let raw_without_format = vsrqa(&[
        "score",
        "-m",
        bundle.to_str().unwrap(),
        "--size",
        "8x8",
        data("tiny_bundle/head.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(raw_without_format.status.code(), Some(2));
    assert!(stderr(&raw_without_format).contains("--pix-fmt"));

    let bad_format = vsrqa(&[
        "score",
        "-m",
        bundle.to_str().unwrap(),
        "--pix-fmt",
        "yuv444p",
        "--size",
        "8x8",
        "--fps",
        "8",
        "x.yuv",
    ]);
    assert_eq!(bad_format.status.code(), Some(2));
    // The message names the value and every format the core's table has.
    assert!(stderr(&bad_format).contains("'yuv444p'"), "{}", stderr(&bad_format));
    for format in vsrqa::frame::PixelFormat::ALL {
        assert!(stderr(&bad_format).contains(format.name()), "{format}: {}", stderr(&bad_format));
    }

    let bad_backend =
        vsrqa(&["score", "-m", bundle.to_str().unwrap(), "--backend", "gpu", data("sample.y4m").to_str().unwrap()]);
    assert_eq!(bad_backend.status.code(), Some(2));

    let no_args = vsrqa(&["score"]);
    assert_eq!(no_args.status.code(), Some(2));
}

#[test]
fn failures_exit_with_1_and_name_the_cause() {
    let missing = vsrqa(&["score", "-m", "/nonexistent/bundle", data("sample.y4m").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/nonexistent/bundle"));
    assert!(stderr(&missing).contains("does not exist"));

    let no_input = vsrqa(&["score", "-m", data("tiny_bundle").to_str().unwrap(), "/nonexistent/clip.y4m"]);
    assert_eq!(no_input.status.code(), Some(1));
    assert!(stderr(&no_input).contains("cannot open"));
    // The report still says which file failed and why.
    let report: serde_json::Value = serde_json::from_slice(&no_input.stdout).unwrap();
    assert_eq!(report["input"]["path"], "/nonexistent/clip.y4m");
    assert!(report["error"].as_str().unwrap().contains("/nonexistent/clip.y4m: cannot open"));

    let tensorrt = vsrqa(&[
        "score",
        "-m",
        data("tiny_bundle").to_str().unwrap(),
        "--backend",
        "tensorrt",
        data("sample.y4m").to_str().unwrap(),
    ]);
    assert_eq!(tensorrt.status.code(), Some(1));
    assert!(stderr(&tensorrt).contains("backend unavailable"));
}

#[test]
fn bench_reports_stages_latency_and_memory() {
    let (bundle, clip) = (data("tiny_bundle"), data("sample.y4m"));
    let (b, c) = (bundle.to_str().unwrap(), clip.to_str().unwrap());
    let report = json(&vsrqa(&["bench", "-m", b, c, "--repeat", "2", "--threads", "1"]));
    assert_eq!(report["clip"]["frames"], 20);
    assert_eq!(report["runs_seconds"].as_array().unwrap().len(), 2);
    assert_eq!(report["cuda_graphs"], false);
    // The machine as a timing depends on it: its CPU's kernel features and load; no ONNX Runtime
    // on the CPU backend.
    let machine = &report["machine"];
    let flags = machine["cpu_kernel_flags"].as_array().unwrap();
    assert!(flags
        .iter()
        .all(|f| f.as_str().is_some_and(|f| f.starts_with("avx") || f.starts_with("amx") || f == "fma")));
    if cfg!(target_arch = "x86_64") {
        assert!(flags.contains(&serde_json::json!("avx2")), "{machine}");
    }
    assert_eq!(machine["load_average"].as_array().unwrap().len(), 3, "{machine}");
    assert!(report["onnxruntime_library"].is_null());
    let branches = report["stages"]["branches"].as_array().unwrap();
    let runs: Vec<(String, u64)> = branches
        .iter()
        .map(|b| (b["name"].as_str().unwrap().to_string(), b["network_calls"].as_u64().unwrap()))
        .collect();
    let expected = [("spatial", 3), ("slowfast", 2), ("qalign", 3), ("liqe", 3), ("fastvqa", 1)];
    assert_eq!(runs, expected.map(|(n, c)| (n.to_string(), c)).to_vec());
    // The median run's stages fit in its total.
    let total = report["clip_score_seconds"].as_f64().unwrap();
    let stages: f64 = branches
        .iter()
        .map(|b| b["preprocess_seconds"].as_f64().unwrap() + b["network_seconds"].as_f64().unwrap())
        .sum::<f64>()
        + report["stages"]["convert"]["seconds"].as_f64().unwrap();
    assert!(stages > 0.0 && stages <= total, "stages {stages} s, total {total} s");
    let s = &report["streaming"];
    let ms = |k: &str| s[k].as_f64().unwrap();
    assert!(ms("push_ms_p50") <= ms("push_ms_p95") && ms("push_ms_p95") <= ms("push_ms_max"));
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > report["frames_bytes"].as_u64().unwrap());
    // The benchmarked score is the real one (bench's default backend is the CPU's).
    let scored = json(&vsrqa(&["score", "--backend", "cpu", "-m", b, c]));
    assert_eq!(report["score"], scored["clip_score"]);
    // Non-blocking, at the clip's frame rate: the same score.
    let background = json(&vsrqa(&["bench", "-m", b, c, "--repeat", "1", "--queue-frames", "4", "--realtime"]));
    assert_eq!((background["queue_frames"].as_u64(), background["realtime"].as_bool()), (Some(4), Some(true)));
    assert_eq!(background["score"], scored["clip_score"]);
    // ONNX Runtime: loaded twice through a graph cache of the bench's own, the second time from
    // the optimized graphs the first wrote; the CPU backend has no such second load.
    assert!(report["engine_load_cached_graphs_seconds"].is_null(), "{report}");
    let ort = json(&vsrqa(&["bench", "-m", b, c, "--repeat", "1", "--backend", "onnxruntime"]));
    assert!(ort["engine_load_cached_graphs_seconds"].as_f64().is_some_and(|s| s > 0.0), "{ort}");
    let ort_scored = json(&vsrqa(&["score", "--backend", "onnxruntime", "-m", b, c]));
    assert_eq!(ort["score"], ort_scored["clip_score"]);
    assert_eq!(vsrqa(&["bench", "-m", b, c, "--repeat", "0"]).status.code(), Some(2));
    // The decoding options `score` takes, with the same meaning.
    let full =
        json(&vsrqa(&["bench", "-m", b, c, "--repeat", "1", "--color-range", "full", "--color-matrix", "bt709"]));
    let scored_full =
        json(&vsrqa(&["score", "--backend", "cpu", "-m", b, c, "--color-range", "full", "--color-matrix", "bt709"]));
    assert_eq!((&full["color_range"], &full["color_matrix"]), (&"full".into(), &"bt709".into()));
    assert_eq!(full["score"], scored_full["clip_score"]);
    assert_ne!(full["score"], report["score"]);
    let reference = vsrqa(&["bench", "-m", b, c, "--color-conversion", "reference", "--color-matrix", "bt709"]);
    assert_eq!(reference.status.code(), Some(2), "{}", stderr(&reference));
}

#[test]
fn onnxruntime_backend_unavailable_is_explained() {
    let (bundle, clip) = (data("tiny_bundle"), data("sample.y4m"));
    let output = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["score", "-m", bundle.to_str().unwrap(), clip.to_str().unwrap(), "--backend", "onnxruntime"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("/nonexistent/libonnxruntime.so") && message.contains("ORT_DYLIB_PATH"), "{message}");
    // `info` names it among the backends, with the same reason.
    let info = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["info", "-m", bundle.to_str().unwrap(), "--json"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    let report = json(&info);
    let backends = report["backends"].as_array().unwrap();
    assert!(backends
        .iter()
        .any(|b| b["name"] == "onnxruntime" && b["reason"].as_str().unwrap().contains("ORT_DYLIB_PATH")));
}

#[test]
fn onnxruntime_is_found_in_the_users_cache_without_the_environment_variable() {
    // The layout scripts/onnxruntime-lib.sh unpacks: the newest version is taken (1.32.0 over
    // 1.9.0, whose file is no library: taking it would make the backend unavailable).
    let real = std::env::var("ORT_DYLIB_PATH").expect("scripts/test.sh sets ORT_DYLIB_PATH");
    let cache = tempfile::tempdir().unwrap();
    let newest = cache.path().join("vsrqa/onnxruntime-1.32.0/onnxruntime/capi");
    let older = cache.path().join("vsrqa/onnxruntime-1.9.0/onnxruntime/capi");
    std::fs::create_dir_all(&newest).unwrap();
    std::fs::create_dir_all(&older).unwrap();
    std::os::unix::fs::symlink(&real, newest.join("libonnxruntime.so.1.32.0")).unwrap();
    std::fs::write(older.join("libonnxruntime.so.1.9.0"), b"not a library").unwrap();
    std::fs::create_dir_all(cache.path().join("vsrqa/onnxruntime-latest/onnxruntime/capi")).unwrap();

    let (bundle, clip) = (data("tiny_bundle"), data("sample.y4m"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vsrqa"))
            .args(args)
            .env_remove("ORT_DYLIB_PATH")
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap()
    };
    let report = json(&run(&["info", "-m", bundle.to_str().unwrap(), "--json"]));
    let ort = report["backends"].as_array().unwrap().iter().find(|b| b["name"] == "onnxruntime").unwrap().clone();
    assert_eq!(ort["available"], true, "{ort}");
    assert_eq!(ort["library"], newest.join("libonnxruntime.so.1.32.0").to_str().unwrap());
    let scored =
        json(&run(&["score", "-m", bundle.to_str().unwrap(), clip.to_str().unwrap(), "--backend", "onnxruntime"]));
    assert_eq!(scored["backend"], "onnxruntime");
}

#[test]
fn onnxruntime_backend_scores_like_the_cpu_backend() {
    // ORT_DYLIB_PATH comes from scripts/test.sh (CI installs the library).
    let (bundle, clip) = (data("tiny_bundle"), data("sample.y4m"));
    let (b, c) = (bundle.to_str().unwrap(), clip.to_str().unwrap());
    let cpu = json(&vsrqa(&["score", "-m", b, c, "--backend", "cpu"]));
    let ort = json(&vsrqa(&["score", "-m", b, c, "--backend", "onnxruntime"]));
    assert_eq!(ort["backend"], "onnxruntime");
    let (x, y) = (cpu["clip_score"].as_f64().unwrap(), ort["clip_score"].as_f64().unwrap());
    assert!((x - y).abs() < 1e-6, "cpu {x}, onnxruntime {y}");
}

#[test]
fn info_says_why_the_gpu_path_is_unavailable() {
    // TensorRT-RTX's real library (scripts/test.sh: VSRQA_TEST_TENSORRT_RTX), found through the
    // variable users set; the machines CI runs on have no NVIDIA driver.
    let rtx = std::env::var("VSRQA_TEST_TENSORRT_RTX").expect("VSRQA_TEST_TENSORRT_RTX: run scripts/test.sh");
    let bundle = data("tiny_bundle");
    let info = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["info", "-m", bundle.to_str().unwrap(), "--json"])
        .env("VSRQA_TENSORRT_LIBRARY", &rtx)
        .output()
        .unwrap();
    let report = json(&info);
    let library = &report["gpu"]["tensorrt_library"];
    assert_eq!(library["found"], true, "{library}");
    assert!(library["description"].as_str().unwrap().starts_with("TensorRT-RTX 1."), "{library}");
    let devices = &report["gpu"]["devices"];
    let has_gpu = !devices["found"].as_array().unwrap().is_empty();
    if !has_gpu {
        assert!(devices["reason"].as_str().unwrap().contains("NVIDIA driver"), "{devices}");
    }
    let tensorrt = report["backends"].as_array().unwrap().iter().find(|b| b["name"] == "tensorrt").unwrap();
    assert_eq!(tensorrt["available"], false);
    // Without a GPU, `auto` is ONNX Runtime where its library loads (scripts/test.sh sets
    // ORT_DYLIB_PATH), and info says why.
    let onnxruntime = std::env::var_os("ORT_DYLIB_PATH").is_some();
    let expected = if onnxruntime { "onnxruntime" } else { "cpu" };
    assert!(has_gpu || report["auto_backend"] == expected, "{}", report["auto_backend"]);
    assert!(report["auto_reason"].as_str().unwrap().starts_with("auto: "), "{}", report["auto_reason"]);
    let reason = tensorrt["reason"].as_str().unwrap();
    assert!(reason.contains("TensorRT-RTX 1."), "{reason}");
    // Which headers the runner is compiled against, if there is one.
    let compiled = &report["gpu"]["tensorrt_runner"];
    if cfg!(feature = "tensorrt-rtx") {
        assert!(compiled["headers"].as_str().unwrap().starts_with("TensorRT-RTX 1."), "{compiled}");
        assert_eq!(compiled["drives"], "TensorRT-RTX 1.x");
    } else if cfg!(feature = "tensorrt") {
        assert!(compiled["drives"] == "TensorRT 10.x" || compiled["drives"] == "TensorRT 11.x", "{compiled}");
    } else {
        assert!(compiled.is_null(), "{compiled}");
    }
    let runner = if cfg!(any(feature = "tensorrt-rtx", feature = "tensorrt")) {
        "has the TensorRT runner"
    } else {
        "has no TensorRT runner"
    };
    assert!(reason.contains(runner), "{reason}");
    if cfg!(feature = "tensorrt") {
        // The runner for TensorRT 10/11 names the headers it cannot drive TensorRT-RTX with.
        assert!(reason.contains("found, but this build's TensorRT facade is compiled against TensorRT 1"), "{reason}");
    }
    assert!(has_gpu || reason.contains("NVIDIA driver"), "{reason}");

    // A wrong path is named, with the variable, in the text report and in the refusal to run.
    let missing = "/nonexistent/libtensorrt_rtx.so.1";
    let text = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["info", "-m", bundle.to_str().unwrap()])
        .env("VSRQA_TENSORRT_LIBRARY", missing)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains(&format!("tensorrt none: VSRQA_TENSORRT_LIBRARY: cannot open {missing}")), "{out}");
    let runner_line = if cfg!(any(feature = "tensorrt-rtx", feature = "tensorrt")) {
        "runner   compiled against TensorRT"
    } else {
        "runner   none (built without the `tensorrt-rtx` or `tensorrt` feature)"
    };
    assert!(out.contains(runner_line), "{out}");
    let score = Command::new(env!("CARGO_BIN_EXE_vsrqa"))
        .args(["score", "-m", bundle.to_str().unwrap(), data("sample.y4m").to_str().unwrap(), "--backend", "tensorrt"])
        .env("VSRQA_TENSORRT_LIBRARY", missing)
        .output()
        .unwrap();
    assert_eq!(score.status.code(), Some(1));
    assert!(stderr(&score).contains(missing), "{}", stderr(&score));
}

/// `auto` takes ONNX Runtime where its library loads, else the CPU backend, and the log says
/// why. (This build has no TensorRT runner, so `tensorrt` is never usable here.)
#[test]
fn auto_takes_onnxruntime_where_its_library_loads_else_the_cpu() {
    let library = std::env::var("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH names ONNX Runtime (scripts/test.sh sets it)");
    let score = |ort: &str| {
        Command::new(env!("CARGO_BIN_EXE_vsrqa"))
            .env("ORT_DYLIB_PATH", ort)
            .args(["score", "-v", "-m", data("tiny_bundle").to_str().unwrap(), data("sample.y4m").to_str().unwrap()])
            .output()
            .unwrap()
    };
    let with = score(&library);
    let log = String::from_utf8_lossy(&with.stderr).into_owned();
    let fast = json(&with);
    assert_eq!(fast["backend"], "onnxruntime", "{log}");
    assert!(log.contains(&format!("ONNX Runtime from {library}")), "{log}");
    let without = score("/nonexistent/libonnxruntime.so");
    let log = String::from_utf8_lossy(&without.stderr).into_owned();
    let slow = json(&without);
    assert_eq!(slow["backend"], "cpu", "{log}");
    assert!(log.contains("onnxruntime not used") && log.contains("/nonexistent/libonnxruntime.so"), "{log}");
    // The two backends agree as tests/backend_onnxruntime.rs states.
    let (a, b) = (fast["clip_score"].as_f64().unwrap(), slow["clip_score"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-6, "{a} (onnxruntime) vs {b} (cpu)");
}
