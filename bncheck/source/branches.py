"""Which layer produced a name bound in the arms of an ``if`` bncheck cannot decide.

The walker walks both arms one after the other in one environment, so after the ``if`` a name holds
what the last arm bound. For bias-before-batch-norm that loses the other arms: in
``if a: x = conv_a(x) else: x = conv_b(x)`` then ``bn(x)``, both convolutions feed the batch norm.
:class:`ArmEnds` records each arm's value of the names the ``if`` binds, and afterwards keeps the other
arms' producers as the tensor's ``alternatives`` (what it is, its batch norms, are unchanged).
"""
from __future__ import annotations

import ast

from bncheck.source.model import TensorVal, Value

_LEAVING = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def bound_names(stmts: list[ast.stmt]) -> set[str]:
    """Names these statements assign (not inside nested functions or classes)."""
    out: set[str] = set()
    pending: list[ast.AST] = list(stmts)
    while pending:
        node = pending.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    return out


class ArmEnds:
    """The values of the names an ``if`` binds, at the end of each arm that falls through."""

    def __init__(self, stmt: ast.If, env: dict[str, Value]) -> None:
        self.names = sorted(bound_names(stmt.body) | bound_names(stmt.orelse))
        self.ends: list[dict[str, Value | None]] = []
        if self.names and not stmt.orelse:  # no else: the value from before the if flows on too
            self.ends.append({n: env.get(n) for n in self.names})

    def arm_done(self, body: list[ast.stmt], env: dict[str, Value]) -> None:
        if self.names and body and not isinstance(body[-1], _LEAVING):
            self.ends.append({n: env.get(n) for n in self.names})

    def settle(self, env: dict[str, Value]) -> None:
        """Each name still holding a tensor gets the producers the other arms left it with."""
        if len(self.ends) < 2:
            return
        for name in self.names:
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
