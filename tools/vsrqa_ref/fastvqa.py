"""The FAST-VQA branch: fragments of the whole clip through FAST-VQA-B's Swin3D, pooled -> 768 features.

RQ-VQA `feature_extraction/FastVQA_feature` (options/fast-b_NTIRE_UGC.yml, datasets/fusion_datasets.py,
models/evaluator.py), once per video (the same 768 values fill all 8 slots of the model):

1. Temporal sampling: `FragmentSampleFrames(32, 4, 2)` (clip_len, num_clips, frame_interval passed
   positionally as fsize_t, fragments_t, frame_interval): segment `i` of 4 starts at
   `(n // 4) * i + r_i` and takes 32 frames at interval 2, indices modulo `n` (short clips wrap).
   `r_i` is `np.random.randint(0, n // 4 - 64)` when `n // 4 > 64`, else 0.
2. Spatial fragments (`get_spatial_fragments`, 7x7 fragments of 32x32 -> 224x224): cell `(i, j)` is
   copied from `(min(H // 7 * i, H - 32) + o_h, min(W // 7 * j, W - 32) + o_w)`, with `o_h` drawn by
   `torch.randint(H // 7 - 32)` per cell and per 32-frame segment when `H // 7 > 32`, else 0.
   Frames smaller than 224 on a side are first enlarged by `1 / min(H / 224, W / 224)` with torch's
   bilinear `interpolate(v / 255, scale_factor=...)`, multiplied by 255 and truncated to uint8; the
   cell positions still use the *original* H and W (as the reference does).
3. `(v - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]` on 0..255 values.
4. FAST-VQA-B's backbone (`swin_tiny_grpb`: `SwinTransformer3D()` with its defaults, gated
   fragment position biases) on each (3, 32, 224, 224) segment -> (768, 16, 7, 7); the mean over the
   4 segments and over T, H, W -> 768.

The reference's offsets `r_i`, `o_h`, `o_w` are random and unseeded, so its feature is itself a sample
of a random variable. vsrqa uses the middle of each range (`middle_offset`), which makes the feature
deterministic; tools/fixtures/check_fastvqa.py runs the reference's own sampling and fragment
functions with these offsets and checks that they give the same frames and pixels.

Frames under 32 pixels on a side make the reference fail (a negative cell position); vsrqa clamps
the cell positions at 0.

The backbone code is FAST-VQA's own (`fastvqa/models/swin_backbone.py`, MIT licence), loaded from a
checkout the user points to (`--fastvqa-src` or $FASTVQA_SRC: github.com/VQAssessment/FAST-VQA-and-FasterVQA,
or RQ-VQA's `feature_extraction/FastVQA_feature`); vsrqa does not copy it.
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkout import checkout

FULL = dict(use_checkpoint=False)  # swin_tiny_grpb = SwinTransformer3D() with its defaults
FULL_SAMPLING = dict(segments=4, frames=32, interval=2)
FULL_FRAGMENTS = dict(grid=7, size=32)
TINY = dict(embed_dim=16, depths=[1, 1], num_heads=[1, 2], window_size=(4, 4, 4), base_x_size=(8, 64, 64),
            frag_biases=[True, False], use_checkpoint=False)
TINY_SAMPLING = dict(segments=2, frames=8, interval=1)
TINY_FRAGMENTS = dict(grid=2, size=32)
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def source_dir(path: str | Path | None = None) -> Path:
    """The FAST-VQA checkout: `path`, else $FASTVQA_SRC."""
    return checkout(path, "FASTVQA_SRC", "--fastvqa-src", "fastvqa/models/swin_backbone.py", "github.com/VQAssessment/FAST-VQA-and-FasterVQA (or RQ-VQA's feature_extraction/FastVQA_feature)")


def load_module(root: Path, relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, root / relative)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


class FastVqaNet(nn.Module):
    """(B, 3, T, H, W) normalized fragment segments -> (B, C): the backbone's features averaged over
    T, H, W. The mean over a clip's segments is taken by the caller (vsrqa: the engine)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.out_dim = backbone.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x).mean(dim=(2, 3, 4))


def build_backbone(root: Path, config: dict, checkpoint: str | None = None) -> nn.Module:
    swin = load_module(root, "fastvqa/models/swin_backbone.py", "fastvqa_swin_backbone")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):  # the constructor prints its init settings
            backbone = swin.SwinTransformer3D(**config)
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location="cpu")["state_dict"]
        prefix = "fragments_backbone."
        own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        backbone.load_state_dict(own, strict=True)
    backbone.train(False)  # its train() override returns None, so no .eval() chaining
    return backbone


def randomize_position_biases(backbone: nn.Module, generator: torch.Generator) -> None:
    """Random relative/fragment position biases large enough to matter (the init leaves them ~0.02)."""
    with torch.no_grad():
        for module in backbone.modules():
            for name in ("relative_position_bias_table", "fragment_position_bias_table"):
                table = getattr(module, name, None)
                if table is not None:
                    table.copy_(torch.randn(table.shape, generator=generator) * 0.5)


def middle_offset(length: int, used: int) -> int:
    """vsrqa's offset where the reference draws `randint(length - used)` (only when length > used)."""
    return (length - used) // 2 if length > used else 0


def segment_frame_indices(n_frames: int, segments: int, frames: int, interval: int) -> list[int]:
    """`FragmentSampleFrames` with vsrqa's offsets: the frames of each segment, in order."""
    length = n_frames // segments
    offset = middle_offset(length, frames * interval)
    return [(length * i + offset + k * interval) % n_frames for i in range(segments) for k in range(frames)]


def fragments(frame: np.ndarray, grid: int, size: int) -> np.ndarray:
    """`get_spatial_fragments` on one (H, W, 3) uint8 frame with vsrqa's offsets -> (grid*size)^2 x 3 uint8."""
    h, w = frame.shape[:2]
    video = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).unsqueeze(1)  # (3, 1, H, W) uint8
    ratio = min(h / (grid * size), w / (grid * size))
    if ratio < 1:
        up = torch.nn.functional.interpolate(video / 255.0, scale_factor=1 / ratio, mode="bilinear")
        video = (up * 255.0).type_as(video)
    out = np.zeros((grid * size, grid * size, 3), np.uint8)
    oh, ow = middle_offset(h // grid, size), middle_offset(w // grid, size)
    for i in range(grid):
        top = max(min(h // grid * i, h - size), 0) + oh
        for j in range(grid):
            left = max(min(w // grid * j, w - size), 0) + ow
            cell = video[:, 0, top:top + size, left:left + size].permute(1, 2, 0).numpy()
            out[i * size:(i + 1) * size, j * size:(j + 1) * size] = cell
    return out


@torch.no_grad()
def reference_clip_feature(rgb_frames, branch: dict, net: FastVqaNet) -> torch.Tensor:
    """The clip feature as RQ-VQA's extract_fastvqa_feature.py pools it: the sampled frames laid out as
    (3, S*T, H, W), split into S segments (its reshape + permute), the backbone on the S segments, then
    the mean over the segments and over T, H, W -> (1, C)."""
    from . import preprocess as pp
    clip = branch["clip"]
    indices = segment_frame_indices(len(rgb_frames), clip["segments"], clip["frames"], clip["interval"])
    video = torch.stack([pp.apply_ops(rgb_frames[i], branch["preprocess"])[0] for i in indices], dim=1)
    c, t, h, w = video.shape
    segments = video.reshape(c, clip["segments"], t // clip["segments"], h, w).permute(1, 0, 2, 3, 4)
    features = net.backbone(segments.contiguous())
    return features.mean(dim=0).mean(dim=-1).mean(dim=-1).mean(dim=-1).unsqueeze(0)
