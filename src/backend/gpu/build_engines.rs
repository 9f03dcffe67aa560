//! `vsrqa build-engines`: a TensorRT engine for every branch of a bundle, built ahead of time into
//! the engine cache, so that the first engine creation on a GPU does not wait for the builder.

use std::path::PathBuf;
use std::time::Instant;

use super::device::GpuInfo;
use super::engine_cache::{CacheError, EngineCache, Outcome};
use super::engine_cache_key::{engine_cache_key, BuildConfig, ShapeProfile};
use super::tensorrt_library::{self, Flavor};
use crate::bundle::Bundle;

/// The builder settings vsrqa uses.
#[derive(Clone, Copy, Debug)]
pub struct BuildOptions {
    pub optimization_level: u8,
    pub workspace_bytes: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { optimization_level: 3, workspace_bytes: 1 << 30 }
    }
}

/// A branch's engine, or the branch's name and why it could not be built.
pub type BranchResult = Result<BuiltEngine, (String, String)>;

/// One branch's engine in the cache.
#[derive(Clone, Debug)]
pub struct BuiltEngine {
    pub branch: String,
    pub key: String,
    pub path: PathBuf,
    pub outcome: Outcome,
    pub bytes: usize,
    pub seconds: f64,
}

/// The build settings of one branch: fp32 (precision is the ONNX graph's), one profile from one
/// sample up to the batch the engine runs it with (the clip branch's segments, else 1).
pub fn branch_config(bundle: &Bundle, branch: usize, options: &BuildOptions) -> BuildConfig {
    let spec = &bundle.manifest.branches[branch];
    build_config(&crate::branch::sample_shape(spec), spec.clip.map_or(1, |clip| clip.segments), options)
}

/// The build settings of a network taking samples of `sample` shape in batches up to `batch`.
/// The engine runner asks for the same, so prebuilt engines are found in the cache.
pub fn build_config(sample: &[usize], batch: usize, options: &BuildOptions) -> BuildConfig {
    let shape = |b: usize| std::iter::once(b).chain(sample.iter().copied()).collect::<Vec<_>>();
    BuildConfig {
        precision: "fp32".into(),
        optimization_level: options.optimization_level,
        workspace_bytes: options.workspace_bytes,
        profiles: vec![ShapeProfile { input: "input".into(), min: shape(1), opt: shape(batch), max: shape(batch) }],
    }
}

/// Builds (or finds in `cache`) every branch's engine. `progress(i, n, branch)` is called before
/// each. One branch failing does not stop the others: each result is reported. A full cache disk
/// does: the branches after it are reported as not attempted.
///
/// TensorRT-RTX builds ahead of time without a GPU, for every GPU it supports; `device` is not
/// used. TensorRT 10/11 builds on a GPU, for that GPU model: `device` (else 0), named in the key.
pub fn build_engines(
    bundle: &Bundle,
    cache: &EngineCache,
    options: &BuildOptions,
    device: Option<usize>,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Vec<BranchResult>, String> {
    let library = tensorrt_library::probe()?;
    super::tensorrt_headers::check_library(&library)?;
    let target = match library.flavor {
        Flavor::Rtx => None,
        Flavor::TensorRt => Some(
            BuildGpu::bind(device.unwrap_or(0))
                .map_err(|e| format!("{} builds an engine on the GPU it is for: {e}", library.describe()))?,
        ),
    };
    let gpu = target.as_ref().map(|target| &target.info);
    let count = bundle.manifest.branches.len();
    let mut results = Vec::with_capacity(count);
    let mut disk_full = None;
    for i in 0..count {
        let name = bundle.manifest.branches[i].name.clone();
        if let Some(error) = &disk_full {
            // Building takes minutes per network; each plan would fail to be stored the same way.
            results.push(Err((name, format!("not attempted: {error}"))));
            continue;
        }
        progress(i, count, &name);
        let network = &bundle.networks[i];
        let config = branch_config(bundle, i, options);
        let started = Instant::now();
        let built =
            engine_cache_key(&network.sha256, &config, &library, gpu).map_err(CacheError::from).and_then(|key| {
                let (plan, outcome) =
                    cache.get_or_build(&name, &key, || build_plan(&library, &network.path, &config))?;
                Ok(BuiltEngine {
                    path: cache.path(&name, &key),
                    branch: name.clone(),
                    key,
                    outcome,
                    bytes: plan.len(),
                    seconds: started.elapsed().as_secs_f64(),
                })
            });
        results.push(built.map_err(|error| {
            if error.disk_full {
                disk_full = Some(error.message.clone());
            }
            (name, error.message)
        }));
    }
    Ok(results)
}

/// The GPU a TensorRT 10/11 build runs on, its context current on this thread while it lives.
struct BuildGpu {
    info: GpuInfo,
    #[cfg(vsrqa_tensorrt)]
    _context: std::sync::Arc<cudarc::driver::CudaContext>,
}

impl BuildGpu {
    #[cfg(vsrqa_tensorrt)]
    fn bind(ordinal: usize) -> Result<BuildGpu, String> {
        let info = super::device::find(ordinal)?;
        // TensorRT builds in the thread's current context: the device's primary context.
        let context = cudarc::driver::CudaContext::new(ordinal).map_err(|e| format!("CUDA device {ordinal}: {e}"))?;
        context.bind_to_thread().map_err(|e| format!("CUDA device {ordinal}: {e}"))?;
        Ok(BuildGpu { info, _context: context })
    }

    /// Unreachable: without a facade, `check_library` refuses every library first.
    #[cfg(not(vsrqa_tensorrt))]
    fn bind(_: usize) -> Result<BuildGpu, String> {
        Err(NO_RUNNER.into())
    }
}

#[cfg(not(vsrqa_tensorrt))]
const NO_RUNNER: &str =
    "this build of vsrqa cannot build TensorRT engines (built without the `tensorrt-rtx` or `tensorrt` feature)";

#[cfg(vsrqa_tensorrt)]
use super::tensorrt_build::build_plan;

#[cfg(not(vsrqa_tensorrt))]
fn build_plan(_: &tensorrt_library::TensorRtLibrary, _: &std::path::Path, _: &BuildConfig) -> Result<Vec<u8>, String> {
    Err(NO_RUNNER.into())
}
