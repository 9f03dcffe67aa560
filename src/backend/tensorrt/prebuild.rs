//! Building engines ahead of time into the engine cache, one network at a time, so that the first
//! engine creation on a GPU does not wait for the builder. `engine::build_engines` runs it over a
//! bundle's branches (`vsrqa build-engines`).

use std::path::PathBuf;
use std::time::Instant;

use super::cache::{CacheError, EngineCache, Outcome};
use super::cache_key::{build_config, engine_cache_key, BuildConfig, BuildOptions};
use super::library::{self, Flavor, TensorRtLibrary};
use super::GpuError;
use crate::backend::cuda_device::GpuInfo;
use crate::backend::NetworkRequest;

/// One network's engine in the cache.
#[derive(Clone, Debug)]
pub struct BuiltEngine {
    pub branch: String,
    pub key: String,
    pub path: PathBuf,
    pub outcome: Outcome,
    pub bytes: usize,
    pub seconds: f64,
}

/// A TensorRT library this build drives and, for TensorRT 10/11, the GPU its plans are for.
pub struct Prebuilder {
    library: TensorRtLibrary,
    target: Option<BuildGpu>,
    options: BuildOptions,
}

impl Prebuilder {
    /// TensorRT-RTX builds ahead of time without a GPU, for every GPU it supports; `device` is not
    /// used. TensorRT 10/11 builds on a GPU, for that GPU model: `device` (else 0), named in the key.
    pub fn new(options: &BuildOptions, device: Option<usize>) -> Result<Prebuilder, GpuError> {
        let library = library::probe()?;
        library::check_library(&library)?;
        let target = match library.flavor {
            Flavor::Rtx => None,
            Flavor::TensorRt => Some(
                BuildGpu::bind(device.unwrap_or(0))
                    .map_err(|e| e.context(format!("{} builds an engine on the GPU it is for", library.describe())))?,
            ),
        };
        Ok(Prebuilder { library, target, options: *options })
    }

    /// The build settings of `request`'s network (the ones the engine runner asks for).
    pub fn config(&self, request: &NetworkRequest<'_>) -> BuildConfig {
        build_config(request.sample_shape, request.max_batch, &self.options)
    }

    /// Builds `request`'s engine into `cache`, or finds it there.
    pub fn build(&self, cache: &EngineCache, request: &NetworkRequest<'_>) -> Result<BuiltEngine, CacheError> {
        let config = self.config(request);
        let started = Instant::now();
        let gpu = self.target.as_ref().map(|target| &target.info);
        let key = engine_cache_key(request.sha256, &config, &self.library, gpu)?;
        let (plan, outcome) =
            cache.get_or_build(request.name, &key, || build_plan(&self.library, request.path, &config))?;
        Ok(BuiltEngine {
            path: cache.path(request.name, &key),
            branch: request.name.to_string(),
            key,
            outcome,
            bytes: plan.len(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// The GPU a TensorRT 10/11 build runs on, its context current on this thread while it lives.
struct BuildGpu {
    info: GpuInfo,
    #[cfg(vsrqa_tensorrt)]
    _context: std::sync::Arc<cudarc::driver::CudaContext>,
}

impl BuildGpu {
    #[cfg(vsrqa_tensorrt)]
    fn bind(ordinal: usize) -> Result<BuildGpu, GpuError> {
        let info = crate::backend::cuda_device::find(ordinal)?;
        // TensorRT builds in the thread's current context: the device's primary context.
        let cuda_error = |e: cudarc::driver::DriverError| GpuError::Cuda(format!("CUDA device {ordinal}: {e}"));
        let context = cudarc::driver::CudaContext::new(ordinal).map_err(cuda_error)?;
        context.bind_to_thread().map_err(cuda_error)?;
        Ok(BuildGpu { info, _context: context })
    }

    /// Unreachable: without a facade, `check_library` refuses every library first.
    #[cfg(not(vsrqa_tensorrt))]
    fn bind(_: usize) -> Result<BuildGpu, GpuError> {
        Err(GpuError::Unavailable(NO_RUNNER.into()))
    }
}

#[cfg(not(vsrqa_tensorrt))]
const NO_RUNNER: &str =
    "this build of vsrqa cannot build TensorRT engines (built without the `tensorrt-rtx` or `tensorrt` feature)";

#[cfg(vsrqa_tensorrt)]
use super::builder::build_plan;

#[cfg(not(vsrqa_tensorrt))]
fn build_plan(_: &TensorRtLibrary, _: &std::path::Path, _: &BuildConfig) -> Result<Vec<u8>, GpuError> {
    Err(GpuError::Unavailable(NO_RUNNER.into()))
}
