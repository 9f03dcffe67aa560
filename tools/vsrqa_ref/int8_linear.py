"""Linear layers with 8-bit weights, for exporting a network too large to hold in fp32: One-Align's
8.2 billion parameters take 33 GB in fp32 and 8 GB in 8 bits.

The weights are quantized as tools/export/precision.py's `int8_weights` quantizes an exported graph:
symmetric, one fp32 scale per output channel (the channel's largest magnitude maps to 127), rounded
half to even. A network exported from these layers is the network precision.py makes from the fp32
export, without ever holding the fp32 export: each layer exports as DequantizeLinear on its int8
weight, then MatMul (and Add for a bias).

Each layer keeps a way to its original weight (a function that reads it, from a checkpoint on disk
or from memory), so the 8-bit network can be checked against the original one layer at a time
(`original_weights`)."""
from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import nn
from torch.nn import functional


def quantize(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 weight, fp32 scale per output channel) of an (out, in) weight."""
    weight = weight.to(torch.float32)
    scale = weight.abs().amax(dim=1) / 127.0
    scale[scale == 0] = 1.0
    quantized = torch.clamp(torch.round(weight / scale[:, None]), -127, 127).to(torch.int8)
    return quantized, scale


class _Dequantize(torch.autograd.Function):
    """An (in, out) int8 weight times its per-output-channel scale, exported as DequantizeLinear."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return weight.to(torch.float32) * scale

    @staticmethod
    def symbolic(g, weight, scale):
        return g.op("DequantizeLinear", weight, scale, axis_i=1)


class Int8Linear(nn.Module):
    """`nn.Linear` with an 8-bit weight, stored transposed (in, out) as an exported MatMul takes it."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None,
                 original: Callable[[], torch.Tensor]):
        super().__init__()
        self.register_buffer("weight_int8", None)
        self.register_buffer("weight_scale", None)
        self.bias = None
        self.set_weight(weight, bias, original)
        self.use_original = False

    def set_weight(self, weight: torch.Tensor, bias: torch.Tensor | None,
                   original: Callable[[], torch.Tensor]) -> None:
        """Quantizes `weight` (out, in) into this layer; `original` reads it again when asked."""
        quantized, scale = quantize(weight)
        self.weight_int8 = quantized.t().contiguous()
        self.weight_scale = scale
        self.bias = None if bias is None else nn.Parameter(bias.detach().to(torch.float32), requires_grad=False)
        self.original = original  # () -> the fp32 (out, in) weight the int8 one was made from

    @property
    def in_features(self) -> int:
        return self.weight_int8.shape[0]

    @property
    def out_features(self) -> int:
        return self.weight_int8.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_original:
            return functional.linear(x, self.original(), self.bias)
        y = torch.matmul(x, _Dequantize.apply(self.weight_int8, self.weight_scale))
        return y if self.bias is None else y + self.bias


def quantize_linears(model: nn.Module, original: Callable[[str, nn.Linear], Callable[[], torch.Tensor]]) -> int:
    """Replaces every `nn.Linear` in `model` by an `Int8Linear` of its weight; `original(path, linear)`
    gives the function that reads the layer's original weight later. Returns how many."""
    linears = [(path, module) for path, module in model.named_modules() if isinstance(module, nn.Linear)]
    for path, linear in linears:
        parent, _, name = path.rpartition(".")
        replacement = Int8Linear(linear.weight.detach(), linear.bias, original(path, linear))
        setattr(model.get_submodule(parent) if parent else model, name, replacement)
    return len(linears)


def kept_in_memory(path: str, linear: nn.Linear) -> Callable[[], torch.Tensor]:
    """For `quantize_linears`: the original weight kept in memory (a model small enough for that)."""
    weight = linear.weight.detach().to(torch.float32)
    return lambda: weight


@contextlib.contextmanager
def original_weights(model: nn.Module):
    """Within: every `Int8Linear` of `model` computes with its original weight, read when used."""
    layers = [module for module in model.modules() if isinstance(module, Int8Linear)]
    for layer in layers:
        layer.use_original = True
    try:
        yield
    finally:
        for layer in layers:
            layer.use_original = False
