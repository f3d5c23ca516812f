"""BN011 dropout-before-bn (source only)."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Severity
from bncheck.source.model import Run
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule

FIX = "x = BatchNormalization()(x)\nx = Dropout(rate)(x)  # dropout after batch norm (or after the block)"


class DropoutBeforeBnSource(SourceRule):
    """Dropout feeds batch norm directly: BN's moving variance is learned on dropped-out activations
    and does not match inference, where dropout is off (the "variance shift"). Warning."""

    code = "BN011"
    name = "dropout-before-bn"
    severity = Severity.WARNING
    summary = "dropout directly before batch norm (variance shift at inference)"
    bad = """
x = layers.Dropout(0.5)(x)
x = layers.BatchNormalization()(x)
"""
    good = """
x = layers.BatchNormalization()(x)
x = layers.Dropout(0.5)(x)
"""

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for adj in run.adjacent:
                if adj.producer.kind == "dropout":
                    yield self.finding(
                        adj.bn_layer, adj.bn_loc,
                        f"dropout (line {adj.producer.loc.line}) feeds this batch norm directly: its moving "
                        "variance will not match inference", {"dropout at": f"{adj.producer.loc.path}:{adj.producer.loc.line}"},
                        FIX)
