"""Reporters render a :class:`~bncheck.report.Report`; they never see loaders or graphs.

Every reporter escapes model-supplied text (see :mod:`bncheck.reporters.escaping`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bncheck.report import Report

#: ``--output-format`` choices; ``full`` is the grouped terminal report
FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github", "junit")


def render(report: "Report", fmt: str, quiet: bool = False) -> str:
    """The report as text in one of :data:`FORMATS` other than ``full`` (which prints through rich)."""
    from bncheck.reporters import concise, github, json, json_lines, junit, sarif

    if fmt == "concise":
        return concise.render(report, quiet=quiet)
    renderers = {"json": json.render, "json-lines": json_lines.render, "sarif": sarif.render,
                 "github": github.render, "junit": junit.render}
    if fmt not in renderers:
        raise ValueError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    return renderers[fmt](report)
