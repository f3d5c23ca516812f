"""``bncheck - --stdin-filename train.py``: Python source read from stdin (editors, pre-commit wrappers).

The text is written to a private temporary folder under the given file name's last part, checked in
source mode like any ``.py`` file, and every path in the report is given back as ``--stdin-filename``.
Only source mode reads stdin: an artefact is a file or folder, never a stream. At most
:data:`MAX_BYTES` are read; more is an unusable input (exit 2), not a partial check.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import IO, Any, Callable

MAX_BYTES = 32 * 1024 * 1024
DEFAULT_NAME = "stdin.py"


class StdinError(ValueError):
    """The stdin options cannot be used as given (a usage error)."""


def checked_name(filename: str | None) -> str:
    """The name stdin is reported under; :class:`StdinError` unless it names a ``.py`` file."""
    name = filename or DEFAULT_NAME
    base = os.path.basename(name.replace("\\", "/").rstrip("/"))
    if not base.endswith(".py") or base == ".py":
        raise StdinError(f"--stdin-filename {name!r}: stdin is read as Python source, so the name must end in .py")
    return name


def check_stdin(stream: IO[bytes], filename: str | None, check: Callable[[list[str]], Any]) -> Any:
    """Read ``stream``, check it as ``filename`` (default :data:`DEFAULT_NAME`) with ``check([path])``,
    and return its report with the temporary path replaced by ``filename``."""
    from bncheck.errors import InputError
    from bncheck.remote import restore
    from bncheck.report import Report

    name = checked_name(filename)
    base = os.path.basename(name.replace("\\", "/").rstrip("/"))
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return Report([], [InputError(name, f"more than {MAX_BYTES // (1024 * 1024)} MiB on stdin: not checked")], [])
    folder = tempfile.mkdtemp(prefix="bncheck-stdin-")
    try:
        path = os.path.join(folder, base)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        report = check([path])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report = restore(report, {path: name})
    prefix = path + ":"  # source mode notes name "file.py:LINE"
    report.notes = [(name + p[len(path):] if p.startswith(prefix) else p, n) for p, n in report.notes]
    return report
