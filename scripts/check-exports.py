#!/usr/bin/env python3
"""Checks what shared objects export: each exports exactly what it is for, and only the C
package's libvsrqa exports the C API and carries its SONAME.

    python3 scripts/check-exports.py [--self-test] LIBRARY=PREFIX[,PREFIX...] ...

Every dynamic symbol LIBRARY defines (nm -D --defined-only) must start with one of the PREFIXes;
and unless a PREFIX is `vsrqa_`, none may be a C API function (`vsrqa_*`) and its SONAME may not
be the C library's (libvsrqa.so.*). A GStreamer plugin or a Python extension that exported the C
API would give a process that also links libvsrqa (a player with the plugin loaded) two
definitions of every `vsrqa_*` function, which one a call reaches depending on load order; one
with libvsrqa's SONAME would stand in for libvsrqa itself when the player's libvsrqa.so.1 is
looked up after the plugin was loaded. --self-test first checks on libraries compiled here (cc)
that each of these is caught.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

C_API = "vsrqa_"


def defined_exports(library: Path) -> list[str]:
    """The names of the dynamic symbols `library` defines (version nodes left out)."""
    listing = subprocess.run(
        ["nm", "-D", "--defined-only", str(library)], check=True, capture_output=True, text=True
    ).stdout
    names = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        if kind == "A":  # a version node (e.g. VSRQA_1), not a symbol
            continue
        names.append(name.split("@")[0])
    return sorted(set(names))


def soname(library: Path) -> str:
    """The library's SONAME ("" when it has none)."""
    dynamic = subprocess.run(["readelf", "-d", str(library)], check=True, capture_output=True, text=True).stdout
    for line in dynamic.splitlines():
        if "(SONAME)" in line and "[" in line:
            return line.split("[", 1)[1].rstrip("]")
    return ""


def problems(library: Path, prefixes: list[str]) -> list[str]:
    found = []
    name = soname(library)
    if C_API not in prefixes and name.startswith("libvsrqa.so"):
        found.append(f"{library} has the C library's SONAME {name}")
    exports = defined_exports(library)
    if not exports:
        found.append(f"{library} exports nothing (is it the right file?)")
    for name in exports:
        if name.startswith(C_API) and C_API not in prefixes:
            found.append(f"{library} exports the C API function {name}")
        elif not any(name.startswith(prefix) for prefix in prefixes):
            found.append(f"{library} exports {name}, which starts with none of {prefixes}")
    return found


def self_test() -> None:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        source = work / "plugin.c"
        source.write_text(
            "int gst_plugin_x_register(void) { return 1; }\n"
            "int vsrqa_version_api(void) { return 2; }\n"
            "int stray(void) { return 3; }\n"
        )
        library = work / "libplugin.so"
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-Wl,-soname,libvsrqa.so.1", "-o", str(library), str(source)], check=True
        )
        found = problems(library, ["gst_plugin_x_"])
        assert any("C API function vsrqa_version_api" in p for p in found), found
        assert any("exports stray" in p for p in found), found
        assert any("SONAME libvsrqa.so.1" in p for p in found), found
        assert not any("gst_plugin_x_register" in p for p in found), found
        # The C package's library may export its own functions and has that SONAME.
        assert problems(library, ["gst_plugin_x_", "vsrqa_", "stray"]) == []
    print("check-exports self-test: a stray export, an exported C API function and libvsrqa's SONAME are caught")


def main(arguments: list[str]) -> int:
    if arguments and arguments[0] == "--self-test":
        self_test()
        arguments = arguments[1:]
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    failures = []
    for argument in arguments:
        library, _, prefixes = argument.partition("=")
        if not prefixes:
            print(f"{argument}: expected LIBRARY=PREFIX[,PREFIX...]", file=sys.stderr)
            return 2
        path = Path(library)
        if not path.is_file():
            failures.append(f"{path} does not exist")
            continue
        found = problems(path, prefixes.split(","))
        failures.extend(found)
        if not found:
            print(f"{path}: exports only {prefixes.split(',')}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
