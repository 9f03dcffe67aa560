//! The frames a clip branch (FAST-VQA) keeps until it can compute its one feature for the clip.
//!
//! Which frames the branch samples depends on the clip length (docs/bundle.md, "Clip branches").
//! When the caller tells the session the length up front, only the sampled frames are kept and
//! the feature is computed as soon as the last of them arrives; otherwise every frame is kept (as
//! the 8-bit preprocessed image: 150 KB per frame for FAST-VQA's 224x224 fragments) until
//! `finish`.

use std::collections::{BTreeMap, BTreeSet};

use crate::branch::Branch;
use crate::error::{Error, Result};

pub(super) struct ClipState {
    /// Index of the branch in the engine.
    pub branch: usize,
    /// The clip length, when the caller gave it.
    expected: Option<u64>,
    /// The sampled frame indices, when the clip length is known.
    needed: Option<BTreeSet<u64>>,
    frames: BTreeMap<u64, Vec<u8>>,
    pub feature: Option<Vec<f32>>,
}

impl ClipState {
    pub fn new(branch_index: usize, branch: &Branch, expected_frames: Option<u64>) -> ClipState {
        let needed = expected_frames.and_then(|n| branch.spec.clip.map(|c| c.frame_indices(n).into_iter().collect()));
        ClipState { branch: branch_index, expected: expected_frames, needed, frames: BTreeMap::new(), feature: None }
    }

    /// Whether frame `index` must be kept.
    pub fn wants(&self, index: u64) -> bool {
        self.feature.is_none() && self.needed.as_ref().is_none_or(|needed| needed.contains(&index))
    }

    pub fn keep(&mut self, index: u64, frame: Vec<u8>) {
        self.frames.insert(index, frame);
    }

    /// Computes the feature once every sampled frame is there: with a known length as soon as the
    /// last sampled frame has been pushed, otherwise (or with `clip_length`) at the end.
    pub fn try_compute(&mut self, branch: &Branch, frames_pushed: u64, clip_length: Option<u64>) -> Result<()> {
        if self.feature.is_some() {
            return Ok(());
        }
        let last_needed = self.needed.as_ref().and_then(|needed| needed.last().copied());
        let n = match (self.expected, clip_length) {
            (Some(n), _) if last_needed.is_none_or(|last| last < frames_pushed) => n,
            (None, Some(n)) => n,
            _ => return Ok(()),
        };
        let indices = branch.spec.clip.map(|c| c.frame_indices(n)).unwrap_or_default();
        let frames = indices
            .iter()
            .map(|i| {
                self.frames.get(i).map(Vec::as_slice).ok_or_else(|| {
                    Error::Backend(format!("branch '{}': frame {i} of the clip was not kept", branch.spec.name))
                })
            })
            .collect::<Result<Vec<&[u8]>>>()?;
        self.feature = Some(branch.clip_feature(&frames)?);
        self.frames = BTreeMap::new();
        Ok(())
    }
}
