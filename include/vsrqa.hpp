/*
 * vsrqa.hpp: a header-only C++17 wrapper over the C API of vsrqa.h. Owning, movable handles
 * (vsrqa::Engine, vsrqa::Session) and vsrqa::Error exceptions carrying the status and
 * vsrqa_last_error()'s message; the C structs are used as they are, initialized by
 * vsrqa::defaults<T>().
 *
 *   vsrqa::Engine engine("tests/data/tiny_bundle");
 *   auto config = vsrqa::defaults<VsrqaSessionConfig>();
 *   config.fps = 30.0;
 *   vsrqa::Session session = engine.session(config);
 *   for (const VsrqaFrame &frame : decoded) {
 *       session.push(frame);
 *       while (auto score = session.poll()) std::printf("%.4f\n", score->score);
 *   }
 *   VsrqaClipScore clip = session.finish();
 *   while (auto score = session.poll()) std::printf("%.4f\n", score->score);
 *
 * Every call that can fail throws vsrqa::Error; VSRQA_AGAIN and VSRQA_END are not errors (poll
 * returns std::nullopt and says which through Session::ended(); push returns false when a
 * non-blocking session's queue is full under VSRQA_QUEUE_FULL_AGAIN).
 */
#ifndef VSRQA_HPP
#define VSRQA_HPP

/* C++17 or later (MSVC reports its standard in _MSVC_LANG; __cplusplus only with /Zc:__cplusplus).
   The rest of the file is skipped otherwise, so that this is the one error. */
#if defined(_MSVC_LANG)
#define VSRQA_HPP_CPLUSPLUS _MSVC_LANG
#elif defined(__cplusplus)
#define VSRQA_HPP_CPLUSPLUS __cplusplus
#else
#define VSRQA_HPP_CPLUSPLUS 0L
#endif
#if VSRQA_HPP_CPLUSPLUS < 201703L
#undef VSRQA_HPP_CPLUSPLUS
#error "vsrqa.hpp needs C++17 (e.g. -std=c++17); C and older C++ programs use the C API, vsrqa.h"
#else
#undef VSRQA_HPP_CPLUSPLUS

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vsrqa.h"

namespace vsrqa {

/** A failed vsrqa call: its status and the library's message. */
class Error : public std::runtime_error {
  public:
    Error(VsrqaStatus status, const std::string &what)
        : std::runtime_error(what + ": " + vsrqa_status_str(status) + ": " + vsrqa_last_error()), status_(status) {}

    VsrqaStatus status() const noexcept { return status_; }

  private:
    VsrqaStatus status_;
};

/** Returns `status`, or throws vsrqa::Error when it is an error (negative). */
inline VsrqaStatus check(VsrqaStatus status, const char *what) {
    if (status < 0) throw Error(status, what);
    return status;
}

namespace detail {
inline VsrqaStatus fill(VsrqaEngineConfig *p) { return vsrqa_engine_config_default(p, sizeof *p); }
inline VsrqaStatus fill(VsrqaSessionConfig *p) { return vsrqa_session_config_default(p, sizeof *p); }
inline VsrqaStatus fill(VsrqaFrame *p) { return vsrqa_frame_default(p, sizeof *p); }
inline VsrqaStatus fill(VsrqaFrameScore *p) { return vsrqa_frame_score_default(p, sizeof *p); }
inline VsrqaStatus fill(VsrqaClipScore *p) { return vsrqa_clip_score_default(p, sizeof *p); }
}  // namespace detail

/** A vsrqa struct filled with its defaults (struct_size included). */
template <class T>
T defaults() {
    T value;
    check(detail::fill(&value), "vsrqa defaults");
    return value;
}

/** Whether the loaded library serves this header's API (same major version, minor at least this one's). */
inline bool library_is_compatible() noexcept {
    const uint32_t loaded = vsrqa_version_api();
    // Major and minor together (major << 8 | minor), so that no comparison is with a constant 0
    // while the minor version is 0 (-Wtype-limits).
    const uint32_t needed = (uint32_t{VSRQA_API_VERSION_MAJOR} << 8) | uint32_t{VSRQA_API_VERSION_MINOR};
    return (loaded >> 16) == uint32_t{VSRQA_API_VERSION_MAJOR} && (loaded >> 8) >= needed;
}

/** One stream of frames (see VsrqaSessionConfig). Movable, not copyable; destroyed with its owner. */
class Session {
  public:
    explicit Session(VsrqaSession *handle) noexcept : handle_(handle) {}
    Session(Session &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)), ended_(other.ended_) {}
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            vsrqa_session_destroy(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
            ended_ = other.ended_;
        }
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session() { vsrqa_session_destroy(handle_); }

    /** Pushes a frame; false when a non-blocking session's full queue refused it (push it again). */
    bool push(const VsrqaFrame &frame) { return check(vsrqa_session_push(handle_, &frame), "vsrqa_session_push") == VSRQA_OK; }

    /** The next ready key-frame score, or std::nullopt (then ended() says whether for good). */
    std::optional<VsrqaFrameScore> poll() {
        auto score = defaults<VsrqaFrameScore>();
        return ready(check(vsrqa_session_poll(handle_, &score), "vsrqa_session_poll"), score);
    }

    /** The next clip score (each window's, or the stream's after finish), or std::nullopt. */
    std::optional<VsrqaClipScore> poll_clip() {
        auto score = defaults<VsrqaClipScore>();
        return ready(check(vsrqa_session_poll_clip(handle_, &score), "vsrqa_session_poll_clip"), score);
    }

    /** Ends the stream and returns the last clip score; poll() then returns the remaining scores. */
    VsrqaClipScore finish() {
        auto score = defaults<VsrqaClipScore>();
        check(vsrqa_session_finish(handle_, &score), "vsrqa_session_finish");
        return score;
    }

    /** Whether the last poll found the session finished and drained (VSRQA_END). */
    bool ended() const noexcept { return ended_; }

    VsrqaSession *get() const noexcept { return handle_; }

  private:
    template <class T>
    std::optional<T> ready(VsrqaStatus status, const T &value) {
        ended_ = status == VSRQA_END;
        if (status == VSRQA_OK) return value;
        return std::nullopt;
    }

    VsrqaSession *handle_;
    bool ended_ = false;
};

/** A loaded model bundle on one backend. Movable, not copyable; thread-safe to use. */
class Engine {
  public:
    /** Creates an engine from a full config (see VsrqaEngineConfig). */
    explicit Engine(const VsrqaEngineConfig &config) {
        check(vsrqa_engine_create(&config, &handle_), "vsrqa_engine_create");
    }

    /** Creates an engine for `bundle_path` with the default config (backend auto). */
    explicit Engine(const std::string &bundle_path, VsrqaBackend backend = VSRQA_BACKEND_AUTO) {
        auto config = defaults<VsrqaEngineConfig>();
        config.bundle_path = bundle_path.c_str();
        config.backend = backend;
        check(vsrqa_engine_create(&config, &handle_), "vsrqa_engine_create");
    }

    Engine(Engine &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Engine &operator=(Engine &&other) noexcept {
        if (this != &other) {
            vsrqa_engine_destroy(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;
    ~Engine() { vsrqa_engine_destroy(handle_); }

    /** Starts a session; it may outlive the engine. */
    Session session(const VsrqaSessionConfig &config) const {
        VsrqaSession *handle = nullptr;
        check(vsrqa_session_create(handle_, &config, &handle), "vsrqa_session_create");
        return Session(handle);
    }

    /** Starts a blocking session at `fps` frames per second. */
    Session session(double fps) const {
        auto config = defaults<VsrqaSessionConfig>();
        config.fps = fps;
        return session(config);
    }

    /** Scores one frame as a one-frame clip. */
    VsrqaFrameScore score_frame(const VsrqaFrame &frame) const {
        auto score = defaults<VsrqaFrameScore>();
        check(vsrqa_score_frame(handle_, &frame, &score), "vsrqa_score_frame");
        return score;
    }

    /** Scores `count` frames as one clip at `fps`. */
    VsrqaClipScore score_clip(const VsrqaFrame *frames, std::size_t count, double fps) const {
        auto score = defaults<VsrqaClipScore>();
        check(vsrqa_score_clip(handle_, frames, count, fps, &score), "vsrqa_score_clip");
        return score;
    }

    /** The ensemble members the engine runs, in the order of a clip score's `member_scores`
        (empty for a plain bundle). Since API 1.1. */
    std::vector<std::string> members() const {
        std::vector<std::string> names;
        const char *name = nullptr;
        VsrqaStatus status;
        while ((status = vsrqa_engine_member(handle_, static_cast<uint32_t>(names.size()), &name)) == VSRQA_OK)
            names.emplace_back(name);
        if (status != VSRQA_END) check(status, "vsrqa_engine_member");
        return names;
    }

    VsrqaEngine *get() const noexcept { return handle_; }

  private:
    VsrqaEngine *handle_ = nullptr;
};

}  // namespace vsrqa

#endif /* C++17 */
#endif /* VSRQA_HPP */
