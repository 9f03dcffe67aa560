//! vsrqa: a learned quality metric for super-resolved video (the AIM 2024 VSR-QA winner's
//! method), embeddable from C and C++ through `include/vsrqa.h` (the C API is the crate
//! crates/vsrqa-capi, on top of this one).
//!
//! Layers, top to bottom; a layer imports only from layers below it:
//! [`engine`] (Engine + Session) -> `branch` (what each feature branch
//! samples and preprocesses) and `gpu` (the same preprocessing as CUDA kernels on device frames)
//! -> [`bundle`] (the model bundle and its fusion head) -> [`frame`] (frames, colour conversion,
//! resamplers) -> [`backend`] (networks on tensors: cpu, onnxruntime, tensorrt). `error`,
//! `hash`, `timing` and `atomic_file` are leaves every layer may use.
//!
//! The API is what [`prelude`] re-exports: [`Engine`] and [`Session`], frames, [`bundle::Bundle`],
//! the options and [`Error`]. The modules behind `#[doc(hidden)]` are internals, reachable only
//! for the project's own tests and tools; they may change in any release.

#[doc(hidden)]
pub mod atomic_file;
pub mod backend;
#[doc(hidden)]
pub mod branch;
pub mod bundle;
pub mod engine;
pub mod error;
pub mod frame;
/// Nothing in here is C API (cbindgen skips it).
///
/// cbindgen:ignore
#[doc(hidden)]
pub mod gpu;
pub(crate) mod hash;
pub(crate) mod timing;

pub use engine::{
    BackgroundStream, ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, Pooling, Session, StageTime, Stream,
    StreamOptions,
};
pub use error::{Error, Result};

/// The library's API in one import: `use vsrqa::prelude::*;`.
pub mod prelude {
    pub use crate::backend::{BackendKind, GpuOptions};
    pub use crate::bundle::Bundle;
    pub use crate::engine::{
        BackgroundStream, BranchTimes, ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, LogLevel, Logger,
        Polled, Pooling, Pushed, Session, StageTime, Stream, StreamOptions, WhenFull,
    };
    pub use crate::error::{Error, Result};
    pub use crate::frame::{ColorMatrix, ColorRange, DeviceFrame, Frame, FrameView, PixelFormat};
}

/// The crate version, also returned by `vsrqa_version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
