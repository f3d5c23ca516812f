"""The TF-free graph model that loaders produce and rules read."""
from __future__ import annotations

from bncheck.graph.model import Graph, GraphModel, Node, Signature, TensorRef

__all__ = ["Graph", "GraphModel", "Node", "Signature", "TensorRef"]
