//! Owners for the FFmpeg objects the decoder uses: each wraps one pointer, frees it in `Drop` with
//! the matching FFmpeg call, and is the only holder of that pointer. Also the conversions between
//! Rust and C values that need care (paths, enum fields).

use std::ffi::CString;
use std::path::Path;
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ff;
use libc::c_int;

/// The URL handed to `avformat_open_input` for a local file: `file:` + the path's bytes, so that a
/// name like `http:x` or `concat:a|b` is still read as a file (FFmpeg picks a protocol from the
/// prefix otherwise). On Unix any byte string without NUL works; elsewhere the path must be UTF-8.
pub(super) fn file_url(path: &Path) -> Result<CString, String> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| "the path is not valid UTF-8, which FFmpeg needs on this platform".to_string())?
        .as_bytes()
        .to_vec();
    let mut url = b"file:".to_vec();
    url.extend_from_slice(&bytes);
    CString::new(url).map_err(|_| "the path contains a NUL byte, which no file name can hold".to_string())
}

/// Reads a C enum field as its raw `int` value, so that a value the Rust bindings do not list
/// (a newer FFmpeg at run time than the headers at build time) is never materialized as a Rust
/// enum, which would be undefined behaviour.
///
/// # Safety
/// `field` must point to a readable, initialized C enum (4 bytes: FFmpeg's enums fit an `int`).
pub(super) unsafe fn raw_enum<T>(field: *const T) -> c_int {
    const { assert!(std::mem::size_of::<T>() == std::mem::size_of::<c_int>()) };
    // SAFETY: the caller guarantees `field` is readable; the size check above makes the read
    // exactly the enum's bytes, and every bit pattern is a valid `c_int`.
    unsafe { field.cast::<c_int>().read() }
}

/// `AVPixelFormat` from a raw value, or `None` outside the values these bindings list.
pub(super) fn pixel_format_enum(raw: c_int) -> Option<ff::AVPixelFormat> {
    if raw < 0 || raw >= ff::AVPixelFormat::AV_PIX_FMT_NB as c_int {
        return None;
    }
    // SAFETY: AVPixelFormat is a C enum numbered without gaps from -1 (NONE) to AV_PIX_FMT_NB
    // (the C declaration uses implicit increments only; bindgen keeps the values), `raw` is in
    // 0..NB, so it is one of the enum's values, and the enum is `repr(i32)` like `c_int`.
    Some(unsafe { std::mem::transmute::<c_int, ff::AVPixelFormat>(raw) })
}

/// A C string from FFmpeg (a static name) as an owned `String`; `fallback` when null.
pub(super) fn c_name(name: *const libc::c_char, fallback: &str) -> String {
    if name.is_null() {
        return fallback.to_string();
    }
    // SAFETY: FFmpeg's name functions return null or a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned()
}

/// An opened input (`AVFormatContext` from `avformat_open_input`), closed on drop.
pub(super) struct Input(NonNull<ff::AVFormatContext>);

impl Input {
    /// Opens `url`; on failure returns FFmpeg's error code (FFmpeg freed what it allocated).
    pub(super) fn open(url: &CString) -> Result<Input, c_int> {
        let mut context: *mut ff::AVFormatContext = ptr::null_mut();
        // SAFETY: `context` is a valid out-pointer initialized to null (FFmpeg then allocates the
        // context), `url` is NUL-terminated and outlives the call, null format and options are
        // allowed. On failure FFmpeg frees the context and leaves null.
        let status = unsafe { ff::avformat_open_input(&mut context, url.as_ptr(), ptr::null(), ptr::null_mut()) };
        match NonNull::new(context) {
            Some(context) if status >= 0 => Ok(Input(context)),
            Some(context) => {
                // Not expected (FFmpeg frees on failure), but never leak or use it.
                let mut context = context.as_ptr();
                // SAFETY: a context FFmpeg returned that nothing else refers to.
                unsafe { ff::avformat_close_input(&mut context) };
                Err(status)
            }
            None => Err(if status < 0 { status } else { ff::AVERROR_UNKNOWN }),
        }
    }

    pub(super) fn as_ptr(&self) -> *mut ff::AVFormatContext {
        self.0.as_ptr()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        let mut context = self.0.as_ptr();
        // SAFETY: the context came from avformat_open_input and is owned only by this wrapper;
        // avformat_close_input frees it and everything it owns (streams, codecpar, I/O).
        unsafe { ff::avformat_close_input(&mut context) };
    }
}

/// A decoder context (`avcodec_alloc_context3`), freed on drop.
pub(super) struct CodecContext(NonNull<ff::AVCodecContext>);

impl CodecContext {
    pub(super) fn new(codec: *const ff::AVCodec) -> Option<CodecContext> {
        // SAFETY: `codec` is null or a codec from avcodec_find_decoder (static data); the call
        // only allocates.
        NonNull::new(unsafe { ff::avcodec_alloc_context3(codec) }).map(CodecContext)
    }

    pub(super) fn as_ptr(&self) -> *mut ff::AVCodecContext {
        self.0.as_ptr()
    }
}

impl Drop for CodecContext {
    fn drop(&mut self) {
        let mut context = self.0.as_ptr();
        // SAFETY: allocated by avcodec_alloc_context3, owned only here; avcodec_free_context
        // closes the codec (joining its threads) and frees the context.
        unsafe { ff::avcodec_free_context(&mut context) };
    }
}

/// An `AVPacket`, freed (and its data unreferenced) on drop.
pub(super) struct Packet(NonNull<ff::AVPacket>);

impl Packet {
    pub(super) fn new() -> Option<Packet> {
        // SAFETY: only allocates a blank packet.
        NonNull::new(unsafe { ff::av_packet_alloc() }).map(Packet)
    }

    pub(super) fn as_ptr(&self) -> *mut ff::AVPacket {
        self.0.as_ptr()
    }

    /// Moves this packet's contents into a new packet, leaving this one blank.
    pub(super) fn take(&mut self) -> Option<Packet> {
        let moved = Packet::new()?;
        // SAFETY: both packets are valid and distinct; av_packet_move_ref moves every field
        // (and the data reference) from `self` to `moved` and resets `self`.
        unsafe { ff::av_packet_move_ref(moved.as_ptr(), self.as_ptr()) };
        Some(moved)
    }

    pub(super) fn stream_index(&self) -> c_int {
        // SAFETY: the packet is valid for as long as `self`.
        unsafe { (*self.as_ptr()).stream_index }
    }

    /// The presentation timestamp, or the decoding one when there is none.
    pub(super) fn timestamp(&self) -> Option<i64> {
        // SAFETY: the packet is valid for as long as `self`.
        let (pts, dts) = unsafe { ((*self.as_ptr()).pts, (*self.as_ptr()).dts) };
        [pts, dts].into_iter().find(|&t| t != ff::AV_NOPTS_VALUE)
    }

    pub(super) fn unref(&mut self) {
        // SAFETY: the packet is valid; unref drops its data reference and resets its fields.
        unsafe { ff::av_packet_unref(self.as_ptr()) };
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        let mut packet = self.0.as_ptr();
        // SAFETY: allocated by av_packet_alloc, owned only here.
        unsafe { ff::av_packet_free(&mut packet) };
    }
}

/// An `AVFrame`, freed (and its buffers unreferenced) on drop.
pub(super) struct Frame(NonNull<ff::AVFrame>);

impl Frame {
    pub(super) fn new() -> Option<Frame> {
        // SAFETY: only allocates a blank frame.
        NonNull::new(unsafe { ff::av_frame_alloc() }).map(Frame)
    }

    /// A frame with its own buffers (32-byte aligned rows) for `format` at `width x height`.
    pub(super) fn with_buffer(format: c_int, width: c_int, height: c_int) -> Result<Frame, c_int> {
        let frame = Frame::new().ok_or(ff::AVERROR(libc::ENOMEM))?;
        // SAFETY: a blank frame owned here; setting the geometry then av_frame_get_buffer is the
        // documented way to give it buffers.
        let status = unsafe {
            let f = frame.as_ptr();
            (*f).format = format;
            (*f).width = width;
            (*f).height = height;
            ff::av_frame_get_buffer(f, 32)
        };
        if status < 0 {
            return Err(status);
        }
        Ok(frame)
    }

    pub(super) fn as_ptr(&self) -> *mut ff::AVFrame {
        self.0.as_ptr()
    }

    /// The frame's fields, to read.
    pub(super) fn get(&self) -> &ff::AVFrame {
        // SAFETY: the frame is valid and only mutated through `&mut self` or FFmpeg calls made
        // with `as_ptr()` while no such reference is alive (the decoder never holds one across
        // such calls).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let mut frame = self.0.as_ptr();
        // SAFETY: allocated by av_frame_alloc, owned only here.
        unsafe { ff::av_frame_free(&mut frame) };
    }
}

/// A swscale context, freed on drop.
pub(super) struct Scaler(NonNull<ff::SwsContext>);

impl Scaler {
    /// Same-size pixel format conversion from `from` to `to`.
    pub(super) fn new(
        width: c_int,
        height: c_int,
        from: ff::AVPixelFormat,
        to: ff::AVPixelFormat,
        flags: c_int,
    ) -> Option<Scaler> {
        // SAFETY: plain values; null filters and params select the defaults.
        let context = unsafe {
            ff::sws_getContext(
                width,
                height,
                from,
                width,
                height,
                to,
                flags,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        NonNull::new(context).map(Scaler)
    }

    pub(super) fn as_ptr(&self) -> *mut ff::SwsContext {
        self.0.as_ptr()
    }

    /// Converts rows `0..rows` of `source` into `out` (one `sws_scale` call); returns the number
    /// of output rows written.
    ///
    /// # Safety
    /// `source`'s planes must hold the scaler's source format at its size (at least `rows` rows),
    /// and `out` must own buffers of its target format and size.
    pub(super) unsafe fn scale(&self, source: &Frame, rows: c_int, out: &Frame) -> c_int {
        let (src, dst) = (source.get(), out.as_ptr());
        // SAFETY: per this function's contract; the pointer arrays come from valid frames.
        unsafe {
            ff::sws_scale(
                self.as_ptr(),
                src.data.as_ptr().cast::<*const u8>(),
                src.linesize.as_ptr(),
                0,
                rows,
                (*dst).data.as_ptr(),
                (*dst).linesize.as_ptr(),
            )
        }
    }
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: from sws_getContext, owned only here.
        unsafe { ff::sws_freeContext(self.0.as_ptr()) };
    }
}

// SAFETY (all four): FFmpeg contexts, packets and frames have no thread affinity; they must only
// not be used from two threads at once. Each wrapper is the sole owner of its pointer and needs
// `&mut` (or exclusive ownership) for every mutation, so moving one to another thread is sound.
// They are not `Sync`.
unsafe impl Send for Input {}
unsafe impl Send for CodecContext {}
unsafe impl Send for Packet {}
unsafe impl Send for Frame {}
unsafe impl Send for Scaler {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_file_urls_and_nul_is_refused() {
        assert_eq!(file_url(Path::new("a b/c.mp4")).unwrap().as_bytes(), b"file:a b/c.mp4");
        assert_eq!(file_url(Path::new("http:x")).unwrap().as_bytes(), b"file:http:x");
        assert!(file_url(Path::new("a\0b")).unwrap_err().contains("NUL"));
    }

    #[test]
    fn pixel_format_values_round_trip() {
        assert_eq!(pixel_format_enum(0), Some(ff::AVPixelFormat::AV_PIX_FMT_YUV420P));
        assert_eq!(
            pixel_format_enum(ff::AVPixelFormat::AV_PIX_FMT_P010LE as c_int),
            Some(ff::AVPixelFormat::AV_PIX_FMT_P010LE)
        );
        assert_eq!(pixel_format_enum(-1), None);
        assert_eq!(pixel_format_enum(ff::AVPixelFormat::AV_PIX_FMT_NB as c_int), None);
        assert_eq!(pixel_format_enum(c_int::MAX), None);
    }
}
