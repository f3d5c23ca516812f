"""Speed and memory of bncheck against what a user would otherwise run.

    pip install -e ".[test]" && python tools/benchmark.py [--repeat 3]
    python tools/benchmark.py --scaling DIR     # DIR made by tools/scaling_graphs.py

For each artefact it runs, in fresh processes, ``bncheck`` and the TensorFlow way of merely
*looking* at the same file (``saved_model_cli show --all`` for a SavedModel;
``tf.compat.v1.train.import_meta_graph`` for a MetaGraph; ``tf.io.gfile`` + ``GraphDef`` parsing for a
frozen graph), and prints wall time and peak RSS with their ratios (best of --repeat runs).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
TF1 = ROOT / "fixtures" / "tf1"
# Python writes and reuses bytecode caches, as it does for an installed package (pip compiles them at
# install time): with PYTHONDONTWRITEBYTECODE set, every changed module of an editable install would
# be compiled again in every run, which no user pays.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "TF_CPP_MIN_LOG_LEVEL": "3", "TF_USE_LEGACY_KERAS": "1"}

IMPORT_META = ("import sys, tensorflow as tf; tf.compat.v1.disable_eager_execution(); "
               "tf.compat.v1.train.import_meta_graph(sys.argv[1])")
PARSE_GRAPHDEF = ("import sys, tensorflow as tf; g = tf.compat.v1.GraphDef(); "
                  "g.ParseFromString(open(sys.argv[1], 'rb').read()); tf.graph_util.import_graph_def(g)")


def cases() -> list[tuple[str, list[str], list[str]]]:
    bindir = pathlib.Path(sys.executable).parent  # the environment this script runs in
    bn = [str(bindir / "bncheck") if (bindir / "bncheck").exists() else shutil.which("bncheck") or "bncheck"]
    cli = str(bindir / "saved_model_cli") if (bindir / "saved_model_cli").exists() else "saved_model_cli"
    resnet = str(TF1 / "slim_resnet_v1_50_without_updates.meta")
    saved = str(TF1 / "saved_model_slim_is_training_true")
    frozen = str(TF1 / "frozen_layers_training_true.pb")
    mobilenet = str(ROOT / "fixtures" / "keras3" / "mobilenet_v2_serving_training_false")
    return [
        ("Keras 3 MobileNetV2 SavedModel", bn + [mobilenet], [cli, "show", "--all", "--dir", mobilenet]),
        ("resnet_v1_50 training .meta (2 MB)", bn + [resnet], [sys.executable, "-c", IMPORT_META, resnet]),
        ("TF1 SavedModel", bn + [saved], [cli, "show", "--all", "--dir", saved]),
        ("frozen .pb", bn + [frozen], [sys.executable, "-c", PARSE_GRAPHDEF, frozen]),
    ]


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {code}")
    return wall, usage.ru_maxrss / 1024


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = [measure(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


SCALING_RUN = """
import gc, json, sys, time
path = sys.argv[1]
data = open(path, "rb").read()
from bncheck.protos import message_class
name = "tensorflow.MetaGraphDef" if path.endswith(".meta") else "tensorflow.GraphDef"
start = time.process_time()
msg = message_class(name).FromString(data)
parse = time.process_time() - start
node_defs = msg.graph_def.node if path.endswith(".meta") else msg.node
nodes = len(node_defs)
# the floor for any Python tool: read each node's name, op and inputs once, and index the names
# (with the cyclic collector paused, as bncheck pauses it while it builds a graph)
gc.disable()
start = time.process_time()
rows = [(n.name, n.op, n.input[:]) for n in node_defs]
index = {row[0]: i for i, row in enumerate(rows)}
floor = time.process_time() - start
gc.enable()
del msg, node_defs, rows, index
gc.collect()
from bncheck.engine import check_paths, warm
warm()  # the modules a check imports on first use: a start-up cost, measured by the cold-start table
start = time.process_time()
report = check_paths([path], jobs=0, isolate=False)
check = time.process_time() - start
print(json.dumps({"nodes": nodes, "parse": parse, "floor": floor, "check": check, "findings": len(report.findings),
                  "errors": [str(e) for e in report.errors]}))
"""


def scaling(folder: pathlib.Path, repeat: int) -> None:
    """Per-node CPU time of a whole check (parse included) against parsing the protobuf alone,
    over generated graphs of growing size: flat per-node time means linear cost."""
    import json

    print(f"{'graph':<22} {'nodes':>9} {'parse':>8} {'floor':>8} {'check':>8} {'us/node':>8} {'floor/parse':>12} "
          f"{'check/parse':>12} {'peak RSS':>9}")
    paths = sorted(folder.glob("*.meta")) + sorted(folder.glob("*.pb"))
    for path in sorted(paths, key=lambda p: p.stat().st_size):
        runs = []
        for _ in range(repeat):
            proc = subprocess.Popen([sys.executable, "-c", SCALING_RUN, str(path)], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, env=ENV)
            out = proc.stdout.read() if proc.stdout else b""
            _, _, usage = os.wait4(proc.pid, 0)
            runs.append((json.loads(out), usage.ru_maxrss / 1024))
        best_run, rss = min(runs, key=lambda r: r[0]["check"])
        n, parse, check, floor = best_run["nodes"], best_run["parse"], best_run["check"], best_run["floor"]
        print(f"{path.name:<22} {n:>9} {parse:7.2f}s {floor:7.2f}s {check:7.2f}s {check / n * 1e6:8.1f} "
              f"{floor / parse:11.1f}x {check / parse:11.1f}x {rss:7.0f}MiB")
    print("CPU seconds (best of --repeat); check includes reading the file and parsing it again; floor: reading "
          "every node's name, op and inputs into Python and indexing the names, nothing else (collector paused)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaling", type=pathlib.Path, help="a folder of graphs from tools/scaling_graphs.py")
    args = parser.parse_args()
    if args.scaling:
        scaling(args.scaling, args.repeat)
        return
    print(f"{'artefact':<34} {'bncheck':>16} {'tensorflow':>18} {'time ratio':>11} {'memory ratio':>13}")
    for label, ours, theirs in cases():
        t1, m1 = best(ours, args.repeat)
        t2, m2 = best(theirs, args.repeat)
        print(f"{label:<34} {t1:6.2f}s {m1:6.0f}MiB {t2:7.2f}s {m2:6.0f}MiB {t2 / t1:10.1f}x {m2 / m1:12.1f}x")
    print("ratios: how many times faster / smaller bncheck is (tensorflow's number / bncheck's)")


if __name__ == "__main__":
    main()
