//! `fragments`: FAST-VQA's spatial fragments (docs/bundle.md), a `grid x grid` mosaic of
//! `size x size` cells, one from each cell of the frame; frames smaller than the mosaic are
//! enlarged first. The arithmetic is `frame::fragments`, shared by the CPU code and the GPU tables.

use serde::{Deserialize, Serialize};

use super::check::{Check, InvalidOp};
use super::{each, Op, PlannedImage, Planner};
use crate::backend::GpuError;
use crate::error::{Error, Result};
use crate::frame::ops::FloatImage;
use crate::frame::{fragments, RgbImage};

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fragments {
    pub grid: usize,
    pub size: usize,
}

impl Op for Fragments {
    fn check(&self, at: &mut Check<'_>) -> Result<(), InvalidOp> {
        at.dimension("grid x size", self.grid.saturating_mul(self.size))?;
        if self.grid == 0 || self.size == 0 {
            return Err(at.invalid("fragments needs a positive grid and size"));
        }
        if !at.bytes {
            return Err(at.invalid("fragments needs 8-bit input (an earlier resize left fractions)"));
        }
        let mosaic = self.grid * self.size;
        at.fixed = Some((mosaic, mosaic));
        Ok(())
    }

    fn run(&self, images: Vec<FloatImage>, _frame: &RgbImage) -> Result<Vec<FloatImage>> {
        each(images, |image| {
            fragments::fragments(image, self.grid, self.size)
                .ok_or_else(|| Error::unsupported("fragments cut 8-bit images only"))
        })
    }

    fn run_on_bytes(&self, frame: &RgbImage) -> Option<FloatImage> {
        Some(fragments::fragments_of_bytes(&frame.data, frame.width, frame.height, self.grid, self.size))
    }

    fn plan(&self, images: Vec<PlannedImage>, planner: &mut dyn Planner) -> Result<Vec<PlannedImage>, GpuError> {
        let mosaic = self.grid * self.size;
        images
            .into_iter()
            .map(|input| {
                if input.width < mosaic || input.height < mosaic {
                    return Err(GpuError::Unsupported(format!(
                        "a {}x{} image is smaller than the {mosaic}x{mosaic} fragment mosaic; enlarging it has no GPU kernel",
                        input.width, input.height
                    )));
                }
                let (rows, columns) = fragments::source_tables(
                    input.width,
                    input.height,
                    input.width,
                    input.height,
                    self.grid,
                    self.size,
                );
                let as_i32 = |values: Vec<usize>| values.into_iter().map(|v| v as i32).collect();
                Ok(planner.remap(input, mosaic, mosaic, as_i32(rows), as_i32(columns), [0; 3]))
            })
            .collect()
    }
}
