"""Find batch-norm layers in a graph: their ops, moving-statistics variables and updates.

A layer is what its author wrote once (``tf.compat.v1.layers.batch_normalization(name="bn1")``,
``slim.batch_norm``, a hand-written moments + assign block). In the graph it can be several ops
(a training and an inference copy, towers, the branches of a ``tf.cond``) sharing the same moving
variables; ops and variables linked by reads and updates are grouped into one :class:`BnLayer`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from bncheck.graph.analysis import (
    ASSIGN_OPS, PASS_THROUGH, SWITCH_OPS, ConstantFolder, depends_on, variable_of,
)
from bncheck.graph.model import Graph, Node, TensorRef
from bncheck.graph.values import attr_value

KERAS_MOVING = frozenset({"moving_mean", "moving_variance"})
FUSED_OPS = frozenset({"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"})
_INTERNAL_SCOPE = re.compile(r"^(cond(_\d+)?|moments|batchnorm|FusedBatchNorm(V\d)?|AssignMovingAvg(_\d+)?|"
                             r"ExponentialMovingAverage|Switch(_\d+)?|then|else)$")


@dataclass(frozen=True)
class BnOp:
    """One normalising op. ``kind``: ``fused`` (FusedBatchNorm*), ``moments`` (batch statistics
    computed with Mean/SquaredDifference), or ``moving`` (an unfused normalisation that reads
    moving variables)."""

    node: str
    kind: str
    training: bool
    stats: tuple[TensorRef, ...] = ()  # batch mean / variance tensors it produces
    reads: tuple[str, ...] = ()  # moving variables it normalises with
    branch: tuple[str, int] | None = None  # (v1 cond Switch, output port) choosing this op
    avg_factor: float = 1.0  # fused exponential_avg_factor


@dataclass(frozen=True)
class MovingUpdate:
    """An assignment that folds a batch statistic into a moving variable."""

    node: str
    op: str
    variable: str
    stat: TensorRef
    bn_node: str
    momentum: float | None


@dataclass
class BnLayer:
    name: str
    ops: list[BnOp] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    updates: list[MovingUpdate] = field(default_factory=list)
    api: str = "unknown"

    @property
    def training_ops(self) -> list[BnOp]:
        return [op for op in self.ops if op.training]

    def updates_of(self, variable: str) -> list[MovingUpdate]:
        return [u for u in self.updates if u.variable == variable]


def _branch_of(graph: Graph, node: Node, depth: int = 3) -> tuple[str, int] | None:
    frontier = list(node.inputs)
    for _ in range(depth):
        nxt = []
        for ref in frontier:
            producer = graph.get(ref.node)
            if producer is None:
                continue
            if producer.op in SWITCH_OPS:
                return producer.name, ref.index
            if producer.op in PASS_THROUGH:
                nxt.extend(producer.inputs[:1])
        frontier = nxt
    return None


def _is_empty(graph: Graph, ref: TensorRef) -> bool:
    node = graph.get(ref.node)
    if node is None or node.op != "Const":
        return False
    value = attr_value(node.attrs["value"]) if "value" in node.attrs else None
    return value is not None and value.size == 0


def _is_layer_norm(graph: Graph, node: Node, folder: ConstantFolder) -> bool:
    """tf-keras LayerNormalization: a training-mode fused op on a reshaped input, with constant
    ones/zeros as scale/offset and no mean/variance."""
    if len(node.inputs) < 5:
        return False
    x = graph.get(node.inputs[0].node)
    if x is None or x.op != "Reshape":
        return False
    if variable_of(graph, node.inputs[1]) is not None:
        return False
    scale = graph.get(node.inputs[1].node)
    scale_is_ones = scale is not None and (scale.op == "Fill" or _all_equal(folder.value(node.inputs[1]), 1.0))
    return scale_is_ones and _is_empty(graph, node.inputs[3])


def _all_equal(value, target: float) -> bool:
    return value is not None and value.size > 0 and bool((value == target).all())


def _fused_ops(graph: Graph, folder: ConstantFolder) -> list[BnOp]:
    ops = []
    for node in graph.by_op(*FUSED_OPS):
        attr = node.attrs.get("is_training")
        training = True if attr is None else bool(attr_value(attr))
        if training and _is_layer_norm(graph, node, folder):
            continue
        factor_attr = node.attrs.get("exponential_avg_factor")
        factor = float(attr_value(factor_attr)) if factor_attr is not None else 1.0
        reads = tuple(v for v in (variable_of(graph, r) for r in node.inputs[3:5]) if v)
        stats = (TensorRef(node.name, 1), TensorRef(node.name, 2)) if training else ()
        ops.append(BnOp(node.name, "fused", training, stats, reads, _branch_of(graph, node), factor))
    return ops


def _moments_ops(graph: Graph, folder: ConstantFolder) -> list[BnOp]:
    """``tf.nn.moments`` / Keras 3 moments over the batch axis: mean, SquaredDifference, variance."""
    ops = []
    for sd in graph.by_op("SquaredDifference"):
        if len(sd.inputs) != 2:
            continue
        mean_ref = sd.inputs[1]
        mean = graph.get(mean_ref.node)
        while mean is not None and mean.op in ("StopGradient", "Identity") and mean.inputs:
            mean_ref = mean.inputs[0]
            mean = graph.get(mean_ref.node)
        if mean is None or mean.op != "Mean" or mean.inputs[0] != sd.inputs[0]:
            continue
        axes = folder.value(mean.inputs[1])
        if axes is None or 0 not in axes.reshape(-1).tolist():
            continue  # not over the batch axis: layer/instance norm, or unknown
        for consumer, pos in graph.consumers.get(sd.name, ()):
            var = graph[consumer]
            if pos == 0 and var.op == "Mean":
                ops.append(BnOp(var.name, "moments", True, (TensorRef(mean.name), TensorRef(var.name)), (),
                                _branch_of(graph, mean)))
    return ops


def _moving_ops(graph: Graph) -> list[BnOp]:
    """Unfused inference-mode normalisation: ``Rsqrt(moving_variance + epsilon)``, with the moving
    mean read where ``x * inv + (beta - mean * inv)`` (``tf.nn.batch_normalization``, Keras 3)."""
    ops = []
    for rsqrt in graph.by_op("Rsqrt"):
        add = graph.get(rsqrt.inputs[0].node) if rsqrt.inputs else None
        if add is None or add.op not in ("Add", "AddV2"):
            continue
        reads = tuple(v for v in (variable_of(graph, r) for r in add.inputs) if v)
        if reads:
            ops.append(BnOp(rsqrt.name, "moving", False, (), reads + _mean_reads(graph, rsqrt), _branch_of(graph, rsqrt)))
    return ops


def _mean_reads(graph: Graph, rsqrt: Node) -> tuple[str, ...]:
    """Variables multiplied by ``inv`` (the Rsqrt, or Rsqrt * gamma) where the product is subtracted."""
    out = []
    frontier = [rsqrt.name]
    for _ in range(2):
        nxt = []
        for name in frontier:
            for consumer, _pos in graph.consumers.get(name, ()):
                node = graph[consumer]
                if node.op != "Mul":
                    continue
                nxt.append(consumer)
                subtracted = any(graph[c].op == "Sub" and p == 1 for c, p in graph.consumers.get(consumer, ()))
                if subtracted:
                    out += [v for v in (variable_of(graph, r) for r in node.inputs) if v]
        frontier = nxt
    return tuple(dict.fromkeys(out))


def _find_stat(graph: Graph, ref: TensorRef, stats: dict[TensorRef, BnOp], limit: int = 24) -> TensorRef | None:
    stack, seen = [ref], set()
    while stack and len(seen) < limit:
        cur = stack.pop()
        if cur in stats:
            return cur
        if cur in seen or cur.node not in graph:
            continue
        seen.add(cur)
        stack.extend(graph[cur.node].inputs)
    return None


def _linear_coefficient(graph: Graph, ref: TensorRef, var: str, folder: ConstantFolder, reads: set[str],
                        stats: dict[TensorRef, BnOp], depth: int = 16) -> float | None:
    """Coefficient of the variable's old value in ``ref`` (a linear expression), or None.

    Batch statistics are opaque terms, even when the op that made them read the variable."""
    node = graph.get(ref.node)
    if node is None or depth == 0:
        return None
    if variable_of(graph, ref) == var:
        return 1.0
    if ref in stats or not depends_on(graph, ref, reads):
        return 0.0
    sub = functools.partial(_linear_coefficient, graph, var=var, folder=folder, reads=reads, stats=stats,
                            depth=depth - 1)
    if node.op in PASS_THROUGH:
        return sub(node.inputs[0])
    if node.op in ("Add", "AddV2", "Sub") and len(node.inputs) == 2:
        a, b = sub(node.inputs[0]), sub(node.inputs[1])
        if a is None or b is None:
            return None
        return a + b if node.op != "Sub" else a - b
    if node.op == "Neg":
        a = sub(node.inputs[0])
        return None if a is None else -a
    if node.op == "Mul" and len(node.inputs) == 2:
        for this, other in ((0, 1), (1, 0)):
            c = folder.scalar(node.inputs[other])
            if isinstance(c, (int, float)) and not isinstance(c, bool):
                a = sub(node.inputs[this])
                return None if a is None else a * float(c)
    return None


def _updates(graph: Graph, bn_ops: list[BnOp], folder: ConstantFolder) -> list[MovingUpdate]:
    stats = {ref: op for op in bn_ops for ref in op.stats}
    if not stats:
        return []
    out = []
    for node in graph:
        mode = ASSIGN_OPS.get(node.op)
        if mode is None or len(node.inputs) < 2:
            continue
        var = variable_of(graph, node.inputs[0])
        if var is None:
            continue
        stat = _find_stat(graph, node.inputs[1], stats)
        if stat is None:
            continue
        bn = stats[stat]
        reads = _reads_of(graph, var)
        coef = _linear_coefficient(graph, node.inputs[1], var, folder, reads, stats)
        momentum: float | None
        if coef is None:
            momentum = None
        elif mode == "set":
            momentum = coef
        else:
            momentum = 1.0 - coef if mode == "sub" else 1.0 + coef
        if momentum == 0.0 and bn.avg_factor != 1.0:  # fused op already blends: running = (1-f)*old + f*batch
            momentum = 1.0 - bn.avg_factor
        out.append(MovingUpdate(node.name, node.op, var, stat, bn.node, momentum))
    return out


def _reads_of(graph: Graph, var: str) -> set[str]:
    out = {var}
    frontier = [var]
    while frontier:
        name = frontier.pop()
        for consumer, pos in graph.consumers.get(name, ()):
            if pos == 0 and consumer not in out and graph[consumer].op in ("Identity", "ReadVariableOp", "Snapshot"):
                out.add(consumer)
                frontier.append(consumer)
    return out


def _strip_internal(scope: str) -> str:
    parts = scope.split("/") if scope else []
    while parts and _INTERNAL_SCOPE.match(parts[-1]):
        parts.pop()
    return "/".join(parts)


def _layer_name(ops: list[BnOp], variables: list[str]) -> str:
    scopes = sorted({v.rpartition("/")[0] for v in variables})
    if scopes and all(scopes):
        if len(scopes) == 1:
            return scopes[0]
        common = _common_prefix([s.split("/") for s in scopes])
        if common:
            return "/".join(common)
    for op in sorted(ops, key=lambda o: (len(o.node), o.node)):
        name = _strip_internal(op.node.rpartition("/")[0])
        if name:
            return name
    return ops[0].node if ops else (variables[0] if variables else "?")


def _common_prefix(paths: list[list[str]]) -> list[str]:
    out = []
    for parts in zip(*paths):
        if len(set(parts)) != 1:
            break
        out.append(parts[0])
    return out


def _api(layer: BnLayer, graph: Graph, update_collection: set[str] | None) -> str:
    keras_named = bool(layer.variables) and {v.rpartition("/")[2] for v in layer.variables} <= KERAS_MOVING
    slim = layer.name.rsplit("/", 1)[-1] == "BatchNorm"
    if layer.updates:
        ops = {u.op for u in layer.updates}
        in_scope = all("AssignMovingAvg" in u.node for u in layer.updates)
        if any("ExponentialMovingAverage" in v for v in layer.variables):
            return "handwritten-ema"
        if in_scope and not ops <= {"Assign", "AssignVariableOp"}:
            if slim:
                return "slim"
            if update_collection is not None and not any(
                    _in_collection(u.node, graph, update_collection) for u in layer.updates):
                return "keras-graph"  # tf.compat.v1.layers always lists its updates in UPDATE_OPS
            return "layers"
        # Keras 3 (AssignVariableOp of the blend) and tf-keras in TF2 (AssignNewValue)
        return "keras" if keras_named and graph.tf2 else "handwritten"
    if slim:
        return "slim"
    if keras_named and graph.tf2:
        return "keras"
    return "layers" if any(op.kind == "fused" for op in layer.ops) else "handwritten"


def _in_collection(update: str, graph: Graph, collection: set[str]) -> bool:
    if update in collection:
        return True
    # tf.compat.v1.layers lists the read after the assignment (ReadVariableOp_1 with a control input)
    return any(c == update or update in graph[c].control_inputs for c in collection if c in graph)


def find_layers(graph: Graph, folder: ConstantFolder | None = None,
                update_collection: tuple[str, ...] | None = None) -> list[BnLayer]:
    """All batch-norm layers of a flat ``graph`` (function calls inlined), sorted by name.

    ``update_collection``: the graph's UPDATE_OPS (None when the file carries no collections)."""
    folder = folder or ConstantFolder(graph)
    bn_ops = _fused_ops(graph, folder) + _moments_ops(graph, folder) + _moving_ops(graph)
    updates = _updates(graph, bn_ops, folder)
    # union-find over op and variable names
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for op in bn_ops:
        find("op:" + op.node)
        for var in op.reads:
            union("op:" + op.node, "var:" + var)
    for up in updates:
        union("op:" + up.bn_node, "var:" + up.variable)
    groups: dict[str, BnLayer] = {}
    for op in bn_ops:
        groups.setdefault(find("op:" + op.node), BnLayer("")).ops.append(op)
    for up in updates:
        groups[find("op:" + up.bn_node)].updates.append(up)
    for key, layer in groups.items():
        layer.variables = sorted({p[4:] for p in parent if p.startswith("var:") and find(p) == key})
    collection = None if update_collection is None else {c.lstrip("^").split(":")[0] for c in update_collection}
    layers = []
    for layer in groups.values():
        if not layer.variables and not any(op.training for op in layer.ops):
            continue  # an unfused normalisation with constants only: nothing to judge
        layer.name = _layer_name(layer.ops, layer.variables)
        layer.api = _api(layer, graph, collection)
        layers.append(layer)
    return _merge_same_name(sorted(layers, key=lambda l: l.name))


def _merge_same_name(layers: list[BnLayer]) -> list[BnLayer]:
    out: list[BnLayer] = []
    for layer in layers:
        if out and out[-1].name == layer.name:
            prev = out[-1]
            prev.ops += layer.ops
            prev.updates += layer.updates
            prev.variables = sorted(set(prev.variables) | set(layer.variables))
        else:
            out.append(layer)
    return out
