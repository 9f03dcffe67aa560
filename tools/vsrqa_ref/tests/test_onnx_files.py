"""Networks over protobuf's 2 GB: the exporter's one-file-per-tensor output gathered into one
`<network>.data`, a piece at a time (onnx_files.move_model). Needs onnx and numpy, no PyTorch."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from vsrqa_ref import onnx_files  # noqa: E402

WEIGHTS = {"first": (np.arange(6 * 5, dtype=np.float32).reshape(6, 5) - 7) / 3,
           "second": np.arange(5 * 4, dtype=np.int8).reshape(5, 4) - 9,
           "scale": np.linspace(0.5, 2.0, 4, dtype=np.float32)}


def exported(folder: Path) -> Path:
    """A model as the exporter writes one over 2 GB: every tensor in a file of its own."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "first"], ["hidden"]),
         helper.make_node("DequantizeLinear", ["second", "scale"], ["second_fp32"], axis=1),
         helper.make_node("MatMul", ["hidden", "second_fp32"], ["output"])],
        "two_layers", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(value, name) for name, value in WEIGHTS.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "net.onnx"
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0)
    assert len(list(folder.iterdir())) == 1 + len(WEIGHTS)
    return path


def test_external_tensors_are_gathered_into_one_file_with_their_values(tmp_path):
    (tmp_path / "staged").mkdir()
    staged = exported(tmp_path / "staged")
    out = tmp_path / "bundle"
    out.mkdir()
    assert onnx_files.move_model(staged, out / "net.onnx") is True
    assert sorted(p.name for p in staged.parent.iterdir()) == ["net.onnx"]  # each copied file deleted
    assert sorted(p.name for p in out.iterdir()) == ["net.onnx", "net.onnx.data"]
    onnx.checker.check_model(str(out / "net.onnx"))
    model = onnx.load(str(out / "net.onnx"))  # reads the values back from net.onnx.data
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert values.keys() == WEIGHTS.keys()
    for name, value in WEIGHTS.items():
        assert values[name].dtype == value.dtype and np.array_equal(values[name], value), name
    sizes = sum(value.nbytes for value in WEIGHTS.values())
    assert (out / "net.onnx.data").stat().st_size == sizes  # nothing twice, nothing missing


def test_copying_is_in_pieces_and_checks_the_length(tmp_path):
    source = tmp_path / "source"
    source.write_bytes(bytes(range(256)) * 10)
    with open(source, "rb") as reader, open(tmp_path / "target", "wb") as writer:
        reader.seek(100)
        assert onnx_files.copy_bytes(reader, writer, 1000, chunk=7) == 1000
    assert (tmp_path / "target").read_bytes() == source.read_bytes()[100:1100]
    with open(source, "rb") as reader, open(tmp_path / "short", "wb") as writer:
        reader.seek(2500)
        with pytest.raises(SystemExit, match="60 bytes where the model says 1000"):
            onnx_files.copy_bytes(reader, writer, 1000)


def test_a_model_with_its_weights_inside_is_moved_unchanged(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["output"])], "relu",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [2])])
    staged = tmp_path / "staged.onnx"
    onnx.save(helper.make_model(graph), staged)
    data = staged.read_bytes()
    assert onnx_files.move_model(staged, tmp_path / "net.onnx") is False
    assert (tmp_path / "net.onnx").read_bytes() == data and not staged.exists()
    assert not (tmp_path / "net.onnx.data").exists()
