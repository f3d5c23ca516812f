"""The mutation campaign: N deterministic mutants per format, each checked in a worker process
under a wall-clock budget and a memory limit, with the oracle of :mod:`fuzz.harness`.

    python fuzz/campaign.py                      # 10,000 mutants per format, 2 workers
    python fuzz/campaign.py --mutants 500 --formats h5 keras_zip --jobs 1
    python fuzz/campaign.py --replay h5:1234     # rebuild one mutant and show its verdict

Reports, per format: mutants checked, verdicts (ok / bug / outside / hang / memory / died), the
slowest mutant, the peak RSS of any worker and the largest RSS growth one mutant caused; every
failure is listed as ``format:number`` (rebuild it with ``--replay``) and written with the totals
to ``--out`` (JSON).

A mutant the oracle's worker could not finish (``hang``: over the budget, ``memory``, ``died``) is
then given to bncheck itself, end to end: ``python -m bncheck MUTANT --timeout BUDGET
--memory-limit MEMORY_MB``. It is *contained* when bncheck exits 2 within the budget plus
``--grace`` seconds with exactly one stderr line naming the file (``PATH: gave up after 10 s``);
``past budget`` counts the hangs bncheck itself did not answer in time, ``uncontained`` every
re-checked mutant that was not contained. The peak RSS of those runs (bncheck and its worker) is
reported too. Exit status 1 when a bug, a read outside the artefact or an uncontained mutant was
seen.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import pathlib
import resource
import signal
import subprocess
import sys
import threading
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fuzz import harness  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vm_size() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _worker(conn, base_seed: int, memory_mb: int) -> None:
    import faulthandler

    import bncheck.engine  # noqa: F401 - import before the limit and the first timing

    faulthandler.enable()  # a crash in C code (HDF5, protobuf) leaves its Python stack on stderr

    if memory_mb:
        limit = _vm_size() + (memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = pathlib.Path(tempfile.mkdtemp(prefix="bncheck-fuzz-"))
    os.setpgrp()  # a campaign killed with Ctrl-C or SIGTERM need not wait for its workers
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        fmt, number = job
        before = _rss_mb()
        try:
            seed, data = harness.mutant(fmt, number, base_seed)
            path = harness.materialize(seed, data, work / "m")
            verdict = harness.check_artefact(path, work / "m")
            result = {"status": verdict.status, "detail": verdict.detail, "seconds": verdict.seconds,
                      "errors": len(verdict.errors), "findings": verdict.findings, "seed": seed.name}
        except MemoryError:
            result = {"status": "memory", "detail": "MemoryError under the worker's limit", "seconds": 0.0}
        result["rss_mb"] = _rss_mb()
        result["growth_mb"] = result["rss_mb"] - before
        conn.send(result)


class _Worker:
    def __init__(self, base_seed: int, memory_mb: int) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.get_context("fork").Process(target=_worker, args=(child, base_seed, memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.job: tuple[str, int] | None = None
        self.since = 0.0

    def start(self, job: tuple[str, int]) -> None:
        self.job, self.since = job, time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()


#: verdicts of the oracle's worker that bncheck itself is then run on
RECHECKED = ("hang", "memory", "died")


def product_check(fmt: str, number: int, base_seed: int, budget: float, memory_mb: int, grace: float,
                  bncheck: tuple[str, ...] = (sys.executable, "-m", "bncheck")) -> dict:
    """bncheck itself on one mutant, as a user runs it: ``python -m bncheck MUTANT --timeout BUDGET
    --memory-limit MEMORY_MB``. Returns its wall time, exit status, stderr lines, the peak RSS of
    bncheck and its worker (``wait4`` counts reaped descendants) and whether it was contained: exit 2
    within ``budget + grace`` seconds with one stderr line naming the file. ``bncheck`` is the
    command that runs it (tests replace it)."""
    seed, data = harness.mutant(fmt, number, base_seed)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bncheck-recheck-"))
    path = harness.materialize(seed, data, folder / "m")
    command = [*bncheck, str(path), "--timeout", f"{budget:g}", "--jobs", "1"]
    if memory_mb:
        command += ["--memory-limit", str(memory_mb)]
    since = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder)
    # a last resort so that a bncheck that never answers cannot stall the campaign
    killer = threading.Timer(budget + grace + 60, proc.kill)
    killer.start()
    try:
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - since
    lines = stderr.splitlines()
    one_line = len(lines) == 1 and lines[0].startswith(f"bncheck: error: {path}: ")
    contained = proc.returncode == 2 and one_line and seconds <= budget + grace
    return {"exit": proc.returncode, "seconds": round(seconds, 2), "stderr": lines[:3],
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "contained": contained,
            "past_budget": seconds > budget + grace}


def run(formats: list[str], mutants: int, jobs: int, budget: float, memory_mb: int, base_seed: int,
        first: int = 0, grace: float = 3.0) -> dict:
    totals: dict = {"mutants_per_format": mutants, "budget_s": budget, "grace_s": grace, "memory_limit_mb": memory_mb,
                    "base_seed": base_seed, "formats": {}, "failures": []}
    pending = collections.deque((fmt, n) for fmt in formats for n in range(first, first + mutants))
    per = {fmt: {"checked": 0, "verdicts": collections.Counter(), "slowest_s": 0.0, "slowest": "",
                 "peak_rss_mb": 0.0, "max_growth_mb": 0.0, "max_growth": "", "seconds": 0.0,
                 "rechecked": 0, "past_budget": 0, "uncontained": 0, "recheck_peak_rss_mb": 0.0}
           for fmt in formats}
    workers = [_Worker(base_seed, memory_mb) for _ in range(jobs)]
    started = time.monotonic()
    last_print = started
    try:
        while pending or any(w.job for w in workers):
            for w in workers:
                if w.job is None and pending:
                    w.start(pending.popleft())
            ready = mp.connection.wait([w.conn for w in workers if w.job], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.job is None:
                    continue
                fmt, number = w.job
                stats = per[fmt]
                if w.conn in ready:
                    try:
                        result = w.conn.recv()
                    except EOFError:  # the worker died (a crash in C code, or the kernel's OOM killer)
                        result = {"status": "died", "detail": f"worker exit code {w.process.exitcode}",
                                  "seconds": now - w.since, "rss_mb": 0.0, "growth_mb": 0.0}
                        workers[i] = _Worker(base_seed, memory_mb)
                elif now - w.since > budget:
                    w.kill()
                    result = {"status": "hang", "detail": f"over {budget:g} s", "seconds": now - w.since,
                              "rss_mb": 0.0, "growth_mb": 0.0}
                    workers[i] = _Worker(base_seed, memory_mb)
                else:
                    continue
                w.job = None
                stats["checked"] += 1
                stats["verdicts"][result["status"]] += 1
                stats["seconds"] += result["seconds"]
                if result["seconds"] > stats["slowest_s"]:
                    stats["slowest_s"], stats["slowest"] = result["seconds"], f"{fmt}:{number}"
                stats["peak_rss_mb"] = max(stats["peak_rss_mb"], result["rss_mb"])
                if result["growth_mb"] > stats["max_growth_mb"]:
                    stats["max_growth_mb"], stats["max_growth"] = result["growth_mb"], f"{fmt}:{number}"
                if result["status"] != "ok":
                    failure = {"mutant": f"{fmt}:{number}", **{k: result.get(k) for k in ("status", "detail", "seed")}}
                    if result["status"] in RECHECKED:
                        product = product_check(fmt, number, base_seed, budget, memory_mb, grace)
                        failure["bncheck"] = product
                        stats["rechecked"] += 1
                        stats["past_budget"] += result["status"] == "hang" and product["past_budget"]
                        stats["uncontained"] += not product["contained"]
                        stats["recheck_peak_rss_mb"] = max(stats["recheck_peak_rss_mb"], product["peak_rss_mb"])
                    totals["failures"].append(failure)
                    print(f"  {failure}", flush=True)
            if time.monotonic() - last_print > 60:
                last_print = time.monotonic()
                done = sum(s["checked"] for s in per.values())
                print(f"[{done}/{len(formats) * mutants} in {last_print - started:.0f} s]", flush=True)
    finally:
        for w in workers:
            if w.job is None:
                try:
                    w.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            w.kill()
    for fmt, stats in per.items():
        stats["verdicts"] = dict(stats["verdicts"])
        stats["seconds"] = round(stats["seconds"], 1)
        totals["formats"][fmt] = stats
    totals["wall_s"] = round(time.monotonic() - started, 1)
    return totals


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # runs the ``finally`` that kills the workers


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", nargs="*", default=list(harness.FORMATS), choices=list(harness.FORMATS))
    parser.add_argument("--mutants", type=int, default=10_000, help="mutants per format (default 10,000)")
    parser.add_argument("--first", type=int, default=0, help="number of the first mutant")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds one mutant may take (default 10)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address space a worker may add (default 2048)")
    parser.add_argument("--grace", type=float, default=3.0,
                        help="seconds past the budget bncheck itself may take to give up on a mutant (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the mutants")
    parser.add_argument("--out", default="", help="write the totals as JSON here")
    parser.add_argument("--replay", default="", help="format:number: rebuild one mutant, print its verdict")
    args = parser.parse_args(argv)
    if args.replay:
        fmt, number = args.replay.split(":")
        seed, data = harness.mutant(fmt, int(number), args.seed)
        folder = pathlib.Path(tempfile.mkdtemp(prefix="bncheck-replay-"))
        path = harness.materialize(seed, data, folder / "m")
        print(f"seed {seed.name}; artefact {path}")
        print(harness.check_artefact(path, folder / "m"))
        return 0
    totals = run(args.formats, args.mutants, args.jobs, args.budget, args.memory_mb, args.seed, args.first,
                 args.grace)
    print(f"{'format':<14}{'checked':>8}{'ok':>8}{'bug':>6}{'outside':>8}{'hang':>6}{'memory':>7}{'died':>6}"
          f"{'past budget':>12}{'uncontained':>12}{'slowest s':>11}{'peak RSS MB':>13}{'max growth MB':>15}")
    for fmt, s in totals["formats"].items():
        v = s["verdicts"]
        print(f"{fmt:<14}{s['checked']:>8}{v.get('ok', 0):>8}{v.get('bug', 0):>6}{v.get('outside', 0):>8}"
              f"{v.get('hang', 0):>6}{v.get('memory', 0):>7}{v.get('died', 0):>6}{s['past_budget']:>12}"
              f"{s['uncontained']:>12}{s['slowest_s']:>11.2f}{s['peak_rss_mb']:>13.0f}{s['max_growth_mb']:>15.0f}")
    per = totals["formats"].values()
    summary = {
        "internal errors (bug)": sum(s["verdicts"].get("bug", 0) for s in per),
        "reads outside the artefact": sum(s["verdicts"].get("outside", 0) for s in per),
        "over the budget in the oracle's worker": sum(s["verdicts"].get("hang", 0) for s in per),
        f"hangs past the budget (bncheck itself over {args.budget:g} + {args.grace:g} s)":
            sum(s["past_budget"] for s in per),
        "re-checked with bncheck and not contained": sum(s["uncontained"] for s in per),
        "peak worker RSS MB (all mutants)": round(max((s["peak_rss_mb"] for s in per), default=0.0)),
        "peak RSS MB of bncheck on the re-checked mutants": round(max((s["recheck_peak_rss_mb"] for s in per),
                                                                      default=0.0)),
    }
    totals["summary"] = summary
    for what, value in summary.items():
        print(f"{what}: {value}")
    print(f"wall time {totals['wall_s']} s; {len(totals['failures'])} failure(s)")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(totals, indent=1))
    uncontained = any(f["status"] in ("bug", "outside") or not f.get("bncheck", {}).get("contained", False)
                      for f in totals["failures"])
    return 1 if uncontained else 0


if __name__ == "__main__":
    sys.exit(main())
