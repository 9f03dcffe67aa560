//! Runs a branch's `preprocess` list (docs/bundle.md) on one 8-bit RGB frame.

use crate::bundle::{Interpolation, PreprocessOp};
use crate::error::{Error, Result};
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;
use crate::frame::{fragments, opencv_linear, pil_resample};

/// Returns the frame as normalized planar CHW floats (one block per image when `patch_grid`
/// turns the frame into patches). The manifest was validated at load, so the only failure left
/// is a frame too small for a crop.
pub fn run(ops_list: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<f32>> {
    let images = geometry(ops_list, frame)?;
    let mut out = Vec::new();
    normalize(ops_list, &images, &mut out);
    Ok(out)
}

/// Every op but the final `normalize`: the 0..255 image(s) the network input is made from.
pub fn geometry(ops_list: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<FloatImage>> {
    // The first op reads the frame's bytes when it can: turning a large frame into floats (and an
    // 8-bit resampler turning them back into bytes) costs more than a downscale itself.
    let (mut images, rest) = match ops_list.split_first().and_then(|(op, rest)| Some((on_bytes(op, frame)?, rest))) {
        Some((image, rest)) => (vec![image], rest),
        None => (vec![FloatImage::try_from_rgb(frame)?], ops_list),
    };
    for op in rest {
        match *op {
            PreprocessOp::Resize { height, width, interpolation, round_to_u8 } => {
                images = each(images, |image| resize(image, width, height, interpolation, round_to_u8))?;
            }
            PreprocessOp::ResizeShortSide { size, interpolation, round_to_u8 } => {
                images = each(images, |image| {
                    let (width, height) = ops::short_side_size(image.width, image.height, size);
                    resize(image, width.max(1), height.max(1), interpolation, round_to_u8)
                })?;
            }
            PreprocessOp::CenterCrop { height, width } => {
                images = each(images, |image| {
                    if image.width < width || image.height < height {
                        return Err(Error::unsupported(format!(
                            "a {}x{} frame is {}x{} at this step, too small for a {width}x{height} crop",
                            frame.width, frame.height, image.width, image.height
                        )));
                    }
                    let top = ops::center_crop_offset(image.height, height);
                    let left = ops::center_crop_offset(image.width, width);
                    ops::crop(image, left, top, width, height)
                })?;
            }
            PreprocessOp::PatchGrid { size, stride, count } => {
                images = images
                    .iter()
                    .map(|image| patches(image, size, stride, count))
                    .collect::<Result<Vec<_>>>()?
                    .concat();
            }
            PreprocessOp::SplitHalves => {
                images = images.iter().map(ops::split_halves).collect::<Result<Vec<_>>>()?.concat();
            }
            PreprocessOp::ExpandToSquare { fill } => {
                images = each(images, |image| ops::expand_to_square(image, fill))?;
            }
            PreprocessOp::Fragments { grid, size } => {
                images = each(images, |image| {
                    fragments::fragments(image, grid, size)
                        .ok_or_else(|| Error::unsupported("fragments cut 8-bit images only"))
                })?;
            }
            PreprocessOp::Normalize { .. } => {}
        }
    }
    Ok(images)
}

/// The final `normalize` of the op list on images from [`geometry`], appended to `out`.
pub fn normalize(ops_list: &[PreprocessOp], images: &[FloatImage], out: &mut Vec<f32>) {
    if let Some(&PreprocessOp::Normalize { mean, std, range }) = ops_list.last() {
        for image in images {
            ops::normalize_into_chw(image, mean, std, range, out);
        }
    }
}

/// `op` applied straight to the frame's bytes, where it has an 8-bit implementation; the same
/// result as on the frame as floats.
fn on_bytes(op: &PreprocessOp, frame: &RgbImage) -> Option<FloatImage> {
    let (width, height, interpolation) = match *op {
        PreprocessOp::Resize { height, width, interpolation, .. } => (width, height, interpolation),
        PreprocessOp::ResizeShortSide { size, interpolation, .. } => {
            let (width, height) = ops::short_side_size(frame.width, frame.height, size);
            (width.max(1), height.max(1), interpolation)
        }
        PreprocessOp::Fragments { grid, size } => {
            return Some(fragments::fragments_of_bytes(&frame.data, frame.width, frame.height, grid, size))
        }
        _ => return None,
    };
    resize_8bit(&frame.data, frame.width, frame.height, width, height, interpolation)
}

/// The 8-bit resamplers on packed RGB bytes; `None` for the float-only `Bilinear`.
fn resize_8bit(
    pixels: &[u8],
    in_width: usize,
    in_height: usize,
    width: usize,
    height: usize,
    interpolation: Interpolation,
) -> Option<FloatImage> {
    let pil = |filter| pil_resample::resize_bytes(pixels, in_width, in_height, width, height, filter);
    match interpolation {
        Interpolation::Bilinear => None,
        Interpolation::OpencvLinear => Some(opencv_linear::resize_bytes(pixels, in_width, in_height, width, height)),
        Interpolation::PilBilinear => Some(pil(pil_resample::Filter::Bilinear)),
        Interpolation::PilBicubic => Some(pil(pil_resample::Filter::Bicubic)),
    }
}

fn each(images: Vec<FloatImage>, op: impl Fn(&FloatImage) -> Result<FloatImage>) -> Result<Vec<FloatImage>> {
    images.iter().map(op).collect()
}

/// The reference's patches. A frame smaller than one patch (where the reference fails) is first
/// enlarged with Pillow's bicubic so that its short side is `size` (docs/bundle.md).
fn patches(image: &FloatImage, size: usize, stride: usize, count: usize) -> Result<Vec<FloatImage>> {
    let enlarged;
    let image = if image.width < size || image.height < size {
        let (width, height) = ops::short_side_size(image.width, image.height, size);
        enlarged = resize(image, width.max(size), height.max(size), Interpolation::PilBicubic, false)?;
        &enlarged
    } else {
        image
    };
    ops::patch_grid_positions(image.width, image.height, size, stride, count)
        .into_iter()
        .map(|(left, top)| ops::crop(image, left, top, size, size))
        .collect()
}

fn resize(
    image: &FloatImage,
    width: usize,
    height: usize,
    interpolation: Interpolation,
    round_to_u8: bool,
) -> Result<FloatImage> {
    if interpolation == Interpolation::Bilinear {
        return Ok(ops::resize_bilinear(image, width, height, round_to_u8));
    }
    // The 8-bit resamplers output bytes, so `round_to_u8` changes nothing. Bundle validation puts
    // them before any op that produces fractions; `None` cannot happen for a valid bundle.
    image
        .to_bytes()
        .and_then(|pixels| resize_8bit(&pixels, image.width, image.height, width, height, interpolation))
        .ok_or_else(|| Error::unsupported(format!("{interpolation:?} resizes 8-bit images only")))
}
