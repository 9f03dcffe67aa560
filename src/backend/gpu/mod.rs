//! What the GPU path needs from this host, probed without ever failing hard: the NVIDIA driver and
//! its devices (`device`), a TensorRT library (`tensorrt_library`), and the key under which a
//! built engine is cached (`engine_cache_key`). Every probe returns a reason instead of panicking,
//! so `vsrqa info`, `auto` and the C API can say why the GPU path is or is not usable.

pub mod build_engines;
pub mod device;
pub mod engine_cache;
pub mod engine_cache_key;
#[cfg(feature = "tensorrt-rtx")]
pub mod tensorrt_build;
pub mod tensorrt_library;

/// Why the TensorRT backend cannot run here, naming every missing piece (driver, GPU, library).
pub fn tensorrt_unavailable_reason() -> String {
    let gpu = match device::devices() {
        Ok(devices) if devices.is_empty() => "the NVIDIA driver reports no GPU".to_string(),
        Ok(devices) => format!("GPU: {}", devices.iter().map(device::GpuInfo::describe).collect::<Vec<_>>().join(", ")),
        Err(reason) => reason,
    };
    let library = match tensorrt_library::probe() {
        Ok(library) => format!("{} at {}", library.describe(), library.path.display()),
        Err(reason) => reason,
    };
    // Even with both present, engines cannot run yet: the TensorRT runner (issue 7's engine build
    // and execution facade) is not in this build. Say so rather than pretend.
    format!("{gpu}; {library}; and this build has no TensorRT engine runner yet, so the GPU path is unavailable")
}
