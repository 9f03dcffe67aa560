//! `resize_short_side`: every image scaled so that its short side is `size`, the long side
//! truncated as the reference computes it.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::resample::{self, Interpolation};
use super::{each, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResizeShortSide {
    pub size: usize,
    pub interpolation: Interpolation,
    /// Round the result to whole values (the reference converts it back to 8-bit).
    #[serde(default)]
    pub round_to_u8: bool,
}

impl ResizeShortSide {
    /// The `(width, height)` an image of `width x height` is resized to (never 0).
    fn target(&self, width: usize, height: usize) -> (usize, usize) {
        let (width, height) = ops::short_side_size(width, height, self.size);
        (width.max(1), height.max(1))
    }
}

impl Op for ResizeShortSide {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        at.dimension("size", self.size)?;
        resample::check_bytes(at, self.interpolation, self.round_to_u8)?;
        if self.size == 0 {
            return Err(at.invalid("resizes the short side to 0"));
        }
        at.fixed = None;
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        each(images, |image| {
            let (width, height) = self.target(image.width, image.height);
            resample::resize(image, width, height, self.interpolation, self.round_to_u8)
        })
    }

    fn run_on_bytes(&self, frame: &RgbImage) -> Option<FloatImage> {
        let (width, height) = self.target(frame.width, frame.height);
        resample::resize_bytes(&frame.data, frame.width, frame.height, width, height, self.interpolation)
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        images
            .into_iter()
            .map(|image| {
                let (width, height) = self.target(image.width, image.height);
                resample::plan_resize(planner, image, width, height, self.interpolation)
            })
            .collect()
    }
}
