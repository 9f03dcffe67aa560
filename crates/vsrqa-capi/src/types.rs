//! The structs and constants of `include/vsrqa.h`. Values that come from C are plain integer
//! typedefs with constants, never Rust enums, so that an out-of-range value is an error
//! instead of undefined behaviour.

use std::ffi::{c_char, c_void};

/// Major version of the C API: changes when the ABI breaks (and with it the SONAME,
/// libvsrqa.so.<major>). The one definition: build.rs, CMakeLists.txt and the header read it here.
pub const VSRQA_API_VERSION_MAJOR: u32 = 1;
/// Minor version of the C API: changes when functions, constants or struct fields are added. A
/// program built against an older minor runs unchanged with a newer library.
pub const VSRQA_API_VERSION_MINOR: u32 = 1;
/// Patch version of the C API: changes for fixes that add nothing.
pub const VSRQA_API_VERSION_PATCH: u32 = 0;
/// The API version as one number, `major << 16 | minor << 8 | patch`, as `vsrqa_version_api()`
/// returns it for the library loaded at run time.
pub const VSRQA_API_VERSION: u32 =
    (VSRQA_API_VERSION_MAJOR << 16) | (VSRQA_API_VERSION_MINOR << 8) | VSRQA_API_VERSION_PATCH;

/// Pixel format of a `VsrqaFrame` (one of `VSRQA_PIXEL_FORMAT_*`).
// The codes are the core's pixel-format table's (src/frame/format.rs); tests/header.rs checks.
pub type VsrqaPixelFormat = u32;
/// Packed 8-bit R, G, B.
pub const VSRQA_PIXEL_FORMAT_RGB24: VsrqaPixelFormat = 1;
/// Packed 8-bit B, G, R (OpenCV's order).
pub const VSRQA_PIXEL_FORMAT_BGR24: VsrqaPixelFormat = 2;
/// Packed 8-bit R, G, B, A (alpha ignored).
pub const VSRQA_PIXEL_FORMAT_RGBA32: VsrqaPixelFormat = 3;
/// Packed 8-bit B, G, R, A (alpha ignored).
pub const VSRQA_PIXEL_FORMAT_BGRA32: VsrqaPixelFormat = 4;
/// Planar 4:2:0, 8 bits: planes Y, U, V (FFmpeg yuv420p).
pub const VSRQA_PIXEL_FORMAT_I420: VsrqaPixelFormat = 10;
/// Semi-planar 4:2:0, 8 bits: planes Y, interleaved UV.
pub const VSRQA_PIXEL_FORMAT_NV12: VsrqaPixelFormat = 11;
/// Planar 4:2:0, 10 bits in the low bits of little-endian 16-bit samples (yuv420p10le).
pub const VSRQA_PIXEL_FORMAT_I420_10LE: VsrqaPixelFormat = 20;
/// Semi-planar 4:2:0, 10 bits in the high bits of little-endian 16-bit samples.
pub const VSRQA_PIXEL_FORMAT_P010: VsrqaPixelFormat = 21;

/// YUV->RGB matrix: ITU-T H.273 MatrixCoefficients, the values of FFmpeg's `AVColorSpace`, so
/// that `avframe->colorspace` can be copied as is. Ignored for RGB formats. Values H.273 defines
/// that vsrqa does not implement (0 identity, 4 FCC, 7 SMPTE 240M, 8 YCgCo, 10 and up) are
/// refused with VSRQA_ERROR_UNSUPPORTED_FORMAT, other values with VSRQA_ERROR_INVALID_ARGUMENT.
/// (A `VsrqaFrame` of the 0.x size, from a program built against a 0.x header, keeps the 0.x
/// values: 0 unspecified, 1 BT.601, 2 BT.709.)
pub type VsrqaColorMatrix = u32;
pub const VSRQA_COLOR_MATRIX_BT709: VsrqaColorMatrix = 1;
/// Unspecified (the default): BT.601, which is what the reference model's decoding used for every
/// video. 3 (H.273's "reserved", which some encoders write for unknown) is read the same way.
pub const VSRQA_COLOR_MATRIX_UNSPECIFIED: VsrqaColorMatrix = 2;
/// BT.601 625-line (BT.470 B/G): the BT.601 matrix.
pub const VSRQA_COLOR_MATRIX_BT470BG: VsrqaColorMatrix = 5;
/// BT.601 525-line (SMPTE 170M): the BT.601 matrix, as VSRQA_COLOR_MATRIX_BT470BG.
pub const VSRQA_COLOR_MATRIX_BT601: VsrqaColorMatrix = 6;
/// BT.2020 non-constant luminance.
pub const VSRQA_COLOR_MATRIX_BT2020_NCL: VsrqaColorMatrix = 9;

/// YUV range: FFmpeg's `AVColorRange` values, so that `avframe->color_range` can be copied.
/// Ignored for RGB formats.
pub type VsrqaColorRange = u32;
/// Unspecified (the default): limited.
pub const VSRQA_COLOR_RANGE_UNSPECIFIED: VsrqaColorRange = 0;
/// Limited ("TV", "MPEG"): Y 16..235, chroma 16..240 at 8 bits (times 4 at 10 bits).
pub const VSRQA_COLOR_RANGE_LIMITED: VsrqaColorRange = 1;
/// Full ("PC", "JPEG"): 0..255 (0..1023 at 10 bits).
pub const VSRQA_COLOR_RANGE_FULL: VsrqaColorRange = 2;

/// Where a frame's planes live (one of `VSRQA_MEMORY_*`).
pub type VsrqaMemory = u32;
/// Host (CPU) memory.
pub const VSRQA_MEMORY_HOST: VsrqaMemory = 0;
/// CUDA device memory of the engine's GPU (e.g. NVDEC output): converted and preprocessed there,
/// never copied to the host. Needs the `tensorrt` backend; other backends return
/// VSRQA_ERROR_UNSUPPORTED_FORMAT.
pub const VSRQA_MEMORY_CUDA: VsrqaMemory = 1;

/// Backend selection (one of `VSRQA_BACKEND_*`).
pub type VsrqaBackend = u32;
/// The fastest backend usable here: TensorRT when a library and a GPU are usable, else ONNX
/// Runtime when its library loads, else the CPU (tract). A bundle with bf16 networks takes
/// TensorRT, one with int8_dynamic networks ONNX Runtime: the one backend that runs them.
pub const VSRQA_BACKEND_AUTO: VsrqaBackend = 0;
/// The CPU backend (tract): always available. It runs fp32 networks only: a bundle with networks
/// in another precision (docs/precision.md) gives VSRQA_ERROR_BACKEND_UNAVAILABLE.
pub const VSRQA_BACKEND_CPU: VsrqaBackend = 1;
/// TensorRT; VSRQA_ERROR_BACKEND_UNAVAILABLE where it cannot run.
pub const VSRQA_BACKEND_TENSORRT: VsrqaBackend = 2;
/// ONNX Runtime on the CPU (API minor version 3): the library is loaded at run time from
/// `$ORT_DYLIB_PATH`, else the newest one scripts/onnxruntime-lib.sh put in
/// `${XDG_CACHE_HOME:-~/.cache}/vsrqa/`, else the system's libonnxruntime.so;
/// VSRQA_ERROR_BACKEND_UNAVAILABLE where it cannot load, or for a bundle with bf16 networks (no
/// bf16 kernels on the CPU). Several times faster than VSRQA_BACKEND_CPU (docs/performance.md).
pub const VSRQA_BACKEND_ONNXRUNTIME: VsrqaBackend = 3;

/// Log levels (one of `VSRQA_LOG_*`); a config's `log_level` is the most verbose delivered.
pub type VsrqaLogLevel = u32;
pub const VSRQA_LOG_NONE: VsrqaLogLevel = 0;
pub const VSRQA_LOG_ERROR: VsrqaLogLevel = 1;
pub const VSRQA_LOG_WARNING: VsrqaLogLevel = 2;
pub const VSRQA_LOG_INFO: VsrqaLogLevel = 3;
pub const VSRQA_LOG_DEBUG: VsrqaLogLevel = 4;

/// Receives log messages on the thread doing the work that logs: the thread that made the vsrqa
/// call, or a non-blocking session's worker thread for what it logs while scoring queued frames.
/// `message` is valid during the call only. The callback must be thread-safe when the engine is
/// used from several threads or has non-blocking sessions. It may call vsrqa, except on the
/// session whose work it reports: such calls are refused with VSRQA_ERROR_INVALID_STATE.
pub type VsrqaLogCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: VsrqaLogLevel, message: *const c_char)>;

/// How to create an engine. Initialize with `vsrqa_engine_config_default`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaEngineConfig {
    /// `sizeof(VsrqaEngineConfig)`, set by `vsrqa_engine_config_default`.
    pub struct_size: usize,
    /// Path of the model bundle directory (UTF-8). Required; copied, need not outlive the call.
    pub bundle_path: *const c_char,
    /// Default `VSRQA_BACKEND_AUTO`.
    pub backend: VsrqaBackend,
    /// CUDA device ordinal for GPU backends; -1 (default) = the device of the calling thread's
    /// current context (device 0 when none is current).
    pub device: i32,
    /// The caller's `CUstream` for GPU backends: a stream of that device's primary context (the
    /// one the CUDA runtime uses), alive until the engine is destroyed. Every copy and launch is
    /// enqueued there; NULL (default) = the engine creates a stream of its own (never the legacy
    /// default stream). Ignored by the CPU backends.
    pub cuda_stream: *mut c_void,
    /// Directory for cached GPU engines and, on TensorRT-RTX, the kernels compiled for this GPU
    /// (UTF-8; `vsrqa build-engines --cache-dir` prebuilds the engines there), and for the
    /// `onnxruntime` backend's optimized graphs (`onnxruntime/` in it: a later engine loads them
    /// instead of optimizing each network again); NULL (default) = no cache.
    pub cache_dir: *const c_char,
    /// CPU threads per network run; 0 (default) = all cores; at most 1024.
    pub threads: u32,
    /// Most verbose level delivered to `log_callback`; default `VSRQA_LOG_WARNING`.
    pub log_level: VsrqaLogLevel,
    /// NULL (default): nothing is logged anywhere.
    pub log_callback: VsrqaLogCallback,
    /// Passed back to `log_callback`.
    pub log_user_data: *mut c_void,
    /// 1: the `tensorrt` backend replays each network's kernels as a CUDA graph, captured for the
    /// batch size in use, which costs less CPU time per run than launching them one by one; `cuda_stream` must then
    /// not be capturing a graph of the caller's during vsrqa calls. 0 (default): plain launches.
    /// Other values are refused. Ignored by the CPU backends.
    pub cuda_graphs: u32,
    /// Since API 1.1 (these four bytes were padding in 1.0 and the must-be-zero `reserved` in
    /// 1.0.1, which refuses another value with VSRQA_ERROR_STRUCT_SIZE). How YUV frames become
    /// RGB: `VSRQA_COLOR_CONVERSION_BUNDLE` (default: the bundle's own), `_REFERENCE` or `_EXACT`.
    /// Other values are refused.
    pub color_conversion: VsrqaColorConversion,
    /// Since API 1.1. An ensemble bundle's members to run, by name, comma-separated (`"m0,m3"`;
    /// UTF-8, copied); NULL (default): all of them. Scores are the chosen members' mean; each
    /// member's spatial network is the only cost it adds. Unknown names, and a choice on a bundle
    /// that is not an ensemble, are refused with VSRQA_ERROR_INVALID_ARGUMENT.
    pub members: *const c_char,
}

/// Receives each key-frame score as it becomes ready (when a session config sets it, instead of
/// `vsrqa_session_poll`). Blocking sessions call it on the thread that pushes or finishes;
/// non-blocking ones on their worker thread. `score` is valid during the call only. Calls on the
/// same session from inside it are refused with VSRQA_ERROR_INVALID_STATE (destroy does nothing);
/// other sessions and engines may be used.
pub type VsrqaScoreCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, score: *const VsrqaFrameScore)>;

/// Told that vsrqa no longer reads a frame in CUDA device memory that a non-blocking session took:
/// its planes may be reused. `frame_opaque` is the frame's `opaque`. Called on the session's worker
/// thread, or in `vsrqa_session_destroy` for frames cancelled there. Calls on the same session from
/// inside it are refused with VSRQA_ERROR_INVALID_STATE (destroy does nothing).
pub type VsrqaFrameReleaseCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, frame_opaque: *mut c_void)>;

/// What a non-blocking `vsrqa_session_push` does when the queue is full (one of
/// `VSRQA_QUEUE_FULL_*`).
pub type VsrqaQueueFull = u32;
/// Wait until the session's worker takes a frame (the default).
pub const VSRQA_QUEUE_FULL_BLOCK: VsrqaQueueFull = 0;
/// Return VSRQA_AGAIN at once without taking the frame: push it again later.
pub const VSRQA_QUEUE_FULL_AGAIN: VsrqaQueueFull = 1;

/// How to start a session. Initialize with `vsrqa_session_config_default`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaSessionConfig {
    pub struct_size: usize,
    /// Frames per second of the stream (> 0); key frames are every `round(fps)` frames.
    /// Default 25.
    pub fps: f64,
    /// The number of frames the clip will have, when known (0, the default: unknown). Clip-level
    /// branches (FAST-VQA) sample frames over the whole clip: knowing the length lets them keep
    /// only those frames and score before the end; otherwise they keep every frame (about 150 KB
    /// each, up to 4 GiB; use `window_seconds` for long or live streams) until
    /// `vsrqa_session_finish`. A clip that ends earlier or later still gets a score, flagged in
    /// `VsrqaClipScore.flags` (see there for how it is sampled).
    pub expected_frames: u64,
    /// Since API 1.0. 0 (default): the stream is one clip. Above 0: a windowed stream, for live
    /// and long streams: every `round(window_seconds * fps)` frames (at least 1) form a clip of
    /// their own, scored as the reference scores a clip, and returned by
    /// `vsrqa_session_poll_clip`; memory stays constant. Key frames restart at each window.
    pub window_seconds: f64,
    /// Since API 1.0. 0 (default): a blocking session, `vsrqa_session_push` scores before it
    /// returns. Above 0: a non-blocking session with a queue of this many frames: push checks and
    /// queues the frame and returns at once while the session's worker thread scores (host frames
    /// are copied; frames in device memory are read until `frame_release` is called). Scores are
    /// the blocking session's, frame for frame. At most 1024.
    pub queue_frames: u32,
    /// Since API 1.0. A non-blocking push on a full queue: `VSRQA_QUEUE_FULL_BLOCK` (default) or
    /// `VSRQA_QUEUE_FULL_AGAIN`.
    pub queue_full: VsrqaQueueFull,
    /// Since API 1.0. NULL (default): scores wait for `vsrqa_session_poll`.
    pub score_callback: VsrqaScoreCallback,
    /// Since API 1.0. Required for frames in device memory in a non-blocking session.
    pub frame_release: VsrqaFrameReleaseCallback,
    /// Since API 1.0. Passed back to `score_callback` and `frame_release`.
    pub callback_user_data: *mut c_void,
}

/// One frame, described without copying. Initialize with `vsrqa_frame_default`, then set format,
/// size, planes and pitches. Width and height are 1..16384. 10-bit formats use the low (I420_10LE)
/// or high (P010) 10 bits of each sample; the other bits are ignored.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaFrame {
    pub struct_size: usize,
    pub format: VsrqaPixelFormat,
    pub width: u32,
    pub height: u32,
    /// Default `VSRQA_COLOR_MATRIX_UNSPECIFIED`; ignored for RGB formats.
    pub color_matrix: VsrqaColorMatrix,
    /// Default `VSRQA_COLOR_RANGE_UNSPECIFIED`; ignored for RGB formats.
    pub color_range: VsrqaColorRange,
    /// Default `VSRQA_MEMORY_HOST`.
    pub memory: VsrqaMemory,
    /// Plane pointers: 1 for packed RGB, 2 for NV12/P010, 3 for I420; unused ones ignored.
    pub planes: [*const c_void; 3],
    /// Bytes from one row to the next, per plane; at least the row's size.
    pub pitches: [usize; 3],
    /// Since API 1.0. The caller's own, passed to the session's `frame_release`; default NULL.
    pub opaque: *mut c_void,
}

/// The score of one key frame.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaFrameScore {
    pub struct_size: usize,
    /// Index of the key frame in the stream (0-based, push order).
    pub frame_index: u64,
    /// Ordinal of the key frame among key frames.
    pub key_frame: u32,
    /// In [0, 1] for bundles with a sigmoid head.
    pub score: f64,
}

/// `VsrqaClipScore.flags`: the clip ended before `expected_frames`. Clip branches (FAST-VQA) then
/// sample the frames the real length samples, each replaced by the nearest frame kept (the frames
/// sampled for the announced length, and the latest key frame); the closer the announced length,
/// the closer the score to an exact one (a frame off: the same frames or their neighbours).
/// How YUV frames become RGB (one of `VSRQA_COLOR_CONVERSION_*`; docs/branches.md, "Decoding").
pub type VsrqaColorConversion = u32;
/// The bundle's own (its manifest's `color_conversion`; `reference` when it names none).
pub const VSRQA_COLOR_CONVERSION_BUNDLE: VsrqaColorConversion = 0;
/// The frames the reference's OpenCV reader gave, which the published weights were trained on:
/// BT.601 whatever the tags say.
pub const VSRQA_COLOR_CONVERSION_REFERENCE: VsrqaColorConversion = 1;
/// Each frame's own matrix and range, in floating point.
pub const VSRQA_COLOR_CONVERSION_EXACT: VsrqaColorConversion = 2;

pub const VSRQA_CLIP_ENDED_EARLY: u32 = 1;
/// `VsrqaClipScore.flags`: the clip went on past `expected_frames`. Clip branches sampled the
/// first `expected_frames` frames; key-frame and window branches scored every frame.
pub const VSRQA_CLIP_ENDED_LATE: u32 = 2;

/// The score of a clip: a whole stream, or one window of a windowed stream.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaClipScore {
    pub struct_size: usize,
    /// In [0, 1] for bundles with a sigmoid head.
    pub score: f64,
    /// Frames in the clip.
    pub frames: u64,
    /// Key frames scored.
    pub key_frames: u32,
    /// Slots averaged (the bundle's key-frame count when it pads, else `key_frames`).
    pub pooled_slots: u32,
    /// Since API 1.0. Index in the stream of the clip's first frame (a window's start; else 0).
    pub first_frame: u64,
    /// Since API 1.0. The length the clip was announced with (0: none): the session's
    /// `expected_frames`, or a window's length.
    pub expected_frames: u64,
    /// Since API 1.0. Ordinal of the window in a windowed stream (else 0).
    pub window: u32,
    /// Since API 1.0. `VSRQA_CLIP_*` bits; 0 for a clip scored exactly as the reference does.
    pub flags: u32,
    /// Since API 1.1. The ensemble members whose mean `score` is (0 when the bundle is not an
    /// ensemble); `vsrqa_engine_member` names them.
    pub member_count: u32,
    /// Since API 1.1. Set by the caller: how many doubles `member_scores` holds.
    pub member_scores_capacity: u32,
    /// Since API 1.1. Set by the caller: NULL (default), or an array of `member_scores_capacity`
    /// doubles that receives each member's own clip score, in `vsrqa_engine_member` order (the
    /// first `min(member_count, member_scores_capacity)`; the rest is left as it was). Kept as the
    /// caller set it, so one struct can be reused for every clip.
    pub member_scores: *mut f64,
    /// Since API 1.1. The standard deviation of the members' scores (over the `member_count`
    /// members; 0 below two): a cheap estimate of how sure the ensemble is.
    pub member_spread: f64,
}
