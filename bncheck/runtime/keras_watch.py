"""Watching a live Keras 3 / tf-keras model, shared by the callback and the custom-loop watcher.

Duck-typed: it touches only the model object it is given (its layers and their variables), so it
imports neither Keras nor TensorFlow itself.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from bncheck.findings import Finding
from bncheck.report import Report
from bncheck.runtime import gap, judge
from bncheck.runtime.core import Outcome, check_options
from bncheck.runtime.judge import Snapshot, Verdict, WatchedLayer, Where


def _is_batch_norm(layer: Any) -> bool:
    return (any("BatchNormalization" in cls.__name__ for cls in type(layer).__mro__)
            and hasattr(layer, "moving_mean") and hasattr(layer, "moving_variance"))


def _children(layer: Any) -> list[Any]:
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is None:
        return list(getattr(layer, "layers", ()))
    return list(flatten(include_self=False, recursive=False))


def batch_norm_layers(model: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(path, layer) of every batch-norm layer, paths through nested models as the static check
    names them (``base/bn1``)."""
    if depth > 100:
        return
    for layer in _children(model):
        path = f"{prefix}{layer.name}"
        if _is_batch_norm(layer):
            yield path, layer
        else:
            yield from batch_norm_layers(layer, path + "/", depth + 1)


def _watched(path: str, layer: Any) -> WatchedLayer:
    trainable = {id(w) for w in getattr(layer, "trainable_weights", ())}
    moving = {r: getattr(layer, r) for r in judge.MOVING if getattr(layer, r, None) is not None}
    params = {r: getattr(layer, r) for r in judge.PARAMS
              if getattr(layer, r, None) is not None and id(getattr(layer, r)) in trainable}
    momentum = getattr(layer, "momentum", None)
    return WatchedLayer(path, moving, params, frozen=not getattr(layer, "trainable", True), updates=None,
                        momentum=float(momentum) if isinstance(momentum, (int, float)) else None)


def _read(variables: dict[str, Any]) -> tuple[Snapshot, list[str]]:
    out: Snapshot = {}
    failed: list[str] = []
    for key, var in variables.items():
        try:
            out[key] = np.array(var.numpy(), copy=True)
        except Exception:  # noqa: BLE001 - any variable the monitor cannot read is a note, not a crash
            failed.append(key)
    return out, failed


class KerasWatch:
    """The state of one watched model: baseline, steps counted, judgements made."""

    def __init__(self, model: Any, steps: int, on_finding: str, show: bool, stop: Callable[[], None],
                 report: Report | None = None, sample: Any = None) -> None:
        check_options(steps, on_finding, show)
        self.model = model
        self.sample = sample
        self.sample_before: gap.SampleStats | None = None
        self.sample_failed = False
        self.steps = steps
        self.report = Report([], [], []) if report is None else report
        self.outcome = Outcome(self.report, on_finding, show, stop)
        self.layers: list[WatchedLayer] = []
        self.indicators: dict[str, Any] = {}
        self.start: Snapshot | None = None
        self.baseline_step = 0
        self.count = 0
        self.judged = False
        self.eval_start: Snapshot | None = None
        self.where = Where(f"<{getattr(model, 'name', 'model')}>", "training run")

    # -- lifecycle -----------------------------------------------------------------------------
    def begin(self) -> None:
        """Before step one: the static checks, then the baseline. An unbuilt model (no variables
        yet) is taken up after its first step."""
        if self.start is not None or not self._built():
            return
        import bncheck

        try:
            static = bncheck.check_model(self.model)
        except Exception as exc:  # noqa: BLE001 - the monitor must never stop training by itself
            failed = f"the static checks failed ({type(exc).__name__}: {exc})"
            static = Report([], [], [self.where.path], [(self.where.path, failed)])
        self.report.checked.extend(static.checked or [self.where.path])
        self.report.findings.extend(static.findings)
        self.report.errors.extend(static.errors)
        for _, text in static.notes:
            self.outcome.note(text)
        self.layers = [_watched(path, layer) for path, layer in batch_norm_layers(self.model)]
        if self.layers:
            self.outcome.replace_notes(*judge.NO_LAYER_NOTE, by=(
                f"the static checks could not read this model's config (a subclassed model?); the runtime watches "
                f"its {len(self.layers)} batch-norm layer(s)"))
        trainable = sorted(getattr(self.model, "trainable_weights", ()), key=lambda w: int(np.prod(w.shape)))
        self.indicators = {f"trainable:{i}": w for i, w in enumerate(trainable[:4])}
        self.start = self._snapshot()
        self.sample_before = self._sample_statistics()
        self.baseline_step = self.count
        if self.count:
            self.outcome.note(f"the model was built during its first step: the moving statistics are compared with "
                              f"their values after step {self.count}")
        self.outcome.publish(list(self.report.findings), "before step one")

    def after_step(self) -> None:
        self.count += 1
        if self.start is None:
            self.begin()
            return
        if not self.judged and self.count - self.baseline_step >= self.steps:
            self.judge()

    def finish(self) -> None:
        if self.start is not None and not self.judged and self.count - self.baseline_step >= 2:
            self.judge()
        elif self.start is not None and not self.judged:
            self.outcome.note(f"training ran {self.count - self.baseline_step} step(s) after the baseline, too few "
                              "to judge the moving statistics")

    def eval_begin(self) -> None:
        if self.start is None:
            self.begin()
        self.eval_start = self._snapshot(moving_only=True) if self.start is not None else None

    def eval_end(self) -> None:
        if self.eval_start is None:
            return
        before, self.eval_start = self.eval_start, None
        after = self._snapshot(moving_only=True)
        verdict = judge.judge_evaluation(self.layers, before, after, Where(self.where.path, "evaluation run"),
                                         keras=True)
        self.outcome.publish(judge.add(self.report.findings, verdict.findings), "after evaluation")

    def judge(self) -> None:
        self.judged = True
        assert self.start is not None
        now = self._snapshot()
        trained = any(not judge.same(self.start.get(k), now.get(k)) for k in self.indicators)
        steps = self.count - self.baseline_step
        verdict = judge.judge_training(self.layers, self.start, now, steps, self.where, trained)
        verdict.findings.extend(self._gap(now, steps, verdict))
        self.outcome.replace_notes(*judge.UNTRAINED_NOTE, by=None)  # answered by this judgement
        self.outcome.publish(judge.add(self.report.findings, verdict.findings),
                             f"after {self.count - self.baseline_step} steps", verdict.all_notes())

    # -- internals -----------------------------------------------------------------------------
    def _sample_statistics(self, training: bool = True) -> gap.SampleStats | None:
        """The sample's batch statistics per layer (None, with a note, when they cannot be measured);
        ``training``: whether the train step runs the model in training mode."""
        if self.sample is None or self.sample_failed:
            return None
        try:
            stats = gap.sample_statistics(self.model, self.sample, training)
        except Exception as exc:  # noqa: BLE001 - the monitor must never stop training by itself
            reason = str(exc) if isinstance(exc, gap.NotMeasurable) else f"{type(exc).__name__}: {exc}"
            self.outcome.note(f"the sample could not be run through the model without updates ({reason}), so the "
                              "moving statistics were not compared with the training batches' statistics")
            self.sample_failed = True
            return None
        names = {id(layer): path for path, layer in batch_norm_layers(self.model)}
        for key, why in stats.unmeasured.items():
            self.outcome.note(f"{names.get(key, '?')}: its statistics on the sample were not measured: {why}")
        return stats

    def _gap(self, now: Snapshot, steps: int, verdict: Verdict) -> list[Finding]:
        """BN005 early from the sample's statistics before step one and now."""
        if self.start is None:
            return []
        moved = judge.updated(self.layers, self.start, now)
        if self.sample_before is None:
            if moved and self.sample is None:
                verdict.notes.append("the moving statistics were not compared with the statistics of the training "
                                     "batches (BN005 early): pass sample=<one batch of training inputs> to measure it")
            return []
        after = self._sample_statistics(training=bool(moved))  # nothing updated: the step runs inference
        if after is None:
            return []
        objects = dict(batch_norm_layers(self.model))
        eps = {name: float(getattr(obj, "epsilon", 1e-3)) for name, obj in objects.items()}
        ids = {name: id(obj) for name, obj in objects.items()}
        updated = {id(layer) for layer in moved}
        kept = [(layer, eps.get(layer.name, 1e-3)) for layer in self.layers if id(layer) not in updated]
        verdict.notes.extend(gap.inference_notes(kept, now, after.inference, ids))
        pairs = [(layer, eps.get(layer.name, 1e-3)) for layer in moved]
        return gap.judge_gap(pairs, self.start, now, steps, self.sample_before.training, after.training, ids,
                             self.where).findings

    def _built(self) -> bool:
        return bool(getattr(self.model, "built", True)) and bool(getattr(self.model, "weights", ()))

    def _snapshot(self, moving_only: bool = False) -> Snapshot:
        wanted: dict[str, Any] = {}
        for layer in self.layers:
            wanted.update({f"{layer.name}/{r}": v for r, v in layer.moving.items()} if moving_only else layer.keys())
        if not moving_only:
            wanted.update(self.indicators)
        snap, failed = _read(wanted)
        for key in failed:
            self.outcome.note(f"{key.rsplit('/', 1)[0]}: its variable {key} could not be read, so the runtime did "
                              "not judge the layer")
        return snap
