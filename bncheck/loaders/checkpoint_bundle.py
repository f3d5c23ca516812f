"""Read TensorFlow checkpoints (tensor bundle V2) without TensorFlow.

A checkpoint is ``<prefix>.index``, a sorted key/value table in LevelDB's SSTable layout whose
values are ``BundleEntryProto`` messages (dtype, shape, shard, offset, size, crc32c), plus
``<prefix>.data-NNNNN-of-NNNNN`` shards of raw little-endian tensor bytes. Only the index is read
whole; a tensor's bytes are read on request, so memory is bounded by the tensors asked for.
"""
from __future__ import annotations

import functools
import os
import struct
from typing import Any, Iterator

import numpy as np

from bncheck.errors import InputError
from bncheck.graph.values import DTYPES
from bncheck.protos import message_class

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_HEADER_KEY = ""
_DT_STRING = 7


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise ValueError("block too short")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise ValueError("bad restart count")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        size, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + size > end:
            raise ValueError("entry overruns its block")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + size]
        pos += size


_CRC_TABLE: list[int] = []


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TensorFlow checksums tensor bytes."""
    if not _CRC_TABLE:
        for i in range(256):
            crc = i
            for _ in range(8):
                crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
            _CRC_TABLE.append(crc)
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class CheckpointReader:
    """The index of one checkpoint, and its tensors on demand."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        index_path = prefix + ".index"
        try:
            with open(index_path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InputError(index_path, exc.strerror or str(exc)) from None
        try:
            self.entries = self._parse_index(data)
        except (ValueError, struct.error) as exc:
            raise InputError(index_path, f"not a readable checkpoint index ({exc})") from None

    @staticmethod
    def _parse_index(data: bytes) -> dict[str, Any]:
        if len(data) < _FOOTER:
            raise ValueError("file too short for a table footer")
        footer = data[-_FOOTER:]
        if struct.unpack("<Q", footer[-8:])[0] != _MAGIC:
            raise ValueError("no table magic number")
        _, pos = _varint(footer, 0)  # metaindex offset
        _, pos = _varint(footer, pos)  # metaindex size
        index_offset, pos = _varint(footer, pos)
        index_size, _ = _varint(footer, pos)
        entry_cls = message_class("tensorflow.BundleEntryProto")
        entries: dict[str, Any] = {}
        for _, handle in _block_entries(_block(data, index_offset, index_size)):
            offset, p = _varint(handle, 0)
            size, _ = _varint(handle, p)
            for key, value in _block_entries(_block(data, offset, size)):
                name = key.decode("utf-8", "replace")
                if name != _HEADER_KEY:
                    entries[name] = entry_cls.FromString(value)
        return entries

    def keys(self) -> list[str]:
        return sorted(self.entries)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(d.size for d in self.entries[key].shape.dim)

    def read(self, key: str) -> np.ndarray:
        """One tensor, read from its shard and checked against the index's crc32c."""
        entry = self.entries[key]
        spec = DTYPES.get(entry.dtype % 100)
        if spec is None or entry.slices:
            raise InputError(self.prefix, f"tensor {key!r} has a dtype or slicing bncheck does not read")
        raw = self._raw(key)
        return np.frombuffer(raw, dtype=np.dtype(spec[0]).newbyteorder("<")).reshape(self.shape(key))

    def read_string(self, key: str) -> bytes:
        """A scalar string tensor (e.g. the TF2 object graph under ``_CHECKPOINTABLE_OBJECT_GRAPH``):
        a varint length, a 4-byte checksum of the lengths, then the bytes."""
        entry = self.entries[key]
        if entry.dtype != _DT_STRING or self.shape(key) != ():
            raise InputError(self.prefix, f"tensor {key!r} is not a scalar string")
        raw = self._raw(key, check=False)
        try:
            length, pos = _varint(raw, 0)
        except ValueError:
            raise InputError(self.prefix, f"tensor {key!r}: bad string length") from None
        data = raw[pos + 4:pos + 4 + length]
        if len(data) != length:
            raise InputError(self.prefix, f"tensor {key!r}: string shorter than its length")
        # the writer checksums each length as a little-endian uint32, not as its varint
        if entry.crc32c and masked_crc32c(struct.pack("<I", length) + raw[pos:pos + 4] + data) != entry.crc32c:
            raise InputError(self.prefix, f"checksum mismatch for tensor {key!r}")
        return data

    def _raw(self, key: str, check: bool = True) -> bytes:
        entry = self.entries[key]
        shard = f"{self.prefix}.data-{entry.shard_id:05d}-of-{self._num_shards:05d}"
        try:
            with open(shard, "rb") as fh:
                fh.seek(entry.offset)
                raw = fh.read(entry.size)
        except OSError as exc:
            raise InputError(shard, exc.strerror or str(exc)) from None
        if len(raw) != entry.size:
            raise InputError(shard, f"truncated: tensor {key!r} needs {entry.size} bytes at {entry.offset}")
        if check and entry.crc32c and masked_crc32c(raw) != entry.crc32c:
            raise InputError(shard, f"checksum mismatch for tensor {key!r}")
        return raw

    @functools.cached_property
    def _num_shards(self) -> int:
        folder, base = os.path.split(self.prefix)
        shards = [n for n in os.listdir(folder or ".") if n.startswith(base + ".data-")]
        if not shards:
            raise InputError(self.prefix, "checkpoint has no .data shard")
        return int(shards[0].rsplit("-of-", 1)[1])


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset + size + 5 > len(data):
        raise ValueError("block handle points past the end of the file")
    if data[offset + size] != 0:
        raise ValueError("compressed table blocks are not supported")
    return data[offset:offset + size]
