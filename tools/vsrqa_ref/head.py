"""The fusion head: Linear layers with no activation between them (RQ-VQA `quality` regressor)."""
import torch
from torch import nn


class Head(nn.Module):
    """Linear(in_dim, mid) -> Linear(mid, out).

    State dict keys: quality.0.weight, quality.0.bias, quality.1.weight, quality.1.bias
    (PyTorch layout: weight [out, in], bias [out]), as the bundle's `head.layers` name them.
    The output activation (sigmoid) is not part of the module; the pipeline applies it.
    """

    def __init__(self, in_dim: int, mid: int, out: int = 1):
        super().__init__()
        self.quality = nn.Sequential(nn.Linear(in_dim, mid), nn.Linear(mid, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quality(x)
