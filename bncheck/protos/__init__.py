"""TensorFlow message classes built from a vendored descriptor set, without TensorFlow.

The schemas are TensorFlow's own (Apache-2.0), vendored by ``tools/vendor_protos.py``. They live
in a private descriptor pool, so importing TensorFlow in the same process never conflicts.
"""
from __future__ import annotations

import functools
import os
from typing import Any

from google.protobuf import descriptor_pool, message_factory

__all__ = ["message_class", "POOL"]

_DESCRIPTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorflow.desc")


def _files(data: bytes) -> list[bytes]:
    """The serialized FileDescriptorProtos of a FileDescriptorSet (field 1, length-delimited, the
    only field): split by hand, so that neither ``descriptor_pb2`` nor ``importlib.resources`` is
    imported for our own package data (about 15 ms of every start)."""
    files, pos = [], 0
    while pos < len(data):
        if data[pos] != 0x0A:
            raise ValueError(f"tensorflow.desc: unexpected field tag {data[pos]} at byte {pos}")
        pos, size, shift = pos + 1, 0, 0
        while True:
            byte = data[pos]
            size |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if byte < 0x80:
                break
        files.append(data[pos:pos + size])
        pos += size
    return files


def _build_pool() -> descriptor_pool.DescriptorPool:
    with open(_DESCRIPTORS, "rb") as fh:
        data = fh.read()
    pool = descriptor_pool.DescriptorPool()
    for serialized in _files(data):
        pool.AddSerializedFile(serialized)
    return pool


POOL = _build_pool()


@functools.cache
def message_class(full_name: str) -> Any:
    """The message class for a TensorFlow message, e.g. ``tensorflow.GraphDef``.

    Typed ``Any``: the class is built at run time from the descriptor, so its fields (``node``,
    ``attr`` ...) are unknown to a type checker; a ``type[Message]`` would hide none of them."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))
