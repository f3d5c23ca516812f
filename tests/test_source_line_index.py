"""Finding text is sliced from lines split once per file (issue 19 item 8: it split the whole file per
finding, so 4,000 small functions took 9.6 s)."""
from __future__ import annotations

from bncheck.source import loader
from bncheck.source.model import Loc
from bncheck.source.rules import base
from bncheck.source.rules.base import RuleContext, line_text, span_text


def test_a_file_is_split_once_however_many_findings_read_it(monkeypatch):
    splits: list[int] = []

    def counting(text: str) -> list[str]:
        splits.append(len(text))
        return loader.python_lines(text)

    monkeypatch.setattr(base, "python_lines", counting)
    text = "".join(f"def f{i}(x):\n    return bn(x, momentum=0.{i % 9 + 1})\n" for i in range(4000))
    ctx = RuleContext({"big.py": text}, frozen_layers=False)
    spans = [span_text(ctx, Loc("big.py", 2 * i + 2, 27, 2 * i + 2, 30)) for i in range(4000)]
    lines = [line_text(ctx, Loc("big.py", 2 * i + 1, 1, 2 * i + 1, 2)) for i in range(4000)]
    assert splits == [len(text)]  # was 8,000: one split of the whole file per call
    assert spans[:3] == ["0.1", "0.2", "0.3"] and spans[-1] == f"0.{3999 % 9 + 1}"
    assert lines[0] == "def f0(x):" and lines[-1] == "def f3999(x):"


def test_spans_across_lines_and_out_of_range():
    ctx = RuleContext({"a.py": "ab\ncd\nef\n"}, frozen_layers=False)
    assert span_text(ctx, Loc("a.py", 1, 2, 3, 2)) == "b\ncd\ne"
    assert span_text(ctx, Loc("a.py", 3, 1, 4, 1)) == ""
    assert span_text(ctx, Loc("missing.py", 1, 1, 1, 2)) == ""
    assert line_text(ctx, Loc("a.py", 0, 1, 0, 1)) == "" and line_text(ctx, Loc("a.py", 2, 1, 2, 1)) == "cd"
