"""Which fixture tells a surviving mutant apart: run mutants over every fixture and compare what the
analysis core says with what the unmutated code says.

    python tools/mutation_probe.py WORK [MUTANT_NAME ...]

``WORK`` is a folder kept by ``tools/mutation.py --keep`` (its ``mutants/`` holds mutmut's
trampolined copy of bncheck). Without names, every surviving mutant of that run is probed. For each
mutant, prints the fixtures whose layers, ops, updates and solved momenta, variable roles, train ops,
notes or findings (message, evidence, fix) differ; a mutant no fixture tells apart prints
``no fixture differs``: either an equivalent mutant or one that needs a new input. Each mutant runs
in a forked child of a process that imported bncheck once, so nothing is cached across mutants.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
GROUPS = ("tf1", "keras3", "tfkeras")


def fingerprint(path: pathlib.Path) -> object:
    import bncheck
    from bncheck.loaders import discover, load
    from bncheck.rules.context import Context

    out: dict[str, object] = {}
    try:
        contexts = [Context(m) for t in discover(str(path)) for m in load(t)]
        for i, ctx in enumerate(contexts):
            layers = {}
            for layer in ctx.layers:
                layers[layer.name] = {
                    "api": layer.api, "variables": sorted(layer.variables),
                    "ops": sorted(repr(op) for op in layer.ops),
                    "updates": sorted(repr((u.node, u.op, u.variable, str(u.stat), u.bn_node,
                                            None if u.momentum is None else round(u.momentum, 9)))
                                      for u in layer.updates),
                    "roles": ctx.variable_roles(layer), "affine": ctx.affine_variables(layer),
                }
            out[f"context {i}"] = {"layers": layers, "train_ops": repr(ctx.train_ops), "notes": list(ctx.notes),
                                   "unjudged": [repr(u) for u in ctx.unjudged]}
    except Exception as exc:  # noqa: BLE001 - a crash is a difference too
        out["context error"] = f"{type(exc).__name__}: {exc}"
    try:
        report = bncheck.check_path(path)
        out["findings"] = sorted(repr((f.code, f.layer, str(f.severity), f.message, f.evidence_dict, f.fix))
                                 for f in report)
        out["report notes"] = sorted(repr(n) for n in report.notes)
        out["errors"] = sorted(repr(e) for e in report.errors)
    except Exception as exc:  # noqa: BLE001
        out["report error"] = f"{type(exc).__name__}: {exc}"
    return out


def run_all(fixtures: list[pathlib.Path], mutant: str) -> dict[str, object]:
    """Fingerprints of every fixture with ``mutant`` active, computed in a forked child."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        target = fh.name
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.environ["MUTANT_UNDER_TEST"] = mutant
            result = {str(p.relative_to(ROOT / "fixtures")): fingerprint(p) for p in fixtures}
            pathlib.Path(target).write_text(json.dumps(result, default=repr))
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    text = pathlib.Path(target).read_text()
    os.unlink(target)
    if status != 0 or not text:
        return {"*": f"child failed with status {status}"}
    return json.loads(text)


def main() -> None:
    work = pathlib.Path(sys.argv[1]).resolve()
    names = sys.argv[2:]
    if not names:
        results = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=work,
                                 capture_output=True, text=True).stdout
        names = [line.split(":")[0].strip() for line in results.splitlines() if line.strip().endswith(": survived")]
    sys.path.insert(0, str(work / "mutants"))
    os.environ.setdefault("BNCHECK_IN_PROCESS", "1")
    import bncheck  # noqa: F401 - imported once, before the forks
    import bncheck.rules.context  # noqa: F401

    fixtures = sorted(p for g in GROUPS for p in (ROOT / "fixtures" / g).iterdir())
    base = run_all(fixtures, "none")
    for name in names:
        got = run_all(fixtures, name)
        differ = sorted(k for k in base if got.get(k) != base[k]) if "*" not in got else ["*: " + str(got["*"])]
        print(f"{name}: " + (", ".join(differ) if differ else "no fixture differs"), flush=True)


if __name__ == "__main__":
    main()
