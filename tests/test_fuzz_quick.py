"""The quick, deterministic slice of the fuzz campaign (``fuzz/campaign.py`` runs 10,000 mutants
per format): a few hundred mutants per format from a fixed seed, each checked by the oracle that
runs loaders and rules with no catch-all. Any unhandled exception, multi-line or file-less error,
Python bug wrapped as an input error, or read outside the artefact fails the test, naming the
mutant (rebuild it with ``python fuzz/campaign.py --replay FORMAT:NUMBER``)."""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from fuzz import harness  # noqa: E402

MUTANTS = int(os.environ.get("BNCHECK_QUICK_MUTANTS", "200"))
REGRESSIONS = ROOT / "fuzz" / "regressions.txt"


def _check(fmt: str, number: int, folder: pathlib.Path) -> str | None:
    seed, data = harness.mutant(fmt, number)
    path = harness.materialize(seed, data, folder)
    verdict = harness.check_artefact(path, folder)
    if verdict.status != "ok":
        return f"{fmt}:{number} (seed {seed.name}): {verdict.status}: {verdict.detail}"
    return None


@pytest.mark.parametrize("fmt", sorted(harness.FORMATS))
def test_mutants_never_escape_as_bugs(tmp_path, fmt):
    assert harness.seeds(fmt), f"no seed artefacts for {fmt} in fixtures/"
    failures = [f for n in range(MUTANTS) if (f := _check(fmt, n, tmp_path / "m"))]
    assert not failures, "\n".join(failures[:20])


def _regressions() -> list[str]:
    if not REGRESSIONS.exists():
        return []
    return [line.split("#")[0].strip() for line in REGRESSIONS.read_text().splitlines() if line.split("#")[0].strip()]


@pytest.mark.parametrize("mutant", _regressions())
def test_regression_mutants(tmp_path, mutant):
    fmt, number = mutant.split(":")
    assert _check(fmt, int(number), tmp_path / "m") is None


def test_mutants_are_deterministic_and_varied():
    first = [harness.mutant("pb", n)[1] for n in range(20)]
    assert first == [harness.mutant("pb", n)[1] for n in range(20)]
    assert len(set(first)) == 20


# -- the oracle itself must be able to fail --------------------------------------------------

def test_oracle_flags_an_unhandled_exception(tmp_path, monkeypatch):
    import bncheck.loaders

    def broken(target):
        raise TypeError("boom")

    monkeypatch.setattr(bncheck.loaders, "load", broken)
    path = tmp_path / "g.pb"
    path.write_bytes((ROOT / "fixtures" / "tf1" / "frozen_layer_norm.pb").read_bytes())
    verdict = harness.check_artefact(path)
    assert verdict.status == "bug" and verdict.detail.startswith("TypeError at test_fuzz_quick.py")


def test_oracle_flags_a_bug_wrapped_as_input_error(tmp_path, monkeypatch):
    import bncheck.loaders
    from bncheck.errors import InputError

    def wrapped(target):
        raise InputError(target.path, "not a readable Keras file (AttributeError: 'int' object has no attribute 'x')")

    monkeypatch.setattr(bncheck.loaders, "load", wrapped)
    path = tmp_path / "g.pb"
    path.write_bytes(b"x")
    assert harness.check_artefact(path).status == "bug"


def test_oracle_flags_a_read_outside_the_artefact(tmp_path, monkeypatch):
    import bncheck.loaders

    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    original = bncheck.loaders.load

    def peeking(target):
        open(secret).close()
        return original(target)

    monkeypatch.setattr(bncheck.loaders, "load", peeking)
    folder = tmp_path / "art"
    folder.mkdir()
    path = folder / "g.pb"
    path.write_bytes((ROOT / "fixtures" / "tf1" / "frozen_layer_norm.pb").read_bytes())
    verdict = harness.check_artefact(path, folder)
    assert verdict.status == "outside" and str(secret) in verdict.detail


def test_campaign_script_runs_and_reports(tmp_path):
    import json
    import subprocess

    out = tmp_path / "totals.json"
    proc = subprocess.run([sys.executable, str(ROOT / "fuzz" / "campaign.py"), "--formats", "pb", "ckpt_state",
                           "--mutants", "5", "--jobs", "1", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    totals = json.loads(out.read_text())
    assert {fmt: s["verdicts"] for fmt, s in totals["formats"].items()} == {"pb": {"ok": 5}, "ckpt_state": {"ok": 5}}
    assert totals["failures"] == []
