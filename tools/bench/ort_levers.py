#!/usr/bin/env python3
"""How close the key-frame networks run to the machine's fp32 peak, and what ONNX Runtime's levers
change, measured side by side in one process (docs/performance.md, "Where the fp32 time goes").

    venv/bin/python tools/bench/ort_levers.py BUNDLE [--threads 2] [--repeat 3]

BUNDLE is the full-size `lite` bundle that tools/bench/bench.py exports (its spatial.onnx and
liqe.onnx). Prints:
- the machine's fp32 matrix-product rate (PyTorch's and NumPy's 4096x4096 products): the practical
  peak that a network's rate is compared with;
- each network's work per key frame, counted by PyTorch's FlopCounterMode on timm's Swin-B 384
  and ViT-B/32 224 (the BoTStack head and CLIP's projection add little);
- for the spatial and LIQE networks on ONNX Runtime with vsrqa's session options: 8 key frames as
  8 runs (what a session does) against batches, with intra-op spinning off (vsrqa's setting) and
  on; seconds (median of --repeat) and GFLOP/s.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import timm
import torch
from torch.utils.flop_counter import FlopCounterMode

KEY_FRAMES = 8
# (network file, timm model that does the same work, its input side, images per key frame, batch
# of key frames to try)
NETWORKS = [
    ("spatial", "swin_base_patch4_window12_384", 384, 1, 8),
    ("liqe", "vit_base_patch32_224", 224, 15, 4),
]


def median(values):
    return sorted(values)[len(values) // 2]


def gemm_rates(threads: int) -> dict:
    torch.set_num_threads(threads)
    n = 4096
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        runs.append(time.perf_counter() - start)
    an, bn = a.numpy(), b.numpy()
    an @ bn
    runs_np = []
    for _ in range(3):
        start = time.perf_counter()
        an @ bn
        runs_np.append(time.perf_counter() - start)
    flops = 2 * n**3
    return {"torch": flops / median(runs) / 1e9, "numpy": flops / median(runs_np) / 1e9}


def flops_per_image(model: str, side: int) -> float:
    net = timm.create_model(model, pretrained=False).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.rand(1, 3, side, side))
    return counter.get_total_flops()


def session(path: Path, threads: int, spin: bool) -> ort.InferenceSession:
    # vsrqa's options (src/backend/onnxruntime.rs), spinning as asked.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_key_frames(sess: ort.InferenceSession, sample_shape, batch: int, repeat: int) -> float:
    name = sess.get_inputs()[0].name
    x = np.random.default_rng(0).random((batch, *sample_shape), dtype=np.float32)
    sess.run(None, {name: x})
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(KEY_FRAMES // batch):
            sess.run(None, {name: x})
        runs.append(time.perf_counter() - start)
    return median(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rates = gemm_rates(args.threads)
    print(f"fp32 4096x4096 matrix product, {args.threads} threads: PyTorch {rates['torch']:.0f} GFLOP/s, "
          f"NumPy {rates['numpy']:.0f} GFLOP/s (ONNX Runtime {ort.__version__}, PyTorch {torch.__version__})")
    for network, model, side, images, batch in NETWORKS:
        work = flops_per_image(model, side) * images * KEY_FRAMES
        shape = (3, side, side) if images == 1 else (images, 3, side, side)
        print(f"{network}: {work / 1e9:.0f} GFLOP for {KEY_FRAMES} key frames ({model})")
        for spin in (False, True):
            sess = session(args.bundle / f"{network}.onnx", args.threads, spin)
            for b in (1, batch):
                seconds = time_key_frames(sess, shape, b, args.repeat)
                print(f"  spinning {'on ' if spin else 'off'}, batches of {b} key frame(s): {seconds:.2f} s, "
                      f"{work / seconds / 1e9:.0f} GFLOP/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
