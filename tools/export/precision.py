#!/usr/bin/env python3
"""Convert a bundle's networks to fp16, bf16 or 8-bit: a new bundle, the chosen networks converted.

    venv/bin/python tools/export/precision.py BUNDLE OUT --precision fp16 [--branches spatial,liqe]
    venv/bin/python tools/export/precision.py BUNDLE OUT --precision bf16
    venv/bin/python tools/export/precision.py BUNDLE OUT --precision int8_weights --branches qalign
    venv/bin/python tools/export/precision.py BUNDLE OUT --precision int8_dynamic --branches spatial,liqe
    venv/bin/python tools/export/precision.py BUNDLE OUT --precision spatial=fp16,liqe=fp16,qalign=int8_weights

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
Meant for One-Align, whose linear layers hold nearly all of its 8.2B parameters.

bf16: the fp16 conversion with bfloat16 instead, weights rounded from their fp32 values. Operations
whose ONNX schema at the graph's opset has no bfloat16 (Conv and pooling before opset 22) stay fp32
behind casts. Only TensorRT runs bf16 graphs; ONNX Runtime's CPU provider has no bf16 kernels.

int8_dynamic: ONNX Runtime's dynamic quantization of the linear layers (MatMul, Gemm): int8 weights
per output channel, activations quantized to 8 bits at run time, integer products. For ONNX
Runtime on the CPU only (TensorRT has no MatMulInteger).

In an ensemble bundle, a member's own network for a converted branch (its spatial network) is
converted with the branch: the engine runs it under the branch's spec, precision included.

Each converted network is checked against its fp32 original with ONNX Runtime on the CPU, on a
fixed random input (relative L2 error of the output, printed; the conversion fails above 1e-2 for
fp16 and bf16, 5e-2 for 8-bit; --max-error sets another limit). A bf16 graph is checked through
its emulation in fp32: every value the graph holds in bf16 is rounded to bf16 (ONNX Runtime's Cast
runs bf16 on the CPU).
Networks over 2 GB are read and written with their weights in one external data file
(`<network>.data`), as ONNX requires.
The manifest records each network's precision and new SHA-256; the rest of the bundle (head,
provenance) is copied unchanged. Other branches keep their files: a bundle may mix precisions.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import ml_dtypes  # onnx's own dependency: numpy's bfloat16
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxconverter_common import float16

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ -> import vsrqa_ref
from vsrqa_ref.hashing import sha256_file  # noqa: E402
from vsrqa_ref.onnx_files import graphs, over_protobuf_limit, save_model  # noqa: E402

# The relative output error above which a conversion is refused, per precision.
MAX_RELATIVE_ERROR = {"fp16": 1e-2, "bf16": 1e-2, "int8_weights": 5e-2, "int8_dynamic": 5e-2}


def value_infos(graph: onnx.GraphProto):
    return list(graph.input) + list(graph.output) + list(graph.value_info)


def to_fp16(model: onnx.ModelProto, op_block_list: list[str] | None = None) -> onnx.ModelProto:
    """The model in fp16 with fp32 inputs and outputs."""
    exported_casts = {node.name for node in model.graph.node if node.op_type == "Cast"}
    converted = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=op_block_list,
                                                 disable_shape_infer=over_protobuf_limit(model))
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


def ops_without_bf16(model: onnx.ModelProto) -> list[str]:
    """The graph's standard operations whose schema at its opset takes no bfloat16."""
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    missing = set()
    for op_type in {node.op_type for node in model.graph.node if node.domain in ("", "ai.onnx")}:
        schema = onnx.defs.get_schema(op_type, opset)
        if schema.type_constraints and not any("tensor(bfloat16)" in c.allowed_type_strs
                                               for c in schema.type_constraints):
            missing.add(op_type)
    return sorted(missing)


def to_bf16(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model in bf16 with fp32 inputs and outputs: the fp16 conversion, retyped to bfloat16, with
    the weights and constants rounded from their fp32 values (fp16 would have clipped their range)."""
    originals, constants = {}, {}
    for graph in graphs(model.graph):
        originals.update((t.name, numpy_helper.to_array(t)) for t in graph.initializer
                         if t.data_type == TensorProto.FLOAT)
        constants.update((node.output[0], numpy_helper.to_array(a.t)) for node in graph.node
                         if node.op_type == "Constant" for a in node.attribute
                         if a.name == "value" and a.t.data_type == TensorProto.FLOAT)
    blocked = sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(ops_without_bf16(model)))
    with warnings.catch_warnings():  # fp16's range warnings: the bf16 values come from fp32 below
        warnings.simplefilter("ignore", UserWarning)
        converted = to_fp16(model, op_block_list=blocked)

    def retyped(tensor: onnx.TensorProto, fp32: np.ndarray | None) -> onnx.TensorProto:
        values = fp32 if fp32 is not None else numpy_helper.to_array(tensor).astype(np.float32)
        rounded = numpy_helper.from_array(values.astype(ml_dtypes.bfloat16))  # nearest, ties to even
        rounded.name = tensor.name
        return rounded

    for graph in graphs(converted.graph):
        for tensor in graph.initializer:
            if tensor.data_type == TensorProto.FLOAT16:
                tensor.CopyFrom(retyped(tensor, originals.get(tensor.name)))
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.name == "to" and node.op_type == "Cast" and attribute.i == TensorProto.FLOAT16:
                    attribute.i = TensorProto.BFLOAT16
                elif attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_type == TensorProto.FLOAT16:
                    fp32 = constants.get(node.output[0]) if node.op_type == "Constant" else None
                    attribute.t.CopyFrom(retyped(attribute.t, fp32))
        for value in value_infos(graph):
            if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
                value.type.tensor_type.elem_type = TensorProto.BFLOAT16
    return converted


def bf16_to_fp32(tensor: onnx.TensorProto) -> onnx.TensorProto:
    """A bfloat16 tensor as float32 (exact: bf16 is fp32's upper half)."""
    return numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name)


def bf16_emulation(model: onnx.ModelProto) -> onnx.ModelProto:
    """A bf16 graph computed in fp32, with every value the graph holds in bf16 rounded to bf16 (a
    Cast to bf16 and back after the node that makes it). ONNX Runtime's CPU provider runs Cast in
    bf16 but no bf16 arithmetic, so this is how a bf16 conversion is checked on the CPU. Each
    operation rounds its result once, as an unfused GPU kernel does; TensorRT fuses some operations
    (normalizations, attention) and rounds less."""
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    for graph in graphs(skeleton.graph):  # types and shapes are all type inference needs
        for tensor in graph.initializer:
            tensor.ClearField("raw_data")
    inferred = onnx.shape_inference.infer_shapes(skeleton)
    bf16_values = {v.name for graph in graphs(inferred.graph) for v in value_infos(graph)
                   if v.type.tensor_type.elem_type == TensorProto.BFLOAT16}
    emulated = onnx.ModelProto()
    emulated.CopyFrom(model)
    for graph in graphs(emulated.graph):
        for tensor in graph.initializer:
            if tensor.data_type == TensorProto.BFLOAT16:
                tensor.CopyFrom(bf16_to_fp32(tensor))
        for value in value_infos(graph):
            if value.type.tensor_type.elem_type == TensorProto.BFLOAT16:
                value.type.tensor_type.elem_type = TensorProto.FLOAT
        nodes = []
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_type == TensorProto.BFLOAT16:
                    attribute.t.CopyFrom(bf16_to_fp32(attribute.t))
            rounds_to_bf16 = node.op_type == "Cast" and any(a.name == "to" and a.i == TensorProto.BFLOAT16
                                                            for a in node.attribute)
            nodes.append(node)
            for j, name in enumerate(node.output):
                if name not in bf16_values and not rounds_to_bf16:
                    continue
                node.output[j] = f"{name}.unrounded"
                if rounds_to_bf16:  # the Cast itself rounds; its value goes on as fp32
                    nodes.append(helper.make_node("Cast", [node.output[j]], [name], to=TensorProto.FLOAT))
                else:
                    nodes.append(helper.make_node("Cast", [node.output[j]], [f"{name}.bf16"], to=TensorProto.BFLOAT16))
                    nodes.append(helper.make_node("Cast", [f"{name}.bf16"], [name], to=TensorProto.FLOAT))
        del graph.node[:]
        graph.node.extend(nodes)
    return emulated


def to_int8_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX Runtime's dynamic quantization of MatMul and Gemm: int8 weights per channel, activations
    quantized at run time (DynamicQuantizeLinear + MatMulInteger).

    The weights take 7 bits (`reduce_range`): on an x86 CPU without VNNI (AVX2 only: AMD Zen 1-3,
    Intel before Ice Lake), ONNX Runtime multiplies u8 activations by s8 weights with VPMADDUBSW,
    whose 16-bit sums saturate with full-range weights. That cost the tiny spatial network 7e-2
    relative error on such a CPU against 4e-3 on a VNNI one; with 7-bit weights no sum saturates,
    so a bundle scores the same on every x86 CPU."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as work:
        source, target = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
        save_model(model, source)
        quantize_dynamic(source, target, op_types_to_quantize=["MatMul", "Gemm"], per_channel=True,
                         weight_type=QuantType.QInt8, reduce_range=True,
                         use_external_data_format=over_protobuf_limit(model))
        return onnx.load(target)


CONVERT = {"fp16": to_fp16, "bf16": to_bf16, "int8_weights": to_int8_weights, "int8_dynamic": to_int8_dynamic}


def relative_error(original: Path, converted: Path, batch: int = 2) -> float:
    """L2 of the output difference over L2 of the fp32 output, on a fixed random input: the two
    networks run from their files (a network over 2 GB has its weights beside it)."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    sessions = [ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                for path in (original, converted)]
    feeds = {}
    for i, graph_input in enumerate(sessions[0].get_inputs()):
        shape = [d if isinstance(d, int) else batch for d in graph_input.shape]
        feeds[graph_input.name] = np.random.default_rng(i).standard_normal(shape).astype(np.float32)
    reference, result = (s.run(None, feeds)[0] for s in sessions)
    if result.dtype != np.float32:
        raise SystemExit(f"the converted network's output is {result.dtype}, not float32")
    return float(np.linalg.norm(result - reference) / np.linalg.norm(reference))


def parse_precisions(spec: str, names: list[str]) -> dict[str, str]:
    """`fp16` (every branch) or `spatial=fp16,qalign=int8_weights` -> {branch: precision}."""
    if "=" not in spec:
        pairs = [(name, spec) for name in names]
    else:
        pairs = [tuple(item.split("=", 1)) for item in spec.split(",") if item]
    unknown = sorted({name for name, _ in pairs} - set(names))
    if unknown:
        raise SystemExit(f"no branch {', '.join(unknown)} (the bundle has {', '.join(names)})")
    wrong = sorted({precision for _, precision in pairs} - set(CONVERT))
    if wrong:
        raise SystemExit(f"unknown precision {', '.join(wrong)} (choose from {', '.join(sorted(CONVERT))})")
    return dict(pairs)


def convert_bundle(bundle: Path, out: Path, precisions: dict[str, str], max_error: float | None = None) -> None:
    """Writes `out`: `bundle` with each branch named in `precisions` converted to its precision."""
    manifest = json.loads((bundle / "vsrqa.json").read_text())
    if out.exists():
        raise SystemExit(f"{out} exists: give a new directory")
    result = {b["name"]: precisions.get(b["name"], b.get("precision", "fp32")) for b in manifest["branches"]}
    if {"bf16", "int8_dynamic"} <= set(result.values()):  # TensorRT only, ONNX Runtime only
        raise SystemExit("no backend runs bf16 and int8_dynamic networks together: "
                         + ", ".join(f"{name}={p}" for name, p in result.items()))
    shutil.copytree(bundle, out)
    for branch in manifest["branches"]:
        precision = precisions.get(branch["name"])
        if precision is None:
            continue
        if branch.get("precision", "fp32") != "fp32":
            shutil.rmtree(out)
            raise SystemExit(f"branch {branch['name']} is {branch['precision']} already")
        # An ensemble member's own network for the branch takes the branch's precision with it:
        # the engine runs it under the branch's spec.
        networks = [(branch["name"], branch)] + [
            (f"{branch['name']} of member {member['name']}", member["networks"][branch["name"]])
            for member in manifest.get("members", []) if branch["name"] in member.get("networks", {})
        ]
        for what, entry in networks:
            try:
                convert_network(bundle, out, entry["network"], what, precision, max_error)
            except SystemExit:
                shutil.rmtree(out)
                raise
            entry["sha256"] = sha256_file(out / entry["network"])
        branch["precision"] = precision
    (out / "vsrqa.json").write_text(json.dumps(manifest, indent=2) + "\n")


def convert_network(bundle: Path, out: Path, network: str, what: str, precision: str,
                    max_error: float | None) -> None:
    """Converts `out`/`network` (a copy of `bundle`/`network`) in place, and refuses it when its
    output differs from the fp32 network's by more than the precision's bound."""
    path = out / network
    # One model in memory at a time where possible: One-Align is 4 GB in fp32 at reduced depth.
    converted = CONVERT[precision](onnx.load(path))
    emulation = bf16_emulation(converted) if precision == "bf16" else None
    save_model(converted, path)
    del converted
    with tempfile.TemporaryDirectory() as work:
        checked = path
        if emulation is not None:
            checked = Path(work) / path.name
            save_model(emulation, checked)
            del emulation
        error = relative_error(bundle / network, checked)
    limit = max_error if max_error is not None else MAX_RELATIVE_ERROR[precision]
    print(f"{what}: {precision}, relative output error {error:.2e} against fp32")
    if not error <= limit:
        raise SystemExit(f"{what}: relative error {error:.2e} is above {limit}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", type=Path, help="the bundle to convert (left unchanged)")
    ap.add_argument("out", type=Path, help="the new bundle's directory (must not exist)")
    ap.add_argument("--precision", required=True,
                    help=f"{', '.join(sorted(CONVERT))}, or per branch: spatial=fp16,qalign=int8_weights")
    ap.add_argument("--branches", help="comma-separated branches to convert (default: every one)")
    ap.add_argument("--max-error", type=float, help="refuse above this relative error instead of the precision's "
                    "default (1e-2 for fp16 and bf16, 5e-2 for 8-bit), e.g. to measure a conversion further")
    args = ap.parse_args()

    names = [branch["name"] for branch in json.loads((args.bundle / "vsrqa.json").read_text())["branches"]]
    precisions = parse_precisions(args.precision, names)
    if args.branches is not None:
        chosen = args.branches.split(",")
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise SystemExit(f"no branch {', '.join(unknown)} in {args.bundle} (it has {', '.join(names)})")
        precisions = {name: precision for name, precision in precisions.items() if name in chosen}
    convert_bundle(args.bundle, args.out, precisions, args.max_error)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
