//! End-to-end parity of the CPU path with the PyTorch reference on the tiny bundle
//! (tests/data/golden, made by tools/fixtures/make_tiny_bundle.py), stage by stage, so that a
//! failure names the stage that drifted.
//!
//! Tolerances (absolute), and why:
//! - RGB conversion and preprocessing: exact. Both sides convert YUV in f64 with round-half-even
//!   and evaluate bilinear resizes exactly (docs/bundle.md); normalization is the same f32 ops.
//! - Branch features: 1e-5. tract and PyTorch sum convolutions and matmuls in different orders
//!   (f32); observed differences are around 1e-6.
//! - Scores: 1e-6 (observed ~3e-8), the feature error carried through two small Linear layers
//!   (and the sigmoid, whose slope is at most 1/4).

mod golden;

use golden::{data, max_abs_diff, rgb_frames, sample_frames, views, Golden};
use vsrqa::backend::{cpu::CpuBackend, Backend, BackendKind};
use vsrqa::bundle::{Bundle, Scope};
use vsrqa::preprocess;
use vsrqa::{Engine, EngineOptions};

const FEATURE_TOLERANCE: f64 = 1e-5;
const SCORE_TOLERANCE: f64 = 1e-6;

#[test]
fn golden_rgb_conversion_is_exact() {
    let golden = Golden::load("tiny_sample.safetensors");
    let (shape, expected) = golden.f32("rgb.frame0");
    let rgb = &rgb_frames()[0];
    assert_eq!(shape, vec![rgb.height, rgb.width, 3]);
    let got: Vec<f32> = rgb.data.iter().map(|&v| f32::from(v)).collect();
    assert_eq!(max_abs_diff(&got, &expected), 0.0);
}

#[test]
fn golden_preprocessing_is_exact() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let rgb = rgb_frames();
    let spatial = &bundle.manifest.branches[0];
    let got = preprocess::run(&spatial.preprocess, &rgb[0]).unwrap();
    let (_, expected) = golden.f32("spatial.input.kf0");
    assert_eq!(max_abs_diff(&got, &expected), 0.0, "spatial input of key frame 0");

    // Key frame 2 is frame 16, in the clip's unfinished third second (20 frames at 8 fps): like
    // the reference's SlowFast loader, it reads the last whole second's chunk, frames 8..16.
    // Layout [3, T, H, W].
    let slowfast = &bundle.manifest.branches[1];
    assert_eq!(slowfast.scope, Scope::Window);
    let per_frame: Vec<Vec<f32>> =
        (8..16).map(|i: usize| preprocess::run(&slowfast.preprocess, &rgb[i]).unwrap()).collect();
    let plane = 64 * 64;
    let mut got = Vec::new();
    for c in 0..3 {
        for frame in &per_frame {
            got.extend_from_slice(&frame[c * plane..(c + 1) * plane]);
        }
    }
    let (_, expected) = golden.f32("slowfast.input.kf2");
    assert_eq!(max_abs_diff(&got, &expected), 0.0, "SlowFast input of key frame 2");
}

#[test]
fn golden_branch_features_match_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let backend = CpuBackend::new(1);
    let rgb = rgb_frames();
    let key_frames = [0usize, 8, 16];
    // The SlowFast chunk each key frame reads (see golden_preprocessing_is_exact).
    let window_starts = [0usize, 8, 8];
    // The clip branch (FAST-VQA) has no per-key-frame input: tests/parity_fastvqa.rs covers it.
    for (spec, file) in bundle.manifest.branches.iter().zip(&bundle.networks).filter(|(s, _)| s.scope != Scope::Clip) {
        let network = backend.load_network(&file.path, &spec.sample_shape()).unwrap();
        let frames_per_sample = spec.window.map_or(1, |w| w.frames);
        let mut batch = Vec::new();
        for (&key, &window) in key_frames.iter().zip(&window_starts) {
            let first = if frames_per_sample == 1 { key } else { window };
            let frames: Vec<Vec<f32>> = (first..first + frames_per_sample)
                .map(|i| preprocess::run(&spec.preprocess, &rgb[i.min(rgb.len() - 1)]).unwrap())
                .collect();
            if let [frame] = &frames[..] {
                batch.extend_from_slice(frame); // [3, H, W], or [P, 3, H, W] patches
                continue;
            }
            let plane = spec.input.height * spec.input.width;
            for c in 0..3 {
                for frame in &frames {
                    batch.extend_from_slice(&frame[c * plane..(c + 1) * plane]);
                }
            }
        }
        // One batch of 3 samples, as the reference ran it.
        let output = network.run(key_frames.len(), &batch).unwrap();
        let (shape, expected) = golden.f32(&format!("{}.features", spec.name));
        assert_eq!(output.shape, shape, "branch {}", spec.name);
        let diff = max_abs_diff(&output.data, &expected);
        assert!(diff <= FEATURE_TOLERANCE, "branch {}: max |diff| {diff:e} > {FEATURE_TOLERANCE:e}", spec.name);
    }
}

#[test]
fn golden_head_outputs_from_golden_features() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (_, spatial) = golden.f32("spatial.features");
    let (_, slowfast) = golden.f32("slowfast.features");
    let (_, qalign) = golden.f32("qalign.features");
    let (_, liqe) = golden.f32("liqe.features");
    let (_, fastvqa) = golden.f32("fastvqa.clip_feature"); // the same in every slot
    let (_, expected) = golden.f32("head.outputs");
    for k in 0..3 {
        let mut features = spatial[k * 16..(k + 1) * 16].to_vec();
        features.extend_from_slice(&slowfast[k * 64..(k + 1) * 64]);
        features.extend_from_slice(&qalign[k * 64..(k + 1) * 64]);
        features.extend_from_slice(&liqe[k * 495..(k + 1) * 495]);
        features.extend_from_slice(&fastvqa);
        let got = bundle.head.frame_output(&features);
        // Same features: only the head's own rounding differs (f64 accumulation here).
        assert!((f64::from(got) - f64::from(expected[k])).abs() <= 1e-6, "key frame {k}: {got} vs {}", expected[k]);
    }
}

#[test]
fn parity_end_to_end_clip_and_frame_scores_match_reference() {
    let golden = Golden::load("tiny_sample.safetensors");
    let (frames, width, height, fps) = sample_frames();
    let engine =
        Engine::new(data("tiny_bundle"), EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() })
            .unwrap();
    let mut session = engine.session(fps).unwrap();
    let mut scores = Vec::new();
    for frame in views(&frames, width, height) {
        session.push(frame).unwrap();
        scores.extend(std::iter::from_fn(|| session.poll()));
    }
    let clip = session.finish().unwrap();
    scores.extend(std::iter::from_fn(|| session.poll()));

    let (_, expected_frames) = golden.f32("frame_scores");
    let (_, expected_clip) = golden.f32("clip_score");
    assert_eq!(scores.iter().map(|s| s.frame_index).collect::<Vec<_>>(), vec![0, 8, 16]);
    for (got, expected) in scores.iter().zip(&expected_frames) {
        let diff = (got.score - f64::from(*expected)).abs();
        assert!(diff <= SCORE_TOLERANCE, "frame {}: {} vs {expected} (|diff| {diff:e})", got.frame_index, got.score);
    }
    let diff = (clip.score - f64::from(expected_clip[0])).abs();
    assert!(diff <= SCORE_TOLERANCE, "clip: {} vs {} (|diff| {diff:e})", clip.score, expected_clip[0]);
    assert_eq!((clip.frames, clip.key_frames, clip.pooled_slots), (20, 3, 8));
}
