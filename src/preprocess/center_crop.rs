//! `center_crop`: the centred `width x height` window of every image (offsets rounded as
//! Python's `round`, as torchvision's).

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{each, plan_crop, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::{Error, Result};
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CenterCrop {
    pub height: usize,
    pub width: usize,
}

impl CenterCrop {
    fn too_small(&self, width: usize, height: usize) -> bool {
        width < self.width || height < self.height
    }
}

impl Op for CenterCrop {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        at.dimension("height", self.height)?;
        at.dimension("width", self.width)?;
        if self.height == 0 || self.width == 0 {
            return Err(at.invalid(format!("has an empty size {}x{}", self.width, self.height)));
        }
        if let Some((h, w)) = at.fixed {
            if self.too_small(w, h) {
                return Err(at.invalid(format!("crops {}x{} out of a {w}x{h} image", self.width, self.height)));
            }
        }
        at.fixed = Some((self.height, self.width));
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, frame: &RgbImage) -> Result<Vec<FloatImage>> {
        let (width, height) = (self.width, self.height);
        each(images, |image| {
            if self.too_small(image.width, image.height) {
                return Err(Error::unsupported(format!(
                    "a {}x{} frame is {}x{} at this step, too small for a {width}x{height} crop",
                    frame.width, frame.height, image.width, image.height
                )));
            }
            let top = ops::center_crop_offset(image.height, height);
            let left = ops::center_crop_offset(image.width, width);
            ops::crop(image, left, top, width, height)
        })
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        let (width, height) = (self.width, self.height);
        images
            .into_iter()
            .map(|image| {
                if self.too_small(image.width, image.height) {
                    return Err(GpuError::Unsupported(format!(
                        "a {}x{} image is too small for a {width}x{height} crop",
                        image.width, image.height
                    )));
                }
                let left = ops::center_crop_offset(image.width, width);
                let top = ops::center_crop_offset(image.height, height);
                Ok(plan_crop(planner, image, left, top, width, height))
            })
            .collect()
    }
}
