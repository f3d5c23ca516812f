"""The quick, deterministic slice of ``fuzz/surfaces.py``: sources through --diff/--fix (byte-mutated
fixture scripts and hypothesmith programs), config files, baselines, and local URLs over symlinks.
A failure names the mutant: ``python fuzz/surfaces.py --replay SURFACE:NUMBER``."""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from fuzz import surfaces  # noqa: E402

COUNTS = {"source": 45, "config": 150, "baseline": 150, "urls": 12}
SCALE = float(os.environ.get("BNCHECK_QUICK_SURFACES_SCALE", "1"))


@pytest.mark.parametrize("surface", surfaces.SURFACES)
def test_surface_mutants_never_escape_as_bugs(tmp_path: pathlib.Path, surface: str) -> None:
    if surface == "source":
        pytest.importorskip("hypothesmith")
    if surface == "urls":
        pytest.importorskip("fsspec")
    count = max(1, int(COUNTS[surface] * SCALE))
    failures, rewritten = [], 0
    for number in range(count):
        verdict = surfaces.check(surface, number, tmp_path / "m", grammar_count=count // 3)
        rewritten += verdict.changed
        if verdict.status != "ok":
            failures.append(f"{surface}:{number}: {verdict.status}: {verdict.detail}")
    assert not failures, "\n".join(failures[:20])
    if surface == "source" and count >= 30:  # not vacuous: --fix rewrote some, a third were generated
        assert rewritten >= 5 and len(surfaces._PROGRAMS[(0, count // 3)]) == count // 3


def test_the_oracles_catch_what_they_guard(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write through the symlink and a traceback from a config are both reported."""
    from bncheck.source import fixer

    def careless(path: str, text: str, roots: object) -> None:
        with open(os.path.join(os.path.dirname(path), "link.py"), "w") as fh:
            fh.write(text)

    monkeypatch.setattr(fixer, "write_fixed", careless)
    data = (surfaces.FIXTURES / "source" / "keras_momentum_pytorch.py").read_bytes()
    assert surfaces.check_source(data, tmp_path / "s").status == "outside"
    import bncheck.config

    def old_bug(table: object, path: str) -> None:
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr(bncheck.config, "_settings", old_bug)
    verdict = surfaces.check_config(b"", tmp_path / "c")
    assert (verdict.status, verdict.detail.split(" at ")[0]) == ("bug", "AttributeError")
