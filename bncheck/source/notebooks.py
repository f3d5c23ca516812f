"""Jupyter notebooks as source inputs: the code cells, in order, checked as one program.

The ``.ipynb`` file is read as JSON with Python's ``json`` module (its size and nesting checked
first; nothing of nbformat, no validator, no kernel). IPython syntax is replaced by ``pass`` (or
``None`` on the right of an assignment) so line numbers stay the cell's own: line magics
(``%timeit f()``), shell lines (``!pip install``), help lines (``model?``, ``?model``). A cell
started by a cell magic (``%%bash``) is not Python and is skipped, and a note says so; ``%%time``,
``%%timeit``, ``%%capture`` and a few others run Python and are checked without their first line.

Findings are placed as ruff places them: ``train.ipynb:cell 3:2:5`` is line 2, column 5 of the
notebook's third cell (counting every cell, as Jupyter shows them).
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.loaders import NOTEBOOK_SUFFIXES
from bncheck.source.reading import SourceText, read_bytes
from bncheck.source.rules.base import SourceFinding

#: nesting of a notebook's JSON (nbformat's own is 5 levels; outputs' metadata may add some)
MAX_JSON_NESTING = 100
# cell magics whose body is Python that the kernel runs
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "tensorboard"})


@dataclasses.dataclass(frozen=True)
class CellFinding(SourceFinding):
    """A source finding in a notebook: ``loc`` is the line and column in cell ``cell``."""

    cell: int = 0

    def to_finding(self) -> Finding:
        found = super().to_finding()
        at = f"{self.loc.path}:cell {self.cell}:{self.loc.line}:{self.loc.col}"
        evidence = tuple((key, at if key == "at" else value) for key, value in found.evidence)
        return dataclasses.replace(found, evidence=evidence, cell=self.cell)


def in_cell(found: SourceFinding, cells: Sequence[tuple[int, int]]) -> SourceFinding:
    """``found`` (at a line of the notebook's program) at its cell and line in the cell."""
    loc = found.loc
    if not 0 < loc.line <= len(cells):
        return found
    cell, line = cells[loc.line - 1]
    end_line = cells[loc.end_line - 1][1] if 0 < loc.end_line <= len(cells) and \
        cells[loc.end_line - 1][0] == cell else line
    fields = {f.name: getattr(found, f.name) for f in dataclasses.fields(SourceFinding)}
    fields["loc"] = type(loc)(loc.path, line, loc.col, end_line, loc.end_col)
    return CellFinding(**fields, cell=cell)


def read_notebook(path: str) -> SourceText:
    """The notebook's code cells as one program (a :class:`SourceText` with its cell map)."""
    data = read_bytes(path, "notebook")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a readable notebook: not UTF-8 (byte {exc.start})") from None
    if _json_depth(text) > MAX_JSON_NESTING:
        raise InputError(path, f"not a readable notebook: its JSON nests deeper than {MAX_JSON_NESTING} levels")
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(path, f"not a readable notebook: not JSON ({' '.join(str(exc).split())[:120]})") from None
    cells = _cells(path, notebook)
    program: list[str] = []
    where: list[tuple[int, int]] = []
    skipped: list[str] = []
    for number, source in cells:
        if source is None:
            continue
        lines = _split(source)
        magic = _cell_magic(lines)
        if magic is not None and magic not in PYTHON_CELL_MAGICS:
            skipped.append(f"cell {number} (%%{magic})")
            lines = [""] * len(lines)  # kept as blank lines: the next cells' lines stay put
        elif magic is not None:
            lines = [""] + lines[1:]
        program += _without_ipython(lines)
        where += [(number, k) for k in range(1, len(lines) + 1)]
    notes = (f"not checked, not Python: {', '.join(skipped)}",) if skipped else ()
    joined = "\n".join(program) + ("\n" if program else "")
    from bncheck.source.reading import LINE_IN_ERROR, LineMapper, python2_or_none, looks_like_python2

    if looks_like_python2(joined):
        try:
            converted = python2_or_none(path, joined)
        except InputError as exc:  # "(line 7)" of the program: its cell and line
            at = SourceText(joined, cells=tuple(where))
            raise InputError(path, LINE_IN_ERROR.sub(LineMapper(at).phrase_of, exc.reason)) from None
        if converted is not None:
            return SourceText(converted, python2=True, original=joined, cells=tuple(where), skipped=notes)
    return SourceText(joined, cells=tuple(where), skipped=notes)


def _cells(path: str, notebook: Any) -> list[tuple[int, str | None]]:
    """(cell number, code) for every cell, code None for markdown and raw cells (nbformat 4 and 3)."""
    if not isinstance(notebook, dict):
        raise InputError(path, "not a readable notebook: the JSON is not an object")
    language = _language(notebook)
    if language is not None and language.lower() not in ("python", "python2", "python3", "ipython"):
        raise InputError(path, f"a notebook in {language[:40]!r}, not Python: bncheck checks Python notebooks")
    if "cells" in notebook:
        raw = notebook["cells"]
        key = "source"
    elif isinstance(notebook.get("worksheets"), list):  # nbformat 3
        raw = [c for sheet in notebook["worksheets"] if isinstance(sheet, dict)
               for c in (sheet["cells"] if isinstance(sheet.get("cells"), list) else [])]
        key = "input"
    else:
        raise InputError(path, "not a readable notebook: no \"cells\" list")
    if not isinstance(raw, list):
        raise InputError(path, "not a readable notebook: \"cells\" is not a list")
    out: list[tuple[int, str | None]] = []
    for number, cell in enumerate(raw, 1):
        if not isinstance(cell, dict):
            raise InputError(path, f"not a readable notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            out.append((number, None))
            continue
        source = cell.get(key, "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise InputError(path, f"not a readable notebook: the source of cell {number} is not text")
        out.append((number, source))
    return out


def _language(notebook: dict[str, Any]) -> str | None:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return None
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return str(section[field])
    return None


def _split(source: str) -> list[str]:
    """A cell's lines as Python numbers them (``\\r\\n``, ``\\r`` and ``\\n`` end a line)."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _cell_magic(lines: list[str]) -> str | None:
    if lines and lines[0].startswith("%%"):
        match = re.match(r"%%([\w.-]*)", lines[0])
        return match.group(1) if match else ""
    return None


_ESCAPED = re.compile(r"[ \t]*(?:[%!]|\?)")  # a line magic, a shell line, ?help
_HELP = re.compile(r"[ \t]*[\w.*]+\?{1,2}[ \t]*$")  # model? / model??
_ASSIGNED = re.compile(r"([ \t]*[\w.,\[\]() \t]+?(?<![=!<>])=[ \t]*)[%!](?!=)")  # files = !ls / t = %time f()
_TRIPLE = re.compile(r"'''|\"\"\"")


def _without_ipython(lines: list[str]) -> list[str]:
    """The cell's lines with IPython syntax made Python (same number of lines, same indentation)."""
    out: list[str] = []
    in_string: str | None = None  # the triple quote of a string open at the line's start
    continued = False  # the previous line was IPython syntax ending with a backslash
    for line in lines:
        replaced = None
        if in_string is None:
            if continued:
                replaced = ""  # the rest of a magic continued with a backslash
            elif _ESCAPED.match(line) and not line.lstrip().startswith("!=") or _HELP.match(line):
                replaced = _indent(line) + "pass"
            else:
                assigned = _ASSIGNED.match(line)
                if assigned is not None:
                    replaced = assigned.group(1) + "None"
        if replaced is not None:
            continued = line.rstrip().endswith("\\")
            out.append(replaced)
            continue
        continued = False
        out.append(line)
        for quote in _TRIPLE.findall(line):
            if in_string is None:
                in_string = quote
            elif quote == in_string:
                in_string = None
    return out


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: long runs in one step


def _json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside JSON strings, counted without recursion."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]+", "", _JSON_STRING.sub("", text)):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


__all__ = ["NOTEBOOK_SUFFIXES", "CellFinding", "in_cell", "read_notebook"]
