//! What goes wrong on the GPU path, by kind: the kind decides what a caller is told (the host
//! lacks something: `auto` falls back and `vsrqa info` explains; or a call failed: an error), the
//! text says what happened, in the words the driver, NVRTC or TensorRT used.

/// An error of the GPU path (CUDA devices, the TensorRT library, engines, preprocessing kernels).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// The host or this build lacks what the GPU path needs: an NVIDIA driver, a GPU (or the
    /// asked-for one), a TensorRT library this build can drive, or the TensorRT runner itself.
    #[error("{0}")]
    Unavailable(String),
    /// A CUDA driver or NVRTC call failed (context, stream, memory, kernel compile or launch).
    #[error("{0}")]
    Cuda(String),
    /// TensorRT refused to parse, build, deserialize or run a network.
    #[error("{0}")]
    TensorRt(String),
    /// An engine cache file could not be read, is damaged, or could not be written.
    #[error("{0}")]
    Cache(String),
    /// A request the GPU path cannot take (e.g. preprocessing the kernels do not implement, or a
    /// launch larger than one grid).
    #[error("{0}")]
    Unsupported(String),
}

impl GpuError {
    /// Whether the host or build lacks something (rather than a call having failed).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, GpuError::Unavailable(_))
    }

    /// The same kind, with `context` before the text ("CUDA device 1: ...").
    pub fn context(self, context: impl std::fmt::Display) -> GpuError {
        let with = |text: String| format!("{context}: {text}");
        match self {
            GpuError::Unavailable(text) => GpuError::Unavailable(with(text)),
            GpuError::Cuda(text) => GpuError::Cuda(with(text)),
            GpuError::TensorRt(text) => GpuError::TensorRt(with(text)),
            GpuError::Cache(text) => GpuError::Cache(with(text)),
            GpuError::Unsupported(text) => GpuError::Unsupported(with(text)),
        }
    }
}
