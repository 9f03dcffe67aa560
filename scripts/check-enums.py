#!/usr/bin/env python3
"""Checks that every public enum of the library is #[non_exhaustive], but the few that must stay
exhaustive (CONTRIBUTING.md, "Layering").

It reads the documentation `cargo doc -p vsrqa --no-deps` writes (without the `internal` feature):
all.html lists exactly the public items, and each enum's page shows its attributes. Run from the
repository root after that command: `python3 scripts/check-enums.py [DOC_DIR]`. `--self-test`
checks that it catches an enum without the attribute.
"""

import re
import sys
import tempfile
from pathlib import Path

# Exhaustive on purpose: a new variant must break the build of the code that handles it.
EXHAUSTIVE = {
    "engine/enum.Polled.html": "each answer is a C status (VSRQA_OK, VSRQA_AGAIN, VSRQA_END)",
    "engine/enum.Pushed.html": "each outcome is a C status (VSRQA_OK, VSRQA_AGAIN)",
    "bundle/enum.Activation.html": "the trainer differentiates each activation",
    "bundle/enum.OutputActivation.html": "the trainer differentiates each activation",
    "bundle/enum.ActivationStage.html": "the trainer differentiates each placement",
}

ENUM_LINK = re.compile(r'href="([^"]*enum\.[A-Za-z0-9_]+\.html)"')
DECLARATION = re.compile(r'<pre class="rust item-decl"><code>(.*?)</code>', re.S)


def problems(doc_dir):
    listed = sorted(set(ENUM_LINK.findall((doc_dir / "all.html").read_text())))
    if not listed:
        return [f"{doc_dir}/all.html lists no enum: is this the library's documentation?"]
    found = []
    for page in listed:
        declaration = DECLARATION.search((doc_dir / page).read_text())
        marked = declaration is not None and "non_exhaustive" in declaration.group(1)
        if not marked and page not in EXHAUSTIVE:
            found.append(f"{page}: a public enum without #[non_exhaustive] (or add it to EXHAUSTIVE, with why)")
        if marked and page in EXHAUSTIVE:
            found.append(f"{page}: #[non_exhaustive], but listed as exhaustive on purpose")
    for page in EXHAUSTIVE:
        if page not in listed:
            found.append(f"{page}: listed as exhaustive on purpose, but not a public enum any more")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp)
        pages = {"a/enum.Open.html": "#[non_exhaustive]\npub enum Open", "a/enum.Closed.html": "pub enum Closed"}
        pages.update({page: "pub enum Kept" for page in EXHAUSTIVE})
        links = "".join(f'<a href="{page}">x</a>' for page in pages)
        (doc / "all.html").write_text(links)
        for page, code in pages.items():
            (doc / page).parent.mkdir(parents=True, exist_ok=True)
            (doc / page).write_text(f'<pre class="rust item-decl"><code>{code}</code></pre>')
        found = problems(doc)
        assert found == ["a/enum.Closed.html: a public enum without #[non_exhaustive] (or add it to EXHAUSTIVE, with why)"], found
    print("check-enums: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    doc_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "target/doc/vsrqa")
    found = problems(doc_dir)
    for line in found:
        print(line)
    print(f"check-enums: {len(found)} problem(s)")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
