"""The result of a check: findings, unusable inputs, and how it shows itself."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from bncheck.errors import InputError
from bncheck.findings import Finding, Severity


@dataclass
class Report:
    """Findings of one check. Iterate it for the findings; in a notebook it renders itself."""

    findings: list[Finding]
    errors: list[InputError] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path, what could not be judged)
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, what suppressed it)

    def suppression_summary(self) -> str:
        """``3 suppressed (2 by pyproject.toml suppress #1, 1 by baseline)``, or empty."""
        if not self.suppressed:
            return ""
        by: dict[str, int] = {}
        for _, why in self.suppressed:
            origin = why.split(":", 1)[0]
            by[origin] = by.get(origin, 0) + 1
        return f"{len(self.suppressed)} suppressed ({', '.join(f'{n} by {o}' for o, n in sorted(by.items()))})"

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __bool__(self) -> bool:
        return bool(self.findings or self.errors)

    def codes(self) -> set[tuple[str, str]]:
        """The (code, layer) pairs reported."""
        return {(f.code, f.layer) for f in self.findings}

    def exit_code(self, fail_on: Severity | str = Severity.ERROR) -> int:
        """2 when an input was unusable or nothing was checked, 1 with a finding at ``fail_on`` or
        above (``"warning"`` works as well as ``Severity.WARNING``), else 0."""
        if self.errors or not self.checked:
            return 2
        level = Severity.parse(fail_on)
        return 1 if any(f.severity >= level for f in self.findings) else 0

    def filter(self, code: str | None = None, severity: Severity | str | None = None,
               layer: str | None = None, path: str | None = None) -> "Report":
        """A report with the findings that match: ``code`` a prefix (``"BN00"``), ``severity`` a
        minimum, ``layer`` and ``path`` shell-style patterns (``"block1/*"``)."""
        from fnmatch import fnmatchcase

        from bncheck.catalogue import is_selected

        minimum = Severity.parse(severity) if severity is not None else None
        kept = [f for f in self.findings
                if (code is None or is_selected(f.code, [code.upper()], None))
                and (minimum is None or f.severity >= minimum)
                and (layer is None or fnmatchcase(f.layer, layer))
                and (path is None or fnmatchcase(f.path, path))]
        return Report(kept, list(self.errors), list(self.checked), list(self.notes))

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per finding, for ``pandas.DataFrame(report.to_records())``."""
        rows = []
        for f in self.findings:
            row = {k: v for k, v in f.to_dict().items() if k != "evidence"}
            row.update({f"evidence.{k}": ", ".join(map(str, v)) if isinstance(v, tuple) else v
                        for k, v in f.evidence})
            rows.append(row)
        return rows

    def to_sarif(self) -> dict[str, Any]:
        """The report as a SARIF 2.1.0 log (see ``--output-format sarif``)."""
        from bncheck.reporters.sarif import to_sarif

        return to_sarif(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "errors": [{"path": e.source, "message": e.reason} for e in self.errors],
            "checked": list(self.checked),
            "notes": [{"path": p, "message": m} for p, m in self.notes],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text, ASCII only: control characters are JSON escapes, text that is not valid
        Unicode (a non-UTF-8 file name, a lone surrogate in a layer name) is escaped as ``\\xff``."""
        from bncheck.reporters.escaping import valid_unicode

        return json.dumps(valid_unicode(self.to_dict()), indent=indent, ensure_ascii=True)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from bncheck.reporters.terminal import render

        yield from render(self)

    def _repr_html_(self) -> str:
        """An HTML fragment (no page, no stylesheet), one collapsible block per file."""
        from bncheck.reporters.terminal import render_html

        return render_html(self)

    def __str__(self) -> str:
        """The plain-text report; pure: nothing is printed or displayed (not even in Jupyter)."""
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(width=110, no_color=True, color_system=None, file=buffer, force_jupyter=False,
                          force_terminal=False, highlight=False)
        console.print(self)
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"<Report {len(self.findings)} findings, {len(self.errors)} errors>"
