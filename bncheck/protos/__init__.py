"""TensorFlow message classes built from a vendored descriptor set, without TensorFlow.

The schemas are TensorFlow's own (Apache-2.0), vendored by ``tools/vendor_protos.py``. They live
in a private descriptor pool, so importing TensorFlow in the same process never conflicts.
"""
from __future__ import annotations

import functools
import importlib.resources

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

__all__ = ["message_class", "POOL"]


def _build_pool() -> descriptor_pool.DescriptorPool:
    data = importlib.resources.files(__package__).joinpath("tensorflow.desc").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for file_proto in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.Add(file_proto)
    return pool


POOL = _build_pool()


@functools.cache
def message_class(full_name: str) -> type[Message]:
    """The message class for a TensorFlow message, e.g. ``tensorflow.GraphDef``."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))
