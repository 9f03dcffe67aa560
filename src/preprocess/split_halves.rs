//! `split_halves`: Q-Align's halves (docs/bundle.md), the upper `h / 2` rows and the rest, as
//! two images (PIL `crop((0, 0, w, h // 2))` and `crop((0, h // 2, w, h))`).

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{plan_crop, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitHalves {}

impl Op for SplitHalves {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        if !at.rules.per_key_frame {
            return Err(at.invalid("split_halves needs scope \"key_frame\""));
        }
        at.fixed = None;
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        Ok(images.iter().map(ops::split_halves).collect::<Result<Vec<_>>>()?.concat())
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        Ok(images
            .into_iter()
            .flat_map(|image| {
                let middle = image.height / 2;
                [
                    plan_crop(planner, image, 0, 0, image.width, middle),
                    plan_crop(planner, image, 0, middle, image.width, image.height - middle),
                ]
            })
            .collect())
    }

    fn images_per_image(&self) -> Option<usize> {
        Some(2)
    }
}
