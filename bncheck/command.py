"""The ``bncheck`` command's entry point.

A worker is forked first, to import numpy, protobuf and the rules while this process imports the
command line (click, rich) and reads its arguments; :mod:`bncheck.cli` does the rest.
"""
from __future__ import annotations

import os
import sys

_NO_CHECK = frozenset({"-h", "--help", "--version", "--list-rules", "--explain", "--show-settings"})


def run() -> None:
    """``bncheck``: see ``bncheck --help``."""
    if not _NO_CHECK.intersection(sys.argv[1:]) and os.environ.get("BNCHECK_IN_PROCESS") != "1":
        from bncheck.isolation import prestart

        prestart("bncheck.engine:warm")
    from bncheck.cli import run as command

    command()
