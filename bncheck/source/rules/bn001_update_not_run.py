"""BN001 update-not-run, on source: a TF1 train op that does not run the batch-norm updates."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.edits import Edit
from bncheck.source.model import (
    BnBuild, Loc, CollectionVal, Const, ListVal, ModelUpdates, Run, TrainOp, TrainOpVal, UpdateOps, Value, exclusive,
)
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, line_text

COLLECTION_APIS = ("layers", "slim", "keras-graph")


class UpdateNotRunSource(SourceRule):
    """A graph-mode train op (``minimize``/``apply_gradients``) that does not run the moving-average
    updates of batch norms built before it: not under ``tf.control_dependencies`` of the UPDATE_OPS
    collection (or ``model.updates`` for Keras layers in graph mode), not ``slim.learning.create_train_op``,
    and the layers not built with ``updates_collections=None``. Also the "collected too early" form:
    UPDATE_OPS read before the layers exist. A hand-written layer's assignments that nothing runs
    are judged the same way. Where the dependency is something bncheck cannot follow, it says nothing.
    """

    code = "BN001"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        for run in runs:
            if run.incomplete or not run.train_ops:
                continue
            for build in run.builds:
                yield from self._layer(run, build, context)
            yield from self._handwritten(run, context)

    def _layer(self, run: Run, build: BnBuild, context: RuleContext) -> Iterator[SourceFinding]:
        if build.api not in COLLECTION_APIS or build.in_place is True:
            return
        if isinstance(build.training, Const) and not build.training.value:
            return  # inference mode: no update ops are created
        later = [t for t in run.train_ops if t.order > build.order and not exclusive(t.branch, build.branch)]
        if build.in_place is None:
            if later:
                context.note(build.loc, f"BN001 not judged for {build.layer}: its updates_collections is a value "
                                        "bncheck cannot tell (an arg_scope or a parameter), so it may update in place")
            return
        if build.api == "keras-graph":
            later = [t for t in later if t.graph_optimizer or t.wired_builtin]
        if not later:
            return
        early: list[UpdateOps] = []
        for op in later:
            verdict = _coverage(op, build, run, early)
            if verdict == "unknown":
                context.note(op.loc, f"BN001 not judged for {build.layer}: the train op may run its update ops "
                                     "through something bncheck cannot follow (a control dependency, a tf.group, "
                                     "or a loss computed under control_dependencies)")
            if verdict != "not run":
                return  # covered, or bncheck cannot tell
        if early:
            op = later[0]
            read = early[0]
            at = read.loc if read.loc.path == op.loc.path or not op.deps_locs else op.deps_locs[0]
            yield self.finding(
                build.layer, at,
                f"UPDATE_OPS is read at {_where(read.loc, at)}, before this layer is built at "
                f"{_where(build.loc, at)}: the train op's control dependency does not hold its update ops",
                {"layer built at": f"{build.loc.path}:{build.loc.line}", "train op": f"{op.loc.path}:{op.loc.line}",
                 "built with": fixes.api_name(build.api)},
                fixes.updates_not_run(build.api), _refresh_edit(op, read, context))
            return
        for op in later:  # each train op (a GAN's two, one depending on the other) runs none of them
            yield self.finding(
                build.layer, op.loc,
                "the train op does not run this layer's moving-average updates: the moving statistics are never "
                "updated",
                {"layer built at": f"{build.loc.path}:{build.loc.line}", "built with": fixes.api_name(build.api)},
                fixes.updates_not_run(build.api), _wrap_edits(op, build.api, context))

    def _handwritten(self, run: Run, context: RuleContext) -> Iterator[SourceFinding]:
        for update in run.hand_updates:
            later = [t for t in run.train_ops if t.order > update.order]
            if not later or "control" in update.uses or "escaped" in update.uses:
                continue
            collections = {u.split(":", 1)[1] for u in update.uses if u.startswith("collection:")}
            covered = unknown = False
            for op in later:  # a train op another depends on is judged itself: one built before cannot run it
                if op.wired_builtin and "update_ops" in collections:
                    covered = True
                for dep in _flat(op.deps):
                    if isinstance(dep, TrainOpVal):
                        continue
                    if isinstance(dep, CollectionVal) and dep.name in collections and dep.order > update.order:
                        covered = True
                    elif isinstance(dep, UpdateOps) and "update_ops" in collections and dep.order > update.order:
                        covered = True
                    elif not _known_empty(dep) and not isinstance(dep, (CollectionVal, UpdateOps, ModelUpdates)):
                        unknown = True
            if unknown and not covered:
                context.note(later[0].loc, f"BN001 not judged for the hand-written layer {update.layer}: the train "
                                           "op's control dependencies hold something bncheck cannot follow")
            if covered or unknown:
                continue
            op = later[0]
            yield self.finding(
                update.layer, op.loc,
                "the train op does not run this hand-written layer's moving-average assignment "
                f"(line {update.loc.line}): the moving statistics are never updated",
                {"assignment": f"{update.loc.path}:{update.loc.line}", "built with": fixes.api_name("handwritten")},
                fixes.updates_not_run("handwritten"))


def _where(loc: Loc, at: Loc) -> str:
    return f"line {loc.line}" if loc.path == at.path else f"{loc.path}:{loc.line}"


def _flat(values: tuple[Value, ...]) -> list[Value]:
    out: list[Value] = []
    for v in values:
        if isinstance(v, ListVal):
            out.extend(_flat(v.items))
        else:
            out.append(v)
    return out


def _known_empty(value: Value) -> bool:
    return isinstance(value, Const) and value.value in (None, (), [])


def _coverage(op: TrainOp, build: BnBuild, run: Run, early: list[UpdateOps]) -> str:
    """``covered``, ``not run`` or ``unknown`` for one train op and one layer."""
    if op.wired_builtin:
        return "covered" if build.api != "keras-graph" else "unknown"
    if build.api != "keras-graph" and any(build.order < g < op.order for g in run.groups):
        return "covered"
    verdict = "not run"
    for dep in _flat(op.deps):
        if isinstance(dep, TrainOpVal):  # runs that train op first, and what it depends on
            if dep.op.order < build.order:
                continue  # built before the layer: it cannot run the layer's updates
            inner = _coverage(dep.op, build, run, early) if dep.op.order < op.order else "unknown"
            if inner == "covered":
                return "covered"
            if inner == "unknown":
                verdict = "unknown"
        elif isinstance(dep, UpdateOps):
            if build.api == "keras-graph":
                verdict = "unknown" if verdict == "not run" else verdict
            elif dep.order > build.order:
                return "covered"
            else:
                early.append(dep)
        elif isinstance(dep, ModelUpdates):
            if build.api == "keras-graph":
                return "covered"
        elif isinstance(dep, CollectionVal) or _known_empty(dep):
            continue
        else:
            verdict = "unknown"
    if verdict == "not run" and any(g > build.order for g in run.groups):
        return "unknown"  # a tf.group of update ops after the layer: may be the real train op
    if verdict == "not run" and build.api != "keras-graph" and any(c > build.order for c in run.update_contexts):
        return "unknown"  # the loss may be computed under control_dependencies(update_ops), as create_train_op does
    return verdict


def _tf_alias(context: RuleContext, path: str) -> tuple[str, str]:
    """How the file names TensorFlow: (``tf``, ``tf.compat.v1``) or (``tf``, ``tf``) for compat.v1 imports."""
    found = context.memo.get(("tf_alias", path))  # once per file: a text search per finding is quadratic
    if found is None:
        text = context.texts.get(path, "")
        found = context.memo[("tf_alias", path)] = (
            ("tf", "tf") if "import tensorflow.compat.v1 as tf" in text else ("tf", "tf.compat.v1"))
    return found


def _wrap_edits(op: TrainOp, api: str, context: RuleContext) -> tuple[Edit, ...]:
    """Unsafe: wrap the train-op statement in control_dependencies of the update ops."""
    if op.deps or op.stmt.line != op.stmt.end_line:
        return ()
    line = line_text(context, op.stmt)
    indent = line[: len(line) - len(line.lstrip())]
    if op.stmt.col - 1 != len(indent):
        return ()
    tf, v1 = _tf_alias(context, op.stmt.path)
    deps = ("model.updates" if api == "keras-graph"
            else f"{v1}.get_collection({v1}.GraphKeys.UPDATE_OPS)")
    text = f"{indent}with {tf}.control_dependencies({deps}):\n{indent}    {line.strip()}"
    return (Edit(Loc(op.stmt.path, op.stmt.line, 1, op.stmt.line, len(line) + 1), text, safe=False),)


def _refresh_edit(op: TrainOp, read: UpdateOps, context: RuleContext) -> tuple[Edit, ...]:
    """Unsafe: read UPDATE_OPS again where the control dependency is entered."""
    if len(op.deps_locs) != 1:
        return ()
    tf, v1 = _tf_alias(context, op.stmt.path)
    return (Edit(op.deps_locs[0], f"{v1}.get_collection({v1}.GraphKeys.UPDATE_OPS)", safe=False),)



