"""Source mode resolves names with its own walk over :mod:`ast`; LibCST's ``QualifiedNameProvider``
is the oracle it is checked against.

Issue 11 asked for LibCST's scope analysis. It was measured ~100x slower than the whole of our
check (``python tools/benchmark_source.py --compare-libcst``), which would put the speed goal out of
reach, so source mode parses with ``ast`` and resolves imports itself. This test keeps LibCST as the
reference: for every import style the issue lists, and for shadowing and rebinding, the qualified
name bncheck gives the callee of the last call must be what LibCST's scope analysis says an import
can make it mean.

How the two may differ, each case says which:

- ``same``: LibCST gives exactly one name, from an import, and bncheck gives that name.
- ``none``: LibCST gives no name from an import (a parameter, a class or a local of the same name),
  and bncheck resolves nothing: it never invents an API.
- ``flow``: LibCST is flow-insensitive and lists every binding of the name in its scope; bncheck
  walks statements in order and gives the binding that holds at the call (one of LibCST's, or
  none when the name was rebound to something else).
- ``alias``: an assignment such as ``v1 = tf.compat.v1``, which LibCST does not follow (it gives the
  local name); bncheck gives what LibCST says of the assigned expression, plus the attribute path.
"""
from __future__ import annotations

import ast
import textwrap
from typing import Optional

import pytest

from bncheck.source.apis import canonical
from bncheck.source.loader import ModuleInfo, _collect
from bncheck.source.model import Alias, Run, Value
from bncheck.source.project import Project
from bncheck.source.walker import Walker


# id -> (code, relation, bncheck's qualified name for the last batch-norm call's callee, its canonical API)
CASES: dict[str, tuple[str, str, Optional[str], Optional[str]]] = {
    "import tensorflow as tf; tf.compat.v1.layers": (
        "import tensorflow as tf\ntf.compat.v1.layers.batch_normalization(x)\n",
        "same", "tensorflow.compat.v1.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "tf.layers": (
        "import tensorflow as tf\ntf.layers.batch_normalization(x)\n",
        "same", "tensorflow.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "import tensorflow.compat.v1 as tf": (
        "import tensorflow.compat.v1 as tf\ntf.layers.batch_normalization(x)\n",
        "same", "tensorflow.compat.v1.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "import tensorflow (no alias)": (
        "import tensorflow\ntensorflow.compat.v1.layers.batch_normalization(x)\n",
        "same", "tensorflow.compat.v1.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "from tensorflow.contrib import slim": (
        "from tensorflow.contrib import slim\nslim.batch_norm(x)\n",
        "same", "tensorflow.contrib.slim.batch_norm", "slim.batch_norm"),
    "import tf_slim as slim": (
        "import tf_slim as slim\nslim.batch_norm(x)\n",
        "same", "tf_slim.batch_norm", "slim.batch_norm"),
    "from tensorflow.contrib.layers import batch_norm as bn": (
        "from tensorflow.contrib.layers import batch_norm as bn\nbn(x)\n",
        "same", "tensorflow.contrib.layers.batch_norm", "slim.batch_norm"),
    "tf.keras.layers": (
        "import tensorflow as tf\ntf.keras.layers.BatchNormalization()\n",
        "same", "tensorflow.keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "keras.layers": (
        "import keras\nkeras.layers.BatchNormalization()\n",
        "same", "keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "import keras.layers": (
        "import keras.layers\nkeras.layers.BatchNormalization()\n",
        "same", "keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "from keras import layers": (
        "from keras import layers\nlayers.BatchNormalization()\n",
        "same", "keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "from keras import layers as L": (
        "from keras import layers as L\nL.BatchNormalization()\n",
        "same", "keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "from tensorflow.keras.layers import BatchNormalization as BN": (
        "from tensorflow.keras.layers import BatchNormalization as BN\nBN()\n",
        "same", "tensorflow.keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "import tf_keras": (
        "import tf_keras\ntf_keras.layers.BatchNormalization()\n",
        "same", "tf_keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
    "import inside the function": (
        "def build(x):\n    import tensorflow as tf\n    return tf.layers.batch_normalization(x)\n",
        "same", "tensorflow.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "class attribute does not shadow the import in a method": (
        "import tensorflow as tf\nclass Net:\n    tf = None\n    def build(self, x):\n"
        "        return tf.layers.batch_normalization(x)\n",
        "same", "tensorflow.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "parameter shadows tf": (
        "import tensorflow as tf\ndef build(tf, x):\n    return tf.layers.batch_normalization(x)\n",
        "none", None, None),
    "lambda parameter shadows tf": (
        "import tensorflow as tf\nbuild = lambda tf, x: tf.layers.batch_normalization(x)\nbuild(1, 2)\n",
        "none", None, None),
    "own class named BatchNormalization": (
        "from keras.layers import *\nclass BatchNormalization:\n    pass\nBatchNormalization()\n",
        "none", None, None),
    "local variable shadows layers": (
        "from keras import layers\ndef build(make):\n    layers = make()\n    return layers.BatchNormalization()\n",
        "none", None, None),
    "star import is not followed": (
        "from tensorflow.keras.layers import *\nBatchNormalization()\n",
        "none", None, None),
    "tf rebound after the import": (
        "import tensorflow as tf\ntf = Wrapper()\ntf.layers.batch_normalization(x)\n",
        "flow", None, None),
    "tf imported after a local binding": (
        "tf = Wrapper()\nimport tensorflow as tf\ntf.layers.batch_normalization(x)\n",
        "flow", "tensorflow.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "import fallback: the later import holds": (
        "try:\n    import tf_slim as slim\nexcept ImportError:\n    from tensorflow.contrib import slim\n"
        "slim.batch_norm(x)\n",
        "flow", "tensorflow.contrib.slim.batch_norm", "slim.batch_norm"),
    "v1 = tf.compat.v1": (
        "import tensorflow as tf\nv1 = tf.compat.v1\nv1.layers.batch_normalization(x)\n",
        "alias", "tensorflow.compat.v1.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
    "L = v1.layers (two assignments)": (
        "import tensorflow as tf\nv1 = tf.compat.v1\nL = v1.layers\nL.batch_normalization(x)\n",
        "alias", "tensorflow.compat.v1.layers.batch_normalization", "tensorflow.layers.batch_normalization"),
}


class _Recording(Walker):
    """The walker, noting the qualified name it gives each callee it resolves to a library."""

    def __init__(self, project: Project, run: Run) -> None:
        super().__init__(project, run)
        self.callees: dict[tuple[int, int], str] = {}
        special = self.library.special_call

        def recording(node: ast.Call, frame, callee: Value, receiver: Value, method: Optional[str],  # type: ignore[no-untyped-def]
                      stmt: Optional[ast.stmt]) -> Optional[Value]:
            if isinstance(callee, Alias):
                self.callees[(node.func.lineno, node.func.col_offset)] = callee.qual
            return special(node, frame, callee, receiver, method, stmt)

        self.library.special_call = recording  # type: ignore[method-assign]


def bncheck_names(code: str) -> dict[tuple[int, int], str]:
    """(line, column) of each callee -> the qualified name bncheck resolves it to: the module body is
    walked in order, then every function and method (as the checker does for code nobody calls)."""
    module = ModuleInfo("m.py", "m", code, ast.parse(code), code.splitlines(), graph_mode=False)
    _collect(module)
    walker = _Recording(Project([module]), Run("m", "m.py"))
    walker.walk_module(module)
    for func in list(module.functions.values()) + [m for c in module.classes.values() for m in c.methods.values()]:
        walker.walk_root(func)
    return walker.callees


def libcst_names(code: str) -> dict[tuple[int, int], set[tuple[str, str]]]:
    """(line, column) of each callee -> LibCST's qualified names for it, with their source."""
    # imported here, not while every xdist worker collects this (slow-only) file: 0.3 s of CPU each. The
    # [test] extra installs it: a missing oracle must fail, not skip.
    import libcst
    from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

    found: dict[tuple[int, int], set[tuple[str, str]]] = {}

    class Calls(libcst.CSTVisitor):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

        def visit_Call(self, node: libcst.Call) -> None:
            start = self.get_metadata(PositionProvider, node.func).start
            names = self.get_metadata(QualifiedNameProvider, node.func, set())
            found[(start.line, start.column)] = {(q.name, q.source.name) for q in names}

    MetadataWrapper(libcst.parse_module(code)).visit(Calls())
    return found


def _last_call(code: str) -> tuple[int, int]:
    """Where the callee of the last batch-norm call starts."""
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
             and ("batch_norm" in ast.unparse(n.func) or "BatchNorm" in ast.unparse(n.func) or ast.unparse(n.func) in ("BN", "bn"))]
    last = max(calls, key=lambda n: (n.lineno, n.col_offset))
    return last.func.lineno, last.func.col_offset


@pytest.mark.parametrize("case", sorted(CASES))
def test_name_resolution_matches_libcst(case: str) -> None:
    from libcst.metadata import QualifiedNameSource

    code, relation, expected, api = CASES[case]
    at = _last_call(code)
    ours = bncheck_names(code).get(at)
    theirs = libcst_names(code)[at]
    imported = {name for name, source in theirs if source == QualifiedNameSource.IMPORT.name}
    assert ours == expected
    assert (canonical(ours) if ours else None) == api
    if relation == "same":
        assert theirs == {(expected, "IMPORT")}
    elif relation == "none":
        assert imported == set()
    elif relation == "flow":
        assert len(theirs) > 1
        assert ours is None or ours in imported
    else:  # alias: LibCST gives the local name; bncheck follows the assignment
        assert imported == set() and theirs and all(source == "LOCAL" for _, source in theirs)
        line = code.splitlines()[at[0] - 1]
        local = line[at[1]:line.index("(", at[1])]
        head, _, rest = local.partition(".")
        assert {n for n, _ in theirs} == {local}
        assert ours.endswith("." + rest) and ours.startswith("tensorflow.")


def test_the_fixture_scripts_resolve_as_libcst_says() -> None:
    """Every library call in the training-script fixtures: bncheck's name is one of LibCST's import
    names (or LibCST gives a local name that an assignment alias explains)."""
    from conftest import FIXTURES

    checked = aliased = 0
    for path in sorted((FIXTURES / "source").rglob("*.py")):
        if path.parent.name in ("python2", "encodings"):
            continue  # LibCST reads Python 3 in UTF-8 (tests/test_source_inputs.py checks these)
        code = path.read_text()
        try:
            theirs = libcst_names(code)
        except RecursionError:  # nested deeper than LibCST's stack allows (deep_expression_momentum*.py)
            assert path.name.startswith("deep_expression_"), path
            continue
        for at, ours in bncheck_names(code).items():
            if ours.split(".")[0] not in ("tensorflow", "keras", "tf_keras", "tf_slim"):
                continue
            names = theirs.get(at, set())
            imported = {n for n, s in names if s == "IMPORT"}
            if imported:
                assert ours in imported, (path.name, at, ours, names)
            else:  # an assignment alias (`v1 = tf.compat.v1`, `keras = tf.keras`): LibCST gives the local name
                assert names and all(s == "LOCAL" and "." in n and ours.endswith("." + n.partition(".")[2])
                                     for n, s in names), (path.name, at, ours, names)
                aliased += 1
            checked += 1
    assert checked > 300 and 0 < aliased < checked / 5
