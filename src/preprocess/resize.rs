//! `resize`: every image to `width x height`.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::resample::{self, Interpolation};
use super::{each, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::FloatImage;
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resize {
    pub height: usize,
    pub width: usize,
    pub interpolation: Interpolation,
    /// Round the result to whole values (the reference converts it back to 8-bit).
    #[serde(default)]
    pub round_to_u8: bool,
}

impl Op for Resize {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        at.dimension("height", self.height)?;
        at.dimension("width", self.width)?;
        resample::check_bytes(at, self.interpolation, self.round_to_u8)?;
        if self.height == 0 || self.width == 0 {
            return Err(at.invalid(format!("has an empty size {}x{}", self.width, self.height)));
        }
        at.fixed = Some((self.height, self.width));
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        each(images, |image| resample::resize(image, self.width, self.height, self.interpolation, self.round_to_u8))
    }

    fn run_on_bytes(&self, frame: &RgbImage) -> Option<FloatImage> {
        resample::resize_bytes(&frame.data, frame.width, frame.height, self.width, self.height, self.interpolation)
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        images
            .into_iter()
            .map(|image| resample::plan_resize(planner, image, self.width, self.height, self.interpolation))
            .collect()
    }
}
