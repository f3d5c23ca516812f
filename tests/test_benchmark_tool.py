"""tools/benchmark.py's per-phase breakdown runs on a real fixture and counts what it measured."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_phases_counts_the_nodes_and_layers_it_times():
    fixture = ROOT / "fixtures" / "tf1" / "slim_bare_batch_norms_create_train_op.meta"
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "benchmark.py"), "--phases", str(fixture),
                          "--repeat", "1"], capture_output=True, text=True, check=True, timeout=120).stdout
    lines = out.splitlines()
    header = re.fullmatch(r"slim_bare_batch_norms_create_train_op\.meta: (\d+) nodes, (\d+) batch-norm layers",
                          lines[0])
    assert header is not None, out
    assert int(header[1]) == 479  # the MetaGraph's GraphDef has 479 NodeDefs and no functions
    assert int(header[2]) == 3  # resnet/BatchNorm, resnet/BatchNorm_1, resnet/preact
    phases = [line.split()[0] for line in lines[1:]]
    assert phases == ["load", "find", *[f"BN00{i}" for i in range(1, 10)], "free"]
