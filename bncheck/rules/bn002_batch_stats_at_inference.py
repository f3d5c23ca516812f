"""BN002 batch-stats-at-inference."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding, Severity
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


# keras.applications.MobileNetV2's batch-norm layers (fixtures/keras3/mobilenet_v2_*)
_MOBILENET_V2 = ("bn_Conv1", "expanded_conv_depthwise_BN", "expanded_conv_project_BN", "Conv_1_bn") + tuple(
    f"block_{i}_{part}_BN" for i in range(1, 17) for part in ("expand", "depthwise", "project"))


class BatchStatsAtInference(Rule):
    """An inference graph normalises with the statistics of the batch it is given.

    A ``FusedBatchNorm*`` with ``is_training`` true (an absent attribute means true), or moments
    computed from the input over the batch axis, runs when the serving outputs are computed. Each
    prediction then depends on the other examples in the batch, and a batch of one is normalised
    to zero. Only what runs counts: where a ``tf.cond``'s predicate is fixed (a constant, or a
    ``placeholder_with_default`` the signature does not feed) only the taken branch is followed.
    When the mode depends on an input the caller feeds, the finding is a warning. In TF2
    SavedModels each signature is followed through its function calls; layer traces no signature
    calls (tf-keras keeps training-mode ones) do not count, and a signature that applies an
    optimizer step is a training function, not serving.
    """

    code = "BN002"
    invalid = (
        Example("tf1/frozen_layers_training_true.pb", ("model/bn1", "model/bn2")),
        Example("tf1/frozen_unfused_layers_training_true.pb", ("model/bn1", "model/bn2")),  # moments, frozen
        Example("tf1/saved_model_slim_is_training_true", ("net/conv1/BatchNorm", "net/conv2/BatchNorm")),
        Example("tf1/saved_model_flag_default_true", ("model/bn1", "model/bn2")),
        Example("tf1/frozen_flag_default_true.pbtxt", ("model/bn1", "model/bn2")),
        Example("tf1/saved_model_flag_is_input", ("model/bn1", "model/bn2"), Severity.WARNING),
        Example("tf1/saved_model_flag_cond_v2_default_true", ("model/bn1", "model/bn2")),
        Example("tf1/saved_model_pbtxt_training_true", ("model/bn1", "model/bn2")),
        Example("keras3/saved_model_serving_training_true", ("bn1", "bn2")),
        Example("tfkeras/saved_model_serving_training_true", ("bn1", "bn2")),
        Example("tf1/dcgan_sampler_train_true", ("generator/g_bn0", "generator/g_bn1", "generator/g_bn2")),
        Example("tf1/frozen_reshape_bn_scale_false_training_true.pb", ("bn_reshaped",)),
        Example("keras3/mobilenet_v2_serving_training_true", _MOBILENET_V2),
        # a subclassed model: Keras 3 gives both BNs' TF variables the model's name (classifier/moving_mean
        # twice); the SavedModel's object graph names them by attribute path
        Example("keras3/subclassed_two_bn_serving_training_true", ("model/bn_a", "model/bn_b")),
        # the same model through keras.export.ExportArchive, whose object graph lists variables flat
        Example("keras3/subclassed_two_bn_archive_training_true",
                ("classifier (batch_normalization_1)", "classifier (batch_normalization_1_2)")),
    )
    valid = (
        Example("tf1/frozen_layers_training_false.pb"),
        Example("tf1/frozen_unfused_layers_training_false.pb"),  # Rsqrt of a constant variance
        Example("keras3/frozen_inference.pb"),  # Keras 3's Rsqrt, frozen by convert_variables_to_constants_v2
        Example("keras3/frozen_inference_axis3.pb"),  # the constant variance reshaped to [1, 1, 1, C]
        Example("tf1/saved_model_slim_is_training_false"),
        Example("tf1/saved_model_flag_default_false"),
        Example("tf1/saved_model_flag_cond_v2_default_false"),
        Example("tf1/saved_model_pbtxt_training_false"),
        Example("tf1/frozen_layer_norm.pb"),
        Example("tf1/layers_resource_update_ops_wired.meta"),
        Example("keras3/saved_model_serving_training_false"),
        Example("keras3/subclassed_two_bn_serving_training_false"),
        Example("keras3/subclassed_two_bn_archive_training_false"),
        Example("keras3/export_clean"),
        Example("tfkeras/saved_model_clean"),
        Example("tfkeras/saved_model_layer_norm"),
        Example("keras3/train_signature_training_true"),
        Example("tf1/dcgan_sampler_train_false"),
        Example("tf1/frozen_reshape_bn_scale_false_training_false.pb"),
        Example("keras3/mobilenet_v2_serving_training_false"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            hits: list[tuple[str, str, str | None]] = []  # (entry, op, caller-fed flag)
            for reach in ctx.reaches:
                for op in layer.training_ops:
                    if not ctx.runs(op, reach):
                        continue
                    pred = ctx.switch_predicate(op)
                    flag = None
                    if pred is not None and reach.folder.scalar(pred) is None:
                        flag = ctx.flag_source(pred) or str(pred)
                    hits.append((reach.entry.name, op.node, flag))
            if not hits:
                continue
            fed_flags = sorted({f for _, _, f in hits if f})
            certain = any(f is None for _, _, f in hits)
            ops = sorted({o for _, o, _ in hits})
            kind = "FusedBatchNorm with is_training=true" if any(
                o.kind == "fused" for o in layer.training_ops if o.node in ops) else "moments over the batch axis"
            facts: dict[str, object] = {
                "ops": ops,
                "mode": kind,
                "run by": sorted({e for e, _, _ in hits}),
                "built with": fixes.api_name(layer.api),
            }
            if certain:
                message = "normalises with the batch's own statistics at inference instead of the moving averages"
                yield self.finding(ctx, layer, message, facts, fixes.inference_mode(layer.api))
            else:
                facts["training flag fed by the caller"] = fed_flags
                message = (f"uses batch statistics at inference unless the caller feeds "
                           f"{', '.join(fed_flags)} = False")
                yield self.finding(ctx, layer, message, facts, fixes.inference_mode(layer.api), Severity.WARNING)
