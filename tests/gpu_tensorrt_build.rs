//! TensorRT-RTX ahead-of-time engine builds of the fixture networks, on a machine without a GPU
//! with the real library from its PyPI wheel (VSRQA_TEST_TENSORRT_RTX, set by
//! scripts/test.sh) through vsrqa's C++ facade. Built only with the `tensorrt-rtx` feature, which
//! scripts/test.sh enables for this file.
#![cfg(feature = "tensorrt-rtx")]

use std::path::{Path, PathBuf};

use vsrqa::backend::tensorrt::builder::{build_plan, parser_library};
use vsrqa::backend::tensorrt::cache_key::{BuildConfig, ShapeProfile};
use vsrqa::backend::tensorrt::library::{self as tensorrt_library, Flavor, TensorRtLibrary};
use vsrqa::bundle::{Bundle, Precision};
use vsrqa::engine::build_engines::{branch_config, BuildOptions};
use vsrqa_testkit::tiny_bundle;

fn rtx() -> TensorRtLibrary {
    let path = std::env::var_os("VSRQA_TEST_TENSORRT_RTX").expect("VSRQA_TEST_TENSORRT_RTX: run scripts/test.sh");
    tensorrt_library::open(Path::new(&path)).unwrap()
}

/// The tiny bundle's spatial network and its sample shape, from the manifest.
fn spatial() -> (PathBuf, Vec<usize>) {
    let bundle = Bundle::load(tiny_bundle()).unwrap();
    let index = bundle.manifest.branches.iter().position(|b| b.name == "spatial").unwrap();
    (bundle.networks[index].path.clone(), bundle.manifest.branches[index].sample_shape())
}

/// Batches 1 to 4 of one sample shape.
fn config(sample_shape: &[usize]) -> BuildConfig {
    let with_batch = |b: usize| std::iter::once(b).chain(sample_shape.iter().copied()).collect::<Vec<_>>();
    BuildConfig {
        precision: "fp32".into(),
        optimization_level: 0,
        workspace_bytes: 256 << 20,
        profiles: vec![ShapeProfile {
            input: "input".into(),
            min: with_batch(1),
            opt: with_batch(2),
            max: with_batch(4),
        }],
    }
}

/// Builds every network of a bundle with the engine runner's settings; returns the branch names.
fn build_every_network(library: &TensorRtLibrary, dir: &Path) -> Vec<String> {
    let bundle = Bundle::load(dir).unwrap();
    let options = BuildOptions { optimization_level: 0, workspace_bytes: 256 << 20 };
    let mut built = Vec::new();
    for (i, (branch, network)) in bundle.manifest.branches.iter().zip(&bundle.networks).enumerate() {
        // The settings the engine runner and `vsrqa build-engines` use (Q-Align's batch is fixed at 1).
        let plan = build_plan(library, &network.path, &branch_config(&bundle, i, &options))
            .unwrap_or_else(|e| panic!("{}: {e}", branch.name));
        // A serialized engine, not an empty or error buffer: TensorRT's plans are kilobytes at least.
        assert!(plan.len() > 10_000, "{}: {} bytes", branch.name, plan.len());
        built.push(branch.name.clone());
    }
    built
}

/// Builds every network of a converted fixture bundle, after checking each branch's precision.
fn builds_converted_fixture(fixture: &str, precision_of: impl Fn(&str) -> Precision) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(fixture);
    let bundle = Bundle::load(&dir).unwrap();
    for branch in &bundle.manifest.branches {
        assert_eq!(branch.precision, precision_of(&branch.name), "{fixture}: branch '{}'", branch.name);
    }
    assert_eq!(build_every_network(&rtx(), &dir), ["spatial", "slowfast", "qalign", "liqe", "fastvqa"]);
}

#[test]
fn gpu_tensorrt_rtx_builds_the_fp16_networks_ahead_of_time() {
    // tools/export/precision.py's conversion: strongly typed engines in the graphs' precision, the
    // converter's fp32 islands (Resize) and the fp32 network boundary included.
    builds_converted_fixture("tiny_bundle_fp16", |_| Precision::Fp16);
}

#[test]
fn gpu_tensorrt_rtx_builds_the_bf16_networks_ahead_of_time() {
    // The bf16 conversion: bfloat16 arithmetic, Conv and pooling kept fp32 behind casts (their
    // ONNX schemas take bf16 from opset 22 only), the fp32 network boundary.
    builds_converted_fixture("tiny_bundle_bf16", |_| Precision::Bf16);
}

#[test]
fn gpu_tensorrt_rtx_builds_qalign_with_8_bit_weights_ahead_of_time() {
    // Weight-only int8: DequantizeLinear (per output channel) on each linear layer's constant weight.
    builds_converted_fixture("tiny_bundle_qalign_int8", |name| {
        if name == "qalign" {
            Precision::Int8Weights
        } else {
            Precision::Fp32
        }
    });
}

#[test]
fn gpu_tensorrt_rtx_builds_every_fixture_network_without_a_gpu() {
    let library = rtx();
    assert_eq!(library.flavor, Flavor::Rtx);
    assert!(parser_library(&library).is_file(), "{}", parser_library(&library).display());
    let built = build_every_network(&library, &tiny_bundle());
    // Every branch builds, Q-Align too: its export folds the prompt's constant NonZero, an op
    // TensorRT-RTX lacks (tools/vsrqa_ref/onnx_io.py, fold_constant_subgraphs).
    assert_eq!(built, ["spatial", "slowfast", "qalign", "liqe", "fastvqa"]);
    let qalign = std::fs::read(tiny_bundle().join("qalign.onnx")).unwrap();
    assert!(!qalign.windows(b"NonZero".len()).any(|w| w == b"NonZero"), "qalign.onnx still has a NonZero");
}

#[test]
fn gpu_tensorrt_rtx_build_errors_are_clear() {
    let library = rtx();
    let dir = tempfile::tempdir().unwrap();
    let not_onnx = dir.path().join("broken.onnx");
    std::fs::write(&not_onnx, b"this is not an ONNX model").unwrap();
    // (TensorRT-RTX's parser reads these bytes as an empty graph; either way the file is named.)
    let (spatial, shape) = spatial();
    let error = build_plan(&library, &not_onnx, &config(&shape)).unwrap_err().to_string();
    assert!(error.contains("broken.onnx"), "{error}");
    let missing = build_plan(&library, &dir.path().join("missing.onnx"), &config(&shape)).unwrap_err().to_string();
    assert!(missing.contains("missing.onnx"), "{missing}");

    // A profile that contradicts the network's fixed dimensions is refused before building.
    let halved: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if i == 0 { d } else { d / 2 }).collect();
    let error = build_plan(&library, &spatial, &config(&halved)).unwrap_err().to_string();
    assert!(error.contains("fixed dimension"), "{error}");

    let mut fp16 = config(&shape);
    fp16.precision = "fp16".into();
    assert!(build_plan(&library, &spatial, &fp16).unwrap_err().to_string().contains("fp16 ONNX"));

    let mut other = library.clone();
    other.flavor = Flavor::TensorRt;
    let refused = build_plan(&other, &spatial, &config(&shape)).unwrap_err();
    assert!(refused.is_unavailable(), "{refused:?}");
    let refused = refused.to_string();
    assert!(refused.contains("compiled against TensorRT-RTX 1.7.1 headers"), "{refused}");
}

fn has_gpu() -> bool {
    vsrqa::backend::cuda_device::devices().is_ok_and(|devices| !devices.is_empty())
}

/// The runtime side of the facade: a plan built here deserializes where there is a GPU, and fails
/// with TensorRT's reason, not a crash, where there is none (CI).
#[test]
fn gpu_tensorrt_rtx_plans_deserialize_only_with_a_gpu_and_say_why() {
    use vsrqa::backend::tensorrt::runtime::Engine;
    let library = rtx();
    let (spatial, shape) = spatial();
    let plan = build_plan(&library, &spatial, &config(&shape)).unwrap();
    match Engine::deserialize(&library.path, &plan) {
        Ok(engine) => {
            assert!(has_gpu(), "deserialized without a GPU");
            let tensors = engine.tensors();
            assert_eq!(tensors.iter().filter(|t| t.is_input).count(), 1);
            assert_eq!(tensors.iter().filter(|t| !t.is_input).count(), 1);
            assert!(engine.create_context(&[], false).is_ok());
        }
        Err(error) => {
            assert!(!has_gpu(), "a GPU is there but deserializing failed: {error}");
            assert!(error.to_string().contains("TensorRT could not deserialize the engine"), "{error}");
        }
    }
    // Bytes that are not a plan: an error on any machine.
    let error = Engine::deserialize(&library.path, b"not a plan").err().expect("garbage deserialized");
    assert!(matches!(error, vsrqa::backend::GpuError::TensorRt(_)), "{error:?}");
    assert!(error.to_string().contains("deserialize"), "{error}");
}

/// Engines with backend `tensorrt` or `auto`, in a child process that has VSRQA_TENSORRT_LIBRARY
/// (the library is found once per process, so the variable must be there from the start).
#[test]
fn gpu_tensorrt_backend_selection_says_why() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_process_of_the_backend_selection_test", "--nocapture"])
        .env("VSRQA_TENSORRT_LIBRARY", rtx().path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
#[ignore = "runs only as the child process of gpu_tensorrt_backend_selection_says_why"]
fn child_process_of_the_backend_selection_test() {
    use std::sync::{Arc, Mutex};
    use vsrqa::backend::BackendKind;
    use vsrqa::engine::LogLevel;
    let logged = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let logger: vsrqa::engine::Logger =
        Arc::new(move |_: LogLevel, message: &str| sink.lock().unwrap().push(message.to_string()));
    let options = |backend| vsrqa::EngineOptions {
        backend,
        threads: 1,
        logger: Some(logger.clone()),
        ..vsrqa::EngineOptions::default()
    };
    let auto = vsrqa::Engine::new(tiny_bundle(), options(BackendKind::Auto)).unwrap();
    let explicit = vsrqa::Engine::new(tiny_bundle(), options(BackendKind::TensorRt));
    let log = logged.lock().unwrap().join("\n");
    if has_gpu() {
        // With a GPU TensorRT-RTX supports, auto takes it, for every branch.
        let explicit = explicit.unwrap();
        assert_eq!(explicit.backend_name(), "tensorrt");
        assert!(!log.contains("runs on the CPU backend"), "{log}");
        println!("auto chose {} ({log})", auto.backend_name());
    } else {
        // The next fastest: ONNX Runtime where its library loads (scripts/test.sh sets it), else tract.
        // ONNX Runtime where its library loads (ORT_DYLIB_PATH, or where install-deps put it).
        let onnxruntime_loads = vsrqa::backend::availability()
            .iter()
            .any(|(kind, usable)| *kind == BackendKind::OnnxRuntime && usable.is_ok());
        let expected = if onnxruntime_loads { "onnxruntime" } else { "cpu" };
        assert_eq!(auto.backend_name(), expected, "{log}");
        assert!(log.contains("auto: tensorrt not used") && log.contains("NVIDIA driver"), "{log}");
        assert!(log.contains("this build has the TensorRT runner"), "{log}");
        let error = explicit.err().expect("tensorrt without a GPU");
        assert_eq!(error.kind(), vsrqa::ErrorKind::BackendUnavailable, "{error}");
        assert!(error.to_string().contains("NVIDIA driver"), "{error}");
    }
}
