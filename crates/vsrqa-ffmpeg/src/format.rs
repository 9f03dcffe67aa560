//! What each FFmpeg pixel format and color tag becomes in vsrqa's terms.

use ff::AVPixelFormat as F;
use ffmpeg_sys_next as ff;
use libc::c_int;

use vsrqa::frame::{ColorMatrix, ColorRange, PixelFormat};

use super::ffi;

/// How decoded frames of one FFmpeg pixel format reach a `FrameView`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mapping {
    /// The frame's own planes, as `format`; `full_range` for the `yuvj*` formats.
    Direct { format: PixelFormat, full_range: bool },
    /// Converted by swscale to `to` (an FFmpeg format that maps directly to `format`).
    Convert { to: F, format: PixelFormat },
}

impl Mapping {
    /// The format of the frames this mapping delivers.
    pub(super) fn frame_format(self) -> PixelFormat {
        match self {
            Mapping::Direct { format, .. } | Mapping::Convert { format, .. } => format,
        }
    }
}

/// The mapping for a raw `AVFrame.format` value; `Err` names why it cannot be decoded to memory
/// (hardware frames, unknown values).
pub(super) fn map_pixel_format(raw: c_int) -> Result<Mapping, String> {
    let direct = |format, full_range| Ok(Mapping::Direct { format, full_range });
    let fmt = ffi::pixel_format_enum(raw).ok_or_else(|| format!("pixel format {raw} is unknown to this build"))?;
    match fmt {
        F::AV_PIX_FMT_YUV420P => direct(PixelFormat::I420, false),
        F::AV_PIX_FMT_YUVJ420P => direct(PixelFormat::I420, true),
        F::AV_PIX_FMT_NV12 => direct(PixelFormat::Nv12, false),
        F::AV_PIX_FMT_YUV420P10LE => direct(PixelFormat::I420_10Le, false),
        F::AV_PIX_FMT_P010LE => direct(PixelFormat::P010, false),
        F::AV_PIX_FMT_RGB24 => direct(PixelFormat::Rgb24, false),
        F::AV_PIX_FMT_BGR24 => direct(PixelFormat::Bgr24, false),
        // The fourth byte is alpha or padding; vsrqa ignores it either way.
        F::AV_PIX_FMT_RGBA | F::AV_PIX_FMT_RGB0 => direct(PixelFormat::Rgba32, false),
        F::AV_PIX_FMT_BGRA | F::AV_PIX_FMT_BGR0 => direct(PixelFormat::Bgra32, false),
        other => {
            // SAFETY: av_pix_fmt_desc_get takes any listed format and returns null or a pointer
            // to a static descriptor.
            let descriptor = unsafe { ff::av_pix_fmt_desc_get(other).as_ref() }
                .ok_or_else(|| format!("pixel format {} has no descriptor", name(raw)))?;
            let flags = descriptor.flags;
            if flags & ff::AV_PIX_FMT_FLAG_HWACCEL as u64 != 0 {
                return Err(format!("pixel format {} is a hardware surface, not frames in memory", name(raw)));
            }
            let rgb = (ff::AV_PIX_FMT_FLAG_RGB | ff::AV_PIX_FMT_FLAG_PAL | ff::AV_PIX_FMT_FLAG_BAYER) as u64;
            if flags & rgb != 0 {
                // vsrqa turns every frame into 8-bit RGB: 8-bit RGB loses nothing it would keep.
                Ok(Mapping::Convert { to: F::AV_PIX_FMT_RGB24, format: PixelFormat::Rgb24 })
            } else if descriptor.comp[0].depth > 8 {
                Ok(Mapping::Convert { to: F::AV_PIX_FMT_YUV420P10LE, format: PixelFormat::I420_10Le })
            } else {
                Ok(Mapping::Convert { to: F::AV_PIX_FMT_YUV420P, format: PixelFormat::I420 })
            }
        }
    }
}

/// The note for frames of a format that is converted (see [`map_pixel_format`]): what changes.
/// `None` for the formats read directly.
pub(super) fn conversion_note(raw: c_int) -> Option<String> {
    let Ok(Mapping::Convert { to, .. }) = map_pixel_format(raw) else { return None };
    let source = name(raw);
    // SAFETY: to is a listed format; returns a static string.
    let target = ffi::c_name(unsafe { ff::av_get_pix_fmt_name(to) }, "unknown");
    let mut changes = Vec::new();
    if to != F::AV_PIX_FMT_RGB24 {
        // SAFETY: the format maps (it is listed); returns null or a static descriptor.
        if let Some(descriptor) =
            ffi::pixel_format_enum(raw).and_then(|f| unsafe { ff::av_pix_fmt_desc_get(f).as_ref() })
        {
            if descriptor.nb_components < 3 {
                changes.push("gray, given neutral chroma".to_string());
            } else if (descriptor.log2_chroma_w, descriptor.log2_chroma_h) != (1, 1) {
                changes.push("chroma resampled to 4:2:0".to_string());
            }
            if descriptor.comp[0].depth > 10 {
                changes.push(format!("{} bits cut to 10", descriptor.comp[0].depth));
            }
        }
    }
    let changes = if changes.is_empty() { String::new() } else { format!(" ({})", changes.join(", ")) };
    Some(format!("{source} frames are converted to {target} by swscale before scoring{changes}"))
}

/// FFmpeg's name for a raw pixel format value ("yuv420p"), "unknown" for none or unlisted.
pub(super) fn name(raw: c_int) -> String {
    match ffi::pixel_format_enum(raw) {
        // SAFETY: any listed format; returns null or a static string.
        Some(fmt) => ffi::c_name(unsafe { ff::av_get_pix_fmt_name(fmt) }, "unknown"),
        None => "unknown".to_string(),
    }
}

/// The matrix vsrqa uses for a raw `AVColorSpace`, and whether that is a substitute (the tag
/// names a matrix vsrqa does not implement, which then gets BT.601).
pub(super) fn color_matrix(raw_colorspace: c_int) -> (ColorMatrix, bool) {
    const BT709: c_int = ff::AVColorSpace::AVCOL_SPC_BT709 as c_int;
    const UNSPECIFIED: c_int = ff::AVColorSpace::AVCOL_SPC_UNSPECIFIED as c_int;
    const BT470BG: c_int = ff::AVColorSpace::AVCOL_SPC_BT470BG as c_int;
    const SMPTE170M: c_int = ff::AVColorSpace::AVCOL_SPC_SMPTE170M as c_int;
    // "reserved" (3) is what some encoders write for "unknown".
    const RESERVED: c_int = ff::AVColorSpace::AVCOL_SPC_RESERVED as c_int;
    // Non-constant luminance only: the constant-luminance variant is another transform.
    const BT2020_NCL: c_int = ff::AVColorSpace::AVCOL_SPC_BT2020_NCL as c_int;
    match raw_colorspace {
        BT709 => (ColorMatrix::Bt709, false),
        BT2020_NCL => (ColorMatrix::Bt2020, false),
        UNSPECIFIED | BT470BG | SMPTE170M | RESERVED => (ColorMatrix::Bt601, false),
        _ => (ColorMatrix::Bt601, true),
    }
}

/// FFmpeg's name for a raw `AVColorSpace` ("bt2020nc").
pub(super) fn color_space_name(raw: c_int) -> String {
    if !(0..ff::AVColorSpace::AVCOL_SPC_NB as c_int).contains(&raw) {
        return format!("colorspace {raw}");
    }
    // SAFETY: AVColorSpace is numbered without gaps from 0 to AVCOL_SPC_NB (checked above) and
    // `repr(u32)`/`repr(i32)` of the same size as c_int.
    let space = unsafe { std::mem::transmute::<c_int, ff::AVColorSpace>(raw) };
    // SAFETY: returns null or a static string.
    ffi::c_name(unsafe { ff::av_color_space_name(space) }, "unknown")
}

/// The range for a raw `AVColorRange` (JPEG = full; MPEG and unspecified = limited), full anyway
/// for the `yuvj*` formats.
pub(super) fn color_range(raw_range: c_int, full_range_format: bool) -> ColorRange {
    if full_range_format || raw_range == ff::AVColorRange::AVCOL_RANGE_JPEG as c_int {
        ColorRange::Full
    } else {
        ColorRange::Limited
    }
}

/// Whether a raw pixel format is one of the `yuvj*` (full range by definition) formats.
pub(super) fn is_full_range_format(raw: c_int) -> bool {
    [
        F::AV_PIX_FMT_YUVJ420P,
        F::AV_PIX_FMT_YUVJ422P,
        F::AV_PIX_FMT_YUVJ444P,
        F::AV_PIX_FMT_YUVJ440P,
        F::AV_PIX_FMT_YUVJ411P,
    ]
    .iter()
    .any(|&f| f as c_int == raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(f: F) -> Mapping {
        map_pixel_format(f as c_int).unwrap()
    }

    #[test]
    fn direct_formats() {
        assert_eq!(map(F::AV_PIX_FMT_YUV420P), Mapping::Direct { format: PixelFormat::I420, full_range: false });
        assert_eq!(map(F::AV_PIX_FMT_YUVJ420P), Mapping::Direct { format: PixelFormat::I420, full_range: true });
        assert_eq!(map(F::AV_PIX_FMT_NV12), Mapping::Direct { format: PixelFormat::Nv12, full_range: false });
        assert_eq!(
            map(F::AV_PIX_FMT_YUV420P10LE),
            Mapping::Direct { format: PixelFormat::I420_10Le, full_range: false }
        );
        assert_eq!(map(F::AV_PIX_FMT_P010LE), Mapping::Direct { format: PixelFormat::P010, full_range: false });
        assert_eq!(map(F::AV_PIX_FMT_BGR0), Mapping::Direct { format: PixelFormat::Bgra32, full_range: false });
    }

    #[test]
    fn converted_formats() {
        let yuv8 = Mapping::Convert { to: F::AV_PIX_FMT_YUV420P, format: PixelFormat::I420 };
        let yuv10 = Mapping::Convert { to: F::AV_PIX_FMT_YUV420P10LE, format: PixelFormat::I420_10Le };
        let rgb = Mapping::Convert { to: F::AV_PIX_FMT_RGB24, format: PixelFormat::Rgb24 };
        assert_eq!(map(F::AV_PIX_FMT_YUV422P), yuv8);
        assert_eq!(map(F::AV_PIX_FMT_YUVJ444P), yuv8);
        assert_eq!(map(F::AV_PIX_FMT_GRAY8), yuv8);
        assert_eq!(map(F::AV_PIX_FMT_YUV420P12LE), yuv10);
        assert_eq!(map(F::AV_PIX_FMT_YUV444P10LE), yuv10);
        assert_eq!(map(F::AV_PIX_FMT_P010BE), yuv10);
        assert_eq!(map(F::AV_PIX_FMT_GBRP), rgb);
        assert_eq!(map(F::AV_PIX_FMT_RGB48LE), rgb);
        assert_eq!(map(F::AV_PIX_FMT_PAL8), rgb);
        assert!(map_pixel_format(F::AV_PIX_FMT_VAAPI as c_int).unwrap_err().contains("hardware"));
        assert!(map_pixel_format(-1).is_err());
    }

    #[test]
    fn color_tags() {
        assert_eq!(color_matrix(ff::AVColorSpace::AVCOL_SPC_BT709 as c_int), (ColorMatrix::Bt709, false));
        assert_eq!(color_matrix(ff::AVColorSpace::AVCOL_SPC_UNSPECIFIED as c_int), (ColorMatrix::Bt601, false));
        assert_eq!(color_matrix(ff::AVColorSpace::AVCOL_SPC_SMPTE170M as c_int), (ColorMatrix::Bt601, false));
        assert_eq!(color_matrix(ff::AVColorSpace::AVCOL_SPC_BT2020_NCL as c_int), (ColorMatrix::Bt2020, false));
        assert_eq!(color_matrix(ff::AVColorSpace::AVCOL_SPC_BT2020_CL as c_int), (ColorMatrix::Bt601, true));
        assert_eq!(color_space_name(ff::AVColorSpace::AVCOL_SPC_BT2020_NCL as c_int), "bt2020nc");
        assert_eq!(color_space_name(99), "colorspace 99");
        assert_eq!(color_range(ff::AVColorRange::AVCOL_RANGE_JPEG as c_int, false), ColorRange::Full);
        assert_eq!(color_range(ff::AVColorRange::AVCOL_RANGE_MPEG as c_int, false), ColorRange::Limited);
        assert_eq!(color_range(ff::AVColorRange::AVCOL_RANGE_UNSPECIFIED as c_int, false), ColorRange::Limited);
        assert_eq!(color_range(ff::AVColorRange::AVCOL_RANGE_UNSPECIFIED as c_int, true), ColorRange::Full);
        assert!(is_full_range_format(F::AV_PIX_FMT_YUVJ420P as c_int));
        assert!(!is_full_range_format(F::AV_PIX_FMT_YUV420P as c_int));
    }
}
