"""UpstreamSearch (early exit + remembered clean nodes) answers exactly what a full walk answers,
whatever order the questions come in, on graphs with cycles too."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bncheck.graph.analysis import UpstreamSearch, ancestors
from bncheck.graph.model import Graph, Node, TensorRef

edges = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30)


def _graph(pairs: list[tuple[int, int]], ops: list[bool]) -> Graph:
    inputs: dict[int, list[int]] = {i: [] for i in range(12)}
    for child, parent in pairs:
        inputs[child].append(parent)
    return Graph(Node(f"n{i}", "Hit" if ops[i] else "Op", tuple(TensorRef(f"n{p}") for p in inputs[i]), ())
                 for i in range(12))


@settings(max_examples=300)
@given(edges, st.lists(st.booleans(), min_size=12, max_size=12), st.permutations(list(range(12))))
def test_same_answers_as_a_full_walk(pairs: list[tuple[int, int]], hits: list[bool], order: list[int]) -> None:
    graph = _graph(pairs, hits)
    search = UpstreamSearch(graph, lambda node: node.op == "Hit", lambda node: [r.node for r in node.inputs])
    for i in order:  # every question, in a random order, sharing one memo
        expected = any(graph[a].op == "Hit" for a in ancestors(graph, [f"n{i}"]))
        assert search(f"n{i}") is expected, f"n{i}"


def test_unknown_nodes_and_missing_parents_are_not_hits() -> None:
    graph = Graph([Node("a", "Op", (TensorRef("missing"),), ())])
    search = UpstreamSearch(graph, lambda node: True if node.name == "missing" else False,
                            lambda node: [r.node for r in node.inputs])
    assert search("a") is False
    assert search("nowhere") is False
