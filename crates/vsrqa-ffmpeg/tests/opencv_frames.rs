//! Decoding with `ColorConversion::Reference` gives, after the library's conversion, the frames
//! opencv-python's VideoCapture gave for the same files (tests/data/opencv, goldens made by
//! tools/fixtures/make_opencv_goldens.py with OpenCV 4.10, whose FFmpeg is 5.1). Every byte must
//! match: 8-bit 4:2:0 through the library's port of swscale's SIMD path, the other clips (10-bit,
//! odd coded size) through the system's swscale set up as OpenCV sets it up. The latter needs
//! swscale's x86 SIMD code, as OpenCV's wheels run it; elsewhere they are compared loosely.

use safetensors::SafeTensors;
use vsrqa::frame::{convert, ColorConversion};
use vsrqa_ffmpeg::Decoder;

use vsrqa_testkit::data;

/// (frames, height, width, BGR bytes) OpenCV read from `clip`.
fn opencv(golden: &SafeTensors<'_>, clip: &str) -> (Vec<usize>, Vec<u8>) {
    let view = golden.tensor(clip).unwrap();
    (view.shape().to_vec(), view.data().to_vec())
}

/// Every frame of `clip` decoded for `conversion`, in RGB.
fn decoded(clip: &str, conversion: ColorConversion) -> Vec<Vec<u8>> {
    let mut decoder = Decoder::open(&data(&format!("opencv/{clip}"))).unwrap();
    decoder.set_color_conversion(conversion);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        frames.push(convert::to_rgb8(&frame.view, conversion).unwrap().data);
    }
    frames
}

#[test]
fn reference_frames_equal_opencv_for_every_clip() {
    let bytes = std::fs::read(data("golden/opencv_frames.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&bytes).unwrap();
    let clips = ["h264_420.mp4", "h264_709.mp4", "h264_crop.mp4", "h264_full.mp4", "h264_10bit.mp4", "vp9_odd.webm"];
    for clip in clips {
        let (shape, bgr) = opencv(&golden, clip);
        let frames = decoded(clip, ColorConversion::Reference);
        assert_eq!(frames.len(), shape[0], "{clip}: frame count");
        let through_swscale = matches!(clip, "h264_10bit.mp4" | "vp9_odd.webm");
        let frame_len = shape[1] * shape[2] * 3;
        for (i, (got, expected)) in frames.iter().zip(bgr.chunks_exact(frame_len)).enumerate() {
            assert_eq!(got.len(), frame_len, "{clip} frame {i}: size");
            let expected: Vec<u8> = expected.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect();
            let largest = got.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
            if cfg!(target_arch = "x86_64") || !through_swscale {
                assert_eq!(largest, 0, "{clip} frame {i}: differs from OpenCV by up to {largest}");
            } else {
                // swscale's C code rounds otherwise than its x86 SIMD code (docs/branches.md).
                assert!(largest <= 24, "{clip} frame {i}: differs from OpenCV by up to {largest}");
            }
        }
    }
}

#[test]
fn exact_frames_follow_the_bt709_tag_and_reference_frames_do_not() {
    let tagged = decoded("h264_709.mp4", ColorConversion::Exact);
    let untagged = decoded("h264_420.mp4", ColorConversion::Exact);
    assert_ne!(tagged, untagged, "the exact conversion applies the BT.709 tag");
    assert_eq!(
        decoded("h264_709.mp4", ColorConversion::Reference),
        decoded("h264_420.mp4", ColorConversion::Reference)
    );
}

#[test]
fn reference_info_and_notes_say_what_swscale_converts() {
    let open = |clip: &str| {
        let mut decoder = Decoder::open(&data(&format!("opencv/{clip}"))).unwrap();
        decoder.set_color_conversion(ColorConversion::Reference);
        while decoder.next_frame().unwrap().is_some() {}
        decoder
    };
    let odd = open("vp9_odd.webm");
    assert_eq!(odd.info().frame_format, Some(vsrqa::frame::PixelFormat::Bgr24));
    assert!(odd.info().notes.iter().any(|n| n.contains("converted to bgr24")), "{:?}", odd.info().notes);
    let planar = open("h264_709.mp4");
    assert_eq!(planar.info().frame_format, Some(vsrqa::frame::PixelFormat::I420));
    assert_eq!(planar.info().color_matrix, vsrqa::frame::ColorMatrix::Bt601, "the tag is ignored");
    assert!(planar.info().notes.iter().all(|n| !n.contains("converted")), "{:?}", planar.info().notes);
}
