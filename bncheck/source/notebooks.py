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
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.loaders import NOTEBOOK_SUFFIXES
from bncheck.loaders.safe_io import JSON_STRING, nesting_depth
from bncheck.source.edits import Edit
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
    if nesting_depth(text, "[{", "]}") > MAX_JSON_NESTING:
        raise InputError(path, f"not a readable notebook: its JSON nests deeper than {MAX_JSON_NESTING} levels")
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(path, f"not a readable notebook: not JSON ({' '.join(str(exc).split())[:120]})") from None
    cells = _cells(path, notebook)
    program: list[str] = []
    where: list[tuple[int, int]] = []
    skipped: list[str] = []
    ipython: set[int] = set()  # program lines that are not the cell's own text (never edited by --fix)
    for number, source in cells:
        if source is None:
            continue
        own = _split(source)
        lines = list(own)
        magic = _cell_magic(lines)
        if magic is not None and magic not in PYTHON_CELL_MAGICS:
            skipped.append(f"cell {number} (%%{magic})")
            lines = [""] * len(lines)  # kept as blank lines: the next cells' lines stay put
        elif magic is not None:
            lines = [""] + lines[1:]
        python = _without_ipython(lines)
        ipython.update(len(program) + k for k, (a, b) in enumerate(zip(own, python), 1) if a != b)
        program += python
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
    return SourceText(joined, cells=tuple(where), skipped=notes, ipython=frozenset(ipython))


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


# ---- --fix: edits inside the cells' sources, every other byte of the file kept -------------------

@dataclasses.dataclass(frozen=True)
class CellEdit(Edit):
    """An edit in a notebook: ``loc`` is the line and column in code cell ``cell``."""

    cell: int = 0


def cell_edits(edits: Sequence[Edit], texts: Mapping[str, str]) -> tuple[Edit, ...] | None:
    """A finding's edits with those in notebooks (``texts``: the files read specially) at their
    cell, line and column; None when one of them cannot be applied (a file read as Python 2, an
    IPython line, an edit across cells): a fix is applied whole or not at all."""
    out: list[Edit] = []
    for edit in edits:
        text = texts.get(edit.loc.path)
        if text is None:
            out.append(edit)
            continue
        mapped = _in_cell(edit, text)
        if mapped is None:
            return None
        out.append(mapped)
    return tuple(out)


def _in_cell(edit: Edit, text: str) -> CellEdit | None:
    cells = getattr(text, "cells", None)
    if cells is None or getattr(text, "python2", False):
        return None
    ipython: frozenset[int] = getattr(text, "ipython", frozenset())
    loc = edit.loc
    start, end = _cell_position(cells, loc.line, loc.col), _cell_position(cells, loc.end_line, loc.end_col)
    if start is None or end is None or start[0] != end[0]:
        return None
    if any(line in ipython for line in range(loc.line, loc.end_line + 1) if line != loc.end_line or loc.end_col > 1):
        return None
    cell = start[0]
    return CellEdit(type(loc)(loc.path, start[1], loc.col, end[1], loc.end_col), edit.text, edit.safe, cell)


def _cell_position(cells: Sequence[tuple[int, int]], line: int, col: int) -> tuple[int, int] | None:
    """(cell, line in cell) of a program position; the start of the line after a cell's last
    (``col`` 1) is the end of that cell."""
    if col == 1 and 1 < line <= len(cells) + 1 and (line > len(cells) or cells[line - 1][0] != cells[line - 2][0]):
        return cells[line - 2][0], cells[line - 2][1] + 1
    if 0 < line <= len(cells):
        return cells[line - 1]
    return None


@dataclasses.dataclass
class NotebookFix:
    """A notebook with its fixes applied: the file's new text and a unified diff per changed cell."""

    text: str
    diff: str
    bom: bool = False


_LINE_END = re.compile(r"\r\n|\r|\n")


def fix_notebook(path: str, edits: Sequence[CellEdit]) -> NotebookFix | None:
    """The notebook with ``edits`` applied inside its code cells' ``source`` strings (None when
    nothing changes). Only those strings change in the file: its layout, key order, escapes and
    outputs are kept byte for byte."""
    data = read_bytes(path, "notebook")
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig")
        if nesting_depth(text, "[{", "]}") > MAX_JSON_NESTING:
            raise ValueError(f"its JSON nests deeper than {MAX_JSON_NESTING} levels")
        notebook = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        raise InputError(path, f"not a readable notebook ({' '.join(str(exc).split())[:120]})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise InputError(path, "--fix edits nbformat 4 notebooks only (a \"cells\" list)")
    by_cell: dict[int, list[CellEdit]] = {}
    for edit in edits:
        by_cell.setdefault(edit.cell, []).append(edit)
    tokens = [m.span() for m in JSON_STRING.finditer(text)]  # in valid JSON, every string, in order
    places = _source_tokens(notebook)
    replaced: list[tuple[int, int, str]] = []
    fixed_sources: dict[int, Any] = {}
    diffs: list[str] = []
    for number in sorted(by_cell):
        cell = cells[number - 1] if 0 < number <= len(cells) else None
        if not isinstance(cell, dict) or number not in places:
            raise InputError(path, f"cell {number} changed since it was checked")
        source = cell.get("source")
        before = "".join(source) if isinstance(source, list) and all(isinstance(p, str) for p in source) else source
        if not isinstance(before, str):
            raise InputError(path, f"cell {number} changed since it was checked")
        after = _apply(before, by_cell[number])
        if after == before:
            continue
        items = _new_source(source, after)
        fixed_sources[number] = [value for value, _ in items] if isinstance(source, list) else after
        replaced.append(_replacement(text, tokens, places[number], source, items, text.isascii()))
        diffs.append(_cell_diff(f"{path}:cell {number}", before, after))
    if not replaced:
        return None
    out, pos = [], 0
    for start, end, new in sorted(replaced):
        out += [text[pos:start], new]
        pos = end
    new_text = "".join(out + [text[pos:]])
    expected = dict(notebook, cells=[dict(c, source=fixed_sources[n]) if n in fixed_sources else c
                                     for n, c in enumerate(cells, 1)])
    if json.loads(new_text) != expected:  # what was written is exactly the notebook with its cells fixed
        raise InputError(path, "--fix could not edit this notebook's cells in place; nothing was written")
    return NotebookFix(new_text, "".join(diffs), bom)


def _cell_diff(where: str, before: str, after: str) -> str:
    """A unified diff of one cell (as ruff shows a notebook's: one per cell, named ``path:cell N``;
    the same file names as :func:`bncheck.source.edits.unified_diff`)."""
    lines = difflib.unified_diff(_keep_ends(before), _keep_ends(after), fromfile=f"a/{where}", tofile=f"b/{where}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a JSON object repeats a key: --fix does not edit it")
    return out


def _source_tokens(notebook: dict[str, Any]) -> dict[int, list[int]]:
    """The indexes, among the file's JSON strings in order, of each code cell's source strings."""
    places: dict[int, list[int]] = {}
    count = 0

    def visit(node: Any, at: tuple[Any, ...]) -> None:
        nonlocal count
        if isinstance(node, str):
            if len(at) in (3, 4) and at[0] == "cells" and at[2] == "source":
                places.setdefault(at[1] + 1, []).append(count)
            count += 1
        elif isinstance(node, dict):
            for key, value in node.items():
                count += 1
                visit(value, at + (key,) if len(at) < 4 else at)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, at + (i,) if len(at) < 4 else at)

    visit(notebook, ())
    for number, cell in enumerate(notebook["cells"], 1):
        if isinstance(cell, dict) and cell.get("source") in ("", []):
            places.setdefault(number, [])
    return places


def _keep_ends(text: str) -> list[str]:
    """Lines with their ends, split where Python splits them (not at form feeds)."""
    out, pos = [], 0
    for match in _LINE_END.finditer(text):
        out.append(text[pos:match.end()])
        pos = match.end()
    return out + ([text[pos:]] if pos < len(text) else [])


def _apply(source: str, edits: Sequence[Edit]) -> str:
    """The cell's source with the edits applied (at lines and columns of its own lines); an edit
    overlapping an earlier one is left out, as in a ``.py`` file."""
    starts = [0]
    for line in _keep_ends(source):
        starts.append(starts[-1] + len(line))
    spans = []
    for e in edits:
        if e.loc.line > len(starts) or e.loc.end_line > len(starts):
            continue
        spans.append((min(starts[e.loc.line - 1] + e.loc.col - 1, len(source)),
                      min(starts[e.loc.end_line - 1] + e.loc.end_col - 1, len(source)), e.text))
    out, pos = [], 0
    for start, end, new in sorted(set(spans)):
        if start < pos:
            continue
        out += [source[pos:start], new]
        pos = end
    return "".join(out + [source[pos:]])


def _new_source(source: Any, after: str) -> list[tuple[str, int | None]]:
    """The fixed source as the cell keeps it: ``[(after, None)]`` for one string; for a list of
    lines (nbformat's), its new items, each with the index of the old item it keeps (or None)."""
    if isinstance(source, str):
        return [(after, None)]
    new = _keep_ends(after)
    items: list[tuple[str, int | None]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, source, new, autojunk=False).get_opcodes():
        items += [(source[i], i) for i in range(a1, a2)] if op == "equal" else [(line, None) for line in new[b1:b2]]
    return items


def _replacement(text: str, tokens: Sequence[tuple[int, int]], indexes: Sequence[int], source: Any,
                 items: Sequence[tuple[str, int | None]], ascii_only: bool) -> tuple[int, int, str]:
    """(start, end, new JSON) replacing a cell's source strings; unchanged lines keep their bytes."""
    spans = [tokens[i] for i in indexes]
    if not spans:
        raise InputError("", "an empty cell has no line to edit")
    encoded = [text[slice(*spans[old])] if old is not None else json.dumps(value, ensure_ascii=ascii_only)
               for value, old in items]
    if isinstance(source, str):
        return spans[0][0], spans[0][1], encoded[0]
    if len(spans) > 1:
        separator = text[spans[0][1]:spans[1][0]]
    else:
        separator = "," + text[text.rindex("[", 0, spans[0][0]) + 1:spans[0][0]]
    return spans[0][0], spans[-1][1], separator.join(encoded)


__all__ = ["NOTEBOOK_SUFFIXES", "CellEdit", "CellFinding", "NotebookFix", "cell_edits", "fix_notebook", "in_cell",
           "read_notebook"]
