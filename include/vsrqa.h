/*
 * vsrqa — learned quality metric for super-resolved video.
 *
 * The C API in a dozen lines (the same as README.md's, checked by tests/header.rs):
 *
 *   VsrqaEngineConfig cfg;  vsrqa_engine_config_default(&cfg, sizeof cfg);
 *   cfg.bundle_path = "tests/data/tiny_bundle";
 *   VsrqaEngine *engine;    if (vsrqa_engine_create(&cfg, &engine) < 0) { puts(vsrqa_last_error()); return 1; }
 *   VsrqaSessionConfig sc;  vsrqa_session_config_default(&sc, sizeof sc);  sc.fps = 30.0;
 *   VsrqaSession *session;  vsrqa_session_create(engine, &sc, &session);
 *   VsrqaFrameScore fs;     vsrqa_frame_score_default(&fs, sizeof fs);
 *   // for each decoded frame, a VsrqaFrame (vsrqa_frame_default, then format, size, planes, pitches):
 *       vsrqa_session_push(session, &frame);
 *       while (vsrqa_session_poll(session, &fs) == VSRQA_OK) printf("frame %llu: %.4f\n", (unsigned long long)fs.frame_index, fs.score);
 *   VsrqaClipScore clip;    vsrqa_clip_score_default(&clip, sizeof clip);  vsrqa_session_finish(session, &clip);
 *   while (vsrqa_session_poll(session, &fs) == VSRQA_OK) printf("frame %llu: %.4f\n", (unsigned long long)fs.frame_index, fs.score);
 *   printf("clip: %.4f\n", clip.score);  vsrqa_session_destroy(session);  vsrqa_engine_destroy(engine);
 *
 * Poll after vsrqa_session_finish too: the last key-frame scores become ready only then.
 * Loop while poll returns VSRQA_OK; it then returns VSRQA_END, or an error if the session stopped.
 *
 * API 1.0 and compatibility
 * - VSRQA_API_VERSION is the header's version, vsrqa_version_api() the loaded library's. Within
 *   a major version (the SONAME, libvsrqa.so.1) a program built against an older header runs
 *   with a newer library unchanged, and vice versa for what both know.
 * - Every struct starts with `size_t struct_size`, the size the caller was compiled with. Set it
 *   with the struct's vsrqa_*_default(ptr, sizeof *ptr) function (also for result structs). A
 *   smaller struct (an older header) is read as far as its fields go, the rest defaulted; a
 *   larger one (a newer header) is accepted when the fields this library does not know are all
 *   zero, and refused with VSRQA_ERROR_STRUCT_SIZE otherwise. Results are written only up to the
 *   caller's struct_size. Fields added after 1.0 say "Since API 1.x".
 *
 * Conventions
 * - Every call returns a VsrqaStatus; negative values are errors, and vsrqa_last_error()
 *   returns that thread's message for the last failed call (valid until the thread's next
 *   vsrqa call). No call aborts or unwinds into the caller; NULL arguments are errors. Each
 *   function lists the statuses it returns.
 * - Enumerations are integer typedefs with #defined values; unknown values are errors. Colour
 *   tags are H.273's (FFmpeg's AVColorSpace and AVColorRange values).
 * - Frames are 1..16384 pixels wide and high.
 *
 * Ownership
 * - vsrqa_engine_create / vsrqa_session_create return handles the caller owns and frees with
 *   vsrqa_engine_destroy / vsrqa_session_destroy (NULL is accepted). A session keeps what it
 *   needs of its engine alive: destroying the engine first is allowed.
 * - Frame memory is only read during the call that receives it (push, score_frame,
 *   score_clip), except frames in device memory pushed to a non-blocking session, which are
 *   read until the session's frame_release callback is called. Strings in configs are copied.
 * - Strings returned by vsrqa (version, status text, last error) are owned by vsrqa.
 *
 * Thread safety
 * - VsrqaEngine is thread-safe: vsrqa_score_frame, vsrqa_score_clip and vsrqa_session_create
 *   may be called on one engine from any number of threads at once, with results identical
 *   to single-threaded calls.
 * - VsrqaSession is a single stream: use it from one thread at a time (it may move between
 *   threads). Concurrent calls on one session are serialized, never undefined. A non-blocking
 *   session scores on a worker thread of its own.
 * - Callbacks run on the thread doing the work: the thread that made the vsrqa call, or a
 *   non-blocking session's worker thread for what it does (scoring queued frames: its score and
 *   frame_release callbacks, and the log messages of that work). The log callback and its
 *   user_data must be thread-safe when an engine is shared between threads or has non-blocking
 *   sessions. A callback may call vsrqa, except on the session it was called for: such calls
 *   return VSRQA_ERROR_INVALID_STATE at once (destroy does nothing) instead of deadlocking.
 * - vsrqa_last_error() is per thread.
 *
 * Linking and debugging
 * - pkg-config: vsrqa links libvsrqa.so, vsrqa-static links libvsrqa.a and what it needs from the
 *   system. CMake: find_package(vsrqa), target vsrqa::vsrqa (docs/c-api.md).
 * - Valgrind: the CPU backend (tract) has known memcheck reports of its own (uninitialised enum
 *   padding in comparisons, no invalid access). The package installs suppressions for them:
 *   valgrind --suppressions=<prefix>/share/vsrqa/valgrind.supp ./program (CMake:
 *   VSRQA_VALGRIND_SUPPRESSIONS), so that memcheck shows the program's own errors only.
 */


#ifndef VSRQA_H
#define VSRQA_H

/* Generated by cbindgen from crates/vsrqa-capi: do not edit. */

#include <stddef.h>
#include <stdint.h>

/**
 * Major version of the C API: changes when the ABI breaks (and with it the SONAME,
 * libvsrqa.so.<major>). The one definition: build.rs, CMakeLists.txt and the header read it here.
 */
#define VSRQA_API_VERSION_MAJOR 1

/**
 * Minor version of the C API: changes when functions, constants or struct fields are added. A
 * program built against an older minor runs unchanged with a newer library.
 */
#define VSRQA_API_VERSION_MINOR 1

/**
 * Patch version of the C API: changes for fixes that add nothing.
 */
#define VSRQA_API_VERSION_PATCH 0

/**
 * The API version as one number, `major << 16 | minor << 8 | patch`, as `vsrqa_version_api()`
 * returns it for the library loaded at run time.
 */
#define VSRQA_API_VERSION (((VSRQA_API_VERSION_MAJOR << 16) | (VSRQA_API_VERSION_MINOR << 8)) | VSRQA_API_VERSION_PATCH)

#define VSRQA_CLIP_ENDED_EARLY 1

/**
 * `VsrqaClipScore.flags`: the clip went on past `expected_frames`. Clip branches sampled the
 * first `expected_frames` frames; key-frame and window branches scored every frame.
 */
#define VSRQA_CLIP_ENDED_LATE 2

/**
 * Result of every vsrqa call. Negative values are errors; `vsrqa_last_error()` then says why.
 */
enum VsrqaStatus
#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L)
  : int32_t
#endif /* defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L) */
 {
  /**
   * Success.
   */
  VSRQA_OK = 0,
  /**
   * `vsrqa_session_poll`: no score is ready yet; push more frames or finish.
   */
  VSRQA_AGAIN = 1,
  /**
   * `vsrqa_session_poll`: the session is finished and every score has been returned.
   */
  VSRQA_END = 2,
  /**
   * A required pointer argument was NULL.
   */
  VSRQA_ERROR_NULL_POINTER = -1,
  /**
   * A struct's `struct_size` is not one this library knows (header/library mismatch, or the
   * struct was not initialized with its `_default` function).
   */
  VSRQA_ERROR_STRUCT_SIZE = -2,
  /**
   * An argument is out of range or inconsistent (sizes, pitches, frame rate, enum values).
   */
  VSRQA_ERROR_INVALID_ARGUMENT = -3,
  /**
   * The frame's pixel format or memory type is not supported, or it cannot be processed
   * (e.g. too small for a branch's crop).
   */
  VSRQA_ERROR_UNSUPPORTED_FORMAT = -4,
  /**
   * The model bundle is missing, malformed or inconsistent.
   */
  VSRQA_ERROR_BUNDLE = -5,
  /**
   * A backend failed while running a network.
   */
  VSRQA_ERROR_BACKEND = -6,
  /**
   * The requested backend is not available on this host or in this build.
   */
  VSRQA_ERROR_BACKEND_UNAVAILABLE = -7,
  /**
   * `push` or `finish` on a session that is already finished.
   */
  VSRQA_ERROR_SESSION_FINISHED = -8,
  /**
   * A buffer for this input could not be allocated (e.g. a huge frame on a machine without the
   * memory for it). Nothing changed: the session can go on with other frames.
   */
  VSRQA_ERROR_OUT_OF_MEMORY = -9,
  /**
   * Since API 1.0.1. A session was called from inside one of its own callbacks (score, log or
   * frame release, or anything else on its worker thread), which would deadlock or free the
   * session under the call that runs the callback. Nothing happened: return from the callback,
   * then make the call.
   */
  VSRQA_ERROR_INVALID_STATE = -10,
  /**
   * An internal error (a bug in vsrqa): the call had no effect that can be relied on.
   */
  VSRQA_ERROR_INTERNAL = -100
};
#ifndef __cplusplus
#if (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L)
typedef enum VsrqaStatus VsrqaStatus;
#else
typedef int32_t VsrqaStatus;
#endif /* (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L) */
#endif /* __cplusplus */

/**
 * An engine: one loaded model bundle on one backend. Thread-safe: any number of threads may
 * call `vsrqa_score_frame`, `vsrqa_score_clip` and `vsrqa_session_create` on one engine at
 * the same time.
 */
typedef struct VsrqaEngine VsrqaEngine;

/**
 * A session: one stream of frames. Not for concurrent use: one thread at a time (calls from
 * several threads are serialized, never undefined, but their order is then arbitrary). May be
 * moved between threads.
 */
typedef struct VsrqaSession VsrqaSession;

/**
 * Backend selection (one of `VSRQA_BACKEND_*`).
 */
typedef uint32_t VsrqaBackend;

/**
 * Log levels (one of `VSRQA_LOG_*`); a config's `log_level` is the most verbose delivered.
 */
typedef uint32_t VsrqaLogLevel;

/**
 * Receives log messages on the thread doing the work that logs: the thread that made the vsrqa
 * call, or a non-blocking session's worker thread for what it logs while scoring queued frames.
 * `message` is valid during the call only. The callback must be thread-safe when the engine is
 * used from several threads or has non-blocking sessions. It may call vsrqa, except on the
 * session whose work it reports: such calls are refused with VSRQA_ERROR_INVALID_STATE.
 */
typedef void (*VsrqaLogCallback)(void *user_data, VsrqaLogLevel level, const char *message);

/**
 * `VsrqaClipScore.flags`: the clip ended before `expected_frames`. Clip branches (FAST-VQA) then
 * sample the frames the real length samples, each replaced by the nearest frame kept (the frames
 * sampled for the announced length, and the latest key frame); the closer the announced length,
 * the closer the score to an exact one (a frame off: the same frames or their neighbours).
 * How YUV frames become RGB (one of `VSRQA_COLOR_CONVERSION_*`; docs/branches.md, "Decoding").
 */
typedef uint32_t VsrqaColorConversion;

/**
 * How to create an engine. Initialize with `vsrqa_engine_config_default`.
 */
typedef struct VsrqaEngineConfig {
  /**
   * `sizeof(VsrqaEngineConfig)`, set by `vsrqa_engine_config_default`.
   */
  size_t struct_size;
  /**
   * Path of the model bundle directory (UTF-8). Required; copied, need not outlive the call.
   */
  const char *bundle_path;
  /**
   * Default `VSRQA_BACKEND_AUTO`.
   */
  VsrqaBackend backend;
  /**
   * CUDA device ordinal for GPU backends; -1 (default) = the device of the calling thread's
   * current context (device 0 when none is current).
   */
  int32_t device;
  /**
   * The caller's `CUstream` for GPU backends: a stream of that device's primary context (the
   * one the CUDA runtime uses), alive until the engine is destroyed. Every copy and launch is
   * enqueued there; NULL (default) = the engine creates a stream of its own (never the legacy
   * default stream). Ignored by the CPU backends.
   */
  void *cuda_stream;
  /**
   * Directory for cached GPU engines and, on TensorRT-RTX, the kernels compiled for this GPU
   * (UTF-8; `vsrqa build-engines --cache-dir` prebuilds the engines there), and for the
   * `onnxruntime` backend's optimized graphs (`onnxruntime/` in it: a later engine loads them
   * instead of optimizing each network again); NULL (default) = no cache.
   */
  const char *cache_dir;
  /**
   * CPU threads per network run; 0 (default) = all cores; at most 1024.
   */
  uint32_t threads;
  /**
   * Most verbose level delivered to `log_callback`; default `VSRQA_LOG_WARNING`.
   */
  VsrqaLogLevel log_level;
  /**
   * NULL (default): nothing is logged anywhere.
   */
  VsrqaLogCallback log_callback;
  /**
   * Passed back to `log_callback`.
   */
  void *log_user_data;
  /**
   * 1: the `tensorrt` backend replays each network's kernels as a CUDA graph, captured for the
   * batch size in use, which costs less CPU time per run than launching them one by one; `cuda_stream` must then
   * not be capturing a graph of the caller's during vsrqa calls. 0 (default): plain launches.
   * Other values are refused. Ignored by the CPU backends.
   */
  uint32_t cuda_graphs;
  /**
   * Since API 1.1 (these four bytes were padding in 1.0 and the must-be-zero `reserved` in
   * 1.0.1, which refuses another value with VSRQA_ERROR_STRUCT_SIZE). How YUV frames become
   * RGB: `VSRQA_COLOR_CONVERSION_BUNDLE` (default: the bundle's own), `_REFERENCE` or `_EXACT`.
   * Other values are refused.
   */
  VsrqaColorConversion color_conversion;
  /**
   * Since API 1.1. An ensemble bundle's members to run, by name, comma-separated (`"m0,m3"`;
   * UTF-8, copied); NULL (default): all of them. Scores are the chosen members' mean; each
   * member's spatial network is the only cost it adds. Unknown names, and a choice on a bundle
   * that is not an ensemble, are refused with VSRQA_ERROR_INVALID_ARGUMENT.
   */
  const char *members;
} VsrqaEngineConfig;

/**
 * What a non-blocking `vsrqa_session_push` does when the queue is full (one of
 * `VSRQA_QUEUE_FULL_*`).
 */
typedef uint32_t VsrqaQueueFull;

/**
 * The score of one key frame.
 */
typedef struct VsrqaFrameScore {
  size_t struct_size;
  /**
   * Index of the key frame in the stream (0-based, push order).
   */
  uint64_t frame_index;
  /**
   * Ordinal of the key frame among key frames.
   */
  uint32_t key_frame;
  /**
   * In [0, 1] for bundles with a sigmoid head.
   */
  double score;
} VsrqaFrameScore;

/**
 * Receives each key-frame score as it becomes ready (when a session config sets it, instead of
 * `vsrqa_session_poll`). Blocking sessions call it on the thread that pushes or finishes;
 * non-blocking ones on their worker thread. `score` is valid during the call only. Calls on the
 * same session from inside it are refused with VSRQA_ERROR_INVALID_STATE (destroy does nothing);
 * other sessions and engines may be used.
 */
typedef void (*VsrqaScoreCallback)(void *user_data, const struct VsrqaFrameScore *score);

/**
 * Told that vsrqa no longer reads a frame in CUDA device memory that a non-blocking session took:
 * its planes may be reused. `frame_opaque` is the frame's `opaque`. Called on the session's worker
 * thread, or in `vsrqa_session_destroy` for frames cancelled there. Calls on the same session from
 * inside it are refused with VSRQA_ERROR_INVALID_STATE (destroy does nothing).
 */
typedef void (*VsrqaFrameReleaseCallback)(void *user_data, void *frame_opaque);

/**
 * How to start a session. Initialize with `vsrqa_session_config_default`.
 */
typedef struct VsrqaSessionConfig {
  size_t struct_size;
  /**
   * Frames per second of the stream (> 0); key frames are every `round(fps)` frames.
   * Default 25.
   */
  double fps;
  /**
   * The number of frames the clip will have, when known (0, the default: unknown). Clip-level
   * branches (FAST-VQA) sample frames over the whole clip: knowing the length lets them keep
   * only those frames and score before the end; otherwise they keep every frame (about 150 KB
   * each, up to 4 GiB; use `window_seconds` for long or live streams) until
   * `vsrqa_session_finish`. A clip that ends earlier or later still gets a score, flagged in
   * `VsrqaClipScore.flags` (see there for how it is sampled).
   */
  uint64_t expected_frames;
  /**
   * Since API 1.0. 0 (default): the stream is one clip. Above 0: a windowed stream, for live
   * and long streams: every `round(window_seconds * fps)` frames (at least 1) form a clip of
   * their own, scored as the reference scores a clip, and returned by
   * `vsrqa_session_poll_clip`; memory stays constant. Key frames restart at each window.
   */
  double window_seconds;
  /**
   * Since API 1.0. 0 (default): a blocking session, `vsrqa_session_push` scores before it
   * returns. Above 0: a non-blocking session with a queue of this many frames: push checks and
   * queues the frame and returns at once while the session's worker thread scores (host frames
   * are copied; frames in device memory are read until `frame_release` is called). Scores are
   * the blocking session's, frame for frame. At most 1024.
   */
  uint32_t queue_frames;
  /**
   * Since API 1.0. A non-blocking push on a full queue: `VSRQA_QUEUE_FULL_BLOCK` (default) or
   * `VSRQA_QUEUE_FULL_AGAIN`.
   */
  VsrqaQueueFull queue_full;
  /**
   * Since API 1.0. NULL (default): scores wait for `vsrqa_session_poll`.
   */
  VsrqaScoreCallback score_callback;
  /**
   * Since API 1.0. Required for frames in device memory in a non-blocking session.
   */
  VsrqaFrameReleaseCallback frame_release;
  /**
   * Since API 1.0. Passed back to `score_callback` and `frame_release`.
   */
  void *callback_user_data;
} VsrqaSessionConfig;

/**
 * Pixel format of a `VsrqaFrame` (one of `VSRQA_PIXEL_FORMAT_*`).
 */
typedef uint32_t VsrqaPixelFormat;

/**
 * YUV->RGB matrix: ITU-T H.273 MatrixCoefficients, the values of FFmpeg's `AVColorSpace`, so
 * that `avframe->colorspace` can be copied as is. Ignored for RGB formats. Values H.273 defines
 * that vsrqa does not implement (0 identity, 4 FCC, 7 SMPTE 240M, 8 YCgCo, 10 and up) are
 * refused with VSRQA_ERROR_UNSUPPORTED_FORMAT, other values with VSRQA_ERROR_INVALID_ARGUMENT.
 * (A `VsrqaFrame` of the 0.x size, from a program built against a 0.x header, keeps the 0.x
 * values: 0 unspecified, 1 BT.601, 2 BT.709.)
 */
typedef uint32_t VsrqaColorMatrix;

/**
 * YUV range: FFmpeg's `AVColorRange` values, so that `avframe->color_range` can be copied.
 * Ignored for RGB formats.
 */
typedef uint32_t VsrqaColorRange;

/**
 * Where a frame's planes live (one of `VSRQA_MEMORY_*`).
 */
typedef uint32_t VsrqaMemory;

/**
 * One frame, described without copying. Initialize with `vsrqa_frame_default`, then set format,
 * size, planes and pitches. Width and height are 1..16384. 10-bit formats use the low (I420_10LE)
 * or high (P010) 10 bits of each sample; the other bits are ignored.
 */
typedef struct VsrqaFrame {
  size_t struct_size;
  VsrqaPixelFormat format;
  uint32_t width;
  uint32_t height;
  /**
   * Default `VSRQA_COLOR_MATRIX_UNSPECIFIED`; ignored for RGB formats.
   */
  VsrqaColorMatrix color_matrix;
  /**
   * Default `VSRQA_COLOR_RANGE_UNSPECIFIED`; ignored for RGB formats.
   */
  VsrqaColorRange color_range;
  /**
   * Default `VSRQA_MEMORY_HOST`.
   */
  VsrqaMemory memory;
  /**
   * Plane pointers: 1 for packed RGB, 2 for NV12/P010, 3 for I420; unused ones ignored.
   */
  const void *planes[3];
  /**
   * Bytes from one row to the next, per plane; at least the row's size.
   */
  size_t pitches[3];
  /**
   * Since API 1.0. The caller's own, passed to the session's `frame_release`; default NULL.
   */
  void *opaque;
} VsrqaFrame;

/**
 * The score of a clip: a whole stream, or one window of a windowed stream.
 */
typedef struct VsrqaClipScore {
  size_t struct_size;
  /**
   * In [0, 1] for bundles with a sigmoid head.
   */
  double score;
  /**
   * Frames in the clip.
   */
  uint64_t frames;
  /**
   * Key frames scored.
   */
  uint32_t key_frames;
  /**
   * Slots averaged (the bundle's key-frame count when it pads, else `key_frames`).
   */
  uint32_t pooled_slots;
  /**
   * Since API 1.0. Index in the stream of the clip's first frame (a window's start; else 0).
   */
  uint64_t first_frame;
  /**
   * Since API 1.0. The length the clip was announced with (0: none): the session's
   * `expected_frames`, or a window's length.
   */
  uint64_t expected_frames;
  /**
   * Since API 1.0. Ordinal of the window in a windowed stream (else 0).
   */
  uint32_t window;
  /**
   * Since API 1.0. `VSRQA_CLIP_*` bits; 0 for a clip scored exactly as the reference does.
   */
  uint32_t flags;
  /**
   * Since API 1.1. The ensemble members whose mean `score` is (0 when the bundle is not an
   * ensemble); `vsrqa_engine_member` names them.
   */
  uint32_t member_count;
  /**
   * Since API 1.1. Set by the caller: how many doubles `member_scores` holds.
   */
  uint32_t member_scores_capacity;
  /**
   * Since API 1.1. Set by the caller: NULL (default), or an array of `member_scores_capacity`
   * doubles that receives each member's own clip score, in `vsrqa_engine_member` order (the
   * first `min(member_count, member_scores_capacity)`; the rest is left as it was). Kept as the
   * caller set it, so one struct can be reused for every clip.
   */
  double *member_scores;
  /**
   * Since API 1.1. The standard deviation of the members' scores (over the `member_count`
   * members; 0 below two): a cheap estimate of how sure the ensemble is.
   */
  double member_spread;
} VsrqaClipScore;

/**
 * Packed 8-bit R, G, B.
 */
#define VSRQA_PIXEL_FORMAT_RGB24 1

/**
 * Packed 8-bit B, G, R (OpenCV's order).
 */
#define VSRQA_PIXEL_FORMAT_BGR24 2

/**
 * Packed 8-bit R, G, B, A (alpha ignored).
 */
#define VSRQA_PIXEL_FORMAT_RGBA32 3

/**
 * Packed 8-bit B, G, R, A (alpha ignored).
 */
#define VSRQA_PIXEL_FORMAT_BGRA32 4

/**
 * Planar 4:2:0, 8 bits: planes Y, U, V (FFmpeg yuv420p).
 */
#define VSRQA_PIXEL_FORMAT_I420 10

/**
 * Semi-planar 4:2:0, 8 bits: planes Y, interleaved UV.
 */
#define VSRQA_PIXEL_FORMAT_NV12 11

/**
 * Planar 4:2:0, 10 bits in the low bits of little-endian 16-bit samples (yuv420p10le).
 */
#define VSRQA_PIXEL_FORMAT_I420_10LE 20

/**
 * Semi-planar 4:2:0, 10 bits in the high bits of little-endian 16-bit samples.
 */
#define VSRQA_PIXEL_FORMAT_P010 21

#define VSRQA_COLOR_MATRIX_BT709 1

/**
 * Unspecified (the default): BT.601, which is what the reference model's decoding used for every
 * video. 3 (H.273's "reserved", which some encoders write for unknown) is read the same way.
 */
#define VSRQA_COLOR_MATRIX_UNSPECIFIED 2

/**
 * BT.601 625-line (BT.470 B/G): the BT.601 matrix.
 */
#define VSRQA_COLOR_MATRIX_BT470BG 5

/**
 * BT.601 525-line (SMPTE 170M): the BT.601 matrix, as VSRQA_COLOR_MATRIX_BT470BG.
 */
#define VSRQA_COLOR_MATRIX_BT601 6

/**
 * BT.2020 non-constant luminance.
 */
#define VSRQA_COLOR_MATRIX_BT2020_NCL 9

/**
 * Unspecified (the default): limited.
 */
#define VSRQA_COLOR_RANGE_UNSPECIFIED 0

/**
 * Limited ("TV", "MPEG"): Y 16..235, chroma 16..240 at 8 bits (times 4 at 10 bits).
 */
#define VSRQA_COLOR_RANGE_LIMITED 1

/**
 * Full ("PC", "JPEG"): 0..255 (0..1023 at 10 bits).
 */
#define VSRQA_COLOR_RANGE_FULL 2

/**
 * Host (CPU) memory.
 */
#define VSRQA_MEMORY_HOST 0

/**
 * CUDA device memory of the engine's GPU (e.g. NVDEC output): converted and preprocessed there,
 * never copied to the host. Needs the `tensorrt` backend; other backends return
 * VSRQA_ERROR_UNSUPPORTED_FORMAT.
 */
#define VSRQA_MEMORY_CUDA 1

/**
 * The fastest backend usable here: TensorRT when a library and a GPU are usable, else ONNX
 * Runtime when its library loads, else the CPU (tract). A bundle with bf16 networks takes
 * TensorRT, one with int8_dynamic networks ONNX Runtime: the one backend that runs them.
 */
#define VSRQA_BACKEND_AUTO 0

/**
 * The CPU backend (tract): always available. It runs fp32 networks only: a bundle with networks
 * in another precision (docs/precision.md) gives VSRQA_ERROR_BACKEND_UNAVAILABLE.
 */
#define VSRQA_BACKEND_CPU 1

/**
 * TensorRT; VSRQA_ERROR_BACKEND_UNAVAILABLE where it cannot run.
 */
#define VSRQA_BACKEND_TENSORRT 2

/**
 * ONNX Runtime on the CPU (API minor version 3): the library is loaded at run time from
 * `$ORT_DYLIB_PATH`, else the newest one scripts/onnxruntime-lib.sh put in
 * `${XDG_CACHE_HOME:-~/.cache}/vsrqa/`, else the system's libonnxruntime.so;
 * VSRQA_ERROR_BACKEND_UNAVAILABLE where it cannot load, or for a bundle with bf16 networks (no
 * bf16 kernels on the CPU). Several times faster than VSRQA_BACKEND_CPU (docs/performance.md).
 */
#define VSRQA_BACKEND_ONNXRUNTIME 3

#define VSRQA_LOG_NONE 0

#define VSRQA_LOG_ERROR 1

#define VSRQA_LOG_WARNING 2

#define VSRQA_LOG_INFO 3

#define VSRQA_LOG_DEBUG 4

/**
 * Wait until the session's worker takes a frame (the default).
 */
#define VSRQA_QUEUE_FULL_BLOCK 0

/**
 * Return VSRQA_AGAIN at once without taking the frame: push it again later.
 */
#define VSRQA_QUEUE_FULL_AGAIN 1

/**
 * The bundle's own (its manifest's `color_conversion`; `reference` when it names none).
 */
#define VSRQA_COLOR_CONVERSION_BUNDLE 0

/**
 * The frames the reference's OpenCV reader gave, which the published weights were trained on:
 * BT.601 whatever the tags say.
 */
#define VSRQA_COLOR_CONVERSION_REFERENCE 1

/**
 * Each frame's own matrix and range, in floating point.
 */
#define VSRQA_COLOR_CONVERSION_EXACT 2

#ifdef __cplusplus
extern "C" {
#endif /* __cplusplus */

/**
 * The library version, e.g. "1.0.0". Static storage.
 */
const char *vsrqa_version(void);

/**
 * The C API version of the library loaded at run time, as `VSRQA_API_VERSION` encodes it
 * (`major << 16 | minor << 8 | patch`). A program checks `vsrqa_version_api() >> 16 ==
 * VSRQA_API_VERSION_MAJOR` and, to use something added in minor M, `(vsrqa_version_api() >> 8 &
 * 0xff) >= M`.
 */
uint32_t vsrqa_version_api(void);

/**
 * A short English description of a status code. Static storage; never NULL.
 */
const char *vsrqa_status_str(int32_t status);

/**
 * The message of the last failed vsrqa call on this thread ("" if it succeeded). Valid until
 * the next vsrqa call on this thread; never NULL.
 */
const char *vsrqa_last_error(void);

/**
 * Fills `config` with defaults: call as `vsrqa_engine_config_default(&config, sizeof config)`.
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
 * `config` must be NULL or point to `struct_size` writable bytes.
 */
VsrqaStatus vsrqa_engine_config_default(struct VsrqaEngineConfig *config, size_t struct_size);

/**
 * Fills `config` with defaults (fps 25, blocking, one clip): call with `sizeof config`.
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
 * `config` must be NULL or point to `struct_size` writable bytes.
 */
VsrqaStatus vsrqa_session_config_default(struct VsrqaSessionConfig *config, size_t struct_size);

/**
 * Fills `frame` with defaults (no format, no planes, host memory, unspecified colour): call with
 * `sizeof frame`. Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
 * `frame` must be NULL or point to `struct_size` writable bytes.
 */
VsrqaStatus vsrqa_frame_default(struct VsrqaFrame *frame, size_t struct_size);

/**
 * Prepares a result struct: sets `struct_size`, zeroes the rest. Returns VSRQA_OK,
 * VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
 * `score` must be NULL or point to `struct_size` writable bytes.
 */
VsrqaStatus vsrqa_frame_score_default(struct VsrqaFrameScore *score, size_t struct_size);

/**
 * Prepares a result struct: sets `struct_size`, zeroes the rest. Returns VSRQA_OK,
 * VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE.
 * `score` must be NULL or point to `struct_size` writable bytes.
 */
VsrqaStatus vsrqa_clip_score_default(struct VsrqaClipScore *score, size_t struct_size);

/**
 * Loads a model bundle and prepares its networks on the chosen backend. On success `*engine`
 * owns the engine (free it with `vsrqa_engine_destroy`); on failure it is set to NULL, and the
 * error also goes to the config's log callback (at VSRQA_LOG_ERROR).
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (an unknown backend or log level, threads above 1024, cuda_graphs
 * not 0 or 1, a path not UTF-8), VSRQA_ERROR_BUNDLE, VSRQA_ERROR_BACKEND,
 * VSRQA_ERROR_BACKEND_UNAVAILABLE, VSRQA_ERROR_OUT_OF_MEMORY.
 * `config` must be NULL or a `VsrqaEngineConfig` of its `struct_size`, its strings NULL or
 * NUL-terminated; `engine` NULL or writable.
 */
VsrqaStatus vsrqa_engine_create(const struct VsrqaEngineConfig *config,
                                struct VsrqaEngine **engine);

/**
 * Frees an engine. NULL is a no-op. Sessions created from it stay valid (they keep what they
 * need alive) and must still be destroyed.
 * `engine` must be NULL or from `vsrqa_engine_create`, not yet destroyed, not in use.
 */
void vsrqa_engine_destroy(struct VsrqaEngine *engine);

/**
 * Since API 1.1. The name of the `index`-th ensemble member the engine runs (0-based, the order
 * of `VsrqaClipScore.member_scores`): VSRQA_OK with `*name` set (owned by the engine, valid until
 * it is destroyed); VSRQA_END when `index` is the member count or more (at once, for a bundle
 * that is not an ensemble), so that a loop from 0 lists them.
 * Returns VSRQA_OK, VSRQA_END, VSRQA_ERROR_NULL_POINTER.
 * `engine` must be NULL or live; `name` NULL or writable.
 */
VsrqaStatus vsrqa_engine_member(const struct VsrqaEngine *engine,
                                uint32_t index,
                                const char **name);

/**
 * Scores a single frame as a one-frame clip (a window branch sees it repeated). `score` must be
 * prepared with `vsrqa_frame_score_default`. Thread-safe on a shared engine.
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (sizes, pitches, colour tags), VSRQA_ERROR_UNSUPPORTED_FORMAT,
 * VSRQA_ERROR_BACKEND, VSRQA_ERROR_OUT_OF_MEMORY.
 * `engine` must be NULL or live; `frame` NULL or a `VsrqaFrame` of its `struct_size` whose planes
 * cover what it describes; `score` NULL or a `VsrqaFrameScore` of its `struct_size`.
 */
VsrqaStatus vsrqa_score_frame(const struct VsrqaEngine *engine,
                              const struct VsrqaFrame *frame,
                              struct VsrqaFrameScore *score);

/**
 * Scores `count` frames of one clip at `fps` frames per second: the same result as pushing
 * them through a session told the clip length. `score` must be prepared with
 * `vsrqa_clip_score_default`. Thread-safe on a shared engine.
 * The clip score pools the clip's first key frames (8 for the published models: 8 seconds at
 * one key frame per `round(fps)` frames); later frames count only through clip branches'
 * samples, and `score->key_frames` says how many were pooled. For a longer video, score windows
 * of that span with a windowed session (`VsrqaSessionConfig.window_frames`) and pool their clip
 * scores, as `vsrqa score` does (docs/cli.md, "long videos").
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (count 0, the frame rate, a frame's sizes, pitches or tags,
 * frames of more than one size),
 * VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BACKEND, VSRQA_ERROR_OUT_OF_MEMORY.
 * `frames` must be NULL or point to `count` frames as `vsrqa_score_frame` takes them.
 */
VsrqaStatus vsrqa_score_clip(const struct VsrqaEngine *engine,
                             const struct VsrqaFrame *frames,
                             size_t count,
                             double fps,
                             struct VsrqaClipScore *score);

/**
 * Starts a stream of frames (see `VsrqaSessionConfig` for blocking, non-blocking and windowed
 * sessions). On success `*session` owns it (free with `vsrqa_session_destroy`); on failure it is
 * set to NULL. Thread-safe on a shared engine.
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (the frame rate, window_seconds, queue_frames above 1024, an
 * unknown queue_full), VSRQA_ERROR_OUT_OF_MEMORY (no worker thread).
 * `engine` must be NULL or live; `config` NULL or a `VsrqaSessionConfig` of its `struct_size`;
 * `session` NULL or writable.
 */
VsrqaStatus vsrqa_session_create(const struct VsrqaEngine *engine,
                                 const struct VsrqaSessionConfig *config,
                                 struct VsrqaSession **session);

/**
 * Pushes the next frame. A blocking session scores what the frame completes before returning
 * and reads the frame's memory during the call only; a non-blocking one checks and queues it and
 * returns at once (host memory is copied; device memory is read until `frame_release`). A
 * rejected frame leaves the session unchanged. In a non-blocking session, an error the worker
 * met with an earlier frame is returned here (or by the next poll or finish) instead.
 * A session's frames all have the first frame's width and height: a clip has one size. A frame
 * of another size (an adaptive stream switching resolution) is refused; finish the session for
 * the clip so far and score the new size in a new one. Format, matrix and range may change from
 * frame to frame. Frames are scored as given: a host whose stream carries a display rotation
 * (a phone's portrait video) rotates the frames before pushing them, as a player does.
 * Returns VSRQA_OK; VSRQA_AGAIN (non-blocking, queue full, VSRQA_QUEUE_FULL_AGAIN: the frame was
 * not taken, push it again); VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (sizes, pitches, colour tags; a size other than the first frame's;
 * a device frame in a non-blocking session without frame_release),
 * VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BACKEND (the
 * session is stopped from then on), VSRQA_ERROR_SESSION_FINISHED, VSRQA_ERROR_OUT_OF_MEMORY,
 * VSRQA_ERROR_INVALID_STATE (called from the session's own callback).
 * `session` must be NULL or live; `frame` as `vsrqa_score_frame` takes it.
 */
VsrqaStatus vsrqa_session_push(struct VsrqaSession *session, const struct VsrqaFrame *frame);

/**
 * Returns the next ready key-frame score: VSRQA_OK with `*score` filled; VSRQA_AGAIN when none
 * is ready yet (push more frames, or finish); VSRQA_END when the session is finished and every
 * score has been returned. A session stopped by an error (a backend failure, or a finish that
 * failed) returns that error's status once its queued scores are drained, never VSRQA_AGAIN or
 * VSRQA_END, so that a drain loop always ends. With a score callback, scores go there instead
 * and poll only reports the session's state.
 * Returns VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_STATE (called from the session's own callback), and after a stop the
 * stop's status (VSRQA_ERROR_BACKEND, VSRQA_ERROR_INVALID_ARGUMENT,
 * VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_OUT_OF_MEMORY).
 * `session` must be NULL or live; `score` NULL or a `VsrqaFrameScore` of its `struct_size`.
 */
VsrqaStatus vsrqa_session_poll(struct VsrqaSession *session, struct VsrqaFrameScore *score);

/**
 * Returns the next clip score: in a windowed session each window's once its last frame is
 * scored, else the whole stream's after `vsrqa_session_finish`. VSRQA_OK with `*score` filled,
 * VSRQA_AGAIN, VSRQA_END or a stop's error, as `vsrqa_session_poll`.
 * Returns VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_STATE (called from the session's own callback), and after a stop the
 * stop's status.
 * `session` must be NULL or live; `score` NULL or a `VsrqaClipScore` of its `struct_size`.
 */
VsrqaStatus vsrqa_session_poll_clip(struct VsrqaSession *session, struct VsrqaClipScore *score);

/**
 * Ends the stream (waiting for a non-blocking session's queue) and writes the last clip score:
 * the whole stream's, or the last window's. Remaining key-frame scores become available to
 * `vsrqa_session_poll`. Once finish runs, the stream ends whether or not it succeeds: pushing
 * afterwards returns VSRQA_ERROR_SESSION_FINISHED, and after a failure poll returns the
 * failure's status. A call refused before it runs leaves the session as it was, so that finish
 * can be called again: a NULL session or score, a wrong `score->struct_size`, a call from the
 * session's own callback, or a non-blocking session's pending error from an earlier frame
 * (returned first).
 * Returns VSRQA_OK, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
 * VSRQA_ERROR_INVALID_ARGUMENT (no frame was pushed), VSRQA_ERROR_UNSUPPORTED_FORMAT,
 * VSRQA_ERROR_BACKEND, VSRQA_ERROR_SESSION_FINISHED, VSRQA_ERROR_OUT_OF_MEMORY,
 * VSRQA_ERROR_INVALID_STATE (called from the session's own callback).
 * `session` must be NULL or live; `score` NULL or a `VsrqaClipScore` of its `struct_size`.
 */
VsrqaStatus vsrqa_session_finish(struct VsrqaSession *session, struct VsrqaClipScore *score);

/**
 * Frees a session. NULL is a no-op. A non-blocking session with frames still queued cancels
 * them (each frame in device memory gets its `frame_release`), waits for the frame being scored,
 * and returns. Called from inside one of the session's own callbacks it does nothing (the call
 * running the callback still uses the session; `vsrqa_last_error()` says so): destroy the
 * session once that call has returned.
 * `session` must be NULL or from `vsrqa_session_create`, not yet destroyed, not in use.
 */
void vsrqa_session_destroy(struct VsrqaSession *session);

#ifdef __cplusplus
}  /* extern "C" */
#endif  /* __cplusplus */

#endif  /* VSRQA_H */
