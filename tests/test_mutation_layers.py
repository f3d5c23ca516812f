"""Exact layers found in hand-made graphs: the boundaries of ``tf.nn.moments`` discovery and of layer
naming (surviving mutants of ``tools/mutation.py --core`` in ``_Search.moments_ops`` and
``_layer_name``). Each graph is a GraphDef built here (no TensorFlow), read by the same loader as a
``.pb`` file.
"""
from __future__ import annotations

from bncheck.graph.batchnorm import BnOp, _layer_name, find_layers
from bncheck.graph.model import TensorRef
from bncheck.loaders.graphs import graph_from_proto
from test_mutation_kills import _add, _graph_def, _layers_of, _moments


def _scalar_int(graph, name: str, value: int) -> None:
    node = graph.node.add()
    node.name, node.op = name, "Const"
    tensor = node.attr["value"].tensor
    tensor.dtype = 3  # DT_INT32, no shape: a scalar
    tensor.int_val.append(value)


def _moments_on(graph, name: str, x: str, axes: str, mean_input: str | None = None):
    _add(graph, f"{name}/mean", "Mean", mean_input or x, axes)
    _add(graph, f"{name}/sd", "SquaredDifference", x, f"{name}/mean")
    _add(graph, f"{name}/variance", "Mean", f"{name}/sd", axes)


# -- moments_ops: every kind of non-layer is skipped, and the layers after it are still found -------

def test_every_rejected_moments_is_skipped_and_the_next_one_is_still_found():
    graph = _graph_def()
    for x in ("x", "y", "dy", "x2"):
        _add(graph, x, "Placeholder")
    _add(graph, "axes0", "Const", ints=[0])
    _add(graph, "axes1", "Const", ints=[1])
    _add(graph, "axes_float", "Const", value=[0.0])
    # gradients of a batch norm: one with a single input, one whose x (input 1) feeds moments
    _add(graph, "grad1", "FusedBatchNormGradV3", "dy")
    _add(graph, "grad2", "FusedBatchNormGradV3", "dy", "x2")
    _add(graph, "sd_one_input", "SquaredDifference", "x")
    _add(graph, "sd_one_input_var", "Mean", "sd_one_input", "axes0")
    _moments_on(graph, "second_order", "x2", "axes0")
    _moments_on(graph, "other_mean", "x", "axes0", mean_input="y")  # SquaredDifference(x, mean(y))
    _add(graph, "mean_no_axes/mean", "Mean", "x")
    _add(graph, "mean_no_axes/sd", "SquaredDifference", "x", "mean_no_axes/mean")
    _add(graph, "mean_no_axes/variance", "Mean", "mean_no_axes/sd", "axes0")
    _moments_on(graph, "layer_norm", "x", "axes1")
    _moments_on(graph, "float_axes", "x", "axes_float")
    _moments_on(graph, "fed_axes", "x", "y")
    _add(graph, "unused/mean", "Mean", "x", "axes0")
    _add(graph, "unused/sd", "SquaredDifference", "x", "unused/mean")  # no variance reads it
    _moments(graph, "bn")
    assert _layers_of(graph) == ["bn"]


def test_moments_over_a_scalar_axis_zero_are_a_layer():
    """``tf.reduce_mean(x, 0)`` stores its axis as a scalar constant."""
    graph = _graph_def()
    _add(graph, "x", "Placeholder")
    _scalar_int(graph, "bn/axis", 0)
    _moments_on(graph, "bn", "x", "bn/axis")
    assert _layers_of(graph) == ["bn"]


def test_moments_on_a_cond_branch_are_a_training_moments_op_of_that_branch():
    graph = _graph_def()
    _add(graph, "x", "Placeholder")
    _add(graph, "pred", "Placeholder")
    _add(graph, "cond/Switch", "Switch", "x", "pred")
    _add(graph, "axes", "Const", ints=[0])
    _moments_on(graph, "cond/bn", "cond/Switch:1", "axes")
    (layer,) = find_layers(graph_from_proto(graph))
    assert (layer.name, layer.ops) == ("cond/bn", [BnOp(
        "cond/bn/variance", "moments", True, (TensorRef("cond/bn/mean"), TensorRef("cond/bn/variance")), (),
        ("cond/Switch", 1))])


# -- _layer_name: the variables' common scope, else the shortest op scope, else a node name ----------

def _op(node: str) -> BnOp:
    return BnOp(node, "fused", True)


def test_layer_name_is_the_common_scope_of_its_variables():
    variables = ["net/block/bn_a/moving_mean", "net/block/bn_b/moving_variance"]
    assert _layer_name([_op("x/FusedBatchNormV3")], variables) == "net/block"
    assert _layer_name([_op("x/FusedBatchNormV3")], ["net/bn/moving_mean", "net/bn/moving_variance"]) == "net/bn"


def test_layer_name_from_ops_when_a_variable_has_no_scope():
    assert _layer_name([_op("bn/FusedBatchNormV3")], ["moving_mean"]) == "bn"
    assert _layer_name([_op("bn/FusedBatchNormV3")], ["moving_mean", "bn/moving_variance"]) == "bn"


def test_layer_name_is_the_scope_of_the_shortest_op_name():
    ops = [_op("a/bb/FusedBatchNormV3"), _op("zz/FusedBatchNormV3")]
    assert _layer_name(ops, []) == "zz"
    assert _layer_name(list(reversed(ops)), []) == "zz"


def test_layer_name_without_any_scope_is_a_node_name():
    assert _layer_name([_op("FusedBatchNormV3"), _op("cond/FusedBatchNormV3_1")], []) == "FusedBatchNormV3"
    assert _layer_name([], ["moving_mean"]) == "moving_mean"
    assert _layer_name([], []) == "?"


# -- _api: who built a hand-written layer, from its variables, its updates and the collections -------

def _handwritten(variable: str, op: str = "Assign"):
    """moments of x and a variable ``variable`` updated with ``op`` (the blend for Assign, the scaled
    difference for AssignSub) at momentum 0.9."""
    graph = _graph_def()
    _add(graph, "x", "Placeholder")
    mean, _ = _moments(graph)
    _add(graph, variable, "VariableV2")
    _add(graph, "pop", "Identity", variable)
    _add(graph, "c9", "Const", value=[0.9])
    _add(graph, "c1", "Const", value=[0.1])
    if op == "Assign":
        _add(graph, "a", "Mul", "pop", "c9")
        _add(graph, "b", "Mul", mean, "c1")
        _add(graph, "value", "AddV2", "a", "b")
    else:
        _add(graph, "d", "Sub", "pop", mean)
        _add(graph, "value", "Mul", "d", "c1")
    _add(graph, "bn/update", op, variable, "value")
    return graph_from_proto(graph)


def _api_of(variable: str, op: str = "Assign", update_ops=None) -> tuple[str, str, list[float]]:
    from bncheck.graph.batchnorm import GraphFacts

    facts = GraphFacts(update_ops=None if update_ops is None else frozenset(update_ops))
    (layer,) = find_layers(_handwritten(variable, op), facts=facts)
    return layer.name, layer.api, [round(u.momentum, 6) for u in layer.updates]


def test_an_exponential_moving_average_shadow_variable_is_a_hand_written_ema():
    _, api, momenta = _api_of("bn/moments/Squeeze/ExponentialMovingAverage", "AssignSub")
    assert (api, momenta) == ("handwritten-ema", [0.9])


def test_without_collections_a_layer_updating_variables_its_author_named_is_hand_written():
    assert _api_of("bn/pop_mean") == ("bn", "handwritten", [0.9])
    assert _api_of("bn/moving_mean") == ("bn", "unknown", [0.9])  # Keras names outside a TF2 graph: not told


def test_with_collections_an_assigned_blend_is_hand_written_whatever_the_variable_names():
    assert _api_of("bn/moving_mean", "Assign", update_ops=()) == ("bn", "handwritten", [0.9])
    assert _api_of("bn/moving_mean", "AssignSub", update_ops=()) == ("bn", "keras-graph", [0.9])
    assert _api_of("bn/moving_mean", "AssignSub", update_ops=("bn/update",)) == ("bn", "layers", [0.9])


# -- moving_ops: Rsqrt(moving_variance + epsilon), with an Add of older graphs too ------------------

def test_an_unfused_inference_normalisation_is_found_past_rsqrts_that_are_none():
    graph = _graph_def()
    _add(graph, "x", "Placeholder")
    _add(graph, "eps", "Const", value=[1e-3])
    _add(graph, "bn/moving_variance", "VariableV2")
    _add(graph, "bn/moving_variance/read", "Identity", "bn/moving_variance")
    _add(graph, "no_input/Rsqrt", "Rsqrt")
    _add(graph, "absent_input/Rsqrt", "Rsqrt", "absent")
    _add(graph, "scaled", "Mul", "bn/moving_variance/read", "eps")
    _add(graph, "not_add/Rsqrt", "Rsqrt", "scaled")
    _add(graph, "bn/add", "Add", "bn/moving_variance/read", "eps")
    _add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    _add(graph, "y", "Mul", "x", "bn/Rsqrt")
    layers = find_layers(graph_from_proto(graph))
    assert [(layer.name, layer.ops) for layer in layers] == [
        ("bn", [BnOp("bn/Rsqrt", "moving", False, (), ("bn/moving_variance",))])]
