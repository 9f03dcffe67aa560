//! FFmpeg error codes as text, and FFmpeg's log: routed away from stderr, with the last error
//! line logged on the calling thread kept to explain a failure.
//!
//! The log goes through a process-wide callback (`av_log_set_callback`, installed by the first
//! `Decoder::open`) that prints nothing. On x86_64 it formats each message of level "error" or
//! worse and keeps the last one per thread, which error messages quote ("FFmpeg: moov atom not
//! found"); on other targets the callback is not installed and the log level is set to quiet
//! (`av_log_set_level(AV_LOG_QUIET)`), so the same errors come without that detail. Either way,
//! a program embedding this crate that wants FFmpeg's log back can call `av_log_set_callback`
//! itself after opening a decoder.

use std::sync::Once;

use ffmpeg_sys_next as ff;
use libc::c_int;

/// `AVERROR(EAGAIN)`: the decoder wants input, or has output to read first.
pub(super) const AGAIN: c_int = ff::AVERROR(libc::EAGAIN);

/// FFmpeg's description of an error code, e.g. "Invalid data found when processing input".
pub(super) fn text(code: c_int) -> String {
    let mut buffer = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable for its whole length, which is passed; av_strerror always
    // NUL-terminates within it (it writes a generic message for unknown codes).
    let status = unsafe { ff::av_strerror(code, buffer.as_mut_ptr(), buffer.len()) };
    let text = super::ffi::c_name(buffer.as_ptr(), "");
    if status < 0 || text.is_empty() {
        format!("FFmpeg error {code}")
    } else {
        text
    }
}

/// Routes FFmpeg's log away from stderr (once per process).
pub(super) fn route_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: installs a callback that stays valid forever (a plain function) and never
        // unwinds; FFmpeg calls it from any thread. Messages above AV_LOG_ERROR are not even
        // formatted, so the level only lets errors reach it.
        unsafe {
            ff::av_log_set_level(ff::AV_LOG_ERROR);
            ff::av_log_set_callback(Some(capture::callback));
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: sets a global integer.
        unsafe {
            ff::av_log_set_level(ff::AV_LOG_QUIET);
        }
    });
}

/// Forgets the last captured error line of this thread (call before the FFmpeg calls whose
/// failure will be explained).
pub(super) fn clear_last_logged() {
    #[cfg(target_arch = "x86_64")]
    capture::LAST.with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = None;
        }
    });
}

/// The last error line FFmpeg logged on this thread since `clear_last_logged`, if any.
pub(super) fn last_logged() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        capture::LAST.with(|last| last.try_borrow_mut().ok().and_then(|mut last| last.take()))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod capture {
    use std::cell::RefCell;

    use ffmpeg_sys_next as ff;
    use libc::{c_char, c_int, c_void};

    thread_local! {
        pub(super) static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// The log callback: formats error-level messages into `LAST`, prints nothing.
    pub(super) unsafe extern "C" fn callback(
        avcl: *mut c_void,
        level: c_int,
        format: *const c_char,
        args: *mut ff::__va_list_tag,
    ) {
        if level > ff::AV_LOG_ERROR || format.is_null() {
            return;
        }
        let mut line = [0 as c_char; 512];
        let mut print_prefix: c_int = 1;
        // SAFETY: FFmpeg passes its own context, format string and argument list, which
        // av_log_format_line2 consumes exactly as av_log's default callback does; the buffer is
        // writable for the size passed and comes back NUL-terminated.
        let written = unsafe {
            ff::av_log_format_line2(
                avcl,
                level,
                format,
                args,
                line.as_mut_ptr(),
                line.len() as c_int,
                &mut print_prefix,
            )
        };
        if written < 0 {
            return;
        }
        let text = super::super::ffi::c_name(line.as_ptr(), "");
        // Drop the "[mov,mp4,... @ 0x55...] " prefix: the address is noise in a message.
        let text = match text.strip_prefix('[').and_then(|rest| rest.split_once("] ")) {
            Some((_, message)) => message,
            None => text.as_str(),
        };
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        // try_with/try_borrow_mut: never panic inside a C callback (thread exit, re-entrancy).
        let _ = LAST.try_with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some(text.to_string());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_text() {
        assert_eq!(text(ff::AVERROR_INVALIDDATA), "Invalid data found when processing input");
        assert_eq!(text(ff::AVERROR_EOF), "End of file");
        assert!(!text(-123_456).is_empty());
    }
}
