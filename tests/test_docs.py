"""The README's rule table and quick start agree with bncheck itself."""
from __future__ import annotations

import re

from bncheck.rules import RESERVED, RULES
from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_rule_table_matches_the_catalogue():
    rows = {m.group(1): (m.group(2), m.group(3)) for m in
            re.finditer(r"^\| (BN\d{3}) \| ([a-z0-9-]+) \| ([a-z-]+) \|", README, re.M)}
    from bncheck.source.rules import SOURCE_ONLY_CODES, source_only

    expected = {r.code: (r.name, str(r.severity)) for r in RULES}
    expected.update({r.code: (r.name, str(r.severity)) for r in map(source_only, SOURCE_ONLY_CODES) if r})
    expected.update({code: (name, "-") for code, name in RESERVED.items()})
    assert rows == expected


def test_quick_start_is_two_commands_and_ci_runs_the_same_test_command():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ['pip install . && bncheck fixtures/tf1', 'pip install -e ".[test]" && python -m pytest -n auto']
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_every_rule_explains_itself_with_bad_and_good_code():
    for rule in RULES:
        text = rule.explain()
        assert text.startswith(f"{rule.code} {rule.name} ({rule.severity})")
        assert "Bad:" in text and "Good:" in text and rule.__doc__
