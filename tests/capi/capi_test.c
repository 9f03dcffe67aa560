/*
 * The C ABI from C, through the installed package: valid scoring (frame, clip, session, and the
 * equivalence of clip and session), clip lengths that are off, windowed and non-blocking sessions,
 * older and newer struct sizes, colour tags, and every bad-input case returning its status with a
 * message. Usage: capi_test BUNDLE_DIR SAMPLE.y4m [--ensemble DIR] [--memcheck]
 *
 * --memcheck (under valgrind, 50 times slower): every path once (create, score, push, poll,
 * finish, destroy; blocking and non-blocking with a full queue and destroy with frames queued;
 * older and newer struct sizes; bad input), without the repeats that compare scores across
 * modes, colour tags and clip lengths.
 *
 * --ensemble DIR (tests/data/tiny_ensemble, three members): choosing members, their names, and
 * their scores in the clip score.
 *
 * Checks are explicit (not assert.h) so they run in every build type. Exit status 0 = all passed.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vsrqa.h>

#if !defined(VSRQA_API_VERSION_MAJOR) || !defined(VSRQA_API_VERSION_MINOR)
#error "vsrqa.h must define the API version macros"
#endif

static int failures = 0;
static int memcheck = 0;
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

/* Under --memcheck one CPU engine serves every test (loading the networks under valgrind is
   most of its time); otherwise each test has its own. */
static VsrqaEngine *shared_engine = NULL;

static VsrqaEngine *create_engine(const char *bundle, uint32_t backend) {
    if (memcheck && backend == VSRQA_BACKEND_CPU && shared_engine) return shared_engine;
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = bundle;
    config.backend = backend;
    VsrqaEngine *engine = NULL;
    VsrqaStatus status = vsrqa_engine_create(&config, &engine);
    CHECK(status == VSRQA_OK, "engine_create: %s", vsrqa_last_error());
    if (memcheck && backend == VSRQA_BACKEND_CPU) shared_engine = engine;
    return engine;
}

static void release_engine(VsrqaEngine *engine) {
    if (engine != shared_engine) vsrqa_engine_destroy(engine);
}

/* ---- valid use ---- */

static void test_valid_scoring(const char *bundle, const Clip *clip) {
    CHECK(vsrqa_version() != NULL && strlen(vsrqa_version()) > 0, "empty version");
    CHECK(vsrqa_version_api() == VSRQA_API_VERSION, "library API %#x, header %#x", (unsigned)vsrqa_version_api(),
          (unsigned)VSRQA_API_VERSION);
    CHECK((vsrqa_version_api() >> 16) == VSRQA_API_VERSION_MAJOR, "major version");

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

    /* The same with VSRQA_LOG_NONE: the callback is never called. (Not under memcheck: a second
       load of the same engine runs no code the first did not, and a load is a minute there.) */
    if (!memcheck) {
        int quiet_messages = 0;
        config.log_level = VSRQA_LOG_NONE;
        config.log_user_data = &quiet_messages;
        VsrqaEngine *quiet = NULL;
        CHECK(vsrqa_engine_create(&config, &quiet) == VSRQA_OK, "engine_create (LOG_NONE): %s",
              vsrqa_last_error());
        CHECK(quiet_messages == 0, "%d log messages at VSRQA_LOG_NONE", quiet_messages);
        vsrqa_engine_destroy(quiet);
    }

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
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    CHECK(cs.frames == (uint64_t)clip->count, "frames %llu", (unsigned long long)cs.frames);
    CHECK(cs.flags == 0 && cs.expected_frames == (uint64_t)clip->count, "an exact length is not flagged");
    double exact = cs.score;
    vsrqa_session_destroy(session);

    /* Container frame counts are often off by one: one frame more than announced, or one fewer,
       still scores, flagged. */
    for (int delta = -1; delta <= 1; delta += 2) {
        sc.expected_frames = (uint64_t)(clip->count - delta);
        CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
        for (int i = 0; i < clip->count; i++) {
            VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
            CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push %d past the length: %s", i,
                  vsrqa_last_error());
        }
        CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish off by %d: %s", delta, vsrqa_last_error());
        CHECK(cs.flags == (delta < 0 ? VSRQA_CLIP_ENDED_EARLY : VSRQA_CLIP_ENDED_LATE), "flags %u for %d",
              (unsigned)cs.flags, delta);
        CHECK(isfinite(cs.score) && cs.score >= 0.0 && cs.score <= 1.0, "score %f", cs.score);
        /* One fewer than 21 announced: FAST-VQA samples 20 frames as it would 21, the exact score. */
        if (delta < 0) CHECK(cs.score == exact, "announced 21, got 20: %.17g != %.17g", cs.score, exact);
        vsrqa_session_destroy(session);
    }
    release_engine(engine);
}

/* ---- a failed finish ends the stream: poll says why instead of AGAIN forever ---- */

static void test_failed_finish_ends_the_drain(const char *bundle) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    for (uint32_t queue = 0; queue <= 2; queue += 2) {
        sc.queue_frames = queue;
        VsrqaSession *session = NULL;
        CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
        VsrqaClipScore cs;
        vsrqa_clip_score_default(&cs, sizeof cs);
        CHECK_STATUS(vsrqa_session_finish(session, &cs), VSRQA_ERROR_INVALID_ARGUMENT, "no frames");
        VsrqaFrameScore fs;
        vsrqa_frame_score_default(&fs, sizeof fs);
        CHECK_STATUS(vsrqa_session_poll(session, &fs), VSRQA_ERROR_INVALID_ARGUMENT, "no frames");
        CHECK_STATUS(vsrqa_session_poll_clip(session, &cs), VSRQA_ERROR_INVALID_ARGUMENT, "no frames");
        vsrqa_session_destroy(session);
    }
    release_engine(engine);
}

/* ---- a finish refused for its arguments leaves the stream open; one that runs ends it ---- */

static void test_refused_finish_leaves_the_stream_open(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    sc.fps = clip->fps;
    VsrqaFrame frame = i420_frame(clip->data, clip->width, clip->height);
    for (uint32_t queue = 0; queue <= 2; queue += 2) {
        sc.queue_frames = queue;
        VsrqaSession *session = NULL;
        CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
        if (!session) continue;
        CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push: %s", vsrqa_last_error());
        CHECK_STATUS(vsrqa_session_finish(session, NULL), VSRQA_ERROR_NULL_POINTER, "score");
        VsrqaClipScore cs;
        vsrqa_clip_score_default(&cs, sizeof cs);
        cs.struct_size = 3;
        CHECK_STATUS(vsrqa_session_finish(session, &cs), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
        /* Both were refused before running: the stream goes on. */
        CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push after a refused finish (queue %u): %s",
              (unsigned)queue, vsrqa_last_error());
        vsrqa_clip_score_default(&cs, sizeof cs);
        CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
        CHECK(cs.frames == 2, "the clip has %llu frames, expected the 2 pushed", (unsigned long long)cs.frames);
        CHECK_STATUS(vsrqa_session_push(session, &frame), VSRQA_ERROR_SESSION_FINISHED, "finished");
        vsrqa_session_destroy(session);

        /* A finish that runs and fails (no frame) ends the stream all the same. */
        CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
        if (!session) continue;
        CHECK_STATUS(vsrqa_session_finish(session, &cs), VSRQA_ERROR_INVALID_ARGUMENT, "no frames");
        CHECK_STATUS(vsrqa_session_push(session, &frame), VSRQA_ERROR_SESSION_FINISHED, "finished");
        vsrqa_session_destroy(session);
    }
    release_engine(engine);
}

/* ---- `auto` scores wherever the program runs: a fully static program, which cannot load ONNX
   Runtime or TensorRT, gets the cpu backend instead of a crash ---- */

static void test_auto_backend(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = NULL;
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = bundle;
    CHECK(vsrqa_engine_create(&config, &engine) == VSRQA_OK, "engine_create (auto): %s", vsrqa_last_error());
    if (!engine) return;
    VsrqaFrame frame = i420_frame(clip->data, clip->width, clip->height);
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    CHECK(vsrqa_score_frame(engine, &frame, &fs) == VSRQA_OK, "score_frame (auto): %s", vsrqa_last_error());
    CHECK(fs.score >= 0.0 && fs.score <= 1.0, "score (auto) %f", fs.score);
    vsrqa_engine_destroy(engine);
}

/* ---- a callback calling its own session is refused at once, never a hang or a crash ---- */

typedef struct {
    VsrqaSession *session;
    int calls;
    int refused;
} Reentry;

static void reenter_from_callback(void *user_data, const VsrqaFrameScore *score) {
    Reentry *reentry = (Reentry *)user_data;
    (void)score;
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    reentry->calls += 3;
    reentry->refused += vsrqa_session_poll(reentry->session, &fs) == VSRQA_ERROR_INVALID_STATE;
    reentry->refused += vsrqa_session_finish(reentry->session, &cs) == VSRQA_ERROR_INVALID_STATE;
    vsrqa_session_destroy(reentry->session); /* does nothing here */
    reentry->refused += strstr(vsrqa_last_error(), "vsrqa_session_destroy was called from inside") != NULL;
}

static void test_callback_reentry(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    for (uint32_t queue = 0; queue <= 2; queue += 2) {
        Reentry reentry = {NULL, 0, 0};
        VsrqaSessionConfig sc;
        vsrqa_session_config_default(&sc, sizeof sc);
        sc.fps = clip->fps;
        sc.queue_frames = queue;
        sc.score_callback = reenter_from_callback;
        sc.callback_user_data = &reentry;
        CHECK(vsrqa_session_create(engine, &sc, &reentry.session) == VSRQA_OK, "session_create: %s",
              vsrqa_last_error());
        if (!reentry.session) continue;
        /* Under memcheck one frame: its key-frame score is ready at finish, whose callback then
           re-enters (the whole clip also re-enters from pushes). */
        for (int i = 0; i < (memcheck ? 1 : clip->count); i++) {
            VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
            CHECK(vsrqa_session_push(reentry.session, &frame) == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
        }
        VsrqaClipScore cs;
        vsrqa_clip_score_default(&cs, sizeof cs);
        CHECK(vsrqa_session_finish(reentry.session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
        CHECK(reentry.calls > 0, "the score callback never ran (queue %u)", (unsigned)queue);
        CHECK(reentry.refused == reentry.calls, "queue %u: %d of %d calls from the callback refused", (unsigned)queue,
              reentry.refused, reentry.calls);
        vsrqa_session_destroy(reentry.session);
    }
    release_engine(engine);
}

/* ---- windowed sessions: a clip score every window, in constant memory ---- */

static void test_windows(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    sc.fps = clip->fps;
    sc.window_seconds = 1.0; /* 8 frames at 8 fps: windows 0-7, 8-15, 16-19 */
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    VsrqaClipScore windows[4];
    int nwindows = 0;
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    for (int i = 0; i < clip->count; i++) {
        VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
        CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
        while (nwindows < 4 && vsrqa_session_poll_clip(session, &cs) == VSRQA_OK) windows[nwindows++] = cs;
    }
    CHECK(nwindows == 2, "%d windows before finish, expected 2", nwindows);
    VsrqaClipScore last;
    vsrqa_clip_score_default(&last, sizeof last);
    CHECK(vsrqa_session_finish(session, &last) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    while (nwindows < 4 && vsrqa_session_poll_clip(session, &cs) == VSRQA_OK) windows[nwindows++] = cs;
    CHECK(vsrqa_session_poll_clip(session, &cs) == VSRQA_END, "poll_clip ends");
    CHECK(nwindows == 3, "%d windows, expected 3", nwindows);
    for (int w = 0; w < nwindows && w < 3; w++) {
        CHECK(windows[w].window == (uint32_t)w && windows[w].first_frame == (uint64_t)(8 * w) &&
                  windows[w].frames == (w < 2 ? 8u : 4u),
              "window %d: #%u from %llu, %llu frames", w, (unsigned)windows[w].window,
              (unsigned long long)windows[w].first_frame, (unsigned long long)windows[w].frames);
    }
    CHECK(last.window == 2 && last.score == windows[2].score, "finish returns the last window");
    /* Each whole window is scored as score_clip scores its frames alone. */
    VsrqaFrame frames[8];
    for (int i = 0; i < 8; i++)
        frames[i] = i420_frame(clip->data + (size_t)(8 + i) * clip->frame_bytes, clip->width, clip->height);
    CHECK(vsrqa_score_clip(engine, frames, 8, clip->fps, &cs) == VSRQA_OK, "score_clip: %s", vsrqa_last_error());
    CHECK(nwindows < 2 || cs.score == windows[1].score, "window 1 %.17g != its clip %.17g", windows[1].score, cs.score);
    vsrqa_session_destroy(session);
    release_engine(engine);
}

/* ---- non-blocking sessions: the blocking scores, a worker thread, a bounded queue ---- */

typedef struct {
    int count;
    VsrqaFrameScore scores[16];
} Collected;

static void collect_score(void *user_data, const VsrqaFrameScore *score) {
    Collected *collected = (Collected *)user_data;
    if (collected->count < 16) collected->scores[collected->count] = *score;
    collected->count++;
}

/* Streams the clip through a session made with `sc`; polls (or lets the callback collect) the
   key-frame scores into `out`. Returns the clip score. */
static double stream_clip(VsrqaEngine *engine, const VsrqaSessionConfig *sc, const Clip *clip, Collected *out) {
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    if (!session) return -1.0;
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    for (int i = 0; i < clip->count; i++) {
        VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
        VsrqaStatus pushed;
        /* VSRQA_QUEUE_FULL_AGAIN: a full queue returns AGAIN; push the frame again a little later
           (a player would show the next frame meanwhile). */
        while ((pushed = vsrqa_session_push(session, &frame)) == VSRQA_AGAIN) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        CHECK(pushed == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
        while (sc->score_callback == NULL && vsrqa_session_poll(session, &fs) == VSRQA_OK)
            collect_score(out, &fs);
    }
    VsrqaClipScore cs;
    vsrqa_clip_score_default(&cs, sizeof cs);
    CHECK(vsrqa_session_finish(session, &cs) == VSRQA_OK, "finish: %s", vsrqa_last_error());
    VsrqaStatus last;
    while ((last = vsrqa_session_poll(session, &fs)) == VSRQA_OK) collect_score(out, &fs);
    CHECK(last == VSRQA_END, "poll after finish returned %d", (int)last);
    vsrqa_session_destroy(session);
    return cs.score;
}

static void test_nonblocking(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaSessionConfig sc;
    vsrqa_session_config_default(&sc, sizeof sc);
    CHECK(sc.queue_frames == 0 && sc.queue_full == VSRQA_QUEUE_FULL_BLOCK && sc.score_callback == NULL &&
              sc.window_seconds == 0.0,
          "session defaults: blocking, one clip");
    sc.fps = clip->fps;
    Collected blocking = {0};
    double blocking_score = stream_clip(engine, &sc, clip, &blocking);
    CHECK(blocking.count == 3, "%d blocking scores", blocking.count);

    struct { uint32_t queue, full; int callback; } modes[] = {
        {1, VSRQA_QUEUE_FULL_AGAIN, 0}, {1, VSRQA_QUEUE_FULL_BLOCK, 0}, {4, VSRQA_QUEUE_FULL_AGAIN, 0},
        {2, VSRQA_QUEUE_FULL_BLOCK, 1}};
    size_t nmodes = memcheck ? 1 : sizeof modes / sizeof modes[0];
    for (size_t m = 0; m < nmodes; m++) {
        Collected got = {0};
        sc.queue_frames = modes[m].queue;
        sc.queue_full = modes[m].full;
        sc.score_callback = modes[m].callback ? collect_score : NULL;
        sc.callback_user_data = modes[m].callback ? &got : NULL;
        double score = stream_clip(engine, &sc, clip, &got);
        CHECK(score == blocking_score, "mode %zu: clip %.17g != blocking %.17g", m, score, blocking_score);
        CHECK(got.count == blocking.count, "mode %zu: %d scores, blocking %d", m, got.count, blocking.count);
        for (int k = 0; k < got.count && k < blocking.count && k < 16; k++)
            CHECK(got.scores[k].score == blocking.scores[k].score &&
                      got.scores[k].frame_index == blocking.scores[k].frame_index,
                  "mode %zu, score %d differs", m, k);
    }

    /* Destroyed with frames queued and none finished: cancelled cleanly (valgrind runs this too). */
    sc.queue_frames = 8;
    sc.queue_full = VSRQA_QUEUE_FULL_BLOCK;
    sc.score_callback = NULL;
    sc.callback_user_data = NULL;
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, &sc, &session) == VSRQA_OK, "session_create: %s", vsrqa_last_error());
    for (int i = 0; i < 8 && session; i++) {
        VsrqaFrame frame = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
        CHECK(vsrqa_session_push(session, &frame) == VSRQA_OK, "push %d: %s", i, vsrqa_last_error());
    }
    vsrqa_session_destroy(session);

    /* Bad queue settings. */
    sc.queue_frames = 100000;
    CHECK_STATUS(vsrqa_session_create(engine, &sc, &session), VSRQA_ERROR_INVALID_ARGUMENT, "queue_frames");
    sc.queue_frames = 2;
    sc.queue_full = 7;
    CHECK_STATUS(vsrqa_session_create(engine, &sc, &session), VSRQA_ERROR_INVALID_ARGUMENT, "queue_full");
    sc.queue_full = VSRQA_QUEUE_FULL_BLOCK;
    sc.window_seconds = -1.0;
    CHECK_STATUS(vsrqa_session_create(engine, &sc, &session), VSRQA_ERROR_INVALID_ARGUMENT, "window");
    release_engine(engine);
}

/* ---- colour tags: H.273's values; a 0.x frame keeps 0.x's ---- */

static double i420_score(VsrqaEngine *engine, const VsrqaFrame *frame) {
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    CHECK(vsrqa_score_frame(engine, frame, &fs) == VSRQA_OK, "score_frame: %s", vsrqa_last_error());
    return fs.score;
}

static void test_colour_tags(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaFrame frame = i420_frame(clip->data, clip->width, clip->height);
    CHECK(frame.color_matrix == VSRQA_COLOR_MATRIX_UNSPECIFIED && VSRQA_COLOR_MATRIX_UNSPECIFIED == 2,
          "the default matrix is H.273's unspecified");
    double unspecified = i420_score(engine, &frame);
    frame.color_matrix = VSRQA_COLOR_MATRIX_BT601;
    double bt601 = i420_score(engine, &frame);
    frame.color_matrix = VSRQA_COLOR_MATRIX_BT470BG;
    double bt470bg = i420_score(engine, &frame);
    frame.color_matrix = VSRQA_COLOR_MATRIX_BT709;
    double bt709 = i420_score(engine, &frame);
    frame.color_matrix = VSRQA_COLOR_MATRIX_BT2020_NCL;
    double bt2020 = i420_score(engine, &frame);
    CHECK(unspecified == bt601 && bt601 == bt470bg, "unspecified, BT.601 and BT.470BG are one matrix");
    CHECK(bt709 != bt601 && bt2020 != bt601 && bt2020 != bt709, "BT.709 and BT.2020 convert differently");
    frame.color_matrix = 8; /* YCgCo: H.273 has it, vsrqa does not */
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    CHECK_STATUS(vsrqa_score_frame(engine, &frame, &fs), VSRQA_ERROR_UNSUPPORTED_FORMAT, "matrix 8");

    /* A frame of the 0.x size (no opaque) is read with 0.x's values: 2 was BT.709, 1 BT.601. */
    VsrqaFrame old = i420_frame(clip->data, clip->width, clip->height);
    old.struct_size = offsetof(VsrqaFrame, opaque);
    old.color_matrix = 2;
    CHECK(i420_score(engine, &old) == bt709, "a 0.x frame's matrix 2 is BT.709");
    old.color_matrix = 1;
    CHECK(i420_score(engine, &old) == bt601, "a 0.x frame's matrix 1 is BT.601");

    /* RGB frames ignore the tags, whatever they hold. */
    static unsigned char rgb[4 * 4 * 3];
    VsrqaFrame tagged;
    vsrqa_frame_default(&tagged, sizeof tagged);
    tagged.format = VSRQA_PIXEL_FORMAT_RGB24;
    tagged.width = 4;
    tagged.height = 4;
    tagged.planes[0] = rgb;
    tagged.pitches[0] = 12;
    double plain = i420_score(engine, &tagged);
    tagged.color_matrix = 77;
    tagged.color_range = 77;
    CHECK(i420_score(engine, &tagged) == plain, "RGB with tags");
    release_engine(engine);
}

/* ---- struct sizes: an older header's structs and a newer header's ---- */

typedef struct {
    VsrqaSessionConfig config;
    unsigned char newer_fields[16];
} NewerSessionConfig;

typedef struct {
    VsrqaClipScore score;
    unsigned char newer_fields[16];
} NewerClipScore;

/* API 1.1's color_conversion: the bundle's by default (the tiny bundle's is exact), or the one
   asked for; the reference conversion gives other RGB frames, so another score. */
static VsrqaEngine *engine_converting(const char *bundle, VsrqaColorConversion conversion) {
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    CHECK(config.color_conversion == VSRQA_COLOR_CONVERSION_BUNDLE, "default conversion");
    config.bundle_path = bundle;
    config.backend = VSRQA_BACKEND_CPU;
    config.color_conversion = conversion;
    VsrqaEngine *engine = NULL;
    CHECK(vsrqa_engine_create(&config, &engine) == VSRQA_OK, "engine_create: %s", vsrqa_last_error());
    return engine;
}

static void test_color_conversion_choice(const char *bundle, const Clip *clip) {
    VsrqaFrame frame = i420_frame(clip->data, clip->width, clip->height);
    VsrqaEngine *bundles = engine_converting(bundle, VSRQA_COLOR_CONVERSION_BUNDLE);
    VsrqaEngine *exact = engine_converting(bundle, VSRQA_COLOR_CONVERSION_EXACT);
    VsrqaEngine *reference = engine_converting(bundle, VSRQA_COLOR_CONVERSION_REFERENCE);
    if (bundles && exact && reference) {
        double own = i420_score(bundles, &frame);
        CHECK(i420_score(exact, &frame) == own, "the tiny bundle's conversion is exact");
        CHECK(i420_score(reference, &frame) != own, "the reference conversion changes the frames");
    }
    vsrqa_engine_destroy(bundles);
    vsrqa_engine_destroy(exact);
    vsrqa_engine_destroy(reference);
}

static void test_struct_sizes(const char *bundle, const Clip *clip) {
    VsrqaEngine *engine = create_engine(bundle, VSRQA_BACKEND_CPU);
    if (!engine) return;
    VsrqaFrame good = i420_frame(clip->data, clip->width, clip->height);
    VsrqaFrameScore fs;
    vsrqa_frame_score_default(&fs, sizeof fs);
    double reference = i420_score(engine, &good);

    /* Older clients: 0.1's engine config (no cuda_graphs), 0.1's session config (fps only), 0.4's
       frame and clip score; the fields they lack take their defaults, results stop at their size.
       (The old engine config not under memcheck: the struct lives on the stack, where memcheck
       sees no overrun, and the engine load it costs is a minute there.) */
    if (!memcheck) {
        VsrqaEngineConfig old_engine_config;
        CHECK(vsrqa_engine_config_default(&old_engine_config, offsetof(VsrqaEngineConfig, cuda_graphs)) ==
                  VSRQA_OK,
              "0.1 engine config default: %s", vsrqa_last_error());
        old_engine_config.bundle_path = bundle;
        old_engine_config.backend = VSRQA_BACKEND_CPU;
        old_engine_config.cuda_graphs = 99; /* past the old size: never read */
        VsrqaEngine *old_engine = NULL;
        CHECK(vsrqa_engine_create(&old_engine_config, &old_engine) == VSRQA_OK, "0.1 engine config: %s",
              vsrqa_last_error());
        vsrqa_engine_destroy(old_engine);
    }

    VsrqaSessionConfig old_session;
    CHECK(vsrqa_session_config_default(&old_session, offsetof(VsrqaSessionConfig, expected_frames)) == VSRQA_OK,
          "0.1 session config default");
    old_session.expected_frames = 12345; /* past the old size: never read */
    old_session.queue_frames = 99999;
    old_session.fps = clip->fps;
    VsrqaSession *session = NULL;
    CHECK(vsrqa_session_create(engine, &old_session, &session) == VSRQA_OK, "0.1 session config: %s",
          vsrqa_last_error());
    VsrqaClipScore old_score;
    CHECK(vsrqa_clip_score_default(&old_score, offsetof(VsrqaClipScore, first_frame)) == VSRQA_OK,
          "0.4 clip score default");
    old_score.first_frame = 777; /* past the old size: never written */
    old_score.flags = 777;
    CHECK(vsrqa_session_push(session, &good) == VSRQA_OK, "push: %s", vsrqa_last_error());
    CHECK(vsrqa_session_finish(session, &old_score) == VSRQA_OK, "finish into a 0.4 clip score: %s",
          vsrqa_last_error());
    CHECK(old_score.frames == 1 && old_score.first_frame == 777 && old_score.flags == 777,
          "written past a 0.4 clip score");
    CHECK(old_score.struct_size == offsetof(VsrqaClipScore, first_frame), "struct_size kept");
    vsrqa_session_destroy(session);

    VsrqaFrame old_frame = good;
    old_frame.struct_size = offsetof(VsrqaFrame, opaque);
    old_frame.color_matrix = 0; /* 0.x's unspecified, as 0.x's vsrqa_frame_default set it */
    CHECK(i420_score(engine, &old_frame) == reference, "a 0.4 frame scores as a 1.0 one");

    /* Newer clients: fields this library does not know, zero, are accepted; set, refused. */
    NewerSessionConfig newer;
    CHECK(vsrqa_session_config_default(&newer.config, sizeof newer) == VSRQA_OK, "newer default");
    CHECK(newer.config.struct_size == sizeof newer && newer.newer_fields[0] == 0 && newer.newer_fields[15] == 0,
          "a newer struct's default zeroes its unknown fields");
    CHECK(vsrqa_session_create(engine, &newer.config, &session) == VSRQA_OK, "newer, zero tail: %s",
          vsrqa_last_error());
    vsrqa_session_destroy(session);
    newer.newer_fields[3] = 1;
    CHECK_STATUS(vsrqa_session_create(engine, &newer.config, &session), VSRQA_ERROR_STRUCT_SIZE, "newer vsrqa.h");
    NewerClipScore newer_score;
    memset(&newer_score, 0xAB, sizeof newer_score);
    CHECK(vsrqa_clip_score_default(&newer_score.score, sizeof newer_score) == VSRQA_OK, "newer clip default");
    VsrqaFrame one = good;
    CHECK(vsrqa_score_clip(engine, &one, 1, 25.0, &newer_score.score) == VSRQA_OK, "score_clip into newer: %s",
          vsrqa_last_error());
    CHECK(newer_score.newer_fields[0] == 0 && newer_score.score.frames == 1, "newer clip score");

    /* Every other struct from a newer header: accepted with a zero tail, refused with a set one. */
    struct {
        VsrqaEngineConfig config;
        unsigned char newer_fields[16];
    } newer_engine;
    CHECK(vsrqa_engine_config_default(&newer_engine.config, sizeof newer_engine) == VSRQA_OK, "newer engine default");
    newer_engine.config.bundle_path = bundle;
    newer_engine.config.backend = VSRQA_BACKEND_CPU;
    newer_engine.newer_fields[15] = 1;
    VsrqaEngine *newer_created = NULL;
    CHECK_STATUS(vsrqa_engine_create(&newer_engine.config, &newer_created), VSRQA_ERROR_STRUCT_SIZE, "newer vsrqa.h");
    struct {
        VsrqaFrame frame;
        unsigned char newer_fields[16];
    } newer_frame;
    CHECK(vsrqa_frame_default(&newer_frame.frame, sizeof newer_frame) == VSRQA_OK, "newer frame default");
    memcpy(&newer_frame.frame, &good, offsetof(VsrqaFrame, opaque));
    newer_frame.frame.struct_size = sizeof newer_frame;
    struct {
        VsrqaFrameScore score;
        unsigned char newer_fields[16];
    } newer_frame_score;
    memset(&newer_frame_score, 0xAB, sizeof newer_frame_score);
    CHECK(vsrqa_frame_score_default(&newer_frame_score.score, sizeof newer_frame_score) == VSRQA_OK,
          "newer frame score default");
    CHECK(vsrqa_score_frame(engine, &newer_frame.frame, &newer_frame_score.score) == VSRQA_OK,
          "newer frame and frame score: %s", vsrqa_last_error());
    CHECK(newer_frame_score.score.score == reference && newer_frame_score.newer_fields[0] == 0,
          "a newer frame scores as this header's, the result's unknown tail stays zero");
    newer_frame.newer_fields[2] = 9;
    CHECK_STATUS(vsrqa_score_frame(engine, &newer_frame.frame, &fs), VSRQA_ERROR_STRUCT_SIZE, "newer vsrqa.h");

    /* A clip of frames of an older header's size: the array's stride is the caller's. */
    typedef struct {
        unsigned char bytes[offsetof(VsrqaFrame, opaque)];
    } OldFrame;
    OldFrame old_frames[3];
    for (int i = 0; i < 3; i++) {
        VsrqaFrame f = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
        f.struct_size = sizeof(OldFrame);
        f.color_matrix = 0;
        memcpy(old_frames[i].bytes, &f, sizeof(OldFrame));
    }
    VsrqaFrame new_frames[3];
    for (int i = 0; i < 3; i++)
        new_frames[i] = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
    VsrqaClipScore a, b;
    vsrqa_clip_score_default(&a, sizeof a);
    vsrqa_clip_score_default(&b, sizeof b);
    CHECK(vsrqa_score_clip(engine, (const VsrqaFrame *)(const void *)old_frames, 3, 8.0, &a) == VSRQA_OK,
          "score_clip of 0.4 frames: %s", vsrqa_last_error());
    CHECK(vsrqa_score_clip(engine, new_frames, 3, 8.0, &b) == VSRQA_OK, "score_clip: %s", vsrqa_last_error());
    CHECK(a.score == b.score, "0.4 frames %.17g != 1.0 frames %.17g", a.score, b.score);

    /* Sizes no header ever had. */
    VsrqaFrame tiny = good;
    tiny.struct_size = 12;
    CHECK_STATUS(vsrqa_score_frame(engine, &tiny, &fs), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
    tiny.struct_size = 1u << 20;
    CHECK_STATUS(vsrqa_score_frame(engine, &tiny, &fs), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
    release_engine(engine);
}

/* ---- the log callback hears why vsrqa_engine_create failed ---- */

/* ---- ensembles (API 1.1) ---- */

static VsrqaEngine *ensemble_engine(const char *bundle, const char *members) {
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = bundle;
    config.backend = VSRQA_BACKEND_CPU;
    config.members = members;
    VsrqaEngine *engine = NULL;
    CHECK(vsrqa_engine_create(&config, &engine) == VSRQA_OK, "engine_create (members %s): %s",
          members ? members : "all", vsrqa_last_error());
    return engine;
}

/* The clip's score with `capacity` member scores asked for (the rest of `scores` stays NAN). */
static VsrqaClipScore ensemble_clip(VsrqaEngine *engine, const Clip *clip, double *scores, uint32_t capacity) {
    VsrqaFrame *frames = malloc(sizeof(VsrqaFrame) * (size_t)clip->count);
    for (int i = 0; i < clip->count; i++)
        frames[i] = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
    VsrqaClipScore score;
    vsrqa_clip_score_default(&score, sizeof score);
    CHECK(score.member_scores == NULL && score.member_scores_capacity == 0, "member array defaults");
    score.member_scores = scores;
    score.member_scores_capacity = capacity;
    CHECK(vsrqa_score_clip(engine, frames, (size_t)clip->count, clip->fps, &score) == VSRQA_OK, "score_clip: %s",
          vsrqa_last_error());
    CHECK(score.member_scores == scores && score.member_scores_capacity == capacity, "the caller's array is kept");
    free(frames);
    return score;
}

/* The engine's member names, joined by commas. */
static void member_names(VsrqaEngine *engine, char *out, size_t size) {
    out[0] = '\0';
    const char *name = NULL;
    uint32_t i = 0;
    for (; vsrqa_engine_member(engine, i, &name) == VSRQA_OK; i++) {
        if (i) strncat(out, ",", size - strlen(out) - 1);
        strncat(out, name, size - strlen(out) - 1);
    }
    CHECK(vsrqa_engine_member(engine, i, &name) == VSRQA_END, "member %u past the end", (unsigned)i);
}

static void test_ensemble(const char *plain_bundle, const char *bundle, const Clip *clip) {
    char names[64];
    VsrqaEngine *all = ensemble_engine(bundle, NULL);
    if (!all) return;
    member_names(all, names, sizeof names);
    CHECK(strcmp(names, "m0,m1,m2") == 0, "members \"%s\"", names);

    /* Three members, room for two: two written, the third slot untouched, the count says three. */
    double scores[4] = {NAN, NAN, NAN, NAN};
    VsrqaClipScore two = ensemble_clip(all, clip, scores, 2);
    CHECK(two.member_count == 3, "member_count %u", (unsigned)two.member_count);
    CHECK(isfinite(scores[0]) && isfinite(scores[1]) && isnan(scores[2]), "two of three member scores written");
    double three_scores[3];
    VsrqaClipScore three = ensemble_clip(all, clip, three_scores, 3);
    CHECK(three.score == two.score && three_scores[0] == scores[0] && three_scores[1] == scores[1], "repeatable");
    double mean = ((0.0 + three_scores[0]) + three_scores[1] + three_scores[2]) / 3.0;
    CHECK(fabs(three.score - mean) < 1e-12, "clip %.17g, members' mean %.17g", three.score, mean);
    double variance = 0.0;
    for (int m = 0; m < 3; m++) variance += (three_scores[m] - mean) * (three_scores[m] - mean) / 3.0;
    CHECK(fabs(three.member_spread - sqrt(variance)) < 1e-12 && three.member_spread > 0.0, "spread %g",
          three.member_spread);
    VsrqaClipScore none = ensemble_clip(all, clip, NULL, 3);
    CHECK(none.score == three.score && none.member_count == 3, "no array: the score alone");

    /* A subset, named in any order: the bundle's order, and those members' mean. */
    VsrqaEngine *subset = ensemble_engine(bundle, "m2, m0");
    if (subset) {
        member_names(subset, names, sizeof names);
        CHECK(strcmp(names, "m0,m2") == 0, "chosen members \"%s\"", names);
        double chosen[2];
        VsrqaClipScore score = ensemble_clip(subset, clip, chosen, 2);
        CHECK(score.member_count == 2 && fabs(chosen[1] - three_scores[2]) < 1e-12, "member m2 %.17g", chosen[1]);
        CHECK(fabs(score.score - (three_scores[0] + three_scores[2]) / 2.0) < 1e-12, "subset %.17g", score.score);
        vsrqa_engine_destroy(subset);
    }

    /* Unknown, empty and misplaced choices are refused with the reason. */
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = bundle;
    config.backend = VSRQA_BACKEND_CPU;
    VsrqaEngine *refused = NULL;
    config.members = "m0,m9";
    CHECK_STATUS(vsrqa_engine_create(&config, &refused), VSRQA_ERROR_INVALID_ARGUMENT, "no member 'm9'");
    config.members = "m0,,m1";
    CHECK_STATUS(vsrqa_engine_create(&config, &refused), VSRQA_ERROR_INVALID_ARGUMENT, "separated by commas");
    config.bundle_path = plain_bundle;
    config.members = "m0";
    CHECK_STATUS(vsrqa_engine_create(&config, &refused), VSRQA_ERROR_INVALID_ARGUMENT, "not an ensemble");
    CHECK(refused == NULL, "an engine was made");

    /* A plain bundle: no members, the array untouched. */
    VsrqaEngine *plain = ensemble_engine(plain_bundle, NULL);
    if (plain) {
        const char *name = NULL;
        CHECK(vsrqa_engine_member(plain, 0, &name) == VSRQA_END, "a plain bundle has no members");
        double untouched[1] = {NAN};
        VsrqaClipScore score = ensemble_clip(plain, clip, untouched, 1);
        CHECK(score.member_count == 0 && isnan(untouched[0]) && score.member_spread == 0.0, "plain clip score");
        vsrqa_engine_destroy(plain);
    }

    /* A 1.0 clip score (no member fields): the same score, nothing written past it. */
    VsrqaClipScore old;
    memset(&old, 0xAB, sizeof old);
    CHECK(vsrqa_clip_score_default(&old, offsetof(VsrqaClipScore, member_count)) == VSRQA_OK, "1.0 default");
    VsrqaFrame *frames = malloc(sizeof(VsrqaFrame) * (size_t)clip->count);
    for (int i = 0; i < clip->count; i++)
        frames[i] = i420_frame(clip->data + (size_t)i * clip->frame_bytes, clip->width, clip->height);
    CHECK(vsrqa_score_clip(all, frames, (size_t)clip->count, clip->fps, &old) == VSRQA_OK, "1.0 clip: %s",
          vsrqa_last_error());
    free(frames);
    unsigned char tail[sizeof old - offsetof(VsrqaClipScore, member_count)];
    memset(tail, 0xAB, sizeof tail);
    CHECK(old.score == three.score &&
              memcmp((unsigned char *)&old + offsetof(VsrqaClipScore, member_count), tail, sizeof tail) == 0,
          "a 1.0 clip score: the score, and nothing written past its size");

    CHECK_STATUS(vsrqa_engine_member(NULL, 0, NULL), VSRQA_ERROR_NULL_POINTER, "engine");
    CHECK_STATUS(vsrqa_engine_member(all, 0, NULL), VSRQA_ERROR_NULL_POINTER, "name");
    vsrqa_engine_destroy(all);
}

static void test_create_failure_is_logged(void) {
    VsrqaEngineConfig config;
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = "/nonexistent/vsrqa-bundle";
    config.log_level = VSRQA_LOG_ERROR;
    int messages = 0;
    config.log_callback = on_log;
    config.log_user_data = &messages;
    VsrqaEngine *engine = NULL;
    CHECK_STATUS(vsrqa_engine_create(&config, &engine), VSRQA_ERROR_BUNDLE, "/nonexistent/vsrqa-bundle");
    CHECK(messages == 1, "%d log messages for a failed create, expected 1", messages);
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

    /* Sizes no header ever had (older and newer headers' sizes: test_struct_sizes). */
    VsrqaEngineConfig small;
    CHECK_STATUS(vsrqa_engine_config_default(&small, 16), VSRQA_ERROR_STRUCT_SIZE, "struct_size");
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
    config.color_conversion = 3; /* 0 (the bundle's), 1 (reference) or 2 (exact) */
    CHECK_STATUS(vsrqa_engine_create(&config, &out_engine), VSRQA_ERROR_INVALID_ARGUMENT, "color_conversion");
    config.color_conversion = VSRQA_COLOR_CONVERSION_BUNDLE;
    CHECK(out_engine == NULL, "engine set on failure");

    /* Status strings exist for every status and for unknown values. */
    const int statuses[] = {VSRQA_OK, VSRQA_AGAIN, VSRQA_END, VSRQA_ERROR_NULL_POINTER, VSRQA_ERROR_STRUCT_SIZE,
                            VSRQA_ERROR_INVALID_ARGUMENT, VSRQA_ERROR_UNSUPPORTED_FORMAT, VSRQA_ERROR_BUNDLE,
                            VSRQA_ERROR_BACKEND, VSRQA_ERROR_BACKEND_UNAVAILABLE, VSRQA_ERROR_SESSION_FINISHED,
                            VSRQA_ERROR_OUT_OF_MEMORY, VSRQA_ERROR_INVALID_STATE, VSRQA_ERROR_INTERNAL, 12345};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *text = vsrqa_status_str(statuses[i]);
        CHECK(text != NULL && text[0] != '\0', "status_str(%d)", statuses[i]);
    }
    release_engine(engine);
}

int main(int argc, char **argv) {
    const char *ensemble = NULL;
    int usage = argc < 3;
    for (int i = 3; i < argc && !usage; i++) {
        if (strcmp(argv[i], "--memcheck") == 0) memcheck = 1;
        else if (strcmp(argv[i], "--ensemble") == 0 && i + 1 < argc) ensemble = argv[++i];
        else usage = 1;
    }
    if (usage) {
        fprintf(stderr, "usage: %s BUNDLE_DIR SAMPLE.y4m [--ensemble DIR] [--memcheck]\n", argv[0]);
        return 2;
    }
    Clip clip;
    if (!read_y4m(argv[2], &clip)) {
        fprintf(stderr, "cannot read the Y4M clip %s\n", argv[2]);
        return 2;
    }
    printf("vsrqa %s (C API %d.%d)\n", vsrqa_version(), VSRQA_API_VERSION_MAJOR, VSRQA_API_VERSION_MINOR);
    test_valid_scoring(argv[1], &clip);
    if (!memcheck) test_expected_frames(argv[1], &clip);
    test_failed_finish_ends_the_drain(argv[1]);
    if (!memcheck) test_refused_finish_leaves_the_stream_open(argv[1], &clip);
    test_callback_reentry(argv[1], &clip);
    /* Not under memcheck: `auto` may load ONNX Runtime, whose library memcheck does not vet. */
    if (!memcheck) test_auto_backend(argv[1], &clip);
    if (!memcheck) test_windows(argv[1], &clip);
    test_nonblocking(argv[1], &clip);
    if (!memcheck) test_colour_tags(argv[1], &clip);
    if (!memcheck) test_color_conversion_choice(argv[1], &clip);
    test_struct_sizes(argv[1], &clip);
    test_create_failure_is_logged();
    test_bad_input(argv[1], &clip);
    if (ensemble) test_ensemble(argv[1], ensemble, &clip);
    vsrqa_engine_destroy(shared_engine);
    free(clip.data);
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
