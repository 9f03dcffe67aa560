/*
 * vsrqa: a learned quality score for (super-resolved) video, through the vsrqa C API.
 *
 * This file is part of FFmpeg.
 *
 * FFmpeg is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * FFmpeg is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with FFmpeg; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 */

/**
 * @file
 * Scores the frames passing through with a vsrqa model bundle. Frames pass unchanged; each key
 * frame carries its score as the metadata "lavfi.vsrqa.score"; window and clip scores go to the
 * log and to log_path. A non-blocking session scores on a thread of its own: frames wait in the
 * filter only until their key frame's score is known.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vsrqa.h>

#include "libavutil/avstring.h"
#include "libavutil/bprint.h"
#include "libavutil/dict.h"
#include "libavutil/fifo.h"
#include "libavutil/frame.h"
#include "libavutil/mem.h"
#include "libavutil/opt.h"
#include "libavutil/pixdesc.h"
#include "avfilter.h"
#include "version.h"
#if LIBAVFILTER_VERSION_MAJOR >= 10
#include "filters.h"
#else
#include "internal.h"
#endif
#include "video.h"

typedef struct VsrqaContext {
    const AVClass *class;
    /* options */
    char *model;
    char *backend;
    int device;
    int threads;
    char *members;
    char *color_conversion;
    double window;
    char *log_path;
    char *log_fmt;
    int queue_frames;

    VsrqaEngine *engine;
    VsrqaSession *session;
    FILE *log;
    AVBPrint frame_rows;        /* the JSON log's rows, written whole at the end */
    AVBPrint window_rows;
    double fps;
    AVFifo *pending;            /* frames waiting for their key frame's score */
    int64_t frames_in;          /* frames pushed so far */
    int64_t frames_out;         /* frames sent on */
    AVFifo *scores;             /* key-frame scores not yet put on their frames, in stream order */
    int64_t interval;           /* frames from one key frame to the next */
    int64_t window_frames;      /* 0: one clip */
    int frames_logged;
    int clips;
    double clip_score_sum;
    int64_t clip_frames_sum;
    int eof;
} VsrqaContext;

#define OFFSET(x) offsetof(VsrqaContext, x)
#define FLAGS AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM

static const AVOption vsrqa_options[] = {
    { "model",        "directory of the vsrqa model bundle",        OFFSET(model),        AV_OPT_TYPE_STRING, { .str = NULL },   0, 0,        FLAGS },
    { "backend",      "auto, cpu, onnxruntime or tensorrt",          OFFSET(backend),      AV_OPT_TYPE_STRING, { .str = "auto" }, 0, 0,        FLAGS },
    { "device",       "CUDA device for tensorrt (-1: current)",      OFFSET(device),       AV_OPT_TYPE_INT,    { .i64 = -1 },    -1, INT_MAX,  FLAGS },
    { "threads",      "CPU threads per network run (0: all cores)",  OFFSET(threads),      AV_OPT_TYPE_INT,    { .i64 = 0 },      0, 1024,     FLAGS },
    { "members",      "an ensemble's members to run, comma-separated", OFFSET(members),   AV_OPT_TYPE_STRING, { .str = NULL },   0, 0,        FLAGS },
    { "color_conversion", "YUV to RGB: reference, exact, or the bundle's (empty)", OFFSET(color_conversion), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "window",       "a clip score every this many seconds (0: one clip)", OFFSET(window), AV_OPT_TYPE_DOUBLE, { .dbl = 0 },    0, 86400,    FLAGS },
    { "log_path",     "file for the scores",                         OFFSET(log_path),     AV_OPT_TYPE_STRING, { .str = NULL },   0, 0,        FLAGS },
    { "log_fmt",      "json or csv",                                 OFFSET(log_fmt),      AV_OPT_TYPE_STRING, { .str = "json" }, 0, 0,        FLAGS },
    { "queue_frames", "frames the scoring thread's queue holds",     OFFSET(queue_frames), AV_OPT_TYPE_INT,    { .i64 = 8 },      1, 1024,     FLAGS },
    { NULL }
};

AVFILTER_DEFINE_CLASS(vsrqa);

static void log_from_vsrqa(void *user_data, VsrqaLogLevel level, const char *message)
{
    static const int levels[] = { AV_LOG_QUIET, AV_LOG_ERROR, AV_LOG_WARNING, AV_LOG_VERBOSE, AV_LOG_DEBUG };
    av_log(user_data, level < 5 ? levels[level] : AV_LOG_DEBUG, "%s\n", message);
}

/* A vsrqa status as an FFmpeg error, with the SDK's message in the log. */
static int vsrqa_error(AVFilterContext *ctx, VsrqaStatus status, const char *call)
{
    av_log(ctx, AV_LOG_ERROR, "%s: %s\n", call, vsrqa_last_error());
    switch (status) {
    case VSRQA_ERROR_OUT_OF_MEMORY:       return AVERROR(ENOMEM);
    case VSRQA_ERROR_UNSUPPORTED_FORMAT:  return AVERROR(ENOSYS);
    case VSRQA_ERROR_INVALID_ARGUMENT:
    case VSRQA_ERROR_BUNDLE:              return AVERROR(EINVAL);
    default:                              return AVERROR_EXTERNAL;
    }
}

static av_cold int init(AVFilterContext *ctx)
{
    VsrqaContext *s = ctx->priv;
    VsrqaEngineConfig config;
    VsrqaStatus status;

    if (!s->model || !*s->model) {
        av_log(ctx, AV_LOG_ERROR, "no model: set model= to a vsrqa model bundle's directory\n");
        return AVERROR(EINVAL);
    }
    if (strcmp(s->log_fmt, "json") && strcmp(s->log_fmt, "csv")) {
        av_log(ctx, AV_LOG_ERROR, "log_fmt \"%s\": use json or csv\n", s->log_fmt);
        return AVERROR(EINVAL);
    }
    vsrqa_engine_config_default(&config, sizeof config);
    config.bundle_path = s->model;
    if      (!strcmp(s->backend, "auto"))        config.backend = VSRQA_BACKEND_AUTO;
    else if (!strcmp(s->backend, "cpu"))         config.backend = VSRQA_BACKEND_CPU;
    else if (!strcmp(s->backend, "onnxruntime")) config.backend = VSRQA_BACKEND_ONNXRUNTIME;
    else if (!strcmp(s->backend, "tensorrt"))    config.backend = VSRQA_BACKEND_TENSORRT;
    else {
        av_log(ctx, AV_LOG_ERROR, "backend \"%s\": use auto, cpu, onnxruntime or tensorrt\n", s->backend);
        return AVERROR(EINVAL);
    }
    config.device = s->device;
    config.threads = s->threads;
    config.members = s->members;
    if (!s->color_conversion || !*s->color_conversion)
        config.color_conversion = VSRQA_COLOR_CONVERSION_BUNDLE;
    else if (!strcmp(s->color_conversion, "reference"))
        config.color_conversion = VSRQA_COLOR_CONVERSION_REFERENCE;
    else if (!strcmp(s->color_conversion, "exact"))
        config.color_conversion = VSRQA_COLOR_CONVERSION_EXACT;
    else {
        av_log(ctx, AV_LOG_ERROR, "color_conversion \"%s\": use reference or exact\n", s->color_conversion);
        return AVERROR(EINVAL);
    }
    config.log_level = VSRQA_LOG_DEBUG;
    config.log_callback = log_from_vsrqa;
    config.log_user_data = ctx;
    status = vsrqa_engine_create(&config, &s->engine);
    if (status < 0)
        return vsrqa_error(ctx, status, "vsrqa_engine_create");
    av_bprint_init(&s->frame_rows, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprint_init(&s->window_rows, 0, AV_BPRINT_SIZE_UNLIMITED);
    s->pending = av_fifo_alloc2(64, sizeof(AVFrame *), AV_FIFO_FLAG_AUTO_GROW);
    s->scores = av_fifo_alloc2(8, sizeof(VsrqaFrameScore), AV_FIFO_FLAG_AUTO_GROW);
    if (!s->pending || !s->scores)
        return AVERROR(ENOMEM);
    return 0;
}

/* round(fps) as the reference counts key frames: half to even, at least 1. */
static int64_t key_frame_interval(double fps)
{
    int64_t interval = llrint(fps);
    return interval < 1 ? 1 : interval;
}

static int config_input(AVFilterLink *inlink)
{
    AVFilterContext *ctx = inlink->dst;
    VsrqaContext *s = ctx->priv;
#if LIBAVFILTER_VERSION_MAJOR >= 10
    AVRational rate = ff_filter_link(inlink)->frame_rate;
#else
    AVRational rate = inlink->frame_rate;
#endif
    VsrqaSessionConfig config;
    VsrqaStatus status;
    double fps;

    if (s->session) {
        av_log(ctx, AV_LOG_ERROR, "the frame size or format changed: vsrqa scores one stream of one size\n");
        return AVERROR(EINVAL);
    }
    if (rate.num <= 0 || rate.den <= 0) {
        av_log(ctx, AV_LOG_ERROR, "the stream has no frame rate: give one (e.g. -vf fps=25,vsrqa=...)\n");
        return AVERROR(EINVAL);
    }
    fps = av_q2d(rate);
    vsrqa_session_config_default(&config, sizeof config);
    config.fps = fps;
    config.window_seconds = s->window;
    config.queue_frames = s->queue_frames;
    status = vsrqa_session_create(s->engine, &config, &s->session);
    if (status < 0)
        return vsrqa_error(ctx, status, "vsrqa_session_create");
    s->fps = fps;
    s->interval = key_frame_interval(fps);
    s->window_frames = s->window > 0 ? FFMAX(1, llrint(s->window * fps)) : 0;
    if (s->log_path) {
        s->log = fopen(s->log_path, "w");
        if (!s->log) {
            int err = AVERROR(errno);
            av_log(ctx, AV_LOG_ERROR, "cannot write %s: %s\n", s->log_path, av_err2str(err));
            return err;
        }
        if (strcmp(s->log_fmt, "json"))
            fprintf(s->log, "kind,frame_index,key_frame,window,score,frames\n");
    }
    return 0;
}

/* Whether stream frame `n` is a key frame (they restart at each window). */
static int is_key_frame(const VsrqaContext *s, int64_t n)
{
    int64_t in_clip = s->window_frames ? n % s->window_frames : n;
    return in_clip % s->interval == 0;
}

static void log_frame(VsrqaContext *s, const VsrqaFrameScore *score)
{
    if (!s->log)
        return;
    if (!strcmp(s->log_fmt, "json"))
        av_bprintf(&s->frame_rows, "%s\n    {\"frame_index\": %" PRIu64 ", \"key_frame\": %u, \"score\": %.17g}",
                   s->frames_logged++ ? "," : "", score->frame_index, score->key_frame, score->score);
    else
        fprintf(s->log, "frame,%" PRIu64 ",%u,,%.17g,\n", score->frame_index, score->key_frame, score->score);
}

/* Takes every ready key-frame score and window score from the session. */
static int drain_scores(AVFilterContext *ctx)
{
    VsrqaContext *s = ctx->priv;
    VsrqaFrameScore score;
    VsrqaClipScore clip;
    VsrqaStatus status;
    int ret;

    vsrqa_frame_score_default(&score, sizeof score);
    while ((status = vsrqa_session_poll(s->session, &score)) == VSRQA_OK) {
        if ((ret = av_fifo_write(s->scores, &score, 1)) < 0)
            return ret;
        log_frame(s, &score);
    }
    if (status < 0)
        return vsrqa_error(ctx, status, "vsrqa_session_poll");
    if (!s->window_frames)
        return 0;
    vsrqa_clip_score_default(&clip, sizeof clip);
    while ((status = vsrqa_session_poll_clip(s->session, &clip)) == VSRQA_OK) {
        av_log(ctx, AV_LOG_INFO, "window %u (frames %" PRIu64 "-%" PRIu64 "): %.6f\n", clip.window,
               clip.first_frame, clip.first_frame + clip.frames - 1, clip.score);
        if (s->log && !strcmp(s->log_fmt, "csv"))
            fprintf(s->log, "window,%" PRIu64 ",,%u,%.17g,%" PRIu64 "\n", clip.first_frame, clip.window, clip.score,
                    clip.frames);
        else if (s->log)
            av_bprintf(&s->window_rows, "%s\n    {\"window\": %u, \"first_frame\": %" PRIu64 ", \"frames\": %" PRIu64
                       ", \"key_frames\": %u, \"score\": %.17g}", s->clips ? "," : "", clip.window, clip.first_frame,
                       clip.frames, clip.key_frames, clip.score);
        s->clip_score_sum += clip.score * (double)clip.frames;
        s->clip_frames_sum += (int64_t)clip.frames;
        s->clips++;
    }
    if (status < 0)
        return vsrqa_error(ctx, status, "vsrqa_session_poll_clip");
    return 0;
}

/* Sends on the frames whose key frame's score is known (all of them at the end). */
static int send_ready(AVFilterContext *ctx, int all)
{
    VsrqaContext *s = ctx->priv;
    AVFrame *frame;
    int ret;

    while (av_fifo_peek(s->pending, &frame, 1, 0) >= 0) {
        int64_t n = s->frames_out;
        VsrqaFrameScore score;
        /* Scores come in stream order, one per key frame: the oldest is this frame's or a later one's. */
        int known = av_fifo_peek(s->scores, &score, 1, 0) >= 0 && (int64_t)score.frame_index == n;
        if (is_key_frame(s, n) && !known && !all)
            break;
        av_fifo_drain2(s->pending, 1);
        if (known) {
            char text[32];
            av_fifo_drain2(s->scores, 1);
            snprintf(text, sizeof text, "%.6f", score.score);
            av_dict_set(&frame->metadata, "lavfi.vsrqa.score", text, 0);
        }
        s->frames_out++;
        if ((ret = ff_filter_frame(ctx->outputs[0], frame)) < 0)
            return ret;
    }
    return 0;
}

static VsrqaPixelFormat vsrqa_format(enum AVPixelFormat format)
{
    switch (format) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P:     return VSRQA_PIXEL_FORMAT_I420;
    case AV_PIX_FMT_NV12:         return VSRQA_PIXEL_FORMAT_NV12;
    case AV_PIX_FMT_YUV420P10LE:  return VSRQA_PIXEL_FORMAT_I420_10LE;
    case AV_PIX_FMT_P010LE:       return VSRQA_PIXEL_FORMAT_P010;
    case AV_PIX_FMT_RGB24:        return VSRQA_PIXEL_FORMAT_RGB24;
    case AV_PIX_FMT_BGR24:        return VSRQA_PIXEL_FORMAT_BGR24;
    case AV_PIX_FMT_RGBA:         return VSRQA_PIXEL_FORMAT_RGBA32;
    case AV_PIX_FMT_BGRA:         return VSRQA_PIXEL_FORMAT_BGRA32;
    default:                      return 0;
    }
}

static int filter_frame(AVFilterLink *inlink, AVFrame *in)
{
    AVFilterContext *ctx = inlink->dst;
    VsrqaContext *s = ctx->priv;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(in->format);
    VsrqaFrame frame;
    VsrqaStatus status;
    int ret;

    vsrqa_frame_default(&frame, sizeof frame);
    frame.format = vsrqa_format(in->format);
    frame.width = in->width;
    frame.height = in->height;
    /* FFmpeg's AVColorSpace and AVColorRange are H.273's codes, which the C API takes. */
    frame.color_matrix = in->colorspace;
    frame.color_range = in->format == AV_PIX_FMT_YUVJ420P ? VSRQA_COLOR_RANGE_FULL : in->color_range;
    for (int p = 0; p < 3 && p < av_pix_fmt_count_planes(in->format); p++) {
        frame.planes[p] = in->data[p];
        frame.pitches[p] = in->linesize[p];
        if (in->linesize[p] < 0) {
            av_log(ctx, AV_LOG_ERROR, "%s frames with negative line sizes are not supported\n", desc->name);
            av_frame_free(&in);
            return AVERROR(ENOSYS);
        }
    }
    status = vsrqa_session_push(s->session, &frame);
    if (status < 0) {
        av_frame_free(&in);
        return vsrqa_error(ctx, status, "vsrqa_session_push");
    }
    s->frames_in++;
    if ((ret = av_fifo_write(s->pending, &in, 1)) < 0) {
        av_frame_free(&in);
        return ret;
    }
    if ((ret = drain_scores(ctx)) < 0)
        return ret;
    return send_ready(ctx, 0);
}

static void log_clip(AVFilterContext *ctx, const VsrqaClipScore *clip)
{
    VsrqaContext *s = ctx->priv;
    double score = s->window_frames ? (s->clip_frames_sum ? s->clip_score_sum / s->clip_frames_sum : NAN) : clip->score;

    av_log(ctx, AV_LOG_INFO, "vsrqa score: %f\n", score);
    if (!s->log)
        return;
    if (!strcmp(s->log_fmt, "json")) {
        AVBPrint model;
        av_bprint_init(&model, 0, AV_BPRINT_SIZE_UNLIMITED);
        av_bprint_escape(&model, s->model, "\"\\", AV_ESCAPE_MODE_BACKSLASH, 0);
        fprintf(s->log, "{\n  \"vsrqa_version\": \"%s\",\n  \"model\": \"%s\",\n  \"fps\": %.17g,\n"
                "  \"frames\": %" PRId64 ",\n  \"clip_score\": %.17g,\n  \"frame_scores\": [%s\n  ],\n"
                "  \"windows\": [%s\n  ]\n}\n", vsrqa_version(), model.str, s->fps, s->frames_in, score,
                s->frame_rows.str, s->window_rows.str);
        av_bprint_finalize(&model, NULL);
    } else
        fprintf(s->log, "clip,0,,,%.17g,%" PRId64 "\n", score, s->frames_in);
}

static int finish(AVFilterContext *ctx)
{
    VsrqaContext *s = ctx->priv;
    VsrqaClipScore clip;
    VsrqaStatus status;
    int ret;

    if (s->eof || !s->session)
        return 0;
    s->eof = 1;
    if (!s->frames_in)
        return 0;
    vsrqa_clip_score_default(&clip, sizeof clip);
    status = vsrqa_session_finish(s->session, &clip);
    if (status < 0)
        return vsrqa_error(ctx, status, "vsrqa_session_finish");
    if ((ret = drain_scores(ctx)) < 0)
        return ret;
    log_clip(ctx, &clip);
    return send_ready(ctx, 1);
}

static int request_frame(AVFilterLink *outlink)
{
    AVFilterContext *ctx = outlink->src;
    int ret = ff_request_frame(ctx->inputs[0]);
    if (ret == AVERROR_EOF) {
        int finished = finish(ctx);
        if (finished < 0)
            return finished;
    }
    return ret;
}

static av_cold void uninit(AVFilterContext *ctx)
{
    VsrqaContext *s = ctx->priv;
    AVFrame *frame;

    if (s->pending) {
        while (av_fifo_read(s->pending, &frame, 1) >= 0)
            av_frame_free(&frame);
        av_fifo_freep2(&s->pending);
    }
    vsrqa_session_destroy(s->session);
    vsrqa_engine_destroy(s->engine);
    av_fifo_freep2(&s->scores);
    av_bprint_finalize(&s->frame_rows, NULL);
    av_bprint_finalize(&s->window_rows, NULL);
    if (s->log)
        fclose(s->log);
}

static const enum AVPixelFormat pix_fmts[] = {
    AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_NV12, AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_P010LE,
    AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGBA, AV_PIX_FMT_BGRA, AV_PIX_FMT_NONE
};

static const AVFilterPad vsrqa_inputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .filter_frame = filter_frame,
        .config_props = config_input,
    },
};

static const AVFilterPad vsrqa_outputs[] = {
    {
        .name          = "default",
        .type          = AVMEDIA_TYPE_VIDEO,
        .request_frame = request_frame,
    },
};

const AVFilter ff_vf_vsrqa = {
    .name          = "vsrqa",
    .description   = NULL_IF_CONFIG_SMALL("Score video quality with a vsrqa model bundle."),
    .priv_size     = sizeof(VsrqaContext),
    .priv_class    = &vsrqa_class,
    .init          = init,
    .uninit        = uninit,
    .flags         = AVFILTER_FLAG_METADATA_ONLY,
    FILTER_INPUTS(vsrqa_inputs),
    FILTER_OUTPUTS(vsrqa_outputs),
    FILTER_PIXFMTS_ARRAY(pix_fmts),
};
