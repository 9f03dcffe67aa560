//! What goes wrong reading a Y4M or raw file, by kind.

/// An error of the Y4M and raw readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading failed (the source of the error says why).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not what it should be: a malformed header or frame marker, a pixel format or
    /// colorspace vsrqa does not read.
    #[error("{0}")]
    Format(String),
    /// The file ends inside frame `frame` (the frames before it are whole).
    #[error("{message}")]
    Truncated { frame: u64, message: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn format(message: impl Into<String>) -> Error {
        Error::Format(message.into())
    }
}
