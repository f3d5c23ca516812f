"""The ``bncheck`` command run in the test's own process, for tests whose subject is the report,
the exit status or the split between stdout and stderr, not the process around them.

A real ``python -m bncheck`` costs about 0.3 s of CPU (an interpreter, its imports, a pre-started
worker); this costs the check alone. What only the process shows (a traceback printed by the
interpreter, a closed pipe, ``os._exit``, the pre-started worker) keeps its own tests running the
real command: ``test_cli_exit.py``, ``test_prestart.py``, ``test_special_files.py`` (without root's
power to read), and one real run each in ``test_ci_formats.py`` (two reports, stdin from a pipe),
``test_cli.py`` (a bad input) and ``test_output_escaping.py`` (non-UTF-8 arguments)."""
from __future__ import annotations

import contextlib
import os
import subprocess
import traceback
from collections.abc import Iterator

from click.testing import CliRunner

from bncheck.cli import main


@contextlib.contextmanager
def _working_directory(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """``contextlib.chdir`` (Python 3.11) for 3.10; ``None``: stay."""
    before = os.getcwd()
    if path is not None:
        os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def bncheck_in_process(*args: object, stdin: bytes | None = None, cwd: str | os.PathLike[str] | None = None,
                       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """What ``subprocess.run([sys.executable, "-m", "bncheck", *args], capture_output=True)`` returns:
    the exit status and the bytes written to stdout and to stderr, apart. ANSI sequences are kept
    (``color=True``: click would strip them from what a test reads, never from a pipe). An exception
    other than the ``SystemExit`` click ends with would be a traceback on a real stderr: it fails
    here, with that traceback."""
    with _working_directory(cwd):
        result = CliRunner().invoke(main, [str(a) for a in args], input=stdin, env=env, color=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("bncheck raised:\n" + "".join(traceback.format_exception(result.exception)))
    return subprocess.CompletedProcess(["bncheck", *map(str, args)], result.exit_code, result.stdout_bytes,
                                       result.stderr_bytes)
