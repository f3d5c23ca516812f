"""Suppression comments on source: `# bncheck: ignore[...]`, `# noqa: BN...`, unused ones reported."""
from __future__ import annotations

from bncheck.source import check_files
from conftest import FIXTURES

SCRIPT = FIXTURES / "source" / "suppressions.py"


def test_comments_silence_their_line_and_unused_ones_are_noted() -> None:
    result = check_files([str(SCRIPT)])
    assert result.findings == []
    assert result.notes == [(f"{SCRIPT}:9", "unused suppression `# bncheck: ignore[BN001]`: no BN001 finding on this line")]


def test_without_the_comments_the_findings_come_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stripped = tmp_path / "suppressions.py"
    stripped.write_text("\n".join(line.split("  #")[0] for line in SCRIPT.read_text().splitlines()) + "\n")
    found = sorted((f.code, f.loc.line) for f in check_files([str(stripped)]).findings)
    assert found == [("BN007", 6), ("BN010", 5)]
    assert check_files([str(stripped)]).notes == []


def test_bare_noqa_silences_and_is_never_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "m.py"
    script.write_text("from keras import layers\nbn = layers.BatchNormalization(momentum=0.1)  # noqa\n"
                      "x = 1  # noqa\n")
    result = check_files([str(script)])
    assert result.findings == [] and result.notes == []


def test_unused_only_for_rules_that_ran(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "m.py"
    script.write_text("from keras import layers\nbn = layers.BatchNormalization()  # bncheck: ignore[BN007]\n")
    assert check_files([str(script)], ignore=["BN007"]).notes == []
    assert len(check_files([str(script)]).notes) == 1
