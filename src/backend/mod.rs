//! "Run this ONNX network on these f32 tensors": one trait, one implementation per backend.
//! Backends know nothing of video quality; the branch layer gives them tensors.

pub mod cpu;
pub mod gpu;
pub mod onnxruntime;

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A dense float32 tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Which backend an engine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// The best available: TensorRT when a library and a GPU are usable, else the CPU.
    #[default]
    Auto,
    /// tract: pure Rust, always available; the numerical reference.
    Cpu,
    /// ONNX Runtime on the CPU, when its library loads (`onnxruntime::library_path`).
    OnnxRuntime,
    TensorRt,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Cpu => "cpu",
            BackendKind::OnnxRuntime => "onnxruntime",
            BackendKind::TensorRt => "tensorrt",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(BackendKind::Auto),
            "cpu" => Ok(BackendKind::Cpu),
            "onnxruntime" | "ort" => Ok(BackendKind::OnnxRuntime),
            "tensorrt" => Ok(BackendKind::TensorRt),
            other => Err(Error::invalid(format!("unknown backend \"{other}\" (auto, cpu, onnxruntime, tensorrt)"))),
        }
    }
}

/// Why each backend is or is not usable on this host, for `vsrqa info` and the log.
pub fn availability() -> Vec<(BackendKind, std::result::Result<(), String>)> {
    vec![
        (BackendKind::Cpu, Ok(())),
        (BackendKind::OnnxRuntime, onnxruntime::availability()),
        (BackendKind::TensorRt, Err(gpu::tensorrt_unavailable_reason())),
    ]
}

/// Why `auto` does not pick TensorRT. It does not probe the driver or load TensorRT (both cost
/// time at every engine creation) while there is no engine runner to use them with.
const AUTO_SKIPS_TENSORRT: &str = "this build has no TensorRT engine runner yet";

/// Creates the backend for `kind`. `Auto` falls back to the CPU and says why in `chosen_because`.
pub fn create(kind: BackendKind, threads: usize) -> Result<(Arc<dyn Backend>, String)> {
    match kind {
        BackendKind::Cpu => Ok((Arc::new(cpu::CpuBackend::new(threads)), "requested".into())),
        BackendKind::OnnxRuntime => Ok((Arc::new(onnxruntime::OnnxRuntimeBackend::new(threads)?), "requested".into())),
        BackendKind::Auto => {
            Ok((Arc::new(cpu::CpuBackend::new(threads)), format!("auto: tensorrt unavailable ({AUTO_SKIPS_TENSORRT})")))
        }
        BackendKind::TensorRt => {
            Err(Error::BackendUnavailable(format!("tensorrt: {}", gpu::tensorrt_unavailable_reason())))
        }
    }
}

pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;

    /// Loads and optimizes a network once. `sample_shape` is one sample's input shape (without
    /// the batch dimension), as the manifest describes it; the network's own declared input
    /// shape must agree with it.
    fn load_network(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>>;
}

pub trait Network: Send + Sync {
    /// Runs a batch of `batch` samples laid out one after another in `input`, and returns the
    /// single output, whose first dimension is `batch`.
    fn run(&self, batch: usize, input: &[f32]) -> Result<Tensor>;
}
