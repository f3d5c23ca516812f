"""Exact layers found in hand-made graphs: the boundaries of ``tf.nn.moments`` discovery and of layer
naming (surviving mutants of ``tools/mutation.py --core`` in ``_Search.moments_ops`` and
``_layer_name``). Each graph is a GraphDef built here (no TensorFlow), read by the same loader as a
``.pb`` file.
"""
from __future__ import annotations

import pytest

from bncheck.graph.batchnorm import BnOp, find_layers
from bncheck.graph.model import TensorRef
from bncheck.loaders.graphs import graph_from_proto
from graph_support import add, graph_def, layers_of, moments, solved, variable


def _scalar_int(graph, name: str, value: int) -> None:
    node = graph.node.add()
    node.name, node.op = name, "Const"
    tensor = node.attr["value"].tensor
    tensor.dtype = 3  # DT_INT32, no shape: a scalar
    tensor.int_val.append(value)


def _moments_on(graph, name: str, x: str, axes: str, mean_input: str | None = None):
    add(graph, f"{name}/mean", "Mean", mean_input or x, axes)
    add(graph, f"{name}/sd", "SquaredDifference", x, f"{name}/mean")
    add(graph, f"{name}/variance", "Mean", f"{name}/sd", axes)


# -- moments_ops: every kind of non-layer is skipped, and the layers after it are still found -------

def test_every_rejected_moments_is_skipped_and_the_next_one_is_still_found():
    graph = graph_def()
    for x in ("x", "y", "dy", "x2"):
        add(graph, x, "Placeholder")
    add(graph, "axes0", "Const", ints=[0])
    add(graph, "axes1", "Const", ints=[1])
    add(graph, "axes_float", "Const", value=[0.0])
    # gradients of a batch norm: one with a single input, one whose x (input 1) feeds moments
    add(graph, "grad1", "FusedBatchNormGradV3", "dy")
    add(graph, "grad2", "FusedBatchNormGradV3", "dy", "x2")
    add(graph, "sd_one_input", "SquaredDifference", "x")
    add(graph, "sd_one_input_var", "Mean", "sd_one_input", "axes0")
    _moments_on(graph, "second_order", "x2", "axes0")
    _moments_on(graph, "other_mean", "x", "axes0", mean_input="y")  # SquaredDifference(x, mean(y))
    add(graph, "mean_no_axes/mean", "Mean", "x")
    add(graph, "mean_no_axes/sd", "SquaredDifference", "x", "mean_no_axes/mean")
    add(graph, "mean_no_axes/variance", "Mean", "mean_no_axes/sd", "axes0")
    _moments_on(graph, "layer_norm", "x", "axes1")
    _moments_on(graph, "float_axes", "x", "axes_float")
    _moments_on(graph, "fed_axes", "x", "y")
    add(graph, "unused/mean", "Mean", "x", "axes0")
    add(graph, "unused/sd", "SquaredDifference", "x", "unused/mean")  # no variance reads it
    moments(graph, "bn")
    assert layers_of(graph) == ["bn"]


def test_moments_over_a_scalar_axis_zero_are_a_layer():
    """``tf.reduce_mean(x, 0)`` stores its axis as a scalar constant."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    _scalar_int(graph, "bn/axis", 0)
    _moments_on(graph, "bn", "x", "bn/axis")
    assert layers_of(graph) == ["bn"]


def test_moments_on_a_cond_branch_are_a_training_moments_op_of_that_branch():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "pred", "Placeholder")
    add(graph, "cond/Switch", "Switch", "x", "pred")
    add(graph, "axes", "Const", ints=[0])
    _moments_on(graph, "cond/bn", "cond/Switch:1", "axes")
    (layer,) = find_layers(graph_from_proto(graph))
    assert (layer.name, layer.ops) == ("cond/bn", [BnOp(
        "cond/bn/variance", "moments", True, (TensorRef("cond/bn/mean"), TensorRef("cond/bn/variance")), (),
        ("cond/Switch", 1))])


# -- layer names: the variables' common scope, else the shortest op scope, else a node name ---------

def _fused_reading(*ops: str, mean: str = "moving_mean", variance: str = "moving_variance") -> list[str]:
    """Inference-mode fused ops named ``ops`` reading the same two moving variables: the layer names."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "ones", "Const", value=[1.0])
    add(graph, "zeros", "Const", value=[0.0])
    for name in dict.fromkeys((mean, variance)):
        add(graph, name, "VariableV2")
        add(graph, f"{name}/read", "Identity", name)
    for op in ops:
        add(graph, op, "FusedBatchNormV3", "x", "ones", "zeros", f"{mean}/read", f"{variance}/read", is_training=False)
    return layers_of(graph)


def test_layer_name_is_the_common_scope_of_its_variables():
    assert _fused_reading("x/FusedBatchNormV3", mean="net/block/bn_a/moving_mean",
                          variance="net/block/bn_b/moving_variance") == ["net/block"]
    assert _fused_reading("x/FusedBatchNormV3", mean="net/bn/moving_mean",
                          variance="net/bn/moving_variance") == ["net/bn"]


def test_layer_name_from_ops_when_a_variable_has_no_scope():
    assert _fused_reading("bn/FusedBatchNormV3") == ["bn"]
    assert _fused_reading("bn/FusedBatchNormV3", variance="bn/moving_variance") == ["bn"]


def test_layer_name_is_the_scope_of_the_shortest_op_name():
    assert _fused_reading("a/bb/FusedBatchNormV3", "zz/FusedBatchNormV3") == ["zz"]
    assert _fused_reading("zz/FusedBatchNormV3", "a/bb/FusedBatchNormV3") == ["zz"]


def test_layer_name_without_any_scope_is_a_node_name():
    assert _fused_reading("FusedBatchNormV3", "cond/FusedBatchNormV3_1") == ["FusedBatchNormV3"]


# -- _api: who built a hand-written layer, from its variables, its updates and the collections -------

def _handwritten(variable: str, op: str = "Assign"):
    """moments of x and a variable ``variable`` updated with ``op`` (the blend for Assign, the scaled
    difference for AssignSub) at momentum 0.9."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    mean, _ = moments(graph)
    add(graph, variable, "VariableV2")
    add(graph, "pop", "Identity", variable)
    add(graph, "c9", "Const", value=[0.9])
    add(graph, "c1", "Const", value=[0.1])
    if op == "Assign":
        add(graph, "a", "Mul", "pop", "c9")
        add(graph, "b", "Mul", mean, "c1")
        add(graph, "value", "AddV2", "a", "b")
    else:
        add(graph, "d", "Sub", "pop", mean)
        add(graph, "value", "Mul", "d", "c1")
    add(graph, "bn/update", op, variable, "value")
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
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "bn/moving_variance", "VariableV2")
    add(graph, "bn/moving_variance/read", "Identity", "bn/moving_variance")
    add(graph, "no_input/Rsqrt", "Rsqrt")
    add(graph, "absent_input/Rsqrt", "Rsqrt", "absent")
    add(graph, "scaled", "Mul", "bn/moving_variance/read", "eps")
    add(graph, "not_add/Rsqrt", "Rsqrt", "scaled")
    add(graph, "bn/add", "Add", "bn/moving_variance/read", "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "y", "Mul", "x", "bn/Rsqrt")
    layers = find_layers(graph_from_proto(graph))
    assert [(layer.name, layer.ops) for layer in layers] == [
        ("bn", [BnOp("bn/Rsqrt", "moving", False, (), ("bn/moving_variance",))])]


# -- the training world: a cond predicate that picks a training-mode op is assumed, others unknown --

def _cond_update(nodes, op: str = "Assign") -> tuple[set, list[str]]:
    """moments on the true branch of a v1 cond on placeholder ``p`` (so ``p`` is assumed True), a
    second placeholder ``q`` nothing assumes, and the variable bn/pop (read: ``pop``) assigned
    ``value`` computed by ``nodes`` from ``pop``, the batch mean ``mean`` and constants c9, c1, c5, one."""
    graph = graph_def()
    for name in ("x", "p", "q"):
        add(graph, name, "Placeholder")
    add(graph, "cond/Switch", "Switch", "x", "p")
    add(graph, "axes", "Const", ints=[0])
    _moments_on(graph, "cond/bn", "cond/Switch:1", "axes")
    add(graph, "mean", "Identity", "cond/bn/mean")
    add(graph, "bn/pop", "VariableV2")
    add(graph, "pop", "Identity", "bn/pop")
    for name, value in (("c9", 0.9), ("c1", 0.1), ("c5", 0.5), ("one", 1.0)):
        add(graph, name, "Const", value=[value])
    for node in nodes:
        if node[1] == "Cast":
            add(graph, *node).attr["DstT"].type = 1  # DT_FLOAT
        else:
            add(graph, *node)
    add(graph, "bn/update", op, "bn/pop", "value")
    notes: list[str] = []
    layers = find_layers(graph_from_proto(graph), notes=notes)
    assert [layer.name for layer in layers] == ["bn"]
    return {round(u.momentum, 6) for u in layers[0].updates}, notes


NOTE = ("the assignment bn/update to the moving variable bn/pop is not an affine moving average bncheck "
        "can solve; its momentum is not judged")


def test_a_factor_computed_from_the_assumed_training_flag_is_a_constant():
    """c = cast(p) * 0.1: 0.1 where p is assumed True; pop * (1 - c) + mean * c."""
    nodes = [("cp", "Cast", "p"), ("c", "Mul", "cp", "c1"), ("keep", "Sub", "one", "c"),
             ("a", "Mul", "pop", "keep"), ("b", "Mul", "mean", "c"), ("value", "AddV2", "a", "b")]
    assert _cond_update(nodes) == ({0.9}, [])


def test_a_merge_input_on_the_branch_not_taken_in_training_is_not_read():
    """merge(pop * 0.9 + mean * 0.1 on p's true branch, pop * 0.5 + mean * 0.5 on its false branch)."""
    nodes = [("sw", "Switch", "pop", "p"),
             ("t_pop", "Identity", "sw:1"), ("ta", "Mul", "t_pop", "c9"), ("tb", "Mul", "mean", "c1"),
             ("t", "AddV2", "ta", "tb"),
             ("f_pop", "Identity", "sw"), ("fa", "Mul", "f_pop", "c5"), ("fb", "Mul", "mean", "c5"),
             ("f", "AddV2", "fa", "fb"), ("value", "Merge", "t", "f")]
    assert _cond_update(nodes) == ({0.9}, [])


def test_a_merge_on_a_predicate_nothing_assumes_reads_both_inputs():
    """merge(pop * 0.9 + mean * 0.1 on q's true branch, pop * pop on its false branch): q is unknown,
    so both inputs may run; the one with the batch statistic is the update."""
    nodes = [("sw", "Switch", "pop", "q"),
             ("t_pop", "Identity", "sw:1"), ("ta", "Mul", "t_pop", "c9"), ("tb", "Mul", "mean", "c1"),
             ("t", "AddV2", "ta", "tb"),
             ("f_pop", "Identity", "sw"), ("f", "Mul", "f_pop", "f_pop"), ("value", "Merge", "t", "f")]
    assert _cond_update(nodes) == ({0.9}, [])


def _pop_blend(graph, mean: str, total: str) -> None:
    """``total = bn/pop * 0.9 + mean * 0.1``: a hand-written moving average of momentum 0.9."""
    add(graph, "bn/pop", "VariableV2")
    add(graph, "c9", "Const", value=[0.9])
    add(graph, "c1", "Const", value=[0.1])
    add(graph, "a", "Mul", "bn/pop", "c9")
    add(graph, "b", "Mul", mean, "c1")
    add(graph, total, "AddV2", "a", "b")


def test_sixteen_variables_in_an_update_are_solved_and_seventeen_are_not():
    def update(extra: int):
        graph = graph_def()
        add(graph, "x", "Placeholder")
        mean, _ = moments(graph)
        _pop_blend(graph, mean, "s0")
        for i in range(extra):
            add(graph, f"other{i}", "VariableV2")
            add(graph, f"s{i + 1}", "AddV2", f"s{i}", f"other{i}")
        add(graph, "bn/update", "Assign", "bn/pop", f"s{extra}")
        notes: list[str] = []
        (layer,) = find_layers(graph_from_proto(graph), notes=notes)
        return [round(u.momentum, 6) for u in layer.updates], notes

    assert update(15) == ([0.9], [])
    assert update(16) == ([], [NOTE])


def test_a_value_reading_a_missing_node_is_not_solved():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    mean, _ = moments(graph)
    add(graph, "bn/pop", "VariableV2")
    add(graph, "c9", "Const", value=[0.9])
    add(graph, "a", "Mul", "bn/pop", "c9")
    add(graph, "b", "Mul", mean, "absent")
    add(graph, "value", "AddV2", "a", "b")
    add(graph, "bn/update", "Assign", "bn/pop", "value")
    notes: list[str] = []
    (layer,) = find_layers(graph_from_proto(graph), notes=notes)
    assert (layer.updates, notes) == ([], [NOTE])


def test_a_division_without_a_divisor_is_no_moving_average():

    assert solved([("d", "Sub", "pop", "mean"), ("value", "RealDiv", "d")], "AssignSub") == (set(), [NOTE])


# -- fused ops: batch statistics only from a training-mode op; the branch found past a missing input -

def _inference_layer():
    """A GraphDef with one inference-mode fused batch norm ``bn`` on placeholder ``x``."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        add(graph, f"bn/{name}", "VariableV2")
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", "bn/gamma", "bn/beta", "bn/moving_mean",
         "bn/moving_variance", is_training=False)
    return graph


def test_an_inference_fused_op_has_no_batch_statistics():
    graph = _inference_layer()
    (layer,) = find_layers(graph_from_proto(graph))
    assert layer.ops == [BnOp("bn/FusedBatchNormV3", "fused", False, (), ("bn/moving_mean", "bn/moving_variance"))]


def test_the_cond_branch_of_an_op_is_found_from_a_later_input_when_the_first_is_missing():
    graph = graph_def()
    add(graph, "p", "Placeholder")
    add(graph, "bn/gamma", "VariableV2")
    add(graph, "cond/Switch", "Switch", "bn/gamma", "p")
    add(graph, "empty", "Const", value=[])
    add(graph, "cond/bn/FusedBatchNormV3", "FusedBatchNormV3", "absent", "cond/Switch:1", "empty", "empty", "empty",
         is_training=True)
    (layer,) = find_layers(graph_from_proto(graph))
    assert [op.branch for op in layer.ops] == [("cond/Switch", 1)]


def test_a_cycle_of_pass_through_copies_is_no_branch_and_no_variable():
    from bncheck.graph.analysis import dataflow

    graph = graph_def()
    add(graph, "loop_a", "Identity", "loop_b")
    add(graph, "loop_b", "Identity", "loop_a")
    add(graph, "empty", "Const", value=[])
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "loop_a", "empty", "empty", "empty", "empty",
         is_training=True)
    loaded = graph_from_proto(graph)
    (layer,) = find_layers(loaded)
    assert [op.branch for op in layer.ops] == [None]
    assert [dataflow(loaded).variable_of(name) for name in ("loop_a", "loop_b")] == [None, None]


def test_an_op_after_a_cond_is_on_no_branch_of_it():
    """A training-mode op fed by a cond's Merge (through a Relu on each branch) runs after the cond,
    whichever branch ran: a branch ends at its Merge."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "p", "Placeholder")
    add(graph, "cond/Switch", "Switch", "x", "p")
    add(graph, "cond/t", "Relu", "cond/Switch:1")
    add(graph, "cond/f", "Relu", "cond/Switch")
    add(graph, "cond/Merge", "Merge", "cond/t", "cond/f")
    add(graph, "empty", "Const", value=[])
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "cond/Merge", "empty", "empty", "empty", "empty",
         is_training=True)
    (layer,) = find_layers(graph_from_proto(graph))
    assert (layer.name, [op.branch for op in layer.ops]) == ("bn", [None])


# -- layers sharing a name: absorbed when they own no variables, told apart by scope when they do ----

def test_a_layer_absorbing_a_group_without_variables_keeps_its_updates_and_variables():
    """m/bn's training-mode op updates m/bn/moving_mean; its inference-mode op reads constants that
    are no variables, so it forms a group of its own with the same name: one layer."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "empty", "Const", value=[])
    add(graph, "ones", "Const", value=[1.0])
    add(graph, "zeros", "Const", value=[0.0])
    add(graph, "m/bn/moving_mean", "VariableV2")
    add(graph, "m/bn/FusedBatchNormV3", "FusedBatchNormV3", "x", "ones", "zeros", "empty", "empty", is_training=True)
    _blend(graph, "m/bn/update", "m/bn/moving_mean", "m/bn/FusedBatchNormV3:1")
    add(graph, "m/bn/FusedBatchNormV3_1", "FusedBatchNormV3", "x", "ones", "zeros", "ones", "ones", is_training=False)
    (merged,) = find_layers(graph_from_proto(graph))
    assert (merged.name, [op.node for op in merged.ops], merged.variables,
            [(u.node, u.variable, round(u.momentum or 0, 6)) for u in merged.updates]) == (
        "m/bn", ["m/bn/FusedBatchNormV3", "m/bn/FusedBatchNormV3_1"], ["m/bn/moving_mean"],
        [("m/bn/update", "m/bn/moving_mean", 0.99)])


def _named(*nodes: str) -> list[str]:
    """One inference-mode fused op per name, each reading moving variables of its own under ``m/``:
    every layer is named ``m`` by its variables and must be told apart by its op's scope."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "ones", "Const", value=[1.0])
    add(graph, "zeros", "Const", value=[0.0])
    for i, node in enumerate(nodes):
        reads = []
        for name in (f"m/moving_mean_{i}", f"m/moving_variance_{i}"):
            reads.append(variable(graph, name))
        add(graph, node, "FusedBatchNormV3", "x", "ones", "zeros", *reads, is_training=False)
    return layers_of(graph)


def test_same_name_layers_are_told_by_the_innermost_scope_of_three():
    assert _named("net/a/bn/FusedBatchNormV3", "net/b/bn2/FusedBatchNormV3") == ["m (bn)", "m (bn2)"]


def test_same_name_layers_fall_back_to_order_when_one_has_no_scope():
    assert _named("StatefulPartitionedCall/FusedBatchNormV3", "model/bn_b/FusedBatchNormV3") == ["m (1)", "m (2)"]
    assert _named("model/bn_b/FusedBatchNormV3", "StatefulPartitionedCall/FusedBatchNormV3") == ["m (1)", "m (2)"]


# -- updates: which assignments are moving averages, and which are worth a note --------------------

def _found(graph) -> tuple[dict[str, list[tuple[str, float | None]]], list[str]]:
    notes: list[str] = []
    layers = find_layers(graph_from_proto(graph), notes=notes)
    return {layer.name: [(u.variable, u.momentum and round(u.momentum, 6)) for u in layer.updates]
            for layer in layers}, notes


def test_an_assignment_without_a_batch_statistic_to_a_moving_variable_is_no_update_and_no_note():
    """moving_variance = sqrt(moving_variance) next to an inference-mode op that reads it (and a
    training-mode op in another layer)."""
    graph = _inference_layer()
    add(graph, "bn/root", "Sqrt", "bn/moving_variance")
    add(graph, "bn/reset", "Assign", "bn/moving_variance", "bn/root")
    add(graph, "empty", "Const", value=[])  # a training-mode layer elsewhere: batch statistics exist
    add(graph, "other/FusedBatchNormV3", "FusedBatchNormV3", "x", "empty", "empty", "empty", "empty",
         is_training=True)
    assert _found(graph) == ({"bn": [], "other": []}, [])


def test_an_unsolvable_assignment_after_a_gradient_to_another_variable_is_no_note():
    """pop = sqrt(pop) + mean * relu_grad: computed in a backward pass, not a moving average."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    mean, _ = moments(graph)
    add(graph, "bn/pop", "VariableV2")
    add(graph, "grad", "ReluGrad", "x", "x")
    add(graph, "root", "Sqrt", "bn/pop")
    add(graph, "scaled", "Mul", mean, "grad")
    add(graph, "value", "AddV2", "root", "scaled")
    add(graph, "bn/update", "Assign", "bn/pop", "value")
    assert _found(graph) == ({"bn": []}, [])


@pytest.mark.parametrize("cast", [False, True])
def test_a_counter_fed_by_a_batch_statistic_is_skipped_and_the_update_after_it_found(cast):
    """count = size(mean), or ``tf.cast(tf.size(mean), tf.float32)`` (a shape one op away), is
    assigned first: no batch-statistic term and no value of one, so no update and no note; then
    pop * 0.9 + mean * 0.1."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    mean, _ = moments(graph)
    add(graph, "count", "VariableV2")
    add(graph, "size", "Size", mean)
    if cast:
        add(graph, "size_float", "Cast", "size")
    add(graph, "count/assign", "Assign", "count", "size_float" if cast else "size")
    _pop_blend(graph, mean, "value")
    add(graph, "bn/update", "Assign", "bn/pop", "value")
    assert _found(graph) == ({"bn": [("bn/pop", 0.9)]}, [])


def test_an_unsolved_assignment_in_a_backward_pass_is_no_note():
    """An optimizer-like slot ``slot -= (slot - square(mean * relu_grad)) * c`` is computed from a
    batch statistic after a gradient op, and its variable is no moving statistic: not worth a note."""
    graph = graph_def()
    for name in ("x", "dy"):
        add(graph, name, "Placeholder")
    mean, _ = moments(graph)
    add(graph, "grad", "ReluGrad", "dy", "x")
    add(graph, "scaled", "Mul", mean, "grad")
    add(graph, "squared", "Square", "scaled")
    add(graph, "slot", "VariableV2")
    add(graph, "slot/read", "Identity", "slot")
    add(graph, "slot/sub", "Sub", "slot/read", "squared")
    add(graph, "slot/rate", "Const", value=[0.1])
    add(graph, "slot/mul", "Mul", "slot/sub", "slot/rate")
    add(graph, "slot/update", "AssignSub", "slot", "slot/mul")
    assert _found(graph) == ({"bn": []}, [])


def test_an_update_mixing_many_layers_statistics_joins_the_first_by_name():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "bn/pop", "VariableV2")
    add(graph, "c9", "Const", value=[0.9])
    add(graph, "c1", "Const", value=[0.1])
    add(graph, "s", "Mul", "bn/pop", "c9")
    names = [f"bn{i:02d}" for i in range(32)]
    for i, name in enumerate(reversed(names)):
        mean, _ = moments(graph, name)
        add(graph, f"t{i}", "Mul", mean, "c1")
        add(graph, f"s{i}", "AddV2", "s" if i == 0 else f"s{i - 1}", f"t{i}")
    add(graph, "bn/update", "Assign", "bn/pop", "s31")
    notes: list[str] = []
    layers = find_layers(graph_from_proto(graph), notes=notes)
    # the layer of the update is named by its variable's scope, and holds the op of bn00's statistics
    assert [(layer.name, [op.node for op in layer.ops], len(layer.updates)) for layer in layers] == (
        [("bn", ["bn00/variance"], 1)] + [(name, [f"{name}/variance"], 0) for name in names[1:]])
    assert notes == []


def test_a_fused_op_with_an_average_factor_keeps_a_momentum_solved_elsewhere():
    """A training-mode fused op with exponential_avg_factor 0.01 whose batch mean is blended into
    bn/pop by its own Assign at 0.9: 0.9, not 1 - 0.01."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "empty", "Const", value=[])
    fused = add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", "empty", "empty", "empty", "empty",
                 is_training=True)
    fused.attr["exponential_avg_factor"].f = 0.01
    add(graph, "bn/pop", "VariableV2")
    add(graph, "c9", "Const", value=[0.9])
    add(graph, "c1", "Const", value=[0.1])
    add(graph, "a", "Mul", "bn/pop", "c9")
    add(graph, "b", "Mul", "bn/FusedBatchNormV3:1", "c1")
    add(graph, "value", "AddV2", "a", "b")
    add(graph, "bn/update", "Assign", "bn/pop", "value")
    assert _found(graph) == ({"bn": [("bn/pop", 0.9)]}, [])


def test_a_fused_op_that_blends_itself_has_the_momentum_of_its_average_factor():
    """TF2's fused training op with exponential_avg_factor 0.01 computes the new moving mean itself;
    the assignment copies it: momentum 1 - 0.01."""
    from bncheck.graph.batchnorm import MovingUpdate

    graph = graph_def()
    add(graph, "x", "Placeholder")
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        add(graph, f"bn/{name}", "VarHandleOp")
        add(graph, f"bn/{name}/read", "ReadVariableOp", f"bn/{name}")
    fused = add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", "bn/gamma/read", "bn/beta/read",
                 "bn/moving_mean/read", "bn/moving_variance/read", is_training=True)
    fused.attr["exponential_avg_factor"].f = 0.01
    add(graph, "bn/update", "AssignVariableOp", "bn/moving_mean", "bn/FusedBatchNormV3:1")
    (layer,) = find_layers(graph_from_proto(graph))
    (update,) = layer.updates
    assert update == MovingUpdate("bn/update", "AssignVariableOp", "bn/moving_mean", TensorRef("bn/FusedBatchNormV3", 1),
                                  "bn/FusedBatchNormV3", update.momentum)
    assert round(update.momentum, 6) == 0.99


# -- frozen graphs: the constants that were the variables name and group the layer ----------------

def _frozen_fused(graph, op_name: str, params: tuple[str, str, str, str], through: str = "Identity") -> None:
    """A frozen inference-mode fused op reading ``params`` (scale, offset, mean, variance) through
    ``through`` nodes, as ``convert_variables_to_constants`` leaves them (``name/read``)."""
    reads = []
    for const in params:
        if const not in {n.name for n in graph.node}:
            add(graph, const, "Const", value=[1.0])
            add(graph, f"{const}/read", through, const)
        reads.append(f"{const}/read")
    add(graph, op_name, "FusedBatchNormV3", "x", *reads, is_training=False)


def test_frozen_ops_reading_the_same_constants_are_one_layer_named_by_them():
    """The two branches of a ``tf.cond`` around a frozen layer: other op scopes, the same constants."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    params = ("model/bn/gamma", "model/bn/beta", "model/bn/moving_mean", "model/bn/moving_variance")
    _frozen_fused(graph, "cond/model/bn/FusedBatchNormV3", params)
    _frozen_fused(graph, "cond/model_1/bn/FusedBatchNormV3", params)
    [layer] = find_layers(graph_from_proto(graph))
    assert layer.name == "model/bn"
    assert sorted(op.node for op in layer.ops) == ["cond/model/bn/FusedBatchNormV3",
                                                   "cond/model_1/bn/FusedBatchNormV3"]
    assert layer.variables == []  # constants are never taken for variables
    assert layer.ops[0].frozen == params


def test_frozen_ops_with_constants_of_their_own_stay_apart_when_their_names_collide():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    _frozen_fused(graph, "a/FusedBatchNormV3", ("bn/gamma", "bn/beta", "a/c1", "a/c2"))
    _frozen_fused(graph, "b/FusedBatchNormV3", ("b/c1", "b/c2", "bn/moving_mean", "bn/moving_variance"))
    assert layers_of(graph) == ["bn (a)", "bn (b)"]


def test_only_parameter_names_count_and_only_through_reads():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    # a constant named like no parameter: the op scope names the layer
    _frozen_fused(graph, "net/bn1/FusedBatchNormV3", ("w/scale", "w/offset", "w/mean", "w/var"))
    # parameter names behind an op that is not a read (a Mul): not followed
    _frozen_fused(graph, "net/bn2/FusedBatchNormV3",
                  ("v/gamma", "v/beta", "v/moving_mean", "v/moving_variance"), through="Mul")
    # behind a Switch (a v1 cond), as the fixture's frozen cond graph has them: followed
    _frozen_fused(graph, "net/cond/bn3/FusedBatchNormV3",
                  ("u/gamma", "u/beta", "u/moving_mean", "u/moving_variance"), through="Switch")
    assert layers_of(graph) == ["net/bn1", "net/bn2", "u"]


def test_ops_that_read_their_own_variables_are_not_grouped_by_a_shared_constant():
    """Frozen parameters are looked for only where an op reads no variable: two layers with their own
    moving variables that both scale by one constant named like a parameter stay two layers."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "shared/gamma", "Const", value=[1.0])
    add(graph, "shared/beta", "Const", value=[0.0])
    for layer in ("a/bn", "b/bn"):
        for stat in ("moving_mean", "moving_variance"):
            add(graph, f"{layer}/{stat}", "VariableV2")
            add(graph, f"{layer}/{stat}/read", "Identity", f"{layer}/{stat}")
        add(graph, f"{layer}/FusedBatchNormV3", "FusedBatchNormV3", "x", "shared/gamma", "shared/beta",
             f"{layer}/moving_mean/read", f"{layer}/moving_variance/read", is_training=False)
    layers = find_layers(graph_from_proto(graph))
    assert [(layer.name, layer.variables) for layer in layers] == [
        ("a/bn", ["a/bn/moving_mean", "a/bn/moving_variance"]),
        ("b/bn", ["b/bn/moving_mean", "b/bn/moving_variance"])]
    assert all(op.frozen == () for layer in layers for op in layer.ops)


# -- frozen unfused inference: Rsqrt(constant variance + epsilon) ------------------------------------

def _frozen_rsqrt(graph, scope: str, variance: str, epsilon: str) -> None:
    add(graph, f"{scope}/batchnorm/add", "AddV2", variance, epsilon)
    add(graph, f"{scope}/batchnorm/Rsqrt", "Rsqrt", f"{scope}/batchnorm/add")


def test_a_constant_variance_plus_a_scalar_epsilon_is_a_frozen_inference_layer():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "a/bn/moving_variance", "Const", value=[1.0, 2.0])
    add(graph, "a/bn/moving_variance/read", "Identity", "a/bn/moving_variance")
    _frozen_rsqrt(graph, "a/bn", "a/bn/moving_variance/read", "eps")  # named by its constant
    add(graph, "b/Cast/ReadVariableOp/resource", "Const", value=[1.0, 2.0])
    _frozen_rsqrt(graph, "b/bn_1", "eps", "b/Cast/ReadVariableOp/resource")  # epsilon first; Keras 3 naming
    add(graph, "f/moving_variance", "Const", value=[1.0, 2.0])
    add(graph, "f/eps", "Cast", "eps")  # a computed epsilon (rsqrt(tf.cast(eps) + var)) before the variance
    graph.node[-1].attr["DstT"].type = 1  # DT_FLOAT
    _frozen_rsqrt(graph, "f/bn", "f/eps", "f/moving_variance")
    # not layers: two vectors, an integer variance, a variance computed from the input
    add(graph, "c/v1", "Const", value=[1.0, 2.0])
    add(graph, "c/v2", "Const", value=[1.0, 2.0])
    _frozen_rsqrt(graph, "c", "c/v1", "c/v2")
    add(graph, "d/v", "Const", ints=[1, 2])
    _frozen_rsqrt(graph, "d", "d/v", "eps")
    add(graph, "axes", "Const", ints=[0])
    add(graph, "e/var", "Mean", "x", "axes")
    _frozen_rsqrt(graph, "e", "e/var", "eps")
    layers = find_layers(graph_from_proto(graph))
    assert [(layer.name, [(op.kind, op.training, op.reads, op.frozen) for op in layer.ops]) for layer in layers] == [
        ("a/bn", [("moving", False, (), ("a/bn/moving_variance",))]),
        ("b/bn_1", [("moving", False, (), ())]),
        ("f", [("moving", False, (), ("f/moving_variance",))])]


def test_a_frozen_inference_layer_has_no_variable_roles():
    """Its variance is a constant: no variable to name (BN009 asks when a train op runs such a layer,
    e.g. a frozen feature extractor imported into a training graph)."""
    from conftest import FIXTURES

    from bncheck.loaders import discover, load
    from bncheck.rules.context import Context

    for fixture, names in (("tf1/frozen_unfused_layers_training_false.pb", ["model/bn1", "model/bn2"]),
                           ("keras3/frozen_inference.pb", ["net_1/bn1_1", "net_1/bn2_1"])):
        [model] = load(discover(str(FIXTURES / fixture))[0])
        ctx = Context(model)
        assert [layer.name for layer in ctx.layers] == names
        assert [ctx.variable_roles(layer) for layer in ctx.layers] == [{}, {}]
        assert [ctx.affine_variables(layer) for layer in ctx.layers] == [[], []]


def test_a_frozen_variance_may_be_stored_reshaped_but_has_one_channel_axis():
    """A hand-written layer's variables shaped ``[1, 1, 1, C]``, frozen: the constant itself is 4-D.
    One axis longer than 1 is a per-channel variance; two are not."""
    graph = graph_def()
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "a/pop_var", "Const", value=[1.0, 2.0])
    graph.node[-1].attr["value"].tensor.tensor_shape.ClearField("dim")
    for size in (1, 1, 1, 2):
        graph.node[-1].attr["value"].tensor.tensor_shape.dim.add().size = size
    _frozen_rsqrt(graph, "a/bn", "a/pop_var", "eps")
    add(graph, "b/pop_var", "Const", value=[1.0, 2.0, 3.0, 4.0])
    graph.node[-1].attr["value"].tensor.tensor_shape.ClearField("dim")
    for size in (2, 2):
        graph.node[-1].attr["value"].tensor.tensor_shape.dim.add().size = size
    _frozen_rsqrt(graph, "b/bn", "b/pop_var", "eps")
    assert layers_of(graph) == ["a/bn"]


def _var(graph, name: str) -> str:
    add(graph, name, "VariableV2")
    add(graph, f"{name}/read", "Identity", name)
    return f"{name}/read"


def test_gamma_and_beta_are_never_a_moving_statistic_nor_a_tensor_that_is_no_variable():
    """``scale=False, center=False``: ``x * inv - mean * inv``; the Sub's first input is no variable
    and the Rsqrt's other product is the moving mean: neither gamma nor beta."""
    from bncheck.graph.model import GraphModel
    from bncheck.rules.context import Context

    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    mean, var = _var(graph, "bn/moving_mean"), _var(graph, "bn/moving_variance")
    add(graph, "bn/add", "AddV2", var, "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "bn/mul_x", "Mul", "x", "bn/Rsqrt")
    add(graph, "bn/mul_mean", "Mul", mean, "bn/Rsqrt")
    add(graph, "bn/sub", "Sub", "bn/mul_x", "bn/mul_mean")
    ctx = Context(GraphModel(graph_from_proto(graph), "<test>", "graphdef"))
    [layer] = ctx.layers
    assert ctx.variable_roles(layer) == {"moving_mean": "bn/moving_mean", "moving_variance": "bn/moving_variance"}


def test_every_op_of_a_layer_names_roles_not_only_its_fused_op():
    """A fused op that reads gamma through something that is no read (here a Mul), and an unfused
    inference op of the same layer (the same moving variables) that multiplies by it: gamma is known."""
    from bncheck.graph.model import GraphModel
    from bncheck.rules.context import Context

    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "two", "Const", value=[2.0])
    gamma, beta = _var(graph, "bn/gamma"), _var(graph, "bn/beta")
    mean, var = _var(graph, "bn/moving_mean"), _var(graph, "bn/moving_variance")
    add(graph, "bn/gamma_twice", "Mul", gamma, "two")
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", "bn/gamma_twice", beta, mean, var, is_training=False)
    add(graph, "bn/unfused/add", "AddV2", var, "eps")
    add(graph, "bn/unfused/Rsqrt", "Rsqrt", "bn/unfused/add")
    add(graph, "bn/unfused/inv", "Mul", "bn/unfused/Rsqrt", gamma)
    add(graph, "bn/unfused/mul_mean", "Mul", mean, "bn/unfused/inv")
    add(graph, "bn/unfused/sub", "Sub", beta, "bn/unfused/mul_mean")
    ctx = Context(GraphModel(graph_from_proto(graph), "<test>", "graphdef"))
    [layer] = ctx.layers
    assert [op.kind for op in layer.ops] == ["fused", "moving"]
    assert ctx.variable_roles(layer) == {"gamma": "bn/gamma", "beta": "bn/beta", "moving_mean": "bn/moving_mean",
                                         "moving_variance": "bn/moving_variance"}


# -- moving averages of functions of the batch statistics -------------------------------------------

def _blend(graph, name: str, var: str, value: str) -> None:
    """``var -= (var - value) * 0.01``, as ``assign_moving_average`` writes it."""
    add(graph, f"{name}/read", "Identity", var)
    add(graph, f"{name}/sub", "Sub", f"{name}/read", value)
    add(graph, f"{name}/decay", "Const", value=[0.01])
    add(graph, f"{name}/mul", "Mul", f"{name}/sub", f"{name}/decay")
    add(graph, name, "AssignSub", var, f"{name}/mul")


def test_a_mean_or_sqrt_of_batch_statistics_is_one_and_other_functions_are_a_note():
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "axis0", "Const", ints=[0])
    mean, variance = moments(graph)
    add(graph, "virtual_mean", "Mean", mean, "axis0")  # virtual batches' means, averaged
    add(graph, "var_eps", "AddV2", variance, "eps")
    add(graph, "stddev", "Sqrt", "var_eps")  # batch renormalization's sqrt(variance + epsilon)
    add(graph, "squared", "Square", mean)  # no moving average bncheck solves
    for name in ("moving_mean", "moving_stddev", "moving_square"):
        add(graph, name, "VariableV2")
    _blend(graph, "update_mean", "moving_mean", "virtual_mean")
    _blend(graph, "update_stddev", "moving_stddev", "stddev")
    _blend(graph, "update_square", "moving_square", "squared")
    notes: list[str] = []
    updates = [u for layer in find_layers(graph_from_proto(graph), notes=notes) for u in layer.updates]
    assert sorted((u.node, u.variable, round(u.momentum or 0, 6)) for u in updates) == [
        ("update_mean", "moving_mean", 0.99), ("update_stddev", "moving_stddev", 0.99)]
    assert notes == ["the assignment update_square to the moving variable moving_square is computed from a "
                            "batch statistic in a way bncheck cannot solve; its momentum is not judged"]
