"""What the rules share about one graph: its batch-norm layers, train op and inference entries."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from bncheck.graph.analysis import ConstantFolder, ancestors, dead_nodes
from bncheck.graph.batchnorm import BnLayer, BnOp, find_layers
from bncheck.graph.model import GraphModel, TensorRef

OPTIMIZER_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")
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

    @functools.cached_property
    def layers(self) -> list[BnLayer]:
        collection = self.model.collections.get("update_ops", ()) if self.model.has_collections else None
        return find_layers(self.graph, update_collection=collection)

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

    def _inferred_train_ops(self) -> tuple[str, ...]:
        applies = [n.name for n in self.graph if n.op.startswith(OPTIMIZER_PREFIXES)]
        seen, stack = set(), list(applies)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(c for c, _ in self.graph.consumers.get(name, ()))
        return tuple(sorted(n for n in seen if not self.graph.consumers.get(n)))

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
            return tuple(
                Entry(f"signature '{s.name}'", tuple(r.node for r in s.outputs.values()),
                      frozenset(r.node for r in s.inputs.values()))
                for s in model.signatures
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
