"""vsrqa's exceptions: one class per status of the C API (include/vsrqa.h), with its message.

Every exception vsrqa raises is a ``VsrqaError``; ``status`` is the C status code and
``status_name`` its name. Classes for a caller's mistake also derive from ``ValueError``, those
for a failure while running from ``RuntimeError``, so code that catches the built-in kinds works.
"""

from __future__ import annotations


class VsrqaError(Exception):
    """Base class of vsrqa's exceptions."""

    status: int = -100
    status_name: str = "VSRQA_ERROR_INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgumentError(VsrqaError, ValueError):
    """An argument is out of range or inconsistent (sizes, frame rate, options, dtype, shape)."""

    status = -3
    status_name = "VSRQA_ERROR_INVALID_ARGUMENT"


class EngineClosedError(InvalidArgumentError):
    """The engine was closed (``Engine.close`` or the end of a ``with`` block)."""


class InputError(VsrqaError):
    """A file could not be opened, read or decoded."""

    status = -3
    status_name = "VSRQA_ERROR_INVALID_ARGUMENT"


class DiskFullError(VsrqaError):
    """A file could not be written: its filesystem is full. Nothing was half-written."""

    status = -3
    status_name = "VSRQA_ERROR_INVALID_ARGUMENT"


class UnsupportedFrameError(VsrqaError, ValueError):
    """The frame's format or memory cannot be processed (e.g. too small for a branch's crop)."""

    status = -4
    status_name = "VSRQA_ERROR_UNSUPPORTED_FORMAT"


class BundleError(VsrqaError):
    """The model bundle is missing, malformed or inconsistent."""

    status = -5
    status_name = "VSRQA_ERROR_BUNDLE"


class BackendError(VsrqaError, RuntimeError):
    """A backend failed while running a network."""

    status = -6
    status_name = "VSRQA_ERROR_BACKEND"


class BackendUnavailableError(VsrqaError):
    """The requested backend is not available on this host or in this build."""

    status = -7
    status_name = "VSRQA_ERROR_BACKEND_UNAVAILABLE"


class SessionFinishedError(VsrqaError, RuntimeError):
    """``push`` or ``finish`` on a session that is already finished."""

    status = -8
    status_name = "VSRQA_ERROR_SESSION_FINISHED"


class OutOfMemoryError(VsrqaError, MemoryError):
    """A buffer for this input could not be allocated. Nothing changed."""

    status = -9
    status_name = "VSRQA_ERROR_OUT_OF_MEMORY"


__all__ = [
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
