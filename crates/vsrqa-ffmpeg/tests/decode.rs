//! FFmpeg decoding (`vsrqa_ffmpeg::Decoder`) on the generated test videos (tests/videos/make.sh,
//! listed in tests/videos/README.md), checked against the ffmpeg and ffprobe command line tools
//! and the engine. (The `vsrqa` tool on the same videos: crates/vsrqa-cli/tests/ffmpeg_input.rs.)

use std::path::{Path, PathBuf};
use std::process::Command;

use vsrqa::backend::BackendKind;
use vsrqa::frame::{ColorMatrix, ColorRange, FrameView, PixelFormat};
use vsrqa::{Engine, EngineOptions, Error};
use vsrqa_ffmpeg::{Decoder, VideoInfo};

#[path = "../../../tests/videos/support.rs"]
mod videos;
use videos::{ffprobe_frame_count, root, video, videos};

/// Extra videos for the conversion paths, made here with the ffmpeg CLI (idempotent).
fn extra_video(name: &str, args: &[&str]) -> PathBuf {
    let dir = videos().join("extra");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if !path.exists() {
        let partial = dir.join(format!("partial-{name}"));
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(args)
            .arg(&partial)
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg could not make {name}");
        std::fs::rename(&partial, &path).unwrap();
    }
    path
}

/// `ffmpeg -i FILE -f rawvideo -pix_fmt FMT -`: every frame, planes packed.
fn ffmpeg_raw(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-sws_flags", "bicubic+accurate_rnd+bitexact", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A frame's planes, rows packed (what `ffmpeg -f rawvideo` writes).
fn packed(view: &FrameView<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..view.format.plane_count() {
        let (row_bytes, rows) = view.format.plane_extent(i, view.width as usize, view.height as usize);
        for y in 0..rows {
            let start = y * view.pitches[i];
            out.extend_from_slice(&view.planes[i][start..start + row_bytes]);
        }
    }
    out
}

struct Decoded {
    info: VideoInfo,
    frames: Vec<Vec<u8>>,
    formats: Vec<PixelFormat>,
    sizes: Vec<(u32, u32)>,
    tags: Vec<(ColorMatrix, ColorRange)>,
    pts: Vec<Option<f64>>,
    error: Option<Error>,
}

fn decode(path: &Path) -> Decoded {
    let mut decoder = Decoder::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut d = Decoded {
        info: decoder.info().clone(),
        frames: vec![],
        formats: vec![],
        sizes: vec![],
        tags: vec![],
        pts: vec![],
        error: None,
    };
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!(frame.index, d.frames.len() as u64);
                frame.view.validate().unwrap();
                d.frames.push(packed(&frame.view));
                d.formats.push(frame.view.format);
                d.sizes.push((frame.view.width, frame.view.height));
                d.tags.push((frame.view.matrix, frame.view.range));
                d.pts.push(frame.pts_seconds);
            }
            Ok(None) => break,
            Err(e) => {
                d.error = Some(e);
                break;
            }
        }
    }
    // After the end (or an error), the decoder stays ended.
    assert!(matches!(decoder.next_frame(), Ok(None)));
    d.info = decoder.info().clone();
    d
}

#[test]
fn frame_counts_sizes_formats_and_rates_match_ffprobe() {
    // name, size, vsrqa format, FFmpeg pixel format, fps, codec
    let cases = [
        ("h264_8bit.mp4", (128, 72), PixelFormat::I420, "yuv420p", 24.0, "h264"),
        ("hevc_10bit.mkv", (96, 64), PixelFormat::I420_10Le, "yuv420p10le", 25.0, "hevc"),
        ("vp9_10bit.webm", (80, 48), PixelFormat::I420_10Le, "yuv420p10le", 20.0, "vp9"),
        ("odd_99x57.mkv", (99, 57), PixelFormat::I420, "yuv420p", 10.0, "ffv1"),
        ("h264_full_bt709.mp4", (64, 48), PixelFormat::I420, "yuvj420p", 8.0, "h264"),
        ("vfr.mkv", (64, 48), PixelFormat::I420, "yuv420p", 30.0, "h264"),
        ("tiny_16x16.mp4", (16, 16), PixelFormat::I420, "yuv420p", 10.0, "h264"),
    ];
    for (name, size, format, pix_fmt, fps, codec) in cases {
        let path = video(name);
        let d = decode(&path);
        assert!(d.error.is_none(), "{name}: {:?}", d.error);
        assert_eq!(d.frames.len() as u64, ffprobe_frame_count(&path), "{name}: frame count");
        assert!(d.sizes.iter().all(|&s| s == size), "{name}: sizes");
        assert!(d.formats.iter().all(|&f| f == format), "{name}: formats");
        let info = &d.info;
        assert_eq!((info.width, info.height), size, "{name}");
        assert_eq!(info.pixel_format, pix_fmt, "{name}");
        assert_eq!(info.frame_format, Some(format), "{name}");
        assert_eq!(info.fps, fps, "{name}");
        assert_eq!(info.codec, codec, "{name}");
        assert!(info.notes.is_empty(), "{name}: {:?}", info.notes);
        assert!(d.pts.iter().all(Option::is_some), "{name}: timestamps");
    }
    // The README's counts, for the record: 30, 20, 16, 12, 10, 24, 5 frames.
    assert_eq!(decode(&video("h264_8bit.mp4")).frames.len(), 30);
    assert_eq!(decode(&video("hevc_10bit.mkv")).info.frame_count_hint, Some(20));
}

#[test]
fn decoded_planes_are_byte_identical_to_ffmpeg_rawvideo() {
    for (name, pix_fmt) in [
        ("h264_8bit.mp4", "yuv420p"),
        ("hevc_10bit.mkv", "yuv420p10le"),
        ("odd_99x57.mkv", "yuv420p"),
        ("vp9_10bit.webm", "yuv420p10le"),
        ("h264_full_bt709.mp4", "yuvj420p"),
    ] {
        let path = video(name);
        let d = decode(&path);
        let expected = ffmpeg_raw(&path, pix_fmt);
        assert_eq!(d.frames.concat().len(), expected.len(), "{name}: total bytes");
        assert!(d.frames.concat() == expected, "{name}: decoded planes differ from ffmpeg's");
    }
}

#[test]
fn full_range_bt709_is_reported_per_frame_and_per_stream() {
    let d = decode(&video("h264_full_bt709.mp4"));
    assert_eq!((d.info.color_matrix, d.info.color_range), (ColorMatrix::Bt709, ColorRange::Full));
    assert!(d.tags.iter().all(|&t| t == (ColorMatrix::Bt709, ColorRange::Full)));
    // Untagged 4:2:0 video: BT.601, limited range.
    let d = decode(&video("h264_8bit.mp4"));
    assert_eq!((d.info.color_matrix, d.info.color_range), (ColorMatrix::Bt601, ColorRange::Limited));
    assert!(d.tags.iter().all(|&t| t == (ColorMatrix::Bt601, ColorRange::Limited)));
}

fn steps(pts: &[Option<f64>]) -> Vec<f64> {
    pts.windows(2).map(|w| w[1].unwrap() - w[0].unwrap()).collect()
}

#[test]
fn variable_frame_rate_is_seen_in_timestamps() {
    let vfr = decode(&video("vfr.mkv"));
    assert!(vfr.info.variable_frame_rate);
    // make.sh: steps of 1, 2 or 3 ticks of 1/30 s (stored in milliseconds by Matroska).
    let vfr_steps = steps(&vfr.pts);
    assert!(vfr_steps.iter().all(|&s| s > 0.0));
    let (shortest, longest) = vfr_steps.iter().fold((f64::MAX, 0f64), |(a, b), &s| (a.min(s), b.max(s)));
    assert!(shortest < 0.04 && longest > 0.06, "{vfr_steps:?}");
    // Already known at open: the prescan saw the irregular packets.
    assert!(Decoder::open(&video("vfr.mkv")).unwrap().info().variable_frame_rate);

    let cfr = decode(&video("h264_8bit.mp4"));
    assert!(!cfr.info.variable_frame_rate);
    assert_eq!(cfr.pts[0], Some(0.0));
    assert!(steps(&cfr.pts).iter().all(|&s| (s - 1.0 / 24.0).abs() < 1e-9));
}

#[test]
fn a_truncated_stream_returns_its_frames_then_the_error() {
    // The cut lands inside the 25th frame: FFmpeg conceals the missing slices (ffprobe counts
    // 25 frames); the decoder returns the 24 intact ones, then the error.
    let d = decode(&video("truncated.ts"));
    assert_eq!(d.frames.len(), 24);
    let error = d.error.expect("the stream broke");
    assert!(matches!(error, Error::Input { .. }));
    let text = error.to_string();
    assert!(text.contains("truncated.ts") && text.contains("after 24 frames") && text.contains("concealed"), "{text}");
    assert_eq!(ffprobe_frame_count(&video("truncated.ts")), 25);
    // The intact frames are the ones ffmpeg decodes.
    let expected = ffmpeg_raw(&video("truncated.ts"), "yuv420p");
    assert!(expected.starts_with(&d.frames.concat()));
}

#[test]
fn unreadable_files_are_input_errors_that_say_why() {
    let message = |name: &str| {
        let path = video(name);
        match Decoder::open(&path) {
            Err(e @ Error::Input { .. }) => {
                let text = e.to_string();
                assert!(text.starts_with(&path.display().to_string()), "{text}");
                text
            }
            Err(e) => panic!("{name}: not an input error: {e}"),
            Ok(_) => panic!("{name} opened"),
        }
    };
    let moov = message("truncated_moov.mp4");
    assert!(moov.contains("damaged or incomplete") && moov.contains("QuickTime"), "{moov}");
    let text = message("not_a_video.mp4");
    assert!(text.contains("not a video FFmpeg can read: Invalid data found when processing input"), "{text}");
    let audio = message("audio_only.m4a");
    assert!(audio.contains("no video stream") && audio.contains("aac audio"), "{audio}");
    let missing = message("no_such_file.mp4");
    assert!(missing.contains("cannot open: No such file or directory"), "{missing}");
    let all = [&moov, &text, &audio, &missing];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let dir = Decoder::open(videos()).err().unwrap().to_string();
    assert!(dir.contains("cannot open"), "{dir}");
}

#[test]
fn a_tiny_video_decodes() {
    let d = decode(&video("tiny_16x16.mp4"));
    assert_eq!(d.frames.len(), 5);
    assert_eq!(d.frames[0].len(), 16 * 16 * 3 / 2);
}

#[test]
fn other_formats_are_converted_like_ffmpeg_does() {
    // (file, lavfi source + encoder, the format ffmpeg converts to for comparison, vsrqa format)
    let cases: [(&str, &[&str], &str, PixelFormat); 6] = [
        (
            "yuv444p.mkv",
            &["-i", "testsrc2=size=66x34:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "yuv444p"],
            "yuv420p",
            PixelFormat::I420,
        ),
        (
            "yuv422p10.mkv",
            &["-i", "testsrc2=size=64x32:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "yuv422p10le"],
            "yuv420p10le",
            PixelFormat::I420_10Le,
        ),
        (
            "gbrp10.mkv",
            &["-i", "testsrc2=size=48x32:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "gbrp10le"],
            "rgb24",
            PixelFormat::Rgb24,
        ),
        // Viewed in place: the fourth byte is padding.
        (
            "bgr0.mkv",
            &["-i", "testsrc2=size=48x32:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "bgr0"],
            "bgr0",
            PixelFormat::Bgra32,
        ),
        (
            "gray.mkv",
            &["-i", "testsrc2=size=48x32:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "gray"],
            // Gray is full range (FFV1 tags it so): kept full, as yuvj420p is.
            "yuvj420p",
            PixelFormat::I420,
        ),
        // BMP frames are stored bottom-up: FFmpeg hands them out with negative pitches.
        (
            "bmp_bottom_up.avi",
            &["-i", "testsrc2=size=40x24:rate=10", "-frames:v", "3", "-c:v", "bmp", "-pix_fmt", "bgr24"],
            "bgr24",
            PixelFormat::Bgr24,
        ),
    ];
    for (name, args, pix_fmt, format) in cases {
        let path = extra_video(name, args);
        let d = decode(&path);
        assert!(d.error.is_none(), "{name}: {:?}", d.error);
        assert_eq!(d.frames.len(), 3, "{name}");
        assert!(d.formats.iter().all(|&f| f == format), "{name}: {:?}", d.formats);
        assert_eq!(d.info.frame_format, Some(format), "{name}");
        let expected = ffmpeg_raw(&path, pix_fmt);
        assert_eq!(d.frames.concat().len(), expected.len(), "{name}");
        assert!(d.frames.concat() == expected, "{name}: differs from ffmpeg -pix_fmt {pix_fmt}");
        if name == "gray.mkv" {
            assert!(d.tags.iter().all(|&(_, range)| range == ColorRange::Full));
        }
    }
}

fn engine() -> Engine {
    Engine::new(
        root().join("tests/data/tiny_bundle"),
        EngineOptions { backend: BackendKind::Cpu, ..EngineOptions::default() },
    )
    .unwrap()
}

/// Scores through a session fed by the Decoder, and through a session fed by ffmpeg's raw
/// output as packed frames: the two must agree exactly.
fn assert_same_scores_as_raw(name: &str, pix_fmt: &str, format: PixelFormat, key_frames: u32) {
    let engine = engine();
    let path = video(name);
    let mut decoder = Decoder::open(&path).unwrap();
    let fps = decoder.info().fps;
    let mut session = engine.session(fps).unwrap();
    while let Some(frame) = decoder.next_frame().unwrap() {
        session.push(frame.view).unwrap();
    }
    let clip = session.finish().unwrap();
    let frame_scores: Vec<_> = std::iter::from_fn(|| session.poll()).collect();

    let raw = ffmpeg_raw(&path, pix_fmt);
    let (w, h) = (decoder.info().width, decoder.info().height);
    let frame_len: usize = (0..format.plane_count())
        .map(|i| {
            let (row, rows) = format.plane_extent(i, w as usize, h as usize);
            row * rows
        })
        .sum();
    let mut reference = engine.session(fps).unwrap();
    for chunk in raw.chunks_exact(frame_len) {
        reference.push(FrameView::packed(format, w, h, chunk).unwrap()).unwrap();
    }
    let expected = reference.finish().unwrap();
    let expected_scores: Vec<_> = std::iter::from_fn(|| reference.poll()).collect();

    assert_eq!(clip, expected, "{name}");
    assert_eq!(frame_scores, expected_scores, "{name}");
    assert_eq!(clip.frames, decoder.frames_decoded());
    assert_eq!(clip.key_frames, key_frames, "{name}");
    assert_eq!(frame_scores.len(), key_frames as usize);
    assert!((0.0..=1.0).contains(&clip.score), "{name}: {}", clip.score);
    assert!(frame_scores.iter().all(|s| (0.0..=1.0).contains(&s.score)));
}

#[test]
fn decoded_h264_scores_exactly_like_its_raw_frames() {
    // 30 frames at 24 fps: key frames every 24 frames -> 0 and 24.
    assert_same_scores_as_raw("h264_8bit.mp4", "yuv420p", PixelFormat::I420, 2);
}

#[test]
fn decoded_hevc_10bit_scores_exactly_like_its_raw_frames() {
    // 20 frames at 25 fps: one key frame.
    assert_same_scores_as_raw("hevc_10bit.mkv", "yuv420p10le", PixelFormat::I420_10Le, 1);
}

#[test]
fn file_names_are_file_names_not_urls() {
    // A name FFmpeg would otherwise take for a protocol, and (on Unix) one that is not UTF-8.
    let dir = videos().join("extra");
    std::fs::create_dir_all(&dir).unwrap();
    let url_like = dir.join("concat:tiny.mp4");
    std::fs::copy(video("tiny_16x16.mp4"), &url_like).unwrap();
    assert_eq!(decode(&url_like).frames.len(), 5);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let latin1 = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.mp4"));
        std::fs::copy(video("tiny_16x16.mp4"), &latin1).unwrap();
        assert_eq!(decode(&latin1).frames.len(), 5);
    }
    let nul = Decoder::open(Path::new("clip\0.mp4")).err().unwrap().to_string();
    assert!(nul.contains("NUL"), "{nul}");
}

/// Runs the ffmpeg CLI quietly with `args`.
fn run_ffmpeg(args: &[&std::ffi::OsStr]) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A video made in several steps (`build` writes the file at the path it is given), idempotent.
fn made_video(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = videos().join("extra");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if !path.exists() {
        let partial = dir.join(format!("partial-{name}"));
        build(&partial);
        std::fs::rename(&partial, &path).unwrap();
    }
    path
}

/// A 64x48 H.264 clip in MP4 whose display matrix asks for `rotate` degrees (ffmpeg's `rotate`
/// metadata, written by a stream copy as phones write it).
fn rotated_video(rotate: u32) -> PathBuf {
    let upright = extra_video(
        "upright_64x48.mp4",
        &["-i", "testsrc2=size=64x48:rate=10", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    made_video(&format!("rotate_{rotate}.mp4"), |out| {
        let tag = format!("rotate={rotate}");
        let args = ["-i".as_ref(), upright.as_os_str(), "-c".as_ref(), "copy".as_ref()];
        let args = [&args[..], &["-metadata:s:v:0".as_ref(), tag.as_ref(), out.as_os_str()]].concat();
        run_ffmpeg(&args);
    })
}

#[test]
fn a_display_rotation_is_applied_as_ffmpeg_shows_the_video() {
    // (metadata, the clockwise turn ffmpeg applies): FFmpeg reads `rotate=90` as a matrix that it
    // shows with transpose=cclock.
    for (rotate, clockwise) in [(90, 270), (180, 180), (270, 90)] {
        let path = rotated_video(rotate);
        let d = decode(&path);
        assert!(d.error.is_none(), "{rotate}: {:?}", d.error);
        let rotation = d.info.rotation.unwrap_or_else(|| panic!("rotate={rotate}: no rotation applied"));
        assert_eq!(rotation.degrees(), clockwise, "rotate={rotate}");
        let upright = if clockwise == 180 { (64, 48) } else { (48, 64) };
        assert_eq!((d.info.width, d.info.height), upright, "rotate={rotate}");
        assert!(d.sizes.iter().all(|&s| s == upright), "rotate={rotate}: {:?}", d.sizes);
        assert!(d.info.notes.iter().any(|n| n.contains("display rotation")), "{:?}", d.info.notes);
        // ffmpeg autorotates when decoding: the same bytes.
        let expected = ffmpeg_raw(&path, "yuv420p");
        assert!(d.frames.concat() == expected, "rotate={rotate}: differs from ffmpeg's upright frames");
    }
    let plain = decode(&extra_video("upright_64x48.mp4", &[]));
    assert_eq!((plain.info.rotation, plain.info.width), (None, 64));
}

#[test]
fn cover_art_is_not_video() {
    let cover = extra_video("cover.png", &["-i", "testsrc2=size=64x64:rate=1", "-frames:v", "1"]);
    let song = made_video("song_with_cover.mp3", |out| {
        let args: [&std::ffi::OsStr; 19] = [
            "-f".as_ref(),
            "lavfi".as_ref(),
            "-i".as_ref(),
            "sine=duration=1".as_ref(),
            "-i".as_ref(),
            cover.as_os_str(),
            "-map".as_ref(),
            "0".as_ref(),
            "-map".as_ref(),
            "1".as_ref(),
            "-c:a".as_ref(),
            "libmp3lame".as_ref(),
            "-c:v".as_ref(),
            "mjpeg".as_ref(),
            "-disposition:v:0".as_ref(),
            "attached_pic".as_ref(),
            "-id3v2_version".as_ref(),
            "3".as_ref(),
            out.as_os_str(),
        ];
        run_ffmpeg(&args);
    });
    let error = Decoder::open(&song).err().expect("an audio file with cover art has no video");
    let text = error.to_string();
    assert!(matches!(error, Error::Input { .. }), "{text}");
    assert!(text.contains("attached cover art") && text.contains("mjpeg video (attached picture)"), "{text}");
}

#[test]
fn a_resolution_change_delivers_frames_of_each_size() {
    let part = |name: &str, size: &str| {
        extra_video(
            name,
            &[
                "-i",
                &format!("testsrc2=size={size}:rate=10"),
                "-frames:v",
                "5",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
            ],
        )
    };
    let (first, second) = (part("part_64x48.ts", "64x48"), part("part_32x24.ts", "32x24"));
    // Concatenated transport streams: what an HLS capture across a resolution switch looks like.
    let joined = made_video("joined_64x48_32x24.ts", |out| {
        let bytes = [std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap()].concat();
        std::fs::write(out, bytes).unwrap();
    });
    let d = decode(&joined);
    assert!(d.error.is_none(), "{:?}", d.error);
    let sizes: Vec<(u32, u32)> = [vec![(64, 48); 5], vec![(32, 24); 5]].concat();
    assert_eq!(d.sizes, sizes);
    assert_eq!(
        d.frames.concat(),
        ffmpeg_raw(&first, "yuv420p").into_iter().chain(ffmpeg_raw(&second, "yuv420p")).collect::<Vec<u8>>()
    );
}

#[test]
fn interlaced_and_hdr_video_say_they_are_outside_training() {
    let interlaced = extra_video(
        "interlaced_tff.mp4",
        &[
            "-i",
            "testsrc2=size=64x48:rate=10",
            "-frames:v",
            "4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-flags",
            "+ildct+ilme",
            "-top",
            "1",
        ],
    );
    let d = decode(&interlaced);
    assert!(d.error.is_none(), "{:?}", d.error);
    assert_eq!(d.info.field_order.as_deref(), Some("tt (top field first)"));
    assert!(d.info.notes.iter().any(|n| n.contains("interlaced") && n.contains("outside what it was trained on")));
    assert_eq!(d.frames.concat(), ffmpeg_raw(&interlaced, "yuv420p"), "woven frames, not deinterlaced");

    for (transfer, name) in [("smpte2084", "smpte2084 (PQ)"), ("arib-std-b67", "arib-std-b67 (HLG)")] {
        let file = format!("hdr_{transfer}.mp4");
        let path = extra_video(
            &file,
            &[
                "-i",
                "testsrc2=size=64x48:rate=10",
                "-frames:v",
                "3",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p10le",
                "-color_trc",
                transfer,
                "-color_primaries",
                "bt2020",
                "-colorspace",
                "bt2020nc",
            ],
        );
        let d = decode(&path);
        assert!(d.error.is_none(), "{file}: {:?}", d.error);
        assert_eq!(d.info.hdr_transfer.as_deref(), Some(name), "{file}");
        assert!(d.info.notes.iter().any(|n| n.contains("HDR") && n.contains(name)), "{file}: {:?}", d.info.notes);
        // BT.2020 (non-constant luminance) is implemented: the frames carry it, no substitution.
        assert!(d.tags.iter().all(|&(matrix, _)| matrix == ColorMatrix::Bt2020), "{file}: {:?}", d.tags);
        assert!(!d.info.notes.iter().any(|n| n.contains("does not implement")), "{file}: {:?}", d.info.notes);
    }
    let progressive = decode(&video("h264_8bit.mp4"));
    assert_eq!((progressive.info.field_order, progressive.info.hdr_transfer), (None, None));
}

#[test]
fn converted_formats_are_noted_with_what_changed() {
    let path = extra_video(
        "yuv444p.mkv",
        &["-i", "testsrc2=size=66x34:rate=10", "-frames:v", "3", "-c:v", "ffv1", "-pix_fmt", "yuv444p"],
    );
    let d = decode(&path);
    assert_eq!((d.info.pixel_format.as_str(), d.info.frame_format), ("yuv444p", Some(PixelFormat::I420)));
    assert_eq!(
        d.info.notes,
        ["yuv444p frames are converted to yuv420p by swscale before scoring (chroma resampled to 4:2:0)"]
    );
    assert_eq!(d.info.container, "matroska,webm");
}
