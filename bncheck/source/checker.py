"""Source mode: check ``.py`` files (never imported, never run) and collect findings with line:col.

Files that import each other are analysed together, so a helper in ``utils.py`` is followed from
``train.py``; independent groups are checked in parallel worker processes. A file that mentions
none of the words the rules care about is not parsed at all.
"""
from __future__ import annotations

import ast
import concurrent.futures
import functools
import gc
import os
import re
from dataclasses import dataclass, field
from typing import Container, Iterable, Sequence

from bncheck import collector
from bncheck.errors import InputError
from bncheck.source import suppression
from bncheck.source.apis import RELEVANT_WORDS
from bncheck.source.loader import FunctionInfo, ModuleInfo, module_name, parse_module, read_source
from bncheck.source.model import Run
from bncheck.source.reading import settle
from bncheck.source.rules import RuleContext, SourceFinding, SourceRule, selected
from bncheck.source.walker import MAX_PROGRAM_STEPS, Project, Walker

PARALLEL_MIN_FILES = 200
# matched against "\n" + text: the literal newline first lets the regex engine skip ahead
_IMPORT = re.compile(r"\n[ \t]*(?:from\s+(\.*[\w.]*)\s+import\s+([\w ,.*()]+)|import\s+([\w., ]+))")


@dataclass
class SourceResult:
    findings: list[SourceFinding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def extend(self, other: "SourceResult") -> None:
        self.findings += other.findings
        self.errors += other.errors
        self.checked += other.checked
        self.notes += other.notes


def relevant(text: str) -> bool:
    for word in RELEVANT_WORDS:  # a loop: cheaper than any() over a generator, and this runs per file
        if word in text:
            return True
    return False


def analyse(modules: list[ModuleInfo], notes: list[tuple[str, str]] | None = None) -> list[Run]:
    """Walk every module body, then every function or method nothing in the scanned files calls.

    One program gets a bounded number of steps (:data:`MAX_PROGRAM_STEPS`); what is left when they
    run out is not walked, and a note says so."""
    project = Project(modules)
    runs: list[Run] = []
    walked: set[int] = set()
    hot, project.cold = _interesting(modules)
    called = _Called(modules)
    budget = [MAX_PROGRAM_STEPS, MAX_PROGRAM_STEPS]  # statements left, limit

    def walk(run: Run, action) -> None:  # type: ignore[no-untyped-def]
        walker = Walker(project, run, budget)
        action(walker)
        walker.finish()
        walked.update(walker.walked)
        runs.append(run)

    for module in modules:
        walk(Run(module.modname, module.path, graph_mode=module.graph_mode), lambda w, m=module: w.walk_module(m))
    roots: list[FunctionInfo] = []
    for module in modules:
        roots += [f for f in module.functions.values() if id(f.node) in hot and not called(f.name)]
        for cls in module.classes.values():
            roots += [m for name, m in cls.methods.items()
                      if name in ("call", "train_step") or (
                          id(m.node) in hot and not name.startswith("__") and not called(name))]
    # under a budget, the roots most likely to hold a batch-norm mistake go first
    roots.sort(key=lambda f: not _mentions_batch_norm(f))
    for func in roots:
        if budget[0] < 0:
            if notes is not None:
                left = [f for f in roots[roots.index(func):] if id(f.node) not in walked and id(f.node) in hot]
                names = ", ".join(f.qualname for f in left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
                notes.append((f"{func.module.path}:{func.node.lineno}",  # type: ignore[attr-defined]
                              f"source analysis stopped: a program (files that import each other) gets at most "
                              f"{MAX_PROGRAM_STEPS:,} statements, and {len(left)} functions were not walked "
                              f"({names}); nothing is reported about them"))
            return runs
        if id(func.node) in walked or id(func.node) not in hot:
            continue
        walk(Run(func.qualname, func.module.path, graph_mode=func.module.graph_mode), lambda w, f=func: w.walk_root(f))
    return runs


_BATCH_NORM_WORDS = ("batch_norm", "BatchNorm", "UPDATE_OPS", "update_ops", "GradientTape", "train_step")


def _mentions_batch_norm(func: FunctionInfo) -> bool:
    node = func.node
    text = "\n".join(func.module.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]
    return any(word in text for word in _BATCH_NORM_WORDS)


class _Called:
    """Whether ``name(`` appears anywhere besides its own definition (a text count: a false "called"
    only means the function is walked from its callers instead of as a root). Small programs count
    substrings per name; large ones count every call-looking word once."""

    def __init__(self, modules: list[ModuleInfo]) -> None:
        self.modules = modules
        self.counts: dict[str, int] | None = None
        if len(modules) > 8:
            self.counts = {}
            for m in modules:
                for name in _CALL.findall(m.text):
                    self.counts[name] = self.counts.get(name, 0) + 1
                for name in _DEF.findall(m.text):
                    self.counts[name] = self.counts.get(name, 0) - 1

    def __call__(self, name: str) -> bool:
        if self.counts is not None:
            return self.counts.get(name, 0) > 0
        uses = sum(m.text.count(name + "(") for m in self.modules)
        defs = sum(m.text.count(f"def {name}(") + m.text.count(f"class {name}(") for m in self.modules)
        return uses > defs


_CALL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\(")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_][A-Za-z_0-9]*)[ \t]*\(", re.M)
_WORD = re.compile(r"[A-Za-z_]\w*")


def _interesting(modules: list[ModuleInfo]) -> tuple[set[int], set[int]]:
    """(hot, cold) function nodes. Hot: its walk can produce an event, because its text mentions a word
    the rules read or the name of another hot function or class (to a fixpoint, through an index of
    the words each function mentions). Cold: the other top-level functions and methods, which the
    walker does not step into."""
    funcs = []
    for m in modules:
        for f in list(m.functions.values()) + [meth for c in m.classes.values() for meth in c.methods.values()]:
            node = f.node
            text = "\n".join(m.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]
            funcs.append((f, f.cls.name if f.cls else f.name, text))
    hot: set[int] = set()
    queue: list[str] = []
    for f, owner, text in funcs:
        if relevant(text):
            hot.add(id(f.node))
            queue += [f.name, owner]
    index: dict[str, list[tuple[FunctionInfo, str]]] = {}
    for f, owner, text in funcs:
        if id(f.node) not in hot:
            for word in set(_WORD.findall(text)):
                index.setdefault(word, []).append((f, owner))
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for f, owner in index.get(name, ()):
            if id(f.node) not in hot:
                hot.add(id(f.node))
                queue += [f.name, owner]
    cold = {id(f.node) for f, _, _ in funcs} - hot
    return hot, cold


def check_group(files: Sequence[tuple[str, str]], root: str, select: Sequence[str] | None = None,
                ignore: Sequence[str] | None = None) -> SourceResult:
    """Check ``(path, text)`` files that may call each other as one program."""
    with collector.paused():  # syntax trees and walk records: many small objects without cycles
        return _check_group(files, root, select, ignore)


def _check_group(files: Sequence[tuple[str, str]], root: str, select: Sequence[str] | None,
                 ignore: Sequence[str] | None) -> SourceResult:
    result = SourceResult()
    modules: list[ModuleInfo] = []
    texts = dict(files)
    # names the other files use keep a helper alive when its own file is pruned (one file: nothing extra)
    words = {p: set(_WORD.findall(t)) for p, t in files} if len(files) > 1 else {}
    files_using: dict[str, int] = {}
    for used in words.values():
        for w in used:
            files_using[w] = files_using.get(w, 0) + 1
    for path, text in files:
        try:
            extra: Container[str] = _OthersUse(files_using, words[path]) if words else frozenset()
            modules.append(parse_module(path, text, module_name(path, root), extra))
            result.checked.append(path)
        except InputError as exc:
            result.errors.append(exc)
        except (RecursionError, MemoryError) as exc:
            result.errors.append(InputError(path, f"too deeply nested to analyse ({type(exc).__name__})"))
    rules = _rules(tuple(select or ()), tuple(ignore or ()))
    if not rules:
        return result
    try:
        runs = analyse(modules, result.notes) if modules else []
    except Exception as exc:  # a walker bug must not hide the other inputs
        for m in modules:
            result.errors.append(InputError(m.path, f"internal error while checking ({type(exc).__name__}: {exc})"))
        return result
    for run in runs:
        for loc, message in run.notes:
            item = (f"{loc.path}:{loc.line}", message)
            if loc.path in texts and item not in result.notes:
                result.notes.append(item)
    context = RuleContext(texts, frozen_layers=any("trainable = False" in t or "trainable=False" in t
                                                   for t in texts.values()))
    seen: set[tuple[str, str, int, int, str]] = set()
    found: list[SourceFinding] = []
    for rule in rules:
        try:
            for f in rule.check(runs, context):
                if f.key not in seen and f.loc.path in texts:
                    seen.add(f.key)
                    found.append(f)
        except Exception as exc:  # a rule bug: report it, keep the other rules
            result.errors.append(InputError(files[0][0], f"internal error in {rule.code} ({type(exc).__name__}: {exc})"))
    for m in modules:  # modules and their functions refer to each other: free the trees now, not at a collection
        for cls in m.classes.values():
            cls.methods.clear()  # methods refer to their class
        m.functions.clear()
        m.classes.clear()
        m.globals.clear()
        m.tree = _EMPTY_TREE  # whatever still refers to the module (a value in a cycle) keeps no tree
    found = _named_over_placeholders(found)
    active = {r.code for r in rules}
    tables = {p: suppression.parse(t) for p, t in texts.items()}
    for f in found:
        if not suppression.suppressed(tables[f.loc.path], f.loc.line, f.code):
            result.findings.append(f)
    for path, table in tables.items():
        for line, message in suppression.unused(table, active):
            result.notes.append((f"{path}:{line}", message))
    result.notes += context.notes
    result.findings.sort(key=lambda f: (f.loc.path, f.loc.line, f.loc.col, f.code, f.layer))
    return result


@functools.lru_cache(maxsize=64)
def _rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> list[SourceRule]:
    """The selected rules, made once per selection (rules keep no state between checks)."""
    return [cls() for cls in selected(list(select), list(ignore))]


_EMPTY_TREE = ast.Module(body=[], type_ignores=[])


class _OthersUse:
    """``name in others``: some other file of the program mentions ``name`` (without building the set)."""

    def __init__(self, files_using: dict[str, int], own: set[str]) -> None:
        self.files_using = files_using
        self.own = own

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.files_using.get(name, 0) > (name in self.own)


def _named_over_placeholders(found: list[SourceFinding]) -> list[SourceFinding]:
    """Where one spot has findings for layers with resolved names, drop the same finding for a layer
    whose name could not be resolved (a second walk of the same code without its caller's arguments)."""
    resolved = {(f.code, f.loc) for f in found if "@" not in f.layer and "?" not in f.layer}
    return [f for f in found if ("@" not in f.layer and "?" not in f.layer) or (f.code, f.loc) not in resolved]


def groups_of(files: Sequence[tuple[str, str]], root: str) -> list[list[tuple[str, str]]]:
    """Files joined when one imports another by a name that matches a scanned module."""
    index: dict[str, list[int]] = {}
    names = [module_name(p, root) for p, _ in files]
    for i, name in enumerate(names):
        parts = name.split(".")
        for j in range(len(parts)):
            index.setdefault(".".join(parts[j:]), []).append(i)
    parent = list(range(len(files)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lasts = {name.rpartition(".")[2] for name in names}  # an import can only name a module by its last part
    for i, (_, text) in enumerate(files):
        for imported in _imported(text, names[i]):
            if imported.rpartition(".")[2] not in lasts:
                continue  # tensorflow, keras, numpy...: no scanned module
            parts = imported.split(".")
            # `pkg.utils` also names a scanned `utils` when the scan started inside pkg
            targets = {".".join(parts[k:]) for k in range(min(3, len(parts)))} if len(parts) > 1 else {imported}
            for j in (j for target in targets for j in index.get(target, ())):
                if j != i:
                    parent[find(i)] = find(j)
    out: dict[int, list[tuple[str, str]]] = {}
    for i, item in enumerate(files):
        out.setdefault(find(i), []).append(item)
    return list(out.values())


def _imported(text: str, modname: str) -> Iterable[str]:
    for m in _IMPORT.finditer("\n" + text):
        if m.group(3):
            for part in m.group(3).split(","):
                yield part.split(" as ")[0].strip()
        else:
            base = m.group(1)
            if base.startswith("."):
                level = len(base) - len(base.lstrip("."))
                pkg = modname.split(".")[:-level] if level else []
                base = ".".join(pkg + ([base.lstrip(".")] if base.lstrip(".") else []))
            if base:
                yield base
            for name in m.group(2).replace("(", "").replace(")", "").split(","):
                name = name.split(" as ")[0].strip()
                if name and name != "*":
                    yield f"{base}.{name}" if base else name


def _common_root(paths: Sequence[str]) -> str:
    dirs = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(dirs) if dirs else ""


def _check_batch(args: tuple[list[list[tuple[str, str]]], str, list[str], list[str]]) -> SourceResult:
    groups, root, select, ignore = args
    out = SourceResult()
    with collector.paused():  # for the whole batch: collections between groups rescan what is kept
        for g in groups:
            out.extend(_check_group(g, root, select, ignore))
    return out


def check_files(paths: Sequence[str], select: Sequence[str] | None = None, ignore: Sequence[str] | None = None,
                jobs: int | None = None, root: str | None = None) -> SourceResult:
    """Check ``.py`` files; groups of files that import each other are checked in parallel.

    Files that mention nothing the rules read are counted as checked without being parsed."""
    paths = list(dict.fromkeys(paths))
    result = SourceResult()
    if not paths:
        return result
    root = root if root is not None else _common_root(paths)
    files: list[tuple[str, str]] = []
    read: dict[str, str] = {}
    for path in paths:
        try:
            text = read[path] = read_source(path)
        except InputError as exc:
            result.errors.append(exc)
            continue
        if relevant(text):
            files.append((path, text))
        else:
            result.checked.append(path)
    groups = groups_of(files, root)
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    sel, ign = list(select or ()), list(ignore or ())
    if jobs <= 1 or len(files) < PARALLEL_MIN_FILES or len(groups) < 2:
        result.extend(_check_batch((groups, root, sel, ign)))
    else:
        groups.sort(key=lambda g: -sum(len(t) for _, t in g))
        batches: list[list[list[tuple[str, str]]]] = [[] for _ in range(jobs * 4)]
        for i, g in enumerate(groups):
            batches[i % len(batches)].append(g)
        gc.freeze()  # forked workers: the collector leaves the parent's objects (and their pages) alone
        try:
            with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
                for part in pool.map(_check_batch, [(b, root, sel, ign) for b in batches if b]):
                    result.extend(part)
        except (OSError, concurrent.futures.process.BrokenProcessPool):
            result.extend(_check_batch((groups, root, sel, ign)))
        finally:
            gc.unfreeze()
    order = {p: i for i, p in enumerate(paths)}
    result.checked.sort(key=lambda p: order.get(p, 0))
    result.findings.sort(key=lambda f: (order.get(f.loc.path, 0), f.loc.line, f.loc.col, f.code, f.layer))
    result.notes.sort(key=lambda note: _note_key(note, order))  # the same order however the work was split
    result.errors.sort(key=lambda e: order.get(e.source, len(order)))
    settle(result, read)  # Python 2 files and notebooks: locations in the file, no edits
    return result


def _note_key(note: tuple[str, str], order: dict[str, int]) -> tuple[int, str, int, str]:
    """Notes by input order, then line: ``where`` is ``path:line`` or a path."""
    path, _, line = note[0].rpartition(":")
    if not (path and line.isdigit()):
        path, line = note[0], "0"
    return order.get(path, len(order)), path, int(line), note[1]
