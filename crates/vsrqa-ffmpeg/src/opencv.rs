//! Frames as the reference's reader, OpenCV's `VideoCapture` (FFmpeg backend, 4.x), converts
//! them: swscale from the decoder's format to BGR24 with `SWS_BICUBIC`, at the decoder's coded
//! size, on a context whose colour details are swscale's defaults (BT.601; full range only for
//! the `yuvj*` formats), one `sws_scale` call per frame with the frame's height as the slice.
//!
//! 8-bit 4:2:0 with an even coded height never comes here ([`route`]): swscale takes its unscaled
//! SIMD path for it, which the library reproduces on every CPU (`ColorConversion::Reference`), so
//! those frames are handed over as they are. Everything else is converted here by the system's
//! swscale, which gives OpenCV's bytes when it is the same swscale arithmetic (the same major
//! version, x86 SIMD: docs/branches.md measures the rest).

use ffmpeg_sys_next as ff;
use libc::c_int;

use super::error;
use super::ffi::{self, Frame, Scaler};
use super::format::{self, Mapping};

/// What a converter is set up for; a frame that differs gets a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    from: c_int,
    width: c_int,
    height: c_int,
}

pub(super) struct OpencvConverter {
    key: Key,
    scaler: Scaler,
    /// Kept across frames, as OpenCV keeps its output picture: rows a call leaves unwritten
    /// (see [`convert`](Self::convert)) keep what they held.
    out: Frame,
}

/// Where a decoded frame goes for the reference conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// Packed RGB: OpenCV's swscale only reorders the channels, so the frame is viewed as decoded.
    AsDecoded,
    /// yuv420p or yuvj420p at an even coded height: as it is, for the library's port of swscale's
    /// unscaled SIMD path (bit for bit).
    Library,
    /// Every other format: BGR24 from the system's swscale, called as OpenCV calls it.
    Swscale,
}

/// The route of frames of `raw_format` converted at `coded_height`.
pub(super) fn route(raw_format: c_int, coded_height: c_int) -> Route {
    let planar_420 = [ff::AVPixelFormat::AV_PIX_FMT_YUV420P as c_int, ff::AVPixelFormat::AV_PIX_FMT_YUVJ420P as c_int];
    match format::map_pixel_format(raw_format) {
        Ok(Mapping::Direct { format, .. }) if format.plane_count() == 1 => Route::AsDecoded,
        _ if planar_420.contains(&raw_format) && coded_height % 2 == 0 => Route::Library,
        _ => Route::Swscale,
    }
}

/// The note for frames of `raw_format` that take [`Route::Swscale`]; `None` for the others.
pub(super) fn conversion_note(raw_format: c_int, coded_height: c_int) -> Option<String> {
    (route(raw_format, coded_height) == Route::Swscale).then(|| {
        format!(
            "{} frames are converted to bgr24 by swscale as OpenCV's reader converts them (reference conversion)",
            format::name(raw_format)
        )
    })
}

impl OpencvConverter {
    /// Converts `source` (`width x height`, decoded at `coded` size) to BGR24 in the converter's
    /// frame, returned with the frame's own size.
    pub(super) fn convert<'a>(
        slot: &'a mut Option<OpencvConverter>,
        source: &Frame,
        coded: (c_int, c_int),
    ) -> Result<&'a Frame, String> {
        let f = source.get();
        let key = Key { from: f.format, width: coded.0, height: coded.1 };
        if slot.as_ref().is_none_or(|c| c.key != key) {
            *slot = None;
            *slot = Some(OpencvConverter::new(key)?);
        }
        let converter = slot.as_mut().ok_or("no converter")?;
        // SAFETY: the source planes hold at least `coded` pixels (decoders allocate their frames
        // at the coded size or more, and `coded` falls back to the frame's size otherwise, see
        // `coded_size`); the output frame owns BGR24 buffers of the key's size; the scaler was
        // made for exactly this format and size. The slice is the frame's height, as OpenCV
        // passes it: swscale may then leave the last rows of a coded size taller than the frame
        // unwritten (the count it returns), which OpenCV's frames show too.
        unsafe { converter.scaler.scale(source, f.height, &converter.out) };
        Ok(&converter.out)
    }

    fn new(key: Key) -> Result<OpencvConverter, String> {
        let from_name = format::name(key.from);
        let from = ffi::pixel_format_enum(key.from).ok_or_else(|| format!("pixel format {from_name} is unknown"))?;
        let bgr = ff::AVPixelFormat::AV_PIX_FMT_BGR24;
        let scaler = Scaler::new(key.width, key.height, from, bgr, ff::SWS_BICUBIC)
            .ok_or_else(|| format!("swscale cannot convert {from_name} to bgr24"))?;
        let out = Frame::with_buffer(bgr as c_int, key.width, key.height)
            .map_err(|code| format!("cannot allocate a converted frame: {}", error::text(code)))?;
        // Rows a conversion leaves unwritten start black, not with whatever memory held.
        let (rows, pitch) = (key.height as usize, out.get().linesize[0] as usize);
        // SAFETY: the buffer av_frame_get_buffer made holds `height` rows of `linesize[0]` bytes.
        unsafe { std::ptr::write_bytes(out.get().data[0], 0, rows * pitch) };
        Ok(OpencvConverter { key, scaler, out })
    }
}

/// The size OpenCV converts at: the decoder's coded size when it covers the frame and every
/// plane's rows at that size lie inside the frame's buffers (decoders allocate at least that
/// much), else the frame's own (a copied frame, a size change).
pub(super) fn coded_size(codec: *const ff::AVCodecContext, frame: &ff::AVFrame, is_copy: bool) -> (c_int, c_int) {
    // SAFETY: a valid, opened decoder context.
    let (cw, ch) = unsafe { ((*codec).coded_width, (*codec).coded_height) };
    let covers = cw >= frame.width && ch >= frame.height && cw - frame.width < 64 && ch - frame.height < 64;
    if covers && !is_copy && rows_inside_buffers(frame, ch) {
        (cw, ch)
    } else {
        (frame.width, frame.height)
    }
}

/// Whether each plane's `height` rows (chroma rows subsampled) lie inside the frame's buffers.
fn rows_inside_buffers(frame: &ff::AVFrame, height: c_int) -> bool {
    let Some(format) = ffi::pixel_format_enum(frame.format) else { return false };
    // SAFETY: a listed format; returns null or a static descriptor.
    let Some(descriptor) = (unsafe { ff::av_pix_fmt_desc_get(format).as_ref() }) else { return false };
    // SAFETY: as above.
    let planes = unsafe { ff::av_pix_fmt_count_planes(format) }.clamp(0, 4) as usize;
    (0..planes).all(|i| {
        let shift = if i == 1 || i == 2 { descriptor.log2_chroma_h } else { 0 };
        let rows = (i64::from(height) + (1 << shift) - 1) >> shift;
        let (Ok(pitch), Ok(rows)) = (usize::try_from(frame.linesize[i]), usize::try_from(rows)) else { return false };
        !frame.data[i].is_null() && super::planes::inside_buffers(frame, frame.data[i] as usize, pitch * rows)
    })
}
