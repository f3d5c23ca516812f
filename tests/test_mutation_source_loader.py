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
