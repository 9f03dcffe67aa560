//! Parity of the LIQE branch with RQ-VQA (tools/fixtures/make_tiny_bundle.py writes the goldens with
//! PyTorch's `unfold`, Pillow 12 and the `clip` package, the reference's own libraries).
//!
//! Tolerances, and why:
//! - Patch positions and preprocessing: exact. The patches are crops of the 8-bit key frame and the
//!   normalization is the same f32 operations as torchvision's ToTensor + Normalize.
//! - Network (tiny CLIP vision tower + constant text features, random weights): 1e-4 relative to the
//!   largest logit, the target; tract and PyTorch order f32 sums differently (observed ~1e-7).

mod golden;

use golden::{data, max_relative_diff, rgb_frames, tiny_branch, Golden};
use vsrqa::backend::{cpu::CpuBackend, Backend};
use vsrqa::bundle::{Bundle, PatchGrid, PreprocessOp};
use vsrqa::frame::ops;
use vsrqa::preprocess;

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;
/// The full-size recipe of LIQE.py: 15 patches of 224 at stride 32, then CLIP's normalization
/// (taken from the tiny bundle, which uses the same).
fn full_size_ops() -> Vec<PreprocessOp> {
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let normalize = tiny_branch(&bundle, "liqe").0.preprocess.last().unwrap().clone();
    assert!(matches!(normalize, PreprocessOp::Normalize(_)));
    vec![PreprocessOp::PatchGrid(PatchGrid { size: 224, stride: 32, count: 15 }), normalize]
}

/// Row `y` of each of `count` normalized `[3, size, size]` patches, as `[count, 3, size]`.
fn patch_rows(input: &[f32], count: usize, size: usize, y: usize) -> Vec<f32> {
    let mut rows = Vec::with_capacity(count * 3 * size);
    for p in 0..count {
        for c in 0..3 {
            let start = ((p * 3 + c) * size + y) * size;
            rows.extend_from_slice(&input[start..start + size]);
        }
    }
    rows
}

#[test]
fn parity_liqe_patch_positions_match_unfold() {
    let golden = Golden::load("liqe_patches.safetensors");
    let mut sizes = 0;
    for name in golden.names().into_iter().filter(|n| n.starts_with("positions.")) {
        let (h, w) = name.trim_start_matches("positions.").split_once('x').unwrap();
        let (height, width): (usize, usize) = (h.parse().unwrap(), w.parse().unwrap());
        let (shape, expected) = golden.i32(&name);
        assert_eq!(shape, vec![15, 2]);
        let got: Vec<i32> = ops::patch_grid_positions(width, height, 224, 32, 15)
            .into_iter()
            .flat_map(|(left, top)| [left as i32, top as i32])
            .collect();
        assert_eq!(got, expected, "{width}x{height}");
        sizes += 1;
    }
    assert_eq!(sizes, 7);
}

#[test]
fn parity_liqe_small_frame_is_enlarged_like_pil_bicubic() {
    // The sample is 112x80, smaller than a 224 patch: enlarged to 313x224 with Pillow's bicubic.
    let golden = Golden::load("liqe_patches.safetensors");
    let input = preprocess::run(&full_size_ops(), &rgb_frames()[8]).unwrap();
    assert_eq!(input.len(), 15 * 3 * 224 * 224);
    for y in [0, 223] {
        let (shape, expected) = golden.f32(&format!("small_frame.rows{y}"));
        assert_eq!(shape, vec![15, 3, 224]);
        assert_eq!(patch_rows(&input, 15, 224, y), expected, "row {y} of each patch");
    }
}

#[test]
fn parity_liqe_preprocessing_matches_reference() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, _) = tiny_branch(&bundle, "liqe");
    let spec = &spec;
    assert_eq!((spec.name.as_str(), spec.images_per_frame()), ("liqe", Some(15)));
    let input = preprocess::run(&spec.preprocess, &rgb_frames()[8]).unwrap();
    let (shape, expected) = golden.f32("liqe.input.kf1.rows0");
    assert_eq!(shape, vec![15, 3, 64]);
    assert_eq!(patch_rows(&input, 15, 64, 0), expected);
}

#[test]
fn parity_liqe_network_matches_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, file) = tiny_branch(&bundle, "liqe");
    let spec = &spec;
    assert_eq!(spec.sample_shape(), vec![15, 3, 64, 64]);
    let network = CpuBackend::new(1).load_network(&file.path, &spec.sample_shape()).unwrap();
    let input = preprocess::run(&spec.preprocess, &rgb_frames()[8]).unwrap();
    let output = network.run(1, &input).unwrap();
    assert_eq!(output.shape, vec![1, 495]);
    let (_, features) = golden.f32("liqe.features");
    let relative = max_relative_diff(&output.data, &features[495..2 * 495]);
    assert!(relative <= NETWORK_RELATIVE_TOLERANCE, "max |diff| relative to max |logit|: {relative:e}");
}
