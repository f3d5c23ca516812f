"""Issue 20 item 15: ``check_path(..., executor=...)`` on any concurrent.futures.Executor, with each
input's deadline and memory limit enforced inside the task (a local Dask cluster when installed)."""
from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import bncheck
import bncheck.engine
import bncheck.executors
from conftest import FIXTURES
from test_isolation import _hanging_load

TF1 = FIXTURES / "tf1"
META = TF1 / "layers_momentum_0.1.meta"  # BN007 on model/bn1, model/bn2
SAVED = TF1 / "saved_model_slim_is_training_true"  # BN002 + BN003 on two layers


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_any_executor_checks_each_input_as_a_task_with_the_local_result():
    local = bncheck.check_path([str(META), str(SAVED), "missing.pb"])
    with CountingExecutor() as executor:
        remote = bncheck.check_path([str(META), str(SAVED), "missing.pb"], executor=executor)
    assert executor.submitted == 2  # the two artefacts; a missing path never leaves the caller
    assert remote.to_dict() == local.to_dict()
    assert sorted(remote.codes()) == [("BN002", "net/conv1/BatchNorm"), ("BN002", "net/conv2/BatchNorm"),
                                      ("BN003", "net/conv1/BatchNorm"), ("BN003", "net/conv2/BatchNorm"),
                                      ("BN007", "model/bn1"), ("BN007", "model/bn2")]
    with pytest.raises(TypeError):
        bncheck.check_path(str(META), executor=object())


@pytest.fixture
def dask_executor():
    distributed = pytest.importorskip("distributed")
    client = distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None)
    try:
        yield client.get_executor()
    finally:
        client.close()
        # Dask keeps an "offload" thread for the life of the process: with a thread running, every later
        # check in this pytest worker would spawn an interpreter per worker instead of forking (can_fork)
        offload = getattr(distributed.utils, "_offload_executor", None)
        if isinstance(offload, ThreadPoolExecutor):
            offload.shutdown(wait=True)
            distributed.utils._offload_executor = ThreadPoolExecutor(1, thread_name_prefix="Dask-Offload")  # lazy


def test_a_local_dask_cluster_checks_and_keeps_deadline_and_memory_limit_in_the_worker(dask_executor, tmp_path,
                                                                                      monkeypatch):
    # the task's own worker process is forked from the Dask worker and inherits a loader that hangs
    # on hang.pb and allocates 6 GiB on huge.pb (as in test_isolation): only the task's limits end them
    monkeypatch.setattr("bncheck.isolation.can_fork", lambda: True)
    monkeypatch.setattr(bncheck.engine, "load", _hanging_load(bncheck.engine.load))
    hang, huge = tmp_path / "hang.pb", tmp_path / "huge.pb"
    shutil.copy(META, hang)
    shutil.copy(META, huge)
    log = tmp_path / "threads.log"  # the task may be pickled by value: it reports through a file
    real_check_one = bncheck.executors.check_one

    def check_one(*args):  # type: ignore[no-untyped-def]
        with open(log, "a") as fh:
            fh.write(threading.current_thread().name + "\n")
        return real_check_one(*args)

    monkeypatch.setattr(bncheck.executors, "check_one", check_one)
    report = bncheck.check_path([str(hang), str(META), str(huge)], executor=dask_executor, timeout=2.0,
                                memory_mb=3072)
    assert [(e.source, e.reason) for e in report.errors] == [
        (str(hang), "gave up after 2 s"), (str(huge), "ran out of memory (limit: 3072 MiB)")]
    assert sorted(report.codes()) == [("BN007", "model/bn1"), ("BN007", "model/bn2")]
    assert report.checked == [str(META)]
    ran_in = log.read_text().splitlines()
    assert len(ran_in) == 3 and all("Dask-Default-Threads" in name for name in ran_in), ran_in
