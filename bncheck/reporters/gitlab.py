"""``--output-format gitlab``: a GitLab Code Quality report (a JSON array of issues).

Each finding is ``{"description", "check_name", "fingerprint", "severity", "location": {"path",
"lines": {"begin"}}}`` as GitLab's Code Quality documentation describes; ``path`` is relative to the
working directory (the checkout), an artefact's findings sit on line 1 of its defining file (a
SavedModel's ``saved_model.pb``), a ``.py`` file's on their line. Severity: error ``critical``,
warning ``major``, info ``minor``; an unusable input is a ``blocker`` issue, so it cannot pass
unseen. The fingerprint is stable across runs: rule, file, graph, layer and line.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from bncheck.findings import Severity
from bncheck.reporters.escaping import printable, valid_unicode
from bncheck.reporters.github import relative
from bncheck.reporters.sarif import artefact_file

if TYPE_CHECKING:
    from bncheck.report import Report

SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "minor"}


def _fingerprint(*parts: object) -> str:
    key = "\0".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()


def issues(report: "Report") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in report.findings:
        path = relative(artefact_file(f.path))
        line = f.line if f.line is not None else 1
        where = f" ({f.graph})" if f.graph else ""
        out.append({"type": "issue", "check_name": f.code, "categories": ["Bug Risk"],
                    "description": f"{f.code} {f.rule}: {printable(f.layer)}{printable(where)}: {printable(f.message)}",
                    "fingerprint": _fingerprint(f.code, path, f.graph, f.layer, line),
                    "severity": SEVERITY[f.severity], "location": {"path": path, "lines": {"begin": line}}})
    for e in report.errors:
        path = relative(e.source)
        out.append({"type": "issue", "check_name": "bncheck/unreadable-input", "categories": ["Bug Risk"],
                    "description": f"bncheck could not read this input: {printable(e.reason)}",
                    "fingerprint": _fingerprint("unreadable", path, e.reason),
                    "severity": "blocker", "location": {"path": path, "lines": {"begin": 1}}})
    return out


def render(report: "Report") -> str:
    return json.dumps(valid_unicode(issues(report)), indent=2, ensure_ascii=True)
