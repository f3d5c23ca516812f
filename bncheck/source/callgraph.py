"""Which functions of a program something calls, decided from the syntax trees.

A function nothing calls is an entry point (``main``, an Estimator ``model_fn``, a Keras ``call``) and
is walked on its own. A text search would count ``#train(...)`` in a comment or a string as a call;
here every ``name(`` the text shows is only a candidate, and counts when the syntax tree has a call of
``name`` at that spot (not inside a function of the same name: recursion is not a caller). A candidate
is checked by descending from the module to the one node at its position, so the cost is the number
of candidates times the nesting depth, not a walk of every tree.
"""
from __future__ import annotations

import ast
import bisect
import re
from typing import Iterable, Iterator, Optional, Sequence

from bncheck.source.loader import ModuleInfo

_CALL = re.compile(r"(?<!\w)([A-Za-z_]\w*)\s*\(")  # a whole identifier: not `f` of `éf(` or `1f(`
_DEFINITION = re.compile(r"(?:^|[^\w.])(?:def|class)\s+$")
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def called_names(modules: Sequence[ModuleInfo], names: Iterable[str]) -> set[str]:
    """Those of ``names`` (functions and methods defined in the program) that some code calls."""
    wanted = set(names)
    called: set[str] = set()
    if not wanted:
        return called
    for module in modules:
        starts: Optional[list[int]] = None
        finder = _Finder(module.tree)
        plain: Optional[_PlainLines] = None
        for name, pos in _candidates(module.text, wanted):
            if name in called:
                continue
            if starts is None:
                starts = module.line_starts()
                plain = _PlainLines(module)
            line = bisect.bisect_right(starts, pos)
            before = module.text[starts[line - 1]:pos]
            if _DEFINITION.search(before):
                continue  # `def name(` / `class name(`: a keyword, never a call (in a string or comment neither)
            if plain is not None and plain.call(before, line, name):
                called.add(name)
                continue
            col = len(before) if module.ascii or before.isascii() else len(before.encode("utf-8"))
            if finder.calls(name, line, col):
                called.add(name)
    return called


def _candidates(text: str, wanted: set[str]) -> Iterator[tuple[str, int]]:
    """``(name, offset)`` of each ``name(`` in ``text`` (``\\bname\\s*\\(``) for the names in ``wanted``:
    found with ``str.find`` for a few names (much faster than a regular expression of them all, which
    the regex engine tries at every offset), with one pattern of any name for many."""
    if len(wanted) > 64:
        for match in _CALL.finditer(text):
            if match.group(1) in wanted:
                yield match.group(1), match.start(1)
        return
    for name in wanted:
        at = text.find(name)
        while at >= 0:
            before = text[at - 1] if at else " "
            if not (before.isalnum() or before == "_") and _OPENING.match(text, at + len(name)):
                yield name, at
            at = text.find(name, at + len(name))


_OPENING = re.compile(r"\s*\(")


class _PlainLines:
    """The common case without a descent: ``name(`` on a line of plain code, with no quote or ``#``
    before it, outside docstrings, in a file without other triple-quoted strings, not a definition,
    and not inside a function of the same name. Anything else is decided by the syntax tree."""

    def __init__(self, module: ModuleInfo) -> None:
        self.lines = module.lines
        self.strings: list[tuple[int, int]] = []  # docstring line spans
        self.functions: dict[str, list[tuple[int, int]]] = {}  # name -> line spans of its definitions
        quotes = 0
        holders: list[ast.AST] = [module.tree]
        for f in module.functions.values():
            holders.append(f.node)
            self.functions.setdefault(f.name, []).append((f.node.lineno, f.node.end_lineno or 0))  # type: ignore[attr-defined]  # a function's node is a def, which has line numbers
        for c in module.classes.values():
            holders.append(c.node)
            for m in c.methods.values():
                holders.append(m.node)
                self.functions.setdefault(m.name, []).append((m.node.lineno, m.node.end_lineno or 0))  # type: ignore[attr-defined]  # a method's node is a def, which has line numbers
        for h in holders:
            body = getattr(h, "body", None)
            first = body[0] if isinstance(body, list) and body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                self.strings.append((first.lineno, first.end_lineno or first.lineno))
                quotes += 2
        self.usable = module.text.count('"""') + module.text.count("'''") <= quotes

    def call(self, before: str, line: int, name: str) -> bool:
        if not self.usable or "#" in before or '"' in before or "'" in before or "\\" in before:
            return False
        if line > 1 and self.lines[line - 2].endswith("\\"):
            return False
        if any(a <= line <= b for a, b in self.strings):
            return False
        return not any(a <= line <= b for a, b in self.functions.get(name, ()))


class _Finder:
    """Finds the syntax node at a position by descending through the nodes whose span holds it."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.block_starts: dict[int, list[tuple[int, int]]] = {}  # id(statement list) -> start positions

    def calls(self, name: str, line: int, col: int) -> bool:
        owner: Optional[str] = None  # the innermost function around the spot
        children: list[ast.AST] = list(self.tree.body)
        block: Optional[list[ast.stmt]] = self.tree.body
        while True:
            node = self._holding(children, block, line, col)
            if node is None:
                return False  # a comment, a blank, or between nodes
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and (func.lineno, func.col_offset) == (line, col) and func.id == name:
                    return owner != name
                if isinstance(func, ast.Attribute) and func.attr == name and func.end_lineno == line \
                        and func.end_col_offset is not None and func.end_col_offset - len(name) == col:
                    return owner != name
            if isinstance(node, ast.Constant):
                return False  # inside a string
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                owner = node.name
            children, block = [], None
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, ast.AST):
                    children.append(value)
                elif isinstance(value, list):
                    if field in _BLOCKS and len(value) > 8 and block is None:
                        block = value  # a long statement list: found by bisection (a second one, e.g. a long else, is scanned)
                    else:
                        children.extend(v for v in value if isinstance(v, ast.AST))

    def _holding(self, children: list[ast.AST], block: Optional[list[ast.stmt]], line: int,
                 col: int) -> Optional[ast.AST]:
        if block is not None and len(block) > 8:
            starts = self.block_starts.get(id(block))
            if starts is None:
                starts = self.block_starts[id(block)] = [_start(s) for s in block]
            i = bisect.bisect_right(starts, (line, col)) - 1
            if i >= 0 and _holds(block[i], line, col):
                return block[i]
            block = None
        pending = list(children) + (list(block) if block is not None else [])
        while pending:
            node = pending.pop()
            if getattr(node, "lineno", None) is None:
                # arguments, comprehension, match_case...: look at what they hold
                pending.extend(v for f in node._fields for v in _nodes(getattr(node, f, None)))
                continue
            if _holds(node, line, col):
                return node
        return None


def _nodes(value: object) -> list[ast.AST]:
    if isinstance(value, ast.AST):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, ast.AST)]
    return []


def _start(node: ast.AST) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = decorators[0]
        return first.lineno, 0  # `@` is before the decorator's expression
    return node.lineno, node.col_offset  # type: ignore[attr-defined]  # a def or class node, which has a position


def _holds(node: ast.AST, line: int, col: int) -> bool:
    start = _start(node)
    end = (getattr(node, "end_lineno", None) or start[0], getattr(node, "end_col_offset", None) or 0)
    return start <= (line, col) < end
