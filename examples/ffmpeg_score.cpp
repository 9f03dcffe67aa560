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

#include "av_handles.hpp"

namespace {

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
