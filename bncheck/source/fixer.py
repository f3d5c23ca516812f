"""``--diff`` / ``--fix`` / ``--unsafe-fixes`` for source mode, following ruff's conventions.

Safe fixes change only what nobody wants (a momentum literal, ``training=True`` in a serving
function); the others (wrapping a train op in ``control_dependencies``, ``training=True`` in a
train step, ``use_bias=False``) change behaviour and need ``--unsafe-fixes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.remote import LOCAL_ONLY, is_remote, local_path
from bncheck.reporters.escaping import printable
from bncheck.safe_write import as_on_disk, write_fixed
from bncheck.source import edits as edit_ops
from bncheck.source.loader import read_source
from bncheck.source.notebooks import CellEdit, NotebookFix, fix_notebook
from bncheck.source.reading import SourceText


@dataclass
class FixOutcome:
    diffs: dict[str, str]  # path -> unified diff
    fixed: int  # findings fixed
    unsafe_skipped: int  # findings with only unsafe fixes, not applied
    errors: list[InputError] = field(default_factory=list)  # files that could not be read back to fix
    per_file: dict[str, int] = field(default_factory=dict)  # findings fixed, by file
    not_applied: tuple[tuple[str, str], ...] = ()  # (path, why): fixes --fix does not apply (Python 2, IPython lines)
    notebooks: dict[str, NotebookFix] = field(default_factory=dict)  # path -> the fixed notebook


def plan_fixes(findings: Iterable[Finding], unsafe: bool = False,
               notes: Sequence[tuple[str, str]] = ()) -> tuple[FixOutcome, dict[str, str]]:
    """The fixes the engine's ``findings`` carry: (outcome, fixed text by path). ``notes``: the check's
    notes, which say where fixes are not applied (files read as Python 2)."""
    by_path: dict[str, list[edit_ops.Edit]] = {}
    fixed = skipped = 0
    per_file: dict[str, int] = {}
    for finding in findings:
        usable = [e for e in finding.edits if e.safe or unsafe]
        if not usable:
            skipped += bool(finding.edits)
            continue
        fixed += 1
        per_file[usable[0].loc.path] = per_file.get(usable[0].loc.path, 0) + 1
        for e in usable:
            by_path.setdefault(e.loc.path, []).append(e)
    diffs: dict[str, str] = {}
    texts: dict[str, str] = {}
    notebooks: dict[str, NotebookFix] = {}
    refused: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for path, path_edits in by_path.items():
        if is_remote(path) and not path.startswith(("file://", "local://")):
            errors.append(InputError(path, LOCAL_ONLY))  # a remote file is never written
            continue
        if all(isinstance(e, CellEdit) for e in path_edits):  # a notebook: edits in its cells' sources
            try:
                fix = fix_notebook(local_path(path), [e for e in path_edits if isinstance(e, CellEdit)])
            except InputError as exc:
                refused.append((exc.source, f"not fixed: {exc.reason}"))
                continue
            if fix is not None:
                diffs[path], notebooks[path] = fix.diff, fix
            continue
        try:
            before = read_source(local_path(path))
        except InputError as exc:
            errors.append(exc)
            continue
        after = edit_ops.apply(before, path_edits)
        if after != before:
            text = SourceText(after, encoding=getattr(before, "encoding", "utf-8"))  # written back as it was read
            diffs[path] = edit_ops.unified_diff(path, *as_on_disk(local_path(path), text))  # BOM, line ends
            texts[path] = text
    not_applied = tuple(n for n in notes if "--fix does not edit" in n[1]) + tuple(refused)
    return FixOutcome(diffs, fixed, skipped, errors, per_file, not_applied, notebooks), texts


def run_fixes(findings: Iterable[Finding], paths: Sequence[str], *, write: bool, unsafe: bool,
              echo: Callable[..., None], notes: Sequence[tuple[str, str]] = ()) -> tuple[bool, bool]:
    """Print the diff (``write=False``) or write the fixed files, never outside ``paths``: (something
    would change, some file could not be read or written)."""
    outcome, texts = plan_fixes(findings, unsafe, notes)
    failed = list(outcome.errors)
    notebooks = outcome.notebooks
    if write:
        roots = [local_path(r) for r in paths if not is_remote(r) or r.startswith(("file://", "local://"))]
        texts = {p: t for p, t in texts.items() if not _write_failed(p, t, roots, failed)}
        notebooks = {p: n for p, n in notebooks.items() if not _write_failed(p, _notebook_text(n), roots, failed)}
        outcome.fixed = sum(outcome.per_file.get(p, 0) for p in [*texts, *notebooks])
    for exc in failed:
        echo(f"bncheck: error: {printable(exc)}", err=True)
    changed = len(texts) + len(notebooks)
    if write:
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
    return bool(changed), bool(failed)


def _notebook_text(fix: NotebookFix) -> str:
    return fix.text  # the byte-order mark the notebook had is kept by the write (encode_like)


def _write_failed(path: str, text: str, roots: Sequence[str], failed: list[InputError]) -> bool:
    try:
        write_fixed(local_path(path), text, roots)
    except InputError as exc:
        failed.append(exc)
        return True
    return False
