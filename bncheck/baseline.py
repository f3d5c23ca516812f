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

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.reporters.sarif import fingerprint

if TYPE_CHECKING:
    from bncheck.config import Suppression
    from bncheck.report import Report

FORMAT_VERSION = 2  # 2: paths relative to the baseline file's folder (1: to the working directory)
#: the largest baseline read (about 250 bytes a finding: some 250,000 findings)
MAX_BASELINE_BYTES = 64 << 20
_ENTRY_FIELDS = ("path", "code", "graph", "layer", "fingerprint")


class BaselineError(ValueError):
    """A baseline file bncheck cannot use; one line naming the file."""


def _path_key(path: str) -> str:
    """How a finding's path is matched: an fsspec URL as given, a local path absolute."""
    from bncheck.remote import is_remote

    return path if is_remote(path) else os.path.normpath(os.path.abspath(path))


def _stored(key: str, folder: str) -> str:
    """A path key as the baseline in ``folder`` records it: relative to that folder, with ``/``."""
    if key.startswith(("/", "\\")) or os.path.isabs(key):
        try:
            return os.path.relpath(key, folder).replace(os.sep, "/")
        except ValueError:  # another drive
            return key
    return key


def entry(finding: Finding, folder: str = ".") -> dict[str, str]:
    return {"path": _stored(_path_key(finding.path), os.path.abspath(folder)), "code": finding.code,
            "graph": finding.graph, "layer": finding.layer, "fingerprint": fingerprint(finding)}


def write_baseline(report: "Report", path: str) -> int:
    """Record every finding of ``report`` in ``path`` (replaced atomically); returns how many.
    Paths are stored relative to the baseline's folder, so it matches from any working directory."""
    from bncheck import __version__
    from bncheck.reporters.escaping import valid_unicode
    from bncheck.safe_write import replace_file

    folder = os.path.dirname(os.path.abspath(path))
    entries = [entry(f, folder) for f in report.findings]
    document = {"tool": "bncheck", "version": __version__, "baseline_version": FORMAT_VERSION, "findings": entries}
    try:
        replace_file(path, (json.dumps(valid_unicode(document), indent=2, ensure_ascii=True) + "\n").encode())
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write the baseline ({exc.strerror or exc})") from None
    return len(entries)


def read_baseline(path: str) -> set[tuple[str, str]]:
    """The (path key, fingerprint) pairs a baseline file records. The file must be a regular file of
    at most :data:`MAX_BASELINE_BYTES`, JSON nested as a baseline is, every entry typed; anything
    else is a :class:`BaselineError` (one line)."""
    from bncheck.loaders.safe_io import MAX_NESTING, nesting_depth, read_bounded
    from bncheck.remote import is_remote

    try:
        text = read_bounded(path, MAX_BASELINE_BYTES, "a baseline", raised_by=None).decode("utf-8")
        if nesting_depth(text, "[{", "]}") > MAX_NESTING:
            raise BaselineError(f"{path}: not a bncheck baseline (JSON nested deeper than {MAX_NESTING} levels)")
        document = json.loads(text)
    except BaselineError:
        raise
    except InputError as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc.reason})") from None
    except ValueError as exc:  # UnicodeDecodeError too
        raise BaselineError(f"{path}: not a bncheck baseline ({type(exc).__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise BaselineError(f"{path}: not a bncheck baseline (no findings list)")
    if document.get("tool", "bncheck") != "bncheck":
        raise BaselineError(f"{path}: not a bncheck baseline (tool is not \"bncheck\")")
    version = document.get("baseline_version", 1)
    if version not in (1, FORMAT_VERSION) or isinstance(version, bool):
        raise BaselineError(f"{path}: baseline_version must be 1 or {FORMAT_VERSION}")
    folder = os.path.dirname(os.path.abspath(path))
    keys = set()
    for number, item in enumerate(document["findings"], 1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k, ""), str) for k in _ENTRY_FIELDS) or not (
                item.get("path") and item.get("fingerprint")):
            raise BaselineError(f"{path}: finding #{number} must have a path and a fingerprint, and strings "
                                f"for {', '.join(_ENTRY_FIELDS)}")
        stored = item["path"]
        if is_remote(stored) or os.path.isabs(stored) or version == 1:
            key = _path_key(stored)  # version 1 stored paths relative to where it was generated
        else:
            key = os.path.normpath(os.path.join(folder, *stored.split("/")))
        keys.add((key, item["fingerprint"]))
    return keys


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
