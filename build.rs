//! Gives the shared library a SONAME on Linux, so that programs record `libvsrqa.so.<major>`
//! (the C API major version, `VSRQA_API_VERSION_MAJOR`) rather than a path or the bare name; with
//! the `tensorrt-rtx` feature, compiles the TensorRT C++ facade against TensorRT-RTX's headers.

/// Keep in step with `VSRQA_API_VERSION_MAJOR` in src/capi/types.rs.
const API_VERSION_MAJOR: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvsrqa.so.{API_VERSION_MAJOR}");
    }
    #[cfg(feature = "tensorrt-rtx")]
    tensorrt_facade();
}

/// The headers come from `VSRQA_TENSORRT_INCLUDE_DIR` (the directory holding NvInfer.h); CUDA's
/// `cuda_runtime_api.h` from `VSRQA_CUDA_INCLUDE_DIR`, else the stub trtx-sys ships one level up.
#[cfg(feature = "tensorrt-rtx")]
fn tensorrt_facade() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed=VSRQA_TENSORRT_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=VSRQA_CUDA_INCLUDE_DIR");
    let include =
        std::env::var_os("VSRQA_TENSORRT_INCLUDE_DIR").map(PathBuf::from).filter(|d| d.join("NvInfer.h").is_file());
    let Some(include) = include else {
        panic!(
            "the `tensorrt-rtx` feature needs TensorRT-RTX 1.7's headers: set VSRQA_TENSORRT_INCLUDE_DIR to the directory \
             holding NvInfer.h (export VSRQA_TENSORRT_INCLUDE_DIR=\"$(bash scripts/tensorrt-headers.sh)\")"
        )
    };
    let cuda = std::env::var_os("VSRQA_CUDA_INCLUDE_DIR")
        .map(PathBuf::from)
        .or_else(|| include.parent().map(PathBuf::from))
        .filter(|d| d.join("cuda_runtime_api.h").is_file())
        .expect("cuda_runtime_api.h: set VSRQA_CUDA_INCLUDE_DIR to CUDA's include directory");
    cxx_build::bridges(["src/backend/gpu/tensorrt_build.rs", "src/backend/gpu/tensorrt_runtime.rs"])
        .file("src/backend/gpu/tensorrt_facade.cpp")
        .file("src/backend/gpu/tensorrt_runtime_facade.cpp")
        .include(&include)
        .include(&cuda)
        .std("c++17")
        // TensorRT's headers deprecate much of what they still declare.
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("vsrqa_tensorrt_facade");
    println!("cargo:rustc-link-lib=dl");
    for file in [
        "src/backend/gpu/tensorrt_build.rs",
        "src/backend/gpu/tensorrt_facade.cpp",
        "src/backend/gpu/tensorrt_facade.h",
        "src/backend/gpu/tensorrt_logger.h",
        "src/backend/gpu/tensorrt_runtime.rs",
        "src/backend/gpu/tensorrt_runtime_facade.cpp",
        "src/backend/gpu/tensorrt_runtime_facade.h",
    ] {
        println!("cargo:rerun-if-changed={file}");
    }
}
