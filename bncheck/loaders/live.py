"""Live TensorFlow objects handed to the API. Only this module touches TensorFlow, and only
objects the caller already built: it serializes them and parses the bytes like a file."""
from __future__ import annotations

from typing import Any

from bncheck.errors import InputError
from bncheck.graph.model import GraphModel
from bncheck.loaders.graphs import model_from_graph_def, model_from_meta_graph
from bncheck.protos import message_class


def _type_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def model_from_object(obj: Any) -> GraphModel:
    """A ``tf.Graph``, a ``GraphDef`` / ``MetaGraphDef`` message (TF's or bncheck's), or bytes."""
    source = f"<{type(obj).__name__}>"
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
    raise InputError(source, f"cannot check a {_type_name(obj)}: pass a tf.Graph, GraphDef, MetaGraphDef or a path")


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
        return op.name
    if hasattr(obj, "name") and hasattr(obj, "node_def"):
        return obj.name
    raise TypeError(f"expected an op name, tf.Operation or tf.Tensor, got {_type_name(obj)}")
