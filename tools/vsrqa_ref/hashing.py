"""The SHA-256 of a file or a checkpoint folder, as vsrqa's manifests record it (no PyTorch needed)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Streamed: checkpoints can be larger than memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_folder(root: Path) -> str:
    """A checkpoint folder's (One-Align's) hash: the SHA-256 of its `sha256sum` listing, one line
    `<hex>  <relative path>` per file, paths sorted bytewise (docs/bundle.md, "Provenance")."""
    paths = sorted((p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()), key=str.encode)
    listing = "".join(f"{sha256_file(root / p)}  {p}\n" for p in paths)
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def sha256_path(path: Path) -> str:
    """sha256_folder for a folder, else sha256_file."""
    return sha256_folder(path) if path.is_dir() else sha256_file(path)
