//! One error type for the whole crate. Each variant maps to one `VsrqaStatus` in the C ABI.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is out of range or inconsistent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The frame's pixel format, memory type or geometry is not supported.
    #[error("unsupported frame: {0}")]
    UnsupportedFrame(String),

    /// The model bundle is missing, malformed or inconsistent.
    #[error("model bundle {}: {message}", path.display())]
    Bundle { path: PathBuf, message: String },

    /// A backend failed while loading or running a network.
    #[error("backend: {0}")]
    Backend(String),

    /// The requested backend cannot run here (not built in, no library, no device).
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),

    /// `push`/`finish` on a session that is already finished.
    #[error("the session is already finished")]
    SessionFinished,

    /// Reading an input file failed.
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },

    /// A file could not be written because its filesystem is full (or the quota is spent). Files
    /// are written atomically, so nothing was left half-written.
    #[error("{}: cannot write, the disk is full ({message}); nothing was half-written", path.display())]
    DiskFull { path: PathBuf, message: String },

    /// A buffer for this input could not be allocated (e.g. a huge frame on a small machine).
    #[error("out of memory: {0}")]
    OutOfMemory(String),
}

/// The text of a caught panic, when it carried one.
#[doc(hidden)]
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> Option<String> {
    panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned())
}

impl Error {
    /// The error's text without the kind's prefix ("backend unavailable: ..."), for reports that
    /// name the kind themselves.
    pub fn detail(&self) -> String {
        match self {
            Error::InvalidArgument(text)
            | Error::UnsupportedFrame(text)
            | Error::Backend(text)
            | Error::BackendUnavailable(text)
            | Error::OutOfMemory(text) => text.clone(),
            other => other.to_string(),
        }
    }

    pub(crate) fn bundle(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Bundle { path: path.into(), message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Error::UnsupportedFrame(message.into())
    }
}
