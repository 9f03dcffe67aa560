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

import glob
import importlib.util
import os


def _onnxruntime_from_its_wheel() -> None:
    """Points the ``onnxruntime`` backend at the library of the ``onnxruntime`` pip package when
    it is installed and ORT_DYLIB_PATH is not set: ``pip install onnxruntime`` is then all the
    backend needs. (vsrqa reads the variable when an engine first loads the library.)"""
    if os.environ.get("ORT_DYLIB_PATH"):
        return
    spec = importlib.util.find_spec("onnxruntime")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        libraries = sorted(glob.glob(os.path.join(folder, "capi", "libonnxruntime.so*")))
        if libraries:
            os.environ["ORT_DYLIB_PATH"] = libraries[0]
            return


_onnxruntime_from_its_wheel()

from . import _errors  # noqa: E402 (after the library's environment is set)
from ._errors import *  # noqa: E402,F403 (the exception classes)
from ._native import Engine, Session, backends, version  # noqa: E402

__version__ = version()

__all__ = ["Engine", "Session", "backends", "version", *_errors.__all__]
