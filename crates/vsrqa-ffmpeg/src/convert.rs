//! swscale conversion of the pixel formats vsrqa does not take directly, at the same size: to
//! yuv420p (8-bit YUV and gray sources), yuv420p10le (deeper YUV) or rgb24 (RGB, palette and
//! Bayer sources). YUV keeps its range and matrix: no range or matrix conversion happens, the
//! chroma is only resampled (bicubic, accurate rounding, bit-exact C code).

use ffmpeg_sys_next as ff;
use libc::c_int;

use vsrqa::frame::{ColorMatrix, ColorRange};

use super::error;
use super::ffi::{self, Frame, Scaler};

const FLAGS: c_int = ff::SWS_BICUBIC | ff::SWS_ACCURATE_RND | ff::SWS_BITEXACT;

/// What a converter is set up for; a frame that differs gets a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    from: c_int,
    to: c_int,
    width: c_int,
    height: c_int,
    range: ColorRange,
    matrix: ColorMatrix,
}

pub(super) struct Converter {
    key: Key,
    scaler: Scaler,
    out: Frame,
}

impl Converter {
    /// Converts `source` into this converter's output frame (made or re-made as needed), which is
    /// returned; `to` must be yuv420p, yuv420p10le or rgb24.
    pub(super) fn convert<'a>(
        slot: &'a mut Option<Converter>,
        source: &Frame,
        to: ff::AVPixelFormat,
        range: ColorRange,
        matrix: ColorMatrix,
    ) -> Result<&'a Frame, String> {
        let f = source.get();
        let key = Key { from: f.format, to: to as c_int, width: f.width, height: f.height, range, matrix };
        if slot.as_ref().is_none_or(|c| c.key != key) {
            *slot = None;
            *slot = Some(Converter::new(key, to)?);
        }
        let converter = slot.as_mut().ok_or("no converter")?;
        // SAFETY: the source frame's planes are valid for its format and size (decoder output,
        // positive pitches: bottom-up frames are copied before), the output frame owns buffers
        // of the target format and size (av_frame_get_buffer), and the scaler was made for
        // exactly these formats and sizes (the key).
        let rows = unsafe { converter.scaler.scale(source, f.height, &converter.out) };
        if rows != key.height {
            return Err(format!("swscale converted {rows} of {} rows", key.height));
        }
        Ok(&converter.out)
    }

    fn new(key: Key, to: ff::AVPixelFormat) -> Result<Converter, String> {
        let from_name = super::format::name(key.from);
        let from = ffi::pixel_format_enum(key.from).ok_or_else(|| format!("pixel format {from_name} is unknown"))?;
        let scaler = Scaler::new(key.width, key.height, from, to, FLAGS)
            .ok_or_else(|| format!("swscale cannot convert {from_name} to {}", super::format::name(key.to)))?;
        if to != ff::AVPixelFormat::AV_PIX_FMT_RGB24 {
            // YUV to YUV: keep the range (swscale would otherwise turn yuvj* into limited range)
            // and give both sides the same matrix.
            let full = c_int::from(range_is_full(key.range));
            let table = match key.matrix {
                ColorMatrix::Bt709 => ff::SWS_CS_ITU709,
                ColorMatrix::Bt601 => ff::SWS_CS_ITU601,
                ColorMatrix::Bt2020 => ff::SWS_CS_BT2020,
                other => return Err(format!("swscale has no table for the {} matrix", other.name())),
            };
            // SAFETY: sws_getCoefficients returns a static table for any value; the scaler is
            // valid; brightness 0, contrast and saturation 1.0 in 16.16 fixed point = unchanged.
            let status = unsafe {
                let coefficients = ff::sws_getCoefficients(table);
                ff::sws_setColorspaceDetails(
                    scaler.as_ptr(),
                    coefficients,
                    full,
                    coefficients,
                    full,
                    0,
                    1 << 16,
                    1 << 16,
                )
            };
            if status < 0 {
                return Err(format!("swscale cannot keep the color range converting {from_name}"));
            }
        }
        let out = Frame::with_buffer(to as c_int, key.width, key.height)
            .map_err(|code| format!("cannot allocate a converted frame: {}", error::text(code)))?;
        Ok(Converter { key, scaler, out })
    }
}

fn range_is_full(range: ColorRange) -> bool {
    range == ColorRange::Full
}
