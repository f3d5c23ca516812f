"""Fixes as text edits: ``--diff`` shows them as a unified diff, ``--fix`` applies them."""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from typing import Iterable

from bncheck.source.model import Loc


@dataclass(frozen=True)
class Edit:
    """Replace the text in ``loc`` (1-based, end exclusive) by ``text``; ``safe`` edits keep behaviour
    everyone wants (a momentum literal, ``training=False`` in a serving function)."""

    loc: Loc
    text: str
    safe: bool


def insert_at(path: str, line: int, col: int, text: str, safe: bool) -> Edit:
    return Edit(Loc(path, line, col, line, col), text, safe)


_SOURCE_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_DIFF_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # diff and patch end lines at \n only


def _offset(starts: list[int], line: int, col: int) -> int:
    return starts[line - 1] + col - 1


def apply(text: str, edits: Iterable[Edit]) -> str:
    """The text with the edits applied; overlapping edits after the first are skipped."""
    lines = _SOURCE_LINE.findall(text)  # Python's line ends only (str.splitlines also splits at \f, \x1c ...)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans = []
    for e in edits:
        if e.loc.line > len(lines) + 1 or e.loc.end_line > len(lines) + 1:
            continue
        spans.append((_offset(starts, e.loc.line, e.loc.col), _offset(starts, e.loc.end_line, e.loc.end_col), e.text))
    spans = sorted(set(spans))
    out, pos = [], 0
    for start, end, new in spans:
        if start < pos:
            continue  # overlaps an earlier edit
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def patch_path(path: str) -> str:
    """``path`` as ``git apply`` and ``patch -p1`` read it after ``a/`` or ``b/``: relative to the
    working directory, without ``./`` or ``..`` (a file outside the working directory: its absolute
    path without the leading ``/``, to apply from the root), quoted as git quotes names with a
    quote, backslash or control character."""
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full)
    except ValueError:  # another drive
        rel = ".."
    if rel == ".." or rel.startswith(".." + os.sep):
        rel = os.path.splitdrive(full)[1].lstrip(os.sep + (os.altsep or ""))
    return rel.replace(os.sep, "/")


def _header(prefix: str, path: str) -> str:
    name = prefix + path
    if not any(c in name for c in '"\\') and name.isprintable():
        return name
    escaped = "".join(_C_ESCAPES.get(c) or (c if c.isprintable() else "".join(f"\\{b:03o}" for b in c.encode(
        "utf-8", "surrogateescape"))) for c in name)
    return f'"{escaped}"'


_C_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\a": "\\a", "\b": "\\b",
              "\f": "\\f", "\v": "\\v"}


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff ``git apply`` and ``patch -p1`` accept (run from the working directory); a
    last line without a line end is marked as diff marks it."""
    name = patch_path(path)
    lines = difflib.unified_diff(_DIFF_LINE.findall(before), _DIFF_LINE.findall(after),
                                 fromfile=_header("a/", name), tofile=_header("b/", name))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
