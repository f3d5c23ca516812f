"""Exact outcomes mutation testing of ``bncheck/source/value_ops.py``, ``suppression.py``, ``edits.py`` and
``fixer.py`` showed (issue 22, item 5).

The helpers over abstract values, called with the values the walker builds, their results asserted
exactly (which object, which count); suppression tables, applied edits, patch paths and headers, and the
fixes planned, printed and written, asserted in full. The survivors no input tells apart are listed with their reason
in ``tools/mutation_equivalents.md`` ("Files outside rules/").
"""
from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import textwrap
from types import SimpleNamespace

import pytest

from bncheck.findings import Finding
from bncheck.remote import LOCAL_ONLY
from bncheck.source import check_files
from bncheck.source.edits import Edit, _header, apply, patch_path, unified_diff
from bncheck.source.fixer import plan_fixes, run_fixes
from bncheck.source.model import (
    UNKNOWN,
    Alias,
    Chain,
    Const,
    DictVal,
    FuncRef,
    LayerObj,
    ListVal,
    Loc,
    ModelObj,
    TensorVal,
    UpdateOps,
    Value,
    VariableVal,
)
from bncheck.source.suppression import Suppression, parse, suppressed, unused
from bncheck.source.value_ops import (
    MAX_UNROLL,
    Bound,
    Choices,
    bias_kind,
    bn_of_attrs,
    callable_key,
    choices,
    collection_name,
    dict_key,
    dict_load,
    dict_store,
    either,
    ema_decay,
    holds_updates,
    is_update_ops_key,
    literal_range,
    merge_tensors,
    one_of,
    same_tree,
    single_input,
    tensors_in,
)

HERE = Loc("m.py", 1, 1, 1, 2)


def _function(name: str) -> SimpleNamespace:
    """A function as the walker knows it: what ``callable_key`` reads is its ``def`` node."""
    return SimpleNamespace(node=ast.parse(f"def {name}(x):\n    return x\n").body[0])


def _model() -> ModelObj:
    return ModelObj((), "net", HERE)


# ---- callable_key and choices: one function, one option ---------------------------------------

def test_two_references_to_one_function_are_one_option() -> None:
    f = _function("f")
    first, second = FuncRef(f), FuncRef(f)
    assert callable_key(first) == (id(f.node), 0)
    assert choices([first, second]) == (first, 1)


def test_one_method_bound_to_two_objects_is_two_options() -> None:
    f = _function("forward")
    a, b = _model(), _model()
    first, second = Bound(f, a), Bound(f, b)  # type: ignore[arg-type]
    assert callable_key(first) == (id(f.node), id(a))
    merged, count = choices([first, second, Bound(f, a)])  # type: ignore[arg-type]
    assert count == 2
    assert isinstance(merged, Choices) and merged.options == (first, second)


def test_a_value_that_is_no_function_is_its_own_key_and_no_choice() -> None:
    value = Const(3)
    assert callable_key(value) == (id(value), 0)
    assert choices([FuncRef(_function("f")), value]) == (None, 0)


# ---- one_of: what alternative results agree on ---------------------------------------------------

def test_one_value_returned_by_every_alternative_is_that_value() -> None:
    model = _model()
    assert one_of([model, model]) is model


def test_variables_agree_only_when_their_ranks_do() -> None:
    first, same, other = VariableVal(2), VariableVal(2), VariableVal(3)
    assert one_of([first, same]) is first
    assert one_of([first, other]) is UNKNOWN


def test_constants_agree_only_when_equal_and_of_one_type() -> None:
    first = Const(1)
    assert one_of([first, Const(1)]) is first
    assert one_of([first, Const(True)]) is UNKNOWN  # 1 == True, but a flag is not a count
    assert one_of([first, Const(2)]) is UNKNOWN


def test_dicts_merge_their_keys_and_their_prefixed_keys() -> None:
    w, b = VariableVal(4), VariableVal(1)
    merged = one_of([DictVal({"w": w}, {"b": b}), DictVal({"w": VariableVal(4)}, {"b": VariableVal(1)})])
    assert isinstance(merged, DictVal)
    assert merged.items == {"w": w} and merged.by_prefix == {"b": b}


def test_different_functions_are_a_choice_and_anything_else_unknown() -> None:
    f, g = FuncRef(_function("f")), FuncRef(_function("g"))
    merged = one_of([f, g])
    assert isinstance(merged, Choices) and merged.options == (f, g)
    assert one_of([Alias("tensorflow.nn.relu"), Alias("tensorflow.nn.elu")]) is UNKNOWN


# ---- collection keys and update ops --------------------------------------------------------------

def test_a_collection_named_by_a_name_without_a_dot_is_that_name() -> None:
    assert collection_name(Alias("UPDATE_OPS")) == "update_ops"
    assert collection_name(Alias("tensorflow.GraphKeys.TRAINABLE_VARIABLES")) == "trainable_variables"


def test_the_update_ops_key_by_its_api_name_or_its_last_parts() -> None:
    assert is_update_ops_key(Alias("tensorflow.GraphKeys.UPDATE_OPS")) is True
    assert is_update_ops_key(Alias("mylib.GraphKeys.UPDATE_OPS")) is True  # an alias bncheck does not know
    assert is_update_ops_key(Alias("tensorflow.nn.relu")) is False
    assert is_update_ops_key(Const("update_ops")) is True  # the collection's name as a string
    assert is_update_ops_key(Const("UPDATE_OPS")) is False


def test_update_ops_are_held_by_a_list_holding_them_only() -> None:
    assert holds_updates(ListVal((Const(1), UpdateOps(1, HERE)))) is True
    assert holds_updates(ListVal((Const(1),))) is False
    assert holds_updates(Const(1)) is False


# ---- bias_kind, either, bn_of_attrs ---------------------------------------------------------------

def test_a_linear_activation_by_its_name_or_its_api_keeps_the_bias() -> None:
    assert bias_kind({"activation": Const("linear")}) == "bias"
    assert bias_kind({"activation": Alias("tensorflow.identity")}) == "bias"
    assert bias_kind({"activation": Alias("tensorflow.nn.relu")}) == "other"
    assert bias_kind({"activation": UNKNOWN}) == "bias?"


def test_one_tensor_is_itself() -> None:
    tensor = TensorVal()
    assert either([tensor]) is tensor


def test_the_batch_norms_of_a_list_attribute() -> None:
    bn = LayerObj("bn", "keras", "bn1", HERE)
    assert bn_of_attrs({"layers": ListVal((bn, LayerObj("bn", "keras", None, Loc("m.py", 7, 1, 7, 2))))}) == (
        "bn1", "BatchNormalization@7")


# ---- ema_decay and same_tree: the decay of a moving average update ----------------------------------

def _decay(text: str, method: str) -> str | None:
    found = ema_decay(ast.parse(text, mode="eval").body, method)
    return None if found is None else ast.unparse(found)


def test_the_decay_of_an_assign_sub_update() -> None:
    assert _decay("(v - x) * (1 - d)", "assign_sub") == "d"
    assert _decay("(v - x) * d", "assign_sub") is None


def test_the_decay_of_an_assign_update_in_any_operand_order() -> None:
    assert _decay("v * d + x * (1 - d)", "assign") == "d"
    assert _decay("d * v + (1 - d) * x", "assign") == "d"
    assert _decay("v * d + x * (1 - e)", "assign") is None  # 1 - e is no complement of d
    assert _decay("v", "assign") is None


def test_same_tree_compares_code_not_positions() -> None:
    def expr(text: str) -> ast.expr:
        return ast.parse(text, mode="eval").body
    assert same_tree(expr("f(a, b)"), expr("f(a,  b)")) is True
    assert same_tree(expr("f(a)"), expr("f(a, b)")) is False
    assert same_tree(expr("f(a)"), expr("f(b)")) is False
    assert same_tree(expr("a"), expr("1")) is False


# ---- dict keys known by their literal start ---------------------------------------------------------

def _key(text: str) -> tuple[str | None, str | None]:
    return dict_key(ast.parse(text, mode="eval").body, UNKNOWN)


def test_a_key_known_only_by_its_literal_start() -> None:
    assert _key("'b' + str(i)") == (None, "b")
    assert _key("'' + str(i)") == (None, None)
    assert _key("5 + i") == (None, None)
    assert _key("k") == (None, None)


def test_values_stored_by_a_prefix_stay_known_only_while_they_agree() -> None:
    d = DictVal({})
    first, same = VariableVal(2), VariableVal(2)
    dict_store(d, None, "b", first)
    dict_store(d, None, "b", same)
    assert d.by_prefix == {"b": same}
    dict_store(d, None, "b", VariableVal(3))
    assert d.by_prefix == {"b": UNKNOWN}


def test_a_load_by_prefix_reaches_keys_and_prefixes_either_way() -> None:
    w: Value = VariableVal(2)
    assert dict_load(DictVal({"b1": w}), None, "b") is w
    assert dict_load(DictVal({}, {"b": w}), None, "b1") is w
    assert dict_load(DictVal({"b1": w}), None, "z") is UNKNOWN


def test_an_activation_of_the_scanned_files_is_an_activation() -> None:
    assert bias_kind({"activation": FuncRef(_function("swish"))}) == "other"


def test_merged_tensors_keep_every_batch_norm_and_training_call() -> None:
    a = TensorVal(None, Chain(("bn1",)), Chain((("bn1", HERE),)))
    b = TensorVal(None, Chain(("bn2",)))
    one, both = merge_tensors([a]), merge_tensors([a, b])
    assert (one.producer, [*iter(one.bn_layers)], [*iter(one.fixed_training)]) == (None, ["bn1"], [("bn1", HERE)])
    assert (both.producer, [*iter(both.bn_layers)], [*iter(both.fixed_training)]) == (
        None, ["bn1", "bn2"], [("bn1", HERE)])


def test_a_range_of_literal_integers_is_unrolled_up_to_the_limit() -> None:
    assert [c.value for c in literal_range([Const(1), Const(7), Const(2)]).items] == [1, 3, 5]  # type: ignore[attr-defined]
    assert literal_range([Const(MAX_UNROLL)]).items[-1].value == MAX_UNROLL - 1  # type: ignore[attr-defined]
    assert literal_range([Const(MAX_UNROLL + 1)]) is UNKNOWN
    assert literal_range([]) is UNKNOWN
    assert literal_range([Const(1.5)]) is UNKNOWN
    assert literal_range([Const(1), UNKNOWN]) is UNKNOWN
    assert literal_range([Const(0), Const(5), Const(0)]) is UNKNOWN  # a zero step


def test_a_chain_is_read_as_a_sequence() -> None:
    """A bug this file's tests showed: ``len``, ``in``, ``tuple()`` and ``list()`` of a chain recursed
    without end (tuple() asked ``__len__`` for a size hint, which made a tuple of the chain)."""
    chain = Chain(("bn2",), (Chain(("bn1",)),))
    assert (len(chain), "bn1" in chain, "bn3" in chain, tuple(chain), [*chain], repr(chain)) == (
        2, True, False, ("bn1", "bn2"), ["bn1", "bn2"], "Chain('bn1', 'bn2')")


def test_a_layer_of_several_inputs_keeps_the_batch_norms_of_all() -> None:
    a, b = TensorVal(None, Chain(("bn1",))), TensorVal(None, Chain(("bn2",)))
    assert single_input([a]) is a
    assert [*iter(single_input([a, b]).bn_layers)] == ["bn1", "bn2"]
    assert [*iter(single_input([]).bn_layers)] == []


def test_the_tensors_in_nested_lists_and_dicts() -> None:
    a, b = TensorVal(), TensorVal()
    assert tensors_in(ListVal((a, Const(1), DictVal({"x": ListVal((b,))})))) == [a, b]
    assert tensors_in(DictVal({"x": a})) == [a]


# ---- suppression.py: suppression comments read exactly ---------------------------------------------

def _unknown_code(text: str, codes: str) -> str:
    return f"suppression `{text}` names no rule: {codes} (see --list-rules); it silences nothing for that code"


def _malformed(shown: str) -> str:
    return (f"malformed suppression `{shown}`: it silences nothing (write `# bncheck: ignore[BN001]` "
            "or `# bncheck: ignore`)")


def test_suppression_comments_of_each_form_are_read_exactly() -> None:
    text = ("a = 1  # bncheck: ignore[BN001, bn999,BN9X]\n"
            "b = 2  # bncheck: ignore\n"
            "c = 3  # noqa\n"
            "d = 4  # noqa: E501, BN001 BN002\n"
            "e = 5  # noqa: BN999\n")
    first = "# bncheck: ignore[BN001, bn999,BN9X]"
    assert parse(text) == {
        1: [Suppression(1, ("BN001", "BN999", "BN9X"), first, True, set(), _unknown_code(first, "BN999, BN9X"))],
        2: [Suppression(2, (), "# bncheck: ignore", True, set())],
        3: [Suppression(3, (), "# noqa", False, set())],
        4: [Suppression(4, ("BN001", "BN002"), "# noqa: E501, BN001 BN002", True, set())],
        5: [Suppression(5, ("BN999",), "# noqa: BN999", True, set(), _unknown_code("# noqa: BN999", "BN999"))],
    }


def test_a_malformed_suppression_is_shown_up_to_80_characters_and_the_next_lines_still_read() -> None:
    exact = "# bncheck: ignroe " + "x" * 62  # 80 characters
    longer = exact + "y"
    cut = longer[:77] + "..."
    table = parse(f"a = 1  {exact}\nb = 2  {longer}\nc = 3  # bncheck: ignore\n")
    assert table == {
        1: [Suppression(1, ("-",), exact, False, set(), _malformed(exact))],
        2: [Suppression(2, ("-",), cut, False, set(), _malformed(cut))],
        3: [Suppression(3, (), "# bncheck: ignore", True, set())],
    }
    assert unused(table, {"BN001"}) == [(1, _malformed(exact)), (2, _malformed(cut)),
                                        (3, "unused suppression `# bncheck: ignore`: no finding on this line")]


def test_a_suppression_inside_a_string_is_no_comment() -> None:
    assert parse('s = "# bncheck: ignore"\nt = \'# bncheck: ignore\'\n') == {}
    assert parse("s = 'a'  # bncheck: ignore\n") == {1: [Suppression(1, (), "# bncheck: ignore", True, set())]}
    assert parse('s = "a"  # bncheck: ignore\n') == {1: [Suppression(1, (), "# bncheck: ignore", True, set())]}


def test_unused_suppressions_name_their_idle_codes() -> None:
    text = "a = 1  # bncheck: ignore[BN001, BN002, BN999]\nb = 2  # bncheck: ignore\nc = 3  # bncheck: ignore\n"
    table = parse(text)
    assert suppressed(table, 2, "BN001") is True
    assert suppressed(table, 1, "BN005") is False
    assert suppressed(table, 4, "BN001") is False
    assert unused(table, {"BN001", "BN002", "BN005"}) == [
        (1, _unknown_code("# bncheck: ignore[BN001, BN002, BN999]", "BN999")),
        (1, "unused suppression `# bncheck: ignore[BN001, BN002, BN999]`: no BN001, BN002 finding on this line"),
        (3, "unused suppression `# bncheck: ignore`: no finding on this line"),
    ]


# ---- edits.py: edits applied, paths and headers of a patch --------------------------------------------

def _edit(line: int, col: int, end_line: int, end_col: int, text: str) -> Edit:
    return Edit(Loc("m.py", line, col, end_line, end_col), text, True)


def test_edits_inside_the_file_and_at_its_end_are_applied_and_the_others_skipped() -> None:
    text = "ab\ncd\n"  # two lines: an edit may start or end on line 3, the end of the file
    assert apply(text, [_edit(1, 1, 4, 1, "X"), _edit(4, 1, 4, 1, "Y"), _edit(3, 1, 3, 1, "e\n")]) == "ab\ncd\ne\n"
    assert apply(text, [_edit(2, 1, 3, 1, "")]) == "ab\n"
    assert apply(text, [_edit(4, 1, 3, 1, "X")]) == text  # starts past the end (ends before it starts)
    assert apply(text, [_edit(1, 1, 1, 1, "<"), _edit(1, 1, 1, 2, "A"), _edit(1, 2, 1, 3, "B"),
                        _edit(2, 1, 2, 2, "C")]) == "<AB\nCd\n"
    # an edit overlapping an earlier one is skipped, the ones after it are not
    assert apply(text, [_edit(1, 1, 1, 3, "Z"), _edit(1, 2, 1, 3, "Q"), _edit(2, 1, 2, 2, "C")]) == "Z\nCd\n"


def test_a_patch_path_relative_to_the_working_directory_or_from_the_root(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert patch_path(str(tmp_path / "work" / "d" / "a.py")) == "d/a.py"
    assert patch_path("d/../a.py") == "a.py"
    outside = str(tmp_path / "a.py")
    assert patch_path(outside) == outside.lstrip("/")
    assert patch_path("..") == str(tmp_path).lstrip("/")
    assert patch_path("/Xdir/a.py") == "Xdir/a.py"  # only the leading separator is stripped


def test_patch_headers_are_quoted_as_git_quotes_them() -> None:
    assert _header("a/", "d/X.py") == "a/d/X.py"
    assert _header("b/", 'x"y\\z.py') == '"b/x\\"y\\\\z.py"'
    assert _header("a/", "t\tb\x01\u200b.py") == '"a/t\\tb\\001\\342\\200\\213.py"'
    assert _header("a/", "s\udcff.py") == '"a/s\\377.py"'  # a byte the file system name did not decode


def test_a_unified_diff_marks_a_last_line_without_a_line_end(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert unified_diff("a.py", "x = 1\ny = 2", "x = 3\ny = 2") == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-x = 1\n+x = 3\n y = 2\n\\ No newline at end of file\n")


# ---- fixer.py: which fixes are planned, printed and written ---------------------------------------------

FIXABLE = """
    import tensorflow as tf


    def net(inp):
        x = tf.keras.layers.Conv2D(8, 3)(inp)
        x = tf.keras.layers.BatchNormalization(momentum=0.1)(x)
        return tf.keras.layers.BatchNormalization(momentum=0.2)(x)
"""
FIXED_DIFF = ("--- a/m.py\n+++ b/m.py\n@@ -3,5 +3,5 @@\n \n def net(inp):\n"
              "     x = tf.keras.layers.Conv2D(8, 3)(inp)\n"
              "-    x = tf.keras.layers.BatchNormalization(momentum=0.1)(x)\n"
              "-    return tf.keras.layers.BatchNormalization(momentum=0.2)(x)\n"
              "+    x = tf.keras.layers.BatchNormalization(momentum=0.9)(x)\n"
              "+    return tf.keras.layers.BatchNormalization(momentum=0.8)(x)\n")


def _fixable(folder: pathlib.Path) -> list[Finding]:
    path = folder / "m.py"
    path.write_text(textwrap.dedent(FIXABLE).lstrip("\n"))
    return [f.to_finding() for f in check_files([str(path)], jobs=1).findings]  # BN010 (an unsafe fix), BN007 twice (safe fixes)


def _moved(finding: Finding, path: str) -> Finding:
    return dataclasses.replace(finding, edits=tuple(
        dataclasses.replace(e, loc=dataclasses.replace(e.loc, path=path)) for e in finding.edits))


def test_safe_fixes_are_planned_by_default_and_counted_by_file(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    findings = _fixable(tmp_path)
    outcome, texts = plan_fixes(findings)
    path = str(tmp_path / "m.py")
    assert (outcome.diffs, outcome.fixed, outcome.unsafe_skipped, outcome.errors, outcome.per_file) == (
        {path: FIXED_DIFF}, 2, 1, [], {path: 2})
    assert list(texts) == [path]


def test_a_remote_file_is_never_fixed_and_the_files_after_it_are(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, first, second = _fixable(tmp_path)
    path = str(tmp_path / "m.py")
    missing = str(tmp_path / "gone.py")
    outcome, _ = plan_fixes([_moved(first, "s3://bucket/m.py"), _moved(second, missing), first,
                             _moved(second, "file://" + path), _moved(second, "local://" + path)])
    assert [(e.source, e.reason) for e in outcome.errors] == [
        ("s3://bucket/m.py", LOCAL_ONLY), (missing, outcome.errors[1].reason)]
    assert sorted(outcome.diffs) == sorted([path, "file://" + path, "local://" + path])


def test_the_diff_and_the_messages_of_a_fix_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    said: list[tuple[str, dict[str, object]]] = []

    def echo(text: str, **options: object) -> None:
        said.append((text, options))
    findings = _fixable(tmp_path)
    assert run_fixes(findings, [str(tmp_path)], write=False, unsafe=False, echo=echo) == (True, False)
    assert said == [(FIXED_DIFF, {"nl": False}), ("bncheck: 2 fixable findings in 1 file", {"err": True}),
                    ("bncheck: 1 more fix available with --unsafe-fixes", {"err": True})]
    said.clear()
    root = "file://" + str(tmp_path)
    assert run_fixes(findings, [root], write=True, unsafe=False, echo=echo) == (True, False)
    assert said == [("bncheck: fixed 2 findings in 1 file", {"err": True}),
                    ("bncheck: 1 more fix available with --unsafe-fixes", {"err": True})]
    assert "momentum=0.9" in (tmp_path / "m.py").read_text()


def test_a_fix_outside_the_paths_given_fails_and_is_not_counted(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "given").mkdir()
    said: list[str] = []
    findings = _fixable(tmp_path)
    changed, failed = run_fixes(findings, [str(tmp_path / "given")], write=True, unsafe=False,
                                echo=lambda text, **_: said.append(text))
    assert (changed, failed, said[-2:]) == (False, True, [
        "bncheck: fixed 0 findings in 0 files", "bncheck: 1 more fix available with --unsafe-fixes"])


def test_a_finding_fixed_in_two_files_counts_once(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, first, _ = _fixable(tmp_path)
    (tmp_path / "n.py").write_text((tmp_path / "m.py").read_text())
    both = dataclasses.replace(first, edits=first.edits + _moved(first, str(tmp_path / "n.py")).edits)
    said: list[str] = []
    assert run_fixes([both], ["local://" + str(tmp_path)], write=True, unsafe=False,
                     echo=lambda text, **_: said.append(text)) == (True, False)
    assert said == ["bncheck: fixed 1 finding in 2 files"]
    assert "momentum=0.9" in (tmp_path / "n.py").read_text()


NOTEBOOK = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": ["import tensorflow as tf\n", "x = tf.keras.layers.BatchNormalization(momentum=0.1)\n"]}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_the_files_after_a_notebook_are_fixed_whether_its_fix_is_made_or_refused(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps(NOTEBOOK, indent=1))
    _fixable(tmp_path)
    findings = [f.to_finding() for f in check_files([str(notebook), str(tmp_path / "m.py")], jobs=1).findings]
    assert [(f.code, f.path, type(f.edits[0]).__name__) for f in findings] == [
        ("BN007", str(notebook), "CellEdit"), ("BN010", str(tmp_path / "m.py"), "Edit"),
        ("BN007", str(tmp_path / "m.py"), "Edit"), ("BN007", str(tmp_path / "m.py"), "Edit")]
    outcome, _ = plan_fixes(findings)
    assert sorted(outcome.diffs) == [str(tmp_path / "m.py"), str(notebook)]
    notebook.unlink()
    outcome, _ = plan_fixes(findings)
    assert (sorted(outcome.diffs), [p for p, _ in outcome.not_applied]) == ([str(tmp_path / "m.py")], [str(notebook)])
