//! A branch's `preprocess` list (docs/bundle.md) as a sequence of GPU kernel launches for one
//! frame size. Each op plans its own launches (src/preprocess, through [`Planner`]); this module
//! holds the launches, their tables and intermediate images. Every table the kernels apply
//! (resampler taps and weights, crop and fragment source offsets, conversion terms) comes from the
//! CPU path's own functions, so the GPU computes the same numbers; the kernels are in
//! kernels/preprocess.cu.
//!
//! A plan is built once per (branch, frame size) and [`prepare`](PreprocessPlan::prepare)d once
//! per executor (tables uploaded, intermediate images allocated); running it is then only kernel
//! launches, the last of which writes the network's input directly.
//!
//! Op lists whose images stay 8-bit until `normalize` are planned (all five branches of the
//! `lite` and `full` profiles, at any frame size FAST-VQA does not have to enlarge). Others
//! (`resize` with `interpolation: bilinear`, FAST-VQA on frames smaller than its mosaic) return
//! a reason; the caller then preprocesses that branch on the CPU and uploads the result.

use crate::backend::GpuError;
pub use crate::frame::DeviceFrame;
use crate::frame::{convert, opencv_linear, pil_resample, ColorConversion, ColorMatrix, ColorRange};
use crate::preprocess::{self, PlannedImage as Image, Planner, PreprocessOp};

use super::kernels::{
    f64_bytes, i32_bytes, launch, ConvertParams, KernelExecutor, NormalizeParams, OpencvLinearParams, PilPassParams,
    RemapParams,
};

/// One kernel launch with its tables (host copies until prepared).
#[derive(Debug)]
enum Step {
    OpencvLinear {
        input: Image,
        output: Image,
        columns: Vec<i32>,
        rows: Vec<i32>,
        half_by_area: bool,
    },
    PilPass {
        input: Image,
        output: Image,
        first: Vec<i32>,
        count: Vec<i32>,
        weights: Vec<i32>,
        ksize: usize,
        vertical: bool,
        row_offset: usize,
    },
    Remap {
        input: Image,
        output: Image,
        rows: Vec<i32>,
        columns: Vec<i32>,
        fill: [u8; 3],
    },
    Normalize {
        input: Image,
        offset: usize,
        mean: [f32; 3],
        std: [f32; 3],
        range: f32,
    },
}

/// The launches that turn a `width x height` RGB8 frame into a branch's network input.
#[derive(Debug)]
pub struct PreprocessPlan {
    steps: Vec<Step>,
    /// Bytes of each intermediate image (index 0: the frame, supplied by the caller).
    buffers: Vec<usize>,
    /// Floats the plan writes (every image of the frame, normalized, one after another).
    output_floats: usize,
    /// The images the last op produced (before `normalize` for a geometry plan).
    final_images: Vec<Image>,
}

impl PreprocessPlan {
    /// Plans `ops` for frames of `width x height`; `Err` names the op the kernels do not cover.
    pub fn new(ops: &[PreprocessOp], width: usize, height: usize) -> Result<PreprocessPlan, GpuError> {
        Self::build(ops, width, height, true)
    }

    /// Every op but the final `normalize` (a clip branch's frames are kept as 8-bit images until
    /// the clip's segments are sampled): the image is [`PreparedPlan::final_image`].
    pub fn geometry(ops: &[PreprocessOp], width: usize, height: usize) -> Result<PreprocessPlan, GpuError> {
        Self::build(ops, width, height, false)
    }

    fn build(ops: &[PreprocessOp], width: usize, height: usize, normalize: bool) -> Result<PreprocessPlan, GpuError> {
        let mut plan = PreprocessPlan {
            steps: Vec::new(),
            buffers: vec![width * height * 3],
            output_floats: 0,
            final_images: Vec::new(),
        };
        let frame = Image { buffer: 0, width, height };
        let images = preprocess::plan(ops, frame, normalize, &mut plan)?;
        plan.final_images = images;
        Ok(plan)
    }

    /// Floats written into the network input per frame.
    pub fn output_floats(&self) -> usize {
        self.output_floats
    }

    fn image(&mut self, width: usize, height: usize) -> Image {
        self.buffers.push(width * height * 3);
        Image { buffer: self.buffers.len() - 1, width, height }
    }


    /// One of Pillow's passes, with its coefficients.
    fn pil_pass(
        &mut self,
        input: Image,
        output: Image,
        coefficients: &pil_resample::Coefficients,
        vertical: bool,
        row_offset: usize,
    ) {
        let as_i32 = |values: &[usize]| values.iter().map(|&v| v as i32).collect::<Vec<_>>();
        self.steps.push(Step::PilPass {
            input,
            output,
            first: as_i32(&coefficients.first),
            count: as_i32(&coefficients.count),
            weights: coefficients.weights.clone(),
            ksize: coefficients.ksize,
            vertical,
            row_offset,
        });
    }

    /// Uploads the tables and allocates the intermediate images on `executor`.
    pub fn prepare(&self, executor: &mut dyn KernelExecutor) -> Result<PreparedPlan, GpuError> {
        let mut buffers = vec![0u64];
        for &bytes in &self.buffers[1..] {
            buffers.push(executor.alloc(bytes)?);
        }
        let mut launches = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            // Buffer 0, the frame, is filled in by `run`.
            let at = |image: &Image| buffers[image.buffer];
            let kind = match step {
                Step::OpencvLinear { input, output, columns, rows, half_by_area } => {
                    LaunchKind::OpencvLinear(OpencvLinearParams {
                        input: at(input),
                        out: at(output),
                        columns: executor.upload(&i32_bytes(columns))?,
                        rows: executor.upload(&i32_bytes(rows))?,
                        in_width: input.width as u32,
                        width: output.width as u32,
                        height: output.height as u32,
                        half_by_area: u32::from(*half_by_area),
                    })
                }
                Step::PilPass { input, output, first, count, weights, ksize, vertical, row_offset } => {
                    LaunchKind::PilPass(PilPassParams {
                        input: at(input),
                        out: at(output),
                        first: executor.upload(&i32_bytes(first))?,
                        count: executor.upload(&i32_bytes(count))?,
                        weights: executor.upload(&i32_bytes(weights))?,
                        in_width: input.width as u32,
                        width: output.width as u32,
                        height: output.height as u32,
                        ksize: *ksize as u32,
                        vertical: u32::from(*vertical),
                        row_offset: *row_offset as u32,
                    })
                }
                Step::Remap { input, output, rows, columns, fill } => LaunchKind::Remap(RemapParams {
                    input: at(input),
                    out: at(output),
                    rows: executor.upload(&i32_bytes(rows))?,
                    columns: executor.upload(&i32_bytes(columns))?,
                    in_width: input.width as u32,
                    width: output.width as u32,
                    height: output.height as u32,
                    fill: *fill,
                    pad: 0,
                }),
                Step::Normalize { input, offset, mean, std, range } => LaunchKind::Normalize(
                    *offset,
                    NormalizeParams {
                        input: at(input),
                        out: 0,
                        width: input.width as u32,
                        height: input.height as u32,
                        mean: *mean,
                        std: *std,
                        range: *range,
                        pad: 0,
                    },
                ),
            };
            let (input, threads) = match step {
                Step::OpencvLinear { input, output, .. }
                | Step::PilPass { input, output, .. }
                | Step::Remap { input, output, .. } => (input, output.bytes()),
                Step::Normalize { input, .. } => (input, input.bytes()),
            };
            launches.push(Launch { kind, threads: threads as u64, reads_frame: input.buffer == 0 });
        }
        let final_images =
            self.final_images.iter().map(|image| (image.buffer, buffers[image.buffer], image.bytes())).collect();
        Ok(PreparedPlan { launches, output_floats: self.output_floats, final_images })
    }
}

/// The launches, with the tables the ops compute; each method allocates its output image.
impl Planner for PreprocessPlan {
    fn opencv_linear(&mut self, input: Image, width: usize, height: usize) -> Image {
        let output = self.image(width, height);
        let flat = |taps: Vec<opencv_linear::Tap>| -> Vec<i32> {
            taps.iter().flat_map(|t| [t.i0 as i32, t.i1 as i32, t.w0, t.w1]).collect()
        };
        self.steps.push(Step::OpencvLinear {
            input,
            output,
            columns: flat(opencv_linear::taps(input.width, width, true)),
            rows: flat(opencv_linear::taps(input.height, height, false)),
            half_by_area: opencv_linear::is_half_by_area(input.width, input.height, width, height),
        });
        output
    }

    /// Pillow's two passes (each skipped when its size does not change), as pil_resample.rs.
    fn pil(&mut self, input: Image, width: usize, height: usize, filter: pil_resample::Filter) -> Image {
        let rows = pil_resample::Coefficients::new(input.height, height, filter);
        let (first_row, end_row) = rows.source_range();
        let (horizontal, row_offset) = if width == input.width {
            (input, 0)
        } else {
            let columns = pil_resample::Coefficients::new(input.width, width, filter);
            let output = self.image(width, end_row - first_row);
            self.pil_pass(input, output, &columns, false, first_row);
            (output, first_row)
        };
        if height == input.height {
            // Pillow skips the vertical pass; the horizontal pass covered every row.
            return horizontal;
        }
        let output = self.image(width, height);
        self.pil_pass(horizontal, output, &rows, true, row_offset);
        output
    }

    fn remap(
        &mut self,
        input: Image,
        width: usize,
        height: usize,
        rows: Vec<i32>,
        columns: Vec<i32>,
        fill: [u8; 3],
    ) -> Image {
        let output = self.image(width, height);
        self.steps.push(Step::Remap { input, output, rows, columns, fill });
        output
    }


    fn normalize(&mut self, input: Image, mean: [f32; 3], std: [f32; 3], range: f32) {
        self.steps.push(Step::Normalize { input, offset: self.output_floats, mean, std, range });
        self.output_floats += input.bytes();
    }
}

#[derive(Clone, Copy, Debug)]
enum LaunchKind {
    OpencvLinear(OpencvLinearParams),
    PilPass(PilPassParams),
    Remap(RemapParams),
    /// The image's offset in the network input, in floats.
    Normalize(usize, NormalizeParams),
}

#[derive(Clone, Copy, Debug)]
struct Launch {
    kind: LaunchKind,
    threads: u64,
    /// The step reads the frame (buffer 0), whose address changes with every frame.
    reads_frame: bool,
}

/// A plan with its tables and intermediate images on an executor: per frame, only launches.
#[derive(Debug)]
pub struct PreparedPlan {
    launches: Vec<Launch>,
    output_floats: usize,
    /// (buffer index, address, bytes) of the last op's images; buffer 0 is the frame.
    final_images: Vec<(usize, u64, usize)>,
}

impl PreparedPlan {
    /// Floats written at `output` per frame.
    pub fn output_floats(&self) -> usize {
        self.output_floats
    }

    /// Runs the plan on the RGB8 frame at `frame` (`width * height * 3` bytes, as planned),
    /// writing [`output_floats`](Self::output_floats) float32 values at `output`.
    pub fn run(&self, executor: &mut dyn KernelExecutor, frame: u64, output: u64) -> Result<(), GpuError> {
        for l in &self.launches {
            let input = |planned: u64| if l.reads_frame { frame } else { planned };
            match l.kind {
                LaunchKind::OpencvLinear(p) => {
                    launch(executor, l.threads, &OpencvLinearParams { input: input(p.input), ..p })?
                }
                LaunchKind::PilPass(p) => launch(executor, l.threads, &PilPassParams { input: input(p.input), ..p })?,
                LaunchKind::Remap(p) => launch(executor, l.threads, &RemapParams { input: input(p.input), ..p })?,
                LaunchKind::Normalize(offset, p) => launch(
                    executor,
                    l.threads,
                    &NormalizeParams { input: input(p.input), out: output + (offset * size_of::<f32>()) as u64, ..p },
                )?,
            }
        }
        Ok(())
    }

    /// (address, bytes) of the last op's one image after [`run`](Self::run) on `frame`; `None`
    /// when the ops made several images.
    pub fn final_image(&self, frame: u64) -> Option<(u64, usize)> {
        match self.final_images.as_slice() {
            [(0, _, bytes)] => Some((frame, *bytes)),
            [(_, address, bytes)] => Some((*address, *bytes)),
            _ => None,
        }
    }
}

/// The conversion of frames to packed RGB8 on an executor: the tables of one colour matrix (or
/// the reference conversion, which has one), range and bit depth uploaded once.
pub struct FrameConverter {
    conversion: ColorConversion,
    tables: [Option<u64>; 16],
}

impl FrameConverter {
    pub fn new(conversion: ColorConversion) -> FrameConverter {
        FrameConverter { conversion, tables: [None; 16] }
    }

    pub fn conversion(&self) -> ColorConversion {
        self.conversion
    }

    /// Converts `frame` to packed RGB8 at `out` (`width * height * 3` bytes).
    pub fn convert(
        &mut self,
        executor: &mut dyn KernelExecutor,
        frame: &DeviceFrame,
        out: u64,
    ) -> Result<(), GpuError> {
        let descriptor = frame.format.descriptor();
        let (format, bits) = (descriptor.code, descriptor.bits);
        let matrix_slot = match (self.conversion, frame.matrix) {
            (ColorConversion::Reference, _) => 3,
            (ColorConversion::Exact, ColorMatrix::Bt601) => 0,
            (ColorConversion::Exact, ColorMatrix::Bt709) => 1,
            (ColorConversion::Exact, ColorMatrix::Bt2020) => 2,
        };
        let slot = matrix_slot * 4 + usize::from(frame.range == ColorRange::Full) * 2 + usize::from(bits == 10);
        let tables = match self.tables[slot] {
            Some(address) => address,
            None => {
                let address = executor.upload(&f64_bytes(&convert::conversion_tables(
                    self.conversion,
                    frame.matrix,
                    frame.range,
                    bits,
                )))?;
                self.tables[slot] = Some(address);
                address
            }
        };
        let params = ConvertParams {
            planes: frame.planes,
            pitches: frame.pitches.map(|p| p as u64),
            tables,
            out,
            format,
            width: frame.width,
            height: frame.height,
            pad: 0,
        };
        launch(executor, u64::from(frame.width) * u64::from(frame.height), &params)
    }
}
