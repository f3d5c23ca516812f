"""Source mode through the CLI: path:line:col in JSON, folders of .py files, --diff / --fix / --unsafe-fixes."""
from __future__ import annotations

import ast
import json
import shutil

from click.testing import CliRunner

from bncheck.cli import main
from bncheck.source import check_files
from conftest import FIXTURES

SOURCE = FIXTURES / "source"


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_json_has_line_and_column() -> None:
    result = _run(str(SOURCE / "tf1_layers_update_ops_too_early.py"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    got = sorted((f["code"], f["layer"], f["line"], f["column"], f["graph"]) for f in data["findings"])
    assert got == [("BN001", "model/bn1", 22, 18, "source"), ("BN001", "model/bn2", 22, 18, "source")]
    assert data["checked"] == [str(SOURCE / "tf1_layers_update_ops_too_early.py")]


def test_folder_of_py_files_is_one_program() -> None:
    result = _run(str(SOURCE / "project_helpers"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert {(f["code"], f["path"].rsplit("/", 1)[-1], f["line"]) for f in data["findings"]} == {
        ("BN001", "train.py", 18)}
    assert len(data["checked"]) == 3


def test_clean_twin_exits_zero() -> None:
    assert _run(str(SOURCE / "project_helpers_fixed")).exit_code == 0


def test_syntax_error_is_one_line_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """(A file that mentions nothing the rules read is not parsed at all: the cheap text filter.)"""
    bad = tmp_path / "broken.py"
    bad.write_text("import tensorflow as tf\nh = tf.layers.batch_normalization(x, training=True\n")
    good = tmp_path / "train.py"
    shutil.copyfile(SOURCE / "keras_momentum_pytorch.py", good)
    result = _run(str(bad), str(good), "--format", "json")
    assert result.exit_code == 2
    assert "broken.py: not valid Python" in result.stderr
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["BN007"]


def test_diff_shows_the_safe_fix_and_changes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    shutil.copyfile(SOURCE / "keras_momentum_pytorch.py", script)
    before = script.read_text()
    result = _run("--diff", str(script))
    assert result.exit_code == 1
    assert "-        keras.layers.BatchNormalization(momentum=0.1, epsilon=1e-5, name=\"bn1\"),\n" in result.stdout
    assert "+        keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=\"bn1\"),\n" in result.stdout
    assert script.read_text() == before
    assert _run("--diff", str(SOURCE / "keras_momentum_pytorch_fixed.py")).exit_code == 0


def test_fix_applies_safe_fixes_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "train.py"
    shutil.copyfile(SOURCE / "tf1_compat_layers_no_control_deps.py", script)
    result = _run("--fix", str(script), "--format", "json")
    assert "1 more fix available with --unsafe-fixes" in result.stderr or "more fixes available" in result.stderr
    assert "BN_MOMENTUM = 0.9\n" in script.read_text()
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} == {"BN001"}  # the unsafe one is left
    assert result.exit_code == 1


def test_unsafe_fixes_leave_valid_code_without_findings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    names = ["tf1_compat_layers_no_control_deps.py", "custom_loop_gradient_tape.py", "keras_conv_bias_before_bn.py",
             "tf1_layers_update_ops_too_early.py", "keras_serving_signature_training_true.py",
             "keras_subclassed_call_training_true.py", "keras_functional_training_true.py",
             "keras_train_step_override.py"]
    for name in names:
        shutil.copyfile(SOURCE / name, tmp_path / name)
    result = _run("--fix", "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == 0, result.stdout
    for name in names:
        ast.parse((tmp_path / name).read_text())
    assert check_files(sorted(str(p) for p in tmp_path.glob("*.py"))).findings == []
    text = (tmp_path / "tf1_compat_layers_no_control_deps.py").read_text()
    assert ("    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
            "        train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(loss, global_step=global_step)\n") in text
    assert "        logits = model(images, training=True)\n" in (tmp_path / "custom_loop_gradient_tape.py").read_text()


def test_concise_github_and_sarif_carry_line_and_column() -> None:
    script = str(SOURCE / "keras_momentum_pytorch.py")
    concise = _run("--output-format", "concise", script).stdout.splitlines()
    assert concise[0] == (f"{script}:7:50: BN007 warning momentum-out-of-range: bn1: "
                          "momentum=0.1: the moving average is essentially the last batch")
    github = _run("--output-format", "github", script).stdout
    assert ",line=7,col=50," in github
    sarif = json.loads(_run("--output-format", "sarif", script).stdout)
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 7, "startColumn": 50}


def test_pre_commit_hook_runs_source_mode_on_python_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from conftest import ROOT

    hook = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: bncheck-source" in hook and "types_or: [python, jupyter]" in hook and "require_serial: true" in hook
    entry = next(line.split(":", 1)[1].split() for line in hook.splitlines() if line.strip().startswith("entry:"))
    assert entry[0] == "bncheck"
    for name in ("tf1_layers_update_ops_too_early.py", "keras_momentum_pytorch_fixed.py"):
        shutil.copyfile(SOURCE / name, tmp_path / name)
    staged = sorted(str(p) for p in tmp_path.glob("*.py"))
    out = subprocess.run([sys.executable, "-m", "bncheck", *entry[1:], *staged], capture_output=True, text=True)
    assert out.returncode == 1
    assert [l.split(": ")[0] for l in out.stdout.splitlines()[:2]] == [
        f"{tmp_path}/tf1_layers_update_ops_too_early.py:22:18"] * 2


def test_source_only_codes_can_be_selected_and_explained() -> None:
    script = str(SOURCE / "keras_conv_bias_before_bn.py")
    selected = _run("--select", "BN010", "--format", "json", script)
    assert selected.exit_code == 0  # info: below --fail-on error
    assert [f["code"] for f in json.loads(selected.stdout)["findings"]] == ["BN010", "BN010"]
    ignored = _run("--ignore", "BN010", "--format", "json", script)
    assert json.loads(ignored.stdout)["findings"] == []
    explained = _run("--explain", "BN011")
    assert explained.exit_code == 0
    assert explained.stdout.startswith("BN011 dropout-before-bn (warning, source mode only)")
    assert "Bad:" in explained.stdout and "Good:" in explained.stdout


def test_python_api_checks_source_and_artefacts_together() -> None:
    import bncheck

    report = bncheck.check_path([str(SOURCE / "tf1_layers_update_ops_too_early.py"),
                                 str(SOURCE / "graphs" / "tf1_layers_update_ops_too_early.meta")])
    assert not report.errors
    by_kind = {(f.code, f.layer, f.graph == "source") for f in report.findings}
    assert by_kind == {("BN001", "model/bn1", True), ("BN001", "model/bn2", True),
                       ("BN001", "model/bn1", False), ("BN001", "model/bn2", False)}
    source = [f for f in report.findings if f.graph == "source"]
    assert {(f.line, f.column) for f in source} == {(22, 18)}
    assert report.exit_code() == 1
