//! `patch_grid`: LIQE's patch sampling (docs/bundle.md). Every `size x size` window at `stride`,
//! in row-major order over the window grid; of the n windows, the `count` at indices
//! `(n / count) * i`. The image becomes `count` images, and the sample `[count, 3, size, size]`.
//! An image smaller than one patch (where the reference fails) is first enlarged with Pillow's
//! bicubic so that its short side is `size`.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::resample::{self, Interpolation};
use super::{plan_crop, Op, PlannedImage, Planner, PreprocessOp};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PatchGrid {
    pub size: usize,
    pub stride: usize,
    pub count: usize,
}

impl PatchGrid {
    /// The size an image too small for one patch is enlarged to; `None` when it is large enough.
    fn enlarged(&self, width: usize, height: usize) -> Option<(usize, usize)> {
        if width >= self.size && height >= self.size {
            return None;
        }
        let (width, height) = ops::short_side_size(width, height, self.size);
        Some((width.max(self.size), height.max(self.size)))
    }
}

impl Op for PatchGrid {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        at.dimension("size", self.size)?;
        at.dimension("stride", self.stride)?;
        at.image_count("count", self.count)?;
        if self.size == 0 || self.stride == 0 || self.count == 0 {
            return Err(at.invalid("patch_grid needs a positive size, stride and count"));
        }
        if !matches!(at.next(), Some(PreprocessOp::Normalize(_))) {
            return Err(at.invalid("patch_grid must come right before normalize"));
        }
        if !at.rules.per_key_frame {
            return Err(at.invalid("patch_grid needs scope \"key_frame\""));
        }
        at.fixed = Some((self.size, self.size));
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        let mut patches = Vec::with_capacity(images.len() * self.count);
        for image in &images {
            let enlarged = match self.enlarged(image.width, image.height) {
                Some((width, height)) => Some(resample::resize(image, width, height, Interpolation::PilBicubic, false)?),
                None => None,
            };
            let image = enlarged.as_ref().unwrap_or(image);
            for (left, top) in ops::patch_grid_positions(image.width, image.height, self.size, self.stride, self.count) {
                patches.push(ops::crop(image, left, top, self.size, self.size)?);
            }
        }
        Ok(patches)
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        let mut patches = Vec::with_capacity(images.len() * self.count);
        for image in images {
            let image = match self.enlarged(image.width, image.height) {
                Some((width, height)) => {
                    resample::plan_resize(planner, image, width, height, Interpolation::PilBicubic)?
                }
                None => image,
            };
            for (left, top) in ops::patch_grid_positions(image.width, image.height, self.size, self.stride, self.count) {
                patches.push(plan_crop(planner, image, left, top, self.size, self.size));
            }
        }
        Ok(patches)
    }

    fn images_per_image(&self) -> Option<usize> {
        Some(self.count)
    }
}
