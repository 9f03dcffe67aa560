//! `expand_to_square`: Q-Align's `expand2square`, a square canvas of the long side filled with
//! `fill`, the image centred (offset rounded down).

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{each, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::Result;
use crate::frame::ops::{self, FloatImage};
use crate::frame::RgbImage;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpandToSquare {
    pub fill: [u8; 3],
}

impl Op for ExpandToSquare {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        if !at.rules.per_key_frame {
            return Err(at.invalid("expand_to_square needs scope \"key_frame\""));
        }
        at.fixed = None;
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        each(images, |image| ops::expand_to_square(image, self.fill))
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        Ok(images.into_iter().map(|image| plan_square(planner, image, self.fill)).collect())
    }
}

/// The canvas as a remap: rows and byte columns outside the image read -1, i.e. `fill`.
fn plan_square(planner: &mut dyn Planner, input: PlannedImage, fill: [u8; 3]) -> PlannedImage {
    if input.width == input.height {
        return input;
    }
    let side = input.width.max(input.height);
    let (left, top) = ((side - input.width) / 2, (side - input.height) / 2);
    let inside = |i: usize, start: usize, extent: usize| {
        if i >= start && i < start + extent {
            (i - start) as i32
        } else {
            -1
        }
    };
    let rows = (0..side).map(|y| inside(y, top, input.height)).collect();
    let columns = (0..side * 3).map(|x| inside(x, left * 3, input.width * 3)).collect();
    planner.remap(input, side, side, rows, columns, fill)
}
