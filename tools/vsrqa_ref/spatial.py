"""The spatial branch: a Swin Transformer backbone whose tokens are averaged into one feature vector.

Like RQ-VQA models.py: timm 0.6.13 `SwinTransformer(num_classes=0, global_pool='')` returns the
final-stage tokens after the last LayerNorm, shape (B, L, C) (L = (img_size / 32)^2 for 4 stages,
(img_size / 8)^2 for the tiny 2-stage net); they are permuted to (B, C, L) and averaged over L -> (B, C).

Between the backbone and the mean, RQ-VQA's `RQ_VQA` model reshapes the tokens to a (C, 12, 12) map
and runs `BoTStack(dim=1024, dim_out=1024, num_layers=3, fmap_size=(12, 12), stride=1, rel_pos_emb=True)`
(botstack.py); `bot=None` leaves it out (RQ-VQA's base model without BoT).

Full-size config (Swin-B 384): embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
window_size=12, img_size=384 -> 1024 features, BoTStack FULL_BOT. The test bundle uses TINY_CONFIG and
TINY_BOT (same code, fewer layers and channels) -> 16 features.

Checkpoint keys (RQ-VQA's saved `RQ_VQA` state dict, possibly with DataParallel's "module." prefix):
"feature_extraction.feature_extraction.*" is the timm Swin (our "backbone.*"), "bot4.*" the BoTStack
(our "bot.*"), "quality.0/1.*" the head (`split_checkpoint`).
"""
import torch
from torch import nn
import timm.models.swin_transformer as _swin

from .botstack import BoTStack

FULL_CONFIG = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=12, img_size=384)
FULL_BOT = dict(num_layers=3, heads=4, proj_factor=4, dim_qk=128, dim_v=128)
TINY_CONFIG = dict(embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=4, img_size=64)
TINY_BOT = dict(num_layers=2, heads=2, proj_factor=4, dim_qk=4, dim_v=4)


def _window_reverse_traceable(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Same result as timm 0.6.13 `window_reverse`, without its `B = int(windows.shape[0] / ...)`.

    That `int()` makes the TorchScript tracer (legacy ONNX exporter) record the batch size as a
    constant, so an ONNX file exported with a symbolic batch axis silently computes wrong results for
    any other batch size (Reshape mixes samples). Letting the batch dimension be inferred (-1)
    keeps it symbolic. Numerically identical for every input.
    """
    C = windows.shape[-1]
    x = windows.view(-1, H // window_size, W // window_size, window_size, window_size, C)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)
    return x


# SwinTransformerBlock.forward looks `window_reverse` up in the module's globals at call time.
_swin.window_reverse = _window_reverse_traceable


class SpatialNet(nn.Module):
    def __init__(self, embed_dim, depths, num_heads, window_size, img_size, bot: dict | None = None):
        super().__init__()
        self.backbone = _swin.SwinTransformer(
            img_size=img_size,
            patch_size=4,
            window_size=window_size,
            embed_dim=embed_dim,
            depths=tuple(depths),
            num_heads=tuple(num_heads),
            num_classes=0,
            global_pool='',
        )
        self.out_dim = self.backbone.num_features  # embed_dim * 2 ** (len(depths) - 1)
        side = img_size // (4 * 2 ** (len(depths) - 1))  # token grid: patch 4, then one merge per stage
        self.grid = (side, side)
        self.bot = BoTStack(self.out_dim, self.grid, **bot) if bot is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.backbone(x)  # timm 0.6.13 with global_pool='' and num_classes=0: tokens (B, L, C)
        assert t.dim() == 3, f"expected (B, L, C) tokens from timm, got {tuple(t.shape)}"
        t = t.permute(0, 2, 1)  # (B, C, L) as RQ-VQA does before its BoTStack
        if self.bot is not None:
            t = self.bot(t.reshape(t.shape[0], self.out_dim, *self.grid)).reshape(t.shape[0], self.out_dim, -1)
        return t.mean(dim=2)  # (B, C)


def full_spatial_net() -> SpatialNet:
    return SpatialNet(**FULL_CONFIG, bot=FULL_BOT)


def tiny_spatial_net() -> SpatialNet:
    return SpatialNet(**TINY_CONFIG, bot=TINY_BOT)


def split_checkpoint(state: dict) -> tuple[dict, dict]:
    """RQ-VQA checkpoint -> (SpatialNet state dict, head state dict with "quality.{0,1}.*" keys)."""
    spatial, head = {}, {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key.startswith("feature_extraction.feature_extraction."):
            spatial["backbone." + key.removeprefix("feature_extraction.feature_extraction.")] = value
        elif key.startswith("bot4."):
            spatial["bot." + key.removeprefix("bot4.")] = value
        elif key.startswith("quality."):
            head[key] = value
        elif not key.startswith("feature_extraction.feature_extraction.head"):
            raise KeyError(f"unexpected key in the RQ-VQA checkpoint: {key}")
    return spatial, head
