#!/usr/bin/env python3
"""One command, one machine, one clip: vsrqa's CPU backends next to the PyTorch reference pipeline, with
the ratios (docs/performance.md keeps the latest table).

    venv/bin/python tools/bench/bench.py [--work /tmp/vsrqa-bench] [--size 960x540] [--seconds 8] \
        [--fps 24] [--threads 2] [--repeat 3] [--backends onnxruntime,cpu] [--reuse] [--write-doc]

Steps:
1. the `lite` bundle at full size with random weights (tools/export/export_bundle.py; cached in --work;
   FAST-VQA's code from $FASTVQA_SRC);
2. a clip: FFmpeg's testsrc2 pattern at --size, --fps, --seconds, as Y4M (or --clip FILE.y4m);
3. `vsrqa bench` (release build) once per backend (`onnxruntime`: the ONNX Runtime library from
   $ORT_DYLIB_PATH or scripts/onnxruntime-lib.sh; `cpu`: tract): the clip score streamed through a
   session, each branch's preprocessing and network time, per-frame push latency, peak memory;
4. the reference pipeline, in a process of its own: RQ-VQA's computation with its own libraries
   (OpenCV decoding and resizing, Pillow + torchvision transforms, unfold for LIQE, FAST-VQA's fragment
   sampling, the PyTorch networks: Swin-B 384 + BoTStack on the key frames as one batch, SlowFast R50
   with both pathways per one-second chunk as the reference runs it, CLIP ViT-B/32 per key frame,
   FAST-VQA-B on the four segments as one batch), timed per branch (preprocessing, network).

Every side uses --threads threads (torch.set_num_threads, vsrqa --threads). Times are wall-clock
medians of --repeat runs. Peak memory is each process's maximum resident set size. Ratios are
reference time over vsrqa time (above 1: vsrqa is faster). --reuse keeps results already in --work
(e.g. to add a backend without rerunning the slow ones).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "export"))

DOC_BEGIN = "<!-- bench:begin -->"
DOC_END = "<!-- bench:end -->"


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vsrqa-bench"))
    ap.add_argument("--clip", type=Path, help="a Y4M clip (default: generated from --size/--fps/--seconds)")
    ap.add_argument("--size", default="960x540")
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="onnxruntime,cpu", help="vsrqa backends to time (the first is compared)")
    ap.add_argument("--reuse", action="store_true", help="reuse the results already in --work (same clip and bundle)")
    ap.add_argument("--write-doc", action="store_true", help="replace the table in docs/performance.md")
    ap.add_argument("--part", choices=["reference"], help=argparse.SUPPRESS)
    ap.add_argument("--bundle", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.part:
        return run_part(args)

    args.work.mkdir(parents=True, exist_ok=True)
    bundle = args.work / "bundle-lite"
    if not (bundle / "vsrqa.json").exists():
        print("exporting the lite bundle at full size (random weights)...", flush=True)
        subprocess.run([sys.executable, str(ROOT / "tools/export/export_bundle.py"), "--out", str(bundle),
                        "--profile", "lite", "--size", "full"], check=True)
    clip = args.clip or args.work / f"testsrc2_{args.size}_{args.fps}fps_{args.seconds}s.y4m"
    if not clip.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={args.size}:rate={args.fps}", "-t", str(args.seconds), "-pix_fmt", "yuv420p",
                        str(clip)], check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "vsrqa-cli"], cwd=ROOT, check=True)

    env = dict(os.environ)
    if "onnxruntime" in args.backends and not env.get("ORT_DYLIB_PATH"):
        env["ORT_DYLIB_PATH"] = subprocess.run(["bash", str(ROOT / "scripts/onnxruntime-lib.sh")], check=True,
                                               capture_output=True, text=True).stdout.strip()
    runs = {}
    for backend in args.backends.split(","):
        out = args.work / f"vsrqa-{backend}.json"
        if not (args.reuse and out.exists()):
            print(f"vsrqa ({backend})...", flush=True)
            subprocess.run([str(ROOT / "target/release/vsrqa"), "bench", "-m", str(bundle), str(clip), "--backend",
                            backend, "--threads", str(args.threads), "--repeat", str(args.repeat), "-o", str(out)],
                           check=True, env=env)
        runs[backend] = json.loads(out.read_text())
    reference_json = args.work / "reference.json"
    if not (args.reuse and reference_json.exists()):
        print("reference...", flush=True)
        subprocess.run([sys.executable, __file__, "--part", "reference", "--bundle", str(bundle), "--clip", str(clip),
                        "--threads", str(args.threads), "--repeat", str(args.repeat), "--work", str(reference_json)],
                       check=True)
    report = combine(runs, json.loads(reference_json.read_text()), args)
    (args.work / "bench_report.json").write_text(json.dumps(report, indent=1) + "\n")
    table = markdown(report)
    print(table)
    print(f"report: {args.work / 'bench_report.json'}")
    if args.write_doc:
        doc = ROOT / "docs/performance.md"
        text = doc.read_text()
        start, end = text.index(DOC_BEGIN) + len(DOC_BEGIN), text.index(DOC_END)
        doc.write_text(text[:start] + "\n" + table + text[end:])
        print(f"updated {doc}")
    return 0


def combine(runs: dict, reference: dict, args) -> dict:
    first = next(iter(runs.values()))
    branches = []
    for i, b in enumerate(first["stages"]["branches"]):
        ref = reference["branches"].get(b["name"], {})
        row = {"name": b["name"], "network_runs": b["network_calls"],
               "reference_preprocess_s": ref.get("preprocess_s"), "reference_network_s": ref.get("network_s")}
        for backend, run in runs.items():
            stage = run["stages"]["branches"][i]
            row[f"{backend}_preprocess_s"] = stage["preprocess_seconds"]
            row[f"{backend}_network_s"] = stage["network_seconds"]
        branches.append(row)
    return {
        "machine": first["machine"], "onnxruntime_library": runs.get("onnxruntime", {}).get("onnxruntime_library"),
        "threads": args.threads, "clip": first["clip"], "model": first["model_name"],
        "backends": list(runs),
        "vsrqa": {backend: {"clip_score_s": run["clip_score_seconds"], "first_run_s": run["runs_seconds"][0],
                            "decode_s": run["decode_seconds"],
                            "convert_s": run["stages"]["convert"]["seconds"], "engine_load_s": run["engine_load_seconds"],
                            "engine_load_cached_s": run.get("engine_load_cached_graphs_seconds"),
                            "streaming": run["streaming"], "peak_rss_bytes": run["peak_rss_bytes"], "score": run["score"]}
                  for backend, run in runs.items()},
        "reference": {"clip_score_s": reference["clip_score_s"], "first_run_s": reference.get("runs_s", [None])[0],
                      "decode_s": reference["decode_s"],
                      "load_s": reference["load_s"], "peak_rss_bytes": reference["peak_rss_bytes"],
                      "torch": reference["torch"]},
        "branches": branches,
    }


def ratio(reference, ours):
    return f"{reference / ours:.2f}x" if reference and ours else "n/a"


def markdown(r: dict) -> str:
    m, c, backends = r["machine"], r["clip"], r["backends"]
    main = backends[0]
    # The kernels ONNX Runtime and tract pick follow the CPU's features: a ratio belongs to them.
    features = ", ".join(m.get("cpu_kernel_flags") or []) or "none recorded"
    load = m.get("load_average")
    # libonnxruntime.so.1.32.0: the version is the file name's tail.
    library = Path(r["onnxruntime_library"]).name.partition(".so.")[2] if r.get("onnxruntime_library") else "n/a"
    lines = [
        f"Machine: {m.get('cpu')} ({m['cpus']} CPUs; kernel features {features}; load "
        f"{' '.join(f'{v:g}' for v in load) if load else 'n/a'} at the start); ONNX Runtime {library}. "
        f"{r['threads']} threads per side; clip {c['width']}x{c['height']}, "
        f"{c['frames']} frames at {c['fps']:g} fps; bundle `{r['model']}` (full-size architectures, random weights); "
        f"PyTorch {r['reference']['torch']}. Seconds per clip (median of the runs); speed-up = reference / vsrqa "
        f"({main} backend).",
        "",
        "| stage | " + " | ".join(f"vsrqa {b}" for b in backends) + f" | PyTorch reference | speed-up ({main}) |",
        "|---|" + "---|" * (len(backends) + 2),
    ]
    fmt = lambda v: f"{v:.2f}" if v is not None else "n/a"  # noqa: E731
    for b in r["branches"]:
        for stage, label in (("preprocess", "preprocessing"), ("network", f"network ({b['network_runs']} runs)")):
            ours = [b[f"{k}_{stage}_s"] for k in backends]
            ref = b[f"reference_{stage}_s"]
            lines.append(f"| {b['name']} {label} | " + " | ".join(fmt(v) for v in ours)
                         + f" | {fmt(ref)} | {ratio(ref, ours[0])} |")
    v, ref = r["vsrqa"], r["reference"]
    row = lambda label, key, ref_text, speed="": (  # noqa: E731
        f"| {label} | " + " | ".join(fmt(v[k][key]) for k in backends) + f" | {ref_text} | {speed} |")
    lines += [
        row("frame conversion to RGB", "convert_s", "(in decoding)"),
        "| **clip score** (decoded frames in memory) | " + " | ".join(f"**{v[k]['clip_score_s']:.2f}**" for k in backends)
        + f" | **{ref['clip_score_s']:.2f}** | **{ratio(ref['clip_score_s'], v[main]['clip_score_s'])}** |",
        "| clip score, first clip after loading the model | " + " | ".join(fmt(v[k]["first_run_s"]) for k in backends)
        + f" | {fmt(ref['first_run_s'])} | {ratio(ref['first_run_s'], v[main]['first_run_s'])} |",
        row("decoding the clip (vsrqa: Y4M read; reference: OpenCV to RGB)", "decode_s", fmt(ref["decode_s"])),
        row("loading the model", "engine_load_s", fmt(ref["load_s"])),
        row("loading the model again, optimized graphs cached (onnxruntime)", "engine_load_cached_s", "(no cache)"),
        "| peak memory (RSS, MB) | " + " | ".join(f"{v[k]['peak_rss_bytes'] / 1e6:.0f}" for k in backends)
        + f" | {ref['peak_rss_bytes'] / 1e6:.0f} | |",
        "",
    ]
    for k in backends:
        s = v[k]["streaming"]
        lines.append(f"vsrqa {k} streaming: push latency p50 {s['push_ms_p50']:.1f} ms, p95 {s['push_ms_p95']:.1f} ms, "
                     f"max {s['push_ms_max']:.1f} ms; finish {s['finish_ms']:.1f} ms.")
    lines += ["(The reference has no streaming mode: it scores whole clips.)", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The reference pipeline and ONNX Runtime (each in its own process)
# --------------------------------------------------------------------------------------------------

def run_part(args) -> int:
    import torch
    torch.set_num_threads(args.threads)
    manifest = json.loads((args.bundle / "vsrqa.json").read_text())
    branches = {b["name"]: b for b in manifest["branches"]}
    started = time.perf_counter()
    frames, fps = decode(args.clip)
    decode_s = time.perf_counter() - started
    runs = []
    for _ in range(args.repeat):
        runs.append(reference_run(frames, fps, branches, args))
    in_order = [r["total_s"] for r in runs]
    runs.sort(key=lambda r: r["total_s"])
    median = runs[len(runs) // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"clip_score_s": median["total_s"], "decode_s": decode_s, "load_s": median["load_s"],
           "branches": median["branches"], "peak_rss_bytes": peak, "torch": torch.__version__, "runs_s": in_order}
    args.work.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def decode(clip: Path):
    """The reference's decoding: OpenCV's VideoCapture, BGR -> RGB."""
    import cv2
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return frames, fps


class Timer:
    def __init__(self):
        self.preprocess_s = 0.0
        self.network_s = 0.0

    def pre(self, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        self.preprocess_s += time.perf_counter() - t
        return out

    def net(self, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        self.network_s += time.perf_counter() - t
        return out


def key_frames(n: int, fps: float, count: int) -> list[int]:
    interval = max(1, round(fps))
    return [i for i in range(0, n, interval)][:count]


def slowfast_chunks(n: int, fps: float, frames: int = 32, chunks: int = 8) -> list[list[int]]:
    """The reference loader's chunks: second i -> frames [i*fps, i*fps + 32), clamped to the clip."""
    from vsrqa_ref import preprocess as pp
    starts = pp.reference_slowfast_chunk_starts(n, fps, chunks)
    return [[min(s + k, n - 1) for k in range(frames)] for s in starts]


def spatial_input(frame, side):
    """RQ-VQA: cv2.resize to short side 384 (frame extraction), then Resize + CenterCrop + ToTensor + Normalize."""
    import cv2
    from PIL import Image
    from torchvision import transforms
    h, w = frame.shape[:2]
    size = (side, int(side / w * h)) if h > w else (int(side / h * w), side)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
    t = transforms.Compose([transforms.Resize(side), transforms.CenterCrop(side), transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    return t(Image.fromarray(small))


def slowfast_frame(frame, side):
    """extract_SlowFast_feature_VQA.py: PIL, Resize([224, 224]), ToTensor, Normalize(0.45, 0.225)."""
    from PIL import Image
    from torchvision import transforms
    t = transforms.Compose([transforms.Resize([side, side]), transforms.ToTensor(),
                            transforms.Normalize([0.45] * 3, [0.225] * 3)])
    return t(Image.fromarray(frame))


def liqe_patches(frame, spec):
    """LIQE.py: ToTensor + Normalize on the frame, unfold, every (n // 15)-th window."""
    import torch
    from vsrqa_ref import preprocess as pp
    from vsrqa_ref.liqe import CLIP_MEAN, CLIP_STD
    x = torch.from_numpy(frame).permute(2, 0, 1).unsqueeze(0).float()
    x = pp.normalize(x, CLIP_MEAN, CLIP_STD)
    return pp.patch_grid(x, spec["size"], spec["stride"], spec["count"])


def fastvqa_input(frames, branch):
    """FAST-VQA's sampler and fragments on the clip, (v - mean) / std on 0..255: (S, 3, T, H, W)."""
    import numpy as np
    import torch
    from vsrqa_ref import fastvqa
    clip = branch["clip"]
    frag = next(op for op in branch["preprocess"] if op["op"] == "fragments")
    norm = next(op for op in branch["preprocess"] if op["op"] == "normalize")
    idx = fastvqa.segment_frame_indices(len(frames), clip["segments"], clip["frames"], clip["interval"])
    video = np.stack([fastvqa.fragments(frames[i], frag["grid"], frag["size"]) for i in idx])  # (S*T, H, W, 3)
    x = torch.from_numpy(video).float()
    x = (x - torch.tensor(norm["mean"])) / torch.tensor(norm["std"])
    x = x.permute(3, 0, 1, 2)  # (3, S*T, H, W)
    c, t, h, w = x.shape
    return x.reshape(c, clip["segments"], t // clip["segments"], h, w).permute(1, 0, 2, 3, 4).contiguous()


def reference_run(frames, fps, branches, args) -> dict:
    import torch
    import export_bundle
    from vsrqa_ref import slowfast as slowfast_ref
    from vsrqa_ref import liqe as liqe_ref
    started = time.perf_counter()
    spatial_net = export_bundle.spatial_branch("full", None)[0].eval()
    slowfast_net = slowfast_ref.build_slowfast(slowfast_ref.FULL).eval()
    liqe_net = liqe_ref.LiqeNet(liqe_ref.build_clip(liqe_ref.FULL_CLIP)).eval()
    fastvqa_net = export_bundle.fastvqa_branch("full", None)[0].eval()
    load_s = time.perf_counter() - started

    timers = {name: Timer() for name in branches}
    n = len(frames)
    keys = key_frames(n, fps, 8)
    started = time.perf_counter()
    with torch.no_grad():
        if "spatial" in branches:
            t, side = timers["spatial"], branches["spatial"]["input"]["height"]
            x = t.pre(lambda: torch.stack([spatial_input(frames[k], side) for k in keys]))
            t.net(spatial_net, x)
        if "slowfast" in branches:
            t, side = timers["slowfast"], branches["slowfast"]["input"]["height"]
            # The reference's loader transforms every frame of the video, then cuts the chunks.
            video = t.pre(lambda: torch.stack([slowfast_frame(f, side) for f in frames]))  # (n, 3, h, w)
            for chunk in slowfast_chunks(n, fps):
                x = t.pre(lambda: video[chunk].permute(1, 0, 2, 3).unsqueeze(0).contiguous())
                t.net(slowfast_ref.reference_fast_feature, slowfast_net, x)
        if "liqe" in branches:
            t = timers["liqe"]
            spec = next(op for op in branches["liqe"]["preprocess"] if op["op"] == "patch_grid")
            for k in keys:
                x = t.pre(liqe_patches, frames[k], spec)
                t.net(liqe_net, x.unsqueeze(0))
        if "fastvqa" in branches:
            t = timers["fastvqa"]
            x = t.pre(fastvqa_input, frames, branches["fastvqa"])
            t.net(fastvqa_net, x)  # the four segments as one batch, as extract_fastvqa_feature.py
    total = time.perf_counter() - started
    return {"total_s": total, "load_s": load_s,
            "branches": {n: {"preprocess_s": t.preprocess_s, "network_s": t.network_s} for n, t in timers.items()}}


if __name__ == "__main__":
    sys.exit(main())
