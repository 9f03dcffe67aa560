//! Opening a file: the container, the best video stream, its decoder, and what the stream
//! declares ([`VideoInfo`](super::VideoInfo)).

use std::io::Read;
use std::path::Path;
use std::ptr;

use ffmpeg_sys_next as ff;
use libc::c_int;

use super::error::{self, text};
use super::ffi::{self, CodecContext, Input};
use super::orientation::{self, Orientation, Rotation};
use super::{format, timing, VideoInfo};

/// An opened input with its chosen stream and a ready decoder.
pub(super) struct Opened {
    pub(super) input: Input,
    pub(super) codec: CodecContext,
    pub(super) stream_index: c_int,
    pub(super) time_base: ff::AVRational,
    /// The stream's declared pixel format (raw), whose conversion `info.notes` already notes.
    pub(super) stream_format: c_int,
    /// The stream's declared matrix (raw), whose substitution `info.notes` already notes.
    pub(super) stream_color_space: c_int,
    pub(super) info: VideoInfo,
}

/// Appends FFmpeg's last logged error line, when it says more than `message`.
fn with_logged(message: String) -> String {
    match error::last_logged() {
        Some(logged) if !message.contains(&logged) => format!("{message} (FFmpeg: {logged})"),
        _ => message,
    }
}

pub(super) fn open(path: &Path) -> Result<Opened, String> {
    error::route_log();
    let url = ffi::file_url(path)?;
    error::clear_last_logged();
    let input = Input::open(&url).map_err(|code| describe_open_failure(path, code))?;
    let context = input.as_ptr();
    // SAFETY: a valid, opened format context; null options are allowed.
    let status = unsafe { ff::avformat_find_stream_info(context, ptr::null_mut()) };
    if status < 0 {
        return Err(with_logged(format!("cannot read the stream parameters: {}", text(status))));
    }
    let index = choose_stream(&input)?;
    // SAFETY: choose_stream returned an index below nb_streams, so the entry is a valid stream
    // owned by the context, as is its codecpar.
    let (stream, parameters) = unsafe {
        let stream = *(*context).streams.add(index as usize);
        (&*stream, &*(*stream).codecpar)
    };
    // The codec id was written by the libavformat these bindings were generated for.
    let codec_id = parameters.codec_id;
    // SAFETY: returns a static string for any id.
    let codec_name = ffi::c_name(unsafe { ff::avcodec_get_name(codec_id) }, "unknown");
    // SAFETY: looks up a static codec table.
    let decoder = unsafe { ff::avcodec_find_decoder(codec_id) };
    if decoder.is_null() {
        return Err(format!("codec {codec_name} has no decoder in this FFmpeg build"));
    }
    let codec = CodecContext::new(decoder).ok_or("cannot allocate a decoder context (out of memory)")?;
    // SAFETY: both valid; copies the stream parameters (extradata included) into the context.
    let status = unsafe { ff::avcodec_parameters_to_context(codec.as_ptr(), stream.codecpar) };
    if status < 0 {
        return Err(format!("cannot set up the {codec_name} decoder: {}", text(status)));
    }
    // SAFETY: the context is valid and not yet opened, when these fields may be set.
    unsafe {
        let c = codec.as_ptr();
        (*c).pkt_timebase = stream.time_base;
        // 0 = one thread per core, frame and slice threading: output is identical to one thread.
        (*c).thread_count = 0;
        (*c).thread_type = ff::FF_THREAD_FRAME | ff::FF_THREAD_SLICE;
    }
    error::clear_last_logged();
    // SAFETY: context allocated for this decoder; null options allowed.
    let status = unsafe { ff::avcodec_open2(codec.as_ptr(), decoder, ptr::null_mut()) };
    if status < 0 {
        return Err(with_logged(format!("cannot open the {codec_name} decoder: {}", text(status))));
    }
    // Only the chosen stream's packets are wanted; the demuxer can skip the rest.
    // SAFETY: every index below nb_streams is a valid stream; `discard` is the user's to set.
    unsafe {
        for i in 0..(*context).nb_streams as usize {
            if i != index as usize {
                (**(*context).streams.add(i)).discard = ff::AVDiscard::AVDISCARD_ALL;
            }
        }
    }
    let info = describe(&input, stream, parameters, codec_name)?;
    let stream_format = parameters.format;
    // SAFETY: an enum field of a valid codecpar, read as a raw int.
    let stream_color_space = unsafe { ffi::raw_enum(ptr::addr_of!(parameters.color_space)) };
    Ok(Opened {
        input,
        codec,
        stream_index: index,
        time_base: stream.time_base,
        stream_format,
        stream_color_space,
        info,
    })
}

/// Whether stream `index` is an attached picture (an audio file's cover art): a still image
/// stored as a one-frame "video" stream, not video.
fn is_attached_picture(input: &Input, index: usize) -> bool {
    // SAFETY: the caller passes an index below nb_streams; every such entry is a valid stream.
    let disposition = unsafe { (**(*input.as_ptr()).streams.add(index)).disposition };
    disposition & ff::AV_DISPOSITION_ATTACHED_PIC as c_int != 0
}

/// The video stream to decode: FFmpeg's best (`av_find_best_stream`) unless that is an attached
/// picture, then the largest other video stream; attached pictures are never chosen.
fn choose_stream(input: &Input) -> Result<c_int, String> {
    let context = input.as_ptr();
    // SAFETY: a valid context after avformat_find_stream_info; no decoder is asked for.
    let best =
        unsafe { ff::av_find_best_stream(context, ff::AVMediaType::AVMEDIA_TYPE_VIDEO, -1, -1, ptr::null_mut(), 0) };
    if best >= 0 && !is_attached_picture(input, best as usize) {
        return Ok(best);
    }
    if best < 0 && best != ff::AVERROR_STREAM_NOT_FOUND {
        return Err(format!("cannot choose a video stream: {}", text(best)));
    }
    // SAFETY: every index below nb_streams is a valid stream with codecpar.
    let count = unsafe { (*context).nb_streams } as usize;
    let other_video = (0..count)
        .filter(|&i| !is_attached_picture(input, i))
        .filter_map(|i| {
            // SAFETY: as above.
            let parameters = unsafe { &*(**(*context).streams.add(i)).codecpar };
            (parameters.codec_type == ff::AVMediaType::AVMEDIA_TYPE_VIDEO)
                .then(|| (i64::from(parameters.width) * i64::from(parameters.height), i))
        })
        .max_by_key(|&(area, i)| (area, std::cmp::Reverse(i)));
    match other_video {
        Some((_, i)) => Ok(i as c_int),
        None if (0..count).any(|i| is_attached_picture(input, i)) => Err(format!(
            "no video stream: the only picture is attached cover art, not video ({})",
            stream_summary(input)
        )),
        None => Err(format!("no video stream ({})", stream_summary(input))),
    }
}

/// The stream's display matrix, if it has one.
fn display_matrix(stream: &ff::AVStream) -> Option<[i32; 9]> {
    let mut size: usize = 0;
    // SAFETY: a valid stream; returns null or a pointer to `size` bytes of side data owned by the
    // stream, alive while the input is.
    let data =
        unsafe { ff::av_stream_get_side_data(stream, ff::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX, &mut size) };
    if data.is_null() || size < std::mem::size_of::<[i32; 9]>() {
        return None;
    }
    // SAFETY: at least 36 readable bytes (checked); read unaligned, as side data promises nothing.
    Some(unsafe { data.cast::<[i32; 9]>().read_unaligned() })
}

/// The rotation to apply, with a note saying what was done (or why nothing was).
fn rotation(stream: &ff::AVStream, notes: &mut Vec<String>) -> Option<Rotation> {
    let matrix = display_matrix(stream)?;
    // SAFETY: a 9-value matrix, as av_display_rotation_get reads.
    let counterclockwise = unsafe { ff::av_display_rotation_get(matrix.as_ptr()) };
    match orientation::orientation(&matrix, counterclockwise) {
        Orientation::Upright => None,
        Orientation::Rotate(rotation) => {
            let turn = match rotation {
                Rotation::Clockwise90 => "90° clockwise",
                Rotation::Half => "180°",
                Rotation::Clockwise270 => "90° counterclockwise",
            };
            notes.push(format!(
                "the stream has a display rotation: frames are turned {turn}, upright as players show them"
            ));
            Some(rotation)
        }
        Orientation::Unsupported { degrees, mirrored } => {
            let what =
                if mirrored { format!("mirrors the picture ({degrees}°)") } else { format!("rotates by {degrees}°") };
            notes.push(format!(
                "the stream's display matrix {what}, which vsrqa does not apply: frames are scored as stored"
            ));
            None
        }
    }
}

/// FFmpeg's name of a field order, for interlaced streams (`None`: progressive or unknown).
fn interlacing(field_order: c_int) -> Option<&'static str> {
    use ff::AVFieldOrder as O;
    [
        (O::AV_FIELD_TT, "tt (top field first)"),
        (O::AV_FIELD_BB, "bb (bottom field first)"),
        (O::AV_FIELD_TB, "tb (top coded first, bottom shown first)"),
        (O::AV_FIELD_BT, "bt (bottom coded first, top shown first)"),
    ]
    .into_iter()
    .find(|&(order, _)| order as c_int == field_order)
    .map(|(_, name)| name)
}

/// The note for interlaced video: the reference never saw it.
pub(super) fn interlaced_note(field_order: &str) -> String {
    format!(
        "the video is interlaced (field order {field_order}): frames are scored as woven fields, not deinterlaced; \
         the model was trained on progressive video, so this score is outside what it was trained on"
    )
}

/// FFmpeg's name of an HDR transfer (PQ, HLG) for a raw `AVColorTransferCharacteristic`.
pub(super) fn hdr_transfer(raw_transfer: c_int) -> Option<&'static str> {
    use ff::AVColorTransferCharacteristic as T;
    if raw_transfer == T::AVCOL_TRC_SMPTE2084 as c_int {
        Some("smpte2084 (PQ)")
    } else if raw_transfer == T::AVCOL_TRC_ARIB_STD_B67 as c_int {
        Some("arib-std-b67 (HLG)")
    } else {
        None
    }
}

/// The note for HDR video.
pub(super) fn hdr_note(transfer: &str) -> String {
    format!(
        "the video has an HDR transfer ({transfer}): its code values are read as SDR, without tone mapping; \
         the model was trained on SDR video, so this score is outside what it was trained on"
    )
}

/// What the stream declares.
fn describe(
    input: &Input,
    stream: &ff::AVStream,
    parameters: &ff::AVCodecParameters,
    codec: String,
) -> Result<VideoInfo, String> {
    let (coded_width, coded_height) = match (u32::try_from(parameters.width), u32::try_from(parameters.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(format!("the {codec} stream has no frame size ({}x{})", parameters.width, parameters.height)),
    };
    let mut notes = Vec::new();
    let rotation = rotation(stream, &mut notes);
    let (width, height) = rotation.map_or((coded_width, coded_height), |r| r.displayed_size(coded_width, coded_height));
    // SAFETY: enum fields of a valid codecpar, read as raw ints.
    let (raw_field_order, raw_transfer) = unsafe {
        (ffi::raw_enum(ptr::addr_of!(parameters.field_order)), ffi::raw_enum(ptr::addr_of!(parameters.color_trc)))
    };
    let field_order = interlacing(raw_field_order);
    notes.extend(field_order.map(interlaced_note));
    let hdr = hdr_transfer(raw_transfer);
    notes.extend(hdr.map(hdr_note));
    notes.extend(format::conversion_note(parameters.format));
    let (fps, note) = timing::choose_fps(stream.avg_frame_rate, stream.r_frame_rate);
    notes.extend(note);
    let tb = stream.time_base;
    let seconds = |t: i64| {
        (t != ff::AV_NOPTS_VALUE && t > 0 && tb.den > 0).then(|| t as f64 * f64::from(tb.num) / f64::from(tb.den))
    };
    // SAFETY: the context is valid while `input` is.
    let container_duration = unsafe { (*input.as_ptr()).duration };
    let duration_seconds = seconds(stream.duration).or_else(|| {
        (container_duration != ff::AV_NOPTS_VALUE && container_duration > 0)
            .then(|| container_duration as f64 / f64::from(ff::AV_TIME_BASE))
    });
    let frame_count_hint = u64::try_from(stream.nb_frames)
        .ok()
        .filter(|&n| n > 0)
        .or_else(|| duration_seconds.map(|d| (d * fps).round() as u64).filter(|&n| n > 0));
    // SAFETY: enum fields of a valid codecpar, read as raw ints.
    let (raw_space, raw_range) = unsafe {
        (ffi::raw_enum(ptr::addr_of!(parameters.color_space)), ffi::raw_enum(ptr::addr_of!(parameters.color_range)))
    };
    let (color_matrix, substituted) = format::color_matrix(raw_space);
    if substituted {
        notes.push(format!(
            "the stream is tagged with the {} matrix, which vsrqa does not implement: BT.601 is used",
            format::color_space_name(raw_space)
        ));
    }
    let color_range = format::color_range(raw_range, format::is_full_range_format(parameters.format));
    // SAFETY: iformat is set on every opened input and points to a static demuxer description.
    let container = ffi::c_name(unsafe { (*(*input.as_ptr()).iformat).name }, "unknown");
    Ok(VideoInfo {
        width,
        height,
        fps,
        codec,
        pixel_format: format::name(parameters.format),
        frame_format: format::map_pixel_format(parameters.format).ok().map(|mapping| mapping.frame_format()),
        frame_count_hint,
        duration_seconds,
        color_matrix,
        color_range,
        variable_frame_rate: timing::rates_disagree(stream.avg_frame_rate, stream.r_frame_rate),
        container,
        rotation,
        field_order: field_order.map(str::to_string),
        hdr_transfer: hdr.map(str::to_string),
        notes,
    })
}

/// "streams: aac audio, mov_text subtitle" or "the file has no streams".
fn stream_summary(input: &Input) -> String {
    let context = input.as_ptr();
    // SAFETY: every index below nb_streams is a valid stream with codecpar; the name functions
    // return static strings.
    let kinds: Vec<String> = unsafe {
        (0..(*context).nb_streams as usize)
            .map(|i| {
                let parameters = &*(**(*context).streams.add(i)).codecpar;
                let codec = ffi::c_name(ff::avcodec_get_name(parameters.codec_id), "unknown");
                let kind = ffi::c_name(ff::av_get_media_type_string(parameters.codec_type), "data");
                let attached = if is_attached_picture(input, i) { " (attached picture)" } else { "" };
                format!("{codec} {kind}{attached}")
            })
            .collect()
    };
    if kinds.is_empty() {
        "the file has no streams".to_string()
    } else {
        format!("streams: {}", kinds.join(", "))
    }
}

/// Why `avformat_open_input` failed, in words: a missing or unreadable file, a file whose bytes
/// match no format FFmpeg knows, or one that matches a format but is damaged or incomplete.
fn describe_open_failure(path: &Path, code: c_int) -> String {
    if code != ff::AVERROR_INVALIDDATA {
        return with_logged(format!("cannot open: {}", text(code)));
    }
    match probe_content(path) {
        Some(format) => {
            with_logged(format!("a damaged or incomplete {format} file, FFmpeg cannot read it: {}", text(code)))
        }
        None => {
            // The log would only repeat a guess made from the file name's extension.
            error::clear_last_logged();
            format!("not a video FFmpeg can read: {}", text(code))
        }
    }
}

/// The container format FFmpeg recognizes from the file's first bytes (not its name), if any.
fn probe_content(path: &Path) -> Option<String> {
    const PROBE_BYTES: usize = 4096;
    let mut head = Vec::with_capacity(PROBE_BYTES + ff::AVPROBE_PADDING_SIZE as usize);
    std::fs::File::open(path).ok()?.take(PROBE_BYTES as u64).read_to_end(&mut head).ok()?;
    let len = head.len();
    if len == 0 {
        return None;
    }
    head.resize(len + ff::AVPROBE_PADDING_SIZE as usize, 0);
    let probe = ff::AVProbeData {
        filename: c"".as_ptr(),
        buf: head.as_mut_ptr(),
        buf_size: len as c_int,
        mime_type: ptr::null(),
    };
    let mut score: c_int = 0;
    // SAFETY: the probe data points to `len` bytes followed by the zeroed padding FFmpeg requires,
    // alive for the call; an empty file name means no extension match. Returns null or a static
    // demuxer description.
    let found = unsafe { ff::av_probe_input_format3(&probe, 1, &mut score).as_ref() }?;
    // FFmpeg itself retries below 25 (AVPROBE_SCORE_RETRY): a weaker match is a guess.
    if score < ff::AVPROBE_SCORE_MAX / 4 {
        return None;
    }
    let long_name = ffi::c_name(found.long_name, "");
    Some(if long_name.is_empty() { ffi::c_name(found.name, "unknown") } else { long_name })
}
