"""BN009 bn-frozen-in-train-step, on source."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.edits import insert_at
from bncheck.source.model import Const, Loc, Run, exclusive, followed_calls
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, line_text


class BnFrozenInTrainStepSource(SourceRule):
    """A custom ``train_step`` or a ``GradientTape`` loop that applies gradients calls a model holding
    BN without ``training=True``: BN runs in inference mode, its moving statistics never move and
    gamma/beta are fitted to the initial 0/1. Silent when the model is not defined in the scanned
    files, when ``training`` is given (``training=False`` is how fine-tuning freezes BN), when the
    model called is not the one whose ``trainable_variables`` the step trains (a distillation
    teacher), or when some layer is frozen with ``trainable = False``."""

    code = "BN009"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        followed = followed_calls(runs)
        for run in runs:
            yield from self._graph_default(run, context)
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
                flag = f"{call.mode_param}=True"  # a model's own flag (call(self, x, is_training=False))
                text = flag if before.endswith("(") else f", {flag}"
                edit = insert_at(call.loc.path, call.call_end.line, call.call_end.col, text, safe=False)
                for layer in call.bn_layers:
                    yield self.finding(
                        layer, call.loc,
                        f"{call.callee}(...) without {flag} in a train step: batch norm runs in inference "
                        "mode while the optimizer trains its gamma/beta",
                        {"training function": frame.name, "built with": fixes.api_name("keras")},
                        fixes.training_mode_in_train_step("keras"), (edit,))

    def _graph_default(self, run: Run, context: RuleContext) -> Iterator[SourceFinding]:
        """TF1: ``tf.layers.batch_normalization(x)`` leaves ``training`` at False in a graph whose
        ``minimize(loss)`` trains every variable, gamma and beta too (and no other build of the layer
        runs in training mode: then this one is an evaluation copy)."""
        if run.incomplete:
            return
        other_modes = {b.layer for b in run.builds if not (isinstance(b.training, Const) and b.training.value is False)}
        for build in run.builds:
            if build.api != "layers" or not build.defaulted or build.frozen or build.layer in other_modes:
                continue
            later = [t for t in run.train_ops if t.order > build.order and t.graph_optimizer
                     and not exclusive(t.branch, build.branch)]
            if not later:
                continue
            trains_all = [t for t in later if t.all_variables]
            if not trains_all:
                context.note(later[0].loc, f"BN009 not judged for {build.layer}: the train op's variables (var_list, or "
                                           "apply_gradients' pairs) are values bncheck cannot tell, so it may not train "
                                           "this layer")
                continue
            if context.frozen_layers:
                context.note(build.loc, f"BN009 not judged for {build.layer}: some layer in the scanned files is frozen "
                                        "with trainable = False, so inference-mode batch norm here may be deliberate")
                continue
            op = trains_all[0]
            line = line_text(context, Loc(build.loc.path, build.loc.end_line, 1, build.loc.end_line, 1))
            before = line[: build.loc.end_col - 2].rstrip()
            edit = insert_at(build.loc.path, build.loc.end_line, build.loc.end_col - 1,
                             "training=True" if before.endswith("(") else ", training=True", safe=False)
            yield self.finding(
                build.layer, build.loc,
                f"training is left at its default False in a graph whose train op (line {op.loc.line}) trains every "
                "variable: batch norm normalises with moving statistics nothing updates while gamma/beta are fitted",
                {"train op": f"{op.loc.path}:{op.loc.line}", "built with": fixes.api_name("layers")},
                fixes.training_mode_in_train_step("layers"), (edit,))
