"""Exact tests for the checkpoint loaders (``checkpoint_values``, ``object_graph``,
``checkpoint_bundle``) and ``loaders/__init__.py``, written against the mutants a mutation run of
them left alive (see ``docs/development/mutation-testing.md``). Checkpoints are built here byte by
byte: an index table (``fuzz.mutators.write_table``) and one data shard."""
from __future__ import annotations

import pathlib
import struct
from typing import Any

import numpy as np
import pytest

from bncheck.errors import InputError
from bncheck.loaders.checkpoint_bundle import CheckpointReader
from bncheck.loaders.checkpoint_values import OBJECT_GRAPH_KEY, values_from_checkpoint, variable_keys
from bncheck.loaders.object_graph import (captured_variable_names, distinct_name, object_paths, renamed_variables,
                                          tf_name)
from bncheck.protos import message_class
from fuzz.mutators import write_table


# -- building checkpoints ----------------------------------------------------------------------

def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(data: bytes) -> tuple[bytes, int]:
    """A scalar string tensor's shard bytes and the index's checksum of them."""
    length = struct.pack("<I", len(data))
    lengths_crc = struct.pack("<I", _masked(length))
    return _varint(len(data)) + lengths_crc + data, _masked(length + lengths_crc + data)


def _checkpoint(folder: pathlib.Path, tensors: dict[str, Any], header: dict[str, int] | None = None,
                name: str = "ckpt", shards: int = 1, **entry_changes: dict[str, Any]) -> str:
    """A checkpoint ``folder/name`` holding ``tensors`` (key -> numpy array, or bytes for a scalar
    string) in shard 0 of ``shards``; ``header`` the BundleHeaderProto's fields (None: no header
    entry); ``entry_changes`` overrides a key's BundleEntryProto fields."""
    entry_cls = message_class("tensorflow.BundleEntryProto")
    data = bytearray()
    rows = []
    if header is not None:
        rows.append((b"", message_class("tensorflow.BundleHeaderProto")(**header).SerializeToString()))
    for key in sorted(tensors):
        value = tensors[key]
        entry = entry_cls(shard_id=0, offset=len(data))
        if isinstance(value, bytes):
            raw, entry.crc32c = _string(value)
            entry.dtype = 7
        else:
            raw = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes()
            entry.dtype = {"float32": 1, "int64": 9, "int32": 3}[value.dtype.name]
            entry.crc32c = _masked(raw)
            for size in value.shape:
                entry.shape.dim.add().size = size
        entry.size = len(raw)
        for field, change in entry_changes.get(key, {}).items():
            setattr(entry, field, change)
        data += raw
        rows.append((key.encode(), entry.SerializeToString()))
    prefix = folder / name
    prefix.with_name(f"{name}.index").write_bytes(write_table(rows))
    prefix.with_name(f"{name}.data-00000-of-{shards:05d}").write_bytes(bytes(data))
    return str(prefix)


def _error(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(InputError) as info:
        call(*args)
    return info.value.source, info.value.reason


# -- checkpoint_values.py ----------------------------------------------------------------------

def _trackable_graph(attributes: list[tuple[str, str, str]]) -> bytes:
    """A TrackableObjectGraph: a root with child ``bn`` holding ``attributes`` (name, full name,
    checkpoint key)."""
    graph = message_class("tensorflow.TrackableObjectGraph")()
    root = graph.nodes.add()
    root.children.add(node_id=1, local_name="bn")
    node = graph.nodes.add()
    for name, full_name, key in attributes:
        node.attributes.add(name=name, full_name=full_name, checkpoint_key=key)
    return bytes(graph.SerializeToString())


def test_a_checkpoint_s_variables_are_its_object_graph_s_stored_variable_values(tmp_path: pathlib.Path) -> None:
    one = np.zeros(2, np.float32)
    graph = _trackable_graph([
        ("VARIABLE_VALUE", "bn/moving_mean:0", "bn/moving_mean/.ATTRIBUTES/VARIABLE_VALUE"),
        ("VARIABLE_VALUE", "bn/gone", "bn/gone/.ATTRIBUTES/VARIABLE_VALUE"),  # no tensor of that key
        ("VARIABLE_VALUE", "", "bn/unnamed/.ATTRIBUTES/VARIABLE_VALUE"),  # no TF name
        ("OBJECT_CONFIG_JSON", "bn/config", "bn/config/.ATTRIBUTES/OBJECT_CONFIG_JSON"),  # no variable
    ])
    prefix = _checkpoint(tmp_path, {OBJECT_GRAPH_KEY: graph, "bn/moving_mean/.ATTRIBUTES/VARIABLE_VALUE": one,
                                    "bn/unnamed/.ATTRIBUTES/VARIABLE_VALUE": one,
                                    "bn/config/.ATTRIBUTES/OBJECT_CONFIG_JSON": one})
    assert variable_keys(CheckpointReader(prefix)) == {"bn/moving_mean": "bn/moving_mean/.ATTRIBUTES/VARIABLE_VALUE"}


def test_an_unreadable_object_graph_names_the_index(tmp_path: pathlib.Path) -> None:
    prefix = _checkpoint(tmp_path, {OBJECT_GRAPH_KEY: b"\xff\xff\xff"})
    assert _error(variable_keys, CheckpointReader(prefix)) == (
        prefix + ".index", "_CHECKPOINTABLE_OBJECT_GRAPH is not a readable object graph")


def test_trained_values_of_a_checkpoint_read_its_tensors(tmp_path: pathlib.Path) -> None:
    prefix = _checkpoint(tmp_path, {"bn/moving_mean": np.array([1.5, 2.0], np.float32),
                                    "global_step": np.array(7, np.int64)})
    values = values_from_checkpoint(prefix, "checkpoint ckpt")
    assert (values.layers, values.steps, values.origin) == (
        {"bn": {"moving_mean": "bn/moving_mean"}}, {"global_step": "global_step"}, "checkpoint ckpt")
    assert values.read("bn/moving_mean").tolist() == [1.5, 2.0]
    assert values.store.source == prefix


# -- object_graph.py ---------------------------------------------------------------------------

def _saved_objects(children: dict[int, list[tuple[str, int]]], variables: dict[int, str], count: int,
                   bound: list[int] = ()) -> Any:  # type: ignore[assignment]
    graph = message_class("tensorflow.SavedObjectGraph")()
    for node_id in range(count):
        node = graph.nodes.add()
        for local_name, child in children.get(node_id, []):
            node.children.add(local_name=local_name, node_id=child)
        if node_id in variables:
            node.variable.name = variables[node_id]
        else:
            node.user_object.identifier = "_generic_user_object"
    graph.concrete_functions["f"].bound_inputs.extend(bound)
    return graph


def test_object_paths_of_no_nodes_and_of_a_child_one_past_the_last_node() -> None:
    assert object_paths([]) == {}
    graph = _saved_objects({0: [("model", 1), ("past", 2), ("root", 0)]}, {}, 2)
    assert object_paths(graph.nodes) == {0: "", 1: "model"}


def test_a_variable_object_without_a_name_has_no_tf_name() -> None:
    graph = _saved_objects({}, {0: "bn/moving_mean:0", 1: ""}, 3)
    graph.nodes[1].variable.dtype = 1  # a variable object, its name left empty
    assert [tf_name(node) for node in graph.nodes] == ["bn/moving_mean", None, None]


def test_captured_variables_include_the_root_and_skip_ids_past_the_last_node() -> None:
    graph = _saved_objects({}, {0: "root/v", 1: "bn/moving_mean"}, 2, bound=[2, 0, 1, 1, 5])
    assert captured_variable_names(graph) == {0: "root/v", 1: "bn/moving_mean"}


@pytest.mark.parametrize(("name", "path", "expected"), [
    ("model/bn/moving_mean", "holder/moving_mean", "holder/moving_mean"),  # the path ends in the name
    ("model/bn/moving_mean", "variables/3", "model/bn/variables_3/moving_mean"),
    ("moving_mean", "variables/3", "variables_3/moving_mean"),  # a TF name without a scope
    ("moving_mean", "", "moving_mean"),  # unreachable from the root
])
def test_a_shared_tf_name_is_told_apart_by_the_object_path(name: str, path: str, expected: str) -> None:
    assert distinct_name(name, path) == expected


def test_only_variables_named_other_than_their_tf_name_are_renamed() -> None:
    saved_model = message_class("tensorflow.SavedModel")()
    meta = saved_model.meta_graphs.add()
    meta.object_graph_def.CopyFrom(_saved_objects({}, {1: "bn/moving_mean", 2: "bn/moving_mean"}, 4))
    captured = {1: "bn/moving_mean", 2: "model/bn_b/moving_mean", 3: "not/a/variable"}
    assert renamed_variables(saved_model, [captured]) == {2: ("bn/moving_mean", "model/bn_b/moving_mean")}
