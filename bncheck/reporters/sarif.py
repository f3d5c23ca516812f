"""``--output-format sarif``: SARIF 2.1.0 as GitHub code scanning reads it.

Rules come from the catalogue (help text = ``--explain``), each result points at the artefact file
(a SavedModel folder's ``saved_model.pb``, a checkpoint folder's ``checkpoint`` state file) by a URI
relative to the working directory (an fsspec URL stays the URL), names the layer as a logical
location, and carries a stable fingerprint of (code, graph, layer) in ``partialFingerprints``.
Inputs that could not be read are tool execution notifications of level ``error``, what could not be
judged (``--show-notes``) notifications of level ``note``. Suppressed findings are not results (GitHub
code scanning would open alerts for them): the invocation's properties count them by what suppressed
them. The output is valid against the official OASIS schema (``tests/sarif/``).
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import quote

from bncheck.findings import Finding, Severity
from bncheck.reporters.escaping import valid_unicode

if TYPE_CHECKING:
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FINGERPRINT_KEY = "bncheckLayer/v1"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def fingerprint(finding: Finding) -> str:
    """Stable across runs and machines: the rule, the graph inside the artefact, the layer."""
    key = "\0".join((finding.code, finding.graph, finding.layer)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32]


def artefact_file(path: str) -> str:
    """The file a finding is anchored to: folders are represented by their defining file."""
    if os.path.isdir(path):
        for name in ("saved_model.pb", "saved_model.pbtxt", "checkpoint"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
    return path


def uri(path: str) -> str:
    """A relative URI when ``path`` is under the working directory, else a ``file://`` URI; bytes
    that are not UTF-8 are percent-encoded as themselves (lossless)."""
    from bncheck.remote import is_remote

    if is_remote(path):  # a gs://, s3:// ... artefact: its URL is already absolute
        return quote(path, safe=_URL_SAFE)
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    chosen = rel if not rel.startswith("..") else absolute
    try:
        raw = os.fsencode(chosen)
    except UnicodeEncodeError:  # a lone surrogate no file system produced: keep it visible, not fatal
        raw = chosen.encode("utf-8", "surrogatepass")
    raw = raw.replace(os.fsencode(os.sep), b"/")
    quoted = quote(raw, safe="/")
    return quoted if not rel.startswith("..") else "file://" + quoted


def _rules() -> list[dict[str, Any]]:
    """Every rule a result can name, from the catalogue; tagged with the analyses that find it."""
    from bncheck.catalogue import ENTRIES

    return [{
        "id": rule.code,
        "name": "".join(part.capitalize() for part in rule.name.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.doc.split())},
        "help": {"text": rule.explain()},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"tags": ["batch-normalization"] + [f"{a}-mode" for a in rule.analyses]},
    } for rule in ENTRIES]


def to_sarif(report: "Report", statistics: "Sequence[Row] | None" = None) -> dict[str, Any]:
    """The SARIF log; ``statistics`` (``--statistics``) go to the run's ``properties``."""
    from bncheck import __version__

    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": LEVEL[f.severity],
            "message": {"text": f"{f.layer}: {f.message}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri(artefact_file(f.path))}},
                "logicalLocations": [{"name": f.layer, "fullyQualifiedName": f"{f.graph}/{f.layer}" if f.graph
                                      else f.layer, "kind": "object"}],
            }],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
            "properties": {"graph": f.graph, "evidence": f.to_dict()["evidence"], "fix": f.fix},
        }
        if f.cell is not None:  # a notebook: no region (its JSON's lines are not the cell's)
            result["properties"]["cell"] = {"cell": f.cell, "line": f.line, "column": f.column}
        elif f.line is not None:  # source mode: the region in the .py file
            result["locations"][0]["physicalLocation"]["region"] = {"startLine": f.line, "startColumn": f.column}
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    notifications = [_notification("error", e.source, e.reason) for e in report.errors]
    notifications += [_notification("note", path, note) for path, note in report.notes]
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors,
                                  "toolExecutionNotifications": notifications}
    if report.suppressed:
        by: dict[str, int] = {}
        for _, why in report.suppressed:
            by[why] = by.get(why, 0) + 1
        invocation["properties"] = {"suppressed": len(report.suppressed), "suppressedBy": by}
    run = {
        "tool": {"driver": {"name": "bncheck", "version": __version__, "semanticVersion": __version__,
                            "informationUri": "https://github.com/bncheck/bncheck", "rules": rules}},
        "invocations": [invocation],
        "results": results,
    }
    if statistics is not None:
        from bncheck.reporters.statistics import records

        run["properties"] = {"statistics": records(statistics)}
    log: dict[str, Any] = valid_unicode({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})
    return log


def _notification(level: str, path: str, text: str) -> dict[str, Any]:
    return {"level": level, "message": {"text": f"{path}: {text}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(path)}}}]}


def render(report: "Report", statistics: "Sequence[Row] | None" = None) -> str:
    return json.dumps(to_sarif(report, statistics), indent=2, ensure_ascii=True)
