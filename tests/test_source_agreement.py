"""Source mode and artefact mode agree on (code, layer) for the same program.

The fixture generator ran each TF1-style script with real TensorFlow and saved the graph it built
(fixtures/source/graphs/); here the script is read as source and the graph as an artefact.
"""
from __future__ import annotations

import pytest

import bncheck
from bncheck.source import check_files
from conftest import FIXTURES

SOURCE = FIXTURES / "source"
GRAPHS = sorted(p for p in (SOURCE / "graphs").iterdir() if p.suffix in (".meta", ".pb"))
SHARED_CODES = {"BN001", "BN002", "BN004", "BN007", "BN008", "BN009"}  # judged in both modes


def _script(graph) -> list[str]:  # type: ignore[no-untyped-def]
    path = SOURCE / graph.stem
    if path.is_dir():
        return sorted(str(p) for p in path.glob("*.py"))
    return [str(SOURCE / f"{graph.stem}.py")]


def test_graphs_were_generated() -> None:
    assert len(GRAPHS) == 16


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda p: p.stem)
def test_source_and_artefact_agree(graph) -> None:  # type: ignore[no-untyped-def]
    source = {(f.code, f.layer) for f in check_files(_script(graph)).findings if f.code in SHARED_CODES}
    report = bncheck.check_path(str(graph))
    assert not report.errors
    artefact = {(f.code, f.layer) for f in report.findings if f.code in SHARED_CODES}
    assert source == artefact
    assert bool(source) == (not graph.stem.endswith("_fixed"))
