//! Parity of the spatial branch with RQ-VQA (tools/fixtures/make_tiny_bundle.py writes the goldens
//! with OpenCV 4.10, Pillow and torchvision, the reference's own libraries).
//!
//! Tolerances, and why:
//! - Preprocessing: exact. The reference resizes key frames with `cv2.resize` (INTER_LINEAR,
//!   8-bit fixed point) and stores PNGs; `src/frame/opencv_linear.rs` follows OpenCV's integer
//!   arithmetic step by step, and the crop/normalization are the same f32 operations as
//!   torchvision's ToTensor + Normalize.
//! - Network (tiny Swin + BoTStack, random weights): 1e-4 relative to the largest feature
//!   magnitude, the target; tract and PyTorch order f32 sums differently (observed ~1e-6).

mod golden;
#[path = "support/preprocess_cases.rs"]
mod preprocess_cases;

use golden::{data, differing_bytes, float_image, max_relative_diff, rgb_frames, tiny_branch, Golden};
use vsrqa::backend::{cpu::CpuBackend, Backend};
use vsrqa::bundle::{Bundle, PreprocessOp};
use vsrqa::frame::opencv_linear;
use vsrqa::frame::ops::{self, FloatImage};
use vsrqa::preprocess;

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;

/// The full-size recipe: RQ-VQA's frame extraction (short side 384 with cv2.resize) and test.py's
/// Resize(384) + CenterCrop(384) (identities/crops on the 8-bit image), then Normalize.
fn full_size_ops() -> Vec<PreprocessOp> {
    preprocess_cases::full_size_ops("spatial")
}

#[test]
fn parity_spatial_preprocessing_matches_opencv_pil_torchvision_at_384() {
    let golden = Golden::load("spatial384_kf1.safetensors");
    let frame = &rgb_frames()[8]; // key frame 1 at 8 fps

    // The 8-bit crop, through the same functions the preprocess op list calls.
    let image = FloatImage::try_from_rgb(frame).unwrap();
    let (width, height) = ops::short_side_size(image.width, image.height, 384);
    assert_eq!((width, height), (537, 384));
    let resized = opencv_linear::resize(&image, width, height).unwrap();
    let left = ops::center_crop_offset(width, 384);
    let top = ops::center_crop_offset(height, 384);
    let crop = ops::crop(&resized, left, top, 384, 384).unwrap();
    let (shape, expected) = golden.u8("crop_u8");
    assert_eq!(shape, vec![384, 384, 3]);
    let got: Vec<u8> = crop.data.iter().map(|&v| v as u8).collect();
    let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} of {} bytes differ from OpenCV + PIL", expected.len());

    // The normalized network input, first row of each channel, exactly torchvision's.
    let input = preprocess::run(&full_size_ops(), frame).unwrap();
    assert_eq!(input.len(), 3 * 384 * 384);
    let (shape, expected) = golden.f32("normalized_row0");
    assert_eq!(shape, vec![3, 384]);
    for c in 0..3 {
        let row = &input[c * 384 * 384..c * 384 * 384 + 384];
        assert_eq!(row, &expected[c * 384..(c + 1) * 384], "channel {c}");
    }
}

#[test]
fn parity_spatial_opencv_linear_matches_cv2_on_odd_sizes() {
    let golden = Golden::load("opencv_linear_cases.safetensors");
    let cases = golden.names().iter().filter(|n| n.ends_with(".input")).count();
    assert_eq!(cases, 5);
    for i in 0..cases {
        let (in_shape, input) = golden.u8(&format!("case{i}.input"));
        let (out_shape, expected) = golden.u8(&format!("case{i}.output"));
        let got = opencv_linear::resize(&float_image(&in_shape, &input), out_shape[1], out_shape[0]).unwrap();
        let differing = differing_bytes(&got.data, &expected);
        assert_eq!(differing, 0, "case {i} {in_shape:?} -> {out_shape:?}: {differing} bytes differ from cv2.resize");
    }
}

#[test]
fn parity_spatial_network_matches_pytorch() {
    let golden = Golden::load("tiny_sample.safetensors");
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let (spec, file) = tiny_branch(&bundle, "spatial");
    let spec = &spec;
    assert_eq!(spec.name, "spatial");
    let network = CpuBackend::new(1).load_network(&file.path, &spec.sample_shape()).unwrap();
    let rgb = rgb_frames();
    let mut batch = Vec::new();
    for k in [0usize, 8, 16] {
        batch.extend(preprocess::run(&spec.preprocess, &rgb[k]).unwrap());
    }
    let (_, expected_input) = golden.f32("spatial.input.kf0");
    assert_eq!(&batch[..expected_input.len()], &expected_input[..], "preprocessed key frame 0");

    let output = network.run(3, &batch).unwrap();
    let (shape, expected) = golden.f32("spatial.features");
    assert_eq!(output.shape, shape);
    let relative = max_relative_diff(&output.data, &expected);
    assert!(relative <= NETWORK_RELATIVE_TOLERANCE, "max |diff| relative to max |feature|: {relative:e}");
}
