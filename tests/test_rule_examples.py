"""Each rule's own VALID/INVALID examples (real artefacts under fixtures/) are its tests.

Each example is checked in the test's process (``isolate=False``): the 176 checks are of the repo's own
fixtures, whose reading in a worker process is what test_isolation.py tests; a worker forked per
example cost three times the check itself."""
from __future__ import annotations

import pytest

from bncheck.engine import check_paths
from bncheck.rules import RULES
from conftest import FIXTURES

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{'invalid' if example.layers else 'valid'}-{example.fixture}")
    for rule in RULES
    for example in rule.invalid + rule.valid
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_rule_example(rule, example):
    report = check_paths([str(FIXTURES / example.fixture)], select=[rule.code], isolate=False)
    assert not report.errors
    assert sorted(f.layer for f in report) == sorted(example.layers)
    assert {f.code for f in report} <= {rule.code}
    if example.layers:
        expected = example.severity or rule.severity
        assert {f.severity for f in report} == {expected}


def test_every_rule_has_both_kinds_of_example():
    for rule in RULES:
        assert rule.invalid and rule.valid, rule.code


def test_every_fixture_is_an_example_somewhere():
    used = {e.fixture for r in RULES for e in r.invalid + r.valid}
    on_disk = {f"{g}/{p.name}" for g in ("tf1", "keras3", "tfkeras") for p in (FIXTURES / g).iterdir()}
    # covered by their own tests (test_findings_on_fixtures.py, test_tf2_keras.py)
    assert on_disk - used == {"tf1/slim_resnet_v1_50_without_updates.meta"}
