"""Write (or ``--check``) one documentation page per rule, docs/rules/BNxxx.md, from the catalogue.

The pages are generated, never edited: ``tests/test_docs_examples.py`` fails when one differs from what this
script writes, so the docs cannot drift from ``bncheck --explain``.
"""
from __future__ import annotations

import argparse
import inspect
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "docs" / "rules"
sys.path.insert(0, str(ROOT))  # this tree's bncheck, whatever is installed

from bncheck.catalogue import ENTRIES, Entry, implementations


def _sentence(text: str) -> str:
    """A summary as a sentence: capitalised, one full stop."""
    text = text.rstrip(".")
    return text[:1].upper() + text[1:] + "."


def page(entry: Entry) -> str:
    """The Markdown page of one catalogue entry."""
    analyses = entry.analyses
    lines = [f"# {entry.code} {entry.name}", "",
             f"**Severity:** {entry.severity} · **Found by:** " + ", ".join(f"{a} mode" for a in analyses), "",
             _sentence(entry.summary), "",
             inspect.cleandoc(entry.doc), "",
             "## Bad", "", "```python", entry.bad.strip("\n"), "```", "",
             "## Good", "", "```python", entry.good.strip("\n"), "```", ""]
    for analysis in analyses:
        for impl in implementations(analysis):
            if impl.code == entry.code and impl.__doc__:
                lines += [f"## In {analysis} mode", "", inspect.cleandoc(impl.__doc__), ""]
    lines += [(f"`bncheck --explain {entry.code}` prints this page in the terminal; "
               f"`--select {entry.code}` / `--ignore {entry.code}` choose it."), ""]
    return "\n".join(lines)


def pages() -> dict[pathlib.Path, str]:
    """Every rule page, by path."""
    return {RULES_DIR / f"{e.code}.md": page(e) for e in ENTRIES}


def main() -> int:
    """Write the pages, or with ``--check`` report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page differs, write nothing")
    args = parser.parse_args()
    wanted = pages()
    stale = sorted(str(p.relative_to(ROOT)) for p, text in wanted.items()
                   if not p.exists() or p.read_text() != text)
    extra = sorted(str(p.relative_to(ROOT)) for p in RULES_DIR.glob("BN*.md") if p not in wanted)
    if args.check:
        for name in stale + extra:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale or extra else 0
    RULES_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text)
    for name in extra:
        (ROOT / name).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
