//! vsrqa: a learned quality metric for super-resolved video (the AIM 2024 VSR-QA winner's
//! method), embeddable from C and C++ through `include/vsrqa.h`.
//!
//! Layers, top to bottom (see `docs/` and the design notes): [`capi`] (the C ABI) ->
//! [`engine`] (Engine + Session) -> [`bundle`] / [`branch`] / [`head`] -> [`frame`] ->
//! [`backend`] (networks on tensors).

pub mod atomic_file;
pub mod backend;
pub mod branch;
pub mod bundle;
pub mod capi;
pub mod engine;
pub mod error;
pub mod frame;
pub mod head;
pub mod metrics;
pub mod train;
pub mod video;

pub use engine::{ClipScore, Engine, EngineOptions, EngineTimes, FrameScore, Session, StageTime};
pub use error::{Error, Result};

/// The crate version, also returned by `vsrqa_version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
