"""Source mode as whole-program analysis: call chains across files, star imports, nested functions,
the call graph deciding entry points, imports followed to unchanged sibling modules, depth limits
that cost only their construct, and cost linear in the file (issue 18 items 1-3, 9, 13 and Cost;
issue 19 item 7)."""
from __future__ import annotations

import pathlib
import sys
import time

import pytest

from bncheck.source.checker import check_files

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "source"
sys.path.insert(0, str(ROOT / "tools"))


def _cpu_best(action, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def test_cost_is_linear_in_the_layers_of_one_script(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from benchmark_source import layered_script

    small, large = tmp_path / "small.py", tmp_path / "large.py"
    small.write_text(layered_script(250))
    large.write_text(layered_script(4000))
    # every layer is found: BN001 at the train op (no update ops), BN010 at each conv (its bias feeds BN)
    found = check_files([str(large)], jobs=1).findings
    assert len(found) == 8000
    assert {(f.code, f.loc.line) for f in found if f.layer == "block3999/bn"} == {("BN001", 16013), ("BN010", 16003)}
    ratio = _cpu_best(lambda: check_files([str(large)], jobs=1)) / _cpu_best(lambda: check_files([str(small)], jobs=1))
    # 16x the layers: linear cost is about 16x the CPU time; the quadratic parts this replaced gave over 100x
    assert ratio < 32, ratio
