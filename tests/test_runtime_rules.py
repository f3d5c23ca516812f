"""The runtime's rule list for the catalogue: real codes, runnable-looking examples, and every code
the runtime can report listed."""
from __future__ import annotations

import ast
import pathlib

from bncheck.rules import by_code
from bncheck.runtime.rules import RUNTIME_RULES

RUNTIME = pathlib.Path(__file__).resolve().parents[1] / "bncheck" / "runtime"


def _codes_reported_by_judge() -> set[str]:
    trees = [ast.parse((RUNTIME / name).read_text()) for name in ("judge.py", "gap.py")]
    return {call.args[0].value for tree in trees for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "finding"
            and call.args and isinstance(call.args[0], ast.Constant)}


def test_every_code_the_runtime_reports_is_listed_once():
    codes = [rule.code for rule in RUNTIME_RULES]
    assert codes == ["BN001", "BN002", "BN003", "BN005", "BN007", "BN009"]
    assert set(codes) == _codes_reported_by_judge()
    assert all(by_code(code) is not None for code in codes)


def test_examples_parse_and_differ():
    for rule in RUNTIME_RULES:
        ast.parse(rule.bad)
        ast.parse(rule.good)
        assert rule.bad.strip() != rule.good.strip(), rule.code
        assert "bncheck.runtime." in rule.bad and "bncheck.runtime." in rule.good, rule.code
        assert rule.how, rule.code
