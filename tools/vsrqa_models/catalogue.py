"""The pinned catalogue (catalogue.json): each artefact's file name, sources, size and SHA-256, and
the profiles built from them. Data, not code: a new source or a pinned hash is a one-line change."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = Path(__file__).with_name("catalogue.json")
FORMAT, VERSION = "vsrqa-model-catalogue", 1
SOURCE_KINDS = ("url", "dropbox", "google_drive", "huggingface")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CatalogueError(Exception):
    """The catalogue file is not what this code reads; the message names the field."""


@dataclass(frozen=True)
class Source:
    kind: str  # one of SOURCE_KINDS
    location: str  # a URL, a Google Drive file id, or a Hugging Face repository
    revision: str | None = None  # Hugging Face only

    def describe(self) -> str:
        if self.kind == "google_drive":
            return f"https://drive.google.com/uc?id={self.location}"
        if self.kind == "huggingface":
            return f"https://huggingface.co/{self.location} (revision {self.revision or 'main'})"
        return self.location


@dataclass(frozen=True)
class Artefact:
    key: str
    file: str  # the file (or folder) name: in the cache, under a mirror, in --from
    what: str
    sources: tuple[Source, ...]
    size: int | None
    sha256: str | None  # a folder's: the SHA-256 of its sorted sha256sum listing
    licence: str
    folder: bool = False
    terms: str | None = None  # shown before downloading; needs --accept-licence
    members: tuple[str, ...] = field(default_factory=tuple)
    archive_of: str | None = None  # a code archive's top-level folder


@dataclass(frozen=True)
class Profile:
    name: str
    what: str
    artefacts: tuple[str, ...]
    export_profile: str
    precision: str | None
    bundle_bytes: int
    export_memory_bytes: int = 0  # the export's peak memory (measured, or extrapolated: see the note)
    export_memory_note: str = ""


@dataclass(frozen=True)
class Catalogue:
    artefacts: dict[str, Artefact]
    profiles: dict[str, Profile]

    def profile_artefacts(self, profile: str) -> list[Artefact]:
        return [self.artefacts[key] for key in self.profiles[profile].artefacts]


def load(path: Path = DEFAULT) -> Catalogue:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise CatalogueError(f"{path}: cannot read the catalogue: {e}") from e
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise CatalogueError(f"{path}: not a {FORMAT} version {VERSION} file")
    artefacts = {key: _artefact(path, key, entry) for key, entry in data.get("artefacts", {}).items()}
    profiles = {}
    for name, entry in data.get("profiles", {}).items():
        unknown = [key for key in entry.get("artefacts", []) if key not in artefacts]
        if unknown:
            raise CatalogueError(f"{path}: profile {name!r} names unknown artefacts {unknown}")
        profiles[name] = Profile(name, entry.get("what", ""), tuple(entry["artefacts"]), entry["export_profile"],
                                 entry.get("precision"), int(entry.get("bundle_bytes", 0)),
                                 int(entry.get("export_memory_bytes", 0)), entry.get("export_memory_note", ""))
    return Catalogue(artefacts, profiles)


def _artefact(path: Path, key: str, entry: dict) -> Artefact:
    where = f"{path}: artefact {key!r}"
    file = entry.get("file")
    if not file or "/" in file or file.startswith("."):
        raise CatalogueError(f"{where}: 'file' must be a plain file name, not {file!r}")
    sources = []
    for source in entry.get("sources", []):
        kinds = [kind for kind in SOURCE_KINDS if kind in source]
        if len(kinds) != 1:
            raise CatalogueError(f"{where}: a source needs exactly one of {SOURCE_KINDS}: {source}")
        sources.append(Source(kinds[0], source[kinds[0]], source.get("revision")))
    sha256 = entry.get("sha256")
    if sha256 is not None and not _HEX64.fullmatch(sha256):
        raise CatalogueError(f"{where}: 'sha256' must be 64 lower-case hex digits")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise CatalogueError(f"{where}: 'size' must be a byte count")
    return Artefact(key, file, entry.get("what", ""), tuple(sources), size, sha256, entry.get("licence", ""),
                    bool(entry.get("folder", False)), entry.get("terms"), tuple(entry.get("members", [])),
                    entry.get("archive_of"))
