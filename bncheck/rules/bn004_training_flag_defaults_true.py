"""BN004 training-flag-defaults-true."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


class TrainingFlagDefaultsTrue(Rule):
    """Batch-norm mode is chosen at run time by a boolean that defaults to training.

    The layer was built with ``training=<tensor>`` (a ``tf.cond``), and in an inference entry
    that does not feed that tensor it takes its default: a ``placeholder_with_default(True)`` or a
    constant True. Serving then runs the training branch. Default the flag to False and feed True
    in the training loop, so forgetting to feed it is the harmless case.
    """

    code = "BN004"
    invalid = (
        Example("tf1/saved_model_flag_default_true", ("model/bn1", "model/bn2")),
        Example("tf1/frozen_flag_default_true.pbtxt", ("model/bn1", "model/bn2")),
        Example("tf1/saved_model_flag_cond_v2_default_true", ("model/bn1", "model/bn2")),
        # the user's own tf.cond around the layers: the fused op is ops away from the cond's Switch
        Example("tf1/cond_around_layers_default_true.pb", ("model/bn",)),
        Example("tf1/frozen_cond_around_layers_default_true.pb", ("model/bn",)),
    )
    valid = (
        Example("tf1/saved_model_flag_default_false"),
        Example("tf1/saved_model_flag_is_input"),
        Example("tf1/saved_model_flag_cond_v2_default_false"),
        Example("tf1/cond_around_layers_default_false.pb"),
        Example("tf1/frozen_cond_around_layers_default_false.pb"),
        Example("tf1/frozen_layers_training_true.pb"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        for layer in ctx.layers:
            flags: dict[str, list[str]] = {}
            for reach in ctx.reaches:
                for op in layer.training_ops:
                    pred = ctx.switch_predicate(op)
                    if pred is None or op.branch is None or op.node not in reach.live:
                        continue
                    value = reach.folder.scalar(pred)
                    if value is None or bool(value) != (op.branch[1] == 1):
                        continue  # caller-fed, or the default picks inference
                    source = ctx.flag_source(pred)
                    if source is None:
                        ctx.cannot_judge("BN004", layer.name, f"training mode is picked by {pred}, True unless fed, "
                                         "which bncheck could not trace to a placeholder or constant")
                        continue
                    flags.setdefault(source, []).append(reach.entry.name)
            for flag, entries in sorted(flags.items()):
                node = ctx.graph[flag]
                what = "placeholder_with_default" if node.op == "PlaceholderWithDefault" else "constant"
                yield self.finding(
                    ctx, layer,
                    f"training mode is selected by {flag!r}, a {what} that is True when not fed",
                    {
                        "flag": flag,
                        "flag op": node.op,
                        "not fed by": sorted(set(entries)),
                        "ops": sorted({op.node for op in layer.training_ops}),
                    },
                    fixes.flag_default(flag),
                )
