#!/usr/bin/env python3
"""Checks that One-Align built one layer at a time with 8-bit weights (vsrqa_ref/qalign.py,
`build_int8_model`) is the model `from_pretrained` loads, quantized afterwards: the same int8
weights and scales bit for bit, the same other weights, the same output; and that its original
weights, read back from the checkpoint, give `from_pretrained`'s fp32 output.

    python tools/export/check_int8_build.py ONE_ALIGN_FOLDER [--qalign-src DIR]

A manual check (it needs PyTorch, Q-Align's code and a One-Align folder, none of which CI has):
run it on the stand-in that tools/vsrqa_models/tests/fake_release.py writes (`--one-align-layers 2`).
Holds both models, so the folder should be a reduced one. Exit status 0 when everything matches."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vsrqa_ref import int8_linear  # noqa: E402
from vsrqa_ref import qalign as qalign_ref  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a One-Align folder (Hugging Face layout)")
    ap.add_argument("--qalign-src", type=Path, help="Q-Align checkout with q_align/model (default: $QALIGN_SRC)")
    args = ap.parse_args()
    if args.qalign_src is not None:
        os.environ["QALIGN_SRC"] = str(args.qalign_src)
    root = qalign_ref.source_dir()

    streamed, tokenizer = qalign_ref.build_int8_model(root, str(args.folder))
    loaded, _ = qalign_ref.build_model(root, str(args.folder))
    with torch.no_grad():
        x = torch.randn((1, 2, 3, qalign_ref.FULL_SIDE, qalign_ref.FULL_SIDE), generator=torch.Generator().manual_seed(1))
        ids = qalign_ref.prompt_ids(root, tokenizer)
        fp32 = qalign_ref.QAlignNet(loaded, ids).eval()(x)
        int8_linear.quantize_linears(loaded, int8_linear.kept_in_memory)

    failures = []
    expected, got = loaded.state_dict(), streamed.state_dict()
    if set(expected) != set(got):
        failures.append(f"names differ: only from_pretrained {sorted(set(expected) - set(got))[:5]}, "
                        f"only streamed {sorted(set(got) - set(expected))[:5]}")
    differing = [name for name in sorted(set(expected) & set(got)) if not torch.equal(expected[name], got[name])]
    if differing:
        failures.append(f"{len(differing)} tensors differ, e.g. {differing[:5]}")
    print(f"{len(expected)} tensors, {sum(1 for n in expected if n.endswith('weight_int8'))} of them int8 weights: "
          f"{'identical' if not differing else f'{len(differing)} differ'}")

    with torch.no_grad():
        net_loaded = qalign_ref.QAlignNet(loaded, ids).eval()
        net_streamed = qalign_ref.QAlignNet(streamed, ids).eval()
        a, b = net_loaded(x), net_streamed(x)
        with int8_linear.original_weights(net_streamed):
            original = net_streamed(x)
    for what, left, right in (("int8 output", a, b), ("original weights' output vs fp32 from_pretrained", original, fp32)):
        diff = float((left - right).abs().max())
        print(f"{what}: max |diff| {diff:.3e}")
        if diff != 0.0:
            failures.append(f"{what} differs by {diff:e}")
    error = float(torch.linalg.vector_norm(b - fp32) / torch.linalg.vector_norm(fp32))
    print(f"8-bit weights vs fp32: relative L2 error {error:.2e}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
