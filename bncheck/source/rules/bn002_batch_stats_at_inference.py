"""BN002 batch-stats-at-inference, on source: serving code that runs batch norm in training mode."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Severity
from bncheck.rules import fixes
from bncheck.source.edits import Edit
from bncheck.source.model import Const, Run, followed_calls
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, calls_fixing_training


class BatchStatsAtInferenceSource(SourceRule):
    """Inference paths that run batch norm with the batch's own statistics: ``training=True`` in a
    function exported as a SavedModel signature or named ``serve``/``predict`` under ``tf.function``;
    ``set_learning_phase(1)`` before an export or ``predict``; a TF1 graph exported
    (``simple_save``, ``convert_variables_to_constants``, ``SavedModelBuilder``) whose batch norms are
    all built with ``training=True``/``is_training=True``.
    """

    code = "BN002"
    name = "batch-stats-at-inference"
    severity = Severity.ERROR
    summary = "a serving path runs batch norm in training mode"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        followed = followed_calls(runs)
        for run in runs:
            where = lambda call: f"the serving function {call.frame.name!r}"  # noqa: E731
            for call in calls_fixing_training(run, "serving", "BN002", where, context, followed):
                edits = (Edit(call.training_loc, "False", safe=True),) if call.training_loc else ()
                for layer in call.bn_layers:
                    yield self.finding(
                        layer, call.training_loc or call.loc,
                        f"the serving function {call.frame.name!r} calls {call.callee} with training=True: "
                        "each request is normalised with its own batch's statistics",
                        {"serving function": call.frame.name, "built with": fixes.api_name("keras")},
                        fixes.inference_mode("keras"), edits)
            if run.incomplete:
                continue
            yield from self._learning_phase(run)
            yield from self._tf1_export(run, context)

    def _learning_phase(self, run: Run) -> Iterator[SourceFinding]:
        layers = sorted({c.layer for c in run.constructs if c.api == "keras"} |
                        {b for k in run.keras_calls for b in k.bn_layers})
        for phase in run.learning_phases:
            later = [e for e in run.exports if e.order > phase.order]
            if not later or not layers:
                continue
            edits = (Edit(phase.value_loc, "0", safe=False),) if phase.value_loc else ()
            for layer in layers:
                yield self.finding(
                    layer, phase.loc,
                    f"set_learning_phase(1) before {later[0].kind} (line {later[0].loc.line}): the exported or "
                    "predicting model runs batch norm in training mode",
                    {"export": f"{later[0].loc.path}:{later[0].loc.line}", "built with": fixes.api_name("keras")},
                    fixes.inference_mode("keras"), edits)

    def _tf1_export(self, run: Run, context: RuleContext) -> Iterator[SourceFinding]:
        graph_builds = [b for b in run.builds if b.api in ("layers", "slim", "keras-graph")]
        exports = [e for e in run.exports if e.kind in (
            "simple_save", "convert_variables_to_constants", "SavedModelBuilder", "Builder",
            "add_meta_graph_and_variables")]
        if not graph_builds or not exports:
            return
        if not all(isinstance(b.training, Const) and b.training.value is True for b in graph_builds):
            unknown = [b for b in graph_builds if not isinstance(b.training, Const)]
            if unknown and not any(isinstance(b.training, Const) and not b.training.value for b in graph_builds):
                context.note(exports[0].loc, f"BN002 not judged for the graph exported here: the training mode of "
                                             f"{unknown[0].layer} is a value bncheck cannot tell")
            return  # an inference-mode copy exists, or the mode is not known
        export = exports[0]
        if export.order < max(b.order for b in graph_builds):
            return
        for build in graph_builds:
            yield self.finding(
                build.layer, build.training_loc or build.loc,
                f"the graph exported at line {export.loc.line} builds this layer only in training mode: "
                "serving normalises each request with its own batch's statistics",
                {"export": f"{export.loc.path}:{export.loc.line}", "built with": fixes.api_name(build.api)},
                fixes.inference_mode(build.api))
