"""A report printed to a pipe or file shows fix code as plain text (no lexing): it must print exactly
what the syntax-highlighted block printed there, whatever the code holds."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from bncheck.findings import Finding, Severity
from bncheck.reporters.terminal import UNWRAPPED_WIDTH, _fix

FIXES = [
    "x = BatchNormalization()(x)",
    "# after the whole model is built:\nupdate_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n\n"
    "with tf.control_dependencies(update_ops):\n    train_op = opt.minimize(loss)",
    "layer = BatchNormalization(momentum=0.99)  # was 0.1 (PyTorch's convention)   ",
    "    indented = 1\n  less = 2\n",  # a trailing newline: still through Syntax
    "\nleading = 1",
    "tab\tinside = 1",
    "ünïcödé = '名前'  # wide characters",
    "very_long = " + " + ".join(f"name_{i}" for i in range(600)),  # wider than the unwrapped width
    "bell = '\x07'\r\nnul = '\x00'",
    "",
]


def _printed(renderable) -> str:
    buffer = io.StringIO()
    wide = Console(file=buffer, width=UNWRAPPED_WIDTH, no_color=True, color_system=None, force_terminal=False,
                   highlight=False)
    wide.print(renderable, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


@pytest.mark.parametrize("fix", FIXES)
def test_plain_fix_code_prints_as_the_highlighted_block_did(fix):
    finding = Finding("BN007", "momentum", Severity.WARNING, "bn", "m", "train.py", "", (), fix)
    assert _printed(_fix(finding, as_text=True)) == _printed(_fix(finding, as_text=False))
