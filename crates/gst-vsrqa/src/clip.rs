//! One clip in progress: a non-blocking SDK stream (its own worker thread scores the frames), the
//! times of the frames whose scores are still to come, and the clip's counters. Key-frame scores
//! are posted from the worker as soon as they are known; clip scores by the caller, which owns
//! the clip (the element's streaming thread).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use vsrqa::prelude::*;

use crate::messages::{self, ClipContext, ClipEnd, FrameTimes};

/// Posts a message structure on the element's bus (from any thread).
pub type Post = Arc<dyn Fn(gst::Structure) + Send + Sync>;

/// How the element's clips are scored.
#[derive(Clone, Copy, Debug)]
pub struct ClipOptions {
    pub stream: StreamOptions,
    /// Frames queued for the worker at most.
    pub queue_frames: usize,
    /// Drop a frame from scoring when the queue is full, instead of waiting for room.
    pub leaky: bool,
}

/// The times of frames pushed but not yet passed by a key-frame score, by stream index.
#[derive(Default)]
struct PendingTimes(VecDeque<(u64, FrameTimes)>);

impl PendingTimes {
    /// The times of frame `index`; earlier frames are forgotten (key frames come in order).
    fn take(&mut self, index: u64) -> FrameTimes {
        while let Some(&(front, times)) = self.0.front() {
            if front > index {
                break;
            }
            self.0.pop_front();
            if front == index {
                return times;
            }
        }
        FrameTimes::default()
    }
}

pub struct Clip {
    stream: BackgroundStream,
    ordinal: u32,
    pending: Arc<Mutex<PendingTimes>>,
    /// The first frame's times of each window not yet posted (or of the whole clip).
    window_starts: VecDeque<FrameTimes>,
    window_frames: Option<u64>,
    frames_taken: u64,
    /// Frames left out since the last clip score was posted.
    frames_dropped: u64,
    post: Post,
}

fn lock(pending: &Mutex<PendingTimes>) -> std::sync::MutexGuard<'_, PendingTimes> {
    pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Clip {
    /// Starts clip number `ordinal` of the element.
    pub fn start(engine: &Engine, options: ClipOptions, ordinal: u32, post: Post) -> Result<Clip> {
        let pending = Arc::new(Mutex::new(PendingTimes::default()));
        let mut stream = engine.stream(options.stream)?;
        let (worker_pending, worker_post) = (pending.clone(), post.clone());
        stream.set_score_callback(Box::new(move |score: &FrameScore| {
            let times = lock(&worker_pending).take(score.frame_index);
            worker_post(messages::frame(ordinal, score, times));
        }));
        let when_full = if options.leaky { WhenFull::Refuse } else { WhenFull::Block };
        Ok(Clip {
            stream: BackgroundStream::start(stream, options.queue_frames.max(1), when_full)?,
            ordinal,
            pending,
            window_starts: VecDeque::new(),
            window_frames: options.stream.window_frames,
            frames_taken: 0,
            frames_dropped: 0,
            post,
        })
    }

    /// Queues a frame for scoring: Ok(false) when a leaky clip's queue was full and the frame was
    /// left out. Window scores completed meanwhile are posted.
    pub fn push(&mut self, frame: FrameView<'_>, times: FrameTimes) -> Result<bool> {
        let index = self.frames_taken;
        lock(&self.pending).0.push_back((index, times));
        let pushed = self.stream.push(&Frame::Host(frame), None);
        if !matches!(pushed, Ok(Pushed::Queued)) {
            lock(&self.pending).0.pop_back();
        }
        let taken = match pushed? {
            Pushed::Queued => true,
            Pushed::QueueFull => {
                self.frames_dropped += 1;
                false
            }
        };
        if taken {
            let starts_window = match self.window_frames {
                Some(n) => index.is_multiple_of(n),
                None => index == 0,
            };
            if starts_window {
                self.window_starts.push_back(times);
            }
            self.frames_taken += 1;
        }
        self.post_clips(ClipEnd::Window)?;
        Ok(taken)
    }

    /// Waits for the queued frames, posts the remaining key-frame scores and the last clip score
    /// (the last window's in a windowed stream), marked with why the clip ended.
    pub fn finish(mut self, end: ClipEnd) -> Result<()> {
        self.stream.finish()?;
        self.post_clips(end)
    }

    /// Posts every clip score ready: complete windows as `Window`, any other (the whole clip, or
    /// a last window cut short) as `end`.
    fn post_clips(&mut self, end: ClipEnd) -> Result<()> {
        loop {
            match self.stream.poll_clip()? {
                Polled::Ready(score) => {
                    let complete_window = self.window_frames.is_some_and(|n| score.frames >= n);
                    let end = if complete_window { ClipEnd::Window } else { end };
                    let first = self.window_starts.pop_front().unwrap_or_default();
                    let frames_dropped = std::mem::take(&mut self.frames_dropped);
                    let context = ClipContext { clip: self.ordinal, end, first, frames_dropped };
                    (self.post)(messages::clip(&score, context));
                }
                Polled::Again | Polled::End => return Ok(()),
            }
        }
    }
}
