"""The one pipeline both fronts call: loaders -> graph model -> rules -> findings."""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

from bncheck.errors import InputError
from bncheck.findings import Finding
from bncheck.graph.model import GraphModel
from bncheck.loaders import discover, load
from bncheck.report import Report
from bncheck.rules import selected
from bncheck.rules.context import Context


def check_models(models: Iterable[GraphModel], select: Sequence[str] | None = None,
                 ignore: Sequence[str] | None = None, notes: list[tuple[str, str]] | None = None) -> list[Finding]:
    """Run the selected rules on each model; what rules could not judge goes to ``notes``."""
    rules = [cls() for cls in selected(select, ignore)]
    findings: list[Finding] = []
    for model in models:
        ctx = Context(model)
        for rule in rules:
            findings.extend(rule.check(ctx))
        if notes is not None:
            notes.extend((model.source, n) for n in ctx.notes if (model.source, n) not in notes)
    return sorted(findings, key=lambda f: (f.path, f.graph, f.layer, f.code))


def check_paths(paths: Sequence[str], *, train_op: Sequence[str] = (), outputs: Sequence[str] = (),
                select: Sequence[str] | None = None, ignore: Sequence[str] | None = None) -> Report:
    """Check every artefact under ``paths``; unusable inputs become report errors, not exceptions."""
    findings: list[Finding] = []
    errors: list[InputError] = []
    checked: list[str] = []
    notes: list[tuple[str, str]] = []
    for path in paths:
        try:
            targets = discover(path)
        except InputError as exc:
            errors.append(exc)
            continue
        for target in targets:
            try:
                models = [with_names(m, train_op, outputs) for m in load(target)]
            except InputError as exc:
                errors.append(exc)
                continue
            except Exception as exc:  # a parser bug must not hide the other inputs
                errors.append(InputError(target.path, f"could not be read ({type(exc).__name__}: {exc})"))
                continue
            try:
                found = check_models(models, select, ignore, notes)
            except InputError as exc:  # a tensor the rules read turned out unreadable
                errors.append(exc)
                continue
            except Exception as exc:  # a rule bug on odd input: report it, keep checking the rest
                errors.append(InputError(target.path, f"internal error while checking ({type(exc).__name__}: {exc})"))
                continue
            checked.append(target.path)
            findings.extend(found)
    return Report(findings, errors, checked, notes)


def with_names(model: GraphModel, train_op: Sequence[str], outputs: Sequence[str]) -> GraphModel:
    clean = lambda names: tuple(n.lstrip("^").split(":")[0] for n in names)  # noqa: E731
    return replace(model, train_op_names=clean(train_op) or model.train_op_names,
                   output_names=clean(outputs) or model.output_names)
