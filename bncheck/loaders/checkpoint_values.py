"""Trained values from a TF checkpoint (a training folder, or a SavedModel's ``variables/``).

Keys are TF1 variable names (``model/bn1/moving_mean``) or TF2 object paths
(``model/_operations/2/moving_mean/.ATTRIBUTES/VARIABLE_VALUE``); for the latter the checkpoint's
own object graph (``_CHECKPOINTABLE_OBJECT_GRAPH``) gives each key its variable name (its object
path where captured variables share one, see :mod:`bncheck.loaders.object_graph`). Only the index
is read whole; tensors are read when a rule asks for them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from google.protobuf.message import DecodeError

from bncheck.errors import InputError
from bncheck.graph.keras_model import TrainedValues, group_by_layer
from bncheck.loaders.checkpoint_bundle import CheckpointReader
from bncheck.loaders.object_graph import unique_names
from bncheck.protos import message_class

if TYPE_CHECKING:
    import numpy as np

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


class _CheckpointStore:
    def __init__(self, reader: CheckpointReader) -> None:
        self.reader = reader
        self.source = reader.prefix

    def read(self, key: str) -> np.ndarray:
        return self.reader.read(key)


def variable_keys(reader: CheckpointReader, renamed: Mapping[int, tuple[str, str]] | None = None) -> dict[str, str]:
    """Variable name -> checkpoint key. ``renamed`` (object-graph node id -> (TF name, new name),
    from the SavedModel the checkpoint belongs to) names those variables anew where the
    checkpoint's node of that id holds the variable of that TF name; their shared TF name then
    names nothing (another copy of it, such as an export archive's second variable list, would
    otherwise appear as a layer of its own). Without a SavedModel (``None``), variables that
    share a TF name are named by their path in the checkpoint's own object graph."""
    if OBJECT_GRAPH_KEY not in reader.entries:
        return {k: k for k in reader.keys()}
    try:
        graph = message_class("tensorflow.TrackableObjectGraph").FromString(reader.read_string(OBJECT_GRAPH_KEY))
    except DecodeError:
        raise InputError(reader.prefix + ".index", f"{OBJECT_GRAPH_KEY} is not a readable object graph") from None
    values = [(node_id, attr.full_name.split(":")[0], attr.checkpoint_key)
              for node_id, node in enumerate(graph.nodes) for attr in node.attributes
              if attr.name == "VARIABLE_VALUE" and attr.full_name and attr.checkpoint_key in reader.entries]
    if renamed is None:  # a checkpoint on its own: its own object graph tells shared names apart
        tf_names: dict[int, str] = {}
        for node_id, name, _ in values:
            tf_names.setdefault(node_id, name)
        renamed = {i: (tf_names[i], n) for i, n in unique_names(tf_names, graph.nodes).items()}
    ambiguous = {original for original, _ in renamed.values()}  # a TF name several variables share
    names: dict[str, str] = {}
    for node_id, name, key in values:
        original, new = renamed.get(node_id, (None, None))
        if new is not None and original == name:
            names.setdefault(new, key)
        elif name not in ambiguous:  # which layer's a shared name is cannot be told here
            names.setdefault(name, key)
    return names


def values_from_checkpoint(prefix: str, origin: str,
                           renamed: Mapping[int, tuple[str, str]] | None = None) -> TrainedValues:
    reader = CheckpointReader(prefix)
    keys = variable_keys(reader, renamed)
    layers, steps = group_by_layer(keys)
    return TrainedValues(_CheckpointStore(reader), layers, steps, origin, keys)
