//! A branch's `preprocess` list (docs/bundle.md), one module per operation. Each module owns
//! everything about its op: the manifest fields, the checks at bundle load (fields, place in the
//! list, the image size it leaves), the CPU code, and the GPU plan (the kernel launches, written
//! against [`Planner`], which the GPU layer implements). Adding an op is a new module here, a
//! variant of [`PreprocessOp`], and its kernel if it needs one the planner does not have.
//!
//! The arithmetic the ops share (the reference's resamplers, crop offsets, fragment tables) lives
//! in `frame`, below this layer, so that the CPU code and the GPU tables compute the same numbers.

mod center_crop;
mod check;
mod expand_to_square;
mod fragments;
mod normalize;
mod patch_grid;
mod resample;
mod resize;
mod resize_short_side;
mod split_halves;

use serde::{Deserialize, Serialize};

use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::FloatImage;
use crate::frame::RgbImage;

pub use center_crop::CenterCrop;
pub(crate) use check::{check_list, InvalidOp, ListRules};
pub use expand_to_square::ExpandToSquare;
pub use fragments::Fragments;
pub use normalize::Normalize;
pub use patch_grid::PatchGrid;
pub use resample::Interpolation;
pub use resize::Resize;
pub use resize_short_side::ResizeShortSide;
pub use split_halves::SplitHalves;

use check::Check;

/// One operation of a branch's `preprocess` list; in JSON, an object whose `"op"` names the
/// variant (`{"op": "center_crop", "height": 384, "width": 384}`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PreprocessOp {
    Resize(Resize),
    ResizeShortSide(ResizeShortSide),
    CenterCrop(CenterCrop),
    PatchGrid(PatchGrid),
    SplitHalves(SplitHalves),
    ExpandToSquare(ExpandToSquare),
    Fragments(Fragments),
    Normalize(Normalize),
}

impl PreprocessOp {
    fn op(&self) -> &dyn Op {
        match self {
            PreprocessOp::Resize(op) => op,
            PreprocessOp::ResizeShortSide(op) => op,
            PreprocessOp::CenterCrop(op) => op,
            PreprocessOp::PatchGrid(op) => op,
            PreprocessOp::SplitHalves(op) => op,
            PreprocessOp::ExpandToSquare(op) => op,
            PreprocessOp::Fragments(op) => op,
            PreprocessOp::Normalize(op) => op,
        }
    }

    /// The number of images the op makes of one (`patch_grid`'s patches, `split_halves`'
    /// halves), when it splits the frame.
    pub fn images_per_image(&self) -> Option<usize> {
        self.op().images_per_image()
    }
}

/// What an op does at each stage. The modules implement it; the list functions below dispatch.
trait Op {
    /// Checks the op's fields and its place in the list at bundle load, and advances the
    /// image state `at` tracks (its size when fixed, whether it still holds bytes).
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp>;

    /// The op on the 0..255 images made of `frame` so far (`frame` is named in errors).
    fn run(&self, images: Vec<FloatImage>, frame: &RgbImage) -> Result<Vec<FloatImage>>;

    /// The op straight on the frame's bytes, when it comes first and has an 8-bit implementation:
    /// the same result as [`run`](Op::run) on the frame as floats, without the conversion.
    fn run_on_bytes(&self, _frame: &RgbImage) -> Option<FloatImage> {
        None
    }

    /// The op's kernel launches on the planned images; `Err` when the kernels do not cover it.
    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError>;

    /// See [`PreprocessOp::images_per_image`].
    fn images_per_image(&self) -> Option<usize> {
        None
    }
}

/// Returns the frame as normalized planar CHW floats (one block per image when `patch_grid`
/// turns the frame into patches). The list was checked at load, so the only failure left is a
/// frame too small for a crop.
pub fn run(ops: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<f32>> {
    let images = geometry(ops, frame)?;
    let mut out = Vec::new();
    normalize(ops, &images, &mut out);
    Ok(out)
}

/// Every op but the final `normalize`: the 0..255 image(s) the network input is made from.
pub fn geometry(ops: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<FloatImage>> {
    // The first op reads the frame's bytes when it can: turning a large frame into floats (and an
    // 8-bit resampler turning them back into bytes) costs more than a downscale itself.
    let (mut images, rest) = match ops.split_first().and_then(|(op, rest)| Some((op.op().run_on_bytes(frame)?, rest))) {
        Some((image, rest)) => (vec![image], rest),
        None => (vec![FloatImage::try_from_rgb(frame)?], ops),
    };
    for op in rest.iter().filter(|op| !matches!(op, PreprocessOp::Normalize(_))) {
        images = op.op().run(images, frame)?;
    }
    Ok(images)
}

/// The list's final `normalize` on images from [`geometry`], appended to `out`.
pub fn normalize(ops: &[PreprocessOp], images: &[FloatImage], out: &mut Vec<f32>) {
    if let Some(PreprocessOp::Normalize(normalize)) = ops.last() {
        normalize.write_chw(images, out);
    }
}

/// An 8-bit RGB image of a GPU plan: intermediate buffer `buffer` (0 is the converted frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlannedImage {
    pub buffer: usize,
    pub width: usize,
    pub height: usize,
}

impl PlannedImage {
    pub fn bytes(&self) -> usize {
        self.width * self.height * 3
    }
}

/// The kernels a GPU plan is made of (gpu/kernels/preprocess.cu); the ops compute the tables.
pub(crate) trait Planner {
    /// OpenCV's INTER_LINEAR resize (`frame::opencv_linear`).
    fn opencv_linear(&mut self, input: PlannedImage, width: usize, height: usize) -> PlannedImage;
    /// Pillow's resize with `filter` (`frame::pil_resample`).
    fn pil(
        &mut self,
        input: PlannedImage,
        width: usize,
        height: usize,
        filter: crate::frame::pil_resample::Filter,
    ) -> PlannedImage;
    /// Output pixel `(x, y)`, byte `c` is input row `rows[y]`, byte column `columns[3x + c]`;
    /// `fill[c]` where either is -1.
    fn remap(
        &mut self,
        input: PlannedImage,
        width: usize,
        height: usize,
        rows: Vec<i32>,
        columns: Vec<i32>,
        fill: [u8; 3],
    ) -> PlannedImage;
    /// Writes `input` normalized, planar, after what the plan wrote so far.
    fn normalize(&mut self, input: PlannedImage, mean: [f32; 3], std: [f32; 3], range: f32);
}

/// Plans `ops` on the frame image `frame`; `with_normalize: false` stops before the final
/// `normalize` (a clip branch keeps its frames as 8-bit images until the clip is sampled).
/// Returns the images the last planned op produced.
pub(crate) fn plan(
    ops: &[PreprocessOp],
    frame: PlannedImage,
    with_normalize: bool,
    planner: &mut dyn Planner,
) -> Result<Vec<PlannedImage>, GpuError> {
    let mut images = vec![frame];
    for op in ops {
        if with_normalize || !matches!(op, PreprocessOp::Normalize(_)) {
            images = op.op().plan(images, planner)?;
        }
    }
    Ok(images)
}

/// A crop as a remap: the rows and byte columns of the window.
fn plan_crop(
    planner: &mut dyn Planner,
    input: PlannedImage,
    left: usize,
    top: usize,
    width: usize,
    height: usize,
) -> PlannedImage {
    let rows = (top..top + height).map(|y| y as i32).collect();
    let columns = (left * 3..(left + width) * 3).map(|x| x as i32).collect();
    planner.remap(input, width, height, rows, columns, [0; 3])
}

/// Applies `op` to each image.
fn each(images: Vec<FloatImage>, op: impl Fn(&FloatImage) -> Result<FloatImage>) -> Result<Vec<FloatImage>> {
    images.iter().map(op).collect()
}
