"""vsrqa: a learned quality metric for super-resolved video.

>>> import vsrqa
>>> engine = vsrqa.Engine("tests/data/tiny_bundle")
>>> report = engine.score_file("tests/data/sample.y4m")      # the CLI's JSON fields
>>> report["clip_score"]

``Engine.score_frames`` scores numpy frames (``[T, H, W, 3]`` uint8 RGB, or 4:2:0 YUV with
``format=``), ``Engine.session`` streams them, ``Engine.features`` gives the head's inputs, and
``vsrqa.ray.score_dataset`` scores a catalogue on a Ray cluster. Scoring releases the GIL.
"""

from __future__ import annotations

from ._errors import (
    BackendError,
    BackendUnavailableError,
    BundleError,
    DiskFullError,
    EngineClosedError,
    InputError,
    InvalidArgumentError,
    OutOfMemoryError,
    SessionFinishedError,
    UnsupportedFrameError,
    VsrqaError,
)
from ._native import Engine, Session, backends, version

__version__ = version()

__all__ = [
    "Engine",
    "Session",
    "backends",
    "version",
    "VsrqaError",
    "InvalidArgumentError",
    "EngineClosedError",
    "InputError",
    "DiskFullError",
    "UnsupportedFrameError",
    "BundleError",
    "BackendError",
    "BackendUnavailableError",
    "SessionFinishedError",
    "OutOfMemoryError",
]
