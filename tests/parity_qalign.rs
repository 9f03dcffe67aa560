//! Parity of the Q-Align branch with RQ-VQA's Q-Align feature extraction (tools/fixtures/
//! make_tiny_bundle.py writes the goldens with Pillow 12, Q-Align's own `expand2square` and model
//! code, and transformers 4.36.1's CLIPImageProcessor).
//!
//! Tolerances, and why:
//! - Preprocessing: exact. Halves and `expand2square` are copies of 8-bit pixels, the resize is
//!   Pillow's bicubic (reproduced bit for bit), and `* (1 / 255)` in float64 then float32 equals
//!   float32 `v / 255` for all 256 byte values, so the normalization is the same f32 operations.
//! - Network (tiny mPLUG-Owl2: vision encoder, visual abstractor, 2-layer LLaMA with the
//!   modality-adaptive modules, random weights): 1e-4 relative to the largest feature magnitude;
//!   tract and PyTorch order f32 sums differently (observed ~1e-7).
//!
//! Not covered here, by necessity: the reference runs One-Align in 8-bit (bitsandbytes) with fp16
//! inputs; vsrqa computes in fp32 (docs/branches.md).

mod golden;

use golden::{data, max_relative_diff, rgb_frames, tiny_branch, Golden};
use vsrqa::backend::{cpu::CpuBackend, Backend};
use vsrqa::bundle::{Bundle, PreprocessOp, Resize};
use vsrqa::frame::ops::{self, FloatImage};
use vsrqa::preprocess;

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;

/// The full-size recipe: halves, expand2square, CLIPImageProcessor at 448 (bicubic), with the
/// tiny bundle's background and normalization (the same values).
fn full_size_ops() -> Vec<PreprocessOp> {
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let mut ops = tiny_branch(&bundle, "qalign").0.preprocess.clone();
    assert!(matches!(ops[2], PreprocessOp::Resize(_)));
    if let PreprocessOp::Resize(Resize { height, width, .. }) = &mut ops[2] {
        (*height, *width) = (448, 448);
    }
    ops
}

#[test]
fn parity_qalign_halves_are_expanded_like_expand2square() {
    // A 5x3 image: halves of 1 and 2 rows; each padded to 5x5 with the fill, pasted at row 2 and 1.
    let image = FloatImage { width: 5, height: 3, data: (0..45).map(|v| v as f32).collect() };
    let [upper, lower] = ops::split_halves(&image).unwrap();
    assert_eq!((upper.height, lower.height), (1, 2));
    let square = ops::expand_to_square(&upper, [7, 8, 9]).unwrap();
    assert_eq!((square.width, square.height), (5, 5));
    assert_eq!(&square.data[..3], &[7.0, 8.0, 9.0]);
    assert_eq!(&square.data[2 * 15..3 * 15], &image.data[..15]); // row 2 is the pasted row
    let square = ops::expand_to_square(&lower, [7, 8, 9]).unwrap();
    assert_eq!(&square.data[15..45], &image.data[15..45]); // rows 1-2: the lower half
}

#[test]
fn parity_qalign_preprocessing_matches_clip_image_processor_at_448() {
    let golden = Golden::load("qalign448_kf1.safetensors");
    let input = preprocess::run(&full_size_ops(), &rgb_frames()[8]).unwrap();
    let plane = 448 * 448;
    assert_eq!(input.len(), 2 * 3 * plane);
    for y in [0usize, 300] {
        let (shape, expected) = golden.f32(&format!("rows{y}"));
        assert_eq!(shape, vec![2, 3, 448]);
        let rows: Vec<f32> =
            (0..6).flat_map(|p| input[p * plane + y * 448..p * plane + (y + 1) * 448].to_vec()).collect();
        assert_eq!(rows, expected, "row {y} of each half and channel");
    }
    let (_, sums) = golden.f64("sums");
    for (p, expected) in sums.iter().enumerate() {
        let sum: f64 = input[p * plane..(p + 1) * plane].iter().map(|&v| f64::from(v)).sum();
        assert!((sum - expected).abs() <= 1e-9 * expected.abs().max(1.0), "half/channel {p}: sum {sum} vs {expected}");
    }
}

#[test]
fn parity_qalign_network_matches_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, file) = tiny_branch(&bundle, "qalign");
    let spec = &spec;
    assert_eq!(spec.name, "qalign");
    assert_eq!(spec.sample_shape(), vec![2, 3, 56, 56]);
    let input = preprocess::run(&spec.preprocess, &rgb_frames()[8]).unwrap();
    let (_, expected_input) = golden.f32("qalign.input.kf1");
    assert_eq!(input, expected_input, "preprocessed key frame 1 (halves)");
    let network = CpuBackend::new(1).load_network(&file.path, &spec.sample_shape()).unwrap();
    let output = network.run(1, &input).unwrap();
    let (_, features) = golden.f32("qalign.features");
    let relative = max_relative_diff(&output.data, &features[64..128]);
    assert!(relative <= NETWORK_RELATIVE_TOLERANCE, "max |diff| relative to max |feature|: {relative:e}");
}
