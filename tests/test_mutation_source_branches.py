"""Exact outcomes mutation testing of ``bncheck/source/branches.py`` showed (issue 22, item 5).

The survivors of the run of commit a3fc7a0, each told apart by a direct call of the module's functions
with parsed ``ast`` nodes and the abstract values the walker builds. The two no input tells apart are
in ``tools/mutation_equivalents.md`` ("Files outside rules/").
"""
from __future__ import annotations

import ast
from types import SimpleNamespace

from bncheck.source.branches import ArmEnds, BoundNames, _direct_names, _read, _write
from bncheck.source.model import FuncRef, LayerObj, Loc, ModelObj, TensorVal, Value


def _if(text: str) -> ast.If:
    stmt = ast.parse(text).body[0]
    assert isinstance(stmt, ast.If)
    return stmt


def _layer(name: str) -> LayerObj:
    return LayerObj("bias", "keras", name, Loc("m.py", 1, 0, 1, 1))


def _settle_no_else(name: str, before: Value, after: Value) -> tuple[dict[str, Value], list[str]]:
    """``if c: <name> = ...`` with no else, ``name`` holding ``before`` before it and ``after`` after the arm."""
    stmt = _if(f"if c:\n    {name} = make(b)\n")
    env: dict[str, Value] = {name: before}
    ends = ArmEnds(stmt, env, BoundNames())
    env[name] = after
    ends.arm_done(stmt.body, env)
    ends.arm_done(stmt.orelse, env)
    notes: list[str] = []
    ends.settle(env, notes.append)
    return env, notes


def test_bound_names_of_a_nested_if_reached_twice() -> None:
    """A nested ``if`` already settled when met again is skipped, and the walk goes on to the outer one."""
    outer = _if("if a:\n    if b:\n        x = 1\nelse:\n    y = 2\n")
    inner = outer.body[0]
    assert isinstance(inner, ast.If)
    outer.orelse.append(inner)  # one nested if in both arms
    bound = BoundNames()
    assert bound.of(outer) == frozenset({"x", "y"})
    assert bound.of(inner) == frozenset({"x"})


def test_direct_names_inside_compound_statements() -> None:
    """Loops' bodies and else, try's body, handlers, else and finally are searched; a def's body is not."""
    stmt = _if("if a:\n"
               "    for i in s:\n        b = 1\n    else:\n        c = 2\n"
               "    try:\n        d = 3\n    except E:\n        e = 4\n    else:\n        g = 5\n"
               "    finally:\n        h = 6\n"
               "    def k():\n        m = 7\n")
    names, nested = _direct_names(stmt)
    assert names == {"i", "b", "c", "d", "e", "g", "h"}
    assert nested == []


def test_arm_done_skips_an_arm_that_leaves() -> None:
    stmt = _if("if c:\n    x = y\n    return x\nelse:\n    x = z\n")
    ends = ArmEnds(stmt, {}, BoundNames())
    assert ends.names == ["x"]
    tensor = TensorVal()
    ends.arm_done(stmt.body, {"x": tensor})
    assert ends.ends == []
    ends.arm_done(stmt.orelse, {"x": tensor})
    assert ends.ends == [{"x": tensor}]


def test_settle_one_function_in_every_arm_keeps_the_last_arms_closure() -> None:
    """Both arms bind one function (one option) through different closures: the last arm's stays."""
    func = SimpleNamespace(node=ast.parse("def g(x):\n    return x\n").body[0])
    before, after = FuncRef(func, closure="frame a"), FuncRef(func, closure="frame b")
    env, notes = _settle_no_else("f", before, after)
    assert env == {"f": after}
    assert notes == []


def test_settle_adds_each_other_producer_once() -> None:
    """The other arm's producers join the tensor's alternatives, less those it already has, in order."""
    p1, p2, p3 = _layer("p1"), _layer("p2"), _layer("p3")
    other, final = TensorVal(p2, alternatives=(p1, p3)), TensorVal(p1)
    env, notes = _settle_no_else("x", other, final)
    assert notes == []
    settled = env["x"]
    assert isinstance(settled, TensorVal) and settled is not final
    assert settled.producer is p1
    assert [p.name for p in settled.alternatives] == ["p2", "p3"]


def test_read_attribute_of_what_is_not_a_model() -> None:
    model = ModelObj((), None, None, attrs={"f": TensorVal()})
    assert _read({}, "a.f") is None
    assert _read({"a": TensorVal()}, "a.f") is None
    assert _read({"a": model}, "a.f") is model.attrs["f"]


def test_write_plain_name_replaces_a_model() -> None:
    model = ModelObj((), None, None)
    value = TensorVal()
    env: dict[str, Value] = {"m": model}
    _write(env, "m", value)
    assert env == {"m": value}
    assert model.attrs == {}
