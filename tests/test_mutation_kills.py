"""Exact outcomes that tell the analysis core from its surviving mutants (issue 8, tools/mutation.py).

Each test names the boundary it pins; tools/mutation_equivalents.md lists the mutants no test can
kill and why.
"""
from __future__ import annotations

import bncheck
from bncheck import Severity
from conftest import FIXTURES


def findings(fixture: str, select: list[str] | None = None) -> list[tuple[str, str, Severity, str, dict]]:
    report = bncheck.check_path(FIXTURES / fixture, select=select)
    assert not report.errors, report.errors
    return sorted((f.code, f.layer, f.severity, f.message, f.evidence_dict) for f in report)


# -- BN007 boundaries: 0.5 is the lowest momentum that is fine, 1.0 the lowest that is not ----------

def test_keras_config_momentum_exactly_half_is_fine_and_exactly_one_is_not():
    """keras3/momentum_0.5_and_1.0.keras: bn1 momentum 0.5, bn2 momentum 1.0 (the builder checks that
    Keras left bn2's moving statistics at 0 and 1)."""
    bn007 = findings("keras3/momentum_0.5_and_1.0.keras", select=["BN007"])
    assert bn007 == [("BN007", "bn2", Severity.WARNING,
                      "moving-average momentum is 1.0: the moving average never converges",
                      {"momentum": 1.0, "read from": "the layer's config (momentum)",
                       "built with": "a Keras BatchNormalization layer"})]


def test_keras_config_momentum_one_also_leaves_the_statistics_unmoved():
    report = bncheck.check_path(FIXTURES / "keras3/momentum_0.5_and_1.0.keras")
    assert report.codes() == {("BN005", "bn2"), ("BN007", "bn2")}


def test_graph_momentum_exactly_half_is_fine_and_a_bad_layer_after_it_is_still_judged():
    """tf1/layers_momentum_0.5_then_0.1.meta: model/bn1 solves to 0.5, model/bn2 to 0.1."""
    assert findings("tf1/layers_momentum_0.5_then_0.1.meta") == [(
        "BN007", "model/bn2", Severity.WARNING,
        "moving-average momentum is 0.1: the moving average is essentially the last batch",
        {"momentum": 0.1,
         "update ops": ("model/bn2/AssignMovingAvg/AssignSubVariableOp",
                        "model/bn2/AssignMovingAvg_1/AssignSubVariableOp"),
         "built with": "tf.compat.v1.layers.batch_normalization"})]


def test_two_momenta_in_one_layer_are_both_shown():
    """tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta: the mean decays with 0.1, the variance with 0.2."""
    assert findings("tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta") == [(
        "BN007", "bn1", Severity.WARNING,
        "moving-average momentum is 0.1, 0.2: the moving average is essentially the last batch",
        {"momentum": ("0.1", "0.2"), "update ops": ("bn1/Assign", "bn1/Assign_1"),
         "built with": "a hand-written batch norm (tf.nn.moments + assign)"})]


# -- BN005's cause names every train op -----------------------------------------------------------

def test_bn005_cause_names_both_train_ops_that_skip_the_updates():
    """tf1/layers_checkpoint_two_optimizers_no_updates: train_body and train_head, 20 steps, no update wiring."""
    messages = {f.layer: f.message for f in bncheck.check_path(
        FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", select=["BN005"])}
    assert messages == dict.fromkeys(("model/bn1", "model/bn2"), (
        "the update ops are not run by train_body, train_head (BN001), and indeed after 20 steps the moving "
        "statistics are still 0/1"))


def test_bn005_cause_names_both_train_ops_that_run_the_layer_in_inference_mode():
    """tf1/layers_checkpoint_two_optimizers_training_false: the model was built with training=False."""
    messages = {f.layer: f.message for f in bncheck.check_path(
        FIXTURES / "tf1/layers_checkpoint_two_optimizers_training_false", select=["BN005"])}
    assert messages == dict.fromkeys(("model/bn1", "model/bn2"), (
        "train_body, train_head runs this layer in inference mode (BN009), and indeed after 20 steps the "
        "moving statistics are still 0/1"))
