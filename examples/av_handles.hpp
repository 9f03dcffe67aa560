// What the FFmpeg examples share: owning handles for FFmpeg and vsrqa objects, errors as
// exceptions, and a decoder that reads a file's best video stream frame by frame.
// Each example is one translation unit; these helpers are internal to it.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
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
struct CodecParametersDeleter {
    void operator()(AVCodecParameters *parameters) const { avcodec_parameters_free(&parameters); }
};
using CodecParameters = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;

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
                rate_ = rate;
                break;
            }
        }
        packet_.reset(not_null(av_packet_alloc(), "av_packet_alloc"));
        frame_.reset(not_null(av_frame_alloc(), "av_frame_alloc"));
    }

    double fps() const { return av_q2d(rate_); }
    // The frame rate as a fraction (25/1 when the file gives none).
    AVRational rate() const { return rate_; }

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
    AVRational rate_{25, 1};
    bool flushing_ = false;
};

}  // namespace
