"""The spatial branch: a Swin Transformer backbone whose tokens are averaged into one feature vector.

Like RQ-VQA models.py: timm 0.6.13 `SwinTransformer(num_classes=0, global_pool='')` returns the
final-stage tokens after the last LayerNorm, shape (B, L, C) (L = (img_size / 32)^2 for 4 stages,
(img_size / 8)^2 for the tiny 2-stage net); they are permuted to (B, C, L) and averaged over L -> (B, C).

The real model runs a BoTStack (bottleneck-transformer block) on the tokens between the backbone and
the mean; a later issue adds it. This module has no BoTStack.

Full-size config (Swin-B 384): embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
window_size=12, img_size=384 -> 1024 features. The test bundle uses TINY_CONFIG -> 16 features.
"""
import torch
from torch import nn
import timm.models.swin_transformer as _swin

FULL_CONFIG = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), window_size=12, img_size=384)
TINY_CONFIG = dict(embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=4, img_size=64)


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
    def __init__(self, embed_dim, depths, num_heads, window_size, img_size):
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.backbone(x)  # timm 0.6.13 with global_pool='' and num_classes=0: tokens (B, L, C)
        assert t.dim() == 3, f"expected (B, L, C) tokens from timm, got {tuple(t.shape)}"
        t = t.permute(0, 2, 1)  # (B, C, L) as RQ-VQA does before its BoTStack
        # (BoTStack goes here in the real model: a later issue.)
        return t.mean(dim=2)  # (B, C)


def tiny_spatial_net() -> SpatialNet:
    return SpatialNet(**TINY_CONFIG)
