/*
 * A program written against the 0.4 header (tests/capi/compat/vsrqa.h, as released): the C test of
 * vsrqa 0.4, compiled with that header's struct sizes and linked with the current library, which
 * must run it unchanged. Three checks differ from 0.4's test, each where 1.0 changed a rule on
 * purpose (marked "1.0:"); everything else is 0.4's code as it was, except the harness's own test
 * of default colour tags at the end (marked "Harness:").
 * Usage: client_0_4 BUNDLE_DIR SAMPLE.y4m EXACT_BUNDLE_DIR
 * (EXACT_BUNDLE_DIR: the same bundle with "color_conversion": "exact", which honours the matrix.)
 *
 * Checks are explicit (not assert.h) so they run in every build type. Exit status 0 = all passed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsrqa.h>

#if !defined(VSRQA_API_VERSION_MAJOR) || !defined(VSRQA_API_VERSION_MINOR)
#error "vsrqa.h must define the API version macros"
#endif
/* The harness's own check (not 0.4's code): this program is built against the 0.4 header. */
#if VSRQA_API_VERSION_MAJOR != 0 || VSRQA_API_VERSION_MINOR != 4
#error "client_0_4.c must be compiled against tests/capi/compat/vsrqa.h (API 0.4)"
#endif

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        checks++;                                                         \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

/* The call returned `expected` and left a non-empty message that contains `needle`. */
#define CHECK_STATUS(call, expected, needle)                                                     \
    do {                                                                                         \
        VsrqaStatus s_ = (call);                                                                 \
        const char *m_ = vsrqa_last_error();                                                     \
        CHECK(s_ == (expected), "%s returned %d (%s), expected %d; message: %s", #call, (int)s_, \
              vsrqa_status_str(s_), (int)(expected), m_);                                        \
        CHECK(m_ != NULL && m_[0] != '\0', "%s: empty last error", #call);                       \
        CHECK(m_ != NULL && strstr(m_, (needle)) != NULL, "%s: message \"%s\" lacks \"%s\"",     \
              #call, m_, (needle));                                                              \
    } while (0)

/* ---- the sample clip: a minimal Y4M reader for 8-bit 4:2:0 ---- */

typedef struct {
    int width, height;
    double fps;
    size_t frame_bytes;
    int count;
    unsigned char *data; /* count frames of I420, packed */
} Clip;

static int read_y4m(const char *path, Clip *clip) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char header[256];
    if (!fgets(header, sizeof header, f)) { fclose(f); return 0; }
    int num = 0, den = 1;
    const char *p = strstr(header, " W");
    clip->width = p ? atoi(p + 2) : 0;
    p = strstr(header, " H");
    clip->height = p ? atoi(p + 2) : 0;
    p = strstr(header, " F");
    if (p) sscanf(p + 2, "%d:%d", &num, &den);
    clip->fps = den ? (double)num / den : 0;
    size_t cw = (size_t)(clip->width + 1) / 2, ch = (size_t)(clip->height + 1) / 2;
    clip->frame_bytes = (size_t)clip->width * clip->height + 2 * cw * ch;
    clip->count = 0;
    clip->data = NULL;
    char marker[64];
    while (fgets(marker, sizeof marker, f) && strncmp(marker, "FRAME", 5) == 0) {
        unsigned char *grown = realloc(clip->data, (size_t)(clip->count + 1) * clip->frame_bytes);
        if (!grown) break;
        clip->data = grown;
        if (fread(clip->data + clip->count * clip->frame_bytes, 1, clip->frame_bytes, f) != clip->frame_bytes) break;
        clip->count++;
    }
    fclose(f);
    return clip->count > 0 && clip->width > 0 && clip->height > 0 && clip->fps > 0;
}

/* An I420 frame descriptor over packed planes. */
static VsrqaFrame i420_frame(const unsigned char *data, int width, int height) {
    VsrqaFrame frame;
    vsrqa_frame_default(&frame, sizeof frame);
    size_t cw = (size_t)(width + 1) / 2, ch = (size_t)(height + 1) / 2;
    frame.format = VSRQA_PIXEL_FORMAT_I420;
    frame.width = (uint32_t)width;
    frame.height = (uint32_t)height;
    frame.planes[0] = data;
    frame.planes[1] = data + (size_t)width * height;
    frame.planes[2] = data + (size_t)width * height + cw * ch;
    frame.pitches[0] = (size_t)width;
    frame.pitches[1] = cw;
    frame.pitches[2] = cw;
    return frame;
}

/* ---- log callback ---- */

static int log_messages = 0;
static void on_log(void *user_data, VsrqaLogLevel level, const char *message) {
    int *count = (int *)user_data;
    (*count)++;
    CHECK(level >= VSRQA_LOG_ERROR && level <= VSRQA_LOG_DEBUG, "log level %u", (unsigned)level);
    CHECK(message != NULL && message[0] != '\0', "empty log message");
}

static VsrqaEngine *create_engine(const char *bundle, uint32_t backend) {
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = bundle;
    config.backend = backend;
    VsrqaEngine *engine = NULL;
    VsrqaStatus status = vsrqa_engine_create(&config, &engine);
    CHECK(status == VSRQA_OK, "engine_create: %s", vsrqa_last_error());
    return engine;
}

/* ---- valid use ---- */

static void test_valid_scoring(const char *bundle, const Clip *clip) {
    CHECK(vsrqa_version() != NULL && strlen(vsrqa_version()) > 0, "empty version");

    /* A log callback at DEBUG receives messages; nothing is printed without one. */
    VsrqaEngineConfig config;
    CHECK(vsrqa_engine_config_default(&config, sizeof config) == VSRQA_OK, "config default");
    CHECK(config.backend == VSRQA_BACKEND_AUTO && config.log_callback == NULL && config.device == -1 &&
              config.cuda_stream == NULL && config.cuda_graphs == 0,
          "defaults");
    config.bundle_path = bundle;
    config.backend = VSRQA_BACKEND_CPU;
    config.log_level = VSRQA_LOG_DEBUG;
    config.log_callback = on_log;
    config.log_user_data = &log_messages;
    VsrqaEngine *engine = NULL;
    CHECK(vsrqa_engine_create(&config, &engine) == VSRQA_OK, "engine_create: %s", vsrqa_last_error());
    CHECK(engine != NULL, "NULL engine");
    if (!engine) return;
    CHECK(log_messages > 0, "no log message at DEBUG level");

    /* The same with VSRQA_LOG_NONE: the callback is never called. */
    int quiet_messages = 0;
    config.log_level = VSRQA_LOG_NONE;
    config.log_user_data = &quiet_messages;
    VsrqaEngine *quiet = NULL;
    CHECK(vsrqa_engine_create(&config, &quiet) == VSRQA_OK, "engine_create (LOG_NONE): %s", vsrqa_last_error());
    CHECK(quiet_messages == 0, "%d log messages at VSRQA_LOG_NONE", quiet_messages);
    vsrqa_engine_destroy(quiet);

    /* One synthetic RGB24 frame with a pitch larger than its rows. */
    enum { W = 112, H = 80, PITCH = W * 3 + 16 };
    static unsigned char rgb[PITCH * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            rgb[y * PITCH + 3 * x + 0] = (unsigned char)(x * 2);
            rgb[y * PITCH + 3 * x + 1] = (unsigned char)(y * 3);
            rgb[y * PITCH + 3 * x + 2] = (unsigned char)((x + y) & 255);
        }
    VsrqaFrame frame;
    vsrqa_frame_default(&frame, sizeof frame);
    frame.format = VSRQA_PIXEL_FORMAT_RGB24;
    frame.width = W;
    frame.height = H;
    frame.planes[0] = rgb;
    frame.pitches[0] = PITCH;
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    CHECK(vsrqa_score_frame(engine, &frame, &fs) == VSRQA_OK, "score_frame: %s", vsrqa_last_error());
    CHECK(isfinite(fs.score) && fs.score >= 0.0 && fs.score <= 1.0, "frame score %f", fs.score);
    CHECK(strcmp(vsrqa_last_error(), "") == 0, "last error after success: %s", vsrqa_last_error());

    /* A synthetic I420 frame of the same size (a gradient, limited range). */
    enum { CW = (W + 1) / 2, CH = (H + 1) / 2 };
    static unsigned char yuv[W * H + 2 * CW * CH];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) yuv[y * W + x] = (unsigned char)(16 + (x + y) % 220);
    for (int i = 0; i < CW * CH; i++) {
        yuv[W * H + i] = (unsigned char)(64 + i % 128);
        yuv[W * H + CW * CH + i] = (unsigned char)(192 - i % 128);
    }
    VsrqaFrame yuv_frame = i420_frame(yuv, W, H);
    vsrqa_frame_score_default(&fs, sizeof fs);
    CHECK(vsrqa_score_frame(engine, &yuv_frame, &fs) == VSRQA_OK, "score_frame (I420): %s", vsrqa_last_error());
    CHECK(isfinite(fs.score) && fs.score >= 0.0 && fs.score <= 1.0, "I420 frame score %f", fs.score);
    CHECK(fs.frame_index == 0 && fs.key_frame == 0, "a single frame is key frame 0");

    /* A tiny frame: the model resizes any size. */
    const unsigned char tiny[2 * 2 * 4] = {255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 9, 9, 9, 0};
    VsrqaFrame tiny_frame;
    vsrqa_frame_default(&tiny_frame, sizeof tiny_frame);
    tiny_frame.format = VSRQA_PIXEL_FORMAT_BGRA32;
    tiny_frame.width = 2;
    tiny_frame.height = 2;
    tiny_frame.planes[0] = tiny;
    tiny_frame.pitches[0] = 8;
    CHECK(vsrqa_score_frame(engine, &tiny_frame, &fs) == VSRQA_OK, "2x2 BGRA32: %s", vsrqa_last_error());
    CHECK(isfinite(fs.score) && fs.score >= 0.0 && fs.score <= 1.0, "2x2 frame score %f", fs.score);

    /* Odd sizes are fine for 4:2:0 (chroma rounds up). */
    enum { OW = 113, OH = 81 };
    size_t odd_bytes = (size_t)OW * OH + 2 * (size_t)((OW + 1) / 2) * ((OH + 1) / 2);
    unsigned char *odd = malloc(odd_bytes);
    for (size_t i = 0; i < odd_bytes; i++) odd[i] = (unsigned char)(16 + (i * 7) % 200);
    VsrqaFrame odd_frame = i420_frame(odd, OW, OH);
    CHECK(vsrqa_score_frame(engine, &odd_frame, &fs) == VSRQA_OK, "odd-size I420: %s", vsrqa_last_error());
    CHECK(isfinite(fs.score) && fs.score >= 0.0 && fs.score <= 1.0, "odd frame score %f", fs.score);
    free(odd);

    /* The clip at once, and the same frames streamed: identical clip scores. */
    VsrqaFrame *frames = malloc(sizeof(VsrqaFrame) * (size_t)clip->count);
    for (int i = 0; i < clip->count; i++)
        frames[i] = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
    VsrqaClipScore whole;
    vsrqa_clip_score_default(&whole, sizeof whole);
    CHECK(vsrqa_score_clip(engine, frames, (size_t)clip->count, clip->fps, &whole) == VSRQA_OK, "score_clip: %s",
          vsrqa_last_error());
    CHECK(isfinite(whole.score) && whole.score >= 0.0 && whole.score <= 1.0, "clip score %f", whole.score);
    CHECK(whole.frames == (uint64_t)clip->count, "frames %llu", (unsigned long long)whole.frames);
    CHECK(whole.key_frames == 3, "score_clip: %u key frames, expected 3", (unsigned)whole.key_frames);

    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    sc.fps = clip->fps;
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    /* Destroying the engine first is allowed: the session keeps what it needs. */
    vsrqa_engine_destroy(engine);
    engine = NULL;
    VsrqaFrameScore polled[16];
    int npolled = 0;
    vsrqa_frame_score_default(&fs, sizeof fs);
    for (int i = 0; i < clip->count; i++) {
        CHECK(vsrqa_session_push(session, &frames[i]) == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
        while (npolled < 16 && vsrqa_session_poll(session, &fs) == VSRQA_OK) polled[npolled++] = fs;
    }
    CHECK(vsrqa_session_poll(session, &fs) == VSRQA_AGAIN, "poll before finish should be AGAIN");
    VsrqaClipScore streamed;
    vsrqa_clip_score_default(&streamed, sizeof streamed);
    CHECK(vsrqa_session_finish(session, &streamed) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    VsrqaStatus last = VSRQA_AGAIN;
    while (npolled < 16 && (last = vsrqa_session_poll(session, &fs)) == VSRQA_OK) polled[npolled++] = fs;
    CHECK(last == VSRQA_END, "poll after draining returned %d", (int)last);
    CHECK(vsrqa_session_poll(session, &fs) == VSRQA_END, "poll stays END");
    CHECK(fabs(streamed.score - whole.score) <= 1e-12, "session %.17g != score_clip %.17g", streamed.score,
          whole.score);
    CHECK(streamed.frames == whole.frames && streamed.key_frames == whole.key_frames &&
              streamed.pooled_slots == whole.pooled_slots,
          "counts differ");
    /* The sample is 20 frames at 8 fps: key frames 0, 8, 16, one score each. */
    CHECK(npolled == 3, "polled %d key-frame scores, expected 3", npolled);
    for (int k = 0; k < npolled && k < 3; k++) {
        CHECK(polled[k].frame_index == (uint64_t)(8 * k) && polled[k].key_frame == (uint32_t)k,
              "score %d: frame %llu key frame %u", k, (unsigned long long)polled[k].frame_index,
              (unsigned)polled[k].key_frame);
        CHECK(isfinite(polled[k].score) && polled[k].score >= 0.0 && polled[k].score <= 1.0, "key frame score %f",
              polled[k].score);
    }
    CHECK_STATUS(vsrqa_session_push(session, &frames[0]), VSRQA_ERROR_SESSION_FINISHED, "finished");
    CHECK_STATUS(vsrqa_session_finish(session, &streamed), VSRQA_ERROR_SESSION_FINISHED, "finished");
    vsrqa_session_destroy(session);
    free(frames);
}

/* ---- a known clip length: clip-level branches score before the end ---- */

static void test_expected_frames(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    CHECK(sc.expected_frames == 0, "expected_frames defaults to 0 (unknown)");
    sc.fps = clip->fps;
    sc.expected_frames = (uint64_t)clip->count;
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    int before_finish = 0;
    for (int i = 0; i < clip->count; i++) {
        VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
        CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
        while (vsrqa_session_poll(session, &fs) == VSRQA_OK) before_finish++;
    }
    /* The tiny bundle's FAST-VQA branch has its frames by frame 19 of 20: key frames 0 and 8 are
       scored before finish (without expected_frames, none is). */
    CHECK(before_finish == 2, "%d scores before finish, expected 2", before_finish);
    /* 1.0: a frame past the announced length is scored (the clip score is flagged in 1.0's
       longer VsrqaClipScore), no longer refused. */
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    CHECK(cs.frames == (uint64_t)clip->count, "frames %llu", (unsigned long long)cs.frames);
    vsrqa_session_destroy(session);
    vsrqa_engine_destroy(engine);
}

/* ---- bad input ---- */

static void test_bad_input(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaFrame good = i420_frame(clip->data, clip->width, clip->height);
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    VsrqaEngine *out_engine = NULL;
    VsrqaSession *session = NULL;

    /* NULL pointers */
    CHECK_STATUS(vsrqa_engine_create(NULL, &out_engine), VSRQA_ERROR_NULL_POINTER, "config");
    CHECK_STATUS(vsrqa_engine_create(&config, NULL), VSRQA_ERROR_NULL_POINTER, "engine");
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_NULL_POINTER, "bundle_path");
    CHECK(out_engine == NULL, "engine set on failure");
    CHECK_STATUS(vsrqa_score_frame(NULL, &good, &fs), VSRQA_ERROR_NULL_POINTER, "engine");
    CHECK_STATUS(vsrqa_score_frame(engine, NULL, &fs), VSRQA_ERROR_NULL_POINTER, "frame");
    CHECK_STATUS(vsrqa_score_frame(engine, &good, NULL), VSRQA_ERROR_NULL_POINTER, "score");
    CHECK_STATUS(vsrqa_score_clip(engine, NULL, 1, 25.0, &cs), VSRQA_ERROR_NULL_POINTER, "frames");
    CHECK_STATUS(vsrqa_session_create(engine, NULL, &session), VSRQA_ERROR_NULL_POINTER, "config");
    CHECK_STATUS(vsrqa_score_clip(NULL, &good, 1, 25.0, &cs), VSRQA_ERROR_NULL_POINTER, "engine");
    CHECK_STATUS(vsrqa_score_clip(engine, &good, 1, 25.0, NULL), VSRQA_ERROR_NULL_POINTER, "score");
    CHECK_STATUS(vsrqa_session_create(NULL, &sc, &session), VSRQA_ERROR_NULL_POINTER, "engine");
    CHECK_STATUS(vsrqa_session_create(engine, &sc, NULL), VSRQA_ERROR_NULL_POINTER, "session");
    CHECK_STATUS(vsrqa_session_push(NULL, &good), VSRQA_ERROR_NULL_POINTER, "session");
    CHECK_STATUS(vsrqa_session_poll(NULL, &fs), VSRQA_ERROR_NULL_POINTER, "session");
    CHECK_STATUS(vsrqa_session_finish(NULL, &cs), VSRQA_ERROR_NULL_POINTER, "session");
    CHECK_STATUS(vsrqa_engine_config_default(NULL, sizeof config), VSRQA_ERROR_NULL_POINTER, "config");
    VsrqaFrame no_plane = good;
    no_plane.planes[1] = NULL;
    CHECK_STATUS(vsrqa_score_frame(engine, &no_plane, &fs), VSRQA_ERROR_NULL_POINTER, "planes[1]");
    vsrqa_engine_destroy(NULL);
    vsrqa_session_destroy(NULL);

    /* Wrong struct_size */
    /* 1.0: sizes other than this header's are no longer refused as such (older and newer headers
       are both served); sizes no header ever had still are. */
    VsrqaEngineConfig small;
    CHECK_STATUS(vsrqa_engine_config_default(&small, 16), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
    VsrqaFrame resized = good;
    resized.struct_size = 12;
    CHECK_STATUS(vsrqa_score_frame(engine, &resized, &fs), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
    VsrqaFrameScore raw_score;
    memset(&raw_score, 0, sizeof raw_score); /* not initialized with its _default */
    CHECK_STATUS(vsrqa_score_frame(engine, &good, &raw_score), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
    VsrqaSessionConfig bad_sc = sc;
    bad_sc.struct_size = 4;
    CHECK_STATUS(vsrqa_session_create(engine, &bad_sc, &session), VSRQA_ERROR_STRUCT_SIZE, "struct_size");

    /* Unsupported format and memory */
    VsrqaFrame bad = good;
    bad.format = 999;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_UNSUPPORTED_FORMAT, "pixel format 999");
    bad = good;
    bad.memory = VSRQA_MEMORY_CUDA;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_UNSUPPORTED_FORMAT, "CUDA");

    /* Sizes, pitches, enums */
    bad = good;
    bad.width = 0;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "0x80");
    bad = good;
    bad.height = 0;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "112x0");
    bad = good;
    bad.height = 1u << 20;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "outside");
    bad = good;
    bad.pitches[0] = (size_t)clip->width - 1;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "pitches[0]");
    bad = good;
    bad.pitches[2] = 1;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "pitches[2]");
    bad = good;
    bad.color_matrix = 77;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "color matrix");
    bad = good;
    bad.color_range = 77;
    CHECK_STATUS(vsrqa_score_frame(engine, &bad, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "color range");
    CHECK_STATUS(vsrqa_score_clip(engine, &good, 0, 25.0, &cs), VSRQA_ERROR_INVALID_ARGUMENT, "count");
    CHECK_STATUS(vsrqa_score_clip(engine, &good, 1, -1.0, &cs), VSRQA_ERROR_INVALID_ARGUMENT, "frame rate");
    bad_sc = sc;
    bad_sc.fps = 0.0;
    CHECK_STATUS(vsrqa_session_create(engine, &bad_sc, &session), VSRQA_ERROR_INVALID_ARGUMENT, "frame rate");
    bad_sc.fps = NAN;
    CHECK_STATUS(vsrqa_session_create(engine, &bad_sc, &session), VSRQA_ERROR_INVALID_ARGUMENT, "frame rate");
    CHECK(session == NULL, "session set on failure");

    /* A rejected push leaves the session usable. */
    CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    bad = good;
    bad.format = 999;
    CHECK_STATUS(vsrqa_session_push(session, &bad), VSRQA_ERROR_UNSUPPORTED_FORMAT, "pixel format");
    CHECK_STATUS(vsrqa_session_push(session, NULL), VSRQA_ERROR_NULL_POINTER, "frame");
    CHECK_STATUS(vsrqa_session_poll(session, NULL), VSRQA_ERROR_NULL_POINTER, "score");
    CHECK_STATUS(vsrqa_session_finish(session, NULL), VSRQA_ERROR_NULL_POINTER, "score");
    CHECK(vsrqa_session_push(session, &good) == VSRQA_OK, "push after a rejected frame: %s", vsrqa_last_error());
    CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    vsrqa_session_destroy(session);

    /* Engine configuration */
    config.bundle_path = "/nonexistent/vsrqa-bundle";
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_BUNDLE, "/nonexistent/vsrqa-bundle");
    config.bundle_path = bundle;
    config.backend = VSRQA_BACKEND_TENSORRT;
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_BACKEND_UNAVAILABLE, "tensorrt");
    config.backend = 42;
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_INVALID_ARGUMENT, "backend");
    config.backend = VSRQA_BACKEND_CPU;
    config.threads = 100000; /* a garbage thread count is refused, not attempted */
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_INVALID_ARGUMENT, "threads");
    config.threads = 0;
    config.cuda_graphs = 2; /* 0 or 1 */
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_INVALID_ARGUMENT, "cuda_graphs");
    config.cuda_graphs = 0;
    CHECK(out_engine == NULL, "engine set on failure");

    /* Status strings exist for every status and for unknown values. */
    const int statuses[] = {VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
                            VSRQA_ERROR_INVALID_ARGUMENT, VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BUNDLE,
                            VSRQA_ERROR_BACKEND, VSRQA_ERROR_BACKEND_UNAVAILABLE, VSRQA_ERROR_SESSION_FINISHED,
                            VSRQA_ERROR_OUT_OF_MEMORY, VSRQA_ERROR_INTERNAL, 12345};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *text = vsrqa_status_str(statuses[i]);
        CHECK(text != NULL && text[0] != '\0', "status_str(%d)", statuses[i]);
    }
    vsrqa_engine_destroy(engine);
}

/* Harness: the score of the first frame with its colour matrix left at vsrqa_frame_default's value
   (`set_matrix` 0) or set to `matrix`. */
static double first_frame_score(VsrqaEngine *engine, const Clip *clip, int set_matrix, VsrqaColorMatrix matrix) {
    VsrqaFrame frame = i420_frame(clip->data, clip->width, clip->height);
    if (set_matrix) frame.color_matrix = matrix;
    VsrqaFrameScore score;
    vsrqa_frame_score_default(&score, sizeof score);
    VsrqaStatus status = vsrqa_score_frame(engine, &frame, &score);
    CHECK(status == VSRQA_OK, "score_frame (matrix %u): %s", (unsigned)matrix, vsrqa_last_error());
    return score.score;
}

/* Harness: a 0.4 program that never sets the colour matrix gets what 0.4 meant by default,
   "unspecified" (BT.601), on a bundle whose conversion honours the matrix; not 1.0's numbering,
   in which vsrqa_frame_default's 1.0 value (2) would read as 0.4's BT.709. */
static void test_default_colour_tags(const char *exact_bundle, const Clip *clip) {
    VsrqaFrame frame;
    CHECK(vsrqa_frame_default(&frame, sizeof frame) == VSRQA_OK, "frame default");
    CHECK(frame.color_matrix == VSRQA_COLOR_MATRIX_UNSPECIFIED, "default matrix %u, 0.4's unspecified is %u",
          (unsigned)frame.color_matrix, (unsigned)VSRQA_COLOR_MATRIX_UNSPECIFIED);
    VsrqaEngine *engine = create_engine(exact_bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    double by_default = first_frame_score(engine, clip, 0, 0);
    double unspecified = first_frame_score(engine, clip, 1, VSRQA_COLOR_MATRIX_UNSPECIFIED);
    double bt601 = first_frame_score(engine, clip, 1, VSRQA_COLOR_MATRIX_BT601);
    double bt709 = first_frame_score(engine, clip, 1, VSRQA_COLOR_MATRIX_BT709);
    CHECK(by_default == unspecified, "default-tagged %.9f, explicitly unspecified %.9f", by_default, unspecified);
    CHECK(by_default == bt601, "default-tagged %.9f, BT.601 %.9f", by_default, bt601);
    /* The check above can fail: on this bundle the matrix changes the score. */
    CHECK(bt709 != bt601, "BT.709 and BT.601 score the same (%.9f): the bundle ignores the matrix", bt709);
    vsrqa_engine_destroy(engine);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s BUNDLE_DIR SAMPLE.y4m EXACT_BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    Clip clip;
    if (!read_y4m(argv[2], &clip)) {
        fprintf(stderr, "cannot read the Y4M clip %s\n", argv[2]);
        return 2;
    }
    printf("vsrqa %s (C API %d.%d)\n", vsrqa_version(), VSRQA_API_VERSION_MAJOR, VSRQA_API_VERSION_MINOR);
    test_valid_scoring(argv[1], &clip);
    test_expected_frames(argv[1], &clip);
    test_bad_input(argv[1], &clip);
    test_default_colour_tags(argv[3], &clip);
    free(clip.data);
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
