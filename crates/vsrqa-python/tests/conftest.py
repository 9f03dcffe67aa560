"""Shared fixtures: the repository's test data, the CLI to compare with, and frames read from
the sample clip."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
TINY = DATA / "tiny_bundle"
SAMPLE = DATA / "sample.y4m"


def cli_path() -> Path:
    """The vsrqa CLI the package is compared with: VSRQA_CLI, else the workspace's debug build
    (scripts/test.sh builds it before pytest runs)."""
    path = Path(os.environ.get("VSRQA_CLI", ROOT / "target" / "debug" / "vsrqa"))
    if not path.exists():
        pytest.fail(f"the vsrqa CLI is not built at {path}: run cargo build -p vsrqa-cli (or set VSRQA_CLI)")
    return path


def cli_json(*args: str, cwd: Path = ROOT) -> dict:
    """`vsrqa score` (JSON) of one file, parsed."""
    done = subprocess.run([str(cli_path()), "score", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def read_y4m(path: Path) -> tuple[np.ndarray, int, int]:
    """A 4:2:0 Y4M file's frames as a [T, H * 3 / 2, W] uint8 array, with W and H."""
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = {f[:1]: f[1:] for f in header.split()[1:]}
    width, height = int(fields[b"W"]), int(fields[b"H"])
    size = width * height * 3 // 2
    frames = []
    while rest:
        marker, _, rest = rest.partition(b"\n")
        assert marker.startswith(b"FRAME"), marker
        frames.append(np.frombuffer(rest[:size], dtype=np.uint8).reshape(height * 3 // 2, width))
        rest = rest[size:]
    return np.stack(frames), width, height


@pytest.fixture(scope="session")
def sample_yuv() -> np.ndarray:
    return read_y4m(SAMPLE)[0]


@pytest.fixture(scope="session")
def sample_rgb(tmp_path_factory) -> np.ndarray:
    """The sample clip as rgb24 frames, converted by FFmpeg (the same bytes the CLI reads raw)."""
    frames, width, height = read_y4m(SAMPLE)
    raw = tmp_path_factory.mktemp("rgb") / "sample.rgb"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(SAMPLE), "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)],
        check=True,
    )
    return np.fromfile(raw, dtype=np.uint8).reshape(len(frames), height, width, 3)


@pytest.fixture(scope="session")
def engine():
    import vsrqa

    # The CLI's defaults (backend auto, threads 0), so that both compute the same way.
    return vsrqa.Engine(str(TINY))
