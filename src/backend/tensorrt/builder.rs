//! Building a TensorRT engine (a serialized plan) from a bundle's ONNX file, through the C++
//! facade in tensorrt_facade.cpp (a `cxx` bridge). Compiled with the `tensorrt-rtx` feature against
//! TensorRT-RTX's headers, or with `tensorrt` against TensorRT 10/11's (`VSRQA_TENSORRT_INCLUDE_DIR`,
//! scripts/tensorrt-headers.sh); the library itself is opened at run time. TensorRT-RTX builds
//! ahead of time, so this runs on a machine without a GPU (the plan's kernels are compiled for the
//! GPU when it is loaded); TensorRT 10/11 builds on the thread's current CUDA context's GPU.

use std::path::{Path, PathBuf};

use super::cache_key::BuildConfig;
use super::library::{self, Flavor, TensorRtLibrary};
use super::GpuError;

#[cxx::bridge(namespace = "vsrqa::trt")]
mod ffi {
    /// What the facade builds: one network with one optimization profile on its single input.
    struct PlanRequest {
        library: String,
        parser_library: String,
        onnx_path: String,
        min_shape: Vec<i64>,
        opt_shape: Vec<i64>,
        max_shape: Vec<i64>,
        workspace_bytes: usize,
        optimization_level: i32,
    }

    unsafe extern "C++" {
        include!("vsrqa/src/backend/tensorrt/facade/build_facade.h");

        fn build_serialized_plan(request: &PlanRequest) -> Result<Vec<u8>>;
    }
}

/// The ONNX parser shipped beside each TensorRT library.
pub fn parser_library(library: &TensorRtLibrary) -> PathBuf {
    let name = match library.flavor {
        Flavor::Rtx => "libtensorrt_onnxparser_rtx.so.1".to_string(),
        Flavor::TensorRt => format!("libnvonnxparser.so.{}", library.version.0),
    };
    library.path.parent().map_or_else(|| PathBuf::from(&name), |dir| dir.join(&name))
}

/// Builds the plan of `onnx` with `config` (one profile, on the network's single input).
pub fn build_plan(library: &TensorRtLibrary, onnx: &Path, config: &BuildConfig) -> Result<Vec<u8>, GpuError> {
    library::check_library(library)?;
    if config.precision != "fp32" {
        // The facade builds strongly typed networks on every release (TensorRT 11 and RTX only
        // have those), so fp16 is an fp16 ONNX, not a builder flag.
        return Err(GpuError::Unsupported(format!(
            "precision {:?}: engines take precision from the ONNX graph's types; export an fp16 ONNX for fp16 engines",
            config.precision
        )));
    }
    let [profile] = config.profiles.as_slice() else {
        return Err(GpuError::Unsupported(format!(
            "exactly one optimization profile is supported, not {}",
            config.profiles.len()
        )));
    };
    let shape = |dims: &[usize]| dims.iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect::<Vec<_>>();
    let text = |path: &Path| {
        path.to_str()
            .map(str::to_owned)
            .ok_or_else(|| GpuError::Unsupported(format!("{}: not a UTF-8 path", path.display())))
    };
    let request = ffi::PlanRequest {
        library: text(&library.path)?,
        parser_library: text(&parser_library(library))?,
        onnx_path: text(onnx)?,
        min_shape: shape(&profile.min),
        opt_shape: shape(&profile.opt),
        max_shape: shape(&profile.max),
        workspace_bytes: usize::try_from(config.workspace_bytes).unwrap_or(usize::MAX),
        optimization_level: i32::from(config.optimization_level),
    };
    ffi::build_serialized_plan(&request).map_err(|e| GpuError::TensorRt(e.what().to_string()))
}
