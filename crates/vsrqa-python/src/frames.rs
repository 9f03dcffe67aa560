//! Frames from Python: numpy arrays (or anything with the buffer protocol) read in place, and
//! tensors of other libraries through DLPack.
//!
//! Layouts (T frames, each H x W):
//! - packed RGB formats (rgb24, bgr24, rgba, bgra): uint8 `[T, H, W, C]`, C = 3 or 4. Rows may
//!   be padded (a cropped view): only each row's pixels must be contiguous.
//! - 4:2:0 YUV (yuv420p, nv12: uint8; yuv420p10le, p010le: uint16): `[T, H * 3 / 2, W]`, the
//!   planes one after another as FFmpeg and OpenCV store them; each frame contiguous; H and W even.
//!
//! A single frame (`Session.push`) is the same without the leading T.

use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use vsrqa::frame::{ColorMatrix, ColorRange, FrameView, PixelFormat};

use crate::errors::{invalid, unsupported};

/// How the caller says its frames are encoded.
#[derive(Clone, Copy, Debug)]
pub struct Encoding {
    pub format: PixelFormat,
    pub matrix: ColorMatrix,
    pub range: ColorRange,
}

/// A `matrix=` name, as the CLI's --color-matrix takes it (the core's names); `None`: not given.
pub fn parse_matrix(py: Python<'_>, name: Option<&str>) -> PyResult<Option<ColorMatrix>> {
    name.map(|name| {
        ColorMatrix::parse(name).ok_or_else(|| invalid(py, format!("matrix \"{name}\": use {}", ColorMatrix::NAMES)))
    })
    .transpose()
}

/// A `range=` name, as the CLI's --color-range takes it; `None`: not given.
pub fn parse_range(py: Python<'_>, name: Option<&str>) -> PyResult<Option<ColorRange>> {
    name.map(|name| {
        ColorRange::parse(name).ok_or_else(|| invalid(py, format!("range \"{name}\": use {}", ColorRange::NAMES)))
    })
    .transpose()
}

impl Encoding {
    pub fn parse(py: Python<'_>, format: &str, matrix: Option<&str>, range: Option<&str>) -> PyResult<Encoding> {
        let format = vsrqa_video::raw::parse_pixel_format(format).map_err(|e| invalid(py, format!("format: {e}")))?;
        let matrix = parse_matrix(py, matrix)?.unwrap_or_default();
        let range = parse_range(py, range)?.unwrap_or_default();
        Ok(Encoding { format, matrix, range })
    }

    /// Packed RGB formats: the channels of a pixel; `None` for 4:2:0 YUV.
    pub fn channels(self) -> Option<usize> {
        self.format.is_rgb().then(|| self.format.pixel_bytes(0))
    }

    fn item_size(self) -> usize {
        self.format.descriptor().sample_bytes
    }

    fn dtype(self) -> &'static str {
        if self.item_size() == 2 {
            "uint16"
        } else {
            "uint8"
        }
    }

    fn name(self) -> &'static str {
        self.format.name()
    }
}

/// Frames held in the caller's memory (the buffer keeps it alive), read without a copy.
pub struct HostFrames {
    buffer: PyUntypedBuffer,
    encoding: Encoding,
    count: usize,
    width: u32,
    height: u32,
    /// Bytes from one frame to the next.
    frame_stride: usize,
    /// Packed RGB: bytes from one row to the next.
    row_pitch: usize,
    /// Bytes one frame spans from its first byte.
    frame_span: usize,
}

impl HostFrames {
    /// Reads `object` as frames: `batched` a `[T, ...]` array, else one frame.
    pub fn from_object(py: Python<'_>, object: &Bound<'_, PyAny>, encoding: Encoding, batched: bool) -> PyResult<Self> {
        let buffer = host_buffer(py, object, encoding)?;
        let frames = HostFrames::describe(buffer, encoding, batched);
        frames.map_err(|message| invalid(py, message))
    }

    fn describe(buffer: PyUntypedBuffer, encoding: Encoding, batched: bool) -> Result<Self, String> {
        let item = encoding.item_size();
        let format = buffer.format().to_string_lossy().into_owned();
        let format_code = format.trim_start_matches(['@', '=', '<']);
        let expected_code = if item == 2 { "H" } else { "B" };
        if format_code != expected_code || buffer.item_size() != item || (item == 2 && cfg!(target_endian = "big")) {
            return Err(format!(
                "{} frames must have dtype {}, got an array of buffer format \"{format}\" ({} bytes per item)",
                encoding.name(),
                encoding.dtype(),
                buffer.item_size()
            ));
        }
        if buffer.suboffsets().is_some() {
            return Err("frames in indirect (PIL-style) buffers are not supported: pass a numpy array".into());
        }
        let packed_dims = if encoding.channels().is_some() { 3 } else { 2 };
        let want_dims = packed_dims + usize::from(batched);
        let (shape, strides) = (buffer.shape().to_vec(), buffer.strides().to_vec());
        let layout = match encoding.channels() {
            Some(c) => format!("[T, H, W, {c}]"),
            None => "[T, H * 3 / 2, W]".into(),
        };
        let layout = if batched { layout } else { layout.replacen("T, ", "", 1) };
        if shape.len() != want_dims {
            return Err(format!(
                "{} frames must be an array of shape {layout}, got {} dimensions {shape:?}",
                encoding.name(),
                shape.len()
            ));
        }
        if let Some(negative) = strides.iter().find(|&&s| s < 0) {
            return Err(format!(
                "the array has a negative stride ({negative}, a flipped view): pass np.ascontiguousarray(frames)"
            ));
        }
        let strides: Vec<usize> = strides.iter().map(|&s| s as usize).collect();
        let (count, frame_stride) = if batched { (shape[0], strides[0]) } else { (1, 0) };
        let dims = &shape[usize::from(batched)..];
        let steps = &strides[usize::from(batched)..];
        let not_contiguous = |what: &str| {
            format!(
                "{what} are not contiguous in memory (strides {:?}): pass np.ascontiguousarray(frames)",
                buffer.strides()
            )
        };
        let (width, height, row_pitch, frame_span) = match encoding.channels() {
            Some(channels) => {
                let (h, w, c) = (dims[0], dims[1], dims[2]);
                if c != channels {
                    return Err(format!(
                        "{} frames must have {channels} channels in the last dimension, got shape {shape:?}",
                        encoding.name()
                    ));
                }
                if steps[2] != 1 || steps[1] != channels {
                    return Err(not_contiguous("the pixels of a row"));
                }
                let pitch = steps[0];
                if h > 1 && pitch < w * channels {
                    return Err(not_contiguous("the rows"));
                }
                let span = if h == 0 || w == 0 { 0 } else { pitch * (h - 1) + w * channels };
                (w, h, pitch.max(w * channels), span)
            }
            None => {
                let (rows, w) = (dims[0], dims[1]);
                if steps[1] != item || (rows > 1 && steps[0] != w * item) {
                    return Err(not_contiguous("the planes of a 4:2:0 frame"));
                }
                if rows % 3 != 0 || (rows / 3) % 2 != 0 || w % 2 != 0 {
                    return Err(format!(
                        "{} frames are [H * 3 / 2, W] arrays with H and W even, got {rows} rows of width {w}",
                        encoding.name()
                    ));
                }
                (w, rows / 3 * 2, w * item, rows * w * item)
            }
        };
        if batched && count > 1 && frame_stride < frame_span {
            return Err(format!(
                "the frames overlap in memory (frame stride {frame_stride} bytes, a frame spans {frame_span}): \
                 pass np.ascontiguousarray(frames)"
            ));
        }
        let dimension = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(HostFrames {
            buffer,
            encoding,
            count,
            width: dimension(width),
            height: dimension(height),
            frame_stride,
            row_pitch,
            frame_span,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// Frame `index` (< `len()`), checked by FrameView's rules (size limits, plane lengths).
    pub fn frame(&self, index: usize) -> vsrqa::Result<FrameView<'_>> {
        assert!(index < self.count, "frame {index} of {}", self.count);
        if self.frame_span == 0 {
            return Err(vsrqa::Error::InvalidArgument(format!("frame size {}x{} is empty", self.width, self.height)));
        }
        // SAFETY: the buffer protocol guarantees that every element its shape and strides address
        // lies in valid memory, held while `self.buffer` is; frame `index` spans `frame_span` bytes
        // from `index * frame_stride` (the last byte is its last element). The memory is only read.
        let bytes = unsafe {
            let start = (self.buffer.buf_ptr() as *const u8).add(index * self.frame_stride);
            std::slice::from_raw_parts(start, self.frame_span)
        };
        let frame = match self.encoding.channels() {
            Some(_) => {
                let frame = FrameView {
                    format: self.encoding.format,
                    width: self.width,
                    height: self.height,
                    planes: [bytes, &[], &[]],
                    pitches: [self.row_pitch, 0, 0],
                    matrix: self.encoding.matrix,
                    range: self.encoding.range,
                };
                frame.validate()?;
                frame
            }
            // `packed` validates; its colours are the defaults until set.
            None => FrameView {
                matrix: self.encoding.matrix,
                range: self.encoding.range,
                ..FrameView::packed(self.encoding.format, self.width, self.height, bytes)?
            },
        };
        Ok(frame)
    }
}

/// The buffer of `object`: its own (numpy, anything with the buffer protocol), or for a tensor of
/// another library (torch, jax, cupy) its host memory through DLPack. Device tensors are refused
/// with the reason.
fn host_buffer(py: Python<'_>, object: &Bound<'_, PyAny>, encoding: Encoding) -> PyResult<PyUntypedBuffer> {
    let not_an_array = |object: &Bound<'_, PyAny>| {
        let type_name = object.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        invalid(
            py,
            format!(
                "frames must be a numpy array of {} (or a tensor with __dlpack__), got {type_name}",
                encoding.dtype()
            ),
        )
    };
    if let Ok(buffer) = PyUntypedBuffer::get(object) {
        return Ok(buffer);
    }
    if !object.hasattr("__dlpack__")? {
        return Err(not_an_array(object));
    }
    let (device_type, _): (i32, i32) = object.call_method0("__dlpack_device__")?.extract()?;
    // DLPack's kDLCPU (1) and kDLCUDAHost (3, pinned host memory).
    if device_type != 1 && device_type != 3 {
        return Err(unsupported(
            py,
            format!(
                "the frames are in device memory (DLPack device type {device_type}); the Python package reads \
                 host memory: move them to the CPU first (tensor.cpu())"
            ),
        ));
    }
    let array = py.import("numpy")?.call_method1("from_dlpack", (object,))?;
    PyUntypedBuffer::get(&array).map_err(|_| not_an_array(&array))
}
