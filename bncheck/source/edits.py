"""Fixes as text edits: ``--diff`` shows them as a unified diff, ``--fix`` applies them."""
from __future__ import annotations

import difflib
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


def _offset(starts: list[int], line: int, col: int) -> int:
    return starts[line - 1] + col - 1


def apply(text: str, edits: Iterable[Edit]) -> str:
    """The text with the edits applied; overlapping edits after the first are skipped."""
    lines = text.splitlines(keepends=True)
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


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))
