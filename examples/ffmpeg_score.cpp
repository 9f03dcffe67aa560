// A video player integration: decode a file with FFmpeg and stream its frames through a vsrqa
// session, printing each key frame's score as soon as it is ready, then the clip score.
//
//   ffmpeg_score BUNDLE_DIR VIDEO
//
// Exit codes:
//   0  the whole video was scored
//   1  failure (cannot open or decode the file, no video stream, vsrqa error): nothing scored
//   2  usage
//   3  partial: the stream broke after some frames had decoded; the clip score of those frames
//      is printed and a warning "stream broke after N frames: <error>" goes to stderr
//
// Decoded frames in yuv420p / yuvj420p / nv12 / yuv420p10le / p010le are handed to vsrqa as
// they are (VsrqaFrame planes = frame->data, pitches = frame->linesize: no copy); any other
// format is converted with swscale to yuv420p (8-bit sources) or yuv420p10le (deeper ones).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <vsrqa.h>

namespace {

// ---- owning handles ---------------------------------------------------------------------------

struct EngineDeleter {
    void operator()(VsrqaEngine *engine) const { vsrqa_engine_destroy(engine); }
};
struct SessionDeleter {
    void operator()(VsrqaSession *session) const { vsrqa_session_destroy(session); }
};
struct FormatDeleter {
    void operator()(AVFormatContext *format) const { avformat_close_input(&format); }
};
struct CodecDeleter {
    void operator()(AVCodecContext *codec) const { avcodec_free_context(&codec); }
};
struct FrameDeleter {
    void operator()(AVFrame *frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
    void operator()(AVPacket *packet) const { av_packet_free(&packet); }
};
struct SwsDeleter {
    void operator()(SwsContext *sws) const { sws_freeContext(sws); }
};
using Engine = std::unique_ptr<VsrqaEngine, EngineDeleter>;
using Session = std::unique_ptr<VsrqaSession, SessionDeleter>;
using Format = std::unique_ptr<AVFormatContext, FormatDeleter>;
using Codec = std::unique_ptr<AVCodecContext, CodecDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using Sws = std::unique_ptr<SwsContext, SwsDeleter>;

// ---- errors -----------------------------------------------------------------------------------

std::string av_error(int err) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {0};
    if (av_strerror(err, text, sizeof text) < 0) std::snprintf(text, sizeof text, "error %d", err);
    return text;
}

// An FFmpeg failure, keeping its code.
struct AvError : std::runtime_error {
    AvError(const std::string &what, int err) : std::runtime_error(what + ": " + av_error(err)), code(err) {}
    int code;
};

int av_check(int result, const char *what) {
    if (result < 0) throw AvError(what, result);
    return result;
}

VsrqaStatus check(VsrqaStatus status, const char *what) {
    if (status < 0) {
        throw std::runtime_error(std::string(what) + ": " + vsrqa_status_str(status) + ": " + vsrqa_last_error());
    }
    return status;
}

template <typename T>
T *not_null(T *pointer, const char *what) {
    if (!pointer) throw std::runtime_error(std::string(what) + ": out of memory");
    return pointer;
}

// ---- decoding ---------------------------------------------------------------------------------

class Decoder {
  public:
    explicit Decoder(const std::string &path) {
        AVFormatContext *raw = nullptr;
        av_check(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), "cannot open");
        format_.reset(raw);
        av_check(avformat_find_stream_info(format_.get(), nullptr), "cannot read stream info");
        const AVCodec *codec = nullptr;
        stream_ = av_check(av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0),
                           "no decodable video stream");
        AVStream *stream = format_->streams[stream_];
        codec_.reset(not_null(avcodec_alloc_context3(codec), "avcodec_alloc_context3"));
        av_check(avcodec_parameters_to_context(codec_.get(), stream->codecpar), "avcodec_parameters_to_context");
        // Report damaged data as errors rather than concealing it: a broken stream is detected.
        codec_->err_recognition |= AV_EF_EXPLODE;
        av_check(avcodec_open2(codec_.get(), codec, nullptr), "cannot open the decoder");
        for (AVRational rate : {stream->avg_frame_rate, stream->r_frame_rate}) {
            if (rate.num > 0 && rate.den > 0) {
                fps_ = av_q2d(rate);
                break;
            }
        }
        packet_.reset(not_null(av_packet_alloc(), "av_packet_alloc"));
        frame_.reset(not_null(av_frame_alloc(), "av_frame_alloc"));
    }

    double fps() const { return fps_; }

    // The next decoded frame (valid until the next call), or nullptr at the end of the stream
    // (after the decoder's flush). Throws AvError when reading or decoding fails.
    const AVFrame *next() {
        for (;;) {
            av_frame_unref(frame_.get());
            int got = avcodec_receive_frame(codec_.get(), frame_.get());
            if (got == 0) return frame_.get();
            if (got == AVERROR_EOF) return nullptr;
            if (got != AVERROR(EAGAIN)) throw AvError("decoding failed", got);
            if (flushing_) return nullptr;  // cannot happen: a flushing decoder ends with EOF
            send_next_packet();
        }
    }

    // After an error: collects what the decoder still holds (ignoring further errors).
    const AVFrame *drain() {
        if (!flushing_) {
            flushing_ = true;
            avcodec_send_packet(codec_.get(), nullptr);
        }
        av_frame_unref(frame_.get());
        return avcodec_receive_frame(codec_.get(), frame_.get()) == 0 ? frame_.get() : nullptr;
    }

  private:
    void send_next_packet() {
        for (;;) {
            int read = av_read_frame(format_.get(), packet_.get());
            if (read == AVERROR_EOF) {
                flushing_ = true;
                av_check(avcodec_send_packet(codec_.get(), nullptr), "flushing the decoder");
                return;
            }
            av_check(read, "reading failed");
            std::unique_ptr<AVPacket, void (*)(AVPacket *)> unref(packet_.get(), av_packet_unref);
            if (packet_->stream_index != stream_) continue;
            // A demuxer flags a packet it could not read whole (e.g. a cut MPEG-TS).
            if (packet_->flags & AV_PKT_FLAG_CORRUPT) throw AvError("corrupt packet", AVERROR_INVALIDDATA);
            av_check(avcodec_send_packet(codec_.get(), packet_.get()), "decoding failed");
            return;
        }
    }

    Format format_;
    Codec codec_;
    Packet packet_;
    Frame frame_;
    int stream_ = -1;
    double fps_ = 25.0;
    bool flushing_ = false;
};

// ---- handing frames to vsrqa ------------------------------------------------------------------

class FrameAdapter {
  public:
    // Describes `frame` for vsrqa: its own planes when vsrqa reads the format, else a converted
    // copy (valid until the next call).
    VsrqaFrame describe(const AVFrame *frame) {
        VsrqaFrame out;
        check(vsrqa_frame_default(&out, sizeof out), "vsrqa_frame_default");
        out.width = static_cast<uint32_t>(frame->width);
        out.height = static_cast<uint32_t>(frame->height);
        out.color_matrix = frame->colorspace == AVCOL_SPC_BT709 ? VSRQA_COLOR_MATRIX_BT709 : VSRQA_COLOR_MATRIX_BT601;
        out.color_range = frame->color_range == AVCOL_RANGE_JPEG ? VSRQA_COLOR_RANGE_FULL : VSRQA_COLOR_RANGE_LIMITED;
        auto format = static_cast<AVPixelFormat>(frame->format);
        const AVFrame *source = frame;
        switch (format) {
        case AV_PIX_FMT_YUVJ420P:
            out.color_range = VSRQA_COLOR_RANGE_FULL;  // the "J" formats are full range by definition
            out.format = VSRQA_PIXEL_FORMAT_I420;
            break;
        case AV_PIX_FMT_YUV420P: out.format = VSRQA_PIXEL_FORMAT_I420; break;
        case AV_PIX_FMT_NV12: out.format = VSRQA_PIXEL_FORMAT_NV12; break;
        case AV_PIX_FMT_YUV420P10LE: out.format = VSRQA_PIXEL_FORMAT_I420_10LE; break;
        case AV_PIX_FMT_P010LE: out.format = VSRQA_PIXEL_FORMAT_P010; break;
        default: {
            source = convert(frame, format);
            out.format = source->format == AV_PIX_FMT_YUV420P ? VSRQA_PIXEL_FORMAT_I420 : VSRQA_PIXEL_FORMAT_I420_10LE;
            const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
            if (desc && (desc->flags & AV_PIX_FMT_FLAG_RGB)) {
                // swscale's RGB -> YUV is BT.601, limited range.
                out.color_matrix = VSRQA_COLOR_MATRIX_BT601;
                out.color_range = VSRQA_COLOR_RANGE_LIMITED;
            } else if (desc && std::string(desc->name).rfind("yuvj", 0) == 0) {
                out.color_range = VSRQA_COLOR_RANGE_FULL;
            }
            break;
        }
        }
        for (int plane = 0; plane < 3; ++plane) {
            out.planes[plane] = source->data[plane];
            out.pitches[plane] = source->linesize[plane] > 0 ? static_cast<size_t>(source->linesize[plane]) : 0;
        }
        return out;
    }

  private:
    const AVFrame *convert(const AVFrame *frame, AVPixelFormat format) {
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
        if (!desc) throw std::runtime_error("unknown pixel format " + std::to_string(frame->format));
        AVPixelFormat target = desc->comp[0].depth > 8 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P;
        sws_.reset(not_null(sws_getCachedContext(sws_.release(), frame->width, frame->height, format, frame->width,
                                                 frame->height, target, SWS_BILINEAR, nullptr, nullptr, nullptr),
                            "cannot convert from this pixel format (sws_getCachedContext)"));
        // YUV -> YUV: keep the source's matrix and range (no range conversion), as reported.
        int *inv_table = nullptr, *table = nullptr, src_range = 0, dst_range = 0, brightness = 0, contrast = 0,
            saturation = 0;
        if (sws_getColorspaceDetails(sws_.get(), &inv_table, &src_range, &table, &dst_range, &brightness, &contrast,
                                     &saturation) >= 0 &&
            !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
            sws_setColorspaceDetails(sws_.get(), inv_table, src_range, table, src_range, brightness, contrast,
                                     saturation);
        }
        if (!converted_ || converted_->width != frame->width || converted_->height != frame->height ||
            converted_->format != target) {
            converted_.reset(not_null(av_frame_alloc(), "av_frame_alloc"));
            converted_->width = frame->width;
            converted_->height = frame->height;
            converted_->format = target;
            av_check(av_frame_get_buffer(converted_.get(), 0), "av_frame_get_buffer");
        }
        av_check(av_frame_make_writable(converted_.get()), "av_frame_make_writable");
        av_check(sws_scale(sws_.get(), frame->data, frame->linesize, 0, frame->height, converted_->data,
                           converted_->linesize),
                 "sws_scale");
        return converted_.get();
    }

    Sws sws_;
    Frame converted_;
};

void print_ready_scores(VsrqaSession *session) {
    VsrqaFrameScore score;
    check(vsrqa_frame_score_default(&score, sizeof score), "vsrqa_frame_score_default");
    while (check(vsrqa_session_poll(session, &score), "vsrqa_session_poll") == VSRQA_OK) {
        std::printf("key frame %u (frame %llu): %.6f\n", score.key_frame,
                    static_cast<unsigned long long>(score.frame_index), score.score);
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s BUNDLE_DIR VIDEO\n", argv[0]);
        return 2;
    }
    const std::string video = argv[2];
    try {
        av_log_set_level(AV_LOG_QUIET);  // errors are reported by the exceptions below
        VsrqaEngineConfig config;
        check(vsrqa_engine_config_default(&config, sizeof config), "vsrqa_engine_config_default");
        config.bundle_path = argv[1];
        VsrqaEngine *raw_engine = nullptr;
        check(vsrqa_engine_create(&config, &raw_engine), "vsrqa_engine_create");
        Engine engine(raw_engine);

        Decoder decoder(video);
        VsrqaSessionConfig session_config;
        check(vsrqa_session_config_default(&session_config, sizeof session_config), "vsrqa_session_config_default");
        session_config.fps = decoder.fps();
        VsrqaSession *raw_session = nullptr;
        check(vsrqa_session_create(engine.get(), &session_config, &raw_session), "vsrqa_session_create");
        Session session(raw_session);

        FrameAdapter adapter;
        uint64_t frames = 0;
        // A clip has one frame size: a stream that switches resolution makes the push fail with
        // the library's reason here (the vsrqa tool scores each size as a segment instead). The
        // frames are scored as stored: a display rotation is not applied in this example.
        auto push = [&](const AVFrame *frame) {
            VsrqaFrame described = adapter.describe(frame);
            check(vsrqa_session_push(session.get(), &described), "vsrqa_session_push");
            ++frames;
            print_ready_scores(session.get());  // a player would update its overlay here
        };
        std::string broke;  // the error that ended a partly decoded stream
        for (;;) {
            const AVFrame *frame = nullptr;
            try {
                frame = decoder.next();
            } catch (const AvError &e) {
                if (frames == 0) throw;  // nothing decoded: a plain failure
                broke = e.what();
                break;
            }
            if (!frame) break;
            push(frame);
        }
        if (!broke.empty()) {
            while (const AVFrame *frame = decoder.drain()) push(frame);  // what the decoder still holds
        }

        VsrqaClipScore clip;
        check(vsrqa_clip_score_default(&clip, sizeof clip), "vsrqa_clip_score_default");
        check(vsrqa_session_finish(session.get(), &clip), "vsrqa_session_finish");
        print_ready_scores(session.get());
        std::printf("clip score %.6f (%llu frames, %u key frames)\n", clip.score,
                    static_cast<unsigned long long>(clip.frames), clip.key_frames);
        if (!broke.empty()) {
            std::fflush(stdout);
            std::fprintf(stderr, "ffmpeg_score: %s: warning: stream broke after %llu frames: %s\n", video.c_str(),
                         static_cast<unsigned long long>(frames), broke.c_str());
            return 3;
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ffmpeg_score: %s: %s\n", video.c_str(), e.what());
        return 1;
    }
}
