"""BN002 batch-stats-at-inference, on source: serving code that runs batch norm in training mode."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.edits import Edit
from bncheck.source.model import BnBuild, Const, InitOpVal, Run, TensorVal, exclusive, followed_calls
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, calls_fixing_training


class BatchStatsAtInferenceSource(SourceRule):
    """Inference paths that run batch norm with the batch's own statistics: ``training=True`` in a
    function exported as a SavedModel signature or named ``serve``/``predict`` under ``tf.function``;
    ``set_learning_phase(1)`` before an export or ``predict``; a TF1 graph exported
    (``simple_save``, ``convert_variables_to_constants``, ``SavedModelBuilder``) whose batch norms are
    all built with ``training=True``/``is_training=True`` (also ``write_graph``/``export_meta_graph``
    from a script that trains nothing); a script that rebuilds the network that way, restores a
    checkpoint and runs predictions with ``sess.run`` without training (slim's ``is_training``
    defaults to True); a serving function of an object made around the model (``Exported(model)``).
    """

    code = "BN002"

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
        if not graph_builds:
            return
        # what a script that trains writes (its graph, after building the train op; its checkpoints) is
        # not for serving, and a script that restores and trains is a training script
        events = [e for e in run.exports if e.kind in SERVING_EXPORTS or (e.kind in GRAPH_WRITES and not any(
            t.order < e.order and not exclusive(t.branch, e.branch) for t in run.train_ops))]
        events += [r for r in run.restores if any(s > r.order for s in run.session_runs)
                   and all(exclusive(t.branch, r.branch) for t in run.train_ops)]
        events = sorted((e for e in events if any(b.order < e.order and not exclusive(b.branch, e.branch)
                                                  for b in graph_builds)), key=lambda e: e.order)
        if not events:
            yield from self._predictions_beside_training(run, graph_builds, context)
            return
        event = events[0]
        # the graph as it is at the event: built before it, and not in another arm of an if
        graph_builds = [b for b in graph_builds if b.order < event.order and not exclusive(b.branch, event.branch)]
        if not graph_builds:
            return
        restore = event.kind == "restore"
        if not all(isinstance(b.training, Const) and b.training.value is True for b in graph_builds):
            unknown = [b for b in graph_builds if not isinstance(b.training, Const)]
            if unknown and not any(isinstance(b.training, Const) and not b.training.value for b in graph_builds):
                what = ("the predictions after the checkpoint restored here" if restore
                        else "the graph exported here")
                context.note(event.loc, f"BN002 not judged for {what}: the training mode of {unknown[0].layer} is a "
                                        "value bncheck cannot tell")
            return  # an inference-mode copy exists, or the mode is not known
        for build in graph_builds:
            if restore:
                message = (f"the script restores a checkpoint at line {event.loc.line} and runs predictions with "
                           "this layer built only in training mode: each prediction is normalised with its own "
                           "batch's statistics")
            else:
                message = (f"the graph exported at line {event.loc.line} builds this layer only in training mode: "
                           "serving normalises each request with its own batch's statistics")
            yield self.finding(
                build.layer, build.training_loc or build.loc, message,
                {"restored at" if restore else "export": f"{event.loc.path}:{event.loc.line}",
                 "built with": fixes.api_name(build.api)},
                fixes.inference_mode(build.api))

    def _predictions_beside_training(self, run: Run, graph_builds: list[BnBuild],
                                     context: RuleContext) -> Iterator[SourceFinding]:
        """A program that builds train ops, then restores a checkpoint and only predicts: every
        ``sess.run`` after the restore fetches tensors (or initialisers), none a train op (a notebook's
        "use the trained network" cell). The batch norms judged are those the fetched tensors go through."""
        for restore in run.restores:
            if all(exclusive(t.branch, restore.branch) for t in run.train_ops):
                continue  # no train op in its graph: judged as a restore-and-predict script
            after = [f for f in run.fetches if f.order > restore.order and not exclusive(f.branch, restore.branch)]
            values = [v for f in after for v in f.values]
            if not any(isinstance(v, TensorVal) for v in values):
                continue
            if not all(isinstance(v, (TensorVal, InitOpVal)) for v in values):
                continue  # something fetched may be a train op: a script that restores and trains
            layers = {b for v in values if isinstance(v, TensorVal) for b in v.bn_layers}
            builds = [b for b in graph_builds if b.layer in layers and b.order < restore.order
                      and not exclusive(b.branch, restore.branch)]
            if not builds:
                continue
            if not all(isinstance(b.training, Const) and b.training.value is True for b in builds):
                unknown = [b for b in builds if not isinstance(b.training, Const)]
                if unknown and not any(isinstance(b.training, Const) and not b.training.value for b in builds):
                    context.note(restore.loc, f"BN002 not judged for the predictions after the checkpoint restored "
                                              f"here: the training mode of {unknown[0].layer} is a value bncheck "
                                              "cannot tell")
                return
            for build in builds:
                yield self.finding(
                    build.layer, build.training_loc or build.loc,
                    f"a checkpoint is restored at line {restore.loc.line} and the tensors run after it (no train op) "
                    "go through this layer, built only in training mode: each prediction is normalised with its "
                    "own batch's statistics",
                    {"restored at": f"{restore.loc.path}:{restore.loc.line}", "built with": fixes.api_name(build.api)},
                    fixes.inference_mode(build.api))
            return


SERVING_EXPORTS = ("simple_save", "convert_variables_to_constants", "SavedModelBuilder", "Builder",
                   "add_meta_graph_and_variables")
GRAPH_WRITES = ("write_graph", "export_meta_graph")  # also what training scripts write: judged only without a train op
