//! The ONNX Runtime backend against the CPU (tract) backend, the numerical reference, on the tiny
//! bundle: every branch's features within 1e-4 relative to their largest magnitude (two runtimes'
//! float32 kernels sum in different orders; observed about 1e-6), frame and clip scores within 1e-6.
//!
//! Needs the ONNX Runtime library: `ORT_DYLIB_PATH` (scripts/test.sh sets it from
//! scripts/onnxruntime-lib.sh, which CI's install step runs). Without it this test fails and says so.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use vsrqa::backend::BackendKind;
use vsrqa::frame::{FrameView, PixelFormat};
use vsrqa::{Engine, EngineOptions};
use vsrqa_video::y4m::Y4mReader;

/// The tiny bundle on `options`' backend: the sample clip's frame scores, clip score and pooled
/// features.
fn score_sample(options: EngineOptions) -> (Vec<f64>, f64, Vec<Vec<f32>>) {
    let backend = options.backend;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let engine = Engine::new(data.join("tiny_bundle"), options)
        .unwrap_or_else(|e| panic!("{} backend: {e} (scripts/test.sh sets ORT_DYLIB_PATH)", backend.name()));
    assert_eq!(engine.backend_name(), backend.name());
    let mut reader = Y4mReader::new(BufReader::new(File::open(data.join("sample.y4m")).unwrap())).unwrap();
    let mut session = engine.session(reader.header.fps).unwrap();
    let mut buffer = Vec::new();
    while reader.read_frame(&mut buffer).unwrap() {
        session.push(FrameView::packed(PixelFormat::I420, 112, 80, &buffer).unwrap()).unwrap();
    }
    let clip = session.finish().unwrap();
    let frames = std::iter::from_fn(|| session.poll()).map(|s| s.score).collect();
    (frames, clip.score, session.pooled_features().unwrap())
}

fn run(backend: BackendKind) -> (Vec<f64>, f64, Vec<Vec<f32>>) {
    score_sample(EngineOptions { backend, threads: 2, ..EngineOptions::default() })
}

#[test]
fn onnxruntime_backend_matches_the_cpu_backend() {
    let (cpu_frames, cpu_clip, cpu_features) = run(BackendKind::Cpu);
    let (ort_frames, ort_clip, ort_features) = run(BackendKind::OnnxRuntime);
    assert_eq!(cpu_frames.len(), ort_frames.len());
    for (a, b) in cpu_frames.iter().zip(&ort_frames) {
        assert!((a - b).abs() < 1e-6, "frame score {a} (cpu) vs {b} (onnxruntime)");
    }
    assert!((cpu_clip - ort_clip).abs() < 1e-6, "clip score {cpu_clip} vs {ort_clip}");
    // Per branch: its slice of the concatenated rows, by the manifest's output dims.
    let bundle =
        vsrqa::bundle::Bundle::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle")).unwrap();
    let mut offset = 0;
    for branch in &bundle.manifest.branches {
        let range = offset..offset + branch.output_dim;
        offset += branch.output_dim;
        for (row_cpu, row_ort) in cpu_features.iter().zip(&ort_features) {
            let (a, b) = (&row_cpu[range.clone()], &row_ort[range.clone()]);
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(diff / scale <= 1e-4, "branch '{}': max |diff| {diff:e}, relative {:e}", branch.name, diff / scale);
        }
    }
}

/// `VSRQA_BACKEND_ONNXRUNTIME` through the C ABI: an engine on it scores the sample's first frame
/// as the Rust API does (the same backend, so exactly).
#[test]
fn onnxruntime_backend_through_the_c_api() {
    use std::ffi::CString;
    use vsrqa_capi::status::VsrqaStatus::VSRQA_OK;
    use vsrqa_capi::*;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut reader = Y4mReader::new(BufReader::new(File::open(data.join("sample.y4m")).unwrap())).unwrap();
    let mut frame_data = Vec::new();
    assert!(reader.read_frame(&mut frame_data).unwrap());
    let expected = Engine::new(
        data.join("tiny_bundle"),
        EngineOptions { backend: BackendKind::OnnxRuntime, threads: 2, ..EngineOptions::default() },
    )
    .unwrap()
    .score_frame(FrameView::packed(PixelFormat::I420, 112, 80, &frame_data).unwrap())
    .unwrap();
    let dir = CString::new(data.join("tiny_bundle").to_str().unwrap()).unwrap();
    // SAFETY: structs initialized by their _default functions with their own sizes; the path and
    // the planes outlive the calls; the engine is destroyed once.
    unsafe {
        let mut config = std::mem::zeroed::<VsrqaEngineConfig>();
        assert_eq!(vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()), VSRQA_OK);
        config.bundle_path = dir.as_ptr();
        config.backend = VSRQA_BACKEND_ONNXRUNTIME;
        config.threads = 2;
        let mut engine = std::ptr::null_mut();
        assert_eq!(vsrqa_engine_create(&config, &mut engine), VSRQA_OK);
        let mut frame = std::mem::zeroed::<VsrqaFrame>();
        assert_eq!(vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()), VSRQA_OK);
        frame.format = VSRQA_PIXEL_FORMAT_I420;
        frame.width = 112;
        frame.height = 80;
        let (y, c) = (112 * 80, 56 * 40);
        frame.planes =
            [frame_data.as_ptr().cast(), frame_data[y..].as_ptr().cast(), frame_data[y + c..].as_ptr().cast()];
        frame.pitches = [112, 56, 56];
        let mut score = std::mem::zeroed::<VsrqaFrameScore>();
        assert_eq!(vsrqa_frame_score_default(&mut score, std::mem::size_of::<VsrqaFrameScore>()), VSRQA_OK);
        assert_eq!(vsrqa_score_frame(engine, &frame, &mut score), VSRQA_OK);
        vsrqa_engine_destroy(engine);
        assert_eq!(score.score, expected.score);
    }
}

#[test]
fn onnxruntime_keeps_activations_fp32_beside_8_bit_weights() {
    // int8_weights means 8-bit weights and fp32 activations (docs/precision.md). ONNX Runtime fuses
    // DequantizeLinear + MatMul into MatMulNBits, which by default also quantizes the activations:
    // on these inputs, six orders of magnitude in each row, that was 5e-3 relative error; kept
    // fp32, the float32 sums are within 1e-5 of the float64 golden
    // (tools/fixtures/make_int8_weights_matmul.py).
    use vsrqa::backend::onnxruntime::OnnxRuntimeBackend;
    use vsrqa::backend::Backend;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/int8_weights_matmul");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    let numbers = |key: &str| golden[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>();
    let (k, batch) = (golden["k"].as_u64().unwrap() as usize, golden["batch"].as_u64().unwrap() as usize);
    let input: Vec<f32> = numbers("input").iter().map(|&v| v as f32).collect();
    let expected = numbers("output");
    let backend =
        OnnxRuntimeBackend::new(1, None).unwrap_or_else(|e| panic!("{e} (scripts/test.sh sets ORT_DYLIB_PATH)"));
    let network = backend.load_network(&dir.join("model.onnx"), &[k]).unwrap();
    let output = network.run(batch, &input).unwrap();
    assert_eq!(output.data.len(), expected.len());
    let largest = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = output.data.iter().zip(&expected).map(|(&got, want)| (got as f64 - want).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-5 * largest, "max |diff| {worst:e} against the largest output {largest:e}");
}

/// The tiny bundle's frame and clip scores on ONNX Runtime, its optimized graphs kept in `cache`.
fn scores_with_graph_cache(cache: Option<&Path>) -> (Vec<f64>, f64) {
    let (frames, clip, _) = score_sample(EngineOptions {
        backend: BackendKind::OnnxRuntime,
        threads: 2,
        gpu: vsrqa::backend::GpuOptions { cache_dir: cache.map(Path::to_path_buf), ..Default::default() },
        ..EngineOptions::default()
    });
    (frames, clip)
}

/// The cached graphs (`.onnx`) and their digests (`.sha256`) under the engine cache, by name.
fn cached_files(cache: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(cache.join("onnxruntime"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.metadata().unwrap().modified().unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn optimized_graphs_are_cached_and_score_as_the_networks_do() {
    let uncached = scores_with_graph_cache(None);
    let cache = tempfile::tempdir().unwrap();
    // First load: each branch's optimized graph and its digest are written.
    assert_eq!(scores_with_graph_cache(Some(cache.path())), uncached, "scores while writing the graphs");
    let written = cached_files(cache.path());
    let branches = vsrqa::bundle::Bundle::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle"))
        .unwrap()
        .manifest
        .branches
        .len();
    let graphs: Vec<&String> = written.iter().map(|(name, _)| name).filter(|name| name.ends_with(".onnx")).collect();
    assert_eq!(graphs.len(), branches, "{written:?}");
    assert_eq!(written.len(), 2 * branches, "a digest per graph, no temporary left: {written:?}");
    // Second load: from the cache (nothing rewritten), the same scores to the bit.
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(scores_with_graph_cache(Some(cache.path())), uncached, "scores from the cached graphs");
    assert_eq!(cached_files(cache.path()), written, "the cached graphs were used, not written again");
    // A damaged graph is not used: optimized again, replaced, the same scores.
    let damaged = cache.path().join("onnxruntime").join(graphs[0]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&damaged, &bytes).unwrap();
    assert_eq!(scores_with_graph_cache(Some(cache.path())), uncached, "scores with a damaged cached graph");
    let replaced = std::fs::read(&damaged).unwrap();
    assert_ne!(replaced, bytes, "the damaged graph was replaced");
    let after = cached_files(cache.path());
    assert_eq!(after.len(), written.len(), "{after:?}");
}

#[test]
fn a_cache_that_cannot_be_written_only_costs_the_optimization() {
    let uncached = scores_with_graph_cache(None);
    let cache = tempfile::tempdir().unwrap();
    // `onnxruntime` is a file: no graph can be written under it.
    std::fs::write(cache.path().join("onnxruntime"), b"not a directory").unwrap();
    assert_eq!(scores_with_graph_cache(Some(cache.path())), uncached);
    assert_eq!(std::fs::read(cache.path().join("onnxruntime")).unwrap(), b"not a directory");
}
