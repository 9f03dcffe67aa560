//! A stand-in for TensorRT 10/11's `libnvinfer.so.N`, for machines where NVIDIA's library cannot
//! be had (it is not in any registry CI reaches). It exports only the version entry points
//! vsrqa's probe reads, so vsrqa accepts it as that release and then stops at the first thing the
//! stand-in lacks: the GPU check, or the builder's factory. It tests vsrqa's checks, not TensorRT.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles the stand-in as `dir/name`, reporting `version`.
pub fn build(dir: &Path, name: &str, (major, minor, patch): (i32, i32, i32)) -> PathBuf {
    let source = dir.join("fake_nvinfer.c");
    std::fs::write(
        &source,
        format!(
            "int getInferLibMajorVersion(void) {{ return {major}; }}\n\
             int getInferLibMinorVersion(void) {{ return {minor}; }}\n\
             int getInferLibPatchVersion(void) {{ return {patch}; }}\n"
        ),
    )
    .unwrap();
    let library = dir.join(name);
    let status = Command::new("cc").arg("-shared").arg("-fPIC").arg("-o").arg(&library).arg(&source).status().unwrap();
    assert!(status.success(), "cc could not build the stand-in library");
    std::fs::remove_file(&source).unwrap();
    library
}
