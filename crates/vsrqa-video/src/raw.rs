//! Headerless raw video: frames of one pixel format and size, packed back to back.

use std::io::Read;

use vsrqa::frame::PixelFormat;

use crate::error::{Error, Result};

/// Parses a pixel format name as FFmpeg spells it (the core's table's names and aliases).
pub fn parse_pixel_format(name: &str) -> Result<PixelFormat> {
    PixelFormat::from_name(name)
        .ok_or_else(|| Error::format(format!("unknown pixel format \"{name}\" ({})", PixelFormat::names())))
}

/// Bytes of one packed frame.
pub fn frame_len(format: PixelFormat, width: u32, height: u32) -> usize {
    (0..format.plane_count())
        .map(|i| {
            let (row, rows) = format.plane_extent(i, width as usize, height as usize);
            row * rows
        })
        .sum()
}

/// Reads the next frame; `Ok(false)` at a clean end, an error naming the frame when the file
/// ends inside it.
pub fn read_frame(input: &mut impl Read, buffer: &mut [u8], index: u64) -> Result<bool> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                let message = format!("frame {index} is truncated: {filled} of {} bytes", buffer.len());
                return Err(Error::Truncated { frame: index, message });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_follow_ffmpeg_layouts() {
        assert_eq!(frame_len(PixelFormat::I420, 5, 3), 15 + 2 * 3 * 2);
        assert_eq!(frame_len(PixelFormat::P010, 4, 2), 16 + 8);
        assert_eq!(frame_len(PixelFormat::Rgb24, 4, 2), 24);
    }

    #[test]
    fn truncated_frame_is_reported() {
        let data = [0u8; 10];
        let mut buffer = [0u8; 6];
        let mut input = &data[..];
        assert!(read_frame(&mut input, &mut buffer, 0).unwrap());
        let error = read_frame(&mut input, &mut buffer, 1).unwrap_err();
        assert!(matches!(error, Error::Truncated { frame: 1, .. }), "{error:?}");
        assert!(error.to_string().contains("frame 1 is truncated"));
    }
}
