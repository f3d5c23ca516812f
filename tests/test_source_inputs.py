"""Source inputs that are not plain UTF-8 Python 3: PEP 263 encodings, Python 2 files, notebooks."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT

import bncheck
from bncheck.cli import main
from bncheck.source import check_files
from bncheck.source.notebooks import _without_ipython
from bncheck.source.loader import parse_module
from bncheck.source.reading import SourceText, python3_of, read_python

SOURCE = FIXTURES / "source"
PY2 = SOURCE / "python2" / "contrib_batch_norm_python2.py"
PY2_FIXED = SOURCE / "python2" / "contrib_batch_norm_python2_fixed.py"
LATIN1 = SOURCE / "encodings" / "contrib_batch_norm_latin1.py"
LATIN1_FIXED = SOURCE / "encodings" / "contrib_batch_norm_latin1_fixed.py"
NOTEBOOK = SOURCE / "notebooks" / "train_tf1.ipynb"
NOTEBOOK_FIXED = SOURCE / "notebooks" / "train_tf1_fixed.ipynb"
READ_AS_PY2 = "read as Python 2: converted to Python 3 in memory to be analysed (the file is not changed)"
PY2_NO_FIX = "--fix does not edit files read as Python 2: the fixes of its findings are not applied"


def _run(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [str(a) for a in args])


def _where(report: bncheck.Report) -> list[tuple[str, str, int | None, int | None, int | None]]:
    return [(f.code, f.path, f.cell, f.line, f.column) for f in report.findings]


# ---- Python 2 ----------------------------------------------------------------------------------

def test_python2_twin_is_read_and_its_finding_is_on_the_files_own_line_and_column() -> None:
    report = bncheck.check_path(str(PY2))
    # line 23 is "\treturn tf.train...minimize(...)": a tab (1 character) then "return "
    assert _where(report) == [("BN001", str(PY2), None, 23, 9)]
    assert PY2.read_text().splitlines()[22][8:] .startswith("tf.train.GradientDescentOptimizer(0.1).minimize(")
    assert report.findings[0].evidence_dict["layer built at"] == f"{PY2}:15"
    assert report.notes == [(str(PY2), READ_AS_PY2), (str(PY2), PY2_NO_FIX)] and not report.errors


def test_python2_fixed_twin_is_clean_and_also_says_how_it_was_read() -> None:
    report = bncheck.check_path(str(PY2_FIXED))
    assert report.findings == [] and report.errors == [] and report.checked == [str(PY2_FIXED)]
    assert report.notes == [(str(PY2_FIXED), READ_AS_PY2)]


def _analysed(path: pathlib.Path) -> str:
    """The text the analysis parses: the file's, or its Python 3 conversion."""
    return parse_module(str(path), read_python(str(path)), "train").text


def test_reading_does_not_convert_only_the_parse_does() -> None:
    """Python 2 is converted where the text is parsed, after Python 3 refused it: a valid Python 3
    file (nearly all of them) is parsed once, whatever Python 2-looking text it holds."""
    assert type(read_python(str(PY2))) is str and read_python(str(PY2)) == PY2.read_text()


def test_the_conversion_keeps_every_line_where_it_was() -> None:
    text = _analysed(PY2)
    assert isinstance(text, SourceText) and text.python2 and text.original == PY2.read_text()
    converted, original = text.splitlines(), text.original.splitlines()
    assert len(converted) == len(original) == 34
    changed = [i + 1 for i, (a, b) in enumerate(zip(converted, original)) if a != b]
    assert changed == [9, 10, 16, 21, 23, 33, 34]  # 0755, ur"", print, the two tab lines, except, print
    assert converted[15] == '    print("hidden:", hidden)'
    assert converted[32] == "except OSError as e:"


def test_a_tuple_parameter_adds_a_line_and_findings_below_it_stay_on_the_files_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    script.write_text(
        "import tensorflow as tf\n"
        "def pair_loss((a, b)):\n"
        "    return a - b\n"
        "print 'building'\n"
        "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    assert len(python3_of(script.read_text()).splitlines()) == 6  # the unpacking is a new line
    report = bncheck.check_path(str(script))
    assert _where(report) == [("BN007", str(script), None, 5, 50)]


def test_python2_file_gets_no_fix_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Its Python 3 twin (the same code converted) has an unsafe fix; the Python 2 file gets none,
    and is left byte for byte as it was."""
    converted = tmp_path / "converted.py"
    converted.write_text(str(_analysed(PY2)))
    assert _run("--diff", "--unsafe-fixes", converted).exit_code == 1
    script = tmp_path / "train.py"
    shutil.copyfile(PY2, script)
    before = script.read_bytes()
    diff = _run("--diff", "--unsafe-fixes", script)
    assert diff.exit_code == 0 and diff.stdout == ""
    assert diff.stderr == f"bncheck: 0 fixable findings in 0 files\nbncheck: {script}: {PY2_NO_FIX}\n"
    fixed = _run("--fix", "--unsafe-fixes", "--output-format", "json", script)
    assert script.read_bytes() == before
    assert fixed.stderr.startswith(f"bncheck: fixed 0 findings in 0 files\nbncheck: {script}: {PY2_NO_FIX}\n")
    assert [(f["code"], f["line"]) for f in json.loads(fixed.stdout)["findings"]] == [("BN001", 23)]


def test_python3_syntax_error_that_is_not_python2_either_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "broken.py"
    script.write_text("import tensorflow as tf\nprint 'x'\nbn = tf.keras.layers.BatchNormalization(\n")
    result = _run(script)
    assert result.exit_code == 2
    assert result.stderr == (f"bncheck: error: {script}: not valid Python: Missing parentheses in call to 'print'. "
                             "Did you mean print(...)? (line 2); not readable as Python 2 either\n")


def test_python3_with_python2_looking_text_is_parsed_as_python3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    script.write_text('import tensorflow as tf\n"""print x and `x` in a docstring, 0777"""\n'
                      "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    assert type(_analysed(script)) is str
    report = bncheck.check_path(str(script))
    assert _where(report) == [("BN007", str(script), None, 3, 50)] and report.notes == []


# ---- PEP 263 encodings -------------------------------------------------------------------------

def test_latin1_twins_are_read_as_their_coding_line_says() -> None:
    report = bncheck.check_path([str(LATIN1), str(LATIN1_FIXED)])
    assert _where(report) == [("BN001", str(LATIN1), None, 17, 13)]
    assert report.findings[0].layer == "réseau/bn1"
    assert report.errors == [] and report.checked == [str(LATIN1), str(LATIN1_FIXED)]


def test_fix_writes_a_latin1_file_back_in_latin1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    shutil.copyfile(LATIN1, script)
    result = _run("--fix", "--unsafe-fixes", script)
    assert result.stderr.startswith("bncheck: fixed 1 finding in 1 file\n")
    data = script.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("latin-1") == LATIN1.read_bytes().decode("latin-1").replace(
        "opération = tf.train", "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
        "    opération = tf.train")
    assert _run(script).exit_code == 0


@pytest.mark.parametrize(("head", "reason"), [
    (b"# -*- coding: no-such-codec -*-\n", "declares an unknown encoding 'no-such-codec' (PEP 263)"),
    (b"# coding=base64\n", "declares the encoding 'base64', which is not a text encoding that Python source can use"),
    (b"# coding: ascii\nlabel = '\xe9'\n", "not valid ascii text, as its coding line declares (byte b'\\xe9' on line 2)"),
    (b"# coding: utf-16\n", "declares the encoding 'utf-16', which is not a text encoding that Python source can use"),
    (b"\xef\xbb\xbf# coding: latin-1\n", "starts with a UTF-8 byte order mark but declares another encoding (PEP 263)"),
    (b"# caf\xe9\n", "not a UTF-8 Python file (byte b'\\xe9' on line 1) and declares no other encoding (PEP 263)"),
    (b"# no declaration\nlabel = '\xe9'\n",
     "not a UTF-8 Python file (byte b'\\xe9' on line 2) and declares no other encoding (PEP 263)"),
])
def test_encoding_problems_are_one_line_errors(tmp_path, head: bytes, reason: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.py"
    bad.write_bytes(head + b"import tensorflow as tf\n")
    result = _run(bad, LATIN1)
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {bad}: {reason}\n"
    assert "réseau/bn1" in result.stdout  # the other input is still checked


def test_utf8_bom_file_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    script.write_bytes(b"\xef\xbb\xbfimport tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    assert _where(bncheck.check_path(str(script))) == [("BN007", str(script), None, 2, 50)]


# ---- notebooks ---------------------------------------------------------------------------------

def test_notebook_twins_cells_are_one_program_with_cell_locations() -> None:
    report = bncheck.check_path([str(NOTEBOOK), str(NOTEBOOK_FIXED)])
    # cell 6: "%%time", "loss = ...", "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)"
    assert _where(report) == [("BN001", str(NOTEBOOK), 6, 3, 12)]
    assert report.findings[0].layer == "model/bn1"
    assert report.findings[0].evidence_dict == {"at": f"{NOTEBOOK}:cell 6:3:12",
                                                "layer built at": f"{NOTEBOOK}:cell 4:6",
                                                "built with": "tf.compat.v1.layers.batch_normalization"}
    assert report.errors == [] and report.checked == [str(NOTEBOOK), str(NOTEBOOK_FIXED)]
    assert report.notes == [(str(NOTEBOOK), "not checked, not Python: cell 3 (%%bash)"),
                            (str(NOTEBOOK_FIXED), "not checked, not Python: cell 3 (%%bash)")]


def test_notebook_cell_in_each_output_format() -> None:
    concise = _run("--output-format", "concise", NOTEBOOK)
    assert concise.exit_code == 1
    assert concise.stdout.splitlines()[0] == (
        f"{NOTEBOOK}:cell 6:3:12: BN001 error update-not-run: model/bn1: the train op does not run this layer's "
        "moving-average updates: the moving statistics are never updated")
    finding = json.loads(_run("--output-format", "json", NOTEBOOK).stdout)["findings"][0]
    assert (finding["cell"], finding["line"], finding["column"]) == (6, 3, 12)
    from test_output_formats import assert_valid_sarif

    log = json.loads(_run("--output-format", "sarif", NOTEBOOK.relative_to(ROOT)).stdout)
    assert_valid_sarif(log)
    sarif = log["runs"][0]["results"][0]
    assert "region" not in sarif["locations"][0]["physicalLocation"]
    assert sarif["properties"]["cell"] == {"cell": 6, "line": 3, "column": 12}
    github = _run("--output-format", "github", NOTEBOOK).stdout.splitlines()[0]
    assert github.startswith(f"::error file={NOTEBOOK.relative_to(ROOT)},title=BN001 model/bn1 (source) "
                             "(cell 6%2C line 3)::the train op does not run")
    full = _run(NOTEBOOK).stdout
    assert f"{NOTEBOOK}:cell 6:3:12" in full


def test_python_files_keep_their_locations_without_a_cell() -> None:
    finding = json.loads(_run("--output-format", "json", LATIN1).stdout)["findings"][0]
    assert "cell" not in finding and (finding["line"], finding["column"]) == (17, 13)


def _cell_source(path, number: int) -> list[str]:  # type: ignore[no-untyped-def]
    return json.loads(path.read_text())["cells"][number - 1]["source"]  # type: ignore[no-any-return]


MINIMIZE = '    "train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\\n",\n'
WRAPPED = ('    "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\\n",\n'
           '    "    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\\n",\n')


def test_notebook_fix_gives_the_fixed_twins_cell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    notebook = tmp_path / "train.ipynb"
    shutil.copyfile(NOTEBOOK, notebook)
    before = notebook.read_text()
    diff = _run("--diff", "--unsafe-fixes", notebook)
    assert diff.exit_code == 1
    assert diff.stdout == (
        f"--- a/{notebook}:cell 6\n+++ b/{notebook}:cell 6\n@@ -1,4 +1,5 @@\n %%time\n"
        " loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)\n"
        "-train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n"
        "+with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
        "+    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)\n"
        " files = !ls checkpoints\n")
    assert diff.stderr == "bncheck: 1 fixable finding in 1 file\n"
    assert notebook.read_text() == before  # --diff writes nothing
    fixed = _run("--fix", "--unsafe-fixes", notebook)
    assert fixed.stderr == "bncheck: fixed 1 finding in 1 file\n"
    assert _cell_source(notebook, 6) == _cell_source(NOTEBOOK_FIXED, 6)
    assert before.count(MINIMIZE) == 1 and notebook.read_text() == before.replace(MINIMIZE, WRAPPED)  # nothing else
    assert bncheck.check_path(str(notebook)).findings == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.ipynb"]  # no temporary file left


def test_notebook_safe_fix_keeps_every_other_byte(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A notebook not laid out by nbformat (one line, ASCII escapes, a cell source as one string)
    keeps its layout: only the fixed cell's string changes."""
    notebook = tmp_path / "nb.ipynb"
    cell = ("!pip install tf\nimport tensorflow as tf\n"
            "bn = tf.keras.layers.BatchNormalization(momentum=0.1)  # caf\u00e9\n%time x = 1")
    notebook.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# \u00e9t\u00e9"},
                                              {"cell_type": "code", "metadata": {}, "execution_count": None,
                                               "outputs": [], "source": cell}],
                                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    before = notebook.read_text()
    assert _where(bncheck.check_path(str(notebook))) == [("BN007", str(notebook), 2, 3, 50)]
    diff = _run("--diff", notebook)
    assert diff.stdout == (
        f"--- a/{notebook}:cell 2\n+++ b/{notebook}:cell 2\n@@ -1,4 +1,4 @@\n !pip install tf\n"
        " import tensorflow as tf\n-bn = tf.keras.layers.BatchNormalization(momentum=0.1)  # caf\u00e9\n"
        "+bn = tf.keras.layers.BatchNormalization(momentum=0.9)  # caf\u00e9\n %time x = 1\n"
        "\\ No newline at end of file\n")
    assert _run("--fix", notebook).stderr == "bncheck: fixed 1 finding in 1 file\n"
    assert notebook.read_text() == before.replace("momentum=0.1", "momentum=0.9")
    assert before.count("momentum=0.1") == 1 and "caf\\u00e9" in before


def test_notebook_fix_never_edits_an_ipython_line_or_across_cells(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bncheck.source.edits import Edit
    from bncheck.source.model import Loc
    from bncheck.source.notebooks import CellEdit, cell_edits, read_notebook

    text = read_notebook(str(NOTEBOOK))
    path = str(NOTEBOOK)
    texts = {path: text}
    # program line 11 is cell 4's line 4 ("with tf.variable_scope..."), line 10 its "tf.layers.batch_normalization?"
    assert cell_edits([Edit(Loc(path, 11, 1, 11, 5), "WITH", True)], texts) == (
        CellEdit(Loc(path, 4, 1, 4, 5), "WITH", True, 4),)
    assert cell_edits([Edit(Loc(path, 10, 1, 10, 3), "x", True)], texts) is None  # the help line
    assert cell_edits([Edit(Loc(path, 11, 1, 11, 5), "WITH", True), Edit(Loc(path, 1, 1, 1, 2), "", True)],
                      texts) is None  # a fix is applied whole or not at all
    assert cell_edits([Edit(Loc(path, 13, 1, 16, 1), "", True)], texts) is None  # cells 4 to 6
    # the start of the line after a cell's last line is the end of that cell
    assert cell_edits([Edit(Loc(path, 14, 1, 15, 1), "", True)], texts) == (CellEdit(Loc(path, 7, 1, 8, 1), "", True, 4),)
    other = Edit(Loc("train.py", 1, 1, 1, 1), "x", True)
    assert cell_edits([other], texts) == (other,)


def test_notebook_fix_refuses_a_symlink_and_duplicate_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "real.ipynb"
    shutil.copyfile(NOTEBOOK, target)
    link = tmp_path / "link.ipynb"
    link.symlink_to(target)
    before = target.read_bytes()
    result = _run("--fix", "--unsafe-fixes", link)
    assert result.stderr == (f"bncheck: error: {link}: not fixed: a symlink is not written through\n"
                             "bncheck: fixed 0 findings in 0 files\n")
    assert target.read_bytes() == before and link.is_symlink()
    twice = tmp_path / "twice.ipynb"
    twice.write_text(before.decode().replace('"nbformat": 4,', '"nbformat": 4, "nbformat": 4,'))
    result = _run("--diff", "--unsafe-fixes", twice)
    assert result.stdout == ""
    assert result.stderr == (f"bncheck: 1 fixable finding in 0 files\nbncheck: {twice}: not fixed: not a readable "
                             "notebook (a JSON object repeats a key: --fix does not edit it)\n")


def test_ipython_lines_become_python_on_the_same_lines() -> None:
    cell = ["%matplotlib inline", "!pip install tf", "files = !ls data", "t = %time f()", "model.fit?",
            "?model", "for x in y:", "    %time g(x)", '"""', "!not a shell line in a string", '"""',
            "%env A=\\", "    1", "a = (b", "     != c)"]
    assert _without_ipython(cell) == [
        "pass", "pass", "files = None", "t = None", "pass", "pass", "for x in y:", "    pass", '"""',
        "!not a shell line in a string", '"""', "pass", "", "a = (b", "     != c)"]


def _notebook(tmp_path, cells: list[str], **metadata: object):  # type: ignore[no-untyped-def]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": []}
                                          for c in cells], "metadata": metadata, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def test_notebook_syntax_error_names_the_cell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _notebook(tmp_path, ["import tensorflow as tf\n", "x = 1\nbn = tf.keras.layers.BatchNormalization(\n"])
    result = _run(path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"bncheck: error: {path}: not valid Python: ")
    assert result.stderr.endswith("(cell 2, line 2)\n")


@pytest.mark.parametrize(("content", "reason"), [
    ("[" * 5000 + "]" * 5000, "not a readable notebook: its JSON nests deeper than 100 levels"),
    ("{\"cells\": [", "not a readable notebook: not JSON (Expecting value: line 1 column 12 (char 11))"),
    ("[1, 2]", "not a readable notebook: the JSON is not an object"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "not a readable notebook: the source of cell 1 is not text"),
    ('{"cells": [], "metadata": {"kernelspec": {"language": "R"}}}',
     "a notebook in 'R', not Python: bncheck checks Python notebooks"),
])
def test_unreadable_notebooks_are_one_line_errors(tmp_path, content: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    result = _run(path)
    assert result.exit_code == 2 and result.stderr == f"bncheck: error: {path}: {reason}\n"


def test_python2_notebook_is_converted_with_cells_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _notebook(tmp_path, ["import tensorflow as tf\nprint 'start'\n",
                                "!nvidia-smi\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"],
                     kernelspec={"language": "python", "name": "python2"})
    report = bncheck.check_path(str(path))
    assert _where(report) == [("BN007", str(path), 2, 2, 50)]
    assert report.notes == [(str(path), READ_AS_PY2), (str(path), PY2_NO_FIX)]


def test_check_files_reads_notebooks_and_python2_together() -> None:
    result = check_files([str(NOTEBOOK), str(PY2), str(LATIN1)])
    assert [(f.code, f.loc.path, f.loc.line, f.loc.col) for f in result.findings] == [
        ("BN001", str(NOTEBOOK), 3, 12), ("BN001", str(PY2), 23, 9), ("BN001", str(LATIN1), 17, 13)]
    from bncheck.source.notebooks import CellEdit

    assert all(isinstance(e, CellEdit) and e.cell == 6 for e in result.findings[0].edits)  # the notebook's: in cell 6
    assert result.findings[0].edits and result.findings[1].edits == () and result.findings[2].edits


@pytest.mark.parametrize(("text", "hint"), [
    ("print 'a'\n", True), ("def f():\n    print x\n", True), ("print >>f, x\n", True), ("print(x)\n", False),
    ("printer = 1\n", False), ("x = 0777\n", True), ("y = 1.07\n", False), ("d = '2019-01-07'\n", False),
    ("s = ur'a'\n", True), ("four'\n", False), ("if a <> b: pass\n", True), ("\tx\n", True),
    ("try:\n  pass\nexcept E, e:\n  pass\n", True), ("except (A, B):\n", False), ("x = `y`\n", True),
    ("Use `x` in docs\n", False), ("raise E, 'm'\n", True), ("raise E('a', b)\n", False),
    ("exec code in ns\n", True), ("exec(code)\n", False),
])
def test_python2_hints(text: str, hint: bool) -> None:
    """Only a file with a hint pays a second parse; a hint in a Python 3 file costs only that."""
    from bncheck.source.reading import looks_like_python2

    assert looks_like_python2(text) is hint


def test_python2_conversion_is_bounded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """fissix is pure Python: a file over the limit, or nested too deeply for Python itself, is not
    converted (an error that says so), however much Python 2 it holds."""
    from bncheck.source.reading import MAX_PYTHON2_BYTES

    big = tmp_path / "big.py"
    bn = "bn = tf.keras.layers.BatchNormalization()\n"  # files the rules read (others are never parsed)
    big.write_text("import tensorflow as tf\n" + "print 'x'\n" * (MAX_PYTHON2_BYTES // 10 + 1) + bn)
    deep = tmp_path / "deep.py"
    deep.write_text("import tensorflow as tf\nprint x\ny = " + "[" * 300 + "]" * 300 + "\n" + bn)
    result = _run(big, deep)
    assert result.exit_code == 2
    assert result.stderr == (
        f"bncheck: error: {big}: not valid Python: Missing parentheses in call to 'print'. Did you mean print(...)? "
        "(line 2); a file over 256 KiB is not read as Python 2\n"
        f"bncheck: error: {deep}: not valid Python: too many nested parentheses (line 3)\n")


def test_the_source_hook_passes_notebooks_and_python_files() -> None:
    yaml = pytest.importorskip("yaml")
    identify = pytest.importorskip("identify.identify")
    hook = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}["bncheck-source"]
    for name, passed in (("train.ipynb", True), ("train.py", True), ("model.meta", False), ("notes.json", False)):
        assert bool(set(hook["types_or"]) & identify.tags_from_filename(name)) is passed, name
    result = _run(*hook["entry"].split()[1:], NOTEBOOK, PY2)
    assert result.exit_code == 1
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [
        f"{NOTEBOOK}:cell 6:3:12", f"{PY2}:23:9", "2 findings in 2 inputs; 3 notes (--show-notes)"]


def test_notebook_that_is_neither_python3_nor_python2_names_the_cell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _notebook(tmp_path, ["import tensorflow as tf\n", "x = 1\nprint 'a'\ny = (\n"])
    result = _run(path)
    assert result.exit_code == 2
    assert result.stderr == (f"bncheck: error: {path}: not valid Python: Missing parentheses in call to 'print'. "
                             "Did you mean print(...)? (cell 2, line 2); not readable as Python 2 either\n")
