"""Reading model files never imports TensorFlow or Keras, and never runs a graph."""
from __future__ import annotations

import subprocess
import sys

from conftest import FIXTURES, ROOT

CODE = """
import sys, bncheck
report = bncheck.check_path(sys.argv[1])
assert not report.errors, report.errors
assert len(report.findings) > 50, len(report.findings)
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow', 'keras', 'tf_keras', 'tf_slim', 'torch'})
print(loaded)
"""


def test_checking_every_fixture_imports_no_tensorflow():
    proc = subprocess.run([sys.executable, "-c", CODE, str(FIXTURES)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cli_imports_no_tensorflow():
    # main(), not run(): the command's run() ends the process with os._exit, before any check here
    code = ("import sys; sys.argv=['bncheck', '--format', 'json', sys.argv[1]]\n"
            "from bncheck.cli import main\ntry: main()\nexcept SystemExit: pass\n"
            "print([m for m in sys.modules if m.split('.')[0] in {'tensorflow','keras','tf_keras'}], file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "tf1")], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def _tensorflow_modules_after(code: str) -> str:
    listed = "print(sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow','keras','tf_keras','tf_slim'}))"
    proc = subprocess.run([sys.executable, "-c", code + listed], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_the_runtime_package_imports_no_tensorflow():
    # the entry points import TensorFlow when used (inside a training process); the package, its
    # rule list and its TF-free parts do not
    assert _tensorflow_modules_after(
        "import bncheck, bncheck.runtime, sys\n"
        "from bncheck.runtime.rules import RUNTIME_RULES\n"
        "import bncheck.runtime.judge, bncheck.runtime.core, bncheck.runtime.keras_watch, bncheck.runtime.watcher\n"
        "import bncheck.runtime.gap\n"
        "dir(bncheck.runtime); bncheck.runtime.watch; bncheck.runtime.BatchNormWarning\n") == "[]"


def test_the_runtime_is_an_attribute_of_bncheck_without_importing_tensorflow():
    assert _tensorflow_modules_after(
        "import bncheck, sys\n"
        "assert 'runtime' in dir(bncheck)\n"
        "assert bncheck.runtime.watch.__module__ == 'bncheck.runtime.watcher'\n"
        "assert bncheck.runtime is sys.modules['bncheck.runtime']\n") == "[]"
