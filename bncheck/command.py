"""The ``bncheck`` command's entry point.

A worker is forked first, to import what the check needs while this process imports the command
line (click, rich) and reads its arguments: the source analysis when every input named is a ``.py``
file or a notebook, else numpy, protobuf and the rules; :mod:`bncheck.cli` does the rest.
"""
from __future__ import annotations

import os
import sys

_NO_CHECK = frozenset({"-h", "--help", "--version", "--list-rules", "--explain", "--show-settings"})
_SOURCE_SUFFIXES = (".py", ".ipynb")


def warm_for(args: list[str]) -> str:
    """What the pre-started worker imports for these arguments: the source analysis when the named
    inputs are all ``.py`` files or notebooks (pre-commit's source hook), else the artefact loaders.
    Only a guess to save time: any other input still works, imported when its job comes."""
    named = [a for a in args if not a.startswith("-") and os.path.isfile(a)]
    if named and not any(os.path.isdir(a) for a in args) and all(a.endswith(_SOURCE_SUFFIXES) for a in named):
        return "bncheck.engine:warm_source"
    return "bncheck.engine:warm"


def run() -> None:
    """``bncheck``: see ``bncheck --help``."""
    if not _NO_CHECK.intersection(sys.argv[1:]) and os.environ.get("BNCHECK_IN_PROCESS") != "1":
        from bncheck.isolation import prestart

        prestart(warm_for(sys.argv[1:]))
    from bncheck.cli import run as command

    command()
