//! The element in gst-launch pipelines: what it posts, that its scores are the CLI's on the same
//! file, and how it fails. The tiny bundle on the CPU backend (tract), so that every run is
//! deterministic and needs no ONNX Runtime.

mod support;

use std::path::Path;

use support::{f64_field, make_video, str_field, tiny_bundle, u32_field, u64_field, Plugin};
use vsrqa::prelude::*;

/// `... ! vsrqa (model, cpu, extra) ! fakesink` after `source`.
fn scored(source: &str, extra: &str) -> String {
    format!("{source} ! vsrqa model={} backend=cpu {extra} ! fakesink", tiny_bundle())
}

fn test_source(frames: u32, caps: &str) -> String {
    format!("videotestsrc num-buffers={frames} ! {caps}")
}

#[test]
fn inspect_lists_the_element_and_its_properties() {
    let run = Plugin::new().inspect();
    assert!(run.success, "{}", run.output);
    for text in [
        "Filter/Analyzer/Video",
        "I420_10LE",
        "P010_10LE",
        "model",
        "backend",
        "device",
        "threads",
        "queue-frames",
        "leaky",
        "fps",
        "expected-frames",
        "window",
        "color-conversion",
        "members",
    ] {
        assert!(run.output.contains(text), "gst-inspect-1.0 vsrqa lists {text}:\n{}", run.output);
    }
}

#[test]
fn the_same_picture_in_every_layout_scores_the_same() {
    // videotestsrc paints the same pattern in each format: a plane or stride read wrongly would
    // change the score. Groups: 8-bit YUV, 10-bit YUV, RGB.
    let plugin = Plugin::new();
    let groups: [&[&str]; 3] =
        [&["I420", "NV12"], &["I420_10LE", "P010_10LE"], &["RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"]];
    for group in groups {
        let scores: Vec<f64> = group
            .iter()
            .map(|format| {
                // 66 pixels: rows of RGB and 4:2:0 chroma that are not a multiple of 4 bytes, so
                // GStreamer pads its strides.
                let caps = format!("video/x-raw,format={format},width=66,height=50,framerate=30/1");
                let run = plugin.launch(&scored(&test_source(12, &caps), ""));
                let clip = run.clip();
                assert_eq!(u64_field(&clip, "frames"), 12, "{format}");
                assert_eq!(run.frames().len() as u32, u32_field(&clip, "key-frames"), "{format}");
                f64_field(&clip, "score")
            })
            .collect();
        assert!(scores.iter().all(|score| *score == scores[0]), "{group:?}: {scores:?}");
    }
}

/// The CLI's report of `path` on the CPU backend.
fn cli_report(path: &Path) -> serde_json::Value {
    let options = EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() };
    let engine = Engine::new(tiny_bundle(), options).unwrap();
    let report = vsrqa_cli::score_file_json(&engine, path, &vsrqa_cli::FileOptions::default()).report;
    assert!(report.get("error").is_none(), "{report}");
    report
}

#[test]
fn decodebin_on_h264_gives_the_cli_scores_8_and_10_bit() {
    let plugin = Plugin::new();
    let dir = tempfile::tempdir().unwrap();
    let files = [
        make_video(dir.path(), "clip8.mp4", 2, &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-colorspace", "bt709"]),
        make_video(dir.path(), "clip10.mp4", 2, &["-c:v", "libx264", "-pix_fmt", "yuv420p10le"]),
    ];
    for path in files {
        let run = plugin.launch(&scored(&format!("filesrc location={} ! decodebin", path.display()), ""));
        let clip = run.clip();
        let report = cli_report(&path);
        // Scores are doubles printed with 17 digits: equal means the same bits.
        assert_eq!(f64_field(&clip, "score"), report["clip_score"].as_f64().unwrap(), "{}", path.display());
        assert_eq!(u64_field(&clip, "frames"), report["frames"].as_u64().unwrap());
        // The duration query gave the clip's length, so the clip branches scored early and exactly.
        assert_eq!(u64_field(&clip, "expected-frames"), 60);
        assert!(!clip.get::<bool>("partial").unwrap());
        let frames = run.frames();
        let expected = report["frame_scores"].as_array().unwrap();
        assert_eq!(frames.len(), expected.len());
        for (message, score) in frames.iter().zip(expected) {
            assert_eq!(u64_field(message, "frame-index"), score["frame_index"].as_u64().unwrap());
            assert_eq!(f64_field(message, "score"), score["score"].as_f64().unwrap());
            assert_ne!(u64_field(message, "pts"), u64::MAX, "a decoded frame has a time");
        }
        // Key-frame messages, then the clip's, then the pipeline's EOS.
        let last_frame = run.position(&format!("key-frame=(uint){}", frames.len() - 1)).unwrap();
        let clip_at = run.position("vsrqa-clip").unwrap();
        assert!(last_frame < clip_at && clip_at < run.position("Got EOS").unwrap(), "{}", run.output);
    }
}

#[test]
fn a_stream_without_frames_ends_cleanly_with_no_clip() {
    let run = Plugin::new().launch(&scored("videotestsrc num-buffers=0", ""));
    assert!(run.success, "{}", run.output);
    assert!(run.output.contains("Got EOS"), "{}", run.output);
    assert!(run.clips().is_empty() && run.frames().is_empty(), "{}", run.output);
}

#[test]
fn a_size_change_ends_the_clip_and_starts_another() {
    let plugin = Plugin::new();
    let small = "video/x-raw,format=I420,width=64,height=48,framerate=30/1";
    let large = "video/x-raw,format=NV12,width=96,height=64,framerate=30/1";
    let pipeline = format!(
        "concat name=c ! vsrqa model={} backend=cpu ! fakesink {} ! c. {} ! c.",
        tiny_bundle(),
        test_source(10, small),
        test_source(12, large)
    );
    let run = plugin.launch(&pipeline);
    assert!(run.success, "{}", run.output);
    let clips = run.clips();
    assert_eq!(clips.len(), 2, "{}", run.output);
    assert_eq!((u32_field(&clips[0], "clip"), str_field(&clips[0], "reason")), (0, "caps-change"));
    assert_eq!((u32_field(&clips[1], "clip"), str_field(&clips[1], "reason")), (1, "eos"));
    assert_eq!(u64_field(&clips[0], "frames"), 10);
    assert_eq!(u64_field(&clips[1], "frames"), 12);
    // Each part is scored as a clip of its own: as when it is the whole stream.
    for (clip, frames, caps) in [(&clips[0], 10, small), (&clips[1], 12, large)] {
        let alone = plugin.launch(&scored(&test_source(frames, caps), "")).clip();
        assert_eq!(f64_field(clip, "score"), f64_field(&alone, "score"), "{caps}");
    }
    assert!(run.frames().iter().any(|frame| u32_field(frame, "clip") == 1));
}

#[test]
fn windows_give_a_score_each_scored_as_a_clip() {
    let plugin = Plugin::new();
    let caps = "video/x-raw,format=I420,width=64,height=48,framerate=30/1";
    let run = plugin.launch(&scored(&test_source(75, caps), "window=1"));
    assert!(run.success, "{}", run.output);
    let clips = run.clips();
    let summary: Vec<(u32, u64, u64, &str)> = clips
        .iter()
        .map(|c| (u32_field(c, "window"), u64_field(c, "first-frame"), u64_field(c, "frames"), str_field(c, "reason")))
        .collect();
    assert_eq!(summary, [(0, 0, 30, "window"), (1, 30, 30, "window"), (2, 60, 15, "eos")], "{}", run.output);
    assert_eq!(u64_field(&clips[1], "pts"), 1_000_000_000);
    let first_second = plugin.launch(&scored(&test_source(30, caps), "")).clip();
    assert_eq!(f64_field(&clips[0], "score"), f64_field(&first_second, "score"));
}

/// An ensemble's clip message carries each member's score and their spread; `members` runs some
/// of them, and an unknown one fails the pipeline with the reason.
#[test]
fn an_ensembles_members_are_scored_and_chosen() {
    let plugin = Plugin::new();
    let ensemble = support::repo().join("tests/data/tiny_ensemble");
    let source = test_source(16, "video/x-raw,format=I420,width=64,height=48,framerate=8/1");
    let launch = |members: &str| {
        plugin.launch(&format!("{source} ! vsrqa model={} backend=cpu {members} ! fakesink", ensemble.display()))
    };
    let member_scores = |clip: &gst::Structure| -> Vec<f64> {
        clip.get::<gst::Array>("member-scores").unwrap().iter().map(|v| v.get::<f64>().unwrap()).collect()
    };
    let all = launch("").clip();
    let scores = member_scores(&all);
    assert_eq!(scores.len(), 3, "{all}");
    let mean = scores.iter().sum::<f64>() / 3.0;
    assert!((f64_field(&all, "score") - mean).abs() < 1e-12, "{all}");
    assert!(f64_field(&all, "member-spread") > 0.0, "{all}");

    let chosen = launch("members=m2,m0").clip();
    assert_eq!(member_scores(&chosen), [scores[0], scores[2]], "{chosen}");
    assert!((f64_field(&chosen, "score") - (scores[0] + scores[2]) / 2.0).abs() < 1e-12);
    let unknown = launch("members=m7");
    assert!(!unknown.success && unknown.output.contains("no member 'm7'"), "{}", unknown.output);
}

#[test]
fn a_leaky_queue_counts_what_it_left_out() {
    // How many frames a full queue drops depends on the machine; what is reported must add up.
    let caps = "video/x-raw,format=I420,width=640,height=480,framerate=30/1";
    let run = Plugin::new().launch(&scored(&test_source(90, caps), "leaky=true queue-frames=1"));
    let clip = run.clip();
    let (frames, dropped) = (u64_field(&clip, "frames"), u64_field(&clip, "frames-dropped"));
    assert_eq!(frames + dropped, 90, "{clip}");
    assert!(frames >= 1);
    assert_eq!(clip.get::<bool>("partial").unwrap(), dropped > 0, "{clip}");
}

#[test]
fn a_variable_frame_rate_is_scored_at_the_fps_property() {
    // videotestsrc sends a single frame at a variable rate. (Without `fps` the element refuses
    // the caps: tests/in_process.rs, where the bus is read directly.)
    let source = test_source(3, "video/x-raw,format=I420,width=64,height=48,framerate=0/1");
    let clip = Plugin::new().launch(&scored(&source, "fps=25")).clip();
    assert_eq!(u64_field(&clip, "frames"), 1);
}

#[test]
fn a_bad_model_fails_the_pipeline_with_the_reason() {
    let plugin = Plugin::new();
    let broken = vsrqa_testkit::copy_of(std::path::Path::new(&tiny_bundle()));
    std::fs::write(broken.path().join("vsrqa.json"), "{ not json").unwrap();
    let source = test_source(5, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
    let cases = [
        (format!("{source} ! vsrqa model=/nonexistent/bundle ! fakesink"), "the bundle directory does not exist"),
        (format!("{source} ! vsrqa model={} ! fakesink", broken.path().display()), "vsrqa.json"),
        (format!("{source} ! vsrqa ! fakesink"), "no model: set the model property"),
        (format!("{source} ! vsrqa model={} backend=gpu ! fakesink", tiny_bundle()), "unknown backend \"gpu\""),
        (
            format!("{source} ! vsrqa model={} color-conversion=fast ! fakesink", tiny_bundle()),
            "use reference or exact",
        ),
    ];
    for (pipeline, reason) in cases {
        let run = plugin.launch(&pipeline);
        assert!(!run.success, "{pipeline}");
        let error = run.output.lines().find(|line| line.starts_with("ERROR: from element")).unwrap_or_default();
        assert!(error.contains("GstVsrqa") && error.contains(reason), "{reason}:\n{}", run.output);
        assert!(run.clips().is_empty());
    }
}
