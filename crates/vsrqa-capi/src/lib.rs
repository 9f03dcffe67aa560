//! The C ABI (`include/vsrqa.h`, generated from this crate by cbindgen): the C package's
//! libvsrqa.so and libvsrqa.a. No logic of its own: every export checks its pointers and structs
//! ([`abi`]: extensible structs), runs inside [`status::guard`] (no panic crosses the boundary)
//! and calls vsrqa's engine. It is a crate of its own so that only the C library exports these
//! functions: the GStreamer plugin and the Python extension link vsrqa, not this.
//!
//! The doc comments become the header's: each says what the function does, what it returns, and
//! what it needs of its pointers (the contract Rust's `# Safety` sections would state, written for
//! C programmers; hence the module-wide `missing_safety_doc` allowance).
#![allow(clippy::missing_safety_doc)]

mod abi;
mod frame;
mod reentry;
pub mod status;
pub mod types;

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::{Arc, Mutex};

use status::{guard, CError, VsrqaStatus, VsrqaStatus::*};
pub use types::*;
use vsrqa::backend::BackendKind;
use vsrqa::engine::{Engine, EngineOptions, LogLevel, Polled, Pushed, Release, StreamOptions, StreamRunner, WhenFull};
use vsrqa::frame::{ColorConversion, Frame};

/// An engine: one loaded model bundle on one backend. Thread-safe: any number of threads may
/// call `vsrqa_score_frame`, `vsrqa_score_clip` and `vsrqa_session_create` on one engine at
/// the same time.
pub struct VsrqaEngine {
    engine: Engine,
    /// The members the engine runs, NUL-terminated for `vsrqa_engine_member`.
    member_names: Vec<CString>,
}

/// A session: one stream of frames. Not for concurrent use: one thread at a time (calls from
/// several threads are serialized, never undefined, but their order is then arbitrary). May be
/// moved between threads.
pub struct VsrqaSession {
    id: reentry::SessionId,
    inner: Mutex<SessionKind>,
}

struct SessionKind {
    stream: StreamRunner,
    /// A non-blocking session's `frame_release`.
    release: Option<ReleaseCallback>,
}

/// A pointer the caller handed over with a callback, sent to the thread the callback runs on
/// (the header requires callbacks and their user data to allow that).
#[derive(Clone, Copy)]
struct CallerPointer(*mut c_void);
// SAFETY: see above; vsrqa never dereferences it.
unsafe impl Send for CallerPointer {}
// SAFETY: as above.
unsafe impl Sync for CallerPointer {}

/// The session's `frame_release` and its user data.
#[derive(Clone, Copy)]
struct ReleaseCallback {
    callback: unsafe extern "C" fn(*mut c_void, *mut c_void),
    user_data: CallerPointer,
}

impl ReleaseCallback {
    fn for_frame(self, opaque: *mut c_void) -> Release {
        let opaque = CallerPointer(opaque);
        Box::new(move || {
            let (user_data, opaque) = (self.user_data, opaque);
            // SAFETY: the caller's callback, called once per frame as documented.
            unsafe { (self.callback)(user_data.0, opaque.0) }
        })
    }
}

/// # Safety
/// `text` must be NULL or a NUL-terminated string.
unsafe fn utf8<'a>(text: *const c_char, what: &str) -> Result<&'a str, CError> {
    if text.is_null() {
        return Err(CError::null(what));
    }
    // SAFETY: NUL-terminated per the contract.
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|_| CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("{what} is not valid UTF-8")))
}

fn frame_score(score: &vsrqa::engine::FrameScore) -> VsrqaFrameScore {
    VsrqaFrameScore {
        struct_size: std::mem::size_of::<VsrqaFrameScore>(),
        frame_index: score.frame_index,
        key_frame: score.key_frame,
        score: score.score,
    }
}

fn clip_score(result: &vsrqa::engine::ClipScore) -> VsrqaClipScore {
    let mut flags = 0;
    if result.ended_early() {
        flags |= VSRQA_CLIP_ENDED_EARLY;
    }
    if result.ended_late() {
        flags |= VSRQA_CLIP_ENDED_LATE;
    }
    VsrqaClipScore {
        struct_size: std::mem::size_of::<VsrqaClipScore>(),
        score: result.score,
        frames: result.frames,
        key_frames: result.key_frames,
        pooled_slots: result.pooled_slots,
        first_frame: result.first_frame,
        expected_frames: result.expected_frames.unwrap_or(0),
        window: result.window,
        flags,
        member_count: result.member_scores.len() as u32,
        member_scores_capacity: 0,
        member_scores: std::ptr::null_mut(),
        member_spread: result.member_spread().unwrap_or(0.0),
    }
}

/// Writes `result` into the caller's clip score, its members' scores into the caller's array.
///
/// # Safety
/// As [`abi::write_clip_score`].
unsafe fn write_clip(score: *mut VsrqaClipScore, result: &vsrqa::engine::ClipScore) -> Result<(), CError> {
    // SAFETY: forwarded contract.
    unsafe { abi::write_clip_score(score, &clip_score(result), &result.member_scores) }
}

/// The library version, e.g. "1.0.0". Static storage.
#[no_mangle]
pub extern "C" fn vsrqa_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The C API version of the library loaded at run time, as `VSRQA_API_VERSION` encodes it
/// (`major << 16 | minor << 8 | patch`). A program checks `vsrqa_version_api() >> 16 ==
/// VSRQA_API_VERSION_MAJOR` and, to use something added in minor M, `(vsrqa_version_api() >> 8 &
/// 0xff) >= M`.
#[no_mangle]
pub extern "C" fn vsrqa_version_api() -> u32 {
    VSRQA_API_VERSION
}

/// A short English description of a status code. Static storage; never NULL.
#[no_mangle]
pub extern "C" fn vsrqa_status_str(status: i32) -> *const c_char {
    VsrqaStatus::describe(status).as_ptr().cast()
}

/// The message of the last failed vsrqa call on this thread ("" if it succeeded). Valid until
/// the next vsrqa call on this thread; never NULL.
#[no_mangle]
pub extern "C" fn vsrqa_last_error() -> *const c_char {
    status::last_error_ptr()
}

/// Fills `config` with defaults: call as `vsrqa_engine_config_default(&config, sizeof config)`.
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
/// `config` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_engine_config_default(
    config: *mut VsrqaEngineConfig,
    struct_size: usize,
) -> VsrqaStatus {
    // SAFETY: forwarded contract.
    guard(|| unsafe { abi::fill_default(config, struct_size, "config") }.map(|()| VSRQA_OK))
}

/// Fills `config` with defaults (fps 25, blocking, one clip): call with `sizeof config`.
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
/// `config` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_config_default(
    config: *mut VsrqaSessionConfig,
    struct_size: usize,
) -> VsrqaStatus {
    // SAFETY: forwarded contract.
    guard(|| unsafe { abi::fill_default(config, struct_size, "config") }.map(|()| VSRQA_OK))
}

/// Fills `frame` with defaults (no format, no planes, host memory, unspecified colour): call with
/// `sizeof frame`. Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
/// `frame` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_frame_default(frame: *mut VsrqaFrame, struct_size: usize) -> VsrqaStatus {
    // SAFETY: forwarded contract.
    guard(|| unsafe { abi::fill_default(frame, struct_size, "frame") }.map(|()| VSRQA_OK))
}

/// Prepares a result struct: sets `struct_size`, zeroes the rest. Returns VSRQA_OK,
/// VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
/// `score` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_frame_score_default(score: *mut VsrqaFrameScore, struct_size: usize) -> VsrqaStatus {
    // SAFETY: forwarded contract.
    guard(|| unsafe { abi::fill_default(score, struct_size, "score") }.map(|()| VSRQA_OK))
}

/// Prepares a result struct: sets `struct_size`, zeroes the rest. Returns VSRQA_OK,
/// VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
/// `score` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_clip_score_default(score: *mut VsrqaClipScore, struct_size: usize) -> VsrqaStatus {
    // SAFETY: forwarded contract.
    guard(|| unsafe { abi::fill_default(score, struct_size, "score") }.map(|()| VSRQA_OK))
}

/// The caller's log callback and its cookie, made shareable across the engine's threads (the
/// header documents that the callback must then be thread-safe).
struct CallbackLogger {
    callback: unsafe extern "C" fn(*mut c_void, VsrqaLogLevel, *const c_char),
    user_data: CallerPointer,
    max_level: VsrqaLogLevel,
}

impl CallbackLogger {
    fn log(&self, level: LogLevel, message: &str) {
        let level = level as VsrqaLogLevel;
        if level > self.max_level {
            return;
        }
        if let Ok(text) = std::ffi::CString::new(message.replace('\0', " ")) {
            // SAFETY: a valid callback per the contract; `text` lives through the call.
            unsafe { (self.callback)(self.user_data.0, level, text.as_ptr()) };
        }
    }
}

/// Loads a model bundle and prepares its networks on the chosen backend. On success `*engine`
/// owns the engine (free it with `vsrqa_engine_destroy`); on failure it is set to NULL, and the
/// error also goes to the config's log callback (at VSRQA_LOG_ERROR).
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (an unknown backend or log level, threads above 1024, cuda_graphs
/// not 0 or 1, a path not UTF-8), VSRQA_ERROR_BUNDLE, VSRQA_ERROR_BACKEND,
/// VSRQA_ERROR_BACKEND_UNAVAILABLE, VSRQA_ERROR_OUT_OF_MEMORY.
/// `config` must be NULL or a `VsrqaEngineConfig` of its `struct_size`, its strings NULL or
/// NUL-terminated; `engine` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_engine_create(
    config: *const VsrqaEngineConfig,
    engine: *mut *mut VsrqaEngine,
) -> VsrqaStatus {
    guard(|| {
        if engine.is_null() {
            return Err(CError::null("engine"));
        }
        // SAFETY: non-NULL, writable per the contract.
        unsafe { *engine = std::ptr::null_mut() };
        // SAFETY: forwarded contract.
        let (config, _) = unsafe { abi::read(config, "config")? };
        let logger = config.log_callback.map(|callback| {
            let logger = CallbackLogger {
                callback,
                user_data: CallerPointer(config.log_user_data),
                max_level: config.log_level,
            };
            Arc::new(move |level: LogLevel, message: &str| logger.log(level, message)) as vsrqa::engine::Logger
        });
        // SAFETY: forwarded contract.
        let created = unsafe { create_engine(&config, logger.clone()) };
        match created {
            Ok(created) => {
                let member_names = created
                    .members()
                    .into_iter()
                    .map(|name| CString::new(name).expect("member names are [a-z0-9_]"))
                    .collect();
                let boxed = Box::new(VsrqaEngine { engine: created, member_names });
                // SAFETY: non-NULL, writable per the contract.
                unsafe { *engine = Box::into_raw(boxed) };
                Ok(VSRQA_OK)
            }
            Err(error) => {
                if let Some(logger) = logger {
                    logger(LogLevel::Error, &format!("vsrqa_engine_create: {}", error.message));
                }
                Err(error)
            }
        }
    })
}

/// # Safety
/// The config's strings are NULL or NUL-terminated.
unsafe fn create_engine(config: &VsrqaEngineConfig, logger: Option<vsrqa::engine::Logger>) -> Result<Engine, CError> {
    // SAFETY: NUL-terminated per the contract.
    let bundle_path = unsafe { utf8(config.bundle_path, "config->bundle_path")? };
    let backend = match config.backend {
        VSRQA_BACKEND_AUTO => BackendKind::Auto,
        VSRQA_BACKEND_CPU => BackendKind::Cpu,
        VSRQA_BACKEND_TENSORRT => BackendKind::TensorRt,
        VSRQA_BACKEND_ONNXRUNTIME => BackendKind::OnnxRuntime,
        other => return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown backend {other}"))),
    };
    if config.cuda_graphs > 1 {
        return Err(CError::new(
            VSRQA_ERROR_INVALID_ARGUMENT,
            format!("config->cuda_graphs is {}; 0 (off) or 1 (on)", config.cuda_graphs),
        ));
    }
    let color_conversion = match config.color_conversion {
        VSRQA_COLOR_CONVERSION_BUNDLE => None,
        VSRQA_COLOR_CONVERSION_REFERENCE => Some(ColorConversion::Reference),
        VSRQA_COLOR_CONVERSION_EXACT => Some(ColorConversion::Exact),
        other => {
            return Err(CError::new(
                VSRQA_ERROR_INVALID_ARGUMENT,
                format!("config->color_conversion is {other}: 0 (the bundle's), 1 (reference) or 2 (exact)"),
            ))
        }
    };
    if config.log_level > VSRQA_LOG_DEBUG {
        return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown log level {}", config.log_level)));
    }
    let cache_dir = if config.cache_dir.is_null() {
        None
    } else {
        // SAFETY: NUL-terminated per the contract.
        Some(std::path::PathBuf::from(unsafe { utf8(config.cache_dir, "config->cache_dir")? }))
    };
    let gpu = vsrqa::backend::GpuOptions {
        device: usize::try_from(config.device).ok(),
        stream: (!config.cuda_stream.is_null()).then_some(config.cuda_stream as usize),
        cache_dir,
        cuda_graphs: config.cuda_graphs == 1,
    };
    let members = if config.members.is_null() {
        None
    } else {
        // SAFETY: NUL-terminated per the contract.
        Some(vsrqa::engine::parse_members(unsafe { utf8(config.members, "config->members")? })?)
    };
    let options = EngineOptions {
        backend,
        threads: config.threads as usize,
        logger,
        gpu,
        members,
        color_conversion,
        ..EngineOptions::default()
    };
    let created = Engine::new(bundle_path, options)?;
    let gpu_settings = !config.cuda_stream.is_null() || config.device >= 0 || config.cuda_graphs == 1;
    if gpu_settings && created.backend() != BackendKind::TensorRt {
        created.log(LogLevel::Warning, "cuda_stream/device/cuda_graphs are ignored by the CPU backends");
    }
    Ok(created)
}

/// Frees an engine. NULL is a no-op. Sessions created from it stay valid (they keep what they
/// need alive) and must still be destroyed.
/// `engine` must be NULL or from `vsrqa_engine_create`, not yet destroyed, not in use.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_engine_destroy(engine: *mut VsrqaEngine) {
    guard(|| {
        if !engine.is_null() {
            // SAFETY: from Box::into_raw in vsrqa_engine_create, destroyed once.
            drop(unsafe { Box::from_raw(engine) });
        }
        Ok(VSRQA_OK)
    });
}

/// # Safety
/// `engine` must be NULL or a live engine.
unsafe fn engine_ref<'a>(engine: *const VsrqaEngine) -> Result<&'a Engine, CError> {
    // SAFETY: live engine per the contract.
    unsafe { engine.as_ref() }.map(|e| &e.engine).ok_or_else(|| CError::null("engine"))
}

/// Since API 1.1. The name of the `index`-th ensemble member the engine runs (0-based, the order
/// of `VsrqaClipScore.member_scores`): VSRQA_OK with `*name` set (owned by the engine, valid until
/// it is destroyed); VSRQA_END when `index` is the member count or more (at once, for a bundle
/// that is not an ensemble), so that a loop from 0 lists them.
/// Returns VSRQA_OK, VSRQA_END, VSRQA_ERROR_NULL_POINTER.
/// `engine` must be NULL or live; `name` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_engine_member(
    engine: *const VsrqaEngine,
    index: u32,
    name: *mut *const c_char,
) -> VsrqaStatus {
    guard(|| {
        // SAFETY: live engine per the contract.
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| CError::null("engine"))?;
        if name.is_null() {
            return Err(CError::null("name"));
        }
        let Some(member) = engine.member_names.get(index as usize) else { return Ok(VSRQA_END) };
        // SAFETY: non-NULL, writable per the contract.
        unsafe { *name = member.as_ptr() };
        Ok(VSRQA_OK)
    })
}

/// Scores a single frame as a one-frame clip (a window branch sees it repeated). `score` must be
/// prepared with `vsrqa_frame_score_default`. Thread-safe on a shared engine.
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (sizes, pitches, colour tags), VSRQA_ERROR_UNSUPPORTED_FORMAT,
/// VSRQA_ERROR_BACKEND, VSRQA_ERROR_OUT_OF_MEMORY.
/// `engine` must be NULL or live; `frame` NULL or a `VsrqaFrame` of its `struct_size` whose planes
/// cover what it describes; `score` NULL or a `VsrqaFrameScore` of its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_score_frame(
    engine: *const VsrqaEngine,
    frame: *const VsrqaFrame,
    score: *mut VsrqaFrameScore,
) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_ref(engine)? };
        // SAFETY: forwarded contract; checked before any work.
        unsafe { abi::caller_size(score, "score")? };
        // SAFETY: forwarded contract.
        let frame = unsafe { frame::frame(frame, "frame")? };
        let result = engine.score_frame(frame.frame)?;
        // SAFETY: forwarded contract.
        unsafe { abi::write(score, &frame_score(&result), "score")? };
        Ok(VSRQA_OK)
    })
}

/// Scores `count` frames of one clip at `fps` frames per second: the same result as pushing
/// them through a session told the clip length. `score` must be prepared with
/// `vsrqa_clip_score_default`. Thread-safe on a shared engine.
/// The clip score pools the clip's first key frames (8 for the published models: 8 seconds at
/// one key frame per `round(fps)` frames); later frames count only through clip branches'
/// samples, and `score->key_frames` says how many were pooled. For a longer video, score windows
/// of that span with a windowed session (`VsrqaSessionConfig.window_frames`) and pool their clip
/// scores, as `vsrqa score` does (docs/cli.md, "long videos").
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (count 0, the frame rate, a frame's sizes, pitches or tags,
/// frames of more than one size),
/// VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BACKEND, VSRQA_ERROR_OUT_OF_MEMORY.
/// `frames` must be NULL or point to `count` frames as `vsrqa_score_frame` takes them.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_score_clip(
    engine: *const VsrqaEngine,
    frames: *const VsrqaFrame,
    count: usize,
    fps: f64,
    score: *mut VsrqaClipScore,
) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_ref(engine)? };
        if frames.is_null() {
            return Err(CError::null("frames"));
        }
        // SAFETY: forwarded contract.
        unsafe { abi::caller_size(score, "score")? };
        if count == 0 {
            return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, "count is 0: a clip needs at least one frame"));
        }
        // The array's stride is the caller's sizeof(VsrqaFrame), which frames[0] declares.
        // SAFETY: forwarded contract.
        let stride = unsafe { abi::caller_size(frames, "frames[0]")? };
        let checked = (0..count)
            // SAFETY: `count` frames of `stride` bytes per the contract.
            .map(|i| unsafe { frame::frame(frames.cast::<u8>().add(i * stride).cast(), &format!("frames[{i}]")) })
            .map(|checked| checked.map(|c| c.frame))
            .collect::<Result<Vec<Frame<'_>>, CError>>()?;
        let result = engine.score_clip(&checked, fps)?;
        // SAFETY: forwarded contract.
        unsafe { write_clip(score, &result)? };
        Ok(VSRQA_OK)
    })
}

/// Starts a stream of frames (see `VsrqaSessionConfig` for blocking, non-blocking and windowed
/// sessions). On success `*session` owns it (free with `vsrqa_session_destroy`); on failure it is
/// set to NULL. Thread-safe on a shared engine.
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (the frame rate, window_seconds, queue_frames above 1024, an
/// unknown queue_full), VSRQA_ERROR_OUT_OF_MEMORY (no worker thread).
/// `engine` must be NULL or live; `config` NULL or a `VsrqaSessionConfig` of its `struct_size`;
/// `session` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_create(
    engine: *const VsrqaEngine,
    config: *const VsrqaSessionConfig,
    session: *mut *mut VsrqaSession,
) -> VsrqaStatus {
    guard(|| {
        if session.is_null() {
            return Err(CError::null("session"));
        }
        // SAFETY: non-NULL, writable.
        unsafe { *session = std::ptr::null_mut() };
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_ref(engine)? };
        // SAFETY: forwarded contract.
        let (config, _) = unsafe { abi::read(config, "config")? };
        let id = reentry::SessionId::new();
        let kind = session_kind(engine, &config, id)?;
        let boxed = Box::new(VsrqaSession { id, inner: Mutex::new(kind) });
        // SAFETY: non-NULL, writable.
        unsafe { *session = Box::into_raw(boxed) };
        Ok(VSRQA_OK)
    })
}

/// Most frames a non-blocking session queues.
const MAX_QUEUE_FRAMES: u32 = 1024;

fn session_kind(engine: &Engine, config: &VsrqaSessionConfig, id: reentry::SessionId) -> Result<SessionKind, CError> {
    let mut options = StreamOptions::new(config.fps);
    options.expected_frames = (config.expected_frames > 0).then_some(config.expected_frames);
    if config.window_seconds != 0.0 {
        options.window_frames = Some(StreamOptions::window_frames_for(config.window_seconds, config.fps)?);
    }
    if config.queue_frames > MAX_QUEUE_FRAMES {
        return Err(CError::new(
            VSRQA_ERROR_INVALID_ARGUMENT,
            format!("config->queue_frames is {}; at most {MAX_QUEUE_FRAMES}", config.queue_frames),
        ));
    }
    let when_full = match config.queue_full {
        VSRQA_QUEUE_FULL_BLOCK => WhenFull::Block,
        VSRQA_QUEUE_FULL_AGAIN => WhenFull::Refuse,
        other => {
            return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("config->queue_full is {other}; 0 or 1")))
        }
    };
    let mut stream = engine.stream(options)?;
    if let Some(callback) = config.score_callback {
        let user_data = CallerPointer(config.callback_user_data);
        stream.set_score_callback(Box::new(move |score| {
            let value = frame_score(score);
            let user_data = user_data;
            // SAFETY: the caller's callback; `value` lives through the call.
            unsafe { callback(user_data.0, &value) }
        }));
    }
    // A non-blocking session's callbacks run on its worker: calls on the session from there are
    // refused (reentry).
    stream.set_worker_start(Box::new(move || reentry::mark_worker(id)));
    let release = config
        .frame_release
        .map(|callback| ReleaseCallback { callback, user_data: CallerPointer(config.callback_user_data) });
    let stream = StreamRunner::start(stream, config.queue_frames as usize, when_full)?;
    Ok(SessionKind { stream, release })
}

/// Runs `call` (the export's name) on a session: refused when the thread is inside one of the
/// session's own callbacks (reentry), else under the session's lock.
///
/// # Safety
/// `session` must be NULL or live.
unsafe fn with_session<R>(
    session: *mut VsrqaSession,
    call: &str,
    body: impl FnOnce(&mut SessionKind) -> Result<R, CError>,
) -> Result<R, CError> {
    // SAFETY: live per the contract.
    let handle = unsafe { session.as_ref() }.ok_or_else(|| CError::null("session"))?;
    // Before the lock: a callback of this session runs while the lock is held, or while its owner
    // waits for the worker.
    let _inside = reentry::enter(handle.id, call)?;
    // A panic inside an earlier call may have poisoned the lock; the session's own state is
    // still consistent (it marks itself unusable on errors), so take it anyway.
    let mut guard = handle.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    body(&mut guard)
}

fn polled_status<T>(
    polled: vsrqa::Result<Polled<T>>,
    deliver: impl FnOnce(T) -> Result<(), CError>,
) -> Result<VsrqaStatus, CError> {
    match polled? {
        Polled::Ready(item) => deliver(item).map(|()| VSRQA_OK),
        Polled::Again => Ok(VSRQA_AGAIN),
        Polled::End => Ok(VSRQA_END),
    }
}

/// Pushes the next frame. A blocking session scores what the frame completes before returning
/// and reads the frame's memory during the call only; a non-blocking one checks and queues it and
/// returns at once (host memory is copied; device memory is read until `frame_release`). A
/// rejected frame leaves the session unchanged. In a non-blocking session, an error the worker
/// met with an earlier frame is returned here (or by the next poll or finish) instead.
/// A session's frames all have the first frame's width and height: a clip has one size. A frame
/// of another size (an adaptive stream switching resolution) is refused; finish the session for
/// the clip so far and score the new size in a new one. Format, matrix and range may change from
/// frame to frame. Frames are scored as given: a host whose stream carries a display rotation
/// (a phone's portrait video) rotates the frames before pushing them, as a player does.
/// Returns VSRQA_OK; VSRQA_AGAIN (non-blocking, queue full, VSRQA_QUEUE_FULL_AGAIN: the frame was
/// not taken, push it again); VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (sizes, pitches, colour tags; a size other than the first frame's;
/// a device frame in a non-blocking session without frame_release),
/// VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BACKEND (the
/// session is stopped from then on), VSRQA_ERROR_SESSION_FINISHED, VSRQA_ERROR_OUT_OF_MEMORY,
/// VSRQA_ERROR_INVALID_STATE (called from the session's own callback).
/// `session` must be NULL or live; `frame` as `vsrqa_score_frame` takes it.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_push(session: *mut VsrqaSession, frame: *const VsrqaFrame) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, "vsrqa_session_push", |kind| {
                let checked = frame::frame(frame, "frame")?;
                // A non-blocking session reads a device frame after push returns: it needs to say
                // when the planes are free again. Host frames are copied; blocking ones read now.
                let release = match (&checked.frame, kind.release) {
                    (Frame::Device(_), Some(callback)) if kind.stream.is_background() => {
                        Some(callback.for_frame(checked.opaque))
                    }
                    (Frame::Device(_), None) if kind.stream.is_background() => {
                        return Err(CError::new(
                            VSRQA_ERROR_INVALID_ARGUMENT,
                            "a non-blocking session takes frames in device memory only with a \
                             config->frame_release callback (it says when the planes are free again)",
                        ))
                    }
                    _ => None,
                };
                match kind.stream.push(&checked.frame, release)? {
                    Pushed::Queued => Ok(VSRQA_OK),
                    Pushed::QueueFull => Ok(VSRQA_AGAIN),
                }
            })
        }
    })
}

/// Returns the next ready key-frame score: VSRQA_OK with `*score` filled; VSRQA_AGAIN when none
/// is ready yet (push more frames, or finish); VSRQA_END when the session is finished and every
/// score has been returned. A session stopped by an error (a backend failure, or a finish that
/// failed) returns that error's status once its queued scores are drained, never VSRQA_AGAIN or
/// VSRQA_END, so that a drain loop always ends. With a score callback, scores go there instead
/// and poll only reports the session's state.
/// Returns VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_STATE (called from the session's own callback), and after a stop the
/// stop's status (VSRQA_ERROR_BACKEND, VSRQA_ERROR_INVALID_ARGUMENT,
/// VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_OUT_OF_MEMORY).
/// `session` must be NULL or live; `score` NULL or a `VsrqaFrameScore` of its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_poll(session: *mut VsrqaSession, score: *mut VsrqaFrameScore) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, "vsrqa_session_poll", |kind| {
                abi::caller_size(score, "score")?;
                polled_status(kind.stream.poll(), |item| abi::write(score, &frame_score(&item), "score"))
            })
        }
    })
}

/// Returns the next clip score: in a windowed session each window's once its last frame is
/// scored, else the whole stream's after `vsrqa_session_finish`. VSRQA_OK with `*score` filled,
/// VSRQA_AGAIN, VSRQA_END or a stop's error, as `vsrqa_session_poll`.
/// Returns VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_STATE (called from the session's own callback), and after a stop the
/// stop's status.
/// `session` must be NULL or live; `score` NULL or a `VsrqaClipScore` of its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_poll_clip(
    session: *mut VsrqaSession,
    score: *mut VsrqaClipScore,
) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, "vsrqa_session_poll_clip", |kind| {
                abi::caller_size(score, "score")?;
                polled_status(kind.stream.poll_clip(), |item| write_clip(score, &item))
            })
        }
    })
}

/// Ends the stream (waiting for a non-blocking session's queue) and writes the last clip score:
/// the whole stream's, or the last window's. Remaining key-frame scores become available to
/// `vsrqa_session_poll`. Once finish runs, the stream ends whether or not it succeeds: pushing
/// afterwards returns VSRQA_ERROR_SESSION_FINISHED, and after a failure poll returns the
/// failure's status. A call refused before it runs leaves the session as it was, so that finish
/// can be called again: a NULL session or score, a wrong `score->struct_size`, a call from the
/// session's own callback, or a non-blocking session's pending error from an earlier frame
/// (returned first).
/// Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
/// VSRQA_ERROR_INVALID_ARGUMENT (no frame was pushed), VSRQA_ERROR_UNSUPPORTED_FORMAT,
/// VSRQA_ERROR_BACKEND, VSRQA_ERROR_SESSION_FINISHED, VSRQA_ERROR_OUT_OF_MEMORY,
/// VSRQA_ERROR_INVALID_STATE (called from the session's own callback).
/// `session` must be NULL or live; `score` NULL or a `VsrqaClipScore` of its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_finish(session: *mut VsrqaSession, score: *mut VsrqaClipScore) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, "vsrqa_session_finish", |kind| {
                abi::caller_size(score, "score")?;
                let result = kind.stream.finish()?;
                write_clip(score, &result)?;
                Ok(VSRQA_OK)
            })
        }
    })
}

/// Frees a session. NULL is a no-op. A non-blocking session with frames still queued cancels
/// them (each frame in device memory gets its `frame_release`), waits for the frame being scored,
/// and returns. Called from inside one of the session's own callbacks it does nothing (the call
/// running the callback still uses the session; `vsrqa_last_error()` says so): destroy the
/// session once that call has returned.
/// `session` must be NULL or from `vsrqa_session_create`, not yet destroyed, not in use.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_destroy(session: *mut VsrqaSession) {
    guard(|| {
        if !session.is_null() {
            // SAFETY: live per the contract.
            let id = unsafe { (*session).id };
            // Refused from the session's own callbacks: the call running the callback still uses
            // the session. Inside while dropping: frame_release callbacks of cancelled frames run.
            let _inside = reentry::enter(id, "vsrqa_session_destroy")?;
            // SAFETY: from Box::into_raw, destroyed once.
            drop(unsafe { Box::from_raw(session) });
        }
        Ok(VSRQA_OK)
    });
}
