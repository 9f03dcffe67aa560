//! [`Stream`]: a session as a long-running host drives it. One clip for the whole stream, or a
//! clip per window of `window_frames` frames (each window scored as the reference scores a clip,
//! in memory that does not grow with the stream); scores queued for polling or handed to a
//! callback. The C API's sessions and the non-blocking worker run on it.

use std::collections::VecDeque;

use super::session::{ClipScore, FrameScore, Session};
use super::Engine;
use crate::error::{Error, Result};
use crate::frame::{check_clip_size, Frame};

/// How a stream is scored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamOptions {
    /// Frames per second (> 0); key frames are every `round(fps)` frames.
    pub fps: f64,
    /// The stream's length, when known ([`Session::set_expected_frames`]).
    pub expected_frames: Option<u64>,
    /// A clip score every this many frames (at least 1), each window its own clip; `None`: one
    /// clip for the whole stream.
    pub window_frames: Option<u64>,
}

impl StreamOptions {
    pub fn new(fps: f64) -> StreamOptions {
        StreamOptions { fps, expected_frames: None, window_frames: None }
    }

    /// Frames of a window of `seconds` at `fps`: `round(seconds * fps)`, at least 1.
    pub fn window_frames_for(seconds: f64, fps: f64) -> Result<u64> {
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(Error::invalid(format!("window length {seconds} s must be a positive number")));
        }
        let frames = (seconds * fps).round_ties_even();
        if !frames.is_finite() || frames > 1e15 {
            return Err(Error::invalid(format!("a window of {seconds} s at {fps} fps is too long")));
        }
        Ok((frames as u64).max(1))
    }
}

/// What a poll finds. Exhaustive on purpose: its answers are the C API's `VSRQA_OK`,
/// `VSRQA_AGAIN` and `VSRQA_END`, and a new one needs a status of its own, not a fallback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Polled<T> {
    Ready(T),
    /// Nothing yet: push more frames, or finish.
    Again,
    /// The stream is finished and everything has been returned.
    End,
}

impl<T> Polled<T> {
    /// The answer for a queue's next item: after a stop, the stop's error instead of `Again` or
    /// `End`, so that a drain loop always ends and says why.
    pub(crate) fn next(item: Option<T>, failure: Option<&Error>, finished: bool) -> Result<Polled<T>> {
        match (item, failure) {
            (Some(item), _) => Ok(Polled::Ready(item)),
            (None, Some(error)) => Err(error.clone()),
            (None, None) if finished => Ok(Polled::End),
            (None, None) => Ok(Polled::Again),
        }
    }
}

/// Receives each key-frame score as it becomes ready, instead of [`Stream::poll`].
pub type ScoreCallback = Box<dyn FnMut(&FrameScore) + Send>;

/// Runs once on a non-blocking stream's worker thread, before its first frame.
pub type WorkerStart = Box<dyn FnOnce() + Send>;

pub struct Stream {
    engine: Engine,
    options: StreamOptions,
    /// The session of the window (or whole clip) in progress; a window's starts at its first frame.
    current: Option<Session>,
    /// Stream index of the current window's first frame.
    window_start: u64,
    /// Windows completed so far.
    windows: u32,
    /// Key frames of the completed windows.
    key_frames_before: u32,
    frames_pushed: u64,
    /// One frame size for the whole stream, windows included (see [`check_clip_size`]).
    frame_size: Option<(u32, u32)>,
    ready: VecDeque<FrameScore>,
    clips: VecDeque<ClipScore>,
    /// The latest clip score, for `finish` on a window boundary.
    last_clip: Option<ClipScore>,
    callback: Option<ScoreCallback>,
    worker_start: Option<WorkerStart>,
    finished: bool,
    failure: Option<Error>,
}

impl Stream {
    pub(super) fn new(engine: Engine, options: StreamOptions) -> Result<Stream> {
        if options.window_frames == Some(0) {
            return Err(Error::invalid("a window has at least one frame"));
        }
        if options.expected_frames == Some(0) {
            return Err(Error::invalid("a clip has at least one frame"));
        }
        let mut stream = Stream {
            engine,
            options,
            current: None,
            window_start: 0,
            windows: 0,
            key_frames_before: 0,
            frames_pushed: 0,
            frame_size: None,
            ready: VecDeque::new(),
            clips: VecDeque::new(),
            last_clip: None,
            callback: None,
            worker_start: None,
            finished: false,
            failure: None,
        };
        // The first session now, so that a bad frame rate is an error of the stream's creation.
        stream.current = Some(stream.window_session()?);
        Ok(stream)
    }

    /// Sends every key-frame score to `callback` (on the thread that runs the stream) instead of
    /// queueing it for [`Stream::poll`].
    pub fn set_score_callback(&mut self, callback: ScoreCallback) {
        self.callback = Some(callback);
    }

    /// Runs `start` first thing on the worker thread when the stream is run non-blocking (a
    /// [`BackgroundStream`](super::BackgroundStream)): the C API marks the thread as the session's
    /// own there, so that its callbacks cannot call back into the session. Never run otherwise.
    pub fn set_worker_start(&mut self, start: WorkerStart) {
        self.worker_start = Some(start);
    }

    pub(super) fn take_worker_start(&mut self) -> Option<WorkerStart> {
        self.worker_start.take()
    }

    pub fn options(&self) -> &StreamOptions {
        &self.options
    }

    pub fn frames_pushed(&self) -> u64 {
        self.frames_pushed
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The error that stopped the stream (see [`Session::failure`]).
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    fn check_usable(&self) -> Result<()> {
        if self.finished {
            return Err(Error::SessionFinished);
        }
        if let Some(error) = &self.failure {
            return Err(Error::Backend(format!("the session stopped after an earlier error: {error}")));
        }
        Ok(())
    }

    /// The session of the window starting at `window_start`, told its length.
    fn window_session(&self) -> Result<Session> {
        let mut session = self.engine.session(self.options.fps)?;
        let remaining = self.options.expected_frames.map(|n| n.saturating_sub(self.window_start));
        let length = match (self.options.window_frames, remaining) {
            (Some(window), Some(left)) if left > 0 => Some(window.min(left)),
            (Some(window), _) => Some(window),
            (None, left) => left.filter(|&n| n > 0),
        };
        if let Some(length) = length {
            session.set_expected_frames(length)?;
        }
        Ok(session)
    }

    /// Adds the next frame (as [`Session::push`]); a window that this frame completes is scored.
    pub fn push<'f>(&mut self, frame: impl Into<Frame<'f>>) -> Result<()> {
        self.check_usable()?;
        let frame = frame.into();
        check_clip_size(self.frame_size, &frame, self.frames_pushed)?;
        let mut session = match self.current.take() {
            Some(session) => session,
            None => self.window_session()?,
        };
        let pushed = session.push(frame);
        if let Some(failure) = session.failure() {
            self.failure = Some(failure.clone());
        }
        let window_full = self.options.window_frames.is_some_and(|n| session.frames_pushed() >= n);
        if pushed.is_ok() {
            self.frames_pushed += 1;
            self.frame_size.get_or_insert(frame.size());
        }
        self.collect(&mut session);
        self.current = Some(session);
        pushed?;
        if window_full && self.failure.is_none() {
            self.close_window()?;
        }
        Ok(())
    }

    /// Moves the session's ready scores to the stream, numbered in the stream.
    fn collect(&mut self, session: &mut Session) {
        while let Some(mut score) = session.poll() {
            score.frame_index += self.window_start;
            score.key_frame += self.key_frames_before;
            match &mut self.callback {
                Some(callback) => callback(&score),
                None => self.ready.push_back(score),
            }
        }
    }

    /// Finishes the current window's session and queues its clip score.
    fn close_window(&mut self) -> Result<ClipScore> {
        let mut session = self.current.take().expect("a window in progress");
        let result = session.finish();
        self.collect(&mut session);
        let mut clip = match result {
            Ok(clip) => clip,
            Err(error) => {
                self.failure = Some(error.clone());
                return Err(error);
            }
        };
        clip.first_frame = self.window_start;
        clip.window = self.windows;
        self.windows += 1;
        self.key_frames_before += clip.key_frames;
        self.window_start += clip.frames;
        self.clips.push_back(clip.clone());
        self.last_clip = Some(clip.clone());
        Ok(clip)
    }

    /// The next ready key-frame score, in stream order (none when a callback takes them).
    pub fn poll(&mut self) -> Option<FrameScore> {
        self.ready.pop_front()
    }

    /// [`Stream::poll`] with the stream's state: `Again`, `End`, or the error that stopped it.
    pub fn poll_next(&mut self) -> Result<Polled<FrameScore>> {
        let next = self.ready.pop_front();
        Polled::next(next, self.failure.as_ref(), self.finished)
    }

    /// [`Stream::poll_clip`] with the stream's state.
    pub fn poll_clip_next(&mut self) -> Result<Polled<ClipScore>> {
        let next = self.clips.pop_front();
        Polled::next(next, self.failure.as_ref(), self.finished)
    }

    pub(crate) fn accepts_device_frames(&self) -> bool {
        self.engine.inner().device_frames.is_some()
    }

    /// The next clip score: each window's once it is complete, or the whole stream's after
    /// [`Stream::finish`].
    pub fn poll_clip(&mut self) -> Option<ClipScore> {
        self.clips.pop_front()
    }

    /// Ends the stream and returns the last clip's score (the whole stream's, or the last
    /// window's); it is also queued for [`Stream::poll_clip`]. The stream ends whether or not this
    /// succeeds.
    pub fn finish(&mut self) -> Result<ClipScore> {
        self.check_usable()?;
        self.finished = true;
        let open_window = self.current.as_ref().is_some_and(|s| s.frames_pushed() > 0);
        if open_window || self.frames_pushed == 0 {
            if self.current.is_none() {
                self.current = Some(self.window_session()?);
            }
            return self.close_window();
        }
        // The stream ended on a window's last frame: that window's score is the last.
        Ok(self.last_clip.clone().expect("a window was completed"))
    }
}
