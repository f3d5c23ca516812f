"""Corrupt input never raises: every truncation or bit flip of every fixture is a report error or a report."""
from __future__ import annotations

import random

import pytest

import bncheck
from conftest import FIXTURES

GRAPH_FILES = sorted(p for g in ("tf1", "keras3", "tfkeras") for p in (FIXTURES / g).rglob("*")
                     if p.suffix in (".pb", ".pbtxt", ".meta", ".keras", ".h5"))


@pytest.mark.parametrize("path", GRAPH_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_truncated_and_flipped_copies_never_raise(tmp_path, path):
    data = path.read_bytes()
    rng = random.Random(path.name)
    variants = [data[: int(len(data) * f)] for f in (0.0, 0.01, 0.3, 0.77, 0.999)]
    for _ in range(4):
        flipped = bytearray(data)
        for _ in range(8):
            flipped[rng.randrange(len(flipped))] ^= 0xFF
        variants.append(bytes(flipped))
    targets = []
    for i, blob in enumerate(variants):
        target = tmp_path / f"{i}{path.suffix}"
        target.write_bytes(blob)
        targets.append(str(target))
    report = bncheck.check_path(targets)  # must not raise; one call: its workers check the copies one after another
    for err in report.errors:
        assert len([t for t in targets if t in str(err)]) == 1 and "\n" not in str(err)  # names its copy
        assert "could not be read (" not in str(err), f"unhandled parser failure: {err}"
        assert "internal error" not in str(err), f"rule failure: {err}"
