"""The scanned files as one program: which module an import names, serving functions, Keras classes."""
from __future__ import annotations

import ast
import re
from typing import Any, Iterable, Optional

from bncheck.source.apis import canonical
from bncheck.source.loader import ClassInfo, FunctionInfo, ModuleInfo
from bncheck.source.model import Alias, ClassRef, FuncRef, Value


LIBRARY_ROOTS = frozenset({"tensorflow", "keras", "tf_keras", "tf_slim", "numpy", "torch", "os", "sys", "math",
                           "functools", "collections", "typing", "builtins"})


class Project:
    """All scanned modules, and how an import names one of them."""

    def __init__(self, modules: Iterable[ModuleInfo], followed: frozenset[str] = frozenset()) -> None:
        self.modules = list(modules)
        self.followed = followed  # paths of modules read only to follow imports (not given)
        self._by_name: dict[str, Optional[ModuleInfo]] = {}
        for m in self.modules:
            parts = m.modname.split(".")
            for i in range(len(parts)):
                key = ".".join(parts[i:])
                if key in self._by_name and self._by_name[key] is not m:
                    self._by_name[key] = None if i else self._by_name.get(key) or m  # ambiguous suffix
                    if i == 0:
                        self._by_name[key] = m
                else:
                    self._by_name[key] = m
        self._bind_star_imports()
        self.serving: dict[ModuleInfo, set[str]] = {m: serving_names(m) for m in self.modules}
        self.frozen = any("trainable = False" in m.text or "trainable=False" in m.text for m in self.modules)
        # nested functions with their defining frames, walked by later roots too; their frames refer back
        # to them, so :meth:`release_closures` breaks those cycles once the program is analysed
        self.closure_refs: list[Any] = []
        # classes whose bases were searched only up to inheritance.MAX_BASES for some method
        self.cut_hierarchies: dict[int, ClassInfo] = {}

    def release_closures(self) -> None:
        for ref in self.closure_refs:
            ref.closure = None
        self.closure_refs.clear()

    def module(self, qual: str) -> Optional[ModuleInfo]:
        """The scanned module an import names (``pkg.ops`` also as ``ops`` when the scan started in pkg)."""
        if qual.partition(".")[0] in LIBRARY_ROOTS:
            return None
        parts = qual.split(".")
        for drop in range(min(3, len(parts))):
            module = self._by_name.get(".".join(parts[drop:]))
            if module is not None:
                return module
        return None

    def _bind_star_imports(self) -> None:
        """``from ops import *``: the public names of a scanned ``ops`` (its literal ``__all__``, else
        every name without a leading underscore) join the importing module's globals, unless the module
        binds the name itself. Chains of star imports are followed (a bounded number of rounds)."""
        for _ in range(min(len(self.modules), 16)):
            changed = False
            for m in self.modules:
                for base in m.star_imports:
                    source = self.module(base)
                    if source is None or source is m:
                        continue
                    names = source.exports if source.exports is not None else [
                        n for n in source.globals if not n.startswith("_")]
                    for name in names:
                        if name not in m.globals and name in source.globals:
                            m.globals[name] = source.globals[name]
                            changed = True
            if not changed:
                return

    def resolve(self, qual: str) -> Optional[Value]:
        """A FuncRef/ClassRef/global for ``pkg.utils.helper`` when that module was scanned (also when
        the scan started inside ``pkg``, so the module is known as ``utils``)."""
        if qual.partition(".")[0] in LIBRARY_ROOTS:
            return None
        parts = qual.split(".")
        for drop in range(min(3, len(parts) - 1)):
            value = self._resolve(parts[drop:])
            if value is not None:
                return value
        return None

    def _resolve(self, parts: list[str]) -> Optional[Value]:
        for i in range(len(parts) - 1, 0, -1):
            module = self._by_name.get(".".join(parts[:i]))
            if module is None:
                continue
            value = module.globals.get(parts[i])
            for attr in parts[i + 1:]:
                if isinstance(value, ClassRef) and attr in value.cls.methods:
                    value = FuncRef(value.cls.methods[attr])
                else:
                    return None
            return value
        return None


def serving_names(module: ModuleInfo) -> set[str]:
    """Names of functions passed as SavedModel signatures in this module."""
    names: set[str] = set()
    if "signatures" not in module.text:
        return names

    lines = {module.text.count("\n", 0, m.start()) + 1 for m in _SIGNATURES.finditer(module.text)}
    stmts: list[ast.AST] = list(module.tree.body)
    while stmts:  # only the statements whose lines hold a `signatures=` (a whole-tree walk costs more)
        stmt = stmts.pop()
        start, end = getattr(stmt, "lineno", 0), getattr(stmt, "end_lineno", 0) or 0
        if not any(start <= line <= end for line in lines):
            continue
        inner = [getattr(stmt, f, None) for f in ("body", "orelse", "finalbody", "handlers")]
        blocks = [b for b in inner if isinstance(b, list) and b and isinstance(b[0], (ast.stmt, ast.excepthandler))]
        if blocks and not isinstance(stmt, ast.excepthandler) and not any(
                start <= line <= _header_end(stmt) for line in lines):
            stmts += [s for b in blocks for s in b]
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "signatures":
                        _add_serving(names, kw.value)
    return names


def _add_serving(names: set[str], node: ast.AST) -> None:
    """The function names a ``signatures=`` value refers to (a module function, not a closure: a
    recursive closure is a reference cycle that keeps syntax trees alive)."""
    if isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.Attribute):
        if node.attr == "get_concrete_function":
            _add_serving(names, node.value)
        else:
            names.add(node.attr)
    elif isinstance(node, ast.Call):
        _add_serving(names, node.func)
    elif isinstance(node, ast.Dict):
        for v in node.values:
            if v is not None:
                _add_serving(names, v)


_SIGNATURES = re.compile(r"\bsignatures\s*=")


def _header_end(stmt: ast.AST) -> int:
    """The last line of a compound statement's header (``with f(signatures=...):``), before its body."""
    body = getattr(stmt, "body", None)
    first = body[0] if isinstance(body, list) and body else None
    return (getattr(first, "lineno", 0) or 0) - 1 if first is not None else getattr(stmt, "end_lineno", 0) or 0


def decorated_tf_function(func: FunctionInfo) -> bool:
    node = func.node
    for dec in getattr(node, "decorator_list", ()):
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute) and target.attr == "function":
            return True
        if isinstance(target, ast.Name) and target.id == "function":
            return True
    return False


def is_keras_class(project: Project, cls: ClassInfo, seen: Optional[set[int]] = None) -> bool:
    seen = seen or set()
    if id(cls) in seen:
        return False
    seen.add(id(cls))
    for base in cls.bases:
        qual = static_qual(cls.module, base)
        if qual is None:
            continue
        canon = canonical(qual)
        if canon.startswith("keras.") and canon.rsplit(".", 1)[-1] in ("Model", "Layer", "Sequential"):
            return True
        target = cls.module.globals.get(qual) if "." not in qual else project.resolve(qual)
        if target is None and "." not in qual:
            continue
        if isinstance(target, ClassRef) and is_keras_class(project, target.cls, seen):
            return True
        if isinstance(target, Alias):
            resolved = project.resolve(target.qual)
            if isinstance(resolved, ClassRef) and is_keras_class(project, resolved.cls, seen):
                return True
    return False


def static_qual(module: ModuleInfo, node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Name):
        value = module.globals.get(node.id)
        if isinstance(value, Alias):
            return value.qual
        return node.id
    if isinstance(node, ast.Attribute):
        base = static_qual(module, node.value)
        return f"{base}.{node.attr}" if base else None
    return None
