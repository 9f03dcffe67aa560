//! Input clips the CLI reads: YUV4MPEG2 (`.y4m`, or any file starting with the signature),
//! headerless raw frames described on the command line (`--pix-fmt`, `--size`, `--fps`), and,
//! for any other file given without those, whatever FFmpeg decodes (container: the demuxer's
//! name, "mov,mp4,m4a,3gp,3g2,mj2").

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange, FrameView, PixelFormat};
use vsrqa_ffmpeg::Decoder;
use vsrqa_train::Decoding;
use vsrqa_video::{raw, y4m::Y4mReader};

use super::Failure;

/// How the clip's frames are stored, and what the user said about them (default: nothing, i.e.
/// each file says it itself).
#[derive(Default)]
pub struct RawOptions {
    pub pix_fmt: Option<String>,
    pub size: Option<String>,
    pub fps: Option<f64>,
    pub matrix: Option<ColorMatrix>,
    pub range: Option<ColorRange>,
    /// The engine's YUV->RGB conversion: `Reference` has FFmpeg-decoded frames delivered as the
    /// reference's OpenCV reader converts them (vsrqa_ffmpeg::Decoder::set_color_conversion).
    pub conversion: ColorConversion,
}

impl RawOptions {
    /// A file as it says it is (no raw-frame options), decoded as `decoding` says.
    pub fn decoded(decoding: &Decoding) -> RawOptions {
        RawOptions {
            matrix: decoding.matrix,
            range: decoding.range,
            conversion: decoding.conversion,
            ..RawOptions::default()
        }
    }
}

/// A stream of frames of one format and size.
pub struct Clip {
    pub path: PathBuf,
    /// "y4m", "raw", or FFmpeg's demuxer name.
    pub container: String,
    /// The format frames are scored in; FFmpeg-decoded frames may change it from frame to frame.
    pub format: PixelFormat,
    /// The file's own pixel format, as FFmpeg names it, when frames are converted from it.
    pub source_format: Option<String>,
    /// FFmpeg-decoded clips: the display rotation applied (degrees clockwise).
    pub rotation: u32,
    /// FFmpeg-decoded clips: the field order of interlaced video.
    pub field_order: Option<String>,
    /// FFmpeg-decoded clips: the HDR transfer (PQ, HLG).
    pub hdr_transfer: Option<String>,
    /// The size of the first frame; a later frame may differ (a new segment, see score.rs).
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub matrix: ColorMatrix,
    pub range: ColorRange,
    /// The YUV->RGB conversion the frames get (as the options say).
    pub conversion: ColorConversion,
    /// FFmpeg's codec name, for FFmpeg-decoded clips.
    pub codec: Option<String>,
    /// The container's frame count (or duration x fps) for FFmpeg-decoded clips: a hint, for the
    /// progress bar.
    pub frames_hint: Option<u64>,
    /// FFmpeg-decoded clips: the stream's rates disagree or its first timestamps are irregular.
    pub variable_frame_rate: bool,
    /// FFmpeg-decoded clips: substitutions and conversions made, and what lies outside the
    /// model's training (see vsrqa_ffmpeg::VideoInfo::notes).
    pub notes: Vec<String>,
    reader: Reader,
    buffer: Vec<u8>,
    frames_read: u64,
}

enum Reader {
    Y4m(Y4mReader<Box<dyn BufRead>>),
    Raw(Box<dyn BufRead>),
    /// Frames keep their own matrix and range unless the command line overrides them.
    Ffmpeg {
        decoder: Box<Decoder>,
        matrix: Option<ColorMatrix>,
        range: Option<ColorRange>,
    },
}

impl Clip {
    pub fn open(path: &Path, options: &RawOptions) -> Result<Clip, Failure> {
        let input_error = |message: String| Failure::from(vsrqa::Error::input(path, message, None));
        // Command-line mistakes are reported before any file is touched.
        let format = options
            .pix_fmt
            .as_deref()
            .map(raw::parse_pixel_format)
            .transpose()
            .map_err(|e| Failure::usage(e.to_string()))?;
        let size = options.size.as_deref().map(parse_size).transpose().map_err(Failure::usage)?;
        let mut input: Box<dyn BufRead> = if path == Path::new("-") {
            Box::new(BufReader::new(io::stdin()))
        } else {
            Box::new(BufReader::new(File::open(path).map_err(|e| input_error(format!("cannot open: {e}")))?))
        };
        let looks_like_y4m = input.fill_buf().map(|b| b.starts_with(b"YUV4MPEG2")).unwrap_or(false);
        if looks_like_y4m {
            if format.is_some() || size.is_some() {
                return Err(Failure::usage(
                    "--pix-fmt and --size describe raw input; this file is Y4M, whose header says both",
                ));
            }
            let reader = Y4mReader::new(input).map_err(|e| input_error(e.to_string()))?;
            let header = reader.header.clone();
            return Ok(Clip {
                path: path.to_path_buf(),
                container: "y4m".to_string(),
                source_format: None,
                rotation: 0,
                field_order: None,
                hdr_transfer: None,
                format: header.format,
                width: header.width,
                height: header.height,
                fps: options.fps.unwrap_or(header.fps),
                matrix: options.matrix.unwrap_or_default(),
                range: options.range.unwrap_or(header.range),
                conversion: options.conversion,
                codec: None,
                frames_hint: None,
                variable_frame_rate: false,
                notes: Vec::new(),
                reader: Reader::Y4m(reader),
                buffer: Vec::new(),
                frames_read: 0,
            });
        }
        if format.is_none() && size.is_none() {
            if path == Path::new("-") {
                return Err(Failure::usage(
                    "stdin is not Y4M: raw frames on stdin need --pix-fmt, --size WxH and --fps (FFmpeg decodes files, not stdin)",
                ));
            }
            drop(input);
            return Clip::open_ffmpeg(path, options);
        }
        let (Some(format), Some((width, height)), Some(fps)) = (format, size, options.fps) else {
            return Err(Failure::usage(format!(
                "{} is not Y4M: raw input needs all of --pix-fmt, --size WxH and --fps (without --pix-fmt and --size, FFmpeg decodes it)",
                path.display()
            )));
        };
        Ok(Clip {
            path: path.to_path_buf(),
            container: "raw".to_string(),
            source_format: None,
            rotation: 0,
            field_order: None,
            hdr_transfer: None,
            format,
            width,
            height,
            fps,
            matrix: options.matrix.unwrap_or_default(),
            range: options.range.unwrap_or_default(),
            conversion: options.conversion,
            codec: None,
            frames_hint: None,
            variable_frame_rate: false,
            notes: Vec::new(),
            reader: Reader::Raw(input),
            buffer: vec![0; raw::frame_len(format, width, height)],
            frames_read: 0,
        })
    }

    /// Any file FFmpeg decodes: fps from the stream unless --fps, matrix and range from each
    /// frame unless --color-matrix / --color-range.
    fn open_ffmpeg(path: &Path, options: &RawOptions) -> Result<Clip, Failure> {
        let mut decoder = Decoder::open(path).map_err(|e| {
            let mut message = e.to_string();
            if message.contains("not a video FFmpeg can read") {
                message.push_str(" (raw frames need --pix-fmt, --size WxH and --fps)");
            }
            Failure::from(message)
        })?;
        decoder.set_color_conversion(options.conversion);
        let info = decoder.info();
        let format = info.frame_format.unwrap_or(PixelFormat::I420);
        Ok(Clip {
            path: path.to_path_buf(),
            container: info.container.clone(),
            format,
            source_format: (Some(info.pixel_format.as_str()) != Some(format.name())).then(|| info.pixel_format.clone()),
            rotation: info.rotation.map_or(0, |r| r.degrees()),
            field_order: info.field_order.clone(),
            hdr_transfer: info.hdr_transfer.clone(),
            width: info.width,
            height: info.height,
            fps: options.fps.unwrap_or(info.fps),
            matrix: options.matrix.unwrap_or(info.color_matrix),
            range: options.range.unwrap_or(info.color_range),
            conversion: options.conversion,
            codec: Some(info.codec.clone()),
            frames_hint: info.frame_count_hint,
            variable_frame_rate: info.variable_frame_rate,
            notes: info.notes.clone(),
            reader: Reader::Ffmpeg { decoder: Box::new(decoder), matrix: options.matrix, range: options.range },
            buffer: Vec::new(),
            frames_read: 0,
        })
    }

    /// The next frame, or `None` at the end of the clip.
    pub fn next_frame(&mut self) -> Result<Option<FrameView<'_>>, Failure> {
        if matches!(self.reader, Reader::Ffmpeg { .. }) {
            return self.next_decoded();
        }
        let more = match &mut self.reader {
            Reader::Y4m(reader) => reader.read_frame(&mut self.buffer),
            Reader::Raw(input) => raw::read_frame(input, &mut self.buffer, self.frames_read),
            Reader::Ffmpeg { .. } => return Ok(None),
        }
        .map_err(|e| vsrqa::Error::input(&self.path, e.to_string(), Some(std::sync::Arc::new(e))))?;
        if !more {
            return Ok(None);
        }
        self.frames_read += 1;
        let mut frame = FrameView::packed(self.format, self.width, self.height, &self.buffer)?;
        frame.matrix = self.matrix;
        frame.range = self.range;
        Ok(Some(frame))
    }

    fn next_decoded(&mut self) -> Result<Option<FrameView<'_>>, Failure> {
        let Reader::Ffmpeg { decoder, matrix, range } = &mut self.reader else { return Ok(None) };
        let Some(decoded) = decoder.next_frame()? else { return Ok(None) };
        let mut frame = decoded.view;
        frame.matrix = matrix.unwrap_or(frame.matrix);
        frame.range = range.unwrap_or(frame.range);
        self.frames_read += 1;
        Ok(Some(frame))
    }

    /// What the decoder noted so far (notes can grow while decoding: a frame flagged interlaced,
    /// a format change), with the file's own at open first.
    pub fn current_notes(&self) -> Vec<String> {
        match &self.reader {
            Reader::Ffmpeg { decoder, .. } => decoder.info().notes.clone(),
            _ => self.notes.clone(),
        }
    }

    /// Like [`Clip::current_notes`] for interlacing and HDR, which frames can reveal.
    pub fn current_field_order_and_transfer(&self) -> (Option<String>, Option<String>) {
        match &self.reader {
            Reader::Ffmpeg { decoder, .. } => (decoder.info().field_order.clone(), decoder.info().hdr_transfer.clone()),
            _ => (self.field_order.clone(), self.hdr_transfer.clone()),
        }
    }
}

/// Parses `WIDTHxHEIGHT`.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!("--size \"{text}\" is not WIDTHxHEIGHT with both above 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn size_parses_and_rejects() {
        assert_eq!(parse_size("112x80"), Ok((112, 80)));
        assert_eq!(parse_size("1920X1080"), Ok((1920, 1080)));
        assert!(parse_size("0x10").is_err());
        assert!(parse_size("112").is_err());
        assert!(parse_size("ax1").is_err());
    }
}
