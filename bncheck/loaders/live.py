"""Live TensorFlow objects handed to the API. Only this module touches TensorFlow, and only
objects the caller already built: it serializes them and parses the bytes like a file."""
from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from bncheck.errors import InputError
from bncheck.graph.model import GraphModel
from bncheck.graph.keras_model import ROLES, KerasConfig, TrainedValues
from bncheck.graph.model import Graph
from bncheck.loaders.graphs import flat_graph, model_from_graph_def, model_from_meta_graph
from bncheck.loaders.keras_files import bn_layers, keras_flavour
from bncheck.protos import message_class


def _type_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def model_from_object(obj: Any) -> GraphModel:
    """A ``tf.Graph``, a ``GraphDef`` / ``MetaGraphDef`` message (TF's or bncheck's), a Keras 3 or
    tf-keras model, a concrete function, or a ``tf.function`` with an input signature."""
    source = f"<{type(obj).__name__}>"
    if hasattr(obj, "get_config") and hasattr(obj, "layers") and hasattr(obj, "get_layer"):
        return model_from_keras(obj)
    if hasattr(obj, "get_concrete_function") and not hasattr(obj, "captured_inputs"):
        try:
            obj = obj.get_concrete_function()
        except Exception as exc:  # noqa: BLE001 - TF raises several kinds for a missing signature
            raise InputError(source, f"a tf.function needs an input_signature to be checked ({exc})") from None
    if hasattr(obj, "graph") and hasattr(obj, "captured_inputs") and hasattr(obj.graph, "as_graph_def"):
        return model_from_concrete_function(obj)
    if hasattr(obj, "as_graph_def") and hasattr(obj, "get_all_collection_keys"):  # tf.Graph
        ours = message_class("tensorflow.GraphDef").FromString(obj.as_graph_def().SerializeToString())
        model = model_from_graph_def(ours, "<tf.Graph>", label="tf.Graph")
        model.collections = _collections(obj)
        model.has_collections = True
        return model
    full_name = getattr(getattr(obj, "DESCRIPTOR", None), "full_name", None)
    if full_name == "tensorflow.GraphDef":
        ours = message_class(full_name).FromString(obj.SerializeToString())
        return model_from_graph_def(ours, source)
    if full_name == "tensorflow.MetaGraphDef":
        ours = message_class(full_name).FromString(obj.SerializeToString())
        return model_from_meta_graph(ours, source, "meta_graph", "MetaGraph")
    raise InputError(source, f"cannot check a {_type_name(obj)}: pass a tf.Graph, GraphDef, MetaGraphDef, "
                             "Keras model, concrete function or a path")


def model_from_concrete_function(fn: Any) -> GraphModel:
    """A concrete function's graph. Captured variables enter it as resource placeholders; they are
    named after the variables they capture so findings name the layers."""
    ours = message_class("tensorflow.GraphDef").FromString(fn.graph.as_graph_def().SerializeToString())
    by_handle = {id(v.handle): v for v in getattr(fn, "variables", ()) if hasattr(v, "handle")}
    rename: dict[str, str] = {}
    for external, internal in fn.graph.captures:
        var = by_handle.get(id(external))
        if var is not None:
            rename[internal.op.name] = str(getattr(var, "path", None) or var.name).split(":")[0]
    for node in ours.node:
        if node.name in rename and node.op == "Placeholder":
            node.op = "VarHandleOp"  # a captured variable handle
    name = getattr(fn, "name", "concrete function")
    name = name.decode() if isinstance(name, bytes) else str(name)
    graph = flat_graph(ours, rename)
    graph.tf2 = True
    return GraphModel(graph=graph, source=f"<{name}>", kind="graphdef", label="concrete function")


def model_from_keras(model: Any) -> GraphModel:
    """A live Keras 3 / tf-keras model: its config and weights, read without a forward pass."""
    config = json.loads(json.dumps({"class_name": type(model).__name__, "config": model.get_config()},
                                   default=lambda o: list(o) if isinstance(o, (tuple, set)) else str(o)))
    notes: list[str] = []
    layers, _ = bn_layers(config, notes=notes)
    store = _LiveStore(f"<{model.name}>")
    values = TrainedValues(store, origin="live model weights")
    for layer in layers:
        obj = _find_layer(model, layer.path.split("/"))
        if obj is None:  # e.g. listed in a custom layer's config: its config is judged, its weights are not
            notes.append(f"layer {layer.path!r}: get_layer does not reach it in the live model, so its weights were "
                         "not read: whether its moving statistics were updated is not judged")
            continue
        keys = {}
        for role in ROLES:
            var = getattr(obj, role, None)
            if var is not None and hasattr(var, "numpy"):
                keys[role] = store.add(f"{layer.path}/{role}", var)
        values.layers[layer.path] = keys
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    if iterations is not None and hasattr(iterations, "numpy"):
        values.steps["optimizer iterations"] = store.add("optimizer/iterations", iterations)
    version = _keras_version(model)
    keras = KerasConfig(str(config.get("class_name")), tuple(layers), "live Keras model",
                        keras_flavour(version, config), version)
    graph = Graph([])
    graph.notes = notes  # shown to the user as notes (Context.cannot_judge)
    return GraphModel(graph=graph, source=f"<{model.name}>", kind="keras", label="live Keras model",
                      keras=keras, values=values)


def _keras_version(model: Any) -> str:
    """The version of the Keras package the model's class comes from (``keras`` 3.x, ``tf_keras``
    2.x, or standalone ``keras`` 2.x), read from the already imported package."""
    root = type(model).__module__.split(".")[0]
    version = getattr(sys.modules.get(root), "__version__", "")
    return version if isinstance(version, str) else ""


def _find_layer(model: Any, parts: list[str]) -> Any:
    obj = model
    for part in parts:
        try:
            obj = obj.get_layer(part)
        except (ValueError, AttributeError):
            return None
    return obj


class _LiveStore:
    def __init__(self, source: str) -> None:
        self.source = source
        self.variables: dict[str, Any] = {}

    def add(self, key: str, variable: Any) -> str:
        self.variables[key] = variable
        return key

    def read(self, key: str) -> np.ndarray:
        return np.asarray(self.variables[key].numpy())


def _collections(graph: Any) -> dict[str, tuple[str, ...]]:
    """Collections of ops/tensors by name (export_meta_graph would need graph mode)."""
    out: dict[str, tuple[str, ...]] = {}
    for key in graph.get_all_collection_keys():
        names = []
        for item in graph.get_collection(key):
            try:
                names.append(op_name(item))
            except TypeError:
                continue
        if names:
            out[str(key)] = tuple(names)
    return out


def op_name(obj: Any) -> str:
    """The node name for a name, ``name:0``, ``tf.Operation`` or ``tf.Tensor``."""
    if isinstance(obj, str):
        return obj.lstrip("^").split(":")[0]
    op = getattr(obj, "op", None)
    if op is not None and hasattr(op, "name") and hasattr(op, "node_def"):
        return str(op.name)
    if hasattr(obj, "name") and hasattr(obj, "node_def"):
        return str(obj.name)
    raise TypeError(f"expected an op name, tf.Operation or tf.Tensor, got {_type_name(obj)}")
