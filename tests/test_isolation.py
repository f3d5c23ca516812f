"""Worker processes: hard deadline, memory limit, crashes, stable order, both start methods, the API
from ``python -c`` / stdin / a threaded host (the way Jupyter runs it), and the CLI's one-line outcomes."""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

import bncheck.engine
from bncheck.cli import main
from bncheck.engine import check_paths
from bncheck.isolation import Pool, run_isolated
from conftest import FIXTURES, ROOT

META = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warnings on model/bn1, model/bn2
CLEAN = FIXTURES / "tf1" / "layers_resource_update_ops_wired.meta"
HERE = "test_isolation"  # this module, importable in spawned workers through PYTHONPATH


# ---- jobs the workers run (module level: spawned workers import them by name) --------------

def job_echo(value):
    return ("echo", value, os.getpid())


def job_sleep(seconds):
    time.sleep(seconds)
    return seconds


def job_block_on_fifo(fifo):
    """Blocks in open() of a FIFO nobody writes, with every catchable signal ignored: only a kill ends it."""
    for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    with open(fifo, "rb") as fh:
        return fh.read()


def job_allocate(gib):
    block = bytearray(int(gib * (1 << 30)))
    return len(block)


def job_segfault(_):
    os.kill(os.getpid(), signal.SIGSEGV)


def job_raise(_):
    raise ValueError("bad value in job")


START_METHODS = ["fork", "spawn"] if sys.platform.startswith("linux") else ["spawn"]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "never_written.fifo"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("start", START_METHODS)
def test_a_hang_is_killed_at_the_deadline_and_the_other_jobs_still_run(start, fifo):
    outcomes = run_isolated(f"{HERE}:job_block_on_fifo", [fifo], timeout=1.0, jobs=1, start=start)
    assert [(o.status, o.detail) for o in outcomes] == [("timeout", "")]
    assert outcomes[0].seconds >= 1.0  # never given up before the deadline
    with Pool(jobs=1, timeout=3.0, start=start) as pool:  # 3 s: a spawned echo on a loaded CI machine
        first = pool.map(f"{HERE}:job_echo", ["a"])
        mixed = pool.map(f"{HERE}:job_block_on_fifo", [fifo])
        after = pool.map(f"{HERE}:job_echo", ["b", "c"])
    assert [o.status for o in first + mixed + after] == ["ok", "timeout", "ok", "ok"]
    assert first[0].value[2] != after[0].value[2]  # the hung worker was replaced by a fresh one
    assert after[0].value[2] == after[1].value[2]  # ... which then stays warm


@pytest.mark.parametrize("start", START_METHODS)
def test_results_keep_the_order_of_the_inputs_with_several_jobs(start):
    delays = [0.6, 0.0, 0.3, 0.0, 0.1]
    outcomes = run_isolated(f"{HERE}:job_sleep", delays, jobs=3, timeout=10, start=start)
    assert [o.status for o in outcomes] == ["ok"] * 5
    assert [o.value for o in outcomes] == delays


@pytest.mark.parametrize("start", START_METHODS)
def test_memory_limit_crash_and_exception_are_outcomes_not_failures(start):
    outcomes = run_isolated(f"{HERE}:job_allocate", [3.0, 0.01], jobs=1, timeout=20, memory_mb=256, start=start)
    assert [o.status for o in outcomes] == ["memory", "ok"]
    outcomes = run_isolated(f"{HERE}:job_segfault", [None], jobs=1, timeout=20, start=start)
    assert (outcomes[0].status, outcomes[0].detail) == ("died", "killed by SIGSEGV")
    outcomes = run_isolated(f"{HERE}:job_raise", [None], jobs=1, timeout=20, start=start)
    assert (outcomes[0].status, outcomes[0].detail) == ("error", "ValueError: bad value in job")


def test_a_warm_pool_costs_little_per_input():
    """Counted, not timed: two forked workers do all 200 inputs (no process per input)."""
    arguments = list(range(200))
    outcomes = run_isolated(f"{HERE}:job_echo", arguments, jobs=2, timeout=10, start="fork")
    assert [o.value[1] for o in outcomes] == arguments
    assert len({o.value[2] for o in outcomes}) <= 2  # at most two workers did all 200


def test_isolated_and_in_process_reports_are_identical():
    paths = [str(FIXTURES / "tf1"), str(FIXTURES / "keras3" / "momentum_0.1.keras"), "missing.pb"]
    isolated = check_paths(paths, jobs=2)
    in_process = check_paths(paths, isolate=False)
    assert isolated.to_dict() == in_process.to_dict()
    assert len(isolated.checked) > 20 and [e.source for e in isolated.errors] == ["missing.pb"]


# ---- the command line: one line per input that could not be judged ----------------------------

def _hanging_load(real_load):
    def load(target):
        name = os.path.basename(target.path)
        if name.startswith("hang"):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:  # the shape of HDF5 spinning in C: no Python-level way out
                time.sleep(0.05)
        if name.startswith("huge"):
            return [bytearray(6 << 30)]
        if name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_load(target)
    return load


@pytest.fixture
def misbehaving(tmp_path, monkeypatch):
    """Files whose loading hangs, allocates 6 GiB or kills the worker (forked workers inherit the patch)."""
    monkeypatch.setattr("bncheck.isolation.can_fork", lambda: True)
    monkeypatch.setattr(bncheck.engine, "load", _hanging_load(bncheck.engine.load))
    files = {}
    for name in ("hang.pb", "huge.pb", "crash.pb"):
        files[name] = tmp_path / name
        shutil.copy(META, files[name])
    return files


def test_cli_gives_up_on_a_hang_after_the_timeout_and_checks_the_rest(misbehaving):
    result = CliRunner().invoke(main, [str(META), str(misbehaving["hang.pb"]), str(CLEAN), "--timeout", "1.5",
                                       "--jobs", "2"])
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {misbehaving['hang.pb']}: gave up after 1.5 s\n"
    assert "BN007" in result.stdout and "in 2 inputs; 1 could not be read" in result.stdout


def test_cli_reports_memory_exhaustion_and_a_killed_worker_in_one_line_each(misbehaving):
    result = CliRunner().invoke(main, [str(misbehaving["huge.pb"]), str(misbehaving["crash.pb"]), str(META),
                                       "--memory-limit", "3072", "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"bncheck: error: {misbehaving['huge.pb']}: ran out of memory (limit: 3072 MiB)",
        f"bncheck: error: {misbehaving['crash.pb']}: the process checking it ended abruptly (killed by SIGKILL)",
    ]
    assert "in 1 input; 2 could not be read" in result.stdout


def test_an_internal_crash_exits_2_with_one_line(monkeypatch):
    def broken(*_, **__):
        raise RuntimeError("broken\nsecond line")
    monkeypatch.setattr("bncheck.cli.check_paths", broken)
    result = CliRunner().invoke(main, [str(META)])
    assert result.exit_code == 2
    assert result.stderr == "bncheck: internal error: RuntimeError: broken\\nsecond line\n"


def test_jobs_and_timeout_are_validated():
    assert CliRunner().invoke(main, [str(META), "--jobs", "0"]).exit_code == 2
    assert CliRunner().invoke(main, [str(META), "--timeout", "0"]).exit_code == 2


# ---- the API where the caller's __main__ cannot be re-imported ---------------------------------

def _python(code: str, *, stdin: bool, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    args = [sys.executable, "-"] if stdin else [sys.executable, "-c", code]
    return subprocess.run(args, input=code if stdin else None, capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=120)


def api_script(extra: str = "") -> str:
    return textwrap.dedent(f"""
        import threading, time
        {extra}
        import bncheck
        from bncheck.isolation import can_fork
        report = bncheck.check_path([{str(META)!r}, {str(FIXTURES / 'keras3')!r}], timeout=30)
        print(can_fork(), sorted(set(f.code for f in report)), len(report.checked), len(report.errors))
    """)


@pytest.mark.parametrize("stdin", [False, True], ids=["python -c", "python - (stdin)"])
def test_api_from_c_and_stdin_uses_forked_workers(stdin):
    result = _python(api_script(), stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 1)[0] == "True"
    assert result.stdout.endswith("0\n") and "BN007" in result.stdout


@pytest.mark.parametrize("stdin", [False, True], ids=["python -c", "python - (stdin)"])
def test_api_in_a_threaded_host_like_jupyter_spawns_workers(stdin):
    # a Jupyter kernel runs threads and its __main__ has no __file__: workers are spawned with
    # `python -m bncheck.isolation`, which never re-imports the caller's __main__
    extra = "threading.Thread(target=time.sleep, args=(20,), daemon=True).start()"
    result = _python(api_script(extra), stdin=stdin)
    assert result.returncode == 0, result.stderr
    first, codes_and_counts = result.stdout.split(" ", 1)
    assert first == "False"
    assert "BN007" in codes_and_counts and result.stdout.endswith(" 0\n")


def test_spawned_workers_do_not_run_the_callers_script(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(f"""
        import pathlib, threading, time
        import bncheck
        with open({str(marker)!r}, "a") as fh:  # a script without a __main__ guard
            fh.write("x")
        threading.Thread(target=time.sleep, args=(20,), daemon=True).start()
        print(len(bncheck.check_path({str(FIXTURES / 'tf1')!r}).checked) > 20)
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr
    assert marker.read_text() == "x"


def test_workers_are_gone_after_a_check(tmp_path):
    before = set(_children())
    check_paths([str(FIXTURES / "tf1")], jobs=2)
    assert set(_children()) - before == set()


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found.append(int(entry.name))
    return found


# ---- checksums of large tensors stay far inside the deadline -----------------------------------

def test_crc32c_is_native_and_matches_the_pure_python_fallback(monkeypatch):
    from bncheck.loaders.checkpoint_bundle import crc32c

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    data = os.urandom(1 << 16) * 64  # 4 MiB
    start = time.process_time()
    crc32c(data)
    native_cpu = time.process_time() - start
    native = crc32c(data[: 1 << 18])
    monkeypatch.setitem(sys.modules, "google_crc32c", None)  # as if the package were missing
    assert crc32c(b"123456789") == 0xE3069283
    start = time.process_time()
    assert crc32c(data[: 1 << 18]) == native
    fallback_cpu = (time.process_time() - start) * 16  # per 4 MiB
    assert fallback_cpu / max(native_cpu, 1e-4) > 20  # native: about 1,000x; the fallback: 6 s per 64 MiB


@pytest.mark.parametrize("start", START_METHODS)
def test_a_hung_worker_dies_with_its_parent(start, fifo, tmp_path):
    """A CI timeout that SIGKILLs bncheck must not leave a worker spinning in C code behind."""
    pid_file = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        from bncheck.isolation import run_isolated
        run_isolated("test_isolation:job_write_pid_and_hang", [({str(pid_file)!r}, {fifo!r})], timeout=None,
                     start={start!r})
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker):
        assert time.monotonic() < deadline, "the hung worker outlived its parent"
        time.sleep(0.05)


def job_write_pid_and_hang(argument):
    pid_file, fifo = argument
    pathlib.Path(pid_file).write_text(str(os.getpid()))
    return job_block_on_fifo(fifo)


def _alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_docs_document_the_isolation_options():
    readme = (ROOT / "docs" / "usage.md").read_text()
    for option in ("--jobs N", "--timeout SECONDS", "--memory-limit MIB", "gave up after 60 s"):
        assert option in readme, option
    defaults = {p.name: p.default for p in main.params}
    assert (defaults["jobs"], defaults["timeout"], defaults["memory_limit"]) == (None, 60.0, 4096)
    assert "(default 60)" in readme and "(default 4096)" in readme


def test_check_path_in_a_real_jupyter_kernel_uses_spawned_workers_and_renders_a_fragment():
    """A headless notebook (nbclient + ipykernel): the kernel runs threads, so workers are spawned;
    the report cell renders as an HTML fragment."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import bncheck\nfrom bncheck.isolation import can_fork\n"
            f"report = bncheck.check_path([{str(META)!r}, {str(FIXTURES / 'keras3' / 'momentum_0.1.keras')!r}])\n"
            "print(can_fork(), sorted({(f.code, f.layer) for f in report}), report.errors)"),
        nbformat.v4.new_code_cell("report"),
    ]
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs if o["output_type"] == "stream")
    assert printed == ("False [('BN007', 'bn1'), ('BN007', 'bn2'), ('BN007', 'model/bn1'), ('BN007', 'model/bn2')] "
                       "[]\n")
    html = next(o["data"]["text/html"] for o in nb.cells[1].outputs if o["output_type"] == "execute_result")
    assert html.startswith('<div class="bncheck-report">') and html.count("<details open>") == 2
