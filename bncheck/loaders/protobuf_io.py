"""Parse TensorFlow protobuf files (binary or text) into the vendored message classes.

Format is decided by content: the file name only orders the guesses.
"""
from __future__ import annotations

import re
from typing import Any

from google.protobuf.message import DecodeError

from bncheck.errors import InputError
from bncheck.loaders.safe_io import MAX_NESTING, MAX_TEXT_BYTES, nesting_depth
from bncheck.protos import POOL, message_class

GRAPH_DEF = "tensorflow.GraphDef"
META_GRAPH_DEF = "tensorflow.MetaGraphDef"
SAVED_MODEL = "tensorflow.SavedModel"
_OP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_>]*$")
_TEXT_LEAD = {
    "node": GRAPH_DEF,
    "library": GRAPH_DEF,
    "versions": GRAPH_DEF,
    "meta_info_def": META_GRAPH_DEF,
    "graph_def": META_GRAPH_DEF,
    "collection_def": META_GRAPH_DEF,
    "saved_model_schema_version": SAVED_MODEL,
    "meta_graphs": SAVED_MODEL,
}


def valid_op_name(op: str) -> bool:
    """Whether ``op`` can name a TensorFlow op type."""
    return _OP_NAME.match(op) is not None


_SAMPLE = 64


def _plausible_graph(graph_def: Any) -> bool:
    """Whether a parse as GraphDef looks like one. Another message read as a GraphDef gives a few
    nodes without a name or with binary op types, so the first and last nodes tell formats apart;
    :func:`~bncheck.loaders.graphs.graph_from_proto` then checks every node (one pass, not three)."""
    nodes = graph_def.node
    count = len(nodes)
    if not count:
        return False
    sample = range(count) if count <= 2 * _SAMPLE else [*range(_SAMPLE), *range(count - _SAMPLE, count)]
    return all(nodes[i].name and valid_op_name(nodes[i].op) for i in sample)


def _plausible(kind: str, msg: Any) -> bool:
    if kind == GRAPH_DEF:
        return _plausible_graph(msg)
    if kind == META_GRAPH_DEF:
        return _plausible_graph(msg.graph_def)
    return len(msg.meta_graphs) > 0 and all(_plausible_graph(m.graph_def) for m in msg.meta_graphs)


def _guess_order(name: str, data: bytes) -> list[str]:
    if name.endswith(".meta"):
        order = [META_GRAPH_DEF, GRAPH_DEF, SAVED_MODEL]
    elif name.startswith("saved_model.") or data[:1] == b"\x08":  # SavedModel field 1 is a varint
        order = [SAVED_MODEL, META_GRAPH_DEF, GRAPH_DEF]
    else:
        order = [GRAPH_DEF, META_GRAPH_DEF, SAVED_MODEL]
    return order


def _looks_textual(data: bytes) -> str | None:
    try:
        data[:4096].decode("utf-8")  # a binary protobuf fails here without copying a big file
    except UnicodeDecodeError as exc:
        if exc.start < min(len(data), 4096) - 3:  # not just a character cut at the 4 KiB mark
            return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _text_lead(text) is not None else None


def _text_lead(text: str) -> str | None:
    """The first field name of a text protobuf this is (``node``, ``meta_graphs`` ...), or None."""
    first = re.match(r"\s*(?:#[^\n]*\n\s*)*([A-Za-z_]+)\s*[:{]", text)
    return first.group(1) if first and first.group(1) in _TEXT_LEAD else None


def parse_file(path: str, data: bytes, expect: tuple[str, ...] = (GRAPH_DEF, META_GRAPH_DEF, SAVED_MODEL)) -> tuple[str, Any]:
    """Return ``(message full name, message)`` for a file holding one of ``expect``."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if not data or data.isspace():  # isspace stops at the first other byte; strip() would copy
        raise InputError(path, "file is empty")
    if len(data) > MAX_TEXT_BYTES and _text_lead(data[:4096].decode("utf-8", "ignore")) is not None:
        raise InputError(path, f"a text protobuf of {len(data)} bytes is larger than the {MAX_TEXT_BYTES >> 20} MiB "
                         "bncheck parses as text (about 10 MiB of memory and 0.6 s a MB): convert it to a binary .pb, or "
                         "raise BNCHECK_MAX_TEXT_MB")
    text = _looks_textual(data)
    if text is not None:
        lead = re.match(r"\s*(?:#[^\n]*\n\s*)*([A-Za-z_]+)", text).group(1)  # type: ignore[union-attr]  # the pattern always matches a text that _looks_textual accepted
        kind = _TEXT_LEAD[lead]
        if kind not in expect:
            raise InputError(path, f"holds a text {kind.split('.')[-1]}, not a {' or '.join(k.split('.')[-1] for k in expect)}")
        if nesting_depth(text) > MAX_NESTING:
            raise InputError(path, f"text {kind.split('.')[-1]} nests messages deeper than {MAX_NESTING} levels")
        from google.protobuf import text_format  # only text files need the text parser

        msg = message_class(kind)()
        try:
            text_format.Parse(text, msg, descriptor_pool=POOL)
        except (text_format.ParseError, ValueError, TypeError, RecursionError) as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise InputError(path, f"not a valid text {kind.split('.')[-1]} ({reason})") from None
        return kind, msg
    first_error: str | None = None
    for kind in [k for k in _guess_order(name, data) if k in expect]:
        try:
            msg = message_class(kind).FromString(data)
        except (DecodeError, RuntimeError, ValueError, RecursionError) as exc:
            first_error = first_error or " ".join(str(exc).split())[:300]
            continue
        if _plausible(kind, msg):
            return kind, msg
    detail = f" ({first_error})" if first_error else ""
    wanted = " or ".join(k.split(".")[-1] for k in expect)
    raise InputError(path, f"not a readable {wanted}: truncated, corrupt or another format{detail}")
