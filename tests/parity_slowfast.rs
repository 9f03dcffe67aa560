//! Parity of the SlowFast branch with RQ-VQA (tools/fixtures/make_tiny_bundle.py writes the goldens
//! with Pillow 12, torchvision and pytorchvideo, the reference's own libraries).
//!
//! Tolerances, and why:
//! - Preprocessing: exact. The reference resizes every frame with torchvision's `Resize([224, 224])`
//!   on a PIL image, i.e. Pillow's fixed-point resampler, which `src/frame/pil_resample.rs`
//!   follows step by step; ToTensor + Normalize are the same f32 operations.
//! - Network (fast pathway of a tiny pytorchvideo SlowFast, random weights): 1e-4 relative to the
//!   largest feature magnitude, the target; tract and PyTorch order f32 sums differently
//!   (observed ~1e-7).
//! - Sampling: scores within 1e-6 (observed ~1e-8). The reference loader's rule and the plain
//!   "window at every key frame" rule give clip scores 2e-4 to 3e-3 apart on these cases
//!   (asserted by the fixture script), so a wrong chunk position cannot pass.

mod golden;
#[path = "support/preprocess_cases.rs"]
mod preprocess_cases;

use golden::{
    data, differing_bytes, float_image, max_relative_diff, rgb_frames, sample_frames, tiny_branch, views, Golden,
};
use vsrqa::backend::{cpu::CpuBackend, Backend, BackendKind};
use vsrqa::bundle::{Bundle, PreprocessOp};
use vsrqa::frame::ops::FloatImage;
use vsrqa::frame::pil_resample::{self, Filter};
use vsrqa::preprocess;
use vsrqa::{Engine, EngineOptions};

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;
const SCORE_TOLERANCE: f64 = 1e-6;

/// The full-size recipe of `extract_SlowFast_feature_VQA.py`: Resize([224, 224]), ToTensor,
/// Normalize(0.45, 0.225).
fn full_size_ops() -> Vec<PreprocessOp> {
    preprocess_cases::full_size_ops("slowfast")
}

#[test]
fn parity_slowfast_preprocessing_matches_pil_torchvision_at_224() {
    let golden = Golden::load("slowfast224_f3.safetensors");
    let frame = &rgb_frames()[3];

    let resized = pil_resample::resize(&FloatImage::try_from_rgb(frame).unwrap(), 224, 224, Filter::Bilinear).unwrap();
    let (shape, expected) = golden.u8("resized_u8");
    assert_eq!(shape, vec![224, 224, 3]);
    let differing = differing_bytes(&resized.data, &expected);
    assert_eq!(differing, 0, "{differing} of {} bytes differ from torchvision Resize on PIL", expected.len());

    let input = preprocess::run(&full_size_ops(), frame).unwrap();
    assert_eq!(input.len(), 3 * 224 * 224);
    let (shape, expected) = golden.f32("normalized_row0");
    assert_eq!(shape, vec![3, 224]);
    for c in 0..3 {
        let row = &input[c * 224 * 224..c * 224 * 224 + 224];
        assert_eq!(row, &expected[c * 224..(c + 1) * 224], "channel {c}");
    }
}

#[test]
fn parity_slowfast_pil_resize_matches_pillow_on_odd_sizes() {
    let golden = Golden::load("pil_resize_cases.safetensors");
    let cases = golden.names().iter().filter(|n| n.ends_with(".input")).count();
    assert_eq!(cases, 5);
    for i in 0..cases {
        let (in_shape, input) = golden.u8(&format!("case{i}.input"));
        let image = float_image(&in_shape, &input);
        for (name, filter) in [("bilinear", Filter::Bilinear), ("bicubic", Filter::Bicubic)] {
            let (out_shape, expected) = golden.u8(&format!("case{i}.{name}"));
            let got = pil_resample::resize(&image, out_shape[1], out_shape[0], filter).unwrap();
            let differing = differing_bytes(&got.data, &expected);
            assert_eq!(
                differing, 0,
                "case {i} {in_shape:?} -> {out_shape:?} {name}: {differing} bytes differ from Pillow"
            );
        }
    }
}

#[test]
fn parity_slowfast_network_matches_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, file) = tiny_branch(&bundle, "slowfast");
    let spec = &spec;
    assert_eq!(spec.name, "slowfast");
    let network = CpuBackend::new(1).load_network(&file.path, &spec.sample_shape()).unwrap();
    // Key frame 2's input (the reference's chunk 1, frames 8..16), as the golden stores it.
    let (shape, input) = golden.f32("slowfast.input.kf2");
    assert_eq!(shape, vec![1, 3, 8, 64, 64]);
    let output = network.run(1, &input).unwrap();
    let (_, features) = golden.f32("slowfast.features");
    let expected = &features[2 * 64..3 * 64];
    assert_eq!(output.shape, vec![1, 64]);
    let relative = max_relative_diff(&output.data, expected);
    assert!(relative <= NETWORK_RELATIVE_TOLERANCE, "max |diff| relative to max |feature|: {relative:e}");
}

#[test]
fn parity_slowfast_sampling_matches_reference_loader() {
    // The sample's 20 frames scored at other frame rates; the goldens come from the reference's
    // chunk rule (tools/vsrqa_ref/preprocess.py `reference_slowfast_chunk_starts`), e.g. at 6.5 fps
    // key frames 0, 6, 12, 18 read chunks 0, 6, 12, 12.
    let golden = Golden::load("tiny_sample.safetensors");
    let (frames, width, height, _) = sample_frames();
    let engine =
        Engine::new(data("tiny_bundle"), EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() })
            .unwrap();
    for fps in [3.0, 6.5, 25.0, 0.4] {
        let mut session = engine.session(fps).unwrap();
        for frame in views(&frames, width, height) {
            session.push(frame).unwrap();
        }
        let clip = session.finish().unwrap();
        let scores: Vec<f64> = std::iter::from_fn(|| session.poll()).map(|s| s.score).collect();
        let (_, expected_frames) = golden.f32(&format!("fps_cases.{fps:?}.frame_scores"));
        let (_, expected_clip) = golden.f32(&format!("fps_cases.{fps:?}.clip_score"));
        assert_eq!(scores.len(), expected_frames.len(), "fps {fps}: key frames");
        for (k, (got, expected)) in scores.iter().zip(&expected_frames).enumerate() {
            let diff = (got - f64::from(*expected)).abs();
            assert!(diff <= SCORE_TOLERANCE, "fps {fps}, key frame {k}: {got} vs {expected}");
        }
        let diff = (clip.score - f64::from(expected_clip[0])).abs();
        assert!(diff <= SCORE_TOLERANCE, "fps {fps}: clip {} vs {}", clip.score, expected_clip[0]);
    }
}
