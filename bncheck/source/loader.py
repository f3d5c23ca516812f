"""Source loader: parse ``.py`` files with :mod:`ast` into modules, functions and classes.

The user's code is never imported or run, and TensorFlow is never imported. Names are resolved
by bncheck itself (imports, aliases such as ``v1 = tf.compat.v1``, function scopes), because LibCST
with its ``QualifiedNameProvider`` costs about 190 times bncheck's whole check on the same files
(``python tools/benchmark_source.py --compare-libcst 100``): too slow for a pre-commit hook over a
repository. LibCST stays the reference the resolution is tested against
(``tests/test_source_libcst_oracle.py``).
"""
from __future__ import annotations

import ast
import functools
import os
import re
import warnings
from itertools import accumulate
from dataclasses import dataclass, field
from typing import Optional

from bncheck.errors import InputError
from bncheck.source.apis import GRAPH_MODE_SWITCHES
from bncheck.source.model import Alias, ClassRef, Const, FuncRef, Loc, Value


@dataclass(eq=False)
class FunctionInfo:
    name: str
    node: ast.AST  # FunctionDef, AsyncFunctionDef or Lambda
    module: "ModuleInfo"
    cls: Optional["ClassInfo"] = None

    @property
    def qualname(self) -> str:
        return f"{self.cls.name}.{self.name}" if self.cls else self.name


@dataclass(eq=False)
class ClassInfo:
    name: str
    node: ast.ClassDef
    module: "ModuleInfo"
    bases: list[ast.expr]
    methods: dict[str, FunctionInfo] = field(default_factory=dict)


@dataclass(eq=False)
class ModuleInfo:
    path: str
    modname: str
    text: str
    tree: ast.Module
    lines: list[str]
    graph_mode: bool
    ascii: bool = False  # byte columns are character columns
    globals: dict[str, Value] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    _line_starts: Optional[list[int]] = None
    star_imports: list[str] = field(default_factory=list)  # modules named by `from m import *`, resolved by the Project
    exports: Optional[tuple[str, ...]] = None  # a literal `__all__`

    def line_starts(self) -> list[int]:
        """Offsets in ``text`` where each line starts (``[0]`` for line 1), computed once."""
        if self._line_starts is None:  # each line's length plus its newline, summed (in C)
            self._line_starts = list(accumulate(map((1).__add__, map(len, self.text.split("\n")[:-1])), initial=0))
        return self._line_starts

    def span_text(self, node: ast.AST) -> str:
        """The text of the lines a statement spans."""
        starts = self.line_starts()
        first: int = getattr(node, "lineno", 1)
        last: int = getattr(node, "end_lineno", None) or first
        return self.text[starts[first - 1]:starts[last] if last < len(starts) else len(self.text)]

    def loc(self, node: ast.AST) -> Loc:
        """The node's span, with UTF-8 byte offsets turned into 1-based character columns."""
        if self.ascii and isinstance(node, (ast.expr, ast.stmt)) and node.end_lineno is not None:
            return Loc(self.path, node.lineno, node.col_offset + 1, node.end_lineno,
                       node.end_col_offset + 1)  # type: ignore[operator]  # end_col_offset is set whenever end_lineno is
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col, end_col = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", None) or 0
        if self.ascii:
            return Loc(self.path, line, col + 1, end_line, end_col + 1)
        return Loc(self.path, line, self._col(line, col) + 1, end_line, self._col(end_line, end_col) + 1)

    def _col(self, line: int, byte_col: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))


@functools.lru_cache(maxsize=65536)
def module_name(path: str, root: str) -> str:
    """``pkg.utils`` for ``ROOT/pkg/utils.py``."""
    if root and os.path.isabs(path) and path.startswith(root.rstrip(os.sep) + os.sep) and os.sep + "." not in path:
        rel = path[len(root.rstrip(os.sep)) + 1:]  # the common case, without relpath's normalising
    else:
        rel = os.path.relpath(path, root) if root else os.path.basename(path)
    rel = rel[:-3] if rel.endswith(".py") else rel
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or os.path.basename(path)[:-3]


def python_lines(text: str) -> list[str]:
    """The lines as Python numbers them (``str.splitlines`` also splits at form feeds, ``\\x1c`` ...)."""
    text = text[:-1] if text.endswith("\n") else text
    return text.split("\n") if "\r" not in text else _LINE_END.split(text)


_LINE_END = re.compile(r"\r\n|\r|\n")


def parse_module(path: str, text: str, modname: str) -> ModuleInfo:
    """The whole file as a module (never pruned by its text: a function that mentions no rule word may
    still be the link of a call chain that builds a batch norm). A text Python 3 refuses is read as
    Python 2 when it has Python 2's syntax: the module's ``text`` is then the converted
    :class:`bncheck.source.reading.SourceText`."""
    try:
        tree = _parse(text, path)
    except SyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else text.count("\n", 0, max(text.find("\0"), 0)) + 1
        from bncheck.source.reading import as_python2

        text = as_python2(path, text, f"{exc.msg} (line {line})")  # or InputError: neither Python 3 nor 2
        tree = _parse(text, path)
    except (ValueError, RecursionError, MemoryError) as exc:  # the parser's MemoryError (its depth limit) says nothing
        reason = str(exc) or f"too deeply nested for Python's parser ({type(exc).__name__})"
        raise InputError(path, f"not valid Python: {reason}") from None
    module = ModuleInfo(path, modname, text, tree, python_lines(text),
                        graph_mode=any(w in text for w in GRAPH_MODE_SWITCHES), ascii=text.isascii())
    _collect(module)
    return module


def _parse(text: str, path: str) -> ast.Module:
    """``ast.parse`` without the warnings it prints about the user's code (``"\\d"``, ``1if``, naming the file)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=path)


def read_source(path: str) -> str:
    """The Python 3 text the analysis parses: a ``.py`` file decoded as PEP 263 says (converted in
    memory when it is Python 2), or a notebook's code cells as one program. A converted text is a
    :class:`bncheck.source.reading.SourceText` that says how it was read; locations in it are
    mapped back to the file by :func:`bncheck.source.reading.settle`."""
    from bncheck.source.reading import read_text

    return read_text(path)


def _collect(module: ModuleInfo) -> None:
    """Top-level functions, classes, imports and constant/alias assignments (the module's globals)."""
    g = module.globals
    for stmt in module.tree.body:
        try:
            _collect_stmt(module, stmt, g)
        except RecursionError:  # a name nested too deeply to resolve stays unbound (the walker notes it)
            continue


def _collect_stmt(module: ModuleInfo, stmt: ast.stmt, g: dict[str, Value]) -> None:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        info = FunctionInfo(stmt.name, stmt, module)
        module.functions[stmt.name] = info
        g[stmt.name] = FuncRef(info)
    elif isinstance(stmt, ast.ClassDef):
        cls = ClassInfo(stmt.name, stmt, module, list(stmt.bases))
        for item in stmt.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                cls.methods[item.name] = FunctionInfo(item.name, item, module, cls)
        module.classes[stmt.name] = cls
        g[stmt.name] = ClassRef(cls)
    elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
        bind_import(module, stmt, g)
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            module.star_imports.append(import_base(module, stmt))
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        if stmt.targets[0].id == "__all__" and isinstance(stmt.value, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in stmt.value.elts):
            module.exports = tuple(e.value for e in stmt.value.elts)  # type: ignore[attr-defined]  # the elts are checked to be str constants just above
        value = static_value(module, stmt.value, g)
        if value is not None:
            g[stmt.targets[0].id] = value
    elif isinstance(stmt, (ast.If, ast.Try)):
        for sub in stmt.body:
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                bind_import(module, sub, g)


def static_value(module: ModuleInfo, node: ast.expr, g: dict[str, Value]) -> Optional[Value]:
    """Constants and dotted aliases, resolvable without running anything."""
    if isinstance(node, ast.Constant):
        return Const(node.value, None, node, module)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)):
        return Const(-node.operand.value, module.loc(node))
    if isinstance(node, ast.Name):
        return g.get(node.id)
    if isinstance(node, ast.Attribute):
        base = static_value(module, node.value, g)
        if isinstance(base, Alias):
            return Alias(f"{base.qual}.{node.attr}")
    return None


def bind_import(module: ModuleInfo, stmt: ast.stmt, env: dict[str, Value]) -> None:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname:
                env[alias.asname] = Alias(alias.name)
            else:
                top = alias.name.split(".")[0]
                env[top] = Alias(top)
    elif isinstance(stmt, ast.ImportFrom):
        base = import_base(module, stmt)
        for alias in stmt.names:
            if alias.name == "*":
                continue
            env[alias.asname or alias.name] = Alias(f"{base}.{alias.name}" if base else alias.name)


def import_base(module: ModuleInfo, stmt: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (``from ..ops import x`` in ``pkg/sub/m.py``: ``pkg.ops``)."""
    base = stmt.module or ""
    if stmt.level:
        pkg = module.modname.split(".")
        # a module's package is its name without the last part (an __init__ is its own package)
        is_pkg = os.path.basename(module.path) == "__init__.py"
        keep = len(pkg) - (0 if is_pkg else 1) - (stmt.level - 1)
        prefix = ".".join(pkg[:max(keep, 0)])
        base = ".".join(p for p in (prefix, base) if p)
    return base
