"""Issue 20 item 16: the worker pool without ``select.select`` on pipes (Windows cannot), the spawn
path as macOS and Windows run it, the parent watch where there is no ``prctl``, the docs'
per-system limits and the project's own CI workflow."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bncheck.isolation import Pool
from conftest import ROOT

HERE = "test_portability"  # importable by spawned workers through PYTHONPATH


def job_ready():
    """Passed as ``warm``: a spawned worker imports this module (pytest, bncheck) before it reports
    ready, so a job's deadline never pays for that import (a loaded machine took seconds)."""


def job_echo(value):
    return ("echo", value)


def job_sleep(seconds):
    time.sleep(seconds)
    return seconds


def job_allocate(gib):
    return len(bytearray(int(gib * (1 << 30))))


def _no_select(*_args, **_kwargs):
    raise AssertionError("select.select on a pipe: Windows supports it only for sockets")


@pytest.mark.parametrize("start", ["fork", "spawn"] if sys.platform.startswith("linux") else ["spawn"])
def test_the_pool_never_selects_on_pipes(start, monkeypatch):
    monkeypatch.setattr(select, "select", _no_select)
    with Pool(jobs=2, timeout=3.0, start=start, warm=f"{HERE}:job_ready") as pool:
        outcomes = pool.map(f"{HERE}:job_sleep", [3600, 0.01, 0.02])
    assert [o.status for o in outcomes] == ["timeout", "ok", "ok"]
    assert [o.value for o in outcomes[1:]] == [0.01, 0.02]


def test_spawned_workers_as_windows_and_macos_run_them_keep_deadline_order_and_errors():
    """The spawn path on Linux exactly as elsewhere: a reader thread per worker, a queue, the parent's kill."""
    before = threading.active_count()
    with Pool(jobs=2, timeout=3.0, start="spawn", memory_mb=None, warm=f"{HERE}:job_ready") as pool:
        outcomes = pool.map(f"{HERE}:job_echo", list(range(5)))
        assert [o.value for o in outcomes] == [("echo", i) for i in range(5)]
        assert len([t for t in threading.enumerate() if t.name.startswith("bncheck-worker-")]) == 2
        hung = pool.map(f"{HERE}:job_sleep", [3600])
    assert hung[0].status == "timeout" and 3.0 <= hung[0].seconds < 60
    deadline = time.monotonic() + 30
    while threading.active_count() > before:  # the reader threads end with their workers
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux")
def test_forked_workers_work_with_descriptors_above_fd_setsize():
    """select.select raises 'filedescriptor out of range' for a descriptor >= 1024 (a notebook with
    many open files); the selectors-based wait does not care."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open 1100 descriptors here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with Pool(jobs=1, timeout=30.0, start="fork") as pool:
            outcomes = pool.map(f"{HERE}:job_echo", ["a", "b"])
            assert pool.workers[0].replies.fileno() > 1024
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert [o.value for o in outcomes] == [("echo", "a"), ("echo", "b")]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX re-parenting; Windows waits on the parent's handle")
def test_the_parent_watch_ends_a_worker_whose_parent_died(tmp_path):
    """macOS and other POSIX systems have no prctl: a thread notices the re-parenting."""
    pid_file = tmp_path / "child.pid"
    child = textwrap.dedent(f"""
        import os, pathlib, time
        from bncheck.isolation import _watch_parent_id
        _watch_parent_id(os.getppid(), interval=0.05)
        pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))
        time.sleep(3600)
    """)
    # the parent (bash) starts the child in the background, waits for it to be watching, and exits
    script = f'{sys.executable} -c "$CHILD" & while [ ! -s {pid_file} ]; do sleep 0.05; done'
    subprocess.run(["bash", "-c", script], env={**os.environ, "CHILD": child, "PYTHONPATH": str(ROOT)},
                   timeout=120, check=True)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while _alive(pid):
        assert time.monotonic() < deadline, "the worker outlived its parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    if not os.path.isdir("/proc"):  # macOS: the orphan is reaped by launchd
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_docs_say_which_limits_hold_where():
    readme = (ROOT / "docs" / "untrusted-inputs.md").read_text()
    assert "| Limit | Linux | macOS | Windows |" in readme
    for row in ("| Deadline (`--timeout`) | yes | yes | yes |", "| Memory limit (`--memory-limit`) | yes | no | no |"):
        assert row in readme, row


def test_the_projects_ci_workflow_runs_on_three_systems():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    assert jobs["linux"]["runs-on"] == "ubuntu-latest"
    assert sorted(jobs["portable"]["strategy"]["matrix"]["os"]) == ["macos-latest", "windows-latest"]
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert set(uses) == {"actions/checkout@v4", "actions/setup-python@v5"}
    linux_runs = [s["run"] for s in jobs["linux"]["steps"] if "run" in s]
    assert linux_runs == [".ci/run"]
    portable = " ".join(s.get("run", "") for s in jobs["portable"]["steps"])
    assert "python -m pytest tests/test_portability.py" in portable and "bncheck fixtures/tf1" in portable
