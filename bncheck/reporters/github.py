"""``--output-format github``: GitHub Actions workflow commands, one annotation per finding.

``::error file=models/a.meta,title=BN001 model/bn1::message``. Model-supplied text is made
printable first, then escaped as workflow commands require (``%``, CR, LF; and ``:`` ``,`` in
properties), so a name can neither end the command early nor start another.
"""
from __future__ import annotations

import os
import re
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


def render(report: "Report", show_notes: bool = False) -> str:
    """One annotation per finding and unusable input; per note with ``show_notes`` (a ``notice``),
    else one ``notice`` counting them when there are any."""
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
    if show_notes:
        for path, note in report.notes:
            source = re.fullmatch(r"(.+\.py):(\d+)", path)  # source mode notes are "train.py:12"
            where = f"{_property(relative(source.group(1)))},line={source.group(2)}" if source else \
                _property(relative(artefact_file(path)))
            lines.append(f"::notice file={where},title=bncheck could not judge::{_data(note)}")
    elif report.notes:
        n = len(report.notes)
        lines.append(f"::notice title=bncheck::{n} note{'s' if n != 1 else ''}: what bncheck could not judge "
                     "(--show-notes lists them)")
    return "\n".join(lines)
