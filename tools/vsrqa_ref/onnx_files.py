"""ONNX files over protobuf's 2 GB: when a network's weights go beside it, and how they are written.
No PyTorch: tools/export/precision.py uses it too."""
from __future__ import annotations

from pathlib import Path

import onnx

# A protobuf message cannot exceed 2 GB: larger networks keep their weights in an external file.
PROTOBUF_LIMIT = 2_000_000_000


def weights_file(path: Path) -> Path:
    """Where a network over 2 GB keeps its weights: one file beside it, `<network>.data`."""
    return path.with_name(path.name + ".data")


def graphs(graph: onnx.GraphProto):
    """`graph` and every subgraph in it (If and Loop bodies), depth first."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from graphs(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for subgraph in attribute.graphs:
                    yield from graphs(subgraph)


def over_protobuf_limit(model: onnx.ModelProto) -> bool:
    """Whether the model is too large for one protobuf message (ByteSize itself fails there): its
    tensors' bytes, with a margin for the graph."""
    tensors = [t for graph in graphs(model.graph) for t in graph.initializer]
    tensors += [a.t for graph in graphs(model.graph) for node in graph.node for a in node.attribute
                if a.type == onnx.AttributeProto.TENSOR]
    size = sum(len(t.raw_data) + 4 * (len(t.float_data) + len(t.int32_data)) + 8 * len(t.int64_data)
               for t in tensors)
    return size > PROTOBUF_LIMIT - 100_000_000


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Writes `model`; above protobuf's 2 GB its weights go to `weights_file(path)`, which empties
    the model's tensors: pass a model you are done with."""
    path = Path(path)
    weights_file(path).unlink(missing_ok=True)
    if over_protobuf_limit(model):
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=weights_file(path).name, size_threshold=1024)
    else:
        onnx.save_model(model, path)
