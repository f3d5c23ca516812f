"""What the rules share about one graph: its batch-norm layers, train op and inference entries."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Collection, Iterable

from bncheck.graph.analysis import ASSIGN_OPS, PASS_THROUGH, ConstantFolder, ancestors, dataflow, dead_nodes, variable_of
from bncheck.graph.batchnorm import BnLayer, BnOp, GraphFacts, find_layers
from bncheck.graph.keras_model import KerasBnLayer
from bncheck.graph.model import Graph, GraphModel, Node, TensorRef

OPTIMIZER_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")
_NOT_OUTPUTS = frozenset({"NoOp", "Assign", "AssignVariableOp", "AssignAdd", "AssignAddVariableOp", "AssignSub",
                          "AssignSubVariableOp", "VarIsInitializedOp", "IsVariableInitialized", "SaveV2",
                          "RestoreV2", "Const", "Placeholder", "PlaceholderWithDefault", "VarHandleOp",
                          "VariableV2", "ReadVariableOp"})


@dataclass(frozen=True)
class Unjudged:
    """Something a rule could not judge: shown to the user as a note, never a verdict."""

    rule: str
    layer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule}{' ' + self.layer if self.layer else ''}: {self.reason}"


@dataclass(frozen=True)
class Entry:
    """An inference entry point: the outputs that serving computes and the inputs it feeds."""

    name: str
    outputs: tuple[str, ...]
    fed: frozenset[str]


@dataclass(frozen=True)
class Reach:
    """What runs for one entry: live nodes, and the constant folder that decided cond branches."""

    entry: Entry
    live: frozenset[str]
    folder: ConstantFolder


class Context:
    def __init__(self, model: GraphModel) -> None:
        self.model = model
        self.graph = model.graph
        self.notes: list[str] = []  # what could not be judged, for the report
        self.unjudged: list[Unjudged] = []
        self._unjudged_seen: set[Unjudged] = set()

    def cannot_judge(self, rule: str, layer: str, reason: str) -> None:
        """Record that ``rule`` could not judge ``layer`` (a note the user sees)."""
        item = Unjudged(rule, layer, reason)
        if item not in self._unjudged_seen:
            self._unjudged_seen.add(item)
            self.unjudged.append(item)
            self.notes.append(str(item))

    @functools.cached_property
    def facts(self) -> GraphFacts:
        """What the MetaGraph's collections say about who built the layers."""
        if not self.model.has_collections or "variables" not in self.model.collections:
            return GraphFacts()  # no TF1 collections (a TF2 SavedModel has none): nothing to read

        def clean(names: Iterable[str]) -> frozenset[str]:
            return frozenset(n.lstrip("^").split(":")[0] for n in names)

        return GraphFacts(clean(self.model.collections.get("update_ops", ())),
                          clean(_variable_names(self.model.collections.get("model_variables", ()))))

    @functools.cached_property
    def layers(self) -> list[BnLayer]:
        """BN layers from the graph, else from the Keras config, else from the trained values."""
        found: list[BnLayer] = []
        for note in self.graph.notes:
            self.cannot_judge("bncheck", "", note)
        if len(self.graph):
            graph_notes: list[str] = []
            found = find_layers(self.graph, facts=self.facts, notes=graph_notes)
            for note in graph_notes:
                self.cannot_judge("BN007", "", note)
        names = {layer.name for layer in found}
        owned = {v for layer in found for v in layer.variables}
        extra: list[str] = []
        if self.model.keras is not None:
            extra += [k.path for k in self.model.keras.layers]
        if self.model.values is not None:
            extra += list(self.model.values.layers)
        for name in dict.fromkeys(extra):
            # a config or checkpoint layer is new unless a graph layer already has its variables
            if name not in names and not {f"{name}/moving_mean", f"{name}/moving_variance"} & owned:
                names.add(name)
                found.append(BnLayer(name, variables=[f"{name}/moving_mean", f"{name}/moving_variance"], api="keras"
                                     if self.model.keras is not None or self.model.kind == "checkpoint" else "unknown"))
        if not found and (len(self.graph) or self.model.keras is not None) and not self.unjudged:
            what = "graph" if len(self.graph) else "model config"
            self.cannot_judge("bncheck", "", f"no batch-norm layer was recognised in this {what}, so nothing in it "
                              "was judged (a model without batch norm, or one built in a way bncheck does not know)")
        return sorted(found, key=lambda layer: layer.name)

    def keras_layer(self, layer: BnLayer) -> KerasBnLayer | None:
        """The Keras config entry of a layer, if the model came with one."""
        return self._keras_layers.get(layer.name)

    @functools.cached_property
    def _keras_layers(self) -> dict[str, KerasBnLayer]:
        if self.model.keras is None:
            return {}
        out: dict[str, KerasBnLayer] = {}
        for k in self.model.keras.layers:
            out.setdefault(k.path, k)  # the first entry of a path, as a linear search found it
        return out

    def value_keys(self, layer: BnLayer) -> dict[str, str]:
        """role -> key of the layer's trained tensors in the artefact's values (empty if none): the
        layer's own variables found by dataflow first, then the Keras/TF naming of the values."""
        values = self.model.values
        if values is None:
            return {}
        keys = {role: values.variables[var] for role, var in self.variable_roles(layer).items()
                if var in values.variables}
        for role, key in values.layers.get(layer.name, {}).items():
            keys.setdefault(role, key)
        return keys

    def variable_roles(self, layer: BnLayer) -> dict[str, str]:
        """role (gamma, beta, moving_mean, moving_variance) -> variable, from the layer's ops and
        updates: whatever the variables are called (``pop_mean``, ``pop_var``)."""
        graph, flow = self.graph, dataflow(self.graph)
        roles: dict[str, str] = {}
        by_node = {op.node: op for op in layer.ops}
        for up in layer.updates:
            op = by_node.get(up.bn_node)
            if op is not None and up.stat in op.stats[:2]:
                roles.setdefault(("moving_mean", "moving_variance")[op.stats.index(up.stat)], up.variable)
        for op in layer.ops:
            node = graph.get(op.node)
            if node is None:
                continue
            if op.kind == "fused":
                for i, role in enumerate(("gamma", "beta", "moving_mean", "moving_variance"), start=1):
                    var = flow.variable_of(node.inputs[i].node) if len(node.inputs) > i else None
                    if var is not None:
                        roles.setdefault(role, var)
                continue
            rsqrt = node if op.kind == "moving" else _rsqrt_of(graph, node)
            if rsqrt is None:
                continue
            if op.kind == "moving":
                add = graph.get(rsqrt.inputs[0].node) if rsqrt.inputs else None
                var = next((v for v in (flow.variable_of(r.node) for r in add.inputs) if v), None) if add else None
                if var is not None:
                    roles.setdefault("moving_variance", var)
                means = [v for v in op.reads if v != var]  # read where `beta - mean * inv` subtracts it
                if len(means) == 1:
                    roles.setdefault("moving_mean", means[0])
            for role, var in _affine_of(graph, rsqrt, op.reads).items():
                roles.setdefault(role, var)
        return roles

    def inference_ops_in_training(self, layer: BnLayer) -> list[str]:
        """Inference-mode ops of a layer that the train op runs, when it runs none of the layer's
        training-mode ops (the train step forgot ``training=True``); empty otherwise."""
        if not self.train_ops[0]:
            return []
        ran = self.training_ancestors
        if any(op.training and op.node in ran for op in layer.ops):
            return []
        return sorted(op.node for op in layer.ops if not op.training and op.node in ran)

    def stale_updates(self, layer: BnLayer) -> tuple[list[str], list[str]]:
        """(moving variables no run update covers, their update ops) when the train op runs this
        layer in training mode but not its updates (BN001's evidence); empty lists otherwise."""
        if not self.train_ops[0] or not layer.updates:
            return [], []
        ran = self.training_ancestors
        if not any(op.node in ran for op in layer.training_ops):
            return [], []
        stale = [v for v in layer.variables
                 if layer.updates_of(v) and not any(u.node in ran for u in layer.updates_of(v))]
        return stale, [u.node for v in stale for u in layer.updates_of(v)]

    def in_cond_branch(self, names: list[str]) -> bool:
        """Whether every named node is inside a v1 ``tf.cond`` branch (a BN001 fix then goes in the
        branch: the train op cannot depend on it from outside)."""
        flow = dataflow(self.graph)
        return bool(names) and all(flow.branch_of(name) is not None for name in names)

    @functools.cached_property
    def train_ops(self) -> tuple[tuple[str, ...], str]:
        """(train op names, how they were found)."""
        if self.model.train_op_names:
            return tuple(self.model.train_op_names), "named by you"
        named = tuple(n.split(":")[0].lstrip("^") for n in self.model.collections.get("train_op", ()))
        named = tuple(n for n in named if n in self.graph)
        if named:
            return named, "the MetaGraph's train_op collection"
        return self._inferred_train_ops(), "inferred: fetch roots that run optimizer updates"

    @functools.cached_property
    def optimizer_updates(self) -> frozenset[str]:
        """Ops that apply an optimizer step: ``Apply*`` ops, and assignments computed after a backward
        pass (Keras 3 optimizers update variables with plain ``AssignSubVariableOp``) that are not a
        batch norm's moving-average updates (MAML's second forward pass runs after one)."""
        graph = self.graph
        moving = {u.node for layer in self.layers for u in layer.updates}
        flow = dataflow(graph)
        out = {n.name for n in graph.by_op_where(lambda op: op.startswith(OPTIMIZER_PREFIXES))}
        out |= {n.name for n in graph.by_op(*ASSIGN_OPS) if n.name not in moving and flow.after_gradient(n.name)}
        return frozenset(out)

    @functools.cached_property
    def trained_variables(self) -> frozenset[str]:
        """Variables an optimizer step updates."""
        out = set()
        for name in self.optimizer_updates:
            node = self.graph[name]
            var = variable_of(self.graph, node.inputs[0]) if node.inputs else None
            if var:
                out.add(var)
        return frozenset(out)

    def affine_variables(self, layer: BnLayer) -> list[str]:
        """gamma/beta of a layer: the variables its normalising ops scale and shift with (dataflow,
        whatever they are called)."""
        roles = self.variable_roles(layer)
        return sorted({roles[r] for r in ("gamma", "beta") if r in roles})

    def _inferred_train_ops(self) -> tuple[str, ...]:
        seen, stack = set(), list(self.optimizer_updates)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(c for c, _ in self.graph.consumers.get(name, ()))
        return tuple(sorted(n for n in seen if not self.graph.consumers.get(n)))

    def train_op_labels(self) -> list[str]:
        """The train ops as a user knows them: a signature's name, else the op name."""
        by_output = {r.node: s.name for s in self.model.signatures for r in s.outputs.values()}
        return sorted({f"signature '{by_output[t]}'" if t in by_output else t for t in self.train_ops[0]})

    @functools.cached_property
    def training_ancestors(self) -> frozenset[str]:
        return frozenset(ancestors(self.graph, self.train_ops[0]))

    @functools.cached_property
    def entries(self) -> tuple[Entry, ...]:
        model = self.model
        placeholders = frozenset(n.name for n in self.graph.by_op("Placeholder"))
        if model.output_names:
            return (Entry("outputs you named", tuple(model.output_names), placeholders),)
        if model.signatures:
            updates = self.optimizer_updates
            return tuple(
                Entry(f"signature '{s.name}'", tuple(r.node for r in s.outputs.values()),
                      frozenset(r.node for r in s.inputs.values()))
                for s in model.signatures
                # a signature that applies an optimizer step is a training function, not serving
                if not updates or not updates & ancestors(self.graph, [r.node for r in s.outputs.values()])
            )
        if self.train_ops[0]:
            return ()  # a training graph without a serving signature
        calls = self.graph.calls  # a call whose outputs nothing reads still computes them
        sinks = tuple(sorted(n.name for n in self.graph if not self.graph.consumers.get(n.name)
                             and (n.op not in _NOT_OUTPUTS or n.name in calls)
                             and not n.name.startswith(("save/", "save_"))))
        return (Entry("graph outputs", sinks, placeholders),) if sinks else ()

    @functools.cached_property
    def reaches(self) -> tuple[Reach, ...]:
        out = []
        for entry in self.entries:
            folder = ConstantFolder(self.graph, entry.fed)
            dead = dead_nodes(self.graph, lambda ref: self._fixed_bool(folder, ref))
            out.append(Reach(entry, frozenset(ancestors(self.graph, entry.outputs, dead)), folder))
        return tuple(out)

    @staticmethod
    def _fixed_bool(folder: ConstantFolder, ref: TensorRef) -> bool | None:
        value = folder.scalar(ref)
        return bool(value) if value is not None else None

    def switch_predicate(self, op: BnOp) -> TensorRef | None:
        """The boolean that selects the cond branch ``op`` is in (the Switch's input 1; ``If`` ops
        are lowered to Switch/Merge)."""
        if op.branch is None:
            return None
        node = self.graph.get(op.branch[0])
        return node.inputs[1] if node is not None and len(node.inputs) > 1 else None

    def runs(self, op: BnOp, reach: Reach) -> bool:
        """Whether ``op`` runs for an entry (live: reached, and not on a dead cond branch)."""
        return op.node in reach.live

    def flag_source(self, pred: TensorRef) -> str | None:
        """The Placeholder/PlaceholderWithDefault/Const a cond predicate comes from."""
        return dataflow(self.graph).chain_source(pred, _FLAG_THROUGH, _FLAG_SOURCES)


def _rsqrt_of(graph: Graph, variance: Node) -> Node | None:
    """The ``Rsqrt(variance + epsilon)`` a batch variance feeds (tf.nn.batch_normalization)."""
    frontier, seen = [variance.name], set()
    while frontier:  # through Squeeze/Identity/Cast (tf.nn.moments squeezes its outputs)
        name = frontier.pop()
        seen.add(name)
        frontier += [c for c, p in graph.consumers.get(name, ()) if p == 0 and c not in seen
                     and graph[c].op in PASS_THROUGH]
    for add_name, _ in (pair for name in seen for pair in graph.consumers.get(name, ())):
        add = graph[add_name]
        if add.op in ("Add", "AddV2"):
            for name, _ in graph.consumers.get(add_name, ()):
                if graph[name].op == "Rsqrt":
                    return graph[name]
    return None


def _affine_of(graph: Graph, rsqrt: Node, moving: Collection[str] = ()) -> dict[str, str]:
    """gamma and beta around an Rsqrt: ``inv = rsqrt * gamma``; ``beta - mean * inv``. ``moving``:
    the moving statistics the op reads, never gamma or beta (without gamma, ``scale=False``, the
    Rsqrt's own products are ``x * inv`` and ``moving_mean * inv``)."""
    flow = dataflow(graph)
    out: dict[str, str] = {}
    for name, _ in graph.consumers.get(rsqrt.name, ()):
        mul = graph[name]
        if mul.op != "Mul":
            continue
        gamma = next((v for v in (flow.variable_of(r.node) for r in mul.inputs) if v and v not in moving), None)
        if gamma is not None:
            out.setdefault("gamma", gamma)
        for scaled, _ in graph.consumers.get(name, ()):  # x * inv, mean * inv
            for sub, pos in graph.consumers.get(scaled, ()):
                node = graph[sub]
                if node.op == "Sub" and pos == 1:
                    beta = flow.variable_of(node.inputs[0].node)
                    if beta is not None and beta not in moving:
                        out.setdefault("beta", beta)
    return out


_FLAG_THROUGH = frozenset({"Identity", "Switch", "LogicalNot", "Cast", "Snapshot"})
_FLAG_SOURCES = frozenset({"Placeholder", "PlaceholderWithDefault", "Const"})


def _variable_names(entries: tuple[str, ...]) -> list[str]:
    """Variable names in a bytes-list collection of serialized ``VariableDef`` messages."""
    from bncheck.protos import message_class

    cls = message_class("tensorflow.VariableDef")
    names = []
    for raw in entries:
        try:
            names.append(cls.FromString(raw.encode("latin-1") if isinstance(raw, str) else raw).variable_name)
        except Exception:  # noqa: BLE001 - a malformed entry names no variable
            continue
    return names
