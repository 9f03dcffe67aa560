#!/usr/bin/env python3
"""Check an ensemble bundle built from RQ-VQA's ckpts.tar against test.py's averaging, on one clip.

    FASTVQA_SRC=... QALIGN_SRC=... venv/bin/python tools/export/check_ensemble.py \\
        --bundle bundles/full-ensemble --release CACHE_DIR --qalign-checkpoint CACHE_DIR/one-align \\
        --clip tests/data/sample.y4m [--vsrqa target/release/vsrqa] [--backend onnxruntime]

CACHE_DIR holds the published files under the catalogue's names (ckpts.tar, SLOWFAST_8x8_R50.pyth,
LIQE.pt, FAST_VQA_B_1_4.pth; `python -m vsrqa_models`' cache is such a folder): the real ones, or
tools/vsrqa_models/tests/fake_release.py's format-exact random stand-ins (`--distinct-members`,
so that the members differ). The bundle is `python -m vsrqa_models full --ensemble` (or
export_bundle.py's `--member`) from the same files. RQ-VQA's heads take all five branches'
features: only the `full` profile's bundle can hold its members. Q-Align is built as the bundle
holds it (8-bit weights when its precision is int8_weights, as the `full` profile exports it).

The Python reference (tools/vsrqa_ref, the reference's decoding and preprocessing, PyTorch
networks loaded from the checkpoints) scores the clip with each of ckpts.tar's models in test.py's
order, as RQ-VQA's model does (the head over the key frames' features, their mean, the bundle's
activation), and averages the models as test.py does: float64 zeros, each model's output added in
order, divided by the count. `vsrqa score` scores the same clip with the bundle, on the same
frames: the exact BT.601 conversion the reference decodes with (`--color-conversion exact`). The check fails
unless the clip score and every member's score agree within --tolerance (1e-6).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "export"))
sys.path.insert(0, str(TOOLS / "fixtures"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import export_bundle  # noqa: E402
from make_tiny_bundle import run_reference  # noqa: E402
from vsrqa_models.build import ensemble_members  # noqa: E402
from vsrqa_models.catalogue import load  # noqa: E402
from vsrqa_ref import preprocess as pp  # noqa: E402

CHECKPOINTS = {"slowfast": "slowfast", "liqe": "liqe", "fastvqa": "fastvqa"}


class RecordingHead(torch.nn.Module):
    """The member's head, keeping the features of every slot the reference pipeline gives it."""

    def __init__(self, head: torch.nn.Module):
        super().__init__()
        self.head, self.features = head, None

    def forward(self, features):
        self.features = features
        return self.head(features)


def head_module(state: dict) -> torch.nn.Module:
    """RQ-VQA's quality head (Linear, Linear) with a checkpoint's `quality.*` weights."""
    hidden, width = state["quality.0.weight"].shape
    head = torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.Linear(hidden, 1))
    head.load_state_dict({k.removeprefix("quality."): v for k, v in state.items()})
    return head.eval()


def model_output(head: torch.nn.Module, features: torch.Tensor, manifest_head: dict) -> float:
    """RQ-VQA's forward after the features: the head per slot, the mean over the slots, with the
    bundle's activation where `activation_stage` puts it, in float32 as the model runs;
    `outputs.item()`."""
    with torch.no_grad():
        out = head(features)[:, 0]
    sigmoid = manifest_head["output_activation"] == "sigmoid"
    if sigmoid and manifest_head["activation_stage"] == "per_frame":
        return float(torch.sigmoid(out).mean())
    pooled = out.mean()
    return float(torch.sigmoid(pooled) if sigmoid else pooled)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--release", type=Path, required=True)
    ap.add_argument("--clip", type=Path, required=True, help="a Y4M clip (4:2:0, 8-bit)")
    ap.add_argument("--qalign-checkpoint", type=Path, help="the One-Align folder (for a bundle with Q-Align)")
    ap.add_argument("--fastvqa-src", type=Path, help="FAST-VQA's code (default: $FASTVQA_SRC)")
    ap.add_argument("--qalign-src", type=Path, help="Q-Align's code (default: $QALIGN_SRC)")
    ap.add_argument("--vsrqa", default=str(TOOLS.parent / "target" / "release" / "vsrqa"))
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--tolerance", type=float, default=1e-6)
    args = ap.parse_args(argv)
    import os
    if args.fastvqa_src:
        os.environ["FASTVQA_SRC"] = str(args.fastvqa_src)
    if args.qalign_src:
        os.environ["QALIGN_SRC"] = str(args.qalign_src)

    manifest = json.loads((args.bundle / "vsrqa.json").read_text())
    catalogue = load()
    branches = {b["name"]: b for b in manifest["branches"]}
    if "qalign" in branches and args.qalign_checkpoint is None:
        raise SystemExit("the bundle has Q-Align: give --qalign-checkpoint (the One-Align folder)")
    info, yuv = pp.read_y4m(args.clip)
    rgb = [pp.yuv420_to_rgb8(*f) for f in yuv]
    fps = float(info["fps"])

    shared = {}
    for name in set(branches) - {"spatial"}:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if name == "qalign":
                int8 = branches[name].get("precision") == "int8_weights"
                net = export_bundle.qalign_branch("full", args.qalign_checkpoint, int8_weights=int8)[0]
            else:
                checkpoint = args.release / catalogue.artefacts[CHECKPOINTS[name]].file
                net = export_bundle.BUILDERS[name]("full", checkpoint)[0]
        shared[name] = net.eval()
    kvq = catalogue.artefacts["rqvqa_kvq"]
    spatial_branch = manifest["branches"][0]
    if spatial_branch["name"] != "spatial":
        raise SystemExit("the spatial branch comes first in RQ-VQA's concatenation")
    kf = manifest["key_frames"]
    slots = pp.padded_slots(pp.key_frame_indices(len(rgb), fps, kf["count"]), kf["count"], kf["pad"])
    spatial_input = torch.cat([pp.branch_input(rgb, k, spatial_branch) for k in slots], dim=0)
    outputs, names, frozen = [], [], None
    with tempfile.TemporaryDirectory() as work:
        for name, checkpoint in ensemble_members(args.release / kvq.file, kvq, Path(work)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                spatial, _, _, head_state = export_bundle.spatial_branch("full", checkpoint)
            if frozen is None:
                # The whole reference pipeline once (the first member); the frozen branches'
                # features are every member's.
                recorder = RecordingHead(head_module(head_state))
                run_reference(rgb, fps, manifest, {"spatial": spatial, **shared}, recorder)
                frozen = recorder.features[:, spatial_branch["output_dim"]:]
                first = recorder.features
            with torch.no_grad():
                features = torch.cat([spatial(spatial_input), frozen], dim=1)
            if not names and not torch.equal(features, first):
                raise SystemExit("the spatial features computed alone differ from the reference pipeline's")
            # test.py: y_output.append(outputs.item())
            outputs.append(np.array([model_output(head_module(head_state), features, manifest["head"])]))
            names.append(name)
            print(f"reference {name}: {float(outputs[-1][0])!r}", flush=True)
            del spatial
    # test.py's ensemble.
    ensemble = np.zeros(outputs[0].shape)
    for output in outputs:
        ensemble += output
    ensemble /= len(outputs)

    # The reference decodes with the exact BT.601 conversion (vsrqa_ref.preprocess): the same frames.
    run = subprocess.run([args.vsrqa, "score", "-m", str(args.bundle), "--backend", args.backend, "-q",
                          "--color-conversion", "exact", str(args.clip)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"vsrqa score failed:\n{run.stderr}")
    report = json.loads(run.stdout)
    got = {m["member"]: m["clip_score"] for m in report["member_scores"]}
    if list(got) != names:
        raise SystemExit(f"the bundle's members {list(got)} are not ckpts.tar's {names} in test.py's order")
    worst = abs(report["clip_score"] - float(ensemble[0]))
    print(f"ensemble: vsrqa {report['clip_score']!r}, test.py's averaging {float(ensemble[0])!r}, |diff| {worst:.2e}")
    for name, output in zip(names, outputs):
        diff = abs(got[name] - float(output[0]))
        worst = max(worst, diff)
        print(f"  {name}: vsrqa {got[name]!r}, reference {float(output[0])!r}, |diff| {diff:.2e}")
    spread = float(np.std([o[0] for o in outputs]))
    print(f"members' spread: vsrqa {report['member_spread']!r}, reference {spread!r}")
    if not worst <= args.tolerance:
        raise SystemExit(f"largest difference {worst:.2e} is above {args.tolerance:e}")
    print(f"ok: {len(names)} members and their mean within {args.tolerance:g} of test.py's averaging")
    return 0


if __name__ == "__main__":
    sys.exit(main())
