"""Catalogue-scale scoring on a Ray cluster: ``score_dataset`` (or ``python -m vsrqa.ray``).

A pool of actors, one engine each (the model is loaded once per actor, not per video), scores a
list of video files and appends one JSON line per file to the output, with the fields of
``vsrqa score``'s JSON. A file that fails gets a line with its ``error`` and the run goes on. A
rerun skips the files that already have a line (``retry_failed=True`` retries failed ones), so a
run that was interrupted is finished by running it again. When a worker dies, Ray restarts it and
retries its file; a file whose worker dies every time is recorded as failed.

The videos, and the model unless ``ship_model=True``, must be readable at the same path on every
node (a shared filesystem). See docs/distributed.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import ray

#: The header names of a CSV list's path column (as ``vsrqa compare --list`` reads them).
PATH_COLUMNS = ("path", "filename", "file", "video", "name")

#: How often Ray restarts a dead worker, and retries the file it was scoring, before the file is
#: recorded as failed.
WORKER_RETRIES = 2


def read_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The video paths of ``inputs``: a list of paths, or a CSV file (one video per row; a header
    row naming the path column is optional; relative paths are relative to the CSV's directory).
    Each path appears once, in first-seen order."""
    if isinstance(inputs, (str, os.PathLike)) and str(inputs).lower().endswith(".csv"):
        listed = Path(inputs)
        with open(listed, newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f) if row and any(field.strip() for field in row)]
        column, start = 0, 0
        if rows:
            header = [field.strip().lower() for field in rows[0]]
            named = [i for i, field in enumerate(header) if field in PATH_COLUMNS]
            if named:
                column, start = named[0], 1
        paths = []
        for line, row in enumerate(rows[start:], start + 1):
            if column >= len(row) or not row[column].strip():
                raise ValueError(f"{listed}: row {line} has no path")
            path = Path(row[column].strip())
            paths.append(str(path if path.is_absolute() else listed.parent / path))
    elif isinstance(inputs, (str, os.PathLike)):
        paths = [str(inputs)]
    else:
        paths = [str(p) for p in inputs]
    return list(dict.fromkeys(paths))


def read_done(output: str | os.PathLike) -> dict[str, dict]:
    """The rows of an earlier run's output, by input path (the last row of a path wins; a line
    cut short by a crash is ignored)."""
    done: dict[str, dict] = {}
    try:
        with open(output, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                    done[row["input"]["path"]] = row
                except (ValueError, KeyError, TypeError):
                    continue
    except FileNotFoundError:
        pass
    return done


def _pack(model: str | os.PathLike) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(model), arcname="bundle")
    return buffer.getvalue()


@ray.remote
class VsrqaScorer:
    """One engine on one worker."""

    def __init__(self, model: str, packed_model: bytes | None, engine_options: dict) -> None:
        import vsrqa

        if packed_model is not None:
            self._unpacked = tempfile.TemporaryDirectory(prefix="vsrqa-bundle-")
            with tarfile.open(fileobj=io.BytesIO(packed_model)) as tar:
                # The "data" filter refuses links and paths out of the directory (Python 3.11.4+).
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(self._unpacked.name, **safe)
            model = os.path.join(self._unpacked.name, "bundle")
        self.engine = vsrqa.Engine(model, **engine_options)
        self.node = ray.get_runtime_context().get_node_id()

    def ready(self) -> str:
        return self.node

    def score(self, path: str, options: dict) -> tuple[dict, str]:
        try:
            report = self.engine.score_file(path, raise_errors=False, **options)
        except Exception as e:  # a bad option value: recorded for this file like any failure
            report = {"input": {"path": path}, "partial": False, "error": f"{path}: {e}"}
        return report, self.node


def score_dataset(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    model: str | os.PathLike,
    output: str | os.PathLike,
    *,
    backend: str = "auto",
    threads: int | None = None,
    color_conversion: str | None = None,
    num_actors: int | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    memory: float | None = None,
    ship_model: bool = False,
    retry_failed: bool = False,
    score_options: dict[str, Any] | None = None,
    progress: bool = True,
    address: str | None = None,
) -> dict[str, Any]:
    """Scores every video of ``inputs`` on the Ray cluster and writes JSON Lines to ``output``.

    - ``inputs``: paths, or a CSV file of them.
    - ``model``: the bundle directory, at that path on every node, or shipped to each actor
      through the object store with ``ship_model=True`` (for bundles of a few hundred MB).
    - ``num_actors``: default, as many as the cluster's CPUs (or GPUs) allow, at most one per
      video. Each actor takes ``num_cpus`` CPUs, ``num_gpus`` GPUs and ``memory`` bytes (Ray's
      resources), and scores with ``threads`` threads (default ``num_cpus``).
    - ``backend``, ``color_conversion``: as for ``vsrqa.Engine``; ``score_options``: the keyword
      arguments of ``Engine.score_file`` (``fps``, ``pix_fmt``, ``size``, ...).
    - ``address``: the cluster to join when Ray is not initialized yet (default: RAY_ADDRESS, or
      a local one).

    Returns a summary: ``scored``, ``failed``, ``skipped`` (done by an earlier run), ``output``, and
    ``nodes`` (files scored per node id).
    """
    # Workers run in directories of their own: every path they get is absolute.
    paths = [os.path.abspath(p) for p in read_inputs(inputs)]
    model = os.path.abspath(model)
    output = Path(output)
    done = read_done(output)
    todo = [p for p in paths if p not in done or (retry_failed and "error" in done[p])]
    summary: dict[str, Any] = {
        "scored": 0,
        "failed": 0,
        "skipped": len(paths) - len(todo),
        "output": str(output),
        "nodes": {},
    }
    if not todo:
        _compact(output, paths)
        return summary
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    engine_options = {
        "backend": backend,
        "threads": int(threads if threads is not None else max(1, round(num_cpus))),
        "color_conversion": color_conversion,
    }
    if num_actors is None:
        resources = ray.cluster_resources()
        fits = int(resources.get("GPU", 0) // num_gpus) if num_gpus else int(resources.get("CPU", 1) // max(num_cpus, 1e-9))
        num_actors = max(1, fits)
    num_actors = max(1, min(num_actors, len(todo)))
    packed = ray.put(_pack(model)) if ship_model else None
    actor_options = {
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "max_restarts": WORKER_RETRIES,
        "max_task_retries": WORKER_RETRIES,
        "scheduling_strategy": "SPREAD",
    }
    if memory:
        actor_options["memory"] = memory

    def start_actor():
        return VsrqaScorer.options(**actor_options).remote(str(model), packed, engine_options)

    options = dict(score_options or {})
    actors = [start_actor() for _ in range(num_actors)]
    try:
        ray.get([actor.ready.remote() for actor in actors])
    except ray.exceptions.RayActorError as e:
        # A model that does not load fails the run, rather than every file.
        for actor in actors:
            ray.kill(actor)
        raise RuntimeError(f"the workers could not load the model {model}: {_cause(e)}") from None
    pending = list(reversed(todo))
    running: dict[Any, tuple[Any, str]] = {}
    bar = _Progress(len(todo), progress)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "a", encoding="utf-8") as out:

        def submit(actor) -> None:
            if pending:
                path = pending.pop()
                running[actor.score.remote(path, options)] = (actor, path)

        for actor in actors:
            submit(actor)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            actor, path = running.pop(ready[0])
            node = None
            try:
                report, node = ray.get(ready[0])
            except ray.exceptions.RayActorError as e:
                # The worker died on every try (or could not start): the file is the suspect.
                report = {"input": {"path": path}, "partial": False, "error": f"{path}: the worker died: {e}"}
                actor = start_actor()
            except ray.exceptions.RayTaskError as e:
                report = {"input": {"path": path}, "partial": False, "error": f"{path}: {e}"}
            out.write(json.dumps(report) + "\n")
            out.flush()
            failed = "error" in report and not report.get("partial")
            summary["failed" if failed else "scored"] += 1
            if node is not None:
                summary["nodes"][node] = summary["nodes"].get(node, 0) + 1
            bar.update(failed)
            submit(actor)
    bar.close()
    _compact(output, paths)
    return summary


def _cause(error: Exception) -> str:
    """The message of the exception that killed an actor, without Ray's traceback."""
    cause = getattr(error, "cause", None) or getattr(error, "error_msg", None) or error
    text = str(getattr(cause, "cause", None) or cause)
    return text.strip().splitlines()[-1] if text.strip() else repr(error)


def _compact(output: Path, paths: Sequence[str]) -> None:
    """Rewrites the output with one row per input, in input order (the last row of a path
    wins: a retried file's new row), atomically."""
    rows = read_done(output)
    if not rows:
        return
    listed = set(paths)
    ordered = [rows[p] for p in paths if p in rows] + [r for p, r in rows.items() if p not in listed]
    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=output.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for row in ordered:
            f.write(json.dumps(row) + "\n")
    os.replace(temporary, output)


class _Progress:
    """A progress bar on stderr: tqdm's when it is installed, else a line per tenth of the run."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.failed, self.enabled = total, 0, 0, enabled
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="video", desc="vsrqa")
            except ImportError:
                pass

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed)
        elif self.enabled and (self.done == self.total or self.done % max(1, self.total // 10) == 0):
            print(f"vsrqa: {self.done}/{self.total} videos ({self.failed} failed)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vsrqa.ray", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="video files, or one CSV file listing them")
    p.add_argument("-m", "--model", required=True, metavar="DIR", help="the model bundle directory")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the JSON Lines file (appended to)")
    p.add_argument("--address", help="the Ray cluster (default: RAY_ADDRESS, or a local one)")
    p.add_argument("--backend", default="auto")
    p.add_argument("--threads", type=int, help="threads per actor (default: --num-cpus)")
    p.add_argument("--color-conversion", choices=["reference", "exact"])
    p.add_argument("--num-actors", type=int)
    p.add_argument("--num-cpus", type=float, default=1, help="CPUs per actor")
    p.add_argument("--num-gpus", type=float, default=0, help="GPUs per actor")
    p.add_argument("--memory", type=float, help="bytes of memory per actor (Ray's resource)")
    p.add_argument("--ship-model", action="store_true", help="send the bundle to the workers through Ray")
    p.add_argument("--retry-failed", action="store_true", help="score again the files an earlier run failed on")
    cut = p.add_mutually_exclusive_group()
    cut.add_argument("--window", type=float, metavar="SECONDS",
                     help="score long files in windows of SECONDS (default: the model's span, 8 key frames)")
    cut.add_argument("--whole-clip", action="store_true", help="one clip per file: its first 8 key frames")
    p.add_argument("--pooling", metavar="NAME", help="how windows pool: mean, harmonic_mean, min, p1 to p99")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    args = p.parse_args(argv)
    inputs = args.inputs[0] if len(args.inputs) == 1 and args.inputs[0].lower().endswith(".csv") else args.inputs
    try:
        summary = run(args, inputs)
    except (RuntimeError, ValueError, OSError) as e:
        print(f"vsrqa: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def run(args: argparse.Namespace, inputs: Any) -> dict[str, Any]:
    return score_dataset(
        inputs,
        args.model,
        args.output,
        backend=args.backend,
        threads=args.threads,
        color_conversion=args.color_conversion,
        num_actors=args.num_actors,
        num_cpus=args.num_cpus,
        num_gpus=args.num_gpus,
        memory=args.memory,
        ship_model=args.ship_model,
        retry_failed=args.retry_failed,
        score_options={
            k: v
            for k, v in dict(window=args.window, whole_clip=args.whole_clip or None, pooling=args.pooling).items()
            if v is not None
        },
        progress=not args.quiet,
        address=args.address,
    )


if __name__ == "__main__":
    sys.exit(main())
