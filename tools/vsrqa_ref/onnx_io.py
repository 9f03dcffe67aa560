"""ONNX export and checks shared by tools/export and tools/fixtures."""
from __future__ import annotations

import inspect
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch


def export_onnx(model: torch.nn.Module, sample_shape, path: Path, opset: int = 17, dynamic_batch: bool = True) -> None:
    """Legacy (TorchScript) export, input "input" and output "output", batch axis "N" when dynamic."""
    kwargs = dict(
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}} if dynamic_batch else None,
        opset_version=opset,
        do_constant_folding=True,
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the legacy TorchScript exporter
    dummy = torch.randn(*sample_shape, generator=torch.Generator().manual_seed(100))
    with warnings.catch_warnings():
        # The legacy exporter's deprecation notice, timm's meshgrid notice and the tracer's notes about
        # Python booleans from shape asserts. Correctness is checked below against PyTorch instead.
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, (dummy,), str(path), **kwargs)


def ort_session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def onnx_vs_torch(model, sess, x: torch.Tensor) -> float:
    with torch.no_grad():
        ref = model(x).numpy()
    got = sess.run(["output"], {"input": x.numpy()})[0]
    assert got.shape == ref.shape, (got.shape, ref.shape)
    return float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max())


def describe_onnx(path: Path) -> dict:
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    ops = Counter(n.op_type for n in m.graph.node)
    inp = m.graph.input[0]
    out = m.graph.output[0]

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    return {
        "ir_version": m.ir_version,
        "opset": {o.domain or "ai.onnx": o.version for o in m.opset_import},
        "producer": f"{m.producer_name} {m.producer_version}",
        "input": (inp.name, dims(inp)),
        "output": (out.name, dims(out)),
        "nodes": len(m.graph.node),
        "op_types": dict(sorted(ops.items())),
        "bytes": path.stat().st_size,
    }
