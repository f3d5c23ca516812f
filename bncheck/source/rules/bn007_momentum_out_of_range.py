"""BN007 momentum-out-of-range, on source: the literal momentum/decay (or its default)."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.edits import Edit
from bncheck.source.model import Const, Loc, Run, Value
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, span_text

LOW = 0.5


def suggested(value: float) -> str:
    """PyTorch's 0.1 means TensorFlow's 0.9; 1e-5 and >= 1 become 0.99."""
    if 0 < value < LOW and 1 - value <= 0.999:
        return f"{1 - value:.6g}"
    return "0.99"


class MomentumOutOfRangeSource(SourceRule):
    """A literal ``momentum``/``decay`` below 0.5 or not below 1 in a batch-norm constructor, or in a
    hand-written update ``pop * decay + batch * (1 - decay)`` (the value may come from the enclosing
    function's default, as in the widely copied ``decay=1e-5``, or from a call's argument). The
    finding is at the literal, and ``--fix`` rewrites it (0.1 -> 0.9: PyTorch's momentum is one
    minus TensorFlow's)."""

    code = "BN007"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for c in run.constructs:
                yield from self._value(c.momentum, c.loc, c.layer, c.api, c.keyword, context)
            for u in run.hand_updates:
                yield from self._value(u.decay, u.loc, u.layer, "handwritten", "decay", context)

    def _value(self, value: Value, at: Loc, layer: str, api: str, keyword: str,
               context: RuleContext) -> Iterator[SourceFinding]:
        if not isinstance(value, Const):
            context.note(at, f"BN007 not judged for {layer}: {keyword} is a value bncheck cannot tell")
            return
        if isinstance(value.value, bool) or not isinstance(value.value, (int, float)):
            return
        v = float(value.value)
        if LOW <= v < 1.0:
            return
        loc = value.loc or at
        edits: tuple[Edit, ...] = ()
        if value.loc is not None and _is_number(span_text(context, value.loc)):
            edits = (Edit(value.loc, suggested(v), safe=True),)
        why = "the moving average is essentially the last batch" if v < LOW else "the moving average never converges"
        yield self.finding(
            layer, loc, f"{keyword}={value.value:g}: {why}",
            {keyword: float(f"{v:.6g}"), "built with": fixes.api_name(api)},
            fixes.momentum(api), edits)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
