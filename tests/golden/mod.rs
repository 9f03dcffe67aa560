//! Shared by the parity test binaries (golden_tiny, parity_*): the committed fixtures in
//! tests/data (made by tools/fixtures/make_tiny_bundle.py) and the sample clip's frames.
#![allow(dead_code)]

use safetensors::SafeTensors;
use vsrqa::frame::{convert, FrameView, PixelFormat, RgbImage};

pub use vsrqa_testkit::data;

/// One golden safetensors file, read once; tensors are decoded on request.
pub struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    pub fn load(name: &str) -> Golden {
        Golden { bytes: std::fs::read(data(&format!("golden/{name}"))).unwrap() }
    }

    fn view(&self, name: &str) -> (Vec<usize>, safetensors::Dtype, Vec<u8>) {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors.tensor(name).unwrap_or_else(|_| panic!("golden tensor {name} missing"));
        (view.shape().to_vec(), view.dtype(), view.data().to_vec())
    }

    pub fn names(&self) -> Vec<String> {
        SafeTensors::deserialize(&self.bytes).unwrap().names().into_iter().map(String::from).collect()
    }

    pub fn f32(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let (shape, dtype, bytes) = self.view(name);
        assert_eq!(dtype, safetensors::Dtype::F32, "{name}");
        (shape, bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    pub fn f64(&self, name: &str) -> (Vec<usize>, Vec<f64>) {
        let (shape, dtype, bytes) = self.view(name);
        assert_eq!(dtype, safetensors::Dtype::F64, "{name}");
        (shape, bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect())
    }

    pub fn i32(&self, name: &str) -> (Vec<usize>, Vec<i32>) {
        let (shape, dtype, bytes) = self.view(name);
        assert_eq!(dtype, safetensors::Dtype::I32, "{name}");
        (shape, bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    pub fn u8(&self, name: &str) -> (Vec<usize>, Vec<u8>) {
        let (shape, dtype, bytes) = self.view(name);
        assert_eq!(dtype, safetensors::Dtype::U8, "{name}");
        (shape, bytes)
    }
}

/// The sample clip's frames as (I420 bytes, width, height, fps).
pub fn sample_frames() -> (Vec<Vec<u8>>, u32, u32, f64) {
    let clip = vsrqa_testkit::sample_clip();
    (clip.frames, clip.width, clip.height, clip.fps)
}

pub fn views<'a>(frames: &'a [Vec<u8>], width: u32, height: u32) -> Vec<FrameView<'a>> {
    frames.iter().map(|f| FrameView::packed(PixelFormat::I420, width, height, f).unwrap()).collect()
}

/// The sample clip converted to 8-bit RGB, as every branch sees it.
pub fn rgb_frames() -> Vec<RgbImage> {
    let (frames, width, height, _) = sample_frames();
    views(&frames, width, height)
        .iter()
        .map(|v| convert::to_rgb8(v, vsrqa::frame::ColorConversion::Exact).unwrap())
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs()).fold(0.0, f64::max)
}

/// Max |got - expected| relative to the largest |expected|, after checking that the golden is not
/// degenerate (a near-zero golden would make any relative tolerance meaningless).
pub fn max_relative_diff(got: &[f32], expected: &[f32]) -> f64 {
    let scale = expected.iter().map(|v| f64::from(v.abs())).fold(0.0, f64::max);
    assert!(scale > 0.1, "degenerate golden values (max |v| {scale})");
    max_abs_diff(got, expected) / scale
}

/// An 8-bit HWC golden image as the float image the resamplers take.
pub fn float_image(shape: &[usize], bytes: &[u8]) -> vsrqa::frame::ops::FloatImage {
    vsrqa::frame::ops::FloatImage {
        width: shape[1],
        height: shape[0],
        data: bytes.iter().map(|&v| f32::from(v)).collect(),
    }
}

/// How many bytes of `got` (integer-valued floats) differ from `expected`.
pub fn differing_bytes(got: &[f32], expected: &[u8]) -> usize {
    assert_eq!(got.len(), expected.len(), "length mismatch");
    got.iter().zip(expected).filter(|(a, b)| **a != f32::from(**b)).count()
}

/// The tiny bundle's branch `name`: its spec and network file.
pub fn tiny_branch(
    bundle: &vsrqa::bundle::Bundle,
    name: &str,
) -> (vsrqa::bundle::BranchSpec, vsrqa::bundle::NetworkFile) {
    let index =
        bundle.manifest.branches.iter().position(|b| b.name == name).unwrap_or_else(|| panic!("no branch {name}"));
    (bundle.manifest.branches[index].clone(), bundle.networks[index].clone())
}
