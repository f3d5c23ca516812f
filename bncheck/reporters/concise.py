"""``--output-format concise``: one greppable line per finding, then a one-line summary.

``path[graph]:layer: BN001 error update-not-run: message``; every model-supplied part escaped.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bncheck.reporters.escaping import printable

if TYPE_CHECKING:
    from bncheck.findings import Finding
    from bncheck.report import Report


def line(finding: "Finding") -> str:
    if finding.line is not None:  # source mode: path:line:col: BN001 ... (path:cell 3:line:col in a notebook)
        cell = f"cell {finding.cell}:" if finding.cell is not None else ""
        return (f"{printable(finding.path)}:{cell}{finding.line}:{finding.column}: {finding.code} {finding.severity} "
                f"{finding.rule}: {printable(finding.layer)}: {printable(finding.message)}")
    graph = f"[{printable(finding.graph)}]" if finding.graph else ""
    return (f"{printable(finding.path)}{graph}:{printable(finding.layer)}: {finding.code} {finding.severity} "
            f"{finding.rule}: {printable(finding.message)}")


def summary(report: "Report", notes_hidden: bool = True) -> str:
    """The run in one plain line (no symbols, so any terminal encoding can show it); the notes are
    counted when not listed (``--show-notes`` lists them)."""
    n, inputs = len(report.findings), len(report.checked)
    text = f"{n} finding{'s' if n != 1 else ''}" if n else "no batch-norm problems found"
    text += f" in {inputs} input{'s' if inputs != 1 else ''}"
    if report.errors:
        text += f"; {len(report.errors)} could not be read"
    if report.suppressed:
        text += f"; {printable(report.suppression_summary())}"
    if notes_hidden and report.notes:
        text += f"; {len(report.notes)} note{'s' if len(report.notes) != 1 else ''} (--show-notes)"
    if not report.checked:
        text += "; nothing was checked"
    return text


def note_line(path: str, note: str) -> str:
    return f"{printable(path)}: note: {printable(note)}"


def render(report: "Report", quiet: bool = False, show_notes: bool = False) -> str:
    """Findings, then (``show_notes``) one ``path: note: ...`` line per note, then the summary."""
    lines = [line(f) for f in report.findings]
    if not quiet:
        if show_notes:
            lines += [note_line(path, note) for path, note in report.notes]
        lines.append(summary(report, notes_hidden=not show_notes))
    return "\n".join(lines)
