"""``--output-format json-lines``: one JSON object per line (``"type"``: finding, error or note).

Each line is ASCII: control characters are JSON escapes, text that is not valid Unicode is escaped
as in the text report (see :mod:`bncheck.reporters.escaping`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bncheck.reporters.escaping import valid_unicode

if TYPE_CHECKING:
    from bncheck.report import Report


def records(report: "Report") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"type": "finding", **f.to_dict()} for f in report.findings]
    rows += [{"type": "error", "path": e.source, "message": e.reason} for e in report.errors]
    rows += [{"type": "note", "path": p, "message": m} for p, m in report.notes]
    return rows


def render(report: "Report") -> str:
    return "\n".join(json.dumps(valid_unicode(row), ensure_ascii=True) for row in records(report))
