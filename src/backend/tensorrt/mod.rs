//! The TensorRT backend: finding a TensorRT library and checking that this build can drive it
//! (`library`), building engines (`builder`, through the C++ facade in facade/) and caching them
//! on disk under a key (`cache`, `cache_key`), building them ahead of time (`prebuild`), and
//! running them (`runtime`, `backend`). Every probe returns a reason instead of panicking, so
//! `vsrqa info`, `auto` and the C API can say why the GPU path is or is not usable.

#[cfg(vsrqa_tensorrt)]
pub mod backend;
#[cfg(vsrqa_tensorrt)]
pub mod builder;
pub mod cache;
pub mod cache_key;
pub mod library;
pub mod prebuild;
#[cfg(vsrqa_tensorrt)]
pub mod runtime;

use super::cuda_device as device;
use super::GpuError;

/// Where a GPU backend runs, from the engine configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// CUDA device ordinal; `None`: device 0 of the driver's list.
    pub device: Option<usize>,
    /// The caller's `CUstream` (as an integer); `None`: vsrqa creates a stream of its own.
    pub stream: Option<usize>,
    /// Where built engines are cached; `None`: not cached (built at every engine creation).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Replay each network's kernels as a CUDA graph, captured for the batch size in use, instead
    /// of launching them one by one: less CPU time per run. TensorRT-RTX captures the graph itself
    /// (`kWHOLE_GRAPH_CAPTURE`); with TensorRT 10/11 vsrqa captures `enqueueV3` on its stream
    /// after a first plain run of that batch size, as TensorRT asks. The stream must not be
    /// capturing a graph of the caller's at the time.
    pub cuda_graphs: bool,
}

/// Whether the TensorRT backend can run here: this build has its runner (feature `tensorrt-rtx` or
/// `tensorrt`), the driver reports a GPU that runner's TensorRT supports, and a library the runner
/// can drive loads. `Err` ([`GpuError::Unavailable`]) names every missing piece.
pub fn availability() -> Result<(), GpuError> {
    let headers = library::compiled();
    let flavor = headers.map_or(library::Flavor::Rtx, |h| h.flavor);
    // Each part: what was found or why not, and whether it is usable.
    let gpu = match device::devices() {
        Ok(devices) if devices.is_empty() => ("the NVIDIA driver reports no GPU".to_string(), false),
        Ok(devices) => {
            let list = devices.iter().map(device::GpuInfo::describe).collect::<Vec<_>>().join(", ");
            if devices.iter().any(|d| supports_gpu(flavor, d.compute_capability)) {
                (format!("GPU: {list}"), true)
            } else {
                (
                    format!(
                        "GPU: {list}, {}; backend \"tensorrt\" may still be asked for explicitly",
                        gpu_list(flavor)
                    ),
                    false,
                )
            }
        }
        Err(reason) => (reason.to_string(), false),
    };
    let library = match library::probe() {
        // Without a runner, the runner part below says what is missing.
        Ok(library) => match headers.map(|headers| headers.accepts(&library)) {
            Some(Err(reason)) => (reason.to_string(), false),
            _ => (format!("{} at {}", library.describe(), library.path.display()), true),
        },
        Err(reason) => (reason.to_string(), false),
    };
    let runner = match headers {
        Some(headers) => (format!("this build has the TensorRT runner (for {})", headers.drives()), true),
        None => (
            "this build has no TensorRT runner (built without the `tensorrt-rtx` or `tensorrt` feature)".to_string(),
            false,
        ),
    };
    let parts = [gpu, library, runner];
    if parts.iter().all(|(_, usable)| *usable) {
        Ok(())
    } else {
        Err(GpuError::Unavailable(parts.map(|(text, _)| text).join("; ")))
    }
}

/// The GPUs `auto` takes TensorRT on. TensorRT-RTX 1.7: its headers' list. TensorRT 10/11: Turing
/// (7.5) and newer, the range both release lines support; the library has the final word.
fn supports_gpu(flavor: library::Flavor, compute_capability: (i32, i32)) -> bool {
    match flavor {
        library::Flavor::Rtx => {
            matches!(compute_capability, (7, 5) | (8, 0) | (8, 6) | (8, 9) | (12, 0) | (12, 1))
        }
        library::Flavor::TensorRt => compute_capability >= (7, 5),
    }
}

/// Which GPUs [`supports_gpu`] takes, in words.
fn gpu_list(flavor: library::Flavor) -> &'static str {
    match flavor {
        library::Flavor::Rtx => "which TensorRT-RTX 1.7 does not list (7.5, 8.0, 8.6, 8.9, 12.0 and 12.1)",
        library::Flavor::TensorRt => "older than TensorRT 10/11 supports (compute capability 7.5)",
    }
}

/// Why the TensorRT backend cannot run here, naming every missing piece (driver, GPU, library,
/// this build's runner).
pub fn unavailable_reason() -> String {
    availability().err().map_or_else(|| "nothing is missing".into(), |e| e.to_string())
}
