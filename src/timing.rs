//! Where an engine's time goes, per stage: frame conversion to RGB, and per branch its
//! preprocessing and its network runs. Accumulated over every session of the engine (atomics: the
//! engine is shared by threads), for `vsrqa bench` and for callers who profile. Reading the clock
//! costs tens of nanoseconds per call, against milliseconds of work per call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One stage's accumulated time and the number of calls.
#[derive(Default, Debug)]
pub struct Stopwatch {
    nanos: AtomicU64,
    calls: AtomicU64,
}

impl Stopwatch {
    /// Runs `work` and adds its duration.
    pub fn time<T>(&self, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = work();
        self.add(started.elapsed());
        result
    }

    pub fn add(&self, elapsed: Duration) {
        self.nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> StageTime {
        StageTime {
            time: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
            calls: self.calls.load(Ordering::Relaxed),
        }
    }

    pub fn reset(&self) {
        self.nanos.store(0, Ordering::Relaxed);
        self.calls.store(0, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTime {
    pub time: Duration,
    pub calls: u64,
}

/// A branch's stages.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchTimes {
    pub name: String,
    /// Preprocessing, one call per frame (or per clip feature's normalization).
    pub preprocess: StageTime,
    /// Network runs, one call per batch.
    pub network: StageTime,
}

/// Everything [`crate::Engine::timings`] reports.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineTimes {
    /// Frame conversion to 8-bit RGB (once per frame some branch uses).
    pub convert: StageTime,
    pub branches: Vec<BranchTimes>,
}
