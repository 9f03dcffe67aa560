//! Converted networks (tools/export/precision.py) against their fp32 originals, on the ONNX
//! Runtime backend, on six clips (the sample and five made-up ones: noise, blocks, gradients, dark,
//! flat), with the precision targets (docs/precision.md):
//! - tests/data/tiny_bundle_fp16, every network in fp16: each branch's features within 1e-2
//!   relative L2 error of fp32, key-frame and clip scores within 1e-3. Observed on the tiny
//!   networks: feature errors of a few 1e-4, score differences of a few 1e-5.
//! - tests/data/tiny_bundle_qalign_int8, Q-Align's linear layers with 8-bit weights (a bundle that
//!   mixes precisions): features within 5e-2, scores within 1e-2. Observed: about 1e-2 and 1e-4.
//! - tests/data/tiny_bundle_int8_dynamic, every linear layer quantized dynamically (ONNX Runtime's
//!   int8 for the CPU): the same targets as 8-bit weights.
//!
//! The CPU backend (tract) refuses converted networks, ONNX Runtime bf16 ones, with the reason;
//! `auto` takes the one backend a bundle's precisions leave.
//! Needs the ONNX Runtime library (`ORT_DYLIB_PATH`, set by scripts/test.sh).

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use rand::{RngExt, SeedableRng};
use vsrqa::backend::BackendKind;
use vsrqa::bundle::{Bundle, Precision};
use vsrqa::frame::{FrameView, PixelFormat};
use vsrqa::{Engine, EngineOptions, Error, ErrorKind};
use vsrqa_video::y4m::Y4mReader;

const WIDTH: usize = 112;
const HEIGHT: usize = 80;

fn data() -> PathBuf {
    vsrqa_testkit::data("")
}

fn engine(bundle: &str, backend: BackendKind) -> Result<Engine, Error> {
    Engine::new(data().join(bundle), EngineOptions { backend, threads: 2, ..EngineOptions::default() })
}

/// A clip: RGB frames of WIDTH x HEIGHT at `fps`.
struct Clip {
    name: &'static str,
    fps: f64,
    frames: Vec<Vec<u8>>,
}

fn sample_clip() -> (f64, Vec<Vec<u8>>) {
    let mut reader = Y4mReader::new(BufReader::new(File::open(data().join("sample.y4m")).unwrap())).unwrap();
    let mut frames = Vec::new();
    let mut buffer = Vec::new();
    while reader.read_frame(&mut buffer).unwrap() {
        frames.push(buffer.clone());
    }
    (reader.header.fps, frames)
}

/// Five made-up RGB clips of 24 frames at 8 fps, each its own kind of picture.
fn made_up_clips() -> Vec<Clip> {
    let make = |name, seed: u64, pixel: &dyn Fn(&mut rand::rngs::ChaCha8Rng, usize, usize, usize) -> [u8; 3]| {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let frames = (0..24)
            .map(|t| {
                let mut frame = Vec::with_capacity(WIDTH * HEIGHT * 3);
                for y in 0..HEIGHT {
                    for x in 0..WIDTH {
                        frame.extend_from_slice(&pixel(&mut rng, t, x, y));
                    }
                }
                frame
            })
            .collect();
        Clip { name, fps: 8.0, frames }
    };
    vec![
        make("noise", 1, &|rng, _, _, _| [rng.random(), rng.random(), rng.random()]),
        make("blocks", 2, &|_, t, x, y| {
            let v = (((x + t) / 8 + y / 8) % 2 * 200 + 20) as u8;
            [v, 255 - v, (x * 2) as u8]
        }),
        make("gradients", 3, &|_, t, x, y| [(x * 2 + t) as u8, (y * 3) as u8, ((x + y) + 4 * t) as u8]),
        make("dark", 4, &|rng, _, x, y| {
            let n: u8 = rng.random_range(0..6);
            [n + (x / 16) as u8, n + (y / 16) as u8, n]
        }),
        make("flat", 5, &|_, t, _, _| [128, 120 + (t % 4) as u8, 110]),
    ]
}

/// Frame scores, clip score and pooled feature rows of one clip.
fn score(engine: &Engine, format: PixelFormat, fps: f64, frames: &[Vec<u8>]) -> (Vec<f64>, f64, Vec<Vec<f32>>) {
    let mut session = engine.session(fps).unwrap();
    for frame in frames {
        session.push(FrameView::packed(format, WIDTH as u32, HEIGHT as u32, frame).unwrap()).unwrap();
    }
    let clip = session.finish().unwrap();
    let scores = std::iter::from_fn(|| session.poll()).map(|s| s.score).collect();
    (scores, clip.score, session.pooled_features().unwrap())
}

/// Scores the six clips with `bundle` and with the fp32 tiny bundle; checks the targets.
fn within_targets_of_fp32(bundle: &str, converted: &[(&str, Precision)], feature_limit: f64, score_limit: f64) {
    let fp32 =
        engine("tiny_bundle", BackendKind::OnnxRuntime).expect("ONNX Runtime (scripts/test.sh sets ORT_DYLIB_PATH)");
    let other = engine(bundle, BackendKind::OnnxRuntime).unwrap();
    let branches = other.bundle().manifest.branches.clone();
    let precisions: Vec<(&str, Precision)> = branches.iter().map(|b| (b.name.as_str(), b.precision)).collect();
    assert_eq!(precisions, converted, "{bundle}'s manifest");
    let (sample_fps, sample_frames) = sample_clip();
    let mut clips = vec![(PixelFormat::I420, Clip { name: "sample", fps: sample_fps, frames: sample_frames })];
    clips.extend(made_up_clips().into_iter().map(|clip| (PixelFormat::Rgb24, clip)));
    assert_eq!(clips.len(), 6);
    for (format, clip) in &clips {
        let (frames32, clip32, features32) = score(&fp32, *format, clip.fps, &clip.frames);
        let (frames_other, clip_other, features_other) = score(&other, *format, clip.fps, &clip.frames);
        let name = clip.name;
        assert!((clip32 - clip_other).abs() <= score_limit, "{bundle}, {name}: clip score {clip32} vs {clip_other}");
        assert_eq!(frames32.len(), frames_other.len());
        for (a, b) in frames32.iter().zip(&frames_other) {
            assert!((a - b).abs() <= score_limit, "{bundle}, {name}: key-frame score {a} vs {b}");
        }
        let mut offset = 0;
        for branch in &branches {
            let range = offset..offset + branch.output_dim;
            offset += branch.output_dim;
            let (mut difference, mut norm) = (0f64, 0f64);
            for (row32, row) in features32.iter().zip(&features_other) {
                for (a, b) in row32[range.clone()].iter().zip(&row[range.clone()]) {
                    difference += f64::from(a - b).powi(2);
                    norm += f64::from(*a).powi(2);
                }
            }
            let relative = (difference / norm).sqrt();
            eprintln!("{bundle} {name:<9} {:<9} relative feature error {relative:.2e}", branch.name);
            assert!(
                relative <= feature_limit,
                "{bundle}, {name}: branch '{}' relative L2 error {relative:e}",
                branch.name
            );
        }
        eprintln!("{bundle} {name:<9} clip |difference| {:.2e}", (clip32 - clip_other).abs());
    }
}

const BRANCHES: [&str; 5] = ["spatial", "slowfast", "qalign", "liqe", "fastvqa"];

/// Each branch of the tiny bundle with the precision `precision_of` gives it.
fn precisions(precision_of: impl Fn(&str) -> Precision) -> Vec<(&'static str, Precision)> {
    BRANCHES.iter().map(|name| (*name, precision_of(name))).collect()
}

#[test]
fn fp16_networks_score_within_the_precision_targets_of_fp32() {
    within_targets_of_fp32("tiny_bundle_fp16", &precisions(|_| Precision::Fp16), 1e-2, 1e-3);
}

#[test]
fn int8_weights_for_qalign_score_within_the_precision_targets_of_fp32() {
    let converted = precisions(|name| if name == "qalign" { Precision::Int8Weights } else { Precision::Fp32 });
    within_targets_of_fp32("tiny_bundle_qalign_int8", &converted, 5e-2, 1e-2);
}

#[test]
fn int8_dynamic_networks_score_within_the_precision_targets_of_fp32() {
    // ONNX Runtime's dynamic quantization of every linear layer. The tiny SlowFast has none (it is
    // all convolutions), so its features are unchanged.
    within_targets_of_fp32("tiny_bundle_int8_dynamic", &precisions(|_| Precision::Int8Dynamic), 5e-2, 1e-2);
}

#[test]
fn the_cpu_backend_refuses_converted_networks_with_the_reason() {
    for (bundle, reason, runners) in [
        ("tiny_bundle_fp16", "branch 'spatial' is fp16", "the onnxruntime and tensorrt backends run it"),
        ("tiny_bundle_bf16", "branch 'spatial' is bf16", "the tensorrt backend runs it"),
        ("tiny_bundle_qalign_int8", "branch 'qalign' is int8_weights", "the onnxruntime and tensorrt backends run it"),
        ("tiny_bundle_int8_dynamic", "branch 'spatial' is int8_dynamic", "the onnxruntime backend runs it"),
    ] {
        let Err(error) = engine(bundle, BackendKind::Cpu) else { panic!("the cpu backend refuses {bundle}") };
        assert_eq!(error.kind(), ErrorKind::BackendUnavailable, "{error:?}");
        let text = error.to_string();
        assert!(text.contains(reason) && text.contains("fp32 networks only") && text.contains(runners), "{text}");
    }
}

#[test]
fn onnxruntime_refuses_bf16_networks_with_the_reason() {
    let Err(error) = engine("tiny_bundle_bf16", BackendKind::OnnxRuntime) else { panic!("bf16 is refused") };
    assert_eq!(error.kind(), ErrorKind::BackendUnavailable, "{error:?}");
    let text = error.to_string();
    assert!(text.contains("branch 'spatial' is bf16") && text.contains("the tensorrt backend"), "{text}");
}

#[test]
fn auto_takes_the_one_backend_a_precision_leaves() {
    // int8_dynamic runs on ONNX Runtime only: `auto` takes it even where TensorRT would be first.
    let int8 = engine("tiny_bundle_int8_dynamic", BackendKind::Auto).unwrap();
    assert_eq!(int8.backend(), BackendKind::OnnxRuntime);
    // bf16 runs on TensorRT only: `auto` asks for it, and without a GPU says so rather than
    // falling back to a backend that cannot run the bundle.
    match engine("tiny_bundle_bf16", BackendKind::Auto) {
        Ok(bf16) => assert_eq!(bf16.backend(), BackendKind::TensorRt),
        Err(error) => assert_eq!(error.kind(), ErrorKind::BackendUnavailable, "{error:?}"),
    }
}

#[test]
fn a_precision_the_manifest_does_not_know_is_a_bundle_error() {
    let dir = vsrqa_testkit::copy_of(&data().join("tiny_bundle_fp16"));
    let manifest = dir.path().join("vsrqa.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replacen("\"precision\": \"fp16\"", "\"precision\": \"fp8\"", 1)).unwrap();
    let Err(error) = Bundle::load(dir.path()) else { panic!("fp8 is refused") };
    assert!(error.to_string().contains("fp8"), "{error}");
}
