"""The README's rule table and quick start, and the docs' rule index, agree with bncheck itself."""
from __future__ import annotations

import re

from conftest import ROOT

from bncheck.rules import RULES

README = (ROOT / "README.md").read_text()


def test_rule_table_matches_the_catalogue():
    from bncheck.catalogue import markdown_table

    table = README.split("## Rules\n\n", 1)[1].split("\n\n", 1)[0]
    assert table == markdown_table()


def test_the_docs_rule_index_links_every_rule_of_the_catalogue():
    from bncheck.catalogue import markdown_table

    index = (ROOT / "docs" / "rules" / "index.md").read_text()
    table = "| Code |" + index.split("\n| Code |", 1)[1].split("\n\n", 1)[0]
    linked = re.sub(r"^\| \[(BN\d{3})\]\(\1\.md\) \|", r"| \1 |", table, flags=re.MULTILINE)
    assert linked == markdown_table() and linked != table


def test_quick_start_is_two_commands_and_ci_runs_the_same_test_command():
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ['pip install . && bncheck fixtures/tf1', 'pip install -e ".[test]" && python -m pytest -n auto']
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_every_rule_explains_itself_with_bad_and_good_code():
    from bncheck.catalogue import entry

    for rule in RULES:
        text = entry(rule.code).explain()  # type: ignore[union-attr]
        analyses = entry(rule.code).analyses
        only = ", artefact mode only" if analyses == ("artefact",) else ""
        assert text.startswith(f"{rule.code} {rule.name} ({rule.severity}{only})\n")
        assert "Bad:" in text and "Good:" in text and rule.__doc__
