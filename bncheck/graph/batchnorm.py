"""Find batch-norm layers in a graph: their ops, moving-statistics variables and updates.

A layer is what its author wrote once (``tf.compat.v1.layers.batch_normalization(name="bn1")``,
``slim.batch_norm``, a hand-written moments + assign block). In the graph it can be several ops
(a training and an inference copy, towers, the branches of a ``tf.cond``) sharing the same moving
variables; ops and variables linked by reads and updates are grouped into one :class:`BnLayer`.
"""
from __future__ import annotations

import itertools
import re
from typing import Callable, Mapping
from dataclasses import dataclass, field

from bncheck.graph.analysis import (
    ASSIGN_OPS, MERGE_OPS, PASS_THROUGH, READ_THROUGH, SHAPE_OPS, ConstantFolder, Deadness, UpstreamSearch,
    dataflow, evaluate,
)
from bncheck.graph.model import Graph, Node, TensorRef
from bncheck.graph.values import bool_attr, float_attr, str_attr

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
    frozen: tuple[str, ...] = ()  # a frozen graph's constants that were its variables (names only)


@dataclass(frozen=True)
class MovingUpdate:
    """An assignment that folds a batch statistic into a moving variable."""

    node: str
    op: str
    variable: str
    stat: TensorRef
    bn_node: str
    momentum: float | None  # None: the update is not a moving average bncheck can solve


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


@dataclass(frozen=True)
class Affine:
    """An expression as ``sum(coefs[v] * v) + (terms from batch statistics) + constant``."""

    coefs: tuple[tuple[str, float], ...] = ()
    stats: frozenset[TensorRef] = frozenset()

    def coef(self, var: str) -> float:
        return dict(self.coefs).get(var, 0.0)

    def scaled(self, c: float) -> "Affine":
        return Affine(tuple((v, k * c) for v, k in self.coefs), self.stats)

    def plus(self, other: "Affine", sign: float = 1.0) -> "Affine | None":
        coefs = dict(self.coefs)
        for v, k in other.coefs:
            coefs[v] = coefs.get(v, 0.0) + sign * k
        if len(coefs) > _MAX_TERMS:
            return None
        return Affine(tuple(sorted(coefs.items())), self.stats | other.stats)


_MAX_TERMS = 16  # an update mixing more variables than this is not a moving average


class _Search:
    """One pass over a flat graph: normalising ops, then the assignments that fold their batch
    statistics into moving variables, solved exactly for the weight of the old value."""

    def __init__(self, graph: Graph, folder: ConstantFolder) -> None:
        self.graph = graph
        self.flow = dataflow(graph)
        self.folder = folder
        self.notes: list[str] = []

    # -- normalising ops -------------------------------------------------------------------------
    def fused_ops(self) -> list[BnOp]:
        ops = []
        for node in self.graph.by_op(*FUSED_OPS):
            training = bool_attr(node.attrs, "is_training")
            training = True if training is None else training  # stripped default attr: true
            if training and self._is_layer_norm(node):
                continue
            factor = float_attr(node.attrs, "exponential_avg_factor")
            reads = tuple(v for v in (self.flow.variable_of(r.node) for r in node.inputs[3:5]) if v)
            stats = (TensorRef(node.name, 1), TensorRef(node.name, 2)) if training else ()
            ops.append(BnOp(node.name, "fused", training, stats, reads, self.flow.branch_of(node.name),
                            1.0 if factor is None else factor, () if reads else self._frozen_params(node)))
        return ops

    def _frozen_params(self, node: Node) -> tuple[str, ...]:
        """The constants a frozen graph's fused op reads where it read its variables: freezing keeps
        the variables' names (``model/bn/gamma``), which name and group the layer as variables do
        (the ops of each ``tf.cond`` branch read the same ones); the op scopes may differ
        (``cond/model_1/bn``, tf-slim's ``InceptionV3/InceptionV3/...``)."""
        return tuple(c for c in (self.flow.chain_source(ref, READ_THROUGH, _CONST) for ref in node.inputs[1:5])
                     if c is not None and _was_a_parameter(c))

    def _is_layer_norm(self, node: Node) -> bool:
        """tf-keras LayerNormalization's fused op: NCHW over a Reshape'd input, constant ones and
        zeros as scale and offset, empty mean/variance, and its batch statistics unused."""
        graph = self.graph
        if len(node.inputs) < 5 or str_attr(node.attrs, "data_format") != "NCHW":
            return False
        x = graph.get(node.inputs[0].node)
        if x is None or x.op != "Reshape":
            return False
        if not (self._constant_fill(node.inputs[1], 1.0) and self._constant_fill(node.inputs[2], 0.0)):
            return False
        mean = self.folder.value(node.inputs[3])
        if mean is None or mean.size != 0:
            return False
        return not any(graph[c].inputs[p].index in (1, 2) for c, p in graph.consumers.get(node.name, ())
                       if p is not None)

    def _constant_fill(self, ref: TensorRef, target: float) -> bool:
        if self.flow.variable_of(ref.node) is not None:
            return False
        node = self.graph.get(ref.node)
        if node is not None and node.op == "Fill" and len(node.inputs) == 2:
            ref = node.inputs[1]
        value = self.folder.value(ref)
        return value is not None and value.size > 0 and bool((value == target).all())

    def moments_ops(self) -> list[BnOp]:
        """``tf.nn.moments`` / Keras 3 moments over the batch axis: mean, SquaredDifference, variance."""
        graph, ops = self.graph, []
        second_order = {n.inputs[1] for n in graph.by_op_where(lambda op: op.startswith("FusedBatchNormGrad"))
                        if len(n.inputs) > 1}
        for sd in graph.by_op("SquaredDifference"):
            if len(sd.inputs) != 2 or sd.inputs[0] in second_order:
                continue  # the gradient of a batch norm's gradient (MAML) recomputes moments: not a layer
            mean_name = self.flow.chain_source(sd.inputs[1], _MEAN_THROUGH, _MEAN_OPS)
            mean = graph.get(mean_name) if mean_name else None
            if mean is None or len(mean.inputs) < 2 or mean.inputs[0] != sd.inputs[0]:
                continue
            axes = self.folder.value(mean.inputs[1])
            if axes is None or axes.dtype.kind not in "iu" or 0 not in axes.reshape(-1).tolist():
                continue  # not over the batch axis: layer/instance norm, or unknown
            for consumer, pos in graph.consumers.get(sd.name, ()):
                var = graph[consumer]
                if pos == 0 and var.op == "Mean":
                    ops.append(BnOp(var.name, "moments", True, (TensorRef(mean.name), TensorRef(var.name)), (),
                                    self.flow.branch_of(mean.name)))
        return ops

    def moving_ops(self) -> list[BnOp]:
        """Unfused inference-mode normalisation: ``Rsqrt(moving_variance + epsilon)``, with the moving
        mean read where ``x * inv + (beta - mean * inv)`` (``tf.nn.batch_normalization``, Keras 3).
        In a frozen graph the moving variance is a stored constant vector and epsilon a scalar."""
        ops = []
        for rsqrt in self.graph.by_op("Rsqrt"):
            add = self.graph.get(rsqrt.inputs[0].node) if rsqrt.inputs else None
            if add is None or add.op not in ("Add", "AddV2"):
                continue
            reads = tuple(v for v in (self.flow.variable_of(r.node) for r in add.inputs) if v)
            if reads:
                ops.append(BnOp(rsqrt.name, "moving", False, (), reads + self._mean_reads(rsqrt),
                                self.flow.branch_of(rsqrt.name)))
                continue
            variance = self._frozen_variance(add)
            if variance is not None:
                ops.append(BnOp(rsqrt.name, "moving", False, branch=self.flow.branch_of(rsqrt.name),
                                frozen=(variance,) if _was_a_parameter(variance) else ()))
        return ops

    def _frozen_variance(self, add: Node) -> str | None:
        """The stored constant a frozen graph's ``moving_variance + epsilon`` reads as its variance: one
        input a constant vector (shaped ``[C]``, or ``[1, 1, 1, C]`` once Keras 3 reshapes it) read
        through Identity / Reshape ops, the other a scalar constant."""
        if len(add.inputs) != 2:
            return None
        for this, other in ((0, 1), (1, 0)):
            const = self.flow.chain_source(add.inputs[this], READ_THROUGH, _CONST)
            if const is None:
                continue
            variance, epsilon = self.folder.value(TensorRef(const)), self.folder.value(add.inputs[other])
            if (variance is not None and variance.ndim >= 1 and sum(d > 1 for d in variance.shape) <= 1
                    and variance.dtype.kind == "f"
                    and epsilon is not None and epsilon.size == 1 and epsilon.dtype.kind == "f"):
                return const
        return None

    def _mean_reads(self, rsqrt: Node) -> tuple[str, ...]:
        """Variables multiplied by ``inv`` (the Rsqrt, or Rsqrt * gamma) where the product is subtracted."""
        graph, out = self.graph, []
        frontier = [rsqrt.name]
        for _ in range(2):  # the pattern: Rsqrt -> [Mul gamma] -> Mul mean -> Sub
            nxt = []
            for name in frontier:
                for consumer, _pos in graph.consumers.get(name, ()):
                    node = graph[consumer]
                    if node.op != "Mul":
                        continue
                    nxt.append(consumer)
                    if any(graph[c].op == "Sub" and p == 1 for c, p in graph.consumers.get(consumer, ())):
                        out += [v for v in (self.flow.variable_of(r.node) for r in node.inputs) if v]
            frontier = nxt
        return tuple(dict.fromkeys(out))

    # -- updates ---------------------------------------------------------------------------------
    def updates(self, bn_ops: list[BnOp]) -> list[MovingUpdate]:
        graph, flow = self.graph, self.flow
        stats = {ref: op for op in bn_ops for ref in op.stats}
        if not stats:
            return []
        assigns = [n for n in graph.by_op(*ASSIGN_OPS) if len(n.inputs) >= 2]
        targets = {v for v in (flow.variable_of(n.inputs[0].node) for n in assigns) if v}
        world = self._training_world(bn_ops)
        solver = _AffineSolver(graph, stats, self._value_dependence(targets, stats), world)
        moving_reads = {v for op in bn_ops for v in op.reads}
        # values computed from a batch statistic (outside a backward pass): an assignment of one that
        # cannot be solved is worth a note, never a silent skip
        stat_fed = _stat_fed(graph, stats)
        stat_value = _stat_value(graph, stats)
        out = []
        for node in assigns:
            var = flow.variable_of(node.inputs[0].node)
            if var is None or (node.inputs[1] not in stats and not stat_fed(node.inputs[1].node)):
                continue  # no batch statistic flows into the value (initializers, step counters)
            form = solver.form(node.inputs[1])
            if form is None:
                if var in moving_reads or (stat_fed(node.inputs[1].node) and not flow.after_gradient(node.name)):
                    self.notes.append(f"the assignment {node.name} to the moving variable {var} is not an affine "
                                      "moving average bncheck can solve; its momentum is not judged")
                continue
            found = sorted(form.stats, key=lambda r: (r.node, r.index))
            if not found:
                if (var in moving_reads or not flow.after_gradient(node.name)) and stat_value(node.inputs[1].node):
                    self.notes.append(f"the assignment {node.name} to the moving variable {var} is computed from a "
                                      "batch statistic in a way bncheck cannot solve; its momentum is not judged")
                continue
            bn = stats[found[0]]
            coef = form.coef(var)
            mode = ASSIGN_OPS[node.op]
            momentum = coef if mode == "set" else (1.0 - coef if mode == "sub" else 1.0 + coef)
            if momentum == 0.0 and bn.avg_factor != 1.0:  # the fused op already blends: (1-f)*old + f*batch
                momentum = 1.0 - bn.avg_factor
            out.append(MovingUpdate(node.name, node.op, var, found[0], bn.node, momentum))
        return out

    def _training_world(self, bn_ops: list[BnOp]) -> "ConstantFolder":
        """A folder where every cond predicate that picks a training-mode op is taken as picking it."""
        assume: dict[TensorRef, bool] = {}
        for op in bn_ops:
            if op.training and op.branch is not None:
                switch = self.graph.get(op.branch[0])
                if switch is not None and len(switch.inputs) > 1:
                    root, negated = self._predicate_root(switch.inputs[1])
                    assume.setdefault(root, (op.branch[1] == 1) != negated)
        if not assume:
            return self.folder
        base = ConstantFolder(self.graph, assume=assume)
        pick = lambda ref: None if (v := base.scalar(ref)) is None else bool(v)  # noqa: E731
        return ConstantFolder(self.graph, assume=assume, dead=Deadness(self.graph, pick))

    def _predicate_root(self, ref: TensorRef) -> tuple[TensorRef, bool]:
        """The tensor a cond predicate copies (each ``tf.cond`` has its own ``pred_id`` Identity of
        the same flag), and whether it is negated on the way."""
        negated, seen = False, set()
        while ref.node not in seen:
            seen.add(ref.node)
            node = self.graph.get(ref.node)
            if node is None or not node.inputs or node.op not in _PREDICATE_THROUGH:
                break
            negated ^= node.op == "LogicalNot"
            ref = node.inputs[0]
        return ref, negated

    def _value_dependence(self, targets: set[str], stats: dict[TensorRef, BnOp]) -> Callable[[str], bool]:
        """Whether a node's value depends on an assigned variable's value (batch statistics are
        opaque, shape-only ops depend on no value); answered lazily, memoised, exact."""
        graph, flow = self.graph, self.flow
        memo: dict[str, bool | None] = {}

        def deps(name: str) -> list[str]:
            node = graph.get(name)
            if node is None or node.op in SHAPE_OPS or flow.variable_of(name) in targets:
                return []
            return [r.node for r in node.inputs if r not in stats]

        def compute(name: str, done: Mapping[str, bool | None]) -> bool:
            if flow.variable_of(name) in targets:
                return True
            # a dependency on a cycle (absent from done) counts as dependent: never a guessed "no"
            return any(done.get(d, True) is not False for d in deps(name))

        def depends(name: str) -> bool:
            value: bool | None = evaluate(name, deps, compute, memo)
            return bool(value)

        return depends

def _stat_fed(graph: Graph, stats: Mapping[TensorRef, object]) -> Callable[[str], bool]:
    """Whether a node's value is computed from a batch statistic: some node on a path of data
    inputs up from it reads one."""
    readers = set()
    for ref in stats:
        for consumer, position in graph.consumers.get(ref.node, ()):
            if position is not None and graph.nodes[consumer].inputs[position] == ref:
                readers.add(consumer)
    return UpstreamSearch(graph, hit_nodes=readers)


def _stat_value(graph: Graph, stats: Mapping[TensorRef, object]) -> Callable[[str], bool]:
    """Whether a node's value depends on a batch statistic's value (not only on its shape, as a
    step counter's ``tf.size(mean)`` does); memoised, exact; a cycle counts as depending."""
    nodes = {ref.node for ref in stats}
    memo: dict[str, bool | None] = {}

    def deps(name: str) -> list[str]:
        node = graph.get(name)
        return [] if node is None or node.op in SHAPE_OPS or name in nodes else [r.node for r in node.inputs]

    def compute(name: str, done: Mapping[str, bool | None]) -> bool:
        return name in nodes or any(done.get(d, True) is not False for d in deps(name))

    def fed(name: str) -> bool:
        value: bool | None = evaluate(name, deps, compute, memo)
        return bool(value)

    return fed


_MEAN_OPS = frozenset({"Mean"})
_OF_STATISTICS = frozenset({"Mean", "Sqrt"})  # ops whose value, of batch statistics alone, is one
_CONST = frozenset({"Const"})
_EMA_SHADOW = "/ExponentialMovingAverage"
_PARAM_NAMES = frozenset({"gamma", "beta", "moving_mean", "moving_variance"})
_PREDICATE_THROUGH = frozenset({"Identity", "Snapshot", "Switch", "RefSwitch", "LogicalNot"})
_MEAN_THROUGH = frozenset({"StopGradient", "Identity", "Snapshot"})
_AFFINE_THROUGH = PASS_THROUGH | {"Switch", "RefSwitch", "Enter", "RefIdentity"}


def _was_a_parameter(const: str | None) -> bool:
    """Whether a frozen graph's constant keeps a batch-norm variable's name (``model/bn/gamma``)."""
    return const is not None and const.rpartition("/")[2] in _PARAM_NAMES


class _AffineSolver:
    """Writes an assigned value as an :class:`Affine` form, memoised over shared subexpressions."""

    def __init__(self, graph: Graph, stats: dict[TensorRef, BnOp], depends: Callable[[str], bool],
                 folder: ConstantFolder) -> None:
        self.graph = graph
        self.flow = dataflow(graph)
        self.stats = stats
        self.depends = depends
        self.folder = folder
        self._memo: dict[TensorRef, Affine | None] = {}

    def form(self, ref: TensorRef) -> Affine | None:
        return evaluate(ref, self._deps, self._compute, self._memo)

    def _leaf(self, ref: TensorRef) -> bool:
        node = self.graph.get(ref.node)
        return node is None or ref in self.stats or self.flow.variable_of(ref.node) is not None

    def _deps(self, ref: TensorRef) -> tuple[TensorRef, ...]:
        if self._leaf(ref):
            return ()
        node = self.graph[ref.node]
        op = node.op
        if op in _AFFINE_THROUGH:
            return node.inputs[:1]
        if op in ("Add", "AddV2", "Sub", "Mul") and len(node.inputs) == 2:
            return node.inputs
        if op in ("Neg", "RealDiv") and node.inputs:
            return node.inputs[:1]
        if op in _OF_STATISTICS and node.inputs:
            return node.inputs[:1]
        if op in MERGE_OPS:
            return tuple(self.folder.live_inputs(node.inputs))
        return ()

    def _compute(self, ref: TensorRef, memo: Mapping[TensorRef, Affine | None]) -> Affine | None:
        node = self.graph.get(ref.node)
        if node is None:
            return None
        if ref in self.stats:
            return Affine(stats=frozenset({ref}))
        var = self.flow.variable_of(ref.node)
        if var is not None:
            return Affine(((var, 1.0),))
        deps = self._deps(ref)
        forms = [memo.get(d) for d in deps]
        op = node.op
        if op in _AFFINE_THROUGH and deps:
            return forms[0]
        if op in ("Add", "AddV2", "Sub") and len(deps) == 2:
            a, b = forms
            return None if a is None or b is None else a.plus(b, -1.0 if op == "Sub" else 1.0)
        if op == "Neg" and deps:
            return None if forms[0] is None else forms[0].scaled(-1.0)
        if op == "RealDiv" and deps and len(node.inputs) == 2:
            c = self._number(node.inputs[1])
            return None if forms[0] is None or c is None or c == 0 else forms[0].scaled(1.0 / c)
        if op == "Mul" and len(deps) == 2:
            for this, other in ((0, 1), (1, 0)):
                c = self._number(node.inputs[other])
                if c is not None:
                    form = forms[this]
                    return None if form is None else form.scaled(c)
            a, b = forms
            if a is not None and b is not None and not a.coefs and not b.coefs:
                return Affine(stats=a.stats | b.stats)  # a batch-statistic term times a value-free factor
            return None
        if op in _OF_STATISTICS and deps and forms[0] is not None and forms[0].stats and not forms[0].coefs:
            # a batch statistic still: tf-keras virtual_batch_size averages its virtual batches'
            # moments, batch renormalization averages sqrt(variance + epsilon); the same of a
            # variable's value is no affine term
            return Affine(stats=forms[0].stats)
        if op in MERGE_OPS and deps:
            live = [f for f in forms if f is not None]
            with_stats = [f for f in live if f.stats]
            if len(forms) == 1 or (live and all(f == live[0] for f in live) and len(live) == len(forms)):
                return forms[0]
            return with_stats[0] if len(with_stats) == 1 else None
        if ref.index == 0 and self.folder.value(ref) is not None:
            return Affine()  # a constant
        return None if self.depends(node.name) else Affine()

    def _number(self, ref: TensorRef) -> float | None:
        c = self.folder.scalar(ref)
        return float(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else None


def _strip_internal(scope: str) -> str:
    parts = scope.split("/") if scope else []
    while parts and _INTERNAL_SCOPE.match(parts[-1]):
        parts.pop()
    return "/".join(parts)


def _layer_name(ops: list[BnOp], variables: list[str]) -> str:
    # an ExponentialMovingAverage names its shadows after the averaged op, under the scope again
    # (``bn1/bn1/moments/Squeeze/ExponentialMovingAverage``): the op's scope names the layer
    scopes = sorted({v.rpartition("/")[0] for v in variables if not v.endswith(_EMA_SHADOW)})
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


@dataclass(frozen=True)
class GraphFacts:
    """What the graph's container says about who built it (MetaGraph collections)."""

    update_ops: frozenset[str] | None = None  # UPDATE_OPS node names; None: the file has no collections
    model_variables: frozenset[str] = frozenset()  # tf-slim / tf.contrib.layers model variables


def _api(layer: BnLayer, graph: Graph, facts: GraphFacts) -> str:
    """The API that built a layer, decided from structure: variables, update ops, collections.

    - tf-slim / ``tf.contrib.layers.batch_norm`` register their moving variables as model variables;
    - ``tf.compat.v1.layers`` always lists its updates in UPDATE_OPS; a Keras layer in a TF1 graph
      keeps them on the model (an assign-sub moving average outside UPDATE_OPS);
    - ``tf.train.ExponentialMovingAverage`` names its shadow variables ``.../ExponentialMovingAverage``;
    - a hand-written layer assigns (``tf.assign`` of the blend, or ``assign_add``) variables its author
      named, outside any collection;
    - in a TF2 function graph without collections, moving variables named by a Keras layer object
      (``moving_mean``/``moving_variance``) are Keras.
    Anything else is ``unknown``: the fix is then written for no particular API.
    """
    variables = set(layer.variables)
    if any(v.endswith(_EMA_SHADOW) for v in variables):
        return "handwritten-ema"
    if variables & facts.model_variables:
        return "slim"
    keras_named = bool(variables) and {v.rpartition("/")[2] for v in variables} <= KERAS_MOVING
    blend = bool(layer.updates) and all(ASSIGN_OPS.get(u.op) == "set" for u in layer.updates)
    if facts.update_ops is not None and layer.updates:
        if any(_in_collection(u.node, graph, facts.update_ops) for u in layer.updates):
            return "layers"
        if blend or not keras_named:
            return "handwritten"  # tf.assign / assign_add of variables the author named
        return "keras-graph"
    if graph.tf2 and keras_named:
        return "keras"
    if layer.updates and not keras_named:
        return "handwritten"
    return "unknown"


def _in_collection(update: str, graph: Graph, collection: frozenset[str]) -> bool:
    if update in collection:
        return True
    # tf.compat.v1.layers lists the read after the assignment (ReadVariableOp_1 with a control input)
    return any(c == update or update in graph[c].control_inputs for c in collection if c in graph)


def find_layers(graph: Graph, folder: ConstantFolder | None = None, facts: GraphFacts | None = None,
                notes: list[str] | None = None) -> list[BnLayer]:
    """All batch-norm layers of a flat ``graph`` (function calls inlined), sorted by name.

    ``facts``: what the container says (collections); ``notes`` receives what could not be judged."""
    facts = facts or GraphFacts()
    search = _Search(graph, folder or ConstantFolder(graph))
    bn_ops = search.fused_ops() + search.moments_ops() + search.moving_ops()
    updates = search.updates(bn_ops)
    if notes is not None:
        notes.extend(search.notes)
    # union-find over op and variable names
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for op in bn_ops:
        find("op:" + op.node)
        for var in op.reads:
            union("op:" + op.node, "var:" + var)
        for const in op.frozen:
            union("op:" + op.node, "const:" + const)
    for up in updates:
        union("op:" + up.bn_node, "var:" + up.variable)
    groups: dict[str, BnLayer] = {}
    for op in bn_ops:
        groups.setdefault(find("op:" + op.node), BnLayer("")).ops.append(op)
    for up in updates:
        groups[find("op:" + up.bn_node)].updates.append(up)
    group_vars: dict[str, set[str]] = {}
    for key in list(parent):
        if key.startswith("var:"):
            group_vars.setdefault(find(key), set()).add(key[4:])
    layers = []
    for key, layer in groups.items():
        layer.variables = sorted(group_vars.get(key, ()))
        layer.name = _layer_name(layer.ops, layer.variables or sorted({c for op in layer.ops for c in op.frozen}))
        layer.api = _api(layer, graph, facts)
        layers.append(layer)
    return _merge_same_name(sorted(layers, key=lambda l: l.name))


def _merge_same_name(layers: list[BnLayer]) -> list[BnLayer]:
    """Groups that got the same name are one layer (its ops without variables join the layer), unless
    each holds moving variables (or a frozen graph's constants) of its own: then they are different
    layers whose variables do not tell them apart (a Keras 3 subclassed model names every BN's
    variables ``model/moving_mean``...), and each is told by its ops' scope instead."""
    out: list[BnLayer] = []
    for _, group in itertools.groupby(layers, key=lambda layer: layer.name):
        same = list(group)
        owners: list[BnLayer] = []
        rest: list[BnLayer] = []
        for layer in same:
            (owners if layer.variables or any(op.frozen for op in layer.ops) else rest).append(layer)
        if not owners:
            owners, rest = rest[:1], rest[1:]
        for layer in rest:
            _absorb(owners[0], layer)
        if len(owners) > 1:
            _name_by_scope(owners)
        out += owners
    return sorted(out, key=lambda l: l.name)

def _absorb(into: BnLayer, layer: BnLayer) -> None:
    into.ops += layer.ops
    into.updates += layer.updates
    into.variables = sorted(set(into.variables) | set(layer.variables))


_CALL_SCOPE = re.compile(r"^(StatefulPartitionedCall|PartitionedCall)(_\d+)?$")


def _name_by_scope(layers: list[BnLayer]) -> None:
    """``name (scope)`` for layers sharing a name: the innermost scope of their ops that differs."""
    scopes = []
    for layer in layers:
        parts = [p for p in _strip_internal(min(op.node for op in layer.ops).rpartition("/")[0]).split("/")
                 if p and not _CALL_SCOPE.match(p)]
        scopes.append(parts)
    labels = [parts[-1] if parts else "" for parts in scopes]
    if len(set(labels)) < len(labels) or not all(labels):
        labels = ["/".join(parts) for parts in scopes]
    if len(set(labels)) < len(labels) or not all(labels):
        labels = [f"{k + 1}" for k in range(len(layers))]  # nothing tells them apart but their order
    for layer, label in zip(layers, labels):
        layer.name = f"{layer.name} ({label})"
