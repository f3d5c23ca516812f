"""Exact outcomes mutation testing of ``bncheck/source/notebooks.py`` showed (issue 22, item 5).

Reading ``.ipynb`` files (nbformat 4 and 3, kernel languages, the code cells as one program, cell
magics, IPython line syntax made Python, the cell map) and placing findings and edits at their cells;
each survivor of the run of 060e6ba told apart here by a notebook written in the test, read through
:func:`bncheck.source.notebooks.read_notebook` (the program text, its cell map, notes and IPython lines
asserted in full) or the module's other public functions. The survivors no notebook tells apart are
listed with their reason in ``tools/mutation_equivalents.md`` ("notebooks.py (mutants of 060e6ba)").
"""
from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from bncheck.errors import InputError
from bncheck.findings import Severity
from bncheck.source.edits import Edit
from bncheck.source.model import Loc
from bncheck.source.notebooks import (
    MAX_JSON_NESTING,
    PYTHON_CELL_MAGICS,
    CellEdit,
    CellFinding,
    NotebookFix,
    _without_ipython,
    cell_edits,
    fix_notebook,
    in_cell,
    read_notebook,
)
from bncheck.source.reading import SourceText
from bncheck.source.rules.base import SourceFinding


def _code(source: Any) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}


def _md(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def _write(tmp_path: pathlib.Path, notebook: Any, name: str = "n.ipynb") -> str:
    path = tmp_path / name
    path.write_text(notebook if isinstance(notebook, str) else json.dumps(notebook))
    return str(path)


def _read(tmp_path: pathlib.Path, notebook: Any) -> tuple[str, object, tuple[str, ...], list[int], bool]:
    text = read_notebook(_write(tmp_path, notebook))
    return str(text), text.cells, text.skipped, sorted(text.ipython), text.python2


def _error(tmp_path: pathlib.Path, notebook: Any) -> str:
    path = _write(tmp_path, notebook)
    with pytest.raises(InputError) as caught:
        read_notebook(path)
    assert caught.value.source == path
    return caught.value.reason


def test_constants() -> None:
    assert MAX_JSON_NESTING == 100
    assert PYTHON_CELL_MAGICS == frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3",
                                            "tensorboard"})


def test_cells_in_order_with_markdown_counted(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_md("# title"), _code(["import tensorflow as tf\n", "x = 1\n"]), {"cell_type": "raw"},
                    _code("y = 2\r\nz = 3\rw = 4\n\n"), _code(""), {"cell_type": "code"}, _code([])],
          "metadata": {}, "nbformat": 4}
    assert _read(tmp_path, nb) == (
        "import tensorflow as tf\nx = 1\ny = 2\nz = 3\nw = 4\n\n",
        ((2, 1), (2, 2), (4, 1), (4, 2), (4, 3), (4, 4)), (), [], False)


def test_no_code_is_an_empty_program(tmp_path: pathlib.Path) -> None:
    assert _read(tmp_path, {"cells": [_md("x")]}) == ("", (), (), [], False)


def test_nbformat_3(tmp_path: pathlib.Path) -> None:
    nb = {"worksheets": [{"cells": [{"cell_type": "code", "input": ["a = 1\n", "b = 2"]},
                                    {"cell_type": "markdown", "source": "x"}]},
                         "not a sheet", {"cells": "no list"}, {},
                         {"cells": [{"cell_type": "code", "input": "c = 3", "source": "ignored = 1"}]}],
          "metadata": {"language": "python"}, "nbformat": 3}
    assert _read(tmp_path, nb) == ("a = 1\nb = 2\nc = 3\n", ((1, 1), (1, 2), (3, 1)), (), [], False)


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"language": "Python"}}, {"kernelspec": {"language": "python3"}},
    {"kernelspec": {"language": "python2"}}, {"kernelspec": {"language": "IPython"}},
    {"language_info": {"name": "python"}}, {"kernelspec": {"language": 3}, "language_info": {"name": "python"}},
    {"kernelspec": "R", "language_info": {"name": "python"}}, {"kernelspec": {}, "language_info": {}},
    "R", {"language_info": {"name": ["R"]}},
])
def test_python_kernels(tmp_path: pathlib.Path, metadata: Any) -> None:
    assert _read(tmp_path, {"cells": [_code("a = 1")], "metadata": metadata}) == ("a = 1\n", ((1, 1),), (), [],
                                                                                 False)


@pytest.mark.parametrize("metadata, language", [
    ({"kernelspec": {"language": "R"}}, "'R'"),
    ({"kernelspec": {"language": "julia"}, "language_info": {"name": "python"}}, "'julia'"),
    ({"kernelspec": {"language": 1}, "language_info": {"name": "scala"}}, "'scala'"),
    ({"language_info": {"name": "x" * 50}}, repr("x" * 40)),
    ({"kernelspec": {"language": "pythonic"}}, "'pythonic'"),
])
def test_other_kernels_are_errors(tmp_path: pathlib.Path, metadata: Any, language: str) -> None:
    assert _error(tmp_path, {"cells": [], "metadata": metadata}) == (
        f"a notebook in {language}, not Python: bncheck checks Python notebooks")


@pytest.mark.parametrize("notebook, reason", [
    ("[1]", "not a readable notebook: the JSON is not an object"),
    ({"worksheets": "x"}, "not a readable notebook: no \"cells\" list"),
    ({}, "not a readable notebook: no \"cells\" list"),
    ({"cells": {"a": 1}}, "not a readable notebook: \"cells\" is not a list"),
    ({"cells": [_code("a = 1"), "x"]}, "not a readable notebook: cell 2 is not an object"),
    ({"cells": [_md("a"), _code(["a", 1])]}, "not a readable notebook: the source of cell 2 is not text"),
    ({"cells": [_code(None)]}, "not a readable notebook: the source of cell 1 is not text"),
    ('{"cells": [}', "not a readable notebook: not JSON (Expecting value: line 1 column 12 (char 11))"),
    ("{" + " " * 200 + "x", ("not a readable notebook: not JSON (Expecting property name enclosed in double "
                             "quotes: line 1 column 202 (char 201))")),
])
def test_unreadable(tmp_path: pathlib.Path, notebook: Any, reason: str) -> None:
    assert _error(tmp_path, notebook) == reason


def test_nesting_limit(tmp_path: pathlib.Path) -> None:
    deep = '{"cells": [], "x": ' + "[" * 99 + "]" * 99 + "}"
    assert _read(tmp_path, deep) == ("", (), (), [], False)
    deeper = '{"cells": [], "x": ' + "[" * 100 + "]" * 100 + "}"
    assert _error(tmp_path, deeper) == "not a readable notebook: its JSON nests deeper than 100 levels"


def test_encoding(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bom.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"cells": [_code("a = '\u00e9'")]}).encode())
    assert str(read_notebook(str(path))) == "a = '\u00e9'\n"
    path.write_bytes(b'{"cells": [], "x": "\xff"}')
    with pytest.raises(InputError) as caught:
        read_notebook(str(path))
    assert caught.value.reason == "not a readable notebook: not UTF-8 (byte 20)"


def test_cell_magics(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_code("%%bash\nls\npwd\n"), _code("%%time\nx = 1\n"), _code("%%writefile a.py\nprint 1\n"),
                    _code("%%\nfoo bar\n"), _code("%%timeit -n 3\ny = 2"), _code("%%capture out\nz = 3"),
                    _code("%%a.b-c x\n1 +"), _code("%%python3\nw = 4"), _code("%lsmagic\n")]}
    assert _read(tmp_path, nb) == (
        "\n\n\n\nx = 1\n\n\n\n\n\ny = 2\n\nz = 3\n\n\n\nw = 4\npass\n",
        ((1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1), (4, 2), (5, 1), (5, 2), (6, 1), (6, 2),
         (7, 1), (7, 2), (8, 1), (8, 2), (9, 1)),
        ("not checked, not Python: cell 1 (%%bash), cell 3 (%%writefile), cell 4 (%%), cell 7 (%%a.b-c)",),
        [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 14, 15, 16, 18], False)


def test_ipython_lines_are_made_python() -> None:
    cell = [
        "%matplotlib inline",          # 1
        "  !pip install x",            # 2
        "model?",                      # 3
        "?model",                      # 4
        "tf.keras.Model??  ",          # 5
        "a.b*?",                       # 6
        "files = !ls",                 # 7
        "t = %time f()",               # 8
        "x != 3",                      # 9
        "!=",                          # 10
        "y == !z",                     # 11
        "a[0], b = %who_ls",           # 12
        "c = !=",                      # 13
        "%time f(1, \\",              # 14
        "  2)",                        # 15
        "d = 1 \\",                   # 16
        "  + 2",                       # 17
        "s = '''",                     # 18
        "%not a magic \"\"\"",         # 19
        "!nor this'''",                # 20
        "%but this",                   # 21
        "u = \"\"\"x\"\"\"",           # 22
        "!and this",                   # 23
        "\tmodel???",                  # 24
        "k <= %x",                     # 25
        "m >= !x",                     # 26
        "\t%t",                        # 27
        "%a \\",                      # 28
        "!b \\",                      # 29
        "c",                           # 30
        "e = 1",                       # 31
        " model? x",                   # 32
        "(a) = !x",                    # 33
        "a.b = %x",                    # 34
    ]
    assert _without_ipython(cell) == [
        "pass", "  pass", "pass", "pass", "pass", "pass", "files = None", "t = None", "x != 3", "!=", "y == !z",
        "a[0], b = None", "c = !=", "pass", "", "d = 1 \\", "  + 2", "s = '''", "%not a magic \"\"\"",
        "!nor this'''", "pass", "u = \"\"\"x\"\"\"", "pass", "\tmodel???", "k <= %x", "m >= !x", "\tpass",
        "pass", "", "", "e = 1", " model? x", "(a) = None", "a.b = None"]


def test_ipython_lines_are_known(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_code("a = 1\n"), _code(["%time f()\n", "b = 2\n", "if b:\n", "    !ls \\\n", "  -l\n",
                                               "    c = !pwd\n", "x = 3"]), _md("m"), _code("y?\nz = 1")]}
    assert _read(tmp_path, nb) == (
        "a = 1\npass\nb = 2\nif b:\n    pass\n\n    c = None\nx = 3\npass\nz = 1\n",
        ((1, 1), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 6), (2, 7), (4, 1), (4, 2)), (), [2, 5, 6, 7, 9],
        False)


def test_python2_notebook(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_md("x"), _code("print 'a'\n"), _code("%%bash\nls\n")]}
    text = read_notebook(_write(tmp_path, nb))
    assert (str(text), text.python2, text.original, text.cells, text.skipped) == (
        "print('a')\n\n\n", True, "print 'a'\n\n\n", ((2, 1), (3, 1), (3, 2)),
        ("not checked, not Python: cell 3 (%%bash)",))


def test_python2_notebook_error_names_the_cell(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_code("a = 1\n"), _code("print 'a'\nx = = 1\n")]}
    reason = _error(tmp_path, nb)
    assert reason == ("not valid Python: Missing parentheses in call to 'print'. Did you mean print(...)? "
                      "(cell 2, line 1); not readable as Python 2 either")


# ---- findings and edits at their cells ---------------------------------------------------------------

def _finding(line: int, end_line: int, path: str = "n.ipynb") -> SourceFinding:
    return SourceFinding("BN001", "rule", Severity.WARNING, "bn", "msg", Loc(path, line, 3, end_line, 9),
                         (("k", 1),), "fix")


def test_in_cell() -> None:
    cells = ((2, 1), (2, 2), (4, 1), (4, 2))
    assert in_cell(_finding(2, 2), cells) == CellFinding(
        "BN001", "rule", Severity.WARNING, "bn", "msg", Loc("n.ipynb", 2, 3, 2, 9), (("k", 1),), "fix", (), 2)
    assert in_cell(_finding(3, 4), cells) == CellFinding(
        "BN001", "rule", Severity.WARNING, "bn", "msg", Loc("n.ipynb", 1, 3, 2, 9), (("k", 1),), "fix", (), 4)
    assert in_cell(_finding(1, 3), cells) == CellFinding(
        "BN001", "rule", Severity.WARNING, "bn", "msg", Loc("n.ipynb", 1, 3, 1, 9), (("k", 1),), "fix", (), 2)
    assert in_cell(_finding(4, 5), cells) == CellFinding(
        "BN001", "rule", Severity.WARNING, "bn", "msg", Loc("n.ipynb", 2, 3, 2, 9), (("k", 1),), "fix", (), 4)
    assert in_cell(_finding(4, 0), cells).loc == Loc("n.ipynb", 2, 3, 2, 9)
    for line in (0, 5, -1):
        assert in_cell(_finding(line, line), cells) == _finding(line, line)


def test_cell_finding_to_finding() -> None:
    found = in_cell(_finding(3, 3), ((1, 1), (1, 2), (3, 7))).to_finding()
    assert (found.line, found.column, found.cell, found.evidence) == (7, 3, 3, (("at", "n.ipynb:cell 3:7:3"),
                                                                               ("k", 1)))


def _texts(cells: tuple[tuple[int, int], ...], **how: Any) -> dict[str, str]:
    return {"n.ipynb": SourceText("x\n" * len(cells), cells=cells, **how)}


def _edit(line: int, col: int, end_line: int, end_col: int) -> Edit:
    return Edit(Loc("n.ipynb", line, col, end_line, end_col), "E", False)


def test_cell_edits() -> None:
    cells = ((2, 1), (2, 2), (2, 3), (4, 1), (4, 2))
    texts = _texts(cells, ipython=frozenset({4}))
    assert cell_edits([_edit(2, 1, 3, 2)], texts) == (CellEdit(Loc("n.ipynb", 2, 1, 3, 2), "E", False, 2),)
    assert cell_edits([_edit(5, 2, 5, 3)], texts) == (CellEdit(Loc("n.ipynb", 2, 2, 2, 3), "E", False, 4),)
    # the start of the line after a cell's last line is the end of that cell (also after the last cell)
    assert cell_edits([_edit(3, 1, 4, 1)], texts) == (CellEdit(Loc("n.ipynb", 3, 1, 4, 1), "E", False, 2),)
    assert cell_edits([_edit(5, 1, 6, 1)], texts) == (CellEdit(Loc("n.ipynb", 2, 1, 3, 1), "E", False, 4),)
    assert cell_edits([_edit(1, 1, 2, 1)], texts) == (CellEdit(Loc("n.ipynb", 1, 1, 2, 1), "E", False, 2),)
    assert cell_edits([_edit(6, 1, 6, 1)], texts) == (CellEdit(Loc("n.ipynb", 3, 1, 3, 1), "E", False, 4),)
    assert cell_edits([_edit(4, 2, 4, 3)], texts) is None  # an IPython line
    assert cell_edits([_edit(4, 1, 4, 2)], texts) is None
    assert cell_edits([_edit(4, 1, 4, 1)], texts) == (CellEdit(Loc("n.ipynb", 4, 1, 4, 1), "E", False, 2),)
    assert cell_edits([_edit(3, 2, 4, 1)], texts) == (CellEdit(Loc("n.ipynb", 3, 2, 4, 1), "E", False, 2),)
    assert cell_edits([_edit(3, 2, 4, 2)], texts) is None  # across cells
    assert cell_edits([_edit(0, 1, 1, 1)], texts) is None
    assert cell_edits([_edit(6, 2, 6, 3)], texts) is None
    assert cell_edits([_edit(7, 1, 7, 1)], texts) is None
    assert cell_edits([_edit(1, 1, 1, 2), _edit(4, 1, 4, 2)], texts) is None
    other = Edit(Loc("m.py", 1, 1, 1, 2), "E", True)
    assert cell_edits([other, _edit(1, 1, 1, 2)], texts) == (
        other, CellEdit(Loc("n.ipynb", 1, 1, 1, 2), "E", False, 2))
    assert cell_edits([], texts) == ()
    assert cell_edits([_edit(1, 1, 1, 2)], _texts(cells, python2=True)) is None
    assert cell_edits([_edit(1, 1, 1, 2)], {"n.ipynb": SourceText("x\n")}) is None
    assert cell_edits([_edit(1, 1, 1, 2)], {"n.ipynb": "x\n"}) is None


def test_cell_edits_ipython_lines_around_an_edit() -> None:
    cells = ((1, 1), (1, 2), (1, 3), (1, 4))
    assert cell_edits([_edit(1, 1, 3, 1)], _texts(cells, ipython=frozenset({3}))) == (
        CellEdit(Loc("n.ipynb", 1, 1, 3, 1), "E", False, 1),)
    assert cell_edits([_edit(1, 1, 3, 2)], _texts(cells, ipython=frozenset({3}))) is None
    assert cell_edits([_edit(1, 1, 3, 1)], _texts(cells, ipython=frozenset({2}))) is None
    assert cell_edits([_edit(2, 1, 3, 1)], _texts(cells, ipython=frozenset({1, 4}))) == (
        CellEdit(Loc("n.ipynb", 2, 1, 3, 1), "E", False, 1),)
    assert cell_edits([_edit(2, 1, 2, 1)], _texts(cells, ipython=frozenset({2}))) == (
        CellEdit(Loc("n.ipynb", 2, 1, 2, 1), "E", False, 1),)
    assert cell_edits([_edit(2, 1, 2, 2)], _texts(cells, ipython=frozenset({2}))) is None


# ---- fix_notebook ---------------------------------------------------------------------------------------

def _cedit(cell: int, line: int, col: int, end_line: int, end_col: int, text: str) -> CellEdit:
    return CellEdit(Loc("n.ipynb", line, col, end_line, end_col), text, True, cell)


def _fix_file(tmp_path: pathlib.Path, content: str, edits: list[CellEdit], bom: bool = False) -> Any:
    path = tmp_path / "n.ipynb"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + content.encode())
    return fix_notebook(str(path), edits)


NB = {"cells": [_md("# t\u00e9"), _code(["import tensorflow as tf\n", "bn = f(momentum=0.1)\n", "x = 1"]),
                _code("a = 1\nb = 2\n"), _code([])],
      "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_fix_notebook_list_source(tmp_path: pathlib.Path) -> None:
    content = json.dumps(NB, indent=1)
    fixed = _fix_file(tmp_path, content, [_cedit(2, 2, 17, 2, 20, "0.9")])
    path = str(tmp_path / "n.ipynb")
    assert fixed == NotebookFix(content.replace("momentum=0.1", "momentum=0.9"), (
        f"--- a/{path}:cell 2\n+++ b/{path}:cell 2\n@@ -1,3 +1,3 @@\n import tensorflow as tf\n"
        "-bn = f(momentum=0.1)\n+bn = f(momentum=0.9)\n x = 1\n\\ No newline at end of file\n"), False)


def test_fix_notebook_inserted_lines_keep_the_layout(tmp_path: pathlib.Path) -> None:
    content = json.dumps(NB, indent=2, ensure_ascii=False)
    fixed = _fix_file(tmp_path, content, [_cedit(2, 2, 1, 2, 1, "with c:\n    "), _cedit(2, 3, 1, 3, 1, "y = 0\n")],
                      bom=True)
    expected = dict(NB, cells=[NB["cells"][0], _code(["import tensorflow as tf\n", "with c:\n",
                                                      "    bn = f(momentum=0.1)\n", "y = 0\n", "x = 1"]),
                               NB["cells"][2], NB["cells"][3]])
    assert fixed.text == json.dumps(expected, indent=2, ensure_ascii=False)
    assert fixed.bom is True


def test_fix_notebook_string_source_and_two_cells(tmp_path: pathlib.Path) -> None:
    content = json.dumps(NB)
    fixed = _fix_file(tmp_path, content, [_cedit(3, 2, 5, 2, 6, "\u00e9"), _cedit(2, 3, 5, 3, 6, "2"),
                                          _cedit(3, 1, 5, 1, 6, "3"), _cedit(3, 1, 1, 1, 8, "zz"),
                                          _cedit(3, 9, 1, 9, 2, "w")])
    expected = dict(NB, cells=[NB["cells"][0], _code(["import tensorflow as tf\n", "bn = f(momentum=0.1)\n",
                                                      "x = 2"]),
                               _code("zz = \u00e9\n"), NB["cells"][3]])
    assert fixed.text == json.dumps(expected)
    path = str(tmp_path / "n.ipynb")
    assert fixed.diff == (
        f"--- a/{path}:cell 2\n+++ b/{path}:cell 2\n@@ -1,3 +1,3 @@\n import tensorflow as tf\n"
        " bn = f(momentum=0.1)\n-x = 1\n\\ No newline at end of file\n+x = 2\n\\ No newline at end of file\n"
        f"--- a/{path}:cell 3\n+++ b/{path}:cell 3\n@@ -1,2 +1 @@\n-a = 1\n-b = 2\n+zz = \u00e9\n")
    assert "\\u00e9" in fixed.text and fixed.bom is False


def test_fix_notebook_single_line_list(tmp_path: pathlib.Path) -> None:
    nb = {"cells": [_code(["a = 1"])], "nbformat": 4}
    content = '{"cells": [{"cell_type": "code", "source": [ \n  "a = 1"]}], "nbformat": 4}'
    fixed = _fix_file(tmp_path, content, [_cedit(1, 1, 6, 1, 6, "\nb = 2")])
    assert fixed.text == '{"cells": [{"cell_type": "code", "source": [ \n  "a = 1\\n", \n  "b = 2"]}], "nbformat": 4}'
    assert json.loads(fixed.text)["cells"][0]["source"] == ["a = 1\n", "b = 2"]
    assert nb["cells"][0]["cell_type"] == "code"


def test_fix_notebook_nothing_changes(tmp_path: pathlib.Path) -> None:
    assert _fix_file(tmp_path, json.dumps(NB), [_cedit(3, 1, 5, 1, 6, "1")]) is None
    assert _fix_file(tmp_path, json.dumps(NB), []) is None


@pytest.mark.parametrize("content, edits, reason", [
    (json.dumps(NB), [_cedit(5, 1, 1, 1, 1, "x")], "cell 5 changed since it was checked"),
    (json.dumps(NB), [_cedit(0, 1, 1, 1, 1, "x")], "cell 0 changed since it was checked"),
    (json.dumps({"cells": [_code(["a", 1])]}), [_cedit(1, 1, 1, 1, 1, "x")], "cell 1 changed since it was checked"),
    (json.dumps({"cells": ["x"]}), [_cedit(1, 1, 1, 1, 1, "x")], "cell 1 changed since it was checked"),
    (json.dumps({"cells": {}}), [], "--fix edits nbformat 4 notebooks only (a \"cells\" list)"),
    ("[]", [], "--fix edits nbformat 4 notebooks only (a \"cells\" list)"),
    ('{"cells": [], "cells": []}', [], ("not a readable notebook (a JSON object repeats a key: --fix does not "
                                        "edit it)")),
    ('{"cells": [], "x": ' + "[" * 100 + "]" * 100 + "}", [],
     "not a readable notebook (its JSON nests deeper than 100 levels)"),
    ('{"cells": [', [], "not a readable notebook (Expecting value: line 1 column 12 (char 11))"),
])
def test_fix_notebook_refusals(tmp_path: pathlib.Path, content: str, edits: list[CellEdit], reason: str) -> None:
    with pytest.raises(InputError) as caught:
        _fix_file(tmp_path, content, edits)
    assert (caught.value.source, caught.value.reason) == (str(tmp_path / "n.ipynb"), reason)


def test_fix_notebook_deepest_accepted(tmp_path: pathlib.Path) -> None:
    content = '{"cells": [{"cell_type": "code", "source": "a = 1"}], "x": ' + "[" * 99 + "]" * 99 + "}"
    fixed = _fix_file(tmp_path, content, [_cedit(1, 1, 5, 1, 6, "2")])
    assert fixed.text == content.replace("a = 1", "a = 2")


@pytest.mark.parametrize("cells, edit, where", [
    (((1, 1), (2, 1)), (2, 1, 2, 1), (1, 2, 1, 2, 1)),
    (((1, 1), (2, 1), (2, 2)), (2, 1, 2, 1), (1, 2, 1, 2, 1)),
    (((1, 1), (1, 2), (2, 1)), (3, 1, 3, 1), (1, 3, 1, 3, 1)),
    (((1, 1), (2, 1), (3, 1)), (3, 1, 3, 1), (2, 2, 1, 2, 1)),
    (((1, 1), (1, 2), (1, 3)), (3, 1, 3, 2), (1, 3, 1, 3, 2)),
    (((1, 1), (2, 1)), (0, 2, 0, 3), None),
])
def test_the_start_of_a_cells_first_line_is_the_end_of_the_cell_before(
        cells: tuple[tuple[int, int], ...], edit: tuple[int, int, int, int], where: Any) -> None:
    got = cell_edits([_edit(*edit)], _texts(cells))
    if where is None:
        assert got is None
    else:
        cell, line, col, end_line, end_col = where
        assert got == (CellEdit(Loc("n.ipynb", line, col, end_line, end_col), "E", False, cell),)
