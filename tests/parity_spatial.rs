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

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use vsrqa::backend::{cpu::CpuBackend, Backend};
use vsrqa::branch::{preprocess, sample_shape};
use vsrqa::bundle::{Bundle, Interpolation, PreprocessOp};
use vsrqa::frame::ops::FloatImage;
use vsrqa::frame::{convert, opencv_linear, FrameView, PixelFormat, RgbImage};
use vsrqa::video::y4m::Y4mReader;

const NETWORK_RELATIVE_TOLERANCE: f64 = 1e-4;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

fn rgb_frames() -> Vec<RgbImage> {
    let mut reader = Y4mReader::new(BufReader::new(File::open(data("sample.y4m")).unwrap())).unwrap();
    let (width, height) = (reader.header.width, reader.header.height);
    let mut buffer = Vec::new();
    let mut frames = Vec::new();
    while reader.read_frame(&mut buffer).unwrap() {
        let view = FrameView::packed(PixelFormat::I420, width, height, &buffer).unwrap();
        frames.push(convert::to_rgb8(&view).unwrap());
    }
    frames
}

fn tensor_u8(tensors: &SafeTensors, name: &str) -> (Vec<usize>, Vec<u8>) {
    let view = tensors.tensor(name).unwrap_or_else(|_| panic!("golden tensor {name} missing"));
    assert_eq!(view.dtype(), safetensors::Dtype::U8, "{name}");
    (view.shape().to_vec(), view.data().to_vec())
}

fn tensor_f32(tensors: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = tensors.tensor(name).unwrap_or_else(|_| panic!("golden tensor {name} missing"));
    let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (view.shape().to_vec(), values)
}

/// The full-size recipe: RQ-VQA's frame extraction (short side 384 with cv2.resize) and test.py's
/// Resize(384) + CenterCrop(384) (identities/crops on the 8-bit image), then Normalize.
fn full_size_ops() -> Vec<PreprocessOp> {
    vec![
        PreprocessOp::ResizeShortSide { size: 384, interpolation: Interpolation::OpencvLinear, round_to_u8: false },
        PreprocessOp::CenterCrop { height: 384, width: 384 },
        PreprocessOp::Normalize { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ]
}

#[test]
fn parity_spatial_preprocessing_matches_opencv_pil_torchvision_at_384() {
    let bytes = std::fs::read(data("golden/spatial384_kf1.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&bytes).unwrap();
    let frame = &rgb_frames()[8]; // key frame 1 at 8 fps

    // The 8-bit crop, through the same functions the preprocess op list calls.
    let image = FloatImage::from(frame);
    let (width, height) = vsrqa::frame::ops::short_side_size(image.width, image.height, 384);
    assert_eq!((width, height), (537, 384));
    let resized = opencv_linear::resize(&image, width, height).unwrap();
    let left = vsrqa::frame::ops::center_crop_offset(width, 384);
    let top = vsrqa::frame::ops::center_crop_offset(height, 384);
    let crop = vsrqa::frame::ops::crop(&resized, left, top, 384, 384);
    let (shape, expected) = tensor_u8(&golden, "crop_u8");
    assert_eq!(shape, vec![384, 384, 3]);
    let got: Vec<u8> = crop.data.iter().map(|&v| v as u8).collect();
    let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} of {} bytes differ from OpenCV + PIL", expected.len());

    // The normalized network input, first row of each channel, exactly torchvision's.
    let input = preprocess::run(&full_size_ops(), frame).unwrap();
    assert_eq!(input.len(), 3 * 384 * 384);
    let (shape, expected) = tensor_f32(&golden, "normalized_row0");
    assert_eq!(shape, vec![3, 384]);
    for c in 0..3 {
        let row = &input[c * 384 * 384..c * 384 * 384 + 384];
        assert_eq!(row, &expected[c * 384..(c + 1) * 384], "channel {c}");
    }
}

#[test]
fn parity_spatial_opencv_linear_matches_cv2_on_odd_sizes() {
    let bytes = std::fs::read(data("golden/opencv_linear_cases.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&bytes).unwrap();
    let cases = golden.names().iter().filter(|n| n.ends_with(".input")).count();
    assert_eq!(cases, 5);
    for i in 0..cases {
        let (in_shape, input) = tensor_u8(&golden, &format!("case{i}.input"));
        let (out_shape, expected) = tensor_u8(&golden, &format!("case{i}.output"));
        let image =
            FloatImage { width: in_shape[1], height: in_shape[0], data: input.iter().map(|&v| f32::from(v)).collect() };
        let got = opencv_linear::resize(&image, out_shape[1], out_shape[0]).unwrap();
        let got: Vec<u8> = got.data.iter().map(|&v| v as u8).collect();
        let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "case {i} {in_shape:?} -> {out_shape:?}: {differing} bytes differ from cv2.resize");
    }
}

#[test]
fn parity_spatial_network_matches_pytorch() {
    let bytes = std::fs::read(data("golden/tiny_sample.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&bytes).unwrap();
    let bundle = Bundle::load(data("tiny_bundle")).unwrap();
    let spec = &bundle.manifest.branches[0];
    assert_eq!(spec.name, "spatial");
    let network = CpuBackend::new(1).load_network(&bundle.networks[0].path, &sample_shape(spec)).unwrap();
    let rgb = rgb_frames();
    let mut batch = Vec::new();
    for k in [0usize, 8, 16] {
        batch.extend(preprocess::run(&spec.preprocess, &rgb[k]).unwrap());
    }
    let (_, expected_input) = tensor_f32(&golden, "spatial.input.kf0");
    assert_eq!(&batch[..expected_input.len()], &expected_input[..], "preprocessed key frame 0");

    let output = network.run(3, &batch).unwrap();
    let (shape, expected) = tensor_f32(&golden, "spatial.features");
    assert_eq!(output.shape, shape);
    let scale = expected.iter().map(|v| f64::from(v.abs())).fold(0.0, f64::max);
    let diff = output.data.iter().zip(&expected).map(|(a, b)| f64::from(a - b).abs()).fold(0.0, f64::max);
    assert!(scale > 0.1, "degenerate golden features (max |v| {scale})");
    assert!(diff / scale <= NETWORK_RELATIVE_TOLERANCE, "max |diff| {diff:e} relative {:e}", diff / scale);
}
