"""``--output-format rdjson``: reviewdog's Diagnostic Format (one ``DiagnosticResult`` document).

``{"source": {"name": "bncheck"}, "diagnostics": [{"message", "severity", "code": {"value"},
"location": {"path", "range"}}]}``; ``range`` (1-based line and column) only for ``.py`` files:
an artefact's finding names its defining file (a SavedModel's ``saved_model.pb``). Severity
``ERROR``/``WARNING``/``INFO``; an unusable input is an ``ERROR`` with code ``unreadable-input``.
Pipe it to ``reviewdog -f=rdjson``.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bncheck.findings import Severity
from bncheck.reporters.escaping import printable, valid_unicode
from bncheck.reporters.github import relative
from bncheck.reporters.sarif import artefact_file

if TYPE_CHECKING:
    from bncheck.report import Report

SEVERITY = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}


def document(report: "Report") -> dict[str, Any]:
    diagnostics: list[dict[str, Any]] = []
    for f in report.findings:
        location: dict[str, Any] = {"path": relative(artefact_file(f.path))}
        if f.line is not None:
            location["range"] = {"start": {"line": f.line, "column": f.column or 1}}
        where = f" ({f.graph})" if f.graph else ""
        diagnostics.append({"message": f"{printable(f.layer)}{printable(where)}: {printable(f.message)}",
                            "severity": SEVERITY[f.severity], "code": {"value": f.code},
                            "location": location})
    for e in report.errors:
        diagnostics.append({"message": f"bncheck could not read this input: {printable(e.reason)}",
                            "severity": "ERROR", "code": {"value": "unreadable-input"},
                            "location": {"path": relative(e.source)}})
    return {"source": {"name": "bncheck"}, "diagnostics": diagnostics}


def render(report: "Report") -> str:
    return json.dumps(valid_unicode(document(report)), ensure_ascii=True)
