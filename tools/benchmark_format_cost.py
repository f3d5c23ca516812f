"""What reading each format costs per MB of input: CPU seconds and peak memory growth (MiB) per MB,
measured in a fresh interpreter per input (its peak RSS, ``VmHWM``, after the load minus before it).

    python tools/benchmark_format_cost.py            # 8 MB inputs
    python tools/benchmark_format_cost.py --mb 16

Inputs are built from the fixtures: a GraphDef grown by copying its nodes (binary ``.pb`` and text
``.pbtxt``), and a tf-keras ``.h5`` whose ``model_config`` is padded with Dense layers (the JSON
config path ``config.json`` of a ``.keras`` shares). Prints one row per format.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEXT_GRAPH = ROOT / "fixtures" / "tf1" / "frozen_flag_default_true.pbtxt"
H5 = ROOT / "fixtures" / "tfkeras" / "training_kwarg.h5"

_MEASURE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bncheck.loaders import discover, load
from bncheck.engine import check_models
def peak():  # VmHWM: this process's own high-water mark (ru_maxrss can carry the parent's across exec)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
before = peak()
cpu = time.process_time()
check_models(load(discover(sys.argv[2])[0]))
print(time.process_time() - cpu, peak() - before)
"""


def _grown_text(mb: int) -> str:
    text = TEXT_GRAPH.read_text()
    nodes = re.findall(r"^node \{.*?^\}\n", text, flags=re.S | re.M)
    rest = re.sub(r"^node \{.*?^\}\n", "", text, flags=re.S | re.M)
    out, size, copy = [], 0, 0
    while size < mb << 20:
        for node in nodes:
            piece = node.replace('name: "', f'name: "c{copy}/', 1).replace('input: "', f'input: "c{copy}/')
            out.append(piece)
            size += len(piece)
        copy += 1
    return "".join(out) + rest


def _inputs(folder: pathlib.Path, mb: int) -> dict[str, pathlib.Path]:
    sys.path.insert(0, str(ROOT))
    from google.protobuf import text_format

    from bncheck.protos import POOL, message_class

    text = _grown_text(mb)
    (folder / "g.pbtxt").write_text(text)
    graph = message_class("tensorflow.GraphDef")()
    text_format.Parse(text, graph, descriptor_pool=POOL)
    (folder / "g.pb").write_bytes(graph.SerializeToString())
    import h5py  # type: ignore[import-untyped]

    shutil.copy(H5, folder / "m.h5")
    with h5py.File(folder / "m.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layer = {"class_name": "Dense", "config": {"name": "", "units": 8, "activation": "relu", "use_bias": True}}
        pads: list[dict[str, object]] = []
        size = 0
        while size < mb << 20:
            pad = json.loads(json.dumps(layer))
            pad["config"]["name"] = f"pad_{len(pads)}"
            pads.append(pad)
            size += 90
        config["config"]["layers"] += pads
        f.attrs["model_config"] = json.dumps(config)
    return {"binary GraphDef (.pb, .meta, saved_model.pb)": folder / "g.pb",
            "text GraphDef (.pbtxt)": folder / "g.pbtxt",
            "JSON model config (.h5 model_config, .keras config.json)": folder / "m.h5"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name, path in _inputs(pathlib.Path(scratch), args.mb).items():
            size = path.stat().st_size / (1 << 20)
            done = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), str(path)], capture_output=True,
                                  text=True, check=True, env={"BNCHECK_MAX_CONFIG_MB": "4096",
                                                              "BNCHECK_MAX_TEXT_MB": "4096"})
            cpu, mib = (float(v) for v in done.stdout.split())
            print(f"{name}: {size:.1f} MB, {cpu / size:.3f} s CPU per MB, {mib / size:.1f} MiB per MB")


if __name__ == "__main__":
    main()
