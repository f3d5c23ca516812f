"""``--output-format json``: the report as one JSON document.

``{"tool": "bncheck", "version": ..., "schema_version": 1, "findings": [...], "errors": [...],
"checked": [...], "notes": [...]}`` (and ``"statistics"`` with ``--statistics``); ASCII only (see :meth:`bncheck.report.Report.to_json`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from bncheck.reporters.escaping import valid_unicode

if TYPE_CHECKING:
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row

SCHEMA_VERSION = 1


def render(report: "Report", statistics: "Sequence[Row] | None" = None) -> str:
    """``statistics`` (``--statistics``) adds ``"statistics": [{"code", "name", "count"}, ...]``."""
    from bncheck import __version__
    from bncheck.reporters.statistics import records

    document: dict[str, Any] = {"tool": "bncheck", "version": __version__, "schema_version": SCHEMA_VERSION,
                                **report.to_dict()}
    if statistics is not None:
        document["statistics"] = records(statistics)
    return json.dumps(valid_unicode(document), indent=2, ensure_ascii=True)
