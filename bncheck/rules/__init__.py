"""Artefact mode's rules, one module per code; :data:`RULES` is the registry :mod:`bncheck.catalogue`
reads. Loaded on first use: source mode imports ``bncheck.rules.fixes`` without the graph analysis."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bncheck.rules.registry import RULES, Example, Rule, by_code, selected

_REGISTRY = ("RULES", "Example", "Rule", "by_code", "selected")


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from bncheck.rules import registry

        value = getattr(registry, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bncheck.rules' has no attribute {name!r}")


__all__ = ["RULES", "Example", "Rule", "by_code", "selected"]
