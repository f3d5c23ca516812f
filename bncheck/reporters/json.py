"""``--output-format json``: the report as one JSON document.

``{"tool": "bncheck", "version": ..., "schema_version": 1, "findings": [...], "errors": [...],
"checked": [...], "notes": [...]}``; ASCII only (see :meth:`bncheck.report.Report.to_json`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bncheck.reporters.escaping import valid_unicode

if TYPE_CHECKING:
    from bncheck.report import Report

SCHEMA_VERSION = 1


def render(report: "Report") -> str:
    from bncheck import __version__

    document = {"tool": "bncheck", "version": __version__, "schema_version": SCHEMA_VERSION, **report.to_dict()}
    return json.dumps(valid_unicode(document), indent=2, ensure_ascii=True)
