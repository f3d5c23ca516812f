"""``--statistics``: findings counted per rule code, placed where each format can carry them.

Text formats (``full``, ``concise``) end with the table; ``json`` holds it under ``"statistics"``,
``json-lines`` as ``{"type": "statistics", ...}`` lines, ``sarif`` in the run's ``properties``,
``junit`` as ``<properties>`` of the test suite. Formats that have no place for it (``github``,
``gitlab``, ``rdjson``) leave their output untouched and the table goes to stderr, as ruff does.
"""
from __future__ import annotations

from typing import Any, Sequence

#: one row per rule code: (code, rule name, number of findings)
Row = tuple[str, str, int]

#: formats whose document carries the statistics itself
EMBEDDED = ("json", "json-lines", "sarif", "junit")
#: formats that print the table after the report
TEXT = ("full", "concise")


def text(rows: Sequence[Row]) -> str:
    """``    3  BN001  update-not-run``, one line per code."""
    return "\n".join(f"{n:>5}  {code}  {name}".rstrip() for code, name, n in rows)


def records(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{"code": code, "name": name, "count": n} for code, name, n in rows]


def on_stderr(fmt: str) -> bool:
    """The table goes to stderr: the format's output has no place for it."""
    return fmt not in EMBEDDED and fmt not in TEXT
