"""BN005 stats-never-updated."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from bncheck.findings import Finding, Severity
from bncheck.graph.batchnorm import BnLayer
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule, fmt_momentum
from bncheck.rules.context import Context
from bncheck.rules.values import all_equal, describe


# tf-keras MobileNetV3Small(minimalistic=True)'s batch-norm layers, named with "/" (fixtures/tfkeras/mobilenet_v3_*)
_MOBILENET_V3 = ("Conv/BatchNorm", "Conv_1/BatchNorm", "expanded_conv/depthwise/BatchNorm",
                 "expanded_conv/project/BatchNorm") + tuple(
    f"expanded_conv_{i}/{part}/BatchNorm" for i in range(1, 11) for part in ("expand", "depthwise", "project"))


class StatsNeverUpdated(Rule):
    """After training, a layer's moving statistics are still exactly at their initial values.

    ``moving_mean`` is exactly 0 and ``moving_variance`` exactly 1 everywhere, while the layer's
    gamma or beta moved from their initial 1/0, or a step counter (``global_step``, the optimizer's
    iterations) is above 0. Any real update, even one step with momentum 0.99, moves them off
    0/1, so the updates never ran: inference with ``training=False`` normalises with 0/1. When the
    graph in the same artefact shows why (BN001: the train op does not run the update ops; BN009:
    the train step runs BN in inference mode) the finding says so. When only a step counter shows
    training (gamma/beta unchanged too) the layer may be frozen on purpose: a warning. A model with no sign of training
    (all four tensors at their initial values, no steps) is not judged; the report says so.
    Values are read from checkpoints (TF1 and TF2 keys), a SavedModel's ``variables/``, and the
    weights of ``.keras``/``.h5`` files, without TensorFlow.
    """

    code = "BN005"
    invalid = (
        Example("tf1/layers_checkpoint_no_updates", ("model/bn1", "model/bn2")),
        Example("keras3/custom_loop_training_missing.keras", ("bn1", "bn2")),
        Example("keras3/checkpoint_custom_loop_training_missing", ("bn1", "bn2")),
        # a subclassed model's BNs share TF variable names: told apart by object path
        Example("keras3/subclassed_two_bn_checkpoint_training_missing", ("model/bn_a", "model/bn_b")),
        Example("keras3/train_signature_training_missing", ("bn1", "bn2")),
        Example("keras3/train_signature_axis3_training_missing", ("bn1", "bn2")),
        Example("keras3/train_signature_bn_frozen", ("bn1", "bn2"), Severity.WARNING),
        Example("tf1/handwritten_pop_stats_checkpoint_unwired", ("bn1", "bn2")),
        Example("keras3/custom_bn_subclass_custom_loop.keras", ("bn1", "bn2")),
        Example("tfkeras/custom_bn_subclass_custom_loop.h5", ("bn1", "bn2")),
        Example("tfkeras/mobilenet_v3_custom_loop_training_missing.h5", _MOBILENET_V3),
        Example("tf1/layers_checkpoint_two_optimizers_no_updates", ("model/bn1", "model/bn2")),  # two train ops
        Example("tf1/layers_checkpoint_two_optimizers_training_false", ("model/bn1", "model/bn2")),
    )
    valid = (
        Example("tf1/layers_checkpoint_with_updates"),
        Example("keras3/fit_clean.keras"),
        Example("keras3/checkpoint_custom_loop_training_true"),
        Example("keras3/subclassed_two_bn_checkpoint_training_true"),
        Example("keras3/subclassed_two_bn.weights.h5"),  # no config, unnamed weights: a note
        Example("keras3/untrained.keras"),
        Example("keras3/untrained_scale_false_export"),  # no gamma: the moving mean is not one
        Example("tfkeras/fit_clean.h5"),
        Example("keras3/export_clean"),
        Example("tf1/handwritten_pop_stats_checkpoint_wired"),
        Example("tf1/handwritten_checkpoint_only_variance_wired"),  # mean 0 but variance moved
        Example("tf1/layers_checkpoint_step_0"),  # step 0: untrained, a note
        Example("tf1/layers_checkpoint_saver_trainable_only"),  # stats not saved: a note
        Example("keras3/custom_bn_subclass_fit.keras"),
        Example("tfkeras/custom_bn_subclass_fit.h5"),
        Example("tfkeras/mobilenet_v3_fit.h5"),
        Example("tfkeras/custom_block.h5"),  # a custom layer: its BN is judged by its values
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        values = ctx.model.values
        if values is None:
            return
        steps = {}
        for name, key in sorted(values.steps.items()):
            count = values.read(key)
            if count.size == 1 and np.isfinite(count).all():
                steps[name] = int(count.reshape(()).item())
        unjudged = []
        missing = []
        for layer in ctx.layers:
            keys = ctx.value_keys(layer)
            if "moving_mean" not in keys or "moving_variance" not in keys:
                if layer.ops:  # a layer of the graph; Keras config layers get their loader's note
                    missing.append(layer.name)
                continue
            mean, var = values.read(keys["moving_mean"]), values.read(keys["moving_variance"])
            if not (all_equal(mean, 0.0) and all_equal(var, 1.0)):
                continue
            signs: dict[str, object] = {}
            for role, initial in (("gamma", 1.0), ("beta", 0.0)):
                if role in keys:
                    tensor = values.read(keys[role])
                    if not all_equal(tensor, initial):
                        signs[f"{role} (trained)"] = describe(tensor)
            signs.update({name: count for name, count in steps.items() if count > 0})
            if not signs:
                unjudged.append(layer.name)
                continue
            step_count = max((c for c in steps.values()), default=0)
            after = f"after {step_count} steps" if step_count else "after training"
            message = f"{after} the moving statistics are still exactly 0 and 1: their updates never ran"
            cause, fix = self._cause(ctx, layer)
            if cause:
                message = f"{cause}, and indeed {after} the moving statistics are still 0/1"
            affine_moved = any(k.endswith("(trained)") for k in signs)
            severity = None
            if not affine_moved:  # only a step counter: the layer may be frozen on purpose
                severity = Severity.WARNING
                message += ("; gamma/beta are unchanged too, so the layer may be frozen on purpose "
                            "(trainable=False), in which case it normalises with 0/1")
            yield self.finding(
                ctx, layer, message,
                {
                    "moving_mean": describe(mean),
                    "moving_variance": describe(var),
                    **signs,
                    "values from": values.origin,
                    "built with": fixes.api_name(layer.api),
                },
                fix,
                severity,
            )
        if missing:
            ctx.cannot_judge("BN005", ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else ""),
                             f"the moving statistics of {len(missing)} layer(s) were not found in {values.origin}, "
                             "so whether they were updated could not be judged")
        if unjudged:
            ctx.notes.append(
                f"BN005: {len(unjudged)} layer(s) ({', '.join(unjudged[:4])}{', ...' if len(unjudged) > 4 else ''}) "
                "hold their initial values (moving 0/1, gamma 1, beta 0) and nothing shows training ran: "
                "whether their statistics update could not be judged from the values")

    @staticmethod
    def _cause(ctx: Context, layer: BnLayer) -> tuple[str | None, str]:
        """Why the statistics stayed 0/1, when the artefact shows it, and the fix for that cause."""
        keras_layer = ctx.keras_layer(layer)
        momenta = ([keras_layer.momentum] if keras_layer is not None and not layer.updates
                   else [u.momentum for u in layer.updates if u.momentum is not None])
        if momenta and all(m >= 1.0 for m in momenta):  # updates may run, but keep the old value
            shown = ", ".join(sorted({str(fmt_momentum(m)) for m in momenta}))
            return (f"the moving-average momentum is {shown}, so every update keeps the old value (BN007)",
                    fixes.momentum(layer.api))
        labels = ctx.train_op_labels()
        who = " and ".join(labels) if len(labels) < 3 else ", ".join(labels[:-1]) + " and " + labels[-1]
        stale, _ = ctx.stale_updates(layer)
        if stale:
            return f"the update ops are not run by {who} (BN001)", fixes.updates_not_run(layer.api)
        if ctx.inference_ops_in_training(layer):
            verb = "run" if len(labels) > 1 else "runs"
            return (f"{who} {verb} this layer in inference mode (BN009)",
                    fixes.training_mode_in_train_step(layer.api))
        return None, fixes.updates_not_run(layer.api)
