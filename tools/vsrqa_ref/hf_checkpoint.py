"""The tensors of a Hugging Face model folder, read one at a time.

`from_pretrained` holds the whole model in memory at the dtype asked for; One-Align in fp32 is
33 GB. This reader opens the folder's files without reading them (safetensors and PyTorch's zip
format are both memory-mapped) and reads a tensor when it is asked for, so a model can be built
one layer at a time."""
from __future__ import annotations

import json
from pathlib import Path

import torch

# A folder holds one of these: an index naming each tensor's shard, or a single file.
INDEXES = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]
SINGLE_FILES = ["model.safetensors", "pytorch_model.bin"]


class CheckpointTensors:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.files: dict[str, Path] = {}  # tensor name -> its file
        for index in INDEXES:
            if (self.folder / index).is_file():
                weight_map = json.loads((self.folder / index).read_text())["weight_map"]
                self.files = {name: self.folder / file for name, file in weight_map.items()}
                break
        else:
            single = next((self.folder / f for f in SINGLE_FILES if (self.folder / f).is_file()), None)
            if single is None:
                raise SystemExit(f"{self.folder}: no weights (none of {', '.join(INDEXES + SINGLE_FILES)})")
            self.files = {name: single for name in self._open(single).keys()}
        self._opened: dict[Path, object] = {}

    def _open(self, file: Path):
        if file.suffix == ".safetensors":
            from safetensors import safe_open
            return safe_open(str(file), framework="pt")
        # PyTorch's zip format, memory-mapped: a tensor's bytes are read when it is used.
        return torch.load(file, map_location="cpu", mmap=True, weights_only=True)

    def names(self) -> set[str]:
        return set(self.files)

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def get(self, name: str) -> torch.Tensor:
        file = self.files.get(name)
        if file is None:
            raise KeyError(name)
        if file not in self._opened:
            if not file.is_file():
                raise SystemExit(f"{file}: missing (the index names it for {name})")
            self._opened[file] = self._open(file)
        opened = self._opened[file]
        return opened.get_tensor(name) if hasattr(opened, "get_tensor") else opened[name]
