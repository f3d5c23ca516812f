"""A small, TensorFlow-free model of a dataflow graph.

Loaders fill it from GraphDef/MetaGraphDef/SavedModel protos; rules only read it. Attribute values
stay as the vendored ``AttrValue`` messages and are decoded on demand (:mod:`bncheck.graph.values`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, NamedTuple

if TYPE_CHECKING:
    from bncheck.graph.keras_model import KerasConfig, TrainedValues


_new_tuple = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


class TensorRef(NamedTuple):
    """Output ``index`` of node ``node`` (TensorFlow's ``name:index``).

    A named tuple: graphs hold one per edge, and tuples are created and hashed in C."""

    node: str
    index: int = 0  # type: ignore[assignment]  # TensorFlow's name:index; shadows tuple.index on purpose

    @classmethod
    def parse(cls, text: str) -> "TensorRef":
        name, sep, index = text.partition(":")
        if not sep:
            return _new_tuple(cls, (name, 0))
        # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() refuses
        return _new_tuple(cls, (name, int(index) if index.isascii() and index.isdigit() and len(index) < 10 else 0))

    def __str__(self) -> str:
        return self.node if self.index == 0 else f"{self.node}:{self.index}"


class Node:
    """One op: name, op type, data inputs, control inputs (node names) and attributes.

    ``attrs`` maps attribute names to ``AttrValue`` messages. A node read from a NodeDef keeps the
    NodeDef and reads its attribute map only when asked: most nodes' attributes are never looked
    at, and reading a protobuf map costs about a microsecond per node."""

    __slots__ = ("name", "op", "inputs", "control_inputs", "_attrs", "_definition")
    __hash__ = None  # type: ignore[assignment]  # compared by value, like the records rules build

    def __init__(self, name: str, op: str, inputs: tuple[TensorRef, ...], control_inputs: tuple[str, ...],
                 attrs: Mapping[str, Any] | None = None, definition: Any = None) -> None:
        self.name = name
        self.op = op
        self.inputs = inputs
        self.control_inputs = control_inputs
        self._attrs = attrs
        self._definition = definition  # a NodeDef whose ``attr`` map is read on first use

    @property
    def attrs(self) -> Mapping[str, Any]:
        attrs = self._attrs
        if attrs is None:
            attrs = self._attrs = self._definition.attr if self._definition is not None else {}
        return attrs

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Node:
            return NotImplemented
        return (self.name, self.op, self.inputs, self.control_inputs, self.attrs) == (
            other.name, other.op, other.inputs, other.control_inputs, other.attrs)

    def __repr__(self) -> str:
        return (f"Node(name={self.name!r}, op={self.op!r}, inputs={self.inputs!r}, "
                f"control_inputs={self.control_inputs!r})")

    @property
    def scope(self) -> str:
        return self.name.rpartition("/")[0]


class Graph:
    """Nodes by name, with consumers computed once on first use."""

    def __init__(self, nodes: Iterable[Node], name: str = "") -> None:
        self.name = name
        self.nodes: dict[str, Node] = {n.name: n for n in nodes}
        self.args: tuple[str, ...] = ()  # a function body's arguments (``_Arg`` nodes), in order
        self.returns: tuple[TensorRef | None, ...] = ()  # a function body's outputs, in order
        self.control_returns: tuple[str, ...] = ()  # a function body's control outputs
        self.tf2 = False  # a TF2 function graph (calls inlined, or a concrete function)
        self.notes: list[str] = []  # what building this graph could not follow (for the report)
        self.calls: frozenset[str] = frozenset()  # function calls inlined into NoOps (lowering)

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, name: str) -> Node | None:
        return self.nodes.get(name)

    @functools.cached_property
    def _by_op(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        get = out.get
        for node in self.nodes.values():  # one pass, then every op query costs its matches only
            lst = get(node.op)
            if lst is None:
                out[node.op] = [node]
            else:
                lst.append(node)
        return out

    @property
    def ops(self) -> frozenset[str]:
        """The op types the graph uses."""
        return frozenset(self._by_op)

    def by_op(self, *ops: str) -> list[Node]:
        """Nodes of the given op types: grouped by op type in the order asked, graph order within each."""
        index = self._by_op
        return [n for op in dict.fromkeys(ops) for n in index.get(op, ())]

    def by_op_where(self, accept: Callable[[str], bool]) -> list[Node]:
        """Nodes whose op type ``accept`` takes (tested once per op type, not per node), grouped
        by op type: for set-like use."""
        return [n for op, nodes in self._by_op.items() if accept(op) for n in nodes]

    @functools.cached_property
    def consumers(self) -> dict[str, list[tuple[str, int | None]]]:
        """node -> [(consumer, input position or None for a control edge)]; nodes nothing consumes
        are absent (read it with ``.get(name, ())``)."""
        out: dict[str, list[tuple[str, int | None]]] = {}
        get = out.get
        for name, node in self.nodes.items():
            for pos, ref in enumerate(node.inputs):
                lst = get(ref.node)
                if lst is None:
                    out[ref.node] = [(name, pos)]
                else:
                    lst.append((name, pos))
            for ctrl in node.control_inputs:
                lst = get(ctrl)
                if lst is None:
                    out[ctrl] = [(name, None)]
                else:
                    lst.append((name, None))
        return out


@dataclass(frozen=True, slots=True)
class Signature:
    """A callable entry point: a SignatureDef, or the outputs a user named."""

    name: str
    inputs: Mapping[str, TensorRef]
    outputs: Mapping[str, TensorRef]


@dataclass(slots=True)
class GraphModel:
    """One graph as bncheck sees it, with what its container says about it.

    ``kind`` is ``graphdef`` (a bare or frozen GraphDef), ``meta_graph``, ``saved_model``, ``keras``
    (a Keras config, no graph) or ``checkpoint`` (values only);
    ``label`` says which graph of the file this is (e.g. ``MetaGraph [serve]``). ``graph`` is flat:
    function calls are inlined and functional control flow lowered (:mod:`bncheck.graph.lowering`).
    """

    graph: Graph
    source: str
    kind: str
    label: str = ""
    collections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    signatures: tuple[Signature, ...] = ()
    train_op_names: tuple[str, ...] = ()  # named by the user (--train-op / train_op=)
    output_names: tuple[str, ...] = ()  # named by the user (--output / outputs=)
    has_collections: bool = False  # a MetaGraph or live tf.Graph: an absent collection is empty
    keras: "KerasConfig | None" = None  # a Keras model config (``kind`` ``keras``)
    values: "TrainedValues | None" = None  # trained tensors from the same artefact
