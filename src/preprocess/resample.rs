//! The resamplers `resize`, `resize_short_side` and `patch_grid`'s enlargement share: the
//! interpolation names, and one resize on the CPU, on bytes, and on the GPU.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::{Error, Result};
use crate::frame::ops::{self, FloatImage};
use crate::frame::{opencv_linear, pil_resample};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Interpolation {
    /// `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`, evaluated exactly.
    Bilinear,
    /// OpenCV `cv2.resize` INTER_LINEAR on 8-bit images (fixed point; the output is 8-bit).
    OpencvLinear,
    /// Pillow's `Image.resize(BILINEAR)` (antialiased on downscale, fixed point, 8-bit output).
    PilBilinear,
    /// Pillow's `Image.resize(BICUBIC)` (antialiased on downscale, fixed point, 8-bit output).
    PilBicubic,
}

impl Interpolation {
    /// Whether the interpolation is defined on 8-bit images only (and produces 8-bit images).
    pub fn needs_bytes(self) -> bool {
        !matches!(self, Interpolation::Bilinear)
    }
}

/// The checks a resize op shares: an 8-bit resampler needs bytes, and the image holds bytes
/// after it when the resampler makes bytes or `round_to_u8` rounds.
pub(super) fn check_bytes(at: &mut Check<'_>, interpolation: Interpolation, round_to_u8: bool) -> Result<(), InvalidOp> {
    if interpolation.needs_bytes() && !at.bytes {
        return Err(at.invalid(format!(
            "uses {} on an image an earlier resize left with fractions: it needs 8-bit input \
             (set round_to_u8 on the earlier resize, or reorder)",
            serde_json::to_string(&interpolation).unwrap_or_default()
        )));
    }
    at.bytes = interpolation.needs_bytes() || round_to_u8;
    Ok(())
}

/// `image` resized to `width x height`.
pub(super) fn resize(
    image: &FloatImage,
    width: usize,
    height: usize,
    interpolation: Interpolation,
    round_to_u8: bool,
) -> Result<FloatImage> {
    if interpolation == Interpolation::Bilinear {
        return Ok(ops::resize_bilinear(image, width, height, round_to_u8));
    }
    // The 8-bit resamplers output bytes, so `round_to_u8` changes nothing. The list's checks put
    // them before any op that produces fractions; `None` cannot happen for a checked list.
    image
        .to_bytes()
        .and_then(|pixels| resize_bytes(&pixels, image.width, image.height, width, height, interpolation))
        .ok_or_else(|| Error::unsupported(format!("{interpolation:?} resizes 8-bit images only")))
}

/// The 8-bit resamplers on packed RGB bytes; `None` for the float-only `Bilinear`.
pub(super) fn resize_bytes(
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

/// The GPU resize: the 8-bit resamplers have kernels, the float one does not.
pub(super) fn plan_resize(
    planner: &mut dyn Planner,
    input: PlannedImage,
    width: usize,
    height: usize,
    interpolation: Interpolation,
) -> Result<PlannedImage, GpuError> {
    let filter = match interpolation {
        Interpolation::OpencvLinear => return Ok(planner.opencv_linear(input, width, height)),
        Interpolation::PilBilinear => pil_resample::Filter::Bilinear,
        Interpolation::PilBicubic => pil_resample::Filter::Bicubic,
        Interpolation::Bilinear => {
            return Err(GpuError::Unsupported("resize with interpolation \"bilinear\" (float) has no GPU kernel".into()))
        }
    };
    Ok(planner.pil(input, width, height, filter))
}
