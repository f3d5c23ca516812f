"""``--diff`` / ``--fix`` / ``--unsafe-fixes`` for source mode, following ruff's conventions.

Safe fixes change only what nobody wants (a momentum literal, ``training=True`` in a serving
function); the others (wrapping a train op in ``control_dependencies``, ``training=True`` in a
train step, ``use_bias=False``) change behaviour and need ``--unsafe-fixes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from bncheck.errors import InputError
from bncheck.source import edits as edit_ops
from bncheck.source.checker import check_files
from bncheck.source.loader import read_source
from bncheck.source.notebooks import CellEdit, NotebookFix, fix_notebook, write_fixed
from bncheck.reporters.escaping import printable
from bncheck.source.reading import SourceText


@dataclass
class FixOutcome:
    diffs: dict[str, str]  # path -> unified diff
    fixed: int  # findings fixed
    unsafe_skipped: int  # findings with only unsafe fixes, not applied
    not_applied: tuple[tuple[str, str], ...] = ()  # (path, why): fixes --fix does not apply (Python 2, IPython lines)
    notebooks: dict[str, NotebookFix] = field(default_factory=dict)  # path -> the fixed notebook


def plan_fixes(paths: Sequence[str], select: Sequence[str] | None = None, ignore: Sequence[str] | None = None,
               unsafe: bool = False) -> tuple[FixOutcome, dict[str, str]]:
    """The fixes for ``.py`` files under ``paths``: (outcome, fixed text by path)."""
    from bncheck.loaders import discover

    files: list[str] = []
    for path in paths:
        try:
            files += [t.path for t in discover(path) if t.kind == "source"]
        except InputError:
            continue
    result = check_files(files, select, ignore)
    by_path: dict[str, list[edit_ops.Edit]] = {}
    fixed = skipped = 0
    for finding in result.findings:
        usable = [e for e in finding.edits if e.safe or unsafe]
        if not usable:
            skipped += bool(finding.edits)
            continue
        fixed += 1
        for e in usable:
            by_path.setdefault(e.loc.path, []).append(e)
    diffs: dict[str, str] = {}
    texts: dict[str, str] = {}
    notebooks: dict[str, NotebookFix] = {}
    refused: list[tuple[str, str]] = []
    for path, path_edits in by_path.items():
        if all(isinstance(e, CellEdit) for e in path_edits):  # a notebook: edits in its cells' sources
            try:
                fix = fix_notebook(path, [e for e in path_edits if isinstance(e, CellEdit)])
            except InputError as exc:
                refused.append((exc.source, f"not fixed: {exc.reason}"))
                continue
            if fix is not None:
                diffs[path], notebooks[path] = fix.diff, fix
            continue
        before = read_source(path)
        after = edit_ops.apply(before, path_edits)
        if after != before:
            diffs[path] = edit_ops.unified_diff(path, before, after)
            texts[path] = SourceText(after, encoding=getattr(before, "encoding", "utf-8"))  # written back as read
    not_applied = tuple(n for n in result.notes if "--fix does not edit" in n[1]) + tuple(refused)
    return FixOutcome(diffs, fixed, skipped, not_applied, notebooks), texts


def run_fixes(paths: Sequence[str], *, select: Sequence[str] | None, ignore: Sequence[str] | None, write: bool,
              unsafe: bool, echo: Callable[..., None]) -> bool:
    """Print the diff (``write=False``) or write the fixed files; True when something would change."""
    outcome, texts = plan_fixes(paths, select, ignore, unsafe)
    changed = len(texts) + len(outcome.notebooks)
    if write:
        for path, text in texts.items():
            with open(path, "w", encoding=getattr(text, "encoding", "utf-8"), newline="") as fh:
                fh.write(text)
        for path, fix in outcome.notebooks.items():
            try:
                write_fixed(path, fix)
            except (InputError, OSError) as exc:
                changed -= 1
                echo(f"bncheck: {printable(path)}: not fixed: {getattr(exc, 'reason', None) or exc}", err=True)
        echo(f"bncheck: fixed {outcome.fixed} finding{'s' if outcome.fixed != 1 else ''} in {changed} file"
             f"{'s' if changed != 1 else ''}", err=True)
    else:
        for path in sorted(outcome.diffs):
            echo(outcome.diffs[path], nl=False)
        echo(f"bncheck: {outcome.fixed} fixable finding{'s' if outcome.fixed != 1 else ''} in {changed} file"
             f"{'s' if changed != 1 else ''}", err=True)
    for path, why in outcome.not_applied:
        echo(f"bncheck: {printable(path)}: {why}", err=True)
    if outcome.unsafe_skipped and not unsafe:
        echo(f"bncheck: {outcome.unsafe_skipped} more fix{'es' if outcome.unsafe_skipped != 1 else ''} available "
             "with --unsafe-fixes", err=True)
    return bool(changed)
