"""BoTStack: the bottleneck-transformer blocks RQ-VQA runs on the Swin-B tokens (botnet.py there).

Written from the published math (Srinivas et al., "Bottleneck Transformers for Visual Recognition",
2021) and checked against RQ-VQA's botnet.py by tools/fixtures (same weights, same outputs). The
parameter names are RQ-VQA's, so its checkpoints load unchanged:

    net.{i}.net.0  1x1 conv dim -> dim_out / proj_factor      net.{i}.net.1  BatchNorm  (ReLU)
    net.{i}.net.3  MHSA: to_qk (1x1 conv, q then k), to_v, pos_emb.rel_height, pos_emb.rel_width
    net.{i}.net.5  BatchNorm  (ReLU)  net.{i}.net.7  1x1 conv heads * dim_v -> dim_out  net.{i}.net.8 BatchNorm
    block output = ReLU(net(x) + shortcut(x)), shortcut the identity (dim == dim_out, stride 1).

Only what RQ-VQA uses is implemented: stride 1, dim == dim_out, relative position embeddings.

Relative position logits, for a query at (x, y) and a key at (i, j) on an H x W map:
    logits = (s q) . k + (s q) . rel_width[j - y + W - 1] + (s q) . rel_height[i - x + H - 1],  s = dim_qk ** -0.5
The reference builds them with its pad-and-reshape `rel_to_abs` (which also hard-codes `.cuda()`);
here the embedding rows each (query, key) pair needs are gathered with constant indices, which is the
same sum and exports to ONNX as plain Gather + MatMul.
"""
from __future__ import annotations

import torch
from torch import nn


class RelPosEmb(nn.Module):
    def __init__(self, height: int, width: int, dim_head: int):
        super().__init__()
        scale = dim_head ** -0.5
        self.height, self.width = height, width
        self.rel_height = nn.Parameter(torch.randn(2 * height - 1, dim_head) * scale)
        self.rel_width = nn.Parameter(torch.randn(2 * width - 1, dim_head) * scale)
        # index[a, b] = b - a + n - 1: the embedding row for a key at b seen from a query at a.
        for name, n in (("index_h", height), ("index_w", width)):
            a = torch.arange(n)
            self.register_buffer(name, a[None, :] - a[:, None] + n - 1, persistent=False)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """q: (B, heads, H*W, d), already scaled -> (B, heads, H*W, H*W)."""
        b, n, _, d = q.shape
        h, w = self.height, self.width
        q = q.reshape(b, n, h, w, d)
        emb_w = self.rel_width[self.index_w]  # (W query y, W key j, d)
        emb_h = self.rel_height[self.index_h]  # (H query x, H key i, d)
        # logits_w[x, y, j] = q[x, y] . emb_w[y, j]: batch over y.
        logits_w = torch.matmul(q.permute(0, 1, 3, 2, 4), emb_w.transpose(1, 2)).permute(0, 1, 3, 2, 4)
        # logits_h[x, y, i] = q[x, y] . emb_h[x, i]: batch over x.
        logits_h = torch.matmul(q, emb_h.transpose(1, 2))
        pos = logits_w[:, :, :, :, None, :] + logits_h[:, :, :, :, :, None]  # (B, n, x, y, i, j)
        return pos.reshape(b, n, h * w, h * w)


class MHSA(nn.Module):
    def __init__(self, dim: int, fmap_size: tuple[int, int], heads: int, dim_qk: int, dim_v: int):
        super().__init__()
        self.scale = dim_qk ** -0.5
        self.heads, self.dim_qk, self.dim_v = heads, dim_qk, dim_v
        self.to_qk = nn.Conv2d(dim, heads * dim_qk * 2, 1, bias=False)
        self.to_v = nn.Conv2d(dim, heads * dim_v, 1, bias=False)
        self.pos_emb = RelPosEmb(fmap_size[0], fmap_size[1], dim_qk)

    def _split_heads(self, t: torch.Tensor, d: int) -> torch.Tensor:
        b, _, h, w = t.shape  # channels are (head, d), head-major
        return t.reshape(b, self.heads, d, h * w).transpose(2, 3)  # (B, heads, L, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        q, k = self.to_qk(x).chunk(2, dim=1)
        q = self._split_heads(q, self.dim_qk) * self.scale
        k = self._split_heads(k, self.dim_qk)
        v = self._split_heads(self.to_v(x), self.dim_v)
        logits = torch.matmul(q, k.transpose(2, 3)) + self.pos_emb(q)
        out = torch.matmul(logits.softmax(dim=-1), v)  # (B, heads, L, dim_v)
        return out.transpose(2, 3).reshape(b, self.heads * self.dim_v, h, w)


class BoTBlock(nn.Module):
    def __init__(self, dim: int, fmap_size, heads: int, proj_factor: int, dim_qk: int, dim_v: int):
        super().__init__()
        bottleneck = dim // proj_factor
        attn_out = heads * dim_v
        self.shortcut = nn.Identity()
        self.net = nn.Sequential(
            nn.Conv2d(dim, bottleneck, 1, bias=False),
            nn.BatchNorm2d(bottleneck),
            nn.ReLU(),
            MHSA(bottleneck, fmap_size, heads, dim_qk, dim_v),
            nn.Identity(),  # the reference's AvgPool2d slot for stride 2
            nn.BatchNorm2d(attn_out),
            nn.ReLU(),
            nn.Conv2d(attn_out, dim, 1, bias=False),
            nn.BatchNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + self.shortcut(x))


class BoTStack(nn.Module):
    def __init__(self, dim: int, fmap_size=(12, 12), num_layers: int = 3, heads: int = 4,
                 proj_factor: int = 4, dim_qk: int = 128, dim_v: int = 128):
        super().__init__()
        self.net = nn.Sequential(*[BoTBlock(dim, tuple(fmap_size), heads, proj_factor, dim_qk, dim_v)
                                   for _ in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@torch.no_grad()
def randomize_batchnorm(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Random statistics and affine parameters for every BatchNorm (eval mode), so that random-weight
    tests exercise them: a fresh BatchNorm is nearly the identity, and the reference initializes each
    block's last one to zero, which would make every block the identity."""
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            m.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            m.weight.copy_(0.5 + torch.rand(n, generator=generator))
            m.bias.copy_(0.1 * torch.randn(n, generator=generator))
