"""Exact outcomes mutation testing of ``bncheck/source/reading.py`` showed (issue 22, item 5).

How a source file's bytes become the text the analysis parses: PEP 263 encodings (the exact
``(text, encoding)`` of :func:`decode_python`, or its one-line error), the size bound, which texts
hint at Python 2 (:func:`looks_like_python2`), the exact Python 3 text of a conversion
(:func:`python3_of`, :func:`as_python2`), fissix's grammar built in memory, and the mapping of a
converted file's findings, facts, notes and errors back to its own lines and columns
(:func:`settle`, :class:`LineMapper`). The survivors no input tells apart are listed with their
reason in ``tools/mutation_equivalents.md``.
"""
from __future__ import annotations

import importlib.util
import json
import pathlib
import pickle
import shutil
import sys

import pytest
from source_support import write_sources

import bncheck.source.reading as reading  # noqa: PLR0402
from bncheck.errors import InputError
from bncheck.source import check_files
from bncheck.source.edits import Edit
from bncheck.source.model import Loc
from bncheck.source.notebooks import CellEdit
from bncheck.source.reading import (
    MAX_PYTHON2_BYTES,
    MAX_SOURCE_BYTES,
    LineMapper,
    SourceText,
    as_python2,
    decode_python,
    looks_like_python2,
    python3_of,
    read_python,
)

READ_AS_PY2 = "read as Python 2: converted to Python 3 in memory to be analysed (the file is not changed)"
PY2_NO_FIX = "--fix does not edit files read as Python 2: the fixes of its findings are not applied"
NOT_TEXT = "declares the encoding {!r}, which is not a text encoding that Python source can use"
BN = "import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"


def _decoded(data: bytes) -> tuple[str, str] | str:
    """``decode_python``'s (text, encoding), or the reason of its error (which names the file)."""
    try:
        return decode_python("train.py", data)
    except InputError as exc:
        assert exc.source == "train.py"
        return exc.reason


# ---- decode_python, read_python -----------------------------------------------------------------

def test_the_encoding_a_file_is_decoded_in() -> None:
    assert _decoded(b"# coding: latin-1\nx = '\xe9'\n") == ("# coding: latin-1\nx = '\xe9'\n", "iso-8859-1")
    assert _decoded(b"\xef\xbb\xbfx = 1\n") == ("x = 1\n", "utf-8-sig")
    assert _decoded(b"x = 1\n") == ("x = 1\n", "utf-8")


def test_a_byte_the_declared_encoding_refuses_is_named_with_its_line() -> None:
    assert _decoded(b"\n\nx = '\xe9'\n") == (
        "not a UTF-8 Python file (byte b'\\xe9' on line 3) and declares no other encoding (PEP 263)")
    assert _decoded(b"# coding: ascii\nx = 1\ny = '\xe9'\n") == (
        "not valid ascii text, as its coding line declares (byte b'\\xe9' on line 3)")


def test_an_unknown_encoding_is_shown_up_to_60_characters() -> None:
    assert _decoded(b"# coding: " + b"a" * 60 + b"\n") == f"declares an unknown encoding {'a' * 60!r} (PEP 263)"
    assert _decoded(b"# coding: " + b"a" * 61 + b"\n") == f"declares an unknown encoding {'a' * 60 + '...'!r} (PEP 263)"


@pytest.mark.parametrize(("data", "reason"), [
    (b"# coding: cp864\nx = 1\n", NOT_TEXT.format("cp864")),  # turns `%` into another byte
    (b"# coding: base64\nx = 1\n", NOT_TEXT.format("base64")),  # bytes to bytes
    (b"# coding: utf-16\nx = 1\n", NOT_TEXT.format("utf-16")),  # ASCII as two bytes
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "starts with a UTF-8 byte order mark but declares another encoding (PEP 263)"),
    (b"# caf\xe9\nx = 1\n", "not a UTF-8 Python file (byte b'\\xe9' on line 1) and declares no other encoding (PEP 263)"),
])
def test_encodings_python_source_cannot_use(data: bytes, reason: str) -> None:
    assert _decoded(data) == reason


def test_a_byte_after_a_utf8_bom_is_named_on_its_own_line() -> None:
    """utf-8-sig reports its error's offset in the bytes after the BOM: it was read in the file's bytes
    three bytes early (here a space on line 1)."""
    assert _decoded(b"\xef\xbb\xbfx = 1\n\xe9\n") == (
        "not a UTF-8 Python file (byte b'\\xe9' on line 2) and declares no other encoding (PEP 263)")
    assert _decoded(b"\xef\xbb\xbfx = 1\ny = '\xe9'\n") == (
        "not a UTF-8 Python file (byte b'\\xe9' on line 2) and declares no other encoding (PEP 263)")


def test_a_codec_that_refuses_ascii_is_no_source_encoding(tmp_path: pathlib.Path) -> None:
    """'idna' refuses the error handler and 'undefined' every text: each is a one-line error naming
    the file (both were a traceback that stopped the whole run), and the other inputs are still checked."""
    paths = write_sources(tmp_path, {"idna.py": "# coding: idna\nx = 1\n",
                                     "undefined.py": "# coding: undefined\nx = 1\n", "train.py": BN})
    result = check_files(paths)
    assert [(e.source, e.reason) for e in result.errors] == [
        (paths[0], NOT_TEXT.format("idna")), (paths[1], NOT_TEXT.format("undefined"))]
    assert result.checked == [paths[2]]
    assert [(f.code, f.loc.path, f.loc.line, f.loc.col) for f in result.findings] == [("BN007", paths[2], 2, 50)]


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big.py"
    with open(path, "wb") as fh:  # sparse: nothing is written, its size is what is refused
        fh.truncate(MAX_SOURCE_BYTES + 1)
    with pytest.raises(InputError) as raised:
        read_python(str(path))
    assert (raised.value.source, raised.value.reason) == (
        str(path), f"Python file of {MAX_SOURCE_BYTES + 1} bytes is larger than the 64 MiB bncheck reads")


def test_a_file_in_another_encoding_keeps_it_through_the_python2_conversion(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "train.py"
    path.write_bytes(b"# coding: latin-1\nprint 'caf\xe9'\n")
    text = read_python(str(path))
    assert type(text) is SourceText and (text, text.encoding, text.python2) == (
        "# coding: latin-1\nprint 'caf\xe9'\n", "iso-8859-1", False)
    converted = as_python2(str(path), text, "problem (line 2)")
    assert type(converted) is SourceText
    assert (converted, converted.encoding, converted.python2, converted.original, type(converted.original)) == (
        "# coding: latin-1\nprint('caf\xe9')\n", "iso-8859-1", True, "# coding: latin-1\nprint 'caf\xe9'\n", str)
    plain = as_python2(str(path), "print 'a'\n", "problem (line 1)")
    assert (plain, plain.encoding, plain.python2, plain.original) == ("print('a')\n", "utf-8", True, "print 'a'\n")


def test_a_source_text_keeps_its_attributes_through_pickling() -> None:
    text = SourceText("print(x)\n", python2=True, original="print x\n", encoding="iso-8859-1")
    copy = pickle.loads(pickle.dumps(text))
    assert type(copy) is SourceText
    assert (copy, copy.python2, copy.original, copy.encoding, copy.cells) == (
        "print(x)\n", True, "print x\n", "iso-8859-1", None)
    with pytest.raises(TypeError) as raised:
        SourceText("x", python3=True)
    assert raised.value.args == ("unknown attribute python3",)


# ---- looks_like_python2 ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "hint"), [
    ("if a <> b: pass\n", True), ("x = `y`\n", True), ("try:\n  pass\nexcept E, e:\n  pass\n", True),
    ('s = ur"a"\n', True),  # the double-quoted ur prefix alone
    ("\tx = 1\n", True),  # a tab indentation at the very start
    ("0777\n", True),  # an octal literal at the very start
    ("x = 0777\n", True), ("y = 1.07\n", False), ("d = '2019-01-07'\n", False), ("v2_0777\n", False),
    ("t = 'a:07'\n", False), ("p = 'a/07'\n", False), ("x = a07\n", False),
    ("ur'a'; b", True),  # a ur'' prefix at the very start, a text ending in a letter
    ("our'\n", False), (" our'\n", False), ("x = a_ur'b'\n", False), ("_ur'a'\n", False),  # ur ends a word
    ("if x:\n" + " " * 199 + "print 'a'\n", True),  # a statement word is looked for up to 200 characters
    ("if x:\n" + " " * 200 + "print 'a'\n", False),  # back to its line's start, and no further
])
def test_python2_hints_at_the_edges(text: str, hint: bool) -> None:
    assert looks_like_python2(text) is hint


# ---- python3_of, as_python2 --------------------------------------------------------------------

def test_the_conversion_keeps_the_texts_last_newline_or_its_absence() -> None:
    assert python3_of("print 'a'\n") == "print('a')\n"
    assert python3_of("print 'a'") == "print('a')"
    assert python3_of("x = 1\nprint 'a'\n\n") == "x = 1\nprint('a')\n\n"


def test_tabs_mixed_with_spaces_are_expanded_to_eight_columns() -> None:
    text = "if x:\n\tprint 'a'\n        print 'b'\n"
    assert python3_of(text) == "if x:\n        print('a')\n        print('b')\n"
    assert python3_of(text[:-1]) == "if x:\n        print('a')\n        print('b')"


def test_a_text_that_is_neither_python3_nor_python2_is_an_error() -> None:
    with pytest.raises(InputError) as raised:
        as_python2("train.py", "print 'a'\ny = (\n", "'(' was never closed (line 2)")
    assert (raised.value.source, raised.value.reason) == (
        "train.py", "not valid Python: '(' was never closed (line 2); not readable as Python 2 either")
    with pytest.raises(InputError) as raised:
        as_python2("train.py", "y = (\n", "'(' was never closed (line 1)")
    assert (raised.value.source, raised.value.reason) == ("train.py", "not valid Python: '(' was never closed (line 1)")


def test_fissix_grammar_is_built_in_memory(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first conversion of a process builds fissix's tool: its grammar tables are made in memory,
    nothing is written in fissix's folder or the user's cache folder, and fissix's ``load_grammar`` is
    left as it was. A copy of fissix is imported here, so that the installed one is never written to."""
    spec = importlib.util.find_spec("fissix")  # found, not imported
    assert spec is not None and spec.submodule_search_locations
    copy = tmp_path / "site"
    shutil.copytree(spec.submodule_search_locations[0], copy / "fissix", ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(str(p.relative_to(copy)) for p in copy.rglob("*"))
    grammar = (copy / "fissix" / "Grammar.txt").read_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(copy))
    saved = {name: module for name, module in sys.modules.items() if name == "fissix" or name.startswith("fissix.")}
    for name in saved:
        del sys.modules[name]
    monkeypatch.setattr(reading, "_TOOL", [])
    try:
        converted = python3_of("print 'a'\n")
        tool = reading._TOOL
        import fissix as fresh
        from fissix.pgen2 import driver

        loader = driver.load_grammar
        origin = fresh.__file__
    finally:
        for name in [n for n in sys.modules if n == "fissix" or n.startswith("fissix.")]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert converted == "print('a')\n"
    assert len(tool) == 1 and origin == str(copy / "fissix" / "__init__.py")
    assert loader is fresh.load_grammar
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == before
    assert (copy / "fissix" / "Grammar.txt").read_bytes() == grammar
    assert not (tmp_path / "cache").exists()


# ---- settle, LineMapper ------------------------------------------------------------------------

TUPLE_PARAMETER = "import tensorflow as tf\ndef pair_loss((a, b)):\n    return a - b\n"


def test_a_python2_files_finding_and_its_facts_are_on_the_files_lines(tmp_path: pathlib.Path) -> None:
    """The tuple parameter's unpacking is a line the conversion adds: the layer built on the file's
    line 6 is on line 7 of the analysed text. A folder named with a colon is part of the path."""
    folder = tmp_path / "a:b"
    plain, = write_sources(folder, {"plain.py": BN.replace("0.1)\n", "0.1)  # bncheck: ignore[BN001]\n")})
    train, = write_sources(folder, {"train.py": TUPLE_PARAMETER + (
        "print 'building'\nx = tf.placeholder(tf.float32, [None, 4])\n"
        "h = tf.layers.batch_normalization(x, training=True)\nloss = tf.reduce_mean(h)\n"
        "train_op = tf.train.AdamOptimizer().minimize(loss)\n")})
    result = check_files([plain, train])
    assert [(f.code, f.loc, f.facts, len(f.edits)) for f in result.findings] == [
        ("BN007", Loc(plain, 2, 50, 2, 53), (
            ("momentum", 0.1), ("built with", "a Keras BatchNormalization layer")), 1),
        ("BN001", Loc(train, 8, 12, 8, 51), (
            ("layer built at", f"{train}:6"), ("built with", "tf.compat.v1.layers.batch_normalization")), 0)]
    assert result.notes == [
        (f"{plain}:2", "unused suppression `# bncheck: ignore[BN001]`: no BN001 finding on this line"),
        (train, PY2_NO_FIX), (train, READ_AS_PY2)]
    assert result.errors == []


def test_a_nesting_too_deep_for_python_is_not_read_as_python2_either() -> None:
    with pytest.raises(InputError) as raised:
        as_python2("train.py", "print x\ny = " + "[" * 300 + "]" * 300 + "\n", "too many nested parentheses (line 2)")
    assert (raised.value.source, raised.value.reason) == ("train.py", "not valid Python: too many nested parentheses (line 2)")


def test_a_finding_in_a_plain_file_names_the_python2_helpers_own_line(tmp_path: pathlib.Path) -> None:
    main, helper = write_sources(tmp_path, {
        "main.py": "import tensorflow as tf\nfrom helper import block\ny = block(tf.zeros([2, 4]))  # bncheck: ignore[BN001]\n",
        "helper.py": TUPLE_PARAMETER + (
            "def block(x):\n    print 'block'\n    return tf.keras.layers.BatchNormalization(momentum=0.1)(x)\n")})
    result = check_files([main])
    assert [(f.code, f.loc, f.facts, f.edits) for f in result.findings] == [
        ("BN007", Loc(main, 3, 1, 3, 28), (
            ("momentum", 0.1), ("built with", "a Keras BatchNormalization layer"),
            ("in imported code", f"{helper}:6")), ())]
    assert result.notes == [
        (f"{main}:3", "unused suppression `# bncheck: ignore[BN001]`: no BN001 finding on this line"), (helper, READ_AS_PY2)]
    assert result.errors == []


def test_lines_and_columns_of_a_tuple_parameter_conversion_on_the_files_lines() -> None:
    """``def pair_loss((a, b)):`` becomes two lines (the def, then the unpacking): both are on the
    file's line 2; a column maps through the characters the conversion kept."""
    text = as_python2("train.py", TUPLE_PARAMETER + "print 'building'\n", "problem (line 2)")
    assert text.splitlines()[1:3] == ["def pair_loss(xxx_todo_changeme):", "    (a, b) = xxx_todo_changeme"]
    mapper = LineMapper(text)
    assert [mapper.line(n) for n in range(8)] == [0, 1, 2, 2, 3, 4, 6, 7]  # beyond the text: as given
    assert [mapper.where(n) for n in range(7)] == ["0", "1", "2", "2", "3", "4", "6"]
    assert [mapper.phrase(n) for n in (1, 5)] == ["line 1", "line 4"]
    # print('building') -> print 'building': "(" maps to the next kept character, the closing ")" past the end
    assert [mapper.column(5, c) for c in range(1, 19)] == [1, 2, 3, 4, 5, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 17]
    assert [mapper.column(2, c) for c in (1, 14, 15, 32, 33, 34)] == [1, 14, 16, 21, 22, 23]
    assert [mapper.column(n, 6) for n in (0, 1, 4, 6)] == [6, 6, 6, 6]  # unchanged lines, and beyond the text
    assert mapper.loc(Loc("train.py", 5, 1, 5, 18)) == Loc("train.py", 4, 1, 4, 17)
    assert mapper.loc(Loc("train.py", 2, 15, 3, 5)) == Loc("train.py", 2, 16, 2, 15)


def test_where_a_notebooks_line_is() -> None:
    program = SourceText("x = 1\n\ny = 2\n", cells=((1, 1), (1, 2), (3, 1)))
    mapper = LineMapper(program)
    assert [mapper.where(n) for n in range(6)] == ["0", "cell 1:1", "cell 1:2", "cell 3:1", "4", "5"]
    assert [mapper.phrase(n) for n in range(5)] == [
        "line 0", "cell 1, line 1", "cell 1, line 2", "cell 3, line 1", "line 4"]
    loc = Loc("nb.ipynb", 3, 2, 3, 4)
    assert mapper.loc(loc) is loc and [mapper.line(3), mapper.column(3, 2)] == [3, 2]  # the cell is in_cell's


def test_a_python2_text_of_exactly_the_bound_is_converted_and_one_character_more_is_not() -> None:
    head = "print 'a'\n#"  # then one long comment: a single token, converted in milliseconds
    text = head + "x" * (MAX_PYTHON2_BYTES - len(head) - 1) + "\n"
    assert len(text) == MAX_PYTHON2_BYTES
    assert as_python2("train.py", text, "problem (line 1)") == "print('a')\n#" + text[len(head):]
    with pytest.raises(InputError) as raised:
        as_python2("train.py", text + "\n", "problem (line 1)")
    assert (raised.value.source, raised.value.reason) == (
        "train.py", "not valid Python: problem (line 1); a file over 256 KiB is not read as Python 2")


def test_without_fissix_a_python2_file_is_an_error_that_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fissix", None)  # `import fissix` raises ImportError
    monkeypatch.setattr(reading, "_TOOL", [])
    with pytest.raises(InputError) as raised:
        as_python2("train.py", "print 'a'\n", "problem (line 1)")
    assert (raised.value.source, raised.value.reason) == (
        "train.py", "not valid Python: problem (line 1); reading it as Python 2 needs fissix (pip install fissix)")


def test_a_python2_files_message_and_notes_name_the_files_lines(tmp_path: pathlib.Path) -> None:
    """The dropout is on the file's line 6 (line 7 of the analysed text): the message, the fact and
    the note of the unused suppression on the batch norm's line name the file's lines."""
    train, = write_sources(tmp_path, {"train.py": TUPLE_PARAMETER + (
        "print 'building'\nx = tf.keras.Input((4,))\nh = tf.keras.layers.Dropout(0.5)(x)\n"
        "h = tf.keras.layers.BatchNormalization()(h)  # bncheck: ignore[BN007]\n")})
    result = check_files([train])
    assert [(f.code, f.loc, f.facts, f.edits, f.message) for f in result.findings] == [
        ("BN011", Loc(train, 7, 5, 7, 44), (("dropout at", f"{train}:6"),), (),
         "dropout (line 6) feeds this batch norm directly: its moving variance will not match inference")]
    assert result.notes == [
        (train, READ_AS_PY2), (f"{train}:7", "unused suppression `# bncheck: ignore[BN007]`: no BN007 finding on this line")]
    assert result.errors == []


def _notebook(path: pathlib.Path, cells: list[str]) -> str:
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": []}
                                          for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return str(path)


def test_a_notebooks_findings_notes_and_errors_are_at_their_cells(tmp_path: pathlib.Path) -> None:
    train = _notebook(tmp_path / "train.ipynb", [
        "%%bash\necho hi\n", "import tensorflow as tf\n",
        "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\nx = 1  # bncheck: ignore[BN007]\n"])
    broken = _notebook(tmp_path / "broken.ipynb", [
        "import tensorflow as tf\n", "bn = tf.keras.layers.BatchNormalization()\ny = (\n"])
    result = check_files([train, broken])
    assert [(type(f).__name__, f.code, f.loc, getattr(f, "cell", None), f.edits) for f in result.findings] == [
        ("CellFinding", "BN007", Loc(train, 1, 50, 1, 53), 3, (CellEdit(Loc(train, 1, 50, 1, 53), "0.9", True, 3),))]
    assert result.notes == [
        (f"{train}:cell 3:2", "unused suppression `# bncheck: ignore[BN007]`: no BN007 finding on this line"),
        (train, "not checked, not Python: cell 1 (%%bash)")]
    assert [(e.source, e.reason) for e in result.errors] == [
        (broken, "not valid Python: '(' was never closed (cell 2, line 2)")]


def test_lines_repeated_in_a_long_python2_file_are_still_on_the_files_lines(tmp_path: pathlib.Path) -> None:
    """In a file of 200 lines or more, difflib's "autojunk" would ignore lines repeated more than
    1% of the time: after the added unpacking line, the repeated lines would all be one line off."""
    bn = "    bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"
    train, = write_sources(tmp_path, {"train.py": "import tensorflow as tf\nprint 'x'\n" + "x = 1\n" * 100
                                      + "def build((a, b)):\n" + "    y = 1\n" * 96 + bn * 4})
    result = check_files([train])
    assert [(f.code, f.loc.line, f.loc.col) for f in result.findings] == [("BN007", n, 54) for n in range(200, 204)]
    assert len((tmp_path / "train.py").read_text().splitlines()) == 203


def test_lines_and_columns_of_a_conversion_that_keeps_the_line_count() -> None:
    mapper = LineMapper(as_python2("train.py", "print 'a'\nx = 1\n", "problem (line 1)"))
    assert [mapper.line(n) for n in range(4)] == [0, 1, 2, 3]
    assert [mapper.column(1, c) for c in range(1, 12)] == [1, 2, 3, 4, 5, 7, 7, 8, 9, 10, 10]
    assert mapper.column(2, 3) == 3


def test_the_unpacking_lines_after_a_docstring_are_on_the_docstrings_line() -> None:
    text = as_python2("train.py", "import tensorflow as tf\ndef pair_loss((a, b), (c, d)):\n    '''The loss.'''\n"
                      "    return a - d\nprint 'x'\n", "problem (line 2)")
    assert text.splitlines()[3:5] == ["    (a, b) = xxx_todo_changeme", "    (c, d) = xxx_todo_changeme1"]
    assert [LineMapper(text).line(n) for n in range(1, 9)] == [1, 2, 3, 3, 3, 4, 5, 8]


def test_columns_of_a_long_converted_line_map_through_every_kept_character() -> None:
    """``0777`` becomes ``0o777`` fifty times on a line of 300 characters: difflib's "autojunk" would
    ignore its frequent characters and map most columns to the end of the line."""
    mapper = LineMapper(as_python2("train.py", "x = [" + "0777, " * 50 + "1]\n", "problem (line 1)"))
    assert [mapper.column(1, c) for c in (1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 356, 357, 358)] == [
        1, 6, 7, 7, 8, 9, 10, 11, 12, 13, 13, 14, 306, 307, 308]


def test_a_finding_inside_a_long_changed_line_is_at_the_changes_start_and_says_so(tmp_path: pathlib.Path) -> None:
    """Aligning a converted line of thousands of characters character by character took difflib
    minutes (1,200 characters: 3.3 s a column); its common start and end still map exactly, and a
    column inside a changed part longer than ``MAX_ALIGNED_CHARS`` is the change's start, with a note."""
    from bncheck.source.reading import (
        ROUGH_COLUMNS,  # (imported here: the tests above also run on 060e6ba)
    )

    items = "[" + "0777, " * 300 + "1]"
    inside, after = write_sources(tmp_path, {
        "inside.py": f"import tensorflow as tf\nx = {items}; bn = tf.keras.layers.BatchNormalization(momentum=0.1); y = {items}\n",
        "after.py": f"import tensorflow as tf\nx = {items}; bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"})
    result = check_files([inside, after])
    assert [(f.code, f.loc) for f in result.findings] == [
        ("BN007", Loc(inside, 2, 7, 2, 7)), ("BN007", Loc(after, 2, 1859, 2, 1862))]
    assert (tmp_path / "after.py").read_text().splitlines()[1][1858:1861] == "0.1"
    assert result.notes == [
        (inside, PY2_NO_FIX), (inside, READ_AS_PY2), (f"{inside}:2", ROUGH_COLUMNS),
        (after, PY2_NO_FIX), (after, READ_AS_PY2)]


def test_a_python2_notebook_is_converted_or_its_error_names_the_cell(tmp_path: pathlib.Path) -> None:
    converted = _notebook(tmp_path / "train.ipynb", [
        "import tensorflow as tf\nprint 'start'\n", "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"])
    broken = _notebook(tmp_path / "broken.ipynb", [
        "import tensorflow as tf\nprint 'a'\n", "bn = tf.keras.layers.BatchNormalization()\ny = (\n"])
    result = check_files([converted, broken])
    assert [(type(f).__name__, f.code, f.loc, getattr(f, "cell", None), f.edits) for f in result.findings] == [
        ("CellFinding", "BN007", Loc(converted, 1, 50, 1, 53), 2, ())]
    assert result.notes == [(converted, READ_AS_PY2), (converted, PY2_NO_FIX)]
    assert [(e.source, e.reason) for e in result.errors] == [
        (broken, ("not valid Python: Missing parentheses in call to 'print'. Did you mean print(...)? (cell 1, line 2); "
                  "not readable as Python 2 either"))]


def test_a_utf8_file_is_read_as_plain_text_and_a_bad_one_is_an_error_naming_it(tmp_path: pathlib.Path) -> None:
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_bytes(b"x = 1\n")
    bad.write_bytes(b"x = '\xe9'\n")
    text = read_python(str(good))
    assert type(text) is str and text == "x = 1\n"
    with pytest.raises(InputError) as raised:
        read_python(str(bad))
    assert (raised.value.source, raised.value.reason) == (
        str(bad), "not a UTF-8 Python file (byte b'\\xe9' on line 1) and declares no other encoding (PEP 263)")


def test_a_plain_files_finding_and_its_python2_helpers_are_both_reported(tmp_path: pathlib.Path) -> None:
    main, helper = write_sources(tmp_path, {
        "main.py": "import tensorflow as tf\nfrom helper import block\n"
                   "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\nb = block()\n",
        "helper.py": "import tensorflow as tf\nprint 'helper'\ndef block():\n"
                     "    return tf.keras.layers.BatchNormalization(momentum=0.2)\n"})
    result = check_files([main, helper])
    assert [(f.code, f.loc, f.edits) for f in result.findings] == [
        ("BN007", Loc(main, 3, 50, 3, 53), (Edit(Loc(main, 3, 50, 3, 53), "0.9", True),)),
        ("BN007", Loc(helper, 4, 56, 4, 59), ())]
    assert result.notes == [(helper, PY2_NO_FIX), (helper, READ_AS_PY2)] and result.errors == []


def test_a_changed_line_after_the_unpacking_is_on_its_own_line() -> None:
    # the def, the unpacking and `print(a)` are one block the conversion replaced: kept in order, the
    # unpacking on the def's next line (print a), and print(a) there too (the block has two file lines)
    text = as_python2("train.py", "import tensorflow as tf\ndef pair_loss((a, b)):\n    print a\n    return a - b\n",
                      "problem (line 3)")
    assert text.splitlines()[1:4] == ["def pair_loss(xxx_todo_changeme):", "    (a, b) = xxx_todo_changeme", "    print(a)"]
    assert [LineMapper(text).line(n) for n in range(1, 7)] == [1, 2, 3, 3, 4, 6]
