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


# -- hand-made graphs: the guards of the layer-norm test and of variable roles ----------------------
# Each graph is a GraphDef built here (no TensorFlow), read by the same loader as a .pb file.

def _graph_def():
    from bncheck.protos import message_class

    return message_class("tensorflow.GraphDef")()


def _add(graph, name: str, op: str, *inputs: str, **attrs):
    node = graph.node.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bool):
            node.attr[key].b = value
        elif isinstance(value, bytes):
            node.attr[key].s = value
        elif isinstance(value, list):  # a float32 constant of that value
            tensor = node.attr[key].tensor
            tensor.dtype = 1  # DT_FLOAT
            tensor.tensor_shape.dim.add().size = len(value)
            tensor.float_val.extend(value)
    return node


def _fused_on_reshape(scale: str, offset: str, extra=()):
    """x -> Reshape -> FusedBatchNormV3(NCHW, training) with empty mean/variance and unused batch
    statistics: the shape of tf-keras LayerNormalization, whatever ``scale``/``offset`` are."""
    graph = _graph_def()
    _add(graph, "x", "Placeholder")
    _add(graph, "shape", "Const", value=[1.0, 4.0, 8.0, 1.0])
    _add(graph, "norm/Reshape", "Reshape", "x", "shape")
    _add(graph, "empty", "Const", value=[])
    _add(graph, "ones", "Const", value=[1.0] * 4)
    _add(graph, "zeros", "Const", value=[0.0] * 4)
    for node in extra:
        _add(graph, *node[:-1], **node[-1])
    _add(graph, "norm/FusedBatchNormV3", "FusedBatchNormV3", "norm/Reshape", scale, offset, "empty", "empty",
         data_format=b"NCHW", is_training=True)
    _add(graph, "y", "Identity", "norm/FusedBatchNormV3")
    return graph


def _layers_of(graph) -> list[str]:
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto

    return [layer.name for layer in find_layers(graph_from_proto(graph))]


def test_constant_ones_and_zeros_on_a_reshape_are_a_layer_norm():
    assert _layers_of(_fused_on_reshape("ones", "zeros")) == []


def test_a_fill_of_ones_is_a_constant_fill():
    fill = [("dims", "Const", {"value": [4.0]}), ("one", "Const", {"value": [1.0]}),
            ("filled", "Fill", "dims", "one", {})]
    assert _layers_of(_fused_on_reshape("filled", "zeros", fill)) == []


def test_not_a_layer_norm_when_the_affine_is_not_constant_ones_and_zeros():
    """A real batch norm on a reshaped input: trained offset, variable scale, computed or empty
    scale, or a scale that is not there: each is kept as a batch-norm layer."""
    cases = {
        "offset 0.5": ("ones", "half", [("half", "Const", {"value": [0.5] * 4})]),
        "variable scale": ("gamma/read", "zeros", [("gamma", "VariableV2", {}), ("gamma/read", "Identity", "gamma", {})]),
        "empty scale": ("empty", "zeros", []),
        "2 * ones": ("twice", "zeros", [("two", "Const", {"value": [2.0]}), ("twice", "Mul", "two", "ones", {})]),
        "missing scale": ("absent", "zeros", []),
    }
    kept = {what: _layers_of(_fused_on_reshape(scale, offset, extra)) for what, (scale, offset, extra) in cases.items()}
    assert kept == dict.fromkeys(cases, ["norm"])
