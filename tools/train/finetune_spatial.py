#!/usr/bin/env python3
"""Fine-tune the spatial branch (Swin-B + BoTStack) together with the head, RQ-VQA's train.py recipe,
on the same dataset CSV as `vsrqa features`, and export the result as a new bundle.

    vsrqa features -m BUNDLE --list data.csv --out bank/          # the frozen branches, once
    venv/bin/python tools/train/finetune_spatial.py -m BUNDLE --bank bank/ --list data.csv --out NEW_BUNDLE \\
        [--spatial-checkpoint RQ-VQA.pth] [--size full|tiny] [--device cuda] \\
        [--epochs 100 --lr 1e-5 --batch-size 16 --weight-decay 1e-7 --decay-interval 2 --decay-ratio 0.95 --seed 0]
    vsrqa features -m NEW_BUNDLE --list data.csv --out bank2/     # its spatial features are new
    vsrqa eval -m NEW_BUNDLE --list test.csv

What it does, as RQ-VQA (train.py, data_loader.py, frame_extraction/extract_frame_NTIREVideo_384p.py):
- key frames: one per second (every round(fps)-th frame, OpenCV's decoder, BGR -> RGB), up to the
  bundle's key-frame count, the last repeated to fill it; short side resized to the spatial input
  side with cv2.resize (INTER_LINEAR), cached as PNG-free uint8 arrays under --cache;
- training crops: a random side x side crop (torchvision RandomCrop), validation: the center crop;
  then ImageNet normalization (the bundle's spatial preprocessing);
- the other branches' features come from the feature bank (their slice of each row), frozen;
- model: the spatial network (vsrqa_ref.spatial, timm 0.6.13 Swin + BoTStack) and the head the
  bundle's manifest describes (layers, activations, output activation and where it applies), the
  head's rows pooled by their mean; the network in train mode (BatchNorm statistics update);
- loss: plcc_loss(labels, outputs) + the rank hinge (margin 0.05); Adam (weight decay 1e-7),
  StepLR(2, 0.95), batch 16, 100 epochs, a seeded random 80/20 split, the best validation SRCC kept;
- export: the spatial ONNX (checked against PyTorch with ONNX Runtime), the head's safetensors, the
  other networks copied, the manifest with the new spatial hash, and training_report.json.

Start weights: --spatial-checkpoint (an RQ-VQA checkpoint: its Swin + BoTStack, and its head when
the widths match); without one the spatial network is random (for tests of this script only). The
head otherwise starts from PyTorch's default initialization, as the reference's.

Needs the venv of tools/requirements.txt (torch, timm 0.6.13, opencv, safetensors, scipy, onnx,
onnxruntime). A GPU is strongly advised at full size (Swin-B at 384 on 8 frames per video).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vsrqa_ref import spatial as spatial_ref  # noqa: E402
from vsrqa_ref.loss import plcc_loss, rank_hinge  # noqa: E402
from vsrqa_ref.onnx_io import export_onnx, onnx_vs_torch, ort_session  # noqa: E402

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


# ------------------------------------------------------------------------------------------------
# The dataset list and the feature bank (formats: docs/training.md)
# ------------------------------------------------------------------------------------------------

def read_list(path: Path) -> list[dict]:
    """path,mos[,group] rows, optional header (as `vsrqa features` reads them)."""
    rows = [r for r in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) if any(f.strip() for f in r)]
    columns = (0, 1, 2)
    if rows:
        try:
            float(rows[0][1])
        except (IndexError, ValueError):
            header = [h.strip().lower() for h in rows[0]]

            def find(names):
                return next((i for i, h in enumerate(header) if h in names), None)
            columns = (find({"path", "filename", "file", "video", "name"}), find({"mos", "score", "dmos", "label"}),
                       find({"group", "difficulty", "level"}))
            if columns[0] is None or columns[1] is None:
                raise SystemExit(f"{path}: the header needs a path and a mos column")
            rows = rows[1:]
    videos = []
    for row in rows:
        cell = lambda c: row[c].strip() if c is not None and c < len(row) else ""  # noqa: E731
        videos.append({"name": cell(columns[0]), "path": path.parent / cell(columns[0]), "mos": float(cell(columns[1])),
                       "group": cell(columns[2]) or None})
    return videos


def bank_entry(bank: Path, info: dict, name: str) -> np.ndarray:
    """The entry's features [rows, dim], checked against its checksum and the bank's model."""
    key = hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
    path = bank / "videos" / f"{key}.safetensors"
    if not path.exists():
        raise SystemExit(f"{name}: not in the feature bank {bank} (run vsrqa features with this list)")
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        features = f.get_tensor("features")
    if meta.get("path") != name or meta.get("fingerprint") != info["fingerprint"]:
        raise SystemExit(f"{path}: not the entry of {name} in this bank")
    if hashlib.sha256(features.astype("<f4").tobytes()).hexdigest() != meta.get("sha256"):
        raise SystemExit(f"{path}: damaged (checksum)")
    return features


# ------------------------------------------------------------------------------------------------
# Key frames
# ------------------------------------------------------------------------------------------------

def key_frames(path: Path, side: int, count: int) -> np.ndarray:
    """[count, H, W, 3] uint8 RGB: every round(fps)-th frame (every frame below 0.5 fps), short side
    resized to `side` (cv2.resize, INTER_LINEAR, as the reference's frame extraction), the last
    repeated up to `count`."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"{path}: OpenCV cannot open it")
    interval = max(1, round(capture.get(cv2.CAP_PROP_FPS)))  # Python's round: half to even, as vsrqa
    frames, index = [], 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index % interval == 0:
            h, w = frame.shape[:2]
            size = (side, int(side / w * h)) if h > w else (int(side / h * w), side)
            frames.append(cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB))
        index += 1
    if not frames:
        raise SystemExit(f"{path}: no frames decoded")
    frames += [frames[-1]] * (count - len(frames))
    return np.stack(frames)


def crops(frames: np.ndarray, side: int, generator: torch.Generator | None) -> torch.Tensor:
    """[rows, 3, side, side] normalized: random crops (training) or the center crop (generator None)."""
    rows, h, w, _ = frames.shape
    if generator is None:
        top, left = round((h - side) / 2.0), round((w - side) / 2.0)
    else:
        top = int(torch.randint(0, h - side + 1, (1,), generator=generator))
        left = int(torch.randint(0, w - side + 1, (1,), generator=generator))
    x = torch.from_numpy(frames[:, top:top + side, left:left + side]).permute(0, 3, 1, 2).float() / 255.0
    return (x - IMAGENET_MEAN) / IMAGENET_STD


# ------------------------------------------------------------------------------------------------
# The model: spatial network + the manifest's head
# ------------------------------------------------------------------------------------------------

class Head(torch.nn.Module):
    """The manifest's head: Linear layers with their activations, the output activation per row
    (`per_frame`) or after the mean over the rows (`after_pooling`)."""

    ACTIVATIONS = {"none": torch.nn.Identity, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}

    def __init__(self, spec: dict, sizes: list[int]):
        super().__init__()
        self.spec = spec
        layers, inputs = [], spec["input_dim"]
        for layer, outputs in zip(spec["layers"], sizes):
            layers += [torch.nn.Linear(inputs, outputs), self.ACTIVATIONS[layer["activation"]]()]
            inputs = outputs
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [batch, rows, dim] -> [batch]
        out = self.layers(x)[..., 0]
        sigmoid = self.spec["output_activation"] == "sigmoid"
        if self.spec["activation_stage"] == "per_frame":
            return (torch.sigmoid(out) if sigmoid else out).mean(dim=1)
        pooled = out.mean(dim=1)
        return torch.sigmoid(pooled) if sigmoid else pooled

    def state_for_bundle(self) -> dict:
        """The weights under the manifest's tensor names."""
        linears = [m for m in self.layers if isinstance(m, torch.nn.Linear)]
        state = {}
        for layer, linear in zip(self.spec["layers"], linears):
            state[layer["weight"]] = linear.weight.detach().float().cpu().contiguous()
            state[layer["bias"]] = linear.bias.detach().float().cpu().contiguous()
        return state

    def load_checkpoint_head(self, head_state: dict) -> bool:
        """RQ-VQA's quality.0/1 weights when the shapes match."""
        linears = [m for m in self.layers if isinstance(m, torch.nn.Linear)]
        keys = [("quality.0.weight", "quality.0.bias"), ("quality.1.weight", "quality.1.bias")]
        if len(linears) != 2 or any(k not in head_state for pair in keys for k in pair):
            return False
        if any(head_state[w].shape != lin.weight.shape for (w, _), lin in zip(keys, linears)):
            return False
        for (w, b), lin in zip(keys, linears):
            lin.weight.data.copy_(head_state[w])
            lin.bias.data.copy_(head_state[b])
        return True


# ------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", type=Path, required=True, help="the bundle the bank was extracted with")
    ap.add_argument("--bank", type=Path, required=True, help="its feature bank (vsrqa features)")
    ap.add_argument("--list", type=Path, required=True, help="the dataset CSV: path,mos[,group]")
    ap.add_argument("--out", type=Path, required=True, help="the new bundle directory")
    ap.add_argument("--spatial-checkpoint", type=Path, help="RQ-VQA checkpoint to start from")
    ap.add_argument("--size", choices=["full", "tiny"], default="full", help="the spatial architecture (tiny: tests)")
    ap.add_argument("--cache", type=Path, help="key-frame cache (default: <out>.frames)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--weight-decay", type=float, default=1e-7)
    ap.add_argument("--decay-interval", type=int, default=2)
    ap.add_argument("--decay-ratio", type=float, default=0.95)
    ap.add_argument("--validation", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--color-conversion", choices=["reference"], default="reference",
                    help="how frames are decoded: reference = OpenCV, as RQ-VQA did and as vsrqa's reference "
                         "conversion reproduces; the bank must have been extracted with the same one")
    args = ap.parse_args(argv)

    manifest = json.loads((args.model / "vsrqa.json").read_text())
    info = json.loads((args.bank / "bank.json").read_text())
    # The bank's features and the frames decoded here must come from the same conversion, else
    # the fine-tuned network trains on frames vsrqa never shows it.
    bank_conversion = info.get("color_conversion", "reference")
    if bank_conversion != args.color_conversion:
        raise SystemExit(f"the bank was extracted with --color-conversion {bank_conversion}; this script decodes "
                         f"with {args.color_conversion} (OpenCV): extract the bank with "
                         f"`vsrqa features --color-conversion {args.color_conversion}`")
    names = [b["name"] for b in manifest["branches"]]
    if names != [b["name"] for b in info["branches"]]:
        raise SystemExit(f"the bank's branches {[b['name'] for b in info['branches']]} are not the bundle's {names}")
    spatial_index = next((i for i, b in enumerate(manifest["branches"]) if b["kind"] == "spatial"), None)
    if spatial_index is None:
        raise SystemExit("the bundle has no spatial branch to fine-tune")
    spatial_entry = manifest["branches"][spatial_index]
    offset = sum(b["output_dim"] for b in manifest["branches"][:spatial_index])
    width, side = spatial_entry["output_dim"], spatial_entry["input"]["height"]
    slots = manifest["key_frames"]["count"] or 8

    torch.manual_seed(args.seed)
    net = spatial_ref.full_spatial_net() if args.size == "full" else spatial_ref.tiny_spatial_net()
    if net.out_dim != width:
        raise SystemExit(f"--size {args.size} gives {net.out_dim} spatial features; the bundle's branch has {width}")
    head = Head(manifest["head"], info["head"]["layer_outputs"])
    if args.spatial_checkpoint is not None:
        state = torch.load(str(args.spatial_checkpoint), map_location="cpu", weights_only=True)
        spatial_state, head_state = spatial_ref.split_checkpoint(state.get("state_dict", state))
        net.load_state_dict(spatial_state, strict=True)
        print("head: from the checkpoint" if head.load_checkpoint_head(head_state) else "head: fresh (checkpoint head of another width)")
    device = torch.device(args.device)
    net, head = net.to(device), head.to(device)

    # Data: frozen features from the bank, key frames decoded once into the cache.
    videos = read_list(args.list)
    cache = args.cache or args.out.with_name(args.out.name + ".frames")
    cache.mkdir(parents=True, exist_ok=True)
    frozen, frames = [], []
    for i, video in enumerate(videos):
        features = bank_entry(args.bank, info, video["name"])
        if features.shape[0] != slots:
            raise SystemExit(f"{video['name']}: {features.shape[0]} rows in the bank, the bundle pools {slots}")
        frozen.append(torch.from_numpy(features.copy()))
        cached = cache / (hashlib.sha256(video["name"].encode()).hexdigest()[:24] + f"_{side}.npy")
        if not cached.exists():
            np.save(cached, key_frames(video["path"], side, slots))
        frames.append(cached)
        print(f"[{i + 1}/{len(videos)}] {video['name']}: key frames ready", flush=True)
    mos = torch.tensor([v["mos"] for v in videos], dtype=torch.float32)

    order = np.random.default_rng(args.seed).permutation(len(videos))
    n_train = int(len(videos) * (1 - args.validation))
    train_set, validation_set = order[:n_train].tolist(), order[n_train:].tolist()
    if len(validation_set) < 3 or len(train_set) < 2:
        raise SystemExit(f"{len(videos)} videos are too few for an 80/20 split with 3 to validate")

    def predict(indices, generator):
        x = torch.stack([crops(np.load(frames[i]), side, generator) for i in indices]).to(device)  # [B, rows, 3, s, s]
        spatial = net(x.flatten(0, 1)).view(len(indices), slots, width)
        rows = torch.stack([frozen[i] for i in indices]).to(device).clone()
        rows[..., offset:offset + width] = spatial
        return head(rows)

    params = list(net.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.decay_interval, gamma=args.decay_ratio)
    crop_generator = torch.Generator().manual_seed(args.seed)
    shuffle = np.random.default_rng(args.seed + 1)
    best, history = None, []
    for epoch in range(args.epochs):
        net.train()
        head.train()
        losses = []
        batch_order = [train_set[i] for i in shuffle.permutation(len(train_set))]
        for start in range(0, len(batch_order), args.batch_size):
            batch = batch_order[start:start + args.batch_size]
            outputs = predict(batch, crop_generator)
            labels = mos[batch].to(device)
            loss = plcc_loss(labels, outputs) + rank_hinge(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        net.eval()
        head.eval()
        with torch.no_grad():
            predicted = np.array([float(predict([i], None)[0]) for i in validation_set])
        labels = mos[validation_set].numpy()
        srcc = float(stats.spearmanr(predicted, labels)[0])
        plcc = float(stats.pearsonr(predicted, labels)[0])
        history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "validation_srcc": srcc,
                        "validation_plcc_raw": plcc, "learning_rate": scheduler.get_last_lr()[0]})
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {np.mean(losses):.5f}, validation SRCC {srcc:.4f} "
              f"PLCC(raw) {plcc:.4f}", flush=True)
        if best is None or (not math.isnan(srcc) and srcc > best[0]):
            best = (srcc, epoch + 1, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
                    {k: v.detach().cpu().clone() for k, v in head.state_dict().items()})

    srcc, best_epoch, net_state, head_state = best
    net.load_state_dict(net_state)
    head.load_state_dict(head_state)
    net, head = net.cpu().eval(), head.cpu().eval()
    best_plcc = history[best_epoch - 1]["validation_plcc_raw"]
    metrics = {name: value for name, value in [("srcc", srcc), ("plcc_raw", best_plcc)] if math.isfinite(value)}
    trained = {"source": "trained", "bank_fingerprint": info["fingerprint"], "train_videos": len(train_set),
               "validation_videos": len(validation_set), "validation_metrics": metrics}
    export(args, manifest, spatial_index, net, head, side, trained)
    report = {"model": str(args.model), "bank": str(args.bank), "list": str(args.list), "best_epoch": best_epoch,
              "best_validation_srcc": srcc, "train": [videos[i]["name"] for i in train_set],
              "validation": [videos[i]["name"] for i in validation_set], "history": history,
              "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    (args.out / "training_report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"best validation SRCC {srcc:.4f} at epoch {best_epoch}; wrote {args.out}")
    return 0


def export(args, manifest: dict, spatial_index: int, net, head: Head, side: int, trained: dict) -> None:
    """The new bundle: the source's networks, the fine-tuned spatial ONNX and head, the manifest (the
    spatial network's and the head's provenance: `trained`; the other networks keep theirs)."""
    args.out.mkdir(parents=True, exist_ok=True)
    entry = manifest["branches"][spatial_index]
    for branch in manifest["branches"]:
        if branch is not entry:
            shutil.copyfile(args.model / branch["network"], args.out / branch["network"])
    path = args.out / entry["network"]
    export_onnx(net, (1, 3, side, side), path, dynamic_batch=True)
    x = torch.randn((2, 3, side, side), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        scale = float(net(x).abs().max())
    diff = onnx_vs_torch(net, ort_session(path), x)
    print(f"spatial ONNX: ONNX Runtime vs PyTorch max |diff| {diff:.3e} (relative {diff / scale:.3e})")
    if not diff / scale <= 1e-4:
        raise SystemExit(f"the exported spatial network differs from PyTorch by {diff / scale:e} relative")
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    save_file(head.state_for_bundle(), str(args.out / manifest["head"]["weights"]))
    manifest["name"] = manifest.get("name", "bundle") + "-finetuned"
    manifest["color_conversion"] = args.color_conversion  # what the frames were decoded with here
    provenance = manifest.setdefault("provenance", {})
    provenance.setdefault("branches", {})[entry["name"]] = trained
    provenance["head"] = trained
    (args.out / "vsrqa.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
