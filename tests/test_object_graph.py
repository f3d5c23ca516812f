"""Variables that share a TF name (a Keras 3 subclassed model's layers) are named by their object
path, in the SavedModel's graph and in its checkpoint alike, so each layer gets its own values."""
from __future__ import annotations

from conftest import ROOT

from bncheck.loaders import Target, load
from bncheck.loaders.checkpoint_bundle import CheckpointReader
from bncheck.loaders.checkpoint_values import variable_keys
from bncheck.loaders.object_graph import captured_variable_names, object_paths
from bncheck.protos import message_class
from bncheck.rules.context import Context

SUBCLASSED = ROOT / "fixtures" / "keras3" / "subclassed_two_bn_serving_training_false"


def _key(path: str) -> str:
    return f"{path}/.ATTRIBUTES/VARIABLE_VALUE"


def test_each_layer_of_a_subclassed_model_reads_its_own_values():
    [model] = load(Target(str(SUBCLASSED), "saved_model"))
    ctx = Context(model)
    assert [(layer.name, layer.api) for layer in ctx.layers] == [("model/bn_a", "keras"), ("model/bn_b", "keras")]
    for layer in ctx.layers:
        assert ctx.value_keys(layer) == {role: _key(f"{layer.name}/{role}")
                                         for role in ("gamma", "beta", "moving_mean", "moving_variance")}
    assert ctx.notes == []


def test_the_checkpoint_renames_a_node_only_where_it_holds_that_variable():
    reader = CheckpointReader(str(SUBCLASSED / "variables" / "variables"))
    plain = variable_keys(reader)
    assert plain["classifier/moving_mean"] == _key("model/bn_a/moving_mean")  # the TF name: first node wins
    moved = variable_keys(reader, {60: ("classifier/moving_mean", "model/bn_b/moving_mean")})
    assert moved["model/bn_b/moving_mean"] == _key("model/bn_b/moving_mean")
    wrong = variable_keys(reader, {60: ("classifier/gamma", "model/bn_b/moving_mean")})  # another variable
    assert "model/bn_b/moving_mean" not in wrong and wrong == plain


def _objects(children: dict[int, list[tuple[str, int]]], variables: dict[int, str], bound: list[int]):
    graph = message_class("tensorflow.SavedObjectGraph")()
    for node_id in range(max([*children, *variables, *bound]) + 1):
        node = graph.nodes.add()
        for local_name, child in children.get(node_id, []):
            node.children.add(local_name=local_name, node_id=child)
        if node_id in variables:
            node.variable.name = variables[node_id]
        else:
            node.user_object.identifier = "_generic_user_object"
    graph.concrete_functions["f"].bound_inputs.extend(bound)
    return graph


def test_object_paths_are_breadth_first_and_survive_cycles_and_bad_ids():
    graph = _objects({0: [("model", 1), ("alias", 3)], 1: [("bn", 2), ("up", 0), ("gone", 99)], 2: [("mean", 3)]},
                     {3: "v"}, [])
    assert object_paths(graph.nodes) == {0: "", 1: "model", 3: "alias", 2: "model/bn"}


def test_captured_variables_keep_their_tf_name_unless_two_share_it():
    children = {0: [("a", 1), ("b", 2), ("c", 3)]}
    same = _objects(children, {1: "m/moving_mean", 2: "m/moving_mean", 3: "m/gamma"}, [1, 2, 3, 3, 7])
    assert captured_variable_names(same) == {1: "a", 2: "b", 3: "m/gamma"}
    # a duplicate object of one variable that no function captures (Keras 3 export) changes nothing
    duplicate = _objects(children, {1: "bn1/moving_mean", 2: "bn1/moving_mean", 3: "bn1/gamma"}, [1, 3])
    assert captured_variable_names(duplicate) == {1: "bn1/moving_mean", 3: "bn1/gamma"}
