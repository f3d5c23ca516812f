"""BN010 bias-before-bn (source only)."""
from __future__ import annotations

from typing import Iterator

from bncheck.source.edits import Edit, insert_at
from bncheck.source.model import Run
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, line_text

FIX = "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset"


class BiasBeforeBnSource(SourceRule):
    """A convolution or dense layer with a bias (``use_bias`` defaults to True) feeds batch norm
    directly: BN subtracts the mean, so the bias is cancelled and its weights are wasted. Info."""

    code = "BN010"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for adj in run.adjacent:
                if adj.producer.kind == "bias?":
                    context.note(adj.producer.loc, f"BN010 not judged for {adj.bn_layer}: this layer's use_bias or "
                                                   "activation is a value bncheck cannot tell")
                if adj.producer.kind != "bias":
                    continue
                p = adj.producer
                if p.bias_loc is not None:
                    edit = Edit(p.bias_loc, "False", safe=False)
                else:
                    line = line_text(context, _end(p.loc))
                    before = line[: p.loc.end_col - 2].rstrip()
                    edit = insert_at(p.loc.path, p.loc.end_line, p.loc.end_col - 1,
                                     "use_bias=False" if before.endswith("(") else ", use_bias=False", safe=False)
                yield self.finding(
                    adj.bn_layer, p.loc,
                    f"this layer's bias feeds batch norm directly (line {adj.bn_loc.line}): BN cancels it",
                    {"batch norm at": f"{adj.bn_loc.path}:{adj.bn_loc.line}"}, FIX, (edit,))


def _end(loc):  # type: ignore[no-untyped-def]
    from bncheck.source.model import Loc

    return Loc(loc.path, loc.end_line, 1, loc.end_line, 1)
