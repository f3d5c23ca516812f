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
        import tensorflow as tf  # the caller built a tf.Graph, so TensorFlow is loaded already

        meta = tf.compat.v1.train.export_meta_graph(graph=obj, clear_devices=True)
        ours = message_class("tensorflow.MetaGraphDef").FromString(meta.SerializeToString())
        return model_from_meta_graph(ours, "<tf.Graph>", "meta_graph", "tf.Graph")
    full_name = getattr(getattr(obj, "DESCRIPTOR", None), "full_name", None)
    if full_name == "tensorflow.GraphDef":
        ours = message_class(full_name).FromString(obj.SerializeToString())
        return model_from_graph_def(ours, source)
    if full_name == "tensorflow.MetaGraphDef":
        ours = message_class(full_name).FromString(obj.SerializeToString())
        return model_from_meta_graph(ours, source, "meta_graph", "MetaGraph")
    raise InputError(source, f"cannot check a {_type_name(obj)}: pass a tf.Graph, GraphDef, MetaGraphDef or a path")


def op_name(obj: Any) -> str:
    """The node name for a name, ``name:0``, ``tf.Operation`` or ``tf.Tensor``."""
    if isinstance(obj, str):
        return obj.lstrip("^").split(":")[0]
    op = getattr(obj, "op", None)
    if op is not None and hasattr(op, "name"):
        return op.name
    if hasattr(obj, "name") and hasattr(obj, "node_def"):
        return obj.name
    raise TypeError(f"expected an op name, tf.Operation or tf.Tensor, got {_type_name(obj)}")
