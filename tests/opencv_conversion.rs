//! The reference YUV->RGB conversion against what opencv-python's VideoCapture gave for the same
//! decoded planes (tests/data/golden/opencv_frames.safetensors, made by
//! tools/fixtures/make_opencv_goldens.py with OpenCV 4.10 on x86-64). Tolerance: none, every byte.

mod golden;

use golden::Golden;
use vsrqa::frame::{convert, ColorConversion, ColorMatrix, ColorRange, FrameView, PixelFormat};

const W: usize = 64;
const H: usize = 48;

/// The clip's yuv420p planes (ffmpeg, no conversion) and OpenCV's BGR frames of it, per frame.
fn frames() -> Vec<(Vec<u8>, Vec<u8>)> {
    let golden = Golden::load("opencv_frames.safetensors");
    let (_, planes) = golden.u8("h264_420.mp4.yuv420p");
    let (shape, bgr) = golden.u8("h264_420.mp4");
    assert_eq!(shape[1..], [H, W, 3]);
    let frame_len = W * H * 3 / 2;
    assert_eq!(planes.len(), frame_len * shape[0]);
    planes.chunks_exact(frame_len).map(<[u8]>::to_vec).zip(bgr.chunks_exact(W * H * 3).map(<[u8]>::to_vec)).collect()
}

fn rgb(planes: &[u8], matrix: ColorMatrix, conversion: ColorConversion) -> Vec<u8> {
    let mut view = FrameView::packed(PixelFormat::I420, W as u32, H as u32, planes).unwrap();
    view.matrix = matrix;
    view.range = ColorRange::Limited;
    convert::to_rgb8(&view, conversion).unwrap().data
}

fn bgr_to_rgb(bgr: &[u8]) -> Vec<u8> {
    bgr.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect()
}

#[test]
fn reference_conversion_equals_opencv_byte_for_byte() {
    for (i, (planes, bgr)) in frames().iter().enumerate() {
        let expected = bgr_to_rgb(bgr);
        // The matrix tag is ignored, as OpenCV ignores it.
        for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709, ColorMatrix::Bt2020] {
            let got = rgb(planes, matrix, ColorConversion::Reference);
            let differing = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "frame {i}, {matrix:?}: {differing} channel values differ from OpenCV's");
        }
    }
}

#[test]
fn exact_conversion_is_never_darker_than_opencv_and_often_brighter() {
    // What the reference conversion fixes: swscale's fixed point truncates, so OpenCV's frames
    // are darker than the exact conversion on most values, by about one level.
    let (mut brighter, mut darker, mut total) = (0usize, 0usize, 0usize);
    for (planes, bgr) in frames() {
        let exact = rgb(&planes, ColorMatrix::Bt601, ColorConversion::Exact);
        for (e, o) in exact.iter().zip(bgr_to_rgb(&bgr)) {
            brighter += usize::from(*e > o);
            darker += usize::from(*e < o);
            total += 1;
        }
    }
    assert_eq!(darker, 0);
    assert!(brighter * 3 > total, "exact brighter on {brighter} of {total} values");
}

#[test]
fn ten_bit_reference_uses_the_top_eight_bits() {
    // 10-bit sources take another swscale path than the one ported; the library approximates it
    // with the 8-bit path on each code's top 8 bits (docs/branches.md gives the difference).
    let (planes, _) = &frames()[0];
    let eight = rgb(planes, ColorMatrix::Bt601, ColorConversion::Reference);
    let ten: Vec<u8> = planes.iter().flat_map(|&b| (u16::from(b) * 4 + 3).to_le_bytes()).collect();
    let view = FrameView::packed(PixelFormat::I420_10Le, W as u32, H as u32, &ten).unwrap();
    assert_eq!(convert::to_rgb8(&view, ColorConversion::Reference).unwrap().data, eight);
}
