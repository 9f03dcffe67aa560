//! Non-blocking streams: [`BackgroundStream::push`] checks the frame, copies it (a host frame) or
//! holds it until a release callback (a device frame), queues it and returns at once; a worker
//! thread of the stream's own runs the [`Stream`]. The queue is bounded: when it is full, `push`
//! either waits for room or returns [`Pushed::QueueFull`] without taking the frame. Scores are
//! the blocking stream's, frame for frame: the worker runs the same code on the same frames.
//!
//! Errors of a queued frame (one the branches reject, or a backend failure) reach the caller on
//! its next call: a rejected frame's error once (the stream goes on without the frame), a stopping
//! failure on every call from then on. Dropping the stream with work pending cancels it: queued
//! frames are released unprocessed, the frame in progress completes, then the worker exits.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::session::{ClipScore, FrameScore};
use super::stream::{Polled, Stream};
use crate::error::{Error, Result};
use crate::frame::{check_clip_size, DeviceFrame, Frame, OwnedFrame};

/// What `push` does when the queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenFull {
    /// Wait until the worker takes a frame.
    #[default]
    Block,
    /// Return [`Pushed::QueueFull`] at once; the frame is not taken.
    Refuse,
}

/// The outcome of a non-blocking push. Exhaustive on purpose, as [`Polled`](super::Polled): its
/// outcomes are the C API's `VSRQA_OK` and `VSRQA_AGAIN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue was full and the policy is [`WhenFull::Refuse`]: push the frame again later.
    QueueFull,
}

/// Called once the worker no longer reads a frame in device memory (scored, refused or
/// cancelled), on the worker's thread or the one that drops the stream.
pub type Release = Box<dyn FnOnce() + Send>;

/// Calls a device frame's release when dropped, whatever became of the frame.
struct Held(Option<Release>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

enum Job {
    Host(OwnedFrame),
    /// `_release` runs when the job is dropped, once the frame is no longer read.
    Device {
        frame: DeviceFrame,
        _release: Held,
    },
    Finish,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    frames_queued: usize,
    ready: VecDeque<FrameScore>,
    clips: VecDeque<ClipScore>,
    /// The error of a queued frame that the stream refused, reported once by the next call.
    refused: Option<Error>,
    /// The error that stopped the stream.
    failure: Option<Error>,
    finish_result: Option<Result<ClipScore>>,
    /// The worker has run `finish`.
    finished: bool,
    cancelled: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The worker catches panics of the stream; a poisoned lock still guards consistent data.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct BackgroundStream {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    capacity: usize,
    when_full: WhenFull,
    accepts_device_frames: bool,
    finish_sent: bool,
    /// Checked here, not on the worker, so that a frame of another size is refused by its push
    /// (the stream goes on) rather than stopping the stream later (see [`check_clip_size`]).
    frame_size: Option<(u32, u32)>,
    frames_queued_total: u64,
}

impl BackgroundStream {
    /// Runs `stream` on a thread of its own behind a queue of `capacity` frames (at least 1).
    pub fn start(stream: Stream, capacity: usize, when_full: WhenFull) -> Result<BackgroundStream> {
        if capacity == 0 {
            return Err(Error::invalid("a non-blocking session's queue holds at least one frame"));
        }
        let accepts_device_frames = stream.accepts_device_frames();
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("vsrqa-session".into())
            .spawn(move || run(stream, &worker_shared))
            .map_err(|e| Error::OutOfMemory(format!("cannot start the session's worker thread: {e}")))?;
        Ok(BackgroundStream {
            shared,
            worker: Some(worker),
            capacity,
            when_full,
            accepts_device_frames,
            finish_sent: false,
            frame_size: None,
            frames_queued_total: 0,
        })
    }

    /// The error a call reports before doing anything: a refused frame's (once), or the stop.
    fn reported_error(&self, state: &mut State) -> Result<()> {
        if let Some(error) = state.refused.take() {
            return Err(error);
        }
        if let Some(error) = &state.failure {
            return Err(Error::Backend(format!("the session stopped after an earlier error: {error}")));
        }
        Ok(())
    }

    /// Queues a frame. A host frame is copied now; a device frame is read until `release` runs
    /// (it is dropped without a call when the frame is not taken: an error or a full queue).
    pub fn push(&mut self, frame: &Frame<'_>, release: Option<Release>) -> Result<Pushed> {
        if self.finish_sent {
            return Err(Error::SessionFinished);
        }
        frame.validate()?;
        if matches!(frame, Frame::Device(_)) && !self.accepts_device_frames {
            return Err(super::session::device_frames_unsupported());
        }
        check_clip_size(self.frame_size, frame, self.frames_queued_total)?;
        {
            let mut state = self.shared.lock();
            self.reported_error(&mut state)?;
            while state.frames_queued >= self.capacity {
                if self.when_full == WhenFull::Refuse {
                    return Ok(Pushed::QueueFull);
                }
                state = self.shared.wait(state);
                self.reported_error(&mut state)?;
            }
        }
        // Only this thread adds frames, so the room found above is still there after the copy.
        let job = match frame {
            Frame::Host(view) => Job::Host(OwnedFrame::copy_of(view)?),
            Frame::Device(device) => Job::Device { frame: *device, _release: Held(release) },
        };
        let mut state = self.shared.lock();
        state.jobs.push_back(job);
        state.frames_queued += 1;
        self.shared.changed.notify_all();
        self.frame_size.get_or_insert(frame.size());
        self.frames_queued_total += 1;
        Ok(Pushed::Queued)
    }

    /// The next ready key-frame score; `Again` while frames are still being scored.
    pub fn poll(&mut self) -> Result<Polled<FrameScore>> {
        let mut state = self.shared.lock();
        if let Some(error) = state.refused.take() {
            return Err(error);
        }
        let next = state.ready.pop_front();
        Polled::next(next, state.failure.as_ref(), state.finished)
    }

    /// The next clip score (each window's, or the stream's after `finish`).
    pub fn poll_clip(&mut self) -> Result<Polled<ClipScore>> {
        let mut state = self.shared.lock();
        if let Some(error) = state.refused.take() {
            return Err(error);
        }
        let next = state.clips.pop_front();
        Polled::next(next, state.failure.as_ref(), state.finished)
    }

    /// Waits for every queued frame, ends the stream and returns the last clip score.
    pub fn finish(&mut self) -> Result<ClipScore> {
        if self.finish_sent {
            return Err(Error::SessionFinished);
        }
        let mut state = self.shared.lock();
        self.reported_error(&mut state)?;
        self.finish_sent = true;
        state.jobs.push_back(Job::Finish);
        self.shared.changed.notify_all();
        loop {
            if let Some(result) = state.finish_result.take() {
                return result;
            }
            state = self.shared.wait(state);
        }
    }
}

impl Drop for BackgroundStream {
    fn drop(&mut self) {
        let dropped: Vec<Job> = {
            let mut state = self.shared.lock();
            state.cancelled = true;
            self.shared.changed.notify_all();
            state.jobs.drain(..).collect()
        };
        // Releases run here, outside the lock: a callback may take locks of its own.
        drop(dropped);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The worker: takes jobs in order until `finish` or cancellation.
fn run(mut stream: Stream, shared: &Shared) {
    if let Some(start) = stream.take_worker_start() {
        start();
    }
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.cancelled {
                    return;
                }
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                state = shared.wait(state);
            }
        };
        let finishing = matches!(job, Job::Finish);
        let outcome = catch_unwind(AssertUnwindSafe(|| match &job {
            Job::Host(frame) => stream.push(frame.view()).map(|()| None),
            Job::Device { frame, .. } => stream.push(*frame).map(|()| None),
            Job::Finish => stream.finish().map(Some),
        }))
        .unwrap_or_else(|panic| {
            let what = crate::error::panic_message(panic.as_ref()).unwrap_or_else(|| "unknown panic".into());
            Err(Error::Backend(format!("internal error (please report): {what}")))
        });
        // The frame is no longer read: release it before taking the lock.
        drop(job);
        let mut state = shared.lock();
        while let Some(score) = stream.poll() {
            state.ready.push_back(score);
        }
        while let Some(clip) = stream.poll_clip() {
            state.clips.push_back(clip);
        }
        state.failure = stream.failure().cloned();
        if finishing {
            state.finished = true;
            state.finish_result = Some(outcome.map(|clip| clip.expect("finish returns a clip")));
            shared.changed.notify_all();
            return;
        }
        state.frames_queued -= 1;
        if let Err(error) = outcome {
            if state.failure.is_none() && state.refused.is_none() {
                state.refused = Some(error);
            }
        }
        shared.changed.notify_all();
    }
}

/// A stream scored on the caller's thread or on a worker of its own, behind one interface: what a
/// host that offers both modes holds (the C API's sessions, `vsrqa bench`).
#[non_exhaustive]
pub enum StreamRunner {
    /// Scores during `push` (boxed: a stream is large, a worker's handle is not).
    Blocking(Box<Stream>),
    Background(BackgroundStream),
}

impl StreamRunner {
    /// `queue_frames` 0: blocking; else a [`BackgroundStream`] with that queue.
    pub fn start(stream: Stream, queue_frames: usize, when_full: WhenFull) -> Result<StreamRunner> {
        Ok(match queue_frames {
            0 => StreamRunner::Blocking(Box::new(stream)),
            n => StreamRunner::Background(BackgroundStream::start(stream, n, when_full)?),
        })
    }

    pub fn is_background(&self) -> bool {
        matches!(self, StreamRunner::Background(_))
    }

    /// Pushes a frame. A blocking stream reads it during the call: `release` is then dropped
    /// uncalled, as for a frame not taken.
    pub fn push(&mut self, frame: &Frame<'_>, release: Option<Release>) -> Result<Pushed> {
        match self {
            StreamRunner::Blocking(stream) => stream.push(*frame).map(|()| Pushed::Queued),
            StreamRunner::Background(stream) => stream.push(frame, release),
        }
    }

    pub fn poll(&mut self) -> Result<Polled<FrameScore>> {
        match self {
            StreamRunner::Blocking(stream) => stream.poll_next(),
            StreamRunner::Background(stream) => stream.poll(),
        }
    }

    pub fn poll_clip(&mut self) -> Result<Polled<ClipScore>> {
        match self {
            StreamRunner::Blocking(stream) => stream.poll_clip_next(),
            StreamRunner::Background(stream) => stream.poll_clip(),
        }
    }

    pub fn finish(&mut self) -> Result<ClipScore> {
        match self {
            StreamRunner::Blocking(stream) => stream.finish(),
            StreamRunner::Background(stream) => stream.finish(),
        }
    }
}
