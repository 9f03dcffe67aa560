//! The frames a clip branch (FAST-VQA) keeps until it can compute its one feature for the clip.
//!
//! Which frames the branch samples depends on the clip length (docs/bundle.md, "Clip branches").
//! When the caller tells the session the length up front, only the sampled frames are kept and
//! the feature is computed as soon as the last of them arrives; otherwise every frame is kept (as
//! the 8-bit preprocessed image: 150 KB per frame for FAST-VQA's 224x224 fragments) until
//! `finish`.
//!
//! A clip that ends before or after the announced length still gets a feature. Longer: the frames
//! were sampled over the announced length, and later frames do not count. Shorter: each frame the
//! real length samples is replaced by the nearest frame that was kept (the frames sampled for the
//! announced length, and the latest key frame), so that memory stays
//! bounded by the sampled frames.

use std::collections::{BTreeMap, BTreeSet};

use crate::branch::Branch;
use crate::error::{Error, Result};

/// Default of `EngineOptions::max_kept_clip_bytes`: most bytes a clip branch keeps for a session of
/// unknown length (about 28,000 frames of FAST-VQA's 224x224 fragments: 15 minutes at 30 fps).
/// Beyond, `push` fails with a message that says to give the clip length, instead of the process
/// running out of memory.
pub(super) const MAX_KEPT_BYTES: usize = 4 << 30;

pub(super) struct ClipState {
    /// Index of the branch in the engine.
    pub branch: usize,
    /// The clip length, when the caller gave it.
    expected: Option<u64>,
    /// The sampled frame indices, when the clip length is known.
    needed: Option<BTreeSet<u64>>,
    frames: BTreeMap<u64, Vec<u8>>,
    /// With a known length: the latest frame kept that is not sampled, a stand-in should the clip
    /// end early.
    latest: Option<(u64, Vec<u8>)>,
    kept_bytes: usize,
    max_kept_bytes: usize,
    pub feature: Option<Vec<f32>>,
}

impl ClipState {
    pub fn new(branch_index: usize, branch: &Branch, expected_frames: Option<u64>, max_kept_bytes: usize) -> ClipState {
        let needed = expected_frames.and_then(|n| branch.spec.clip.map(|c| c.frame_indices(n).into_iter().collect()));
        ClipState {
            branch: branch_index,
            expected: expected_frames,
            needed,
            frames: BTreeMap::new(),
            latest: None,
            kept_bytes: 0,
            max_kept_bytes,
            feature: None,
        }
    }

    /// Whether a frame of `len` bytes can still be kept; checked before the session changes. With
    /// a known clip length only the sampled frames are kept, which the manifest bounds.
    pub fn check_room(&self, branch: &Branch, len: usize) -> Result<()> {
        if self.expected.is_none() && self.kept_bytes.saturating_add(len) > self.max_kept_bytes {
            return Err(Error::invalid(format!(
                "branch '{}' samples frames over the whole clip and has kept {} frames ({} MB) without knowing the clip \
                 length; give the length when the session starts (Session::set_expected_frames, \
                 VsrqaSessionConfig.expected_frames) so that only the sampled frames are kept",
                branch.spec.name,
                self.frames.len(),
                self.kept_bytes >> 20
            )));
        }
        Ok(())
    }

    /// Whether frame `index` must be kept.
    pub fn wants(&self, index: u64) -> bool {
        self.feature.is_none() && self.needed.as_ref().is_none_or(|needed| needed.contains(&index))
    }

    /// With a known length, whether frame `index` (not sampled) can stand in for sampled frames
    /// past an early end (the session offers its key frames).
    pub fn wants_spare(&self, index: u64) -> bool {
        self.feature.is_none() && self.needed.as_ref().is_some_and(|needed| !needed.contains(&index))
    }

    pub fn keep(&mut self, index: u64, frame: Vec<u8>) {
        if self.needed.as_ref().is_some_and(|needed| !needed.contains(&index)) {
            self.latest = Some((index, frame));
            return;
        }
        self.kept_bytes += frame.len();
        self.frames.insert(index, frame);
    }

    /// The kept frame nearest to `index` (the earlier on a tie).
    fn nearest(&self, index: u64) -> Option<&[u8]> {
        let before = self.frames.range(..=index).next_back().map(|(&i, f)| (i, f));
        let after = self.frames.range(index..).next().map(|(&i, f)| (i, f));
        let latest = self.latest.as_ref().map(|(i, f)| (*i, f));
        [before, after, latest]
            .into_iter()
            .flatten()
            .min_by_key(|&(i, _)| (i.abs_diff(index), i))
            .map(|(_, frame)| frame.as_slice())
    }

    /// Computes the feature once every sampled frame is there: with a known length as soon as the
    /// last sampled frame has been pushed, otherwise (or with `clip_length`) at the end.
    pub fn try_compute(&mut self, branch: &Branch, frames_pushed: u64, clip_length: Option<u64>) -> Result<()> {
        if self.feature.is_some() {
            return Ok(());
        }
        let last_needed = self.needed.as_ref().and_then(|needed| needed.last().copied());
        // (length sampled, whether a sampled frame may be missing and stood in for)
        let (n, early_end) = match (self.expected, clip_length) {
            (Some(n), _) if last_needed.is_none_or(|last| last < frames_pushed) => (n, false),
            (Some(_), Some(n)) => (n, true),
            (None, Some(n)) => (n, false),
            _ => return Ok(()),
        };
        let indices = branch.spec.clip.map(|c| c.frame_indices(n)).unwrap_or_default();
        let frames = indices
            .iter()
            .map(|i| {
                let kept = if early_end { self.nearest(*i) } else { self.frames.get(i).map(Vec::as_slice) };
                kept.ok_or_else(|| {
                    Error::Backend(format!("branch '{}': frame {i} of the clip was not kept", branch.spec.name))
                })
            })
            .collect::<Result<Vec<&[u8]>>>()?;
        self.feature = Some(branch.clip_feature(&frames)?);
        self.frames = BTreeMap::new();
        self.latest = None;
        self.kept_bytes = 0;
        Ok(())
    }
}
