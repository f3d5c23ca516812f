"""Checking on any :class:`concurrent.futures.Executor`: Dask's ``Client.get_executor()``, Ray's, a
``ThreadPoolExecutor``, ``ProcessPoolExecutor``.

Each input is one task. The task runs the check in a bncheck worker process of its own on the
executor's machine, so the input's deadline (``timeout``) and memory limit hold there as they do
locally: a hostile file that hangs or allocates without bound costs its own task, never the
executor's worker. Inputs must be readable at the same path where the tasks run (a shared file
system or object store mount); a program of ``.py`` files that import each other is one task.
"""
from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Sequence

from bncheck.isolation import Outcome, WorkersUnavailable, run_in_process, run_isolated


def check_one(job: Any, timeout: float | None, memory_mb: int | None) -> Outcome:
    """One input, on the executor: in its own worker process, under the deadline and memory limit."""
    from bncheck.engine import check_job

    try:
        return run_isolated("bncheck.engine:check_job", [job], jobs=1, timeout=timeout, memory_mb=memory_mb,
                            warm="bncheck.engine:warm")[0]
    except WorkersUnavailable:  # no process can be started there: check in the task, without limits
        return run_in_process(check_job, [job])[0]


def run_on(executor: Executor, jobs: Sequence[Any], timeout: float | None, memory_mb: int | None) -> list[Outcome]:
    """The outcomes of ``jobs`` submitted to ``executor``, in order; a task that failed in the
    executor itself (a lost worker, a pickling error) is that input's ``error`` outcome."""
    futures = [executor.submit(check_one, job, timeout, memory_mb) for job in jobs]
    outcomes = []
    for future in futures:
        try:
            outcome = future.result()
        except Exception as exc:  # noqa: BLE001 - the executor's failure is this input's, not the run's
            outcome = Outcome("error", detail=f"the executor could not run it ({type(exc).__name__}: {exc})")
        outcomes.append(outcome if isinstance(outcome, Outcome) else
                        Outcome("error", detail=f"the executor returned {type(outcome).__name__}"))
    return outcomes
