"""BN010 bias-before-bn (source only)."""
from __future__ import annotations

from typing import Iterator

from bncheck.source.edits import Edit, insert_at
from bncheck.source.model import Loc, Run
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, line_text

FIX = "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset"
RAW_FIX = "y = tf.nn.conv2d(x, w, strides, padding)  # no bias_add / + b: batch norm's beta provides the offset"


class BiasBeforeBnSource(SourceRule):
    """A convolution or dense layer with a bias (``use_bias`` defaults to True), or a bias added by
    hand to a raw conv/matmul (``tf.nn.bias_add``, ``+ b``), feeds batch norm directly: BN subtracts
    the mean, so the bias is cancelled and its weights are wasted. Info."""

    code = "BN010"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for adj in run.adjacent:
                p = adj.producer
                if p.kind == "bias?":
                    context.note(p.loc, f"BN010 not judged for {adj.bn_layer}: " + (
                        "the shape of the variable added here is a value bncheck cannot tell" if p.api == "nn" else
                        "this layer's activation_fn is a value bncheck cannot tell" if p.api == "slim" else
                        "this layer's use_bias or activation is a value bncheck cannot tell"))
                if p.kind != "bias":
                    continue
                if p.api == "nn":  # a bias added by hand (tf.nn.bias_add, `+ b`): the fix is deleting it
                    yield self.finding(
                        adj.bn_layer, p.loc,
                        f"this bias is added right before batch norm ({_at(adj.bn_loc, p.loc)}): BN cancels it",
                        {"batch norm at": f"{adj.bn_loc.path}:{adj.bn_loc.line}"}, RAW_FIX)
                    continue
                if p.bias_loc is not None:
                    edit = Edit(p.bias_loc, "False", safe=False)
                else:
                    line = line_text(context, _end(p.loc))
                    before = line[: p.loc.end_col - 2].rstrip()
                    keyword = "biases_initializer=None" if p.api == "slim" else "use_bias=False"
                    edit = insert_at(p.loc.path, p.loc.end_line, p.loc.end_col - 1,
                                     keyword if before.endswith("(") else ", " + keyword, safe=False)
                yield self.finding(
                    adj.bn_layer, p.loc,
                    f"this layer's bias feeds batch norm directly ({_at(adj.bn_loc, p.loc)}): BN cancels it",
                    {"batch norm at": f"{adj.bn_loc.path}:{adj.bn_loc.line}"}, FIX, (edit,))


def _at(loc: Loc, here: Loc) -> str:
    return f"line {loc.line}" if loc.path == here.path else f"{loc.path}:{loc.line}"


def _end(loc: Loc) -> Loc:
    return Loc(loc.path, loc.end_line, 1, loc.end_line, 1)
