//! The C ABI (`include/vsrqa.h`, generated from this module by cbindgen). No logic of its own:
//! every export checks its pointers and struct sizes, runs inside [`status::guard`] (no panic
//! crosses the boundary) and calls the engine.

mod frame;
pub mod status;
pub mod types;

use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, Mutex};

use crate::backend::BackendKind;
use crate::engine::{Engine, EngineOptions, LogLevel, Session};
use status::{guard, CError, VsrqaStatus, VsrqaStatus::*};
pub use types::*;

/// An engine: one loaded model bundle on one backend. Thread-safe: any number of threads may
/// call `vsrqa_score_frame`, `vsrqa_score_clip` and `vsrqa_session_create` on one engine at
/// the same time.
pub struct VsrqaEngine {
    engine: Engine,
}

/// A session: one stream of frames. Not for concurrent use: one thread at a time (calls from
/// several threads are serialized, never undefined, but their order is then arbitrary). May be
/// moved between threads.
pub struct VsrqaSession {
    session: Mutex<Session>,
}

/// Reads a caller's struct after checking the pointer and that `struct_size` is this
/// library's size for it.
///
/// # Safety
/// `pointer`, when not NULL, must point to at least `size_of::<usize>()` readable bytes, and to
/// a whole `T` when its first field says so.
pub(crate) unsafe fn read_struct<T: Copy>(pointer: *const T, what: &str) -> Result<T, CError> {
    if pointer.is_null() {
        return Err(CError::null(what));
    }
    // SAFETY: every vsrqa struct starts with `size_t struct_size`.
    let size = unsafe { std::ptr::read_unaligned(pointer.cast::<usize>()) };
    check_size::<T>(size, what)?;
    // SAFETY: the caller declared (and we checked) a whole `T`.
    Ok(unsafe { std::ptr::read_unaligned(pointer) })
}

fn check_size<T>(size: usize, what: &str) -> Result<(), CError> {
    let expected = std::mem::size_of::<T>();
    if size != expected {
        return Err(CError::new(
            VSRQA_ERROR_STRUCT_SIZE,
            format!(
                "{what}->struct_size is {size}, this vsrqa {} expects {expected}: initialize it with its _default function, and compile against the matching vsrqa.h",
                crate::VERSION
            ),
        ));
    }
    Ok(())
}

/// Writes a result struct after checking that the caller's `struct_size` matches.
///
/// # Safety
/// As [`read_struct`], and the memory must be writable.
unsafe fn write_struct<T>(pointer: *mut T, value: T, what: &str) -> Result<(), CError> {
    if pointer.is_null() {
        return Err(CError::null(what));
    }
    // SAFETY: as in `read_struct`.
    let size = unsafe { std::ptr::read_unaligned(pointer.cast::<usize>()) };
    check_size::<T>(size, what)?;
    // SAFETY: a whole writable `T`, checked above.
    unsafe { std::ptr::write_unaligned(pointer, value) };
    Ok(())
}

/// Checks a result struct before any work is done, so that a caller's mistake costs nothing.
///
/// # Safety
/// As [`write_struct`].
unsafe fn check_result_struct<T>(pointer: *mut T, what: &str) -> Result<(), CError> {
    if pointer.is_null() {
        return Err(CError::null(what));
    }
    // SAFETY: as in `read_struct`.
    let size = unsafe { std::ptr::read_unaligned(pointer.cast::<usize>()) };
    check_size::<T>(size, what)
}

/// Fills a struct with its defaults, refusing a size this library does not know.
///
/// # Safety
/// `pointer` must be NULL or point to `struct_size` writable bytes.
unsafe fn write_default<T>(pointer: *mut T, struct_size: usize, value: T, what: &str) -> VsrqaStatus {
    guard(|| {
        if pointer.is_null() {
            return Err(CError::null(what));
        }
        check_size::<T>(struct_size, what)?;
        // SAFETY: `struct_size` writable bytes, and that is a whole `T`.
        unsafe { std::ptr::write_unaligned(pointer, value) };
        Ok(VSRQA_OK)
    })
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

/// The library version, e.g. "0.1.0". Static storage.
#[no_mangle]
pub extern "C" fn vsrqa_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
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

/// Fills `config` with defaults. Call as `vsrqa_engine_config_default(&config, sizeof config)`.
///
/// # Safety
/// `config` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_engine_config_default(
    config: *mut VsrqaEngineConfig,
    struct_size: usize,
) -> VsrqaStatus {
    let value = VsrqaEngineConfig {
        struct_size: std::mem::size_of::<VsrqaEngineConfig>(),
        bundle_path: std::ptr::null(),
        backend: VSRQA_BACKEND_AUTO,
        device: -1,
        cuda_stream: std::ptr::null_mut(),
        cache_dir: std::ptr::null(),
        threads: 0,
        log_level: VSRQA_LOG_WARNING,
        log_callback: None,
        log_user_data: std::ptr::null_mut(),
        cuda_graphs: 0,
    };
    // SAFETY: forwarded contract.
    unsafe { write_default(config, struct_size, value, "config") }
}

/// Fills `config` with defaults (fps 25). Call with `sizeof config`.
///
/// # Safety
/// `config` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_config_default(
    config: *mut VsrqaSessionConfig,
    struct_size: usize,
) -> VsrqaStatus {
    let value =
        VsrqaSessionConfig { struct_size: std::mem::size_of::<VsrqaSessionConfig>(), fps: 25.0, expected_frames: 0 };
    // SAFETY: forwarded contract.
    unsafe { write_default(config, struct_size, value, "config") }
}

/// Fills `frame` with defaults (no format, no planes, host memory, unspecified color).
///
/// # Safety
/// `frame` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_frame_default(frame: *mut VsrqaFrame, struct_size: usize) -> VsrqaStatus {
    let value = VsrqaFrame {
        struct_size: std::mem::size_of::<VsrqaFrame>(),
        format: 0,
        width: 0,
        height: 0,
        color_matrix: VSRQA_COLOR_MATRIX_UNSPECIFIED,
        color_range: VSRQA_COLOR_RANGE_UNSPECIFIED,
        memory: VSRQA_MEMORY_HOST,
        planes: [std::ptr::null(); 3],
        pitches: [0; 3],
    };
    // SAFETY: forwarded contract.
    unsafe { write_default(frame, struct_size, value, "frame") }
}

/// Prepares a result struct: sets `struct_size`, zeroes the rest.
///
/// # Safety
/// `score` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_frame_score_default(score: *mut VsrqaFrameScore, struct_size: usize) -> VsrqaStatus {
    let value = VsrqaFrameScore {
        struct_size: std::mem::size_of::<VsrqaFrameScore>(),
        frame_index: 0,
        key_frame: 0,
        score: 0.0,
    };
    // SAFETY: forwarded contract.
    unsafe { write_default(score, struct_size, value, "score") }
}

/// Prepares a result struct: sets `struct_size`, zeroes the rest.
///
/// # Safety
/// `score` must be NULL or point to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_clip_score_default(score: *mut VsrqaClipScore, struct_size: usize) -> VsrqaStatus {
    let value = VsrqaClipScore {
        struct_size: std::mem::size_of::<VsrqaClipScore>(),
        score: 0.0,
        frames: 0,
        key_frames: 0,
        pooled_slots: 0,
    };
    // SAFETY: forwarded contract.
    unsafe { write_default(score, struct_size, value, "score") }
}

/// The caller's log callback and its cookie, made shareable across the engine's threads (the
/// header documents that the callback must then be thread-safe).
struct CallbackLogger {
    callback: unsafe extern "C" fn(*mut c_void, VsrqaLogLevel, *const c_char),
    user_data: *mut c_void,
    max_level: VsrqaLogLevel,
}

// SAFETY: the header requires a thread-safe callback and user_data when an engine is shared.
unsafe impl Send for CallbackLogger {}
// SAFETY: as above.
unsafe impl Sync for CallbackLogger {}

impl CallbackLogger {
    fn log(&self, level: LogLevel, message: &str) {
        let level = level as VsrqaLogLevel;
        if level > self.max_level {
            return;
        }
        if let Ok(text) = std::ffi::CString::new(message.replace('\0', " ")) {
            // SAFETY: a valid callback per the contract; `text` lives through the call.
            unsafe { (self.callback)(self.user_data, level, text.as_ptr()) };
        }
    }
}

/// Loads a model bundle and prepares its networks on the chosen backend. On success `*engine`
/// owns the engine (free it with `vsrqa_engine_destroy`); on failure it is set to NULL.
///
/// # Safety
/// `config` must be NULL or a valid `VsrqaEngineConfig`; `engine` NULL or writable.
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
        let config = unsafe { read_struct(config, "config")? };
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
        if config.log_level > VSRQA_LOG_DEBUG {
            return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, format!("unknown log level {}", config.log_level)));
        }
        let cache_dir = if config.cache_dir.is_null() {
            None
        } else {
            // SAFETY: NUL-terminated per the contract.
            Some(std::path::PathBuf::from(unsafe { utf8(config.cache_dir, "config->cache_dir")? }))
        };
        let gpu = crate::backend::GpuOptions {
            device: usize::try_from(config.device).ok(),
            stream: (!config.cuda_stream.is_null()).then_some(config.cuda_stream as usize),
            cache_dir,
            cuda_graphs: config.cuda_graphs == 1,
        };
        let logger = config.log_callback.map(|callback| {
            let logger = CallbackLogger { callback, user_data: config.log_user_data, max_level: config.log_level };
            Arc::new(move |level: LogLevel, message: &str| logger.log(level, message)) as crate::engine::Logger
        });
        let options =
            EngineOptions { backend, threads: config.threads as usize, logger, gpu, ..EngineOptions::default() };
        let created = Engine::new(bundle_path, options)?;
        let gpu_settings = !config.cuda_stream.is_null() || config.device >= 0 || config.cuda_graphs == 1;
        if gpu_settings && created.backend() != BackendKind::TensorRt {
            created.log(LogLevel::Warning, "cuda_stream/device/cuda_graphs are ignored by the CPU backends");
        }
        let boxed = Box::new(VsrqaEngine { engine: created });
        // SAFETY: non-NULL, writable per the contract.
        unsafe { *engine = Box::into_raw(boxed) };
        Ok(VSRQA_OK)
    })
}

/// Frees an engine. NULL is a no-op. Sessions created from it stay valid (they keep what they
/// need alive) and must still be destroyed.
///
/// # Safety
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

/// Scores a single frame as a one-frame clip. `score` must be prepared with
/// `vsrqa_frame_score_default`. Thread-safe on a shared engine.
///
/// # Safety
/// Valid pointers as documented on each struct.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_score_frame(
    engine: *const VsrqaEngine,
    frame: *const VsrqaFrame,
    score: *mut VsrqaFrameScore,
) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        let engine = unsafe { engine_ref(engine)? };
        // SAFETY: forwarded contract.
        unsafe { check_result_struct(score, "score")? };
        // SAFETY: forwarded contract.
        let frame = unsafe { frame::frame(frame, "frame")? };
        // A one-frame clip, as Engine::score_frame.
        let mut session = engine.session(1.0)?;
        frame.push_to(&mut session)?;
        session.finish()?;
        let result = session
            .poll()
            .ok_or_else(|| crate::error::Error::Backend("a one-frame clip produced no frame score".into()))?;
        let value = VsrqaFrameScore {
            struct_size: std::mem::size_of::<VsrqaFrameScore>(),
            frame_index: result.frame_index,
            key_frame: result.key_frame,
            score: result.score,
        };
        // SAFETY: forwarded contract.
        unsafe { write_struct(score, value, "score")? };
        Ok(VSRQA_OK)
    })
}

/// Scores `count` frames of one clip at `fps` frames per second: the same result as pushing
/// them through a session. `score` must be prepared with `vsrqa_clip_score_default`.
/// Thread-safe on a shared engine.
///
/// # Safety
/// `frames` must point to `count` valid `VsrqaFrame`s; other pointers as documented.
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
        unsafe { check_result_struct(score, "score")? };
        if count == 0 {
            return Err(CError::new(VSRQA_ERROR_INVALID_ARGUMENT, "count is 0: a clip needs at least one frame"));
        }
        let mut session = engine.session(fps)?;
        for i in 0..count {
            // SAFETY: `count` frames per the contract.
            let frame = unsafe { frame::frame(frames.add(i), &format!("frames[{i}]"))? };
            frame.push_to(&mut session)?;
        }
        let result = session.finish()?;
        // SAFETY: forwarded contract.
        unsafe { write_struct(score, clip_score(result), "score")? };
        Ok(VSRQA_OK)
    })
}

fn clip_score(result: crate::engine::ClipScore) -> VsrqaClipScore {
    VsrqaClipScore {
        struct_size: std::mem::size_of::<VsrqaClipScore>(),
        score: result.score,
        frames: result.frames,
        key_frames: result.key_frames,
        pooled_slots: result.pooled_slots,
    }
}

/// Starts a stream of frames. On success `*session` owns it (free with
/// `vsrqa_session_destroy`); on failure it is set to NULL. Thread-safe on a shared engine.
///
/// # Safety
/// Valid pointers as documented.
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
        let config = unsafe { read_struct(config, "config")? };
        let mut created = engine.session(config.fps)?;
        if config.expected_frames > 0 {
            created.set_expected_frames(config.expected_frames)?;
        }
        let boxed = Box::new(VsrqaSession { session: Mutex::new(created) });
        // SAFETY: non-NULL, writable.
        unsafe { *session = Box::into_raw(boxed) };
        Ok(VSRQA_OK)
    })
}

/// # Safety
/// `session` must be NULL or live.
unsafe fn with_session<R>(
    session: *mut VsrqaSession,
    body: impl FnOnce(&mut Session) -> Result<R, CError>,
) -> Result<R, CError> {
    // SAFETY: live per the contract.
    let handle = unsafe { session.as_ref() }.ok_or_else(|| CError::null("session"))?;
    // A panic inside an earlier call may have poisoned the lock; the session's own state is
    // still consistent (it marks itself unusable on errors), so take it anyway.
    let mut guard = handle.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    body(&mut guard)
}

/// Pushes the next frame. The frame's memory is read during the call only. Scores that become
/// ready are returned by `vsrqa_session_poll`. A rejected frame leaves the session unchanged.
///
/// # Safety
/// Valid pointers as documented.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_push(session: *mut VsrqaSession, frame: *const VsrqaFrame) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, |s| {
                frame::frame(frame, "frame")?.push_to(s)?;
                Ok(VSRQA_OK)
            })
        }
    })
}

/// Returns the next ready key-frame score: `VSRQA_OK` with `*score` filled, `VSRQA_AGAIN` when
/// none is ready yet, `VSRQA_END` when the session is finished and drained. After a push or
/// finish failed with a backend error the session is stopped: once the scores queued before
/// it are drained, poll returns `VSRQA_ERROR_BACKEND` (never `VSRQA_END`).
///
/// # Safety
/// Valid pointers as documented; `score` prepared with `vsrqa_frame_score_default`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_poll(session: *mut VsrqaSession, score: *mut VsrqaFrameScore) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, |s| {
                if score.is_null() {
                    return Err(CError::null("score"));
                }
                let size = std::ptr::read_unaligned(score.cast::<usize>());
                check_size::<VsrqaFrameScore>(size, "score")?;
                match s.poll() {
                    Some(result) => {
                        let value = VsrqaFrameScore {
                            struct_size: size,
                            frame_index: result.frame_index,
                            key_frame: result.key_frame,
                            score: result.score,
                        };
                        write_struct(score, value, "score")?;
                        Ok(VSRQA_OK)
                    }
                    None if s.is_finished() => Ok(VSRQA_END),
                    // A session stopped by an error will never end: say so instead of AGAIN.
                    None if s.failure().is_some() => Err(crate::Error::Backend(format!(
                        "the session stopped after an error and has no more scores: {}",
                        s.failure().unwrap_or_default()
                    ))
                    .into()),
                    None => Ok(VSRQA_AGAIN),
                }
            })
        }
    })
}

/// Ends the stream and writes the clip score. Remaining key-frame scores become available to
/// `vsrqa_session_poll`. Pushing afterwards returns `VSRQA_ERROR_SESSION_FINISHED`.
///
/// # Safety
/// Valid pointers as documented; `score` prepared with `vsrqa_clip_score_default`.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_finish(session: *mut VsrqaSession, score: *mut VsrqaClipScore) -> VsrqaStatus {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe {
            with_session(session, |s| {
                if score.is_null() {
                    return Err(CError::null("score"));
                }
                let size = std::ptr::read_unaligned(score.cast::<usize>());
                check_size::<VsrqaClipScore>(size, "score")?;
                let result = s.finish()?;
                write_struct(score, clip_score(result), "score")?;
                Ok(VSRQA_OK)
            })
        }
    })
}

/// Frees a session. NULL is a no-op.
///
/// # Safety
/// `session` must be NULL or from `vsrqa_session_create`, not yet destroyed, not in use.
#[no_mangle]
pub unsafe extern "C" fn vsrqa_session_destroy(session: *mut VsrqaSession) {
    guard(|| {
        if !session.is_null() {
            // SAFETY: from Box::into_raw, destroyed once.
            drop(unsafe { Box::from_raw(session) });
        }
        Ok(VSRQA_OK)
    });
}
