"""Source mode: check ``.py`` files (never imported, never run) and collect findings with line:col.

Files that import each other are analysed together as one program, so a helper in ``utils.py`` is
followed from ``train.py``; imports of the given files are followed to the project's unchanged
modules on disk (:mod:`bncheck.source.following`), and findings are reported in the given files.
Every file of a program is parsed whole and every call into it is followed, whatever the callee's
text mentions; the functions nothing calls (decided from the syntax trees,
:mod:`bncheck.source.callgraph`) are the entry points walked on their own. Only a group of files
that import each other none of which mentions a word the rules read is skipped unparsed: no call
chain leaves a group. Independent groups are checked in parallel worker processes.
"""
from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import functools
import gc
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from bncheck import collector
from bncheck.errors import InputError
from bncheck.source import apis, suppression
from bncheck.source.apis import RELEVANT_WORDS
from bncheck.source.loader import FunctionInfo, ModuleInfo, module_name, parse_module, read_source
from bncheck.source.model import Alias, Loc, Run
from bncheck.source.reading import settle
from bncheck.source.rules import RuleContext, SourceFinding, SourceRule, selected
from bncheck.source.inheritance import MAX_BASES
from bncheck.source.callgraph import called_names
from bncheck.source.following import follow_imports
from bncheck.source.walker import MAX_PROGRAM_STEPS, Project, Walker

PARALLEL_MIN_FILES = 200
# matched against "\n" + text: the literal newline first lets the regex engine skip ahead; names in
# parentheses may span lines (bounded: an unclosed one costs no scan to the end of the file)
_IMPORT = re.compile(r"\n[ \t]*(?:from\s+(\.*[\w.]*)\s+import\s+(\([^)]{0,2000}\)|[\w ,.*()]+(?:\\\r?\n[\w ,.*()]*)*)"
                     r"|import\s+([\w., ]+(?:\\\r?\n[\w., ]*)*))")  # lists continued by backslashes
_COMMENT = re.compile(r"#[^\n]*")


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


def analyse(modules: list[ModuleInfo], notes: list[tuple[str, str]] | None = None,
            followed: frozenset[str] = frozenset()) -> list[Run]:
    """Walk every module body, then every function or method nothing in the program calls (decided
    from the syntax trees: :mod:`bncheck.source.callgraph`). Every call into the program is followed
    from there, whatever the callee's text mentions.

    One program gets a bounded number of steps (:data:`MAX_PROGRAM_STEPS`); what is left when they
    run out is not walked, and a note says so."""
    project = Project(modules, followed)
    try:
        runs = _walk_program(project, modules, notes, followed)
        if notes is not None:
            for cls in project.cut_hierarchies.values():
                notes.append((f"{cls.module.path}:{cls.node.lineno}",
                              f"methods {cls.name} inherits from more than {MAX_BASES} classes up are not looked "
                              f"for: calls of them are not followed, and nothing is reported about what they build"))
        return runs
    finally:
        project.release_closures()


def _walk_program(project: Project, modules: list[ModuleInfo], notes: list[tuple[str, str]] | None,
                  followed: frozenset[str]) -> list[Run]:
    runs: list[Run] = []
    walked: set[int] = set()
    budget = [MAX_PROGRAM_STEPS, MAX_PROGRAM_STEPS]  # statements left, limit

    def walk(run: Run, action) -> None:  # type: ignore[no-untyped-def]  # action is a callable of the walker, of many shapes
        walker = Walker(project, run, budget)
        action(walker)
        walker.finish()
        walked.update(walker.walked)
        runs.append(run)

    for module in modules:
        walk(Run(module.modname, module.path, graph_mode=module.graph_mode), lambda w, m=module: w.walk_module(m))
    defined = [f for m in modules for f in m.functions.values()]
    defined += [f for m in modules for c in m.classes.values() for f in c.methods.values()]
    hot = _reaching_the_library(project, defined)
    called = called_names(modules, {f.name for f in hot})
    # a followed module's own entry points are not walked: nothing there is reported (only what the
    # given files' calls reach is)
    roots = [f for f in hot if f.module.path not in followed and (
        f.name in ("call", "train_step", "__call__") and f.cls is not None
        or not (f.name in called or f.name.startswith("__") and f.cls is not None))]
    # under a budget, the roots most likely to hold a batch-norm mistake go first
    roots.sort(key=lambda f: not _mentions_batch_norm(f))
    for func in roots:
        if budget[0] < 0:
            left = [f for f in roots[roots.index(func):] if id(f.node) not in walked]
            if notes is not None and left:  # the roots left may all have been walked from others
                names = ", ".join(f.qualname for f in left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
                notes.append((f"{left[0].module.path}:{left[0].node.lineno}",  # type: ignore[attr-defined]  # a function's node is a def, which has line numbers
                              f"source analysis stopped: a program (files that import each other) gets at most "
                              f"{MAX_PROGRAM_STEPS:,} statements, and {len(left)} functions were not walked "
                              f"({names}); nothing is reported about them"))
            return runs
        if id(func.node) in walked:
            continue
        walk(Run(func.qualname, func.module.path, graph_mode=func.module.graph_mode), lambda w, f=func: w.walk_root(f))
    return runs


# names whose mention lets a walk with unknown arguments record something, besides the module's library
# aliases: methods the walker reads on any receiver, the flags rules read, the libraries a local import names
_EVENT_WORDS = frozenset(apis.TRAIN_METHODS | apis.MODEL_EXPORT_METHODS | apis.SERVING_NAMES | set(RELEVANT_WORDS) | {
    "add_meta_graph_and_variables", "assign", "assign_sub", "control_dependencies", "updates", "trainable_variables",
    "trainable_weights", "training", "is_training", "GradientTape", "signatures",
    "tensorflow", "keras", "tf_keras", "tf_slim"})  # a function's own `import tensorflow as tf`
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _reaching_the_library(project: Project, defined: list[FunctionInfo]) -> list[FunctionInfo]:
    """The functions whose walk can record something: those that name a library alias of their
    module (``tf``, ``slim``, ``layers``...), a method or flag the walker reads, or a function, class
    or method of the program that can (to a fixpoint over the call graph). Only which uncalled
    functions are walked on their own is chosen from these; calls are always followed wherever they lead.
    The identifiers a function names are read from its lines (comments included: a superset, so an
    entry point is never dropped by it)."""
    library: dict[int, frozenset[str]] = {}
    for m in project.modules:
        library[id(m)] = frozenset(n for n, v in m.globals.items() if isinstance(v, Alias)
                                   and project.module(v.qual) is None)
    # only a name defined in the program can make a function hot through the fixpoint
    propagating = {f.name for f in defined} | {c for m in project.modules for c in m.classes}
    users: dict[str, list[FunctionInfo]] = {}  # defined name -> functions that name it
    hot: set[int] = set()
    queue: list[str] = []
    for f in defined:
        own = set(_IDENTIFIER.findall(f.module.span_text(f.node)))
        if (f.cls is not None and f.name in ("call", "train_step")) or not own.isdisjoint(_EVENT_WORDS) \
                or not own.isdisjoint(library[id(f.module)]) or f.name in project.serving.get(f.module, ()):
            hot.add(id(f.node))
            queue += [f.name] + ([f.cls.name] if f.cls is not None else [])
        else:
            for w in own & propagating:
                users.setdefault(w, []).append(f)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for f in users.get(name, ()):
            if id(f.node) not in hot:
                hot.add(id(f.node))
                queue += [f.name] + ([f.cls.name] if f.cls is not None else [])
    return [f for f in defined if id(f.node) in hot]


_BATCH_NORM_WORDS = ("batch_norm", "BatchNorm", "UPDATE_OPS", "update_ops", "GradientTape", "train_step")


def _mentions_batch_norm(func: FunctionInfo) -> bool:
    node = func.node
    text = "\n".join(func.module.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]  # a function's node is a def, which has line numbers
    return any(word in text for word in _BATCH_NORM_WORDS)




def check_group(files: Sequence[tuple[str, str]], root: str, select: Sequence[str] | None = None,
                ignore: Sequence[str] | None = None, followed: Iterable[str] = ()) -> SourceResult:
    """Check ``(path, text)`` files that may call each other as one program. ``followed``: paths among
    them that were not given, only read to follow imports (:mod:`bncheck.source.following`)."""
    with collector.paused():  # syntax trees and walk records: many small objects without cycles
        return _check_group(files, root, select, ignore, frozenset(followed))


def _check_group(files: Sequence[tuple[str, str]], root: str, select: Sequence[str] | None,
                 ignore: Sequence[str] | None, followed: frozenset[str] = frozenset()) -> SourceResult:
    result = SourceResult()
    modules: list[ModuleInfo] = []
    texts = dict(files)
    given = {p: t for p, t in files if p not in followed}
    converted: dict[str, str] = {}  # files read as Python 2 here: findings are mapped back to their lines
    for path, text in files:
        try:
            modules.append(parse_module(path, text, module_name(path, root)))
            if modules[-1].text is not text:
                texts[path] = converted[path] = modules[-1].text
                if path in given:
                    given[path] = modules[-1].text
            if path in given:
                result.checked.append(path)
        except InputError as exc:
            if path in given:
                result.errors.append(exc)
            else:
                result.notes.append((path, f"imported module not followed: {exc.reason}"))
        except (RecursionError, MemoryError) as exc:
            reason = f"too deeply nested to analyse ({type(exc).__name__})"
            if path in given:
                result.errors.append(InputError(path, reason))
            else:  # as any other module that cannot be read: the user did not give it
                result.notes.append((path, f"imported module not followed: {reason}"))
    rules = _rules(tuple(select or ()), tuple(ignore or ()))
    if not rules:
        return result
    try:
        runs = analyse(modules, result.notes, followed) if modules else []
    except Exception as exc:  # a walker bug must not hide the other inputs
        for m in modules:
            if m.path in given:
                result.errors.append(InputError(m.path, f"internal error while checking ({type(exc).__name__}: {exc})"))
        return result
    origins: dict[tuple[str, int], Loc] = {}
    for run in runs:
        for key, site in run.origins.items():
            origins.setdefault(key, site)
    for run in runs:
        for loc, message in run.notes:
            at = loc if loc.path in given else origins.get((loc.path, loc.line))
            if at is not None:
                item = (f"{at.path}:{at.line}", message)
                if item not in result.notes:
                    result.notes.append(item)
    context = RuleContext(texts, frozen_layers=any("trainable = False" in t or "trainable=False" in t
                                                   for t in texts.values()))
    seen: set[tuple[str, str, int, int, str]] = set()
    found: list[SourceFinding] = []
    for rule in rules:
        try:
            for raw in rule.check(runs, context):
                f = _at_a_given_file(raw, given, origins)
                if f is not None and f.key not in seen:
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
    tables = {p: suppression.parse(t) for p, t in given.items()}
    for f in found:
        if not suppression.suppressed(tables[f.loc.path], f.loc.line, f.code):
            result.findings.append(f)
    for path, table in tables.items():
        for line, message in suppression.unused(table, active):
            result.notes.append((f"{path}:{line}", message))
    for where, message in context.notes:
        note_path, _, note_line = where.rpartition(":")
        mapped = None if note_path in given or not note_line.isdigit() else origins.get((note_path, int(note_line)))
        if note_path in given or mapped is not None:
            item = (where if mapped is None else f"{mapped.path}:{mapped.line}", message)
            if item not in result.notes:
                result.notes.append(item)
    if converted:
        settle(result, converted)
    result.findings.sort(key=lambda f: (f.loc.path, f.loc.line, f.loc.col, f.code, f.layer))
    return result


def _at_a_given_file(f: SourceFinding, given: dict[str, str],
                     origins: dict[tuple[str, int], Loc]) -> Optional[SourceFinding]:
    """A finding located in a module that was only followed (not given) is reported at the given
    file's call that reached that code, naming where the code is; its edits are dropped (bncheck
    never writes a file it was not given). Without such a call (a root of the followed module
    itself) it is not reported, as linters report only the files they are given."""
    if f.loc.path in given:
        if all(e.loc.path in given for e in f.edits):
            return f
        return dataclasses.replace(f, edits=tuple(e for e in f.edits if e.loc.path in given))
    site = origins.get((f.loc.path, f.loc.line))
    if site is None:
        return None
    return dataclasses.replace(f, loc=site, edits=(),
                               facts=f.facts + (("in imported code", f"{f.loc.path}:{f.loc.line}"),))


@functools.lru_cache(maxsize=64)
def _rules(select: tuple[str, ...], ignore: tuple[str, ...]) -> list[SourceRule]:
    """The selected rules, made once per selection (rules keep no state between checks)."""
    return [cls() for cls in selected(list(select), list(ignore))]


_EMPTY_TREE = ast.Module(body=[], type_ignores=[])


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
    for i, (_, text) in enumerate(files):  # importlib.import_module(name, "pkg"): any scanned module of pkg
        if "import_module" not in text:
            continue
        lines = [line for line in text.splitlines() if "import_module" in line and len(line) <= 1000]
        for pkg in {m.group(1) for line in lines[:100] for m in _IMPORT_MODULE.finditer(line)}:
            for j, name in enumerate(names):
                if j != i and name.startswith(pkg + ".") and "." not in name[len(pkg) + 1:]:
                    parent[find(i)] = find(j)
    out: dict[int, list[tuple[str, str]]] = {}
    for i, item in enumerate(files):
        out.setdefault(find(i), []).append(item)
    return list(out.values())


_IMPORT_MODULE = re.compile(r"import_module\([^\n]*?,\s*(?:package\s*=\s*)?['\"]([A-Za-z_][\w.]{0,200})['\"]\s*\)")


def _imported(text: str, modname: str) -> Iterable[str]:
    for m in _IMPORT.finditer("\n" + text):
        if m.group(3):
            for part in m.group(3).replace("\\", " ").split(","):
                yield part.split(" as ")[0].strip()
        else:
            base = m.group(1)
            if base.startswith("."):
                level = len(base) - len(base.lstrip("."))
                pkg = modname.split(".")[:-level] if level else []
                base = ".".join(pkg + ([base.lstrip(".")] if base.lstrip(".") else []))
            if base:
                yield base
            for name in _COMMENT.sub("", m.group(2)).replace("(", "").replace(")", "").replace("\\", " ").split(","):
                name = name.split(" as ")[0].strip()
                if name and name != "*":
                    yield f"{base}.{name}" if base else name


def _common_root(paths: Sequence[str]) -> str:
    dirs = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(dirs) if dirs else ""


def _check_batch(args: tuple[list[list[tuple[str, str]]], str, list[str], list[str], frozenset[str]]) -> SourceResult:
    groups, root, select, ignore, followed = args
    out = SourceResult()
    with collector.paused():  # for the whole batch: collections between groups rescan what is kept
        for g in groups:
            out.extend(_check_group(g, root, select, ignore, followed))
    return out


@dataclass
class Programs:
    """The given ``.py`` files read and grouped into programs (files that import each other)."""

    groups: list[list[tuple[str, str]]]  # the (path, text) of each program that mentions a rule word
    root: str
    errors: list[InputError]  # given files that could not be read
    checked: list[str]  # given files of programs that mention nothing the rules read (never parsed)
    followed: frozenset[str]  # modules read only because a given file imports them
    notes: list[tuple[str, str]]  # imports not followed, and why
    texts: dict[str, str]  # every given file read, by path


def plan_programs(paths: Sequence[str], follow: bool = True, root: str | None = None) -> Programs:
    """Read ``paths``, follow their imports into the project (``follow``) and group them into
    programs; the one place both :func:`check_files` and the engine's jobs are planned."""
    paths = list(dict.fromkeys(paths))
    files: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            files.append((path, read_source(path)))
        except InputError as exc:
            errors.append(exc)
    extra: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    if follow and files:
        extra, notes = follow_imports(files)
    followed = frozenset(p for p, _ in extra)
    root = root if root is not None else _common_root(paths + sorted(followed))
    groups: list[list[tuple[str, str]]] = []
    checked: list[str] = []
    for group in groups_of(files + extra, root):
        if any(relevant(t) for _, t in group):
            groups.append(group)
        else:
            checked += [p for p, _ in group if p not in followed]
    return Programs(groups, root, errors, checked, followed, notes, dict(files))


def check_files(paths: Sequence[str], select: Sequence[str] | None = None, ignore: Sequence[str] | None = None,
                jobs: int | None = None, root: str | None = None, follow: bool = True) -> SourceResult:
    """Check ``.py`` files; groups of files that import each other are checked in parallel.

    Imports of the given files are followed to the project's other modules on disk
    (:mod:`bncheck.source.following`; ``follow=False``: only the given files), read-only: findings
    are reported in the given files. A group of files that import each other none of which mentions a
    word the rules read is counted as checked without being parsed: no call chain can leave a group."""
    paths = list(dict.fromkeys(paths))
    result = SourceResult()
    if not paths:
        return result
    found = plan_programs(paths, follow, root)
    result.errors += found.errors
    result.notes += found.notes
    result.checked += found.checked
    groups, root, followed, read = found.groups, found.root, found.followed, found.texts
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    sel, ign = list(select or ()), list(ignore or ())
    if jobs <= 1 or sum(len(g) for g in groups) < PARALLEL_MIN_FILES or len(groups) < 2:
        result.extend(_check_batch((groups, root, sel, ign, followed)))
    else:
        groups.sort(key=lambda g: -sum(len(t) for _, t in g))
        batches: list[list[list[tuple[str, str]]]] = [[] for _ in range(jobs * 4)]
        for i, g in enumerate(groups):
            batches[i % len(batches)].append(g)
        gc.freeze()  # forked workers: the collector leaves the parent's objects (and their pages) alone
        try:
            with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
                parts = list(pool.map(_check_batch, [(b, root, sel, ign, followed) for b in batches if b]))
        except (OSError, concurrent.futures.process.BrokenProcessPool):
            parts = [_check_batch((groups, root, sel, ign, followed))]  # all of it: no part is kept twice
        finally:
            gc.unfreeze()
        for part in parts:
            result.extend(part)
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
