"""Speed and memory of bncheck against what a user would otherwise run.

    pip install -e ".[test]" && python tools/benchmark.py [--repeat 3]
    python tools/benchmark.py --scaling DIR     # DIR made by tools/scaling_graphs.py
    python tools/benchmark.py --phases FILE     # where one check's time goes, phase by phase

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
import gc, itertools, json, sys, time
import numpy
path = sys.argv[1]

def light_class(meta):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="light.proto", package="light", syntax="proto3")
    node = proto.message_type.add(name="Node")
    for name, number, label, kind in (("name", 1, f.LABEL_OPTIONAL, f.TYPE_STRING),
                                      ("op", 2, f.LABEL_OPTIONAL, f.TYPE_STRING),
                                      ("input", 3, f.LABEL_REPEATED, f.TYPE_STRING),
                                      ("attr", 5, f.LABEL_REPEATED, f.TYPE_BYTES)):
        node.field.add(name=name, number=number, label=label, type=kind)
    graph = proto.message_type.add(name="Graph")
    graph.field.add(name="node", number=1, label=f.LABEL_REPEATED, type=f.TYPE_MESSAGE, type_name=".light.Node")
    outer = proto.message_type.add(name="Meta")
    outer.field.add(name="graph_def", number=2, label=f.LABEL_OPTIONAL, type=f.TYPE_MESSAGE,
                    type_name=".light.Graph")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("light.Meta" if meta else "light.Graph"))

data = open(path, "rb").read()
from bncheck.protos import message_class
name = "tensorflow.MetaGraphDef" if path.endswith(".meta") else "tensorflow.GraphDef"
start = time.process_time()
msg = message_class(name).FromString(data)
parse = time.process_time() - start
node_defs = msg.graph_def.node if path.endswith(".meta") else msg.node
nodes = len(node_defs)
out = {"nodes": nodes, "parse": parse}
if sys.argv[2] == "floors":
    # the floor for any Python tool: read each node's name, op and inputs once, and index the names
    # (with the cyclic collector paused, as bncheck pauses it while it builds a graph)
    gc.disable()
    start = time.process_time()
    rows = [(n.name, n.op, n.input[:]) for n in node_defs]
    index = {row[0]: i for i, row in enumerate(rows)}
    out["floor"] = time.process_time() - start
    del msg, node_defs, rows, index, data
    # the graph floor: what any analysis that walks the graph needs before its first rule, with every
    # shortcut Python has: read the file, parse only names, ops and inputs (attributes left as raw
    # bytes), read them, index the names and resolve every input to a node number
    start = time.process_time()
    light = light_class(path.endswith(".meta")).FromString(open(path, "rb").read())
    light_nodes = light.graph_def.node if path.endswith(".meta") else light.node
    names, ops, inputs = [], [], []
    add_name, add_op, add_inputs = names.append, ops.append, inputs.append
    for n in light_nodes:
        add_name(n.name); add_op(n.op); add_inputs(n.input)
    index = dict(zip(names, range(len(names))))
    flat = list(itertools.chain.from_iterable(inputs))
    get = index.get
    ids = numpy.array([get(text, -1) for text in flat], dtype=numpy.int64)
    for k in numpy.flatnonzero(ids < 0).tolist():  # "^control" and "node:1" inputs
        ids[k] = get(flat[k].lstrip("^").partition(":")[0], -1)
    del light, light_nodes, n, names, ops, inputs, index, flat, ids  # a check frees what it built
    out["graph_floor"] = time.process_time() - start
else:
    del msg, node_defs, data
    gc.collect()
    from bncheck.engine import check_paths, warm
    warm()  # the modules a check imports on first use: a start-up cost, measured by the cold-start table
    start = time.process_time()
    report = check_paths([path], jobs=0, isolate=False)
    out["check"] = time.process_time() - start
    out["findings"] = len(report.findings)
    out["errors"] = [str(e) for e in report.errors]
print(json.dumps(out))
"""


PHASES_RUN = """
import gc, json, sys, time
from bncheck.engine import warm
from bncheck.loaders import discover, load
from bncheck.rules import selected
from bncheck.rules.context import Context
warm()
clock = time.process_time
gc.disable()  # as a check runs (bncheck.collector.paused)
out = {}
start = clock()
models = load(discover(sys.argv[1])[0])
out["load"] = clock() - start
out["nodes"] = sum(len(m.graph) for m in models)
contexts = [Context(m) for m in models]
start = clock()
out["layers"] = sum(len(ctx.layers) for ctx in contexts)
out["find layers"] = clock() - start
for cls in selected(None, None):
    start = clock()
    for ctx in contexts:
        list(cls().check(ctx))
    out[cls.code] = clock() - start
start = clock()
del contexts, models, ctx  # reference counting frees the model, as at the end of a check
out["free"] = clock() - start
print(json.dumps(out))
"""


def phases(path: pathlib.Path, repeat: int) -> None:
    """CPU seconds of each phase of one check (best of --repeat fresh processes), per node and per
    batch-norm layer: the breakdown behind the scaling table."""
    import json

    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", PHASES_RUN, str(path)], capture_output=True, env=ENV,
                             check=True).stdout
        runs.append(json.loads(out))
    nodes, layers = runs[0]["nodes"], runs[0]["layers"]
    print(f"{path.name}: {nodes} nodes, {layers} batch-norm layers")
    for key in runs[0]:
        if key in ("nodes", "layers"):
            continue
        best_time = min(r[key] for r in runs)
        print(f"  {key:<12} {best_time:7.2f}s  {best_time / max(nodes, 1) * 1e6:7.2f} us/node  "
              f"{best_time / max(layers, 1) * 1e6:9.1f} us/layer")


def scaling(folder: pathlib.Path, repeat: int) -> None:
    """Per-node CPU time of a whole check (parse included) against parsing the protobuf alone,
    over generated graphs of growing size: flat per-node time means linear cost."""
    import json

    print(f"{'graph':<22} {'nodes':>9} {'parse':>8} {'floor':>8} {'graph floor':>12} {'check':>8} {'us/node':>8} "
          f"{'floor/parse':>12} {'graph floor/parse':>18} {'check/parse':>12} {'peak RSS':>9}")
    paths = sorted(folder.glob("*.meta")) + sorted(folder.glob("*.pb"))
    for path in sorted(paths, key=lambda p: p.stat().st_size):
        runs, floors = [], []
        for _ in range(repeat):
            for mode, into in (("check", runs), ("floors", floors)):
                proc = subprocess.Popen([sys.executable, "-c", SCALING_RUN, str(path), mode],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
                out = proc.stdout.read() if proc.stdout else b""
                _, _, usage = os.wait4(proc.pid, 0)
                into.append((json.loads(out), usage.ru_maxrss / 1024))
        best_run, rss = min(runs, key=lambda r: r[0]["check"])
        n, parse, check = best_run["nodes"], best_run["parse"], best_run["check"]
        best_floors = min((r[0] for r in floors), key=lambda r: r["graph_floor"])
        floor, graph_floor = best_floors["floor"], best_floors["graph_floor"]  # each ratio within its own run
        print(f"{path.name:<22} {n:>9} {parse:7.2f}s {floor:7.2f}s {graph_floor:11.2f}s {check:7.2f}s "
              f"{check / n * 1e6:8.1f} {floor / best_floors['parse']:11.1f}x "
              f"{graph_floor / best_floors['parse']:17.1f}x {check / parse:11.1f}x {rss:7.0f}MiB")
    print("CPU seconds (best of --repeat); check includes reading the file and parsing it again; floor: reading "
          "every node's name, op and inputs into Python and indexing the names, nothing else (collector paused); "
          "graph floor: reading the file, parsing only names, ops and inputs, resolving every input to a "
          "node number and freeing it all (the least any graph walk needs, collector paused); the floors are measured in their own "
          "processes, each against that process's parse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaling", type=pathlib.Path, help="a folder of graphs from tools/scaling_graphs.py")
    parser.add_argument("--phases", type=pathlib.Path, help="one graph: CPU time of each phase of its check")
    args = parser.parse_args()
    if args.phases:
        phases(args.phases, args.repeat)
        return
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
