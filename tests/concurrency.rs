//! The thread-safety contract of include/vsrqa.h ("Thread safety"), tested as written:
//! - an engine is shared by any number of threads, with results identical to single-threaded calls;
//! - several engines work at once;
//! - a session is one stream, usable from one thread at a time, movable between threads, and
//!   concurrent calls on one session through the C API are serialized, never undefined;
//! - create/score/destroy loops do not grow memory (counted by this binary's allocator: the
//!   process's resident size is no measure, the C allocator keeps per-thread arenas).
//!
//! Every comparison is exact equality: the CPU backend is deterministic for a fixed thread count,
//! so any difference would be a race. The tests of this file run one at a time (`SERIAL`), so that
//! the allocation count sees one test only.

mod golden;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::ptr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use golden::{data, sample_frames, views};
use vsrqa::backend::BackendKind;
use vsrqa::{ClipScore, Engine, EngineOptions, FrameScore};
use vsrqa_capi::status::VsrqaStatus::VSRQA_OK;
use vsrqa_capi::*;

const THREADS: usize = 8;

static SERIAL: Mutex<()> = Mutex::new(());

/// The system allocator, counting the bytes currently allocated by this test binary.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn engine() -> Engine {
    Engine::new(
        data("tiny_bundle"),
        EngineOptions { backend: BackendKind::Cpu, threads: 1, ..EngineOptions::default() },
    )
    .unwrap()
}

/// Scores `frames` at `fps` through a session, pushing them in `chunk`-sized bursts (so that
/// threads interleave their pushes), and returns every frame score and the clip score.
fn stream(
    engine: &Engine,
    frames: &[vsrqa::frame::FrameView<'_>],
    fps: f64,
    chunk: usize,
) -> (Vec<FrameScore>, ClipScore) {
    let mut session = engine.session(fps).unwrap();
    let mut scores = Vec::new();
    for burst in frames.chunks(chunk) {
        for frame in burst {
            session.push(frame).unwrap();
        }
        scores.extend(std::iter::from_fn(|| session.poll()));
        std::thread::yield_now();
    }
    let clip = session.finish().unwrap();
    scores.extend(std::iter::from_fn(|| session.poll()));
    (scores, clip)
}

#[test]
fn concurrency_one_engine_eight_threads_interleaved_sessions() {
    let _serial = serial();
    let engine = engine();
    let (raw, width, height, _) = sample_frames();
    let frames = views(&raw, width, height);
    // Each thread has its own frame rate, so the sessions differ in key frames, windows and
    // clip sampling; the single-threaded results are computed first.
    let rates: Vec<f64> = (0..THREADS).map(|t| [8.0, 3.0, 6.5, 25.0][t % 4]).collect();
    let expected: Vec<_> = rates.iter().map(|&fps| stream(&engine, &frames, fps, 20)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = rates
            .iter()
            .enumerate()
            .map(|(t, &fps)| {
                let (engine, frames) = (&engine, &frames);
                scope.spawn(move || (0..3).map(|_| stream(engine, frames, fps, 1 + t % 3)).collect::<Vec<_>>())
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            for result in handle.join().unwrap() {
                assert_eq!(result, expected[t], "thread {t}");
            }
        }
    });
}

/// Non-blocking sessions, one per thread on one engine, each with its own worker: the scores of
/// the blocking sessions, whatever the interleaving.
#[test]
fn concurrency_non_blocking_sessions_on_one_engine() {
    use vsrqa::engine::{Polled, Pushed, WhenFull};
    let _serial = serial();
    let engine = engine();
    let (raw, width, height, _) = sample_frames();
    let frames = views(&raw, width, height);
    let rates: Vec<f64> = (0..THREADS).map(|t| [8.0, 3.0, 6.5, 25.0][t % 4]).collect();
    let expected: Vec<_> = rates.iter().map(|&fps| stream(&engine, &frames, fps, 20)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = rates
            .iter()
            .enumerate()
            .map(|(t, &fps)| {
                let (engine, frames) = (&engine, &frames);
                scope.spawn(move || {
                    let when_full = if t % 2 == 0 { WhenFull::Block } else { WhenFull::Refuse };
                    let stream = engine.stream(vsrqa::StreamOptions::new(fps)).unwrap();
                    let mut background = vsrqa::BackgroundStream::start(stream, 1 + t % 3, when_full).unwrap();
                    let mut scores = Vec::new();
                    for frame in frames {
                        while background.push(&vsrqa::frame::Frame::Host(*frame), None).unwrap() == Pushed::QueueFull {
                            std::thread::yield_now();
                        }
                        while let Polled::Ready(score) = background.poll().unwrap() {
                            scores.push(score);
                        }
                    }
                    let clip = background.finish().unwrap();
                    while let Polled::Ready(score) = background.poll().unwrap() {
                        scores.push(score);
                    }
                    (scores, clip)
                })
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().unwrap(), expected[t], "thread {t}");
        }
    });
}

#[test]
fn concurrency_several_engines_at_once() {
    let _serial = serial();
    let (raw, width, height, fps) = sample_frames();
    let frames = views(&raw, width, height);
    let engines: Vec<Engine> = (0..3).map(|_| engine()).collect();
    let expected = stream(&engines[0], &frames, fps, 20);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (engine, frames) = (&engines[t % 3], &frames);
                scope.spawn(move || stream(engine, frames, fps, 4))
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), expected);
        }
    });
    // Engines created and dropped on other threads while these are used.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| drop(engine()));
        }
        assert_eq!(stream(&engines[1], &frames, fps, 20), expected);
    });
}

#[test]
fn concurrency_a_session_moves_between_threads() {
    let _serial = serial();
    let engine = engine();
    let (raw, width, height, fps) = sample_frames();
    let frames = views(&raw, width, height);
    let expected = stream(&engine, &frames, fps, 20).1;
    let mut session = engine.session(fps).unwrap();
    for part in frames.chunks(7) {
        session = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    for frame in part {
                        session.push(frame).unwrap();
                    }
                    session
                })
                .join()
                .unwrap()
        });
    }
    assert_eq!(session.finish().unwrap(), expected);
}

/// The C API's handles, shared between threads as the header allows.
struct Shared<T>(*mut T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

fn c_engine() -> *mut VsrqaEngine {
    let mut config = unsafe { std::mem::zeroed::<VsrqaEngineConfig>() };
    // SAFETY: a writable struct of the size given.
    assert_eq!(unsafe { vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()) }, VSRQA_OK);
    let dir = CString::new(data("tiny_bundle").to_str().unwrap()).unwrap();
    config.bundle_path = dir.as_ptr();
    config.threads = 1;
    config.backend = VSRQA_BACKEND_CPU;
    let mut engine = ptr::null_mut();
    // SAFETY: valid config (the string outlives the call) and out pointer.
    assert_eq!(unsafe { vsrqa_engine_create(&config, &mut engine) }, VSRQA_OK);
    engine
}

fn c_frame(data: &[u8], width: u32, height: u32) -> VsrqaFrame {
    let mut frame = unsafe { std::mem::zeroed::<VsrqaFrame>() };
    // SAFETY: a writable struct of the size given.
    assert_eq!(unsafe { vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()) }, VSRQA_OK);
    let (w, h) = (width as usize, height as usize);
    frame.format = VSRQA_PIXEL_FORMAT_I420;
    frame.width = width;
    frame.height = height;
    frame.planes = [data.as_ptr().cast(), data[w * h..].as_ptr().cast(), data[w * h + w * h / 4..].as_ptr().cast()];
    frame.pitches = [w, w / 2, w / 2];
    frame
}

#[test]
fn concurrency_c_api_shared_engine_and_one_session_from_two_threads() {
    let _serial = serial();
    let (raw, width, height, fps) = sample_frames();
    let engine = Shared(c_engine());
    let score_first = |engine: &Shared<VsrqaEngine>| {
        let frame = c_frame(&raw[0], width, height);
        let mut score = unsafe { std::mem::zeroed::<VsrqaFrameScore>() };
        // SAFETY: writable result struct; live engine; frame planes outlive the call.
        unsafe {
            assert_eq!(vsrqa_frame_score_default(&mut score, std::mem::size_of::<VsrqaFrameScore>()), VSRQA_OK);
            assert_eq!(vsrqa_score_frame(engine.0, &frame, &mut score), VSRQA_OK);
        }
        score.score
    };
    let expected = score_first(&engine);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..THREADS).map(|_| scope.spawn(|| (0..3).map(|_| score_first(&engine)).collect::<Vec<_>>())).collect();
        for handle in handles {
            assert!(handle.join().unwrap().iter().all(|&s| s == expected));
        }
    });

    // One session, two threads pushing at once: the calls are serialized, every frame counted.
    let mut config = unsafe { std::mem::zeroed::<VsrqaSessionConfig>() };
    let mut session = ptr::null_mut();
    // SAFETY: writable config, live engine, valid out pointer.
    unsafe {
        assert_eq!(vsrqa_session_config_default(&mut config, std::mem::size_of::<VsrqaSessionConfig>()), VSRQA_OK);
        config.fps = fps;
        assert_eq!(vsrqa_session_create(engine.0, &config, &mut session), VSRQA_OK);
    }
    let session = Shared(session);
    std::thread::scope(|scope| {
        for half in raw.chunks(raw.len() / 2) {
            let session = &session;
            scope.spawn(move || {
                for data in half {
                    let frame = c_frame(data, width, height);
                    // SAFETY: live session; frame planes outlive the call.
                    assert_eq!(unsafe { vsrqa_session_push(session.0, &frame) }, VSRQA_OK);
                }
            });
        }
    });
    let mut clip = unsafe { std::mem::zeroed::<VsrqaClipScore>() };
    // SAFETY: writable result struct, live session; then both handles are destroyed once.
    unsafe {
        assert_eq!(vsrqa_clip_score_default(&mut clip, std::mem::size_of::<VsrqaClipScore>()), VSRQA_OK);
        assert_eq!(vsrqa_session_finish(session.0, &mut clip), VSRQA_OK);
        vsrqa_session_destroy(session.0);
        vsrqa_engine_destroy(engine.0);
    }
    assert_eq!(clip.frames, raw.len() as u64);
    assert!(clip.score.is_finite());
}

#[test]
fn concurrency_create_score_destroy_loops_do_not_grow_memory() {
    let _serial = serial();
    let (raw, width, height, fps) = sample_frames();
    let frames = views(&raw, width, height);
    let cycle = || {
        let engine = engine();
        let mut session = engine.session(fps).unwrap();
        for frame in &frames[..9] {
            session.push(frame).unwrap();
        }
        drop(session); // unfinished: what it holds is released too
                       // A non-blocking one dropped with frames queued: its worker and copies are released.
        let stream = engine.stream(vsrqa::StreamOptions::new(fps)).unwrap();
        let mut background = vsrqa::BackgroundStream::start(stream, 4, vsrqa::engine::WhenFull::Block).unwrap();
        for frame in &frames[..9] {
            background.push(&vsrqa::frame::Frame::Host(*frame), None).unwrap();
        }
        drop(background);
        engine.score_clip(&frames, fps).unwrap();
    };
    let round = || {
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..3 {
                        cycle();
                    }
                });
            }
        })
    };
    // Warm-up: lazily initialized statics and thread-local caches.
    round();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for _ in 0..3 {
        round();
    }
    let grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
    // 36 more cycles, each loading five networks (about 2.5 MB of ONNX) and keeping frames: a
    // leaked engine or session would add megabytes per cycle.
    assert!(grown < 64 << 10, "{grown} bytes still allocated after 36 create/score/destroy cycles");
}
