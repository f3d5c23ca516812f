"""What the runtime concludes from two reads of a model's variables (TF-free: numpy arrays only).

A :class:`WatchedLayer` names the variables of one batch-norm layer; a snapshot maps each
variable key (``<layer>/<role>``) to a copy of its value. The judgements compare snapshots taken
before and after a training or evaluation window and return findings and notes.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bncheck.findings import EvidenceValue, Finding, evidence
from bncheck.rules import by_code, fixes

Snapshot = dict[str, np.ndarray]
# the static checks' notes a runtime judgement answers: (start, part) of the note's text
UNTRAINED_NOTE = ("BN005:", "could not be judged from the values")
NO_LAYER_NOTE = ("bncheck: no batch-norm layer was recognised", "")
MOVING = ("moving_mean", "moving_variance")
PARAMS = ("gamma", "beta")
LOW, HIGH = 0.5, 1.0  # BN007's range for a momentum (decay)


@dataclass
class WatchedLayer:
    """One batch-norm layer and the variable objects the monitor reads (never writes).

    ``moving``/``params``: role -> variable; ``frozen``: set ``trainable=False`` on purpose;
    ``updates``: the graph has moving-average updates for it (TF1), None when the layer updates its
    statistics in its own call (Keras); ``stats``: moving role -> the batch-statistic tensor its
    update folds in (TF1, read on one step to measure the momentum applied).
    """

    name: str
    moving: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    frozen: bool = False
    updates: bool | None = None
    momentum: float | None = None
    api: str = "keras"
    stats: dict[str, Any] = field(default_factory=dict)

    def keys(self) -> dict[str, Any]:
        """``<layer>/<role>`` -> variable, moving statistics first."""
        return {f"{self.name}/{role}": var for role, var in {**self.moving, **self.params}.items()}


@dataclass(frozen=True)
class Where:
    """Where findings come from: the same ``path`` as the static check of the same object."""

    path: str
    graph: str


def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Bit-identical (NaN equal to NaN in the same place)."""
    if a is None or b is None or a.shape != b.shape or a.dtype != b.dtype:
        return False
    return a.tobytes() == b.tobytes()


def finding(code: str, layer: str, where: Where, message: str, facts: Mapping[str, EvidenceValue | None],
            fix: str) -> Finding:
    rule = by_code(code)
    assert rule is not None, code
    return Finding(code=code, rule=rule.name, severity=rule.severity, layer=layer, message=message,
                   path=where.path, graph=where.graph, evidence=evidence(facts), fix=fix)


def _initial(layer: WatchedLayer, snap: Snapshot) -> bool:
    """Moving mean all 0 and moving variance all 1: nothing ever updated them."""
    mean, var = snap.get(f"{layer.name}/moving_mean"), snap.get(f"{layer.name}/moving_variance")
    return (mean is not None and var is not None and not np.any(mean) and bool(np.all(var == 1)))


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)

    def all_notes(self) -> list[str]:
        """The notes, with one naming the layers frozen on purpose."""
        return self.notes + ([frozen_note(self.frozen)] if self.frozen else [])


def judge_training(layers: Sequence[WatchedLayer], before: Snapshot, after: Snapshot, steps: int, where: Where,
                   trained_elsewhere: bool, train_ops: Sequence[str] = ()) -> Verdict:
    """BN001 / BN009 (and BN007 for a momentum of 1) from moving statistics that did not move in
    ``steps`` training steps while the layer's gamma/beta (or other weights) did."""
    out = Verdict()
    for layer in layers:
        keys = layer.keys()
        if any(k not in before or k not in after for k in keys):
            out.notes.append(f"{layer.name}: its variables could not be read, so the runtime did not judge it")
            continue
        still = [role for role in MOVING if role in layer.moving and same(before[f"{layer.name}/{role}"],
                                                                          after[f"{layer.name}/{role}"])]
        if not still:
            continue
        if layer.frozen:
            out.frozen.append(layer.name)
            continue
        moved = [role for role in PARAMS if role in layer.params
                 and not same(before[f"{layer.name}/{role}"], after[f"{layer.name}/{role}"])]
        if not moved and not layer.params and trained_elsewhere:
            moved = ["other trainable weights"]
        if not moved:
            out.notes.append(f"{layer.name}: neither its moving statistics nor its gamma/beta changed in {steps} "
                             "steps, so the runtime did not judge it")
            continue
        facts: dict[str, EvidenceValue | None] = {
            "steps watched": steps, "unchanged": tuple(f"{layer.name}/{r}" for r in still),
            "moved": tuple(m if " " in m else f"{layer.name}/{m}" for m in moved)}
        if layer.momentum is not None and layer.momentum >= HIGH:
            facts["momentum"] = float(f"{layer.momentum:.6g}")
            out.findings.append(finding(
                "BN007", layer.name, where,
                f"momentum {layer.momentum:g}: the moving statistics stayed bit-identical for {steps} training "
                "steps, so inference will normalise with their initial values", facts, fixes.momentum(layer.api)))
        elif layer.updates:
            facts["train op"] = tuple(train_ops)
            out.findings.append(finding(
                "BN001", layer.name, where,
                f"the moving statistics stayed bit-identical for {steps} training steps while the layer trained: "
                f"the train op{' ' + ', '.join(train_ops) if train_ops else ''} never runs their update ops",
                facts, fixes.updates_not_run(layer.api)))
        elif _initial(layer, after):
            out.findings.append(finding(
                "BN009", layer.name, where,
                f"the moving statistics stayed at their initial 0 and 1 for {steps} training steps while the layer "
                "trained: the train step runs it in inference mode (training=True missing)",
                facts, fixes.training_mode_in_train_step(layer.api)))
        else:
            out.notes.append(f"{layer.name}: runs in inference mode while its gamma/beta train, keeping moving "
                             "statistics that were already trained (the fine-tuning recipe); not reported")
    return out


def updated(layers: Sequence[WatchedLayer], before: Snapshot, after: Snapshot) -> list[WatchedLayer]:
    """The layers (not frozen) whose every moving statistic changed between the two snapshots."""
    return [layer for layer in layers if not layer.frozen and layer.moving and all(
        not same(before.get(f"{layer.name}/{r}"), after.get(f"{layer.name}/{r}")) for r in layer.moving)]


def frozen_note(names: list[str]) -> str:
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (f"frozen on purpose (trainable=False), not judged: {shown}: their moving statistics did not move, "
            "as expected")


def judge_evaluation(layers: Sequence[WatchedLayer], before: Snapshot, after: Snapshot, where: Where,
                     keras: bool) -> Verdict:
    """BN003 (and BN002 for Keras, whose layers update only when they normalise with batch
    statistics): moving statistics that changed during evaluation."""
    out = Verdict()
    for layer in layers:
        changed = [f"{layer.name}/{r}" for r in MOVING if r in layer.moving
                   and f"{layer.name}/{r}" in before and f"{layer.name}/{r}" in after
                   and not same(before[f"{layer.name}/{r}"], after[f"{layer.name}/{r}"])]
        if not changed:
            continue
        facts: dict[str, EvidenceValue | None] = {"changed during evaluation": tuple(changed)}
        out.findings.append(finding(
            "BN003", layer.name, where, "evaluation changed the moving statistics: inference runs the layer's "
            "moving-average updates, so every evaluation or prediction rewrites the model",
            facts, fixes.inference_without_updates(layer.api)))
        if keras:
            out.findings.append(finding(
                "BN002", layer.name, where, "the layer ran in training mode during evaluation: it normalised with "
                "the batch's statistics, so one example's prediction depends on the rest of its batch",
                facts, fixes.inference_mode(layer.api)))
    return out


def measured_momentum(moving_before: np.ndarray, moving_after: np.ndarray, stat: np.ndarray) -> float | None:
    """The momentum ``a`` of ``after = a * before + (1 - a) * stat``, per channel, median; None when
    the statistic is too close to the moving value to tell, or the update did not run at all."""
    if same(np.asarray(moving_before), np.asarray(moving_after)):
        return None  # not updated on this step: BN001/BN009's business, not a momentum
    m0, m1, s = (np.asarray(x, dtype=np.float64).ravel() for x in (moving_before, moving_after, stat))
    if not (m0.shape == m1.shape == s.shape) or not m0.size:
        return None
    gap = m0 - s
    usable = np.abs(gap) > 1e-3 * (1.0 + np.abs(s))
    if not np.any(usable) or not np.all(np.isfinite(m1[usable])):
        return None
    return float(np.median((m1[usable] - s[usable]) / gap[usable]))


def judge_momentum(layer: WatchedLayer, measured: Mapping[str, float], where: Where, step: int) -> Finding | None:
    """BN007 from the momentum measured on one step (``measured``: moving role -> momentum)."""
    bad = {role: a for role, a in measured.items() if not LOW <= a < HIGH}
    if not bad:
        return None
    facts: dict[str, EvidenceValue | None] = {
        **{f"measured {role} momentum (step {step})": float(f"{a:.4g}") for role, a in measured.items()},
        "configured momentum": None if layer.momentum is None else float(f"{layer.momentum:.6g}")}
    worst = min(bad.values())
    return finding("BN007", layer.name, where,
                   f"the moving statistics follow the batch statistics with momentum {worst:.3g} (measured on step "
                   f"{step}): {'the last batch wins' if worst < LOW else 'they never move'}",
                   facts, fixes.momentum(layer.api))


def merged(static: Finding, runtime: Finding) -> Finding:
    """The runtime finding, with the static finding's evidence it does not repeat."""
    labels = {label for label, _ in runtime.evidence}
    extra = tuple((label, value) for label, value in static.evidence if label not in labels)
    return dataclasses.replace(runtime, evidence=runtime.evidence + extra)


def add(findings: list[Finding], new: Iterable[Finding]) -> list[Finding]:
    """Add ``new`` to ``findings`` (in place); a (code, layer) already there is replaced by the
    merged finding. Returns the findings that were not there before."""
    fresh: list[Finding] = []
    for item in new:
        at = next((i for i, f in enumerate(findings) if (f.code, f.layer) == (item.code, item.layer)), None)
        if at is None:
            findings.append(item)
            fresh.append(item)
        else:
            findings[at] = merged(findings[at], item)
    return fresh
