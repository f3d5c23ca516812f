"""Hand-made hostile artefacts, generated (never stored as blobs): each ``build_*`` writes one
into a folder and returns the path to give bncheck. Used by ``tests/test_hostile_files.py`` and as
extra seeds for the fuzz targets."""
from __future__ import annotations

import io
import json
import pathlib
import shutil
import struct
import zipfile
from typing import Any

from fuzz.mutators import read_table, write_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CHECKPOINT = FIXTURES / "tf1" / "layers_checkpoint_no_updates"
KERAS = FIXTURES / "keras3" / "fit_clean.keras"
H5 = FIXTURES / "tfkeras" / "fit_clean.h5"


def _msg(name: str) -> Any:
    from bncheck.protos import message_class

    return message_class(name)()


def _node(graph: Any, name: str, op: str, *inputs: str, **attrs: Any) -> Any:
    node = graph.node.add() if hasattr(graph, "node") else graph.node_def.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bool):
            node.attr[key].b = value
        elif isinstance(value, float):
            node.attr[key].f = value
        elif isinstance(value, str):
            node.attr[key].func.name = value
    return node


# -- graphs ------------------------------------------------------------------------------------

def function_library(levels: int, recursive: bool) -> Any:
    """A GraphDef whose ``f0`` calls ``f1`` twice, ``f1`` calls ``f2`` twice, ... (a diamond:
    2**levels inlined copies if expanded naively); ``recursive`` makes the last call ``f0`` again."""
    graph = _msg("tensorflow.GraphDef")
    _node(graph, "x", "Placeholder")
    _node(graph, "call", "PartitionedCall", "x", f="f0")
    for i in range(levels):
        fdef = graph.library.function.add()
        fdef.signature.name = f"f{i}"
        arg = fdef.signature.input_arg.add()
        arg.name = "a"
        out = fdef.signature.output_arg.add()
        out.name = "y"
        callee = f"f{i + 1}" if i + 1 < levels else ("f0" if recursive else "")
        if callee:
            _node(fdef, "left", "PartitionedCall", "a", f=callee)
            _node(fdef, "right", "PartitionedCall", "left:output:0", f=callee)
            fdef.ret["y"] = "right:output:0"
        else:
            _node(fdef, "bn", "FusedBatchNormV3", "a", "a", "a", "a", "a", is_training=True, epsilon=0.001)
            fdef.ret["y"] = "bn:y:0"
    return graph


def chain(length: int) -> Any:
    """A GraphDef of ``length`` Identity ops in a row ending in a training-mode batch norm."""
    graph = _msg("tensorflow.GraphDef")
    _node(graph, "n0", "Placeholder")
    for i in range(1, length):
        _node(graph, f"n{i}", "Identity", f"n{i - 1}")
    _node(graph, "bn", "FusedBatchNormV3", f"n{length - 1}", "n0", "n0", "n0", "n0", is_training=False)
    return graph


def cycle() -> Any:
    """Ordinary ops feeding each other in a ring (no real graph has one outside a while loop)."""
    graph = _msg("tensorflow.GraphDef")
    _node(graph, "a", "Add", "c", "c")
    _node(graph, "b", "Mul", "a", "a")
    _node(graph, "c", "Identity", "b")
    _node(graph, "flag", "LogicalNot", "flag")
    _node(graph, "bn", "FusedBatchNormV3", "c", "a", "b", "c", "a", is_training=True)
    _node(graph, "sw", "Switch", "bn", "flag")
    return graph


def wrong_kind_attrs() -> Any:
    """BN and update ops whose attributes have the wrong kind or hold malformed tensors."""
    graph = _msg("tensorflow.GraphDef")
    _node(graph, "x", "Placeholder")
    const = _node(graph, "decay", "Const")
    const.attr["dtype"].type = 1
    const.attr["value"].tensor.dtype = 1
    const.attr["value"].tensor.tensor_content = b"\x00\x01\x02"  # not a whole float
    bad = _node(graph, "weird", "Const")
    bad.attr["value"].s = b"not a tensor"
    bn = _node(graph, "bn", "FusedBatchNormV3", "x", "decay", "weird", "x:²", "x:99999999999999999999")
    bn.attr["is_training"].s = b"true"
    bn.attr["epsilon"].list.i.extend([1, 2])
    bn.attr["exponential_avg_factor"].tensor.dtype = 1
    bn.attr["exponential_avg_factor"].tensor.tensor_shape.dim.add().size = -5
    flag = _node(graph, "flag", "PlaceholderWithDefault", "decay")
    flag.attr["dtype"].f = 3.0
    _node(graph, "sub", "Sub", "bn:1", "decay")
    _node(graph, "upd", "AssignSubVariableOp", "x", "sub")
    return graph


def deep_binary_graph(depth: int) -> bytes:
    """A GraphDef whose node attr nests ``depth`` NameAttrList messages, encoded by hand (no
    protobuf runtime would build it)."""
    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    inner = field(1, b"f")  # NameAttrList.name
    for _ in range(depth):
        value = field(10, inner)  # AttrValue.func
        entry = field(1, b"k") + field(2, value)  # map entry key/value
        inner = field(1, b"f") + field(2, entry)  # NameAttrList.attr
    node = field(1, b"n") + field(2, b"Const") + field(5, field(1, b"k") + field(2, field(10, inner)))
    return field(1, node)


def deep_text_graph(depth: int) -> str:
    body = 'name: "f"'
    for _ in range(depth):
        body = f'name: "f" attr {{ key: "k" value {{ func {{ {body} }} }} }}'
    return f'node {{ name: "n" op: "Const" attr {{ key: "k" value {{ func {{ {body} }} }} }} }}\n'


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# -- checkpoints -------------------------------------------------------------------------------

def checkpoint_copy(folder: pathlib.Path) -> pathlib.Path:
    shutil.copytree(CHECKPOINT, folder)
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-20"\n')
    return folder


def checkpoint_with_entry(folder: pathlib.Path, key: str, **changes: Any) -> pathlib.Path:
    """A copy of the TF1 checkpoint whose index entry ``key`` has ``changes`` (size, offset,
    shard_id, dtype, shape dims as ``dims=[...]``)."""
    from bncheck.protos import message_class

    checkpoint_copy(folder)
    index = folder / "model.ckpt-20.index"
    entries = read_table(index.read_bytes())
    assert entries is not None
    entry_cls = message_class("tensorflow.BundleEntryProto")
    out = []
    for k, v in entries:
        if k == key.encode():
            msg = entry_cls.FromString(v)
            dims = changes.pop("dims", None)
            if dims is not None:
                del msg.shape.dim[:]
                for d in dims:
                    msg.shape.dim.add().size = d
            for name, value in changes.items():
                setattr(msg, name, value)
            v = msg.SerializeToString()
        out.append((k, v))
    index.write_bytes(write_table(out))
    return folder


# -- Keras files -------------------------------------------------------------------------------

def keras_with(folder: pathlib.Path, config: Any = None, members: dict[str, bytes] | None = None,
               name: str = "model.keras") -> pathlib.Path:
    """A copy of a real ``.keras`` with its config and/or members replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(KERAS) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json" and config is not None:
                data = config if isinstance(config, bytes) else json.dumps(config).encode()
            if members and info.filename in members:
                data = members.pop(info.filename)
            dst.writestr(info.filename, data)
        for member, data in (members or {}).items():
            dst.writestr(member, data)
    return path


def keras_config() -> dict[str, Any]:
    with zipfile.ZipFile(KERAS) as src:
        return json.loads(src.read("config.json"))


def zip_bomb(folder: pathlib.Path, member: str, size: int) -> pathlib.Path:
    """A ``.keras`` whose ``member`` inflates to ``size`` zero bytes (a few hundred KB on disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bomb.keras"
    with zipfile.ZipFile(KERAS) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info.filename, src.read(info.filename))
        with dst.open(member, "w", force_zip64=True) as out:
            chunk = b"\x00" * (1 << 22)
            for _ in range(size // len(chunk)):
                out.write(chunk)
    return path


def lying_zip(folder: pathlib.Path) -> pathlib.Path:
    """A ``.keras`` whose central directory declares a smaller ``config.json`` than it holds."""
    path = keras_with(folder, name="lying.keras")
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"config.json"))
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == b"config.json":
            struct.pack_into("<I", data, central + 24, 10)  # uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def h5_copy(folder: pathlib.Path, name: str = "model.h5") -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copy(H5, path)
    return path


BN_VARIANCE = "model_weights/bn1/bn1/moving_variance:0"


def canary_h5(folder: pathlib.Path) -> pathlib.Path:
    """A file outside the artefact whose values BN006 would print if bncheck followed a link."""
    import h5py
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.h5"
    with h5py.File(path, "w") as f:
        f["secret"] = np.full(4, np.nan, dtype=np.float32)
    return path


def checkpoint_with_garbage_object_graph(folder: pathlib.Path) -> pathlib.Path:
    """A TF2 checkpoint whose object graph string is not a message (and its checksum cleared, as a
    writer that skips checksums would leave it)."""
    from bncheck.loaders.checkpoint_bundle import CheckpointReader, _varint as read_varint
    from bncheck.loaders.checkpoint_values import OBJECT_GRAPH_KEY
    from bncheck.protos import message_class

    shutil.copytree(FIXTURES / "keras3" / "checkpoint_nan_variance", folder)
    reader = CheckpointReader(str(folder / "ckpt-1"))
    entry = reader.entries[OBJECT_GRAPH_KEY]
    shard = folder / "ckpt-1.data-00000-of-00001"
    data = bytearray(shard.read_bytes())
    length, pos = read_varint(bytes(data[entry.offset:entry.offset + 10]), 0)
    start = entry.offset + pos + 4
    data[start:start + length] = b"\xff" * length
    shard.write_bytes(bytes(data))
    index = folder / "ckpt-1.index"
    entries = read_table(index.read_bytes())
    assert entries is not None
    entry_cls = message_class("tensorflow.BundleEntryProto")
    out = []
    for k, v in entries:
        if k == OBJECT_GRAPH_KEY.encode():
            msg = entry_cls.FromString(v)
            msg.crc32c = 0
            v = msg.SerializeToString()
        out.append((k, v))
    index.write_bytes(write_table(out))
    return folder


def keras_weights_past_the_archive(folder: pathlib.Path) -> pathlib.Path:
    """A ``.keras`` whose directory says its stored weights member is 2 GiB (the file is a few KB)."""
    path = keras_with(folder, name="oversized.keras")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == b"model.weights.h5":
            struct.pack_into("<II", data, central + 20, 1 << 31, 1 << 31)  # compressed, uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def h5_looping_heap(folder: pathlib.Path, index: int, claimed: int) -> pathlib.Path:
    """A tf-keras ``.h5`` whose global heap (it holds ``model_config``) has its first object header
    rewritten to ``index`` and ``claimed`` bytes. HDF5 1.14 walks the heap by those sizes: object 0
    claiming 0 bytes, or a size whose padded total wraps to 0, makes it spin for ever in C code."""
    path = h5_copy(folder)
    data = bytearray(path.read_bytes())
    heap = data.find(b"GCOL")
    first = heap + 16  # the collection header: signature, version, 3 reserved, an 8-byte size
    struct.pack_into("<HHIQ", data, first, index, 0, 0, claimed)
    path.write_bytes(bytes(data))
    return path


def looping_free_list(data: bytes) -> bytes:
    """HDF5 bytes whose first local heap with a free block has that block link to itself: HDF5 1.14
    follows the list, allocating a node per block, until memory runs out."""
    out = bytearray(data)
    at = out.find(b"HEAP")
    while at >= 0:
        size, head, segment = struct.unpack_from("<QQQ", out, at + 8)
        if head != 1 and head + 16 <= size:
            struct.pack_into("<Q", out, segment + head, head)
            return bytes(out)
        at = out.find(b"HEAP", at + 1)
    raise ValueError("no local heap with a free block")


def h5_looping_free_list(folder: pathlib.Path) -> pathlib.Path:
    path = h5_copy(folder)
    path.write_bytes(looping_free_list(path.read_bytes()))
    return path


def keras_looping_free_list(folder: pathlib.Path) -> pathlib.Path:
    """A ``.keras`` whose stored weights member has a looping local heap free list."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.keras"
    original = KERAS.read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        weights = archive.read("model.weights.h5")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, looping_free_list(weights) if info.filename == "model.weights.h5"
                         else src.read(info.filename))
    path.write_bytes(out.getvalue())
    return path
