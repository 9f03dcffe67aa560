//! Borrowing a decoded `AVFrame`'s planes as slices, after checking that every byte a
//! `FrameView` may read lies inside one of the frame's own buffers.

use vsrqa::frame::{ColorMatrix, ColorRange, FrameView, PixelFormat};

use super::ffi::Frame;

/// Whether any plane `format` uses has a negative (bottom-up) or zero pitch; such frames are
/// copied first (see `Decoder`), never viewed directly.
pub(super) fn has_unusual_pitch(frame: &Frame, format: PixelFormat) -> bool {
    frame.get().linesize[..format.plane_count()].iter().any(|&l| l <= 0)
}

/// A view of `frame`'s planes as `format` (which must describe the frame's layout), borrowed for
/// as long as the frame is. Fails, rather than reading out of bounds, if a plane does not fit its
/// buffer.
pub(super) fn view(
    frame: &Frame,
    format: PixelFormat,
    matrix: ColorMatrix,
    range: ColorRange,
) -> Result<FrameView<'_>, String> {
    let f = frame.get();
    let (width, height) = match (u32::try_from(f.width), u32::try_from(f.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(format!("the decoder returned a frame of size {}x{}", f.width, f.height)),
    };
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    let mut pitches = [0usize; 3];
    for i in 0..format.plane_count() {
        let pitch = usize::try_from(f.linesize[i]).ok().filter(|&p| p > 0);
        let pitch = pitch.ok_or_else(|| format!("plane {i} has pitch {}", f.linesize[i]))?;
        let len = FrameView::required_plane_len(format, i, width, height, pitch);
        let start = f.data[i];
        if start.is_null() || !inside_buffers(f, start as usize, len) {
            return Err(format!("plane {i} ({len} bytes) does not lie inside the frame's buffers"));
        }
        // SAFETY: `start..start + len` lies inside one of the frame's reference-counted buffers
        // (checked just above), which stay allocated and unmodified while `frame` is borrowed:
        // the frame holds a reference, decoders never write to a frame they have returned, and
        // the frame is only unreferenced through `&mut`.
        planes[i] = unsafe { std::slice::from_raw_parts(start, len) };
        pitches[i] = pitch;
    }
    let view = FrameView { format, width, height, planes, pitches, matrix, range };
    view.validate().map_err(|e| e.to_string())?;
    Ok(view)
}

/// Whether `[start, start + len)` lies inside one of the frame's buffers (`buf` or
/// `extended_buf`).
pub(super) fn inside_buffers(f: &ffmpeg_sys_next::AVFrame, start: usize, len: usize) -> bool {
    let Some(end) = start.checked_add(len) else { return false };
    let extended: &[*mut ffmpeg_sys_next::AVBufferRef] = match usize::try_from(f.nb_extended_buf) {
        Ok(n) if n > 0 && !f.extended_buf.is_null() => {
            // SAFETY: FFmpeg keeps `nb_extended_buf` valid entries at `extended_buf`.
            unsafe { std::slice::from_raw_parts(f.extended_buf, n) }
        }
        _ => &[],
    };
    f.buf.iter().chain(extended).any(|&buffer| {
        // SAFETY: a non-null entry is a valid AVBufferRef owned by the frame.
        let Some(buffer) = (unsafe { buffer.as_ref() }) else { return false };
        let base = buffer.data as usize;
        !buffer.data.is_null() && start >= base && base.checked_add(buffer.size).is_some_and(|limit| end <= limit)
    })
}
