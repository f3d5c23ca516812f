"""Turn GraphDef / MetaGraphDef / SavedModel messages into :class:`GraphModel` objects."""
from __future__ import annotations

from typing import Any

from bncheck.graph.model import Graph, GraphModel, Node, Signature, TensorRef


def graph_from_proto(graph_def: Any) -> Graph:
    nodes = []
    for nd in graph_def.node:
        data: list[TensorRef] = []
        ctrl: list[str] = []
        for text in nd.input:
            if text.startswith("^"):
                ctrl.append(text[1:])
            else:
                data.append(TensorRef.parse(text))
        nodes.append(Node(nd.name, nd.op, tuple(data), tuple(ctrl), nd.attr))
    return Graph(nodes)


def model_from_graph_def(graph_def: Any, source: str, label: str = "GraphDef") -> GraphModel:
    return GraphModel(graph=graph_from_proto(graph_def), source=source, kind="graphdef", label=label)


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
    )


def models_from_saved_model(saved: Any, source: str) -> list[GraphModel]:
    models = []
    for meta in saved.meta_graphs:
        tags = ",".join(meta.meta_info_def.tags) or "no tags"
        models.append(model_from_meta_graph(meta, source, "saved_model", f"MetaGraph [{tags}]"))
    return models
