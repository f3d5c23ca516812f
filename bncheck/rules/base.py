"""The artefact rule base class: a code (name, severity and docs come from :mod:`bncheck.catalogue`)
and fixture examples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterator, Mapping

from bncheck import catalogue
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
    """Subclasses set ``code`` and the examples, and implement :meth:`check`; the catalogue entry of
    ``code`` gives them ``name``, ``severity``, ``summary``, ``bad`` and ``good``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]
    invalid: ClassVar[tuple[Example, ...]] = ()
    valid: ClassVar[tuple[Example, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        catalogue.describe(cls)

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
            evidence=evidence(facts),  # type: ignore[arg-type]  # facts are EvidenceValue-like; evidence() normalises them
            fix=fix,
        )


def fmt_momentum(value: float) -> EvidenceValue:
    return float(f"{value:.6g}")
