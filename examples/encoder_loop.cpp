// An encoder rate-control loop: encode a video with libx264 (through libavcodec) segment by
// segment, choosing for each segment the largest CRF whose vsrqa clip score reaches a target, the
// way VMAF drives per-title and per-shot encoding.
//
//   encoder_loop BUNDLE_DIR INPUT OUTPUT REPORT.json [--target 0.5] [--segment-seconds 2]
//                [--crf-min 18] [--crf-max 45] [--preset veryfast] [--backend auto]
//
// For each segment (segment-seconds of frames; the last may be shorter) the CRF is found by
// bisection (crf_search.hpp): each try encodes the segment, decodes the packets back, and scores
// the decoded frames in a vsrqa session straight from the AVFrame planes, told the segment's
// length. The chosen try's packets go to OUTPUT (any container FFmpeg writes H.264 to: .mp4, .mkv,
// .ts, .h264), and REPORT gets every try: CRF, score, bits (docs/encoder-loop.md).
//
// Each segment starts with an IDR frame, and x264's `stitchable` option keeps its headers the same
// whatever the CRF, so the segments make one valid stream.
//
// Exit codes: 0 encoded (the report says which segments met the target), 1 failure, 2 usage.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <vsrqa.h>

#include "av_handles.hpp"
#include "crf_search.hpp"

namespace {

struct Options {
    std::string bundle, input, output, report;
    double target = 0.5;
    double segment_seconds = 2.0;
    int crf_min = 18, crf_max = 45;
    std::string preset = "veryfast";
    VsrqaBackend backend = VSRQA_BACKEND_AUTO;
};

// ---- the input, decoded to 8-bit 4:2:0 ------------------------------------------------------

class Source {
  public:
    explicit Source(const std::string &path) : decoder_(path) {}

    double fps() const { return decoder_.fps(); }
    AVRational rate() const { return decoder_.rate(); }

    // Up to `count` next frames as yuv420p (the encoder's input), fewer at the end.
    std::vector<Frame> next_segment(size_t count) {
        std::vector<Frame> frames;
        while (frames.size() < count) {
            const AVFrame *frame = decoder_.next();
            if (!frame) break;
            frames.push_back(to_yuv420p(frame));
        }
        return frames;
    }

  private:
    Frame to_yuv420p(const AVFrame *frame) {
        if (frame->format == AV_PIX_FMT_YUV420P) return Frame(not_null(av_frame_clone(frame), "av_frame_clone"));
        Frame copy(not_null(av_frame_alloc(), "av_frame_alloc"));
        copy->width = frame->width;
        copy->height = frame->height;
        copy->format = AV_PIX_FMT_YUV420P;
        av_check(av_frame_get_buffer(copy.get(), 0), "av_frame_get_buffer");
        av_check(av_frame_copy_props(copy.get(), frame), "av_frame_copy_props");
        sws_.reset(not_null(sws_getCachedContext(sws_.release(), frame->width, frame->height,
                                                 static_cast<AVPixelFormat>(frame->format), frame->width,
                                                 frame->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr,
                                                 nullptr),
                            "cannot convert from this pixel format (sws_getCachedContext)"));
        av_check(sws_scale(sws_.get(), frame->data, frame->linesize, 0, frame->height, copy->data, copy->linesize),
                 "sws_scale");
        return copy;
    }

    Decoder decoder_;
    Sws sws_;
};

// ---- one try: encode a segment at a CRF, decode it back, score it ---------------------------

struct Try {
    int crf = 0;
    double score = 0;
    int64_t bits = 0;
    std::vector<Packet> packets;
    CodecParameters parameters;  // the encoder's, for the output stream
};

VsrqaFrame describe(const AVFrame *frame) {
    VsrqaFrame out;
    check(vsrqa_frame_default(&out, sizeof out), "vsrqa_frame_default");
    if (frame->format != AV_PIX_FMT_YUV420P) throw std::runtime_error("the decoder did not give yuv420p");
    out.format = VSRQA_PIXEL_FORMAT_I420;
    out.width = static_cast<uint32_t>(frame->width);
    out.height = static_cast<uint32_t>(frame->height);
    out.color_matrix = frame->colorspace == AVCOL_SPC_BT709         ? VSRQA_COLOR_MATRIX_BT709
                       : frame->colorspace == AVCOL_SPC_BT2020_NCL ? VSRQA_COLOR_MATRIX_BT2020_NCL
                                                                    : VSRQA_COLOR_MATRIX_BT601;
    out.color_range = frame->color_range == AVCOL_RANGE_JPEG ? VSRQA_COLOR_RANGE_FULL : VSRQA_COLOR_RANGE_LIMITED;
    for (int plane = 0; plane < 3; ++plane) {
        out.planes[plane] = frame->data[plane];
        out.pitches[plane] = static_cast<size_t>(frame->linesize[plane]);
    }
    return out;
}

class Encoder {
  public:
    Encoder(const Options &options, AVRational rate, bool global_header)
        : options_(options), rate_(rate), global_header_(global_header) {
        x264_ = avcodec_find_encoder_by_name("libx264");
        if (!x264_) throw std::runtime_error("this FFmpeg has no libx264 encoder");
        h264_ = avcodec_find_decoder(AV_CODEC_ID_H264);
        if (!h264_) throw std::runtime_error("this FFmpeg has no H.264 decoder");
    }

    Try encode(const std::vector<Frame> &segment, int crf, const VsrqaEngine *engine) const {
        Try result;
        result.crf = crf;
        Codec encoder = open_encoder(*segment.front(), static_cast<int>(segment.size()), crf);
        Packet packet(not_null(av_packet_alloc(), "av_packet_alloc"));
        auto collect = [&] {
            for (;;) {
                int got = avcodec_receive_packet(encoder.get(), packet.get());
                if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return;
                av_check(got, "encoding failed");
                result.bits += 8 * static_cast<int64_t>(packet->size);
                result.packets.emplace_back(not_null(av_packet_clone(packet.get()), "av_packet_clone"));
                av_packet_unref(packet.get());
            }
        };
        for (size_t i = 0; i < segment.size(); ++i) {
            Frame frame(not_null(av_frame_clone(segment[i].get()), "av_frame_clone"));
            frame->pts = static_cast<int64_t>(i);
            frame->pict_type = AV_PICTURE_TYPE_NONE;
            av_check(avcodec_send_frame(encoder.get(), frame.get()), "encoding failed");
            collect();
        }
        av_check(avcodec_send_frame(encoder.get(), nullptr), "flushing the encoder");
        collect();
        result.parameters.reset(not_null(avcodec_parameters_alloc(), "avcodec_parameters_alloc"));
        av_check(avcodec_parameters_from_context(result.parameters.get(), encoder.get()),
                 "avcodec_parameters_from_context");
        result.score = score(result, segment.size(), engine);
        return result;
    }

    AVRational time_base() const { return av_inv_q(rate_); }

  private:
    Codec open_encoder(const AVFrame &first, int frames, int crf) const {
        Codec encoder(not_null(avcodec_alloc_context3(x264_), "avcodec_alloc_context3"));
        encoder->width = first.width;
        encoder->height = first.height;
        encoder->pix_fmt = AV_PIX_FMT_YUV420P;
        encoder->time_base = time_base();
        encoder->framerate = rate_;
        encoder->sample_aspect_ratio = first.sample_aspect_ratio;
        encoder->colorspace = first.colorspace;
        encoder->color_range = first.color_range;
        encoder->color_primaries = first.color_primaries;
        encoder->color_trc = first.color_trc;
        encoder->gop_size = frames;  // one IDR, at the segment's start
        if (global_header_) encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        AVDictionary *settings = nullptr;
        av_dict_set_int(&settings, "crf", crf, 0);
        av_dict_set(&settings, "preset", options_.preset.c_str(), 0);
        // Headers that do not depend on the CRF (so segments join into one stream), and no
        // extra I frames at scene cuts (one per segment is enough: each segment starts with one).
        av_dict_set(&settings, "x264-params", "stitchable=1:scenecut=0", 0);
        int opened = avcodec_open2(encoder.get(), x264_, &settings);
        av_dict_free(&settings);
        av_check(opened, "cannot open libx264");
        return encoder;
    }

    // Decodes the try's packets and scores the frames as one clip of `frames` frames.
    double score(const Try &attempt, size_t frames, const VsrqaEngine *engine) const {
        Codec decoder(not_null(avcodec_alloc_context3(h264_), "avcodec_alloc_context3"));
        av_check(avcodec_parameters_to_context(decoder.get(), attempt.parameters.get()), "avcodec_parameters_to_context");
        av_check(avcodec_open2(decoder.get(), h264_, nullptr), "cannot open the H.264 decoder");

        VsrqaSessionConfig config;
        check(vsrqa_session_config_default(&config, sizeof config), "vsrqa_session_config_default");
        config.fps = av_q2d(rate_);
        config.expected_frames = frames;  // clip branches sample as for the whole segment at once
        VsrqaSession *raw_session = nullptr;
        check(vsrqa_session_create(engine, &config, &raw_session), "vsrqa_session_create");
        Session session(raw_session);

        Frame decoded(not_null(av_frame_alloc(), "av_frame_alloc"));
        auto push_decoded = [&] {
            for (;;) {
                int got = avcodec_receive_frame(decoder.get(), decoded.get());
                if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return;
                av_check(got, "decoding the encoded segment failed");
                VsrqaFrame frame = describe(decoded.get());
                check(vsrqa_session_push(session.get(), &frame), "vsrqa_session_push");
                av_frame_unref(decoded.get());
            }
        };
        for (const Packet &packet : attempt.packets) {
            av_check(avcodec_send_packet(decoder.get(), packet.get()), "decoding the encoded segment failed");
            push_decoded();
        }
        av_check(avcodec_send_packet(decoder.get(), nullptr), "flushing the decoder");
        push_decoded();

        VsrqaClipScore clip;
        check(vsrqa_clip_score_default(&clip, sizeof clip), "vsrqa_clip_score_default");
        check(vsrqa_session_finish(session.get(), &clip), "vsrqa_session_finish");
        if (clip.frames != frames) {
            throw std::runtime_error("the encoded segment decoded to " + std::to_string(clip.frames) + " frames, not " +
                                     std::to_string(frames));
        }
        return clip.score;
    }

    const Options &options_;
    AVRational rate_;
    bool global_header_;
    const AVCodec *x264_ = nullptr;
    const AVCodec *h264_ = nullptr;
};

// ---- the output file --------------------------------------------------------------------------

class Output {
  public:
    explicit Output(const std::string &path) : path_(path) {
        AVFormatContext *raw = nullptr;
        av_check(avformat_alloc_output_context2(&raw, nullptr, nullptr, path.c_str()),
                 ("cannot tell a container from the name " + path).c_str());
        format_.reset(raw);
    }

    bool wants_global_header() const { return format_->oformat->flags & AVFMT_GLOBALHEADER; }

    // Writes a segment's packets (times in `time_base`, from the segment's start).
    void write(const Try &chosen, int64_t first_frame, AVRational time_base) {
        if (!stream_) open(chosen, time_base);
        for (const Packet &source : chosen.packets) {
            Packet packet(not_null(av_packet_clone(source.get()), "av_packet_clone"));
            if (packet->pts != AV_NOPTS_VALUE) packet->pts += first_frame;
            if (packet->dts != AV_NOPTS_VALUE) packet->dts += first_frame;
            av_packet_rescale_ts(packet.get(), time_base, stream_->time_base);
            packet->stream_index = stream_->index;
            av_check(av_interleaved_write_frame(format_.get(), packet.get()), "writing the output failed");
        }
    }

    void finish() {
        if (stream_) av_check(av_write_trailer(format_.get()), "writing the output's trailer failed");
    }

    ~Output() {
        if (format_ && !(format_->oformat->flags & AVFMT_NOFILE)) avio_closep(&format_->pb);
    }

  private:
    void open(const Try &first, AVRational time_base) {
        stream_ = not_null(avformat_new_stream(format_.get(), nullptr), "avformat_new_stream");
        av_check(avcodec_parameters_copy(stream_->codecpar, first.parameters.get()), "avcodec_parameters_copy");
        stream_->time_base = time_base;
        if (!(format_->oformat->flags & AVFMT_NOFILE)) {
            av_check(avio_open(&format_->pb, path_.c_str(), AVIO_FLAG_WRITE), ("cannot write " + path_).c_str());
        }
        av_check(avformat_write_header(format_.get(), nullptr), "cannot write the output's header");
    }

    struct OutputDeleter {
        void operator()(AVFormatContext *format) const { avformat_free_context(format); }
    };
    std::string path_;
    std::unique_ptr<AVFormatContext, OutputDeleter> format_;
    AVStream *stream_ = nullptr;
};

// ---- the report -------------------------------------------------------------------------------

struct SegmentReport {
    int64_t first_frame = 0;
    size_t frames = 0;
    std::vector<Try> tries;  // packets dropped once written
    CrfChoice choice{0, false};
};

const Try &chosen_try(const SegmentReport &segment) {
    for (const Try &attempt : segment.tries) {
        if (attempt.crf == segment.choice.crf) return attempt;
    }
    throw std::logic_error("the chosen CRF was tried");
}

std::string json_string(const std::string &text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void write_report(const Options &options, double fps, const std::vector<SegmentReport> &segments) {
    FILE *file = std::fopen(options.report.c_str(), "w");
    if (!file) throw std::runtime_error("cannot write " + options.report + ": " + std::strerror(errno));
    int64_t total_bits = 0;
    size_t total_frames = 0, met = 0;
    std::fprintf(file, "{\n  \"input\": %s,\n  \"output\": %s,\n  \"target\": %.17g,\n",
                 json_string(options.input).c_str(), json_string(options.output).c_str(), options.target);
    std::fprintf(file, "  \"crf_min\": %d,\n  \"crf_max\": %d,\n  \"fps\": %.17g,\n  \"segments\": [", options.crf_min,
                 options.crf_max, fps);
    for (size_t i = 0; i < segments.size(); ++i) {
        const SegmentReport &segment = segments[i];
        const Try &chosen = chosen_try(segment);
        total_bits += chosen.bits;
        total_frames += segment.frames;
        met += segment.choice.met ? 1 : 0;
        std::fprintf(file, "%s\n    {\"index\": %zu, \"first_frame\": %lld, \"frames\": %zu, \"tries\": [", i ? "," : "",
                     i, static_cast<long long>(segment.first_frame), segment.frames);
        for (size_t t = 0; t < segment.tries.size(); ++t) {
            const Try &attempt = segment.tries[t];
            std::fprintf(file, "%s{\"crf\": %d, \"score\": %.17g, \"bits\": %lld}", t ? ", " : "", attempt.crf,
                         attempt.score, static_cast<long long>(attempt.bits));
        }
        std::fprintf(file, "],\n     \"crf\": %d, \"score\": %.17g, \"bits\": %lld, \"target_met\": %s}",
                     segment.choice.crf, chosen.score, static_cast<long long>(chosen.bits),
                     segment.choice.met ? "true" : "false");
    }
    std::fprintf(file, "\n  ],\n  \"frames\": %zu,\n  \"bits\": %lld,\n  \"segments_meeting_target\": %zu\n}\n",
                 total_frames, static_cast<long long>(total_bits), met);
    if (std::fclose(file) != 0) throw std::runtime_error("cannot write " + options.report);
}

// ---- arguments --------------------------------------------------------------------------------

[[noreturn]] void usage(const char *program, const std::string &problem) {
    if (!problem.empty()) std::fprintf(stderr, "%s: %s\n", program, problem.c_str());
    std::fprintf(stderr,
                 "usage: %s BUNDLE_DIR INPUT OUTPUT REPORT.json [--target 0.5] [--segment-seconds 2]\n"
                 "       [--crf-min 18] [--crf-max 45] [--preset veryfast] [--backend auto|cpu|onnxruntime|tensorrt]\n",
                 program);
    std::exit(2);
}

double number(const char *program, const std::string &name, const char *text) {
    char *end = nullptr;
    double value = std::strtod(text, &end);
    if (end == text || *end != '\0' || !std::isfinite(value)) usage(program, name + ": not a number: " + text);
    return value;
}

Options parse(int argc, char **argv) {
    Options options;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            positional.push_back(arg);
            continue;
        }
        if (i + 1 >= argc) usage(argv[0], arg + " needs a value");
        const char *value = argv[++i];
        if (arg == "--target") {
            options.target = number(argv[0], arg, value);
        } else if (arg == "--segment-seconds") {
            options.segment_seconds = number(argv[0], arg, value);
        } else if (arg == "--crf-min" || arg == "--crf-max") {
            double crf = number(argv[0], arg, value);
            if (crf != std::floor(crf) || crf < 0 || crf > 51) usage(argv[0], arg + ": a whole number in [0, 51]");
            (arg == "--crf-min" ? options.crf_min : options.crf_max) = static_cast<int>(crf);
        } else if (arg == "--preset") {
            options.preset = value;
        } else if (arg == "--backend") {
            std::string name = value;
            if (name == "auto") options.backend = VSRQA_BACKEND_AUTO;
            else if (name == "cpu") options.backend = VSRQA_BACKEND_CPU;
            else if (name == "onnxruntime") options.backend = VSRQA_BACKEND_ONNXRUNTIME;
            else if (name == "tensorrt") options.backend = VSRQA_BACKEND_TENSORRT;
            else usage(argv[0], "--backend: auto, cpu, onnxruntime or tensorrt");
        } else {
            usage(argv[0], "unknown option " + arg);
        }
    }
    if (positional.size() != 4) usage(argv[0], "");
    options.bundle = positional[0];
    options.input = positional[1];
    options.output = positional[2];
    options.report = positional[3];
    if (options.crf_min > options.crf_max) usage(argv[0], "--crf-min is above --crf-max");
    if (!(options.segment_seconds > 0)) usage(argv[0], "--segment-seconds must be above 0");
    if (options.target < 0 || options.target > 1) usage(argv[0], "--target is a score in [0, 1]");
    return options;
}

}  // namespace

int main(int argc, char **argv) {
    Options options = parse(argc, argv);
    try {
        av_log_set_level(AV_LOG_ERROR);
        VsrqaEngineConfig config;
        check(vsrqa_engine_config_default(&config, sizeof config), "vsrqa_engine_config_default");
        config.bundle_path = options.bundle.c_str();
        config.backend = options.backend;
        VsrqaEngine *raw_engine = nullptr;
        check(vsrqa_engine_create(&config, &raw_engine), "vsrqa_engine_create");
        Engine engine(raw_engine);

        Source source(options.input);
        Output output(options.output);
        Encoder encoder(options, source.rate(), output.wants_global_header());
        size_t segment_frames = static_cast<size_t>(std::max(1.0, std::round(options.segment_seconds * source.fps())));

        std::vector<SegmentReport> segments;
        int64_t first_frame = 0;
        for (;;) {
            std::vector<Frame> frames = source.next_segment(segment_frames);
            if (frames.empty()) break;
            SegmentReport segment;
            segment.first_frame = first_frame;
            segment.frames = frames.size();
            segment.choice = largest_passing_crf(options.crf_min, options.crf_max, [&](int crf) {
                segment.tries.push_back(encoder.encode(frames, crf, engine.get()));
                const Try &attempt = segment.tries.back();
                std::printf("segment %zu (frames %lld-%lld): crf %d score %.6f bits %lld\n", segments.size(),
                            static_cast<long long>(first_frame),
                            static_cast<long long>(first_frame + static_cast<int64_t>(frames.size()) - 1), crf,
                            attempt.score, static_cast<long long>(attempt.bits));
                std::fflush(stdout);
                return attempt.score >= options.target;
            });
            output.write(chosen_try(segment), first_frame, encoder.time_base());
            for (Try &attempt : segment.tries) attempt.packets.clear();  // written or discarded
            std::printf("segment %zu: crf %d%s\n", segments.size(), segment.choice.crf,
                        segment.choice.met ? "" : " (target not reached: the best CRF of the range)");
            first_frame += static_cast<int64_t>(frames.size());
            segments.push_back(std::move(segment));
        }
        if (segments.empty()) throw std::runtime_error("no frame decoded");
        output.finish();
        write_report(options, source.fps(), segments);
        std::printf("wrote %s (%lld frames in %zu segments) and %s\n", options.output.c_str(),
                    static_cast<long long>(first_frame), segments.size(), options.report.c_str());
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "encoder_loop: %s: %s\n", options.input.c_str(), e.what());
        return 1;
    }
}
