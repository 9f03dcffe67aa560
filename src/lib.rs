//! vsrqa: a learned quality metric for super-resolved video (the AIM 2024 VSR-QA winner's
//! method), embeddable from C and C++ through `include/vsrqa.h`.
//!
//! Layers, top to bottom; a layer imports only from layers below it:
//! [`capi`] (the C ABI) -> [`engine`] (Engine + Session) -> `branch` (what each feature branch
//! samples and preprocesses) and `gpu` (the same preprocessing as CUDA kernels on device frames)
//! -> [`bundle`] (the model bundle and its fusion head) -> [`frame`] (frames, colour conversion,
//! resamplers) -> [`backend`] (networks on tensors: cpu, onnxruntime, tensorrt). `error`,
//! `hash`, `timing` and `atomic_file` are leaves every layer may use.

pub mod atomic_file;
pub mod backend;
pub mod branch;
pub mod bundle;
pub mod capi;
pub mod engine;
pub mod error;
pub mod frame;
/// Nothing in here is C API (cbindgen skips it).
///
/// cbindgen:ignore
pub mod gpu;
pub mod hash;
pub mod timing;

pub use engine::{ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, Session, StageTime};
pub use error::{Error, Result};

/// The crate version, also returned by `vsrqa_version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
