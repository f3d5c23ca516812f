"""``.py`` programs are jobs of the engine's worker pool: the same deadline, memory limit and selection
as artefacts; findings carry their fix edits, which --fix/--diff apply (issue 18, one engine)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
from click.testing import CliRunner

import bncheck
import bncheck.source
import bncheck.source.fixer
from bncheck.cli import main
from bncheck.source.edits import Edit
from bncheck.source.model import Loc
from conftest import FIXTURES

SOURCE = FIXTURES / "source"
MOMENTUM_PY = SOURCE / "keras_momentum_pytorch.py"  # BN007 at 7:50 (momentum=0.1), a safe fix
BIAS = SOURCE / "keras_conv_bias_before_bn.py"  # BN010 at 6:5 and 9:5


def _misbehaving_program(real):
    def check_program(files, root, selections, followed=()):
        name = os.path.basename(files[0][0])
        if name.startswith("hang"):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:  # a walk that never ends (the generated 20,000-layer script ran 533 s)
                time.sleep(0.05)
        if name.startswith("huge"):
            return [bytearray(6 << 30)]
        return real(files, root, selections, followed)
    return check_program


@pytest.fixture
def programs(tmp_path, monkeypatch):
    """hang_a.py imports hang_b.py (one program that never finishes), huge.py allocates 6 GiB,
    bias.py is fine; forked workers inherit the patch."""
    monkeypatch.setattr("bncheck.isolation.can_fork", lambda: True)
    monkeypatch.setattr(bncheck.source, "check_program", _misbehaving_program(bncheck.source.check_program))
    (tmp_path / "hang_a.py").write_text("import hang_b\nimport tensorflow as tf\nx = tf.keras.layers.BatchNormalization()\n")
    (tmp_path / "hang_b.py").write_text("import tensorflow as tf\ny = tf.keras.layers.BatchNormalization()\n")
    shutil.copy(MOMENTUM_PY, tmp_path / "huge.py")
    shutil.copy(BIAS, tmp_path / "bias.py")
    return tmp_path


def test_a_program_that_never_finishes_is_given_up_at_the_deadline(programs):
    result = CliRunner().invoke(main, ["--isolated", "--timeout", "1.5", "--jobs", "2", "--output-format", "json",
                                       str(programs / "hang_a.py"), str(programs / "hang_b.py"),
                                       str(programs / "bias.py")])
    assert result.exit_code == 2
    together = "gave up after 1.5 s (checked together with the 1 other file(s) it imports or is imported by)"
    assert result.stderr.splitlines() == [f"bncheck: error: {programs / 'hang_a.py'}: {together}",
                                          f"bncheck: error: {programs / 'hang_b.py'}: {together}"]
    data = json.loads(result.stdout)
    assert data["checked"] == [str(programs / "bias.py")]
    assert sorted((f["code"], f["line"]) for f in data["findings"]) == [("BN010", 6), ("BN010", 9)]


def test_a_program_past_the_memory_limit_is_an_error_and_the_rest_is_checked(programs):
    report = bncheck.check_path([str(programs / "huge.py"), str(programs / "bias.py")], memory_mb=3072, jobs=1)
    assert [(e.source, e.reason) for e in report.errors] == [
        (str(programs / "huge.py"), "ran out of memory (limit: 3072 MiB)")]
    assert sorted((f.code, f.line) for f in report.findings) == [("BN010", 6), ("BN010", 9)]


def test_files_that_import_each_other_are_one_job(tmp_path):
    (tmp_path / "nets.py").write_text("import tensorflow as tf\ndef block(x):\n    return tf.keras.layers.BatchNormalization()(x)\n")
    (tmp_path / "train.py").write_text("import nets\nimport tensorflow as tf\ny = nets.block(tf.zeros([1]))\n"
                                     "train_op = tf.compat.v1.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n")
    (tmp_path / "other.py").write_text("import tensorflow as tf\nz = tf.keras.layers.BatchNormalization()\n")
    (tmp_path / "notes.py").write_text("print('no rule reads this')\n")
    groups, root, errors, unparsed, followed, notes = bncheck.source.plan(
        [str(tmp_path / n) for n in ("nets.py", "train.py", "other.py", "notes.py")])
    assert [[os.path.basename(p) for p, _ in g] for g in groups] == [["nets.py", "train.py"], ["other.py"]]
    assert (root, errors, unparsed, followed, notes) == (str(tmp_path), [], [str(tmp_path / "notes.py")], frozenset(), [])


def test_findings_carry_their_fix_edits():
    report = bncheck.check_path(str(MOMENTUM_PY))
    assert [(f.code, f.line, f.column, f.edits) for f in report.findings] == [
        ("BN007", 7, 50, (Edit(Loc(str(MOMENTUM_PY), 7, 50, 7, 53), "0.9", safe=True),))]
    assert "edits" not in report.findings[0].to_dict()


def test_fix_applies_the_engines_findings_only(tmp_path, monkeypatch):
    """Per-path settings, exclude and suppressions decide what is fixed, as they decide what is reported."""
    shutil.copy(MOMENTUM_PY, tmp_path / "legacy.py")
    shutil.copy(MOMENTUM_PY, tmp_path / "ported.py")
    config = tmp_path / "bncheck.toml"
    config.write_text('[per-path."*/legacy.py"]\nignore = ["BN007"]\n')
    written: list[str] = []
    real_write = bncheck.source.fixer.write_fixed
    monkeypatch.setattr(bncheck.source.fixer, "write_fixed",
                        lambda p, t, roots: (written.append(p), real_write(p, t, roots)))
    result = CliRunner().invoke(main, ["--config", str(config), "--fix", "--output-format", "json", str(tmp_path)])
    assert written == [str(tmp_path / "ported.py")]  # legacy.py was fixed too: the fixer checked files again
    assert "momentum=0.1," in (tmp_path / "legacy.py").read_text()
    assert "momentum=0.9," in (tmp_path / "ported.py").read_text()
    assert result.exit_code == 0 and json.loads(result.stdout)["findings"] == []
    assert "bncheck: fixed 1 finding in 1 file" in result.stderr


@pytest.mark.parametrize("in_process", ["0", "1"])
def test_checking_py_files_never_imports_numpy_or_the_graph_analysis(in_process):
    """Source mode's jobs warm and run without the artefact rules (0.1-0.2 s of imports per process)."""
    import subprocess
    import sys

    code = ("import sys\nfrom bncheck.engine import check_paths\n"
            f"report = check_paths([{str(MOMENTUM_PY)!r}], jobs=1)\n"
            "print([f.code for f in report.findings], "
            "sorted(m for m in sys.modules if m.startswith(('numpy', 'bncheck.graph', 'bncheck.rules.registry'))))")
    env = {**os.environ, "BNCHECK_IN_PROCESS": in_process}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "['BN007'] []"


def test_the_engine_follows_a_given_files_imports_into_unchanged_modules():
    """pre-commit names only the changed train.py: its minimize helper in the unchanged ops.py is
    followed, the finding is at train.py's call, and ops.py is neither checked nor reported."""
    folder = SOURCE / "unchanged_helper_module"
    report = bncheck.check_path(str(folder / "train.py"), select=["BN001"])
    assert [(f.code, f.path, f.line, f.layer) for f in report.findings] == [
        ("BN001", str(folder / "train.py"), 12, "block1/bn")]
    assert dict(report.findings[0].evidence)["in imported code"].startswith(str(folder / "ops.py") + ":")
    assert report.checked == [str(folder / "train.py")] and report.errors == []
