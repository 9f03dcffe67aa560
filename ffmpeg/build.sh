#!/usr/bin/env bash
# Builds a minimal ffmpeg with the vsrqa filter into a prefix (docs/ffmpeg.md).
#
#   bash ffmpeg/build.sh 5.1|7.1 PREFIX [--source DIR] [--patch FILE]
#
# VSRQA_PKG: the prefix of the installed vsrqa C package (its lib/pkgconfig/vsrqa.pc); default:
# pkg-config's own search path. The FFmpeg source is DIR when given, else Debian's package:
# `apt-get source ffmpeg/bookworm` (5.1) or `ffmpeg/trixie` (7.1), which needs a deb-src entry,
# e.g. /etc/apt/sources.list.d/debian-src.sources:
#
#   Types: deb-src
#   URIs: http://deb.debian.org/debian
#   Suites: bookworm trixie
#   Components: main
#   Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
#
# The filter is ffmpeg/vf_vsrqa.c; ffmpeg/hooks-<version>.patch adds `--enable-libvsrqa` to
# configure and the filter to libavfilter. --patch FILE writes both as one patch for a tree of
# your own (apply with `patch -p1`) and builds nothing. The build has only what the tests need
# (H.264 and raw decoding, MP4/Matroska/Y4M, the filters below); docs/ffmpeg.md gives the
# configure line for a full build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: bash ffmpeg/build.sh 5.1|7.1 PREFIX [--source DIR] [--patch FILE]" >&2; exit 2; }
[ $# -ge 2 ] || usage
version="$1"; prefix="$2"; shift 2
source_dir=""; patch_out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --source) source_dir="$2"; shift 2 ;;
        --patch) patch_out="$2"; shift 2 ;;
        *) usage ;;
    esac
done
case "$version" in
    5.1) suite=bookworm; hooks="$HERE/hooks-5.1.patch" ;;
    7.1) suite=trixie; hooks="$HERE/hooks-7.1.patch" ;;
    *) usage ;;
esac

prefix="$(mkdir -p "$prefix" && cd "$prefix" && pwd)"
work="$prefix/.ffmpeg-$version-build"
mkdir -p "$work"
if [ -n "${VSRQA_PKG:-}" ]; then
    export PKG_CONFIG_PATH="$VSRQA_PKG/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
# Up to date: an ffmpeg built after the filter, the hooks, this script and the vsrqa library.
library="$(readlink -f "$(pkg-config --variable=libdir vsrqa 2>/dev/null)/libvsrqa.so" 2>/dev/null || true)"
if [ -z "$patch_out" ] && [ -x "$prefix/bin/ffmpeg" ] && [ -f "$library" ] \
    && [ -z "$(find "$HERE/vf_vsrqa.c" "$hooks" "$0" "$library" -newer "$prefix/bin/ffmpeg")" ]; then
    echo "$prefix/bin/ffmpeg is up to date"
    exit 0
fi
if [ -z "$source_dir" ]; then
    if [ ! -d "$work/source" ]; then
        (cd "$work" && apt-get source -qq "ffmpeg/$suite" >/dev/null 2>&1) || {
            echo "error: apt-get source ffmpeg/$suite failed: add a deb-src entry (see the top of $0) and run apt-get update" >&2
            exit 1
        }
        mv "$work"/ffmpeg-"$version".*/ "$work/source"
    fi
    source_dir="$work/source"
fi
[ -f "$source_dir/libavfilter/allfilters.c" ] || { echo "error: $source_dir is not an FFmpeg source tree" >&2; exit 1; }

# A clean copy with the filter: the source tree itself is left as it is.
tree="$work/tree"
rm -rf "$tree"
cp -r "$source_dir" "$tree"
cp "$HERE/vf_vsrqa.c" "$tree/libavfilter/vf_vsrqa.c"
patch -s -p1 -d "$tree" < "$hooks"

if [ -n "$patch_out" ]; then
    (cd "$work" && rm -rf a && cp -r "$source_dir" a && diff -ruN a tree) \
        | sed -E 's/^(---|\+\+\+) ([^\t]+)\t.*/\1 \2/; s#^(---|\+\+\+) tree/#\1 b/#; s#^diff -ruN a/(\S+) tree/#diff -ruN a/\1 b/#' \
        > "$patch_out" || true
    rm -rf "$work/a"
    echo "wrote $patch_out"
    exit 0
fi

pkg-config --exists vsrqa || { echo "error: pkg-config finds no vsrqa: install the C package, set VSRQA_PKG" >&2; exit 1; }
libdir="$(pkg-config --variable=libdir vsrqa)"

cd "$tree"
./configure --prefix="$prefix" \
    --disable-everything --disable-doc --disable-debug --disable-network --disable-autodetect --disable-x86asm \
    --enable-ffmpeg --enable-ffprobe --disable-ffplay \
    --enable-libvsrqa --extra-ldflags="-Wl,-rpath,$libdir" \
    --enable-protocol=file,pipe \
    --enable-demuxer=mov,matroska,yuv4mpegpipe,rawvideo \
    --enable-decoder=h264,hevc,rawvideo,wrapped_avframe \
    --enable-parser=h264,hevc \
    --enable-muxer=null,rawvideo,yuv4mpegpipe \
    --enable-encoder=wrapped_avframe,rawvideo \
    --enable-filter=vsrqa,metadata,format,null,fps,scale,trim,setpts,split,aresample,anull \
    --enable-swscale > "$work/configure.log" 2>&1 || {
        tail -30 "$work/configure.log" >&2
        tail -40 "$tree/ffbuild/config.log" >&2
        exit 1
    }
make -j"$(nproc)" > "$work/make.log" 2>&1 || { grep -B2 -A8 -m3 "error" "$work/make.log" >&2; exit 1; }
make install > "$work/install.log" 2>&1
echo "$prefix/bin/ffmpeg: FFmpeg $version with the vsrqa filter"
