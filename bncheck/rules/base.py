"""The rule base class: a code, a severity, docs with Bad/Good code, and fixture examples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator, Mapping

from bncheck.findings import EvidenceValue, Finding, Severity, evidence
from bncheck.graph.batchnorm import BnLayer
from bncheck.rules.context import Context


@dataclass(frozen=True)
class Example:
    """A real artefact under ``fixtures/`` and the layers the rule must report on it (none: VALID)."""

    fixture: str
    layers: tuple[str, ...] = ()
    severity: Severity | None = None


class Rule:
    """Subclasses set the class attributes and implement :meth:`check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]
    invalid: ClassVar[tuple[Example, ...]] = ()
    valid: ClassVar[tuple[Example, ...]] = ()

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, ctx: Context, layer: BnLayer, message: str, facts: Mapping[str, object], fix: str,
                severity: Severity | None = None) -> Finding:
        return Finding(
            code=self.code,
            rule=self.name,
            severity=severity or self.severity,
            layer=layer.name,
            message=message,
            path=ctx.model.source,
            graph=ctx.model.label,
            evidence=evidence(facts),  # type: ignore[arg-type]
            fix=fix,
        )

    @classmethod
    def explain(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return f"{cls.code} {cls.name} ({cls.severity})\n\n{doc}\n\nBad:\n\n{_indent(cls.bad)}\n\nGood:\n\n{_indent(cls.good)}\n"


def _indent(code: str) -> str:
    return "\n".join("    " + line if line else "" for line in code.strip("\n").splitlines())


def fmt_momentum(value: float) -> EvidenceValue:
    return float(f"{value:.6g}")
