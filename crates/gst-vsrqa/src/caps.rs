//! What the element reads from its caps: the SDK's pixel format, matrix and range for a GStreamer
//! video format and colorimetry, and the clip's frame rate.

use gst_video::{VideoColorMatrix, VideoColorRange, VideoFormat, VideoInfo};
use vsrqa::frame::{ColorMatrix, ColorRange, PixelFormat};

/// The raw video formats the element accepts, in its sink template's order of preference:
/// every format the SDK reads, plus RGBx/BGRx (RGBA/BGRA whose fourth byte the SDK ignores anyway).
pub const FORMATS: [VideoFormat; 10] = [
    VideoFormat::I420,
    VideoFormat::Nv12,
    VideoFormat::I42010le,
    VideoFormat::P01010le,
    VideoFormat::Rgb,
    VideoFormat::Bgr,
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
];

/// The SDK's layout for a GStreamer format (`None` for one outside [`FORMATS`]).
pub fn pixel_format(format: VideoFormat) -> Option<PixelFormat> {
    Some(match format {
        VideoFormat::I420 => PixelFormat::I420,
        VideoFormat::Nv12 => PixelFormat::Nv12,
        VideoFormat::I42010le => PixelFormat::I420_10Le,
        VideoFormat::P01010le => PixelFormat::P010,
        VideoFormat::Rgb => PixelFormat::Rgb24,
        VideoFormat::Bgr => PixelFormat::Bgr24,
        VideoFormat::Rgba | VideoFormat::Rgbx => PixelFormat::Rgba32,
        VideoFormat::Bgra | VideoFormat::Bgrx => PixelFormat::Bgra32,
        _ => return None,
    })
}

/// The Y'CbCr matrix of the caps' colorimetry. BT.601 stands for everything that is not BT.709
/// or BT.2020, as in the SDK, where an unspecified matrix is BT.601 (the reference's decoding).
pub fn color_matrix(matrix: VideoColorMatrix) -> ColorMatrix {
    match matrix {
        VideoColorMatrix::Bt709 => ColorMatrix::Bt709,
        VideoColorMatrix::Bt2020 => ColorMatrix::Bt2020,
        _ => ColorMatrix::Bt601,
    }
}

/// The caps' range; unknown is limited, as in the SDK.
pub fn color_range(range: VideoColorRange) -> ColorRange {
    match range {
        VideoColorRange::Range0_255 => ColorRange::Full,
        _ => ColorRange::Limited,
    }
}

/// The frames of one clip as the caps describe them.
#[derive(Clone, Debug)]
pub struct ClipFormat {
    pub info: VideoInfo,
    pub format: PixelFormat,
    pub matrix: ColorMatrix,
    pub range: ColorRange,
    /// Frames per second: the `fps` property when set, else the caps' frame rate.
    pub fps: f64,
}

impl ClipFormat {
    /// Reads caps (already restricted to [`FORMATS`] by the pad template); `fps_override` > 0
    /// replaces the caps' frame rate. The error is the reason, for the element's error message.
    pub fn from_caps(caps: &gst::CapsRef, fps_override: f64) -> Result<ClipFormat, String> {
        let info = VideoInfo::from_caps(caps).map_err(|_| format!("cannot read the video caps {caps}"))?;
        let format = pixel_format(info.format())
            .ok_or_else(|| format!("vsrqa does not read {} frames", info.format().to_str()))?;
        let fps = if fps_override > 0.0 {
            fps_override
        } else {
            let rate = info.fps();
            if rate.numer() <= 0 || rate.denom() <= 0 {
                return Err(format!(
                    "the caps give no frame rate ({}/{}, a variable-rate stream): set the element's fps \
                     property to the rate the clip is to be scored at",
                    rate.numer(),
                    rate.denom()
                ));
            }
            f64::from(rate.numer()) / f64::from(rate.denom())
        };
        let colorimetry = info.colorimetry();
        Ok(ClipFormat {
            format,
            matrix: color_matrix(colorimetry.matrix()),
            range: color_range(colorimetry.range()),
            fps,
            info,
        })
    }

    /// Whether frames of `other` can continue the clip of `self`: the same size and frame rate.
    /// (Format and colorimetry may change within a clip, as in a session.)
    pub fn continues(&self, other: &ClipFormat) -> bool {
        self.info.width() == other.info.width() && self.info.height() == other.info.height() && self.fps == other.fps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().expect("GStreamer initializes");
    }

    #[test]
    fn every_accepted_format_maps_to_a_layout_of_the_sdk() {
        for format in FORMATS {
            assert!(pixel_format(format).is_some(), "{format:?}");
        }
        assert_eq!(pixel_format(VideoFormat::Yuy2), None);
        assert_eq!(pixel_format(VideoFormat::Rgbx), Some(PixelFormat::Rgba32));
    }

    #[test]
    fn colorimetry_maps_to_the_sdks_matrix_and_range() {
        assert_eq!(color_matrix(VideoColorMatrix::Bt709), ColorMatrix::Bt709);
        assert_eq!(color_matrix(VideoColorMatrix::Bt2020), ColorMatrix::Bt2020);
        assert_eq!(color_matrix(VideoColorMatrix::Bt601), ColorMatrix::Bt601);
        assert_eq!(color_matrix(VideoColorMatrix::Unknown), ColorMatrix::Bt601);
        assert_eq!(color_range(VideoColorRange::Range0_255), ColorRange::Full);
        assert_eq!(color_range(VideoColorRange::Range16_235), ColorRange::Limited);
        assert_eq!(color_range(VideoColorRange::Unknown), ColorRange::Limited);
    }

    #[test]
    fn caps_give_the_format_the_colorimetry_and_the_rate() {
        init();
        let caps: gst::Caps =
            "video/x-raw,format=NV12,width=64,height=48,framerate=25/1,colorimetry=bt709".parse().unwrap();
        let clip = ClipFormat::from_caps(&caps, 0.0).unwrap();
        assert_eq!(clip.format, PixelFormat::Nv12);
        assert_eq!(clip.matrix, ColorMatrix::Bt709);
        assert_eq!(clip.range, ColorRange::Limited);
        assert_eq!(clip.fps, 25.0);
        let full: gst::Caps =
            "video/x-raw,format=I420,width=64,height=48,framerate=30000/1001,colorimetry=1:4:0:0".parse().unwrap();
        let clip = ClipFormat::from_caps(&full, 0.0).unwrap();
        assert_eq!(clip.range, ColorRange::Full);
        assert!((clip.fps - 29.97002997).abs() < 1e-6);
        assert_eq!(ClipFormat::from_caps(&full, 12.5).unwrap().fps, 12.5);
    }

    #[test]
    fn a_variable_rate_needs_the_fps_property() {
        init();
        let caps: gst::Caps = "video/x-raw,format=RGB,width=64,height=48,framerate=0/1".parse().unwrap();
        let error = ClipFormat::from_caps(&caps, 0.0).unwrap_err();
        assert!(error.contains("set the element's fps property"), "{error}");
        assert_eq!(ClipFormat::from_caps(&caps, 30.0).unwrap().fps, 30.0);
    }

    #[test]
    fn a_new_size_or_rate_starts_a_new_clip_a_new_format_does_not() {
        init();
        let read = |text: &str| ClipFormat::from_caps(&text.parse::<gst::Caps>().unwrap(), 0.0).unwrap();
        let first = read("video/x-raw,format=I420,width=64,height=48,framerate=30/1");
        assert!(first.continues(&read("video/x-raw,format=NV12,width=64,height=48,framerate=30/1")));
        assert!(!first.continues(&read("video/x-raw,format=I420,width=80,height=48,framerate=30/1")));
        assert!(!first.continues(&read("video/x-raw,format=I420,width=64,height=48,framerate=25/1")));
    }
}
