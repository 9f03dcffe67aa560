//! The structs and constants of `include/vsrqa.h`. Values that come from C are plain integer
//! typedefs with constants, never Rust enums, so that an out-of-range value is an error
//! instead of undefined behaviour.

use std::ffi::{c_char, c_void};

/// Major version of the C API: changes when the ABI breaks.
pub const VSRQA_API_VERSION_MAJOR: u32 = 0;
/// Minor version of the C API: changes when functions, constants or struct fields are added (2:
/// `VsrqaSessionConfig.expected_frames`; 3: `VSRQA_BACKEND_ONNXRUNTIME`; 4: `VSRQA_ERROR_OUT_OF_MEMORY`,
/// `VsrqaEngineConfig.cuda_graphs`; while the major version is 0, a grown struct is refused
/// from callers compiled against an older header with `VSRQA_ERROR_STRUCT_SIZE`).
pub const VSRQA_API_VERSION_MINOR: u32 = 4;

/// Pixel format of a `VsrqaFrame` (one of `VSRQA_PIXEL_FORMAT_*`).
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

/// YUV->RGB matrix (one of `VSRQA_COLOR_MATRIX_*`).
pub type VsrqaColorMatrix = u32;
/// Unspecified: BT.601, which is what the reference model's decoding used for every video.
pub const VSRQA_COLOR_MATRIX_UNSPECIFIED: VsrqaColorMatrix = 0;
pub const VSRQA_COLOR_MATRIX_BT601: VsrqaColorMatrix = 1;
pub const VSRQA_COLOR_MATRIX_BT709: VsrqaColorMatrix = 2;

/// YUV range (one of `VSRQA_COLOR_RANGE_*`).
pub type VsrqaColorRange = u32;
/// Unspecified: limited (16..235).
pub const VSRQA_COLOR_RANGE_UNSPECIFIED: VsrqaColorRange = 0;
pub const VSRQA_COLOR_RANGE_LIMITED: VsrqaColorRange = 1;
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
/// TensorRT when a library and a GPU are usable, else the CPU.
pub const VSRQA_BACKEND_AUTO: VsrqaBackend = 0;
/// The CPU backend (tract): always available.
pub const VSRQA_BACKEND_CPU: VsrqaBackend = 1;
/// TensorRT; VSRQA_ERROR_BACKEND_UNAVAILABLE where it cannot run.
pub const VSRQA_BACKEND_TENSORRT: VsrqaBackend = 2;
/// ONNX Runtime on the CPU (API minor version 3): the library is loaded at run time from
/// `$ORT_DYLIB_PATH` or the system's libonnxruntime.so; VSRQA_ERROR_BACKEND_UNAVAILABLE where it
/// cannot load. Several times faster than VSRQA_BACKEND_CPU (docs/performance.md).
pub const VSRQA_BACKEND_ONNXRUNTIME: VsrqaBackend = 3;

/// Log levels (one of `VSRQA_LOG_*`); a config's `log_level` is the most verbose delivered.
pub type VsrqaLogLevel = u32;
pub const VSRQA_LOG_NONE: VsrqaLogLevel = 0;
pub const VSRQA_LOG_ERROR: VsrqaLogLevel = 1;
pub const VSRQA_LOG_WARNING: VsrqaLogLevel = 2;
pub const VSRQA_LOG_INFO: VsrqaLogLevel = 3;
pub const VSRQA_LOG_DEBUG: VsrqaLogLevel = 4;

/// Receives log messages on the thread that made the vsrqa call. `message` is valid during the
/// call only. With one engine used from several threads, the callback must be thread-safe.
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
    /// (UTF-8; `vsrqa build-engines --cache-dir` prebuilds the engines there); NULL (default) = no cache.
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
}

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
    /// each) until `vsrqa_session_finish`. Pushing more frames, or finishing with fewer, is an
    /// error.
    pub expected_frames: u64,
}

/// One frame, described without copying: vsrqa reads the planes during the call only.
/// Initialize with `vsrqa_frame_default`, then set format, size and planes.
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

/// The score of a clip.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VsrqaClipScore {
    pub struct_size: usize,
    /// In [0, 1] for bundles with a sigmoid head.
    pub score: f64,
    /// Frames pushed.
    pub frames: u64,
    /// Key frames scored.
    pub key_frames: u32,
    /// Slots averaged (the bundle's key-frame count when it pads, else `key_frames`).
    pub pooled_slots: u32,
}
