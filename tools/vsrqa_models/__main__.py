"""The published weights to a ready bundle, in one command:

    PYTHONPATH=tools python3 -m vsrqa_models full --out bundles/full --accept-licence

(`bash scripts/get-model.sh ...` does the same in a venv it sets up). It downloads what the profile
needs into the cache (resumable; every SHA-256 checked), exports the bundle with PyTorch, converts
its precision, and checks it with `vsrqa info --check`. docs/models.md has the details.

Exit status: 0 done, 1 failed (the message says why and what to do), 2 a usage error, or licence
terms not accepted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from . import build as builder
from .catalogue import DEFAULT, CatalogueError, load
from .fetch import FetchError, Fetcher, default_cache, describe_bytes

# Room for the unpacked member checkpoint and the code archive next to the bundle being written.
WORK_BYTES = 1 << 30
# Each further member of an ensemble: its unpacked checkpoint (0.4 GB) and its spatial network in
# the bundle (0.35 GB in fp32).
MEMBER_BYTES = 800 << 20
INSTALL_TORCH = "pip install -r tools/requirements.txt  (or: bash scripts/get-model.sh, which sets up a venv)"


def log(message: str) -> None:
    print(f"vsrqa-models: {message}", file=sys.stderr, flush=True)


def parse(argv):
    ap = argparse.ArgumentParser(prog="python -m vsrqa_models", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile", nargs="?", help="the profile to build (--list shows them)")
    ap.add_argument("--out", type=Path, help="the bundle directory to create (must not exist, or be empty)")
    ap.add_argument("--member", type=int,
                    help="which of RQ-VQA's ten trained models (0-9, test.py's order) gives the spatial network "
                         "and head (default 0)")
    ap.add_argument("--ensemble", action="store_true",
                    help="all ten models as one ensemble bundle, scored as test.py averages them (the frozen "
                         "branches once; each member's spatial network and head: docs/bundle.md, \"Ensembles\")")
    ap.add_argument("--from", dest="from_dir", type=Path,
                    help="take the files from this folder (gathered by hand, or a cache copied from a connected "
                         "machine) and download nothing")
    ap.add_argument("--cache", type=Path, help="the download cache (default: $VSRQA_MODEL_CACHE, else "
                                               "${XDG_CACHE_HOME:-~/.cache}/vsrqa/models)")
    ap.add_argument("--accept-licence", action="store_true",
                    help="accept the licence terms of artefacts that have them (shown when this is missing)")
    ap.add_argument("--download-only", action="store_true", help="fetch into the cache and stop (no PyTorch needed)")
    ap.add_argument("--catalogue", type=Path, default=DEFAULT, help=argparse.SUPPRESS)
    ap.add_argument("--vsrqa", help="the vsrqa tool for the final `vsrqa info --check` (default: on PATH, "
                                    "else this checkout's target/release or target/debug)")
    ap.add_argument("--list", action="store_true", help="list the profiles and what each downloads")
    return ap, ap.parse_args(argv)


def main(argv=None) -> int:
    ap, args = parse(argv)
    try:
        catalogue = load(args.catalogue)
    except CatalogueError as e:
        log(str(e))
        return 1
    if args.list:
        for name, profile in catalogue.profiles.items():
            print(f"{name}: {profile.what}")
            for artefact in catalogue.profile_artefacts(name):
                print(f"  {artefact.file}: {artefact.what} [{artefact.licence}]")
        return 0
    if args.profile not in catalogue.profiles:
        ap.error(f"choose a profile: {', '.join(catalogue.profiles)} (--list describes them)")
    if not args.download_only and args.out is None:
        ap.error("--out DIR is required (or --download-only)")
    artefacts = catalogue.profile_artefacts(args.profile)
    members = next((len(a.members) for a in artefacts if a.members), None)
    if args.ensemble and args.member is not None:
        ap.error("--ensemble takes every member: leave out --member")
    if args.member is None:
        args.member = 0
    if members is not None and not 0 <= args.member < members:
        ap.error(f"--member {args.member}: choose 0 to {members - 1} (test.py's order)")

    gated = [a for a in artefacts if a.terms]
    if gated and not args.accept_licence:
        for artefact in gated:
            print(f"{artefact.file}: {artefact.terms}", file=sys.stderr)
        log("these terms apply to the profile's weights; pass --accept-licence to accept them and go on")
        return 2
    if not args.download_only:
        try:
            import torch  # noqa: F401  (the export needs it; say so before downloading gigabytes)
        except ImportError as e:
            log(f"PyTorch is not available in this Python ({sys.executable}: {e}); the export needs it. "
                f"Install it: {INSTALL_TORCH}; or pass --download-only")
            return 1
        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            log(f"{args.out} exists and is not an empty directory: choose a new one")
            return 1

    if not args.download_only:
        warn_about_memory(catalogue.profiles[args.profile])
    fetcher = Fetcher(args.cache or default_cache(), mirror=os.environ.get("VSRQA_MODEL_MIRROR") or None,
                      from_dir=args.from_dir, retries=int(os.environ.get("VSRQA_MODEL_RETRIES", "3")),
                      retry_delay=float(os.environ.get("VSRQA_MODEL_RETRY_DELAY", "2")), log=log)
    bundle_bytes = 0 if args.download_only else catalogue.profiles[args.profile].bundle_bytes + WORK_BYTES
    if args.ensemble and not args.download_only:
        bundle_bytes += (members - 1) * MEMBER_BYTES
    problem = disk_problem(fetcher, artefacts, None if args.download_only else args.out, bundle_bytes)
    if problem:
        log(problem)
        return 1
    try:
        fetched = {artefact.key: fetcher.fetch(artefact) for artefact in artefacts}
    except FetchError as e:
        log(str(e))
        return 1
    for item in fetched.values():
        print(f"{item.sha256}  {item.path}")
    if args.download_only:
        return 0
    try:
        builder.build(catalogue, args.profile, fetched, args.out, args.member, log, ensemble=args.ensemble)
    except builder.BuildError as e:
        log(str(e))
        return 1
    log(f"wrote {args.out}")
    return 0 if builder.check(builder.find_vsrqa(args.vsrqa), args.out, log) else 1


def disk_problem(fetcher: Fetcher, artefacts, out: Path | None, bundle_bytes: int) -> str | None:
    """Checked before anything is downloaded: the downloads still missing (the catalogue's sizes,
    else what the sources' HEAD says) in the cache, the bundle beside `out`."""
    sizes = {a.file: fetcher.download_size(a) for a in artefacts}
    unknown = [name for name, size in sizes.items() if size is None]
    downloads = sum(size for size in sizes.values() if size)
    places = [(fetcher.cache, downloads, "the downloads")]
    if out is not None:
        places.append((out.parent if out.parent != Path("") else Path("."), bundle_bytes, "the bundle"))
    needs: dict[int, list] = {}
    for place, size, what in places:
        existing = _existing_ancestor(place)
        needs.setdefault(os.stat(existing).st_dev, [existing, 0, []])
        needs[os.stat(existing).st_dev][1] += size
        needs[os.stat(existing).st_dev][2].append(f"{what} ({describe_bytes(size)})")
    for existing, needed, parts in needs.values():
        free = shutil.disk_usage(existing).free
        if free < needed:
            return (f"not enough disk space in {existing} for {' and '.join(parts)}: it needs "
                    f"{describe_bytes(needed)} ({needed} bytes), {describe_bytes(free)} ({free} bytes) are free")
    if unknown:
        log(f"sizes unknown until downloaded (not in the disk check): {', '.join(unknown)}")
    return None


def warn_about_memory(profile) -> None:
    """Said before downloading: an export that runs out of memory is killed after the downloads."""
    total = memory_bytes()
    if total is not None and profile.export_memory_bytes > total:
        log(f"warning: the {profile.name} profile's export needs about {describe_bytes(profile.export_memory_bytes)} "
            f"of memory ({profile.export_memory_note}); this machine has {describe_bytes(total)} with swap. "
            f"It may be killed: run it on a larger machine, then carry the bundle (`vsrqa bundle pack`)")


def memory_bytes() -> int | None:
    """MemTotal + SwapTotal from /proc/meminfo (None elsewhere)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return sum(int(fields[key].split()[0]) * 1024 for key in ("MemTotal", "SwapTotal"))
    except (OSError, KeyError, ValueError):
        return None


def _existing_ancestor(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


if __name__ == "__main__":
    sys.exit(main())
