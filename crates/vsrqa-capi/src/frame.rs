//! `VsrqaFrame` -> `FrameView`: every field checked before a single byte is read, so that a bad
//! descriptor is an error status, never an out-of-bounds read.

use std::ffi::c_void;

use super::abi;
use super::status::{CError, VsrqaStatus::*};
use super::types::*;
use vsrqa::frame::{ColorMatrix, ColorRange, DeviceFrame, Frame, FrameView, PixelFormat, MAX_DIMENSION};

/// A checked `VsrqaFrame` and the caller's `opaque`.
pub(crate) struct Checked<'a> {
    pub frame: Frame<'a>,
    pub opaque: *mut c_void,
}

/// # Safety
/// `frame` must be NULL or point to a readable `VsrqaFrame` of its `struct_size`. For
/// `VSRQA_MEMORY_HOST`, its plane pointers, if the descriptor is valid, must cover the planes it
/// describes; for `VSRQA_MEMORY_CUDA`, they are device pointers of the engine's GPU that do (they
/// are never read on the host).
pub(crate) unsafe fn frame<'a>(frame: *const VsrqaFrame, what: &str) -> Result<Checked<'a>, CError> {
    // SAFETY: forwarded contract.
    let (descriptor, size) = unsafe { abi::read(frame, what)? };
    let format = pixel_format(descriptor.format)?;
    let (matrix, range) = if format.plane_count() == 1 {
        // RGB: the tags do not apply, whatever they say.
        (ColorMatrix::default(), ColorRange::default())
    } else {
        color(&descriptor, abi::is_legacy_frame(size))?
    };
    let frame = match descriptor.memory {
        VSRQA_MEMORY_HOST => {
            // SAFETY: forwarded contract.
            Frame::Host(unsafe { host_view(&descriptor, format, (matrix, range), what)? })
        }
        VSRQA_MEMORY_CUDA => {
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
            Frame::Device(device)
        }
        other => {
            return Err(CError::new(VSRQA_ERROR_UNSUPPORTED_FORMAT, format!("{what}: unknown memory type {other}")))
        }
    };
    Ok(Checked { frame, opaque: descriptor.opaque })
}

/// The colour tags of a YUV frame. `legacy`: a 0.x frame, whose matrix values were 0
/// unspecified, 1 BT.601, 2 BT.709.
fn color(frame: &VsrqaFrame, legacy: bool) -> Result<(ColorMatrix, ColorRange), CError> {
    let matrix = if legacy {
        match frame.color_matrix {
            0 | 1 => Some(ColorMatrix::Bt601),
            2 => Some(ColorMatrix::Bt709),
            _ => None,
        }
    } else {
        match frame.color_matrix {
            VSRQA_COLOR_MATRIX_BT709 => Some(ColorMatrix::Bt709),
            VSRQA_COLOR_MATRIX_UNSPECIFIED | 3 | VSRQA_COLOR_MATRIX_BT470BG | VSRQA_COLOR_MATRIX_BT601 => {
                Some(ColorMatrix::Bt601)
            }
            VSRQA_COLOR_MATRIX_BT2020_NCL => Some(ColorMatrix::Bt2020),
            // H.273 defines them; vsrqa does not implement them.
            0 | 4 | 7 | 8 | 10..=14 => {
                return Err(CError::new(
                    VSRQA_ERROR_UNSUPPORTED_FORMAT,
                    format!(
                        "color matrix {} (H.273) is not supported: use BT.601, BT.709 or BT.2020 (NCL)",
                        frame.color_matrix
                    ),
                ))
            }
            _ => None,
        }
    };
    let matrix = matrix.ok_or_else(|| {
        CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown color matrix {}", frame.color_matrix))
    })?;
    let range = match frame.color_range {
        VSRQA_COLOR_RANGE_UNSPECIFIED | VSRQA_COLOR_RANGE_LIMITED => ColorRange::Limited,
        VSRQA_COLOR_RANGE_FULL => ColorRange::Full,
        other => return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown color range {other}"))),
    };
    Ok((matrix, range))
}

/// The format of C API code `value`: the core's table holds the codes (tests/header.rs checks
/// that the header's constants are the same).
pub(crate) fn pixel_format(value: VsrqaPixelFormat) -> Result<PixelFormat, CError> {
    PixelFormat::from_code(value)
        .ok_or_else(|| CError::new(VSRQA_ERROR_UNSUPPORTED_FORMAT, format!("unknown pixel format {value}")))
}

/// The host planes of a descriptor, every extent checked before a slice is made.
///
/// # Safety
/// The descriptor's plane pointers, if it is valid, cover the planes it describes.
unsafe fn host_view<'a>(
    frame: &VsrqaFrame,
    format: PixelFormat,
    (matrix, range): (ColorMatrix, ColorRange),
    what: &str,
) -> Result<FrameView<'a>, CError> {
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
                format!("{what}: pitches[{i}] = {pitch} is smaller than the {row_bytes}-byte row of a {width}-wide {format} frame"),
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
