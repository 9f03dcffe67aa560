//! The checks of a `preprocess` list at bundle load: each op checks its own fields and place;
//! this walks the list and holds what the ops look at (the image size so far, whether the image
//! still holds bytes, the branch's rules).

use super::PreprocessOp;
use crate::frame::MAX_DIMENSION;

/// An op list the manifest cannot use, naming the op.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOp {
    /// Op `index` is wrong in itself or in its place.
    #[error("preprocess[{index}] {message}")]
    Op { index: usize, message: String },
    /// The list as a whole is wrong.
    #[error("{0}")]
    List(String),
}

/// What the branch's scope allows its list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListRules {
    /// Ops that make several images of a frame or depend on its size (`split_halves`,
    /// `expand_to_square`, `patch_grid`) are allowed: the branch runs on key frames.
    pub per_key_frame: bool,
    /// The image must still be 8-bit before `normalize`: the branch keeps every frame until the
    /// clip ends (as bytes, 4x smaller).
    pub kept_as_bytes: bool,
}

/// Upper bound on the images one frame becomes; far above any real bundle, it keeps a damaged
/// manifest from asking for absurd allocations.
const MAX_IMAGES_PER_FRAME: usize = 4096;

/// The state of the walk at one op.
pub(crate) struct Check<'a> {
    ops: &'a [PreprocessOp],
    index: usize,
    pub rules: ListRules,
    /// The image's `(height, width)` after the ops so far, when it does not depend on the frame.
    pub fixed: Option<(usize, usize)>,
    /// Whether the image still holds bytes: 8-bit resamplers must come before any op that
    /// produces fractions.
    pub bytes: bool,
}

impl Check<'_> {
    pub fn invalid(&self, message: impl Into<String>) -> InvalidOp {
        InvalidOp::Op { index: self.index, message: message.into() }
    }

    /// Checks a count or size field against its bound (before any arithmetic on it).
    pub fn bounded(&self, field: &str, value: usize, max: usize) -> Result<(), InvalidOp> {
        if value > max {
            return Err(self.invalid(format!("{field} = {value} is above the limit of {max}")));
        }
        Ok(())
    }

    /// [`bounded`](Self::bounded) by the largest frame side.
    pub fn dimension(&self, field: &str, value: usize) -> Result<(), InvalidOp> {
        self.bounded(field, value, MAX_DIMENSION as usize)
    }

    /// [`bounded`](Self::bounded) by the most images a frame may become.
    pub fn image_count(&self, field: &str, value: usize) -> Result<(), InvalidOp> {
        self.bounded(field, value, MAX_IMAGES_PER_FRAME)
    }

    pub fn next(&self) -> Option<&PreprocessOp> {
        self.ops.get(self.index + 1)
    }

    pub fn is_last(&self) -> bool {
        self.index + 1 == self.ops.len()
    }
}

/// Checks `ops` for a branch whose network takes `(height, width)` images.
pub(crate) fn check_list(ops: &[PreprocessOp], rules: ListRules, (height, width): (usize, usize)) -> Result<(), InvalidOp> {
    let splits = ops.iter().filter(|op| op.images_per_image().is_some());
    if splits.count() > 1 {
        return Err(InvalidOp::List("preprocess may split a frame once (one patch_grid or split_halves)".into()));
    }
    let mut at = Check { ops, index: 0, rules, fixed: None, bytes: true };
    for (index, op) in ops.iter().enumerate() {
        at.index = index;
        op.op().check(&mut at)?;
    }
    if !matches!(ops.last(), Some(PreprocessOp::Normalize(_))) {
        return Err(InvalidOp::List("preprocess must end with a normalize op".into()));
    }
    match at.fixed {
        Some(size) if size == (height, width) => Ok(()),
        Some((h, w)) => Err(InvalidOp::List(format!("preprocess produces {w}x{h} but input is {width}x{height}"))),
        None => Err(InvalidOp::List(
            "the preprocessed size depends on the frame: end the geometric ops with resize or center_crop".into(),
        )),
    }
}
