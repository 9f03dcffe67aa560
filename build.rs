//! With the `tensorrt-rtx` or `tensorrt` feature, compiles the TensorRT C++ facade against the
//! headers of `VSRQA_TENSORRT_INCLUDE_DIR`, after checking that they are the release the feature
//! names. (The C library's SONAME and export list are crates/vsrqa-capi's build.rs.)

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set when the TensorRT facade is compiled in (either feature).
    println!("cargo::rustc-check-cfg=cfg(vsrqa_tensorrt)");
    #[cfg(all(feature = "tensorrt-rtx", feature = "tensorrt"))]
    panic!(
        "the `tensorrt-rtx` and `tensorrt` features exclude each other: the facade is compiled against one \
         TensorRT header set (TensorRT-RTX's or TensorRT 10/11's), whose vtables differ; enable one"
    );
    #[cfg(any(feature = "tensorrt-rtx", feature = "tensorrt"))]
    tensorrt_facade();
}

/// A TensorRT release, as its NvInferVersion.h describes it.
#[cfg(any(feature = "tensorrt-rtx", feature = "tensorrt"))]
struct HeaderRelease {
    rtx: bool,
    version: [u32; 3],
}

/// Reads `NV_TENSORRT_MAJOR/MINOR/PATCH` from NvInferVersion.h. TensorRT 10.x and 11 define them
/// through `TRT_*_ENTERPRISE`, TensorRT-RTX through `TRT_*_RTX`, older 10.x releases as numbers.
#[cfg(any(feature = "tensorrt-rtx", feature = "tensorrt"))]
fn header_release(include: &std::path::Path) -> Result<HeaderRelease, String> {
    let file = include.join("NvInferVersion.h");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let defines: std::collections::HashMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("#define "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect();
    let mut rtx = false;
    let mut number = |part: &str| -> Result<u32, String> {
        let name = format!("NV_TENSORRT_{part}");
        let mut value = *defines.get(name.as_str()).ok_or_else(|| format!("{} defines no {name}", file.display()))?;
        if let Some(target) = defines.get(value) {
            rtx |= value.ends_with("_RTX");
            value = target;
        }
        value.parse().map_err(|_| format!("{}: {name} is {value:?}, not a number", file.display()))
    };
    let version = [number("MAJOR")?, number("MINOR")?, number("PATCH")?];
    Ok(HeaderRelease { rtx, version })
}

/// The headers come from `VSRQA_TENSORRT_INCLUDE_DIR` (the directory holding NvInfer.h); CUDA's
/// `cuda_runtime_api.h` from `VSRQA_CUDA_INCLUDE_DIR`, else the stub trtx-sys ships one level up.
#[cfg(any(feature = "tensorrt-rtx", feature = "tensorrt"))]
fn tensorrt_facade() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed=VSRQA_TENSORRT_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=VSRQA_CUDA_INCLUDE_DIR");
    let (feature, wanted, script) = if cfg!(feature = "tensorrt-rtx") {
        ("tensorrt-rtx", "TensorRT-RTX 1.x", "bash scripts/tensorrt-headers.sh rtx")
    } else {
        ("tensorrt", "TensorRT 10 (10.1 or later) or 11", "bash scripts/tensorrt-headers.sh 11")
    };
    // An empty value (CMake passes its cache variables through, set or not) is no value.
    let variable = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let include = variable("VSRQA_TENSORRT_INCLUDE_DIR").filter(|d| d.join("NvInfer.h").is_file());
    let Some(include) = include else {
        panic!(
            "the `{feature}` feature needs {wanted} headers: set VSRQA_TENSORRT_INCLUDE_DIR to the directory \
             holding NvInfer.h (export VSRQA_TENSORRT_INCLUDE_DIR=\"$({script})\")"
        )
    };
    println!("cargo:rerun-if-changed={}", include.join("NvInferVersion.h").display());
    let release = header_release(&include).unwrap_or_else(|e| panic!("VSRQA_TENSORRT_INCLUDE_DIR: {e}"));
    let [major, minor, patch] = release.version;
    let found = format!("{} {major}.{minor}.{patch}", if release.rtx { "TensorRT-RTX" } else { "TensorRT" });
    let matches = if cfg!(feature = "tensorrt-rtx") {
        release.rtx && major == 1
    } else {
        // 10.0 lacks getDeviceMemorySizeV2, which user-managed activation memory needs.
        !release.rtx && ((major == 10 && minor >= 1) || major == 11)
    };
    if !matches {
        panic!(
            "the `{feature}` feature needs {wanted} headers, but VSRQA_TENSORRT_INCLUDE_DIR ({}) holds {found}'s",
            include.display()
        );
    }
    // What the Rust side checks a loaded library against (backend/tensorrt/library.rs).
    println!("cargo:rustc-cfg=vsrqa_tensorrt");
    println!("cargo:rustc-env=VSRQA_TENSORRT_HEADERS={found}");
    let cuda = variable("VSRQA_CUDA_INCLUDE_DIR")
        .or_else(|| include.parent().map(PathBuf::from))
        .filter(|d| d.join("cuda_runtime_api.h").is_file())
        .expect("cuda_runtime_api.h: set VSRQA_CUDA_INCLUDE_DIR to CUDA's include directory");
    cxx_build::bridges(["src/backend/tensorrt/builder.rs", "src/backend/tensorrt/runtime.rs"])
        .file("src/backend/tensorrt/facade/build_facade.cpp")
        .file("src/backend/tensorrt/facade/runtime_facade.cpp")
        // System includes: their own warnings (unused parameters in TensorRT 10's) are not ours.
        .flag("-isystem")
        .flag(include.as_os_str())
        .flag("-isystem")
        .flag(cuda.as_os_str())
        .std("c++17")
        // TensorRT's headers deprecate much of what they still declare.
        .flag_if_supported("-Wno-deprecated-declarations")
        .compile("vsrqa_tensorrt_facade");
    println!("cargo:rustc-link-lib=dl");
    for file in [
        "src/backend/tensorrt/builder.rs",
        "src/backend/tensorrt/facade/build_facade.cpp",
        "src/backend/tensorrt/facade/build_facade.h",
        "src/backend/tensorrt/facade/logger.h",
        "src/backend/tensorrt/runtime.rs",
        "src/backend/tensorrt/facade/runtime_facade.cpp",
        "src/backend/tensorrt/facade/runtime_facade.h",
    ] {
        println!("cargo:rerun-if-changed={file}");
    }
}
