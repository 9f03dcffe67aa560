//! A session's callbacks calling back into the same session, through the C API: poll, poll_clip,
//! push, finish and destroy from inside a score or log callback return VSRQA_ERROR_INVALID_STATE
//! at once (destroy does nothing), in blocking and non-blocking sessions, with and without
//! windows. Without the check these calls deadlock on the session's lock or on its worker, or
//! free the session under the call running the callback. Each scenario runs under a watchdog, so a
//! hang fails the test instead of stalling the suite: a refused call that waited on the session's
//! lock or worker would be such a hang, so nothing here is timed. (frame_release callbacks are covered by the same marks, but only device frames get
//! them, which need a GPU: tests/gpu_cuda.rs.)

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use vsrqa_capi::status::VsrqaStatus::{self, *};
use vsrqa_capi::*;

const WIDTH: u32 = 112;
const HEIGHT: u32 = 80;
/// 20 frames at 8 fps: key frames 0, 8 and 16; with 1-second windows, windows of 8, 8 and 4.
const FRAMES: usize = 20;
const FPS: f64 = 8.0;

/// What a callback does with its own session.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Poll,
    PollClip,
    Push,
    Finish,
    Destroy,
}

impl Call {
    const ALL: [Call; 5] = [Call::Poll, Call::PollClip, Call::Push, Call::Finish, Call::Destroy];

    fn name(self) -> &'static str {
        match self {
            Call::Poll => "vsrqa_session_poll",
            Call::PollClip => "vsrqa_session_poll_clip",
            Call::Push => "vsrqa_session_push",
            Call::Finish => "vsrqa_session_finish",
            Call::Destroy => "vsrqa_session_destroy",
        }
    }
}

/// A re-entrant call's status (destroy: none) and vsrqa_last_error() after it.
type Outcome = (Option<VsrqaStatus>, String);

/// What a scenario saw: the re-entrant calls' outcomes, and the statuses of the host's own calls
/// afterwards (finish, then a drain of poll until it stops returning VSRQA_OK).
type Seen = (Vec<Outcome>, Vec<VsrqaStatus>);

/// Shared with the callbacks through their user data.
struct Probe {
    call: Call,
    /// The session under test; NULL until it exists (the log callback also runs at engine creation).
    session: AtomicPtr<VsrqaSession>,
    frame: Vec<u8>,
    outcomes: Mutex<Vec<Outcome>>,
}

impl Probe {
    /// Makes `self.call` on the session, as a callback would.
    fn reenter(&self) {
        let session = self.session.load(Ordering::SeqCst);
        if session.is_null() {
            return;
        }
        // SAFETY: the session is live (destroyed only after the scenario); the structs are
        // initialized by their _default functions; the frame describes `self.frame`.
        let status = unsafe {
            match self.call {
                Call::Poll => {
                    let mut score = std::mem::zeroed::<VsrqaFrameScore>();
                    vsrqa_frame_score_default(&mut score, std::mem::size_of::<VsrqaFrameScore>());
                    Some(vsrqa_session_poll(session, &mut score))
                }
                Call::PollClip => {
                    let mut score = std::mem::zeroed::<VsrqaClipScore>();
                    vsrqa_clip_score_default(&mut score, std::mem::size_of::<VsrqaClipScore>());
                    Some(vsrqa_session_poll_clip(session, &mut score))
                }
                Call::Push => Some(vsrqa_session_push(session, &i420(&self.frame))),
                Call::Finish => {
                    let mut score = std::mem::zeroed::<VsrqaClipScore>();
                    vsrqa_clip_score_default(&mut score, std::mem::size_of::<VsrqaClipScore>());
                    Some(vsrqa_session_finish(session, &mut score))
                }
                Call::Destroy => {
                    vsrqa_session_destroy(session);
                    None
                }
            }
        };
        // SAFETY: vsrqa_last_error never returns NULL.
        let message = unsafe { CStr::from_ptr(vsrqa_last_error()) }.to_string_lossy().into_owned();
        self.outcomes.lock().unwrap().push((status, message));
    }
}

unsafe extern "C" fn on_score(user_data: *mut c_void, _score: *const VsrqaFrameScore) {
    // SAFETY: user_data is the scenario's Probe, alive until the session is destroyed.
    unsafe { &*(user_data as *const Probe) }.reenter();
}

unsafe extern "C" fn on_log(user_data: *mut c_void, _level: VsrqaLogLevel, _message: *const c_char) {
    // SAFETY: as above.
    unsafe { &*(user_data as *const Probe) }.reenter();
}

/// An I420 descriptor over `buffer` (WIDTH x HEIGHT).
fn i420(buffer: &[u8]) -> VsrqaFrame {
    let mut frame = unsafe { std::mem::zeroed::<VsrqaFrame>() };
    // SAFETY: a writable struct of the size given.
    unsafe { vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()) };
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    frame.format = VSRQA_PIXEL_FORMAT_I420;
    frame.width = WIDTH;
    frame.height = HEIGHT;
    frame.planes = [buffer.as_ptr().cast(), buffer[w * h..].as_ptr().cast(), buffer[w * h * 5 / 4..].as_ptr().cast()];
    frame.pitches = [w, w / 2, w / 2];
    frame
}

/// Frame `i` of a moving gradient.
fn frame_bytes(i: usize) -> Vec<u8> {
    let size = (WIDTH * HEIGHT * 3 / 2) as usize;
    (0..size).map(|p| ((p * 7 + i * 13) % 251) as u8).collect()
}

#[derive(Clone, Copy, Debug)]
enum Callback {
    Score,
    Log,
}

#[derive(Clone, Copy, Debug)]
struct Mode {
    queue_frames: u32,
    window_seconds: f64,
}

const MODES: [Mode; 4] = [
    Mode { queue_frames: 0, window_seconds: 0.0 },
    Mode { queue_frames: 4, window_seconds: 0.0 },
    Mode { queue_frames: 0, window_seconds: 1.0 },
    Mode { queue_frames: 4, window_seconds: 1.0 },
];

/// Streams FRAMES frames through a session whose `callback` makes `call` on the session.
fn scenario(callback: Callback, mode: Mode, call: Call) -> Seen {
    let probe = Box::new(Probe {
        call,
        session: AtomicPtr::new(ptr::null_mut()),
        frame: frame_bytes(99),
        outcomes: Mutex::new(Vec::new()),
    });
    let user_data = &*probe as *const Probe as *mut c_void;
    let bundle =
        CString::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle").to_str().unwrap()).unwrap();
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame_bytes).collect();
    let mut host = Vec::new();
    // SAFETY: structs initialized by their _default functions; the bundle path, the frames and the
    // probe outlive the engine and the session, each destroyed once.
    unsafe {
        let mut config = std::mem::zeroed::<VsrqaEngineConfig>();
        assert_eq!(vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()), VSRQA_OK);
        config.bundle_path = bundle.as_ptr();
        config.backend = VSRQA_BACKEND_CPU;
        config.threads = 1;
        if let Callback::Log = callback {
            // Each clip's score is logged at DEBUG, on the thread that scores it.
            config.log_level = VSRQA_LOG_DEBUG;
            config.log_callback = Some(on_log);
            config.log_user_data = user_data;
        }
        let mut engine = ptr::null_mut();
        assert_eq!(vsrqa_engine_create(&config, &mut engine), VSRQA_OK);

        let mut session_config = std::mem::zeroed::<VsrqaSessionConfig>();
        vsrqa_session_config_default(&mut session_config, std::mem::size_of::<VsrqaSessionConfig>());
        session_config.fps = FPS;
        session_config.queue_frames = mode.queue_frames;
        session_config.window_seconds = mode.window_seconds;
        if let Callback::Score = callback {
            session_config.score_callback = Some(on_score);
            session_config.callback_user_data = user_data;
        }
        let mut session = ptr::null_mut();
        assert_eq!(vsrqa_session_create(engine, &session_config, &mut session), VSRQA_OK);
        probe.session.store(session, Ordering::SeqCst);
        for frame in &frames {
            assert_eq!(vsrqa_session_push(session, &i420(frame)), VSRQA_OK);
        }
        let mut clip = std::mem::zeroed::<VsrqaClipScore>();
        vsrqa_clip_score_default(&mut clip, std::mem::size_of::<VsrqaClipScore>());
        host.push(vsrqa_session_finish(session, &mut clip));
        let mut score = std::mem::zeroed::<VsrqaFrameScore>();
        vsrqa_frame_score_default(&mut score, std::mem::size_of::<VsrqaFrameScore>());
        loop {
            let status = vsrqa_session_poll(session, &mut score);
            host.push(status);
            if status != VSRQA_OK {
                break;
            }
        }
        probe.session.store(ptr::null_mut(), Ordering::SeqCst);
        vsrqa_session_destroy(session);
        vsrqa_engine_destroy(engine);
    }
    let outcomes = probe.outcomes.into_inner().unwrap();
    (outcomes, host)
}

/// Runs `scenario` on a thread of its own: a hang fails the test after `limit`.
fn within(limit: Duration, callback: Callback, mode: Mode, call: Call) -> Seen {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(scenario(callback, mode, call));
    });
    result.recv_timeout(limit).unwrap_or_else(|_| {
        panic!("{call:?} from a {callback:?} callback in {mode:?} did not finish within {limit:?}: it hung")
    })
}

fn check_refused(callback: Callback) {
    for mode in MODES {
        for call in Call::ALL {
            let (outcomes, host) = within(Duration::from_secs(120), callback, mode, call);
            let case = format!("{call:?} from a {callback:?} callback in {mode:?}");
            assert!(!outcomes.is_empty(), "{case}: the callback never ran");
            for (status, message) in &outcomes {
                if let Some(status) = status {
                    assert_eq!(*status, VSRQA_ERROR_INVALID_STATE, "{case}: {message}");
                }
                assert!(
                    message
                        .starts_with(&format!("{} was called from inside a callback of the same session", call.name())),
                    "{case}: {message:?}"
                );
            }
            // Nothing happened: the host's own finish and drain work as without the callback.
            assert_eq!(host.first(), Some(&VSRQA_OK), "{case}: finish after the refused calls: {host:?}");
            assert_eq!(host.last(), Some(&VSRQA_END), "{case}: the drain after finish: {host:?}");
        }
    }
}

#[test]
fn a_score_callback_calling_its_own_session_is_refused_in_every_mode() {
    check_refused(Callback::Score);
}

#[test]
fn a_log_callback_calling_the_session_it_reports_on_is_refused_in_every_mode() {
    check_refused(Callback::Log);
}

/// The status has its own text.
#[test]
fn the_refusal_has_a_status_text() {
    let text = unsafe { CStr::from_ptr(vsrqa_status_str(VSRQA_ERROR_INVALID_STATE as i32)) };
    assert_eq!(text.to_str().unwrap(), "session called from its own callback");
}
