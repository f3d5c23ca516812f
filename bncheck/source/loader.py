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
import bisect
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Container, Optional

from bncheck.errors import InputError
from bncheck.source.apis import CHUNK_WORDS, GRAPH_MODE_SWITCHES
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

    def loc(self, node: ast.AST) -> Loc:
        """The node's span, with UTF-8 byte offsets turned into 1-based character columns."""
        if self.ascii and isinstance(node, (ast.expr, ast.stmt)) and node.end_lineno is not None:
            return Loc(self.path, node.lineno, node.col_offset + 1, node.end_lineno,
                       node.end_col_offset + 1)  # type: ignore[operator]
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


def parse_module(path: str, text: str, modname: str, extra_words: Container[str] = frozenset()) -> ModuleInfo:
    try:
        pruned = prune(text, extra_words)
        try:
            tree = ast.parse(pruned, filename=path)
        except SyntaxError:
            if pruned is text:
                raise
            tree = ast.parse(text, filename=path)  # the pruning misread the layout: parse it all
    except SyntaxError as exc:
        raise InputError(path, f"not valid Python: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(path, f"not valid Python: {exc}") from None
    module = ModuleInfo(path, modname, text, tree, text.splitlines(),
                        graph_mode=any(w in text for w in GRAPH_MODE_SWITCHES), ascii=text.isascii())
    _collect(module)
    return module


_CHUNK_START = ("@", "def ", "async def ", "class ")
_CHUNK = re.compile(r"\n(?:@|def |async def |class )")  # where a top-level definition starts (a literal
# first character lets the regex engine skip ahead, which a multiline ``^`` does not)
_TOP_LINE = re.compile(r"\n(?=[^\s#)\]}])")  # a newline before a line that ends a top-level definition
_DEFINED = re.compile(r"(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
_WORD = re.compile(r"[A-Za-z_]\w*")


def prune(text: str, extra_words: Container[str] = frozenset()) -> str:
    """The text with top-level functions and classes that cannot matter blanked out (line numbers and
    columns kept): those whose text mentions no word the rules read, no kept function, and whose
    name no kept code mentions (``extra_words``: names the other files of the program use). Parsing
    is most of the cost of source mode, and most code in a repository is neither model nor training
    code. Returns ``text`` itself when nothing can be dropped."""
    chunks: list[tuple[int, int, str]] = []  # (first offset, end offset, defined name)
    pos, n = 0, len(text)
    starts = [m.start() + 1 for m in _CHUNK.finditer(text)]
    if text.startswith(_CHUNK_START):
        starts.insert(0, 0)
    for start in starts:
        if start < pos:
            continue  # inside the previous definition
        i = start
        while text.startswith("@", i):  # decorators
            nl = text.find("\n", i)
            if nl < 0:
                return text
            i = nl + 1
        defined = _DEFINED.match(text, i)
        if defined is None:
            return text
        nl = text.find("\n", i)
        after = _TOP_LINE.search(text, nl) if nl >= 0 else None
        pos = after.start() if after is not None else n
        chunks.append((start, pos, defined.group(1)))
    if not chunks:
        return text
    texts = [text[a:b] for a, b, _ in chunks]
    keep = _relevant_chunks(text, chunks)
    # kept code as one text: a name found in it (even as a substring) keeps its definition
    gaps = [text[b:a] for (_, b, _), (a, _, _) in zip([(0, 0, "")] + chunks, chunks + [(n, n, "")])]
    kept_text = "\n".join(gaps + [t for t, k in zip(texts, keep) if k])
    kept_names = {name for (_, _, name), k in zip(chunks, keep) if k}
    changed = True
    while changed:
        changed = False
        for k, (_, _, name) in enumerate(chunks):
            # kept when kept code names it (a callee) or it names kept code (a caller, e.g. main)
            if not keep[k] and (name in extra_words or name in kept_text
                                or any(n in texts[k] for n in kept_names)):
                keep[k] = changed = True
                kept_text += "\n" + texts[k]
                kept_names.add(name)
    if all(keep):
        return text
    out: list[str] = []
    last = 0
    for (a, b, _), t, k in zip(chunks, texts, keep):
        if not k:
            out.append(text[last:a])
            out.append("\n" * t.count("\n"))
            last = b
    out.append(text[last:])
    return "".join(out)


def _relevant_chunks(text: str, chunks: list[tuple[int, int, str]]) -> list[bool]:
    """Which chunks mention a word the rules read: every occurrence in the file is found once
    (sixteen scans of the text) instead of sixteen scans per chunk."""
    hits: list[int] = []
    for word in CHUNK_WORDS:
        at = text.find(word)
        while at >= 0:
            hits.append(at)
            at = text.find(word, at + 1)
    hits.sort()
    return [bisect.bisect_left(hits, a) < len(hits) and hits[bisect.bisect_left(hits, a)] < b for a, b, _ in chunks]


def relevant_text(text: str) -> bool:
    for word in CHUNK_WORDS:
        if word in text:
            return True
    return False


def read_source(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 Python file") from None


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
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
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
        base = stmt.module or ""
        if stmt.level:
            pkg = module.modname.split(".")
            # a module's package is its name without the last part (an __init__ is its own package)
            is_pkg = os.path.basename(module.path) == "__init__.py"
            keep = len(pkg) - (0 if is_pkg else 1) - (stmt.level - 1)
            prefix = ".".join(pkg[:max(keep, 0)])
            base = ".".join(p for p in (prefix, base) if p)
        for alias in stmt.names:
            if alias.name == "*":
                continue
            env[alias.asname or alias.name] = Alias(f"{base}.{alias.name}" if base else alias.name)
