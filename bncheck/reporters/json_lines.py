"""``--output-format json-lines``: one JSON object per line (``"type"``: finding, error, note or statistics).

Each line is ASCII: control characters are JSON escapes, text that is not valid Unicode is escaped
as in the text report (see :mod:`bncheck.reporters.escaping`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from bncheck.reporters.escaping import valid_unicode

if TYPE_CHECKING:
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row


def records(report: "Report") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"type": "finding", **f.to_dict()} for f in report.findings]
    rows += [{"type": "error", "path": e.source, "message": e.reason} for e in report.errors]
    rows += [{"type": "note", "path": p, "message": m} for p, m in report.notes]
    return rows


def render(report: "Report", statistics: "Sequence[Row] | None" = None) -> str:
    """``statistics`` (``--statistics``) adds one ``{"type": "statistics", "code", "name", "count"}`` line per code."""
    from bncheck.reporters.statistics import records as counted

    rows = records(report) + [{"type": "statistics", **row} for row in counted(statistics or ())]
    return "\n".join(json.dumps(valid_unicode(row), ensure_ascii=True) for row in rows)
