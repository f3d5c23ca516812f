"""Issue 20 item 14: one TensorFlow in every extra, and a typed package mypy sees after the
README's editable install."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata

import pytest

from conftest import ROOT

TENSORFLOWS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _extras() -> dict[str, list[str]]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


@pytest.mark.parametrize("extra", ["tensorflow", "fixtures", "test"])
def test_an_extra_installs_one_tensorflow_also_through_tf_keras(extra):
    requirements = _extras()[extra]
    names = {_name(r) for r in requirements}
    for package in sorted(names - TENSORFLOWS):  # what an installed dependency requires in turn (tf-keras)
        try:
            names |= {_name(r) for r in metadata.requires(package) or () if "extra ==" not in r}
        except metadata.PackageNotFoundError:
            continue
    assert "tf-keras" not in names or "tensorflow" in names  # tf-keras 2.21: Requires-Dist tensorflow<2.22,>=2.21
    assert len(names & TENSORFLOWS) == 1, sorted(names & TENSORFLOWS)


def test_the_editable_install_is_visible_to_mypy_strict(tmp_path):
    """`pip install -e .` into a fresh environment, then `mypy --strict` on a user's file."""
    pytest.importorskip("mypy")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                              "--no-deps", "-e", str(ROOT)], capture_output=True, text=True, timeout=600)
    if install.returncode and "No matching distribution found for setuptools" in install.stderr:
        pytest.skip("no package index to build the editable wheel with (setuptools>=68)")
    assert install.returncode == 0, install.stderr
    user = tmp_path / "user.py"
    user.write_text("import bncheck\n\n\ndef count(path: str) -> int:\n"
                    "    report: bncheck.Report = bncheck.check_path(path)\n    return len(report.findings)\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}  # only what pip installed
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable",
                             str(python), str(user)], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env=clean)
    assert result.stdout.splitlines()[-1] == "Success: no issues found in 1 source file", result.stdout
