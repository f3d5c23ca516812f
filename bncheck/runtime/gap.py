"""BN005 early: moving statistics that do not follow the batches a layer normalises in training.

The batch statistics come from one batch of training inputs the user hands the monitor
(``sample=``), run through the model as a training step would run it but without a single
update: each batch-norm layer that trains in training mode is replaced by its formula with the
sample's own batch statistics (numpy), every other layer runs in inference mode. Nothing is
written, no random number is drawn. A layer after one that behaves differently in training
(dropout, noise) is not measured: the sample would not show what it sees.

The judgement accounts for warm-up exactly: after ``n`` updates with momentum ``m`` from ``s0``,
``moving = m**n * s0 + (1 - m) * sum_k m**(n - k) * batch_k``, so the debiased value
``(moving - m**n * s0) / (1 - m**n)`` is a weighted mean of the batch statistics the layer saw.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bncheck.findings import EvidenceValue
from bncheck.runtime.judge import Snapshot, Verdict, WatchedLayer, Where, finding, same

Stats = dict[int, list[tuple[np.ndarray, np.ndarray]]]  # id(layer) -> (mean, var) per training-mode call
# a gap counts only when the median channel is this far from every batch statistic the layer could
# have averaged: 1 standard deviation of the channel for the mean, a factor 4 for the variance
MEAN_GAP, VAR_GAP = 1.0, math.log(4.0)
# a layer kept in inference mode is noted when its statistics are this far from the sample's (its
# inputs drift as the layers before it train: 1.6 std after 3 fine-tuning steps on the same data)
NOTE_MEAN_GAP, NOTE_VAR_GAP = 3.0, math.log(16.0)


class NotMeasurable(Exception):
    """The sample cannot be run through this model without updates (the reason is the message)."""


def _is_batch_norm(layer: Any) -> bool:
    return (any("BatchNormalization" in cls.__name__ for cls in type(layer).__mro__)
            and hasattr(layer, "moving_mean") and hasattr(layer, "moving_variance"))


def _takes_training(layer: Any) -> bool:
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (AttributeError, TypeError, ValueError):
        return True  # unknown: assume it behaves differently in training


def _differs_in_training(layer: Any) -> bool:
    """Keras's own random layers, and any layer of yours whose ``call`` takes ``training``."""
    name = type(layer).__name__
    if type(layer).__module__.split(".")[0] in ("keras", "tf_keras"):
        return "Dropout" in name or "Noise" in name or name.startswith("Random")
    return _takes_training(layer)


def _contains_batch_norm(layer: Any) -> bool:
    flatten = getattr(layer, "_flatten_layers", None)
    return flatten is not None and any(_is_batch_norm(x) for x in flatten(include_self=False, recursive=True))


@dataclass
class SampleStats:
    """The sample's input statistics per layer: ``training`` for calls that normalise with batch
    statistics in training, ``inference`` for calls that run in inference mode while the model trains
    (frozen or fine-tuned layers); ``unmeasured``: layer id -> why not."""

    training: Stats = field(default_factory=dict)
    inference: Stats = field(default_factory=dict)
    unmeasured: dict[int, str] = field(default_factory=dict)


def _moments(layer: Any, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    kept = [int(a) % data.ndim for a in axes]
    reduce = tuple(i for i in range(data.ndim) if i not in kept)
    values = data.astype(np.float64)
    return values.mean(axis=reduce), values.var(axis=reduce), kept


class _Run:
    """One update-free training-mode pass of the sample."""

    def __init__(self) -> None:
        self.out = SampleStats()
        self.tainted: dict[int, Any] = {}  # id -> tensor (kept alive) computed after a training-only layer

    def _is_tainted(self, values: Sequence[Any]) -> bool:
        return any(id(v) in self.tainted for v in values)

    def _taint(self, out: Any, tainted: bool = True) -> Any:
        if tainted:
            for item in (out if isinstance(out, (list, tuple)) else [out]):
                self.tainted[id(item)] = item
        return out

    def model(self, model: Any, inputs: Any, depth: int = 0, training: bool = True) -> Any:
        if depth > 50:
            raise NotMeasurable("models nested too deep")
        inner = getattr(model, "_functional", None)  # Keras 3 Sequential
        if inner is not None and hasattr(inner, "_run_through_graph"):
            model = inner
        if hasattr(model, "_run_through_graph") and hasattr(model, "_nodes_by_depth"):  # Keras 3 functional
            return model._run_through_graph(inputs, operation_fn=lambda op: self._op(op, depth, training))
        if type(model).__name__ == "Sequential" and hasattr(model, "layers"):  # tf-keras
            x = inputs
            for layer in model.layers:
                x = self._op(layer, depth, training)(x)
            return x
        raise NotMeasurable(f"{type(model).__name__} models (only Keras 3 functional and Sequential models, and "
                            "tf-keras Sequential models, are run on the sample)")

    def _op(self, op: Any, depth: int, training: bool) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            trains = training and kwargs.get("training", True) is not False and getattr(op, "trainable", True)
            tainted = self._is_tainted(args)
            inference = {**kwargs, "training": False}
            if _is_batch_norm(op):
                if trains:
                    return self._batch_norm(op, args[0], kwargs, tainted)
                if not tainted:
                    mean, var, _ = _moments(op, np.asarray(args[0]))
                    self.out.inference.setdefault(id(op), []).append((mean.ravel(), var.ravel()))
                return self._taint(op(*args, **inference), tainted)
            if _contains_batch_norm(op):
                try:
                    out = self.model(op, args[0] if len(args) == 1 else list(args), depth + 1, trains)
                except NotMeasurable:
                    if trains:
                        raise
                    out = op(*args, **inference)  # inference mode as a whole: nothing to measure inside
                return self._taint(out, tainted)
            if not _takes_training(op):
                return self._taint(op(*args, **kwargs), tainted)
            return self._taint(op(*args, **inference), tainted or _differs_in_training(op))

        return call

    def _batch_norm(self, layer: Any, x: Any, kwargs: dict[str, Any], tainted: bool) -> Any:
        special = [a for a in ("renorm", "virtual_batch_size", "adjustment") if getattr(layer, a, None)]
        if kwargs.get("mask") is not None:
            special.append("mask")
        data = np.asarray(x)
        mean, var, axes = _moments(layer, data)
        if special or tainted:
            self.out.unmeasured[id(layer)] = (f"it uses {', '.join(special)}" if special else
                                              "a layer before it (dropout, noise) behaves differently in training")
        else:
            self.out.training.setdefault(id(layer), []).append((mean.ravel(), var.ravel()))
        shape = [data.shape[i] if i in axes else 1 for i in range(data.ndim)]
        out = (data.astype(np.float64) - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + float(layer.epsilon))
        gamma, beta = getattr(layer, "gamma", None), getattr(layer, "beta", None)
        if gamma is not None:
            out = out * np.asarray(gamma.numpy(), dtype=np.float64).reshape(shape)
        if beta is not None:
            out = out + np.asarray(beta.numpy(), dtype=np.float64).reshape(shape)
        return self._taint(out.astype(data.dtype if data.dtype.kind == "f" else np.float32), tainted)


def sample_statistics(model: Any, sample: Any, training: bool = True) -> SampleStats:
    """The statistics of each batch-norm layer's input on ``sample``, run as a training step would
    run it (``training=False``: a step that calls the model in inference mode), without updates
    (keys: ``id`` of the layer)."""
    run = _Run()
    run.model(model, sample, training=training)
    return run.out


def _interval_gap(lo1: np.ndarray, hi1: np.ndarray, lo2: np.ndarray, hi2: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.maximum(0.0, np.maximum(lo1 - hi2, lo2 - hi1))
    return out


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    return out


def gaps(start: tuple[np.ndarray, np.ndarray], now: tuple[np.ndarray, np.ndarray], momentum: float, steps: int,
         before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray],
         epsilon: float) -> tuple[float, float]:
    """(median mean gap in channel standard deviations, median variance gap as |log ratio|).

    ``start``/``now``: the moving (mean, variance) before step one and now; ``before``/``after``:
    the sample's batch (mean, variance) then and now. The moving value is debiased for every number
    of updates from ``steps // 2`` to infinitely many (an interval: a count that is off, e.g. a
    step that does not run the layer, is no gap), and compared with the interval the sample's
    statistics moved through while the model trained (warm-up and drift are no gap)."""
    out = []
    for i in range(2):
        s0, moving, b0, b1 = (np.asarray(v[i], dtype=np.float64).ravel() for v in (start, now, before, after))
        a = momentum ** max(1, steps // 2)
        debiased = (moving - a * s0) / (1.0 - a)
        lo, hi = np.minimum(moving, debiased), np.maximum(moving, debiased)
        if i == 0:
            scale = np.sqrt(np.minimum(before[1], after[1]).ravel().astype(np.float64) + epsilon)
            gap = _interval_gap(lo, hi, np.minimum(b0, b1), np.maximum(b0, b1)) / scale
        else:
            lo_l, hi_l = _log(lo + epsilon), _log(hi + epsilon)
            b0_l, b1_l = np.log(b0 + epsilon), np.log(b1 + epsilon)
            gap = _interval_gap(lo_l, hi_l, np.minimum(b0_l, b1_l), np.maximum(b0_l, b1_l))
        out.append(float(np.median(gap)))
    return out[0], out[1]


def judge_gap(layers: Sequence[tuple[WatchedLayer, float]], start: Snapshot, now: Snapshot, steps: int,
              before: Stats, after: Stats, ids: dict[str, int], where: Where) -> Verdict:
    """BN005 for each trained layer whose moving statistics are far from every batch statistic it
    normalised the sample with; ``layers``: (layer, epsilon); ``ids``: layer name -> id in the stats."""
    out = Verdict()
    for layer, epsilon in layers:
        keys = [f"{layer.name}/{r}" for r in ("moving_mean", "moving_variance")]
        if layer.frozen or layer.momentum is None or any(k not in start or k not in now for k in keys):
            continue
        if any(same(start[k], now[k]) for k in keys):
            continue  # not updated: judge_training's business
        if not all(np.all(np.isfinite(np.asarray(v[k], dtype=np.float64))) for v in (start, now) for k in keys):
            continue  # NaN/Inf: BN006's business
        calls_before, calls_after = before.get(ids.get(layer.name, -1)), after.get(ids.get(layer.name, -1))
        if not calls_before or not calls_after or len(calls_before) != len(calls_after):
            continue
        if not 0.0 < layer.momentum < 1.0:
            continue  # BN007's business
        measured = [gaps((start[keys[0]], start[keys[1]]), (now[keys[0]], now[keys[1]]), layer.momentum, steps,
                         b0, b1, epsilon) for b0, b1 in zip(calls_before, calls_after)]
        mean_gap, var_gap = min(measured, key=lambda g: (g[0] / MEAN_GAP) + (g[1] / VAR_GAP))
        if not (mean_gap > MEAN_GAP or var_gap > VAR_GAP):
            continue  # also a NaN gap (a sample whose statistics are not finite)
        facts: dict[str, EvidenceValue | None] = {
            "steps watched": steps, "momentum": float(f"{layer.momentum:.6g}"),
            "median mean gap (channel std)": float(f"{mean_gap:.3g}"),
            "median variance gap (factor)": float(f"{math.exp(min(var_gap, 700.0)):.3g}"),
            "channels": int(np.asarray(now[keys[0]]).size), "calls on the sample": len(measured)}
        out.findings.append(finding(
            "BN005", layer.name, where,
            f"after {steps} training steps the moving statistics, debiased for warm-up, are far from the statistics "
            "of the training batches the layer normalises: something else updates them (other data run in training "
            "mode, a different input pipeline or branch), so inference will normalise with statistics of data the "
            "model is not trained on", facts,
            "run only the training batches through the model with training=True; evaluate and run other data "
            "with training=False, preprocessed like the training data"))
    return out


def inference_notes(layers: Sequence[tuple[WatchedLayer, float]], now: Snapshot, stats: Stats,
                    ids: dict[str, int]) -> list[str]:
    """Notes for layers that run in inference mode while the model trains (frozen, or fine-tuned
    on kept statistics) whose moving statistics are far from the sample's: the train/inference
    gap of the fine-tuning recipe, on purpose or not; measured, not a finding."""
    notes = []
    for layer, epsilon in layers:
        keys = [f"{layer.name}/{r}" for r in ("moving_mean", "moving_variance")]
        calls = stats.get(ids.get(layer.name, -1))
        if not calls or any(k not in now for k in keys):
            continue
        mean, var = (np.asarray(now[k], dtype=np.float64).ravel() for k in keys)
        measured = []
        for b_mean, b_var in calls:
            if b_mean.shape != mean.shape or np.any(var + epsilon <= 0):
                continue
            measured.append((float(np.median(np.abs(mean - b_mean) / np.sqrt(b_var + epsilon))),
                             float(np.median(np.abs(np.log((var + epsilon) / (b_var + epsilon)))))))
        if not measured:
            continue
        mean_gap, var_gap = min(measured, key=lambda g: (g[0] / NOTE_MEAN_GAP) + (g[1] / NOTE_VAR_GAP))
        if mean_gap > NOTE_MEAN_GAP or var_gap > NOTE_VAR_GAP:
            notes.append(f"{layer.name}: runs in inference mode while the model trains, and its moving statistics are "
                         f"far from the training batches' (median channel: mean {mean_gap:.3g} channel std away, "
                         f"variance a factor {math.exp(min(var_gap, 700.0)):.3g} off): training and inference "
                         "normalise alike, but not to zero mean and unit variance; if the data differs from what "
                         "they were computed on, train the layer (or re-estimate its statistics)")
    return notes
