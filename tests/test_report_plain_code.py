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


def _report_text(report, monkeypatch=None) -> str:  # type: ignore[no-untyped-def]
    from bncheck.reporters.terminal import print_report

    buffer = io.StringIO()
    print_report(report, Console(file=buffer, force_terminal=False), show_notes=True)
    return buffer.getvalue()


def test_a_report_to_a_pipe_is_exactly_what_rich_prints(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Text, padding and groups are written without rich's rendering; anything rich must lay out
    (tabs, a line wider than the unwrapped width) still goes through it: the bytes are the same."""
    from bncheck.errors import InputError
    from bncheck.report import Report
    from bncheck.reporters import terminal

    messages = ["plain", "tab\there", "wide 名前 ünï", "bell \x07 nul \x00 esc \x1b[31m", "line\u2028separator",
                "x" * (UNWRAPPED_WIDTH + 10), "trailing spaces   "]
    findings = [Finding("BN007", "momentum", Severity.WARNING, f"layer{i}", message, "train.py", "", (("momentum", 0.1),
                        ("where", message)), fix) for i, (message, fix) in enumerate(zip(messages, FIXES))]
    findings += [Finding("BN001", "update-not-run", Severity.ERROR, f"block{i}/bn", "collapsed", "model.pb", "g",
                         (("train op", "train"),), "fix it") for i in range(5)]
    report = Report(findings, errors=[InputError("bad.pb", "not a GraphDef\twith a tab")], checked=["train.py", "model.pb"],
                    notes=[("train.py", "a note \u2028 with a separator"), ("model.pb", "x" * (UNWRAPPED_WIDTH + 1))])
    fast = _report_text(report)
    monkeypatch.setattr(terminal, "_plain_lines", lambda part, indent: None)  # every part through rich
    assert fast == _report_text(report)
    assert fast.count("\n") > 40
