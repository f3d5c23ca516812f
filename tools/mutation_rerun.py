"""Rerun mutants of a kept mutmut work folder against chosen tests: which does a new test kill?

    python tools/mutation_rerun.py WORK --tests tests/test_x.py [tests/support.py ...] [--module bncheck.source.following] [NAME ...]

``WORK`` is a folder kept by ``tools/mutation.py --keep``. The files given to ``--tests`` are copied
into ``WORK/mutants/tests/`` (a test and the support modules it imports), then each mutant (by name,
or every survivor of ``--module`` in mutmut's results) runs those tests in a child forked from a
process that imported pytest and the mutated bncheck once, with ``MUTANT_UNDER_TEST`` set to it and
``BNCHECK_IN_PROCESS=1`` (a worker process would import the installed, unmutated bncheck). The
tests first run with no mutant switched on: a test that fails there kills nothing, and the tool
stops. Prints ``killed``, ``survived`` or ``timeout`` per mutant and the counts.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import sys
import time


def survivors(work: pathlib.Path, module: str) -> list[str]:
    """Mutants of ``module`` that mutmut's run left alive (exit 0) or reached with no test (exit 33/5)."""
    meta = work / "mutants" / (module.replace(".", "/") + ".py.meta")
    if not meta.exists():
        meta = work / "mutants" / module.replace(".", "/") / "__init__.py.meta"
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted((name for name, code in codes.items() if code in (0, 5, 33)),
                  key=lambda n: (n.rsplit("__mutmut_", 1)[0], int(n.rsplit("__mutmut_", 1)[1])))


def run_one(name: str, tests: list[str], timeout: float) -> str:
    pid = os.fork()
    if pid == 0:  # child
        try:
            import pytest
            os.environ["MUTANT_UNDER_TEST"] = name
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            code = pytest.main([*tests, "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
            os._exit(int(code))
        except BaseException:
            os._exit(99)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else "killed" if code == 1 else f"error (exit {code})"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=pathlib.Path)
    parser.add_argument("--tests", nargs="+", required=True, help="test files (and the support modules they import)")
    parser.add_argument("--select", default="", help="a pytest -k expression choosing tests of those files")
    parser.add_argument("--module", help="rerun every survivor of this module (e.g. bncheck.source.following)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a mutant may take")
    parser.add_argument("names", nargs="*")
    args = parser.parse_intermixed_args()
    mutants = args.work.resolve() / "mutants"
    copied = []
    for test in args.tests:
        shutil.copyfile(test, mutants / "tests" / pathlib.Path(test).name)
        if pathlib.Path(test).name.startswith("test_"):
            copied.append(f"tests/{pathlib.Path(test).name}")
    if args.select:
        copied += ["-k", args.select]
    os.chdir(mutants)
    sys.path.insert(0, str(mutants))
    os.environ["BNCHECK_IN_PROCESS"] = "1"
    import pytest  # noqa: F401  (imported once, before the forks)
    import bncheck.source  # noqa: F401
    names = list(args.names) + (survivors(args.work, args.module) if args.module else [])
    baseline = run_one("none", copied, args.timeout)
    if baseline != "survived":
        sys.exit(f"the tests fail with no mutant switched on ({baseline}): fix them first")
    counts: dict[str, int] = {}
    for name in names:
        verdict = run_one(name, copied, args.timeout)
        counts[verdict] = counts.get(verdict, 0) + 1
        print(f"{name}: {verdict}", flush=True)
    print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no mutants")


if __name__ == "__main__":
    main()
