"""Read TensorFlow checkpoints (tensor bundle V2) without TensorFlow.

A checkpoint is ``<prefix>.index``, a sorted key/value table in LevelDB's SSTable layout whose
values are ``BundleEntryProto`` messages (dtype, shape, shard, offset, size, crc32c), plus
``<prefix>.data-NNNNN-of-NNNNN`` shards of raw little-endian tensor bytes. Only the index is read
whole; a tensor's bytes are read on request, so memory is bounded by the tensors asked for.
"""
from __future__ import annotations

import functools
import math
import os
import re
import struct
from typing import Any, Iterator

import numpy as np

from google.protobuf.message import DecodeError

from bncheck.errors import InputError
from bncheck.graph.values import DTYPES
from bncheck.loaders.safe_io import MAX_FILE_BYTES, MAX_TENSOR_BYTES, file_size, open_regular, os_reason, read_bounded
from bncheck.protos import message_class

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_HEADER_KEY = ""
_DT_STRING = 7
_MAX_SHARDS = 1 << 16
_SHARD_NAME = re.compile(r"[0-9]{5,}-of-([0-9]{5,})")


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
    """CRC-32C (Castagnoli), as TensorFlow checksums tensor bytes: in C with the ``google-crc32c``
    package (a GiB in well under a second), else in pure Python (about 20 s per GiB)."""
    native: Any
    try:
        import google_crc32c as native
    except ImportError:
        native = None
    if native is not None and native.implementation == "c":
        return int(native.value(data if isinstance(data, bytes) else bytes(data)))
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
        data = read_bounded(index_path, MAX_FILE_BYTES, "checkpoint index")
        try:
            self.entries, self.header = self._parse_index(data)
        except (ValueError, struct.error, DecodeError) as exc:
            raise InputError(index_path, f"not a readable checkpoint index ({_one_line(exc)})") from None
        if self.header is not None and self.header.endianness != 0:
            raise InputError(index_path, "big-endian checkpoints are not supported")

    @staticmethod
    def _parse_index(data: bytes) -> tuple[dict[str, Any], Any]:
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
        header = None
        for _, handle in _block_entries(_block(data, index_offset, index_size)):
            offset, p = _varint(handle, 0)
            size, _ = _varint(handle, p)
            for key, value in _block_entries(_block(data, offset, size)):
                name = key.decode("utf-8", "replace")
                if name == _HEADER_KEY:
                    header = message_class("tensorflow.BundleHeaderProto").FromString(value)
                else:
                    entries[name] = entry_cls.FromString(value)
        return entries, header

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
        dtype = np.dtype(spec[0]).newbyteorder("<")
        shape = self.shape(key)
        if len(shape) > 32 or any(d < 0 for d in shape):
            raise InputError(self.prefix + ".index", f"tensor {key!r} has an invalid shape {list(shape)[:8]}")
        count = math.prod(shape)
        if count * dtype.itemsize != entry.size:
            raise InputError(self.prefix + ".index", f"tensor {key!r}: shape {list(shape)[:8]} of {spec[0]} "
                             f"needs {count * dtype.itemsize} bytes, the index says {entry.size}")
        raw = self._raw(key)
        return np.frombuffer(raw, dtype=dtype).reshape(shape)

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
        if entry.crc32c and (length >> 32 or
                             masked_crc32c(struct.pack("<I", length) + raw[pos:pos + 4] + data) != entry.crc32c):
            raise InputError(self.prefix, f"checksum mismatch for tensor {key!r}")
        return data

    def _raw(self, key: str, check: bool = True) -> bytes:
        """A tensor's bytes, after checking its declared place against the shard's real size."""
        entry = self.entries[key]
        if not 0 <= entry.shard_id < self._num_shards:
            raise InputError(self.prefix + ".index", f"tensor {key!r} names shard {entry.shard_id} "
                             f"of a {self._num_shards}-shard checkpoint")
        if entry.offset < 0 or entry.size < 0:
            raise InputError(self.prefix + ".index", f"tensor {key!r} has a negative offset or size")
        shard = f"{self.prefix}.data-{entry.shard_id:05d}-of-{self._num_shards:05d}"
        if entry.size > MAX_TENSOR_BYTES:
            raise InputError(shard, f"tensor {key!r} declares {entry.size} bytes, more than the "
                             f"{MAX_TENSOR_BYTES >> 20} MiB bncheck reads for one tensor (BNCHECK_MAX_TENSOR_MB)")
        with open_regular(shard) as fh:
            try:
                available = file_size(fh)
                if entry.offset + entry.size > available:
                    raise InputError(shard, f"truncated: tensor {key!r} needs {entry.size} bytes at "
                                     f"{entry.offset}, the file has {available}")
                fh.seek(entry.offset)
                raw = fh.read(entry.size)
            except OSError as exc:
                raise InputError(shard, os_reason(exc)) from None
        if len(raw) != entry.size:
            raise InputError(shard, f"truncated: tensor {key!r} needs {entry.size} bytes at {entry.offset}")
        if check and entry.crc32c and masked_crc32c(raw) != entry.crc32c:
            raise InputError(shard, f"checksum mismatch for tensor {key!r}")
        return raw

    @functools.cached_property
    def _num_shards(self) -> int:
        if self.header is not None and 0 < self.header.num_shards <= _MAX_SHARDS:
            return int(self.header.num_shards)
        folder, base = os.path.split(self.prefix)
        try:
            names = os.listdir(folder or ".")
        except OSError as exc:
            raise InputError(folder or ".", exc.strerror or str(exc)) from None
        counts = {m.group(1) for n in names
                  if n.startswith(base + ".data-") and (m := _SHARD_NAME.fullmatch(n[len(base) + 6:]))}
        if len(counts) != 1:
            raise InputError(self.prefix, "checkpoint has no .data shard" if not counts
                             else "checkpoint has .data shards of different shard counts")
        count = int(counts.pop())
        if not 0 < count <= _MAX_SHARDS:
            raise InputError(self.prefix, f"checkpoint declares {count} shards")
        return count


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset + size + 5 > len(data):
        raise ValueError("block handle points past the end of the file")
    if data[offset + size] != 0:
        raise ValueError("compressed table blocks are not supported")
    return data[offset:offset + size]
