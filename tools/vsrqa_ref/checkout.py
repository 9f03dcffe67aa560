"""Locating another project's source checkout whose model code the reference imports (not copied)."""
from __future__ import annotations

import os
from pathlib import Path


def checkout(path: str | Path | None, env: str, option: str, marker: str, where: str) -> Path:
    """`path`, else $`env`; it must contain the file `marker`. `where` says what to check out."""
    path = path or os.environ.get(env)
    if not path:
        raise SystemExit(f"pass {option} DIR or set {env} to a checkout of {where}")
    root = Path(path)
    if not (root / marker).is_file():
        raise SystemExit(f"{root}: no {marker} there")
    return root
