//! The GPU path's probes on any machine: what the driver says, finding and refusing
//! TensorRT libraries, and the real TensorRT-RTX library from its PyPI wheel, which loads without
//! a GPU. scripts/test.sh sets VSRQA_TEST_TENSORRT_RTX to that library (scripts/tensorrt-rtx-lib.sh).

use std::path::{Path, PathBuf};

use vsrqa::backend::tensorrt::library::{Flavor, OpenError};
use vsrqa::backend::{cuda_device as device, tensorrt::library as tensorrt_library};

fn rtx_library() -> PathBuf {
    let path = std::env::var_os("VSRQA_TEST_TENSORRT_RTX").expect(
        "VSRQA_TEST_TENSORRT_RTX is not set: run scripts/test.sh, or export VSRQA_TEST_TENSORRT_RTX=\"$(bash scripts/tensorrt-rtx-lib.sh)\"",
    );
    PathBuf::from(path)
}

#[test]
fn gpu_devices_or_the_reason_there_are_none() {
    match device::devices() {
        Ok(devices) => {
            for gpu in &devices {
                assert!(gpu.compute_capability.0 >= 3 && gpu.multiprocessors > 0 && !gpu.name.is_empty(), "{gpu:?}");
            }
        }
        // The machines CI runs on have no NVIDIA driver: the reason must say so, not panic.
        Err(reason) => {
            assert!(reason.is_unavailable(), "{reason:?}");
            let reason = reason.to_string();
            assert!(reason.contains("NVIDIA driver") || reason.contains("`cuda` feature"), "{reason}");
        }
    }
    // Asked twice, the same answer (the probe runs once).
    assert_eq!(device::devices(), device::devices());
}

#[test]
fn gpu_tensorrt_library_that_is_missing_cannot_open() {
    match tensorrt_library::open(Path::new("/nonexistent/libnvinfer.so.10")) {
        Err(OpenError::CannotOpen(reason)) => assert!(reason.contains("/nonexistent/libnvinfer.so.10"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn gpu_tensorrt_library_refuses_a_library_that_is_not_tensorrt() {
    // libm is on every glibc system and has none of TensorRT's entry points.
    match tensorrt_library::open(Path::new("libm.so.6")) {
        Err(OpenError::Refused(reason)) => {
            assert!(reason.contains("is not a TensorRT library (no getInferLibMajorVersion)"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gpu_tensorrt_rtx_wheel_library_loads_without_a_gpu() {
    let path = rtx_library();
    let library = tensorrt_library::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(library.flavor, Flavor::Rtx);
    assert_eq!(library.version.0, 1, "{library:?}");
    // The wheel's version (scripts/tensorrt-rtx-lib.sh pins 1.7.1.116) is what the library reports.
    let pinned = path.to_string_lossy().contains("-1.7.1.");
    if pinned {
        assert_eq!(library.version, (1, 7, 1));
    }
    assert_eq!(
        std::fs::canonicalize(&library.path).unwrap(),
        std::fs::canonicalize(&path).unwrap(),
        "the loader's file is reported"
    );
    assert!(library.describe().starts_with("TensorRT-RTX 1."), "{}", library.describe());
}
