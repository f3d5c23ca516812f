"""Graph queries the rules share: what runs, what is constant, which variable a tensor reads."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from bncheck.graph.model import Graph, TensorRef
from bncheck.graph.values import attr_value

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
READ_THROUGH = frozenset({"Identity", "ReadVariableOp", "Snapshot", "Enter", "RefIdentity", "Switch", "RefSwitch"})
PASS_THROUGH = frozenset({"Identity", "Cast", "StopGradient", "Squeeze", "Reshape", "Snapshot", "ExpandDims",
                          "PreventGradient", "CheckNumerics", "EnsureShape"})
SWITCH_OPS = frozenset({"Switch", "RefSwitch"})
MERGE_OPS = frozenset({"Merge", "RefMerge"})
ASSIGN_OPS = {  # op -> how the new value relates to the second input
    "Assign": "set", "AssignVariableOp": "set",
    "AssignSub": "sub", "AssignSubVariableOp": "sub",
    "AssignAdd": "add", "AssignAddVariableOp": "add",
}


def variable_of(graph: Graph, ref: TensorRef, depth: int = 8) -> str | None:
    """The variable node a tensor reads (through Identity / ReadVariableOp), if any."""
    node = graph.get(ref.node)
    while node is not None and depth > 0:
        if node.op in VARIABLE_OPS:
            return node.name
        if node.op not in READ_THROUGH or not node.inputs:
            return None
        node = graph.get(node.inputs[0].node)
        depth -= 1
    return None


def ancestors(graph: Graph, roots: Iterable[str], dead: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Every node that runs when ``roots`` run (data and control inputs), skipping dead nodes."""
    seen: set[str] = set()
    stack = [r for r in roots if r in graph and r not in dead]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph[name]
        for ref in node.inputs:
            if ref.node not in seen and ref.node not in dead and ref.node in graph:
                stack.append(ref.node)
        for ctrl in node.control_inputs:
            if ctrl not in seen and ctrl not in dead and ctrl in graph:
                stack.append(ctrl)
    return seen


def dead_nodes(graph: Graph, predicate: Callable[[TensorRef], bool | None]) -> set[str]:
    """Nodes that never run because a v1 ``tf.cond`` Switch has a fixed predicate.

    Follows TensorFlow's executor: a node is dead when any input is dead, a Merge only when all
    its data inputs are; the untaken output of a Switch with a known predicate is dead.
    """
    dead: set[str] = set()
    dead_ports: set[tuple[str, int]] = set()
    queue: list[str] = []
    for sw in graph.by_op(*SWITCH_OPS):
        if len(sw.inputs) < 2:
            continue
        value = predicate(sw.inputs[1])
        if value is not None:
            dead_ports.add((sw.name, 0 if value else 1))
            queue.append(sw.name)

    def is_dead(ref: TensorRef) -> bool:
        return ref.node in dead or (ref.node, ref.index) in dead_ports

    while queue:
        producer = queue.pop()
        for consumer, pos in graph.consumers.get(producer, ()):
            if consumer in dead:
                continue
            node = graph[consumer]
            if pos is not None and not is_dead(node.inputs[pos]):
                continue
            if node.op in MERGE_OPS and pos is not None and not all(is_dead(r) for r in node.inputs):
                continue
            dead.add(consumer)
            queue.append(consumer)
    return dead


class ConstantFolder:
    """Evaluates small constant expressions (Const, Identity, Cast, arithmetic, defaults).

    ``fed`` names placeholders the caller feeds: their defaults do not count as constants.
    """

    _BINARY = {
        "Sub": np.subtract, "Mul": np.multiply, "Add": np.add, "AddV2": np.add,
        "RealDiv": np.divide, "Maximum": np.maximum, "Minimum": np.minimum,
        "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or, "Equal": np.equal,
    }

    def __init__(self, graph: Graph, fed: Iterable[str] = ()) -> None:
        self.graph = graph
        self.fed = frozenset(fed)
        self._memo: dict[TensorRef, np.ndarray | None] = {}

    def value(self, ref: TensorRef, depth: int = 24) -> np.ndarray | None:
        if ref in self._memo:
            return self._memo[ref]
        result = self._evaluate(ref, depth) if depth > 0 else None
        self._memo[ref] = result
        return result

    def scalar(self, ref: TensorRef) -> float | bool | None:
        value = self.value(ref)
        if value is None or value.size != 1:
            return None
        item = value.reshape(()).item()
        return item if isinstance(item, (bool, float, int)) else None

    def _evaluate(self, ref: TensorRef, depth: int) -> np.ndarray | None:
        node = self.graph.get(ref.node)
        if node is None:
            return None
        if node.op == "Const":
            attr = node.attrs.get("value")
            return attr_value(attr) if attr is not None else None
        if node.op == "PlaceholderWithDefault":
            return None if node.name in self.fed else self.value(node.inputs[0], depth - 1)
        if node.op in ("Identity", "Snapshot", "StopGradient", "Squeeze", "Reshape") and ref.index == 0:
            inner = self.value(node.inputs[0], depth - 1)
            return None if inner is None or node.op == "Reshape" and inner.size != 1 else inner
        if node.op == "Cast":
            inner = self.value(node.inputs[0], depth - 1)
            dst = node.attrs.get("DstT")
            dtype = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}.get(
                attr_value(dst) if dst is not None else 0)
            return None if inner is None or dtype is None else inner.astype(dtype)
        if node.op == "LogicalNot":
            inner = self.value(node.inputs[0], depth - 1)
            return None if inner is None else np.logical_not(inner)
        fn = self._BINARY.get(node.op)
        if fn is not None and len(node.inputs) == 2:
            a, b = (self.value(r, depth - 1) for r in node.inputs)
            if a is None or b is None:
                return None
            with np.errstate(all="ignore"):
                return np.asarray(fn(a, b))
        return None


def depends_on(graph: Graph, ref: TensorRef, targets: set[str], limit: int = 64) -> bool:
    """Whether ``ref`` is computed from any node in ``targets`` (bounded data-input search)."""
    stack, seen = [ref.node], set()
    while stack and len(seen) < limit:
        name = stack.pop()
        if name in targets:
            return True
        if name in seen or name not in graph:
            continue
        seen.add(name)
        stack.extend(r.node for r in graph[name].inputs)
    return False
