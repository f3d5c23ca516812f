"""BN008 training-hardcoded-in-model."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding, Severity
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


class TrainingHardcodedInModel(Rule):
    """A Keras model calls a batch-norm layer with ``training=True`` fixed in the model itself.

    In a functional model, ``BatchNormalization()(x, training=True)`` (or a nested model called
    with ``training=True``) is saved in the config (``inbound_nodes[].kwargs.training``) and wins
    over what the caller passes: ``model.predict`` and ``model(x, training=False)`` still normalise
    with batch statistics, and every inference call updates the moving averages. ``training=False``
    fixed in the model is the documented way to freeze BN for fine-tuning and is not reported.
    Read from ``.keras``/``.h5`` configs and live Keras models, without deserialising the model.
    """

    code = "BN008"
    name = "training-hardcoded-in-model"
    severity = Severity.ERROR
    summary = "a Keras model fixes training=True on a BN call: batch statistics at inference"
    bad = """
x = keras.layers.BatchNormalization()(x, training=True)   # saved in the model config
model = keras.Model(inputs, outputs)
"""
    good = """
x = keras.layers.BatchNormalization()(x)                  # the caller decides: fit / predict
model = keras.Model(inputs, outputs)
"""
    invalid = (
        Example("keras3/training_kwarg.keras", ("block/bn1", "bn2")),
        Example("tfkeras/training_kwarg.h5", ("bn1", "bn2")),
    )
    valid = (
        Example("keras3/fit_clean.keras"),
        Example("keras3/sequential_clean.keras"),
        Example("tfkeras/fit_clean.h5"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            keras_layer = ctx.keras_layer(layer)
            if keras_layer is None or not keras_layer.training_calls:
                continue
            own = [c for c in keras_layer.training_calls if c.startswith(layer.name + "(")]
            fix = ("x = keras.layers.BatchNormalization()(x)  # drop training=True; "
                   "fit() trains, predict()/training=False infer")
            if len(own) < len(keras_layer.training_calls):
                fix += "\n# and call the nested model without training=True: block(x)"
            yield self.finding(
                ctx, layer,
                "training=True is fixed in the model: this layer uses batch statistics (and updates its "
                "moving averages) at inference, whatever the caller passes",
                {
                    "call in the model config": list(keras_layer.training_calls),
                    "model": f"{ctx.model.keras.model_class} ({ctx.model.keras.format})" if ctx.model.keras else None,
                },
                fix,
            )
