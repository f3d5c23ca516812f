"""A baseline matches the same from any working directory (issue 20 item 4): paths are stored relative
to the baseline file's folder."""
from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest
from click.testing import CliRunner

from bncheck.cli import main
from conftest import FIXTURES

MOMENTUM = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warnings on model/bn1, model/bn2
FIXED = FIXTURES / "tf1" / "layers_resource_update_ops_wired.meta"  # clean


def _run(cwd: pathlib.Path, *args: str):  # type: ignore[no-untyped-def]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "models" / "deep").mkdir(parents=True)
    shutil.copy(MOMENTUM, tmp_path / "models" / "momentum.meta")
    shutil.copy(MOMENTUM, tmp_path / "models" / "deep" / "other.meta")
    return tmp_path


def test_paths_are_stored_relative_to_the_baseline_file(repo: pathlib.Path) -> None:
    (repo / ".ci").mkdir()
    generated = _run(repo / "models", ".", "--generate-baseline", "../.ci/baseline.json")
    assert generated.stderr == "bncheck: recorded 4 findings in ../.ci/baseline.json\n"
    document = json.loads((repo / ".ci" / "baseline.json").read_text())
    assert document["baseline_version"] == 2
    assert sorted({e["path"] for e in document["findings"]}) == ["../models/deep/other.meta",
                                                                 "../models/momentum.meta"]


@pytest.mark.parametrize("where", [".", "models", "models/deep"])
def test_a_baseline_matches_from_any_working_directory(repo: pathlib.Path, where: str) -> None:
    _run(repo, "models", "--generate-baseline", "baseline.json")
    cwd = repo / where
    target = os.path.relpath(repo / "models", cwd)
    used = _run(cwd, target, "--baseline", os.path.relpath(repo / "baseline.json", cwd), "--output-format",
                "concise", "--fail-on", "warning")
    assert used.exit_code == 0, used.stdout
    assert used.stdout.splitlines()[-1] == "no batch-norm problems found in 2 inputs; 4 suppressed (4 by baseline.json)"
    assert used.stderr == ""


def test_a_fixed_model_is_reported_as_no_longer_found_from_another_folder(repo: pathlib.Path) -> None:
    _run(repo, "models", "--generate-baseline", "baseline.json")
    shutil.copy(FIXED, repo / "models" / "deep" / "other.meta")
    used = _run(repo / "models" / "deep", "other.meta", "--baseline", "../../baseline.json")
    assert used.exit_code == 0
    assert used.stderr == ("bncheck: warning: baseline.json: 2 recorded findings no longer found "
                           "(regenerate it with --generate-baseline)\n")


def test_a_version_1_baseline_still_reads_its_paths_from_the_working_directory(repo: pathlib.Path) -> None:
    _run(repo, "models", "--generate-baseline", "baseline.json")
    document = json.loads((repo / "baseline.json").read_text())
    document["baseline_version"] = 1
    (repo / "models" / "v1.json").write_text(json.dumps(document))
    used = _run(repo, "models", "--baseline", "models/v1.json", "--output-format", "concise")
    assert used.stdout.splitlines()[-1] == "no batch-norm problems found in 2 inputs; 4 suppressed (4 by v1.json)"
