//! `VsrqaFrame` -> `FrameView`: every field checked before a single byte is read, so that a bad
//! descriptor is an error status, never an out-of-bounds read.

use std::ffi::c_void;

use super::status::{CError, VsrqaStatus::*};
use super::types::*;
use crate::engine::Session;
use crate::error::Result;
use crate::frame::{ColorMatrix, ColorRange, DeviceFrame, FrameView, PixelFormat, MAX_DIMENSION};

/// A checked `VsrqaFrame`: pixels in host memory, or CUDA device pointers.
pub(crate) enum Frame<'a> {
    Host(FrameView<'a>),
    Device(DeviceFrame),
}

impl Frame<'_> {
    pub(crate) fn push_to(&self, session: &mut Session) -> Result<()> {
        match self {
            Frame::Host(view) => session.push(view),
            Frame::Device(frame) => session.push_device(frame),
        }
    }
}

/// # Safety
/// As [`frame_view`]; for `VSRQA_MEMORY_CUDA`, the planes are device pointers of the engine's
/// GPU that cover the planes described (they are never read on the host).
pub(crate) unsafe fn frame<'a>(frame: *const VsrqaFrame, what: &str) -> Result<Frame<'a>, CError> {
    let descriptor = super::read_struct(frame, what)?;
    if descriptor.memory != VSRQA_MEMORY_CUDA {
        // SAFETY: forwarded contract.
        return unsafe { frame_view(frame, what) }.map(Frame::Host);
    }
    let format = pixel_format(descriptor.format)?;
    let (matrix, range) = color(&descriptor)?;
    let device = DeviceFrame {
        format,
        width: descriptor.width,
        height: descriptor.height,
        planes: descriptor.planes.map(|p| p as u64),
        pitches: descriptor.pitches,
        matrix,
        range,
    };
    for i in 0..format.plane_count() {
        if device.planes[i] == 0 {
            return Err(CError::null(&format!("{what}: planes[{i}]")));
        }
    }
    device.validate().map_err(|e| CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("{what}: {e}")))?;
    Ok(Frame::Device(device))
}

fn color(frame: &VsrqaFrame) -> Result<(ColorMatrix, ColorRange), CError> {
    let matrix = match frame.color_matrix {
        VSRQA_COLOR_MATRIX_UNSPECIFIED | VSRQA_COLOR_MATRIX_BT601 => ColorMatrix::Bt601,
        VSRQA_COLOR_MATRIX_BT709 => ColorMatrix::Bt709,
        other => return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown color matrix {other}"))),
    };
    let range = match frame.color_range {
        VSRQA_COLOR_RANGE_UNSPECIFIED | VSRQA_COLOR_RANGE_LIMITED => ColorRange::Limited,
        VSRQA_COLOR_RANGE_FULL => ColorRange::Full,
        other => return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown color range {other}"))),
    };
    Ok((matrix, range))
}

pub(crate) fn pixel_format(value: VsrqaPixelFormat) -> Result<PixelFormat, CError> {
    Ok(match value {
        VSRQA_PIXEL_FORMAT_RGB24 => PixelFormat::Rgb24,
        VSRQA_PIXEL_FORMAT_BGR24 => PixelFormat::Bgr24,
        VSRQA_PIXEL_FORMAT_RGBA32 => PixelFormat::Rgba32,
        VSRQA_PIXEL_FORMAT_BGRA32 => PixelFormat::Bgra32,
        VSRQA_PIXEL_FORMAT_I420 => PixelFormat::I420,
        VSRQA_PIXEL_FORMAT_NV12 => PixelFormat::Nv12,
        VSRQA_PIXEL_FORMAT_I420_10LE => PixelFormat::I420_10Le,
        VSRQA_PIXEL_FORMAT_P010 => PixelFormat::P010,
        other => return Err(CError::new(VSRQA_ERROR_UNSUPPORTED_FORMAT, format!("unknown pixel format {other}"))),
    })
}

/// # Safety
/// `frame` must point to a readable `VsrqaFrame` of at least `struct_size` bytes whose plane
/// pointers, if the descriptor is valid, cover the planes it describes.
pub(crate) unsafe fn frame_view<'a>(frame: *const VsrqaFrame, what: &str) -> Result<FrameView<'a>, CError> {
    let frame = super::read_struct(frame, what)?;
    let format = pixel_format(frame.format)?;
    if frame.memory != VSRQA_MEMORY_HOST {
        return Err(CError::new(VSRQA_ERROR_UNSUPPORTED_FORMAT, format!("unknown memory type {}", frame.memory)));
    }
    let (matrix, range) = color(&frame)?;
    let (width, height) = (frame.width, frame.height);
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(CError::new(
            VSRQA_ERROR_INVALID_ARGUMENT,
            format!("{what}: size {width}x{height} is outside 1..={MAX_DIMENSION}"),
        ));
    }
    let mut planes: [&'a [u8]; 3] = [&[], &[], &[]];
    // Index loop: `i` addresses three parallel arrays (planes, pitches, plane extents).
    #[allow(clippy::needless_range_loop)]
    for i in 0..format.plane_count() {
        let (row_bytes, rows) = format.plane_extent(i, width as usize, height as usize);
        let pitch = frame.pitches[i];
        if pitch < row_bytes {
            return Err(CError::new(
                VSRQA_ERROR_INVALID_ARGUMENT,
                format!("{what}: pitches[{i}] = {pitch} is smaller than the {row_bytes}-byte row of a {width}-wide {format:?} frame"),
            ));
        }
        let pointer: *const c_void = frame.planes[i];
        if pointer.is_null() {
            return Err(CError::null(&format!("{what}: planes[{i}]")));
        }
        let len = pitch
            .checked_mul(rows - 1)
            .and_then(|n| n.checked_add(row_bytes))
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("{what}: pitches[{i}] = {pitch} is absurdly large"))
            })?;
        // SAFETY: the caller guarantees the plane spans `pitch * (rows - 1) + row_bytes` bytes,
        // which is what the descriptor declares.
        planes[i] = unsafe { std::slice::from_raw_parts(pointer.cast::<u8>(), len) };
    }
    Ok(FrameView { format, width, height, planes, pitches: frame.pitches, matrix, range })
}
