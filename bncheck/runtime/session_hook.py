"""``BatchNormHook``: a TF1 ``SessionRunHook`` (MonitoredTrainingSession, Estimator-style
``training_hooks`` / ``evaluation_hooks``, tf-slim's hooks, or a plain ``Session`` through
:meth:`BatchNormHook.wrap`). Imports TensorFlow: loaded only when the hook is used."""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from bncheck.report import Report
from bncheck.runtime import judge
from bncheck.runtime.core import Outcome, check_options
from bncheck.runtime.judge import Snapshot, WatchedLayer, Where

_GAP_NOTE = ("the moving statistics were not compared with the statistics of the training batches (BN005 early is "
             "measured by the Keras monitors only): fetching a TF1 graph's batch statistics changes how TensorFlow "
             "optimises the step")
_MEASURE_AT = 2  # the step whose batch statistics measure the momentum applied (step 1 is read before)


def _flat_fetches(fetches: Any) -> list[Any]:
    try:
        flat = tf.nest.flatten(fetches)
    except (TypeError, ValueError):
        return []
    return [f for f in flat if f is not None]


def _names(fetches: list[Any]) -> tuple[str, ...]:
    from bncheck.loaders.live import op_name

    out = []
    for item in fetches:
        try:
            out.append(op_name(item))
        except TypeError:
            continue
    return tuple(dict.fromkeys(out))


class BatchNormHook(tf.compat.v1.train.SessionRunHook):  # type: ignore[misc]  # TensorFlow has no type stubs: the base is Any
    """Watches the batch-norm layers of the graph a session runs, and proves what static checks
    can only suspect.

    Before step one it checks the finalised graph with the train op the session really fetches
    (the findings ``bncheck.check_graph(graph, train_op=...)`` gives). After ``steps`` runs it
    compares the moving statistics with their values before step one: bit-identical while the
    layer's gamma/beta moved is BN001 (its update ops exist but the train op never runs them) or
    BN009 (the layer ran in inference mode). BN007 comes from the momentum the graph's update ops
    apply (solved by the static check), and from moving statistics that never moved under a
    momentum of 1. Runs that train nothing (an evaluation session) are judged the other way: moving
    statistics that changed are BN003.

    ``measure_momentum=True`` also measures the momentum applied on step 2, from the moving
    statistics around it and the batch statistics each update folds in. Those are added to that
    step's fetches, which changes how TensorFlow optimises that one step's graph: its results
    differ in the last bits, so it is off by default (the default never changes training).

    ``on_finding``: ``"warn"`` (a :class:`~bncheck.runtime.BatchNormWarning`), ``"raise"``
    (:class:`~bncheck.runtime.BatchNormError`) or ``"stop"`` (``request_stop``). ``.report`` is a
    :class:`bncheck.Report`. Variables are only read, on a few steps (start, step 1-2, ``steps``).
    """

    def __init__(self, steps: int = 20, on_finding: str = "warn", show: bool = True,
                 measure_momentum: bool = False) -> None:
        check_options(steps, on_finding, show)
        if not isinstance(measure_momentum, bool):
            raise TypeError(f"measure_momentum must be True or False, not {measure_momentum!r}")
        self.steps = steps
        self.measure_momentum = measure_momentum
        self.report = Report([], [], [])
        self._outcome = Outcome(self.report, on_finding, show, self._request_stop)
        self._graph: Any = None
        self._layers: list[WatchedLayer] = []
        self._indicators: dict[str, Any] = {}
        self._start: Snapshot = {}
        self._last: Snapshot = {}
        self._step = 0
        self._training: bool | None = None
        self._train_ops: tuple[str, ...] = ()
        self._judged = False
        self._stop_context: Any = None
        self._where = Where("<tf.Graph>", "training run")

    @property
    def stopped(self) -> bool:
        return self._outcome.stopped

    def _request_stop(self) -> None:
        if self._stop_context is not None:
            self._stop_context.request_stop()

    # -- SessionRunHook ------------------------------------------------------------------------
    def begin(self) -> None:
        self._graph = tf.compat.v1.get_default_graph()

    def before_run(self, run_context: Any) -> Any:
        self._step += 1
        self._stop_context = run_context
        if self._step == 1:
            self._start_checks(run_context.session, _flat_fetches(run_context.original_args.fetches))
        if self.measure_momentum and self._training and self._step == _MEASURE_AT:
            stats = {f"{layer.name}/{role}": tensor for layer in self._layers for role, tensor in layer.stats.items()}
            if stats:
                return tf.compat.v1.train.SessionRunArgs({"bncheck_batch_stats": stats})
        return None

    def after_run(self, run_context: Any, run_values: Any) -> None:
        if self._judged:
            return
        if self.measure_momentum and self._training and self._step in (_MEASURE_AT - 1, _MEASURE_AT):
            now = self._read(run_context.session, moving_only=True)
            if self._step == _MEASURE_AT:
                results = run_values.results or {}
                self._momentum(self._last, now, results.get("bncheck_batch_stats", {}))
            self._last = now
        if self._step >= self.steps:
            self._judge(run_context.session)

    def end(self, session: Any) -> None:
        if not self._judged and self._step >= 2:
            self._judge(session)
        elif not self._judged and self._layers:
            self._outcome.note(f"the session ran {self._step} step(s), too few to judge the moving statistics")

    # -- plain Session loops -------------------------------------------------------------------
    def wrap(self, session: Any) -> HookedSession:
        """For a plain ``tf.compat.v1.Session`` loop: ``sess = hook.wrap(sess)``; its ``run`` calls
        the hook around each run, ``close()`` ends the hook. Build the whole graph first."""
        return HookedSession(self, session)

    # -- internals -----------------------------------------------------------------------------
    def _start_checks(self, session: Any, fetches: list[Any]) -> None:
        from bncheck.engine import check_models, with_names
        from bncheck.graph.analysis import ancestors
        from bncheck.loaders.live import model_from_object
        from bncheck.rules.context import Context

        graph = self._graph if self._graph is not None else tf.compat.v1.get_default_graph()
        ops = {op.name for op in graph.get_operations()}
        names = tuple(n for n in _names(fetches) if n in ops)
        try:
            model = model_from_object(graph)
            ctx = Context(model)
            ctx.layers  # noqa: B018 - the analysis runs here, where a failure is caught
        except Exception as exc:  # noqa: BLE001 - the monitor must never stop training by itself
            self.report.checked.append("<tf.Graph>")
            self._outcome.note(f"the graph could not be analysed ({type(exc).__name__}: {exc}); the runtime "
                               "judged nothing")
            return
        reach = ancestors(model.graph, names) if names else set()
        self._training = bool(reach & ctx.optimizer_updates)
        self._train_ops = names if self._training else ()
        self._where = Where(model.source, "training run" if self._training else "evaluation run")
        self._layers, unreadable = self._watched(graph, ctx, reach)
        notes: list[tuple[str, str]] = []
        static = with_names(model, self._train_ops, () if self._training else names)
        self.report.checked.append(model.source)
        try:
            self.report.findings.extend(check_models([static], notes=notes))
        except Exception as exc:  # noqa: BLE001 - as above: a note, and the runtime checks still run
            notes.append((model.source, f"the static checks failed ({type(exc).__name__}: {exc})"))
        for _, text in notes:
            self._outcome.note(text)
        for text in unreadable:
            self._outcome.note(text)
        self._indicators = self._indicator_variables(graph)
        self._start = self._read(session)
        self._outcome.publish(list(self.report.findings), "before step one")

    def _watched(self, graph: Any, ctx: Any, reach: set[str]) -> tuple[list[WatchedLayer], list[str]]:
        """The layers and their variables; a batch statistic is fetched (step 2) only when the
        fetched ops compute it anyway, so fetching it runs nothing more (no extra input read)."""
        variables = {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
        trainable = {v.op.name for v in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)}
        out: list[WatchedLayer] = []
        notes: list[str] = []
        for layer in ctx.layers:
            roles = ctx.variable_roles(layer)
            moving = {r: variables[roles[r]] for r in judge.MOVING if roles.get(r) in variables}
            if not moving:
                notes.append(f"{layer.name}: its moving statistics are not variables the session can read, "
                             "so the runtime did not judge it")
                continue
            params = {r: variables[roles[r]] for r in judge.PARAMS if roles.get(r) in variables}
            frozen = bool(params) and not any(v.op.name in trainable for v in params.values())
            stats: dict[str, Any] = {}
            momenta = [u.momentum for u in layer.updates if u.momentum is not None]
            plain = all(op.avg_factor == 1.0 and op.branch is None for op in layer.ops)  # no cond: never dead
            for role in moving:
                ups = layer.updates_of(roles[role])
                if plain and len(ups) == 1 and ups[0].stat.node in reach:
                    try:
                        stats[role] = graph.get_tensor_by_name(f"{ups[0].stat.node}:{ups[0].stat.index}")
                    except (KeyError, ValueError):
                        pass
            out.append(WatchedLayer(layer.name, moving, {r: v for r, v in params.items() if v.op.name in trainable},
                                    frozen, bool(layer.updates), min(momenta) if momenta else None, layer.api, stats))
        return out, notes

    def _indicator_variables(self, graph: Any) -> dict[str, Any]:
        """A few small trainable variables: did this run train anything at all."""
        trainable = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        small = sorted(trainable, key=lambda v: (v.shape.num_elements() or 0, v.op.name))[:4]
        return {f"trainable:{v.op.name}": v for v in small}

    def _read(self, session: Any, moving_only: bool = False) -> Snapshot:
        wanted: dict[str, Any] = {}
        for layer in self._layers:
            wanted.update({f"{layer.name}/{r}": v for r, v in layer.moving.items()} if moving_only else layer.keys())
        if not moving_only:
            wanted.update(self._indicators)
        if not wanted:
            return {}
        keys = list(wanted)
        values = session.run([wanted[k] for k in keys])
        return {k: np.array(v, copy=True) for k, v in zip(keys, values)}

    def _momentum(self, before: Snapshot, after: Snapshot, stats: dict[str, Any]) -> None:
        found = []
        for layer in self._layers:
            measured = {}
            for role in layer.stats:
                key = f"{layer.name}/{role}"
                if key in before and key in after and key in stats:
                    value = judge.measured_momentum(before[key], after[key], np.asarray(stats[key]))
                    if value is not None:
                        measured[role] = value
            item = judge.judge_momentum(layer, measured, self._where, _MEASURE_AT) if measured else None
            if item is not None:
                found.append(item)
        self._outcome.publish(judge.add(self.report.findings, found), f"step {_MEASURE_AT}")

    def _judge(self, session: Any) -> None:
        self._judged = True
        now = self._read(session)
        if self._training:
            trained = any(not judge.same(self._start.get(k), now.get(k)) for k in self._indicators)
            verdict = judge.judge_training(self._layers, self._start, now, self._step, self._where, trained,
                                           self._train_ops)
            if judge.updated(self._layers, self._start, now):
                verdict.notes.append(_GAP_NOTE)
        else:
            verdict = judge.judge_evaluation(self._layers, self._start, now, self._where, keras=False)
        self._outcome.replace_notes(*judge.UNTRAINED_NOTE, by=None)  # answered by this judgement
        self._outcome.publish(judge.add(self.report.findings, verdict.findings), f"after {self._step} steps",
                              verdict.all_notes())


class HookedSession:
    """A plain ``Session`` whose ``run`` calls a :class:`BatchNormHook` like a MonitoredSession would."""

    def __init__(self, hook: BatchNormHook, session: Any) -> None:
        self._hook, self._session = hook, session
        self._began = False

    def run(self, fetches: Any, feed_dict: Any = None, options: Any = None, run_metadata: Any = None) -> Any:
        if not self._began:
            self._began = True
            self._hook._graph = self._session.graph
        args = tf.compat.v1.train.SessionRunArgs(fetches, feed_dict, options)
        context = tf.compat.v1.train.SessionRunContext(args, self._session)
        extra = self._hook.before_run(context)
        wanted = {"user": fetches}
        feeds = dict(feed_dict or {})
        if extra is not None:
            wanted["hook"] = extra.fetches
        results = self._session.run(wanted, feed_dict=feeds or None, options=options, run_metadata=run_metadata)
        self._hook.after_run(context, tf.compat.v1.train.SessionRunValues(results.get("hook"), options, run_metadata))
        return results["user"]

    def close(self) -> None:
        self._hook.end(self._session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
