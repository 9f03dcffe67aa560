"""Getting the catalogue's artefacts onto this machine: a download cache, resumed partial files,
retries, every source in turn, the SHA-256 checked on completion (or recorded on first use).

Where files come from, in order: the cache; else `--from DIR` (files gathered by hand, or a cache
copied from a connected machine; nothing is downloaded then); else `$VSRQA_MODEL_MIRROR/<file>`
when that is set (a folder artefact as `<folder>.tar`); else the catalogue's sources in turn.
Plain HTTP(S) is urllib's; Google Drive goes through gdown (its confirmation pages) and the
Hugging Face Hub through huggingface_hub (which honours HF_ENDPOINT), both imported only when such
a source is used.
"""
from __future__ import annotations

import http.client
import os
import shutil
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .catalogue import Artefact, Source

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vsrqa_ref.hashing import sha256_path  # noqa: E402  (tools/: the export's hashes, no PyTorch)

CHUNK = 1 << 20
USER_AGENT = "vsrqa-models/1"
# An HTTP status that says this source will not serve the file: try the next, do not retry.
REFUSALS = {401, 403, 404, 410}


class FetchError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


class HashMismatch(FetchError):
    pass


@dataclass(frozen=True)
class Fetched:
    artefact: Artefact
    path: Path
    sha256: str
    pinned: bool  # the catalogue pins this hash (else it was trusted on first use)


def default_cache() -> Path:
    """$VSRQA_MODEL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/vsrqa/models."""
    if os.environ.get("VSRQA_MODEL_CACHE"):
        return Path(os.environ["VSRQA_MODEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vsrqa" / "models"


def describe_bytes(n: int) -> str:
    value, units = float(n), ["bytes", "KiB", "MiB", "GiB", "TiB"]
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


class Fetcher:
    def __init__(self, cache: Path, *, mirror: str | None = None, from_dir: Path | None = None,
                 retries: int = 3, retry_delay: float = 2.0, log=None, progress: bool | None = None):
        self.cache = Path(cache)
        self.mirror = mirror.rstrip("/") if mirror else None
        self.from_dir = Path(from_dir) if from_dir else None
        self.retries = retries
        self.retry_delay = retry_delay
        self.log = log or (lambda message: print(f"vsrqa-models: {message}", file=sys.stderr, flush=True))
        self.progress = sys.stderr.isatty() if progress is None else progress

    # -- what is needed ---------------------------------------------------------------------

    def cached(self, artefact: Artefact) -> Path | None:
        path = self.cache / artefact.file
        if artefact.folder:
            return path if path.is_dir() and self._complete_marker(artefact).exists() else None
        return path if path.is_file() else None

    def sources(self, artefact: Artefact) -> list[Source]:
        if self.mirror:
            name = f"{artefact.file}.tar" if artefact.folder else artefact.file
            return [Source("url", f"{self.mirror}/{urllib.parse.quote(name)}")]
        return list(artefact.sources)

    def download_size(self, artefact: Artefact) -> int | None:
        """Bytes still to download: 0 when cached or given by --from, the catalogue's size, else
        what the first answering source's HEAD says (None when nobody says)."""
        if self.cached(artefact) or self.from_dir:
            return 0
        partial = self._partial(artefact)
        done = partial.stat().st_size if partial.is_file() else 0
        if artefact.size is not None:
            return max(artefact.size - done, 0)
        for source in self.sources(artefact):
            if source.kind in ("url", "dropbox"):
                size = _content_length(_direct_url(source))
                if size is not None:
                    return max(size - done, 0)
        return None

    # -- getting one artefact ---------------------------------------------------------------

    def fetch(self, artefact: Artefact) -> Fetched:
        cached = self.cached(artefact)
        if cached is not None:
            return self._checked(artefact, cached, in_cache=True)
        if self.from_dir is not None:
            return self._from_dir(artefact)
        self.cache.mkdir(parents=True, exist_ok=True)
        failures = []
        for number, source in enumerate(self.sources(artefact), start=1):
            self.log(f"{artefact.file}: downloading from {source.describe()}")
            try:
                self._download(artefact, source)
                return self._checked(artefact, self.cache / artefact.file, in_cache=True)
            except FetchError as e:  # a wrong hash included: the next source may serve the right file
                failures.append(f"source {number} ({source.describe()}): {e}")
                more = number < len(self.sources(artefact))
                self.log(f"{artefact.file}: {e}" + ("; trying the next source" if more else ""))
        tried = "\n  ".join(failures) or "the catalogue lists no source"
        raise FetchError(
            f"{artefact.file} ({artefact.what}) could not be fetched:\n  {tried}\n"
            f"Fetch it by hand into a folder and pass --from DIR, or set VSRQA_MODEL_MIRROR to a server "
            f"holding it. The cache keeps what was downloaded so far: {self.cache}")

    def _from_dir(self, artefact: Artefact) -> Fetched:
        candidate = self.from_dir / artefact.file
        if artefact.folder and not candidate.is_dir() and (self.from_dir / f"{artefact.file}.tar").is_file():
            self.cache.mkdir(parents=True, exist_ok=True)
            self._unpack_folder(artefact, self.from_dir / f"{artefact.file}.tar")
            return self._checked(artefact, self.cache / artefact.file, in_cache=True)
        exists = candidate.is_dir() if artefact.folder else candidate.is_file()
        if not exists:
            where = "\n  ".join(source.describe() for source in artefact.sources)
            raise FetchError(f"{candidate} is missing ({artefact.what}); its sources:\n  {where}")
        return self._checked(artefact, candidate, in_cache=False)

    # -- the hash -----------------------------------------------------------------------------

    def _checked(self, artefact: Artefact, path: Path, *, in_cache: bool) -> Fetched:
        self.log(f"{artefact.file}: checking its SHA-256")
        actual = sha256_path(path)
        expected, pinned = artefact.sha256, artefact.sha256 is not None
        record = self.cache / f"{artefact.file}.sha256"
        if not pinned and record.is_file():
            expected = record.read_text().split()[0]
        if expected is not None and actual != expected:
            whose = "the catalogue pins" if pinned else f"was recorded on first use ({record})"
            kept = ""
            if in_cache:
                aside = path.with_name(f"{path.name}.sha256-{actual[:12]}")
                if aside.exists():
                    shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
                path.rename(aside)
                self._complete_marker(artefact).unlink(missing_ok=True)
                kept = f"; the file is kept aside as {aside}, not used"
            raise HashMismatch(f"{path.name}: SHA-256 is {actual}, {whose} {expected}{kept}")
        if expected is None:
            self.cache.mkdir(parents=True, exist_ok=True)
            record.write_text(f"{actual}  {artefact.file}\n")
            self.log(f"{artefact.file}: no pinned SHA-256 in the catalogue; trusting it on first use: "
                     f"{actual} (recorded in {record} and in the bundle's provenance)")
        return Fetched(artefact, path, actual, pinned)

    # -- downloading ----------------------------------------------------------------------------

    def _partial(self, artefact: Artefact) -> Path:
        name = f"{artefact.file}.tar" if artefact.folder else artefact.file
        return self.cache / ".partial" / name

    def _complete_marker(self, artefact: Artefact) -> Path:
        return self.cache / f".{artefact.file}.complete"

    def _download(self, artefact: Artefact, source: Source) -> None:
        partial = self._partial(artefact)
        partial.parent.mkdir(parents=True, exist_ok=True)
        if source.kind == "google_drive":
            _google_drive(source.location, partial, quiet=not self.progress)
        elif source.kind == "huggingface":
            self._huggingface(artefact, source)
            return
        else:
            self._http(_direct_url(source), partial)
        if artefact.folder:
            self._unpack_folder(artefact, partial)
            partial.unlink()
        else:
            partial.replace(self.cache / artefact.file)

    def _http(self, url: str, partial: Path) -> None:
        """Downloads `url` into `partial`, resuming what is there; transient failures are retried."""
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
                self.log(f"retrying ({attempt} of {self.retries}) after: {last}")
            try:
                self._http_once(url, partial)
                return
            except urllib.error.HTTPError as e:
                if e.code in REFUSALS:
                    raise FetchError(f"HTTP {e.code} {e.reason}") from None
                if e.code == 416 and partial.is_file():
                    return  # the partial file is already whole: the hash decides
                last = f"HTTP {e.code} {e.reason}"
            except urllib.error.URLError as e:
                host = urllib.parse.urlsplit(url).netloc
                last = f"cannot reach {host}: {e.reason}"
            except (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as e:
                last = f"the connection broke: {e!r} ({partial.stat().st_size if partial.exists() else 0} bytes kept)"
        raise FetchError(f"{last} (after {self.retries + 1} attempts; run again to resume: {url})")

    def _http_once(self, url: str, partial: Path) -> None:
        start = partial.stat().st_size if partial.is_file() else 0
        headers = {"User-Agent": USER_AGENT}
        if start:
            headers["Range"] = f"bytes={start}-"
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            if response.headers.get_content_type() == "text/html":
                raise FetchError("the source answered with a web page, not the file (a sign-in, quota or "
                                 "confirmation page?)")
            resumed = response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {start}-")
            if not resumed:
                start = 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length is not None else None
            bar = _progress_bar(partial.name, total, start) if self.progress else None
            with partial.open("ab" if resumed else "wb") as out:
                while block := response.read(CHUNK):
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            if bar is not None:
                bar.close()
            if total is not None and partial.stat().st_size < total:
                raise http.client.IncompleteRead(b"", total - partial.stat().st_size)

    def _unpack_folder(self, artefact: Artefact, archive: Path) -> None:
        """A folder artefact from a tar (a mirror's `<folder>.tar`): unpacked beside the cache's
        copy and renamed into place, so a half-unpacked folder is never taken for the artefact."""
        staging = self.cache / ".partial" / f"{artefact.file}.unpacking"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, OSError) as e:
            shutil.rmtree(staging, ignore_errors=True)
            raise FetchError(f"{archive.name}: not a readable tar archive: {e}") from None
        inner = staging / artefact.file
        root = inner if inner.is_dir() and len(list(staging.iterdir())) == 1 else staging
        target = self.cache / artefact.file
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
        shutil.rmtree(staging, ignore_errors=True)
        self._complete_marker(artefact).touch()

    def _huggingface(self, artefact: Artefact, source: Source) -> None:
        try:
            from huggingface_hub import snapshot_download
            from huggingface_hub.errors import HfHubHTTPError
        except ImportError:
            raise FetchError("huggingface_hub is not installed: pip install huggingface_hub") from None
        try:
            snapshot_download(source.location, revision=source.revision, local_dir=self.cache / artefact.file)
        except HfHubHTTPError as e:
            raise FetchError(f"the Hugging Face Hub refused: {e}") from None
        except OSError as e:
            raise FetchError(f"the Hugging Face Hub could not be reached: {e}") from None
        shutil.rmtree(self.cache / artefact.file / ".cache", ignore_errors=True)  # its own bookkeeping
        self._complete_marker(artefact).touch()


def _direct_url(source: Source) -> str:
    """Dropbox's shared links give a web page with `dl=0` and the file with `dl=1`."""
    if source.kind != "dropbox":
        return source.location
    parts = urllib.parse.urlsplit(source.location)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "dl"] + [("dl", "1")]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _content_length(url: str) -> int | None:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            length = response.headers.get("Content-Length")
            return int(length) if length is not None and response.headers.get_content_type() != "text/html" else None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
        return None


def _google_drive(file_id: str, partial: Path, *, quiet: bool) -> None:
    try:
        import gdown
    except ImportError:
        raise FetchError("gdown is not installed (Google Drive downloads): pip install gdown") from None
    try:
        result = gdown.download(id=file_id, output=str(partial), quiet=quiet, resume=True)
    except Exception as e:  # gdown raises its own and requests' exceptions
        text = str(e)
        if "Too many users" in text or "quota" in text.lower():
            raise FetchError("Google Drive's download quota for this file is used up for now (it resets within "
                             "a day); try again later, or download it in a browser and pass --from DIR") from None
        raise FetchError(f"Google Drive: {text.splitlines()[0] if text else type(e).__name__}") from None
    if result is None:
        raise FetchError("Google Drive did not serve the file (gdown gave up)")


def _progress_bar(name: str, total: int | None, initial: int):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr)
