#!/usr/bin/env bash
# Generates the short test videos the FFmpeg tests use, with the ffmpeg CLI, into DIR (default
# target/test-videos). Idempotent: existing files are kept. Deterministic sources (testsrc2,
# fixed sizes and rates), a few KB each. Listed in tests/videos/README.md.
set -euo pipefail
out="${1:-$(dirname "$0")/../../target/test-videos}"
mkdir -p "$out"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
make() { local name="$1"; shift; [ -s "$out/$name" ] || ff "$@" "$out/$name"; }

# H.264 8-bit 4:2:0, 128x72, 24 fps, 30 frames.
make h264_8bit.mp4 -f lavfi -i testsrc2=size=128x72:rate=24 -frames:v 30 -c:v libx264 -pix_fmt yuv420p -preset ultrafast -bf 2 -g 12
# HEVC 10-bit 4:2:0, 96x64, 25 fps, 20 frames.
make hevc_10bit.mkv -f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 20 -c:v libx265 -pix_fmt yuv420p10le -preset ultrafast -x265-params log-level=error
# VP9 10-bit (profile 2), 80x48, 20 fps, 16 frames.
make vp9_10bit.webm -f lavfi -i testsrc2=size=80x48:rate=20 -frames:v 16 -c:v libvpx-vp9 -pix_fmt yuv420p10le -deadline realtime -cpu-used 8 -b:v 200k
# Odd size (testsrc, not testsrc2, which rounds sizes to even; FFV1 keeps odd 4:2:0 sizes), 99x57, 10 fps, 12 frames.
make odd_99x57.mkv -f lavfi -i testsrc=size=99x57:rate=10 -frames:v 12 -c:v ffv1 -pix_fmt yuv420p
# Full-range ("yuvj420p") H.264 tagged BT.709, 64x48, 8 fps, 10 frames.
make h264_full_bt709.mp4 -f lavfi -i testsrc2=size=64x48:rate=8 -frames:v 10 -c:v libx264 -pix_fmt yuvj420p -color_range pc -colorspace bt709 -color_primaries bt709 -color_trc bt709 -preset ultrafast
# Variable frame rate: 24 frames whose timestamps step by 1, 2 or 3 ticks of 1/30 s.
make vfr.mkv -f lavfi -i testsrc2=size=64x48:rate=30 -frames:v 24 -vf "setpts='(N+floor(N/3)+floor(N/5))/30/TB'" -fps_mode vfr -c:v libx264 -pix_fmt yuv420p -preset ultrafast
# H.264 in MPEG-TS, cut in the middle: frames decode until the cut.
if [ ! -s "$out/truncated.ts" ]; then
  ff -f lavfi -i testsrc2=size=128x72:rate=24 -frames:v 48 -c:v libx264 -pix_fmt yuv420p -preset ultrafast -g 8 "$out/full.ts"
  size=$(stat -c %s "$out/full.ts")
  head -c $((size / 2)) "$out/full.ts" > "$out/truncated.ts"
  rm -f "$out/full.ts"
fi
# MP4 cut before its index (moov at the end): not decodable at all.
if [ ! -s "$out/truncated_moov.mp4" ]; then
  ff -f lavfi -i testsrc2=size=64x48:rate=10 -frames:v 10 -c:v libx264 -pix_fmt yuv420p -preset ultrafast "$out/moov_full.mp4"
  size=$(stat -c %s "$out/moov_full.mp4")
  head -c $((size * 2 / 3)) "$out/moov_full.mp4" > "$out/truncated_moov.mp4"
  rm -f "$out/moov_full.mp4"
fi
# Not a video at all.
[ -s "$out/not_a_video.mp4" ] || printf 'this is a text file, not a video\n' > "$out/not_a_video.mp4"
# An audio-only file: a container with no video stream.
make audio_only.m4a -f lavfi -i sine=frequency=440:duration=0.5 -c:a aac
# A tiny frame (16x16), smaller than some branch crops.
make tiny_16x16.mp4 -f lavfi -i testsrc2=size=16x16:rate=10 -frames:v 5 -c:v libx264 -pix_fmt yuv420p -preset ultrafast
echo "$out"
