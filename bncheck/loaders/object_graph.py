"""Names of the variables in a TF2 SavedModel's or checkpoint's object graph.

A Keras 3 subclassed model names the TF variables of all its layers after the model alone
(``classifier/moving_mean`` for every batch norm held as an attribute). Where variables a saved
function captures share a TF name, each is named by its path from the root object instead: the path
itself where it ends in the variable's own name (``model/bn_b/moving_mean``, a module that holds
the model), else the TF name with the path inserted before its last part
(``classifier/variables_8/moving_mean``, an export archive's variable list), so that the name still
says which role the variable plays. The SavedModel and its ``variables/`` checkpoint number the
objects alike, so the checkpoint's tensors get the same names by node id (checked against the TF
name). A checkpoint on its own (``tf.train.Checkpoint``) is named the same way from its own object
graph.
"""
from __future__ import annotations

from collections import Counter, deque
from typing import Any


def object_paths(nodes: Any) -> dict[int, str]:
    """Node id -> ``local/name/path`` from node 0, breadth first, first path found (each node once,
    so shared or cyclic references cost nothing extra)."""
    count = len(nodes)
    paths = {0: ""} if count else {}
    queue = deque([0] if count else [])
    while queue:
        parent = queue.popleft()
        prefix = paths[parent] + "/" if paths[parent] else ""
        for child in nodes[parent].children:
            node_id = child.node_id
            if 0 <= node_id < count and node_id not in paths:
                paths[node_id] = prefix + child.local_name
                queue.append(node_id)
    return paths


def tf_name(node: Any) -> str | None:
    """A SavedObjectGraph node's TF variable name (None for other objects)."""
    if node.WhichOneof("kind") != "variable" or not node.variable.name:
        return None
    name: str = node.variable.name
    return name.split(":")[0]


def captured_variable_names(objects: Any) -> dict[int, str]:
    """Node id -> name of every variable a saved function captures: its TF name, or its object
    path where captured variables share a TF name."""
    nodes = objects.nodes
    names: dict[int, str] = {}
    for function in objects.concrete_functions.values():
        for node_id in function.bound_inputs:
            if 0 <= node_id < len(nodes) and node_id not in names:
                name = tf_name(nodes[node_id])
                if name is not None:
                    names[node_id] = name
    return unique_names(names, nodes)


def unique_names(tf_names: dict[int, str], nodes: Any) -> dict[int, str]:
    """Node id -> name for ``tf_names`` (node id -> TF name): the TF name where no other node in
    ``tf_names`` has it, else :func:`distinct_name` of the node's object path."""
    counts = Counter(tf_names.values())
    if all(c == 1 for c in counts.values()):
        return dict(tf_names)
    paths = object_paths(nodes)
    return {i: distinct_name(n, paths.get(i)) if counts[n] > 1 else n for i, n in tf_names.items()}


def distinct_name(name: str, path: str | None) -> str:
    """The name of a variable whose TF name ``name`` others share, from its object ``path``."""
    if not path:
        return name  # unreachable from the root: the TF name, and the first binding keeps it
    scope, _, base = name.rpartition("/")
    if path.rpartition("/")[2] == base:
        return path
    tag = path.replace("/", "_")
    return f"{scope}/{tag}/{base}" if scope else f"{tag}/{base}"


def renamed_variables(saved_model: Any, captured: list[dict[int, str]]) -> dict[int, tuple[str, str]]:
    """Node id -> (TF name, name bncheck gives it) for the captured variables named by object path;
    ``captured``: :func:`captured_variable_names` of each MetaGraph (the graphs are named from it too)."""
    out: dict[int, tuple[str, str]] = {}
    for meta, names in zip(saved_model.meta_graphs, captured):
        nodes = meta.object_graph_def.nodes
        for node_id, name in names.items():
            original = tf_name(nodes[node_id])
            if original is not None and name != original:
                out.setdefault(node_id, (original, name))
    return out
