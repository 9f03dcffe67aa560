//! vsrqa: a learned quality metric for super-resolved video (the AIM 2024 VSR-QA winner's
//! method), embeddable from C and C++ through `include/vsrqa.h` (the C API is the crate
//! crates/vsrqa-capi, on top of this one).
//!
//! Layers, top to bottom; a layer imports only from layers below it:
//! [`engine`] (Engine + Session) -> `branch` (what each feature branch
//! samples and preprocesses) and `gpu` (the same preprocessing as CUDA kernels on device frames)
//! -> [`bundle`] (the model bundle and its fusion head) -> `preprocess` (one module per
//! preprocessing op: its checks, CPU code and GPU plan) -> [`frame`] (frames, colour conversion,
//! resamplers) -> [`backend`] (networks on tensors: cpu, onnxruntime, tensorrt). `error`,
//! `hash`, `timing` and `atomic_file` are leaves every layer may use.
//!
//! The API is what the crate root, [`prelude`] and the public modules document: [`Engine`] and
//! [`Session`] (and the streams), frames and their formats ([`frame`]), the model bundle
//! ([`bundle`]), the backends' options ([`backend`]) and [`Error`]. Everything else is private.
//!
//! The `internal` feature makes the internals public too (the branches, the GPU preprocessing,
//! the resamplers and colour conversion, each backend, atomic file writes): vsrqa's own crates,
//! tests and tools use them. They are not API: they change in any release, and the
//! documentation leaves them out.

/// A module that is public with the `internal` feature and private otherwise.
macro_rules! internal_mod {
    ($(#[$attribute:meta])* $name:ident) => {
        $(#[$attribute])*
        #[cfg(feature = "internal")]
        #[doc(hidden)]
        pub mod $name;
        $(#[$attribute])*
        #[cfg(not(feature = "internal"))]
        // Some items are there for vsrqa's other crates only.
        #[allow(dead_code, unused_imports)]
        pub(crate) mod $name;
    };
}

internal_mod!(atomic_file);
pub mod backend;
internal_mod!(branch);
pub mod bundle;
pub mod engine;
pub mod error;
pub mod frame;
internal_mod!(
    /// Nothing in here is C API (cbindgen skips it).
    ///
    /// cbindgen:ignore
    gpu
);
pub(crate) mod hash;
internal_mod!(preprocess);
pub(crate) mod timing;

pub use engine::{
    BackgroundStream, ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, Pooling, Session, StageTime, Stream,
    StreamOptions,
};
pub use error::{Error, ErrorKind, Result};

/// The library's API in one import: `use vsrqa::prelude::*;`.
pub mod prelude {
    pub use crate::backend::{BackendKind, GpuOptions};
    pub use crate::bundle::Bundle;
    pub use crate::engine::{
        BackgroundStream, BranchTimes, ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, LogLevel, Logger,
        Polled, Pooling, Pushed, Session, StageTime, Stream, StreamOptions, WhenFull,
    };
    pub use crate::error::{Error, ErrorKind, Result};
    pub use crate::frame::{ColorMatrix, ColorRange, DeviceFrame, Frame, FrameView, PixelFormat};
}

/// The crate version, also returned by `vsrqa_version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
