"""ONNX files over protobuf's 2 GB: when a network's weights go beside it, and how they are written.
No PyTorch: tools/export/precision.py uses it too."""
from __future__ import annotations

import shutil
from collections import Counter
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


def move_model(staged: Path, path: Path) -> bool:
    """Moves an exported model to `path`. A model over 2 GB, whose weights the exporter writes as
    one file per tensor beside it, gets them all in one file, `<name>.data`, copied a piece at a
    time: One-Align's 8 GB are never in memory at once, and each staged file is deleted once
    copied, so they are on disk about once. The staged directory, with any file no longer
    referenced, is the caller's to remove. Returns whether the model's weights are in that file."""
    model = onnx.load(str(staged), load_external_data=False)
    external = [tensor for graph in graphs(model.graph) for tensor in
                list(graph.initializer) + [attribute.t for node in graph.node for attribute in node.attribute
                                           if attribute.type == onnx.AttributeProto.TENSOR]
                if tensor.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        shutil.move(staged, path)
        return False
    data = weights_file(Path(path))
    infos = [{entry.key: entry.value for entry in tensor.external_data} for tensor in external]
    unread = Counter(info["location"] for info in infos)
    with open(data, "wb") as out:
        for tensor, info in zip(external, infos):
            location = info["location"]
            offset = out.tell()
            source_path = Path(staged).parent / location
            with open(source_path, "rb") as source:
                source.seek(int(info.get("offset", 0)))
                length = int(info["length"]) if "length" in info else None
                copied = copy_bytes(source, out, length)
            unread[location] -= 1
            if unread[location] == 0:  # the disk holds the weights about once, not twice
                source_path.unlink()
            del tensor.external_data[:]
            for key, value in (("location", data.name), ("offset", str(offset)), ("length", str(copied))):
                tensor.external_data.add(key=key, value=value)
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path))
    return True


def copy_bytes(source, target, length: int | None, chunk: int = 64 << 20) -> int:
    """Copies `length` bytes (or all that is left) from `source` to `target`; returns how many."""
    copied = 0
    while length is None or copied < length:
        piece = source.read(chunk if length is None else min(chunk, length - copied))
        if not piece:
            break
        target.write(piece)
        copied += len(piece)
    if length is not None and copied != length:
        raise SystemExit(f"{source.name}: {copied} bytes where the model says {length}")
    return copied
