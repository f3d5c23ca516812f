"""BN011 dropout-before-bn (source only)."""
from __future__ import annotations

from typing import Iterator

from bncheck.source.model import Run
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule

FIX = "x = BatchNormalization()(x)\nx = Dropout(rate)(x)  # dropout after batch norm (or after the block)"


class DropoutBeforeBnSource(SourceRule):
    """Dropout feeds batch norm directly: BN's moving variance is learned on dropped-out activations
    and does not match inference, where dropout is off (the "variance shift"). Warning."""

    code = "BN011"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for adj in run.adjacent:
                if adj.producer.kind == "dropout":
                    yield self.finding(
                        adj.bn_layer, adj.bn_loc,
                        f"dropout (line {adj.producer.loc.line}) feeds this batch norm directly: its moving "
                        "variance will not match inference", {"dropout at": f"{adj.producer.loc.path}:{adj.producer.loc.line}"},
                        FIX)
