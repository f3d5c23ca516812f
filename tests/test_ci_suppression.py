"""Issue 20 items 8 and 13: malformed suppression comments are reported, and the docs'
suppression comment survives ``ruff check --fix`` (ruff deletes a ``# noqa: BN007`` it does not
know unless ``lint.external = ["BN"]``)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bncheck.source import check_files
from cli_support import bncheck_in_process
from conftest import ROOT

BN = "layers.BatchNormalization(momentum=0.1)"  # BN007 at column 40 of `x = ...`


@pytest.mark.parametrize("comment, note", [
    ("# bncheck: ignore[BN07]",
     "suppression `# bncheck: ignore[BN07]` names no rule: BN07 (see --list-rules); it silences nothing for that code"),
    ("# bncheck: ignore[BN999]",
     "suppression `# bncheck: ignore[BN999]` names no rule: BN999 (see --list-rules); it silences nothing for that code"),
    ("# noqa: BN999",
     "suppression `# noqa: BN999` names no rule: BN999 (see --list-rules); it silences nothing for that code"),
    ("# bncheck: ignroe[BN007]", "malformed suppression `# bncheck: ignroe[BN007]`: it silences nothing "
                                 "(write `# bncheck: ignore[BN001]` or `# bncheck: ignore`)"),
    ("# bncheck: ignore[BN007", "malformed suppression `# bncheck: ignore[BN007`: it silences nothing "
                                "(write `# bncheck: ignore[BN001]` or `# bncheck: ignore`)"),
])
def test_a_suppression_that_cannot_be_meant_is_a_note_and_silences_nothing(tmp_path, comment, note):
    script = tmp_path / "m.py"
    script.write_text(f"from keras import layers\nx = {BN}  {comment}\n")
    result = check_files([str(script)])
    assert [(f.code, f.loc.line) for f in result.findings] == [("BN007", 2)]
    assert result.notes == [(f"{script}:2", note)]


def test_valid_codes_beside_an_unknown_one_still_apply(tmp_path):
    script = tmp_path / "m.py"
    script.write_text(f"from keras import layers\nx = {BN}  # bncheck: ignore[BN007, BN999]\n")
    result = check_files([str(script)])
    assert result.findings == []
    assert result.notes == [(f"{script}:2", "suppression `# bncheck: ignore[BN007, BN999]` names no rule: BN999 "
                                            "(see --list-rules); it silences nothing for that code")]


def _ruff_fix(folder, *config: str) -> None:
    pytest.importorskip("ruff")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "ALL", "--preview",
                             "--fix", "--exit-zero", *config, "m.py"], cwd=folder, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def _bncheck_findings(path) -> list[str]:
    result = bncheck_in_process(path, "--output-format", "concise", "-q")
    return result.stdout.decode().splitlines()


def test_the_documented_suppression_survives_ruff_fix(tmp_path):
    readme = (ROOT / "docs" / "source-mode.md").read_text()
    assert "with a trailing `# bncheck: ignore[BN001]`" in readme and 'external = ["BN"]' in readme
    line = f"x = {BN}  # bncheck: ignore[BN007]\n"
    (tmp_path / "m.py").write_text(f"from keras import layers\n\n{line}")
    _ruff_fix(tmp_path, "--isolated")
    assert (tmp_path / "m.py").read_text().splitlines()[-1] == line.rstrip("\n")
    assert _bncheck_findings(tmp_path / "m.py") == []


def test_noqa_needs_ruffs_external_setting(tmp_path):
    line = f"x = {BN}  # noqa: BN007"
    (tmp_path / "m.py").write_text(f"from keras import layers\n\n{line}\n")
    _ruff_fix(tmp_path, "--isolated")  # RUF100/RUF102: ruff deletes a code it does not know
    assert (tmp_path / "m.py").read_text().splitlines()[-1] == f"x = {BN}"
    (tmp_path / "m.py").write_text(f"from keras import layers\n\n{line}\n")
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nexternal = ["BN"]\n')
    _ruff_fix(tmp_path)
    assert (tmp_path / "m.py").read_text().splitlines()[-1] == line
    assert _bncheck_findings(tmp_path / "m.py") == []
