"""Source mode as whole-program analysis: call chains across files, star imports, nested functions,
the call graph deciding entry points, imports followed to unchanged sibling modules, depth limits
that cost only their construct, and cost linear in the file (issue 18 items 1-3, 9, 13 and Cost;
issue 19 item 7)."""
from __future__ import annotations

import pathlib
import sys

import pytest

from bncheck.source.checker import check_files

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "source"
sys.path.insert(0, str(ROOT / "tools"))


def test_cost_is_linear_in_the_layers_of_one_script(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from benchmark_source import _best, layered_script

    small, large = tmp_path / "small.py", tmp_path / "large.py"
    small.write_text(layered_script(250))
    large.write_text(layered_script(4000))
    # every layer is found: BN001 at the train op (no update ops), BN010 at each conv (its bias feeds BN)
    found = check_files([str(large)], jobs=1).findings
    assert len(found) == 8000
    assert {(f.code, f.loc.line) for f in found if f.layer == "block3999/bn"} == {("BN001", 16013), ("BN010", 16003)}
    ratio = _best(lambda: check_files([str(large)], jobs=1), 3) / _best(lambda: check_files([str(small)], jobs=1), 3)
    # 16x the layers: linear cost is about 16x the CPU time; the quadratic parts this replaced gave over 100x
    assert ratio < 32, ratio


def _found(result) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return [(f.code, pathlib.Path(f.loc.path).name, f.loc.line) for f in result.findings]


def test_a_too_deep_expression_costs_only_its_statement() -> None:
    bad, good = FIXTURES / "deep_expression_momentum.py", FIXTURES / "deep_expression_momentum_fixed.py"
    for path, expected in ((bad, [("BN007", "deep_expression_momentum.py", 6)]), (good, [])):
        result = check_files([str(path)], jobs=1)
        assert _found(result) == expected
        assert result.notes == [(f"{path}:5", "this statement is nested too deeply for Python's stack and is not "
                                              "analysed (what it assigns is unknown); the rest of the file is")]


def test_a_too_deep_expression_in_a_train_function_keeps_bn001(tmp_path) -> None:  # type: ignore[no-untyped-def]
    deep = " + ".join(["a"] * 600)
    path = tmp_path / "train.py"
    path.write_text("import tensorflow.compat.v1 as tf\n\n\ndef main(a):\n"
                    f"    total = {deep}\n"
                    "    x = tf.placeholder(tf.float32, [None, 4])\n"
                    "    h = tf.layers.batch_normalization(x, training=True, name='bn')\n"
                    "    return tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))\n")
    result = check_files([str(path)], jobs=1)
    assert _found(result) == [("BN001", "train.py", 8)]
    assert [n[0] for n in result.notes] == [f"{path}:5"]
    # the deep statement itself holds the train op: BN001 is not judged for that walk, and the note says so
    path.write_text(path.read_text().replace("    total = ", "    total = tf.train.AdamOptimizer().minimize(")
                    .replace(" + a\n", " + a)\n", 1))
    result = check_files([str(path)], jobs=1)
    assert _found(result) == []
    assert result.notes == [(f"{path}:5", "this statement is nested too deeply for Python's stack and is not "
                                          "analysed (what it assigns is unknown); the rest of the file is; BN001 "
                                          "and the export checks of BN002 are not judged for main")]


def _paths(name: str, only: tuple[str, ...] = ()) -> list[str]:
    path = FIXTURES / name
    if path.is_dir():
        return sorted(str(p) for p in path.glob("*.py") if not only or p.name in only)
    return [str(path)]


def _exact(name: str, only: tuple[str, ...] = ()) -> list[tuple[str, str, int, str]]:
    result = check_files(_paths(name, only), jobs=1)
    assert result.errors == []
    assert result.notes == []
    return sorted((f.code, str(pathlib.Path(f.loc.path).relative_to(FIXTURES)), f.loc.line, f.layer)
                  for f in result.findings)


# (fixture, files given (all when empty), exact findings); each has a `_fixed` twin that is clean
TWINS = {
    # item 1: a chain through a file that names no rule word (nets.py) reaches the batch norm
    "call_chain_across_files": ((), [("BN001", "call_chain_across_files/train.py", 11, "block_bn")]),
    "call_chain_across_files given train.py": (("train.py",), [("BN001", "call_chain_across_files/train.py", 11,
                                                                "block_bn")]),
    # item 1: a slim.conv2d helper called inside the caller's arg_scope(normalizer_fn=slim.batch_norm)
    "slim_helper_in_arg_scope.py": ((), [("BN001", "slim_helper_in_arg_scope.py", 19, "Conv/BatchNorm")]),
    # item 2: `from ops import *`
    "star_import_helpers": ((), [("BN001", "star_import_helpers/train.py", 16, "d_bn")]),
    # item 3: a nested function using `self`, run through tf.map_fn; the contrib layers.python import
    "nested_function_self_map_fn.py": ((), [("BN001", "nested_function_self_map_fn.py", 16, "task_bn")]),
    "contrib_layers_python_alias.py": ((), [("BN001", "contrib_layers_python_alias.py", 10, "pose_bn")]),
    # item 9: a commented-out call does not make `train` called
    "commented_out_call_entry_point.py": ((), [("BN001", "commented_out_call_entry_point.py", 12, "bn")]),
    # item 13: only train.py given; the mistakes are in the unchanged ops.py, reported at train.py's calls
    "unchanged_helper_module given train.py": (("train.py",), [
        ("BN001", "unchanged_helper_module/train.py", 12, "block1/bn"),
        ("BN010", "unchanged_helper_module/train.py", 10, "block1/bn")]),
}


@pytest.mark.parametrize("case", sorted(TWINS))
def test_the_mistake_is_found_at_its_line(case: str) -> None:
    only, expected = TWINS[case]
    assert _exact(case.split()[0], only) == expected


@pytest.mark.parametrize("case", sorted(TWINS))
def test_the_fixed_twin_is_clean(case: str) -> None:
    only, _ = TWINS[case]
    name = case.split()[0]
    twin = name.replace(".py", "_fixed.py") if name.endswith(".py") else name + "_fixed"
    assert _exact(twin, only) == []


def test_a_finding_through_a_followed_module_names_the_code_and_edits_only_given_files() -> None:
    result = check_files(_paths("unchanged_helper_module", ("train.py",)), jobs=1)
    ops = str(FIXTURES / "unchanged_helper_module" / "ops.py")
    facts = {f.code: dict(f.facts)["in imported code"] for f in result.findings}
    assert facts == {"BN001": f"{ops}:12", "BN010": f"{ops}:7"}
    assert [f.edits for f in result.findings] == [(), ()]  # bncheck never writes a file it was not given
    assert result.checked == [str(FIXTURES / "unchanged_helper_module" / "train.py")]


TRAIN_WITH_OPS = ("import tensorflow.compat.v1 as tf\n"
                  "import ops\n"
                  "x = tf.placeholder(tf.float32, [None, 4])\n"
                  "train_op = ops.train(x)\n")
OPS = ("import tensorflow.compat.v1 as tf\n"
       "def train(x):\n"
       "    h = tf.layers.batch_normalization(x, training=True, name='bn')\n"
       "    return tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))\n")
NOT_FOLLOWED = "import ops not followed to {}: {}; what it defines is unknown to bncheck"


def _project(tmp_path, ops: str | None = OPS) -> tuple[pathlib.Path, pathlib.Path]:  # type: ignore[no-untyped-def]
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text(TRAIN_WITH_OPS)
    if ops is not None:
        (project / "ops.py").write_text(ops)
    return project / "train.py", project / "ops.py"


def test_an_unchanged_sibling_module_is_followed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, ops = _project(tmp_path)
    result = check_files([str(train)], jobs=1)
    assert [(f.code, f.loc.path, f.loc.line, dict(f.facts)["in imported code"]) for f in result.findings] == [
        ("BN001", str(train), 4, f"{ops}:4")]
    assert result.notes == [] and result.checked == [str(train)]
    # without following, only train.py is read: the helper is unknown
    assert check_files([str(train)], jobs=1, follow=False).findings == []


def test_a_symlink_out_of_the_project_is_not_followed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.py"
    outside.write_text(OPS)
    train, ops = _project(tmp_path, None)
    ops.symlink_to(outside)
    result = check_files([str(train)], jobs=1)
    assert result.findings == []
    assert result.notes == [(f"{train}:2", NOT_FOLLOWED.format(ops, "it is a symlink that leads out of the project"))]


def test_a_symlink_into_a_hidden_or_installed_folder_is_not_followed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, ops = _project(tmp_path, None)
    installed = train.parent / ".venv" / "lib" / "site-packages"
    installed.mkdir(parents=True)
    (installed / "ops.py").write_text(OPS)
    ops.symlink_to(installed / "ops.py")
    result = check_files([str(train)], jobs=1)
    assert result.findings == []
    assert result.notes == [(f"{train}:2", NOT_FOLLOWED.format(ops, "it is installed or generated code, not the "
                                                                    "project's"))]


def test_a_fifo_is_not_followed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    train, ops = _project(tmp_path, None)
    os.mkfifo(ops)
    result = check_files([str(train)], jobs=1)  # never opened: a FIFO would block
    assert result.notes == [(f"{train}:2", NOT_FOLLOWED.format(ops, "it is not a regular file"))]


def test_followed_modules_are_bounded_in_size_and_count(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bncheck.source import following

    train, ops = _project(tmp_path)
    monkeypatch.setattr(following, "MAX_FOLLOWED_BYTES", len(OPS) - 1)
    result = check_files([str(train)], jobs=1)
    assert result.findings == []
    assert result.notes == [(f"{train}:2", NOT_FOLLOWED.format(ops, f"it is larger than {len(OPS) - 1:,} bytes"))]
    monkeypatch.setattr(following, "MAX_FOLLOWED_BYTES", 10_000)
    monkeypatch.setattr(following, "MAX_FOLLOWED", 1)
    (train.parent / "extra.py").write_text("X = 1\n")
    train.write_text("import extra\n" + TRAIN_WITH_OPS)
    result = check_files([str(train)], jobs=1)
    assert result.notes == [(f"{train}:3", NOT_FOLLOWED.format(ops, "one check follows at most 1 modules that were "
                                                                    "not given"))]


def test_a_relative_import_of_a_missing_module_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, _ = _project(tmp_path)
    (train.parent / "__init__.py").write_text("")
    train.write_text("from .missing import helper\n" + TRAIN_WITH_OPS)
    result = check_files([str(train)], jobs=1)
    assert [(f.code, f.loc.line) for f in result.findings] == [("BN001", 5)]
    assert result.notes == [(f"{train}:1", "import .missing not followed: no such module beside train.py")]


def test_a_followed_module_that_is_not_python_is_a_note_not_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, ops = _project(tmp_path, OPS + "def broken(:\n")
    result = check_files([str(train)], jobs=1)
    assert result.errors == [] and result.findings == [] and result.checked == [str(train)]
    assert result.notes == [(str(ops), "imported module not followed: not valid Python: invalid syntax (line 5)")]


def test_star_import_respects_a_literal_all(tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, ops = _project(tmp_path)
    train.write_text(TRAIN_WITH_OPS.replace("import ops\n", "from ops import *\n").replace("ops.train(", "train("))
    assert [(f.code, f.loc.line) for f in check_files([str(train)], jobs=1).findings] == [("BN001", 4)]
    ops.write_text('__all__ = ["other"]\n' + OPS)  # `train` is not exported: the call is unknown
    assert check_files([str(train)], jobs=1).findings == []
    ops.write_text(OPS.replace("def train(", "def _train(") + "train = _train\n")  # exported by assignment
    assert [(f.code, f.loc.line) for f in check_files([str(train)], jobs=1).findings] == [("BN001", 4)]


def test_imports_looked_up_per_file_are_bounded(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bncheck.source import following

    train, _ = _project(tmp_path)
    monkeypatch.setattr(following, "MAX_IMPORTS_PER_FILE", 1)
    train.write_text("import numpy\n" + TRAIN_WITH_OPS)
    result = check_files([str(train)], jobs=1)
    assert result.findings == []  # ops is the third import: not followed, so its helper is unknown
    assert result.notes == [(f"{train}:2", "imports from here on are not followed: one file's first 1 imports are")]
