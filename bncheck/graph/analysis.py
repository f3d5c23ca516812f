"""Graph queries the rules share: what runs, what is constant, which variable a tensor reads.

Every query is exact and memoised per graph: no search gives up after a fixed number of nodes.
Expressions are evaluated with explicit stacks, so a deep chain of ops costs memory, never a
``RecursionError``, and a cycle of ordinary ops (which no real graph has) evaluates to "unknown".
"""
from __future__ import annotations

import operator
import weakref
from typing import Callable, Hashable, Iterable, Mapping, TypeVar

import numpy as np

from bncheck.graph.model import Graph, Node, TensorRef
from bncheck.graph.values import tensor_attr, type_attr

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
# a Reshape of a read is a read: Keras 3 reshapes the moving statistics, gamma and beta to the
# input's rank when a BatchNormalization's axis is not the last one by number (axis=3, as every
# Keras application passes it)
READ_THROUGH = frozenset({"Identity", "ReadVariableOp", "Snapshot", "Enter", "RefIdentity", "Switch", "RefSwitch",
                          "Reshape"})
PASS_THROUGH = frozenset({"Identity", "Cast", "StopGradient", "Squeeze", "Reshape", "Snapshot", "ExpandDims",
                          "PreventGradient", "CheckNumerics", "EnsureShape"})
SWITCH_OPS = frozenset({"Switch", "RefSwitch"})
MERGE_OPS = frozenset({"Merge", "RefMerge"})
SHAPE_OPS = frozenset({"Shape", "ShapeN", "Size", "Rank"})  # depend on shapes only, never on values
ASSIGN_OPS = {  # op -> how the new value relates to the second input
    "Assign": "set", "AssignVariableOp": "set",
    "AssignSub": "sub", "AssignSubVariableOp": "sub",
    "AssignAdd": "add", "AssignAddVariableOp": "add",
}
# Ops only a backward pass (tf.gradients / GradientTape) creates. Conv2DBackpropInput and its
# kin are NOT here: they are also the forward op of conv2d_transpose (generators, U-Nets).
_GRADIENT_ONLY_SUFFIXES = ("Grad", "GradV2", "GradV3", "GradGrad", "GradWithArgmax")
_GRADIENT_ONLY_OPS = frozenset({
    "BroadcastGradientArgs", "Conv2DBackpropFilter", "Conv3DBackpropFilter", "Conv3DBackpropFilterV2",
    "DepthwiseConv2dNativeBackpropFilter", "Conv2DBackpropFilterV2", "SymbolicGradient",
})
_MAX_ELEMENTS = 1 << 20

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def is_gradient_only_op(op: str) -> bool:
    """Ops that exist only in a backward pass (never the forward op of a layer)."""
    return op in _GRADIENT_ONLY_OPS or op.endswith(_GRADIENT_ONLY_SUFFIXES)


def evaluate(root: K, deps: Callable[[K], Iterable[K]], compute: Callable[[K, Mapping[K, V | None]], V | None],
             memo: dict[K, V | None]) -> V | None:
    """Memoised post-order evaluation with an explicit stack.

    ``deps(key)`` lists what ``key`` needs; ``compute(key, memo)`` reads them from ``memo`` (a
    dependency on a cycle is absent from ``memo`` and reads as ``None``)."""
    if root in memo:
        return memo[root]
    active: set[K] = set()
    stack: list[tuple[K, bool]] = [(root, False)]
    while stack:
        key, expanded = stack.pop()
        if key in memo:
            continue
        if expanded:
            memo[key] = compute(key, memo)
            active.discard(key)
            continue
        if key in active:
            continue  # a cycle: the expanded entry computes without it
        active.add(key)
        stack.append((key, True))
        stack.extend((d, False) for d in deps(key) if d not in memo and d not in active)
    return memo.get(root)


class UpstreamSearch:
    """Whether some node upstream of a node (the node itself included) is a hit: named in
    ``hit_nodes`` or of an op type in ``hit_ops``, walking data inputs (and control inputs with
    ``control``). Each question stops at the first hit; nodes fully explored without one are
    remembered, so all questions together cost at most one walk over the graph."""

    def __init__(self, graph: Graph, *, hit_nodes: frozenset[str] | set[str] = frozenset(),
                 hit_ops: frozenset[str] | set[str] = frozenset(), control: bool = False) -> None:
        self.nodes = graph.nodes
        self.hit_nodes = hit_nodes
        self.hit_ops = hit_ops
        self.control = control
        self.clean: set[str] = set()  # nodes with no hit upstream

    def __call__(self, name: str) -> bool:
        clean = self.clean
        if name in clean:
            return False
        nodes, hit_nodes, hit_ops, control = self.nodes, self.hit_nodes, self.hit_ops, self.control
        seen = {name}
        stack = [name]
        push, pop, mark = stack.append, stack.pop, seen.add
        while stack:
            current = pop()
            node = nodes.get(current)
            if node is None:
                continue
            if current in hit_nodes or node.op in hit_ops:
                return True
            for ref in node.inputs:  # two plain loops: this walk is the hot path of 1M-node graphs
                parent = ref.node
                if parent not in seen and parent not in clean:
                    mark(parent)
                    push(parent)
            if control:
                for parent in node.control_inputs:
                    if parent not in seen and parent not in clean:
                        mark(parent)
                        push(parent)
        clean.update(seen)
        return False


class Dataflow:
    """Per-graph memo of the structural queries (built once, see :func:`dataflow`)."""

    def __init__(self, graph: Graph) -> None:
        # The graph holds this memo, so a plain reference would make a cycle that keeps a whole
        # graph alive until the cyclic collector runs (which bncheck pauses while checking).
        self.graph: Graph = weakref.proxy(graph)
        self._variable: dict[str, str | None] = {}
        self._after_gradient: UpstreamSearch | None = None
        self._branches: dict[str, tuple[str, int] | None] | None = None

    def variable_of(self, name: str) -> str | None:
        """The variable node that node ``name`` reads through Identity/ReadVariableOp/Switch chains."""
        memo = self._variable
        if name in memo:
            return memo[name]
        path: list[str] = []
        result = None
        node = self.graph.get(name)
        while node is not None:
            if node.name in memo:
                result = memo[node.name]
                break
            if node.name in path:
                break  # a cycle of reads: no variable
            path.append(node.name)
            if node.op in VARIABLE_OPS:
                result = node.name
                break
            if node.op not in READ_THROUGH or not node.inputs:
                break
            node = self.graph.get(node.inputs[0].node)
        for step in path:
            memo[step] = result
        return result

    def after_gradient(self, name: str) -> bool:
        """Whether a node is computed after a gradient-only op (data or control edges): part of a
        backward pass or of what consumes it (optimizer updates, MAML's fast weights)."""
        if self._after_gradient is None:
            graph = self.graph
            self._after_gradient = UpstreamSearch(
                graph, hit_ops=frozenset(op for op in graph.ops if is_gradient_only_op(op)), control=True)
        return self._after_gradient(name)

    def branch_of(self, name: str) -> tuple[str, int] | None:
        """The v1-cond branch a node is in, as the (Switch, output port) that opens it: the
        innermost one, found from the node's inputs (data, or a control input from a branch's
        pivot). A Merge closes its cond: it and what follows are in the branch its Switch is in.
        Memoised for the whole graph; a graph without a Switch answers None at once."""
        if self._branches is None:
            if not self.graph.by_op(*SWITCH_OPS):
                return None
            self._branches = {}
        graph = self.graph
        return evaluate(name, lambda n: _producers(graph.get(n)), self._branch_compute, self._branches)

    def _branch_compute(self, name: str, memo: Mapping[str, tuple[str, int] | None]) -> tuple[str, int] | None:
        node = self.graph.get(name)
        if node is None:
            return None
        found = None
        for ref in node.inputs:
            producer = self.graph.get(ref.node)
            if producer is None:
                continue
            found = (producer.name, ref.index) if producer.op in SWITCH_OPS else memo.get(producer.name)
            if found is not None:
                break
        if found is None:
            found = next((b for b in map(memo.get, node.control_inputs) if b is not None), None)
        if found is not None and node.op in MERGE_OPS:
            return memo.get(found[0])  # the branch the closed cond's Switch is in
        return found

    def chain_source(self, ref: TensorRef, through: frozenset[str], stop: frozenset[str]) -> str | None:
        """Follow input 0 through ``through`` ops to the first node whose op is in ``stop``."""
        seen: set[str] = set()
        node = self.graph.get(ref.node)
        while node is not None and node.name not in seen:
            seen.add(node.name)
            if node.op in stop:
                return node.name
            if node.op not in through or not node.inputs:
                return None
            node = self.graph.get(node.inputs[0].node)
        return None


def dataflow(graph: Graph) -> Dataflow:
    """The graph's memoised :class:`Dataflow` (one per graph object)."""
    flow = graph.__dict__.get("_dataflow")
    if flow is None:
        flow = graph.__dict__["_dataflow"] = Dataflow(graph)
    return flow


def variable_of(graph: Graph, ref: TensorRef) -> str | None:
    """The variable node a tensor reads (through Identity / ReadVariableOp), if any."""
    return dataflow(graph).variable_of(ref.node)


_producer = operator.itemgetter(0)  # TensorRef -> the node that produces it


def _producers(node: Node | None) -> list[str]:
    return [] if node is None else [r.node for r in node.inputs] + list(node.control_inputs)


def ancestors(graph: Graph, roots: Iterable[str], dead: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Every node that runs when ``roots`` run (data and control inputs), skipping dead nodes."""
    nodes = graph.nodes
    seen: set[str] = set()  # marked when first met, so each name is looked up once
    outside: list[str] = []  # met but dead or not a node: not in the answer
    stack: list[str] = []
    push, pop, mark = stack.append, stack.pop, seen.add
    for name in roots:
        if name not in seen:
            mark(name)
            (push if name in nodes and name not in dead else outside.append)(name)
    while stack:
        node = nodes[pop()]
        for parents in (map(_producer, node.inputs), node.control_inputs):
            for parent in parents:
                if parent not in seen:
                    mark(parent)
                    if parent in nodes and parent not in dead:
                        push(parent)
                    else:
                        outside.append(parent)
    seen.difference_update(outside)
    return seen


class Deadness:
    """Nodes (and Switch output ports) that never run because a v1 ``tf.cond`` Switch has a fixed
    predicate. Follows TensorFlow's executor: a node is dead when any input is dead, a Merge only
    when all its data inputs are; the untaken output of a Switch with a known predicate is dead."""

    def __init__(self, graph: Graph, predicate: Callable[[TensorRef], bool | None]) -> None:
        self.nodes: set[str] = set()
        self.ports: set[tuple[str, int]] = set()
        queue: list[str] = []
        for sw in graph.by_op(*SWITCH_OPS):
            if len(sw.inputs) < 2:
                continue
            value = predicate(sw.inputs[1])
            if value is not None:
                self.ports.add((sw.name, 0 if value else 1))
                queue.append(sw.name)
        while queue:
            producer = queue.pop()
            for consumer, pos in graph.consumers.get(producer, ()):
                if consumer in self.nodes:
                    continue
                node = graph[consumer]
                if pos is not None and not self.is_dead(node.inputs[pos]):
                    continue
                if node.op in MERGE_OPS and pos is not None and not all(self.is_dead(r) for r in node.inputs):
                    continue
                self.nodes.add(consumer)
                queue.append(consumer)

    def is_dead(self, ref: TensorRef) -> bool:
        return ref.node in self.nodes or (ref.node, ref.index) in self.ports


def dead_nodes(graph: Graph, predicate: Callable[[TensorRef], bool | None]) -> set[str]:
    """The dead nodes of :class:`Deadness` (kept for callers that need only the set)."""
    return Deadness(graph, predicate).nodes


class ConstantFolder:
    """Evaluates constant expressions (Const, Identity, Cast, arithmetic, defaults, cond Merges).

    ``fed`` names placeholders the caller feeds: their defaults do not count as constants.
    ``assume`` fixes boolean tensors (a cond predicate taken as True or False), and ``dead`` says
    which Merge inputs cannot run under that assumption: a Merge folds to its one live input.
    """

    _BINARY = {
        "Sub": np.subtract, "Mul": np.multiply, "Add": np.add, "AddV2": np.add,
        "RealDiv": np.divide, "Maximum": np.maximum, "Minimum": np.minimum,
        "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or, "Equal": np.equal,
    }
    _UNARY_SAME = frozenset({"Identity", "Snapshot", "StopGradient", "Squeeze", "ExpandDims", "Reshape",
                             "Switch", "RefSwitch", "Enter", "RefIdentity"})
    _DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}

    def __init__(self, graph: Graph, fed: Iterable[str] = (), assume: Mapping[TensorRef, bool] | None = None,
                 dead: Deadness | None = None) -> None:
        self.graph = graph
        self.fed = frozenset(fed)
        self.assume = dict(assume or {})
        self.dead = dead
        self._memo: dict[TensorRef, np.ndarray | None] = {}

    def value(self, ref: TensorRef) -> np.ndarray | None:
        return evaluate(ref, self._deps, self._compute, self._memo)

    def scalar(self, ref: TensorRef) -> float | bool | None:
        value = self.value(ref)
        if value is None or value.size != 1:
            return None
        item = value.reshape(()).item()
        return item if isinstance(item, (bool, float, int)) else None

    def live_inputs(self, refs: Iterable[TensorRef]) -> list[TensorRef]:
        return [r for r in refs if self.dead is None or not self.dead.is_dead(r)]

    def _deps(self, ref: TensorRef) -> Iterable[TensorRef]:
        if ref in self.assume:
            return ()
        node = self.graph.get(ref.node)
        if node is None or not node.inputs:
            return ()
        op = node.op
        if op == "PlaceholderWithDefault":
            return () if node.name in self.fed else node.inputs[:1]
        if op in self._UNARY_SAME or op in ("Cast", "LogicalNot"):
            return node.inputs[:1]
        if op in self._BINARY:
            return node.inputs[:2]
        if op in MERGE_OPS:
            return self.live_inputs(node.inputs)
        return ()

    def _compute(self, ref: TensorRef, memo: Mapping[TensorRef, np.ndarray | None]) -> np.ndarray | None:
        if ref in self.assume:
            return np.asarray(self.assume[ref])
        node = self.graph.get(ref.node)
        if node is None:
            return None
        op = node.op
        inputs = [memo.get(r) for r in self._deps(ref)]
        try:
            if op == "Const":
                return tensor_attr(node.attrs, "value")
            if op == "PlaceholderWithDefault":
                return inputs[0] if inputs else None
            if op in self._UNARY_SAME:
                if not inputs or inputs[0] is None or (op not in SWITCH_OPS and ref.index != 0):
                    return None
                return inputs[0] if op != "Reshape" or inputs[0].size == 1 else None
            if op == "Cast":
                dtype = self._DTYPES.get(type_attr(node.attrs, "DstT") or 0)
                return None if not inputs or inputs[0] is None or dtype is None else inputs[0].astype(dtype)
            if op == "LogicalNot":
                return None if not inputs or inputs[0] is None else np.logical_not(inputs[0])
            if op in MERGE_OPS:
                if ref.index != 0 or not inputs or any(v is None for v in inputs):
                    return None
                first = inputs[0]
                if first is None:
                    return None
                same = all(v is not None and v.shape == first.shape and bool(np.all(v == first)) for v in inputs)
                return first if same else None
            fn = self._BINARY.get(op)
            if fn is not None and len(inputs) == 2 and ref.index == 0:
                a, b = inputs
                if a is None or b is None or int(np.prod(np.broadcast_shapes(a.shape, b.shape))) > _MAX_ELEMENTS:
                    return None
                with np.errstate(all="ignore"):
                    return np.asarray(fn(a, b))
        except (ValueError, TypeError, OverflowError, ArithmeticError):
            return None  # malformed constants: not a constant bncheck can use
        return None

