"""BN006 invalid-moving-stats."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from bncheck.findings import Finding
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context
from bncheck.rules.values import describe


class InvalidMovingStats(Rule):
    """A moving statistic holds NaN or Inf, or the moving variance has negative entries.

    Inference normalises with these values, so every output that passes the layer is NaN (or the
    square root of a negative variance is). A diverged run leaves NaN behind (a too-high learning
    rate, a NaN in the data), and a negative variance comes from corrupted or hand-edited
    weights. Read from checkpoints, a SavedModel's ``variables/`` and ``.keras``/``.h5`` weights.
    """

    code = "BN006"
    invalid = (
        Example("keras3/checkpoint_nan_variance", ("bn2",)),
    )
    valid = (
        Example("keras3/checkpoint_custom_loop_training_true"),
        Example("keras3/fit_clean.keras"),
        Example("tf1/layers_checkpoint_with_updates"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        values = ctx.model.values
        if values is None:
            return
        for layer in ctx.layers:
            keys = ctx.value_keys(layer)
            facts: dict[str, object] = {}
            for role in ("moving_mean", "moving_variance"):
                if role not in keys:
                    continue
                tensor = np.asarray(values.read(keys[role]), dtype=np.float64).reshape(-1)
                nan, inf = np.flatnonzero(np.isnan(tensor)), np.flatnonzero(np.isinf(tensor))
                neg = np.flatnonzero(tensor < 0) if role == "moving_variance" else np.array([], dtype=int)
                for label, where in (("NaN", nan), ("Inf", inf), ("negative", neg)):
                    if where.size:
                        shown = ", ".join(str(i) for i in where[:8]) + (", ..." if where.size > 8 else "")
                        facts[f"{role} {label} at"] = f"index {shown} ({where.size} of {tensor.size})"
                if any(k.startswith(role) for k in facts):
                    facts[role] = describe(tensor) + "; " + ", ".join(
                        f"[{i}]={tensor[i]:.6g}" for i in np.concatenate([nan, inf, neg])[:4].astype(int))
            if not facts:
                continue
            what = sorted({k.split(" ")[1] for k in facts if k.endswith(" at")})
            yield self.finding(
                ctx, layer,
                f"moving statistics hold {' and '.join(what)} values: inference outputs through this layer are invalid",
                {**facts, "values from": values.origin},
                "retrain from the last checkpoint with finite statistics (lower the learning rate, "
                "check the data for NaN, add tf.keras.callbacks.TerminateOnNaN())",
            )
