"""Batches of jobs sent to a worker at once (source programs, most of them one small file): each job
keeps its own deadline, memory limit and outcome, a job killed inside a batch is the only one that
fails, and the engine's reports are the same however the programs are batched."""
from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import FIXTURES
from test_isolation import START_METHODS, fifo  # noqa: F401  (fifo: the fixture, used by name)

import bncheck.engine
import bncheck.source
from bncheck.engine import SourceJob, batches, check_paths
from bncheck.isolation import run_isolated

HERE = "test_isolation_batches"  # this module, importable in spawned workers through PYTHONPATH


def job(order):
    """What the test asks: ("echo", x), ("sleep", s), ("fifo", path), ("segv", _), ("alloc", GiB)."""
    what, value = order
    if what == "sleep":
        time.sleep(value)
    elif what == "fifo":  # blocks in open() with every catchable signal ignored: only a kill ends it
        for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        with open(value, "rb") as fh:
            fh.read()
    elif what == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif what == "alloc":
        return len(bytearray(int(value * (1 << 30))))
    return value, os.getpid()


@pytest.mark.parametrize("start", START_METHODS)
def test_a_batch_is_one_worker_and_one_outcome_per_job_in_order(start):
    orders = [("echo", "a"), ("echo", "b"), ("echo", "c"), ("echo", "d")]
    outcomes = run_isolated(f"{HERE}:job", orders, jobs=1, timeout=20, start=start, batches=[[0, 1, 2], [3]])
    assert [(o.status, o.value[0]) for o in outcomes] == [("ok", "a"), ("ok", "b"), ("ok", "c"), ("ok", "d")]
    assert len({o.value[1] for o in outcomes}) == 1  # one warm worker did both batches


@pytest.mark.parametrize("start", START_METHODS)
def test_each_job_of_a_batch_has_the_whole_deadline_and_a_hang_fails_alone(start, fifo):  # noqa: F811
    """Two 0.7 s jobs in a batch under a 1.5 s deadline both finish (1.4 s together would not if the
    deadline were the batch's... and 2.1 s with the third); the hung one is killed at its own
    deadline, and the job after it runs in a fresh worker."""
    orders = [("echo", "a"), ("sleep", 0.7), ("sleep", 0.7), ("sleep", 0.7), ("fifo", fifo), ("echo", "b")]
    since = time.monotonic()
    outcomes = run_isolated(f"{HERE}:job", orders, jobs=1, timeout=1.5, start=start, batches=[list(range(6))])
    assert [o.status for o in outcomes] == ["ok", "ok", "ok", "ok", "timeout", "ok"]
    assert [o.value[0] for o in outcomes if o.status == "ok"] == ["a", 0.7, 0.7, 0.7, "b"]
    assert outcomes[4].seconds >= 1.5  # never given up before its own deadline
    assert time.monotonic() - since >= 2.1 + 1.5
    assert outcomes[0].value[1] == outcomes[3].value[1] != outcomes[5].value[1]  # killed, then a fresh worker


@pytest.mark.parametrize("start", START_METHODS)
def test_a_crash_or_memory_error_in_a_batch_is_that_jobs_outcome_only(start):
    orders = [("echo", "a"), ("segv", None), ("echo", "b"), ("alloc", 3.0), ("echo", "c")]
    outcomes = run_isolated(f"{HERE}:job", orders, jobs=1, timeout=20, memory_mb=256, start=start,
                            batches=[list(range(5))])
    assert [(o.status, o.detail) for o in outcomes] == [
        ("ok", ""), ("died", "killed by SIGSEGV"), ("ok", ""), ("memory", ""), ("ok", "")]
    assert outcomes[0].value[1] != outcomes[2].value[1] == outcomes[4].value[1]  # the memory error kept its worker


def _source_job(name: str) -> SourceJob:
    return SourceJob(((name, "x = 1\n"),), "/", (bncheck.engine.CheckOptions(),))


def test_programs_are_batched_in_order_with_artefacts_alone():
    target = bncheck.engine.Target("/m.pb", "graphdef")
    work = [_source_job(f"/p{i}.py") for i in range(10)]
    work.insert(3, (target, bncheck.engine.CheckOptions()))
    # 10 programs, 1 worker: at least 4 batches -> 3 programs each; the artefact goes alone
    assert batches(work, 1) == [[3], [0, 1, 2], [4, 5, 6], [7, 8, 9], [10]]
    assert batches(work, 2) == [[3], [0, 1], [2, 4], [5, 6], [7, 8], [9, 10]]  # 8 batches at most: 2 each
    assert batches(work[:3], 1) == [[0], [1], [2]]
    big = [SourceJob(((f"/b{i}.py", "#" * (600 << 10)),), "/", (bncheck.engine.CheckOptions(),)) for i in range(40)]
    assert batches(big, 1) == [[i] for i in range(40)]  # 600 KiB each: two would pass the 1 MiB of a batch
    many = [_source_job(f"/p{i}.py") for i in range(1000)]
    assert [len(b) for b in batches(many, 1)] == [64] * 15 + [40]


def _misbehaving(real):
    def check_program(files, root, selections, followed=()):
        if os.path.basename(files[0][0]).startswith("hang"):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
        return real(files, root, selections, followed)
    return check_program


SCRIPTS = FIXTURES / "source"
BIAS = "keras_conv_bias_before_bn.py"  # BN010 at 6:5 and 9:5


def test_a_program_that_hangs_inside_a_batch_is_the_only_one_given_up(tmp_path, monkeypatch):
    monkeypatch.setattr("bncheck.isolation.can_fork", lambda: True)
    monkeypatch.setattr(bncheck.source, "check_program", _misbehaving(bncheck.source.check_program))
    names = [f"m{i:02d}.py" for i in range(12)]
    names[5] = "hang.py"
    for name in names:
        (tmp_path / name).write_text((SCRIPTS / BIAS).read_text())
    sent: list[list[list[int]]] = []
    real_batches = bncheck.engine.batches
    monkeypatch.setattr(bncheck.engine, "batches", lambda work, n: sent.append(real_batches(work, n)) or sent[-1])
    report = check_paths([str(tmp_path / n) for n in names], jobs=1, timeout=1.5)
    assert sent == [[[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]]  # hang.py is the last of the second batch
    assert [(e.source, e.reason) for e in report.errors] == [(str(tmp_path / "hang.py"), "gave up after 1.5 s")]
    fine = [str(tmp_path / n) for n in names if n != "hang.py"]
    assert sorted(report.checked) == sorted(fine)
    assert sorted((f.path, f.code, f.line) for f in report.findings) == sorted(
        (p, "BN010", line) for p in fine for line in (6, 9))


def test_findings_notes_and_errors_are_the_same_batched_or_not(tmp_path, monkeypatch):
    """Every fixture script (clean twins, Python 2, notebooks, helpers that import each other, a syntax
    error) checked in workers with the default batches, one program per batch, and in this process."""
    (tmp_path / "broken.py").write_text("import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization()\ndef (:\n")
    paths = [str(SCRIPTS), str(tmp_path / "broken.py")]

    def run(**options):
        report = check_paths(paths, jobs=1, **options)
        return (sorted((f.path, f.line, f.column, f.cell, f.code, f.layer, f.message, f.edits) for f in report.findings),
                sorted(report.notes), sorted((e.source, e.reason) for e in report.errors), sorted(report.checked))

    batched = run()
    monkeypatch.setattr(bncheck.engine, "BATCH_PROGRAMS", 1)
    alone = run()
    in_process = run(isolate=False)
    assert batched == alone == in_process
    findings, _notes, errors, checked = batched
    assert len(findings) > 50 and len(checked) > 100  # the whole fixture tree, not an empty run
    assert errors == [(str(tmp_path / "broken.py"), "not valid Python: invalid syntax (line 3)")]
