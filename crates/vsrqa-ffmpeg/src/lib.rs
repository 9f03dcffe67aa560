//! Decoding any video FFmpeg reads (through the system's libavformat, libavcodec and libswscale)
//! into [`FrameView`]s.
//!
//! - **Stream**: the best video stream (`av_find_best_stream`), never an attached picture (an
//!   audio file's cover art is a one-frame "video" stream, not video: a file with nothing else
//!   has no video stream); the others are discarded. At the end the decoder is flushed, so every
//!   frame comes out: the count equals `ffprobe -count_frames`'s `nb_read_frames`.
//! - **Rotation**: a display matrix of 90, 180 or 270 degrees is applied to every frame, as
//!   ffmpeg and players do (see [`orientation`]); [`VideoInfo`] gives the upright size and a note.
//! - **Size changes**: frames carry their own size; a stream whose resolution changes (an HLS or
//!   DASH capture, concatenated TS) delivers frames of each size. A clip has one size, so a
//!   caller starts a new clip at each change (the `vsrqa` tool does, and reports each).
//! - **Pixel formats**: yuv420p, yuvj420p (full range), nv12, yuv420p10le and p010le frames are
//!   viewed in place as I420, NV12, I420 10-bit and P010 (the decoder's own planes and pitches, no
//!   copy), as are rgb24, bgr24, rgba/rgb0 and bgra/bgr0. Every other format is converted with
//!   swscale at the same size: YUV and gray at 8 bits to yuv420p, deeper ones (10 to 16 bits) to
//!   yuv420p10le, keeping their range and matrix tags (chroma is resampled, no range or matrix
//!   conversion; 12-bit and deeper sources lose their low bits); RGB, palette and Bayer formats to
//!   rgb24. Frames stored bottom-up (negative pitches) are copied into a top-down frame first.
//! - **Color**: per frame, from `colorspace`: BT.709 -> [`ColorMatrix::Bt709`]; BT.2020
//!   non-constant luminance -> [`ColorMatrix::Bt2020`]; BT.470BG, SMPTE 170M, unspecified (and
//!   "reserved") -> [`ColorMatrix::Bt601`]; any other matrix (BT.2020 constant luminance, FCC,
//!   SMPTE 240M, YCgCo...) -> BT.601, noted once in [`VideoInfo::notes`]. Range:
//!   `color_range` JPEG or a `yuvj*` format -> [`ColorRange::Full`]; MPEG or unspecified ->
//!   [`ColorRange::Limited`]. RGB frames are tagged BT.601 full range (vsrqa ignores both).
//! - **Outside training**: interlaced streams (the codec's field order, or frames flagged
//!   interlaced) and HDR transfers (PQ, HLG) are decoded as they are, with a note in
//!   [`VideoInfo::notes`]: the reference never saw such video. So is each converted source format.
//! - **Timestamps**: `best_effort_timestamp` x the stream's time base, as the container states it
//!   (not rebased to start at 0). Frame rate and the variable frame rate heuristic: see
//!   [`timing`] and [`VideoInfo`].
//! - **Errors**: [`Error::Input`] naming the file. A decoding or reading error mid-stream is
//!   reported once the frames the decoder still held have come out, and says after how many
//!   frames the stream broke; later calls return `Ok(None)`. A frame FFmpeg returns with errors
//!   concealed (`decode_error_flags`, or flagged corrupt: a truncated file's last frame, damaged
//!   data) also ends the stream with that error, and is not returned: scoring patched-up pixels
//!   would measure the damage, not the video. (FFmpeg's own tools output such frames; `ffprobe
//!   -count_frames` counts them.)
//! - **Logging**: nothing is printed; see [`error`] for where FFmpeg's log goes (a process-wide
//!   setting, made on the first `open`).
//! - **Threads**: the decoder uses FFmpeg's frame and slice threading with one thread per core;
//!   the output does not depend on it.

mod convert;
mod error;
mod ffi;
mod format;
mod open;
mod opencv;
pub mod orientation;
mod planes;
pub mod timing;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::ptr;

use ffmpeg_sys_next as ff;
use libc::c_int;

use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange, FrameView, PixelFormat};
use vsrqa::{Error, Result};

use convert::Converter;
use ffi::{CodecContext, Frame, Input, Packet};
use format::Mapping;
use opencv::OpencvConverter;
use orientation::Rotation;

/// What the chosen video stream declares, known at [`Decoder::open`]. `variable_frame_rate` and
/// `notes` can still grow while decoding.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Coded frame size of the stream; frames carry their own size.
    pub width: u32,
    pub height: u32,
    /// `avg_frame_rate`, else `r_frame_rate`, else [`timing::FALLBACK_FPS`] (25, with a note).
    pub fps: f64,
    /// FFmpeg's codec name ("h264", "hevc").
    pub codec: String,
    /// FFmpeg's name of the stream's pixel format ("yuv420p", "yuvj420p", "yuv422p10le").
    pub pixel_format: String,
    /// The format frames will be delivered in (`pixel_format` viewed or converted, see the module
    /// documentation); `None` when the stream does not declare a usable pixel format. A frame
    /// whose format differs carries its own.
    pub frame_format: Option<PixelFormat>,
    /// The container's frame count, else duration x fps rounded; a hint, not a promise.
    pub frame_count_hint: Option<u64>,
    /// The stream's duration, else the container's.
    pub duration_seconds: Option<f64>,
    /// From the stream's tags; every frame carries its own (see the module documentation).
    pub color_matrix: ColorMatrix,
    pub color_range: ColorRange,
    /// The frame rates disagree by more than 1%, or timestamps are irregular (the first
    /// packets at open; every decoded frame afterwards): see [`timing`].
    pub variable_frame_rate: bool,
    /// FFmpeg's name of the demuxer ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm").
    pub container: String,
    /// The display rotation applied to every frame (see [`orientation`]): `width` and `height`
    /// are the upright size, the coded one turned.
    pub rotation: Option<Rotation>,
    /// The field order of an interlaced stream ("tt (top field first)"), from the codec; `None`
    /// for progressive or undeclared (a frame flagged interlaced later adds a note).
    pub field_order: Option<String>,
    /// The transfer of an HDR stream ("smpte2084 (PQ)", "arib-std-b67 (HLG)").
    pub hdr_transfer: Option<String>,
    /// What was substituted, converted or is outside what the model was trained on (no frame
    /// rate declared, an unimplemented matrix, a converted pixel format, a rotation, interlaced
    /// or HDR video).
    pub notes: Vec<String>,
}

/// One decoded frame, borrowed from the decoder until the next call.
#[derive(Clone, Copy, Debug)]
pub struct DecodedFrame<'a> {
    pub view: FrameView<'a>,
    /// 0-based, in presentation order.
    pub index: u64,
    /// `best_effort_timestamp` in seconds, when the stream has timestamps.
    pub pts_seconds: Option<f64>,
}

/// At most this many packets (or [`PRESCAN_BYTES`]) are read at open to judge timestamp
/// regularity; they are decoded afterwards, not read twice.
const PRESCAN_PACKETS: usize = 48;
const PRESCAN_BYTES: usize = 16 << 20;
/// Of the prescanned timestamps (sorted), the largest this many are not compared unless the file
/// ended: a frame shown between two of them may not have been read yet (B-frame reordering).
const PRESCAN_UNSURE: usize = 16;

/// Decodes one video file, frame by frame. `Send`, not `Sync`.
pub struct Decoder {
    path: PathBuf,
    info: VideoInfo,
    stream_index: c_int,
    time_base: ff::AVRational,
    /// The last frame received from the decoder.
    frame: Frame,
    /// A top-down copy of a bottom-up frame.
    copy: Option<Frame>,
    converter: Option<Converter>,
    /// `Reference` frames: what OpenCV's reader would give (see [`Decoder::set_color_conversion`]).
    conversion: ColorConversion,
    opencv: Option<OpencvConverter>,
    /// The stream's pixel format at open (FFmpeg's raw value).
    stream_format: c_int,
    packet: Packet,
    /// Packets read at open, decoded before any new one is read.
    queued: VecDeque<Packet>,
    /// Set once the demuxer returned end of file or an error.
    demuxer_done: bool,
    /// The flush (null) packet was sent.
    flushing: bool,
    /// No more frames will come.
    finished: bool,
    /// Why the stream broke, reported once the frames still in the decoder have come out.
    broken: Option<String>,
    frames: u64,
    regularity: timing::Regularity,
    noted_spaces: Vec<c_int>,
    /// Source pixel formats whose conversion is noted (the stream's own at open).
    noted_formats: Vec<c_int>,
    /// The upright copy of the latest frame, when the stream has a display rotation.
    rotated: Vec<u8>,
    codec: CodecContext,
    input: Input,
}

impl Decoder {
    /// Opens `path` and sets up a decoder for its best video stream. Errors ([`Error::Input`]
    /// naming the file): cannot open (missing, unreadable); "not a video FFmpeg can read"; "a
    /// damaged or incomplete FORMAT file"; "no video stream (streams: ...)"; "codec X has no
    /// decoder in this FFmpeg build"; a path with a NUL byte (or, off Unix, not UTF-8).
    pub fn open(path: &Path) -> Result<Decoder> {
        let input_error = |message: String| Error::input(path, message, None);
        let opened = open::open(path).map_err(input_error)?;
        let frame = Frame::new().ok_or_else(|| input_error("out of memory".into()))?;
        let packet = Packet::new().ok_or_else(|| input_error("out of memory".into()))?;
        let mut decoder = Decoder {
            path: path.to_path_buf(),
            info: opened.info,
            stream_index: opened.stream_index,
            time_base: opened.time_base,
            frame,
            copy: None,
            converter: None,
            conversion: ColorConversion::Exact,
            opencv: None,
            stream_format: opened.stream_format,
            packet,
            queued: VecDeque::new(),
            demuxer_done: false,
            flushing: false,
            finished: false,
            broken: None,
            frames: 0,
            regularity: timing::Regularity::default(),
            noted_spaces: vec![opened.stream_color_space],
            noted_formats: vec![opened.stream_format],
            rotated: Vec::new(),
            codec: opened.codec,
            input: opened.input,
        };
        decoder.prescan();
        Ok(decoder)
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// `Reference`: frames as the reference's reader (OpenCV) converts them, BT.601 whatever the
    /// tags say. yuv420p and yuvj420p frames come as they are (I420, full range for yuvj420p)
    /// for the library's reference conversion; every other format comes as BGR24 from swscale,
    /// set up as OpenCV sets it up (module `opencv`). `Exact` (the default): frames keep their
    /// format, matrix and range (see the module documentation). Call before the first frame.
    pub fn set_color_conversion(&mut self, conversion: ColorConversion) {
        self.conversion = conversion;
        if conversion == ColorConversion::Reference {
            // SAFETY: a valid, opened decoder context.
            let coded_height = unsafe { (*self.codec.as_ptr()).coded_height.max((*self.codec.as_ptr()).height) };
            if opencv::route(self.stream_format, coded_height) == opencv::Route::Swscale {
                self.info.frame_format = self.info.frame_format.map(|_| PixelFormat::Bgr24);
            }
            // The stream's note at open describes the exact conversion's swscale step.
            let exact_note = format::conversion_note(self.stream_format);
            self.info.notes.retain(|note| Some(note) != exact_note.as_ref());
            self.info.notes.extend(opencv::conversion_note(self.stream_format, coded_height));
            self.info.color_matrix = ColorMatrix::Bt601;
            // swscale's defaults, as OpenCV leaves them: full range for every yuvj* format.
            self.info.color_range =
                if format::is_full_range_format(self.stream_format) { ColorRange::Full } else { ColorRange::Limited };
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames returned so far.
    pub fn frames_decoded(&self) -> u64 {
        self.frames
    }

    /// The next frame in presentation order, `Ok(None)` at the end. After an error, `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame<'_>>> {
        if self.finished {
            return Ok(None);
        }
        loop {
            // SAFETY: valid, opened decoder and a frame it may overwrite (it unrefs it first);
            // no view of the previous frame is alive (they borrow `self`).
            let status = unsafe { ff::avcodec_receive_frame(self.codec.as_ptr(), self.frame.as_ptr()) };
            if status >= 0 {
                break;
            }
            if status == ff::AVERROR_EOF {
                return self.finish();
            }
            if status != error::AGAIN {
                self.break_stream(format!("decoding failed: {}", error::text(status)));
                if self.flushing {
                    return self.finish();
                }
                self.flush()?;
                continue;
            }
            if self.flushing {
                // A flushed decoder never asks for more input; stop rather than spin.
                return self.finish();
            }
            self.feed()?;
        }
        self.produce().map(Some)
    }

    /// Reads the first packets to judge timestamp regularity, keeping them for decoding.
    fn prescan(&mut self) {
        let mut timestamps = Vec::new();
        let mut bytes = 0usize;
        while self.queued.len() < PRESCAN_PACKETS && bytes < PRESCAN_BYTES {
            if !self.read_packet() {
                break;
            }
            let Some(packet) = self.packet.take() else { break };
            timestamps.extend(packet.timestamp());
            // SAFETY: a valid packet just read.
            bytes += usize::try_from(unsafe { (*packet.as_ptr()).size }).unwrap_or(0);
            self.queued.push_back(packet);
        }
        // All of them when the file ended; else the smallest, leaving out those a frame still
        // unread (shown between two of them) could fall between.
        let compared =
            if self.demuxer_done { timestamps.len() } else { timestamps.len().saturating_sub(PRESCAN_UNSURE) };
        if timing::irregular_packets(timestamps, compared) {
            self.info.variable_frame_rate = true;
        }
    }

    /// Reads the next packet of the video stream into `self.packet`; `false` at the end of the
    /// file or on a read error (then `broken` says why).
    fn read_packet(&mut self) -> bool {
        while !self.demuxer_done {
            // SAFETY: valid context and a blank (or unreferenced) packet to fill.
            let status = unsafe { ff::av_read_frame(self.input.as_ptr(), self.packet.as_ptr()) };
            if status < 0 {
                self.demuxer_done = true;
                if status != ff::AVERROR_EOF {
                    self.break_stream(format!("reading the file failed: {}", error::text(status)));
                }
                return false;
            }
            if self.packet.stream_index() == self.stream_index {
                return true;
            }
            self.packet.unref();
        }
        false
    }

    /// Sends the decoder its next packet, or the flush packet at the end of the input.
    fn feed(&mut self) -> Result<()> {
        let queued = self.queued.pop_front();
        let packet = match &queued {
            Some(packet) => packet.as_ptr(),
            None if self.read_packet() => self.packet.as_ptr(),
            None => return self.flush(),
        };
        // SAFETY: a valid decoder and a valid packet (the decoder references or copies its data).
        let status = unsafe { ff::avcodec_send_packet(self.codec.as_ptr(), packet) };
        self.packet.unref();
        drop(queued);
        if status < 0 {
            self.break_stream(format!("decoding failed: {}", error::text(status)));
            return self.flush();
        }
        Ok(())
    }

    /// Enters draining: the decoder returns what it holds, then end of file.
    fn flush(&mut self) -> Result<()> {
        if self.flushing {
            return Ok(());
        }
        self.flushing = true;
        // SAFETY: a null packet is the documented flush request.
        let status = unsafe { ff::avcodec_send_packet(self.codec.as_ptr(), ptr::null()) };
        if status < 0 && status != ff::AVERROR_EOF {
            self.break_stream(format!("flushing the decoder failed: {}", error::text(status)));
            return self.finish::<()>().map(|_| ());
        }
        Ok(())
    }

    /// Remembers the first reason the stream broke.
    fn break_stream(&mut self, cause: String) {
        if self.broken.is_none() {
            self.broken = Some(cause);
        }
    }

    /// Ends the stream: `Ok(None)`, or the error that broke it.
    fn finish<T>(&mut self) -> Result<Option<T>> {
        self.finished = true;
        match self.broken.take() {
            None => Ok(None),
            Some(cause) => {
                Err(Error::input(&self.path, format!("the stream broke after {} frames: {cause}", self.frames), None))
            }
        }
    }

    /// The frame just received, as a view (converted or copied as needed). An error ends the
    /// stream.
    fn produce(&mut self) -> Result<DecodedFrame<'_>> {
        // Cleared on success, at the end: every early return leaves the decoder finished.
        self.finished = true;
        let index = self.frames;
        self.frames += 1;
        let path = self.path.clone();
        let fail =
            |message: String| Error::input(&path, format!("the stream broke after {index} frames: {message}"), None);
        let f = self.frame.get();
        let (raw_format, width, height, timestamp) = (f.format, f.width, f.height, f.best_effort_timestamp);
        if f.decode_error_flags != 0 || f.flags & ff::AV_FRAME_FLAG_CORRUPT != 0 {
            return Err(fail(format!(
                "frame {index} has decoding errors that FFmpeg concealed ({}): the data is truncated or corrupt",
                decode_errors(f.decode_error_flags, f.flags)
            )));
        }
        let frame_ptr = self.frame.as_ptr();
        // SAFETY: enum fields of the valid frame, read as raw ints.
        let (raw_space, raw_range) = unsafe {
            (
                ffi::raw_enum(ptr::addr_of!((*frame_ptr).colorspace)),
                ffi::raw_enum(ptr::addr_of!((*frame_ptr).color_range)),
            )
        };
        let mapping = format::map_pixel_format(raw_format).map_err(fail)?;
        // SAFETY: as above; `interlaced_frame` and `top_field_first` are plain ints.
        let (raw_transfer, interlaced, top_first) = unsafe {
            (ffi::raw_enum(ptr::addr_of!((*frame_ptr).color_trc)), f.interlaced_frame != 0, f.top_field_first != 0)
        };
        self.note_frame_properties(raw_format, raw_transfer, interlaced, top_first);
        let pts_seconds = (timestamp != ff::AV_NOPTS_VALUE && self.time_base.den > 0)
            .then(|| timestamp as f64 * f64::from(self.time_base.num) / f64::from(self.time_base.den));
        if timestamp != ff::AV_NOPTS_VALUE {
            self.regularity.push(timestamp);
            if self.regularity.irregular() {
                self.info.variable_frame_rate = true;
            }
        }
        let (matrix, range) = match mapping {
            Mapping::Convert { to: ff::AVPixelFormat::AV_PIX_FMT_RGB24, .. } => (ColorMatrix::Bt601, ColorRange::Full),
            Mapping::Direct { format, .. } if format.plane_count() == 1 => (ColorMatrix::Bt601, ColorRange::Full),
            _ => {
                let (matrix, substituted) = format::color_matrix(raw_space);
                if substituted && !self.noted_spaces.contains(&raw_space) {
                    self.noted_spaces.push(raw_space);
                    self.info.notes.push(format!(
                        "frames are tagged with the {} matrix, which vsrqa does not implement: BT.601 is used",
                        format::color_space_name(raw_space)
                    ));
                }
                (matrix, format::color_range(raw_range, format::is_full_range_format(raw_format)))
            }
        };
        let target_format = mapping.frame_format();
        // Bottom-up frames: copy into a top-down frame of the same format first.
        let source_format = match mapping {
            Mapping::Direct { format, .. } => Some(format),
            Mapping::Convert { .. } => None,
        };
        let bottom_up = match source_format {
            Some(format) => planes::has_unusual_pitch(&self.frame, format),
            None => self.frame.get().linesize.iter().take(4).any(|&l| l < 0),
        };
        let source: &Frame = if bottom_up {
            let copy = Frame::with_buffer(raw_format, width, height)
                .map_err(|code| fail(format!("cannot allocate a frame: {}", error::text(code))))?;
            // SAFETY: both frames are valid, of the same format and size; av_frame_copy copies
            // row by row following each side's pitch (negative ones included).
            let status = unsafe { ff::av_frame_copy(copy.as_ptr(), self.frame.as_ptr()) };
            if status < 0 {
                return Err(fail(format!("cannot copy a bottom-up frame: {}", error::text(status))));
            }
            self.copy.insert(copy)
        } else {
            &self.frame
        };
        let view = if self.conversion == ColorConversion::Reference {
            let coded = opencv::coded_size(self.codec.as_ptr(), source.get(), bottom_up);
            match opencv::route(raw_format, coded.1) {
                opencv::Route::AsDecoded => planes::view(source, target_format, matrix, range).map_err(fail)?,
                opencv::Route::Library => {
                    let full = raw_format == ff::AVPixelFormat::AV_PIX_FMT_YUVJ420P as c_int;
                    let range = if full { ColorRange::Full } else { ColorRange::Limited };
                    planes::view(source, PixelFormat::I420, ColorMatrix::Bt601, range).map_err(fail)?
                }
                opencv::Route::Swscale => {
                    let converted = OpencvConverter::convert(&mut self.opencv, source, coded).map_err(fail)?;
                    let mut view = planes::view(converted, PixelFormat::Bgr24, ColorMatrix::Bt601, ColorRange::Full)
                        .map_err(fail)?;
                    // The converted frame is coded-size; the picture is its top-left corner.
                    (view.width, view.height) = (width as u32, height as u32);
                    view
                }
            }
        } else {
            match mapping {
                Mapping::Direct { format, .. } => planes::view(source, format, matrix, range).map_err(fail)?,
                Mapping::Convert { to, format } => {
                    let converted = Converter::convert(&mut self.converter, source, to, range, matrix).map_err(fail)?;
                    planes::view(converted, format, matrix, range).map_err(fail)?
                }
            }
        };
        debug_assert!(view.format == target_format || self.conversion == ColorConversion::Reference);
        let view = match self.info.rotation {
            Some(rotation) => orientation::rotate(&view, rotation, &mut self.rotated).map_err(fail)?,
            None => view,
        };
        self.finished = false;
        Ok(DecodedFrame { view, index, pts_seconds })
    }
}

impl Decoder {
    /// Notes, once each, what a frame shows that the stream did not declare: another source
    /// format (converted), interlacing, an HDR transfer.
    fn note_frame_properties(&mut self, raw_format: c_int, raw_transfer: c_int, interlaced: bool, top_first: bool) {
        if !self.noted_formats.contains(&raw_format) {
            self.noted_formats.push(raw_format);
            let note = match self.conversion {
                // SAFETY: a valid, opened decoder context.
                ColorConversion::Reference => {
                    opencv::conversion_note(raw_format, unsafe { (*self.codec.as_ptr()).coded_height })
                }
                // The exact conversion, and any later one: swscale's conversion of other formats.
                _ => format::conversion_note(raw_format),
            };
            self.info.notes.extend(note);
        }
        if interlaced && self.info.field_order.is_none() {
            let order = if top_first { "tt (top field first)" } else { "bb (bottom field first)" };
            self.info.field_order = Some(order.to_string());
            self.info.notes.push(open::interlaced_note(order));
        }
        if let (Some(transfer), None) = (open::hdr_transfer(raw_transfer), &self.info.hdr_transfer) {
            self.info.hdr_transfer = Some(transfer.to_string());
            self.info.notes.push(open::hdr_note(transfer));
        }
    }
}

/// FFmpeg's `decode_error_flags` and `AV_FRAME_FLAG_CORRUPT` in words.
fn decode_errors(error_flags: c_int, frame_flags: c_int) -> String {
    let names = [
        (ff::FF_DECODE_ERROR_INVALID_BITSTREAM, "invalid bitstream"),
        (ff::FF_DECODE_ERROR_MISSING_REFERENCE, "missing reference"),
        (ff::FF_DECODE_ERROR_CONCEALMENT_ACTIVE, "concealment active"),
        (ff::FF_DECODE_ERROR_DECODE_SLICES, "slices failed to decode"),
    ];
    let mut words: Vec<&str> = names.iter().filter(|(bit, _)| error_flags & bit != 0).map(|&(_, name)| name).collect();
    if frame_flags & ff::AV_FRAME_FLAG_CORRUPT != 0 {
        words.push("marked corrupt");
    }
    if words.is_empty() {
        words.push("unspecified");
    }
    words.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_is_send() {
        fn send<T: Send>() {}
        send::<Decoder>();
    }

    #[test]
    fn bad_paths_are_input_errors() {
        let missing = Decoder::open(Path::new("/nonexistent/vsrqa/clip.mp4")).err().unwrap();
        let text = missing.to_string();
        assert!(text.contains("/nonexistent/vsrqa/clip.mp4") && text.contains("No such file"), "{text}");
        let nul = Decoder::open(Path::new("a\0b.mp4")).err().unwrap();
        assert!(matches!(nul, Error::Input { .. }) && nul.to_string().contains("NUL"), "{nul}");
    }
}
