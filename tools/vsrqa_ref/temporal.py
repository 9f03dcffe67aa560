"""A tiny stand-in for the SlowFast fast pathway.

A later issue brings the real SlowFast branch; this network only has the same interface:
input (B, 3, T, H, W) float32, output (B, D) features.
"""
import torch
from torch import nn


class TemporalNet(nn.Module):
    def __init__(self, channels: int = 8):
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv3d(3, c, kernel_size=(5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False),
            nn.BatchNorm3d(c),
            nn.ReLU(inplace=False),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.Conv3d(c, c, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm3d(c),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(1),
        )
        self.out_dim = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

