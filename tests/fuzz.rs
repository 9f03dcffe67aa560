//! Bounded fuzzing with proptest: inputs a user or a file can get wrong must give an error
//! or a result, never a panic, an abort or a wrong read. Each property runs `VSRQA_FUZZ_CASES`
//! cases (default 48 in CI; set it high for long runs); proptest shrinks a failure to a minimal
//! input and records it in tests/fuzz.regressions (support/fuzz_damage.rs), which is committed
//! so that CI replays it first.
//!
//! A damaged bundle either loads and scores a finite value (within [0, 1] under a sigmoid head)
//! or fails with a bundle error naming its folder or one of its files:
//!
//! - the bundle manifest: random values at random places of the tiny bundle's vsrqa.json, and
//!   byte-level damage to the text;
//! - the head's safetensors and a branch's ONNX file: random byte flips and truncations;
//! - frame descriptors through the C API: random formats (valid and not), sizes (0, odd, tiny,
//!   over the limit), pitches (too small, padded), color tags and NULL planes, always with plane
//!   buffers as large as the descriptor claims (the C contract);
//! - Y4M and raw video parsing: random and damaged headers and truncated frames.
//!
//! Training feature banks are fuzzed beside their code (crates/vsrqa-train/tests/fuzz_bank.rs).

#[path = "support/fuzz_damage.rs"]
mod fuzz_damage;
mod golden;

use std::ffi::CString;
use std::io::Cursor;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;

use fuzz_damage::{config, damage, damaged};
use golden::data;
use proptest::prelude::*;
use vsrqa::bundle::Bundle;
use vsrqa_capi::status::VsrqaStatus;
use vsrqa_capi::*;
use vsrqa_video::y4m::Y4mReader;

/// A copy of the tiny bundle to damage, made once per test.
fn bundle_copy() -> tempfile::TempDir {
    vsrqa_testkit::copy_of(&data("tiny_bundle"))
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(3), Just(16384), Just(1 << 40)]
            .prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z_]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!([0, 0, 0])),
    ]
}

/// Every place in a JSON document: (path of keys/indices).
fn places(value: &serde_json::Value, path: &mut Vec<serde_json::Value>, out: &mut Vec<Vec<serde_json::Value>>) {
    out.push(path.clone());
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone().into());
                places(v, path, out);
                path.pop();
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.into());
                places(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(value: &'a mut serde_json::Value, path: &[serde_json::Value]) -> &'a mut serde_json::Value {
    path.iter().fold(value, |v, key| match key {
        serde_json::Value::String(k) => &mut v[k.as_str()],
        serde_json::Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// Loads the bundle; when it loads, scores one small frame with it. Either step may fail, but only
/// as a damaged bundle may: with `Error::Bundle` naming the bundle (or, for a network the CPU
/// backend does not run, `Error::BackendUnavailable`), never with another kind; and a score that
/// comes out is finite, and within [0, 1] when the head ends in a sigmoid.
fn load_and_score(dir: &Path) {
    let bundle = match Bundle::load(dir) {
        Ok(bundle) => bundle,
        Err(error) => return assert_bundle_error(&error, dir),
    };
    let options = vsrqa::EngineOptions { backend: vsrqa::backend::BackendKind::Cpu, threads: 1, ..Default::default() };
    let engine = match vsrqa::Engine::new(dir, options) {
        Ok(engine) => engine,
        Err(error) if error.kind() == vsrqa::ErrorKind::BackendUnavailable => {
            // A precision field turned into one tract does not run: refused with the branch's name.
            assert!(error.to_string().contains("branch '"), "{error}");
            return;
        }
        Err(error) => return assert_bundle_error(&error, dir),
    };
    let pixels = vec![90u8; 24 * 16 * 3];
    let frame = vsrqa::frame::FrameView::packed(vsrqa::frame::PixelFormat::Rgb24, 24, 16, &pixels).unwrap();
    match engine.score_frame(frame) {
        Ok(frame_score) => {
            let score = frame_score.score;
            assert!(score.is_finite(), "a loaded bundle scored {score}");
            if bundle.manifest.head.output_activation == vsrqa::bundle::OutputActivation::Sigmoid {
                assert!((0.0..=1.0).contains(&score), "a sigmoid head scored {score}");
            }
        }
        Err(error) => assert_bundle_error(&error, dir),
    }
}

/// A damaged bundle's error: `Error::Bundle`, naming the bundle's folder or one of its files.
fn assert_bundle_error(error: &vsrqa::Error, dir: &Path) {
    match error {
        vsrqa::Error::Bundle { path, .. } => assert!(path.starts_with(dir), "{error} names {}", path.display()),
        other => panic!("a damaged bundle gave {other:?}, not a bundle error"),
    }
}

#[test]
fn fuzz_manifest_values() {
    let dir = bundle_copy();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("tiny_bundle/vsrqa.json")).unwrap()).unwrap();
    let mut all = Vec::new();
    places(&original, &mut Vec::new(), &mut all);
    proptest!(config(), |(edits in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..4))| {
        let mut manifest = original.clone();
        for (index, value) in edits {
            let path = index.get(&all);
            // Paths into an array or object a previous edit replaced no longer exist: skip them.
            let exists = path.iter().try_fold(&manifest, |v, key| match key {
                serde_json::Value::String(k) => v.get(k.as_str()),
                serde_json::Value::Number(i) => v.get(i.as_u64().unwrap() as usize),
                _ => None,
            }).is_some();
            if exists {
                *at(&mut manifest, path) = value;
            }
        }
        std::fs::write(dir.path().join("vsrqa.json"), manifest.to_string()).unwrap();
        load_and_score(dir.path());
    });
}

#[test]
fn fuzz_manifest_text() {
    let dir = bundle_copy();
    let original = std::fs::read(data("tiny_bundle/vsrqa.json")).unwrap();
    proptest!(config(), |(d in damage())| {
        std::fs::write(dir.path().join("vsrqa.json"), damaged(&original, &d)).unwrap();
        load_and_score(dir.path());
    });
}

#[test]
fn fuzz_head_safetensors() {
    let dir = bundle_copy();
    let original = std::fs::read(data("tiny_bundle/head.safetensors")).unwrap();
    proptest!(config(), |(d in damage())| {
        std::fs::write(dir.path().join("head.safetensors"), damaged(&original, &d)).unwrap();
        load_and_score(dir.path());
    });
}

#[test]
fn fuzz_onnx_file() {
    let dir = bundle_copy();
    // Without the hash the loader must get through to parsing the damaged network.
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("tiny_bundle/vsrqa.json")).unwrap()).unwrap();
    manifest["branches"][1]["sha256"] = serde_json::Value::Null;
    std::fs::write(dir.path().join("vsrqa.json"), manifest.to_string()).unwrap();
    let original = std::fs::read(data("tiny_bundle/slowfast.onnx")).unwrap();
    proptest!(config(), |(d in damage())| {
        std::fs::write(dir.path().join("slowfast.onnx"), damaged(&original, &d)).unwrap();
        load_and_score(dir.path());
    });
}

/// One engine for the C API cases (creating one per case would be slow).
struct SharedEngine(*mut VsrqaEngine);
unsafe impl Send for SharedEngine {}
unsafe impl Sync for SharedEngine {}

fn c_engine() -> &'static SharedEngine {
    static ENGINE: OnceLock<SharedEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = unsafe { std::mem::zeroed::<VsrqaEngineConfig>() };
        let dir = CString::new(data("tiny_bundle").to_str().unwrap()).unwrap();
        let mut engine = ptr::null_mut();
        // SAFETY: writable config; the path string outlives the create call; valid out pointer.
        unsafe {
            assert_eq!(
                vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()),
                VsrqaStatus::VSRQA_OK
            );
            config.bundle_path = dir.as_ptr();
            config.threads = 1;
            assert_eq!(vsrqa_engine_create(&config, &mut engine), VsrqaStatus::VSRQA_OK);
        }
        SharedEngine(engine)
    })
}

prop_compose! {
    fn frame_case()(
        format in prop_oneof![Just(1u32), Just(2), Just(3), Just(4), Just(10), Just(11), Just(20), Just(21), 0u32..40],
        width in prop_oneof![0u32..40, Just(16385u32), Just(u32::MAX)],
        height in prop_oneof![0u32..40, Just(16385u32)],
        extra_pitch in prop::array::uniform3(prop_oneof![Just(0usize), 1usize..9]),
        short_pitch in prop::array::uniform3(any::<bool>()),
        null_plane in prop::array::uniform3(prop::bool::weighted(0.1)),
        matrix in prop_oneof![0u32..4, Just(99)],
        range in prop_oneof![0u32..3, Just(99)],
        memory in prop_oneof![Just(0u32), Just(1), Just(7)],
    ) -> (u32, u32, u32, [usize; 3], [bool; 3], [bool; 3], u32, u32, u32) {
        (format, width, height, extra_pitch, short_pitch, null_plane, matrix, range, memory)
    }
}

#[test]
fn fuzz_c_api_frame_descriptors() {
    let engine = c_engine();
    proptest!(config(), |((format, width, height, extra_pitch, short_pitch, null_plane, matrix, range, memory) in frame_case())| {
        let mut frame = unsafe { std::mem::zeroed::<VsrqaFrame>() };
        // SAFETY: a writable struct of the size given.
        unsafe { vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()) };
        frame.format = format;
        frame.width = width;
        frame.height = height;
        frame.color_matrix = matrix;
        frame.color_range = range;
        frame.memory = memory;
        // Plane buffers as large as the descriptor claims (the caller's side of the contract):
        // pitch x rows of the plane, for sizes within the limit; tiny buffers otherwise, which the
        // size check must refuse before reading anything.
        let in_limit = width <= 16384 && height <= 16384;
        let bytes_per_sample = if format == 20 || format == 21 { 2 } else { 1 };
        let mut buffers = Vec::new();
        for i in 0..3 {
            let samples = match (format, i) {
                (1 | 2, 0) => 3 * width as usize,
                (3 | 4, 0) => 4 * width as usize,
                (_, 0) => width as usize,
                (11 | 21, 1) => width.div_ceil(2) as usize * 2,
                _ => width.div_ceil(2) as usize,
            };
            let row = samples * bytes_per_sample;
            let pitch = if short_pitch[i] && row > 0 && extra_pitch[i] == 0 { row - 1 } else { row + extra_pitch[i] };
            let rows = if i == 0 { height as usize } else { height.div_ceil(2) as usize };
            let len = if in_limit { pitch * rows + 64 } else { 64 };
            buffers.push(vec![77u8; len]);
            frame.pitches[i] = pitch;
            frame.planes[i] = if null_plane[i] { ptr::null() } else { buffers[i].as_ptr().cast() };
        }
        let mut score = unsafe { std::mem::zeroed::<VsrqaFrameScore>() };
        // SAFETY: live engine; writable result; planes cover pitch x rows when the size is valid.
        let status = unsafe {
            vsrqa_frame_score_default(&mut score, std::mem::size_of::<VsrqaFrameScore>());
            vsrqa_score_frame(engine.0, &frame, &mut score)
        };
        if status == VsrqaStatus::VSRQA_OK {
            prop_assert!(score.score.is_finite() && (0.0..=1.0).contains(&score.score), "score {}", score.score);
        } else {
            prop_assert!(status != VsrqaStatus::VSRQA_ERROR_INTERNAL, "internal error (a caught panic): {status:?}");
        }
    });
}

#[test]
fn fuzz_y4m_headers_and_frames() {
    let original = std::fs::read(data("sample.y4m")).unwrap();
    let header_end = original.iter().position(|&b| b == b'\n').unwrap() + 1;
    let sample = original[..header_end + 2 * (112 * 80 * 3 / 2 + 6)].to_vec();
    proptest!(config(), |(d in damage(), header in "YUV4MPEG2( [WHFIACX][0-9A-Za-z:]{0,8}){0,8}\n")| {
        for bytes in [damaged(&sample, &d), [header.as_bytes(), &sample[header_end..]].concat()] {
            if let Ok(mut reader) = Y4mReader::new(Cursor::new(bytes)) {
                let mut buffer = Vec::new();
                let mut frames = 0;
                while let Ok(true) = reader.read_frame(&mut buffer) {
                    frames += 1;
                    prop_assert!(frames <= 3);
                }
            }
        }
    });
}
