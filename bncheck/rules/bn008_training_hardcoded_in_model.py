"""BN008 training-hardcoded-in-model."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding, Severity
from bncheck.graph.keras_model import KERAS3, TF_KERAS
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


class TrainingHardcodedInModel(Rule):
    """A Keras model calls a batch-norm layer with ``training=True`` fixed in the model itself.

    ``BatchNormalization()(x, training=True)`` in a functional model (or a nested model called with
    ``training=True``) is saved in the config (``inbound_nodes[].kwargs.training``). What it does
    depends on the Keras that runs the model, read from the file (``keras_version``) or the live
    model's package:

    - tf-keras (Keras 2): the fixed value overrides the caller. ``predict``, ``evaluate``,
      ``model(x, training=False)`` and every export normalise with batch statistics and update the
      moving averages on each call (an error).
    - Keras 3: the caller's ``training`` wins; the fixed value applies only when the model is
      called without one (``model(x)`` in a custom serving ``tf.function`` or a loop), where the
      layer then uses batch statistics. ``predict``, ``training=False`` and ``export`` infer (a warning).
    - A frozen layer (``trainable=False`` on it or on an enclosing model, e.g. a frozen base) runs
      in inference mode whatever ``training`` says, in both. It is a warning naming the risk: once
      unfrozen for fine-tuning, the fixed ``training=True`` switches it to batch statistics. The
      Keras transfer-learning guide calls the base with ``training=False``.

    ``training=False`` fixed in the model is the documented way to freeze BN and is not reported.
    Read from ``.keras``/``.h5`` configs and live Keras models, without deserialising the model.
    """

    code = "BN008"
    invalid = (
        Example("keras3/training_kwarg.keras", ("block/bn1", "bn2"), Severity.WARNING),
        Example("keras3/nested_training_true.keras", ("base/bn1",), Severity.WARNING),
        Example("keras3/frozen_base_training_true.keras", ("base/bn1",), Severity.WARNING),
        Example("tfkeras/training_kwarg.h5", ("bn1", "bn2"), Severity.ERROR),
        Example("tfkeras/nested_training_true.h5", ("base/bn1",), Severity.ERROR),
        Example("tfkeras/frozen_base_training_true.h5", ("base/bn1",), Severity.WARNING),
    )
    valid = (
        Example("keras3/fit_clean.keras"),
        Example("keras3/sequential_clean.keras"),
        Example("keras3/frozen_base_training_false.keras"),
        Example("tfkeras/fit_clean.h5"),
        Example("tfkeras/frozen_base_training_false.h5"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        keras = ctx.model.keras
        for layer in ctx.layers:
            keras_layer = ctx.keras_layer(layer)
            if keras is None or keras_layer is None or not keras_layer.training_calls:
                continue
            message, severity = _verdict(keras.flavour, keras_layer.frozen_by)
            written_by = {KERAS3: f"Keras {keras.version or '3'}", TF_KERAS: f"tf-keras {keras.version}".strip()}.get(
                keras.flavour, "unknown (the file records no Keras version)")
            yield self.finding(
                ctx, layer, message,
                {
                    "call in the model config": list(keras_layer.training_calls),
                    "frozen (trainable=False)": keras_layer.frozen_by or None,
                    "written by": written_by,
                    "model": f"{keras.model_class} ({keras.format})",
                },
                fixes.training_fixed_in_model(keras.flavour, keras_layer.training_calls, layer.name,
                                              bool(keras_layer.frozen_by)),
                severity,
            )


def _verdict(flavour: str, frozen_by: str) -> tuple[str, Severity]:
    """What a fixed ``training=True`` does in the Keras that wrote the model, and how bad it is."""
    if frozen_by:
        when = {TF_KERAS: "whatever the caller passes (tf-keras lets the fixed value win)",
                KERAS3: "whenever the model is called without a training argument (Keras 3)"}.get(
                    flavour, "(tf-keras: whatever the caller passes; Keras 3: when the model gets no training argument)")
        return (f"training=True is fixed in the model, but {frozen_by} is frozen (trainable=False), so this layer "
                "runs in inference mode for now; unfreeze it for fine-tuning and it switches to batch statistics "
                f"and updates its moving averages {when}", Severity.WARNING)
    if flavour == TF_KERAS:
        return ("training=True is fixed in the model and tf-keras lets it override the caller: this layer uses "
                "batch statistics (and updates its moving averages) in predict(), model(x, training=False) and "
                "every export", Severity.ERROR)
    if flavour == KERAS3:
        return ("training=True is fixed in the model: Keras 3 uses batch statistics for this layer (and updates "
                "its moving averages) whenever the model is called without a training argument, e.g. model(x) "
                "in a serving tf.function; predict(), model(x, training=False) and export() run it in "
                "inference mode", Severity.WARNING)
    return ("training=True is fixed in the model, and the file does not say which Keras wrote it: tf-keras "
            "uses batch statistics for this layer at inference whatever the caller passes; Keras 3 does so "
            "only when the model is called without a training argument", Severity.WARNING)
