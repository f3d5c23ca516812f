"""The command line: exit status, JSON, selection, bad input."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bncheck.cli import main
from cli_support import bncheck_in_process
from conftest import FIXTURES

TF1 = FIXTURES / "tf1"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_clean_input_exits_0():
    result = run(TF1 / "layers_resource_update_ops_wired.meta")
    assert result.exit_code == 0, result.output
    assert "no batch-norm problems found" in result.output


def test_error_findings_exit_1():
    result = run(TF1 / "layers_resource_update_ops_too_early.meta")
    assert result.exit_code == 1
    assert "BN001" in result.output and "model/bn1" in result.output and "model/bn2" in result.output


def test_warnings_exit_0_unless_fail_on_warning():
    path = TF1 / "layers_momentum_0.1.meta"
    assert run(path).exit_code == 0
    assert run(path, "--fail-on", "warning").exit_code == 1


def test_json_output_schema():
    result = run("--format", "json", TF1 / "saved_model_slim_is_training_true")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert set(data) == {"tool", "version", "schema_version", "findings", "errors", "checked", "notes"}
    pairs = {(f["code"], f["layer"]) for f in data["findings"]}
    assert pairs == {("BN002", "net/conv1/BatchNorm"), ("BN002", "net/conv2/BatchNorm"),
                     ("BN003", "net/conv1/BatchNorm"), ("BN003", "net/conv2/BatchNorm")}
    for f in data["findings"]:
        assert {"code", "severity", "layer", "message", "path", "evidence", "fix"} <= set(f)
        assert f["path"] == str(TF1 / "saved_model_slim_is_training_true")
        assert f["severity"] == "error"
    assert data["errors"] == []


def test_select_and_ignore_by_prefix():
    path = TF1 / "handwritten_decay_1e-5_unwired.meta"
    codes = lambda res: {f["code"] for f in json.loads(res.output)["findings"]}  # noqa: E731
    assert codes(run("--format", "json", path)) == {"BN001", "BN007"}
    assert codes(run("--format", "json", "--select", "BN007", path)) == {"BN007"}
    assert codes(run("--format", "json", "--ignore", "BN00", path)) == set()
    assert codes(run("--format", "json", "--select", "BN0", "--ignore", "BN001", path)) == {"BN007"}
    assert run("--ignore", "BN001", path).exit_code == 0


def test_train_op_and_output_options():
    path = TF1 / "layers_train_and_eval_graph.meta"
    result = run("--format", "json", "--serve-output", "model/logits/BiasAdd", "--select", "BN002", path)
    assert {f["layer"] for f in json.loads(result.output)["findings"]} == {"model/bn1", "model/bn2"}
    result = run("--format", "json", "--train-op", "model/logits/BiasAdd", "--select", "BN001", path)
    assert {f["layer"] for f in json.loads(result.output)["findings"]} == {"model/bn1", "model/bn2"}


@pytest.mark.parametrize("make", ["missing", "truncated", "garbage", "empty", "text_garbage", "bad_checkpoint"])
def test_bad_input_is_one_line_exit_2_and_others_still_checked(tmp_path, make):
    good = TF1 / "layers_resource_update_ops_too_early.meta"
    bad = tmp_path / "model.pb"
    if make == "truncated":
        bad = tmp_path / "model.meta"
        bad.write_bytes(good.read_bytes()[:5000])
    elif make == "garbage":
        bad.write_bytes(bytes(range(256)) * 8)
    elif make == "empty":
        bad.write_bytes(b"")
    elif make == "text_garbage":
        bad = tmp_path / "graph.pbtxt"
        bad.write_text('node { name: "x" op: "Const" attr { key: "value" value { bogus: 1 } } }')
    elif make == "bad_checkpoint":
        bad = tmp_path / "ckpt"
        bad.mkdir()
        (bad / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-9"\n')
    # the real command for one kind (a traceback would come from the interpreter), this process for the rest
    if make == "garbage":
        proc = subprocess.run([sys.executable, "-m", "bncheck", "--format", "json", str(bad), str(good)],
                              capture_output=True)
    else:
        proc = bncheck_in_process("--format", "json", bad, good)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    err_lines = stderr.strip().splitlines()
    assert len(err_lines) == 1 and str(bad) in err_lines[0] and "Traceback" not in stderr
    data = json.loads(proc.stdout)
    assert [e["path"] for e in data["errors"]] == [str(bad)]
    assert {(f["code"], f["layer"]) for f in data["findings"]} == {("BN001", "model/bn1"), ("BN001", "model/bn2")}


def test_content_not_name_decides_the_format(tmp_path):
    renamed = tmp_path / "graph.bin"
    shutil.copy(TF1 / "layers_ref_no_control_deps.meta", renamed)  # a MetaGraph without its suffix
    result = run("--format", "json", renamed)
    assert {f["layer"] for f in json.loads(result.output)["findings"]} == {"model/bn1", "model/bn2"}
    saved = tmp_path / "exported.pb"
    shutil.copy(TF1 / "saved_model_slim_is_training_true" / "saved_model.pb", saved)  # a SavedModel as .pb
    result = run("--format", "json", "--select", "BN003", saved)
    assert {f["layer"] for f in json.loads(result.output)["findings"]} == {"net/conv1/BatchNorm", "net/conv2/BatchNorm"}


def test_explain_prints_bad_and_good():
    result = run("--explain", "bn001")
    assert result.exit_code == 0
    assert result.output.startswith("BN001 update-not-run (error)")
    assert "Bad:" in result.output and "Good:" in result.output and "control_dependencies" in result.output
    assert run("--explain", "BN999").exit_code == 2


def test_list_rules_matches_catalogue():
    result = run("--list-rules")
    for code in ("BN001", "BN002", "BN003", "BN004", "BN007"):
        assert code in result.output


def test_no_paths_is_a_usage_error():
    assert run().exit_code == 2
