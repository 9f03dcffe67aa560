#!/usr/bin/env python3
"""The C ABI of libvsrqa.so against its committed baseline (abi/vsrqa-1.abi), with libabigail.

The Rust library carries no DWARF types of its own (line tables only), so the ABI is read through
a probe: a small C library compiled with -g that includes vsrqa.h and holds, for every function
libvsrqa.so exports, a pointer of that function's type. abidw describes the probe (every
signature and every struct layout the functions reach) and abidiff compares it with the baseline.

Allowed, as the API's extensible structs promise: new functions, and fields appended to a struct
(placed after its last old field: in its old tail padding, or past its old size). Anything else fails: a function removed, a parameter or field
whose type, name or offset changed, a field removed. Also checked: the library exports `vsrqa_*`
symbols only (nm -D).

  abi-check.py LIBVSRQA_SO                   compare with abi/vsrqa-1.abi
  abi-check.py LIBVSRQA_SO --write           rewrite the baseline (at a major version only)
  abi-check.py LIBVSRQA_SO --self-test       also check that the 0.4 header's ABI reads as
                                             compatible and a broken header's does not
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "abi", "vsrqa-1.abi")


def run(command, check=True):
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def exported_functions(library):
    out = run(["nm", "-D", "--defined-only", library]).stdout
    names = sorted(line.split()[-1] for line in out.splitlines() if line.strip())
    leaked = [n for n in names if not n.startswith("vsrqa_")]
    if leaked:
        sys.exit(f"error: {library} exports symbols outside vsrqa_*: {leaked}")
    if not names:
        sys.exit(f"error: {library} exports nothing")
    return names


def probe_abi(include_dir, functions, workdir, name):
    """abidw's description of a probe built against the vsrqa.h in `include_dir`."""
    source = os.path.join(workdir, f"{name}.c")
    with open(source, "w") as f:
        f.write('#include "vsrqa.h"\n')
        for function in functions:
            f.write(f"__typeof__({function}) *const vsrqa_abi_{function} = {function};\n")
    library = os.path.join(workdir, f"lib{name}.so")
    run(["cc", "-g", "-shared", "-fPIC", "-I", include_dir, source, "-o", library])
    corpus = os.path.join(workdir, f"{name}.abi")
    run(["abidw", "--no-corpus-path", "--no-show-locs", "--out-file", corpus, library])
    return corpus


def last_field_offsets(corpus):
    """Per struct of an abidw corpus, the offset in bits of its last field."""
    offsets = {}
    for struct in ElementTree.parse(corpus).iter("class-decl"):
        fields = [int(m.get("layout-offset-in-bits")) for m in struct.iter("data-member")]
        if fields:
            offsets[struct.get("name")] = max(fields)
    return offsets


def incompatibilities(report, old_last_fields):
    """What in an abidiff report breaks programs built against the baseline. `old_last_fields`:
    the baseline's last field offset per struct (last_field_offsets)."""
    problems = []
    struct = None
    for line in report.splitlines():
        text = line.strip()
        named = re.search(r"type 'struct (\w+)'", text)
        if named:
            struct = named.group(1)
        size = re.match(r"type size changed from (\d+) to (\d+)", text)
        if size:
            if int(size.group(2)) < int(size.group(1)):
                problems.append(text)
            continue
        inserted = re.match(r"'.*', at offset (\d+) \(in bits\)", text)
        if inserted:
            # Appended: after the struct's last old field, whether in its old tail padding (the
            # size unchanged) or past its old end. Anywhere else moves or overlays old fields.
            last = old_last_fields.get(struct)
            if last is None or int(inserted.group(1)) <= last:
                problems.append(f"a field inserted before the end of struct {struct}: {text}")
            continue
        if text.startswith("[D]") or "deletion" in text or "offset changed" in text:
            problems.append(text)
        elif re.search(r"type of '.*' changed|name of '.*' changed|parameter \d+ of type .* changed|return type changed", text):
            problems.append(text)
        elif re.match(r"\d+ (Removed|Changed) function", text) and not text.startswith("0 "):
            pass  # summaries; the details above decide
    return problems


def compare(baseline, current):
    result = run(["abidiff", baseline, current], check=False)
    # abidiff's status: bit 1 usage or internal error, bit 3 an incompatible change.
    if result.returncode & 1:
        sys.exit(f"error: abidiff failed:\n{result.stdout}{result.stderr}")
    problems = incompatibilities(result.stdout, last_field_offsets(baseline))
    if result.returncode & 8:
        problems.append("abidiff reports an incompatible change")
    return result.stdout, problems


def self_test(functions, workdir, current):
    # The 0.4 header, as released, is older than 1.0 only by additions...
    older = probe_abi(os.path.join(ROOT, "tests", "capi", "compat"), [f for f in functions if f in OLD_FUNCTIONS], workdir, "old")
    report, problems = compare(older, current)
    assert not problems, f"self-test: 0.4 -> current should be compatible:\n{report}\n{problems}"
    assert "data member insertion" in report, f"self-test: 0.4 -> current should add fields:\n{report}"
    # ...and a header that changes a field's type is not, nor one that puts a field into padding
    # between old fields (VsrqaFrameScore's, after key_frame): that moves nothing, but it is not
    # appended, and an older library would not know to leave it alone.
    with open(os.path.join(ROOT, "include", "vsrqa.h")) as f:
        header = f.read()
    for name, old, new in [
        ("retyped", "  uint32_t key_frames;\n", "  uint64_t key_frames;\n"),
        ("inserted", "  uint32_t key_frame;\n", "  uint32_t key_frame;\n  uint32_t flags;\n"),
    ]:
        variant = header.replace(old, new, 1)
        assert variant != header, f"self-test: cannot find {old.strip()!r} in vsrqa.h"
        variant_dir = os.path.join(workdir, name)
        os.makedirs(variant_dir)
        with open(os.path.join(variant_dir, "vsrqa.h"), "w") as f:
            f.write(variant)
        report, problems = compare(current, probe_abi(variant_dir, functions, workdir, name))
        assert problems, f"self-test: a {name} field must be incompatible:\n{report}"
    print("abi-check self-test: ok")


# The functions of API 0.4, for the self-test's older probe.
OLD_FUNCTIONS = {
    "vsrqa_clip_score_default", "vsrqa_engine_config_default", "vsrqa_engine_create", "vsrqa_engine_destroy",
    "vsrqa_frame_default", "vsrqa_frame_score_default", "vsrqa_last_error", "vsrqa_score_clip",
    "vsrqa_score_frame", "vsrqa_session_config_default", "vsrqa_session_create", "vsrqa_session_destroy",
    "vsrqa_session_finish", "vsrqa_session_poll", "vsrqa_session_push", "vsrqa_status_str", "vsrqa_version",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    functions = exported_functions(args.library)
    with tempfile.TemporaryDirectory() as workdir:
        current = probe_abi(os.path.join(ROOT, "include"), functions, workdir, "current")
        if args.self_test:
            self_test(functions, workdir, current)
        if args.write:
            os.makedirs(os.path.dirname(BASELINE), exist_ok=True)
            with open(current) as src, open(BASELINE, "w") as dst:
                dst.write(src.read())
            print(f"wrote {BASELINE}")
            return
        report, problems = compare(BASELINE, current)
    if problems:
        print(report)
        sys.exit("error: the C ABI changed incompatibly with abi/vsrqa-1.abi:\n  " + "\n  ".join(problems))
    print(f"abi-check: {len(functions)} functions, compatible with abi/vsrqa-1.abi")
    if report.strip():
        print(report)


if __name__ == "__main__":
    main()
