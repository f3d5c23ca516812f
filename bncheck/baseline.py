"""Leaving known findings out: config suppressions (with a reason) and a baseline file.

A baseline (``--generate-baseline FILE``, then ``--baseline FILE``) records each current finding by
its artefact path and the SARIF fingerprint of (code, graph, layer), in the style of bandit and
detect-secrets: later runs report only what is new. Suppressed findings are counted in the summary
by what suppressed them; a suppression or baseline entry that matches nothing is reported too.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from bncheck.findings import Finding
from bncheck.reporters.sarif import fingerprint

if TYPE_CHECKING:
    from bncheck.config import Suppression
    from bncheck.report import Report

FORMAT_VERSION = 1


class BaselineError(ValueError):
    """A baseline file bncheck cannot use; one line naming the file."""


def _path_key(path: str) -> str:
    from bncheck.remote import is_remote

    if is_remote(path):  # an fsspec URL is kept as given
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    return (path if rel.startswith("..") else rel).replace(os.sep, "/")


def entry(finding: Finding) -> dict[str, str]:
    return {"path": _path_key(finding.path), "code": finding.code, "graph": finding.graph,
            "layer": finding.layer, "fingerprint": fingerprint(finding)}


def write_baseline(report: "Report", path: str) -> int:
    """Record every finding of ``report`` in ``path``; returns how many."""
    from bncheck import __version__
    from bncheck.reporters.escaping import valid_unicode

    entries = [entry(f) for f in report.findings]
    document = {"tool": "bncheck", "version": __version__, "baseline_version": FORMAT_VERSION, "findings": entries}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(valid_unicode(document), indent=2, ensure_ascii=True) + "\n")
    return len(entries)


def read_baseline(path: str) -> set[tuple[str, str]]:
    """The (path, fingerprint) pairs a baseline file records."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a bncheck baseline ({type(exc).__name__})") from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("fingerprint"), str)
            for e in findings):
        raise BaselineError(f"{path}: not a bncheck baseline (no findings list with path and fingerprint)")
    return {(e["path"], e["fingerprint"]) for e in findings}


def apply(report: "Report", suppressions: Sequence["Suppression"] = (),
          baseline: set[tuple[str, str]] | None = None, baseline_name: str = "baseline") -> tuple["Report", list[str]]:
    """``report`` without the suppressed findings (kept in ``report.suppressed`` with why), and
    the suppressions or baseline entries that matched nothing."""
    kept: list[Finding] = []
    suppressed = list(report.suppressed)
    used: set[int] = set()
    seen: set[tuple[str, str]] = set()
    for finding in report.findings:
        why = None
        for i, rule in enumerate(suppressions):
            if rule.matches(finding.path, finding.layer, finding.code):
                why = f"{rule.origin}: {rule.reason}"
                used.add(i)
                break
        if why is None and baseline is not None:
            key = (_path_key(finding.path), fingerprint(finding))
            if key in baseline:
                why = baseline_name
                seen.add(key)
        if why is None:
            kept.append(finding)
        else:
            suppressed.append((finding, why))
    unused = [f"{rule} matches no finding" for i, rule in enumerate(suppressions) if i not in used]
    if baseline is not None:
        checked = {_path_key(p) for p in report.checked}
        stale = sorted(k for k in baseline - seen if k[0] in checked)
        if stale:
            unused.append(f"{baseline_name}: {len(stale)} recorded finding{'s' if len(stale) != 1 else ''} "
                          "no longer found (regenerate it with --generate-baseline)")
    return replace(report, findings=kept, suppressed=suppressed), unused
