"""Exact tests for the checkpoint loaders (``checkpoint_values``, ``object_graph``,
``checkpoint_bundle``) and ``loaders/__init__.py``, written against the mutants a mutation run of
them left alive (see ``docs/development/mutation-testing.md``). Checkpoints are built here byte by
byte: an index table (``fuzz.mutators.write_table``) and one data shard."""
from __future__ import annotations

import os
import pathlib
import shutil
import struct
import sys
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES

from bncheck.errors import InputError
from bncheck.loaders import (
    Target,
    discover,
    latest_checkpoint_prefix,
    load,
    summarise_skips,
)
from bncheck.loaders.checkpoint_bundle import CheckpointReader
from bncheck.loaders.checkpoint_values import (
    OBJECT_GRAPH_KEY,
    values_from_checkpoint,
    variable_keys,
)
from bncheck.loaders.object_graph import (
    captured_variable_names,
    distinct_name,
    object_paths,
    renamed_variables,
    tf_name,
)
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
    """A checkpoint ``folder/name`` holding ``tensors`` (key -> numpy array, bytes for a scalar
    string, or (dtype, raw bytes) for a scalar of any bytes) in shard 0 of ``shards``; ``header`` the BundleHeaderProto's fields (None: no header
    entry); ``entry_changes`` overrides a key's BundleEntryProto fields (``dims``: its shape)."""
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
        elif isinstance(value, tuple):  # (dtype, raw bytes): a tensor's bytes as given, no checksum
            entry.dtype, raw = value
        else:
            raw = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes()
            entry.dtype = {"float32": 1, "int64": 9, "int32": 3}[value.dtype.name]
            entry.crc32c = _masked(raw)
            for size in value.shape:
                entry.shape.dim.add().size = size
        entry.size = len(raw)
        for field, change in entry_changes.get(key, {}).items():
            if field == "dims":
                del entry.shape.dim[:]
                for size in change:
                    entry.shape.dim.add().size = size
            else:
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
                   bound: tuple[int, ...] = ()) -> Any:
    """A SavedObjectGraph of ``count`` nodes: variables named as given, the others plain objects, and
    one function capturing ``bound``."""
    from google.protobuf import json_format

    nodes = [{"children": [{"local_name": name, "node_id": child} for name, child in children.get(i, [])],
              **({"variable": {"name": variables[i]}} if i in variables
                 else {"user_object": {"identifier": "_generic_user_object"}})} for i in range(count)]
    return json_format.ParseDict({"nodes": nodes, "concrete_functions": {"f": {"bound_inputs": list(bound)}}},
                                 message_class("tensorflow.SavedObjectGraph")())


def test_object_paths_of_no_nodes_and_of_a_child_one_past_the_last_node() -> None:
    assert object_paths([]) == {}
    graph = _saved_objects({0: [("model", 1), ("past", 2), ("root", 0)]}, {}, 2)
    assert object_paths(graph.nodes) == {0: "", 1: "model"}


def test_a_variable_object_without_a_name_has_no_tf_name() -> None:
    graph = _saved_objects({}, {0: "bn/moving_mean:0", 1: ""}, 3)
    graph.nodes[1].variable.dtype = 1  # a variable object, its name left empty
    assert [tf_name(node) for node in graph.nodes] == ["bn/moving_mean", None, None]


def test_captured_variables_include_the_root_and_skip_ids_past_the_last_node() -> None:
    graph = _saved_objects({}, {0: "root/v", 1: "bn/moving_mean"}, 2, bound=(2, 0, 1, 1, 5))
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


# -- checkpoint_bundle.py: the index table -----------------------------------------------------

def _footer(index_offset: int, index_size: int) -> bytes:
    handles = _varint(0) + _varint(0) + _varint(index_offset) + _varint(index_size)
    return handles.ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)


def _block(*entries: tuple[int, int, int, bytes]) -> bytes:
    """A table block of (shared, unshared, value size, key and value bytes) entries, no restarts."""
    body = b"".join(_varint(a) + _varint(b) + _varint(c) + rest for a, b, c, rest in entries)
    return body + struct.pack("<I", 0)


def _index_with_block(block: bytes) -> bytes:
    return block + b"\x00" * 5 + _footer(0, len(block))


@pytest.mark.parametrize(("index", "reason"), [
    (bytes(47), "file too short for a table footer"),
    (bytes(48), "no table magic number"),
    (_footer(0, 0), "block too short"),  # the index block is empty
    (_index_with_block(b"\xff\xff\xff\xff"), "bad restart count"),
    (_index_with_block(_block((2, 0, 0, b""))), "entry overruns its block"),  # shares 2 bytes of no key
    (_index_with_block(_block((0, 0, 9, b"ab"))), "entry overruns its block"),  # value past the block
    (_index_with_block(_block((0, 9, 0, b"ab"))), "entry overruns its block"),  # key past the block
    (_index_with_block(_block((0, 1, 1, b"k\x80"))), "bad varint"),  # a block handle cut short
    (_index_with_block(_block((0, 1, 2, b"k" + _varint(0) + _varint(59)))),  # ends 4 bytes before the file
     "block handle points past the end of the file"),
    (_footer(39, 4), "compressed table blocks are not supported"),  # ends 5 bytes before the file
], ids=["47_bytes", "no_magic", "empty_block", "restarts", "shared", "value", "key", "handle", "past_end", "at_end"])
def test_an_unreadable_index_names_the_index_and_the_table_s_fault(tmp_path: pathlib.Path, index: bytes,
                                                                     reason: str) -> None:
    (tmp_path / "ckpt.index").write_bytes(index)
    prefix = str(tmp_path / "ckpt")
    assert _error(CheckpointReader, prefix) == (prefix + ".index", f"not a readable checkpoint index ({reason})")


def test_an_index_block_of_no_entries_is_an_empty_checkpoint(tmp_path: pathlib.Path) -> None:
    (tmp_path / "ckpt.index").write_bytes(_index_with_block(b"\x00\x00\x00\x00"))
    reader = CheckpointReader(str(tmp_path / "ckpt"))
    assert (reader.keys(), reader.header) == ([], None)


def test_a_big_endian_checkpoint_is_refused(tmp_path: pathlib.Path) -> None:
    prefix = _checkpoint(tmp_path, {"x": np.zeros(1, np.float32)}, header={"num_shards": 1, "endianness": 1})
    assert _error(CheckpointReader, prefix) == (prefix + ".index", "big-endian checkpoints are not supported")


def test_an_index_key_of_bytes_that_are_no_utf8_is_read_with_replacement_characters(tmp_path: pathlib.Path) -> None:
    entry = message_class("tensorflow.BundleEntryProto")(dtype=1, size=0)
    (tmp_path / "ckpt.index").write_bytes(write_table([(b"bn/\xff", entry.SerializeToString())]))
    assert CheckpointReader(str(tmp_path / "ckpt")).keys() == ["bn/\ufffd"]


def test_an_index_over_the_size_limit_is_refused_before_it_is_read(tmp_path: pathlib.Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from bncheck.loaders import checkpoint_bundle

    monkeypatch.setattr(checkpoint_bundle, "MAX_FILE_BYTES", 1 << 20)
    (tmp_path / "ckpt.index").write_bytes(bytes((1 << 20) + 1))
    prefix = str(tmp_path / "ckpt")
    assert _error(CheckpointReader, prefix) == (prefix + ".index", ("checkpoint index of 1048577 bytes is larger "
                                                "than the 1 MiB bncheck reads (raise BNCHECK_MAX_FILE_MB to allow it)"))


# -- checkpoint_bundle.py: tensors -------------------------------------------------------------

def test_tensors_keep_their_shape_and_a_reference_dtype_reads_as_its_value_dtype(tmp_path: pathlib.Path) -> None:
    grid = np.arange(6, dtype=np.float32).reshape(2, 3)
    rank32 = np.ones((1,) * 32, np.float32)
    prefix = _checkpoint(tmp_path, {"grid": grid, "ref": np.array([2.5], np.float32), "empty": np.zeros((2, 0), np.float32),
                                    "rank32": rank32}, ref={"dtype": 101})  # DT_FLOAT_REF
    reader = CheckpointReader(prefix)
    assert reader.read("grid").shape == (2, 3) and reader.read("grid").tolist() == grid.tolist()
    assert reader.read("ref").tolist() == [2.5]
    assert reader.read("empty").shape == (2, 0)
    assert reader.read("rank32").shape == (1,) * 32


def test_tensor_shapes_the_bytes_cannot_hold_are_refused_naming_eight_dimensions(tmp_path: pathlib.Path) -> None:
    prefix = _checkpoint(tmp_path, {"rank33": np.ones((1,) * 33, np.float32), "rank9": np.ones((1,) * 9, np.float32)},
                         rank9={"size": 8})
    reader = CheckpointReader(prefix)
    assert _error(reader.read, "rank33") == (prefix + ".index", f"tensor 'rank33' has an invalid shape {[1] * 8}")
    assert _error(reader.read, "rank9") == (
        prefix + ".index", f"tensor 'rank9': shape {[1] * 8} of float32 needs 4 bytes, the index says 8")


def test_tensor_places_are_checked_against_the_shards(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bncheck.loaders import checkpoint_bundle

    two = np.array([1.0, 2.0], np.float32)
    prefix = _checkpoint(tmp_path, {"a_shard": two, "b_past": two, "c_bad_crc": two, "d_three": np.ones(3, np.float32),
                                    "e_two": two},
                         a_shard={"shard_id": 1}, b_past={"offset": 40}, c_bad_crc={"crc32c": 1})
    shard = prefix + ".data-00000-of-00001"
    reader = CheckpointReader(prefix)
    assert _error(reader.read, "a_shard") == (prefix + ".index", "tensor 'a_shard' names shard 1 of a 1-shard checkpoint")
    assert _error(reader.read, "b_past") == (shard, "truncated: tensor 'b_past' needs 8 bytes at 40, the file has 44")
    assert _error(reader.read, "c_bad_crc") == (shard, "checksum mismatch for tensor 'c_bad_crc'")
    monkeypatch.setattr(checkpoint_bundle, "MAX_TENSOR_BYTES", 8)
    assert reader.read("e_two").tolist() == [1.0, 2.0]  # exactly at the limit
    assert _error(reader.read, "d_three") == (shard, ("tensor 'd_three' declares 12 bytes, more than the 0 MiB "
                                              "bncheck reads for one tensor (BNCHECK_MAX_TENSOR_MB)"))


def test_scalar_strings_are_checked_for_type_length_and_checksum(tmp_path: pathlib.Path) -> None:
    ok, crc = _string(b"abc")
    prefix = _checkpoint(tmp_path, {"float": np.array(1.0, np.float32), "vector": b"abc", "no_length": (7, b"\x80"),
                                    "short": (7, _varint(10) + b"\x00" * 4 + b"abc"), "bad_crc": b"abc",
                                    "trailing": (7, ok + b"!")},
                         vector={"dims": [1]},
                         bad_crc={"crc32c": 1}, trailing={"crc32c": crc})
    reader = CheckpointReader(prefix)
    assert _error(reader.read_string, "float") == (prefix, "tensor 'float' is not a scalar string")
    assert _error(reader.read_string, "vector") == (prefix, "tensor 'vector' is not a scalar string")
    assert _error(reader.read_string, "no_length") == (prefix, "tensor 'no_length': bad string length")
    assert _error(reader.read_string, "short") == (prefix, "tensor 'short': string shorter than its length")
    assert _error(reader.read_string, "bad_crc") == (prefix, "checksum mismatch for tensor 'bad_crc'")
    assert reader.read_string("trailing") == b"abc"


def test_a_remote_shard_that_fails_or_shrinks_is_an_error_naming_the_shard(tmp_path: pathlib.Path) -> None:
    import fsspec  # the remote extra, installed with the test extras

    from bncheck import remote

    built = tmp_path / "built"
    built.mkdir()
    _checkpoint(built, {"a": np.array([1.0, 2.0], np.float32), "b": np.array([3.0, 4.0], np.float32)})
    fs = fsspec.filesystem("memory")
    root = "/bncheck-mutation-checkpoints/ckpt_folder"
    for path in built.iterdir():
        fs.pipe(f"{root}/{path.name}", path.read_bytes())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    try:
        prefix = remote.fetch(f"memory:/{root}", str(scratch)) + "/ckpt"
        shard = prefix + ".data-00000-of-00001"
        reader = CheckpointReader(prefix)
        fs.rm(f"{root}/ckpt.data-00000-of-00001")
        assert _error(reader.read, "a") == (shard, f"{root}/ckpt.data-00000-of-00001")  # fsspec's FileNotFoundError
        fs.pipe(f"{root}/ckpt.data-00000-of-00001", b"\x00" * 12)  # back, shorter than when it was laid out
        assert _error(reader.read, "b") == (shard, "truncated: tensor 'b' needs 8 bytes at 8")
    finally:
        remote.forget(str(scratch))
        fs.rm("/bncheck-mutation-checkpoints", recursive=True)


# -- checkpoint_bundle.py: crc32c --------------------------------------------------------------

class _FakeCrc:
    """A stand-in for the ``google_crc32c`` package."""

    def __init__(self, implementation: str) -> None:
        self.implementation = implementation

    def value(self, data: bytes) -> int:
        assert self.implementation == "c", "the pure Python implementation of google_crc32c is never called"
        return 7


@pytest.mark.parametrize("installed", [None, _FakeCrc("python")], ids=["not_installed", "python_build"])
def test_crc32c_in_pure_python_gives_the_standard_answers(monkeypatch: pytest.MonkeyPatch, installed: Any) -> None:
    from bncheck.loaders import checkpoint_bundle

    monkeypatch.setitem(sys.modules, "google_crc32c", installed)  # None: the import fails
    monkeypatch.setattr(checkpoint_bundle, "_CRC_TABLE", [])
    data = bytes(range(256)) * 3 + b"\xff\x00\x80"
    assert checkpoint_bundle.crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert checkpoint_bundle.crc32c(b"") == 0
    assert checkpoint_bundle.crc32c(data) == _crc32c(data)
    assert checkpoint_bundle.crc32c(b"\x00" * 32) == 0x8A9136AA  # RFC 3720, B.4: 32 bytes of zeros
    assert checkpoint_bundle.crc32c(b"\xff" * 32) == 0x62A8AB43  # and of ones


def test_crc32c_uses_the_c_build_of_google_crc32c(monkeypatch: pytest.MonkeyPatch) -> None:
    from bncheck.loaders import checkpoint_bundle

    monkeypatch.setitem(sys.modules, "google_crc32c", _FakeCrc("c"))
    assert checkpoint_bundle.crc32c(b"123456789") == 7


# -- loaders/__init__.py: finding inputs -------------------------------------------------------

CHECKPOINT = FIXTURES / "tf1" / "layers_checkpoint_no_updates"
GRAPH = FIXTURES / "tf1" / "frozen_layer_norm.pb"


def _copy(source: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    return target


def test_a_saved_model_file_given_by_a_bare_name_stands_for_the_current_folder(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert discover("saved_model.pb") == [Target(".", "saved_model")]


def test_a_python_file_given_by_name_is_source(tmp_path: pathlib.Path) -> None:
    (tmp_path / "train.py").write_text("x = 1\n")
    assert discover(str(tmp_path / "train.py")) == [Target(str(tmp_path / "train.py"), "source")]


def test_a_path_with_a_nul_byte_names_python_s_reason(tmp_path: pathlib.Path) -> None:
    assert _error(discover, f"{tmp_path}/a\0b") == (f"{tmp_path}/a\0b", "embedded null byte")


def test_checkpoint_folders_are_searched_below_and_saved_models_are_not(tmp_path: pathlib.Path) -> None:
    top = _copy(CHECKPOINT, tmp_path / "top")
    _copy(GRAPH, top / "below" / "g.pb")
    inner = _copy(CHECKPOINT, tmp_path / "search" / "inner")
    _copy(GRAPH, inner / "deeper" / "g.pb")
    saved = tmp_path / "search" / "saved"
    _copy(GRAPH, saved / "assets" / "g.pb")
    (saved / "saved_model.pb").write_bytes(b"")
    _copy(GRAPH, tmp_path / "search" / "checkpoint" / "g.pb")  # a folder named checkpoint is no state file
    (tmp_path / "search" / "notes.pb").write_text("not a graph")
    assert discover(str(top)) == [Target(str(top), "checkpoint"), Target(str(top / "below" / "g.pb"), "file")]
    assert discover(str(tmp_path / "search")) == [  # no notes list given: the skipped notes.pb is not told
        Target(str(tmp_path / "search" / "checkpoint" / "g.pb"), "file"), Target(str(inner), "checkpoint"),
        Target(str(inner / "deeper" / "g.pb"), "file"), Target(str(saved), "saved_model")]


def test_python_files_in_a_searched_folder_are_source_unless_in_a_virtual_environment(tmp_path: pathlib.Path) -> None:
    (tmp_path / "train.py").write_text("x = 1\n")
    _copy(tmp_path / "train.py", tmp_path / "venv" / "lib.py")
    _copy(tmp_path / "train.py", tmp_path / "code" / "model.py")
    assert discover(str(tmp_path)) == [Target(str(tmp_path / "train.py"), "source"),
                                       Target(str(tmp_path / "code" / "model.py"), "source")]


def test_an_index_beside_an_unusable_state_file_is_a_file_of_its_own(tmp_path: pathlib.Path) -> None:
    (tmp_path / "checkpoint").write_text("not a state file")
    (tmp_path / "m.index").write_bytes(b"")
    assert discover(str(tmp_path / "m.index")) == [Target(str(tmp_path / "m.index"), "file")]


def test_a_text_graph_is_recognised_by_its_first_4096_bytes_only(tmp_path: pathlib.Path) -> None:
    _copy(GRAPH, tmp_path / "g.pb")
    (tmp_path / "late.pbtxt").write_text("#" * 4100 + "\nnode {\n}\n")
    notes: list[tuple[str, str]] = []
    assert discover(str(tmp_path), notes) == [Target(str(tmp_path / "g.pb"), "file")]
    assert notes == [(str(tmp_path / "late.pbtxt"), ("skipped: not a TensorFlow artefact by content (neither a "
                      "binary nor a text GraphDef, MetaGraphDef or SavedModel)"))]


@pytest.mark.parametrize(("count", "examples"), [(3, "a, b, c"), (4, "a, b, c and 1 more"), (5, "a, b, c and 2 more")])
def test_grouped_skips_name_three_paths_and_count_the_rest(count: int, examples: str) -> None:
    notes = [(f"/s/{name}", "skipped: symlinked folder (not followed)") for name in "abcde"[:count]]
    assert summarise_skips("/s", notes) == [("/s", f"skipped {count} paths: symlinked folder (not followed): {examples}")]


def _deep(top: pathlib.Path, length: int) -> str:
    """Folders of 200-character names under ``top`` until the path is ``length`` characters or more."""
    old = os.getcwd()
    os.chdir(top)
    path = str(top)
    try:
        while len(path) < length:
            os.mkdir("d" * 200)
            os.chdir("d" * 200)
            path += "/" + "d" * 200
    finally:
        os.chdir(old)
    return path


def test_folders_past_the_path_limit_are_counted_in_the_nothing_found_error(tmp_path: pathlib.Path) -> None:
    for name, count in (("a", "1 folder"), ("b", "2 folders")):
        (tmp_path / name).mkdir()
        _deep(tmp_path / name, 4200)
        assert _error(discover, str(tmp_path)) == (str(tmp_path), ("no GraphDef, MetaGraph, SavedModel, checkpoint or "
                                                   f"Keras file found in this folder; {count} in it could not be "
                                                   "listed (File name too long)"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _error(discover, str(empty)) == (str(empty), ("no GraphDef, MetaGraph, SavedModel, checkpoint or "
                                            "Keras file found in this folder"))


def test_a_file_whose_path_is_too_long_to_open_is_skipped_with_the_reason(tmp_path: pathlib.Path) -> None:
    deep = _deep(tmp_path, 3800)
    name = "g" * (4100 - len(deep)) + ".pb"
    top = os.open(tmp_path, os.O_RDONLY)
    folder = os.open(deep[len(str(tmp_path)) + 1:], os.O_RDONLY, dir_fd=top)  # a relative path under the limit
    os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder))
    os.close(folder)
    os.close(top)
    _copy(GRAPH, tmp_path / "g.pb")
    notes: list[tuple[str, str]] = []
    assert discover(str(tmp_path), notes) == [Target(str(tmp_path / "g.pb"), "file")]
    assert notes == [(f"{deep}/{name}", "skipped: File name too long")]


def test_a_socket_or_block_device_given_as_the_path_is_refused(tmp_path: pathlib.Path) -> None:
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        assert _error(discover, str(tmp_path / "s")) == (str(tmp_path / "s"), "not a regular file or folder (a socket)")
    if not pathlib.Path("/dev/loop0").is_block_device():
        pytest.skip("no block device /dev/loop0 here")
    assert _error(discover, "/dev/loop0") == ("/dev/loop0", "not a regular file or folder (a block device)")


# -- loaders/__init__.py: loading --------------------------------------------------------------

def test_a_file_over_the_size_limit_is_named_a_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    from bncheck import loaders

    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 1 << 20)
    (tmp_path / "big.pb").write_bytes(b"\x0a" + bytes(1 << 20))
    assert _error(load, Target(str(tmp_path / "big.pb"), "file")) == (
        str(tmp_path / "big.pb"), ("file of 1048577 bytes is larger than the 1 MiB bncheck reads "
                                  "(raise BNCHECK_MAX_FILE_MB to allow it)"))
    with open(tmp_path / "huge.pb", "wb") as fh:  # 16 MiB (sparse): refused with only its first bytes read
        fh.truncate(16 << 20)
    tracemalloc.start()
    try:
        assert _error(load, Target(str(tmp_path / "huge.pb"), "file"))[1].startswith("file of 16777216 bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_keras_file_without_a_signature_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "m.keras").write_bytes(b"not a zip")
    assert _error(load, Target(str(tmp_path / "m.keras"), "file")) == (
        str(tmp_path / "m.keras"), "not a Keras file: no zip or HDF5 signature (truncated or another format)")


def test_models_from_files_are_labelled_by_their_kind() -> None:
    meta = CHECKPOINT / "model.ckpt-20.meta"
    saved = FIXTURES / "tfkeras" / "saved_model_clean" / "saved_model.pb"
    assert [(m.kind, m.source, m.label) for m in load(Target(str(meta), "file"))] == [
        ("meta_graph", str(meta), "MetaGraph")]
    assert [(m.kind, m.source, m.label) for m in load(Target(str(saved), "file"))] == [
        ("saved_model", str(saved), "MetaGraph [serve]")]
    [model] = load(Target(str(CHECKPOINT), "checkpoint"))
    assert (model.kind, model.source, model.label) == ("meta_graph", str(CHECKPOINT), "checkpoint model.ckpt-20")


def test_a_saved_model_folder_or_checkpoint_meta_of_another_message_is_refused(tmp_path: pathlib.Path) -> None:
    _copy(GRAPH, tmp_path / "saved" / "saved_model.pb")
    assert _error(load, Target(str(tmp_path / "saved"), "saved_model"))[0] == str(tmp_path / "saved" / "saved_model.pb")
    (tmp_path / "none").mkdir()
    assert _error(load, Target(str(tmp_path / "none"), "saved_model")) == (
        str(tmp_path / "none"), "no saved_model.pb or saved_model.pbtxt in this folder")
    folder = _copy(CHECKPOINT, tmp_path / "ckpt")
    _copy(GRAPH, folder / "model.ckpt-20.meta")
    assert _error(load, Target(str(folder), "checkpoint"))[0] == str(folder / "model.ckpt-20.meta")


def test_a_remote_file_gone_before_its_signature_is_read_names_the_file(tmp_path: pathlib.Path) -> None:
    import fsspec

    from bncheck import remote

    fs = fsspec.filesystem("memory")
    fs.pipe("/bncheck-mutation-checkpoints/gone.pb", GRAPH.read_bytes())
    try:
        local = remote.fetch("memory://bncheck-mutation-checkpoints/gone.pb", str(tmp_path))
        fs.rm("/bncheck-mutation-checkpoints/gone.pb")
        assert _error(load, Target(local, "file")) == (local, "/bncheck-mutation-checkpoints/gone.pb")
    finally:
        remote.forget(str(tmp_path))
        if fs.exists("/bncheck-mutation-checkpoints"):
            fs.rm("/bncheck-mutation-checkpoints", recursive=True)


# -- loaders/__init__.py: the checkpoint state file --------------------------------------------

def test_a_state_file_over_1_mib_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "m"\n' + "#" * (1 << 20))
    size = (tmp_path / "checkpoint").stat().st_size
    assert _error(latest_checkpoint_prefix, str(tmp_path)) == (
        str(tmp_path / "checkpoint"), (f"checkpoint state file of {size} bytes is larger than the 1 MiB bncheck "
                                      "reads (raise BNCHECK_MAX_FILE_MB to allow it)"))


@pytest.mark.parametrize(("recorded", "odd_file"), [("/elsewhere/", ".index"), ("/elsewhere/.", "..index"),
                                                    ("/elsewhere/..", "...index")])
def test_a_recorded_path_without_a_file_name_is_never_looked_for_beside(tmp_path: pathlib.Path, recorded: str,
                                                                         odd_file: str) -> None:
    (tmp_path / "checkpoint").write_text(f'model_checkpoint_path: "{recorded}"\n')
    (tmp_path / odd_file).write_bytes(b"")
    base = recorded.rpartition("/")[2]
    assert _error(latest_checkpoint_prefix, str(tmp_path)) == (
        str(tmp_path / "checkpoint"), (f"model_checkpoint_path {recorded!r} is outside this folder and no "
                                      f"checkpoint {base!r} is beside the state file"))


@pytest.mark.parametrize("suffix", [".index", ".meta"])
def test_a_moved_checkpoint_is_found_beside_the_state_file_by_its_index_or_its_meta(tmp_path: pathlib.Path,
                                                                                    suffix: str) -> None:
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/old/place/model.ckpt"\n')
    (tmp_path / f"model.ckpt{suffix}").write_bytes(b"")
    assert latest_checkpoint_prefix(str(tmp_path)) == str(tmp_path / "model.ckpt")


def test_a_checkpoint_in_a_subfolder_of_a_folder_named_with_a_trailing_space(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "ckpt "
    (folder / "sub").mkdir(parents=True)
    (folder / "checkpoint").write_text('model_checkpoint_path: "sub/model.ckpt"\n')
    (folder / "sub" / "model.ckpt.index").write_bytes(b"")
    assert latest_checkpoint_prefix(str(folder)) == str(folder / "sub" / "model.ckpt")


def _as_nobody(call: Any, *args: Any) -> tuple[str, str] | None:
    """``call(*args)``'s InputError (source, reason) in a forked child running as user ``nobody``."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                call(*args)
                result = None
            except InputError as exc:
                result = [exc.source, exc.reason]
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    return None if result is None else (result[0], result[1])


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0,
                    reason="needs root to switch to an unprivileged user")
def test_a_folder_that_can_be_entered_but_not_listed_is_refused_with_the_os_reason() -> None:
    import tempfile

    top = tempfile.mkdtemp(prefix="bncheck-locked-", dir="/tmp")
    try:
        os.chmod(top, 0o711)
        locked = os.path.join(top, "locked")
        os.mkdir(locked, 0o311)  # search, no read: stat works, listing does not
        assert _as_nobody(discover, locked) == (locked, "cannot list this folder (Permission denied)")
    finally:
        shutil.rmtree(top)
