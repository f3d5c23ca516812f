"""Which layer produced a name bound in the arms of an ``if`` bncheck cannot decide.

The walker walks both arms one after the other in one environment, so after the ``if`` a name holds
what the last arm bound. For bias-before-batch-norm that loses the other arms: in
``if a: x = conv_a(x) else: x = conv_b(x)`` then ``bn(x)``, both convolutions feed the batch norm.
:class:`ArmEnds` records each arm's value of the names the ``if`` binds, and afterwards keeps the other
arms' producers as the tensor's ``alternatives`` (what it is, its batch norms, are unchanged).
A name or ``owner.attr`` bound to a function or bound method in every arm becomes a :class:`Choices` of
them all, so a later call follows each (``if conv: self.forward = self.forward_conv else: ...``).
"""
from __future__ import annotations

import ast
from collections.abc import Callable

from bncheck.source.model import ModelObj, TensorVal, Value
from bncheck.source.value_ops import MAX_CHOICES, choices

_LEAVING = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class BoundNames:
    """The names each ``if`` statement binds in its arms (not inside nested functions or classes),
    computed once per statement and bottom-up: an ``elif`` chain costs its length, not its square."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[ast.If, frozenset[str]]] = {}

    def of(self, stmt: ast.If) -> frozenset[str]:
        pending: list[tuple[ast.If, set[str] | None, list[ast.If]]] = [(stmt, None, [])]
        while pending:
            node, names, nested = pending.pop()
            if self._get(node) is not None:
                continue
            if names is None:  # first visit: the nested ifs first
                names, nested = _direct_names(node)
                pending.append((node, names, nested))
                pending.extend((n, None, []) for n in nested if self._get(n) is None)
                continue
            for n in nested:
                names |= self._get(n) or frozenset()
            self._known[id(node)] = (node, frozenset(names))
        return self._get(stmt) or frozenset()

    def _get(self, node: ast.If) -> frozenset[str] | None:
        hit = self._known.get(id(node))
        return hit[1] if hit is not None and hit[0] is node else None


def _direct_names(stmt: ast.If) -> tuple[set[str], list[ast.If]]:
    """Names (and ``name.attr`` attributes) that statements in ``stmt``'s arms assign (outside nested ifs, functions and classes;
    expressions are not searched), and those nested ifs."""
    names: set[str] = set()
    nested: list[ast.If] = []
    todo: list[ast.stmt] = [*stmt.body, *stmt.orelse]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If):
            nested.append(node)
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        for target in targets:
            names.update(t.id for t in ast.walk(target) if isinstance(t, ast.Name))
            names.update(f"{t.value.id}.{t.attr}" for t in ast.walk(target)
                         if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name))
        for field in ("body", "orelse", "finalbody"):
            if not isinstance(node, _SCOPES):
                todo.extend(getattr(node, field, ()))
        for handler in getattr(node, "handlers", ()):
            todo.extend(handler.body)
    return names, nested


class ArmEnds:
    """The values of the names an ``if`` binds, at the end of each arm that falls through."""

    def __init__(self, stmt: ast.If, env: dict[str, Value], bound: BoundNames) -> None:
        self.names = sorted(bound.of(stmt))
        self.ends: list[dict[str, Value | None]] = []
        if self.names and not stmt.orelse:  # no else: the value from before the if flows on too
            self.ends.append({n: _read(env, n) for n in self.names})

    def arm_done(self, body: list[ast.stmt], env: dict[str, Value]) -> None:
        if self.names and body and not isinstance(body[-1], _LEAVING):
            self.ends.append({n: _read(env, n) for n in self.names})

    def settle(self, env: dict[str, Value], note: Callable[[str], None]) -> None:
        """Each name still holding a tensor gets the producers the other arms left it with; each name or
        attribute every arm bound to a function becomes the choice of them (``note`` tells of a cap)."""
        if len(self.ends) < 2:
            return
        for name in self.names:
            values = [end.get(name) for end in self.ends]
            if all(v is not None for v in values):
                merged, count = choices(values)  # type: ignore[arg-type]
                if merged is not None and count > 1:
                    _write(env, name, merged)
                    if count > MAX_CHOICES:
                        note(f"{name} may be any of {count} functions after this if; a call of it follows only "
                             f"{MAX_CHOICES} of them, and what the others build is not judged")
            if "." in name:
                continue
            final = env.get(name)
            if not isinstance(final, TensorVal):
                continue
            producers = {id(p): p for p in (final.producer, *final.alternatives) if p is not None}
            extra = [p for end in self.ends if isinstance(v := end.get(name), TensorVal) and v is not final
                     for p in (v.producer, *v.alternatives) if p is not None and id(p) not in producers]
            if extra:
                unique = tuple({id(p): p for p in extra}.values())
                env[name] = TensorVal(final.producer, final.bn_layers, final.fixed_training,
                                      final.alternatives + unique)


def _read(env: dict[str, Value], name: str) -> Value | None:
    """The value of a name, or of ``owner.attr`` when the owner is an object the walk models."""
    head, _, attr = name.partition(".")
    if not attr:
        return env.get(name)
    owner = env.get(head)
    return owner.attrs.get(attr) if isinstance(owner, ModelObj) else None


def _write(env: dict[str, Value], name: str, value: Value) -> None:
    head, _, attr = name.partition(".")
    owner = env.get(head) if attr else None
    if isinstance(owner, ModelObj):
        owner.attrs[attr] = value
    elif not attr:
        env[name] = value
