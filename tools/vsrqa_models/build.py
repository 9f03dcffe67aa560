"""From fetched artefacts to a bundle: one member out of RQ-VQA's ckpts.tar (or all ten, for the
ensemble bundle test.py's averaging scores as), the pinned code archive unpacked, tools/export/export_bundle.py run on them (with the profile's precision), a
`sources.json` beside the manifest, and `vsrqa info --check` on the result.

The bundle is written into a temporary folder beside `out` and renamed into place at the end, so
an interrupted build leaves no half bundle under the name asked for.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .catalogue import Artefact, Catalogue
from .fetch import Fetched

TOOLS = Path(__file__).resolve().parents[1]
EXPORT = TOOLS / "export" / "export_bundle.py"
# Where RQ-VQA's code archive keeps the model code the export imports.
FASTVQA_IN_RQVQA = "feature_extraction/FastVQA_feature"
QALIGN_IN_RQVQA = "feature_extraction/Q-Align"


class BuildError(Exception):
    pass


def member_path(tar_path: Path, artefact: Artefact, member: int, work: Path) -> Path:
    """Extracts test.py's model `member` (0-based, its model_file order) from ckpts.tar."""
    if not 0 <= member < len(artefact.members):
        raise BuildError(f"--member {member}: {artefact.file} has members 0 to {len(artefact.members) - 1}")
    wanted = artefact.members[member]
    try:
        with tarfile.open(tar_path) as tar:
            names = tar.getnames()
            found = next((n for n in names if n.lstrip("./") == wanted), None)
            if found is None:
                found = next((n for n in names if Path(n).name == Path(wanted).name), None)
            if found is None:
                listed = "\n  ".join(n for n in names if n.endswith(".pth")) or "(no .pth file)"
                raise BuildError(f"{tar_path.name} has no {wanted}; its checkpoints:\n  {listed}")
            source = tar.extractfile(found)
            if source is None:
                raise BuildError(f"{tar_path.name}: {found} is not a file")
            target = work / Path(wanted).name
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    except tarfile.TarError as e:
        raise BuildError(f"{tar_path.name}: not a readable tar archive: {e}") from None
    return target


def member_name(artefact: Artefact, member: int) -> str:
    """The ensemble member's name in the bundle: its split and epoch from test.py's file name
    (`..._NR_v1_epoch_22_SRCC_0.894115.pth` -> `v1_epoch_22`), else `m<number>`."""
    found = re.search(r"_(v\d+_epoch_\d+)_", Path(artefact.members[member]).name)
    return found.group(1) if found else f"m{member}"


def code_root(archive: Path, artefact: Artefact, work: Path) -> Path:
    """Unpacks the pinned code archive (tar.gz) and returns its top-level folder."""
    target = work / "code"
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise BuildError(f"{archive.name}: not a readable code archive: {e}") from None
    root = target / artefact.archive_of if artefact.archive_of else None
    if root is None or not root.is_dir():
        tops = [p for p in target.iterdir() if p.is_dir()]
        if len(tops) != 1:
            raise BuildError(f"{archive.name}: expected one top-level folder, found {[p.name for p in tops]}")
        root = tops[0]
    return root


def export_command(profile_name: str, catalogue: Catalogue, fetched: dict[str, Fetched],
                   member_files: Path | list[tuple[str, Path]], code: Path, staging: Path) -> list[str]:
    """The export's command line: one member's checkpoint (a path), or an ensemble's members
    (name and checkpoint pairs, in test.py's order)."""
    profile = catalogue.profiles[profile_name]
    if isinstance(member_files, Path):
        members = ["--spatial-checkpoint", str(member_files)]
    else:
        members = [arg for name, path in member_files for arg in ("--member", f"{name}={path}")]
    command = [sys.executable, str(EXPORT), "--out", str(staging), "--profile", profile.export_profile, *members,
               "--slowfast-checkpoint", str(fetched["slowfast"].path),
               "--liqe-checkpoint", str(fetched["liqe"].path),
               "--fastvqa-checkpoint", str(fetched["fastvqa"].path),
               "--fastvqa-src", str(code / FASTVQA_IN_RQVQA)]
    if "one_align" in fetched:
        command += ["--qalign-checkpoint", str(fetched["one_align"].path), "--qalign-src", str(code / QALIGN_IN_RQVQA)]
    if profile.precision:
        command += ["--precision", profile.precision]
    return command


def sources_record(fetched: dict[str, Fetched], member: int | None, ensemble: bool = False) -> dict:
    """What `sources.json` says: the member taken (or `"all"` for the ensemble), every artefact,
    its SHA-256 and whether the catalogue pinned it."""
    return {
        "format": "vsrqa-bundle-sources",
        "member": "all" if ensemble else member,
        "artefacts": [
            {"file": f.artefact.file, "what": f.artefact.what, "sha256": f.sha256,
             "sha256_pinned": f.pinned, "licence": f.artefact.licence,
             "sources": [s.describe() for s in f.artefact.sources]}
            for f in fetched.values()
        ],
    }


def build(catalogue: Catalogue, profile_name: str, fetched: dict[str, Fetched], out: Path, member: int, log,
          ensemble: bool = False) -> None:
    """Exports the bundle of `member`, or with `ensemble` the ensemble of every member."""
    pid = os.getpid()
    staging = out.parent / f".partial-{pid}-{out.name}"
    work = out.parent / f".partial-{pid}-{out.name}-work"
    for path in (staging, work):
        if path.exists():
            shutil.rmtree(path)
    work.mkdir(parents=True)
    try:
        kvq = catalogue.artefacts["rqvqa_kvq"]
        if ensemble:
            log(f"taking the {len(kvq.members)} members of {fetched['rqvqa_kvq'].path.name}")
            member_files = ensemble_members(fetched["rqvqa_kvq"].path, kvq, work)
        else:
            log(f"taking member {member} of {fetched['rqvqa_kvq'].path.name}")
            member_files = member_path(fetched["rqvqa_kvq"].path, kvq, member, work)
        code = code_root(fetched["rqvqa_code"].path, catalogue.artefacts["rqvqa_code"], work)
        command = export_command(profile_name, catalogue, fetched, member_files, code, staging)
        log("exporting: " + " ".join(command[1:]))
        returncode, tail = run_showing_progress(command)
        if returncode != 0:
            raise BuildError(f"the export failed (exit {returncode}):\n" + "\n".join(tail))
        record = sources_record(fetched, member, ensemble)
        (staging / "sources.json").write_text(json.dumps(record, indent=2) + "\n")
        if out.exists():
            out.rmdir()  # the caller checked that it is empty
        staging.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def ensemble_members(tar_path: Path, artefact: Artefact, work: Path) -> list[tuple[str, Path]]:
    """Every member of ckpts.tar, in test.py's order, named (`member_name`), each in a folder of
    its own (two members may share a file name)."""
    members = []
    for number in range(len(artefact.members)):
        folder = work / f"member{number}"
        folder.mkdir()
        members.append((member_name(artefact, number), member_path(tar_path, artefact, number, folder)))
    names = [name for name, _ in members]
    if len(set(names)) != len(names):  # a catalogue whose file names repeat a split and epoch
        members = [(f"m{number}", path) for number, (_, path) in enumerate(members)]
    return members


def run_showing_progress(command: list[str], keep: int = 25) -> tuple[int, list[str]]:
    """Runs the export with its output passed on to stderr as it comes (it takes minutes), and
    keeps its last lines for the error message."""
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            print(f"  export: {line}", end="", file=sys.stderr, flush=True)
            tail = (tail + [line.rstrip("\n")])[-keep:]
    return process.returncode, tail


def find_vsrqa(explicit: str | None) -> str | None:
    """The `vsrqa` tool for the final check: --vsrqa, else on PATH, else this checkout's build."""
    if explicit:
        return explicit
    on_path = shutil.which("vsrqa")
    if on_path:
        return on_path
    for profile in ("release", "debug"):
        candidate = TOOLS.parent / "target" / profile / "vsrqa"
        if candidate.is_file():
            return str(candidate)
    return None


def check(vsrqa: str | None, out: Path, log) -> bool:
    if vsrqa is None:
        log("no vsrqa tool found (build it, or pass --vsrqa): the bundle was not checked with `vsrqa info --check`")
        return True
    result = subprocess.run([vsrqa, "info", "--check", "-m", str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        log(f"`vsrqa info --check` refused the bundle:\n{result.stderr.strip()}")
        return False
    log(f"`vsrqa info --check` loaded every network of {out}")
    return True
