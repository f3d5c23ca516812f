"""BN008 training-hardcoded-in-model, on source."""
from __future__ import annotations

from typing import Iterator

from bncheck.rules import fixes
from bncheck.source.edits import Edit
from bncheck.source.model import Run, followed_calls
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule, calls_fixing_training

FIX = (
    "x = layers.BatchNormalization()(x)  # no training argument: the caller's mode decides\n"
    "# in a subclassed model: self.bn(x, training=training)"
)


class TrainingHardcodedInModelSource(SourceRule):
    """``training=True`` fixed on a BN layer (or a nested model holding BN) inside a model
    definition: in a functional model's graph, or in a subclassed model's ``call``. Inference then
    uses batch statistics whatever the caller passes (tf-keras), or whenever the model is called
    without ``training`` (Keras 3)."""

    code = "BN008"

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        followed = followed_calls(runs)
        for run in runs:
            for model in run.functional_models:
                for layer, loc in model.fixed_training:
                    yield self.finding(
                        layer, loc, f"training=True is fixed on this layer inside the model built at line "
                        f"{model.loc.line}: inference runs it with batch statistics",
                        {"model": f"{model.loc.path}:{model.loc.line}", "built with": fixes.api_name("keras")},
                        FIX, (Edit(loc, "None", safe=False),))
            for call in calls_fixing_training(run, "model_call", "BN008", lambda call: call.frame.name, context, followed):
                for layer in call.bn_layers:
                    yield self.finding(
                        layer, call.training_loc or call.loc,
                        f"{call.frame.name} calls {call.callee} with training=True: inference runs it with batch "
                        "statistics", {"model method": call.frame.name, "built with": fixes.api_name("keras")},
                        FIX, (Edit(call.training_loc, "training", safe=False),) if call.training_loc else ())
