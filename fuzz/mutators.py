"""Seeded, deterministic mutators for bncheck's input formats.

Plain Python, no fuzzing engine: the same ``random.Random`` seed always gives the same mutant, so
the quick test subset is reproducible and any mutant the campaign flags can be rebuilt from its
(format, seed file, number). Byte mutators know nothing of the format; the structure mutators
(protobuf messages, JSON configs, tensor-bundle index entries, text) change fields to values of the
wrong kind, out of range or absurdly large, which is where loaders have to validate.
"""
from __future__ import annotations

import json
import random
import struct
from typing import Any, Callable

from google.protobuf.descriptor import FieldDescriptor

INTERESTING_INTS = (0, 1, -1, 2, 7, 8, 16, 100, 101, 127, 128, 255, 256, 1000, 1 << 15, 1 << 16, (1 << 31) - 1,
                    -(1 << 31), 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40, (1 << 62), (1 << 63) - 1, -(1 << 63),
                    (1 << 64) - 1)
INTERESTING_STRINGS = ("", "x", ":", "a:1", "a:²", "a:١", "x:99999999999999999999", "^", "^^x", "a:b:c:d", ":0",
                       "\x1b[2J", "line\nbreak", "\u202e", "..", "../../etc/passwd", "/etc/passwd", "é" * 40,
                       "x" * 5000, "FusedBatchNormV3", "Switch", "Merge", "StatefulPartitionedCall", "If",
                       "While", "PartitionedCall", "VarHandleOp", "AssignSubVariableOp", "Const", "Identity",
                       "is_training", "training", "keras_learning_phase", "moving_mean", "moving_variance")


# -- bytes ------------------------------------------------------------------------------------

def mutate_bytes(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    """1-4 classic byte mutations: bit flips, random or interesting values, chunk insert, delete,
    duplicate, truncation."""
    buf = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        if not buf:
            buf.extend(rng.randbytes(rng.randint(1, 64)))
            continue
        op = rng.randrange(8)
        pos = rng.randrange(len(buf))
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif op == 1:
            n = rng.randint(1, 16)
            buf[pos:pos + n] = rng.randbytes(n)
        elif op == 2:
            value = rng.choice(INTERESTING_INTS)
            width = rng.choice((1, 2, 4, 8))
            buf[pos:pos + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        elif op == 3:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 64))
        elif op == 4:
            del buf[pos:pos + rng.randint(1, max(1, len(buf) // 8))]
        elif op == 5:
            n = rng.randint(1, min(256, len(buf) - pos))
            buf[pos:pos] = buf[pos:pos + n] * rng.randint(1, 4)
        elif op == 6:
            del buf[pos:]
        else:  # a big varint, what protobuf lengths and tensor-bundle handles are made of
            buf[pos:pos] = _varint(rng.choice(INTERESTING_INTS) & ((1 << 64) - 1))
    return bytes(buf)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# -- protobuf messages -------------------------------------------------------------------------

def _messages(msg: Any, out: list[Any], limit: int = 20000) -> None:
    """Every message nested in ``msg`` (depth first), at most ``limit``."""
    stack = [msg]
    while stack and len(out) < limit:
        current = stack.pop()
        out.append(current)
        for field, value in current.ListFields():
            if field.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                entries = value.values() if field.message_type.fields_by_name["value"].message_type else ()
                stack.extend(v for v in entries)
            elif field.is_repeated:
                stack.extend(value)
            else:
                stack.append(value)


def _random_scalar(rng: random.Random, field: FieldDescriptor) -> Any:
    t = field.type
    if t in (FieldDescriptor.TYPE_STRING,):
        return rng.choice(INTERESTING_STRINGS)
    if t == FieldDescriptor.TYPE_BYTES:
        return rng.choice((b"", rng.randbytes(rng.randint(1, 40)), b"\xff" * 3, b"x" * 4097))
    if t == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return rng.choice((0.0, -0.0, 1.0, -1.0, 0.1, 0.99, 1.5, 1e-5, 3.4e38, -3.4e38, float("inf"), float("nan")))
    if t == FieldDescriptor.TYPE_ENUM:
        return rng.choice((0, 1, 2, 3, 7, 10, 19, 20, 21, 101, 107, 127, -1, (1 << 31) - 1))
    bits = {FieldDescriptor.TYPE_INT32: (-(1 << 31), (1 << 31) - 1), FieldDescriptor.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
            FieldDescriptor.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1), FieldDescriptor.TYPE_UINT32: (0, (1 << 32) - 1),
            FieldDescriptor.TYPE_FIXED32: (0, (1 << 32) - 1), FieldDescriptor.TYPE_UINT64: (0, (1 << 64) - 1),
            FieldDescriptor.TYPE_FIXED64: (0, (1 << 64) - 1)}.get(t, (-(1 << 63), (1 << 63) - 1))
    value = rng.choice(INTERESTING_INTS)
    return min(max(value, bits[0]), bits[1])


def _copy(target: Any, source: Any) -> None:
    """``target.CopyFrom(source)`` through bytes: upb crashes when ``source`` contains ``target``
    (copying an ancestor into its own descendant), which random structure mutation does."""
    data = source.SerializeToString()
    target.Clear()
    target.MergeFromString(data)


def mutate_message(rng: random.Random, msg: Any, rounds: int | None = None) -> Any:
    """Change 1-4 fields anywhere in ``msg`` in place: scalars to edge values, strings to hostile
    names, oneofs switched (an attr of the wrong kind), repeated fields grown, cut or shuffled,
    submessages cleared or replaced by a copy of another of the same type."""
    for _ in range(rounds or rng.randint(1, 4)):
        nested: list[Any] = []
        _messages(msg, nested)
        target = rng.choice(nested)
        fields = [f for f in target.DESCRIPTOR.fields if not f.message_type or not f.message_type.GetOptions().map_entry]
        maps = [f for f in target.DESCRIPTOR.fields if f.message_type and f.message_type.GetOptions().map_entry]
        if maps and rng.random() < 0.25:
            _mutate_map(rng, target, rng.choice(maps), nested)
            continue
        if not fields:
            continue
        field = rng.choice(fields)
        try:
            _mutate_field(rng, target, field, nested)
        except (ValueError, TypeError):  # a value the runtime itself refuses (e.g. a surrogate)
            continue
    return msg


def _mutate_field(rng: random.Random, target: Any, field: FieldDescriptor, nested: list[Any]) -> None:
    name = field.name
    repeated = field.is_repeated
    is_msg = field.type == FieldDescriptor.TYPE_MESSAGE
    same_type = [m for m in nested if m.DESCRIPTOR is field.message_type] if is_msg else []
    if repeated:
        items = getattr(target, name)
        op = rng.randrange(4)
        if op == 0 and len(items):
            del items[rng.randrange(len(items))]
        elif op == 1 and len(items) and not is_msg:
            items[rng.randrange(len(items))] = _random_scalar(rng, field)
        elif op == 2 and len(items):
            if is_msg:
                _copy(items.add(), items[rng.randrange(len(items))])
            else:
                items.append(items[rng.randrange(len(items))])
        else:
            if is_msg:
                new = items.add()
                if same_type and rng.random() < 0.7:
                    _copy(new, rng.choice(same_type))
            else:
                for _ in range(rng.choice((1, 1, 2, 50))):
                    items.append(_random_scalar(rng, field))
        return
    if is_msg:
        sub = getattr(target, name)
        if rng.random() < 0.3:
            target.ClearField(name)
        elif same_type and rng.random() < 0.7:
            _copy(sub, rng.choice(same_type))
        else:
            sub.SetInParent()
        return
    setattr(target, name, _random_scalar(rng, field))


def _mutate_map(rng: random.Random, target: Any, field: FieldDescriptor, nested: list[Any]) -> None:
    mapping = getattr(target, field.name)
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    keys = list(mapping.keys())
    if keys and rng.random() < 0.3:
        del mapping[rng.choice(keys)]
        return
    key = rng.choice(keys) if keys and rng.random() < 0.6 else _random_scalar(rng, key_field)
    if value_field.message_type is None:
        mapping[key] = _random_scalar(rng, value_field)
        return
    same_type = [m for m in nested if m.DESCRIPTOR is value_field.message_type]
    entry = mapping[key]
    if same_type and rng.random() < 0.5:
        _copy(entry, rng.choice(same_type))
    else:
        mutate_message(rng, entry, 1)


def mutate_proto_bytes(rng: random.Random, data: bytes, message_cls: Any) -> bytes:
    """Structure mutation when ``data`` parses as ``message_cls``, else (and sometimes anyway) bytes."""
    if rng.random() < 0.75:
        try:
            msg = message_cls.FromString(data)
        except Exception:  # noqa: BLE001 - not a message: fall back to bytes
            return mutate_bytes(rng, data)
        mutate_message(rng, msg)
        out = msg.SerializeToString()
        return mutate_bytes(rng, out, 1) if rng.random() < 0.1 else out
    return mutate_bytes(rng, data)


# -- JSON --------------------------------------------------------------------------------------

def _json_values(rng: random.Random) -> Any:
    return rng.choice((None, True, False, 0, -1, 1, 0.1, 0.99, 1e308, -1e308, 10 ** 400, -(10 ** 400), float("nan"),
                       float("inf"), "", "x", "BatchNormalization", "../../x", "\x1b[2J\n", [], {}, [1, 2], {"a": 1},
                       "é" * 10, [[[[[]]]]], {"class_name": "Lambda", "config": {"function": "os.system"}}))


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    """Replace, drop or retype a value anywhere in a JSON document; sometimes byte-mutate it."""
    if rng.random() < 0.15:
        return mutate_bytes(rng, data)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(rng, data)
    for _ in range(rng.randint(1, 3)):
        containers: list[Any] = []
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, (dict, list)):
                containers.append(node)
                stack.extend(node.values() if isinstance(node, dict) else node)
        if not containers:
            doc = _json_values(rng)
            break
        # BN layer configs are where bncheck reads values: favour them
        favoured = [c for c in containers if isinstance(c, dict) and ("momentum" in c or "layers" in c
                                                                     or "inbound_nodes" in c)]
        node = rng.choice(favoured) if favoured and rng.random() < 0.6 else rng.choice(containers)
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            if isinstance(node, dict):
                node[rng.choice(("layers", "config", "momentum", "name"))] = _json_values(rng)
            else:
                node.append(_json_values(rng))
            continue
        key = rng.choice(keys)
        op = rng.randrange(5)
        if op == 0:
            del node[key]
        elif op == 1 and isinstance(node, list):
            node.extend([node[key]] * rng.randint(1, 3))
        elif op == 2:  # deep nesting, spliced in as text below (json.dumps itself recurses)
            node[key] = f"__deep_{rng.choice((5, 50, 150, 3000))}__"
        else:
            node[key] = _json_values(rng)
    try:
        text = json.dumps(doc)
    except (ValueError, RecursionError):
        return mutate_bytes(rng, data)
    for depth in (5, 50, 150, 3000):
        text = text.replace(f'"__deep_{depth}__"', "[" * depth + "0" + "]" * depth)
    return text.encode()


# -- text (pbtxt, checkpoint state files) -------------------------------------------------------

_TEXT_SNIPPETS = ('"', "\\", "\\x", "\\377", "\\n", "\n", "{", "}", "<", ">", ":", "#", "\x00", "\xff",
                  ' node { name: "a" op: "Identity" input: "a" } ', " { " * 200, "}" * 3, " 99999999999999999999999 ",
                  ' model_checkpoint_path: "/etc/passwd" ', ' model_checkpoint_path: "../../../etc/hostname" ',
                  ' model_checkpoint_path: "a\\nbncheck: error: forged" ', ' model_checkpoint_path: "\\303\\050" ',
                  ' model_checkpoint_path: "sub/dir/model.ckpt" ', "\u202e", "é")


def mutate_text(rng: random.Random, data: bytes) -> bytes:
    """Token-ish edits of a text file (snippets inserted, lines duplicated or dropped), or bytes."""
    if rng.random() < 0.3:
        return mutate_bytes(rng, data)
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        i = rng.randrange(len(lines)) if lines else 0
        if op == 0 and lines:
            del lines[i]
        elif op == 1 and lines:
            lines.insert(i, lines[i])
        else:
            line = lines[i] if lines else ""
            pos = rng.randint(0, len(line))
            snippet = rng.choice(_TEXT_SNIPPETS)
            if lines:
                lines[i] = line[:pos] + snippet + line[pos:]
            else:
                lines.append(snippet)
    out = "\n".join(lines).encode("utf-8", "surrogateescape")
    return out.replace(b"\xc3\xbf", b"\xff") if rng.random() < 0.1 else out


# -- tensor-bundle index -----------------------------------------------------------------------

def write_table(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A LevelDB SSTable (uncompressed, one data block, no prefix sharing) holding ``entries`` in
    the order given: what a tensor-bundle ``.index`` is."""
    def block(items: list[tuple[bytes, bytes]]) -> bytes:
        body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in items)
        return body + struct.pack("<II", 0, 1)  # one restart point at 0

    data_block = block(entries)
    out = bytearray(data_block + b"\x00" + b"\x00\x00\x00\x00")  # compression type, crc (unchecked)
    handle = _varint(0) + _varint(len(data_block))
    last_key = entries[-1][0] if entries else b""
    index_block = block([(last_key + b"\xff", handle)])
    index_offset = len(out)
    out += index_block + b"\x00\x00\x00\x00\x00"
    meta_offset = len(out)
    meta_block = block([])
    out += meta_block + b"\x00\x00\x00\x00\x00"
    footer = (_varint(meta_offset) + _varint(len(meta_block)) + _varint(index_offset) + _varint(len(index_block)))
    footer = footer.ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(out + footer)


def read_table(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """The (key, value) pairs of a tensor-bundle index, or None when it does not parse."""
    from bncheck.loaders import checkpoint_bundle as cb

    try:
        footer = data[-48:]
        _, pos = cb._varint(footer, 0)
        _, pos = cb._varint(footer, pos)
        index_offset, pos = cb._varint(footer, pos)
        index_size, _ = cb._varint(footer, pos)
        out = []
        for _, handle in cb._block_entries(cb._block(data, index_offset, index_size)):
            offset, p = cb._varint(handle, 0)
            size, _ = cb._varint(handle, p)
            out.extend(cb._block_entries(cb._block(data, offset, size)))
        return out
    except Exception:  # noqa: BLE001
        return None


def mutate_index(rng: random.Random, data: bytes) -> bytes:
    """Mutate the BundleEntryProto of a tensor (dtype, shape, shard, offset, size, checksum) or the
    header, and write a well-formed table around it; sometimes plain bytes."""
    from bncheck.protos import message_class

    entries = read_table(data) if rng.random() < 0.7 else None
    if not entries:
        return mutate_bytes(rng, data)
    entry_cls = message_class("tensorflow.BundleEntryProto")
    header_cls = message_class("tensorflow.BundleHeaderProto")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(entries))
        key, value = entries[i]
        cls = header_cls if key == b"" else entry_cls
        try:
            msg = cls.FromString(value)
        except Exception:  # noqa: BLE001
            continue
        mutate_message(rng, msg, 1)
        if cls is entry_cls and rng.random() < 0.3:  # the classic: a huge declared tensor
            msg.size = rng.choice((1 << 31, 1 << 40, (1 << 63) - 1))
            del msg.shape.dim[:]
            msg.shape.dim.add().size = msg.size // 4
        entries[i] = (key, msg.SerializeToString())
    return write_table(sorted(entries))


MUTATORS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "bytes": mutate_bytes,
    "json": mutate_json,
    "text": mutate_text,
    "index": mutate_index,
}
