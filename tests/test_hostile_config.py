"""Config and baseline files from the scanned repository are hostile (issue 19 items 5 and 6): regular
files only, a size cap, typed validation, no recursion blow-up, and one escaped line naming the file."""
from __future__ import annotations

import json
import os
import pathlib

import pytest
from click.testing import CliRunner

import bncheck.baseline
from bncheck.cli import main
from conftest import FIXTURES

MOMENTUM = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warnings on model/bn1, model/bn2


def _run(cwd: pathlib.Path, *args: str):  # type: ignore[no-untyped-def]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(MOMENTUM), "-q", *args])
    finally:
        os.chdir(old)


def _one_error(result, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {expected}\n"


@pytest.mark.parametrize("text, reason", [
    (b'tool = "bncheck"\n', "tool must be a table ([tool.bncheck])"),
    (b'[tool.bncheck]\nselect = ["\xff"]\n', "not UTF-8 text (byte 26)"),
    (b"[tool.bncheck]\nselect = " + b"[" * 200_000 + b"]" * 200_000 + b"\n",
     "not valid TOML (arrays or tables nested too deeply)"),
    (b'[tool.bncheck]\nselect = ["BN\\u0000\\nbncheck: error: forged"]\n',
     "select: 'BN\\x00\\nBNCHECK: ERROR: FORGED' is not a rule code"),
    (b'[tool.bncheck.per-path."*"]\nselect = ["BN07"]\n',
     "per-path.'*'.select BN07 matches no rule (known: BN001, BN002, BN003, BN004, BN005, BN006, BN007, BN008, "
     "BN009, BN010, BN011, ALL)"),
    (b'[tool.bncheck.per-path."*"]\nignore = ["BN07"]\n', "per-path.'*'.ignore BN07 matches no rule (known: "
     "BN001, BN002, BN003, BN004, BN005, BN006, BN007, BN008, BN009, BN010, BN011, ALL)"),
    (b'[[tool.bncheck.suppress]]\ncode = "BN007\\n"\nreason = "x"\n', "suppress #1: 'BN007\\n' is not a rule code"),
    (b"[tool.bncheck]\nignore = '" + b"x" * (1 << 20) + b"'\n",
     "cannot read the config file (a config file of 1048603 bytes is larger than the 1 MiB bncheck reads)"),
])
def test_a_hostile_pyproject_is_one_line_and_exit_2(tmp_path: pathlib.Path, text: bytes, reason: str) -> None:
    (tmp_path / "pyproject.toml").write_bytes(text)
    _one_error(_run(tmp_path), f"{tmp_path / 'pyproject.toml'}: {reason}")


def test_a_select_from_the_command_line_cannot_forge_a_line(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "--select", "BN\nbncheck: error: forged")
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if "FORGED" in line.upper()] == [
        "Error: --select BN\\nBNCHECK: ERROR: FORGED matches no rule (known: BN001, BN002, BN003, BN004, BN005, "
        "BN006, BN007, BN008, BN009, BN010, BN011, ALL)"]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_config_that_is_no_regular_file_is_refused_without_reading(tmp_path: pathlib.Path, target: str) -> None:
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
        target = str(tmp_path / "fifo")
    _one_error(_run(tmp_path, "--config", target), f"{target}: cannot read the config file (not a regular file)")


def _baseline_error(tmp_path: pathlib.Path, name: str, reason: str) -> None:
    _one_error(_run(tmp_path, "--baseline", name), f"{name}: {reason}")


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_baseline_that_is_no_regular_file_is_refused_without_reading(tmp_path: pathlib.Path, kind: str) -> None:
    if kind == "zero":
        (tmp_path / "baseline.json").symlink_to("/dev/zero")
    else:
        os.mkfifo(tmp_path / "baseline.json")
    _baseline_error(tmp_path, "baseline.json", "cannot read the baseline (not a regular file)")


def test_a_deeply_nested_baseline_is_refused_before_parsing(tmp_path: pathlib.Path) -> None:
    (tmp_path / "b.json").write_text("[" * 200_000 + "]" * 200_000)
    _baseline_error(tmp_path, "b.json", "not a bncheck baseline (JSON nested deeper than 100 levels)")


def test_a_baseline_over_the_size_cap_is_refused_before_reading(tmp_path: pathlib.Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bncheck.baseline, "MAX_BASELINE_BYTES", 1 << 20)
    with open(tmp_path / "b.json", "wb") as fh:
        fh.truncate((1 << 20) + 1)
    _baseline_error(tmp_path, "b.json", f"cannot read the baseline (a baseline of {(1 << 20) + 1} bytes is larger than "
                    "the 1 MiB bncheck reads)")


@pytest.mark.parametrize("document, reason", [
    ({"findings": [{"path": 3, "fingerprint": "x"}]}, "finding #1"),
    ({"findings": [{"path": "m.meta", "fingerprint": "x"}, "entry"]}, "finding #2"),
    ({"findings": [{"path": "m.meta", "fingerprint": "x", "layer": ["l"]}]}, "finding #1"),
    ({"findings": [{"path": "", "fingerprint": "x"}]}, "finding #1"),
    ({"findings": {}}, None),
    ({"tool": "bandit", "findings": []}, 'not a bncheck baseline (tool is not "bncheck")'),
    ({"baseline_version": True, "findings": []}, "baseline_version must be 1 or 2"),
    ({"baseline_version": 9, "findings": []}, "baseline_version must be 1 or 2"),
])
def test_every_baseline_entry_is_typed(tmp_path: pathlib.Path, document: object, reason: str | None) -> None:
    (tmp_path / "b.json").write_text(json.dumps(document))
    if reason is None:
        reason = "not a bncheck baseline (no findings list)"
    elif reason.startswith("finding #"):
        reason += " must have a path and a fingerprint, and strings for path, code, graph, layer, fingerprint"
    _baseline_error(tmp_path, "b.json", reason)


def test_a_baseline_that_cannot_be_written_is_one_line(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "--generate-baseline", "missing/b.json")
    _one_error(result, "missing/b.json: cannot write the baseline (No such file or directory)")


def test_a_generated_baseline_replaces_the_old_one_whole(tmp_path: pathlib.Path) -> None:
    (tmp_path / "b.json").write_text("old")
    (tmp_path / "b.json").chmod(0o640)
    assert _run(tmp_path, "--generate-baseline", "b.json").stderr == "bncheck: recorded 2 findings in b.json\n"
    assert len(json.loads((tmp_path / "b.json").read_text())["findings"]) == 2
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]
