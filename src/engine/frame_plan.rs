//! What a session does with its next frame, decided from plain data: whether it is a key frame,
//! which windows it goes to, which branches must preprocess it and which clip states keep it. The
//! session builds the plan, preprocesses what it asks for, then applies it.

use crate::bundle::{PartialInterval, Scope};

/// One key frame's own window of one window branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WindowRef {
    /// Ordinal of the key frame among the session's key frames.
    pub key_frame: usize,
    /// Index of the branch in the engine.
    pub branch: usize,
}

/// What the plan needs to know of a branch.
#[derive(Clone, Copy, Debug)]
pub(super) struct BranchRule {
    pub scope: Scope,
    /// What a window branch's key frame gets when its interval is incomplete.
    pub partial_interval: PartialInterval,
}

/// The session's state as far as the next frame's plan depends on it.
pub(super) struct FrameContext<'a> {
    /// Index of the frame in the stream.
    pub index: u64,
    /// Frames from one key frame to the next (at least 1).
    pub interval: u64,
    /// Most key frames the bundle scores, if it limits them.
    pub key_frame_limit: Option<usize>,
    /// Key frames the session has so far.
    pub key_frames: usize,
    /// `round(fps) == 0` (see [`owns_window`]).
    pub zero_rounded_fps: bool,
    /// One per branch of the engine.
    pub branches: &'a [BranchRule],
    /// The windows of earlier key frames that still collect frames.
    pub collecting: &'a [WindowRef],
    /// One per clip state: whether it wants this frame.
    pub clips_want: &'a [bool],
}

/// What to do with one frame.
#[derive(Debug, PartialEq)]
pub(super) struct FramePlan {
    pub is_key_frame: bool,
    /// Windows of earlier key frames the frame joins.
    pub joins: Vec<WindowRef>,
    /// Windows of the new key frame, which the frame starts (empty unless a key frame).
    pub opens: Vec<WindowRef>,
    /// One per branch: whether the frame must be preprocessed for its network.
    pub preprocess: Vec<bool>,
    /// One per clip state: whether it keeps the frame.
    pub clip_keeps: Vec<bool>,
}

impl FramePlan {
    /// Nothing needs the frame: it only counts.
    pub fn is_skipped(&self) -> bool {
        !self.is_key_frame && self.joins.is_empty() && !self.clip_keeps.contains(&true)
    }

    /// Every window the frame goes to, in the order they are fed: the earlier key frames' first.
    pub fn windows(&self) -> impl Iterator<Item = WindowRef> + '_ {
        self.joins.iter().chain(&self.opens).copied()
    }
}

/// Whether key frame `key_frame` computes a window of its own for a window branch. With
/// `round(fps) == 0` every frame is a key frame and `reuse_previous` windows all start at frame 0
/// (the reference's chunks for a zero frame rate), so only key frame 0 computes one.
pub(super) fn owns_window(key_frame: usize, zero_rounded_fps: bool, partial_interval: PartialInterval) -> bool {
    key_frame == 0 || !(zero_rounded_fps && partial_interval == PartialInterval::ReusePrevious)
}

pub(super) fn plan_frame(context: &FrameContext<'_>) -> FramePlan {
    let is_key_frame = context.index.is_multiple_of(context.interval)
        && context.key_frame_limit.is_none_or(|limit| context.key_frames < limit);
    let joins = context.collecting.to_vec();
    let opens = if is_key_frame {
        let key_frame = context.key_frames;
        let owns = |rule: &BranchRule| owns_window(key_frame, context.zero_rounded_fps, rule.partial_interval);
        (context.branches.iter().enumerate())
            .filter(|(_, rule)| rule.scope == Scope::Window && owns(rule))
            .map(|(branch, _)| WindowRef { key_frame, branch })
            .collect()
    } else {
        Vec::new()
    };
    // A key frame goes to every key-frame and window branch (even a window branch whose key
    // frame reuses another's window); clip branches keep their own 8-bit image instead.
    let preprocess = (context.branches.iter().enumerate())
        .map(|(b, rule)| rule.scope != Scope::Clip && (is_key_frame || joins.iter().any(|w| w.branch == b)))
        .collect();
    FramePlan { is_key_frame, joins, opens, preprocess, clip_keeps: context.clips_want.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: BranchRule = BranchRule { scope: Scope::KeyFrame, partial_interval: PartialInterval::PadWithLastFrame };
    const WINDOW: BranchRule = BranchRule { scope: Scope::Window, partial_interval: PartialInterval::PadWithLastFrame };
    const REUSE: BranchRule = BranchRule { scope: Scope::Window, partial_interval: PartialInterval::ReusePrevious };
    const CLIP: BranchRule = BranchRule { scope: Scope::Clip, partial_interval: PartialInterval::PadWithLastFrame };

    /// A session at frame `index` with a key frame every `interval` and no limit, nothing open.
    fn context(index: u64, interval: u64, key_frames: usize, branches: &[BranchRule]) -> FrameContext<'_> {
        FrameContext {
            index,
            interval,
            key_frame_limit: None,
            key_frames,
            zero_rounded_fps: false,
            branches,
            collecting: &[],
            clips_want: &[],
        }
    }

    fn window(key_frame: usize, branch: usize) -> WindowRef {
        WindowRef { key_frame, branch }
    }

    #[test]
    fn key_frames_come_every_interval() {
        let branches = [KEY];
        let keys: Vec<u64> = (0..10)
            .filter(|&index| plan_frame(&context(index, 4, index.div_ceil(4) as usize, &branches)).is_key_frame)
            .collect();
        assert_eq!(keys, [0, 4, 8]);
    }

    #[test]
    fn a_key_frame_is_preprocessed_for_every_branch_but_clip_branches() {
        let branches = [KEY, WINDOW, CLIP];
        let plan = plan_frame(&FrameContext { clips_want: &[true], ..context(6, 3, 2, &branches) });
        assert!(plan.is_key_frame);
        assert!(!plan.is_skipped());
        assert_eq!(plan.preprocess, [true, true, false]);
        assert_eq!(plan.clip_keeps, [true]);
    }

    #[test]
    fn the_count_limit_stops_key_frames() {
        let branches = [KEY];
        let below = FrameContext { key_frame_limit: Some(3), ..context(4, 2, 2, &branches) };
        assert!(plan_frame(&below).is_key_frame);
        let at = FrameContext { key_frame_limit: Some(3), ..context(6, 2, 3, &branches) };
        let plan = plan_frame(&at);
        assert!(!plan.is_key_frame);
        assert!(plan.opens.is_empty());
        assert_eq!(plan.preprocess, [false]);
        assert!(plan.is_skipped());
    }

    #[test]
    fn a_frame_wanted_by_nothing_is_skipped() {
        let branches = [KEY, WINDOW, CLIP];
        let plan = plan_frame(&FrameContext { clips_want: &[false], ..context(5, 4, 2, &branches) });
        assert!(plan.is_skipped());
        assert_eq!(plan.preprocess, [false, false, false]);
        assert_eq!(plan.windows().count(), 0);
    }

    #[test]
    fn a_frame_between_key_frames_goes_to_the_open_windows_only() {
        let branches = [KEY, WINDOW, WINDOW];
        let collecting = [window(0, 2)];
        let plan = plan_frame(&FrameContext { collecting: &collecting, ..context(1, 4, 1, &branches) });
        assert!(!plan.is_key_frame);
        assert!(!plan.is_skipped());
        assert_eq!(plan.joins, collecting);
        assert!(plan.opens.is_empty());
        assert_eq!(plan.preprocess, [false, false, true]);
    }

    #[test]
    fn a_clip_state_wanting_the_frame_keeps_it_unpreprocessed() {
        let branches = [KEY, CLIP, CLIP];
        let plan = plan_frame(&FrameContext { clips_want: &[false, true], ..context(3, 4, 1, &branches) });
        assert!(!plan.is_key_frame);
        assert!(!plan.is_skipped());
        assert_eq!(plan.clip_keeps, [false, true]);
        assert_eq!(plan.preprocess, [false, false, false]);
    }

    #[test]
    fn a_new_key_frame_opens_its_own_windows_after_the_open_ones() {
        let branches = [KEY, WINDOW, CLIP, REUSE];
        let collecting = [window(1, 1), window(1, 3)];
        let plan = plan_frame(&FrameContext { collecting: &collecting, ..context(4, 2, 2, &branches) });
        assert!(plan.is_key_frame);
        assert_eq!(plan.opens, [window(2, 1), window(2, 3)]);
        let fed: Vec<WindowRef> = plan.windows().collect();
        assert_eq!(fed, [window(1, 1), window(1, 3), window(2, 1), window(2, 3)]);
        assert_eq!(plan.preprocess, [true, true, false, true]);
    }

    #[test]
    fn reuse_previous_at_a_zero_rounded_fps_owns_only_key_frame_0s_window() {
        let branches = [WINDOW, REUSE];
        let zero = |key_frames| FrameContext {
            zero_rounded_fps: true,
            ..context(key_frames as u64, 1, key_frames, &branches)
        };
        assert_eq!(plan_frame(&zero(0)).opens, [window(0, 0), window(0, 1)]);
        let later = plan_frame(&zero(3));
        assert_eq!(later.opens, [window(3, 0)]);
        // Still preprocessed for it, as every key frame is for every window branch.
        assert_eq!(later.preprocess, [true, true]);
        // A rounded fps of at least 1 gives every key frame its own window.
        assert_eq!(plan_frame(&context(3, 1, 3, &branches)).opens, [window(3, 0), window(3, 1)]);
    }

    #[test]
    fn only_reuse_previous_at_a_zero_rounded_fps_shares_a_window() {
        use PartialInterval::{PadWithLastFrame, ReusePrevious};
        assert!(owns_window(0, true, ReusePrevious));
        assert!(!owns_window(1, true, ReusePrevious));
        assert!(owns_window(1, false, ReusePrevious));
        assert!(owns_window(1, true, PadWithLastFrame));
    }
}
