"""BN009 bn-frozen-in-train-step, on source."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Severity
from bncheck.rules import fixes
from bncheck.source.edits import insert_at
from bncheck.source.model import Run, followed_calls
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, line_text


class BnFrozenInTrainStepSource(SourceRule):
    """A custom ``train_step`` or a ``GradientTape`` loop that applies gradients calls a model holding
    BN without ``training=True``: BN runs in inference mode, its moving statistics never move and
    gamma/beta are fitted to the initial 0/1. Silent when the model is not defined in the scanned
    files, when ``training`` is given (``training=False`` is how fine-tuning freezes BN), when the
    model called is not the one whose ``trainable_variables`` the step trains (a distillation
    teacher), or when some layer is frozen with ``trainable = False``."""

    code = "BN009"
    name = "bn-frozen-in-train-step"
    severity = Severity.WARNING
    summary = "a train step calls a model holding BN without training=True"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        followed = followed_calls(runs)
        for run in runs:
            for call in run.keras_calls:
                frame = call.frame
                in_train = frame.kind == "train_step" or frame.in_tape
                if not in_train or not frame.applies_gradients or call.training is not None:
                    continue
                if not call.known and call.loc in followed:
                    continue  # another walk followed it to the model (a trainer's self.model)
                if not call.known:
                    if call.callee in frame.trained:
                        context.note(call.loc, f"BN009 not judged for {call.callee}(...) in {frame.name}: the "
                                               "model's definition is not in the scanned files (or it is loaded), so "
                                               "bncheck cannot tell whether it holds batch norm")
                    continue
                if call.callee not in frame.trained:
                    context.note(call.loc, f"BN009 not judged for {call.callee}(...) in {frame.name}: the train step "
                                           "does not read its trainable_variables, so it may be a model that is not "
                                           "trained here (a teacher, a frozen feature extractor)")
                    continue  # not the model being trained (a teacher, a frozen feature extractor)
                if context.frozen_layers:
                    context.note(call.loc, f"BN009 not judged for {call.callee}(...) in {frame.name}: some layer in "
                                           "the scanned files is frozen with trainable = False, so inference-mode "
                                           "batch norm here may be deliberate fine-tuning")
                    continue
                line = line_text(context, call.call_end)
                before = line[: call.call_end.col - 1].rstrip()
                text = "training=True" if before.endswith("(") else ", training=True"
                edit = insert_at(call.loc.path, call.call_end.line, call.call_end.col, text, safe=False)
                for layer in call.bn_layers:
                    yield self.finding(
                        layer, call.loc,
                        f"{call.callee}(...) without training=True in a train step: batch norm runs in inference "
                        "mode while the optimizer trains its gamma/beta",
                        {"training function": frame.name, "built with": fixes.api_name("keras")},
                        fixes.training_mode_in_train_step("keras"), (edit,))
