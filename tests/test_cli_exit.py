"""The ``bncheck`` command ends with ``os._exit`` after flushing (no interpreter teardown): the exit
status, every byte of the report and the one-line errors must survive that."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

FIXTURES = ROOT / "fixtures"


def _bncheck(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bncheck", *args], capture_output=True, text=True, timeout=120,
                          **kwargs)


def test_findings_exit_1_with_the_whole_report_written():
    proc = _bncheck("--format", "json", str(FIXTURES / "tf1"))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)  # the whole document reached the pipe
    from bncheck.engine import check_paths

    expected = check_paths([str(FIXTURES / "tf1")], jobs=0, isolate=False)
    assert len(report["findings"]) == len(expected.findings) > 100


def test_clean_input_exits_0_and_unusable_input_exits_2_with_one_line(tmp_path):
    clean = _bncheck(str(FIXTURES / "keras3" / "mobilenet_v2_serving_training_false"))
    assert (clean.returncode, clean.stderr) == (0, "")
    assert clean.stdout.startswith("✓ no batch-norm problems found in 1 input")
    missing = tmp_path / "missing.pb"
    proc = _bncheck(str(missing))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"bncheck: error: {missing}: no such file or folder"]


def test_a_reader_that_stops_early_gets_no_traceback():
    # the JSON report of fixtures/tf1 is over 100 KB: more than a pipe holds, so writing it fails
    proc = subprocess.Popen([sys.executable, "-m", "bncheck", "--format", "json", str(FIXTURES / "tf1")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)
    proc.stdout.close()  # like `bncheck ... | head -c 1`
    err = proc.stderr.read().decode()
    assert (proc.wait(timeout=120), err) == (1, "")


def test_a_string_exit_is_printed_and_exits_1():
    code = ("import bncheck.cli as cli\n"
            "def main():\n    raise SystemExit('bncheck: stopped')\n"
            "cli.main = main\ncli.run()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (1, "bncheck: stopped\n")
