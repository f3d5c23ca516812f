"""``--format json``: {"findings": [...], "errors": [...], "checked": [...], "notes": [...]}."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bncheck.report import Report


def render(report: "Report") -> str:
    return report.to_json()
