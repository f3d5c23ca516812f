"""GraphDefs built by hand for the analysis-core tests (no TensorFlow), read by the same loader as a
``.pb`` file; shared by the ``test_mutation_*`` modules so none imports another test module."""
from __future__ import annotations

from typing import Any


def graph_def() -> Any:
    from bncheck.protos import message_class

    return message_class("tensorflow.GraphDef")()


def add(graph: Any, name: str, op: str, *inputs: str, **attrs: Any) -> Any:
    """A node; ``ints=[...]`` makes an int32 constant, a list a float32 tensor attribute."""
    node = graph.node.add()
    node.name, node.op = name, op
    node.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bool):
            node.attr[key].b = value
        elif isinstance(value, bytes):
            node.attr[key].s = value
        elif key == "ints":  # an int32 constant of that value
            tensor = node.attr["value"].tensor
            tensor.dtype = 3  # DT_INT32
            tensor.tensor_shape.dim.add().size = len(value)
            tensor.int_val.extend(value)
        elif isinstance(value, list):  # a float32 constant of that value
            tensor = node.attr[key].tensor
            tensor.dtype = 1  # DT_FLOAT
            tensor.tensor_shape.dim.add().size = len(value)
            tensor.float_val.extend(value)
    return node


def layers_of(graph: Any) -> list[str]:
    """The names of the batch-norm layers :func:`find_layers` recognises."""
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto

    return [layer.name for layer in find_layers(graph_from_proto(graph))]


def variable(graph: Any, name: str) -> str:
    """A TF1 variable and its ``/read``; returns the read's name."""
    add(graph, name, "VariableV2")
    add(graph, f"{name}/read", "Identity", name)
    return f"{name}/read"


def moments(graph: Any, name: str = "bn") -> tuple[str, str]:
    """tf.nn.moments over axis 0 of x: (mean, variance) node names."""
    add(graph, f"{name}/axes", "Const", ints=[0])
    add(graph, f"{name}/mean", "Mean", "x", f"{name}/axes")
    add(graph, f"{name}/sd", "SquaredDifference", "x", f"{name}/mean")
    add(graph, f"{name}/variance", "Mean", f"{name}/sd", f"{name}/axes")
    return f"{name}/mean", f"{name}/variance"


def update_graph(nodes: Any, op: str = "Assign") -> Any:
    """moments of x and a variable bn/pop; ``nodes`` compute "value" from "pop" (its read) and
    "mean" (the batch mean), constants c9 = 0.9, c1 = 0.1, c10 = 10, c0 = 0 and a placeholder "lr"."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "lr", "Placeholder")
    mean, _ = moments(graph)
    add(graph, "mean", "Identity", mean)
    variable(graph, "bn/pop")
    add(graph, "pop", "Identity", "bn/pop/read")
    for name, value in (("c9", 0.9), ("c1", 0.1), ("c10", 10.0), ("c0", 0.0)):
        add(graph, name, "Const", value=[value])
    for node in nodes:
        add(graph, *node)
    add(graph, "bn/update", op, "bn/pop", "value")
    return graph


def solved(nodes: Any, op: str = "Assign") -> tuple[set[float | None], list[str]]:
    """The momenta :func:`find_layers` solves for :func:`update_graph`'s assignment, and its notes."""
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto

    notes: list[str] = []
    layers = find_layers(graph_from_proto(update_graph(nodes, op)), notes=notes)
    momenta = {None if u.momentum is None else round(u.momentum, 6) for layer in layers for u in layer.updates}
    return momenta, notes
