//! Runs a branch's `preprocess` list (docs/bundle.md) on one 8-bit RGB frame.

use crate::bundle::{Interpolation, PreprocessOp};
use crate::error::{Error, Result};
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;
use crate::frame::{opencv_linear, pil_resample};

/// Returns the frame as normalized planar CHW floats. The manifest was validated at load, so
/// the only failure left is a frame too small for a crop.
pub fn run(ops_list: &[PreprocessOp], frame: &RgbImage) -> Result<Vec<f32>> {
    let mut image = FloatImage::from(frame);
    let mut out = Vec::new();
    for op in ops_list {
        match *op {
            PreprocessOp::Resize { height, width, interpolation, round_to_u8 } => {
                image = resize(&image, width, height, interpolation, round_to_u8)?;
            }
            PreprocessOp::ResizeShortSide { size, interpolation, round_to_u8 } => {
                let (width, height) = ops::short_side_size(image.width, image.height, size);
                image = resize(&image, width.max(1), height.max(1), interpolation, round_to_u8)?;
            }
            PreprocessOp::CenterCrop { height, width } => {
                if image.width < width || image.height < height {
                    return Err(Error::unsupported(format!(
                        "a {}x{} frame is {}x{} at this step, too small for a {width}x{height} crop",
                        frame.width, frame.height, image.width, image.height
                    )));
                }
                let top = ops::center_crop_offset(image.height, height);
                let left = ops::center_crop_offset(image.width, width);
                image = ops::crop(&image, left, top, width, height);
            }
            PreprocessOp::Normalize { mean, std } => ops::normalize_into_chw(&image, mean, std, &mut out),
        }
    }
    Ok(out)
}

fn resize(
    image: &FloatImage,
    width: usize,
    height: usize,
    interpolation: Interpolation,
    round_to_u8: bool,
) -> Result<FloatImage> {
    match interpolation {
        Interpolation::Bilinear => return Ok(ops::resize_bilinear(image, width, height, round_to_u8)),
        // The 8-bit resamplers output bytes, so `round_to_u8` changes nothing. Bundle validation
        // puts them before any op that produces fractions; `None` cannot happen for a valid bundle.
        Interpolation::OpencvLinear => opencv_linear::resize(image, width, height),
        Interpolation::PilBilinear => pil_resample::resize(image, width, height, pil_resample::Filter::Bilinear),
        Interpolation::PilBicubic => pil_resample::resize(image, width, height, pil_resample::Filter::Bicubic),
    }
    .ok_or_else(|| Error::unsupported(format!("{interpolation:?} resizes 8-bit images only")))
}
