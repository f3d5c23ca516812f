"""Turn GraphDef / MetaGraphDef / SavedModel messages into :class:`GraphModel` objects."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Callable

from bncheck.errors import InputError
from bncheck.graph.lowering import CALL_OPS, lower
from bncheck.graph.model import Graph, GraphModel, Node, Signature, TensorRef
from bncheck.loaders.object_graph import captured_variable_names
from bncheck.loaders.protobuf_io import valid_op_name


def _node(nd: Any, parse_input: Callable[[str], TensorRef]) -> Node:
    data: list[TensorRef] = []
    ctrl: list[str] = []
    for text in nd.input:
        if text[:1] == "^":
            ctrl.append(text[1:])
        else:
            data.append(parse_input(text))
    return Node(nd.name, nd.op, tuple(data), tuple(ctrl), None, nd)


_new_ref = tuple.__new__


def _check_node(source: str, position: int, name: str, op: str) -> None:
    if not name:
        raise InputError(source, f"not a readable graph: node #{position} has no name (truncated or corrupt)")
    if not valid_op_name(op):
        raise InputError(source, f"not a readable graph: node {name!r} has op type {op[:80]!r}, "
                                 "not an op name (truncated or corrupt)")


def graph_from_proto(graph_def: Any, source: str = "<graph>") -> Graph:
    """A GraphDef's nodes as a :class:`Graph`, consumers included.

    One pass: a million-node graph goes through here. ``TensorRef.parse`` is inlined, consumers
    are listed while inputs are read, and every node is checked for a name and a valid op name
    (:func:`~bncheck.loaders.protobuf_io.parse_file` looked at a sample only to tell formats apart)."""
    ref = TensorRef
    nodes: dict[str, Node] = {}  # by name, as Graph holds them: a duplicate name keeps the last node
    count = 0
    consumers: dict[str, list[tuple[str, int | None]]] = {}
    get = consumers.get
    valid_ops: set[str] = set()
    for nd in graph_def.node:
        name = nd.name
        op = nd.op
        if not name or op not in valid_ops:
            _check_node(source, count, name, op)
            valid_ops.add(op)
        count += 1
        data: list[TensorRef] = []
        ctrl: list[str] = []
        for text in nd.input[:]:  # a slice is made in C: faster than iterating the container
            if text[:1] == "^":
                producer = text[1:]
                ctrl.append(producer)
                edge: tuple[str, int | None] = (name, None)
            else:
                producer, sep, index = text.partition(":")
                edge = (name, len(data))
                if not sep:
                    data.append(_new_ref(ref, (producer, 0)))
                elif index.isascii() and index.isdigit() and len(index) < 10:
                    data.append(_new_ref(ref, (producer, int(index))))
                else:
                    data.append(_new_ref(ref, (producer, 0)))
            lst = get(producer)
            if lst is None:
                consumers[producer] = [edge]
            else:
                lst.append(edge)
        nodes[name] = Node(name, op, tuple(data), tuple(ctrl), None, nd)
    graph = Graph(())
    graph.nodes = nodes
    if len(nodes) == count:  # duplicate names: the last node wins, so list consumers from it
        graph.__dict__["consumers"] = consumers  # Graph.consumers, already computed
    return graph


# Output-arg offsets for the multi-output ops bncheck follows inside functions, where inputs read
# ``node:output_arg:index`` instead of ``node:index``.
_OUTPUT_ARGS = {
    **{op: ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3")
       for op in ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")},
    "Switch": ("output_false", "output_true"),
    "Merge": ("output", "value_index"),
}


def _function_input(text: str, ops: dict[str, str]) -> TensorRef:
    parts = text.split(":")
    if len(parts) == 1:
        return TensorRef(parts[0], 0)  # a function argument
    node, arg = parts[0], parts[1]
    index = int(parts[2]) if len(parts) > 2 and parts[2].isascii() and parts[2].isdigit() and len(parts[2]) < 10 else 0
    names = _OUTPUT_ARGS.get(ops.get(node, ""), ())
    return TensorRef(node, names.index(arg) + index if arg in names else index)


def function_from_proto(fdef: Any) -> Graph:
    """A FunctionDef as a Graph: arguments become ``_Arg`` nodes, ``ret`` the ``returns`` list."""
    ops = {nd.name: nd.op for nd in fdef.node_def}
    nodes = [Node(arg.name, "_Arg", (), (), {}) for arg in fdef.signature.input_arg]
    nodes += [_node(nd, lambda text: _function_input(text, ops)) for nd in fdef.node_def]
    graph = Graph(nodes, name=fdef.signature.name)
    graph.args = tuple(arg.name for arg in fdef.signature.input_arg)
    graph.returns = tuple(_function_input(fdef.ret[out.name], ops) if out.name in fdef.ret else None
                          for out in fdef.signature.output_arg)
    graph.control_returns = tuple(fdef.control_ret[c] for c in fdef.signature.control_output
                                  if c in fdef.control_ret)
    return graph


class FunctionLibrary(Mapping[str, Graph]):
    """A GraphDef's function library, each body converted on first use: lowering follows only the
    functions the graph calls, and a Keras SavedModel's library also holds every training trace."""

    def __init__(self, graph_def: Any) -> None:
        self._defs = {f.signature.name: f for f in graph_def.library.function}
        self._graphs: dict[str, Graph] = {}

    def __getitem__(self, name: str) -> Graph:
        graph = self._graphs.get(name)
        if graph is None:
            graph = self._graphs[name] = function_from_proto(self._defs[name])
        return graph

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def __iter__(self) -> Iterator[str]:
        return iter(self._defs)

    def __len__(self) -> int:
        return len(self._defs)

    def node_count(self) -> int:
        """Nodes of every body (arguments included), without converting any."""
        return sum(len(f.node_def) + len(f.signature.input_arg) for f in self._defs.values())


def flat_graph(graph_def: Any, rename: dict[str, str] | None = None, source: str = "<graph>") -> Graph:
    """The graph with its function library inlined (see :mod:`bncheck.graph.lowering`)."""
    library = FunctionLibrary(graph_def)
    return lower(graph_from_proto(graph_def, source), library, library.node_count(), rename)


def model_from_graph_def(graph_def: Any, source: str, label: str = "GraphDef") -> GraphModel:
    return GraphModel(graph=flat_graph(graph_def, source=source), source=source, kind="graphdef", label=label)


def _collections(meta: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, col in meta.collection_def.items():
        kind = col.WhichOneof("kind")
        if kind == "node_list":
            out[key] = tuple(col.node_list.value)
        elif kind == "bytes_list":
            out[key] = tuple(v.decode("latin-1") for v in col.bytes_list.value)  # one char per byte: lossless
    return out


def _signatures(meta: Any) -> tuple[Signature, ...]:
    sigs = []
    for key in sorted(meta.signature_def):
        sig = meta.signature_def[key]
        ins = {k: TensorRef.parse(v.name) for k, v in sig.inputs.items() if v.name}
        outs = {k: TensorRef.parse(v.name) for k, v in sig.outputs.items() if v.name}
        if outs:
            sigs.append(Signature(key, ins, outs))
    return tuple(sigs)


def model_from_meta_graph(meta: Any, source: str, kind: str, label: str,
                          captured: dict[int, str] | None = None) -> GraphModel:
    return GraphModel(
        graph=flat_graph(meta.graph_def, variable_names(meta, captured), source),
        source=source,
        kind=kind,
        label=label,
        collections=_collections(meta),
        signatures=_signatures(meta),
        has_collections=True,
    )


def variable_names(meta: Any, captured: dict[int, str] | None = None) -> dict[str, str]:
    """Top-level variable handles -> the names a TF2 SavedModel's object graph gives them.

    A signature's call node ends with the captured resources; the saved concrete function's
    ``bound_inputs`` list the object-graph nodes they are, in the same order. Variables that share
    a TF name are named by their object path (see :mod:`bncheck.loaders.object_graph`);
    ``captured`` is :func:`captured_variable_names` of this MetaGraph, when already known."""
    objects = meta.object_graph_def
    if not objects.nodes:
        return {}
    unique = captured_variable_names(objects) if captured is None else captured
    names: dict[str, str] = {}
    used: set[str] = set()
    for node in meta.graph_def.node:
        if node.op not in CALL_OPS or "f" not in node.attr:
            continue
        saved = objects.concrete_functions.get(node.attr["f"].func.name)
        if saved is None or not saved.bound_inputs:
            continue
        data = [t for t in node.input if not t.startswith("^")]
        handles = data[len(data) - len(saved.bound_inputs):]
        for handle, obj_id in zip(handles, saved.bound_inputs):
            name = unique.get(obj_id)
            if name is None:  # not a variable object (or an id out of range)
                continue
            handle = handle.split(":")[0]
            if handle in names or name in used:  # first binding wins; never two handles, one name
                continue
            names[handle] = name
            used.add(name)
    return {h: n for h, n in names.items() if h != n}


def models_from_saved_model(saved: Any, source: str,
                            captured: list[dict[int, str]] | None = None) -> list[GraphModel]:
    """One model per MetaGraph; ``captured``: each MetaGraph's captured variable names, if known."""
    models = []
    for k, meta in enumerate(saved.meta_graphs):
        tags = ",".join(meta.meta_info_def.tags) or "no tags"
        models.append(model_from_meta_graph(meta, source, "saved_model", f"MetaGraph [{tags}]",
                                            captured[k] if captured is not None else None))
    return models
