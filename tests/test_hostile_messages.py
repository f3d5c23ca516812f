"""Errors say the real cause (issue 19 item 9): a NUL byte's line, a folder deeper than the OS path limit."""
from __future__ import annotations

import os
import pathlib
import shutil

from click.testing import CliRunner

from bncheck.cli import main
from conftest import FIXTURES


def test_a_nul_byte_error_names_its_line(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "train.py"
    script.write_bytes(b"import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization()\nx = '\0'\n")
    result = CliRunner().invoke(main, [str(script), "-q"])
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {script}: not valid Python: source code string cannot contain null bytes (line 3)\n"


def test_a_folder_deeper_than_the_path_limit_says_so(tmp_path: pathlib.Path) -> None:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for _ in range(25):  # 25 x 201 characters: past Linux's 4,096 (Windows' 260, macOS' 1,024)
            os.mkdir("d" * 200)
            os.chdir("d" * 200)
        shutil.copy(FIXTURES / "tf1" / "layers_momentum_0.1.meta", "m.meta")
    finally:
        os.chdir(old)
    result = CliRunner().invoke(main, [str(tmp_path), "-q"])
    assert result.exit_code == 2
    assert result.stderr == (f"bncheck: error: {tmp_path}: no GraphDef, MetaGraph, SavedModel, checkpoint or Keras file "
                             "found in this folder; 1 folder in it could not be listed (File name too long)\n")
