"""Source-mode speed: generate a repository-sized tree of Python files and check it.

    python tools/benchmark_source.py [--files 2000] [--jobs N] [--repeat 5] [--keep DIR] [--tree all]
    python tools/benchmark_source.py --compare-libcst 100
    python tools/benchmark_source.py --scaling 1000,5000,20000

The tree mixes what real ML repositories hold: training scripts in the fixture styles (TF1
layers/slim, Keras functional/subclassed, custom loops, exports) and the larger share of code that
never touches batch norm (data loading, configs, utilities). Each file is 80-400 lines, with names
made unique per file. Prints wall time and files per CPU-second (per core: other load on a shared
machine slows the wall clock, not the CPU count) for one process and for the parallel run, and the
same for a tree where every file is training code (the worst case: every file is parsed and walked).
Each figure is the best of ``--repeat`` runs (a shared machine only ever makes a run slower). The
same trees are then checked through the command (``bncheck DIR --jobs N -q``, for 1 and ``--jobs``
processes): the CPU time of the command and its workers, which includes starting Python, the worker
pool and printing the report, and the same less the command's start-up (its CPU time on the tree's
first file alone). Issue 18's goal (at least 500 files/s per core on the all-training-code tree) was
set against the "1 process" row, which read about 2,000 before source mode followed call chains.

``--compare-libcst N`` measures, on the first N files of the all-training-code tree, what the
parser choice costs: ``ast.parse`` alone, bncheck's whole source check (one process), and LibCST
parsing plus its ``QualifiedNameProvider`` scope analysis (what issue 11 proposed, before any rule
runs). It needs ``libcst`` (in the ``[test]`` extra).

``--scaling N1,N2,...`` measures cost within one file: a generated TF1 script (one function that
builds N conv + batch-norm + relu blocks, each in its own ``variable_scope``, and a train op without
update ops, so every layer is a finding) is checked at each size, and the CPU time is printed with its
ratio to the first size's. Linear cost means the ratio follows the size ratio (the goal: 20,000
layers within 25x the 1,000-layer time).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "builders" / "source_scripts"

UTILITY = '''
def load_records_{n}(path, limit=None):
    """Read one record per line, skipping comments."""
    rows = []
    with open(path) as fh:
        for i, line in enumerate(fh):
            if line.startswith("#"):
                continue
            fields = [f.strip() for f in line.split(",")]
            rows.append({{"id": i, "fields": fields, "size": len(fields)}})
            if limit is not None and len(rows) >= limit:
                break
    return rows


class Config{n}:
    def __init__(self, **overrides):
        self.values = {{"lr": 0.001, "batch": 32, "epochs": 10, "seed": {s}}}
        self.values.update(overrides)

    def get(self, key, default=None):
        return self.values.get(key, default)

    def describe(self):
        return ", ".join(f"{{k}}={{v}}" for k, v in sorted(self.values.items()))


def shuffle_{n}(items, seed={s}):
    import random as _random
    rng = _random.Random(seed)
    items = list(items)
    rng.shuffle(items)
    return items
'''


def generate(folder: pathlib.Path, count: int, relevant_share: float, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    # Python 3 training scripts in UTF-8, as most repositories hold, not the hostile-input one (a
    # 600-operand expression)
    scripts = [p.read_text() for p in sorted(SCRIPTS.rglob("*.py"))
               if p.parent.name not in ("python2", "encodings") and not p.name.startswith("deep_expression")]
    paths = []
    for i in range(count):
        sub = folder / f"pkg{i // 100}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"mod_{i}.py"
        parts = []
        if rng.random() < relevant_share:
            parts.append(rng.choice(scripts).replace("def main(", f"def main_{i}("))
        for k in range(rng.randint(1, 6)):
            parts.append(UTILITY.format(n=f"{i}_{k}", s=i * 10 + k))
        path.write_text("\n\n".join(parts))
        paths.append(str(path))
    return paths


def layered_script(layers: int) -> str:
    """A TF1 training script whose network has ``layers`` conv + batch-norm blocks (``--scaling``)."""
    out = ["import tensorflow.compat.v1 as tf", "", "", "def build(images, is_training):", "    h = images"]
    for i in range(layers):
        out += [f"    with tf.variable_scope('block{i}'):",
                "        h = tf.layers.conv2d(h, 8, 3, padding='same', name='conv')",
                "        h = tf.layers.batch_normalization(h, training=is_training, name='bn')",
                "        h = tf.nn.relu(h)"]
    out += ["    return h", "", "", "def main():", "    tf.disable_eager_execution()",
            "    images = tf.placeholder(tf.float32, [None, 8, 8, 3])",
            "    loss = tf.reduce_mean(build(images, True))",
            "    return tf.train.AdamOptimizer(1e-3).minimize(loss)", "", "",
            "if __name__ == '__main__':", "    main()", ""]
    return "\n".join(out)


def scaling(folder: pathlib.Path, sizes: list[int], repeat: int) -> list[tuple[int, float, int]]:
    """(layers, least CPU seconds of ``repeat`` checks, findings) per size, one file each."""
    from bncheck.source import check_files

    rows = []
    for n in sizes:
        path = folder / f"layers_{n}.py"
        path.write_text(layered_script(n))
        found: list[int] = []
        seconds = _best(lambda: found.append(len(check_files([str(path)], jobs=1).findings)), repeat)
        rows.append((n, seconds, found[-1]))
    return rows


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(paths: list[str], jobs: int, repeat: int = 1) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its workers), each the best of ``repeat`` runs."""
    from bncheck.source import check_files

    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _cpu()
        result = check_files(paths, jobs=jobs)
        elapsed, used = time.perf_counter() - start, _cpu() - start_cpu
        assert not result.errors, result.errors[:3]
        best_wall, best_cpu = min(best_wall, elapsed), min(best_cpu, used)
    return best_wall, best_cpu


def measure_command(folder: pathlib.Path, jobs: int, repeat: int, cache: pathlib.Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the ``bncheck`` process and its workers) of ``bncheck FOLDER --jobs
    N -q`` through the command, each the best of ``repeat`` runs after one that warms the file cache.
    Python's bytecode goes to ``cache`` (an installed package has it compiled; PYTHONDONTWRITEBYTECODE
    would have every run compile bncheck's modules again)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("BNCHECK_IN_PROCESS", None)
    command = [sys.executable, "-m", "bncheck", str(folder), "--jobs", str(jobs), "-q"]
    best_wall = best_cpu = float("inf")
    for run in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert done.returncode in (0, 1) and not done.stderr, done.stderr[:500]
        if run:  # the first run warms the file cache and compiles the bytecode
            used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            best_wall, best_cpu = min(best_wall, elapsed), min(best_cpu, used)
    return best_wall, best_cpu


def _best(action, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """The least CPU time of ``repeat`` runs of ``action``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def compare_libcst(paths: list[str], repeat: int) -> None:
    """Files per CPU-second: ast.parse alone, bncheck's whole check, LibCST parse + qualified names."""
    import ast
    import gc

    import libcst
    from libcst.metadata import MetadataWrapper, QualifiedNameProvider

    from bncheck.source import check_files

    texts = [pathlib.Path(p).read_text() for p in paths]

    def parse_ast() -> None:
        for text in texts:
            ast.parse(text)

    def check() -> None:
        check_files(paths, jobs=1)

    def libcst_names() -> None:
        for text in texts:
            MetadataWrapper(libcst.parse_module(text)).resolve(QualifiedNameProvider)

    n = len(paths)
    lines = sum(t.count("\n") for t in texts)
    print(f"parser comparison: {n} files, {lines} lines (all training/model code), best of {repeat}, CPU time")
    gc.collect()
    rows = [("ast.parse of the whole files", _best(parse_ast, repeat)),
            ("bncheck source check (ast, whole pipeline)", _best(check, repeat)),
            ("LibCST + QualifiedNameProvider, whole files", _best(libcst_names, max(1, repeat // 2)))]
    ours = rows[1][1]
    for label, seconds in rows:
        print(f"  {label:44s}: {seconds:7.3f} s, {n / seconds:7.0f} files/s per core, {seconds / ours:6.1f}x bncheck")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--relevant-share", type=float, default=0.3,
                        help="share of files that are training/model code (default 0.3)")
    parser.add_argument("--keep", help="generate into this folder and keep it")
    parser.add_argument("--tree", choices=("both", "mixed", "all"), default="both",
                        help="the mixed tree, the all-training-code one, or both (default)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is printed (default 5)")
    parser.add_argument("--compare-libcst", type=int, metavar="N", default=0,
                        help="instead: compare ast, bncheck and LibCST+QualifiedNameProvider on N files")
    parser.add_argument("--scaling", metavar="N1,N2,...", default="",
                        help="instead: CPU time of one generated TF1 script per layer count, and its ratio")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    base = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="bncheck-src-bench-"))
    try:
        if args.scaling:
            sizes = [int(n) for n in args.scaling.split(",")]
            print(f"one generated TF1 script per size (conv + batch norm + relu per layer), best of {args.repeat}, "
                  "CPU time")
            rows = scaling(base, sizes, args.repeat)
            first_n, first_s, _ = rows[0]
            for n, seconds, findings in rows:
                print(f"  {n:6d} layers: {seconds:7.3f} s CPU, {findings:6d} findings, {n / first_n:5.1f}x the "
                      f"layers, {seconds / first_s:6.1f}x the time")
            return
        if args.compare_libcst:
            folder = base / "all_training_code"
            shutil.rmtree(folder, ignore_errors=True)
            compare_libcst(generate(folder, args.compare_libcst, 1.0), args.repeat)
            return
        trees = (("mixed tree", args.relevant_share), ("all training code", 1.0))
        for label, share in (t for t in trees if args.tree in ("both", t[0].split()[0])):
            folder = base / label.replace(" ", "_")
            shutil.rmtree(folder, ignore_errors=True)
            paths = generate(folder, args.files, share)
            lines = sum(pathlib.Path(p).read_text().count("\n") for p in paths)
            measure(paths, jobs=1)  # warm the file cache
            one, one_cpu = measure(paths, jobs=1, repeat=args.repeat)
            many, many_cpu = measure(paths, jobs=args.jobs, repeat=args.repeat)
            print(f"{label}: {len(paths)} files, {lines} lines ({share:.0%} training/model code), "
                  f"best of {args.repeat}")
            print(f"  1 process  : {one:5.2f} s wall, {one_cpu:5.2f} s CPU: "
                  f"{len(paths) / one_cpu:6.0f} files/s per core")
            print(f"  {args.jobs} processes: {many:5.2f} s wall, {many_cpu:5.2f} s CPU: "
                  f"{len(paths) / many:6.0f} files/s, {len(paths) / many_cpu:6.0f} per core")
            one_file = base / "one_file"  # the command's fixed cost: the same command on the tree's first file
            shutil.rmtree(one_file, ignore_errors=True)
            one_file.mkdir()
            shutil.copyfile(paths[0], one_file / pathlib.Path(paths[0]).name)
            for jobs in dict.fromkeys((1, args.jobs)):  # the command: startup, workers, the printed report
                wall, cpu = measure_command(folder, jobs, args.repeat, base / "bytecode")
                _, fixed = measure_command(one_file, jobs, args.repeat, base / "bytecode")
                print(f"  bncheck DIR --jobs {jobs} -q: {wall:5.2f} s wall, {cpu:5.2f} s CPU (the command and its "
                      f"workers): {len(paths) / cpu:6.0f} files/s per core; {fixed:4.2f} s of it the command's "
                      f"start-up (the same command on one file), {len(paths) / (cpu - fixed):6.0f} files/s per core "
                      "after it")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
