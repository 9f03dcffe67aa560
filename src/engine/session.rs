//! One stream of frames: each pushed frame is converted once, fed to the branches that need it,
//! and a key frame's score is queued as soon as every branch has its features (for window
//! branches: once the window's last frame has arrived, or at `finish`; for `reuse_previous`
//! windows also once the key frame's interval is complete, see docs/bundle.md "Windows").

use std::collections::VecDeque;
use std::sync::Arc;

use super::clip::ClipState;
use super::frame_plan::{self, plan_frame, BranchRule, FrameContext, FramePlan, WindowRef};
use super::{Engine, LogLevel, Model};
use crate::bundle::{Padding, PartialInterval, Scope};
use crate::error::{Error, Result};
use crate::frame::{check_clip_size, convert, DeviceFrame, Frame};

/// The score of one key frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameScore {
    /// Index of the key frame in the stream (0-based, in push order).
    pub frame_index: u64,
    /// Ordinal of the key frame among the key frames (0, 1, 2, ...).
    pub key_frame: u32,
    /// The score, with the head's output activation applied (in [0, 1] for sigmoid heads).
    pub score: f64,
}

/// The score of a clip: a whole stream, or one window of a windowed stream.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClipScore {
    /// The clip's score (an ensemble's: its members' mean).
    pub score: f64,
    pub frames: u64,
    /// Key frames that were scored.
    pub key_frames: u32,
    /// Slots the pooling averaged over (`key_frames.count` with padding, else `key_frames`).
    pub pooled_slots: u32,
    /// The clip length announced with [`Session::set_expected_frames`], if any. When it differs
    /// from `frames` the clip branches sampled an approximation (docs/c-api.md, "Clip length").
    pub expected_frames: Option<u64>,
    /// Index in the stream of the clip's first frame: 0, or a window's start in a windowed stream.
    pub first_frame: u64,
    /// Ordinal of the window in a windowed stream (0 otherwise).
    pub window: u32,
    /// An ensemble's members' own clip scores, in the order of [`Engine::members`] (`score` is
    /// their mean); empty for a bundle that is not an ensemble.
    pub member_scores: Vec<f64>,
}

impl ClipScore {
    /// A clip's score with its counts; the rest (expected length, window, members) empty.
    pub fn new(score: f64, frames: u64, key_frames: u32, pooled_slots: u32) -> ClipScore {
        ClipScore {
            score,
            frames,
            key_frames,
            pooled_slots,
            expected_frames: None,
            first_frame: 0,
            window: 0,
            member_scores: Vec::new(),
        }
    }

    /// The spread of an ensemble's members' scores: their standard deviation (population, over
    /// the members run), a cheap estimate of how sure the ensemble is. `None` below two members.
    pub fn member_spread(&self) -> Option<f64> {
        spread(&self.member_scores)
    }

    /// Whether the clip ended before the length it announced.
    pub fn ended_early(&self) -> bool {
        self.expected_frames.is_some_and(|n| self.frames < n)
    }

    /// Whether the clip went on past the length it announced.
    pub fn ended_late(&self) -> bool {
        self.expected_frames.is_some_and(|n| self.frames > n)
    }
}

struct KeyFrame {
    frame_index: u64,
    /// One per branch of the engine.
    slots: Vec<BranchSlot>,
    /// Each model's head output (one model, or one per ensemble member), once scored.
    outputs: Option<Vec<f32>>,
}

impl KeyFrame {
    fn new(frame_index: u64, branches: usize) -> KeyFrame {
        KeyFrame { frame_index, slots: (0..branches).map(|_| BranchSlot::default()).collect(), outputs: None }
    }

    /// Whether every branch's feature is known, so that the key frame can be scored.
    fn is_ready(&self) -> bool {
        self.slots.iter().all(|slot| slot.feature.is_some())
    }

    /// `model`'s head input: its branches' features in manifest order (the key frame is ready).
    fn features_for(&self, model: &Model) -> Vec<f32> {
        model.features(|b| self.slots[b].feature.as_deref().unwrap_or_default())
    }
}

/// One branch's part of a key frame.
#[derive(Default)]
struct BranchSlot {
    /// The branch's feature for this key frame, once known.
    feature: Option<Vec<f32>>,
    /// A window branch: the preprocessed frames of the key frame's own window gathered so far.
    window_frames: Vec<Arc<Vec<f32>>>,
    /// A window branch: the features of the key frame's own window once computed; they become
    /// `feature` when the window rule allows (always, or once the interval is complete).
    window_feature: Option<Vec<f32>>,
}

impl BranchSlot {
    /// Whether the window (of a key frame that owns one) still takes frames.
    fn collects_frames(&self, frames_per_sample: usize) -> bool {
        self.window_feature.is_none() && self.window_frames.len() < frames_per_sample
    }

    /// Adds a frame to the window; true once the window holds `frames_per_sample` frames.
    fn gather(&mut self, frame: Arc<Vec<f32>>, frames_per_sample: usize) -> bool {
        self.window_frames.push(frame);
        self.window_frames.len() == frames_per_sample
    }
}

/// A frame's network inputs: per branch, where the plan asked for one; per clip state that keeps
/// the frame (in clip-state order), its 8-bit image.
struct Preprocessed {
    per_branch: Vec<Option<Arc<Vec<f32>>>>,
    clip_frames: Vec<Vec<u8>>,
}

/// The refusal of a device frame by an engine without a kernel executor.
pub(super) fn device_frames_unsupported() -> Error {
    Error::unsupported(
        "frames in CUDA device memory need a GPU backend (tensorrt) or an engine made with a kernel executor",
    )
}

pub struct Session {
    engine: Engine,
    interval: u64,
    /// `round(fps) == 0`: every frame is a key frame, and `reuse_previous` windows all start at
    /// frame 0 (the reference's chunks for a zero frame rate).
    zero_rounded_fps: bool,
    /// Per branch, what the frame plan needs of it (fixed for the engine, so made once).
    branch_rules: Vec<BranchRule>,
    frames_pushed: u64,
    key_frames: Vec<KeyFrame>,
    /// Index of the first key frame whose score is not yet queued.
    next_to_score: usize,
    ready: VecDeque<FrameScore>,
    /// One per clip branch: the frames it keeps and, once known, its feature.
    clips: Vec<ClipState>,
    /// The clip length the caller announced, if any.
    expected_frames: Option<u64>,
    /// The size of the frames accepted so far (a clip has one, see [`check_clip_size`]).
    frame_size: Option<(u32, u32)>,
    finished: bool,
    /// The error that stopped the session: a backend failure, or a `finish` that failed.
    poisoned: Option<Error>,
}

impl Session {
    /// The engine the session scores with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Frames from one key frame to the next at `fps`: the reference's `int(round(fps))`, rounding
    /// half to even as Python does, at least 1.
    pub fn key_frame_interval(fps: f64) -> u64 {
        (fps.round_ties_even() as u64).max(1)
    }

    pub(super) fn new(engine: Engine, fps: f64) -> Result<Session> {
        if !fps.is_finite() || fps <= 0.0 {
            return Err(Error::invalid(format!("frame rate {fps} must be a positive number")));
        }
        // The reference: `int(round(fps))` (Python rounds half to even); 0 means every frame.
        let rounded = fps.round_ties_even() as u64;
        let clips = Self::clip_states(&engine, None);
        let branch_rules = (engine.inner().branches.iter())
            .map(|branch| BranchRule {
                scope: branch.spec.scope,
                partial_interval: branch.spec.window.map_or(PartialInterval::PadWithLastFrame, |w| w.partial_interval),
            })
            .collect();
        Ok(Session {
            engine,
            interval: Self::key_frame_interval(fps),
            zero_rounded_fps: rounded == 0,
            branch_rules,
            frames_pushed: 0,
            key_frames: Vec::new(),
            next_to_score: 0,
            ready: VecDeque::new(),
            clips,
            expected_frames: None,
            frame_size: None,
            finished: false,
            poisoned: None,
        })
    }

    fn clip_states(engine: &Engine, expected_frames: Option<u64>) -> Vec<ClipState> {
        let branches = &engine.inner().branches;
        (0..branches.len())
            .filter(|&b| branches[b].spec.scope == Scope::Clip)
            .map(|b| ClipState::new(b, &branches[b], expected_frames, engine.inner().max_kept_clip_bytes))
            .collect()
    }

    /// Announces the clip length before the first frame. Clip branches (FAST-VQA) then keep only
    /// the frames they sample and score as soon as the last of those arrives; without it they keep
    /// every frame until `finish`. A clip that turns out shorter or longer still gets a score,
    /// flagged ([`ClipScore::ended_early`], [`ClipScore::ended_late`]) and logged as a warning.
    pub fn set_expected_frames(&mut self, frames: u64) -> Result<()> {
        if self.frames_pushed > 0 {
            return Err(Error::invalid("the clip length must be set before the first frame"));
        }
        if frames == 0 {
            return Err(Error::invalid("a clip has at least one frame"));
        }
        self.expected_frames = Some(frames);
        self.clips = Self::clip_states(&self.engine, Some(frames));
        Ok(())
    }

    pub fn frames_pushed(&self) -> u64 {
        self.frames_pushed
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The error that stopped the session, if one did: a backend failure mid-stream (the session
    /// then refuses further pushes and never finishes) or a failed `finish`. Scores queued before
    /// it stay available.
    pub fn failure(&self) -> Option<&Error> {
        self.poisoned.as_ref()
    }

    /// Adds the next frame: a [`FrameView`](crate::frame::FrameView) in host memory, or a
    /// [`DeviceFrame`] (CUDA device pointers, e.g. from NVDEC: converted and preprocessed on the
    /// GPU, never copied to the host; needs an engine with a kernel executor, the `tensorrt`
    /// backend or `EngineOptions::device_frames`). Work for the frame is done now; scores that
    /// become ready are queued for [`Session::poll`]. A frame that is rejected leaves the session
    /// unchanged, among them a frame whose size differs from the first frame's
    /// ([`check_clip_size`]: finish the session and start a new one).
    pub fn push<'f>(&mut self, frame: impl Into<Frame<'f>>) -> Result<()> {
        let frame = frame.into();
        self.check_usable()?;
        frame.validate()?;
        if matches!(frame, Frame::Device(_)) && self.engine.inner().device_frames.is_none() {
            return Err(device_frames_unsupported());
        }
        check_clip_size(self.frame_size, &frame, self.frames_pushed)?;
        let before = self.frames_pushed;
        let result = self.push_frame(&frame);
        if self.frames_pushed > before {
            self.frame_size.get_or_insert(frame.size());
        }
        result
    }

    /// [`push`](Self::push) of a frame in device memory.
    pub fn push_device(&mut self, frame: &DeviceFrame) -> Result<()> {
        self.push(*frame)
    }

    fn push_frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let index = self.frames_pushed;
        let mut plan = self.plan(index);
        if plan.is_key_frame {
            // Converted anyway: clip branches told the length keep the latest key frame as a
            // stand-in, should the clip end early.
            for (c, clip) in self.clips.iter().enumerate() {
                plan.clip_keeps[c] |= clip.wants_spare(index);
            }
        }
        if plan.is_skipped() {
            self.frames_pushed += 1;
            // Completing an interval can make a computed window final.
            self.resolve_windows(false);
            self.queue_ready_scores();
            return Ok(());
        }
        // Everything that can fail because of the frame happens before the session changes.
        let inputs = self.preprocess(frame, &plan)?;
        self.keep_clip_frames(index, &plan, inputs.clip_frames)?;
        if plan.is_key_frame {
            self.key_frames.push(self.new_key_frame(index));
        }
        self.frames_pushed += 1;

        let result = self.feed(&plan, &inputs.per_branch);
        if let Err(e) = &result {
            self.poisoned = Some(e.clone());
        }
        result
    }

    /// What to do with frame `index`, the next one.
    fn plan(&self, index: u64) -> FramePlan {
        let inner = self.engine.inner();
        let clips_want: Vec<bool> = self.clips.iter().map(|clip| clip.wants(index)).collect();
        plan_frame(&FrameContext {
            index,
            interval: self.interval,
            key_frame_limit: inner.bundle.manifest.key_frames.count.map(|c| c as usize),
            key_frames: self.key_frames.len(),
            zero_rounded_fps: self.zero_rounded_fps,
            branches: &self.branch_rules,
            collecting: &self.collecting_windows(),
            clips_want: &clips_want,
        })
    }

    /// The own windows of the key frames not yet scored that still take frames.
    fn collecting_windows(&self) -> Vec<WindowRef> {
        let branches = &self.engine.inner().branches;
        let mut collecting = Vec::new();
        for (k, key) in self.key_frames.iter().enumerate().skip(self.next_to_score) {
            for (b, branch) in branches.iter().enumerate() {
                if branch.spec.scope == Scope::Window
                    && self.owns_window(k, b)
                    && key.slots[b].collects_frames(branch.frames_per_sample())
                {
                    collecting.push(WindowRef { key_frame: k, branch: b });
                }
            }
        }
        collecting
    }

    /// Converts and preprocesses the frame for the branches and clip states the plan names.
    fn preprocess(&self, frame: &Frame<'_>, plan: &FramePlan) -> Result<Preprocessed> {
        let inner = self.engine.inner();
        let clip_branches: Vec<usize> =
            self.clips.iter().zip(&plan.clip_keeps).filter(|(_, &keeps)| keeps).map(|(clip, _)| clip.branch).collect();
        // An ensemble member's own network takes the input of the branch it stands in for: each
        // input is made once, by the branch that owns it.
        let sources = &inner.preprocess_sources;
        let mut own = vec![false; inner.branches.len()];
        for b in (0..own.len()).filter(|&b| plan.preprocess[b]) {
            own[sources[b]] = true;
        }
        let mut preprocessed = match frame {
            Frame::Host(frame) => {
                let rgb = inner.convert_time.time(|| convert::to_rgb8(frame, inner.color_conversion))?;
                let mut per_branch: Vec<Option<Arc<Vec<f32>>>> = vec![None; inner.branches.len()];
                for (b, branch) in inner.branches.iter().enumerate().filter(|&(b, _)| own[b]) {
                    per_branch[b] = Some(Arc::new(branch.preprocess(&rgb)?));
                }
                let clip_frames =
                    clip_branches.iter().map(|&b| inner.branches[b].clip_frame(&rgb)).collect::<Result<Vec<_>>>()?;
                Preprocessed { per_branch, clip_frames }
            }
            Frame::Device(frame) => {
                let device = inner.device_frames.as_ref().expect("checked by push_device");
                let inputs = device.preprocess(frame, &inner.branches, &own, &clip_branches)?;
                let per_branch = inputs.per_branch.into_iter().map(|input| input.map(Arc::new)).collect();
                Preprocessed { per_branch, clip_frames: inputs.clip_frames }
            }
        };
        for b in (0..own.len()).filter(|&b| plan.preprocess[b] && sources[b] != b) {
            preprocessed.per_branch[b] = preprocessed.per_branch[sources[b]].clone();
        }
        // A branch that only stood in for others does not keep the input it made.
        for b in (0..own.len()).filter(|&b| own[b] && !plan.preprocess[b]) {
            preprocessed.per_branch[b] = None;
        }
        Ok(preprocessed)
    }

    /// Gives each clip state that keeps the frame its image; changes nothing unless all have room.
    fn keep_clip_frames(&mut self, index: u64, plan: &FramePlan, frames: Vec<Vec<u8>>) -> Result<()> {
        let branches = &self.engine.inner().branches;
        let keeping: Vec<usize> = (0..self.clips.len()).filter(|&c| plan.clip_keeps[c]).collect();
        for (&c, frame) in keeping.iter().zip(&frames) {
            self.clips[c].check_room(&branches[self.clips[c].branch], frame.len())?;
        }
        for (c, frame) in keeping.into_iter().zip(frames) {
            self.clips[c].keep(index, frame);
        }
        Ok(())
    }

    /// A key frame at stream index `index`, with the clip features already known.
    fn new_key_frame(&self, index: u64) -> KeyFrame {
        let mut key = KeyFrame::new(index, self.engine.inner().branches.len());
        for clip in &self.clips {
            key.slots[clip.branch].feature = clip.feature.clone();
        }
        key
    }

    /// Runs the key-frame branches on a key frame, adds the frame to its windows (running the
    /// windows it completes), and queues the scores that become ready.
    fn feed(&mut self, plan: &FramePlan, per_branch: &[Option<Arc<Vec<f32>>>]) -> Result<()> {
        let engine = self.engine.clone();
        let inner = engine.inner();
        if plan.is_key_frame {
            let k = self.key_frames.len() - 1;
            for (b, branch) in inner.branches.iter().enumerate() {
                if branch.spec.scope == Scope::KeyFrame {
                    let input = per_branch[b].as_ref().expect("preprocessed above");
                    let mut features = branch.features(1, input)?;
                    self.key_frames[k].slots[b].feature = features.pop();
                }
            }
        }
        for WindowRef { key_frame: k, branch: b } in plan.windows() {
            let frame = per_branch[b].as_ref().expect("preprocessed above").clone();
            if self.key_frames[k].slots[b].gather(frame, inner.branches[b].frames_per_sample()) {
                self.complete_window(k, b)?;
            }
        }
        self.resolve_windows(false);
        self.compute_clip_features(None)?;
        self.queue_ready_scores();
        Ok(())
    }

    /// Computes the clip branches' features that can be computed now (`clip_length`: at `finish`)
    /// and gives them to every key frame.
    fn compute_clip_features(&mut self, clip_length: Option<u64>) -> Result<()> {
        let engine = self.engine.clone();
        for clip in &mut self.clips {
            if clip.feature.is_some() {
                continue;
            }
            clip.try_compute(&engine.inner().branches[clip.branch], self.frames_pushed, clip_length)?;
            if let Some(feature) = &clip.feature {
                for key in &mut self.key_frames[self.next_to_score..] {
                    key.slots[clip.branch].feature = Some(feature.clone());
                }
            }
        }
        Ok(())
    }

    fn partial_interval(&self, b: usize) -> PartialInterval {
        self.branch_rules[b].partial_interval
    }

    /// Whether key frame `k` computes a window of its own for window branch `b`.
    fn owns_window(&self, k: usize, b: usize) -> bool {
        frame_plan::owns_window(k, self.zero_rounded_fps, self.partial_interval(b))
    }

    /// Key frames whose interval (the frames up to the next key frame) is complete.
    fn complete_intervals(&self) -> usize {
        usize::try_from(self.frames_pushed / self.interval).unwrap_or(usize::MAX)
    }

    /// Turns computed windows into key-frame features where the branch's window rule allows it.
    /// `at_finish`: the stream has ended, so key frames with an incomplete interval are settled.
    fn resolve_windows(&mut self, at_finish: bool) {
        let complete = self.complete_intervals();
        for b in 0..self.engine.inner().branches.len() {
            if self.engine.inner().branches[b].spec.scope != Scope::Window {
                continue;
            }
            let reuse = self.partial_interval(b) == PartialInterval::ReusePrevious;
            for k in self.next_to_score..self.key_frames.len() {
                if self.key_frames[k].slots[b].feature.is_some() {
                    continue;
                }
                let source = match (reuse, self.zero_rounded_fps) {
                    (false, _) => Some(k),
                    (true, true) => Some(0),
                    (true, false) if k < complete => Some(k),
                    // No complete interval at all: key frame 0 keeps its own (padded) window.
                    (true, false) if at_finish => Some(complete.max(1) - 1),
                    (true, false) => None,
                };
                let features = source.and_then(|j| self.key_frames[j].slots[b].window_feature.clone());
                self.key_frames[k].slots[b].feature = features;
            }
        }
    }

    /// Whether `finish` must complete key frame `k`'s own window of branch `b` (padding it):
    /// not for windows whose features will not be used.
    fn window_needed_at_finish(&self, k: usize, b: usize) -> bool {
        if !self.owns_window(k, b) || self.key_frames[k].slots[b].window_feature.is_some() {
            return false;
        }
        match self.partial_interval(b) {
            PartialInterval::PadWithLastFrame => true,
            PartialInterval::ReusePrevious => k == 0 || k < self.complete_intervals(),
        }
    }

    /// Runs a window branch once its window is full, and frees the window's frames.
    fn complete_window(&mut self, k: usize, b: usize) -> Result<()> {
        let engine = self.engine.clone();
        let branch = &engine.inner().branches[b];
        let frames = std::mem::take(&mut self.key_frames[k].slots[b].window_frames);
        let views: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let mut sample = Vec::new();
        branch.assemble_sample(&views, &mut sample);
        let mut features = branch.features(1, &sample)?;
        self.key_frames[k].slots[b].window_feature = features.pop();
        Ok(())
    }

    /// Queues, in order, the scores of key frames whose features are all known.
    fn queue_ready_scores(&mut self) {
        let engine = self.engine.clone();
        let inner = engine.inner();
        while let Some(key) = self.key_frames.get_mut(self.next_to_score) {
            if !key.is_ready() {
                break;
            }
            let outputs: Vec<f32> =
                inner.models.iter().map(|model| model.head.frame_output(&key.features_for(model))).collect();
            // An ensemble's key-frame score is its members' mean, as its clip score is.
            let score = mean(inner.models.iter().zip(&outputs).map(|(model, &output)| model.head.frame_score(output)));
            key.outputs = Some(outputs);
            self.ready.push_back(FrameScore {
                frame_index: key.frame_index,
                key_frame: self.next_to_score as u32,
                score,
            });
            self.next_to_score += 1;
        }
    }

    /// The next ready key-frame score, in stream order.
    pub fn poll(&mut self) -> Option<FrameScore> {
        self.ready.pop_front()
    }

    /// Ends the stream: completes open windows by repeating their last frame, queues the
    /// remaining scores and returns the clip score. The stream ends whether or not this succeeds:
    /// further pushes are refused, and after a failure [`Session::failure`] holds the error.
    pub fn finish(&mut self) -> Result<ClipScore> {
        self.check_usable()?;
        let result = if self.frames_pushed == 0 {
            Err(Error::invalid("no frames were pushed: a clip needs at least one frame"))
        } else {
            self.complete_all()
        };
        self.finished = true;
        if let Err(e) = &result {
            self.poisoned = Some(e.clone());
        }
        result
    }

    fn complete_all(&mut self) -> Result<ClipScore> {
        let engine = self.engine.clone();
        let inner = engine.inner();
        for k in self.next_to_score..self.key_frames.len() {
            for (b, branch) in inner.branches.iter().enumerate() {
                if branch.spec.scope != Scope::Window || !self.window_needed_at_finish(k, b) {
                    continue;
                }
                let window = &mut self.key_frames[k].slots[b].window_frames;
                let last = window.last().expect("a key frame's window starts with the key frame").clone();
                window.resize(branch.frames_per_sample(), last);
                self.complete_window(k, b)?;
            }
        }
        self.resolve_windows(true);
        self.compute_clip_features(Some(self.frames_pushed))?;
        self.queue_ready_scores();

        let key_frames = self.key_frames.len() as u32;
        let mut pooled_slots = 0;
        // RQ-VQA's test.py: each model's clip prediction (its head's pooling and activation), then
        // the mean of the predictions.
        let model_scores: Vec<f64> = inner
            .models
            .iter()
            .enumerate()
            .map(|(m, model)| {
                let outputs = self.key_frames.iter().map(|k| k.outputs.as_ref().expect("every key frame scored")[m]);
                let outputs = self.pooled_slots(outputs.collect());
                pooled_slots = outputs.len();
                model.head.clip_score(&outputs)
            })
            .collect();
        let score = mean(model_scores.iter().copied());
        engine.log(
            LogLevel::Debug,
            &format!(
                "clip: {} frames, {key_frames} key frames, pooled over {pooled_slots}: {score:.6}",
                self.frames_pushed,
            ),
        );
        if let Some(expected) = self.expected_frames.filter(|&n| n != self.frames_pushed) {
            let pushed = self.frames_pushed;
            let what = if pushed < expected {
                format!(
                    "ended early at {pushed}: clip branches sampled {pushed} frames, nearest kept frames standing in"
                )
            } else {
                format!("went on to {pushed}: clip branches sampled the first {expected}")
            };
            engine.log(LogLevel::Warning, &format!("the clip was announced with {expected} frames and {what}"));
        }
        Ok(ClipScore {
            score,
            frames: self.frames_pushed,
            key_frames,
            pooled_slots: pooled_slots as u32,
            expected_frames: self.expected_frames,
            first_frame: 0,
            window: 0,
            member_scores: if inner.is_ensemble() { model_scores } else { Vec::new() },
        })
    }

    /// The key-frame values the clip score averages: one per key frame, padded by repeating the
    /// last when the manifest pools a fixed count with `repeat_last`.
    fn pooled_slots<T: Clone>(&self, mut values: Vec<T>) -> Vec<T> {
        let spec = &self.engine.inner().bundle.manifest.key_frames;
        if let (Some(count), Padding::RepeatLast) = (spec.count, spec.pad) {
            let last = values.last().expect("frame 0 is always a key frame").clone();
            values.resize(count as usize, last);
        }
        values
    }

    /// After [`Session::finish`]: the head's inputs the clip score was pooled over, one row of
    /// concatenated branch features per pooled slot (what a feature bank stores for training; an
    /// ensemble's first member's). `None` before the session has finished.
    pub fn pooled_features(&self) -> Option<Vec<Vec<f32>>> {
        if !self.finished {
            return None;
        }
        let model = &self.engine.inner().models[0];
        let rows = self.key_frames.iter().map(|key| key.features_for(model)).collect();
        Some(self.pooled_slots(rows))
    }

    fn check_usable(&self) -> Result<()> {
        if self.finished {
            return Err(Error::SessionFinished);
        }
        if let Some(error) = &self.poisoned {
            return Err(Error::Backend(format!("the session stopped after an earlier error: {error}")));
        }
        Ok(())
    }
}

/// The population standard deviation of `values`; `None` below two.
pub(crate) fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = mean(values.iter().copied());
    Some((values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64).sqrt())
}

/// The mean of `values` (the models' scores: at least one).
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    sum / count as f64
}
