"""Findings: the immutable records rules yield and reporters render."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

EvidenceValue = Union[str, float, int, bool, tuple[str, ...]]


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: "str | Severity") -> "Severity":
        if isinstance(text, Severity):
            return text
        try:
            return cls[text.upper()]
        except (KeyError, AttributeError):
            raise ValueError(f"unknown severity {text!r} (error, warning or info)") from None

    # compares with its names too: finding.severity >= "warning", finding.severity == "error"
    def _level(self, other: object) -> int | None:
        if isinstance(other, str):
            try:
                return int(Severity.parse(other))
            except ValueError:
                return None
        return int(other) if isinstance(other, int) else None

    def __eq__(self, other: object) -> bool:
        level = self._level(other)
        return NotImplemented if level is None else int(self) == level

    def __hash__(self) -> int:
        return int.__hash__(self)

    def __lt__(self, other: object) -> bool:
        level = self._level(other)
        return NotImplemented if level is None else int(self) < level

    def __le__(self, other: object) -> bool:
        level = self._level(other)
        return NotImplemented if level is None else int(self) <= level

    def __gt__(self, other: object) -> bool:
        level = self._level(other)
        return NotImplemented if level is None else int(self) > level

    def __ge__(self, other: object) -> bool:
        level = self._level(other)
        return NotImplemented if level is None else int(self) >= level


@dataclass(frozen=True)
class Finding:
    """One problem with one batch-norm layer.

    ``path`` is the file or folder the finding came from and ``graph`` says which graph inside it
    (``MetaGraph [serve]``); ``evidence`` is an ordered tuple of (label, value) pairs.
    """

    code: str
    rule: str
    severity: Severity
    layer: str
    message: str
    path: str
    graph: str
    evidence: tuple[tuple[str, EvidenceValue], ...]
    fix: str
    line: int | None = None  # source mode: where in the .py file (1-based)
    column: int | None = None
    cell: int | None = None  # a notebook's finding: the cell (1-based, every cell counted); ``line`` is in it
    # source mode: the text edits that fix it (bncheck.source.edits.Edit), for --fix/--diff; not compared
    edits: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def evidence_dict(self) -> dict[str, EvidenceValue]:
        return dict(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": str(self.severity),
            "layer": self.layer,
            "message": self.message,
            "path": self.path,
            "graph": self.graph,
            "evidence": {k: list(v) if isinstance(v, tuple) else v for k, v in self.evidence},
            "fix": self.fix,
            **({"line": self.line, "column": self.column} if self.line is not None else {}),
            **({"cell": self.cell} if self.cell is not None else {}),
        }


def evidence(items: Mapping[str, EvidenceValue | Sequence[str] | None]) -> tuple[tuple[str, EvidenceValue], ...]:
    """Normalise an evidence mapping: lists become tuples, empty values are dropped."""
    out: list[tuple[str, EvidenceValue]] = []
    for key, value in items.items():
        if value is None or value == () or value == []:
            continue
        out.append((key, tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else value))  # type: ignore[arg-type]  # EvidenceValue holds tuples of str; the sequence kinds are normalised here
    return tuple(out)
