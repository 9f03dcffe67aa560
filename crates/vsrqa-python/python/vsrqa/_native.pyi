"""Type stubs of vsrqa's native module (re-exported by ``vsrqa``)."""

from os import PathLike
from types import TracebackType
from typing import Any, Sequence

#: A frame array: ``[T, H, W, C]`` uint8 for rgb24/bgr24 (C = 3) and rgba/bgra (C = 4);
#: ``[T, H * 3 / 2, W]`` for yuv420p/nv12 (uint8) and yuv420p10le/p010le (uint16). Without the
#: leading T for one frame. A numpy array, anything with the buffer protocol, or a host tensor
#: with ``__dlpack__`` (torch, jax, cupy's host arrays).
Frames = Any

def version() -> str:
    """vsrqa's version."""

def backends() -> list[tuple[str, str | None]]:
    """Each backend and why it cannot run here (None when it can)."""

class Engine:
    """A loaded model bundle on one backend; shared by threads and sessions.

    Scoring releases the GIL. ``backend``: "auto", "cpu", "onnxruntime" or "tensorrt";
    ``threads``: CPU threads per network run (0 = all cores); ``color_conversion``: "reference"
    or "exact" (default: the bundle's); ``device``: the CUDA device of the tensorrt backend;
    ``members``: an ensemble bundle's members to run, by name (default: all).
    Raises BundleError, BackendUnavailableError or InvalidArgumentError.
    """

    def __init__(
        self,
        model: str | PathLike[str],
        backend: str = "auto",
        threads: int = 0,
        color_conversion: str | None = None,
        device: int | None = None,
        members: Sequence[str] | None = None,
    ) -> None: ...
    def close(self) -> None:
        """Frees the networks once no session uses them; later calls raise EngineClosedError."""
    def __enter__(self) -> Engine: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def model_path(self) -> str: ...
    @property
    def model_name(self) -> str: ...
    @property
    def backend(self) -> str:
        """The backend in use (the one "auto" chose)."""
    @property
    def color_conversion(self) -> str: ...
    @property
    def branches(self) -> list[dict[str, Any]]:
        """Each branch's ``name`` and ``output_dim``, in feature order."""
    @property
    def members(self) -> list[str]:
        """The ensemble members this engine runs, in the order of results' ``member_scores``
        (empty when the bundle is not an ensemble)."""
    @property
    def provenance_warning(self) -> str | None:
        """Why the bundle's scores mean nothing (random or unknown weights), or None."""
    def score_file(
        self,
        path: str | PathLike[str],
        *,
        fps: float | None = None,
        pix_fmt: str | None = None,
        size: str | None = None,
        color_matrix: str | None = None,
        color_range: str | None = None,
        reference: str | PathLike[str] | None = None,
        window: float | None = None,
        whole_clip: bool = False,
        pooling: str | None = None,
        raise_errors: bool = True,
    ) -> dict[str, Any]:
        """Scores a video file as ``vsrqa score`` does: the CLI's JSON object.

        A file longer than the model's span (8 key frames) is scored in windows of that span
        (``window`` seconds to set another), pooled by ``pooling`` (mean, harmonic_mean, min,
        p1 to p99); ``whole_clip=True`` keeps the reference's single clip. The report's
        ``scoring``, ``coverage`` and ``windows`` say what the score covers.

        A file that fails raises InputError (InvalidArgumentError for a wrong option); with
        ``raise_errors=False`` the report carries an ``error`` field instead. A stream that
        breaks mid-way returns the frames before it, with ``partial: True`` and ``error``.
        """
    def _check_file_options(self, **options: Any) -> None: ...
    def _score_file_report(self, path: str | PathLike[str], **options: Any) -> tuple[dict[str, Any], bool]: ...
    def score_frames(
        self,
        frames: Frames,
        fps: float,
        *,
        format: str = "rgb24",
        matrix: str | None = None,
        range: str | None = None,
    ) -> dict[str, Any]:
        """Scores frames as one clip: ``clip_score``, ``frames``, ``key_frames``,
        ``pooled_slots`` and ``frame_scores`` (``frame_index``, ``key_frame``, ``score``)."""
    def features(
        self,
        frames: Frames | str | PathLike[str],
        fps: float | None = None,
        *,
        format: str = "rgb24",
        matrix: str | None = None,
        range: str | None = None,
    ) -> dict[str, Any]:
        """The head's inputs for a clip (frames, or a video file): ``features``, a float32 array
        [pooled slots, sum of the branches' output_dim], with the clip's score fields. For a
        file, ``matrix`` and ``range`` override its tags."""
    def session(
        self,
        fps: float,
        *,
        expected_frames: int | None = None,
        format: str = "rgb24",
        matrix: str | None = None,
        range: str | None = None,
    ) -> Session:
        """Starts a stream of frames of one format and size."""

class Session:
    """A stream of frames; key-frame scores come out as they complete."""

    def push(self, frames: Frames) -> None:
        """Pushes one frame, or several with a leading frame axis."""
    def poll(self) -> list[dict[str, Any]]:
        """The key-frame scores ready since the last poll, oldest first."""
    def finish(self) -> dict[str, Any]:
        """Ends the clip: its score, and the key-frame scores not polled yet."""
    @property
    def frames_pushed(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    def pooled_features(self) -> list[list[float]]:
        """After finish: the head's input rows."""
