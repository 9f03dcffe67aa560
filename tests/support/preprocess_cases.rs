//! Frames and op lists shared by the kernel tests (tests/gpu_kernels_emulated.rs on the CPU,
//! tests/gpu_cuda.rs on a GPU) and the parity tests (the full-size op lists), and running a plan
//! on any executor.
// Shared by several test binaries, each of which uses a part.
#![allow(dead_code)]

use std::path::Path;

use rand::{RngExt, SeedableRng};
use vsrqa::bundle::{
    Bundle, CenterCrop, ExpandToSquare, Fragments, Interpolation, Normalize, PatchGrid, PreprocessOp, Resize,
    ResizeShortSide, SplitHalves,
};
use vsrqa::frame::{convert, ColorMatrix, ColorRange, DeviceFrame, FrameView, PixelFormat, RgbImage};
use vsrqa::gpu::kernels::KernelExecutor;
use vsrqa::gpu::plan::{FrameConverter, PreprocessPlan};

/// Every pixel format the C API takes.
pub const FORMATS: [PixelFormat; PixelFormat::ALL.len()] = PixelFormat::ALL;

/// A frame of arbitrary codes (`yuv_or_rgb_frame`) converted to RGB8 by the CPU path and by the
/// conversion kernel on `executor`: (CPU path, kernel).
#[allow(clippy::too_many_arguments)]
pub fn converted_both_ways(
    executor: &mut dyn KernelExecutor,
    converter: &mut FrameConverter,
    format: PixelFormat,
    (width, height, pad): (usize, usize, usize),
    matrix: ColorMatrix,
    range: ColorRange,
    seed: u64,
) -> (Vec<u8>, Vec<u8>) {
    let (planes, pitches) = yuv_or_rgb_frame(format, width, height, pad, seed);
    let plane = |i: usize| planes.get(i).map_or(&[][..], Vec::as_slice);
    let (w, h) = (width as u32, height as u32);
    let view =
        FrameView { format, width: w, height: h, planes: [plane(0), plane(1), plane(2)], pitches, matrix, range };
    let cpu = convert::to_rgb8(&view, converter.conversion()).unwrap().data;
    let mut addresses = [0u64; 3];
    for (address, plane) in addresses.iter_mut().zip(&planes) {
        *address = executor.upload(plane).unwrap();
    }
    let frame = DeviceFrame { format, width: w, height: h, planes: addresses, pitches, matrix, range };
    let out = executor.alloc(width * height * 3).unwrap();
    converter.convert(executor, &frame, out).unwrap();
    (cpu, executor.download(out, width * height * 3).unwrap())
}

/// A frame of noise with smooth structure (resamplers see both edges and flat areas).
pub fn rgb_frame(width: usize, height: usize, seed: u64) -> RgbImage {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let data = (0..width * height * 3)
        .map(|i| {
            let (x, y, c) = ((i / 3) % width, i / 3 / width, i % 3);
            let smooth = 128.0 + 100.0 * ((x as f64 * 0.13 + c as f64).sin() * (y as f64 * 0.07).cos());
            (smooth + rng.random_range(-30.0..30.0)).clamp(0.0, 255.0) as u8
        })
        .collect();
    RgbImage { width, height, data }
}

pub fn assert_bit_identical(what: &str, gpu: &[f32], cpu: &[f32]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    if let Some(i) = gpu.iter().zip(cpu).position(|(g, c)| g.to_bits() != c.to_bits()) {
        panic!("{what}: first difference at float {i}: kernels {}, CPU path {}", gpu[i], cpu[i]);
    }
}

pub fn tiny_branches() -> Vec<(String, Vec<PreprocessOp>)> {
    let bundle = Bundle::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle")).unwrap();
    bundle.manifest.branches.iter().map(|b| (b.name.clone(), b.preprocess.clone())).collect()
}

/// The full-size op list of the branch `name`.
pub fn full_size_ops(name: &str) -> Vec<PreprocessOp> {
    full_size_op_lists().into_iter().find(|(branch, _)| *branch == name).expect("a full-size branch").1
}

/// The full-size networks' op lists (docs/branches.md).
// CLIP's constants as the reference writes them (they round to the same f32).
#[allow(clippy::excessive_precision)]
pub fn full_size_op_lists() -> Vec<(&'static str, Vec<PreprocessOp>)> {
    let imagenet =
        PreprocessOp::Normalize(Normalize { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], range: 1.0 });
    let clip = PreprocessOp::Normalize(Normalize {
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
        range: 1.0,
    });
    vec![
        (
            "spatial",
            vec![
                PreprocessOp::ResizeShortSide(ResizeShortSide {
                    size: 384,
                    interpolation: Interpolation::OpencvLinear,
                    round_to_u8: false,
                }),
                PreprocessOp::CenterCrop(CenterCrop { height: 384, width: 384 }),
                imagenet,
            ],
        ),
        (
            "slowfast",
            vec![
                PreprocessOp::Resize(Resize {
                    height: 224,
                    width: 224,
                    interpolation: Interpolation::PilBilinear,
                    round_to_u8: false,
                }),
                PreprocessOp::Normalize(Normalize { mean: [0.45; 3], std: [0.225; 3], range: 1.0 }),
            ],
        ),
        ("liqe", vec![PreprocessOp::PatchGrid(PatchGrid { size: 224, stride: 32, count: 15 }), clip.clone()]),
        (
            "fastvqa",
            vec![
                PreprocessOp::Fragments(Fragments { grid: 7, size: 32 }),
                PreprocessOp::Normalize(Normalize {
                    mean: [123.675, 116.28, 103.53],
                    std: [58.395, 57.12, 57.375],
                    range: 255.0,
                }),
            ],
        ),
        (
            "qalign",
            vec![
                PreprocessOp::SplitHalves(SplitHalves {}),
                PreprocessOp::ExpandToSquare(ExpandToSquare { fill: [122, 116, 104] }),
                PreprocessOp::Resize(Resize {
                    height: 448,
                    width: 448,
                    interpolation: Interpolation::PilBicubic,
                    round_to_u8: false,
                }),
                clip,
            ],
        ),
    ]
}

/// A frame of `format` holding arbitrary codes, with `pad` extra bytes per row.
pub fn yuv_or_rgb_frame(
    format: PixelFormat,
    width: usize,
    height: usize,
    pad: usize,
    seed: u64,
) -> (Vec<Vec<u8>>, [usize; 3]) {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut planes = Vec::new();
    let mut pitches = [0; 3];
    for (i, pitch) in pitches.iter_mut().enumerate().take(format.plane_count()) {
        let (row, rows) = format.plane_extent(i, width, height);
        *pitch = row + pad;
        planes.push((0..*pitch * rows).map(|_| rng.random_range(0..=255u8)).collect());
    }
    (planes, pitches)
}

/// Runs `ops` planned for `frame` on `executor`. `Err` is the plan's reason for not covering
/// `ops`.
pub fn run_plan(
    executor: &mut dyn KernelExecutor,
    ops: &[PreprocessOp],
    frame: &RgbImage,
) -> Result<Vec<f32>, vsrqa::backend::GpuError> {
    let plan = PreprocessPlan::new(ops, frame.width, frame.height)?;
    let prepared = plan.prepare(executor)?;
    let input = executor.upload(&frame.data)?;
    let output = executor.alloc(prepared.output_floats() * 4)?;
    prepared.run(executor, input, output)?;
    Ok(executor
        .download(output, prepared.output_floats() * 4)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect())
}

/// Every tiny branch on frames of each size, through `run` (a plan on some executor; `Err` is the
/// plan's reason for not covering the ops), each output handed to `check(what, gpu, cpu)` with
/// the CPU path's. Only FAST-VQA's enlargement of frames smaller than its mosaic may be left to
/// the CPU: any other refusal fails, and so does a count of plans that ran short of the rest.
pub fn tiny_branches_on_every_size(
    sizes: &[(usize, usize)],
    mut run: impl FnMut(&[PreprocessOp], &RgbImage) -> Result<Vec<f32>, vsrqa::backend::GpuError>,
    mut check: impl FnMut(&str, &[f32], &[f32]),
) {
    let mut planned = 0;
    for (seed, &(width, height)) in sizes.iter().enumerate() {
        let frame = rgb_frame(width, height, seed as u64);
        for (name, ops) in tiny_branches() {
            let cpu = vsrqa::preprocess::run(&ops, &frame).unwrap();
            match run(&ops, &frame) {
                Ok(gpu) => {
                    check(&format!("{name} on {width}x{height}"), &gpu, &cpu);
                    planned += 1;
                }
                Err(reason) => assert!(
                    name == "fastvqa" && (width < 64 || height < 64) && reason.to_string().contains("mosaic"),
                    "{name} on {width}x{height} not planned: {reason}"
                ),
            }
        }
    }
    let smaller_than_the_mosaic = sizes.iter().filter(|&&(w, h)| w < 64 || h < 64).count();
    assert_eq!(planned, sizes.len() * tiny_branches().len() - smaller_than_the_mosaic);
}
