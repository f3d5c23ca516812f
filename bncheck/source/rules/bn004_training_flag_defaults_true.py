"""BN004 training-flag-defaults-true, on source."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.model import Run
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule


class TrainingFlagDefaultsTrueSource(SourceRule):
    """A ``placeholder_with_default(True, ...)`` used as a batch norm's training flag: whoever runs the
    graph without feeding it (serving, evaluation) gets batch statistics."""

    code = "BN004"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            for use in run.flag_uses:
                yield self.finding(
                    use.layer, use.flag,
                    f"the training flag defaults to True and is used by this layer (line {use.use.line}): "
                    "a caller that does not feed it runs batch norm in training mode",
                    {"used at": f"{use.use.path}:{use.use.line}"},
                    fixes.flag_default("is_training"))
