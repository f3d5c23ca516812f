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
ARCHIVE = ROOT / "fixtures" / "keras3" / "subclassed_two_bn_archive_training_false"


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


def test_an_export_archive_lists_variables_flat_and_each_layer_still_gets_its_own():
    """keras.export.ExportArchive: the object graph holds the variables as flat lists (variables/3,
    and a second copy under _all_variables/), not under the model's attributes."""
    [model] = load(Target(str(ARCHIVE), "saved_model"))
    ctx = Context(model)
    layers = {layer.name: layer for layer in ctx.layers}
    assert [(name, layer.api) for name, layer in layers.items()] == [
        ("classifier (batch_normalization_1)", "keras"), ("classifier (batch_normalization_1_2)", "keras")]
    assert layers["classifier (batch_normalization_1)"].variables == [
        "classifier/variables_3/moving_mean", "classifier/variables_4/moving_variance"]
    assert ctx.value_keys(layers["classifier (batch_normalization_1_2)"]) == {
        "gamma": _key("variables/6"), "beta": _key("variables/7"),
        "moving_mean": _key("variables/8"), "moving_variance": _key("variables/9")}
    assert ctx.notes == []


def test_a_checkpoint_on_its_own_names_shared_variables_by_object_path():
    """tf.train.Checkpoint of the subclassed model: both BNs' variables are TF-named
    classifier/moving_mean; the checkpoint's own object graph tells them apart."""
    folder = ROOT / "fixtures" / "keras3" / "subclassed_two_bn_checkpoint_training_true"
    reader = CheckpointReader(str(next(folder.glob("*.index")))[:-len(".index")])
    names = variable_keys(reader)
    assert {n: k for n, k in names.items() if "moving" in n} == {
        f"model/{bn}/{role}": _key(f"model/{bn}/{role}")
        for bn in ("bn_a", "bn_b") for role in ("moving_mean", "moving_variance")}
    [model] = load(Target(str(folder), "checkpoint"))
    assert [layer.name for layer in Context(model).layers] == ["model/bn_a", "model/bn_b"]


def test_the_checkpoint_renames_a_node_only_where_it_holds_that_variable():
    reader = CheckpointReader(str(SUBCLASSED / "variables" / "variables"))
    plain = variable_keys(reader, {})  # no renaming asked
    assert plain["classifier/moving_mean"] == _key("model/bn_a/moving_mean")  # the TF name: first node wins
    moved = variable_keys(reader, {36: ("classifier/moving_mean", "model/bn_a/moving_mean"),
                                   60: ("classifier/moving_mean", "model/bn_b/moving_mean")})
    assert moved["model/bn_a/moving_mean"] == _key("model/bn_a/moving_mean")
    assert moved["model/bn_b/moving_mean"] == _key("model/bn_b/moving_mean")
    assert "classifier/moving_mean" not in moved  # shared by both layers: it names neither
    wrong = variable_keys(reader, {60: ("classifier/gamma", "model/bn_b/moving_mean")})  # another variable
    assert "model/bn_b/moving_mean" not in wrong
    assert wrong["classifier/moving_mean"] == plain["classifier/moving_mean"]


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
    # a list of variables (an export archive): the path goes in before the variable's own name
    flat = {0: [("variables", 4)], 4: [("0", 1), ("1", 2), ("2", 3)]}
    same = _objects(flat, {1: "m/moving_mean", 2: "m/moving_mean", 3: "m/gamma"}, [1, 2, 3, 3, 7])
    assert captured_variable_names(same) == {1: "m/variables_0/moving_mean", 2: "m/variables_1/moving_mean",
                                             3: "m/gamma"}
    # attributes (a module holding the model): the path already ends in the variable's name
    nested = {0: [("model", 4)], 4: [("bn_a", 5), ("bn_b", 6)], 5: [("moving_mean", 1)], 6: [("moving_mean", 2)]}
    attrs = _objects(nested, {1: "m/moving_mean", 2: "m/moving_mean"}, [2, 1])
    assert captured_variable_names(attrs) == {1: "model/bn_a/moving_mean", 2: "model/bn_b/moving_mean"}
    # a duplicate object of one variable that no function captures (Keras 3 export) changes nothing
    duplicate = _objects(flat, {1: "bn1/moving_mean", 2: "bn1/moving_mean", 3: "bn1/gamma"}, [1, 3])
    assert captured_variable_names(duplicate) == {1: "bn1/moving_mean", 3: "bn1/gamma"}


def test_a_saved_model_works_out_its_captured_variable_names_once(monkeypatch):
    """The graph and the checkpoint are named from one result per MetaGraph, not two walks."""
    import bncheck.loaders.graphs as graphs
    import bncheck.loaders.object_graph as object_graph

    calls = []
    original = object_graph.captured_variable_names

    def counting(objects):
        calls.append(objects)
        return original(objects)

    monkeypatch.setattr(object_graph, "captured_variable_names", counting)
    monkeypatch.setattr(graphs, "captured_variable_names", counting)  # graphs.py's own binding
    [model] = load(Target(str(SUBCLASSED), "saved_model"))
    assert len(calls) == 1  # one MetaGraph
    assert sorted(layer.name for layer in Context(model).layers) == ["model/bn_a", "model/bn_b"]
