"""Source mode never imports TensorFlow/Keras and never imports or runs the user's code."""
from __future__ import annotations

import subprocess
import sys

from conftest import FIXTURES

PROBE = r"""
import sys, pathlib
from bncheck.source import check_files
from bncheck.cli import main
paths = sorted(str(p) for p in pathlib.Path(sys.argv[1]).rglob("*.py"))
result = check_files(paths)
assert result.findings and not result.errors, (len(result.findings), result.errors)
try:
    main([sys.argv[2], "--format", "json"])
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "tf_slim", "torch", "libcst"))
print("HEAVY", heavy)
print("USER", sorted(m for m in sys.modules if m in ("evil", "train", "models", "utils")))
"""


def test_no_tensorflow_and_no_user_code_imported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "ran.txt"
    evil = tmp_path / "evil.py"
    evil.write_text(
        f"open({str(marker)!r}, 'w').write('executed')\n"
        "import tensorflow as tf\n"
        "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"
    )
    out = subprocess.run([sys.executable, "-c", PROBE, str(FIXTURES / "source"), str(evil)],
                         capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "USER []" in out.stdout
    assert '"code": "BN007"' in out.stdout
    assert not marker.exists()
