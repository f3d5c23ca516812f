"""Generate TF1 training graphs of a given size for the scaling benchmark (needs TensorFlow).

    python tools/scaling_graphs.py OUT_DIR 1000 10000 100000
    python tools/scaling_graphs.py OUT_DIR --tile OUT_DIR/resnet_100000.meta 12 tiled_1m.pb

Each graph is a real ``tf.compat.v1`` training graph: a chain of conv -> batch norm -> relu blocks
with a residual add every other block, UPDATE_OPS wired as ``slim.learning.create_train_op`` does
(the loss depends on them; wrapping ``minimize`` would add blocks x updates control edges), exported as a
MetaGraph ``resnet_<nodes>.meta`` (the node count is approximate: whole blocks are added until the
graph is at least that large).
"""
from __future__ import annotations

import os
import pathlib
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

v1 = tf.compat.v1
NODES_PER_BLOCK = 150  # measured: forward, gradient and Adam nodes of one block


def build(target: int) -> v1.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 4], name="images")
        y = v1.placeholder(tf.int32, [None], name="labels")
        h, skip = x, x
        for i in range(max(1, target // NODES_PER_BLOCK)):
            with v1.variable_scope(f"block{i}"):
                h = v1.layers.conv2d(h, 4, 3, padding="same", use_bias=False, name="conv")
                h = v1.layers.batch_normalization(h, training=True, name="bn")
                if i % 2:
                    h, skip = h + skip, h
                h = tf.nn.relu(h)
        logits = v1.layers.dense(tf.reduce_mean(h, [1, 2]), 2, name="logits")
        loss = v1.losses.sparse_softmax_cross_entropy(y, logits)
        # slim.learning.create_train_op's wiring, linear in control edges: the train op is the loss,
        # computed after the update ops and after the optimizer step
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            loss = tf.identity(loss)
        with tf.control_dependencies([v1.train.AdamOptimizer(1e-3).minimize(loss)]):
            v1.add_to_collection(v1.GraphKeys.TRAIN_OP, tf.identity(loss, name="train_op"))
    return graph


def tile(source: pathlib.Path, copies: int, out: pathlib.Path) -> None:
    """``copies`` independent copies of a training MetaGraph in one graph, as
    ``tf.compat.v1.import_graph_def`` lays them out (``copy<k>/...``): graphs past what building
    op by op allows in minutes (UPDATE_OPS control edges make that quadratic)."""
    meta = v1.MetaGraphDef()
    meta.ParseFromString(source.read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        for k in range(copies):
            v1.import_graph_def(meta.graph_def, name=f"copy{k}")
    out.write_bytes(graph.as_graph_def().SerializeToString())
    print(f"{out}: {len(graph.as_graph_def().node)} nodes", flush=True)


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    v1.disable_eager_execution()
    if sys.argv[2] == "--tile":  # OUT --tile SOURCE.meta COPIES NAME.pb
        tile(pathlib.Path(sys.argv[3]), int(sys.argv[4]), out / sys.argv[5])
        return
    for target in map(int, sys.argv[2:]):
        path = out / f"resnet_{target}.meta"
        if path.exists():
            continue
        graph = build(target)
        v1.train.export_meta_graph(filename=str(path), graph=graph)
        print(f"{path}: {len(graph.as_graph_def().node)} nodes", flush=True)


if __name__ == "__main__":
    main()

