"""The vendored descriptor set is split into its files by hand (no descriptor_pb2 at start-up)."""
from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2

from bncheck import protos


def test_the_hand_split_matches_the_protobuf_parse():
    with open(protos._DESCRIPTORS, "rb") as fh:
        data = fh.read()
    expected = [f.SerializeToString() for f in descriptor_pb2.FileDescriptorSet.FromString(data).file]
    assert protos._files(data) == expected and len(expected) > 10
    assert protos.message_class("tensorflow.GraphDef").DESCRIPTOR.full_name == "tensorflow.GraphDef"


def test_a_multi_byte_length_and_a_foreign_field():
    body = b"x" * 300  # a length of 300 takes two varint bytes
    assert protos._files(b"\x0a\xac\x02" + body + b"\x0a\x01y") == [body, b"y"]
    with pytest.raises(ValueError, match="unexpected field tag 18 at byte 0"):
        protos._files(b"\x12\x00")
