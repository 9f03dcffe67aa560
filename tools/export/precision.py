#!/usr/bin/env python3
"""Convert a bundle's networks to fp16, or to 8-bit weights: a new bundle, the chosen networks converted.

    venv/bin/python tools/export/precision.py BUNDLE OUT --precision fp16 [--branches spatial,liqe]
    venv/bin/python tools/export/precision.py BUNDLE OUT --precision int8_weights --branches qalign

Every backend takes a network's precision from its graph: TensorRT builds strongly typed engines
from it, ONNX Runtime and tract run it as stored. So a precision is a property of the ONNX file,
and this tool writes the files. It works on any bundle, one exported from the published
checkpoints included, and needs only onnx, onnxconverter-common and onnxruntime (no PyTorch).

Each chosen network is converted by onnxconverter-common with its input and output kept fp32, so
that the backends feed and read it as before. The converter keeps in fp32 the operations on its
block list (Resize among them) behind casts. The exporters' own casts to fp32 (LIQE's and FAST-VQA's
LayerNorm inputs, Q-Align's attention) are made casts to fp16: left as they were they would feed
fp32 values into fp16 operations, a graph ONNX Runtime refuses.

int8_weights: weight-only 8-bit for the linear layers (MatMul and Gemm with a constant 2-D
weight): int8 weights with one fp32 scale per output channel (symmetric, the channel's largest
magnitude maps to 127), each followed by a DequantizeLinear. Activations stay fp32. The weights take
a quarter of their fp32 memory; ONNX Runtime and TensorRT run DequantizeLinear on constant weights.
Meant for One-Align, whose linear layers are nearly all of its 7B parameters.

Each converted network is checked against its fp32 original with ONNX Runtime on the CPU, on a
fixed random input (relative L2 error of the output, printed; the conversion fails above 1e-2 for
fp16, 5e-2 for int8_weights).
The manifest records each network's precision and new SHA-256; the rest of the bundle (head,
provenance) is copied unchanged. Other branches keep their files: a bundle may mix precisions.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxconverter_common import float16

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ -> import vsrqa_ref
from vsrqa_ref.hashing import sha256_file  # noqa: E402

# The relative output error above which a conversion is refused, per precision.
MAX_RELATIVE_ERROR = {"fp16": 1e-2, "int8_weights": 5e-2}


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model in fp16 with fp32 inputs and outputs."""
    exported_casts = {node.name for node in model.graph.node if node.op_type == "Cast"}
    converted = float16.convert_float_to_float16(model, keep_io_types=True)
    outputs = {output.name for output in converted.graph.output}
    for node in converted.graph.node:
        # Only the exporter's casts: the converter's own (named after the ops they guard) stay.
        if node.op_type != "Cast" or node.name not in exported_casts or any(o in outputs for o in node.output):
            continue
        for attribute in node.attribute:
            if attribute.name == "to" and attribute.i == TensorProto.FLOAT:
                attribute.i = TensorProto.FLOAT16
    # The converter writes shapes of its own for the values it casts, with made-up symbolic
    # dimensions (e.g. "ReduceMeanoutput_dim_1") that contradict the known ones; tract refuses
    # them. Every backend infers intermediate shapes itself, so they are dropped.
    del converted.graph.value_info[:]
    return converted


def to_int8_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Linear layers' constant 2-D weights as int8 with per-output-channel scales + DequantizeLinear."""
    initializers = {init.name: init for init in model.graph.initializer}
    consumers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    nodes = []
    for node in model.graph.node:
        name = node.input[1] if node.op_type in ("MatMul", "Gemm") and len(node.input) > 1 else None
        if name in initializers and consumers[name] == 1:
            weight = numpy_helper.to_array(initializers[name])
            if weight.ndim == 2 and weight.dtype == np.float32:
                transposed = node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute)
                axis = 0 if transposed else 1  # the output channels
                scale = np.abs(weight).max(axis=1 - axis) / 127.0
                scale[scale == 0] = 1.0
                broadcast = scale.reshape((-1, 1) if axis == 0 else (1, -1))
                quantized = np.clip(np.round(weight / broadcast), -127, 127).astype(np.int8)
                model.graph.initializer.remove(initializers[name])
                model.graph.initializer.extend([
                    numpy_helper.from_array(quantized, f"{name}.int8"),
                    numpy_helper.from_array(scale.astype(np.float32), f"{name}.scale"),
                ])
                nodes.append(helper.make_node("DequantizeLinear", [f"{name}.int8", f"{name}.scale"], [name],
                                              axis=axis, name=f"{name}.dequantize"))
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    # DequantizeLinear with an axis: opset 13.
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < 13:
            raise SystemExit(f"opset {opset.version}: per-channel DequantizeLinear needs opset 13")
    return model


CONVERT = {"fp16": to_fp16, "int8_weights": to_int8_weights}


def relative_error(original: onnx.ModelProto, converted: onnx.ModelProto, batch: int = 2) -> float:
    """L2 of the output difference over L2 of the fp32 output, on a fixed random input."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sessions = [ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
                for m in (original, converted)]
    feeds = {}
    for i, graph_input in enumerate(sessions[0].get_inputs()):
        shape = [d if isinstance(d, int) else batch for d in graph_input.shape]
        feeds[graph_input.name] = np.random.default_rng(i).standard_normal(shape).astype(np.float32)
    reference, result = (s.run(None, feeds)[0] for s in sessions)
    if result.dtype != np.float32:
        raise SystemExit(f"the converted network's output is {result.dtype}, not float32")
    return float(np.linalg.norm(result - reference) / np.linalg.norm(reference))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", type=Path, help="the bundle to convert (left unchanged)")
    ap.add_argument("out", type=Path, help="the new bundle's directory (must not exist)")
    ap.add_argument("--precision", choices=sorted(CONVERT), required=True)
    ap.add_argument("--branches", help="comma-separated branches to convert (default: every one)")
    args = ap.parse_args()

    manifest = json.loads((args.bundle / "vsrqa.json").read_text())
    names = [branch["name"] for branch in manifest["branches"]]
    chosen = names if args.branches is None else args.branches.split(",")
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise SystemExit(f"no branch {', '.join(unknown)} in {args.bundle} (it has {', '.join(names)})")
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: give a new directory")

    shutil.copytree(args.bundle, args.out)
    for branch in manifest["branches"]:
        if branch["name"] not in chosen:
            continue
        if branch.get("precision", "fp32") != "fp32":
            raise SystemExit(f"branch {branch['name']} is {branch['precision']} already")
        path = args.out / branch["network"]
        original = onnx.load(path)
        converted = CONVERT[args.precision](copy.deepcopy(original))
        error = relative_error(original, converted)
        limit = MAX_RELATIVE_ERROR[args.precision]
        print(f"{branch['name']}: {args.precision}, relative output error {error:.2e} against fp32")
        if not error <= limit:
            shutil.rmtree(args.out)
            raise SystemExit(f"{branch['name']}: relative error {error:.2e} is above {limit}")
        onnx.save(converted, path)
        branch["precision"] = args.precision
        branch["sha256"] = sha256_file(path)
    (args.out / "vsrqa.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
