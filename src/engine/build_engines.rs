//! `vsrqa build-engines`: a TensorRT engine for every branch of a bundle, built ahead of time into
//! the engine cache (`backend::tensorrt::prebuild`), so that the first engine creation on a GPU
//! does not wait for the builder.

use crate::backend::tensorrt::cache::EngineCache;
use crate::backend::tensorrt::cache_key::build_config;
pub use crate::backend::tensorrt::cache_key::{BuildConfig, BuildOptions};
pub use crate::backend::tensorrt::prebuild::BuiltEngine;
use crate::backend::tensorrt::prebuild::Prebuilder;
use crate::backend::GpuError;
use crate::backend::NetworkRequest;
use crate::bundle::Bundle;

/// A branch's engine, or the branch's name and why it could not be built.
pub type BranchResult = Result<BuiltEngine, (String, String)>;

/// What the engine runner asks the builder for when it loads `branch` of `bundle`.
fn request<'a>(bundle: &'a Bundle, branch: usize, sample_shape: &'a [usize]) -> NetworkRequest<'a> {
    let spec = &bundle.manifest.branches[branch];
    NetworkRequest {
        name: &spec.name,
        path: &bundle.networks[branch].path,
        sha256: &bundle.networks[branch].sha256,
        sample_shape,
        max_batch: spec.clip.map_or(1, |clip| clip.segments),
    }
}

/// The build settings of one branch: fp32 (precision is the ONNX graph's), one profile from one
/// sample up to the batch the engine runs it with (the clip branch's segments, else 1).
pub fn branch_config(bundle: &Bundle, branch: usize, options: &BuildOptions) -> BuildConfig {
    let sample = bundle.manifest.branches[branch].sample_shape();
    let request = request(bundle, branch, &sample);
    build_config(request.sample_shape, request.max_batch, options)
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
) -> Result<Vec<BranchResult>, GpuError> {
    let prebuilder = Prebuilder::new(options, device)?;
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
        let sample = bundle.manifest.branches[i].sample_shape();
        let built = prebuilder.build(cache, &request(bundle, i, &sample));
        results.push(built.map_err(|error| {
            if error.disk_full {
                disk_full = Some(error.message.clone());
            }
            (name, error.message)
        }));
    }
    Ok(results)
}
