"""Source mode: find batch-norm mistakes in the Python code that builds and trains a model.

``bncheck train.py`` (or a folder of ``.py`` files) reads the code with :mod:`ast`: it is never
imported or run, and TensorFlow is never imported. See :mod:`bncheck.source.checker`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from bncheck.errors import InputError
    from bncheck.findings import Finding
    from bncheck.source.checker import SourceResult, check_files


def __getattr__(name: str) -> object:
    """``check_files``/``SourceResult`` on first use: checking a model file never pays for source mode."""
    if name in ("SourceResult", "check_files"):
        from bncheck.source import checker

        return getattr(checker, name)
    raise AttributeError(name)

SOURCE_SUFFIXES = (".py",)

__all__ = ["SOURCE_SUFFIXES", "SourceResult", "check_files", "check_targets", "wanted"]


def wanted(folder: str, dirpath: str) -> bool:
    """Whether ``.py`` files under ``dirpath`` (inside a scanned ``folder``) are the user's code:
    not in hidden folders, virtual environments, ``site-packages`` or ``__pycache__``."""
    import os

    rel = os.path.relpath(dirpath, folder)
    parts = [] if rel == "." else rel.split(os.sep)
    return not any(p.startswith(".") or p in _NOT_USER_CODE for p in parts)


_NOT_USER_CODE = {"__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "env", "build"}


def check_targets(paths: list[str], select: Sequence[str] | None, ignore: Sequence[str] | None,
                  findings: list[Finding], errors: list[InputError], checked: list[str],
                  notes: list[tuple[str, str]], jobs: int | None = None) -> None:
    """The engine's hook: check ``.py`` targets as one program and add the results to the engine's lists."""
    from bncheck.source.checker import check_files

    result = check_files(paths, select, ignore, jobs=jobs)
    findings.extend(f.to_finding() for f in result.findings)
    errors.extend(result.errors)
    checked.extend(result.checked)
    notes.extend(result.notes)
