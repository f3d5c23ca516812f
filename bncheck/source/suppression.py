"""Trailing suppression comments: ``# bncheck: ignore[BN001]``, ``# bncheck: ignore``, ``# noqa: BN001``.

A bare ``# noqa`` silences every code on its line (as in ruff) and is never reported as unused,
because it belongs to other tools too; a ``bncheck:`` comment or a BN code in a ``noqa`` list that
silences nothing is reported. So is a comment that cannot be what was meant, as ruff warns about an
invalid ``# noqa`` and reports an unknown code (RUF102): a ``# bncheck:`` comment that is not
``ignore`` or ``ignore[CODES]`` (``# bncheck: ignroe[BN007]``, an unclosed ``[``) silences nothing and
is a note; so is a code that names no rule (``ignore[BN07]``, ``ignore[BN999]``, ``# noqa: BN999``),
while the valid codes beside it still apply.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_BNCHECK = re.compile(r"#\s*bncheck:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?(?![\w\[])", re.I)
_BNCHECK_ANY = re.compile(r"#\s*bncheck:", re.I)
_ANY = re.compile(r"#\s*(?:bncheck:|noqa)", re.I)
_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Za-z0-9_,\s]+))?", re.I)


@dataclass
class Suppression:
    line: int
    codes: tuple[str, ...]  # empty: all codes
    text: str
    report_unused: bool
    used: set[str]
    problem: str = ""  # why the comment cannot be what was meant (reported, whatever it silences)


_NOTHING = ("-",)  # a malformed comment's codes: no rule code starts with "-"


@functools.lru_cache(maxsize=1)
def _known_codes() -> tuple[str, ...]:
    from bncheck.catalogue import ENTRIES

    return tuple(e.code for e in ENTRIES)


def _unknown(codes: tuple[str, ...]) -> list[str]:
    known = _known_codes()
    return [c for c in codes if not any(k.startswith(c) for k in known)]


def _with_problem(s: Suppression) -> Suppression:
    unknown = _unknown(s.codes)
    if unknown:
        s.problem = (f"suppression `{s.text}` names no rule: {', '.join(unknown)} (see --list-rules); "
                     "it silences nothing for that code")
    return s


def parse(text: str) -> dict[int, list[Suppression]]:
    """Suppression comments by line (a cheap text test first: most files have none)."""
    if not _ANY.search(text):
        return {}
    out: dict[int, list[Suppression]] = {}
    for line, comment in _comments(text):
        m = _BNCHECK.search(comment)
        if m:
            codes = tuple(c.strip().upper() for c in (m.group(1) or "").split(",") if c.strip())
            out.setdefault(line, []).append(_with_problem(Suppression(line, codes, m.group(0), True, set())))
            continue
        bad = _BNCHECK_ANY.search(comment)
        if bad:  # "# bncheck:" but not ignore / ignore[CODES]: silences nothing, and says so
            shown = comment[bad.start():].strip()
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            out.setdefault(line, []).append(Suppression(
                line, _NOTHING, shown, False, set(),
                f"malformed suppression `{shown}`: it silences nothing (write `# bncheck: ignore[BN001]` "
                "or `# bncheck: ignore`)"))
            continue
        m = _NOQA.search(comment)
        if m:
            if m.group(1) is None:
                out.setdefault(line, []).append(Suppression(line, (), m.group(0), False, set()))
            else:
                codes = tuple(c.strip().upper() for c in re.split(r"[,\s]+", m.group(1)) if c.strip())
                bn = tuple(c for c in codes if c.startswith("BN"))
                if bn:
                    out.setdefault(line, []).append(_with_problem(Suppression(line, bn, m.group(0), True, set())))
    return out


def _comments(text: str) -> list[tuple[int, str]]:
    """(line, comment) for lines holding a suppression-looking comment. A ``#`` counts as a comment
    when the quotes before it on its line are balanced (a cheap stand-in for tokenizing the file)."""
    out = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):  # Python's line ends only
        m = _ANY.search(line)
        if m is None:
            continue
        prefix = line[: m.start()]
        if prefix.count('"') % 2 == 0 and prefix.count("'") % 2 == 0:
            out.append((number, line[m.start():]))
    return out


def suppressed(table: dict[int, list[Suppression]], line: int, code: str) -> bool:
    hit = False
    for s in table.get(line, ()):
        if not s.codes or any(code.startswith(c) for c in s.codes):
            s.used.add(code)
            hit = True
    return hit


def unused(table: dict[int, list[Suppression]], active_codes: set[str]) -> list[tuple[int, str]]:
    """(line, message) for suppressions that silenced nothing among the rules that ran, and for
    those that cannot be what was meant (malformed, or naming no rule)."""
    out = []
    for line, items in sorted(table.items()):
        for s in items:
            if s.problem:
                out.append((line, s.problem))
            if not s.report_unused:
                continue
            if not s.codes:
                if not s.used:
                    out.append((line, f"unused suppression `{s.text}`: no finding on this line"))
                continue
            unknown = _unknown(s.codes) if s.problem else []
            idle = [c for c in s.codes if not any(u.startswith(c) for u in s.used)
                    and any(a.startswith(c) for a in active_codes) and c not in unknown]
            if idle:
                out.append((line, f"unused suppression `{s.text}`: no {', '.join(idle)} finding on this line"))
    return out
