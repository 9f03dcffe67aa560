"""The package's API against the CLI on the same inputs, and its errors for bad inputs."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import vsrqa
from conftest import DATA, ROOT, SAMPLE, TINY, cli_json, cli_path


@pytest.mark.parametrize(
    "name",
    ["sample.y4m", "opencv/h264_420.mp4", "opencv/h264_10bit.mp4", "opencv/vp9_odd.webm"],
)
def test_score_file_is_the_clis_json(engine, name):
    path = DATA / name
    assert engine.score_file(str(path)) == cli_json("-m", str(TINY), str(path))


def test_score_file_takes_the_clis_options(engine, tmp_path, sample_rgb):
    raw = tmp_path / "frames.rgb"
    sample_rgb.tofile(raw)
    t, h, w, _ = sample_rgb.shape
    options = dict(pix_fmt="rgb24", size=f"{w}x{h}", fps=8.0, reference=str(raw))
    ours = engine.score_file(str(raw), **options)
    theirs = cli_json("-m", str(TINY), "--pix-fmt", "rgb24", "--size", f"{w}x{h}", "--fps", "8", "--reference", str(raw), str(raw))
    assert ours == theirs
    assert ours["reference"]["frames_compared"] == len(ours["frame_scores"]) > 0


def test_score_frames_equals_the_cli_on_the_same_frames(engine, sample_yuv, sample_rgb):
    from_yuv = engine.score_frames(sample_yuv, 8.0, format="yuv420p")
    cli = cli_json("-m", str(TINY), str(SAMPLE))
    assert from_yuv["clip_score"] == cli["clip_score"]
    assert from_yuv["frame_scores"] == cli["frame_scores"]
    assert (from_yuv["frames"], from_yuv["key_frames"]) == (cli["frames"], cli["key_frames"])


def test_scores_are_the_pytorch_references(sample_yuv):
    # Numbers computed without vsrqa: the PyTorch reference's scores of the sample's frames on
    # the tiny bundle (tests/data/golden/tiny_sample.json, made by tools/fixtures), at the
    # sample's rate and at the other rates it records. Tolerance 1e-6, as tests/golden_tiny.rs:
    # tract and PyTorch sum in other orders in f32 (observed about 3e-8).
    golden = json.loads((DATA / "golden" / "tiny_sample.json").read_text())
    engine = vsrqa.Engine(str(TINY), backend="cpu")
    own = dict(fps=golden["fps"], key_frames=golden["key_frame_indices"], frame_scores=golden["frame_scores"], clip_score=golden["clip_score"])
    for case in [own, *golden["fps_cases"]]:
        got = engine.score_frames(sample_yuv, float(case["fps"]), format="yuv420p")
        assert [f["frame_index"] for f in got["frame_scores"]] == case["key_frames"], case["fps"]
        assert [f["score"] for f in got["frame_scores"]] == pytest.approx(case["frame_scores"], abs=1e-6), case["fps"]
        assert got["clip_score"] == pytest.approx(case["clip_score"], abs=1e-6), case["fps"]
    assert engine.score_file(str(SAMPLE))["clip_score"] == pytest.approx(golden["clip_score"], abs=1e-6)


@pytest.mark.parametrize(("name", "pix_fmt", "dtype"), [("h264_420.mp4", "yuv420p", np.uint8), ("h264_10bit.mp4", "yuv420p10le", np.uint16)])
def test_score_file_equals_frames_decoded_by_ffmpeg(engine, tmp_path, name, pix_fmt, dtype):
    # The file decoded by FFmpeg's command line, not by vsrqa, and pushed as frames: the same
    # scores as vsrqa's own decoding of the file.
    path = DATA / "opencv" / name
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=width,height,r_frame_rate", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    width, height = stream["width"], stream["height"]
    num, den = stream["r_frame_rate"].split("/")
    raw = tmp_path / "frames.yuv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, str(raw)], check=True)
    frames = np.fromfile(raw, dtype=dtype).reshape(-1, height * 3 // 2, width)
    decoded = engine.score_frames(frames, int(num) / int(den), format=pix_fmt)
    file = engine.score_file(str(path))
    assert decoded["frames"] == file["frames"] == len(frames)
    assert decoded["frame_scores"] == [{k: f[k] for k in ("frame_index", "key_frame", "score")} for f in file["frame_scores"]]
    assert decoded["clip_score"] == file["clip_score"]


def test_score_frames_rgb_equals_the_cli_on_raw_rgb(engine, sample_rgb, tmp_path):
    raw = tmp_path / "frames.rgb"
    sample_rgb.tofile(raw)
    t, h, w, _ = sample_rgb.shape
    cli = cli_json("-m", str(TINY), "--pix-fmt", "rgb24", "--size", f"{w}x{h}", "--fps", "8", str(raw))
    assert engine.score_frames(sample_rgb, 8.0)["clip_score"] == cli["clip_score"]


def test_colour_names_are_the_clis(engine, sample_yuv, tmp_path):
    # One parser in the library for both: every name the CLI's --color-range and --color-matrix
    # take (FFmpeg's tv and pc included) means the same for frames pushed from Python.
    raw = tmp_path / "frames.yuv"
    sample_yuv.tofile(raw)
    t, rows, w = sample_yuv.shape
    size = f"{w}x{rows * 2 // 3}"

    def cli(*options: str) -> float:
        return cli_json("-m", str(TINY), "--pix-fmt", "yuv420p", "--size", size, "--fps", "8", *options, str(raw))["clip_score"]

    ranges = {name: engine.score_frames(sample_yuv, 8.0, format="yuv420p", range=name)["clip_score"]
              for name in ("limited", "tv", "full", "pc")}
    for name, score in ranges.items():
        assert score == cli("--color-range", name), name
    assert ranges["tv"] == ranges["limited"] and ranges["pc"] == ranges["full"]
    assert ranges["full"] != ranges["limited"]  # the name was not ignored

    exact = vsrqa.Engine(str(TINY), color_conversion="exact")
    matrices = {name: exact.score_frames(sample_yuv, 8.0, format="yuv420p", matrix=name)["clip_score"]
                for name in ("bt601", "bt709", "bt2020")}
    for name, score in matrices.items():
        assert score == cli("--color-conversion", "exact", "--color-matrix", name), name
    assert len(set(matrices.values())) == 3
    with invalid("limited .tv. or full .pc."):
        engine.score_frames(sample_yuv, 8.0, format="yuv420p", range="studio")


def test_views_are_read_in_place_and_score_the_same(engine, sample_rgb):
    expected = engine.score_frames(sample_rgb, 8.0)
    t, h, w, c = sample_rgb.shape
    padded = np.zeros((t, h, w + 7, c), dtype=np.uint8)
    padded[:, :, :w] = sample_rgb
    assert engine.score_frames(padded[:, :, :w], 8.0) == expected  # padded rows
    bgr = np.ascontiguousarray(sample_rgb[..., ::-1])
    assert engine.score_frames(bgr, 8.0, format="bgr24") == expected
    rgba = np.concatenate([sample_rgb, np.full((t, h, w, 1), 255, np.uint8)], axis=3)
    assert engine.score_frames(rgba, 8.0, format="rgba") == expected
    every_other = engine.score_frames(sample_rgb[::2], 4.0)  # a frame stride
    assert every_other == engine.score_frames(np.ascontiguousarray(sample_rgb[::2]), 4.0)


def test_other_yuv_layouts(engine, sample_yuv):
    t, rows, w = sample_yuv.shape
    h = rows * 2 // 3
    expected = engine.score_frames(sample_yuv, 8.0, format="yuv420p")
    y, u, v = sample_yuv[:, :h], sample_yuv[:, h:].reshape(t, -1)[:, : h * w // 4], sample_yuv[:, h:].reshape(t, -1)[:, h * w // 4 :]
    uv = np.stack([u, v], axis=2).reshape(t, h // 2, w)
    nv12 = np.concatenate([y, uv], axis=1)
    assert engine.score_frames(nv12, 8.0, format="nv12") == expected
    ten_bit = sample_yuv.astype(np.uint16) << 2
    assert engine.score_frames(ten_bit, 8.0, format="yuv420p10le")["frames"] == t


def test_a_session_streams_the_same_scores(engine, sample_rgb):
    expected = engine.score_frames(sample_rgb, 8.0)
    session = engine.session(8.0)
    polled = []
    for frame in sample_rgb:
        session.push(frame)
        polled += session.poll()
    assert session.frames_pushed == len(sample_rgb)
    clip = session.finish()
    assert session.finished
    assert polled + clip["frame_scores"] == expected["frame_scores"]
    assert clip["clip_score"] == expected["clip_score"]
    with pytest.raises(vsrqa.SessionFinishedError) as e:
        session.push(sample_rgb[0])
    assert e.value.status == -8
    batched = engine.session(8.0, expected_frames=len(sample_rgb))
    batched.push(sample_rgb[:3])
    batched.push(sample_rgb[3:])
    assert batched.finish()["clip_score"] == expected["clip_score"]


def test_features_are_the_pooled_head_inputs(engine, sample_yuv):
    result = engine.features(sample_yuv, 8.0, format="yuv420p")
    width = sum(b["output_dim"] for b in engine.branches)
    assert result["features"].dtype == np.float32
    assert result["features"].shape == (result["pooled_slots"], width)
    session = engine.session(8.0, format="yuv420p")
    session.push(sample_yuv)
    session.finish()
    assert np.array_equal(np.array(session.pooled_features(), dtype=np.float32), result["features"])
    from_file = engine.features(str(SAMPLE))
    assert np.array_equal(from_file["features"], result["features"])
    assert from_file["clip_score"] == result["clip_score"]
    # A file's tags overridden as the CLI's --color-range and --color-matrix do: the same as
    # frames given those tags, and not the file's own.
    full = engine.features(str(SAMPLE), range="full", matrix="bt709")
    assert np.array_equal(full["features"], engine.features(sample_yuv, 8.0, format="yuv420p", range="full", matrix="bt709")["features"])
    assert not np.array_equal(full["features"], result["features"])
    with pytest.raises(vsrqa.InvalidArgumentError, match="range"):
        engine.features(str(SAMPLE), range="studio")


class Tensor:
    """A tensor of another library: DLPack only (no buffer protocol)."""

    def __init__(self, array, device=(1, 0)):
        self.array, self.device = array, device

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device


def test_tensors_through_dlpack(engine, sample_rgb):
    assert engine.score_frames(Tensor(sample_rgb), 8.0) == engine.score_frames(sample_rgb, 8.0)
    with pytest.raises(vsrqa.UnsupportedFrameError, match="device memory"):
        engine.score_frames(Tensor(sample_rgb, device=(2, 0)), 8.0)


def invalid(match):
    return pytest.raises(vsrqa.InvalidArgumentError, match=match)


def test_bad_frames_raise_clear_errors(engine, sample_rgb, sample_yuv):
    with invalid("dtype uint8"):
        engine.score_frames(sample_rgb.astype(np.float32), 8.0)
    with invalid("dtype uint16"):
        engine.score_frames(sample_yuv, 8.0, format="p010le")
    with invalid(r"shape \[T, H, W, 3\]"):
        engine.score_frames(sample_rgb[0], 8.0)
    with invalid("3 channels"):
        engine.score_frames(sample_rgb[..., :2].copy(), 8.0)
    with invalid("ascontiguousarray"):
        engine.score_frames(sample_rgb.transpose(0, 2, 1, 3), 8.0)
    with invalid("negative stride"):
        engine.score_frames(sample_rgb[:, ::-1], 8.0)
    with invalid("ascontiguousarray"):
        engine.score_frames(sample_yuv[:, :, :-2], 8.0, format="yuv420p")
    with invalid("H and W even"):
        engine.score_frames(sample_yuv[:, :-1], 8.0, format="yuv420p")
    with invalid("no frames"):
        engine.score_frames(sample_rgb[:0], 8.0)
    with invalid("numpy array"):
        engine.score_frames([[1, 2, 3]], 8.0)
    with invalid("unknown pixel format"):
        engine.score_frames(sample_rgb, 8.0, format="rgb48")
    with invalid("frame rate"):
        engine.score_frames(sample_rgb, -1.0)
    with invalid("matrix"):
        engine.score_frames(sample_yuv, 8.0, format="yuv420p", matrix="bt999")
    # The engine is still fine after all of that.
    assert engine.score_frames(sample_rgb[:2], 8.0)["frames"] == 2


def test_bad_files_and_options(engine, tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(vsrqa.InputError, match="missing.mp4") as e:
        engine.score_file(str(missing))
    assert e.value.status == -3 and e.value.status_name == "VSRQA_ERROR_INVALID_ARGUMENT"
    report = engine.score_file(str(missing), raise_errors=False)
    assert "error" in report and "clip_score" not in report
    with invalid("--fps"):
        engine.score_file(str(SAMPLE), fps=-2.0)
    reference = vsrqa.Engine(str(TINY), color_conversion="reference")
    assert reference.color_conversion == "reference"
    with invalid("color-matrix"):
        reference.score_file(str(SAMPLE), color_matrix="bt601")  # the exact conversion's option
    with pytest.raises(vsrqa.BundleError) as e:
        vsrqa.Engine(str(tmp_path))
    assert e.value.status == -5 and isinstance(e.value, vsrqa.VsrqaError)
    with invalid("unknown backend"):
        vsrqa.Engine(str(TINY), backend="gpu9000")
    with invalid("color_conversion"):
        vsrqa.Engine(str(TINY), color_conversion="sepia")


def test_a_closed_engine_raises(sample_rgb):
    with vsrqa.Engine(str(TINY)) as engine:
        session = engine.session(8.0)
        assert not engine.closed
    assert engine.closed
    for call in (lambda: engine.score_frames(sample_rgb, 8.0), lambda: engine.score_file(str(SAMPLE)), lambda: engine.backend):
        with pytest.raises(vsrqa.EngineClosedError, match="closed") as e:
            call()
        assert isinstance(e.value, ValueError) and e.value.status == -3
    session.push(sample_rgb)  # a session started before the close goes on
    assert session.finish()["frames"] == len(sample_rgb)
    assert "closed" in repr(engine)


def test_exception_statuses_are_the_c_headers():
    header = (ROOT / "include" / "vsrqa.h").read_text()
    codes = {name: int(value) for name, value in re.findall(r"(VSRQA_\w+)\s*=\s*(-?\d+)", header)}
    classes = [c for c in vars(vsrqa).values() if isinstance(c, type) and issubclass(c, vsrqa.VsrqaError)]
    assert len(classes) >= 10
    for c in classes:
        assert codes[c.status_name] == c.status, c


# Scores a Y4M clip read from a named pipe that a Python thread of the same process fills. The
# writer's open() returns only once score_file has opened the pipe, and it needs the GIL to write:
# if score_file held the GIL while it reads, neither could go on. Ordered by the pipe, not by time;
# run in a child process so that such a deadlock fails the test (timeout) instead of hanging it.
GIL_SCRIPT = """
import json, sys, threading, vsrqa
model, sample, fifo = sys.argv[1:4]
engine = vsrqa.Engine(model, backend="cpu", threads=1)
def feed():
    data = open(sample, "rb").read()
    with open(fifo, "wb") as pipe:
        pipe.write(data)
writer = threading.Thread(target=feed)
writer.start()
report = engine.score_file(fifo)
writer.join()
print(json.dumps(report))
"""


def test_scoring_releases_the_gil(tmp_path):
    fifo = tmp_path / "clip.y4m"
    os.mkfifo(fifo)
    child = subprocess.run(
        [sys.executable, "-c", GIL_SCRIPT, str(TINY), str(SAMPLE), str(fifo)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr
    through_the_pipe = json.loads(child.stdout)
    expected = vsrqa.Engine(str(TINY), backend="cpu", threads=1).score_file(str(SAMPLE))
    # Nothing was lost on the way: the same frames, the same scores; only the path differs.
    for report in (through_the_pipe, expected):
        report["input"].pop("path")
    assert through_the_pipe == expected


def test_an_ensembles_members_can_be_chosen(tmp_path):
    # The tiny bundle as an ensemble of two members with the same files: each alone, and both,
    # score as the plain bundle; an unknown member is refused naming the members.
    import shutil

    ensemble = tmp_path / "ensemble"
    shutil.copytree(TINY, ensemble)
    manifest = json.loads((ensemble / "vsrqa.json").read_text())
    manifest["members"] = [{"name": "a"}, {"name": "b", "head_weights": manifest["head"]["weights"]}]
    (ensemble / "vsrqa.json").write_text(json.dumps(manifest))
    plain = vsrqa.Engine(str(TINY), backend="cpu").score_file(str(SAMPLE))["clip_score"]
    for members in (None, ["a"], ["b", "a"]):
        engine = vsrqa.Engine(str(ensemble), backend="cpu", members=members)
        assert engine.score_file(str(SAMPLE))["clip_score"] == plain, members
    with pytest.raises(vsrqa.InvalidArgumentError, match=r"no member 'c' \(its members: a, b\)"):
        vsrqa.Engine(str(ensemble), backend="cpu", members=["c"])
    cli = subprocess.run([sys.executable, "-m", "vsrqa", "score", "-m", str(ensemble), "--members", "b", str(SAMPLE)],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["clip_score"] == plain


def test_an_ensemble_reports_each_members_score(sample_rgb):
    # The committed tiny ensemble against test.py's averaging (golden/tiny_ensemble.json, made by
    # the Python reference): 1e-6, the tolerance of the golden tests (tract vs PyTorch features).
    golden = json.loads((DATA / "golden" / "tiny_ensemble.json").read_text())
    engine = vsrqa.Engine(str(DATA / "tiny_ensemble"), backend="cpu")
    assert engine.members == ["m0", "m1", "m2"]
    expected = {m["name"]: m["clip_score"] for m in golden["members"]}
    report = engine.score_file(str(SAMPLE))
    assert report["model"]["members"] == ["m0", "m1", "m2"]
    session = engine.session(8.0)
    for frame in sample_rgb:
        session.push(frame)
    # The file is decoded with the reference's conversion, as the goldens' frames were.
    assert abs(report["clip_score"] - golden["clip_score"]) <= 1e-6
    for member in report["member_scores"]:
        assert abs(member["clip_score"] - expected[member["member"]]) <= 1e-6, member
    assert abs(report["member_spread"] - float(np.std(list(expected.values())))) <= 1e-6
    # FFmpeg's RGB frames (another conversion): the same fields, the members' mean the score.
    for result in (engine.score_frames(sample_rgb, 8.0), session.finish()):
        assert [m["member"] for m in result["member_scores"]] == ["m0", "m1", "m2"]
        own = [m["clip_score"] for m in result["member_scores"]]
        assert abs(result["clip_score"] - sum(own) / 3) <= 1e-12
        assert abs(result["member_spread"] - float(np.std(own))) <= 1e-12
    chosen = vsrqa.Engine(str(DATA / "tiny_ensemble"), backend="cpu", members=["m1"])
    assert chosen.members == ["m1"]
    alone = chosen.score_file(str(SAMPLE))
    assert alone["member_spread"] is None and abs(alone["clip_score"] - expected["m1"]) <= 1e-6
    assert vsrqa.Engine(str(TINY), backend="cpu").members == []
    assert "member_scores" not in vsrqa.Engine(str(TINY), backend="cpu").score_frames(sample_rgb, 8.0)


def test_threads_share_an_engine(engine, sample_rgb):
    expected = engine.score_frames(sample_rgb, 8.0)
    results = [None] * 3

    def score(i):
        results[i] = engine.score_frames(sample_rgb, 8.0)

    threads = [threading.Thread(target=score, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


def test_python_m_vsrqa_mirrors_the_cli(tmp_path):
    files = [str(SAMPLE), str(DATA / "opencv" / "h264_420.mp4")]
    one = subprocess.run([sys.executable, "-m", "vsrqa", "score", "-m", str(TINY), files[0]], capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    assert "warning" in one.stderr  # random weights, as the CLI warns
    import json

    assert json.loads(one.stdout) == cli_json("-m", str(TINY), files[0])
    several = subprocess.run([sys.executable, "-m", "vsrqa", "score", "-m", str(TINY), *files], capture_output=True, text=True)
    cli = subprocess.run([str(cli_path()), "score", "-m", str(TINY), *files], capture_output=True, text=True)
    assert [json.loads(line) for line in several.stdout.splitlines()] == [json.loads(line) for line in cli.stdout.splitlines()]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    failed = subprocess.run([sys.executable, "-m", "vsrqa", "score", "-m", str(TINY), str(broken)], capture_output=True, text=True)
    assert failed.returncode == 1 and "broken.mp4" in failed.stderr
    usage = subprocess.run([sys.executable, "-m", "vsrqa", "score", "-m", str(TINY), "--fps", "-1", files[0]], capture_output=True, text=True)
    assert usage.returncode == 2 and "--fps" in usage.stderr
    cli_usage = subprocess.run([str(cli_path()), "score", "-m", str(TINY), "--fps", "-1", files[0]], capture_output=True, text=True)
    assert (usage.stdout, cli_usage.returncode) == (cli_usage.stdout, 2)  # no report, as the CLI


# The CLI's score options python -m vsrqa does not take, and why (docs/python.md).
CLI_ONLY_OPTIONS = {
    "--format": "JSON only: the CLI's CSV and text reports are the CLI's",
    "--plot": "the CLI's SVG plot",
    "--quiet": "python -m vsrqa draws no progress bar to turn off",
    "--verbose": "the engine's log is printed by the CLI only",
    "--help": "argparse has its own",
}


def test_python_m_vsrqa_takes_every_option_of_vsrqa_score():
    # Each option `vsrqa score --help` lists is one python -m vsrqa takes, or a documented
    # exception: a new CLI option fails here until Python has it too (or says why not).
    help_text = subprocess.run([str(cli_path()), "score", "--help"], capture_output=True, text=True, check=True).stdout
    cli_options = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+)", help_text, re.MULTILINE))
    from vsrqa.__main__ import parser

    score = next(action for action in parser()._actions if isinstance(action, argparse._SubParsersAction)).choices["score"]
    python_options = {option for action in score._actions for option in action.option_strings if option.startswith("--")}
    assert cli_options - python_options - set(CLI_ONLY_OPTIONS) == set()
    assert set(CLI_ONLY_OPTIONS) <= cli_options, "an exception for an option the CLI no longer has"
    assert python_options - cli_options == set(), "an option the CLI does not have"


def test_the_onnxruntime_wheels_library_is_found_without_a_variable(tmp_path):
    """`pip install onnxruntime` is all the onnxruntime backend needs: a package laid out as the
    wheel is (onnxruntime/capi/libonnxruntime.so.*), no ORT_DYLIB_PATH, no library in the cache."""
    import os

    library = os.environ.get("ORT_DYLIB_PATH")
    if not library:
        pytest.fail("ORT_DYLIB_PATH must name ONNX Runtime's library: run this through scripts/test.sh")
    capi = tmp_path / "site" / "onnxruntime" / "capi"
    capi.mkdir(parents=True)
    (capi.parent / "__init__.py").write_text("")
    (capi / Path(library).name).symlink_to(Path(library).resolve())
    env = {k: v for k, v in os.environ.items() if k != "ORT_DYLIB_PATH"}
    env.update(PYTHONPATH=str(tmp_path / "site"), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    code = f"import vsrqa; print(vsrqa.Engine({str(TINY)!r}, backend='onnxruntime').backend)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "onnxruntime"
    env["PYTHONPATH"] = ""
    without = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert without.returncode != 0 and "BackendUnavailableError" in without.stderr


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory, sample_yuv) -> tuple[Path, np.ndarray]:
    """20 s at 8 fps: the sample's 20 frames 8 times, each pass brighter. The tiny bundle's span
    is 8 key frames of 8 frames (64 frames), so the file is 3 windows: 64, 64 and 32 frames."""
    passes = [np.clip(sample_yuv.astype(np.int16) + 6 * i, 0, 255).astype(np.uint8) for i in range(8)]
    frames = np.concatenate(passes)
    height, width = sample_yuv.shape[1] * 2 // 3, sample_yuv.shape[2]
    path = tmp_path_factory.mktemp("long") / "long.y4m"
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F8:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + frame.tobytes())
    return path, frames


def test_a_long_file_is_scored_in_windows_as_the_cli_scores_it(engine, long_clip):
    path, frames = long_clip
    report = engine.score_file(str(path))
    assert report == cli_json("-m", str(TINY), str(path))
    assert report["scoring"]["mode"] == "windows" and report["coverage"]["share"] == 1.0
    windows = report["windows"]
    assert [(w["first_frame"], w["frames"]) for w in windows] == [(0, 64), (64, 64), (128, 32)]
    # Independently of the CLI's code: each window is the clip of its frames, and the mean
    # weighs them by their frames.
    for w in windows:
        clip = engine.score_frames(frames[w["first_frame"] : w["first_frame"] + w["frames"]], 8.0, format="yuv420p")
        assert w["score"] == clip["clip_score"]
    expected = sum(w["score"] * w["frames"] for w in windows) / 160
    assert report["clip_score"] == pytest.approx(expected, rel=1e-15, abs=0)
    for options, flags in [
        (dict(window=4.0, pooling="p10"), ["--window", "4", "--pooling", "p10"]),
        (dict(whole_clip=True), ["--whole-clip"]),
        (dict(pooling="harmonic_mean"), ["--pooling", "harmonic_mean"]),
    ]:
        assert engine.score_file(str(path), **options) == cli_json("-m", str(TINY), *flags, str(path))
    whole = engine.score_file(str(path), whole_clip=True)
    assert whole["coverage"]["frames_covered"] == 64 and "windows" not in whole
    with pytest.raises(vsrqa.InvalidArgumentError, match="pooling"):
        engine.score_file(str(path), pooling="median")
    clash = subprocess.run(
        [sys.executable, "-m", "vsrqa", "score", "-m", str(TINY), "--window", "4", "--whole-clip", str(path)],
        capture_output=True,
        text=True,
    )
    assert clash.returncode == 2 and "not allowed with" in clash.stderr
