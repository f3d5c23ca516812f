"""BN009 bn-frozen-in-train-step."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


class BnFrozenInTrainStep(Rule):
    """A training function runs a batch norm in inference mode while training its gamma/beta.

    The function computes gradients and applies an optimizer step, and the layer's ``gamma``/``beta``
    are among the variables it updates, yet the layer normalises with the moving statistics and
    never updates them. This is the custom-loop mistake of calling ``model(x)`` instead of
    ``model(x, training=True)`` in the train step: Keras then runs BN in inference mode, the moving
    statistics stay at their initial 0 and 1, and the trained gamma/beta fit those instead of the
    data. A layer frozen on purpose (``trainable=False``: gamma/beta not trained) is not reported;
    since TF 2.0 a BN layer with ``trainable=False`` always runs in inference mode, which is the
    usual way to fine-tune. Training functions are found from the graph (gradient ops feeding
    variable updates), e.g. a SavedModel's ``train`` signature or a ``tf.function`` train step.
    """

    code = "BN009"
    invalid = (
        Example("keras3/train_signature_training_missing", ("bn1", "bn2")),
        Example("keras3/train_signature_axis3_training_missing", ("bn1", "bn2")),  # statistics reshaped
    )
    valid = (
        Example("keras3/train_signature_training_true"),
        Example("keras3/train_signature_axis3_training_true"),
        Example("keras3/train_signature_bn_frozen"),
        Example("tf1/layers_train_and_eval_graph.meta"),
        Example("keras3/export_clean"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            frozen_ops = ctx.inference_ops_in_training(layer)
            if not frozen_ops:
                continue
            affine_trained = [v for v in ctx.affine_variables(layer) if v in ctx.trained_variables]
            if not affine_trained:
                continue  # frozen on purpose: gamma/beta not trained either
            yield self.finding(
                ctx, layer,
                "the train step runs this layer in inference mode (moving statistics, no updates) "
                "while the optimizer trains its gamma/beta",
                {
                    "ops in inference mode": frozen_ops,
                    "trained by the optimizer": affine_trained,
                    "moving variables never updated": layer.variables,
                    "training function": ctx.train_op_labels(),
                    "built with": fixes.api_name(layer.api),
                },
                fixes.training_mode_in_train_step(layer.api),
            )
