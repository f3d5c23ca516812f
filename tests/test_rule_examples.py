"""Each rule's own VALID/INVALID examples (real artefacts under fixtures/) are its tests."""
from __future__ import annotations

import pytest

import bncheck
from bncheck.rules import RULES
from conftest import FIXTURES

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{'invalid' if example.layers else 'valid'}-{example.fixture}")
    for rule in RULES
    for example in rule.invalid + rule.valid
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_rule_example(rule, example):
    report = bncheck.check_path(FIXTURES / example.fixture, select=[rule.code])
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
    used = {e.fixture.split("/")[1] for r in RULES for e in r.invalid + r.valid}
    on_disk = {p.name for p in (FIXTURES / "tf1").iterdir()}
    # the ResNet is covered by its own test (test_findings_on_fixtures.py)
    assert on_disk - used == {"slim_resnet_v1_50_without_updates.meta"}
