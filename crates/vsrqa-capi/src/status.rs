//! Status codes, the thread-local last error, and the guard every export runs inside: it
//! catches panics so that no unwinding ever crosses into the caller's C/C++ frames.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use vsrqa::error::{Error, ErrorKind};

/// Result of every vsrqa call. Negative values are errors; `vsrqa_last_error()` then says why.
#[repr(i32)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VsrqaStatus {
    /// Success.
    VSRQA_OK = 0,
    /// `vsrqa_session_poll`: no score is ready yet; push more frames or finish.
    VSRQA_AGAIN = 1,
    /// `vsrqa_session_poll`: the session is finished and every score has been returned.
    VSRQA_END = 2,
    /// A required pointer argument was NULL.
    VSRQA_ERROR_NULL_POINTER = -1,
    /// A struct's `struct_size` is not one this library knows (header/library mismatch, or the
    /// struct was not initialized with its `_default` function).
    VSRQA_ERROR_STRUCT_SIZE = -2,
    /// An argument is out of range or inconsistent (sizes, pitches, frame rate, enum values).
    VSRQA_ERROR_INVALID_ARGUMENT = -3,
    /// The frame's pixel format or memory type is not supported, or it cannot be processed
    /// (e.g. too small for a branch's crop).
    VSRQA_ERROR_UNSUPPORTED_FORMAT = -4,
    /// The model bundle is missing, malformed or inconsistent.
    VSRQA_ERROR_BUNDLE = -5,
    /// A backend failed while running a network.
    VSRQA_ERROR_BACKEND = -6,
    /// The requested backend is not available on this host or in this build.
    VSRQA_ERROR_BACKEND_UNAVAILABLE = -7,
    /// `push` or `finish` on a session that is already finished.
    VSRQA_ERROR_SESSION_FINISHED = -8,
    /// A buffer for this input could not be allocated (e.g. a huge frame on a machine without the
    /// memory for it). Nothing changed: the session can go on with other frames.
    VSRQA_ERROR_OUT_OF_MEMORY = -9,
    /// Since API 1.0.1. A session was called from inside one of its own callbacks (score, log or
    /// frame release, or anything else on its worker thread), which would deadlock or free the
    /// session under the call that runs the callback. Nothing happened: return from the callback,
    /// then make the call.
    VSRQA_ERROR_INVALID_STATE = -10,
    /// An internal error (a bug in vsrqa): the call had no effect that can be relied on.
    VSRQA_ERROR_INTERNAL = -100,
}

use VsrqaStatus::*;

impl VsrqaStatus {
    pub(crate) fn describe(code: i32) -> &'static str {
        match code {
            0 => "ok\0",
            1 => "again: no score ready yet\0",
            2 => "end: the session is finished and drained\0",
            -1 => "NULL pointer argument\0",
            -2 => "wrong struct_size\0",
            -3 => "invalid argument\0",
            -4 => "unsupported frame\0",
            -5 => "model bundle error\0",
            -6 => "backend error\0",
            -7 => "backend unavailable\0",
            -8 => "session already finished\0",
            -9 => "out of memory\0",
            -10 => "session called from its own callback\0",
            -100 => "internal error\0",
            _ => "unknown status\0",
        }
    }
}

/// An error on its way to the caller: its status and the message for `vsrqa_last_error`.
pub(crate) struct CError {
    pub status: VsrqaStatus,
    pub message: String,
}

impl CError {
    pub fn new(status: VsrqaStatus, message: impl Into<String>) -> Self {
        CError { status, message: message.into() }
    }

    pub fn null(argument: &str) -> Self {
        CError::new(VSRQA_ERROR_NULL_POINTER, format!("{argument} is NULL"))
    }
}

impl From<Error> for CError {
    fn from(error: Error) -> Self {
        let status = match error.kind() {
            ErrorKind::InvalidArgument => VSRQA_ERROR_INVALID_ARGUMENT,
            ErrorKind::UnsupportedFrame => VSRQA_ERROR_UNSUPPORTED_FORMAT,
            ErrorKind::Bundle => VSRQA_ERROR_BUNDLE,
            ErrorKind::Backend => VSRQA_ERROR_BACKEND,
            ErrorKind::BackendUnavailable => VSRQA_ERROR_BACKEND_UNAVAILABLE,
            ErrorKind::SessionFinished => VSRQA_ERROR_SESSION_FINISHED,
            ErrorKind::OutOfMemory => VSRQA_ERROR_OUT_OF_MEMORY,
            // Files are only written by the command line tool today; no C call reaches these.
            ErrorKind::Input | ErrorKind::DiskFull => VSRQA_ERROR_INVALID_ARGUMENT,
            // `ErrorKind` may grow (it is non-exhaustive); a new kind is an internal error here
            // until it has a status of its own.
            _ => VSRQA_ERROR_INTERNAL,
        };
        CError::new(status, error.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// The thread's last error message; valid until the next vsrqa call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// Runs an export's body: clears the last error, catches panics, records errors.
pub(crate) fn guard(body: impl FnOnce() -> Result<VsrqaStatus, CError>) -> VsrqaStatus {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(panic) => {
            let what = vsrqa::error::panic_message(panic.as_ref()).unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (please report): {what}"));
            VSRQA_ERROR_INTERNAL
        }
    }
}
