//! YUV4MPEG2 reader (the format `ffmpeg -f yuv4mpegpipe` writes): 4:2:0 at 8 or 10 bits.

use std::io::{BufRead, Read};

use vsrqa::frame::{ColorRange, PixelFormat};

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Y4mHeader {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub format: PixelFormat,
    pub range: ColorRange,
}

pub struct Y4mReader<R> {
    input: R,
    pub header: Y4mHeader,
    frame_len: usize,
    frames_read: u64,
}

fn parse_header(line: &str) -> Result<Y4mHeader> {
    let mut tokens = line.split_ascii_whitespace();
    if tokens.next() != Some("YUV4MPEG2") {
        return Err(Error::format("not a YUV4MPEG2 file (no \"YUV4MPEG2\" signature)"));
    }
    let (mut width, mut height, mut fps) = (None, None, None);
    let mut format = PixelFormat::I420; // the y4m default colorspace is 4:2:0 8-bit
    let mut range = ColorRange::Limited;
    for token in tokens {
        let (tag, value) = token.split_at(1);
        match tag {
            "W" => width = value.parse::<u32>().ok(),
            "H" => height = value.parse::<u32>().ok(),
            "F" => {
                let bad = || Error::format(format!("bad frame rate \"{value}\""));
                let (num, den) = value.split_once(':').ok_or_else(bad)?;
                let (num, den) = (num.parse::<f64>().map_err(|_| bad())?, den.parse::<f64>().map_err(|_| bad())?);
                if num <= 0.0 || den <= 0.0 {
                    return Err(Error::format(format!("frame rate {value} is not positive")));
                }
                fps = Some(num / den);
            }
            "C" => {
                format = match value {
                    "420" | "420jpeg" | "420paldv" | "420mpeg2" => PixelFormat::I420,
                    "420p10" => PixelFormat::I420_10Le,
                    other => {
                        return Err(Error::format(format!(
                            "colorspace C{other} is not supported (4:2:0 at 8 or 10 bits is)"
                        )))
                    }
                }
            }
            "X" if value == "COLORRANGE=FULL" => range = ColorRange::Full,
            _ => {} // interlacing, aspect, comments: irrelevant to scoring
        }
    }
    let width = width.filter(|&w| w > 0).ok_or_else(|| Error::format("missing or zero width (W)"))?;
    let height = height.filter(|&h| h > 0).ok_or_else(|| Error::format("missing or zero height (H)"))?;
    let fps = fps.ok_or_else(|| Error::format("missing frame rate (F)"))?;
    Ok(Y4mHeader { width, height, fps, format, range })
}

impl<R: BufRead> Y4mReader<R> {
    pub fn new(mut input: R) -> Result<Self> {
        let line = read_line(&mut input, 4096)?.ok_or_else(|| Error::format("empty file"))?;
        let header = parse_header(&line)?;
        let frame_len = (0..header.format.plane_count())
            .map(|i| {
                let (row, rows) = header.format.plane_extent(i, header.width as usize, header.height as usize);
                row * rows
            })
            .sum();
        Ok(Y4mReader { input, header, frame_len, frames_read: 0 })
    }

    /// Bytes of one frame (planes packed, no padding).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Reads the next frame into `buffer`; `Ok(false)` at a clean end of file.
    pub fn read_frame(&mut self, buffer: &mut Vec<u8>) -> Result<bool> {
        let index = self.frames_read;
        let Some(line) = read_line(&mut self.input, 1024)? else { return Ok(false) };
        if !line.starts_with("FRAME") {
            return Err(Error::format(format!(
                "frame {index}: expected a FRAME marker, found {:?}",
                line.chars().take(16).collect::<String>()
            )));
        }
        buffer.resize(self.frame_len, 0);
        self.input.read_exact(buffer).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::Truncated {
                frame: index,
                message: format!("frame {index} is truncated ({e}): {index} complete frames before it"),
            },
            _ => Error::Io(e),
        })?;
        self.frames_read += 1;
        Ok(true)
    }
}

/// One `\n`-terminated line, bounded so that a binary file cannot make us read it all.
fn read_line(input: &mut impl BufRead, limit: usize) -> Result<Option<String>> {
    let mut bytes = Vec::new();
    let n = input.by_ref().take(limit as u64).read_until(b'\n', &mut bytes)?;
    if n == 0 {
        return Ok(None);
    }
    if bytes.last() != Some(&b'\n') {
        return Err(Error::format(format!("a header line is unterminated or longer than {limit} bytes")));
    }
    bytes.pop();
    String::from_utf8(bytes).map(Some).map_err(|_| Error::format("a header line is not text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ffmpeg_header() {
        let h = parse_header("YUV4MPEG2 W112 H80 F8:1 Ip A1:1 C420jpeg XYSCSS=420JPEG").unwrap();
        assert_eq!((h.width, h.height, h.fps, h.format), (112, 80, 8.0, PixelFormat::I420));
        let h = parse_header("YUV4MPEG2 W2 H2 F30000:1001 C420p10 XCOLORRANGE=FULL").unwrap();
        assert!((h.fps - 29.97).abs() < 1e-3);
        assert_eq!((h.format, h.range), (PixelFormat::I420_10Le, ColorRange::Full));
    }

    #[test]
    fn rejects_bad_headers_with_reasons() {
        assert!(matches!(parse_header("RIFF"), Err(Error::Format(_))));
        assert!(parse_header("RIFF").unwrap_err().to_string().contains("YUV4MPEG2"));
        assert!(parse_header("YUV4MPEG2 W2 H2 F1:1 C444").unwrap_err().to_string().contains("C444"));
        assert!(parse_header("YUV4MPEG2 W2 F1:1").unwrap_err().to_string().contains("height"));
        assert!(parse_header("YUV4MPEG2 W2 H2 F0:1").unwrap_err().to_string().contains("not positive"));
    }

    #[test]
    fn reads_frames_and_reports_truncation() {
        let mut data = b"YUV4MPEG2 W2 H2 F1:1\nFRAME\n".to_vec();
        data.extend([1u8; 6]);
        data.extend(b"FRAME\n");
        data.extend([2u8; 3]); // truncated second frame
        let mut reader = Y4mReader::new(&data[..]).unwrap();
        let mut buffer = Vec::new();
        assert!(reader.read_frame(&mut buffer).unwrap());
        assert_eq!(buffer, vec![1u8; 6]);
        // A file cut inside a frame is its own kind, naming the frame.
        let error = reader.read_frame(&mut buffer).unwrap_err();
        assert!(matches!(error, Error::Truncated { frame: 1, .. }), "{error:?}");
        assert!(error.to_string().contains("frame 1 is truncated"));
    }
}
