//! The preprocessing kernels through NVRTC and CUDA (feature `cuda`).
//!
//! `nvrtc_*` run everywhere CI runs: NVRTC needs no GPU (scripts/test.sh sets VSRQA_NVRTC_LIBRARY
//! from the `nvidia-cuda-nvrtc` wheel). The `gpu_*` tests need an NVIDIA GPU and are ignored
//! otherwise; run them with
//!     VSRQA_NVRTC_LIBRARY=... cargo test --test gpu_cuda -- --ignored gpu_
//! Tolerance on the GPU: every float is compared bit for bit with the CPU path (as the emulated
//! run of the same source in tests/gpu_kernels_emulated.rs is), and the report also gives the
//! largest difference scaled back to 8-bit levels, which the issue bounds by 1/255.
#![cfg(feature = "cuda")]

use std::process::Command;

use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange, FrameView, PixelFormat};
use vsrqa::gpu::cuda_executor::{compile_preprocess_kernels, CudaExecutor, NVRTC_LIBRARY_VARIABLE};
use vsrqa::gpu::kernels::{Kernel, KernelExecutor};
use vsrqa::gpu::plan::FrameConverter;

#[path = "support/preprocess_cases.rs"]
mod preprocess_cases;

fn require_nvrtc() {
    assert!(
        std::env::var_os(NVRTC_LIBRARY_VARIABLE).is_some(),
        "{NVRTC_LIBRARY_VARIABLE} is not set: run scripts/test.sh, or export \
         {NVRTC_LIBRARY_VARIABLE}=\"$(bash scripts/nvrtc-lib.sh)\""
    );
}

/// The kernels compile for NVRTC's default and for every architecture vsrqa may meet (Turing to
/// Blackwell, Hopper included), and the PTX has each kernel's entry point.
#[test]
fn nvrtc_compiles_the_preprocessing_kernels_for_every_architecture() {
    require_nvrtc();
    for capability in [None, Some((7, 5)), Some((8, 6)), Some((8, 9)), Some((9, 0)), Some((12, 0))] {
        let ptx = compile_preprocess_kernels(capability).unwrap_or_else(|e| panic!("{capability:?}: {e}"));
        let text = ptx.to_src();
        for kernel in Kernel::ALL {
            assert!(text.contains(&format!(".entry {}(", kernel.name())), "{capability:?}: no entry {}", kernel.name());
        }
        if let Some((major, minor)) = capability {
            assert!(text.contains(&format!(".target sm_{major}{minor}")), "{capability:?}");
        }
    }
}

/// A missing NVRTC is a clear error, not a panic (checked in a child process: NVRTC is loaded
/// once per process).
#[test]
fn nvrtc_missing_is_a_clear_error() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_process_without_nvrtc", "--nocapture"])
        .env(NVRTC_LIBRARY_VARIABLE, "/nonexistent/libnvrtc.so.13")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
#[ignore = "runs only as the child process of nvrtc_missing_is_a_clear_error"]
fn child_process_without_nvrtc() {
    let error = compile_preprocess_kernels(None).unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    let error = error.to_string();
    assert!(error.contains(NVRTC_LIBRARY_VARIABLE) && error.contains("/nonexistent/libnvrtc.so.13"), "{error}");
}

fn executor() -> CudaExecutor {
    require_nvrtc();
    let context = cudarc::driver::CudaContext::new(0).expect("an NVIDIA GPU (this test is for machines with one)");
    CudaExecutor::new(context.new_stream().unwrap()).unwrap()
}

/// Bit-identical floats; also prints the largest difference in 8-bit levels for the note.
fn compare(what: &str, gpu: &[f32], cpu: &[f32], std: f32) {
    let levels = gpu.iter().zip(cpu).map(|(g, c)| ((g - c) * std * 255.0).abs()).fold(0f32, f32::max);
    println!("{what}: {} floats, largest difference {levels:e} levels", gpu.len());
    preprocess_cases::assert_bit_identical(what, gpu, cpu);
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_kernels_equal_the_cpu_path_on_every_branch() {
    let mut executor = executor();
    // As on the emulator (tests/gpu_kernels_emulated.rs): only FAST-VQA's enlargement of frames
    // smaller than its mosaic is left to the CPU; any other failure is a defect.
    preprocess_cases::tiny_branches_on_every_size(
        &[(96, 72), (131, 97), (40, 30), (640, 360)],
        |ops, frame| preprocess_cases::run_plan(&mut executor, ops, frame),
        |what, gpu, cpu| compare(what, gpu, cpu, 0.23),
    );
    for (width, height) in [(960, 540), (1920, 1080)] {
        let frame = preprocess_cases::rgb_frame(width, height, 7);
        for (name, ops) in preprocess_cases::full_size_op_lists() {
            let cpu = vsrqa::preprocess::run(&ops, &frame).unwrap();
            let gpu = preprocess_cases::run_plan(&mut executor, &ops, &frame).unwrap();
            compare(&format!("{name} {width}x{height}"), &gpu, &cpu, 0.23);
        }
    }
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_conversion_equals_the_cpu_path_for_every_format() {
    let mut executor = executor();
    for (seed, (format, conversion)) in preprocess_cases::FORMATS
        .into_iter()
        .flat_map(|format| [ColorConversion::Reference, ColorConversion::Exact].map(|c| (format, c)))
        .enumerate()
    {
        let mut converter = FrameConverter::new(conversion);
        for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709] {
            for range in [ColorRange::Limited, ColorRange::Full] {
                let (cpu, kernel) = preprocess_cases::converted_both_ways(
                    &mut executor,
                    &mut converter,
                    format,
                    (1921, 1081, 64),
                    matrix,
                    range,
                    seed as u64,
                );
                assert!(kernel == cpu, "{format:?} {conversion:?} {matrix:?} {range:?}");
            }
        }
    }
}

/// Work goes to the caller's stream: a stream created outside vsrqa, wrapped without being owned,
/// carries the uploads, the launches and the download, and stays usable after the executor is
/// dropped.
#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_work_runs_on_the_callers_stream() {
    require_nvrtc();
    let context = cudarc::driver::CudaContext::new(0).expect("an NVIDIA GPU");
    context.bind_to_thread().unwrap();
    // The caller's stream: created with the driver API, as a host application would.
    let raw = cudarc::driver::result::stream::create(cudarc::driver::result::stream::StreamKind::NonBlocking).unwrap();
    // SAFETY: `raw` belongs to this context and outlives every use of the wrapper below.
    let borrowed = unsafe { context.wrap_borrowed_stream(raw) };
    let frame = preprocess_cases::rgb_frame(320, 240, 11);
    let (name, ops) = preprocess_cases::tiny_branches().remove(0);
    let cpu = vsrqa::preprocess::run(&ops, &frame).unwrap();
    {
        let mut executor = CudaExecutor::new(borrowed).unwrap();
        let gpu = preprocess_cases::run_plan(&mut executor, &ops, &frame).unwrap();
        compare(&format!("{name} on the caller's stream"), &gpu, &cpu, 0.23);
    }
    // SAFETY: the executor and its buffers are gone; the stream is still the caller's to use.
    unsafe {
        cudarc::driver::result::stream::synchronize(raw).unwrap();
        cudarc::driver::result::stream::destroy(raw).unwrap();
    }
}

/// Device frames through a whole session on the GPU: the CUDA executor as the engine's kernel
/// executor (with the CPU backend for the networks), frames uploaded with the driver, scores equal
/// to the same frames pushed from host memory.
#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_device_frames_score_exactly_like_host_frames() {
    require_nvrtc();
    let context = cudarc::driver::CudaContext::new(0).expect("an NVIDIA GPU");
    let stream = context.new_stream().unwrap();
    let factory_stream = stream.clone();
    let factory: vsrqa::gpu::kernels::KernelExecutorFactory = std::sync::Arc::new(move || {
        CudaExecutor::new(factory_stream.clone()).map(|e| Box::new(e) as Box<dyn KernelExecutor>)
    });
    let engine = vsrqa::Engine::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle"),
        vsrqa::EngineOptions {
            backend: vsrqa::backend::BackendKind::Cpu,
            threads: 2,
            device_frames: Some(factory),
            ..vsrqa::EngineOptions::default()
        },
    )
    .unwrap();
    let (width, height) = (112u32, 80u32);
    let frame_bytes = (width * height * 3 / 2) as usize;
    let frames: Vec<Vec<u8>> =
        (0..20).map(|f| (0..frame_bytes).map(|i| ((i * 7 + f * 13) % 251) as u8).collect()).collect();
    let run = |device: bool| {
        let mut session = engine.session(8.0).unwrap();
        let mut kept = Vec::new();
        for frame in &frames {
            if device {
                let on_gpu = stream.clone_htod(frame).unwrap();
                let address = cudarc::driver::DevicePtr::device_ptr(&on_gpu, &stream).0;
                let luma = (width * height) as u64;
                let device_frame = vsrqa::frame::DeviceFrame {
                    format: PixelFormat::I420,
                    width,
                    height,
                    planes: [address, address + luma, address + luma + luma / 4],
                    pitches: [width as usize, width as usize / 2, width as usize / 2],
                    matrix: ColorMatrix::Bt601,
                    range: ColorRange::Limited,
                };
                session.push_device(&device_frame).unwrap();
                kept.push(on_gpu);
            } else {
                session.push(FrameView::packed(PixelFormat::I420, width, height, frame).unwrap()).unwrap();
            }
        }
        session.finish().unwrap().score
    };
    let (host, device) = (run(false), run(true));
    println!("clip score: host frames {host}, device frames {device}");
    assert_eq!(host, device);
}
