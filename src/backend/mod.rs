//! "Run this ONNX network on these f32 tensors": one trait, one implementation per backend.
//! Backends know nothing of video quality; the branch layer gives them tensors.

internal_mod!(cpu);
internal_mod!(cuda_device);
internal_mod!(onnxruntime);
mod onnxruntime_graph_cache;
internal_mod!(shared_libraries);
internal_mod!(
    /// Nothing in here is C API (cbindgen skips it).
    ///
    /// cbindgen:ignore
    tensorrt
);

pub use crate::error::GpuError;
/// Where the front ends keep built TensorRT engines (`GpuOptions::cache_dir`):
/// `$XDG_CACHE_HOME/vsrqa/engines`, else `~/.cache/vsrqa/engines`; `None` without either variable.
pub use tensorrt::cache::default_dir as default_engine_cache_dir;
pub use tensorrt::GpuOptions;

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
#[non_exhaustive]
pub enum BackendKind {
    /// The fastest usable: TensorRT when a library and a GPU are usable, else ONNX Runtime when its
    /// library loads, else the CPU.
    #[default]
    Auto,
    /// tract: pure Rust, always available; the numerical reference.
    Cpu,
    /// ONNX Runtime on the CPU, when its library loads (`onnxruntime::loaded_library`).
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

/// Why each backend is or is not usable on this host, for `vsrqa info` and the log: `Ok`, or
/// an error of kind [`ErrorKind::BackendUnavailable`](crate::ErrorKind::BackendUnavailable)
/// with the reason.
pub fn availability() -> Vec<(BackendKind, Result<()>)> {
    vec![
        (BackendKind::Cpu, Ok(())),
        (BackendKind::OnnxRuntime, onnxruntime::availability()),
        (BackendKind::TensorRt, tensorrt::availability().map_err(Error::Gpu)),
    ]
}

/// Checks a network's declared input (`None` for a dimension it leaves open) against the
/// manifest's sample shape, `[N, sample_shape...]`, and returns the batch size when the network
/// fixes it. Every backend checks this at load, so that a wrong network is a bundle error naming
/// the file, not a failure at the first frame.
pub(crate) fn check_declared_input(path: &Path, dims: &[Option<i64>], sample_shape: &[usize]) -> Result<Option<usize>> {
    let rank = dims.len();
    if rank != sample_shape.len() + 1 {
        return Err(Error::bundle(
            path,
            format!(
                "the network's input has rank {rank}, the manifest implies [N, {sample_shape:?}] (rank {})",
                sample_shape.len() + 1
            ),
        ));
    }
    for (i, (&declared, &expected)) in dims.iter().skip(1).zip(sample_shape).enumerate() {
        if let Some(declared) = declared {
            if declared != expected as i64 {
                return Err(Error::bundle(
                    path,
                    format!("input dimension {} is {declared} in the network but {expected} in the manifest", i + 1),
                ));
            }
        }
    }
    Ok(dims[0].filter(|&b| b > 0).map(|b| b as usize))
}

/// What `auto` takes here, without starting it, and why: TensorRT where
/// `tensorrt::availability` finds everything it needs, else ONNX Runtime where its library loads,
/// else the CPU (tract). The fastest usable first (docs/performance.md).
pub fn auto_choice() -> (BackendKind, String) {
    let tensorrt_missing = match tensorrt::availability() {
        Ok(()) => return (BackendKind::TensorRt, "auto: a GPU and TensorRT are usable".into()),
        Err(error) => error.to_string(),
    };
    match onnxruntime::availability() {
        Ok(()) => (BackendKind::OnnxRuntime, onnxruntime_chosen(&tensorrt_missing)),
        Err(error) => (BackendKind::Cpu, cpu_chosen(&tensorrt_missing, &error.detail())),
    }
}

fn onnxruntime_chosen(tensorrt_missing: &str) -> String {
    format!(
        "auto: tensorrt not used ({tensorrt_missing}); ONNX Runtime from {}",
        onnxruntime::loaded_library().display()
    )
}

fn cpu_chosen(tensorrt_missing: &str, onnxruntime_missing: &str) -> String {
    format!("auto: tensorrt not used ({tensorrt_missing}); onnxruntime not used ({onnxruntime_missing})")
}

/// Creates the backend for `kind`, and says why in the returned text. `Auto` takes what
/// [`auto_choice`] says, and the next one down when a backend fails to start.
pub fn create(kind: BackendKind, threads: usize, gpu_options: &GpuOptions) -> Result<(Arc<dyn Backend>, String)> {
    match kind {
        BackendKind::Cpu => Ok((Arc::new(cpu::CpuBackend::new(threads)), "requested".into())),
        BackendKind::OnnxRuntime => Ok((
            Arc::new(onnxruntime::OnnxRuntimeBackend::new(threads, gpu_options.cache_dir.as_deref())?),
            "requested".into(),
        )),
        BackendKind::TensorRt => Ok((create_tensorrt(gpu_options, threads)?, "requested".into())),
        BackendKind::Auto => {
            let tensorrt_missing = match tensorrt::availability().map_err(Error::Gpu) {
                Ok(()) => match create_tensorrt(gpu_options, threads) {
                    Ok(backend) => return Ok((backend, "auto: a GPU and TensorRT are usable".into())),
                    Err(error) => error.to_string(),
                },
                Err(error) => error.to_string(),
            };
            match onnxruntime::OnnxRuntimeBackend::new(threads, gpu_options.cache_dir.as_deref()) {
                Ok(backend) => Ok((Arc::new(backend), onnxruntime_chosen(&tensorrt_missing))),
                Err(error) => {
                    Ok((Arc::new(cpu::CpuBackend::new(threads)), cpu_chosen(&tensorrt_missing, &error.to_string())))
                }
            }
        }
    }
}

#[cfg(vsrqa_tensorrt)]
fn create_tensorrt(options: &GpuOptions, threads: usize) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(tensorrt::backend::TensorRtBackend::new(options, threads)?))
}

#[cfg(not(vsrqa_tensorrt))]
fn create_tensorrt(_: &GpuOptions, _: usize) -> Result<Arc<dyn Backend>> {
    Err(Error::BackendUnavailable(format!("tensorrt: {}", tensorrt::unavailable_reason())))
}

pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;

    /// Loads and optimizes a network once. `sample_shape` is one sample's input shape (without
    /// the batch dimension), as the manifest describes it; the network's own declared input
    /// shape must agree with it.
    fn load_network(&self, path: &Path, sample_shape: &[usize]) -> Result<Box<dyn Network>>;

    /// [`load_network`](Self::load_network) for a bundle's branch, for backends that build an
    /// engine per network and batch range (TensorRT) and cache it under the branch's name.
    fn load_branch_network(&self, request: &NetworkRequest<'_>) -> Result<Box<dyn Network>> {
        self.load_network(request.path, request.sample_shape)
    }

    /// The CUDA stream this backend's work is queued on (the GPU backend's), where frames in
    /// device memory are preprocessed next to it; `None` for the CPU backends.
    #[cfg(feature = "cuda")]
    fn cuda_stream(&self) -> Option<Arc<cudarc::driver::CudaStream>> {
        None
    }
}

/// What a branch asks of its backend.
#[derive(Clone, Copy, Debug)]
pub struct NetworkRequest<'a> {
    /// The branch's name (the engine cache names engines by it).
    pub name: &'a str,
    pub path: &'a Path,
    /// SHA-256 of the network file, as the bundle computed it when loading.
    pub sha256: &'a str,
    pub sample_shape: &'a [usize],
    /// The largest batch the branch runs (FAST-VQA's segments, else 1).
    pub max_batch: usize,
}

pub trait Network: Send + Sync {
    /// Runs a batch of `batch` samples laid out one after another in `input`, and returns the
    /// single output, whose first dimension is `batch`.
    fn run(&self, batch: usize, input: &[f32]) -> Result<Tensor>;

    /// Why this network runs on another backend than the engine's (the engine logs it).
    fn fallback_reason(&self) -> Option<&str> {
        None
    }

    /// What loading did that a log reader may want to know (ONNX Runtime: whether the optimized
    /// graph came from the cache); the engine logs it at the debug level.
    fn load_note(&self) -> Option<&str> {
        None
    }
}
