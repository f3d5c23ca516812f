"""Property tests (hypothesis) for the pure parts: tensor-bundle tables and varints, TensorProto
decoding, tensor references, Keras momentum values, nesting depth, checkpoint state files, constant
folding (against numpy) and moving-average momentum solving. Each states what must hold for every
input, hostile ones included."""
from __future__ import annotations

import json
import math
import struct
import sys

import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bncheck.errors import InputError
from bncheck.graph.keras_model import KerasBnLayer
from bncheck.graph.model import TensorRef
from bncheck.graph.values import DTYPES, tensor_to_numpy
from bncheck.loaders import checkpoint_bundle as cb
from bncheck.loaders import latest_checkpoint_prefix
from bncheck.loaders.safe_io import nesting_depth
from bncheck.protos import message_class
from conftest import ROOT

sys.path.insert(0, str(ROOT))
from fuzz.mutators import _varint as encode_varint  # noqa: E402
from fuzz.mutators import write_table  # noqa: E402

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
Entry = message_class("tensorflow.BundleEntryProto")
Tensor = message_class("tensorflow.TensorProto")


@FAST
@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_varint_round_trip(value):
    data = encode_varint(value)
    assert cb._varint(data + b"junk", 0) == (value, len(data))


@FAST
@given(st.binary(max_size=12))
def test_varint_never_reads_past_its_buffer(data):
    try:
        value, pos = cb._varint(data, 0)
    except ValueError:
        return
    assert 0 < pos <= len(data) and value >= 0


entries = st.dictionaries(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20),
    st.builds(lambda dtype, dims, shard, offset, size, crc: Entry(
        dtype=dtype, shape={"dim": [{"size": d} for d in dims]}, shard_id=shard, offset=offset, size=size, crc32c=crc),
        st.integers(0, 30), st.lists(st.integers(-1, 1 << 40), max_size=4), st.integers(0, 9),
        st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-(1 << 63), (1 << 63) - 1), st.integers(0, (1 << 32) - 1)),
    max_size=12)


@FAST
@given(entries)
def test_index_tables_decode_to_exactly_their_entries(table):
    pairs = sorted((k.encode(), v.SerializeToString()) for k, v in table.items())
    decoded, header = cb.CheckpointReader._parse_index(write_table(pairs))
    assert header is None
    assert decoded == dict(table)


@FAST
@given(entries, st.data())
def test_damaged_index_tables_fail_only_as_value_errors(table, data):
    pairs = sorted((k.encode(), v.SerializeToString()) for k, v in table.items())
    blob = bytearray(write_table(pairs))
    for _ in range(data.draw(st.integers(1, 6))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    try:
        cb.CheckpointReader._parse_index(bytes(blob))
    except (ValueError, struct.error, DecodeError):
        pass


@FAST
@given(entries, st.sampled_from(sorted(set(DTYPES) - {10})), st.data())
def test_reading_any_declared_tensor_gives_its_shape_or_an_input_error(tmp_path, table, dtype, data):
    """Whatever an index declares (sizes, offsets, shards, shapes), read() returns an array of the
    declared shape or raises InputError: never another exception, never more than the file."""
    if not table:
        return
    prefix = tmp_path / f"ck{data.draw(st.integers(0, 1 << 30))}"
    shard = bytes(range(256)) * 4
    (prefix.parent / (prefix.name + ".data-00000-of-00001")).write_bytes(shard)
    for entry in table.values():
        entry.dtype = dtype
        entry.crc32c = 0
    pairs = sorted((k.encode(), v.SerializeToString()) for k, v in table.items())
    (prefix.parent / (prefix.name + ".index")).write_bytes(write_table(pairs))
    reader = cb.CheckpointReader(str(prefix))
    for key in reader.keys():
        try:
            value = reader.read(key)
        except InputError as exc:
            assert "\n" not in str(exc)
            continue
        assert value.shape == reader.shape(key) and value.nbytes <= len(shard)


@FAST
@given(st.sampled_from(sorted(DTYPES)), st.lists(st.integers(0, 5), max_size=3), st.data())
def test_tensor_content_round_trips(dtype, dims, data):
    np_dtype = np.dtype(DTYPES[dtype][0])
    count = math.prod(dims)
    raw = data.draw(st.binary(min_size=count * np_dtype.itemsize, max_size=count * np_dtype.itemsize))
    if np_dtype == np.bool_:
        raw = bytes(b & 1 for b in raw)
    tensor = Tensor(dtype=dtype, tensor_shape={"dim": [{"size": d} for d in dims]}, tensor_content=raw)
    value = tensor_to_numpy(tensor)
    assert value is not None and value.shape == tuple(dims)
    assert value.astype(np_dtype).tobytes() == raw


@FAST
@given(st.integers(0, 120), st.lists(st.integers(-3, 1 << 62), max_size=40), st.binary(max_size=40),
       st.lists(st.integers(-(1 << 62), 1 << 62), max_size=5), st.lists(st.floats(), max_size=5),
       st.lists(st.integers(-(1 << 31), (1 << 31) - 1), max_size=5))
def test_any_tensor_proto_decodes_or_is_none(dtype, dims, content, ints, floats, halves):
    tensor = Tensor(dtype=dtype, tensor_shape={"dim": [{"size": d} for d in dims]}, tensor_content=content)
    tensor.int_val.extend(i for i in ints if -(1 << 31) <= i < 1 << 31)
    tensor.int64_val.extend(ints)
    tensor.float_val.extend(floats)
    tensor.half_val.extend(halves)
    value = tensor_to_numpy(tensor)
    assert value is None or (isinstance(value, np.ndarray) and value.shape == tuple(dims))


@FAST
@given(st.text(max_size=30))
def test_tensor_refs_parse_any_text(text):
    ref = TensorRef.parse(text)
    assert isinstance(ref.index, int) and ref.index >= 0
    assert ref.node == text.partition(":")[0]


@FAST
@given(st.text(st.characters(blacklist_characters=":"), min_size=1, max_size=10), st.integers(0, 10 ** 8))
def test_tensor_refs_read_their_index(name, index):
    assert TensorRef.parse(f"{name}:{index}") == TensorRef(name, index)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10)


@FAST
@given(json_values)
def test_keras_momentum_is_always_a_float(value):
    layer = KerasBnLayer("bn", "BatchNormalization", {"momentum": value})
    momentum = layer.momentum
    assert isinstance(momentum, float)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e300:
        assert momentum == float(value) or (math.isnan(momentum) and math.isnan(value))
    elif not isinstance(value, (int, float)) or isinstance(value, bool):
        assert momentum == 0.99
    assert layer.trainable is True  # no "trainable" key: Keras' default


@FAST
@given(json_values)
def test_keras_trainable_is_false_only_for_a_json_false(value):
    layer = KerasBnLayer("bn", "BatchNormalization", {"trainable": value})
    assert layer.trainable is (value is not False)


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@FAST
@given(json_values)
def test_json_nesting_depth_is_exact(value):
    assert nesting_depth(json.dumps(value), "[{", "]}") == _depth(value)


@FAST
@given(st.binary(max_size=200))
def test_any_checkpoint_state_file_gives_a_prefix_inside_the_folder_or_an_input_error(tmp_path, data):
    folder = tmp_path / "ck"
    folder.mkdir(exist_ok=True)
    (folder / "checkpoint").write_bytes(b'model_checkpoint_path: "' + data + b'"\n')
    try:
        prefix = latest_checkpoint_prefix(str(folder))
    except InputError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        return
    import os

    real, root = os.path.realpath(prefix), os.path.realpath(folder)
    assert real.startswith(root + os.sep)
    assert not any(ord(c) < 32 for c in prefix)


@pytest.mark.parametrize("text, depth", [('a { b { c: "{{{" } } # {{{\n', 2), ("x < y { } >", 2), ("", 0)])
def test_text_nesting_depth_ignores_strings_and_comments(text, depth):
    assert nesting_depth(text) == depth


_KERAS_CONFIG: dict = {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.floats(-5, 5), st.sampled_from([0.5, 1.0, 0.99, 0.1, float("nan"), float("inf"), 10 ** 400]),
                 st.integers(-3, 3)))
def test_keras_momentum_is_judged_by_its_value(tmp_path, momentum):
    """BN007 on a Keras config flags exactly the momenta outside [0.5, 1), whatever the number."""
    from bncheck.engine import check_models
    from bncheck.loaders import Target, load
    from fuzz import hostile

    if not _KERAS_CONFIG:
        _KERAS_CONFIG.update(hostile.keras_config())
    config = json.loads(json.dumps(_KERAS_CONFIG))
    layers = [layer for layer in config["config"]["layers"] if layer["class_name"] == "BatchNormalization"]
    for layer in layers:
        layer["config"]["momentum"] = momentum
    path = hostile.keras_with(tmp_path / f"m{abs(hash(repr(momentum))) % 10 ** 9}", config)
    flagged = {f.layer for f in check_models(load(Target(str(path), "file")), select=["BN007"])}
    value = float(momentum) if not isinstance(momentum, int) or abs(momentum) < 1e300 else math.inf
    expected = not (0.5 <= value < 1.0)
    assert flagged == ({layer["config"]["name"] for layer in layers} if expected else set())


# -- constant folding and momentum solving over generated graphs ---------------------------------

def _graph_def():
    from fuzz import hostile

    return hostile._msg("tensorflow.GraphDef")


def _const(graph_def, name: str, value: float) -> None:
    """A float64 scalar Const (DT_DOUBLE), as TensorFlow writes one."""
    from fuzz import hostile

    node = hostile._node(graph_def, name, "Const")
    node.attr["dtype"].type = 2
    tensor = node.attr["value"].tensor
    tensor.dtype = 2
    tensor.double_val.append(value)


_FOLDED = {"Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply, "RealDiv": np.divide,
           "Maximum": np.maximum, "Minimum": np.minimum}
_PASSED = ("Identity", "Snapshot", "StopGradient", "PlaceholderWithDefault")
_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 1e308]))
# an expression: a number, a pass-through op of one, or a binary op of two
expressions = st.recursive(_numbers, lambda inner: st.one_of(
    st.tuples(st.sampled_from(_PASSED), inner),
    st.tuples(st.sampled_from(sorted(_FOLDED)), inner, inner)), max_leaves=12)


def _build(graph_def, expr, names: list[str]) -> tuple[str, np.float64]:
    """Nodes computing ``expr``; returns the root's name and the value numpy gives for it."""
    name = f"n{len(names)}"
    names.append(name)
    if not isinstance(expr, tuple):
        _const(graph_def, name, expr)
        return name, np.float64(expr)
    from fuzz import hostile

    op, *args = expr
    built = [_build(graph_def, arg, names) for arg in args]
    hostile._node(graph_def, name, op, *(n for n, _ in built))
    if op in _PASSED:
        return name, built[0][1]
    with np.errstate(all="ignore"):
        return name, np.float64(_FOLDED[op](built[0][1], built[1][1]))


@FAST
@given(expressions)
def test_constant_folding_gives_what_numpy_computes(expr):
    from bncheck.graph.analysis import ConstantFolder
    from bncheck.loaders.graphs import graph_from_proto

    graph_def = _graph_def()
    root, expected = _build(graph_def, expr, [])
    got = ConstantFolder(graph_from_proto(graph_def)).scalar(TensorRef(root))
    assert isinstance(got, float)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


@FAST
@given(st.sampled_from(sorted(_FOLDED) + list(_PASSED) + ["Cast", "LogicalNot", "Merge", "Const"]),
       st.lists(st.sampled_from(["c", "missing", "c:1", "s", "^c"]), max_size=3))
def test_constant_folding_of_malformed_nodes_is_none_never_an_exception(op, inputs):
    """Missing inputs, wrong output indices, non-numeric constants, a Const without a value."""
    from bncheck.graph.analysis import ConstantFolder
    from bncheck.loaders.graphs import graph_from_proto
    from fuzz import hostile

    graph_def = _graph_def()
    _const(graph_def, "c", 2.0)
    text = hostile._node(graph_def, "s", "Const")
    text.attr["value"].tensor.dtype = 7  # DT_STRING
    text.attr["value"].tensor.string_val.append(b"x")
    hostile._node(graph_def, "root", op, *inputs)
    got = ConstantFolder(graph_from_proto(graph_def)).scalar(TensorRef("root"))
    assert got is None or isinstance(got, (bool, float, int))


@FAST
@given(st.floats(-10, 10, allow_nan=False), st.sampled_from(["Assign", "AssignSub", "AssignAdd"]))
def test_moving_average_momentum_is_solved_exactly(momentum, form):
    """``v := m*v + (1-m)*mean``, ``v -= (v - mean)*(1-m)`` and ``v += (mean - v)*(1-m)`` all solve
    to the momentum ``m`` they were written with, whatever its value."""
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto
    from fuzz import hostile

    graph_def = _graph_def()
    hostile._node(graph_def, "x", "Placeholder")
    hostile._node(graph_def, "bn", "FusedBatchNormV3", "x", "x", "x", "x", "x", is_training=True)
    hostile._node(graph_def, "v", "VariableV2")
    _const(graph_def, "m", momentum)
    _const(graph_def, "one_minus_m", 1.0 - momentum)
    if form == "Assign":
        hostile._node(graph_def, "kept", "Mul", "m", "v")
        hostile._node(graph_def, "new", "Mul", "one_minus_m", "bn:1")
        hostile._node(graph_def, "value", "AddV2", "kept", "new")
    else:
        first, second = ("v", "bn:1") if form == "AssignSub" else ("bn:1", "v")
        hostile._node(graph_def, "diff", "Sub", first, second)
        hostile._node(graph_def, "value", "Mul", "diff", "one_minus_m")
    hostile._node(graph_def, "update", form, "v", "value")
    (layer,) = find_layers(graph_from_proto(graph_def))
    (update,) = layer.updates
    assert update.variable == "v"
    expected = momentum if form == "Assign" else 1.0 - (1.0 - momentum)
    assert update.momentum == pytest.approx(expected, rel=1e-12, abs=1e-12)
