// vsrqa.hpp, the C++17 wrapper, through the installed package: handles own and move, errors throw
// vsrqa::Error with the C status, and its sessions give the C API's scores.
//   hpp_test BUNDLE_DIR
#include <cmath>
#include <cstdio>
#include <vector>

#include <vsrqa.hpp>

static int failures = 0;
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                    \
    } while (0)

// A 64x48 RGB gradient, frame `i` of a clip.
static std::vector<unsigned char> pixels(int i) {
    std::vector<unsigned char> rgb(64 * 48 * 3);
    for (size_t p = 0; p < rgb.size(); p++) rgb[p] = static_cast<unsigned char>((p * 7 + static_cast<size_t>(i) * 13) & 255);
    return rgb;
}

static VsrqaFrame describe(const std::vector<unsigned char> &rgb) {
    auto frame = vsrqa::defaults<VsrqaFrame>();
    frame.format = VSRQA_PIXEL_FORMAT_RGB24;
    frame.width = 64;
    frame.height = 48;
    frame.planes[0] = rgb.data();
    frame.pitches[0] = 64 * 3;
    return frame;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    CHECK(vsrqa::library_is_compatible());
    try {
        vsrqa::Engine missing("/nonexistent/bundle");
        CHECK(false);
    } catch (const vsrqa::Error &e) {
        CHECK(e.status() == VSRQA_ERROR_BUNDLE);
        CHECK(std::string(e.what()).find("/nonexistent/bundle") != std::string::npos);
    }

    vsrqa::Engine engine(argv[1], VSRQA_BACKEND_CPU);
    vsrqa::Engine moved = std::move(engine);  // the moved-from handle is empty and destroys nothing
    CHECK(engine.get() == nullptr && moved.get() != nullptr);
    CHECK(moved.members().empty());  // the tiny bundle is not an ensemble
    try {
        (void)engine.members();  // the moved-from engine: a NULL handle, an error
        CHECK(false);
    } catch (const vsrqa::Error &e) {
        CHECK(e.status() == VSRQA_ERROR_NULL_POINTER);
    }

    std::vector<std::vector<unsigned char>> clip;
    std::vector<VsrqaFrame> frames;
    for (int i = 0; i < 12; i++) clip.push_back(pixels(i));
    for (const auto &rgb : clip) frames.push_back(describe(rgb));
    VsrqaClipScore whole = moved.score_clip(frames.data(), frames.size(), 6.0);

    // Blocking and non-blocking sessions give score_clip's score (told nothing of the length,
    // the session keeps FAST-VQA's frames; the same frames reach the networks).
    for (uint32_t queue : {0u, 3u}) {
        auto config = vsrqa::defaults<VsrqaSessionConfig>();
        config.fps = 6.0;
        config.queue_frames = queue;
        vsrqa::Session session = moved.session(config);
        int scores = 0;
        for (const auto &frame : frames) {
            CHECK(session.push(frame));
            while (auto score = session.poll()) scores++;
        }
        VsrqaClipScore streamed = session.finish();
        while (auto score = session.poll()) scores++;
        CHECK(session.ended());
        CHECK(scores == 2);  // key frames 0 and 6
        CHECK(streamed.score == whole.score);
        CHECK(streamed.flags == 0 && streamed.frames == 12);
        try {
            session.push(frames[0]);
            CHECK(false);
        } catch (const vsrqa::Error &e) {
            CHECK(e.status() == VSRQA_ERROR_SESSION_FINISHED);
        }
    }
    VsrqaFrameScore one = moved.score_frame(frames[0]);
    CHECK(std::isfinite(one.score) && one.frame_index == 0);
    std::printf("hpp_test: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
