"""BN007 momentum-out-of-range."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule, fmt_momentum
from bncheck.rules.context import Context

LOW = 0.5


class MomentumOutOfRange(Rule):
    """The moving-average momentum (decay) is below 0.5, or not below 1.

    TensorFlow's momentum is the weight of the *old* moving value: ``new = m * moving + (1 - m) *
    batch``, usually 0.9-0.999. PyTorch's ``momentum=0.1`` means the opposite, and the widely copied
    hand-written layer with ``decay=1e-5`` keeps only the last batch: the "moving" average is
    whatever batch came last. At 1 or above the average never moves (or diverges). The value is
    read from the graph's constants, by solving each update for the weight of the old value, or
    from a Keras model config's ``momentum`` (Keras momentum is 1 - PyTorch momentum).
    """

    code = "BN007"
    invalid = (
        Example("tf1/layers_momentum_0.1.meta", ("model/bn1", "model/bn2")),
        Example("tf1/handwritten_decay_1e-5_wired.meta", ("bn1", "bn2")),
        Example("tf1/handwritten_decay_1e-5_unwired.meta", ("bn1", "bn2")),
        Example("keras3/momentum_0.1.keras", ("bn1", "bn2")),
        Example("tfkeras/momentum_0.1.h5", ("bn1", "bn2")),
        Example("tf1/layers_momentum_1.0.meta", ("model/bn1", "model/bn2")),
        Example("tf1/handwritten_assign_add_decay_0.1.meta", ("bn1",)),
        Example("keras3/momentum_0.5_and_1.0.keras", ("bn2",)),  # 0.5 is fine, 1.0 is not
        Example("tf1/layers_momentum_0.5_then_0.1.meta", ("model/bn2",)),
        Example("tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta", ("bn1",)),
        Example("tf1/handwritten_ema_cond_decay_0.1.meta", ("bn1", "bn2")),  # ExponentialMovingAverage(0.1)
    )
    valid = (
        Example("tf1/handwritten_decay_0.999_wired.meta"),
        Example("tf1/handwritten_ema_cond_decay_0.999.meta"),
        Example("tf1/layers_renorm_wired.meta"),  # every renorm and moving average solved: 0.99
        Example("tf1/layers_resource_update_ops_wired.meta"),
        Example("tf1/slim_create_train_op.meta"),
        Example("keras3/fit_clean.keras"),
        Example("tfkeras/fit_clean.h5"),
        Example("keras3/train_signature_training_true"),
        Example("tf1/layers_deep_dense_momentum_wired.meta"),
        Example("tf1/slim_bare_batch_norms_create_train_op.meta"),
        Example("tf1/dcgan_train.meta"),
        Example("tf1/layers_cond_v2_flag_update_ops_wired.meta"),
        Example("tf1/maml_second_order.meta"),
        Example("tf1/handwritten_assign_add_decay_0.9.meta"),
        Example("tf1/layers_is_inference_flag_wired.meta"),  # the cond predicate is a negated flag
        Example("tf1/layers_mode_string_flag_wired.meta"),  # the cond predicate is tf.equal(mode, "train")
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            keras_layer = ctx.keras_layer(layer)
            if keras_layer is not None and not layer.updates:
                momentum = keras_layer.momentum
                if not LOW <= momentum < 1.0:
                    yield self.finding(
                        ctx, layer,
                        f"moving-average momentum is {fmt_momentum(momentum)}: "
                        + ("the moving average is essentially the last batch" if momentum < LOW
                           else "the moving average never converges"),
                        {"momentum": fmt_momentum(momentum), "read from": "the layer's config (momentum)",
                         "built with": fixes.api_name("keras")},
                        fixes.momentum("keras"),
                    )
                continue
            bad = [u for u in layer.updates if u.momentum is not None and not (LOW <= u.momentum < 1.0)]
            if not bad:
                continue
            values = sorted({fmt_momentum(u.momentum) for u in bad})  # type: ignore[arg-type]  # bad updates have a solved momentum (filtered above)
            shown = ", ".join(str(v) for v in values)
            below_range = all(u.momentum < LOW for u in bad if u.momentum is not None)  # raw values, not as printed
            why = "the moving average is essentially the last batch" if below_range else "the moving average never converges"
            yield self.finding(
                ctx, layer,
                f"moving-average momentum is {shown}: {why}",
                {
                    "momentum": values[0] if len(values) == 1 else tuple(str(v) for v in values),
                    "update ops": sorted(u.node for u in bad),
                    "built with": fixes.api_name(layer.api),
                },
                fixes.momentum(layer.api),
            )
