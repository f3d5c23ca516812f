"""check_graph on graphs built live with TensorFlow (the notebook use)."""
from __future__ import annotations

import pytest

import bncheck
from conftest import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that uses it, not at collection
v1 = LazyModule("tensorflow.compat.v1")


def _model(x, training, momentum=0.99):
    h = v1.layers.conv2d(x, 4, 3, padding="same", name="conv")
    h = v1.layers.batch_normalization(h, training=training, momentum=momentum, name="bn")
    return v1.layers.dense(tf.reduce_mean(h, [1, 2]), 2, name="head")


def _training_graph(wire_updates: bool, momentum: float = 0.99):
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3])
        loss = tf.reduce_mean(_model(x, True, momentum))
        deps = v1.get_collection(v1.GraphKeys.UPDATE_OPS) if wire_updates else []
        with tf.control_dependencies(deps):
            train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
    return graph, train_op


def test_live_graph_without_update_deps():
    graph, train_op = _training_graph(wire_updates=False)
    report = bncheck.check_graph(graph)
    assert report.codes() == {("BN001", "bn")}
    assert report.codes() == bncheck.check_graph(graph, train_op=train_op).codes()
    (finding,) = report
    assert finding.path == "<tf.Graph>"
    assert set(finding.evidence_dict["moving variables"]) == {"bn/moving_mean", "bn/moving_variance"}


def test_live_graph_with_update_deps_is_clean():
    graph, train_op = _training_graph(wire_updates=True)
    assert bncheck.check_graph(graph, train_op=train_op).codes() == set()


def test_live_graph_pytorch_momentum():
    graph, _ = _training_graph(wire_updates=True, momentum=0.1)
    report = bncheck.check_graph(graph)
    assert report.codes() == {("BN007", "bn")}
    assert next(iter(report)).evidence_dict["momentum"] == 0.1


def test_live_inference_outputs_and_graph_def():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3])
        logits = _model(x, training=True)
    assert bncheck.check_graph(graph, outputs=logits).codes() == {("BN002", "bn")}
    # a bare GraphDef with no optimizer is an inference graph: its outputs are its fetch roots
    assert bncheck.check_graph(graph.as_graph_def()).codes() == {("BN002", "bn")}


def test_live_inference_mode_is_clean():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3])
        logits = _model(x, training=False)
    assert bncheck.check_graph(graph, outputs=logits).codes() == set()


def test_unsupported_object_is_a_type_error():  # issue 10: wrong argument types raise TypeError
    with pytest.raises(TypeError, match="cannot check a builtins.object"):
        bncheck.check_graph(object())
