#!/usr/bin/env python3
"""Fidelity of converted bundles against their fp32 original, on the CPU with ONNX Runtime.

    venv/bin/python tools/bench/precision_table.py --bundle fp32=bundles/lite \\
        --bundle fp16=bundles/lite-fp16 --bundle bf16=bundles/lite-bf16 [--work /tmp/vsrqa-precision]

The first --bundle is the fp32 reference; the others are tools/export/precision.py conversions of
it. Each bundle extracts the features of the same clips (`vsrqa features`, the onnxruntime
backend) and scores them from those features (`vsrqa eval --bank`). Per branch the table gives the
largest relative feature error over the clips (L2 of the difference over L2 of fp32, over all the
clip's pooled rows), and per bundle the largest and mean |difference| of the clip scores.

bf16: ONNX Runtime's CPU provider has no bf16 arithmetic, so a bf16 bundle runs as its emulation:
each bf16 network becomes tools/export/precision.py's `bf16_emulation` of it (fp32 arithmetic,
every value the graph holds in bf16 rounded to bf16).

With --bench CLIP it also times each bundle that ONNX Runtime runs (not bf16) on CLIP with
`vsrqa bench` (the onnxruntime backend, --repeat runs, each bundle in a process of its own): seconds
per clip (median), model load, peak memory (RSS), and the networks' weight bytes.

The clips are made with FFmpeg's test sources (six kinds of picture, --seconds long, 640x360 at
24 fps): a moving test pattern, colour bars, a fractal zoom, noise, a dark scene and a soft
gradient. Needs the release CLI (target/release/vsrqa), FFmpeg, the ONNX Runtime library
(ORT_DYLIB_PATH or where scripts/install-deps.sh put it), and onnx, onnxruntime, safetensors.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "export"))
import precision  # noqa: E402
from vsrqa_ref.hashing import sha256_file  # noqa: E402
from vsrqa_ref.onnx_files import save_model, weights_file  # noqa: E402

CLIPS = {
    "testsrc2": "testsrc2=size=640x360:rate=24",
    "bars": "smptehdbars=size=640x360:rate=24",
    "mandelbrot": "mandelbrot=size=640x360:rate=24",
    "noise": "nullsrc=size=640x360:rate=24,geq=random(1)*255:128+30*random(2):128",
    "dark": "testsrc2=size=640x360:rate=24,eq=brightness=-0.35:contrast=0.4",
    "gradient": "gradients=size=640x360:rate=24:speed=0.05",
}


def make_clips(work: Path, seconds: int) -> list[Path]:
    clips = []
    for name, source in CLIPS.items():
        path = work / f"{name}_{seconds}s.y4m"
        if not path.exists():
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
                            "-pix_fmt", "yuv420p", str(path)], check=True)
        clips.append(path)
    return clips


def has_bf16(bundle: Path) -> bool:
    """Whether a network of `bundle` is bf16, which no CPU backend runs."""
    manifest = json.loads((bundle / "vsrqa.json").read_text())
    return any(b.get("precision") == "bf16" for b in manifest["branches"])


def emulated(bundle: Path, out: Path) -> Path:
    """`bundle` with every bf16 network replaced by its fp32 emulation (precision fp32)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(bundle, out)
    manifest = json.loads((out / "vsrqa.json").read_text())
    for branch in manifest["branches"]:
        if branch.get("precision") != "bf16":
            continue
        path = out / branch["network"]
        save_model(precision.bf16_emulation(onnx.load(path)), path)
        del branch["precision"]
        branch["sha256"] = sha256_file(path)
    (out / "vsrqa.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def vsrqa(*args: str) -> str:
    return subprocess.run([str(ROOT / "target" / "release" / "vsrqa"), *args], check=True,
                          capture_output=True, text=True).stdout


def features_and_scores(bundle: Path, clips_csv: Path, bank: Path, threads: int) -> tuple[dict, dict, list]:
    """({clip: features [rows, dim]}, {clip: clip score}, [(branch, dim)]) for one bundle."""
    if bank.exists():
        shutil.rmtree(bank)
    common = ["--model", str(bundle), "--list", str(clips_csv), "--backend", "onnxruntime", "--threads", str(threads)]
    vsrqa("features", *common, "--out", str(bank), "-q")
    report = json.loads(vsrqa("eval", *common, "--bank", str(bank), "-q"))
    scores = {Path(v["video"]).stem: v["prediction"] for v in report["videos"]}
    info = json.loads((bank / "bank.json").read_text())
    layout = [(b["name"], b["output_dim"]) for b in info["branches"]]
    features = {}
    for entry in sorted((bank / "videos").glob("*.safetensors")):
        with safe_open(entry, framework="numpy") as f:  # the video's path is in the metadata
            features[Path(f.metadata()["path"]).stem] = f.get_tensor("features").astype(np.float64)
    return features, scores, layout


def weight_bytes(bundle: Path) -> int:
    """The networks' files (ONNX and external data): their weights, give or take the graph."""
    manifest = json.loads((bundle / "vsrqa.json").read_text())
    files = [bundle / b["network"] for b in manifest["branches"]]
    files += [weights_file(f) for f in files]
    return sum(f.stat().st_size for f in files if f.exists())


def bench_table(bundles: list[tuple[str, Path]], clip: Path, repeat: int, threads: int) -> dict:
    """`vsrqa bench` of each bundle ONNX Runtime runs, on `clip`."""
    rows = {}
    for name, bundle in bundles:
        if has_bf16(bundle):
            continue  # no bf16 kernels on the CPU
        print(f"bench {name}: {bundle}", file=sys.stderr, flush=True)
        report = json.loads(vsrqa("bench", "-m", str(bundle), str(clip), "--backend", "onnxruntime",
                                  "--threads", str(threads), "--repeat", str(repeat)))
        rows[name] = {"clip_seconds": report["clip_score_seconds"], "load_seconds": report["engine_load_seconds"],
                      "peak_rss_bytes": report["peak_rss_bytes"], "weight_bytes": weight_bytes(bundle),
                      "network_seconds": {b["name"]: b["network_seconds"] for b in report["stages"]["branches"]}}
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", action="append", required=True, metavar="NAME=DIR",
                    help="the fp32 bundle first, then its conversions")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vsrqa-precision"))
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--bench", type=Path, metavar="CLIP", help="also time each bundle on this Y4M clip")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the clip per bundle with --bench")
    ap.add_argument("--no-fidelity", action="store_true", help="only the timings (with --bench)")
    args = ap.parse_args(argv)
    bundles = [(name, Path(path)) for name, path in (b.split("=", 1) for b in args.bundle)]
    args.work.mkdir(parents=True, exist_ok=True)
    clips = make_clips(args.work, args.seconds)
    clips_csv = args.work / "clips.csv"
    with open(clips_csv, "w", newline="") as f:
        csv.writer(f).writerows([[str(c), 0.5] for c in clips])

    report = {"clips": [c.stem for c in clips], "bundles": {}}
    if args.bench:
        report["bench"] = bench_table(bundles, args.bench, args.repeat, args.threads)
        print("| bundle | seconds per clip | network seconds | model load (s) | peak memory (MB) | weights (MB) |\n"
              "|---|---|---|---|---|---|")
        for name, row in report["bench"].items():
            networks = ", ".join(f"{k} {v:.2f}" for k, v in row["network_seconds"].items())
            print(f"| {name} | {row['clip_seconds']:.2f} | {networks} | {row['load_seconds']:.2f} | "
                  f"{row['peak_rss_bytes'] / 1e6:.0f} | {row['weight_bytes'] / 1e6:.0f} |")
        if args.no_fidelity:
            if args.json:
                args.json.write_text(json.dumps(report, indent=1) + "\n")
            return 0

    results = {}
    for name, bundle in bundles:
        if has_bf16(bundle):
            bundle = emulated(bundle, args.work / f"{name}-emulated")
        print(f"{name}: {bundle}", file=sys.stderr, flush=True)
        results[name] = features_and_scores(bundle, clips_csv, args.work / f"bank-{name}", args.threads)

    reference_features, reference_scores, layout = results[bundles[0][0]]
    for name, _ in bundles[1:]:
        features, scores, _ = results[name]
        per_branch, start = {}, 0
        for branch, dim in layout:
            errors = [np.linalg.norm(features[c][:, start:start + dim] - reference_features[c][:, start:start + dim])
                      / np.linalg.norm(reference_features[c][:, start:start + dim]) for c in reference_features]
            per_branch[branch] = max(errors)
            start += dim
        differences = [abs(scores[c] - reference_scores[c]) for c in reference_scores]
        report["bundles"][name] = {"feature_error": per_branch, "score_max_difference": max(differences),
                                   "score_mean_difference": float(np.mean(differences))}
    names = [name for name, _ in bundles[1:]]
    print("| branch | " + " | ".join(f"{n} vs fp32" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for branch, _ in layout:
        print(f"| {branch} | " + " | ".join(f"{report['bundles'][n]['feature_error'][branch]:.1e}" for n in names) + " |")
    print("| **clip score, largest \\|difference\\|** | "
          + " | ".join(f"**{report['bundles'][n]['score_max_difference']:.1e}**" for n in names) + " |")
    print("| clip score, mean \\|difference\\| | "
          + " | ".join(f"{report['bundles'][n]['score_mean_difference']:.1e}" for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
