"""Source rules: each reads the runs of a program and yields findings at ``path:line:col``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Container, Iterator, Mapping

from bncheck import catalogue
from bncheck.findings import Finding, Severity, evidence
from bncheck.source.edits import Edit
from bncheck.source.loader import python_lines
from bncheck.source.model import Const, Loc, Run


@dataclass(frozen=True)
class SourceFinding:
    code: str
    rule: str
    severity: Severity
    layer: str
    message: str
    loc: Loc
    facts: tuple[tuple[str, object], ...]
    fix: str
    edits: tuple[Edit, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str, int, int, str]:
        return (self.code, self.loc.path, self.loc.line, self.loc.col, self.layer)

    def to_finding(self) -> Finding:
        at = f"{self.loc.path}:{self.loc.line}:{self.loc.col}"
        return Finding(
            code=self.code, rule=self.rule, severity=self.severity, layer=self.layer, message=self.message,
            path=self.loc.path, graph="source", evidence=evidence(dict([("at", at), *self.facts])),  # type: ignore[list-item]  # facts are (str, EvidenceValue) pairs
            fix=self.fix, line=self.loc.line, column=self.loc.col, edits=self.edits,
        )


class SourceRule:
    """Subclasses set ``code`` and implement :meth:`check`; the catalogue entry of ``code`` gives them
    ``name``, ``severity``, ``summary``, ``bad`` and ``good``. The class docstring says how source mode
    finds the mistake (shown by ``--explain``)."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        catalogue.describe(cls)

    def check(self, runs: list[Run], context: RuleContext) -> Iterator[SourceFinding]:
        raise NotImplementedError

    def finding(self, layer: str, loc: Loc, message: str, facts: Mapping[str, object], fix: str,
                edits: tuple[Edit, ...] = (), severity: Severity | None = None) -> SourceFinding:
        return SourceFinding(self.code, self.name, severity or self.severity, layer, message, loc,
                             tuple((k, v) for k, v in facts.items() if v not in (None, (), [])), fix, edits)


@dataclass
class RuleContext:
    """What rules may ask about the whole program besides its runs."""

    texts: dict[str, str]  # path -> source text
    frozen_layers: bool  # some `trainable = False` in the scanned files
    notes: list[tuple[str, str]] = field(default_factory=list)  # (path:line, what could not be judged)
    memo: dict[object, Any] = field(default_factory=dict, repr=False)  # per-check caches (one file split once)

    def lines(self, path: str) -> list[str]:
        """The file's lines as Python numbers them (not at \f, \x1c ...), split once per check (a split
        per finding is quadratic in the file)."""
        lines = self.memo.get(("lines", path))
        if lines is None:
            lines = self.memo[("lines", path)] = python_lines(self.texts.get(path, ""))
        return lines

    def note(self, loc: Loc, message: str) -> None:
        item = (f"{loc.path}:{loc.line}", message)
        if item not in self.notes:
            self.notes.append(item)


def line_text(ctx: RuleContext, loc: Loc) -> str:
    lines = ctx.lines(loc.path)
    return lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""


def span_text(ctx: RuleContext, loc: Loc) -> str:
    lines = ctx.lines(loc.path)
    if not (0 < loc.line <= loc.end_line <= len(lines)):
        return ""
    if loc.line == loc.end_line:
        return lines[loc.line - 1][loc.col - 1:loc.end_col - 1]
    parts = [lines[loc.line - 1][loc.col - 1:]] + lines[loc.line:loc.end_line - 1] + [lines[loc.end_line - 1][:loc.end_col - 1]]
    return "\n".join(parts)


def calls_fixing_training(run: Run, frame_kind: str, code: str, where: Callable[[Any], str],
                          context: RuleContext, followed: Container[Loc] = frozenset()) -> Iterator[Any]:
    """Keras calls in ``frame_kind`` frames that pass ``training=True``, with a note (never a guess)
    for the ones bncheck cannot judge: a callee defined outside the scanned files, or a ``training=``
    value it cannot tell. ``where(call)`` says where the call is, for the notes; ``followed``: where
    another walk knew the callee (:func:`~bncheck.source.model.followed_calls`)."""
    for call in run.keras_calls:
        if call.frame.kind != frame_kind or call.training is None or (not call.known and call.loc in followed):
            continue
        fixed = isinstance(call.training, Const) and call.training.value is True
        if not call.known and fixed:
            context.note(call.loc, f"{code} not judged for {call.callee}(..., training=True) in {where(call)}: its "
                                   "definition is not in the scanned files, so bncheck cannot tell whether it "
                                   "holds batch norm")
            continue
        if not isinstance(call.training, Const) and call.bn_layers and not call.training_is_param:
            context.note(call.training_loc or call.loc,
                         f"{code} not judged for {call.callee} in {where(call)}: training= is a value bncheck "
                         "cannot tell")
        if fixed:
            yield call
