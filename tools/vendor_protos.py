"""Vendor TensorFlow's protobuf schemas as a FileDescriptorSet for bncheck.

bncheck parses GraphDefs, MetaGraphs, SavedModels and checkpoint indexes without importing
TensorFlow. It needs the message schemas, which TensorFlow owns (Apache-2.0). This script runs
once, with TensorFlow installed, and writes ``bncheck/protos/tensorflow.desc``: the serialized
descriptors of the files listed below and everything they import. At run time bncheck loads that
set into a private descriptor pool, so it never clashes with TensorFlow's own generated modules.

    python tools/vendor_protos.py      # needs tensorflow (the `fixtures` extra)
"""
from __future__ import annotations

import importlib
import pathlib

from google.protobuf import descriptor_pb2

ROOTS = [
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow.core.protobuf.saved_object_graph_pb2",
    "tensorflow.core.protobuf.trackable_object_graph_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.core.framework.graph_pb2",
    "tensorflow.core.framework.function_pb2",
]

OUT = pathlib.Path(__file__).resolve().parents[1] / "bncheck" / "protos" / "tensorflow.desc"


def main() -> None:
    import tensorflow as tf

    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(fd) -> None:  # dependencies first, as a pool needs them
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        ordered.append(proto)

    for module in ROOTS:
        visit(importlib.import_module(module).DESCRIPTOR)
    out = descriptor_pb2.FileDescriptorSet(file=ordered)
    OUT.write_bytes(out.SerializeToString(deterministic=True))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(ordered)} files) from TensorFlow {tf.__version__}")


if __name__ == "__main__":
    main()
