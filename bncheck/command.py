"""The ``bncheck`` command's entry point.

A worker is forked first, to import what the check needs while this process imports the command
line (click, rich) and reads its arguments: the source analysis when every input named is a ``.py``
file, a notebook or a folder that seems to hold only those, else numpy, protobuf and the rules;
:mod:`bncheck.cli` does the rest.
"""
from __future__ import annotations

import os
import sys

_NO_CHECK = frozenset({"-h", "--help", "--version", "--list-rules", "--explain", "--show-settings"})


def warm_for(args: list[str]) -> str:
    """What the pre-started worker imports for these arguments: the source analysis when the named
    inputs are all ``.py`` files or notebooks (pre-commit's source hook), or folders whose first
    :data:`GUESS_ENTRIES` entries (breadth first) hold such files and no artefact; else the artefact
    loaders (numpy, protobuf, h5py). Only a guess to save time: any other input still works, imported
    when its job comes."""
    # light: the parent imports the loaders next anyway
    from bncheck.loaders import SOURCE_INPUTS

    named = [a for a in args if not a.startswith("-") and (os.path.isfile(a) or os.path.isdir(a))]
    if named and all(_holds_only_source(a) if os.path.isdir(a) else a.endswith(SOURCE_INPUTS) for a in named):
        return "bncheck.engine:warm_source"
    return "bncheck.engine:warm"


GUESS_ENTRIES = 256


def _holds_only_source(folder: str) -> bool:
    """Whether the folder's first entries, breadth first, hold a ``.py`` file or notebook and nothing
    that looks like an artefact (never following a symlink, never opening a file)."""
    from bncheck.loaders import GRAPH_SUFFIXES, KERAS_SUFFIXES, SOURCE_INPUTS

    artefact = GRAPH_SUFFIXES + KERAS_SUFFIXES + (".index",)  # .index: a checkpoint's
    queue, budget, source = [folder], GUESS_ENTRIES, False
    while queue and budget > 0:
        try:
            with os.scandir(queue.pop(0)) as entries:
                for entry in entries:
                    budget -= 1
                    if budget < 0:
                        break
                    name = entry.name
                    if name.endswith(artefact) or name == "checkpoint":
                        return False
                    if name.endswith(SOURCE_INPUTS):
                        source = True
                    elif not name.startswith(".") and entry.is_dir(follow_symlinks=False):
                        queue.append(entry.path)
        except OSError:
            continue
    return source


def run() -> None:
    """``bncheck``: see ``bncheck --help``."""
    if not _NO_CHECK.intersection(sys.argv[1:]) and os.environ.get("BNCHECK_IN_PROCESS") != "1":
        from bncheck.isolation import prestart

        prestart(warm_for(sys.argv[1:]))
    from bncheck.cli import run as command

    command()
