"""``--output-format github``: GitHub Actions workflow commands, one annotation per finding.

``::error file=models/a.meta,title=BN001 model/bn1::message``. Model-supplied text is made
printable first, then escaped as workflow commands require (``%``, CR, LF; and ``:`` ``,`` in
properties), so a name can neither end the command early nor start another.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bncheck.findings import Severity
from bncheck.reporters.escaping import printable
from bncheck.reporters.sarif import artefact_file

if TYPE_CHECKING:
    from bncheck.report import Report

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def relative(path: str) -> str:
    """``path`` relative to the working directory (the checkout) when inside it, with ``/``."""
    from bncheck.remote import is_remote

    if is_remote(path):  # an fsspec URL is kept as given
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path.replace(os.sep, "/")
    return (path if rel.startswith("..") else rel).replace(os.sep, "/")


def render(report: "Report") -> str:
    lines = []
    for f in report.findings:
        title = f"{f.code} {f.layer}" + (f" ({f.graph})" if f.graph else "")
        at = f",line={f.line},col={f.column}" if f.line is not None else ""  # source mode
        if f.cell is not None:  # a notebook: its JSON's lines are not the cell's
            title, at = f"{title} (cell {f.cell}, line {f.line})", ""
        lines.append(f"::{LEVEL[f.severity]} file={_property(relative(artefact_file(f.path)))}{at},title={_property(title)}"
                     f"::{_data(f.message)}")
    for err in report.errors:
        lines.append(f"::error file={_property(relative(err.source))},title=bncheck could not read this input"
                     f"::{_data(err.reason)}")
    return "\n".join(lines)
