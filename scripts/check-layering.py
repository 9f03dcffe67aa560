#!/usr/bin/env python3
"""Checks the library's layering from its `use crate::...` (and `super::`, `self::`) paths.

The rules (CONTRIBUTING.md, src/lib.rs):
  1. A layer never reaches up: each top-level module of src/ imports only from the layers the
     table below allows, so `backend/` imports nothing from bundle, branch, frame or above.
  2. No import circle between top-level modules, nor between the files of one folder (a file and
     the mod.rs of its own folder may refer to each other: that is how Rust modules re-export).

Run from the repository root: `python3 scripts/check-layering.py [SRC_DIR]`. It prints the
module graph and exits 1 on any violation. `--self-test` checks that it catches violations.
"""

import re
import sys
import tempfile
from pathlib import Path

# What each top-level module may import (besides itself). Leaves import nothing of the crate.
# (The C API, above `engine`, is a crate of its own: crates/vsrqa-capi.)
LEAVES = {"error", "hash", "timing", "atomic_file"}
ALLOWED = {
    "engine": {"branch", "gpu", "bundle", "preprocess", "frame", "backend"} | LEAVES,
    "branch": {"bundle", "preprocess", "frame", "backend"} | LEAVES,
    "gpu": {"bundle", "preprocess", "frame", "branch", "backend"} | LEAVES,
    "bundle": {"preprocess", "frame"} | LEAVES,
    "preprocess": {"frame", "backend"} | LEAVES,
    "frame": set(LEAVES),
    "backend": set(LEAVES),
    "error": set(),
    "hash": set(),
    "timing": set(),
    "atomic_file": {"error"},
}

USE_RE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
INLINE_RE = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


# A string literal, raw or not (a message may say "use ..."), and the char literals of a quote.
STRING_RE = re.compile(r'r(#*)".*?"\1|"(?:\\.|[^"\\])*"', re.S)
QUOTE_CHAR_RE = re.compile(r"""'(?:\\"|")'""")


def strip_comments(text):
    """The code without comments and string literals: what is left can only import as code."""
    text = QUOTE_CHAR_RE.sub("' '", text)
    text = STRING_RE.sub('""', text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def expand(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix, inner, rest = tree[:start], tree[start + 1 : i], tree[i + 1 :]
                parts, level, begin = [], 0, 0
                for j, c in enumerate(inner):
                    level += c == "{"
                    level -= c == "}"
                    if c == "," and level == 0:
                        parts.append(inner[begin:j])
                        begin = j + 1
                parts.append(inner[begin:])
                out = []
                for part in filter(None, parts):
                    for path in expand(part + rest):
                        out.append(prefix + path if path != "self" else prefix.rstrip(":"))
                return out
    return [tree]


def module_of(src, file):
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def file_of(src, module):
    """The file defining the longest prefix of `module`, and that prefix."""
    for n in range(len(module), 0, -1):
        base = src.joinpath(*module[:n])
        for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
            if candidate.is_file():
                return candidate, module[:n]
    return None, []


def resolve(src, here, path):
    """Absolute module path of a `use` path written in module `here`, or None (extern crate)."""
    segments = [s for s in path.split("::") if s and s != "*"]
    if not segments:
        return None
    if segments[0] == "crate":
        return segments[1:]
    base = list(here)
    if segments[0] in ("super", "self"):
        while segments and segments[0] in ("super", "self"):
            if segments.pop(0) == "super":
                base = base[:-1]
        return base + segments
    # A path starting with a child module of `here` (2018 edition uniform paths).
    child = src.joinpath(*here, segments[0])
    if child.with_suffix(".rs").is_file() or (child / "mod.rs").is_file():
        return base + segments
    return None


def graph(src):
    edges = {}
    for file in sorted(src.rglob("*.rs")):
        here = module_of(src, file)
        text = strip_comments(file.read_text())
        paths = [p for tree in USE_RE.findall(text) for p in expand(tree)]
        paths += INLINE_RE.findall(text)
        targets = set()
        for path in paths:
            module = resolve(src, here, path)
            if module is None:
                continue
            target, _ = file_of(src, module)
            if target is not None and target != file:
                targets.add(target)
        edges[file] = targets
    return edges


def top(src, file):
    parts = module_of(src, file)
    return parts[0] if parts else None


def find_cycle(nodes, edges):
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def check(src):
    edges = graph(src)
    problems = []
    layers = {}
    for file, targets in edges.items():
        a = top(src, file)
        for target in targets:
            b = top(src, target)
            if a is None or b is None or a == b:
                continue
            layers.setdefault(a, set()).add(b)
            if a not in ALLOWED:
                problems.append(f"{file.relative_to(src)}: module '{a}' has no place in the layer table")
            elif b not in ALLOWED[a]:
                problems.append(f"{file.relative_to(src)} imports {target.relative_to(src)}: '{a}' may not use '{b}'")
    cycle = find_cycle(set(layers) | {b for bs in layers.values() for b in bs}, layers)
    if cycle:
        problems.append("import circle between modules: " + " -> ".join(cycle))
    # Files of one folder: ignore edges to and from the folder's own mod.rs.
    siblings = {}
    for file, targets in edges.items():
        if file.name == "mod.rs" or file.name == "lib.rs":
            continue
        siblings[file] = {t for t in targets if t.parent == file.parent and t.name != "mod.rs"}
    cycle = find_cycle(set(siblings), siblings)
    if cycle:
        problems.append("import circle between files: " + " -> ".join(str(f.relative_to(src)) for f in cycle))
    return layers, problems


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        (src / "backend").mkdir()
        (src / "bundle").mkdir()
        (src / "lib.rs").write_text("pub mod backend; pub mod bundle;")
        (src / "backend" / "mod.rs").write_text("pub mod a; pub mod b;\nuse crate::bundle::{x, y::{z}};")
        (src / "backend" / "a.rs").write_text("use super::b::Thing; // use crate::frame;")
        (src / "backend" / "b.rs").write_text(
            'fn f() { super::a::g() }\nfn m() -> &str { "use crate::bundle::z; // x" }\n'
            'fn q() -> char { \'"\' }\nfn r() -> &str { r#"use crate::bundle::w;"# }'
        )
        (src / "bundle" / "mod.rs").write_text("pub mod x;\npub fn f() { crate::backend::a::g() }")
        (src / "bundle" / "x.rs").write_text("")
        _, problems = check(src)
        text = "\n".join(problems)
        assert "'backend' may not use 'bundle'" in text, text
        assert "import circle between modules" in text, text
        assert "import circle between files: backend/a.rs -> backend/b.rs -> backend/a.rs" in text, text
        assert "frame" not in text, text
        # Only backend/mod.rs imports bundle: the strings of backend/b.rs are not imports.
        assert "backend/b.rs imports bundle" not in text, text
        (src / "backend" / "mod.rs").write_text("pub mod a; pub mod b;")
        (src / "backend" / "b.rs").write_text("")
        _, problems = check(src)
        assert "'backend' may not use 'bundle'" not in "\n".join(problems), problems
    print("check-layering self-test: ok")


def main():
    if "--self-test" in sys.argv:
        self_test()
        return 0
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    src = Path(args[0] if args else "src")
    layers, problems = check(src)
    for layer in sorted(layers):
        print(f"{layer:12} -> {', '.join(sorted(layers[layer]))}")
    for problem in problems:
        print("error:", problem)
    print(f"check-layering: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
