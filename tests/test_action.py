"""Issue 20 item 11: the composite GitHub Action, its `run:` scripts executed with bash here.

GitHub itself cannot run here; what can be is: the action's structure (upload-sarif v4, no
setup-python, a pip cache, an upload that cannot fail the job or run for forks) and every shell
step, with the environment GitHub gives it, a recording `pip install` and the real bncheck."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import FIXTURES, ROOT

MOMENTUM = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warning on model/bn1 and model/bn2


@pytest.fixture(scope="module")
def steps():
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return {s["name"]: s for s in action["runs"]["steps"]}


def test_action_structure(steps):
    uses = [s["uses"] for s in steps.values() if "uses" in s]
    assert uses == ["actions/cache@v4", "github/codeql-action/upload-sarif@v4"]  # no setup-python, no v3
    upload = steps["Upload SARIF"]
    assert upload["continue-on-error"] is True
    assert "github.event.pull_request.head.repo.full_name == github.repository" in upload["if"]
    assert "hashFiles(inputs.sarif-file) != ''" in upload["if"]
    assert steps["Cache pip downloads"]["with"]["path"] == "${{ steps.prepare.outputs.pip-cache }}"
    for step in steps.values():  # inputs reach scripts as environment variables only: no injection
        assert "${{" not in step.get("run", ""), step["name"]
    assert steps["Check"]["run"].count("bncheck ") == 1  # one run writes every report


def _script(folder, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _bash(step, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    output = tmp_path / "github_output"
    output.touch()
    full = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_ACTION_PATH": str(ROOT), **env}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], env=full, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _outputs(tmp_path) -> dict[str, str]:
    lines = (tmp_path / "github_output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def shims(tmp_path):
    """`python` whose `-m pip install` only records its arguments; `bncheck` = this tree's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pip.log"
    _script(bin_dir, "python", f'if [ "$1 $2 $3" = "-m pip install" ]; then echo "$@" >> {log}; exit 0; fi\n'
                               f'exec {sys.executable} "$@"\n')
    _script(bin_dir, "bncheck", f'PYTHONPATH={ROOT} exec {sys.executable} -m bncheck "$@"\n')
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def test_shell_steps_run_one_check_that_writes_sarif_and_annotations(steps, shims, tmp_path):
    env, log = shims
    prepare = _bash(steps["Find Python and pip's cache"], env, tmp_path)
    assert prepare.returncode == 0, prepare.stderr
    found = _outputs(tmp_path)
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(found) == {"python", "pip-cache", "deps"}
    assert found["deps"] == hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    assert "steps.prepare.outputs.deps" in steps["Cache pip downloads"]["with"]["key"]
    install = _bash(steps["Install bncheck"], env, tmp_path)
    assert install.returncode == 0 and log.read_text() == f"-m pip install --quiet {ROOT}\n"
    sarif = tmp_path / "out.sarif"
    check = _bash(steps["Check"], {**env, "BNCHECK_PATHS": str(MOMENTUM), "BNCHECK_ARGS": "--fail-on warning",
                                   "BNCHECK_SARIF": str(sarif)}, tmp_path)
    assert check.returncode == 0, check.stderr
    assert _outputs(tmp_path)["exit-code"] == "1"
    assert [line.split("::")[1].split(",")[0] for line in check.stdout.splitlines()] == [
        f"warning file={os.path.relpath(MOMENTUM, ROOT)}"] * 2
    assert [r["ruleId"] for r in json.loads(sarif.read_text())["runs"][0]["results"]] == ["BN007", "BN007"]
    for status in ("0", "1", "2"):
        assert _bash(steps["Fail on findings"], {"BNCHECK_STATUS": status}, tmp_path).returncode == int(status)
    assert _bash(steps["Fail on findings"], {"BNCHECK_STATUS": ""}, tmp_path).returncode == 2  # never a pass


def test_check_step_reports_an_unusable_input_as_exit_2(steps, shims, tmp_path):
    env, _ = shims
    check = _bash(steps["Check"], {**env, "BNCHECK_PATHS": "missing.pb", "BNCHECK_ARGS": "",
                                   "BNCHECK_SARIF": str(tmp_path / "out.sarif")}, tmp_path)
    assert check.returncode == 0 and _outputs(tmp_path)["exit-code"] == "2"
    assert check.stdout == "::error file=missing.pb,title=bncheck could not read this input::no such file or folder\n"


def test_prepare_step_stops_with_an_annotation_without_a_python_3_10(steps, tmp_path):
    bin_dir = tmp_path / "old"
    bin_dir.mkdir()
    _script(bin_dir, "python", "exit 1\n")  # what `python -c 'sys.exit(version < (3, 10))'` says on 3.9
    result = _bash(steps["Find Python and pip's cache"], {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
                   tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("::error title=bncheck::bncheck needs the job's 'python' to be Python 3.10")
