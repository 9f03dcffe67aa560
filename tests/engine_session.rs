//! Engine and Session behaviour on the tiny bundle: streaming equals whole-clip scoring, key
//! frame sampling follows the reference for any frame rate, bad frames leave a session
//! unchanged, and an engine shared by threads gives identical results.

use std::path::Path;

use vsrqa::backend::{cpu::CpuBackend, Backend, BackendKind};
use vsrqa::bundle::Bundle;
use vsrqa::frame::{ColorConversion, FrameView, PixelFormat};
use vsrqa::{Engine, EngineOptions, Error};

use vsrqa_testkit::data;

fn engine() -> Engine {
    Engine::new(
        data("tiny_bundle"),
        EngineOptions { backend: BackendKind::Cpu, threads: 1, ..EngineOptions::default() },
    )
    .unwrap()
}

/// The tiny bundle without its clip branch (FAST-VQA), whose one feature for the whole clip
/// would hold every score back until the clip's sampled frames are in: the head keeps its weights
/// for the other branches' features. For tests of the key-frame and window timing.
fn engine_without_clip_branch() -> (tempfile::TempDir, Engine) {
    let mut kept = 0;
    let dir = edited_bundle(|manifest| {
        let removed = manifest["branches"].as_array_mut().unwrap().pop().unwrap();
        assert_eq!(removed["scope"], "clip");
        // Its provenance entry goes too: an entry must name a branch of the manifest.
        manifest["provenance"]["branches"].as_object_mut().unwrap().remove(removed["name"].as_str().unwrap()).unwrap();
        kept = manifest["head"]["input_dim"].as_u64().unwrap() - removed["output_dim"].as_u64().unwrap();
        manifest["head"]["input_dim"] = kept.into();
    });

    let bytes = std::fs::read(dir.path().join("head.safetensors")).unwrap();
    let head = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in head.tensors() {
        let (shape, data) = (view.shape().to_vec(), view.data().to_vec());
        if name == "quality.0.weight" {
            // [out, in] row-major f32: keep the first `kept` inputs of each row.
            let row = shape[1] * 4;
            let data = data.chunks_exact(row).flat_map(|r| r[..kept as usize * 4].to_vec()).collect();
            tensors.push((name, vec![shape[0], kept as usize], data));
        } else {
            tensors.push((name, shape, data));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, d)| {
            (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, &None, &dir.path().join("head.safetensors")).unwrap();
    let engine =
        Engine::new(dir.path(), EngineOptions { backend: BackendKind::Cpu, threads: 1, ..EngineOptions::default() })
            .unwrap();
    (dir, engine)
}

fn sample_frames() -> Vec<Vec<u8>> {
    vsrqa_testkit::sample_clip().frames
}

fn i420(frame: &[u8]) -> FrameView<'_> {
    FrameView::packed(PixelFormat::I420, 112, 80, frame).unwrap()
}

/// Streams `frames` and returns (per-key-frame scores as polled, clip score).
fn stream(engine: &Engine, frames: &[Vec<u8>], fps: f64) -> (Vec<vsrqa::FrameScore>, vsrqa::ClipScore) {
    let mut session = engine.session(fps).unwrap();
    let mut scores = Vec::new();
    for frame in frames {
        session.push(i420(frame)).unwrap();
        scores.extend(std::iter::from_fn(|| session.poll()));
    }
    let clip = session.finish().unwrap();
    scores.extend(std::iter::from_fn(|| session.poll()));
    (scores, clip)
}

#[test]
fn session_equals_score_clip_exactly() {
    let engine = engine();
    let frames = sample_frames();
    let views: Vec<FrameView> = frames.iter().map(|f| i420(f)).collect();
    let whole = engine.score_clip(&views, 8.0).unwrap();
    let (scores, streamed) = stream(&engine, &frames, 8.0);
    // score_clip announces the length; the stream does not.
    assert_eq!(whole.expected_frames, Some(20));
    let mut announced = streamed.clone();
    announced.expected_frames = Some(20);
    assert_eq!(whole, announced);
    assert!((0.0..=1.0).contains(&whole.score));
    // The clip score is the mean over 8 slots: 3 key frames, the last repeated 5 more times.
    let padded = (scores[0].score + scores[1].score + 6.0 * scores[2].score) / 8.0;
    assert!((padded - whole.score).abs() < 1e-15, "{padded} vs {}", whole.score);
}

#[test]
fn scores_arrive_as_soon_as_their_window_is_complete() {
    let (_dir, engine) = engine_without_clip_branch();
    let frames = sample_frames();
    let mut session = engine.session(8.0).unwrap();
    let mut arrivals = Vec::new(); // (frames pushed when it arrived, key frame index)
    for (i, frame) in frames.iter().enumerate() {
        session.push(i420(frame)).unwrap();
        while let Some(score) = session.poll() {
            arrivals.push((i + 1, score.frame_index));
        }
    }
    // The SlowFast window is 8 frames: key frame 0 completes at frame 8, key frame 8 at 16;
    // key frame 16's interval runs past the end: it is settled at finish.
    assert_eq!(arrivals, vec![(8, 0), (16, 8)]);
    session.finish().unwrap();
    assert_eq!(session.poll().map(|s| s.frame_index), Some(16));
    assert_eq!(session.poll(), None);
}

#[test]
fn a_reused_window_waits_for_the_end_of_its_interval() {
    let (_dir, engine) = engine_without_clip_branch();
    let frames = sample_frames();
    // 12 fps: key frames 0 and 12. Key frame 0's 8-frame window is complete at frame 8, but
    // whether key frame 12 will have a chunk of its own (it will not: 20 < 24 frames) is only
    // known at the end of the interval, so key frame 0's score arrives at frame 12, key frame
    // 12's (with key frame 0's SlowFast features) at finish.
    let mut session = engine.session(12.0).unwrap();
    let mut arrivals = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        session.push(i420(frame)).unwrap();
        while let Some(score) = session.poll() {
            arrivals.push((i + 1, score.frame_index));
        }
    }
    assert_eq!(arrivals, vec![(12, 0)]);
    session.finish().unwrap();
    assert_eq!(session.poll().map(|s| s.frame_index), Some(12));
}

#[test]
fn key_frames_follow_the_rounded_frame_rate() {
    let engine = engine();
    let frames = sample_frames();
    let indices = |fps: f64| stream(&engine, &frames, fps).0.iter().map(|s| s.frame_index).collect::<Vec<_>>();
    assert_eq!(indices(8.0), vec![0, 8, 16]);
    assert_eq!(indices(7.6), vec![0, 8, 16]); // round(7.6) = 8
    assert_eq!(indices(2.5), vec![0, 2, 4, 6, 8, 10, 12, 14]); // round(2.5) = 2 (half to even); only the first 8
    assert_eq!(indices(0.4), vec![0, 1, 2, 3, 4, 5, 6, 7]); // round(0.4) = 0: every frame
    assert_eq!(indices(30.0), vec![0]); // a clip shorter than a second: one key frame
}

#[test]
fn a_clip_with_more_key_frames_than_the_count_pools_the_first_ones() {
    let engine = engine();
    let frames = sample_frames();
    let (scores, clip) = stream(&engine, &frames, 2.0);
    assert_eq!((clip.key_frames, clip.pooled_slots), (8, 8));
    let mean = scores.iter().map(|s| s.score).sum::<f64>() / 8.0;
    assert!((mean - clip.score).abs() < 1e-15);
}

#[test]
fn score_frame_is_a_one_frame_clip() {
    let engine = engine();
    let frames = sample_frames();
    let single = engine.score_frame(i420(&frames[3])).unwrap();
    let (scores, clip) = stream(&engine, &frames[3..4], 25.0);
    assert_eq!(single, scores[0]);
    assert!((clip.score - single.score).abs() < 1e-15); // the mean of 8 equal slots
    assert_eq!((single.frame_index, single.key_frame), (0, 0));
}

#[test]
fn pixel_formats_that_hold_the_same_image_score_the_same() {
    // A frame in I420 and the same frame converted to RGB24 by vsrqa itself.
    let engine = engine();
    let frames = sample_frames();
    let rgb = vsrqa::frame::convert::to_rgb8(&i420(&frames[0]), engine.color_conversion()).unwrap();
    let from_i420 = engine.score_frame(i420(&frames[0])).unwrap().score;
    let rgb_view = FrameView::packed(PixelFormat::Rgb24, 112, 80, &rgb.data).unwrap();
    assert_eq!(engine.score_frame(rgb_view).unwrap().score, from_i420);
    // BGR24 with the channels swapped, and RGBA with a junk alpha.
    let bgr: Vec<u8> = rgb.data.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect();
    let bgr_view = FrameView::packed(PixelFormat::Bgr24, 112, 80, &bgr).unwrap();
    assert_eq!(engine.score_frame(bgr_view).unwrap().score, from_i420);
    let rgba: Vec<u8> = rgb.data.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 7]).collect();
    let rgba_view = FrameView::packed(PixelFormat::Rgba32, 112, 80, &rgba).unwrap();
    assert_eq!(engine.score_frame(rgba_view).unwrap().score, from_i420);
    // NV12 with the same planes interleaved.
    let (y, uv) = frames[0].split_at(112 * 80);
    let (u, v) = uv.split_at(56 * 40);
    let mut nv12 = y.to_vec();
    nv12.extend(u.iter().zip(v).flat_map(|(&a, &b)| [a, b]));
    let nv12_view = FrameView::packed(PixelFormat::Nv12, 112, 80, &nv12).unwrap();
    assert_eq!(engine.score_frame(nv12_view).unwrap().score, from_i420);
}

#[test]
fn a_rejected_frame_leaves_the_session_unchanged() {
    let engine = engine();
    let frames = sample_frames();
    let mut session = engine.session(8.0).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        if i == 5 {
            let short = &frame[..100];
            let bad = FrameView { planes: [short, &[], &[]], pitches: [112, 56, 56], ..i420(frame) };
            assert!(matches!(session.push(bad), Err(Error::InvalidArgument(_))));
        }
        session.push(i420(frame)).unwrap();
    }
    let clip = session.finish().unwrap();
    let (_, reference) = stream(&engine, &frames, 8.0);
    assert_eq!(clip, reference);
    assert!(matches!(session.push(i420(&frames[0])), Err(Error::SessionFinished)));
    assert!(matches!(session.finish(), Err(Error::SessionFinished)));
}

#[test]
fn invalid_frame_rates_and_empty_clips_are_refused() {
    let engine = engine();
    for fps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(engine.session(fps), Err(Error::InvalidArgument(_))), "fps {fps}");
    }
    assert!(matches!(engine.score_clip::<FrameView>(&[], 8.0), Err(Error::InvalidArgument(_))));
}

/// The CPU backend (tract, the numerical reference), whatever `auto` would take here.
fn cpu_options() -> EngineOptions {
    EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() }
}

#[test]
fn an_engine_shared_by_threads_gives_identical_results() {
    let engine = Engine::new(data("tiny_bundle"), cpu_options()).unwrap();
    let frames = sample_frames();
    let (_, reference) = stream(&engine, &frames, 8.0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| stream(&engine, &frames, 8.0).1)).collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), reference);
        }
    });
}

#[test]
fn thread_count_does_not_change_the_score_beyond_float_noise() {
    let frames = sample_frames();
    let one = stream(&engine(), &frames, 8.0).1.score;
    let all = Engine::new(data("tiny_bundle"), EngineOptions { threads: 0, ..cpu_options() }).unwrap();
    let many = stream(&all, &frames, 8.0).1.score;
    assert!((one - many).abs() < 1e-6, "{one} vs {many}");
}

#[test]
fn backend_batches_give_the_same_features_as_single_samples() {
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let backend = CpuBackend::new(1);
    for (spec, file) in bundle.manifest.branches.iter().zip(&bundle.networks) {
        let shape = spec.sample_shape();
        let network = backend.load_network(&file.path, &shape).unwrap();
        let len: usize = shape.iter().product();
        let batch: Vec<f32> = (0..2 * len).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
        let both = network.run(2, &batch).unwrap();
        assert_eq!(both.shape, vec![2, spec.output_dim]);
        for n in 0..2 {
            let single = network.run(1, &batch[n * len..(n + 1) * len]).unwrap();
            let expected = &both.data[n * spec.output_dim..(n + 1) * spec.output_dim];
            let diff = single.data.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "branch {} sample {n}: |diff| {diff}", spec.name);
        }
        // A batch whose data does not match its size is an error, not a panic.
        assert!(network.run(3, &batch).is_err());
    }
}

#[test]
fn head_matches_the_hand_computed_case() {
    // tests/data/golden/head_case.json: the tiny head in float64 numpy on two made-up vectors.
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("golden/head_case.json")).unwrap()).unwrap();
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let head = &bundle.head;
    let mut outputs = Vec::new();
    for (i, features) in case["features"].as_array().unwrap().iter().enumerate() {
        let features: Vec<f32> = features.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let output = head.frame_output(&features);
        let expected = case["head_outputs"][i].as_f64().unwrap();
        // f32 features and f32 layer outputs vs float64 throughout: ~1e-7 relative.
        assert!((f64::from(output) - expected).abs() < 1e-6, "vector {i}: {output} vs {expected}");
        let score = head.frame_score(output);
        assert!((score - case["scores"][i].as_f64().unwrap()).abs() < 1e-6);
        outputs.push(output);
    }
    let unpadded = head.clip_score(&outputs);
    assert!((unpadded - case["clip_score_pad_none"].as_f64().unwrap()).abs() < 1e-6);
    outputs.resize(8, outputs[1]);
    let padded = head.clip_score(&outputs);
    assert!((padded - case["clip_score_count8_repeat_last"].as_f64().unwrap()).abs() < 1e-6);
}

#[test]
fn an_absurd_thread_count_is_refused_before_anything_is_spawned() {
    let options = EngineOptions { threads: vsrqa::engine::MAX_THREADS + 1, ..EngineOptions::default() };
    assert!(matches!(Engine::new(data("tiny_bundle"), options), Err(Error::InvalidArgument(_))));
}

/// (frames pushed when it arrived, key frame index) for each score polled while streaming.
fn arrivals(session: &mut vsrqa::Session, frames: &[Vec<u8>]) -> Vec<(usize, u64)> {
    let mut arrivals = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        session.push(i420(frame)).unwrap();
        while let Some(score) = session.poll() {
            arrivals.push((i + 1, score.frame_index));
        }
    }
    arrivals
}

#[test]
fn a_clip_branch_scores_early_only_when_the_clip_length_is_known() {
    let engine = engine();
    let frames = sample_frames();
    let (expected, _) = stream(&engine, &frames, 8.0);

    // Unknown length: FAST-VQA's frames depend on it, so every score waits for finish.
    let mut session = engine.session(8.0).unwrap();
    assert_eq!(arrivals(&mut session, &frames), vec![]);
    session.finish().unwrap();
    assert_eq!(std::iter::from_fn(|| session.poll()).count(), 3);

    // Known length (20): the tiny FAST-VQA samples frames 1-8 and 11-18, so its feature is known
    // once frame 18 is in; key frames 0 and 8 (SlowFast windows complete at 8 and 16) follow.
    let mut session = engine.session(8.0).unwrap();
    session.set_expected_frames(20).unwrap();
    let early = arrivals(&mut session, &frames);
    assert_eq!(early, vec![(19, 0), (19, 8)]);
    let clip = session.finish().unwrap();
    let last: Vec<vsrqa::FrameScore> = std::iter::from_fn(|| session.poll()).collect();
    assert_eq!(last.iter().map(|s| s.frame_index).collect::<Vec<_>>(), vec![16]);
    // The same scores as the unknown-length stream, to the bit: the same frames reach the network.
    assert_eq!(last[0].score, expected[2].score);
    assert_eq!(clip.score, stream(&engine, &frames, 8.0).1.score);
}

/// Container frame counts are often off: a clip that ends before or after its announced length
/// still gets a score, flagged.
#[test]
fn a_wrong_clip_length_still_scores_and_is_flagged() {
    let engine = engine();
    let frames = sample_frames();
    let exact = {
        let mut session = engine.session(8.0).unwrap();
        session.set_expected_frames(20).unwrap();
        frames.iter().for_each(|f| session.push(i420(f)).unwrap());
        session.finish().unwrap()
    };
    assert!(!exact.ended_early() && !exact.ended_late());
    let scored = |announced: u64, pushed: usize| {
        let mut session = engine.session(8.0).unwrap();
        session.set_expected_frames(announced).unwrap();
        frames[..pushed].iter().for_each(|f| session.push(i420(f)).unwrap());
        session.finish().unwrap()
    };
    // One frame fewer than announced: FAST-VQA samples 20 frames as it would for 21 (2 segments
    // of 10), so the stand-ins are never needed and the score is the exact one.
    let short = scored(21, 20);
    assert!(short.ended_early() && !short.ended_late());
    assert_eq!((short.score, short.frames, short.expected_frames), (exact.score, 20, Some(21)));
    // Far fewer: nearest kept frames stand in; still a score.
    let very_short = scored(20, 3);
    assert!(very_short.ended_early() && very_short.score.is_finite(), "{very_short:?}");
    // More than announced: sampled over the announced 19, every frame still counted.
    let long = scored(19, 20);
    assert!(long.ended_late() && long.score.is_finite());
    assert_eq!(long.frames, 20);
}

#[test]
fn timings_count_every_stage_of_a_clip() {
    let engine = engine();
    let frames = sample_frames();
    let views: Vec<FrameView> = frames.iter().map(|f| i420(f)).collect();
    engine.score_clip(&views, 8.0).unwrap();
    let times = engine.timings();
    // 20 frames at 8 fps: key frames 0, 8 and 16; SlowFast's whole-second chunks at 0 and 8 (key
    // frame 16 reuses the second; its own window's 4 frames are preprocessed but never run);
    // FAST-VQA: 2 segments x 8 frames kept, and key frame 0 (not sampled) as the stand-in for an
    // early end, one batch.
    assert_eq!(times.convert.calls, 20);
    let calls: Vec<(&str, u64, u64)> =
        times.branches.iter().map(|b| (b.name.as_str(), b.preprocess.calls, b.network.calls)).collect();
    assert_eq!(
        calls,
        vec![("spatial", 3, 3), ("slowfast", 20, 2), ("qalign", 3, 3), ("liqe", 3, 3), ("fastvqa", 18, 1)]
    );
    assert!(times.branches.iter().all(|b| b.network.time > std::time::Duration::ZERO));
    // Accumulated over sessions until reset.
    engine.score_clip(&views, 8.0).unwrap();
    assert_eq!(engine.timings().branches[0].network.calls, 6);
    engine.reset_timings();
    let zero = engine.timings();
    assert_eq!(zero.convert, vsrqa::StageTime::default());
    assert!(zero.branches.iter().all(|b| b.network.calls == 0 && b.preprocess.time.is_zero()));
}

/// A copy of the tiny bundle whose manifest `edit` changed.
fn edited_bundle(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = vsrqa_testkit::copy_of(&data("tiny_bundle"));
    let path = dir.path().join("vsrqa.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, manifest.to_string()).unwrap();
    dir
}

/// The engine's log lines for `bundle` at `level`, on creation.
fn creation_log(bundle: &Path, level: vsrqa::engine::LogLevel) -> Vec<String> {
    use std::sync::{Arc, Mutex};
    let logged = Arc::new(Mutex::new(Vec::new()));
    let sink = logged.clone();
    let logger: vsrqa::engine::Logger = Arc::new(move |at, message: &str| {
        if at == level {
            sink.lock().unwrap().push(message.to_owned());
        }
    });
    let options = EngineOptions { backend: BackendKind::Cpu, threads: 1, logger: Some(logger), ..Default::default() };
    Engine::new(bundle, options).unwrap();
    let lines = logged.lock().unwrap().clone();
    lines
}

#[test]
fn an_engine_of_random_weights_logs_a_warning_on_creation() {
    use vsrqa::engine::LogLevel;
    let expected = Bundle::load(data("tiny_bundle")).unwrap().provenance_warning().unwrap();
    assert_eq!(creation_log(&data("tiny_bundle"), LogLevel::Warning), vec![expected.clone()]);
    // Every engine says it again: a host sees it on every run.
    assert_eq!(creation_log(&data("tiny_bundle"), LogLevel::Warning), vec![expected]);

    let unrecorded = edited_bundle(|m| {
        m.as_object_mut().unwrap().remove("provenance");
    });
    let warnings = creation_log(unrecorded.path(), LogLevel::Warning);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("do not record where their weights came from"), "{warnings:?}");

    let recorded = edited_bundle(|m| {
        let checkpoint = serde_json::json!({ "source": "checkpoint", "file": "w.pth", "sha256": "e".repeat(64) });
        for branch in ["spatial", "slowfast", "qalign", "liqe", "fastvqa"] {
            m["provenance"]["branches"][branch] = checkpoint.clone();
        }
        m["provenance"]["head"] = checkpoint;
    });
    assert_eq!(creation_log(recorded.path(), LogLevel::Warning), Vec::<String>::new());
}

#[test]
fn a_c_host_gets_the_random_weights_warning_through_its_log_callback() {
    use std::ffi::{c_char, c_void, CStr, CString};
    use std::sync::Mutex;
    use vsrqa_capi::status::VsrqaStatus::VSRQA_OK;
    use vsrqa_capi::*;

    unsafe extern "C" fn collect(user_data: *mut c_void, level: VsrqaLogLevel, message: *const c_char) {
        // SAFETY: user_data is the Mutex below, message a NUL-terminated string for the call.
        let (lines, text) =
            unsafe { (&*(user_data as *const Mutex<Vec<(VsrqaLogLevel, String)>>), CStr::from_ptr(message)) };
        lines.lock().unwrap().push((level, text.to_string_lossy().into_owned()));
    }
    let lines = Mutex::new(Vec::<(VsrqaLogLevel, String)>::new());
    let dir = CString::new(data("tiny_bundle").to_str().unwrap()).unwrap();
    // SAFETY: the config is initialized by its _default function; the path and the Mutex outlive
    // the engine, which is destroyed once.
    unsafe {
        let mut config = std::mem::zeroed::<VsrqaEngineConfig>();
        assert_eq!(vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()), VSRQA_OK);
        // The default level (warnings and errors) is enough.
        assert_eq!(config.log_level, VSRQA_LOG_WARNING);
        config.bundle_path = dir.as_ptr();
        config.backend = VSRQA_BACKEND_CPU;
        config.threads = 1;
        config.log_callback = Some(collect);
        config.log_user_data = &lines as *const _ as *mut c_void;
        let mut engine = std::ptr::null_mut();
        assert_eq!(vsrqa_engine_create(&config, &mut engine), VSRQA_OK);
        vsrqa_engine_destroy(engine);
    }
    let lines = lines.into_inner().unwrap();
    let warnings: Vec<&String> =
        lines.iter().filter(|(level, _)| *level == VSRQA_LOG_WARNING).map(|(_, m)| m).collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert!(warnings[0].contains("networks and the head have random weights"), "{lines:?}");
}

/// A stream's scores, drained after each push and at the end: (frame scores, clip scores).
fn drain_stream(stream: &mut vsrqa::Stream, frames: &[Vec<u8>]) -> (Vec<vsrqa::FrameScore>, Vec<vsrqa::ClipScore>) {
    let (mut scores, mut clips) = (Vec::new(), Vec::new());
    for frame in frames {
        stream.push(i420(frame)).unwrap();
        scores.extend(std::iter::from_fn(|| stream.poll()));
        clips.extend(std::iter::from_fn(|| stream.poll_clip()));
    }
    let last = stream.finish().unwrap();
    scores.extend(std::iter::from_fn(|| stream.poll()));
    clips.extend(std::iter::from_fn(|| stream.poll_clip()));
    assert_eq!(clips.last(), Some(&last), "finish returns the last clip");
    (scores, clips)
}

/// Windows of a live stream are each scored as the reference scores a clip of those frames.
#[test]
fn each_window_of_a_stream_is_scored_as_its_own_clip() {
    let engine = engine();
    let frames = sample_frames();
    let views: Vec<FrameView> = frames.iter().map(|f| i420(f)).collect();
    // One second at 8 fps: windows of 8 frames, the last of 4.
    let window = vsrqa::StreamOptions::window_frames_for(1.0, 8.0).unwrap();
    assert_eq!(window, 8);
    let options = vsrqa::StreamOptions { window_frames: Some(window), ..vsrqa::StreamOptions::new(8.0) };
    let mut live = engine.stream(options).unwrap();
    let (scores, clips) = drain_stream(&mut live, &frames);
    assert_eq!(
        clips.iter().map(|c| (c.first_frame, c.frames, c.window)).collect::<Vec<_>>(),
        [(0, 8, 0), (8, 8, 1), (16, 4, 2)]
    );
    for clip in &clips[..2] {
        let range = clip.first_frame as usize..(clip.first_frame + clip.frames) as usize;
        let alone = engine.score_clip(&views[range], 8.0).unwrap();
        assert_eq!(clip.score, alone.score, "window {}", clip.window);
        assert!(!clip.ended_early() && !clip.ended_late());
    }
    // A live stream does not know where it ends: the last window was announced 8 frames.
    assert!(clips[2].ended_early());
    // Key frames restart with each window and are numbered in the stream.
    assert_eq!(scores.iter().map(|s| (s.frame_index, s.key_frame)).collect::<Vec<_>>(), [(0, 0), (8, 1), (16, 2)]);

    // Told the stream's length, the last window is announced as the 4 frames it has.
    let options = vsrqa::StreamOptions { expected_frames: Some(20), ..options };
    let (_, clips) = drain_stream(&mut engine.stream(options).unwrap(), &frames);
    assert_eq!(clips[2].score, engine.score_clip(&views[16..], 8.0).unwrap().score);
    assert!(!clips[2].ended_early());
}

/// The same stream scored on a worker thread: the blocking stream's scores, to the bit.
#[test]
fn a_background_stream_scores_as_the_blocking_one() {
    let engine = engine();
    let frames = sample_frames();
    let options = vsrqa::StreamOptions { window_frames: Some(12), ..vsrqa::StreamOptions::new(8.0) };
    let (blocking_scores, blocking_clips) = drain_stream(&mut engine.stream(options).unwrap(), &frames);
    for (capacity, when_full) in [(1, vsrqa::engine::WhenFull::Block), (4, vsrqa::engine::WhenFull::Refuse)] {
        let mut background =
            vsrqa::BackgroundStream::start(engine.stream(options).unwrap(), capacity, when_full).unwrap();
        for frame in &frames {
            let view = vsrqa::frame::Frame::Host(i420(frame));
            while background.push(&view, None).unwrap() == vsrqa::engine::Pushed::QueueFull {
                std::thread::yield_now();
            }
        }
        let last = background.finish().unwrap();
        let mut scores = Vec::new();
        while let vsrqa::engine::Polled::Ready(score) = background.poll().unwrap() {
            scores.push(score);
        }
        assert_eq!(background.poll().unwrap(), vsrqa::engine::Polled::End);
        let mut clips = Vec::new();
        while let vsrqa::engine::Polled::Ready(clip) = background.poll_clip().unwrap() {
            clips.push(clip);
        }
        assert_eq!(scores, blocking_scores, "capacity {capacity}");
        assert_eq!(clips, blocking_clips, "capacity {capacity}");
        assert_eq!(Some(&last), clips.last());
    }
}

/// Closed until opened; `pass` waits for it.
#[derive(Default)]
struct Gate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// A worker held inside a frame (its score callback waits on `gate`): one-frame windows, so that
/// every frame's score goes to the callback as soon as the frame is scored.
fn gated_background(
    engine: &Engine,
    capacity: usize,
    when_full: vsrqa::engine::WhenFull,
) -> (vsrqa::BackgroundStream, std::sync::Arc<Gate>, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let gate = std::sync::Arc::new(Gate::default());
    let scored = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let options = vsrqa::StreamOptions { window_frames: Some(1), ..vsrqa::StreamOptions::new(8.0) };
    let mut stream = engine.stream(options).unwrap();
    let (callback_gate, callback_count) = (gate.clone(), scored.clone());
    stream.set_score_callback(Box::new(move |_| {
        callback_gate.pass();
        callback_count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    (vsrqa::BackgroundStream::start(stream, capacity, when_full).unwrap(), gate, scored)
}

/// A full queue: refused at once under the "try again" policy, waited for under the blocking one;
/// the frame being scored counts against the queue.
#[test]
fn a_full_queue_refuses_or_waits_as_asked() {
    use vsrqa::engine::{Pushed, WhenFull};
    let engine = engine();
    let frames = sample_frames();
    let frame = |i: usize| vsrqa::frame::Frame::Host(i420(&frames[i]));

    let (mut refusing, gate, scored) = gated_background(&engine, 1, WhenFull::Refuse);
    assert_eq!(refusing.push(&frame(0), None).unwrap(), Pushed::Queued);
    assert_eq!(refusing.push(&frame(1), None).unwrap(), Pushed::QueueFull);
    gate.open();
    while refusing.push(&frame(1), None).unwrap() == Pushed::QueueFull {
        std::thread::yield_now();
    }
    assert_eq!(refusing.finish().unwrap().window, 1);
    assert_eq!(scored.load(std::sync::atomic::Ordering::SeqCst), 2);

    let (mut blocking, gate, _) = gated_background(&engine, 1, WhenFull::Block);
    blocking.push(&frame(0), None).unwrap();
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opener = {
        let (opened, gate) = (opened.clone(), gate.clone());
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            opened.store(true, std::sync::atomic::Ordering::SeqCst);
            gate.open();
        })
    };
    // Returns only once the worker is let go and has taken frame 0 off the queue.
    assert_eq!(blocking.push(&frame(1), None).unwrap(), Pushed::Queued);
    assert!(opened.load(std::sync::atomic::Ordering::SeqCst), "push returned while the queue was full");
    opener.join().unwrap();
    blocking.finish().unwrap();
}

// Dropping a background stream cancels its queue: tests/device_frames_emulated.rs, where the
// frames' release callbacks order the test.

/// A clip has one frame size: a frame of another size is refused by every kind of session, which
/// goes on unchanged; format changes at the same size are accepted.
#[test]
fn a_frame_of_another_size_is_refused_and_the_session_goes_on() {
    let engine = engine();
    let frames = sample_frames();
    let small = vec![128u8; 56 * 40 * 3 / 2];
    let small_view = FrameView::packed(PixelFormat::I420, 56, 40, &small).unwrap();
    let refused = |result: vsrqa::Result<()>| match result {
        Err(Error::InvalidArgument(message)) => {
            assert!(message.contains("56x40") && message.contains("112x80") && message.contains("one frame size"));
        }
        other => panic!("a frame of another size was not refused: {other:?}"),
    };
    let (_, reference) = stream(&engine, &frames, 8.0);

    let mut session = engine.session(8.0).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        if i == 3 {
            refused(session.push(small_view));
        }
        if i == 4 {
            // The same picture as NV12: accepted, and it scores as the I420 frame.
            let mut nv12 = frame[..112 * 80].to_vec();
            let (u, v) = frame[112 * 80..].split_at(56 * 40);
            nv12.extend(u.iter().zip(v).flat_map(|(&u, &v)| [u, v]));
            session.push(FrameView::packed(PixelFormat::Nv12, 112, 80, &nv12).unwrap()).unwrap();
            continue;
        }
        session.push(i420(frame)).unwrap();
    }
    assert_eq!(session.finish().unwrap(), reference);

    // A stream (windows included) and a non-blocking one refuse it at the push, too.
    let options = vsrqa::StreamOptions { window_frames: Some(8), ..vsrqa::StreamOptions::new(8.0) };
    let mut live = engine.stream(options).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        if i == 8 {
            // A window boundary is not a new clip size.
            refused(live.push(small_view));
        }
        live.push(i420(frame)).unwrap();
    }
    assert_eq!(live.finish().unwrap().frames, 4);
    let background = engine.stream(vsrqa::StreamOptions::new(8.0)).unwrap();
    let mut background = vsrqa::BackgroundStream::start(background, 2, vsrqa::engine::WhenFull::Block).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        if i == 2 {
            match background.push(&vsrqa::frame::Frame::Host(small_view), None) {
                Err(Error::InvalidArgument(message)) => assert!(message.contains("one frame size"), "{message}"),
                other => panic!("a non-blocking session took a frame of another size: {other:?}"),
            }
        }
        background.push(&vsrqa::frame::Frame::Host(i420(frame)), None).unwrap();
    }
    assert_eq!(background.finish().unwrap(), reference);
}

#[test]
fn the_conversion_is_the_manifests_unless_the_options_say_otherwise() {
    // The tiny bundle asks for the exact conversion; a bundle from before the field existed (all
    // exported from the published weights) gets the reference one.
    let engine_of = |bundle: &Path, color_conversion| {
        let options = EngineOptions { backend: BackendKind::Cpu, threads: 1, color_conversion, ..Default::default() };
        Engine::new(bundle, options).unwrap().color_conversion()
    };
    assert_eq!(engine_of(&data("tiny_bundle"), None), ColorConversion::Exact);
    let unrecorded = edited_bundle(|m| {
        m.as_object_mut().unwrap().remove("color_conversion");
    });
    assert_eq!(engine_of(unrecorded.path(), None), ColorConversion::Reference);
    assert_eq!(engine_of(unrecorded.path(), Some(ColorConversion::Exact)), ColorConversion::Exact);
    // The two give different scores on the same YUV frames (one frame, as I420).
    let frames = sample_frames();
    let score = |color_conversion| {
        let options = EngineOptions { backend: BackendKind::Cpu, threads: 1, color_conversion, ..Default::default() };
        Engine::new(data("tiny_bundle"), options).unwrap().score_frame(i420(&frames[0])).unwrap().score
    };
    assert_ne!(score(Some(ColorConversion::Reference)), score(Some(ColorConversion::Exact)));
    // An unknown value is a bundle error naming the manifest.
    let unknown = edited_bundle(|m| m["color_conversion"] = "opencv".into());
    match Engine::new(unknown.path(), EngineOptions::default()) {
        Err(vsrqa::Error::Bundle { path, message, .. }) => {
            assert_eq!(path, unknown.path().join("vsrqa.json"));
            assert!(message.contains("opencv"), "{message}");
        }
        other => panic!("expected a bundle error, got {:?}", other.err()),
    }
}
