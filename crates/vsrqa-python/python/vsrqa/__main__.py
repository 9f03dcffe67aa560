"""``python -m vsrqa``: ``vsrqa score`` from Python, with the same options and JSON.

One file gives one pretty JSON object, several give JSON Lines (one object per file), exactly the
fields the CLI writes. Exit status: 0 success, 1 a file or the model failed, 2 a usage mistake.
The CLI's CSV and text reports, --plot, --quiet and --verbose are the CLI's only.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import Engine, VsrqaError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vsrqa", description="Score video files with a vsrqa model bundle.")
    sub = p.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score clips (JSON, as `vsrqa score`)")
    score.add_argument("-m", "--model", required=True, metavar="DIR", help="the model bundle directory")
    score.add_argument("inputs", nargs="+", metavar="FILE", help="video files (FFmpeg, Y4M, or raw with --pix-fmt)")
    score.add_argument("-o", "--output", metavar="PATH", help="write the report to PATH instead of stdout")
    score.add_argument("--reference", metavar="FILE", help="a reference clip: adds PSNR-Y and SSIM-Y per key frame")
    score.add_argument("--backend", default="auto", help="auto, cpu, onnxruntime or tensorrt")
    score.add_argument("--threads", type=int, default=0, help="CPU threads per network run (0 = all cores)")
    score.add_argument("--members", metavar="NAMES", help="an ensemble's members to run, comma-separated (default: all)")
    score.add_argument("--fps", type=float, help="frames per second (required for raw input)")
    score.add_argument("--pix-fmt", metavar="NAME", help="raw input pixel format (rgb24, yuv420p, ...)")
    score.add_argument("--size", metavar="WxH", help="raw input frame size")
    score.add_argument("--color-conversion", choices=["reference", "exact"], help="YUV->RGB conversion")
    score.add_argument("--color-matrix", metavar="bt601|bt709|bt2020", help="the exact conversion's matrix")
    score.add_argument("--color-range", metavar="limited|full|tv|pc", help="YUV range")
    cut = score.add_mutually_exclusive_group()
    cut.add_argument("--window", type=float, metavar="SECONDS",
                     help="score in windows of SECONDS (default: the model's span, 8 key frames)")
    cut.add_argument("--whole-clip", action="store_true",
                     help="one clip for the whole file: its first 8 key frames, the reference's rule")
    score.add_argument("--pooling", default="mean", metavar="NAME",
                       help="how windows pool: mean, harmonic_mean, min, p1 to p99 (frame-weighted)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit:  # argparse's usage errors exit with 2 already
        return int(exit.code or 0)
    try:
        members = args.members.split(",") if args.members is not None else None
        engine = Engine(
            args.model,
            backend=args.backend,
            threads=args.threads,
            color_conversion=args.color_conversion,
            members=members,
        )
    except VsrqaError as e:
        print(f"vsrqa: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    options = dict(
        fps=args.fps,
        pix_fmt=args.pix_fmt,
        size=args.size,
        color_matrix=args.color_matrix,
        color_range=args.color_range,
        reference=args.reference,
        window=args.window,
        whole_clip=args.whole_clip,
        pooling=args.pooling,
    )
    try:
        engine._check_file_options(**options)
    except VsrqaError as e:  # before any file, as the CLI
        print(f"vsrqa: error: {e}", file=sys.stderr)
        return 2
    if engine.provenance_warning:
        print(f"vsrqa: warning: {engine.provenance_warning}", file=sys.stderr)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    failed, usage = 0, False
    try:
        for path in args.inputs:
            report, usage_error = engine._score_file_report(path, **options)
            if "error" in report:
                what = "partial result" if report.get("partial") else "error"
                print(f"vsrqa: {what}: {report['error']}", file=sys.stderr)
                failed += 1
                usage = usage or usage_error
            if len(args.inputs) == 1:
                out.write(json.dumps(report, indent=2) + "\n")
            else:
                out.write(json.dumps(report) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    if failed and len(args.inputs) > 1:
        print(f"vsrqa: error: {failed} of {len(args.inputs)} inputs failed", file=sys.stderr)
    return (2 if usage else 1) if failed else 0


if __name__ == "__main__":
    sys.exit(main())
