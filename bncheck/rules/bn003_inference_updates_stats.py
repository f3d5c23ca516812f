"""BN003 inference-updates-stats."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


# keras.applications.MobileNetV2's batch-norm layers (fixtures/keras3/mobilenet_v2_*)
_MOBILENET_V2 = ("bn_Conv1", "expanded_conv_depthwise_BN", "expanded_conv_project_BN", "Conv_1_bn") + tuple(
    f"block_{i}_{part}_BN" for i in range(1, 17) for part in ("expand", "depthwise", "project"))


class InferenceUpdatesStats(Rule):
    """Computing an inference graph's outputs runs ops that assign to the moving statistics.

    Every prediction overwrites the moving mean and variance with a blend of the served batch, so
    the model drifts with the traffic it sees (and concurrent requests race on the variables). The
    usual cause is a training-mode layer whose updates run in place, such as tf-slim's
    ``batch_norm(updates_collections=None)`` exported with ``is_training=True``.
    """

    code = "BN003"
    invalid = (
        Example("tf1/saved_model_slim_is_training_true", ("net/conv1/BatchNorm", "net/conv2/BatchNorm")),
        Example("keras3/saved_model_serving_training_true", ("bn1", "bn2")),
        Example("tfkeras/saved_model_serving_training_true", ("bn1", "bn2")),
        Example("tf1/dcgan_sampler_train_true", ("generator/g_bn0", "generator/g_bn1", "generator/g_bn2")),
        Example("keras3/mobilenet_v2_serving_training_true", _MOBILENET_V2),
    )
    valid = (
        Example("tf1/saved_model_slim_is_training_false"),
        Example("tf1/frozen_layers_training_true.pb"),
        Example("tf1/saved_model_flag_default_false"),
        Example("keras3/saved_model_serving_training_false"),
        Example("tfkeras/saved_model_clean"),
        Example("tf1/dcgan_sampler_train_false"),
        Example("keras3/mobilenet_v2_serving_training_false"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            runs = [(reach.entry.name, u) for reach in ctx.reaches for u in layer.updates if u.node in reach.live]
            if not runs:
                continue
            yield self.finding(
                ctx, layer,
                "every inference call overwrites the moving statistics with the served batch",
                {
                    "update ops run": sorted({u.node for _, u in runs}),
                    "moving variables": sorted({u.variable for _, u in runs}),
                    "run by": sorted({e for e, _ in runs}),
                    "built with": fixes.api_name(layer.api),
                },
                fixes.inference_without_updates(layer.api),
            )
