"""The worker the ``bncheck`` command forks before importing its command line (bncheck.command):
the first pool takes it, with its memory limit; unused, it ends with the command; remote inputs,
mounted after it was forked, go to fresh workers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-started workers: Linux")


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _ended(pid: int, within: float) -> bool:
    limit = time.monotonic() + within
    while time.monotonic() < limit:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":  # exited, not yet reaped by init
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_the_first_pool_takes_the_prestarted_worker_with_its_memory_limit():
    out = _python(
        "import os, resource\n"
        "from bncheck import isolation\n"
        "def job(_):\n    return os.getpid(), resource.getrlimit(resource.RLIMIT_AS)[0]\n"
        "isolation.prestart('os:getcwd')\n"
        "first = isolation._prestarted.pid\n"
        "[a, b] = isolation.run_isolated('__main__:job', [0, 1], jobs=1, memory_mb=512)\n"
        "print(first, a.status, a.value[0], b.value[0], a.value[1] != resource.RLIM_INFINITY)\n")
    first, status, pid_a, pid_b, limited = out.split()
    assert (status, pid_a, pid_b, limited) == ("ok", first, first, "True")


@pytest.mark.parametrize("warm, how", [("os:getcwd", "end of input"), ("__main__:slow", "parent-death signal")])
def test_an_unused_prestarted_worker_ends_with_the_command(warm, how):
    out = _python(
        "import time\n"
        "from bncheck import isolation\n"
        "def slow():\n    time.sleep(60)\n"
        f"isolation.prestart({warm!r})\n"
        "print(isolation._prestarted.pid)\n")
    assert _ended(int(out), within=10), how


def test_remote_inputs_go_to_workers_forked_after_the_mount():
    fixture = ROOT / "fixtures" / "tf1" / "slim_resnet_v1_50_without_updates.meta"
    out = _python(
        "import json, fsspec\n"
        "from bncheck import isolation\n"
        "isolation.prestart('bncheck.engine:warm')\n"
        "fs = fsspec.filesystem('memory')\n"
        f"fs.put({str(fixture)!r}, '/bncheck-prestart/model.meta')\n"
        "from bncheck.engine import check_paths\n"
        "r = check_paths(['memory://bncheck-prestart/model.meta'], jobs=1)\n"
        "print(json.dumps([[f.code, f.layer] for f in r.findings]), json.dumps([str(e) for e in r.errors]))\n")
    findings, errors = _two_json(out)
    from bncheck.engine import check_paths

    local = check_paths([str(fixture)], isolate=False)
    assert errors == []
    assert findings == [[f.code, f.layer] for f in local.findings] != []


def _two_json(line: str) -> tuple[list, list]:
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(line)
    second, _ = decoder.raw_decode(line[end:].lstrip())
    return first, second


@pytest.mark.parametrize("argv, in_process, prestarted", [
    (["model.pb"], False, True),
    (["model.pb"], True, False),  # BNCHECK_IN_PROCESS=1: no worker would take it
    (["--version"], False, False),
    (["--list-rules"], False, False),
    (["--explain", "BN001"], False, False),
])
def test_the_command_prestarts_only_when_it_may_check(argv, in_process, prestarted):
    env = {k: v for k, v in os.environ.items() if k != "BNCHECK_IN_PROCESS"}
    if in_process:
        env["BNCHECK_IN_PROCESS"] = "1"
    code = (f"import sys; sys.argv = ['bncheck', *{argv!r}]\n"
            "from bncheck import isolation, command\n"
            "import bncheck.cli\n"
            "bncheck.cli.run = lambda: print(isolation._prestarted is not None)\n"
            "command.run()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout == f"{prestarted}\n", proc.stderr


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_import_before_their_memory_limit(start):
    """A parent that never imported numpy or the rules (the command, or `import bncheck`) hands
    out jobs under a 64 MiB limit: the imports happen before the limit is set, so they do not
    count against the input (numpy alone maps more than that)."""
    fixture = ROOT / "fixtures" / "tf1" / "slim_resnet_v1_50_without_updates.meta"
    out = _python(
        "import sys\n"
        "from bncheck import engine, isolation\n"
        f"[outcome] = isolation.run_isolated('bncheck.engine:check_target', [(engine.Target({str(fixture)!r}, 'file'), "
        f"engine.CheckOptions())], memory_mb=64, start={start!r}, warm='bncheck.engine:warm')\n"
        "print(outcome.status, len(outcome.value.findings), outcome.value.errors, 'numpy' in sys.modules)\n")
    # fork: this process imported them once, before forking; spawn: the worker did, then limited itself
    assert out.split(" ", 2)[:2] == ["ok", "53"]
    assert out.rsplit(" ", 1)[1].strip() == ("True" if start == "fork" else "False")


def test_the_command_with_two_workers_and_a_small_memory_limit():
    """The pre-started worker takes the first input; the second worker is forked after this
    process imported what checking needs."""
    tf1 = ROOT / "fixtures" / "tf1"
    paths = [str(tf1 / "slim_resnet_v1_50_without_updates.meta"), str(tf1 / "frozen_layers_training_true.pb")]
    proc = subprocess.run([sys.executable, "-m", "bncheck", "--jobs", "2", "--memory-limit", "64", "--format", "json",
                           *paths], capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert (proc.returncode, report["errors"], report["checked"]) == (1, [], paths)


def test_when_no_process_can_be_forked_the_command_checks_in_process():
    """fork() failing (EAGAIN: no process to spare) is neither a traceback at start-up nor a lost
    input: the early worker is skipped and the pool's failure falls back to checking in-process."""
    fixture = ROOT / "fixtures" / "tf1" / "slim_resnet_v1_50_without_updates.meta"
    code = ("import errno, os, sys\n"
            "def no_fork():\n    raise OSError(errno.EAGAIN, 'Resource temporarily unavailable')\n"
            "os.fork = no_fork\n"
            f"sys.argv = ['bncheck', '--format', 'json', {str(fixture)!r}]\n"
            "from bncheck.command import run\nrun()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert (proc.returncode, proc.stderr, len(report["findings"]), report["errors"]) == (1, "", 53, [])
    fds_code = ("import errno, os\n"
                "from bncheck import isolation\n"
                "before = len(os.listdir('/proc/self/fd'))\n"
                "os.fork = lambda: (_ for _ in ()).throw(OSError(errno.EAGAIN, 'no'))\n"
                "isolation.prestart('os:getcwd')\n"
                "print(isolation._prestarted, len(os.listdir('/proc/self/fd')) - before)\n")
    assert _python(fds_code) == "None 0\n"  # no worker, and the four pipe ends were closed


def test_the_prestarted_worker_imports_what_the_named_inputs_need(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bncheck.command import GUESS_ENTRIES, warm_for

    (tmp_path / "train.py").write_text("x = 1\n")
    (tmp_path / "cells.ipynb").write_text("{}")
    (tmp_path / "model.pb").write_bytes(b"")
    py, nb, pb = (str(tmp_path / name) for name in ("train.py", "cells.ipynb", "model.pb"))
    assert warm_for([py, "--output-format", "json"]) == "bncheck.engine:warm_source"
    assert warm_for([py, nb, "--show-notes"]) == "bncheck.engine:warm_source"
    assert warm_for([py, pb]) == "bncheck.engine:warm"
    assert warm_for([str(tmp_path)]) == "bncheck.engine:warm"  # a folder with an artefact
    assert warm_for([py, str(tmp_path)]) == "bncheck.engine:warm"
    code = tmp_path / "repo"  # a folder whose first entries are only code (a training repository)
    (code / "pkg" / "deep").mkdir(parents=True)
    (code / "pkg" / "train.py").write_text("x = 1\n")
    (code / ".git").mkdir()
    (code / ".git" / "model.pb").write_bytes(b"")  # hidden folders are not looked into
    assert warm_for([str(code)]) == warm_for([str(code), py]) == "bncheck.engine:warm_source"
    (code / "pkg" / "deep" / "variables.index").write_bytes(b"")  # a checkpoint below
    assert warm_for([str(code)]) == "bncheck.engine:warm"
    (code / "pkg" / "deep" / "variables.index").unlink()
    (code / "pkg" / "checkpoint").write_text("")
    assert warm_for([str(code)]) == "bncheck.engine:warm"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert warm_for([str(empty)]) == "bncheck.engine:warm"  # nothing known: the artefact loaders
    wide = tmp_path / "wide"  # past the entries looked at, nothing is known
    wide.mkdir()
    for i in range(GUESS_ENTRIES):
        (wide / f"notes{i}.txt").write_text("")
    (wide / "zz").mkdir()
    (wide / "zz" / "train.py").write_text("x = 1\n")
    assert warm_for([str(wide)]) == "bncheck.engine:warm"  # 257 entries before zz's (in any order)
    for i in range(10):
        (wide / f"notes{i}.txt").unlink()
    assert warm_for([str(wide)]) == "bncheck.engine:warm_source"  # 248 in all
    assert warm_for(["--stdin-filename", "train.py", "-"]) == "bncheck.engine:warm"
    assert warm_for([]) == "bncheck.engine:warm"
