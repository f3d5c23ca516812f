"""Issue 10 (part): [tool.bncheck] settings, per-path settings, suppressions with a reason, baselines."""
from __future__ import annotations

import json
import shutil
import textwrap

import pytest
from click.testing import CliRunner

from bncheck.cli import main
from conftest import FIXTURES

TF1 = FIXTURES / "tf1"
MOMENTUM = TF1 / "layers_momentum_0.1.meta"  # BN007 warnings on model/bn1, model/bn2
SAVED = TF1 / "saved_model_slim_is_training_true"  # BN002 + BN003 errors on net/conv1, net/conv2
TRAIN_EVAL = TF1 / "layers_train_and_eval_graph.meta"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A checkout with models/ and a pyproject.toml written by each test; bncheck runs from its root."""
    (tmp_path / "models").mkdir()
    shutil.copy(MOMENTUM, tmp_path / "models" / "momentum.meta")
    shutil.copytree(SAVED, tmp_path / "models" / "export")
    monkeypatch.chdir(tmp_path)

    def write(toml: str) -> None:
        (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n" + textwrap.dedent(toml))
    return write


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def codes(result) -> list[tuple[str, str]]:
    return sorted((f["code"], f["layer"]) for f in json.loads(result.stdout)["findings"])


def test_settings_from_pyproject_and_the_command_line_wins(project):
    project("""
        [tool.bncheck]
        select = ["BN007"]
        fail-on = "warning"
        output-format = "json"
    """)
    result = run("models")
    assert result.exit_code == 1  # fail-on warning from the file
    assert codes(result) == [("BN007", "model/bn1"), ("BN007", "model/bn2")]
    overridden = run("models", "--select", "BN002", "--fail-on", "error", "--output-format", "concise")
    assert overridden.exit_code == 1 and overridden.stdout.splitlines()[-1] == "2 findings in 2 inputs"
    isolated = run("models", "--isolated", "--output-format", "json")
    assert len(codes(isolated)) == 6


def test_show_settings(project):
    project("""
        [tool.bncheck]
        ignore = "BN003"
        extend-exclude = ["**/tmp/*"]
    """)
    shown = json.loads(run("--show-settings").stdout)
    assert shown["config"].endswith("pyproject.toml") and shown["ignore"] == ["BN003"]
    assert shown["exclude"] == ["**/tmp/*"] and shown["fail-on"] == "error" and shown["output-format"] == "full"


@pytest.mark.parametrize("toml, message", [
    ('[tool.bncheck]\nselekt = ["BN001"]\n', "unknown setting 'selekt'"),
    ('[tool.bncheck]\nselect = ["BN999"]\n', "--select in {config} BN999 matches no rule"),
    ('[tool.bncheck]\nfail-on = "fatal"\n', "fail-on must be error, warning or info, not 'fatal'"),
    ('[[tool.bncheck.suppress]]\ncode = "BN007"\n', "suppress #1 needs a reason"),
    ('[tool.bncheck\n', "not valid TOML"),
])
def test_a_bad_config_is_one_line_and_exit_2(project, tmp_path, toml, message):
    project(toml)
    result = run("models")
    assert result.exit_code == 2
    assert message.format(config=tmp_path / "pyproject.toml") in result.stderr or message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 4 and "Traceback" not in result.output


def test_suppressions_need_a_reason_count_in_the_summary_and_stale_ones_are_reported(project):
    project("""
        [[tool.bncheck.suppress]]
        path = "models/momentum.meta"
        code = "BN007"
        reason = "momentum 0.1 kept on purpose"

        [[tool.bncheck.suppress]]
        layer = "net/conv1/*"
        reason = "conv1 is retrained at serving time"

        [[tool.bncheck.suppress]]
        layer = "gone/*"
        reason = "nothing matches this any more"
    """)
    result = run("models", "--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ", 2)[1].split()[0] for line in lines[:-1]] == ["BN002", "BN003"]
    assert all("net/conv2/BatchNorm" in line for line in lines[:-1])
    assert lines[-1] == ("2 findings in 2 inputs; 4 suppressed (2 by pyproject.toml suppress #1, "
                         "2 by pyproject.toml suppress #2); 1 note (--show-notes)")  # notes counted: issue 20 item 7
    assert result.stderr == ("bncheck: warning: pyproject.toml suppress #3: path='*' layer='gone/*' code='*' "
                             "matches no finding\n")


def test_per_path_settings_and_exclude(project, tmp_path):
    shutil.copy(TRAIN_EVAL, tmp_path / "models" / "train_eval.meta")
    project("""
        [tool.bncheck]
        exclude = ["models/export"]
        select = ["BN002"]
        output-format = "json"

        [tool.bncheck.per-path."models/train_eval.meta"]
        serve-output = ["model/logits/BiasAdd"]
    """)
    result = run("models")
    data = json.loads(result.stdout)
    assert sorted(data["checked"]) == ["models/momentum.meta", "models/train_eval.meta"]
    assert codes(result) == [("BN002", "model/bn1"), ("BN002", "model/bn2")]  # as --serve-output gives
    assert {f["path"] for f in data["findings"]} == {"models/train_eval.meta"}
    explicit = run("models/export")  # a path given by name is checked even when excluded in a walk
    assert {f["code"] for f in json.loads(explicit.stdout)["findings"]} == {"BN002"}


def test_baseline_leaves_out_known_findings_and_tells_when_they_are_gone(project, tmp_path):
    project("")
    generated = run("models/momentum.meta", "--generate-baseline", "baseline.json")
    assert generated.stderr == "bncheck: recorded 2 findings in baseline.json\n"
    recorded = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert [(e["path"], e["code"], e["layer"]) for e in recorded] == [
        ("models/momentum.meta", "BN007", "model/bn1"), ("models/momentum.meta", "BN007", "model/bn2")]
    again = run("models", "--baseline", "baseline.json", "--output-format", "concise", "--fail-on", "warning")
    assert again.exit_code == 1
    assert again.stdout.splitlines()[-1] == ("4 findings in 2 inputs; 2 suppressed (2 by baseline.json); "
                                             "1 note (--show-notes)")  # notes counted: issue 20 item 7
    assert "BN007" not in again.stdout
    shutil.copy(TF1 / "layers_resource_update_ops_wired.meta", tmp_path / "models" / "momentum.meta")  # fixed
    fixed = run("models/momentum.meta", "--baseline", "baseline.json")
    assert fixed.exit_code == 0
    assert fixed.stderr == ("bncheck: warning: baseline.json: 2 recorded findings no longer found "
                            "(regenerate it with --generate-baseline)\n")
    (tmp_path / "broken.json").write_text("{")
    broken = run("models", "--baseline", "broken.json")
    assert broken.exit_code == 2 and broken.stderr == "bncheck: error: broken.json: not a bncheck baseline (JSONDecodeError)\n"
