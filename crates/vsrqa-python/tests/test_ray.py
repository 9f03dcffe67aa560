"""Batch scoring on a real two-node Ray cluster on this machine: a head on 127.0.0.1 and a second
node joining it (`ray start --address`), generated videos (one broken), results against the CLI,
a worker killed mid-way, and reruns that skip what was scored."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY, cli_path

RAY = [sys.executable, "-m", "ray.scripts.scripts"]
# A cluster of this machine alone, on 127.0.0.1: no token authentication (Ray turns it on when a
# token file from another cluster lies in ~/.ray, and then refuses the second node).
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


# Ports Ray's components take by default: a head port equal to one of them makes `ray start`
# refuse to start ("used by other components"), as happened once with 52365.
RAY_DEFAULT_PORTS = {6379, 8076, 8265, 10001, 52365}


def free_port() -> int:
    """A free port on 127.0.0.1 that none of Ray's components takes by default."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RAY_DEFAULT_PORTS:
            return port


def ray_start(*args: str) -> None:
    done = subprocess.run([*RAY, "start", *args], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, f"ray start {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each (each node an actor), small object stores."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]
    try:
        ray_start("--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--include-dashboard=false", *common)
        ray_start(f"--address={address}", *common)
        yield address
    finally:
        subprocess.run([*RAY, "stop", "--force"], env=ENV, capture_output=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    """Eight short clips of different sizes and lengths, and a broken file."""
    folder = tmp_path_factory.mktemp("videos")
    paths = []
    for i in range(8):
        path = folder / f"clip{i}.mp4"
        size = ["96x64", "64x48", "80x64", "112x80"][i % 4]
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=8:duration={1 + i % 3}",
             "-vf", f"hue=h={40 * i}", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
            check=True,
        )
        paths.append(path)
    broken = folder / "broken.mp4"
    broken.write_bytes(paths[0].read_bytes()[:300])
    paths.insert(3, broken)
    return paths


def run_driver(address: str, inputs: list[Path], output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vsrqa.ray", "-m", str(TINY), "-o", str(output), "--address", address, "-q",
         *extra, *map(str, inputs)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(driver: subprocess.Popen, timeout: float = 300) -> dict:
    stdout, stderr = driver.communicate(timeout=timeout)
    assert driver.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def rows(output: Path) -> list[dict]:
    return [json.loads(line) for line in output.read_text().splitlines()]


def wait_for_rows(output: Path, count: int, driver: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if output.exists() and output.read_text().count("\n") >= count:
            return
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    pytest.fail(f"no {count} rows in {timeout} s")


def scoring_workers() -> list[int]:
    """The process ids of the scoring actors (Ray titles them "ray::VsrqaScorer...")."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::VsrqaScorer"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


def test_scores_across_two_nodes_as_the_cli_does(cluster, videos, tmp_path):
    output = tmp_path / "scores.jsonl"
    summary = finish(run_driver(cluster, videos, output))
    assert (summary["scored"], summary["failed"], summary["skipped"]) == (len(videos) - 1, 1, 0)
    assert len(summary["nodes"]) == 2, summary  # both nodes scored
    results = rows(output)
    assert [r["input"]["path"] for r in results] == [str(v) for v in videos]  # input order
    cli = subprocess.run([str(cli_path()), "score", "-m", str(TINY), *map(str, videos)], capture_output=True, text=True)
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(expected) == len(videos)
    for ours, theirs in zip(results, expected):
        if "broken" in ours["input"]["path"]:
            assert "error" in ours and "clip_score" not in ours
            assert ours["error"] == theirs["error"]
        else:
            assert ours == theirs


def test_a_killed_worker_and_reruns_score_each_file_once(cluster, videos, tmp_path):
    output = tmp_path / "scores.jsonl"
    driver = run_driver(cluster, videos, output)
    wait_for_rows(output, 2, driver)
    workers = scoring_workers()
    assert workers, "no scoring worker found"
    os.kill(workers[0], signal.SIGKILL)
    summary = finish(driver)
    assert summary["scored"] + summary["failed"] == len(videos)  # the killed worker's file was retried
    assert summary["failed"] == 1  # the broken file only
    first = output.read_text()
    assert sorted(r["input"]["path"] for r in rows(output)) == sorted(map(str, videos))

    again = finish(run_driver(cluster, videos, output))
    assert (again["scored"], again["failed"], again["skipped"]) == (0, 0, len(videos))
    assert output.read_text() == first


def test_a_rerun_after_the_driver_dies_scores_only_the_rest(cluster, videos, tmp_path):
    output = tmp_path / "scores.jsonl"
    driver = run_driver(cluster, videos, output)
    wait_for_rows(output, 3, driver)
    driver.kill()
    driver.communicate()
    before = {r["input"]["path"]: r for r in rows(output)}
    assert 3 <= len(before) < len(videos), "the run finished before it could be interrupted"
    summary = finish(run_driver(cluster, videos, output))
    assert summary["skipped"] == len(before)
    assert summary["scored"] + summary["failed"] == len(videos) - len(before)
    after = {r["input"]["path"]: r for r in rows(output)}
    assert sorted(after) == sorted(map(str, videos))
    assert all(after[p] == row for p, row in before.items())  # nothing scored twice


def test_a_model_that_does_not_load_fails_the_run(cluster, videos, tmp_path):
    output = tmp_path / "scores.jsonl"
    driver = subprocess.run(
        [sys.executable, "-m", "vsrqa.ray", "-m", str(tmp_path), "-o", str(output), "--address", cluster, "-q",
         str(videos[0])],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert driver.returncode == 1
    assert "could not load the model" in driver.stderr and "vsrqa.json" in driver.stderr
    assert not output.exists()


def test_the_model_can_travel_through_the_object_store(cluster, videos, tmp_path):
    output = tmp_path / "scores.jsonl"
    csv = tmp_path / "list.csv"
    csv.write_text("path,note\n" + "".join(f"{os.path.relpath(v, tmp_path)},x\n" for v in videos[:2]))
    summary = finish(run_driver(cluster, [csv], output, "--ship-model"))
    assert summary["scored"] == 2
    shipped = rows(output)
    assert [r["input"]["path"] for r in shipped] == [str(v) for v in videos[:2]]
    assert all(r["model"]["path"] != str(TINY) for r in shipped)  # each worker's own copy
    cli = [json.loads(line) for line in subprocess.run(
        [str(cli_path()), "score", "-m", str(TINY), *map(str, videos[:2])], capture_output=True, text=True).stdout.splitlines()]
    assert [r["clip_score"] for r in shipped] == [r["clip_score"] for r in cli]
