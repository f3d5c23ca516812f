"""``--diff`` / ``--fix`` / ``--unsafe-fixes`` for source mode, following ruff's conventions.

Safe fixes change only what nobody wants (a momentum literal, ``training=True`` in a serving
function); the others (wrapping a train op in ``control_dependencies``, ``training=True`` in a
train step, ``use_bias=False``) change behaviour and need ``--unsafe-fixes``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.source import edits as edit_ops
from bncheck.reporters.escaping import printable
from bncheck.source.loader import read_source


@dataclass
class FixOutcome:
    diffs: dict[str, str]  # path -> unified diff
    fixed: int  # findings fixed
    unsafe_skipped: int  # findings with only unsafe fixes, not applied
    errors: list[InputError]  # files that could not be read back to fix


def plan_fixes(findings: Iterable[Finding], unsafe: bool = False) -> tuple[FixOutcome, dict[str, str]]:
    """The fixes the engine's ``findings`` carry: (outcome, fixed text by path)."""
    by_path: dict[str, list[edit_ops.Edit]] = {}
    fixed = skipped = 0
    for finding in findings:
        usable = [e for e in finding.edits if e.safe or unsafe]
        if not usable:
            skipped += bool(finding.edits)
            continue
        fixed += 1
        for e in usable:
            by_path.setdefault(e.loc.path, []).append(e)
    diffs: dict[str, str] = {}
    texts: dict[str, str] = {}
    errors: list[InputError] = []
    for path, path_edits in by_path.items():
        try:
            before = read_source(path)
        except InputError as exc:
            errors.append(exc)
            continue
        after = edit_ops.apply(before, path_edits)
        if after != before:
            diffs[path] = edit_ops.unified_diff(path, before, after)
            texts[path] = after
    return FixOutcome(diffs, fixed, skipped, errors), texts


def write_fixed(path: str, text: str) -> None:
    """Write a fixed source file (the one place fixes are written)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def run_fixes(findings: Iterable[Finding], *, write: bool, unsafe: bool, echo: Callable[..., None]) -> bool:
    """Print the diff (``write=False``) or write the fixed files; True when something would change."""
    outcome, texts = plan_fixes(findings, unsafe)
    for error in outcome.errors:
        echo(f"bncheck: error: {printable(error)}", err=True)
    if write:
        for path, text in texts.items():
            write_fixed(path, text)
        echo(f"bncheck: fixed {outcome.fixed} finding{'s' if outcome.fixed != 1 else ''} in {len(texts)} file"
             f"{'s' if len(texts) != 1 else ''}", err=True)
    else:
        for path in sorted(outcome.diffs):
            echo(outcome.diffs[path], nl=False)
        echo(f"bncheck: {outcome.fixed} fixable finding{'s' if outcome.fixed != 1 else ''} in {len(texts)} file"
             f"{'s' if len(texts) != 1 else ''}", err=True)
    if outcome.unsafe_skipped and not unsafe:
        echo(f"bncheck: {outcome.unsafe_skipped} more fix{'es' if outcome.unsafe_skipped != 1 else ''} available "
             "with --unsafe-fixes", err=True)
    return bool(texts)
