//! `normalize`: the last op, `(v / 255 - mean) / std` (range 1, torchvision) or
//! `(v - mean) / std` (range 255, FAST-VQA) per channel, written planar (CHW), one image after
//! another: the network's input.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// The pixel range `mean` and `std` refer to: 1 (`(v / 255 - mean) / std`, torchvision) or
    /// 255 (`(v - mean) / std`, FAST-VQA).
    #[serde(default = "unit_range")]
    pub range: f32,
}

fn unit_range() -> f32 {
    1.0
}

impl Normalize {
    /// `images` normalized, planar, appended to `out`.
    pub(super) fn write_chw(&self, images: &[FloatImage], out: &mut Vec<f32>) {
        for image in images {
            ops::normalize_into_chw(image, self.mean, self.std, self.range, out);
        }
    }
}

impl Op for Normalize {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        if self.range != 1.0 && self.range != 255.0 {
            return Err(at.invalid(format!("normalize range must be 1 or 255, not {}", self.range)));
        }
        if at.rules.kept_as_bytes && !at.bytes {
            return Err(at.invalid("a clip branch's image must still be 8-bit before normalize (use round_to_u8)"));
        }
        if !at.is_last() {
            return Err(at.invalid("normalize must be the last op"));
        }
        if self.std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return Err(at.invalid("normalize has a zero or non-finite std"));
        }
        if self.mean.iter().any(|m| !m.is_finite()) {
            return Err(at.invalid("normalize has a non-finite mean"));
        }
        Ok(())
    }

    /// Normalizing ends the list; [`super::normalize`] writes the network input.
    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        Ok(images)
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        for &image in &images {
            planner.normalize(image, self.mean, self.std, self.range);
        }
        Ok(images)
    }
}
