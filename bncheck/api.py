"""The Python API: ``check_graph`` for live TensorFlow objects, ``check_path`` for files."""
from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any, Iterable, Sequence

from bncheck.catalogue import UsageError
from bncheck.engine import (CheckOptions, applies_to_nothing, check_models, check_paths, unknown_names,
                            with_names)
from bncheck.errors import InputError
from bncheck.isolation import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from bncheck.report import Report


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    single = isinstance(value, (str, bytes)) or hasattr(value, "op") or hasattr(value, "node_def")
    if single or not isinstance(value, Iterable):
        value = [value]
    from bncheck.loaders.live import op_name  # live TF objects: loaded only when handed one

    return tuple(op_name(v) for v in value)


def _selection(value: str | Sequence[str] | None, ignoring: bool = False) -> list[str] | None:
    """Rule-code prefixes from a comma list (``"BN001,BN007"``) or a sequence; ``ALL`` means every rule.

    A prefix matching no rule raises :class:`bncheck.catalogue.SelectionError` (a ``ValueError``)."""
    from bncheck.catalogue import check_known, codes

    if value is None:
        return None
    chosen = codes(value)
    check_known(chosen, "ignore" if ignoring else "select")
    if not ignoring and "ALL" in chosen:
        return None
    return chosen


def check_graph(graph: Any, train_op: Any = None, outputs: Any = None, *,
                select: str | Sequence[str] | None = None, ignore: str | Sequence[str] | None = None) -> Report:
    """Check a live ``tf.Graph`` (or a ``GraphDef`` / ``MetaGraphDef`` message, a Keras model or a
    concrete function: see :func:`check_model`) for batch-norm mistakes.

    ``train_op``: the op(s) your training loop runs (a ``tf.Operation``, tensor or name); by
    default the graph's ``train_op`` collection, else the ops that run optimizer updates.
    ``outputs``: the tensors you serve, which makes the graph an inference graph for BN002-BN004.
    ``select`` / ``ignore``: rule-code prefixes, e.g. ``["BN00"]``, ``["BN007"]``.
    The graph is serialized and read like a file: nothing in it is run. An unknown code, a
    ``select`` with no rule that reads graphs, or ``train_op``/``outputs`` for an object without a
    graph (a Keras model's config) raise :class:`bncheck.catalogue.UsageError` (a ``ValueError``).
    """
    if isinstance(graph, (str, os.PathLike)):
        return check_path(graph, train_op=train_op, outputs=outputs, select=select, ignore=ignore)
    train, served = _names(train_op), _names(outputs)
    chosen, skipped = _selection(select), _selection(ignore, ignoring=True)
    try:
        from bncheck.loaders.live import model_from_object

        found = model_from_object(graph)
    except InputError as exc:
        if exc.reason.startswith("cannot check a "):  # not a kind of object bncheck reads at all
            raise TypeError(exc.reason) from None
        return Report([], [exc], [])
    unused = applies_to_nothing(CheckOptions(train, served, None if chosen is None else tuple(chosen)),
                                {"artefact"}, graphs=1 if len(found.graph) else 0)
    if unused:
        raise UsageError(unused)
    problem = unknown_names([found], train, served)
    if problem:
        return Report([], [InputError(found.source, problem)], [])
    model = with_names(found, train, served)
    notes: list[tuple[str, str]] = []
    return Report(check_models([model], chosen, skipped, notes), [], [model.source], notes)


def check_model(model: Any, *, select: Sequence[str] | None = None,
                ignore: Sequence[str] | None = None) -> Report:
    """Check a live Keras 3 / tf-keras model (its config and weights; no forward pass), a concrete
    function (e.g. a ``tf.function`` train step's ``get_concrete_function(...)``), or a
    ``tf.function`` with an ``input_signature``. Nothing is run or deserialised."""
    return check_graph(model, select=select, ignore=ignore)


def check_path(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], train_op: Any = None,
               outputs: Any = None, *, select: str | Sequence[str] | None = None,
               ignore: str | Sequence[str] | None = None, jobs: int | None = None,
               timeout: float | None = DEFAULT_TIMEOUT, memory_mb: int | None = DEFAULT_MEMORY_MB,
               strict: bool = False, executor: Executor | None = None) -> Report:
    """Check files or folders: GraphDef ``.pb``/``.pbtxt``, ``.meta``, SavedModel and checkpoint folders.

    Unreadable inputs are listed in ``Report.errors``; the other paths are still checked.
    Each input is read in a worker process (``jobs`` at a time, default: the machine's cores),
    given up after ``timeout`` seconds (``None``: never) and limited to ``memory_mb`` MiB more
    address space, so a hostile file cannot hang or exhaust the calling process or notebook.
    ``strict=True`` raises the first unusable input's :class:`InputError` instead. A ``select``
    that matches no rule, or none that applies to the inputs found, and ``train_op``/``outputs``
    when no input holds a graph, raise :class:`bncheck.catalogue.UsageError` (a ``ValueError``).
    ``executor``: any :class:`concurrent.futures.Executor` (Dask's ``client.get_executor()``, Ray's)
    checks each input as a task there, in a worker process with the same deadline and memory limit;
    the paths must be readable where the tasks run.
    """
    if isinstance(path, (str, os.PathLike)):
        paths = [os.fspath(path)]
    elif isinstance(path, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in path):
        paths = [os.fspath(p) for p in path]
    else:
        raise TypeError(f"check_path takes a path or a list of paths, not {type(path).__name__}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise TypeError(f"jobs must be a positive int or None, not {jobs!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise TypeError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor, not {type(executor).__name__}")
    report = check_paths(paths, train_op=_names(train_op), outputs=_names(outputs), select=_selection(select),
                         ignore=_selection(ignore, ignoring=True), jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                         executor=executor)
    if strict and report.errors:
        raise report.errors[0]
    return report
