"""Fuzzing what bncheck reads and writes besides models: Python sources through ``--diff`` and
``--fix``, config files, baselines, and local URLs over folders full of symlinks.

    python fuzz/surfaces.py                          # 500 mutants per surface
    python fuzz/surfaces.py --surfaces config --mutants 2000 --seed 7
    python fuzz/surfaces.py --replay source:123      # rebuild one mutant and show its verdict

Surfaces and their oracles (every mutant is checked in this process, with no catch-all):

- ``source``: a fixture script byte-mutated and reshaped (BOM, CRLF, form feeds, a last line without
  line end, NUL, tabs), or, every third mutant, a program generated from Python's grammar by
  ``hypothesmith`` with a batch norm appended. It is put in a repository beside a symlink to a file
  outside it; ``--diff`` then ``--fix`` run on the repository. A bug is: any exception, an output
  line that is not one ``bncheck:`` line, an error wrapping a Python bug, a write outside the
  repository or through the link, a fixed file that no longer compiles when the original did, a
  lost BOM or mode, a temporary file left behind, or a ``--diff`` that ``git apply`` refuses or
  that gives another file than ``--fix`` wrote.
- ``config``: a ``pyproject.toml`` generated from the settings' structure with values of every
  TOML type (control characters, deep nesting, typos, huge strings), sometimes byte-mutated, read
  by ``bncheck --config FILE --show-settings``: exit 0 with JSON, or exit 2 with one error line;
  never a traceback or a forged line.
- ``baseline``: a baseline with entries retyped, dropped, nested or multiplied, sometimes
  byte-mutated, read and applied to a real report: a result, or one error line naming the file.
- ``urls``: a folder of models, sources and symlinks (to files and folders inside and outside it,
  dangling, looping, to ``/etc/passwd``), a FIFO; checked as a path, ``local://``, ``file://`` and
  ``simplecache::file://``: nothing outside the folder is opened, and the local URLs give the
  plain path's verdict.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import os
import pathlib
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from typing import Any, Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fuzz.harness import BUG_TYPES, FIXTURES  # noqa: E402
from fuzz.mutators import mutate_bytes, mutate_json  # noqa: E402

SURFACES = ("source", "config", "baseline", "urls")
SOURCE_SEEDS = sorted((FIXTURES / "source").glob("*.py"))
MODEL = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 on model/bn1, model/bn2
BOM = b"\xef\xbb\xbf"
_BN_TAILS = ("import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\n",
             "import keras\nm = keras.Sequential([keras.layers.BatchNormalization(momentum=1.0, name='b')])\n",
             "import tensorflow as tf\nx = tf.compat.v1.layers.batch_normalization(x, training=True, momentum=0.5)\n")


@dataclass
class Verdict:
    status: str = "ok"  # ok, bug, outside
    detail: str = ""
    seconds: float = 0.0
    changed: bool = False  # a source mutant --fix rewrote


# -- watching for opens outside ----------------------------------------------------------------

_FORBIDDEN: list[str] = []  # real paths no open may reach while a mutant is checked
_SEEN: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _FORBIDDEN or event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    real = _real(args[0])
    if real is not None and any(real == f or real.startswith(f + os.sep) for f in _FORBIDDEN):
        _SEEN.append(f"{event} {real}")


def _real(path: object) -> str | None:
    """The real path an audited open names (None for a descriptor)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None
    try:
        return os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None


_HOOKED: list[bool] = []


def _watch(forbidden: list[str]) -> None:
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    _FORBIDDEN[:] = [os.path.realpath(f) for f in forbidden]
    del _SEEN[:]


def _bug(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    frame = next((f for f in reversed(tb) if "/bncheck/" in f.filename), tb[-1] if tb else None)
    where = f"{pathlib.Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else "?"
    return f"{type(exc).__name__} at {where}: {' '.join(str(exc).split())[:200]}"


def _fresh(folder: pathlib.Path, name: str, data: bytes) -> pathlib.Path:
    """``folder`` emptied, holding only ``name`` with ``data``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    return folder / name


def _bad_lines(lines: list[str], allowed: tuple[str, ...] = ("bncheck: ",)) -> str | None:
    for line in lines:
        if not line.startswith(allowed):
            return f"forged or stray output line: {line[:200]!r}"
        if any(t in line for t in BUG_TYPES):
            return f"a bug wrapped as an error: {line[:300]}"
    return None


# -- sources ------------------------------------------------------------------------------------

def _reshape(rng: random.Random, data: bytes) -> bytes:
    """What real files do to line structure: CRLF, a BOM, form feeds, no last line end, tabs, NUL."""
    if rng.random() < 0.3:
        data = data.replace(b"\n", b"\r\n")
    if rng.random() < 0.2:
        data = BOM + data
    if rng.random() < 0.2:
        lines = data.split(b"\n")
        at = rng.randrange(len(lines))
        lines[at] = lines[at] + rng.choice((b"  # \x0c", b"\x0c", b"  # \x1c\x1d", b" # \xe2\x80\xa8"))
        data = b"\n".join(lines)
    if rng.random() < 0.2:
        data = data.rstrip(b"\r\n")
    if rng.random() < 0.05:
        data = data.replace(b"    ", b"\t", 1)
    if rng.random() < 0.03:
        pos = rng.randrange(len(data) + 1)
        data = data[:pos] + b"\0" + data[pos:]
    return data


def grammar_programs(count: int, seed: int) -> list[str]:
    """``count`` programs generated from Python's grammar by hypothesmith, reproducibly from ``seed``."""
    import hypothesmith
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    out: list[str] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hypothesmith.from_grammar())
    def collect(code: str) -> None:
        out.append(code)

    collect()
    return out[:count]


_PROGRAMS: dict[tuple[int, int], list[str]] = {}


def source_mutant(number: int, base_seed: int = 0, grammar_count: int = 0) -> bytes:
    """Mutant ``number``: a reshaped, byte-mutated fixture script, or every third one (when
    ``grammar_count`` programs are generated) a grammar-generated program with a batch norm."""
    rng = random.Random(f"source:{base_seed}:{number}")
    if grammar_count and number % 3 == 2:
        key = (base_seed, grammar_count)
        if key not in _PROGRAMS:
            _PROGRAMS[key] = grammar_programs(grammar_count, base_seed)
        programs = _PROGRAMS[key]
        program = programs[(number // 3) % len(programs)] if programs else ""
        text = program + ("\n" if program and not program.endswith("\n") else "") + rng.choice(_BN_TAILS)
        return _reshape(rng, text.encode("utf-8", "surrogatepass"))
    data = _reshape(rng, rng.choice(SOURCE_SEEDS).read_bytes())
    return mutate_bytes(rng, data, rng.randint(1, 3)) if rng.random() < 0.5 else data


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "m.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_source(data: bytes, folder: pathlib.Path, unsafe: bool = False) -> Verdict:
    """``--diff`` then ``--fix`` over a repository holding the mutant and a link to a copy outside."""
    from bncheck.engine import check_paths
    from bncheck.source.fixer import run_fixes

    shutil.rmtree(folder, ignore_errors=True)
    repo, outside = folder / "repo", folder / "outside"
    repo.mkdir(parents=True)
    outside.mkdir()
    script, victim = repo / "train.py", outside / "victim.py"
    script.write_bytes(data)
    script.chmod(0o640)
    victim.write_bytes(data)
    (repo / "link.py").symlink_to(victim)
    verdict = Verdict()
    since = time.monotonic()
    out: list[str] = []
    err: list[str] = []

    def echo(message: object = "", nl: bool = True, err_: bool = False, **kw: Any) -> None:
        (err if kw.get("err") or err_ else out).append(f"{message}{chr(10) if nl else ''}")

    old = os.getcwd()
    os.chdir(folder)
    _watch([str(outside)])
    try:
        findings = check_paths(["repo"], isolate=False).findings  # --diff and --fix apply the check's edits
        run_fixes(findings, ["repo"], write=False, unsafe=unsafe, echo=echo)
        diff = "".join(out)
        run_fixes(findings, ["repo"], write=True, unsafe=unsafe, echo=echo)
    except Exception as exc:  # noqa: BLE001 - the point: any exception is a bug
        return Verdict("bug", _bug(exc), time.monotonic() - since)
    finally:
        _FORBIDDEN[:] = []
        os.chdir(old)
    verdict.seconds = time.monotonic() - since
    after = script.read_bytes()
    problem = _bad_lines("".join(err).splitlines())
    if _SEEN:
        return Verdict("outside", "; ".join(_SEEN[:3]), verdict.seconds)
    if problem is None and (victim.read_bytes() != data or not (repo / "link.py").is_symlink()):
        problem = "wrote through the symlink to a file outside"
    if problem is None and sorted(p.name for p in repo.iterdir()) != ["link.py", "train.py"]:
        problem = f"left files behind: {sorted(p.name for p in repo.iterdir())}"
    if problem is None and after != data:
        if _compiles(data) and not _compiles(after):
            problem = "the fixed file no longer compiles"
        elif data.startswith(BOM) != after.startswith(BOM):
            problem = "the byte-order mark was lost"
        elif stat.S_IMODE(script.stat().st_mode) != 0o640:
            problem = "the file mode changed"
    if problem is None and diff.strip():
        problem = _diff_disagrees(diff, data, after, folder)
    if problem is not None:
        verdict.status, verdict.detail = "bug", problem
    verdict.changed = after != data
    return verdict


def _diff_disagrees(diff: str, before: bytes, after: bytes, folder: pathlib.Path) -> str | None:
    """Whether ``git apply`` refuses ``--diff``'s patch or gives another file than ``--fix`` wrote."""
    if shutil.which("git") is None:
        return None
    scratch = folder / "apply"
    (scratch / "repo").mkdir(parents=True)
    (scratch / "repo" / "train.py").write_bytes(before)
    (scratch / "fix.patch").write_text(diff, encoding="utf-8", errors="surrogateescape")
    done = subprocess.run(["git", "apply", "--unidiff-zero", "fix.patch"], cwd=scratch, capture_output=True,
                          text=True)
    if done.returncode != 0:
        return f"git apply refused the --diff patch: {' '.join(done.stderr.split())[:200]}"
    if (scratch / "repo" / "train.py").read_bytes() != after:
        return "--diff's patch gives another file than --fix wrote"
    return None


# -- config files -----------------------------------------------------------------------------

_CONFIG_KEYS = ("select", "ignore", "extend-select", "fail-on", "output-format", "exclude", "extend-exclude",
                "selekt", "fail_on", "tool")
_CODES = ("BN007", "BN00", "BN07", "ALL", "bn001", "BN999", "", " ", "BN\0", "BN\nbncheck: error: forged",
          "BN001,BN002", "\x1b[2J", "é", "B" * 3000)


def _toml_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_CODES)
    if roll < 0.6 and depth < 3:
        return [_toml_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.7 and depth < 3:
        return {rng.choice(("path", "layer", "code", "reason", "x")): _toml_value(rng, depth + 1)}
    return rng.choice((0, -1, 1 << 63 - 1, 0.5, float("inf"), True, False, "error", "warning", "json", "nope"))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if value == float("inf") else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def config_mutant(number: int, base_seed: int = 0) -> bytes:
    """A ``pyproject.toml`` built from the settings' structure with hostile values."""
    rng = random.Random(f"config:{base_seed}:{number}")
    lines = ["[project]", 'name = "x"', ""]
    if rng.random() < 0.05:
        lines.append('tool = "bncheck"')
    else:
        lines.append("[tool.bncheck]")
        for key in rng.sample(_CONFIG_KEYS, rng.randint(0, 4)):
            lines.append(f"{json.dumps(key)} = {_toml(_toml_value(rng))}")
        for _ in range(rng.randint(0, 2)):
            glob = rng.choice(("*", "models/*", "a\nb", "\0", "**"))
            lines.append(f"[tool.bncheck.per-path.{json.dumps(glob)}]")
            for key in rng.sample(("train-op", "serve-output", "ignore", "select", "typo"), rng.randint(0, 3)):
                lines.append(f"{json.dumps(key)} = {_toml(_toml_value(rng))}")
        for _ in range(rng.randint(0, 2)):
            lines.append("[[tool.bncheck.suppress]]")
            for key in rng.sample(("path", "layer", "code", "reason", "extra"), rng.randint(0, 4)):
                lines.append(f"{key} = {_toml(_toml_value(rng))}")
    if rng.random() < 0.05:
        n = rng.choice((50, 500, 5000))
        lines.append("[tool.bncheck.deep]" if rng.random() < 0.5 else "")
        lines.append("x = " + "[" * n + "]" * n)
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    return mutate_bytes(rng, data, rng.randint(1, 2)) if rng.random() < 0.3 else data


def check_config(data: bytes, folder: pathlib.Path) -> Verdict:
    from click.testing import CliRunner

    from bncheck.cli import main

    path = _fresh(folder, "pyproject.toml", data)
    since = time.monotonic()
    result = CliRunner().invoke(main, ["--config", str(path), "--show-settings"])
    verdict = Verdict(seconds=time.monotonic() - since)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return Verdict("bug", _bug(result.exception), verdict.seconds)
    lines = result.stderr.splitlines()
    if result.exit_code == 0:
        try:
            json.loads(result.stdout)
        except ValueError:
            return Verdict("bug", "--show-settings printed no JSON", verdict.seconds)
        problem = _bad_lines(lines)
    elif result.exit_code == 2:
        errors = [line for line in lines if line.startswith("bncheck: error:")]
        usage = [line for line in lines if line.startswith("Error: ")]
        problem = None if len(errors) + len(usage) == 1 else f"{len(errors) + len(usage)} error lines: {lines[:4]!r}"
        problem = problem or _bad_lines(lines, ("bncheck: error:", "Usage: ", "Try '", "Error: ", ""))
    else:
        problem = f"exit status {result.exit_code}"
    if problem is not None:
        verdict.status, verdict.detail = "bug", problem
    return verdict


# -- baselines -----------------------------------------------------------------------------------

_REPORT: list[Any] = []


def _report() -> Any:
    if not _REPORT:
        from bncheck.engine import check_paths

        _REPORT.append(check_paths([str(MODEL)], isolate=False))
    return _REPORT[0]


def baseline_mutant(number: int, base_seed: int = 0) -> bytes:
    """A real baseline's structure with entries retyped, dropped, multiplied or nested."""
    from bncheck.baseline import entry

    rng = random.Random(f"baseline:{base_seed}:{number}")
    entries: list[Any] = [entry(f, str(MODEL.parent)) for f in _report().findings]
    document: dict[str, Any] = {"tool": "bncheck", "version": "0", "baseline_version": rng.choice((1, 2, 2, 3, "2")),
                                "findings": entries}
    for _ in range(rng.randint(0, 4)):
        roll = rng.random()
        target = rng.choice(entries) if entries else {}
        if roll < 0.3 and isinstance(target, dict):
            target[rng.choice(("path", "code", "graph", "layer", "fingerprint", "x"))] = rng.choice(
                (None, 1, [], {}, "", "../" * 40, "/abs/x.meta", "memory://x.meta", "a\0b", "é", "x" * 10000))
        elif roll < 0.45:
            entries.append(rng.choice(("entry", 1, None, [], {"path": "x"})))
        elif roll < 0.6:
            entries.extend(entries[:1] * rng.choice((10, 1000)))
        elif roll < 0.7:
            document[rng.choice(("findings", "tool", "baseline_version"))] = rng.choice((None, {}, "x", [[]]))
        elif roll < 0.8:
            n = rng.choice((50, 101, 5000))
            document["findings"] = [json.loads("[" * n + "]" * n)] if n < 900 else "[" * n
    data = json.dumps(document).encode()
    roll = rng.random()
    if roll < 0.15:
        return mutate_bytes(rng, data)
    return mutate_json(rng, data) if roll < 0.35 else data


def check_baseline(data: bytes, folder: pathlib.Path) -> Verdict:
    from bncheck.baseline import BaselineError, apply, read_baseline
    from bncheck.reporters.escaping import printable

    path = _fresh(folder, "baseline.json", data)
    since = time.monotonic()
    try:
        try:
            keys = read_baseline(str(path))
        except BaselineError as exc:
            line = printable(exc)
            problem = None if line.startswith(f"{path}: ") else f"error names no file: {line[:200]!r}"
            return Verdict("bug" if problem else "ok", problem or "", time.monotonic() - since)
        apply(_report(), baseline=keys)
    except Exception as exc:  # noqa: BLE001
        return Verdict("bug", _bug(exc), time.monotonic() - since)
    return Verdict(seconds=time.monotonic() - since)


# -- local URLs over symlinks -----------------------------------------------------------------------

_KINDS = ("model", "model", "source", "link_out_file", "link_out_dir", "link_in_file", "link_in_dir", "dangling",
          "loop", "etc", "fifo", "folder")
_NAMES = ("m.meta", "x.pb", "g.pbtxt", "train.py", "saved_model.pb", "w.h5", "checkpoint", "sub", "a b.meta")


def url_tree(number: int, base_seed: int = 0) -> list[tuple[str, str]]:
    """A folder's entries as (relative path, kind)."""
    rng = random.Random(f"urls:{base_seed}:{number}")
    entries: list[tuple[str, str]] = []
    folders = [""]
    for i in range(rng.randint(1, 7)):
        kind = rng.choice(_KINDS)
        where = rng.choice(folders)
        name = os.path.join(where, f"{i}{rng.choice(_NAMES)}")
        if kind == "folder":
            folders.append(name)
        entries.append((name, kind))
    return entries


def _build(root: pathlib.Path, outside: pathlib.Path, entries: list[tuple[str, str]]) -> None:
    shutil.copy(MODEL, outside / "secret.meta")
    (outside / "secret.py").write_text("import tensorflow as tf\nb = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    for name, kind in entries:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "model":
            shutil.copy(MODEL, path)
        elif kind == "source":
            path.write_text("import tensorflow as tf\nb = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
        elif kind == "link_out_file":
            path.symlink_to(outside / ("secret.py" if name.endswith(".py") else "secret.meta"))
        elif kind == "link_out_dir":
            path.symlink_to(outside)
        elif kind == "link_in_file":
            shutil.copy(MODEL, root / "target.meta")
            path.symlink_to(root / "target.meta")
        elif kind == "link_in_dir":
            path.symlink_to(root)
        elif kind == "dangling":
            path.symlink_to(root / "nowhere")
        elif kind == "loop":
            path.symlink_to(path)
        elif kind == "etc":
            path.symlink_to("/etc/passwd")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir(exist_ok=True)


def _seen(report: Any, prefix: str) -> tuple[Any, ...]:
    def strip(p: str) -> str:
        return p[len(prefix):] if p.startswith(prefix) else p
    return (sorted((strip(f.path), f.code, f.layer) for f in report.findings),
            sorted((strip(p), n) for p, n in report.notes if n.startswith("skipped")),
            sorted(strip(e.source) for e in report.errors))


def check_urls(entries: list[tuple[str, str]], folder: pathlib.Path) -> Verdict:
    from bncheck.engine import check_paths

    shutil.rmtree(folder, ignore_errors=True)
    root, outside = folder / "root", folder / "outside"
    root.mkdir(parents=True)
    outside.mkdir()
    _build(root, outside, entries)
    since = time.monotonic()
    verdicts: dict[str, Any] = {}
    _watch([str(outside), "/etc/passwd"])
    try:
        for scheme in ("", "local://", "file://", "simplecache::file://"):
            verdicts[scheme] = _seen(check_paths([scheme + str(root)], isolate=False), scheme + str(root))
    except Exception as exc:  # noqa: BLE001
        return Verdict("bug", _bug(exc), time.monotonic() - since)
    finally:
        _FORBIDDEN[:] = []
    seconds = time.monotonic() - since
    if _SEEN:
        return Verdict("outside", "; ".join(_SEEN[:3]), seconds)
    for scheme in ("local://", "file://"):
        if verdicts[scheme] != verdicts[""]:
            return Verdict("bug", f"{scheme} differs from the plain path: {verdicts[scheme]} != {verdicts['']}", seconds)
    return Verdict(seconds=seconds)


# -- the campaign --------------------------------------------------------------------------------

def check(surface: str, number: int, folder: pathlib.Path, base_seed: int = 0, grammar_count: int = 0) -> Verdict:
    """Build mutant ``number`` of ``surface`` and check it."""
    if surface == "source":
        data = source_mutant(number, base_seed, grammar_count)
        return check_source(data, folder, unsafe=number % 2 == 1)
    if surface == "config":
        return check_config(config_mutant(number, base_seed), folder)
    if surface == "baseline":
        return check_baseline(baseline_mutant(number, base_seed), folder)
    return check_urls(url_tree(number, base_seed), folder)


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError("over the budget")


def run(surfaces: list[str], mutants: int, base_seed: int, budget: float, folder: pathlib.Path,
        say: Callable[[str], None] = print) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    signal.signal(signal.SIGALRM, _alarm)
    for surface in surfaces:
        counts = {"ok": 0, "bug": 0, "outside": 0, "hang": 0, "rewritten": 0}
        failures: list[str] = []
        slowest = (0.0, -1)
        cpu = time.process_time()
        if surface == "source":  # generated once, outside the per-mutant budget
            _PROGRAMS.setdefault((base_seed, max(1, mutants // 3)), grammar_programs(max(1, mutants // 3), base_seed))
        for number in range(mutants):
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                verdict = check(surface, number, folder, base_seed, grammar_count=max(1, mutants // 3))
            except TimeoutError:
                verdict = Verdict("hang", f"over {budget} s", budget)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            counts[verdict.status] += 1
            counts["rewritten"] += verdict.changed
            slowest = max(slowest, (verdict.seconds, number))
            if verdict.status != "ok":
                failures.append(f"{surface}:{number}: {verdict.status}: {verdict.detail}")
                say(failures[-1])
        totals[surface] = {**counts, "mutants": mutants, "cpu_seconds": round(time.process_time() - cpu, 1),
                           "slowest": f"{surface}:{slowest[1]} {slowest[0]:.2f} s", "failures": failures}
        say(f"{surface}: {mutants} mutants, {counts}, slowest {totals[surface]['slowest']}, "
            f"{totals[surface]['cpu_seconds']} s CPU")
    totals["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--surfaces", nargs="+", choices=SURFACES, default=list(SURFACES))
    parser.add_argument("--mutants", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds a mutant may take")
    parser.add_argument("--replay", metavar="SURFACE:NUMBER")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bncheck-surfaces-") as scratch:
        folder = pathlib.Path(scratch) / "m"
        if args.replay:
            surface, number = args.replay.split(":")
            verdict = check(surface, int(number), folder, args.seed, grammar_count=max(1, args.mutants // 3))
            print(verdict)
            return 0 if verdict.status == "ok" else 1
        with redirect_stderr(io.StringIO()):  # hypothesmith's and TensorFlow-free warnings
            totals = run(args.surfaces, args.mutants, args.seed, args.budget, folder,
                         say=lambda s: print(s, file=sys.__stdout__, flush=True))
    print(f"peak RSS {totals['peak_rss_mb']} MB")
    if args.out:
        args.out.write_text(json.dumps(totals, indent=2))
    return 1 if any(isinstance(t, dict) and (t["bug"] or t["outside"] or t["hang"]) for t in totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
