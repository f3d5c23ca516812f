"""Reporters render a :class:`~bncheck.report.Report`; they never see loaders or graphs.

Every reporter escapes model-supplied text (see :mod:`bncheck.reporters.escaping`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from bncheck.findings import Severity
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row

#: ``--output-format`` choices; ``full`` is the grouped terminal report
FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github", "junit", "gitlab", "rdjson")


def render(report: "Report", fmt: str, quiet: bool = False, *, fail_on: "Severity | str" = "error",
           show_notes: bool = False, statistics: "Sequence[Row] | None" = None) -> str:
    """The report as text in one of :data:`FORMATS` other than ``full`` (which prints through rich).

    ``fail_on``: the severity from which a JUnit test case fails; ``show_notes``: the concise and
    github formats list what could not be judged; ``statistics``: rows per rule code, embedded in
    the formats that can hold them (see :mod:`bncheck.reporters.statistics`; the others ignore
    them, the command prints them to stderr)."""
    from bncheck.reporters import concise, github, gitlab, json, json_lines, junit, rdjson, sarif
    from bncheck.reporters import statistics as stats

    rows = list(statistics) if statistics is not None else None
    if fmt == "concise":
        text = concise.render(report, quiet=quiet, show_notes=show_notes)
        return text + "\n" + stats.text(rows) if rows else text
    if fmt == "github":
        return github.render(report, show_notes=show_notes)
    if fmt == "junit":
        return junit.render(report, fail_on=fail_on, statistics=rows)
    renderers = {"json": json.render, "json-lines": json_lines.render, "sarif": sarif.render}
    if fmt in renderers:
        return renderers[fmt](report, statistics=rows)
    simple = {"gitlab": gitlab.render, "rdjson": rdjson.render}
    if fmt not in simple:
        raise ValueError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    return simple[fmt](report)
