"""UpstreamSearch (early exit + remembered clean nodes) answers exactly what a full walk answers,
whatever order the questions come in, on graphs with cycles too."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bncheck.graph.analysis import UpstreamSearch, ancestors
from bncheck.graph.model import Graph, Node, TensorRef

edges = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.booleans()), max_size=30)


def _graph(pairs: list[tuple[int, int, bool]], ops: list[bool]) -> Graph:
    inputs: dict[int, list[int]] = {i: [] for i in range(12)}
    controls: dict[int, list[str]] = {i: [] for i in range(12)}
    for child, parent, control in pairs:
        if control:
            controls[child].append(f"n{parent}")
        else:
            inputs[child].append(parent)
    return Graph(Node(f"n{i}", "Hit" if ops[i] else "Op", tuple(TensorRef(f"n{p}") for p in inputs[i]),
                      tuple(controls[i])) for i in range(12))


def _data_ancestors(graph: Graph, name: str) -> set[str]:
    seen, stack = set(), [name]
    while stack:
        current = stack.pop()
        if current not in seen and current in graph:
            seen.add(current)
            stack.extend(r.node for r in graph[current].inputs)
    return seen


@settings(max_examples=300)
@given(edges, st.lists(st.booleans(), min_size=12, max_size=12), st.permutations(list(range(12))),
       st.booleans(), st.sets(st.integers(0, 11)), st.booleans())
def test_same_answers_as_a_full_walk(pairs: list[tuple[int, int, bool]], hits: list[bool], order: list[int],
                                     control: bool, named: set[int], by_op: bool) -> None:
    """Hits by op type or by name; data edges only, or control edges too (which then count)."""
    graph = _graph(pairs, hits)
    hit_nodes = frozenset(f"n{i}" for i in named)
    search = UpstreamSearch(graph, hit_ops=frozenset({"Hit"}) if by_op else frozenset(), hit_nodes=hit_nodes,
                            control=control)
    for i in order:  # every question, in a random order, sharing one memo
        upstream = ancestors(graph, [f"n{i}"]) if control else _data_ancestors(graph, f"n{i}")
        expected = any((by_op and graph[a].op == "Hit") or a in hit_nodes for a in upstream)
        assert search(f"n{i}") is expected, f"n{i}"


def test_control_edges_are_walked_only_when_asked() -> None:
    graph = Graph([Node("grad", "ReluGrad", (), ()), Node("apply", "AssignSub", (), ("grad",))])
    assert UpstreamSearch(graph, hit_ops={"ReluGrad"})("apply") is False
    assert UpstreamSearch(graph, hit_ops={"ReluGrad"}, control=True)("apply") is True


def test_unknown_nodes_and_missing_parents_are_not_hits() -> None:
    graph = Graph([Node("a", "Op", (TensorRef("missing"),), ())])
    search = UpstreamSearch(graph, hit_nodes={"missing"})
    assert search("a") is False
    assert search("nowhere") is False


def _reference_ancestors(graph: Graph, roots: list[str], dead: set[str]) -> set[str]:
    found: set[str] = set()
    frontier = [r for r in roots if r in graph and r not in dead]
    while frontier:
        found.update(frontier)
        frontier = [p for name in frontier for p in [r.node for r in graph[name].inputs] + list(graph[name].control_inputs)
                    if p in graph and p not in dead and p not in found]
    return found


@settings(max_examples=300)
@given(edges, st.lists(st.integers(0, 13), max_size=4), st.sets(st.integers(0, 13)))
def test_ancestors_match_a_plain_walk(pairs: list[tuple[int, int, bool]], roots: list[int], dead: set[int]) -> None:
    """Roots and parents that are dead or not nodes at all (n12, n13) are never in the answer."""
    graph = _graph(pairs + [(0, 12, False), (1, 13, True)], [False] * 12)
    names, dead_names = [f"n{i}" for i in roots], {f"n{i}" for i in dead}
    assert ancestors(graph, names, dead_names) == _reference_ancestors(graph, names, dead_names)


def test_branch_of_is_the_innermost_cond_and_ends_at_the_merge():
    """v1 tf.cond: a branch is everything computed from a Switch output (data edges, or a control
    edge from the branch's pivot) up to the Merge; a nested cond's branch reads through its own
    Switch, so the nearest Switch is the innermost cond."""
    from bncheck.graph.analysis import dataflow

    def node(name, op, *inputs, control=()):
        return Node(name, op, tuple(TensorRef.parse(i) for i in inputs), tuple(control))

    graph = Graph([
        node("x", "Placeholder"), node("p", "Placeholder"), node("q", "Placeholder"),
        node("outer", "Switch", "x", "p"), node("pivot_t", "Identity", "outer:1"),
        node("conv", "Conv2D", "outer:1", "w"), node("w", "Const", control=["pivot_t"]),
        node("inner", "Switch", "conv", "q"), node("bn", "FusedBatchNormV3", "inner", "w"),
        node("relu", "Relu", "bn"), node("inner_merge", "Merge", "relu", "inner:1"),
        node("after_inner", "Relu", "inner_merge"), node("else", "Relu", "outer"),
        node("merge", "Merge", "after_inner", "else"), node("after", "Relu", "merge"),
    ])
    flow = dataflow(graph)
    assert {n: flow.branch_of(n) for n in ("conv", "w", "inner", "bn", "relu", "inner_merge", "after_inner",
                                           "else")} == {
        "conv": ("outer", 1), "w": ("outer", 1), "inner": ("outer", 1), "bn": ("inner", 0), "relu": ("inner", 0),
        "inner_merge": ("outer", 1), "after_inner": ("outer", 1), "else": ("outer", 0)}
    assert [flow.branch_of(n) for n in ("x", "outer", "merge", "after", "missing")] == [None] * 5
    assert dataflow(Graph([node("x", "Placeholder"), node("y", "Relu", "x")])).branch_of("y") is None
