"""Exact outcomes mutation testing of ``bncheck/source/loader.py`` showed (issue 22, item 5).

The mutants of the source loader (parsing, line starts and spans, byte-to-character columns, module
names, imports and the module's globals) that the source tests let survive, each told apart here by a
small program written in the test (every finding, note and error of the check asserted in full) or by
the full return value of the loader's public functions. The survivors no input tells apart are listed
with their reason in ``tools/mutation_equivalents.md`` ("loader.py (mutants of 060e6ba)").
"""
from __future__ import annotations

import pathlib
import warnings

import pytest
from source_support import write_sources

from bncheck.source import check_files, checker
from bncheck.source.checker import SourceResult

Finding = tuple[object, ...]
Outcome = tuple[list[Finding], list[tuple[str, str]], list[str]]

LAST_BATCH = "momentum={}: the moving average is essentially the last batch"
BUILT = {"built with": "a Keras BatchNormalization layer"}
FIX_MOMENTUM = "BatchNormalization(momentum=0.99)  # Keras momentum = 1 - PyTorch momentum"


def _outcome(result: SourceResult, folder: pathlib.Path) -> Outcome:
    """(findings: code, file, line, column, end line, end column, layer, message, evidence; notes; errors),
    every path relative to ``folder``."""
    here = str(folder) + "/"

    def rel(value: object) -> str:
        return str(value).replace(here, "")

    found: list[Finding] = [
        (f.code, rel(f.loc.path), f.loc.line, f.loc.col, f.loc.end_line, f.loc.end_col, f.layer, f.message,
         dict(f.facts)) for f in result.findings]
    return found, [(rel(where), rel(note)) for where, note in result.notes], [rel(e) for e in result.errors]


def _check(folder: pathlib.Path, files: dict[str, str]) -> Outcome:
    """Write ``files`` under ``folder``, check them all with one job, return the outcome."""
    return _outcome(check_files(write_sources(folder, files), jobs=1), folder)


def _momentum(path: str, line: int, col: int, value: str, layer: str) -> Finding:
    """BN007 on a momentum constant ``value`` written at ``path:line:col``."""
    return ("BN007", path, line, col, line, col + len(value), layer, LAST_BATCH.format(value),
            {"momentum": float(value), **BUILT})


# ---- import_base: relative imports, in a module and in a package's __init__ ----------------------

# two scanned modules end in `blocks`: a relative import resolved to `blocks` alone would be ambiguous
RELATIVE = {
    "a/__init__.py": """
        from .blocks import block


        def build_a(x):
            return block(x, 0.1)
        """,
    "a/blocks.py": """
        import tensorflow as tf


        def block(x, momentum):
            return tf.keras.layers.BatchNormalization(momentum=momentum)(x)
        """,
    "a/main.py": """
        from . import blocks
        from .blocks import block


        def build(x):
            return blocks.block(x, 0.2), block(x, 0.3)
        from .blocks import *
        """,
    "b/blocks.py": """
        def block(x, momentum):
            return x
        """,
}


def test_relative_imports_name_the_sibling_module_from_a_module_and_from_a_package_init(
        tmp_path: pathlib.Path) -> None:
    # `from . import blocks` in a/main.py is a.blocks, `from .blocks import block` there and in
    # a/__init__.py (its own package) is a.blocks.block: the calls reach a/blocks.py, not b/blocks.py
    assert _check(tmp_path, RELATIVE) == (
        [_momentum("a/__init__.py", 5, 21, "0.1", "BatchNormalization@5"),
         _momentum("a/main.py", 6, 28, "0.2", "BatchNormalization@5"),
         _momentum("a/main.py", 6, 43, "0.3", "BatchNormalization@5")],
        [], [])



def test_relative_imports_two_levels_up_and_from_a_sub_package(tmp_path: pathlib.Path) -> None:
    # in a/sub/deep.py `..blocks` is a.blocks and `.inner` is a.sub.inner (b/inner.py ends in `inner`
    # too, and b/blocks.py in `blocks`)
    assert _check(tmp_path, {
        **RELATIVE,
        "a/sub/inner.py": """
            import tensorflow as tf


            def helper(x, momentum):
                return tf.keras.layers.BatchNormalization(momentum=momentum)(x)
            """,
        "b/inner.py": """
            def helper(x, momentum):
                return x
            """,
        "a/sub/deep.py": """
            from ..blocks import block
            from .inner import helper


            def run(x):
                return block(x, 0.4), helper(x, 0.05)
            """}) == (
        [_momentum("a/__init__.py", 5, 21, "0.1", "BatchNormalization@5"),
         _momentum("a/main.py", 6, 28, "0.2", "BatchNormalization@5"),
         _momentum("a/main.py", 6, 43, "0.3", "BatchNormalization@5"),
         _momentum("a/sub/deep.py", 6, 21, "0.4", "BatchNormalization@5"),
         _momentum("a/sub/deep.py", 6, 37, "0.05", "BatchNormalization@5")],
        [], [])


def test_a_relative_import_at_the_scan_root_names_the_sibling_not_a_class_of_the_same_name(
        tmp_path: pathlib.Path) -> None:
    # the files are checked from their own folder (a package's modules given alone): `.blocks` is the
    # module blocks, not m's class `blocks`
    assert _check(tmp_path, {
        "m.py": """
            from .blocks import block


            class blocks:
                @staticmethod
                def block(x, momentum):
                    return x


            def build(x):
                return block(x, 0.1)
            """,
        "blocks.py": RELATIVE["a/blocks.py"]}) == ([_momentum("m.py", 11, 21, "0.1", "BatchNormalization@5")], [], [])

# ---- parse_module: Python's warnings about the user's code are not bncheck's ---------------------

WARNED = {
    "py3.py": r'''
        import re

        import tensorflow as tf

        DIGITS = re.compile("\d+")
        SIZE = 1if DIGITS else 2
        bn = tf.keras.layers.BatchNormalization(momentum=0.1)
        ''',
    "py2.py": r'''
        import tensorflow as tf

        print "\d"
        bn = tf.keras.layers.BatchNormalization(momentum=0.3)
        ''',
}


def test_the_warnings_python_gives_about_a_file_are_neither_printed_nor_made_errors(tmp_path: pathlib.Path) -> None:
    # `"\d"` and `1else` are warnings of Python's parser that name the user's file: printed on stderr
    # by a check, or a SyntaxError under `-W error` (the file then "not valid Python"), until parse_module
    # parsed without them, Python 3 and converted Python 2 alike
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _check(tmp_path, WARNED) == (
            [_momentum("py3.py", 7, 50, "0.1", "BatchNormalization@7"),
             _momentum("py2.py", 4, 50, "0.3", "BatchNormalization@4")],
            [("py2.py", "--fix does not edit files read as Python 2: the fixes of its findings are not applied"),
             ("py2.py", "read as Python 2: converted to Python 3 in memory to be analysed (the file is not changed)")],
            [])


# ---- ModuleInfo.line_starts and span_text: the lines a function's words are read from ------------

STOPPED = "source analysis stopped: a program (files that import each other) gets at most {n} statements, and {left}"
STOPPED_HERE = ("source analysis of {name} stopped here: a program (files that import each other) gets at most {n} "
                "statements; BN001 and the export checks of BN002 are not judged for it, other rules only up to here")


def _roots(folder: pathlib.Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The outcome of checking ``m.py`` (``text`` as given, no newline added) with a budget that runs out
    at the module's first statement: its second note lists the roots, the functions that name
    something the walk can record (read from their lines) and that no code calls."""
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 0)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.py").write_text(text)
    return _outcome(check_files([str(folder / "m.py")], jobs=1), folder)


SPANS = """\
def first(x): return tf.nn.relu(x)
import os as o
import tensorflow as tf


def plain(x):
    return x + 1
o.getcwd()


def uses_tf(x):
    return tf.nn.relu(x)


momentum = 0.99
"""


def test_a_functions_words_are_read_from_its_own_lines_only(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `first` (line 1) names tf; `plain` names nothing the walk reads, though line 1 and the lines
    # after it name tf, and the line right after its last starts with `o`, an alias of the library
    assert _roots(tmp_path, SPANS, monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)),
             ("m.py:1", STOPPED.format(n=0, left="2 functions were not walked (first, uses_tf); nothing is reported "
                                                "about them"))], [])


def test_a_one_line_function_on_the_last_line_of_a_file_without_a_newline_is_read(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # its span runs to the end of the text: there is no next line to start at
    assert _roots(tmp_path, "import tensorflow as tf\nmomentum = 0.99\ndef last(x): return tf.nn.relu(x)",
                  monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)),
             ("m.py:3", STOPPED.format(n=0, left="1 functions were not walked (last); nothing is reported about them"))],
        [])


# ---- ModuleInfo._col: UTF-8 byte offsets to character columns, line by line ----------------------

NON_ASCII = """
    import tensorflow as tf; é = 1; bn = tf.keras.layers.BatchNormalization(momentum=0.1)
    x = 1
    bn2 = tf.keras.layers.BatchNormalization(name="é", momentum=0.2)
    bn3 = tf.keras.layers.BatchNormalization(momentum=-
                                             0.5)
    """


def test_columns_of_a_non_ascii_file_count_the_characters_of_their_own_line(tmp_path: pathlib.Path) -> None:
    # `é` is two bytes: the columns after it on lines 1 and 3 are one less than their byte offsets
    # (line 3 follows an ASCII line, line 1 is the first); bn3's momentum spans two lines
    assert _check(tmp_path, {"m.py": NON_ASCII}) == (
        [_momentum("m.py", 1, 82, "0.1", "BatchNormalization@1"), _momentum("m.py", 3, 61, "0.2", "é"),
         ("BN007", "m.py", 4, 51, 5, 45, "BatchNormalization@4", LAST_BATCH.format("-0.5"), {"momentum": -0.5, **BUILT})],
        [], [])


# ---- python_lines: lines as Python numbers them --------------------------------------------------

def test_the_last_line_of_a_file_without_a_newline_keeps_its_last_character(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # b's one line ends the file with `batch_norm`: b names batch norm, so it is the first root
    assert _roots(tmp_path, "import tensorflow as tf\nmomentum = 0.99\ndef a(x): return tf.nn.relu(x)\n"
                            "def b(x): return tf.nn.relu(x), tf.compat.v1.layers.batch_norm", monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)),
             ("m.py:4", STOPPED.format(n=0, left="2 functions were not walked (b, a); nothing is reported about them"))],
        [])


def test_a_file_whose_lines_end_in_carriage_returns_has_its_fix_on_the_right_line(tmp_path: pathlib.Path) -> None:
    # `\r` ends a line for Python: the momentum's text is read from line 2, and the fix replaces it
    (tmp_path / "m.py").write_bytes(b"import tensorflow as tf\rbn = tf.keras.layers.BatchNormalization(momentum=0.1)\r")
    result = check_files([str(tmp_path / "m.py")], jobs=1)
    assert _outcome(result, tmp_path) == ([_momentum("m.py", 2, 50, "0.1", "BatchNormalization@2")], [], [])
    assert [(e.loc.line, e.loc.col, e.loc.end_line, e.loc.end_col, e.text) for e in result.findings[0].edits] == [
        (2, 50, 2, 53, "0.9")]


# ---- parse_module: what Python's parser refuses --------------------------------------------------

def test_a_null_byte_is_an_error_naming_the_line_of_the_first_one(tmp_path: pathlib.Path) -> None:
    # Python's error has no line: it is counted from the text (an empty first line, then the
    # first null byte on line 4; another on line 5, and more lines after)
    (tmp_path / "m.py").write_bytes(b"\nimport tensorflow as tf\nbn = tf.keras.layers.BatchNormalization()\n"
                                    b"x = 1\0\n\0\ny = 2\nz = 3\n")
    assert _outcome(check_files([str(tmp_path / "m.py")], jobs=1), tmp_path) == (
        [], [], ["m.py: not valid Python: source code string cannot contain null bytes (line 4)"])


@pytest.mark.parametrize("depth, reason", [
    (4500, "maximum recursion depth exceeded during ast construction"),
    (100_000, "too deeply nested for Python's parser (MemoryError)")])
def test_an_expression_nested_too_deeply_for_pythons_parser_is_an_error_that_says_so(
        tmp_path: pathlib.Path, depth: int, reason: str) -> None:
    # over the parser's depth limit its MemoryError has no message: the error says what it means
    assert _check(tmp_path, {"m.py": "import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization()\n"
                                     f"y = {'-' * depth}1\n"}) == ([], [], [f"m.py: not valid Python: {reason}"])


# ---- static_value: a module's constants, as another module's star import binds them --------------

def test_constants_a_star_import_binds_are_read_where_they_are_written(tmp_path: pathlib.Path) -> None:
    # the findings are on the literals in consts.py (consts is walked after a.py); a global tuple of
    # strings other than `__all__` does not limit what the star import binds
    assert _check(tmp_path, {
        "a.py": """
            import tensorflow as tf
            from consts import *

            bn = tf.keras.layers.BatchNormalization(momentum=M)
            bn2 = tf.keras.layers.BatchNormalization(momentum=N)
            """,
        "consts.py": """
            M = 0.1
            N = -2.0
            UNITS = ("cm", "in")
            """}) == (
        [_momentum("consts.py", 1, 5, "0.1", "BatchNormalization@4"),
         ("BN007", "consts.py", 2, 5, 2, 9, "BatchNormalization@5", LAST_BATCH.format("-2"),
          {"momentum": -2.0, **BUILT})], [], [])


def test_a_dotted_alias_of_the_library_is_a_library_alias_and_an_attribute_of_a_constant_is_nothing(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `v1 = tf.compat.v1` makes v1 an alias of the library: uses_v1, which names only v1, is a root;
    # `(-1).real` and `"ab".upper` bind nothing the analysis knows
    assert _roots(tmp_path, """\
import tensorflow as tf
v1 = tf.compat.v1
LOW = (-1).real
UPPER = "ab".upper
momentum = 0.99


def uses_v1(x):
    return v1.nn.relu(x)
""", monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)),
             ("m.py:8", STOPPED.format(n=0, left="1 functions were not walked (uses_v1); nothing is reported about "
                                                "them"))], [])


def test_a_from_import_of_names_binds_only_those_names(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `from consts import M` binds M (a name outside the program's modules, so a root names it: g),
    # not consts' `tf`: f, whose `tf` is its parameter, names nothing the walk reads
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 0)
    assert _check(tmp_path, {
        "a.py": """
            from consts import M


            def f(tf, x):
                return tf.nn.relu(x)


            def g(x):
                return M(x)
            """,
        "consts.py": """
            import tensorflow as tf
            M = tf.nn.relu
            momentum = 0.99
            """}) == (
        [], [("a.py:1", STOPPED_HERE.format(name="a", n=0)),
             ("a.py:8", STOPPED.format(n=0, left="1 functions were not walked (g); nothing is reported about them")),
             ("consts.py:1", STOPPED_HERE.format(name="consts", n=0))],
        [])


def test_the_statements_after_one_too_deep_to_resolve_are_collected(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # resolving X's attribute chain exceeds Python's stack: X stays unbound, and the import and the
    # function after it are still among the module's globals
    assert _roots(tmp_path, "X = a" + ".b" * 1500 + """
import tensorflow as tf
momentum = 0.99


def uses_tf(x):
    return tf.nn.relu(x)
""", monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)),
             ("m.py:6", STOPPED.format(n=0, left="1 functions were not walked (uses_tf); nothing is reported about "
                                                "them"))], [])


def test_imports_in_a_modules_try_and_if_are_among_its_globals(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the module's walk stops at once: tf (imported in a `try`) and helpers (relative, in an `if`) are
    # aliases of the library from the module's globals alone, so both functions are roots
    assert _roots(tmp_path, """\
try:
    import tensorflow as tf
except ImportError:
    tf = None
if tf is not None:
    from . import helpers
momentum = 0.99


def uses_tf(x):
    return tf.nn.relu(x)


def uses_helpers(x):
    return helpers.relu(x)
""", monkeypatch) == (
        [], [("m.py:1", STOPPED_HERE.format(name="m", n=0)), ("m.py:6", "import . not followed: no such module beside m.py"),
             ("m.py:10", STOPPED.format(n=0, left="2 functions were not walked (uses_tf, uses_helpers); nothing is "
                                                 "reported about them"))], [])


def test_an_all_that_is_not_a_list_of_strings_leaves_every_public_name_to_a_star_import(
        tmp_path: pathlib.Path) -> None:
    # consts' `__all__` names a variable: it is not read, and the star import binds M and N
    assert _check(tmp_path, {
        "a.py": """
            import tensorflow as tf
            from consts import *

            bn = tf.keras.layers.BatchNormalization(momentum=N)
            """,
        "consts.py": """
            M = "N"
            N = 0.1
            __all__ = ("M", M)
            """}) == ([_momentum("consts.py", 2, 5, "0.1", "BatchNormalization@4")], [], [])
