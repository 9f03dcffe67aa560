"""The SlowFast branch: the fast pathway of pytorchvideo's SlowFast R50, globally pooled -> 256 features.

RQ-VQA `feature_extraction/extract_SlowFast_feature_VQA.py` runs blocks 0-4 of `slowfast_r50` on
[slow, fast] inputs (slow = 8 of the 32 frames, fast = all 32), then pools each pathway with
`blocks[5].pool[i]` (AvgPool3d over the whole (T, 7, 7) map) and `blocks[6].output_pool`
(AdaptiveAvgPool3d(1)), and keeps only the fast feature for the model (`feature_*_fast_feature.npy`).

In SlowFast the lateral connections go from fast to slow (`FuseFastToSlow` concatenates a strided
conv of the fast features into the slow ones and passes the fast features through unchanged), so the
fast feature does not depend on the slow pathway. `FastPathway` keeps only the fast stem and stages
(`blocks[i].multipathway_blocks[1]`): 5.4 instead of 50.6 GMACs per 32x224x224 chunk, and an
exported graph that needs only the fast input. `reference_fast_feature` runs the reference's own
two-pathway forward, to check that claim on any weights.

Full size: `slowfast_r50` (pytorchvideo 0.1.5 hub config: model_depth 50, fusion kernel (7, 1, 1)),
input (B, 3, 32, 224, 224) -> 256. The test bundle uses TINY (same code: model depth 18, narrow
stems, a small head pool) on (B, 3, 8, 64, 64) -> 64.

Checkpoint: the hub's `SLOWFAST_8x8_R50.pyth` holds {"model_state": state dict of the whole
SlowFast}; `load_slowfast_checkpoint` loads it into the full two-pathway model before wrapping.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytorchvideo imports torch.jit.script and fvcore, which warn
    from pytorchvideo.models.slowfast import create_slowfast

# pytorchvideo.models.hub.slowfast_r50 without the download: model_depth 50, fusion kernel (7, 1, 1).
FULL = dict(model_depth=50, slowfast_fusion_conv_kernel_size=(7, 1, 1))
FULL_INPUT = (3, 32, 224, 224)
TINY = dict(model_depth=18, stem_dim_outs=(16, 2), slowfast_fusion_conv_kernel_size=(3, 1, 1),
            head_pool_kernel_sizes=((2, 2, 2), (8, 2, 2)))
TINY_INPUT = (3, 8, 64, 64)
ALPHA = 4  # the reference's slow pathway: frames.shape[2] // 4 frames of the fast input


def build_slowfast(config: dict) -> nn.Module:
    return create_slowfast(**config).eval()


def load_slowfast_checkpoint(model: nn.Module, path: str) -> None:
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("model_state", state) if isinstance(state, dict) else state
    model.load_state_dict(state, strict=True)


class FastPathway(nn.Module):
    """Fast stem + fast res stages of a pytorchvideo SlowFast, then the reference's two pools."""

    def __init__(self, slowfast: nn.Module):
        super().__init__()
        blocks = slowfast.blocks
        self.stages = nn.Sequential(*[blocks[i].multipathway_blocks[1] for i in range(5)])
        self.pool = blocks[5].pool[1]
        self.output_pool = blocks[6].output_pool
        self.out_dim = self.stages[-1].res_blocks[-1].branch2.conv_c.out_channels

    def forward(self, fast: torch.Tensor) -> torch.Tensor:
        return self.output_pool(self.pool(self.stages(fast))).flatten(1)


def pack_pathways(frames: torch.Tensor) -> list[torch.Tensor]:
    """The reference's `pack_pathway_output`: slow = index_select of T // 4 evenly spaced frames."""
    index = torch.linspace(0, frames.shape[2] - 1, frames.shape[2] // ALPHA).long()
    return [torch.index_select(frames, 2, index), frames]


@torch.no_grad()
def reference_fast_feature(slowfast: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """RQ-VQA's `slowfast.forward` on both pathways, returning its fast feature flattened."""
    blocks = slowfast.blocks
    x = pack_pathways(frames)
    for i in range(5):
        x = blocks[i](x)
    return blocks[6].output_pool(blocks[5].pool[1](x[1])).flatten(1)
