"""The one pipeline both fronts call: loaders -> graph model -> rules -> findings."""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from bncheck import collector
from bncheck.catalogue import UsageError
from bncheck.errors import InputError, NotAnArtefact
from bncheck.findings import Finding
from bncheck.isolation import (DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Outcome, WorkersUnavailable, default_jobs,
                               discard_prestarted, run_in_process, run_isolated)
from bncheck.loaders import NOTHING_FOUND, Target, discover, load, summarise_skips
from bncheck.remote import fetch, forget, is_remote, restore
from bncheck.report import Report

if TYPE_CHECKING:
    from bncheck.graph.model import GraphModel

# The rules, the graph analysis and numpy are imported where a model is checked (a worker), not
# here: the command's parent process only finds inputs, hands them out and prints the report.


def warm() -> None:
    """Import what checking an input needs (a pre-started worker does it while the command starts)."""
    import bncheck.loaders.checkpoint_values  # noqa: F401  (numpy)
    import bncheck.loaders.graphs  # noqa: F401  (protobuf, the vendored messages)
    import bncheck.loaders.keras_files  # noqa: F401  (.keras/.h5: imports h5py only when called)
    import bncheck.rules.registry  # noqa: F401
    import bncheck.rules.context  # noqa: F401

    try:  # h5py (and the HDF5 library) once here, not again in every worker forked for an input (~50 ms)
        import h5py  # noqa: F401
    except ImportError:  # a broken install: the .keras/.h5 job reports it
        pass


def warm_source() -> None:
    """Import what checking ``.py`` programs needs (source mode: no numpy, no protobuf)."""
    import bncheck.source.checker  # noqa: F401


def check_models(models: Iterable[GraphModel], select: Sequence[str] | None = None,
                 ignore: Sequence[str] | None = None, notes: list[tuple[str, str]] | None = None) -> list[Finding]:
    """Run the selected rules on each model; what rules could not judge goes to ``notes``."""
    from bncheck.rules import selected
    from bncheck.rules.context import Context

    rules = [cls() for cls in selected(select, ignore)]
    findings: list[Finding] = []
    for model in models:
        ctx = Context(model)
        for rule in rules:
            findings.extend(rule.check(ctx))
        if notes is not None:
            seen = set(notes)  # a set: a model with 100k layers can have as many notes
            for note in ((model.source, n) for n in ctx.notes):
                if note not in seen:
                    seen.add(note)
                    notes.append(note)
    return sorted(findings, key=lambda f: (f.path, f.graph, f.layer, f.code))


@dataclass(frozen=True)
class CheckOptions:
    """What every input is checked with; crosses to worker processes as a plain record."""

    train_op: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None


@dataclass
class TargetResult:
    """The verdict on one job, as plain picklable data (errors as ``(source, reason)``)."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    graphs: int = 0  # graphs with nodes read: what --train-op / --serve-output can name
    not_an_artefact: bool = False  # the error says the file is not TensorFlow's (a note in a folder search)


@dataclass(frozen=True)
class SourceJob:
    """One program of ``.py`` files that import each other (analysed together), and each file's options."""

    files: tuple[tuple[str, str], ...]  # (path, text)
    root: str
    options: tuple[CheckOptions, ...]  # per file: its selection (per-path settings applied)
    followed: tuple[str, ...] = ()  # files read only to follow the given ones' imports: never reported

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.files if path not in self.followed]


Job = tuple[Target, CheckOptions] | SourceJob


def check_job(job: Job) -> TargetResult:
    """A worker's entry: an artefact target, or a program of source files."""
    if isinstance(job, SourceJob):
        return check_source(job)
    return check_target(job)


def check_source(job: SourceJob) -> TargetResult:
    """Check one program of ``.py`` files (never imported or run); findings carry their fix edits."""
    from bncheck.source import check_program

    try:
        found = check_program(job.files, job.root, [(o.select, o.ignore) for o in job.options], job.followed)
    except MemoryError:
        raise
    except Exception as exc:  # a walker bug must not hide the other inputs
        return TargetResult(errors=[(path, f"internal error while checking ({type(exc).__name__}: {exc})")
                                    for path in job.paths])
    return TargetResult(findings=[f.to_finding() for f in found.findings],
                        errors=[(e.source, e.reason) for e in found.errors], checked=found.checked,
                        notes=found.notes)


def check_target(job: tuple[Target, CheckOptions]) -> TargetResult:
    """Read and check one target; unusable input becomes an error record, not an exception.

    ``MemoryError`` is left to the caller, which knows the memory limit it ran under.
    """
    with collector.paused():  # a graph is a million small objects without cycles
        return _check_target(job)


def _check_target(job: tuple[Target, CheckOptions]) -> TargetResult:
    target, options = job
    result = TargetResult()
    try:
        loaded = load(target)
        result.graphs = sum(1 for m in loaded if len(m.graph))
        problem = unknown_names(loaded, options.train_op, options.outputs)
        if problem:
            result.errors.append((target.path, problem))
            return result
        models = [with_names(m, options.train_op, options.outputs) for m in loaded]
    except NotAnArtefact as exc:
        result.errors.append((exc.source, exc.reason))
        result.not_an_artefact = True
        return result
    except InputError as exc:
        result.errors.append((exc.source, exc.reason))
        return result
    except MemoryError:
        raise
    except Exception as exc:  # a parser bug must not hide the other inputs
        result.errors.append((target.path, f"could not be read ({type(exc).__name__}: {exc})"))
        return result
    try:
        result.findings = check_models(models, options.select, options.ignore, result.notes)
    except InputError as exc:  # a tensor the rules read turned out unreadable
        result.errors.append((exc.source, exc.reason))
        result.notes.clear()
        return result
    except MemoryError:
        raise
    except Exception as exc:  # a rule bug on odd input: report it, keep checking the rest
        result.errors.append((target.path, f"internal error while checking ({type(exc).__name__}: {exc})"))
        result.notes.clear()
        return result
    result.checked.append(target.path)
    return result


def check_paths(paths: Sequence[str], *, train_op: Sequence[str] = (), outputs: Sequence[str] = (),
                select: Sequence[str] | None = None, ignore: Sequence[str] | None = None,
                jobs: int | None = None, timeout: float | None = DEFAULT_TIMEOUT,
                memory_mb: int | None = DEFAULT_MEMORY_MB, isolate: bool = True,
                exclude: Callable[[str], bool] | None = None, per_path: Sequence[Any] = (),
                executor: Any = None) -> Report:
    """Check every artefact and ``.py`` file under ``paths``; unusable inputs become report errors.

    Each artefact, and each program of ``.py`` files that import each other, is one job checked in
    a worker process (``jobs`` at a time, default: the machine's cores) that is killed after
    ``timeout`` seconds (None: no deadline) and may use ``memory_mb`` MiB of address space beyond
    its start. ``isolate=False`` checks in this process, without deadline or memory limit. Results
    come in the order of ``paths``, whatever finishes first. ``exclude(path)`` drops inputs found
    in folders; ``per_path`` entries (see :class:`bncheck.config.PerPath`) adjust the options of
    the inputs they match. An option that applies to none of the inputs (a selection no rule of
    theirs can use, ``train_op`` with no graph among them) raises :class:`UsageError`. ``executor`` (any ``concurrent.futures.Executor``) runs each job as a
    task, under its deadline and memory limit there (see :mod:`bncheck.executors`).
    """
    options = CheckOptions(tuple(train_op), tuple(outputs),
                           None if select is None else tuple(select), None if ignore is None else tuple(ignore))
    fetched: dict[str, str] = {}  # local copy -> the URL it came from (fsspec paths)
    scratch: str | None = None
    plan: list[tuple[str, InputError | None, list[Target], list[tuple[str, str]]]] = []
    try:
        for path in paths:
            walk_notes: list[tuple[str, str]] = []
            try:
                if is_remote(path):
                    discard_prestarted()  # forked before the remote files are mounted: it would not see them
                    scratch = scratch or tempfile.mkdtemp(prefix="bncheck-remote-")
                    local = fetch(path, scratch, walk_notes)
                    fetched[local] = path
                    path = local
                plan.append((path, None, discover(path, walk_notes), walk_notes))
            except InputError as exc:
                plan.append((path, exc, [], walk_notes))
        report = _check_plan(plan, options, jobs, timeout, memory_mb, isolate, exclude, per_path, executor)
    finally:
        if scratch is not None:
            forget(scratch)
            shutil.rmtree(scratch, ignore_errors=True)
    return restore(report, fetched) if fetched else report


def _check_plan(plan: list[tuple[str, InputError | None, list[Target], list[tuple[str, str]]]],
                options: CheckOptions, jobs: int | None, timeout: float | None, memory_mb: int | None,
                isolate: bool, exclude: Callable[[str], bool] | None, per_path: Sequence[Any],
                executor: Any = None) -> Report:
    seen: set[tuple[str, str]] = set()
    for i, (path, error, found, walk_notes) in enumerate(plan):  # the same input given twice: once
        unique = []
        for target in found:
            key = (os.path.realpath(target.path), target.kind)
            if exclude is not None and target.path != path and exclude(target.path):
                continue
            if key not in seen:
                seen.add(key)
                unique.append(target)
        plan[i] = (path, error, unique, walk_notes)
    targets = [t for _, _, found, _ in plan for t in found]
    problem = applies_to_nothing(options, {_analysis(t) for t in targets})
    if problem:
        raise UsageError(problem)
    work: list[Job] = [(t, _options_for(t.path, options, per_path)) for t in targets if t.kind != "source"]
    sources = [t.path for t in targets if t.kind == "source"]
    unread: list[InputError] = []
    unparsed: list[str] = []
    follow_notes: list[tuple[str, str]] = []
    if sources:  # programs: the .py files that import each other, read here to find their imports
        from bncheck.source import plan as plan_sources

        groups, root, unread, unparsed, followed, follow_notes = plan_sources(sources)
        work += [SourceJob(tuple(g), root, tuple(_options_for(p, options, per_path) for p, _ in g),
                           tuple(sorted(followed & {p for p, _ in g}))) for g in groups]
    outcomes = _run(work, jobs, timeout, memory_mb, isolate, executor)
    results = [_result(job, outcome, timeout, memory_mb) for job, outcome in zip(work, outcomes)]
    graphs: int | None = sum(r.graphs for r in results)
    if any(not isinstance(job, SourceJob) and not r.checked for job, r in zip(work, results)):
        graphs = None  # an artefact that could not be read may hold the graph: its error says why
    report = Report([], [], [], [])
    done = iter(results)  # artefacts first, in the order given, then the programs
    for path, error, found, walk_notes in plan:
        skips = list(walk_notes)
        if error is not None:
            report.errors.append(error)
        artefacts = [t for t in found if t.kind != "source"]
        kept = 0
        for target in artefacts:
            result = _skipped_if_searched(next(done), target, path, skips)
            kept += result is not _SKIPPED
            _add(report, result)
        if artefacts and not kept and len(artefacts) == len(found):  # every file found was skipped by content
            report.errors.append(InputError(path, NOTHING_FOUND))
        _add_notes(report, summarise_skips(path, skips))
    report.errors.extend(unread)
    report.checked.extend(unparsed)
    _add_notes(report, follow_notes)
    for result in done:
        _add(report, result)
    problem = applies_to_nothing(options, {_analysis(t) for t in targets}, graphs)
    if problem:
        raise UsageError(problem)
    report.findings.sort(key=lambda f: (f.path, f.graph, f.layer, f.code))
    return report


def _analysis(target: Target) -> str:
    return "source" if target.kind == "source" else "artefact"


def applies_to_nothing(options: CheckOptions, analyses: set[str], graphs: int | None = None) -> str | None:
    """Why an option given applies to none of the inputs, or None; ``analyses`` are the kinds of input
    found ("artefact", "source"), ``graphs`` the graphs read (None: not read yet)."""
    from bncheck.catalogue import unusable_selection

    if not analyses:
        return None  # nothing found: the inputs' own errors say why
    problem = unusable_selection(options.select, analyses)
    if problem:
        return problem
    names = [(option, values) for option, values in (("--train-op", options.train_op),
                                                      ("--serve-output", options.outputs)) if values]
    if names and ("artefact" not in analyses or graphs == 0):
        option, values = names[0]
        inputs = "the inputs are .py files" if "artefact" not in analyses else "no input holds a graph"
        return f"{option} {','.join(values)} applies to none of the inputs ({inputs}: it names a graph node)"
    return None


def _add(report: Report, result: TargetResult) -> None:
    report.findings.extend(result.findings)
    report.errors.extend(InputError(source, reason) for source, reason in result.errors)
    report.checked.extend(result.checked)
    _add_notes(report, result.notes)


def _skipped_if_searched(result: TargetResult, target: Target, given: str,
                         skips: list[tuple[str, str]]) -> TargetResult:
    """A file a folder search found (not the path ``given``) that is not TensorFlow's by content:
    a skip note in ``skips``, not an error. A file the user named keeps its error."""
    if not result.not_an_artefact or target.path == given:
        return result
    skips.extend((source, f"skipped: {reason}") for source, reason in result.errors)
    return _SKIPPED


_SKIPPED = TargetResult()  # what a skipped file adds to the report: nothing


def _options_for(path: str, options: CheckOptions, per_path: Sequence[Any]) -> CheckOptions:
    for entry in per_path:
        if entry.matches(path):
            options = replace(
                options, train_op=options.train_op or tuple(entry.train_op),
                outputs=options.outputs or tuple(entry.serve_output),
                select=entry.select if entry.select is not None else options.select,
                ignore=tuple(options.ignore or ()) + tuple(entry.ignore))
    return options


def _run(work: list[Job], jobs: int | None, timeout: float | None, memory_mb: int | None,
         isolate: bool, executor: Any = None) -> list[Outcome]:
    if executor is not None and work:
        from bncheck.executors import run_on

        return run_on(executor, work, timeout, memory_mb)
    # BNCHECK_IN_PROCESS=1: no workers (debugging, profiling, mutation testing: a spawned worker
    # would import the installed bncheck, not the code under test)
    if isolate and work and os.environ.get("BNCHECK_IN_PROCESS") != "1":
        try:
            artefacts = any(not isinstance(job, SourceJob) for job in work)
            return run_isolated("bncheck.engine:check_job", work, jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                                warm="bncheck.engine:warm" if artefacts else "bncheck.engine:warm_source",
                                batches=batches(work, jobs or default_jobs()))
        except WorkersUnavailable:
            pass  # no way to start a worker here: check in this process rather than not at all
    return run_in_process(check_job, work)


BATCH_PROGRAMS = 64  # source programs sent to a worker at once, at most
BATCH_BYTES = 1 << 20  # and at most this much source text (unless one program is bigger)


def batches(work: Sequence[Job], workers: int) -> list[list[int]]:
    """Indices of ``work`` in the groups sent to a worker together: each artefact alone, source
    programs (most are one small file) by the dozen, so that a repository is not a few thousand
    round trips to the workers. Each job keeps its own deadline and outcome (:meth:`Pool.map`);
    there are at least four batches per worker, so the work spreads over them."""
    sources = [i for i, job in enumerate(work) if isinstance(job, SourceJob)]
    out = [[i] for i, job in enumerate(work) if not isinstance(job, SourceJob)]
    size = max(1, min(BATCH_PROGRAMS, -(-len(sources) // (4 * max(1, workers)))))
    batch: list[int] = []
    weight = 0
    for i in sources:
        job = work[i]
        assert isinstance(job, SourceJob)
        cost = sum(len(text) for _, text in job.files)
        if batch and (len(batch) >= size or weight + cost > BATCH_BYTES):
            out.append(batch)
            batch, weight = [], 0
        batch.append(i)
        weight += cost
    if batch:
        out.append(batch)
    return out


def _result(job: Job, outcome: Outcome, timeout: float | None, memory_mb: int | None) -> TargetResult:
    if outcome.status == "ok" and isinstance(outcome.value, TargetResult):
        return outcome.value
    if outcome.status == "timeout":
        reason = f"gave up after {timeout:g} s"
    elif outcome.status == "memory":
        reason = f"ran out of memory (limit: {memory_mb} MiB)" if memory_mb else "ran out of memory"
    elif outcome.status == "died":
        reason = f"the process checking it ended abruptly ({outcome.detail})"
    else:
        reason = f"internal error while checking ({outcome.detail})"
    paths = job.paths if isinstance(job, SourceJob) else [job[0].path]
    if len(paths) > 1:  # a program: every file of it, and which program
        reason += f" (checked together with the {len(paths) - 1} other file(s) it imports or is imported by)"
    return TargetResult(errors=[(path, reason) for path in paths])


def _add_notes(report: Report, notes: Iterable[tuple[str, str]]) -> None:
    seen = set(report.notes)
    for note in notes:
        if note not in seen:
            seen.add(note)
            report.notes.append(note)


def unknown_names(models: Sequence[GraphModel], train_op: Sequence[str], outputs: Sequence[str]) -> str | None:
    """Why ``--train-op`` / ``--serve-output`` names cannot apply to these graphs, or None.

    A misspelt name must not silently turn a training graph into one bncheck does not judge.
    """
    graphs = [m for m in models if len(m.graph)]
    if not graphs:
        return None
    for option, names in (("--train-op", train_op), ("--serve-output", outputs)):
        for raw in names:
            name = raw.lstrip("^").split(":")[0]
            if any(name in m.graph for m in graphs):
                continue
            where = ", ".join(sorted({m.label or m.kind for m in graphs}))
            found = ""
            if option == "--train-op":
                found = "; train ops found: " + (", ".join(_train_ops(graphs)) or "none")
            return f"{option} {raw!r} is not a node of this graph ({where}){found}"
    return None


def _train_ops(models: Sequence[GraphModel]) -> list[str]:
    from bncheck.rules.context import Context

    names: set[str] = set()
    for model in models:
        try:
            names.update(Context(model).train_ops[0])
        except Exception:  # noqa: BLE001 - a hint only
            continue
    return sorted(names)[:10]


def with_names(model: GraphModel, train_op: Sequence[str], outputs: Sequence[str]) -> GraphModel:
    def clean(names: Sequence[str]) -> tuple[str, ...]:
        return tuple(n.lstrip("^").split(":")[0] for n in names)

    return replace(model, train_op_names=clean(train_op) or model.train_op_names,
                   output_names=clean(outputs) or model.output_names)
