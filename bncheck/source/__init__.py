"""Source mode: find batch-norm mistakes in the Python code that builds and trains a model.

``bncheck train.py`` (or a folder of ``.py`` files) reads the code with :mod:`ast`: it is never
imported or run, and TensorFlow is never imported. See :mod:`bncheck.source.checker`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from bncheck.errors import InputError
    from bncheck.source.checker import SourceResult, check_files


def __getattr__(name: str) -> object:
    """``check_files``/``SourceResult`` on first use: checking a model file never pays for source mode."""
    if name in ("SourceResult", "check_files"):
        from bncheck.source import checker

        return getattr(checker, name)
    raise AttributeError(name)

SOURCE_SUFFIXES = (".py",)

__all__ = ["SOURCE_SUFFIXES", "SourceResult", "check_files", "check_program", "plan", "wanted"]


def wanted(folder: str, dirpath: str) -> bool:
    """Whether ``.py`` files under ``dirpath`` (inside a scanned ``folder``) are the user's code:
    not in hidden folders, virtual environments, ``site-packages`` or ``__pycache__``."""
    import os

    rel = os.path.relpath(dirpath, folder)
    parts = [] if rel == "." else rel.split(os.sep)
    return not any(p.startswith(".") or p in _NOT_USER_CODE for p in parts)


_NOT_USER_CODE = {"__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "env", "build"}


def plan(paths: Sequence[str]) -> tuple[list[list[tuple[str, str]]], str, list[InputError], list[str],
                                      frozenset[str], list[tuple[str, str]]]:
    """The engine's source jobs: ``(groups, root, errors, checked, followed, notes)``. Each group is the
    ``(path, text)`` of files that import each other, analysed together as one program (one job),
    with the sibling modules of the project their imports reach (``followed``: read, never reported
    as inputs; :mod:`bncheck.source.following`); ``checked`` are the files of programs that mention
    nothing the rules read (counted as checked, never parsed); ``notes``: imports not followed."""
    from bncheck.source.checker import plan_programs

    found = plan_programs(paths)
    return found.groups, found.root, found.errors, found.checked, found.followed, found.notes


def check_program(files: Sequence[tuple[str, str]], root: str,
                  selections: Sequence[tuple[Sequence[str] | None, Sequence[str] | None]],
                  followed: Iterable[str] = ()) -> SourceResult:
    """Check one program (files that import each other); ``selections[i]`` is the (select, ignore) of
    ``files[i]``: the rules any file selects run once, and each file keeps its own rules' findings."""
    from bncheck.catalogue import is_selected
    from bncheck.source.checker import check_group
    from bncheck.source.rules import SOURCE_RULES

    wanted = {path: {r.code for r in SOURCE_RULES if is_selected(r.code, sel or None, ign or None)}
              for (path, _), (sel, ign) in zip(files, selections)}
    codes = sorted(set().union(*wanted.values()))
    if not codes:
        from bncheck.source.checker import SourceResult

        return SourceResult(checked=[path for path, _ in files])
    from bncheck.source.reading import settle

    result = check_group(files, root, codes, (), followed)
    result.findings = [f for f in result.findings if f.code in wanted.get(f.loc.path, ())]
    settle(result, dict(files))  # Python 2 files and notebooks: locations in the file (and cell), their edits
    return result


