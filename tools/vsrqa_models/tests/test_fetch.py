"""`python -m vsrqa_models ... --download-only` against a loopback server (127.0.0.1): sources tried in
turn, resumed downloads, hashes pinned or trusted on first use, the mirror, --from, licence terms,
disk space, and the errors a user gets. No PyTorch needed (the export is tested elsewhere)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from loopback import Loopback

TOOLS = Path(__file__).resolve().parents[2]
PLAIN = random.Random(1).randbytes(300_000)
UNPINNED = random.Random(2).randbytes(50_000)
FOLDER = {"config.json": b'{"num_hidden_layers": 2}\n', "model-00001-of-00002.safetensors": b"\x01" * 4096,
          "model-00002-of-00002.safetensors": b"\x02" * 2048, "tokenizer.model": b"\x03" * 512}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_sha(files: dict[str, bytes]) -> str:
    listing = "".join(f"{sha(files[name])}  {name}\n" for name in sorted(files))
    return sha(listing.encode())


def folder_tar(name: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def server():
    loopback = Loopback()
    loopback.files["/second/plain.bin"] = PLAIN
    loopback.files["/files/unpinned.bin"] = UNPINNED
    loopback.files["/files/gated.bin"] = b"gated weights"
    yield loopback
    loopback.stop()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_catalogue(path: Path, url: str, *, plain_size=None, plain_sha=sha(PLAIN)) -> Path:
    artefacts = {
        "plain": {"file": "plain.bin", "what": "a pinned file", "size": plain_size, "sha256": plain_sha,
                  "licence": "MIT", "sources": [{"url": f"{url}/first/plain.bin"}, {"url": f"{url}/second/plain.bin"}]},
        "unpinned": {"file": "unpinned.bin", "what": "a file without a pinned hash", "size": None, "sha256": None,
                     "licence": "MIT", "sources": [{"url": f"{url}/files/unpinned.bin"}]},
        "folder": {"file": "one-align", "folder": True, "what": "a Hugging Face folder", "size": None,
                   "sha256": folder_sha(FOLDER), "licence": "LLaMA 2",
                   "sources": [{"huggingface": "q-future/one-align", "revision": "main"}]},
        "gated": {"file": "gated.bin", "what": "weights with terms", "size": None, "sha256": None,
                  "licence": "non-commercial", "terms": "For non-commercial research use only.",
                  "sources": [{"url": f"{url}/files/gated.bin"}]},
    }
    profiles = {
        "basic": {"what": "two files", "artefacts": ["plain", "unpinned"], "export_profile": "lite", "bundle_bytes": 0},
        "gated": {"what": "with terms", "artefacts": ["plain", "gated"], "export_profile": "lite", "bundle_bytes": 0},
        "mirrored": {"what": "with a folder", "artefacts": ["plain", "unpinned", "folder"], "export_profile": "full",
                     "bundle_bytes": 0},
    }
    path.write_text(json.dumps({"format": "vsrqa-model-catalogue", "version": 1, "artefacts": artefacts,
                                "profiles": profiles}))
    return path


class Run:
    def __init__(self, tmp: Path, catalogue: Path):
        self.tmp, self.catalogue, self.cache = tmp, catalogue, tmp / "cache"

    def __call__(self, profile: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("VSRQA_MODEL")}
        environment.update({"PYTHONPATH": str(TOOLS), "VSRQA_MODEL_RETRY_DELAY": "0", **(env or {})})
        command = [sys.executable, "-m", "vsrqa_models", profile, "--catalogue", str(self.catalogue),
                   "--cache", str(self.cache), *extra]
        return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)


@pytest.fixture
def run(tmp_path, server):
    return Run(tmp_path, write_catalogue(tmp_path / "catalogue.json", server.url))


def test_the_first_source_refused_the_second_serves_and_unpinned_hashes_are_recorded(run, server):
    result = run("basic", "--download-only")
    assert result.returncode == 0, result.stderr
    assert "HTTP 404" in result.stderr and "trying the next source" in result.stderr
    assert (run.cache / "plain.bin").read_bytes() == PLAIN
    assert (run.cache / "unpinned.bin").read_bytes() == UNPINNED
    # Trusted on first use: the hash is printed and recorded, and stdout lists both hashes.
    assert f"trusting it on first use: {sha(UNPINNED)}" in result.stderr
    assert (run.cache / "unpinned.bin.sha256").read_text().split()[0] == sha(UNPINNED)
    assert f"{sha(PLAIN)}  {run.cache / 'plain.bin'}" in result.stdout


def test_a_complete_cache_needs_no_network(run, server):
    assert run("basic", "--download-only").returncode == 0
    server.stop()
    before = len(server.requests)
    result = run("basic", "--download-only")
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == before


def test_a_killed_download_resumes_where_it_stopped(run, server):
    server.cut_once["/second/plain.bin"] = 100_000
    result = run("basic", "--download-only", env={"VSRQA_MODEL_RETRIES": "0"})
    assert result.returncode == 1
    assert "the connection broke" in result.stderr and "run again to resume" in result.stderr
    assert (run.cache / ".partial" / "plain.bin").stat().st_size == 100_000
    result = run("basic", "--download-only")
    assert result.returncode == 0, result.stderr
    assert server.gets("/second/plain.bin")[-1] == "bytes=100000-"
    assert (run.cache / "plain.bin").read_bytes() == PLAIN


def test_a_broken_connection_is_retried_within_the_run(run, server):
    server.cut_once["/second/plain.bin"] = 1000
    result = run("basic", "--download-only", env={"VSRQA_MODEL_RETRIES": "1"})
    assert result.returncode == 0, result.stderr
    assert "retrying (1 of 1)" in result.stderr
    assert server.gets("/second/plain.bin") == [None, "bytes=1000-"]


def test_a_corrupted_byte_is_refused_kept_aside_and_the_cache_stays_usable(run, server):
    damaged = bytearray(PLAIN)
    damaged[1234] ^= 0xFF
    server.files["/second/plain.bin"] = bytes(damaged)
    result = run("basic", "--download-only")
    assert result.returncode == 1
    assert f"SHA-256 is {sha(bytes(damaged))}, the catalogue pins {sha(PLAIN)}" in result.stderr
    aside = run.cache / f"plain.bin.sha256-{sha(bytes(damaged))[:12]}"
    assert aside.read_bytes() == bytes(damaged)
    assert not (run.cache / "plain.bin").exists()
    server.files["/second/plain.bin"] = PLAIN
    result = run("basic", "--download-only")
    assert result.returncode == 0, result.stderr
    assert (run.cache / "plain.bin").read_bytes() == PLAIN


def test_a_file_that_changed_since_first_use_is_refused(run, server):
    assert run("basic", "--download-only").returncode == 0
    (run.cache / "unpinned.bin").write_bytes(b"replaced")
    result = run("basic", "--download-only")
    assert result.returncode == 1
    assert "was recorded on first use" in result.stderr and sha(UNPINNED) in result.stderr


def test_an_unreachable_host_is_named(run, tmp_path):
    catalogue = write_catalogue(tmp_path / "offline.json", f"http://127.0.0.1:{closed_port()}")
    result = Run(tmp_path, catalogue)("basic", "--download-only", env={"VSRQA_MODEL_RETRIES": "0"})
    assert result.returncode == 1
    assert "cannot reach 127.0.0.1:" in result.stderr
    assert "--from DIR" in result.stderr and "VSRQA_MODEL_MIRROR" in result.stderr


def test_a_web_page_instead_of_the_file_is_an_error(run, server):
    server.web_page.add("/second/plain.bin")
    result = run("basic", "--download-only")
    assert result.returncode == 1
    assert "answered with a web page" in result.stderr
    assert not (run.cache / "plain.bin").exists()


def test_the_mirror_serves_every_artefact_and_folders_as_tar(run, server):
    server.files["/mirror/plain.bin"] = PLAIN
    server.files["/mirror/unpinned.bin"] = UNPINNED
    server.files["/mirror/one-align.tar"] = folder_tar("one-align", FOLDER)
    result = run("mirrored", "--download-only", env={"VSRQA_MODEL_MIRROR": f"{server.url}/mirror"})
    assert result.returncode == 0, result.stderr
    for name, data in FOLDER.items():
        assert (run.cache / "one-align" / name).read_bytes() == data
    assert not server.gets("/second/plain.bin"), "the mirror replaces the catalogue's sources"


def test_from_a_folder_downloads_nothing(run, server, tmp_path):
    gathered = tmp_path / "gathered"
    (gathered / "one-align").mkdir(parents=True)
    (gathered / "plain.bin").write_bytes(PLAIN)
    (gathered / "unpinned.bin").write_bytes(UNPINNED)
    for name, data in FOLDER.items():
        (gathered / "one-align" / name).write_bytes(data)
    result = run("mirrored", "--download-only", "--from", str(gathered))
    assert result.returncode == 0, result.stderr
    assert server.requests == []
    assert f"{sha(PLAIN)}  {gathered / 'plain.bin'}" in result.stdout

    (gathered / "unpinned.bin").unlink()
    result = run("basic", "--download-only", "--from", str(gathered), "--cache", str(tmp_path / "other-cache"))
    assert result.returncode == 1
    assert "unpinned.bin is missing" in result.stderr and f"{server.url}/files/unpinned.bin" in result.stderr

    (gathered / "plain.bin").write_bytes(PLAIN[:-1])
    result = run("basic", "--download-only", "--from", str(gathered), "--cache", str(tmp_path / "third-cache"))
    assert result.returncode == 1 and "the catalogue pins" in result.stderr
    assert (gathered / "plain.bin").exists(), "a file the user gathered is never moved"


def test_licence_terms_are_shown_and_must_be_accepted(run, server):
    result = run("gated", "--download-only")
    assert result.returncode == 2
    assert "For non-commercial research use only." in result.stderr and "--accept-licence" in result.stderr
    assert server.requests == []
    assert run("gated", "--download-only", "--accept-licence").returncode == 0


def test_not_enough_disk_is_said_before_downloading(run, server, tmp_path):
    catalogue = write_catalogue(tmp_path / "huge.json", server.url, plain_size=1 << 60)
    result = Run(tmp_path, catalogue)("basic", "--download-only")
    assert result.returncode == 1
    # The catalogue's size, plus what the unpinned file's source says in answer to HEAD.
    assert "not enough disk space" in result.stderr, result.stderr
    assert f"({(1 << 60) + len(UNPINNED)} bytes)" in result.stderr, result.stderr
    assert server.gets("/second/plain.bin") == []


def test_pytorch_missing_is_said_before_downloading(run, server, tmp_path):
    # A `torch` that fails to import stands for a Python without PyTorch.
    fake = tmp_path / "no-torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    result = run("basic", "--out", str(tmp_path / "bundle"), env={"PYTHONPATH": f"{fake.parent}{os.pathsep}{TOOLS}"})
    assert result.returncode == 1
    assert "PyTorch is not available" in result.stderr and "pip install -r tools/requirements.txt" in result.stderr
    assert server.requests == []


def test_a_member_out_of_range_is_a_usage_error_before_downloading(tmp_path):
    result = subprocess.run([sys.executable, "-m", "vsrqa_models", "lite", "--out", str(tmp_path / "b"),
                             "--member", "10", "--download-only"],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(TOOLS)}, timeout=60)
    assert result.returncode == 2
    assert "--member 10: choose 0 to 9" in result.stderr
    both = subprocess.run([sys.executable, "-m", "vsrqa_models", "lite", "--out", str(tmp_path / "b"),
                           "--member", "1", "--ensemble", "--download-only"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(TOOLS)}, timeout=60)
    assert both.returncode == 2
    assert "--ensemble takes every member" in both.stderr


def test_the_published_catalogue_is_well_formed():
    sys.path.insert(0, str(TOOLS))
    from vsrqa_models.catalogue import load
    catalogue = load()
    assert set(catalogue.profiles) >= {"full", "lite"}
    kvq = catalogue.artefacts["rqvqa_kvq"]
    assert len(kvq.members) == 10 and len(set(kvq.members)) == 10
    for artefact in catalogue.artefacts.values():
        assert artefact.sources, artefact.key
    assert catalogue.artefacts["one_align"].terms, "One-Align's weights carry terms a user must accept"
