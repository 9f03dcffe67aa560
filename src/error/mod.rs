//! The crate's errors: [`Error`], whose kinds map one to one onto the C ABI's `VsrqaStatus`, and
//! the GPU path's [`GpuError`], which an [`Error`] keeps whole.

use std::path::PathBuf;
use std::sync::Arc;

mod gpu;

pub use gpu::GpuError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What caused an error, when another library or the operating system reported it: the I/O
/// error behind a file that cannot be read, the safetensors error behind a damaged head. Shared,
/// so that [`Error`] stays `Clone`.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error: its [`kind`](Error::kind) (one per C status), its text, and through
/// [`std::error::Error::source`] what caused it, where something else reported it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is out of range or inconsistent.
    InvalidArgument(String),

    /// The frame's pixel format, memory type or geometry is not supported.
    UnsupportedFrame(String),

    /// The model bundle is missing, malformed or inconsistent.
    #[non_exhaustive]
    Bundle { path: PathBuf, message: String, source: Option<Cause> },

    /// A backend failed while loading or running a network.
    Backend(String),

    /// The requested backend cannot run here (not built in, no library, no device).
    BackendUnavailable(String),

    /// The GPU path failed, or the host lacks what it needs ([`GpuError::is_unavailable`]): the
    /// kind is [`ErrorKind::BackendUnavailable`] or [`ErrorKind::Backend`] accordingly.
    Gpu(GpuError),

    /// `push`/`finish` on a session that is already finished.
    SessionFinished,

    /// Reading an input file failed.
    #[non_exhaustive]
    Input { path: PathBuf, message: String, source: Option<Cause> },

    /// A file could not be written because its filesystem is full (or the quota is spent). Files
    /// are written atomically, so nothing was left half-written.
    #[non_exhaustive]
    DiskFull { path: PathBuf, message: String, source: Option<Cause> },

    /// A buffer for this input could not be allocated (e.g. a huge frame on a small machine).
    OutOfMemory(String),
}

// Written out rather than derived: a derived `source` would return the `Arc` holding a cause,
// which does not downcast to the cause's own type.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidArgument(text) => write!(f, "invalid argument: {text}"),
            Error::UnsupportedFrame(text) => write!(f, "unsupported frame: {text}"),
            Error::Bundle { path, message, .. } => write!(f, "model bundle {}: {message}", path.display()),
            Error::Backend(text) => write!(f, "backend: {text}"),
            Error::BackendUnavailable(text) => write!(f, "backend unavailable: {text}"),
            Error::Gpu(error) if error.is_unavailable() => write!(f, "backend unavailable: {error}"),
            Error::Gpu(error) => write!(f, "backend: {error}"),
            Error::SessionFinished => write!(f, "the session is already finished"),
            Error::Input { path, message, .. } => write!(f, "{}: {message}", path.display()),
            Error::DiskFull { path, message, .. } => {
                write!(f, "{}: cannot write, the disk is full ({message}); nothing was half-written", path.display())
            }
            Error::OutOfMemory(text) => write!(f, "out of memory: {text}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bundle { source, .. } | Error::Input { source, .. } | Error::DiskFull { source, .. } => {
                source.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
            }
            Error::Gpu(error) => Some(error),
            _ => None,
        }
    }
}

impl From<GpuError> for Error {
    fn from(error: GpuError) -> Self {
        Error::Gpu(error)
    }
}

/// The kind of an [`Error`], one per C status (`VSRQA_ERROR_*`): what a caller branches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    InvalidArgument,
    UnsupportedFrame,
    Bundle,
    Backend,
    BackendUnavailable,
    SessionFinished,
    Input,
    DiskFull,
    OutOfMemory,
}

/// The text of a caught panic, when it carried one.
#[doc(hidden)]
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> Option<String> {
    panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned())
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::UnsupportedFrame(_) => ErrorKind::UnsupportedFrame,
            Error::Bundle { .. } => ErrorKind::Bundle,
            Error::Backend(_) => ErrorKind::Backend,
            Error::BackendUnavailable(_) => ErrorKind::BackendUnavailable,
            Error::Gpu(error) if error.is_unavailable() => ErrorKind::BackendUnavailable,
            Error::Gpu(_) => ErrorKind::Backend,
            Error::SessionFinished => ErrorKind::SessionFinished,
            Error::Input { .. } => ErrorKind::Input,
            Error::DiskFull { .. } => ErrorKind::DiskFull,
            Error::OutOfMemory(_) => ErrorKind::OutOfMemory,
        }
    }

    /// An input file that cannot be read: `message` says what failed, `cause` (when another
    /// library or the system reported it) is the [`source`](std::error::Error::source).
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>, cause: Option<Cause>) -> Self {
        Error::Input { path: path.into(), message: message.into(), source: cause }
    }

    /// A write to `path` that failed because its filesystem is full.
    pub fn disk_full(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::DiskFull { path: path.into(), message: error.to_string(), source: Some(Arc::new(error)) }
    }

    /// The error's text without the kind's prefix ("backend unavailable: ..."), for reports that
    /// name the kind themselves.
    pub fn detail(&self) -> String {
        match self {
            Error::InvalidArgument(text)
            | Error::UnsupportedFrame(text)
            | Error::Backend(text)
            | Error::BackendUnavailable(text)
            | Error::OutOfMemory(text) => text.clone(),
            Error::Gpu(error) => error.to_string(),
            other => other.to_string(),
        }
    }

    pub(crate) fn bundle(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Bundle { path: path.into(), message: message.into(), source: None }
    }

    /// [`bundle`](Self::bundle) with what caused it.
    pub(crate) fn bundle_caused(
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Bundle { path: path.into(), message: message.into(), source: Some(Arc::new(cause)) }
    }

    /// A bundle error with `context` before its message ("member 'a': ..."), its cause kept;
    /// other kinds unchanged.
    pub(crate) fn in_bundle_context(self, context: impl std::fmt::Display) -> Self {
        match self {
            Error::Bundle { path, message, source } => {
                Error::Bundle { path, message: format!("{context}: {message}"), source }
            }
            other => other,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Error::UnsupportedFrame(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_errors_keep_their_kind_and_read_as_backend_errors() {
        let missing = Error::from(GpuError::Unavailable("no GPU".into()));
        assert_eq!(missing.kind(), ErrorKind::BackendUnavailable);
        assert_eq!(missing.to_string(), "backend unavailable: no GPU");
        let failed = Error::from(GpuError::Cuda("launch failed".into()).context("tensorrt"));
        assert_eq!(failed.kind(), ErrorKind::Backend);
        assert_eq!(failed.to_string(), "backend: tensorrt: launch failed");
        assert_eq!(failed.detail(), "tensorrt: launch failed");
        // The GPU error itself is the source: a caller can ask which GPU call failed.
        let source = std::error::Error::source(&failed).and_then(|s| s.downcast_ref::<GpuError>());
        assert!(matches!(source, Some(GpuError::Cuda(_))), "{source:?}");
    }

    #[test]
    fn disk_full_keeps_the_io_error() {
        let error = Error::disk_full("/tmp/x", std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(error.kind(), ErrorKind::DiskFull);
        let io = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::StorageFull));
    }
}
