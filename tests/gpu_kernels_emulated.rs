//! The GPU preprocessing kernels (src/gpu/kernels/preprocess.cu) checked against the CPU
//! path without a GPU: the same source is compiled for the CPU (tests/support/cuda_emulation.cpp
//! runs each grid's threads one after another; the kernels are one thread per output element,
//! with no shared memory, so this computes what the GPU computes) and driven through the same
//! plans and executor interface as the CUDA executor.
//!
//! Tolerance: none. The integer resamplers and remaps are bit-exact by construction, the colour
//! conversion adds the CPU path's own float64 tables, and the normalization is the same float32
//! operations in the same order (NVRTC runs with --fmad=false and IEEE division, the emulation
//! with -ffp-contract=off). The bound of 1/255 after normalization scaling is what the
//! GPU run (tests/gpu_cuda.rs, on a machine with a GPU) is held to as well; here every float is
//! compared bit for bit.

use vsrqa::bundle::PreprocessOp;
use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange, RgbImage};
use vsrqa::gpu::kernels;
use vsrqa::gpu::plan::FrameConverter;

#[path = "support/cuda_emulator.rs"]
mod cuda_emulator;
#[path = "support/preprocess_cases.rs"]
mod preprocess_cases;
use cuda_emulator::Emulator;
use preprocess_cases::{assert_bit_identical, rgb_frame};

#[test]
fn parameter_structs_have_the_c_layout() {
    let emulator = Emulator::new();
    let sizes = [
        ("convert_to_rgb8", size_of::<kernels::ConvertParams>()),
        ("resize_opencv_linear", size_of::<kernels::OpencvLinearParams>()),
        ("resize_pil_pass", size_of::<kernels::PilPassParams>()),
        ("remap_rgb8", size_of::<kernels::RemapParams>()),
        ("normalize_chw", size_of::<kernels::NormalizeParams>()),
    ];
    for (kernel, rust) in sizes {
        // SAFETY: `size_t f(void)` functions defined by EMULATE.
        let c = emulator.c_sizeof(kernel);
        assert_eq!(rust, c, "{kernel}'s parameters: Rust {rust} bytes, C {c} bytes");
    }
    assert_eq!(kernels::Kernel::ALL.len(), sizes.len());
}

/// The plan's output on the emulator, or the plan's reason for not covering `ops`.
fn emulated(ops: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<f32>, vsrqa::backend::GpuError> {
    preprocess_cases::run_plan(&mut Emulator::new(), ops, frame)
}

/// Every branch of the tiny bundle (OpenCV linear with a center crop, Pillow bilinear, Pillow
/// bicubic after halves and expand-to-square, LIQE's patches, FAST-VQA's fragments) on frames
/// that are smaller, larger, exactly twice, square, odd-sized and much larger than the inputs.
#[test]
fn emulated_kernels_equal_the_cpu_path_on_every_tiny_branch() {
    let sizes = [(96, 72), (128, 128), (131, 97), (64, 64), (40, 30), (640, 360), (73, 200)];
    preprocess_cases::tiny_branches_on_every_size(&sizes, emulated, assert_bit_identical);
}

/// The full-size networks' op lists (docs/branches.md) at the sizes of real video.
#[test]
fn emulated_kernels_equal_the_cpu_path_at_full_size() {
    let lists = preprocess_cases::full_size_op_lists();
    for (seed, (width, height)) in [(960, 540), (1280, 720)].into_iter().enumerate() {
        let frame = rgb_frame(width, height, 100 + seed as u64);
        for (name, ops) in &lists {
            let cpu = vsrqa::preprocess::run(ops, &frame).unwrap();
            let gpu = emulated(ops, &frame).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_bit_identical(&format!("{name} on {width}x{height}"), &gpu, &cpu);
        }
    }
}

/// Every pixel format, both conversions, both matrices and ranges, odd sizes and padded rows: the
/// conversion kernel equals frame::convert::to_rgb8 byte for byte (10-bit codes with garbage in
/// their unused bits included: the kernel masks and shifts as the CPU path does).
#[test]
fn emulated_conversion_equals_the_cpu_path_for_every_format() {
    let mut emulator = Emulator::new();
    let mut seed = 0;
    for (format, conversion) in preprocess_cases::FORMATS
        .into_iter()
        .flat_map(|format| [ColorConversion::Reference, ColorConversion::Exact].map(|c| (format, c)))
    {
        let mut converter = FrameConverter::new(conversion);
        for size in [(33, 17, 0), (64, 36, 5), (1, 1, 3)] {
            for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709] {
                for range in [ColorRange::Limited, ColorRange::Full] {
                    seed += 1;
                    let (cpu, kernel) = preprocess_cases::converted_both_ways(
                        &mut emulator,
                        &mut converter,
                        format,
                        size,
                        matrix,
                        range,
                        seed,
                    );
                    assert!(
                        kernel == cpu,
                        "{format:?} {conversion:?} {size:?} {matrix:?} {range:?}: the kernel differs from the CPU path"
                    );
                }
            }
        }
    }
}
