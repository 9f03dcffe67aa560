//! Errors of training and evaluation. The library's errors (a bundle that does not load) pass
//! through as [`Error::Library`]; the others are this crate's own, with the same wording the
//! library uses for its kinds.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given to training or evaluation is out of range or inconsistent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A feature bank is unreadable, damaged, or from another model.
    #[error("feature bank {}: {message}", path.display())]
    FeatureBank { path: PathBuf, message: String },

    /// A file could not be written because its filesystem is full. Files are written atomically,
    /// so nothing was left half-written.
    #[error("{}: cannot write, the disk is full ({message}); nothing was half-written", path.display())]
    DiskFull { path: PathBuf, message: String },

    /// The library failed (e.g. a bundle that does not load).
    #[error(transparent)]
    Library(#[from] vsrqa::Error),
}

impl Error {
    pub(crate) fn bank(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::FeatureBank { path: path.into(), message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}
