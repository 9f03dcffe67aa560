//! The `tensorrt` backend on a GPU, with either TensorRT runner: `--features
//! tensorrt-rtx` (TensorRT-RTX) or `--features tensorrt` (TensorRT 10/11, e.g. on an H100, with
//! the install's headers in VSRQA_TENSORRT_INCLUDE_DIR). The library comes from
//! VSRQA_TENSORRT_LIBRARY or the loader's path. Every test here needs a GPU: ignored in CI.
#![cfg(any(feature = "tensorrt-rtx", feature = "tensorrt"))]

use std::path::Path;

use vsrqa::backend::tensorrt::library::{self as tensorrt_library, Flavor};
use vsrqa_testkit::tiny_bundle;

/// The sample clip's score on `backend`, engines cached in `cache`.
fn sample_clip_score(backend: vsrqa::backend::BackendKind, cache: &Path, cuda_graphs: bool) -> vsrqa::ClipScore {
    let clip = std::fs::File::open(vsrqa_testkit::data("sample.y4m")).unwrap();
    let mut reader = vsrqa_video::y4m::Y4mReader::new(std::io::BufReader::new(clip)).unwrap();
    let (width, height) = (reader.header.width, reader.header.height);
    let gpu = vsrqa::backend::GpuOptions {
        cache_dir: Some(cache.to_path_buf()),
        cuda_graphs,
        ..vsrqa::backend::GpuOptions::default()
    };
    let engine =
        vsrqa::Engine::new(tiny_bundle(), vsrqa::EngineOptions { backend, threads: 2, gpu, ..Default::default() })
            .unwrap();
    // 8 fps, the sample's own: three key frames, so each key-frame network runs three times
    // (with TensorRT 10/11 graphs: a plain run, a capture, a replay).
    let mut session = engine.session(8.0).unwrap();
    let mut buffer = Vec::new();
    while reader.read_frame(&mut buffer).unwrap() {
        let view = vsrqa::frame::FrameView::packed(vsrqa::frame::PixelFormat::I420, width, height, &buffer).unwrap();
        session.push(view).unwrap();
    }
    session.finish().unwrap()
}

/// The tensorrt backend against the CPU backend on the sample clip (needs a GPU the build's
/// TensorRT supports, and its library). Tolerance: 1e-4 on each key frame's score: both compute in float32 (TF32 is off in
/// our builds), with different kernels and summation orders (about 1e-6 relative on features).
#[test]
#[ignore = "needs an NVIDIA GPU and VSRQA_TENSORRT_LIBRARY: cargo test --features tensorrt-rtx (or tensorrt) --test gpu_tensorrt_backend -- --ignored gpu_"]
fn gpu_tensorrt_backend_scores_like_the_cpu_backend() {
    use vsrqa::backend::BackendKind;
    let cache = tempfile::tempdir().unwrap();
    let gpu = sample_clip_score(BackendKind::TensorRt, cache.path(), false);
    let cpu = sample_clip_score(BackendKind::Cpu, cache.path(), false);
    println!("clip score: tensorrt {} cpu {}", gpu.score, cpu.score);
    assert!((gpu.score - cpu.score).abs() < 1e-4, "tensorrt {} cpu {}", gpu.score, cpu.score);
    // Each branch's plan is cached, and on TensorRT-RTX the kernels it compiled for this GPU too.
    let files: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let count = |suffix: &str| files.iter().filter(|f| f.ends_with(suffix)).count();
    assert_eq!(count(".engine"), 5, "{files:?}");
    if tensorrt_library::probe().is_ok_and(|l| l.flavor == Flavor::Rtx) {
        assert_eq!(count(".runtime"), 5, "{files:?}");
    }
    // A second engine starts from both caches and scores the same clip the same: the kernels
    // are the same ones (compiled eagerly per shape, then cached), so warm or cold, one score.
    let again = sample_clip_score(BackendKind::TensorRt, cache.path(), false);
    assert_eq!(again.score, gpu.score, "a warm engine scored differently");
    // CUDA graphs replay the same kernels: the same score exactly.
    let graphs = sample_clip_score(BackendKind::TensorRt, cache.path(), true);
    assert_eq!(graphs.score, gpu.score, "with CUDA graphs");
}
