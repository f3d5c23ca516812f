"""Every finding's exact message, evidence and fix on the fixtures where a rule fires.

The expected reports live in ``tests/golden/`` and are reviewed like code: a wording change shows
up as a diff there. Regenerate after an intended change with ``BNCHECK_UPDATE_GOLDEN=1 pytest
tests/test_golden_reports.py`` and read the diff before committing it.
"""
from __future__ import annotations

import json
import os

import pytest

from bncheck.engine import check_paths
from bncheck.rules import RULES
from conftest import FIXTURES, ROOT

GOLDEN = ROOT / "tests" / "golden"
CASES = sorted({e.fixture for r in RULES for e in r.invalid})
COMPACT_ABOVE = 20  # findings: a report this long is stored per code (one full example, then the layers)


def normalised(fixture: str) -> dict:
    # in this process: the report does not depend on it (test_isolation.py), a worker forked per
    # fixture cost four times the check of a small one
    report = check_paths([str(FIXTURES / fixture)], isolate=False)
    rows = []
    for f in sorted(report, key=lambda f: (f.graph, f.layer, f.code)):
        row = f.to_dict()
        row["path"] = os.path.relpath(row["path"], ROOT)
        rows.append(row)
    notes = sorted(n for _, n in report.notes)
    return {"findings": rows, "notes": notes, "errors": [str(e) for e in report.errors]}


def compacted(report: dict) -> dict:
    """A long report as a reviewer reads it: per code, what every finding shares (rule, severity,
    message, fix, evidence keys), the layers it names, and its first finding in full. Asserts that
    the findings of a code really share those fields, so nothing is dropped unseen."""
    by_code: dict[str, list[dict]] = {}
    for row in report["findings"]:
        by_code.setdefault(row["code"], []).append(row)
    codes = {}
    for code, rows in sorted(by_code.items()):
        shared = {key: rows[0][key] for key in ("rule", "severity", "message", "fix", "path", "graph")}
        keys = sorted(rows[0]["evidence"])
        for row in rows:
            assert {key: row[key] for key in shared} == shared, (code, row["layer"])
            assert sorted(row["evidence"]) == keys, (code, row["layer"])
        codes[code] = {**shared, "count": len(rows), "evidence keys": keys,
                       "layers": sorted(row["layer"] for row in rows), "first": rows[0]}
    return {"codes": codes, "notes": report["notes"], "errors": report["errors"]}


@pytest.mark.parametrize("fixture", CASES)
def test_report_matches_golden(fixture):
    path = GOLDEN / (fixture.replace("/", "__") + ".json")
    got = normalised(fixture)
    if len(got["findings"]) > COMPACT_ABOVE:
        got = compacted(got)
    if os.environ.get("BNCHECK_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())


def test_no_stale_golden_files():
    assert {p.name for p in GOLDEN.glob("*.json")} == {c.replace("/", "__") + ".json" for c in CASES}
