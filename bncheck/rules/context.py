"""What the rules share about one graph: its batch-norm layers, train op and inference entries."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from bncheck.graph.analysis import ASSIGN_OPS, ConstantFolder, ancestors, dead_nodes, variable_of
from bncheck.graph.batchnorm import BnLayer, BnOp, find_layers
from bncheck.graph.model import GraphModel, TensorRef

OPTIMIZER_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")
_GRADIENT_PREFIXES = ("Conv2DBackprop", "Conv3DBackprop", "DepthwiseConv2dNativeBackprop")
_GRADIENT_SUFFIXES = ("Grad", "GradV2", "GradV3", "GradGrad")
AFFINE_NAMES = frozenset({"gamma", "beta", "scale", "offset"})


def is_gradient_op(op: str) -> bool:
    """Ops only a backward pass (``tf.GradientTape`` / ``tf.gradients``) creates."""
    return op.endswith(_GRADIENT_SUFFIXES) or op.startswith(_GRADIENT_PREFIXES)
_NOT_OUTPUTS = frozenset({"NoOp", "Assign", "AssignVariableOp", "AssignAdd", "AssignAddVariableOp", "AssignSub",
                          "AssignSubVariableOp", "VarIsInitializedOp", "IsVariableInitialized", "SaveV2",
                          "RestoreV2", "Const", "Placeholder", "PlaceholderWithDefault", "VarHandleOp",
                          "VariableV2", "ReadVariableOp"})


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
        self.notes: list[str] = []  # what a rule could not judge, for the report

    @functools.cached_property
    def layers(self) -> list[BnLayer]:
        """BN layers from the graph, else from the Keras config, else from the trained values."""
        collection = self.model.collections.get("update_ops", ()) if self.model.has_collections else None
        found = find_layers(self.graph, update_collection=collection) if len(self.graph) else []
        names = {layer.name for layer in found}
        extra: list[str] = []
        if self.model.keras is not None:
            extra += [k.path for k in self.model.keras.layers]
        if self.model.values is not None:
            extra += list(self.model.values.layers)
        for name in dict.fromkeys(extra):
            if name not in names:
                names.add(name)
                found.append(BnLayer(name, variables=[f"{name}/moving_mean", f"{name}/moving_variance"], api="keras"
                                     if self.model.keras is not None or self.model.kind == "checkpoint" else "unknown"))
        return sorted(found, key=lambda layer: layer.name)

    def keras_layer(self, layer: BnLayer):
        """The Keras config entry of a layer, if the model came with one."""
        if self.model.keras is None:
            return None
        return next((k for k in self.model.keras.layers if k.path == layer.name), None)

    def value_keys(self, layer: BnLayer) -> dict[str, str]:
        """role -> key of the layer's trained tensors in the artefact's values (empty if none)."""
        values = self.model.values
        return dict(values.layers.get(layer.name, {})) if values is not None else {}

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
        """Ops that apply an optimizer step: ``Apply*`` ops, and assignments computed from gradients
        (Keras 3 optimizers update variables with plain ``AssignSubVariableOp``)."""
        graph = self.graph
        tainted: set[str] = set()
        stack = [n.name for n in graph if is_gradient_op(n.op)]
        while stack:
            name = stack.pop()
            if name in tainted:
                continue
            tainted.add(name)
            # control edges too: an optimizer reads its slots after assigning them (auto control deps)
            stack.extend(c for c, _ in graph.consumers.get(name, ()))
        out = {n.name for n in graph if n.op.startswith(OPTIMIZER_PREFIXES)}
        out |= {n for n in tainted if graph[n].op in ASSIGN_OPS}
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
        """gamma/beta of a layer: variables its normalising ops scale and shift with."""
        graph = self.graph
        found: set[str] = set()
        for op in layer.ops:
            node = graph[op.node]
            if op.kind == "fused":
                found.update(v for v in (variable_of(graph, r) for r in node.inputs[1:3]) if v)
            frontier, seen = [op.node], set()
            for _ in range(3):  # Rsqrt -> Mul(gamma) -> Mul -> Sub(beta)
                nxt = []
                for name in frontier:
                    for consumer, pos in graph.consumers.get(name, ()):
                        if pos is None or consumer in seen:
                            continue
                        seen.add(consumer)
                        nxt.append(consumer)
                        found.update(v for v in (variable_of(graph, r) for r in graph[consumer].inputs) if v)
                frontier = nxt
        scopes = {v.rpartition("/")[0] for v in layer.variables}
        return sorted(v for v in found - set(layer.variables)
                      if v.rpartition("/")[2] in AFFINE_NAMES and (not scopes or v.rpartition("/")[0] in scopes))

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
        sinks = tuple(sorted(n.name for n in self.graph if not self.graph.consumers.get(n.name)
                             and n.op not in _NOT_OUTPUTS and not n.name.startswith(("save/", "save_"))))
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

    def flag_source(self, pred: TensorRef, depth: int = 8) -> str | None:
        """The Placeholder/PlaceholderWithDefault/Const a cond predicate comes from."""
        node = self.graph.get(pred.node)
        while node is not None and depth:
            if node.op in ("Placeholder", "PlaceholderWithDefault", "Const"):
                return node.name
            if not node.inputs or node.op not in ("Identity", "Switch", "LogicalNot", "Cast", "Snapshot"):
                return None
            node = self.graph.get(node.inputs[0].node)
            depth -= 1
        return None
