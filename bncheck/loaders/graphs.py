"""Turn GraphDef / MetaGraphDef / SavedModel messages into :class:`GraphModel` objects."""
from __future__ import annotations

from typing import Any, Callable

from bncheck.graph.model import Graph, GraphModel, Node, Signature, TensorRef


def _node(nd: Any, parse_input: Callable[[str], TensorRef]) -> Node:
    data = tuple(parse_input(t) for t in nd.input if not t.startswith("^"))
    ctrl = tuple(t[1:] for t in nd.input if t.startswith("^"))
    return Node(nd.name, nd.op, data, ctrl, nd.attr)


def graph_from_proto(graph_def: Any) -> Graph:
    return Graph(_node(nd, TensorRef.parse) for nd in graph_def.node)


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
    index = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
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
    return graph


def functions_from_proto(graph_def: Any) -> dict[str, Graph]:
    return {f.signature.name: function_from_proto(f) for f in graph_def.library.function}


def model_from_graph_def(graph_def: Any, source: str, label: str = "GraphDef") -> GraphModel:
    return GraphModel(graph=graph_from_proto(graph_def), source=source, kind="graphdef", label=label,
                      functions=functions_from_proto(graph_def))


def _collections(meta: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, col in meta.collection_def.items():
        kind = col.WhichOneof("kind")
        if kind == "node_list":
            out[key] = tuple(col.node_list.value)
        elif kind == "bytes_list":
            out[key] = tuple(v.decode("utf-8", "replace") for v in col.bytes_list.value)
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


def model_from_meta_graph(meta: Any, source: str, kind: str, label: str) -> GraphModel:
    return GraphModel(
        graph=graph_from_proto(meta.graph_def),
        source=source,
        kind=kind,
        label=label,
        collections=_collections(meta),
        signatures=_signatures(meta),
        functions=functions_from_proto(meta.graph_def),
        has_collections=True,
    )


def models_from_saved_model(saved: Any, source: str) -> list[GraphModel]:
    models = []
    for meta in saved.meta_graphs:
        tags = ",".join(meta.meta_info_def.tags) or "no tags"
        models.append(model_from_meta_graph(meta, source, "saved_model", f"MetaGraph [{tags}]"))
    return models
