//! Parity of the FAST-VQA branch with RQ-VQA's FAST-VQA feature extraction (tools/fixtures/
//! make_tiny_bundle.py writes the goldens with tools/vsrqa_ref/fastvqa.py, which
//! tools/fixtures/check_fastvqa.py checks against FAST-VQA's own sampling functions).
//!
//! The reference draws its temporal and spatial offsets at random; vsrqa (and these goldens) use
//! the middle of each range, so "the reference" here is the reference's functions with those
//! offsets.
//!
//! Tolerances, and why:
//! - Frame indices and fragments: exact. Fragments are crops of the 8-bit frame; frames smaller
//!   than the mosaic are enlarged with torch's float32 bilinear arithmetic, reproduced operation
//!   by operation, and truncated to 8 bits as the reference does.
//! - Clip feature (tiny FAST-VQA Swin3D, random weights, 2 segments averaged): 1e-4 relative to the
//!   largest feature magnitude, the target; tract and PyTorch order f32 sums differently.

mod golden;

use golden::{data, differing_bytes, float_image, max_relative_diff, rgb_frames, tiny_branch, Golden};
use vsrqa::backend::cpu::CpuBackend;
use vsrqa::branch::Branch;
use vsrqa::bundle::{Bundle, ClipSampling, Scope};
use vsrqa::frame::fragments::fragments;
use vsrqa::frame::ops::FloatImage;

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;

#[test]
fn parity_fastvqa_fragments_match_reference_at_full_size() {
    // The sample is 112x80, smaller than the 224 mosaic: enlarged by 2.8 first, cells placed on
    // the original 112x80 grid.
    let golden = Golden::load("fragments_cases.safetensors");
    let got = fragments(&FloatImage::try_from_rgb(&rgb_frames()[1]).unwrap(), 7, 32).unwrap();
    let (shape, expected) = golden.u8("sample_frame.full");
    assert_eq!(shape, vec![224, 224, 3]);
    let differing = differing_bytes(&got.data, &expected);
    assert_eq!(differing, 0, "{differing} of {} bytes differ", expected.len());
}

#[test]
fn parity_fastvqa_fragments_on_odd_sizes() {
    let golden = Golden::load("fragments_cases.safetensors");
    let cases = golden.names().iter().filter(|n| n.ends_with(".input")).count();
    assert_eq!(cases, 6);
    for i in 0..cases {
        let (in_shape, input) = golden.u8(&format!("case{i}.input"));
        let (_, expected) = golden.u8(&format!("case{i}.mosaic"));
        let got = fragments(&float_image(&in_shape, &input), 2, 32).unwrap();
        let differing = differing_bytes(&got.data, &expected);
        assert_eq!(differing, 0, "case {i} {in_shape:?}: {differing} bytes differ");
    }
}

#[test]
fn parity_fastvqa_segment_frames_match_reference_sampler() {
    let golden = Golden::load("fragments_cases.safetensors");
    let sampling = ClipSampling { segments: 4, frames: 32, interval: 2 };
    let mut lengths = 0;
    for name in golden.names().into_iter().filter(|n| n.starts_with("indices.n")) {
        let n: u64 = name.trim_start_matches("indices.n").parse().unwrap();
        let (_, expected) = golden.i32(&name);
        let got: Vec<i32> = sampling.frame_indices(n).into_iter().map(|i| i as i32).collect();
        assert_eq!(got, expected, "clip of {n} frames");
        lengths += 1;
    }
    assert_eq!(lengths, 7);
}

#[test]
fn parity_fastvqa_clip_feature_matches_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, file) = tiny_branch(&bundle, "fastvqa");
    let spec = &spec;
    assert_eq!((spec.name.as_str(), spec.scope), ("fastvqa", Scope::Clip));
    let branch = Branch::load(spec, &file, &CpuBackend::new(1)).unwrap();
    let frames: Vec<Vec<u8>> = rgb_frames().iter().map(|f| branch.clip_frame(f).unwrap()).collect();
    // The tiny sampling (2 segments of 8 frames at interval 1) on the sample's 20 frames.
    let indices = spec.clip.unwrap().frame_indices(frames.len() as u64);
    assert_eq!(indices, (1..9).chain(11..19).collect::<Vec<u64>>());
    let sampled: Vec<&[u8]> = indices.iter().map(|&i| frames[i as usize].as_slice()).collect();
    let got = branch.clip_feature(&sampled).unwrap();
    let (shape, expected) = golden.f32("fastvqa.clip_feature");
    assert_eq!(shape, vec![1, 32]);
    let relative = max_relative_diff(&got, &expected);
    assert!(relative <= NETWORK_RELATIVE_TOLERANCE, "max |diff| relative to max |feature|: {relative:e}");
}
