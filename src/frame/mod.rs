//! Frames: the caller's pixel memory described without copying ([`FrameView`], [`DeviceFrame`]),
//! their pixel formats ([`format`](mod@format)) and colour tags. (Internally, also their conversion to 8-bit
//! RGB and the geometric operations the branches need.)

internal_mod!(convert);
pub mod format;
internal_mod!(fragments);
internal_mod!(opencv_linear);
internal_mod!(ops);
mod owned;
internal_mod!(pil_resample);

pub use format::{PixelFormat, PixelFormatDescriptor};
pub use owned::OwnedFrame;

use crate::error::{Error, Result};

/// Largest accepted width or height. Far above 8K; it bounds allocations made for one frame.
pub const MAX_DIMENSION: u32 = 16384;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ColorMatrix {
    /// BT.601, also what the reference decoding applied to every video (see docs/bundle.md).
    #[default]
    Bt601,
    Bt709,
    /// BT.2020 non-constant luminance (Kr 0.2627, Kb 0.0593).
    Bt2020,
}

/// How Y'CbCr frames become 8-bit RGB (docs/branches.md, "Decoding").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ColorConversion {
    /// The frames the reference's OpenCV decoding gives, which the published weights were trained
    /// on: swscale's fixed-point BT.601 (its x86 SIMD arithmetic), nearest chroma, the matrix tag
    /// ignored and the range kept. Bit-exact for 8-bit 4:2:0 (docs/branches.md).
    #[default]
    Reference,
    /// The frame's own matrix and range, in float64 with round half to even.
    Exact,
}

impl ColorConversion {
    pub fn name(self) -> &'static str {
        match self {
            ColorConversion::Reference => "reference",
            ColorConversion::Exact => "exact",
        }
    }

    pub fn parse(text: &str) -> Option<ColorConversion> {
        match text {
            "reference" => Some(ColorConversion::Reference),
            "exact" => Some(ColorConversion::Exact),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ColorRange {
    #[default]
    Limited,
    Full,
}

impl ColorMatrix {
    /// The names every front end takes (the CLI's `--color-matrix`, Python's `matrix=`), for
    /// messages: "bt601, bt709 or bt2020".
    pub const NAMES: &'static str = "bt601, bt709 or bt2020";

    /// The name reports and options use.
    pub fn name(self) -> &'static str {
        match self {
            ColorMatrix::Bt601 => "bt601",
            ColorMatrix::Bt709 => "bt709",
            ColorMatrix::Bt2020 => "bt2020",
        }
    }

    /// The matrix `text` names (see [`ColorMatrix::NAMES`]).
    pub fn parse(text: &str) -> Option<ColorMatrix> {
        match text {
            "bt601" => Some(ColorMatrix::Bt601),
            "bt709" => Some(ColorMatrix::Bt709),
            "bt2020" => Some(ColorMatrix::Bt2020),
            _ => None,
        }
    }
}

impl ColorRange {
    /// The names every front end takes, for messages. `tv` and `pc` are FFmpeg's names.
    pub const NAMES: &'static str = "limited (tv) or full (pc)";

    /// The name reports and options use.
    pub fn name(self) -> &'static str {
        match self {
            ColorRange::Limited => "limited",
            ColorRange::Full => "full",
        }
    }

    /// The range `text` names: `limited` or FFmpeg's `tv`, `full` or FFmpeg's `pc`.
    pub fn parse(text: &str) -> Option<ColorRange> {
        match text {
            "limited" | "tv" => Some(ColorRange::Limited),
            "full" | "pc" => Some(ColorRange::Full),
            _ => None,
        }
    }
}

/// A borrowed frame in host memory: the format, the size, and one slice + pitch per plane.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub planes: [&'a [u8]; 3],
    /// Bytes from one row to the next, per plane.
    pub pitches: [usize; 3],
    pub matrix: ColorMatrix,
    pub range: ColorRange,
}

impl<'a> FrameView<'a> {
    /// A tightly packed frame in one buffer (planes one after another, pitch = row bytes).
    pub fn packed(format: PixelFormat, width: u32, height: u32, data: &'a [u8]) -> Result<Self> {
        let (w, h) = (width as usize, height as usize);
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        let mut pitches = [0usize; 3];
        let mut offset = 0;
        for (i, (plane, pitch)) in planes.iter_mut().zip(pitches.iter_mut()).enumerate().take(format.plane_count()) {
            let (row_bytes, rows) = format.plane_extent(i, w, h);
            let end = offset + row_bytes * rows;
            *plane = data.get(offset..end).ok_or_else(|| {
                Error::invalid(format!(
                    "a packed {format} {width}x{height} frame needs at least {end} bytes, got {}",
                    data.len()
                ))
            })?;
            *pitch = row_bytes;
            offset = end;
        }
        let frame = FrameView {
            format,
            width,
            height,
            planes,
            pitches,
            matrix: ColorMatrix::default(),
            range: ColorRange::default(),
        };
        frame.validate()?;
        Ok(frame)
    }

    /// Bytes that plane `index` must span: full pitch for every row but the last.
    pub fn required_plane_len(format: PixelFormat, index: usize, width: u32, height: u32, pitch: usize) -> usize {
        let (row_bytes, rows) = format.plane_extent(index, width as usize, height as usize);
        if rows == 0 {
            0
        } else {
            pitch * (rows - 1) + row_bytes
        }
    }

    /// Checks sizes, pitches and plane lengths. Every consumer can then index without checks
    /// failing.
    pub fn validate(&self) -> Result<()> {
        check_geometry(self.format, self.width, self.height, &self.pitches)?;
        for i in 0..self.format.plane_count() {
            let need = Self::required_plane_len(self.format, i, self.width, self.height, self.pitches[i]);
            if self.planes[i].len() < need {
                return Err(Error::invalid(format!("plane {i} holds {} bytes, {need} needed", self.planes[i].len())));
            }
        }
        Ok(())
    }

    /// Row `y` of plane `index`, exactly the row's bytes.
    pub fn row(&self, index: usize, y: usize) -> &'a [u8] {
        let (row_bytes, _) = self.format.plane_extent(index, self.width as usize, self.height as usize);
        let start = y * self.pitches[index];
        &self.planes[index][start..start + row_bytes]
    }
}

/// A buffer of `len` copies of `value` for one frame's pixels, or [`Error::OutOfMemory`] where the
/// allocator refuses: a frame too large for the machine must be a clean error to the caller, not
/// an abort of its process. Buffers that scale with the frame's size go through here.
pub(crate) fn try_buffer<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| {
        Error::OutOfMemory(format!("{what} needs {} MiB, which could not be allocated", (len * size_of::<T>()) >> 20))
    })?;
    buffer.resize(len, value);
    Ok(buffer)
}

/// The checks every frame description shares: a size within the limits, and pitches that hold a
/// row of each plane.
fn check_geometry(format: PixelFormat, width: u32, height: u32, pitches: &[usize; 3]) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::invalid(format!("frame size {width}x{height} is empty")));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(Error::invalid(format!(
            "frame size {width}x{height} exceeds the {MAX_DIMENSION}x{MAX_DIMENSION} limit"
        )));
    }
    for (i, &pitch) in pitches.iter().enumerate().take(format.plane_count()) {
        let (row_bytes, _) = format.plane_extent(i, width as usize, height as usize);
        if pitch < row_bytes {
            return Err(Error::invalid(format!(
                "plane {i} pitch {pitch} is smaller than its row ({row_bytes} bytes for {format} width {width})"
            )));
        }
    }
    Ok(())
}

/// A frame in device memory (e.g. CUDA device pointers from NVDEC or an encoder): the same
/// description as [`FrameView`], with addresses the GPU path's executor reads.
#[derive(Clone, Copy, Debug)]
pub struct DeviceFrame {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub planes: [u64; 3],
    pub pitches: [usize; 3],
    pub matrix: ColorMatrix,
    pub range: ColorRange,
}

impl DeviceFrame {
    /// Checks sizes, pitches and that every plane has an address. (Device memory cannot be
    /// measured from the host: the caller guarantees each plane spans `pitch * rows` bytes.)
    pub fn validate(&self) -> Result<()> {
        check_geometry(self.format, self.width, self.height, &self.pitches)?;
        for i in 0..self.format.plane_count() {
            if self.planes[i] == 0 {
                return Err(Error::invalid(format!("plane {i} has no address")));
            }
        }
        Ok(())
    }
}

/// A frame as a caller hands it over: pixels in host memory, or device pointers of the engine's
/// GPU. Every way of scoring (sessions, [`crate::Engine::score_frame`], the C API) takes this.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Frame<'a> {
    Host(FrameView<'a>),
    Device(DeviceFrame),
}

impl<'a> From<FrameView<'a>> for Frame<'a> {
    fn from(view: FrameView<'a>) -> Self {
        Frame::Host(view)
    }
}

impl<'a> From<&FrameView<'a>> for Frame<'a> {
    fn from(view: &FrameView<'a>) -> Self {
        Frame::Host(*view)
    }
}

impl From<DeviceFrame> for Frame<'_> {
    fn from(frame: DeviceFrame) -> Self {
        Frame::Device(frame)
    }
}

impl Frame<'_> {
    pub fn validate(&self) -> Result<()> {
        match self {
            Frame::Host(view) => view.validate(),
            Frame::Device(frame) => frame.validate(),
        }
    }

    pub fn size(&self) -> (u32, u32) {
        match self {
            Frame::Host(view) => (view.width, view.height),
            Frame::Device(frame) => (frame.width, frame.height),
        }
    }
}

/// The one-size rule of a clip: every frame of a session (or stream) has the size of its first.
/// Pixel format, matrix and range may change from frame to frame (each frame says its own, and all
/// become the same RGB picture); a new size is a new clip, since the branches' resizing, crops and
/// temporal chunks assume one picture geometry. `first` is the size of the frames accepted so far
/// (`None` before the first), `index` the frame's position in the stream.
pub fn check_clip_size(first: Option<(u32, u32)>, frame: &Frame<'_>, index: u64) -> Result<()> {
    let (width, height) = frame.size();
    match first {
        Some((w, h)) if (w, h) != (width, height) => Err(crate::error::Error::invalid(format!(
            "frame {index} is {width}x{height}, the clip's frames are {w}x{h}: a clip has one frame size \
             (finish this session and start a new one for the frames of the new size)"
        ))),
        _ => Ok(()),
    }
}

/// An 8-bit RGB image, rows packed, 3 bytes a pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_names_parse_back_and_take_ffmpegs_range_names() {
        for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709, ColorMatrix::Bt2020] {
            assert_eq!(ColorMatrix::parse(matrix.name()), Some(matrix));
            assert!(ColorMatrix::NAMES.contains(matrix.name()));
        }
        for range in [ColorRange::Limited, ColorRange::Full] {
            assert_eq!(ColorRange::parse(range.name()), Some(range));
            assert!(ColorRange::NAMES.contains(range.name()));
        }
        // Files that record them (a feature bank's info.json) write the same names.
        assert_eq!(serde_json::to_value(ColorMatrix::Bt2020).unwrap(), ColorMatrix::Bt2020.name());
        assert_eq!(serde_json::to_value(ColorRange::Full).unwrap(), ColorRange::Full.name());
        assert_eq!(ColorRange::parse("tv"), Some(ColorRange::Limited));
        assert_eq!(ColorRange::parse("pc"), Some(ColorRange::Full));
        for unknown in ["", "BT709", "bt470bg", "studio", "jpeg"] {
            assert_eq!((ColorMatrix::parse(unknown), ColorRange::parse(unknown)), (None, None), "{unknown}");
        }
    }
}
