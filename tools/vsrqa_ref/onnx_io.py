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

from .onnx_files import weights_file


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
    # ONNX Runtime fuses an 8-bit weight's DequantizeLinear and its MatMul into MatMulNBits, which
    # by default quantizes the activations to 8 bits too: 0 keeps them fp32, what the graph says.
    so.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def onnx_vs_torch(model, sess, x: torch.Tensor) -> float:
    with torch.no_grad():
        ref = model(x).numpy()
    got = sess.run(["output"], {"input": x.numpy()})[0]
    assert got.shape == ref.shape, (got.shape, ref.shape)
    return float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max())


def describe_onnx(path: Path) -> dict:
    m = onnx.load(str(path), load_external_data=False)
    onnx.checker.check_model(str(path))  # by path: a model over 2 GB has its weights beside it
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
        "bytes": sum(p.stat().st_size for p in (path, weights_file(path)) if p.exists()),
    }


def fold_constant_subgraphs(path: Path, max_bytes: int = 1 << 20) -> int:
    """Replaces every node whose inputs are all constants (initializers, Constant nodes, or outputs of
    nodes folded before) by its value, in place; returns how many nodes were folded.

    Why: Q-Align's model code finds the image token in the prompt with `torch.where(ids == -200)`; the
    prompt is a constant, but the tracer keeps the computation, and its NonZero is an op TensorRT-RTX
    does not have (it needs a plugin there). Folded, every branch builds on TensorRT-RTX. Values are
    computed by ONNX's reference evaluator, so a folded float computation may differ from the runtime's
    in the last bit; callers check the result against PyTorch as before. A node whose value would be
    larger than `max_bytes` stays (folding must not grow the file), and so does everything after it.
    External data (a model over 2 GB) is left where it is: a large tensor is read from it only for
    a node whose inputs are all constant, and a weight that nothing reads any more is dropped."""
    from onnx import helper, numpy_helper
    from onnx.external_data_helper import load_external_data_for_tensor
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    base_dir = str(Path(path).parent)
    for node in graph.node:  # the exporter puts large Constant values in external files too
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_location == onnx.TensorProto.EXTERNAL:
                load_external_data_for_tensor(attribute.t, base_dir)
                attribute.t.data_location = onnx.TensorProto.DEFAULT
                del attribute.t.external_data[:]
    known: dict[str, np.ndarray] = {}
    # Large external weights are read only when a node with constant inputs needs them: e.g.
    # One-Align's token embedding (0.5 GB), of which the constant prompt reads 40 rows.
    external: dict[str, onnx.TensorProto] = {}
    for tensor in graph.initializer:
        size = int(np.prod(tensor.dims)) * helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        if tensor.data_location != onnx.TensorProto.EXTERNAL or size <= max_bytes:
            known[tensor.name] = numpy_helper.to_array(tensor, base_dir=base_dir)
        else:
            external[tensor.name] = tensor

    read: dict[str, np.ndarray] = {}  # large weights read once, however many constant nodes use them

    def constant(name: str) -> np.ndarray:
        if name in known:
            return known[name]
        if name not in read:
            read[name] = numpy_helper.to_array(external[name], base_dir=base_dir)
        return read[name]

    def evaluate(node, inputs: list[str]) -> list[np.ndarray]:
        values = {name: constant(name) for name in inputs}
        declared = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(values[name].dtype),
                                                  values[name].shape) for name in inputs]
        outputs = [helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None) for name in node.output]
        single = helper.make_model(helper.make_graph([node], "fold", declared, outputs),
                                   opset_imports=model.opset_import, ir_version=model.ir_version)
        return [np.asarray(v) for v in ReferenceEvaluator(single).run(None, values)]

    kept, folded = [], 0
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.domain not in ("", "ai.onnx") or not all(name in known or name in external for name in inputs):
            kept.append(node)
            continue
        if node.op_type == "DequantizeLinear":  # an 8-bit weight stays 8-bit: folded, it would be fp32
            kept.append(node)
            continue
        if node.op_type == "Constant":
            # Stays a node; its value feeds the folding of the nodes after it.
            known.update(zip(node.output, evaluate(node, inputs)))
            kept.append(node)
            continue
        values = evaluate(node, inputs)
        if sum(v.nbytes for v in values) > max_bytes:
            kept.append(node)
            continue
        for name, value in zip(node.output, values):
            known[name] = value
            graph.initializer.append(numpy_helper.from_array(value, name))
        folded += 1
    del graph.node[:]
    graph.node.extend(kept)

    # Drop what nothing reads any more (the constants that only fed folded nodes).
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    initializers = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    constants = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(constants)
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path))
    return folded
