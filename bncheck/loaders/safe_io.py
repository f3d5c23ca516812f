"""Reading untrusted files within limits: every size a file declares is checked against these
before anything is allocated, and only regular files are opened (a FIFO or device named where a
file is expected never blocks or streams forever). Each limit can be raised through an
environment variable for legitimately large artefacts (e.g. ``BNCHECK_MAX_TENSOR_MB=4096``)."""
from __future__ import annotations

import json
import os
import re
import stat
from typing import Any, BinaryIO

from bncheck.errors import InputError
from bncheck.remote import open_mirrored


def _mb(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        value = default
    return max(value, 1) << 20


#: the largest single tensor bncheck reads (a BN statistic or a step counter is far smaller)
MAX_TENSOR_BYTES = _mb("BNCHECK_MAX_TENSOR_MB", 64)
#: the largest file read whole into memory (a GraphDef, a SavedModel, a checkpoint index, a
#: compressed ``.keras`` weights member)
MAX_FILE_BYTES = _mb("BNCHECK_MAX_FILE_MB", 2048)
#: the largest compressed ``.keras`` member unpacked into memory (Keras stores weights
#: uncompressed, and those are read in place, tensor by tensor)
MAX_MEMBER_BYTES = _mb("BNCHECK_MAX_MEMBER_MB", 512)
#: the largest JSON model config (``config.json`` or an ``.h5`` ``model_config`` attribute); one
#: costs about 0.1 s of CPU and 16 MiB of memory a MB (a real one is far below 1 MB)
MAX_CONFIG_BYTES = _mb("BNCHECK_MAX_CONFIG_MB", 32)
#: the largest text protobuf (``.pbtxt``) parsed: reading one costs about 0.6 s of CPU and 10 MiB of
#: memory a MB (``tools/benchmark_format_cost.py``), so this bounds a text file's cost
MAX_TEXT_BYTES = _mb("BNCHECK_MAX_TEXT_MB", 32)
#: nesting depth of JSON configs and text protobufs (real ones stay far below; Python's parsers
#: would otherwise recurse until RecursionError)
MAX_NESTING = 100


def os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def open_regular(path: str) -> BinaryIO:
    """``open(path, "rb")`` for a regular file; anything else is an :class:`InputError`."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(path, "not a regular file")
        remote = open_mirrored(path)  # a placeholder of a file behind an fsspec URL: its bytes, as read
        return remote if remote is not None else open(path, "rb")  # type: ignore[return-value]  # a mirrored remote file is a binary file object like open()'s
    except (OSError, ValueError) as exc:
        raise InputError(path, os_reason(exc) if isinstance(exc, OSError) else str(exc)) from None


def read_bounded(path: str, limit: int = MAX_FILE_BYTES, what: str = "file",
                 raised_by: str | None = "BNCHECK_MAX_FILE_MB") -> bytes:
    """A regular file's whole content, refused when larger than ``limit`` (checked before reading;
    the message names the environment variable ``raised_by`` that raises it)."""
    with open_regular(path) as fh:
        try:
            size = file_size(fh)
            if size > limit:
                raise InputError(path, f"{what} of {size} bytes is larger than the {limit >> 20} MiB bncheck reads"
                                 + (f" (raise {raised_by} to allow it)" if raised_by else ""))
            data = fh.read(size + 1)  # never read(limit): CPython allocates the whole buffer first
        except OSError as exc:
            raise InputError(path, os_reason(exc)) from None
    if len(data) > size:
        raise InputError(path, f"{what} grew while being read")
    return data


def file_size(fh: BinaryIO) -> int:
    size = getattr(fh, "size", None)  # a remote file (bncheck.remote.RemoteFile) knows its size
    return size if isinstance(size, int) else os.fstat(fh.fileno()).st_size


_TEXT_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*')
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: long runs in one step


def nesting_depth(text: str, opening: str = "{<", closing: str = "}>") -> int:
    """The deepest nesting of ``opening``/``closing`` brackets outside strings and comments, counted
    without recursion (protobuf text format, or JSON with ``"[{"``/``"]}"``)."""
    bare = _TEXT_STRING_OR_COMMENT.sub("", text) if opening != "[{" else JSON_STRING.sub("", text)
    brackets = re.sub(r"[^" + re.escape(opening + closing) + r"]+", "", bare)
    if len(brackets) > 4096:  # a big config: the running depth in numpy (a Python loop cost 0.1 s per MB)
        import numpy as np

        table = np.zeros(256, np.int8)
        table[[ord(c) for c in opening]] = 1
        table[[ord(c) for c in closing]] = -1
        steps = table[np.frombuffer(brackets.encode("ascii"), np.uint8)]
        return max(int(np.cumsum(steps, dtype=np.int64).max()), 0)
    depth = deepest = 0
    for char in brackets:
        if char in opening:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(data: bytes | str, source: str, what: str) -> Any:
    """JSON from an untrusted file, its nesting checked before Python's recursive parser sees it;
    :class:`InputError` naming ``source`` otherwise."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise InputError(source, f"{what} is not UTF-8 text") from None
    if nesting_depth(text, "[{", "]}") > MAX_NESTING:
        raise InputError(source, f"{what} nests JSON deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(source, f"{what} is not JSON ({' '.join(str(exc).split())[:200]})") from None
