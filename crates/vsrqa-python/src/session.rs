//! `vsrqa.Session`: one stream of frames; scores come out as key frames complete.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::engine::{clip_dict, frame_dict};
use crate::errors::{invalid, IntoPy};
use crate::frames::{Encoding, HostFrames};

/// A stream of frames of one format and size (start one with `Engine.session`). Pushing
/// releases the GIL; one session is used by one thread at a time (others wait their turn).
#[pyclass(frozen, module = "vsrqa")]
pub struct Session {
    session: Mutex<vsrqa::Session>,
    encoding: Encoding,
}

impl Session {
    pub fn new(session: vsrqa::Session, encoding: Encoding) -> Session {
        Session { session: Mutex::new(session), encoding }
    }

    fn with<T>(&self, f: impl FnOnce(&mut vsrqa::Session) -> T) -> T {
        // A panic inside vsrqa is caught by PyO3 as PanicException; the session is then only as
        // usable as vsrqa left it, which its own checks handle.
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut session)
    }
}

#[pymethods]
impl Session {
    /// Pushes one frame (an array of one frame's shape) or several (with a leading frame axis).
    fn push(&self, py: Python<'_>, frames: &Bound<'_, PyAny>) -> PyResult<()> {
        // One frame is [H, W, C] for packed RGB, [H * 3 / 2, W] for YUV; one more axis is a batch.
        let single_dims = if self.encoding.channels().is_some() { 3 } else { 2 };
        let dims: usize = match frames.getattr("ndim") {
            Ok(ndim) => ndim.extract()?,
            Err(_) => single_dims,
        };
        let batched = dims == single_dims + 1;
        let frames = HostFrames::from_object(py, frames, self.encoding, batched)?;
        py.detach(|| {
            self.with(|session| {
                for index in 0..frames.len() {
                    session.push(frames.frame(index)?)?;
                }
                Ok(())
            })
        })
        .or_raise(py)
    }

    /// The key-frame scores ready since the last poll (possibly none), oldest first.
    fn poll<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let scores: Vec<vsrqa::FrameScore> = self.with(|session| std::iter::from_fn(|| session.poll()).collect());
        let rows = scores.iter().map(|s| frame_dict(py, s)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// Ends the clip: its score (and the key-frame scores not polled yet, in `frame_scores`).
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (clip, scores, engine) = py
            .detach(|| {
                self.with(|session| {
                    let clip = session.finish()?;
                    let scores = std::iter::from_fn(|| session.poll()).collect::<Vec<_>>();
                    Ok((clip, scores, session.engine().clone()))
                })
            })
            .or_raise(py)?;
        clip_dict(py, &engine, &clip, &scores)
    }

    /// Frames pushed so far.
    #[getter]
    fn frames_pushed(&self) -> u64 {
        self.with(|session| session.frames_pushed())
    }

    #[getter]
    fn finished(&self) -> bool {
        self.with(|session| session.is_finished())
    }

    /// After finish: the pooled feature rows as a list of lists of floats (see Engine.features).
    fn pooled_features(&self, py: Python<'_>) -> PyResult<Vec<Vec<f32>>> {
        self.with(|session| session.pooled_features())
            .ok_or_else(|| invalid(py, "the session has not finished: call finish() first"))
    }

    fn __repr__(&self) -> String {
        self.with(|session| {
            format!("vsrqa.Session(frames_pushed={}, finished={})", session.frames_pushed(), session.is_finished())
        })
    }
}
