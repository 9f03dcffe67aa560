"""The steps between the downloads and the export that need no PyTorch: a member out of ckpts.tar
(hard-linked members included), the code archive's folders, and the export's arguments."""
from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOOLS))
from vsrqa_models import build  # noqa: E402
from vsrqa_models.catalogue import load  # noqa: E402
from vsrqa_models.fetch import Fetched  # noqa: E402

CATALOGUE = load()
KVQ = CATALOGUE.artefacts["rqvqa_kvq"]
CODE = CATALOGUE.artefacts["rqvqa_code"]


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def ckpts_tar(path: Path, linked: bool) -> Path:
    """Ten members in test.py's names; with `linked`, members 1-9 are hard links to member 0."""
    with tarfile.open(path, "w") as tar:
        for number, name in enumerate(KVQ.members):
            if linked and number:
                link = tarfile.TarInfo(name)
                link.type, link.linkname = tarfile.LNKTYPE, KVQ.members[0]
                tar.addfile(link)
            else:
                add(tar, name, f"member {number}".encode())
    return path


@pytest.mark.parametrize("linked", [False, True])
def test_a_member_is_taken_by_its_number_in_test_py_order(tmp_path, linked):
    tar = ckpts_tar(tmp_path / "ckpts.tar", linked)
    got = build.member_path(tar, KVQ, 7, tmp_path)
    assert got.name == Path(KVQ.members[7]).name
    assert got.read_bytes() == (b"member 0" if linked else b"member 7")


def test_the_ensemble_takes_every_member_in_test_py_order_named_by_split_and_epoch(tmp_path):
    tar = ckpts_tar(tmp_path / "ckpts.tar", False)
    work = tmp_path / "work"
    work.mkdir()
    members = build.ensemble_members(tar, KVQ, work)
    assert [name for name, _ in members] == [
        "v0_epoch_9", "v1_epoch_22", "v2_epoch_25", "v3_epoch_16", "v4_epoch_6",
        "v0_epoch_4", "v1_epoch_19", "v2_epoch_21", "v3_epoch_8", "v4_epoch_14"]
    assert [path.read_bytes() for _, path in members] == [f"member {n}".encode() for n in range(10)]
    fetched = {key: Fetched(CATALOGUE.artefacts[key], tmp_path / CATALOGUE.artefacts[key].file, "0" * 64, False)
               for key in CATALOGUE.profiles["lite"].artefacts}
    command = build.export_command("lite", CATALOGUE, fetched, members, tmp_path / "code", tmp_path / "out")
    assert "--spatial-checkpoint" not in command
    given = [command[i + 1] for i, arg in enumerate(command) if arg == "--member"]
    assert given == [f"{name}={path}" for name, path in members]
    assert build.sources_record(fetched, 0, ensemble=True)["member"] == "all"


def test_a_member_out_of_range_or_absent_is_named(tmp_path):
    tar = ckpts_tar(tmp_path / "ckpts.tar", False)
    with pytest.raises(build.BuildError, match="has members 0 to 9"):
        build.member_path(tar, KVQ, 10, tmp_path)
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as t:
        add(t, "ckpts/something_else.pth", b"x")
    with pytest.raises(build.BuildError, match="something_else.pth"):
        build.member_path(other, KVQ, 0, tmp_path)


def test_the_code_archive_gives_its_top_folder_and_refuses_escapes(tmp_path):
    archive = tmp_path / "code.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, f"{CODE.archive_of}/{build.FASTVQA_IN_RQVQA}/fastvqa/models/swin_backbone.py", b"# code\n")
    root = build.code_root(archive, CODE, tmp_path / "work1")
    assert (root / build.FASTVQA_IN_RQVQA / "fastvqa" / "models" / "swin_backbone.py").is_file()

    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tar:
        add(tar, "../escape.py", b"# evil\n")
    with pytest.raises(build.BuildError, match="not a readable code archive"):
        build.code_root(hostile, CODE, tmp_path / "work2")
    assert not (tmp_path / "escape.py").exists()


def test_the_export_gets_every_checkpoint_the_code_and_the_profile_precision(tmp_path):
    fetched = {key: Fetched(CATALOGUE.artefacts[key], tmp_path / CATALOGUE.artefacts[key].file, "0" * 64, False)
               for key in CATALOGUE.profiles["full"].artefacts}
    code, member, staging = tmp_path / "code", tmp_path / "member.pth", tmp_path / "out"
    full = build.export_command("full", CATALOGUE, fetched, member, code, staging)
    pairs = dict(zip(full[2::2], full[3::2]))
    assert pairs["--profile"] == "full" and pairs["--spatial-checkpoint"] == str(member)
    assert pairs["--qalign-checkpoint"] == str(tmp_path / "one-align")
    assert pairs["--qalign-src"] == str(code / build.QALIGN_IN_RQVQA)
    assert pairs["--fastvqa-src"] == str(code / build.FASTVQA_IN_RQVQA)
    assert pairs["--precision"] == "qalign=int8_weights"
    lite_fetched = {k: v for k, v in fetched.items() if k != "one_align"}
    lite = build.export_command("lite", CATALOGUE, lite_fetched, member, code, staging)
    assert "--qalign-checkpoint" not in lite and "--precision" not in lite and "lite" in lite


def test_the_export_output_is_passed_on_and_its_tail_kept_for_the_error(capfd):
    code, tail = build.run_showing_progress(
        [sys.executable, "-c", "import sys\nfor i in range(30): print(f'line {i}')\nsys.exit(3)"], keep=5)
    assert code == 3
    assert tail == [f"line {i}" for i in range(25, 30)]
    assert "  export: line 0" in capfd.readouterr().err


def test_an_export_larger_than_memory_is_warned_about_before_downloading(capsys):
    from dataclasses import replace
    from vsrqa_models.__main__ import memory_bytes, warn_about_memory
    assert memory_bytes() > 0
    full = CATALOGUE.profiles["full"]
    warn_about_memory(replace(full, export_memory_bytes=1 << 60))
    said = capsys.readouterr().err
    assert "needs about 1048576.0 TiB" in said and "extrapolated" in said and "may be killed" in said
    warn_about_memory(replace(full, export_memory_bytes=1))
    assert capsys.readouterr().err == ""
