"""BatchNormHook on real TF1 training sessions: each scenario trains a tiny model a few steps.

The scenarios run in one subprocess, after test_runtime_tf_keras's (``test_runtime_harness.GROUPS``;
alone: ``python tests/test_runtime_tf1.py``): TF1 layers need
``TF_USE_LEGACY_KERAS=1`` before TensorFlow is imported.
"""
from __future__ import annotations

import sys
import tempfile
from typing import Any

import pytest

STEPS = 4  # the hook judges after this many steps; each session runs STEPS + 1


def _tf() -> Any:
    import tensorflow as tf

    return tf


def _data(tf: Any) -> tuple[Any, Any]:
    ds = tf.compat.v1.data.Dataset.from_tensor_slices(
        (tf.random.stateless_normal([64, 6, 6, 2], seed=[1, 2]) + 3.0,
         tf.random.stateless_uniform([64], seed=[3, 4], maxval=3, dtype=tf.int32)))
    images, labels = tf.compat.v1.data.make_one_shot_iterator(ds.batch(8).repeat()).get_next()
    return images, labels


def _net(tf: Any, images: Any, momentum: float = 0.99, scope: str = "model") -> Any:
    layers = tf.compat.v1.layers
    with tf.compat.v1.variable_scope(scope):
        x = layers.conv2d(images, 4, 3, name="conv1", use_bias=False)
        x = tf.nn.relu(layers.batch_normalization(x, training=True, momentum=momentum, name="bn1"))
        x = layers.conv2d(x, 4, 3, name="conv2", use_bias=False)
        x = tf.nn.relu(layers.batch_normalization(x, training=True, momentum=momentum, name="bn2"))
        return layers.dense(tf.reduce_mean(x, axis=[1, 2]), 3, name="logits")


def _loss(tf: Any, logits: Any, labels: Any) -> Any:
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def _monitored(tf: Any, train_op: Any, hook: Any) -> None:
    with tf.compat.v1.train.MonitoredTrainingSession(hooks=[hook], save_checkpoint_secs=None,
                                                     save_summaries_steps=None, log_step_count_steps=None) as sess:
        for _ in range(STEPS + 1):
            sess.run(train_op)


def _minimize(wired: bool, momentum: float = 0.99, measure: bool = False) -> dict[str, Any]:
    tf = _tf()
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    with tf.Graph().as_default():
        images, labels = _data(tf)
        loss = _loss(tf, _net(tf, images, momentum), labels)
        step = tf.compat.v1.train.get_or_create_global_step()
        opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)
        if wired:
            with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
                train_op = opt.minimize(loss, global_step=step, name="train")
        else:
            train_op = opt.minimize(loss, global_step=step, name="train")
        hook = BatchNormHook(steps=STEPS, show=False, measure_momentum=measure)
        _monitored(tf, train_op, hook)
        return {**outcome(hook), "train_op": train_op.name}


def minimize_without_update_ops() -> dict[str, Any]:
    return _minimize(wired=False)


def minimize_with_update_ops() -> dict[str, Any]:
    return _minimize(wired=True)


def momentum_0_1() -> dict[str, Any]:
    return _minimize(wired=True, momentum=0.1)


def momentum_0_1_measured() -> dict[str, Any]:
    return _minimize(wired=True, momentum=0.1, measure=True)


def momentum_0_99_measured() -> dict[str, Any]:
    return _minimize(wired=True, momentum=0.99, measure=True)


def estimator_model_fn_without_dependency() -> dict[str, Any]:
    """An Estimator ``model_fn`` (TF 2.21 no longer ships tf.compat.v1.estimator), driven the way
    Estimator.train drives it: a MonitoredTrainingSession with the spec's training hooks."""
    tf = _tf()
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    def model_fn(features: Any, labels: Any, mode: str) -> dict[str, Any]:
        logits = _net(tf, features, scope="estimator")
        loss = _loss(tf, logits, labels)
        train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(
            loss, global_step=tf.compat.v1.train.get_global_step())
        return {"loss": loss, "train_op": train_op, "training_hooks": [BatchNormHook(steps=STEPS, show=False)]}

    with tf.Graph().as_default():
        tf.compat.v1.train.create_global_step()
        features, labels = _data(tf)
        spec = model_fn(features, labels, "train")
        hook = spec["training_hooks"][0]
        _monitored(tf, spec["train_op"], hook)
        return outcome(hook)


def _slim(create_train_op: bool) -> dict[str, Any]:
    """A tf-slim net trained by tf-slim's own loop (training.train, with its hooks argument)."""
    tf = _tf()
    import importlib

    import tensorflow.python.framework.ops as tf_ops

    tf_ops.Tensor = tf.Tensor  # tf-slim 1.1 on TF 2.21 (see tensorflow-facts.md)
    for sub in ("", ".base", ".convolutional", ".core", ".normalization", ".pooling", ".variable_scope_shim"):
        sys.modules[f"tf_keras.legacy_tf_layers{sub}"] = importlib.import_module(f"tf_keras.src.legacy_tf_layers{sub}")
    import tf_slim as slim
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    with tf.Graph().as_default():
        images, labels = _data(tf)
        with tf.compat.v1.variable_scope("net"):
            x = slim.conv2d(images, 4, 3, normalizer_fn=slim.batch_norm, normalizer_params={"is_training": True},
                            scope="conv1")
            x = slim.conv2d(x, 4, 3, normalizer_fn=slim.batch_norm, normalizer_params={"is_training": True},
                            scope="conv2")
            logits = slim.fully_connected(tf.reduce_mean(x, axis=[1, 2]), 3, activation_fn=None, scope="logits")
        tf.compat.v1.train.get_or_create_global_step()
        loss, optimizer = _loss(tf, logits, labels), tf.compat.v1.train.GradientDescentOptimizer(0.1)
        if create_train_op:  # runs UPDATE_OPS
            train_op = slim.learning.create_train_op(loss, optimizer)
        else:
            train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
        hook = BatchNormHook(steps=STEPS, show=False)
        with tempfile.TemporaryDirectory() as logdir:
            slim.training.train(train_op, logdir, hooks=[hook, tf.compat.v1.train.StopAtStepHook(STEPS + 1)],
                                save_checkpoint_secs=None, save_summaries_steps=None)
        return outcome(hook)


def slim_create_train_op() -> dict[str, Any]:
    return _slim(create_train_op=True)


def slim_minimize_without_update_ops() -> dict[str, Any]:
    return _slim(create_train_op=False)


def plain_session_without_update_ops() -> dict[str, Any]:
    tf = _tf()
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    with tf.Graph().as_default():
        images, labels = _data(tf)
        train_op = tf.compat.v1.train.MomentumOptimizer(0.1, 0.9).minimize(_loss(tf, _net(tf, images), labels))
        hook = BatchNormHook(steps=STEPS, show=False)
        with tf.compat.v1.Session() as raw:
            raw.run(tf.compat.v1.global_variables_initializer())
            sess = hook.wrap(raw)
            for _ in range(STEPS):
                sess.run(train_op)
            sess.close()
        return {**outcome(hook), "train_op": train_op.name}


def eval_session_updating_statistics() -> dict[str, Any]:
    """An evaluation session whose predictions run the BN updates (training=True, UPDATE_OPS wired)."""
    tf = _tf()
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    with tf.Graph().as_default():
        images, _ = _data(tf)
        logits = _net(tf, images)
        with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            predictions = tf.argmax(logits, axis=1, name="predictions")
        hook = BatchNormHook(steps=STEPS, show=False)
        with tf.compat.v1.train.MonitoredSession(hooks=[hook]) as sess:
            for _ in range(STEPS):
                sess.run(predictions)
        return outcome(hook)


def stops_the_session() -> dict[str, Any]:
    tf = _tf()
    from test_runtime_harness import outcome

    from bncheck.runtime import BatchNormHook

    with tf.Graph().as_default():
        images, labels = _data(tf)
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(_loss(tf, _net(tf, images), labels))
        hook = BatchNormHook(steps=2, on_finding="stop", show=False)
        ran = 0
        with tf.compat.v1.train.MonitoredSession(hooks=[hook]) as sess:
            while not sess.should_stop() and ran < 10:
                sess.run(train_op)
                ran += 1
        return {**outcome(hook), "ran": ran}


def training_unchanged_by_the_hook() -> dict[str, Any]:
    """One seeded graph trained in three sessions, two plain and one with the hook (which judges
    on step 2): the variables end bit-identical. Last: it turns on op determinism for the process."""
    tf = _tf()
    import numpy as np

    from bncheck.runtime import BatchNormHook

    tf.config.experimental.enable_op_determinism()
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(7)
        images, labels = _data(tf)
        logits = tf.nn.dropout(_net(tf, images), rate=0.3)  # a random op in the step
        with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(_loss(tf, logits, labels))

        def train(hooks: list[Any]) -> list[bytes]:
            with tf.compat.v1.train.MonitoredSession(hooks=hooks) as sess:
                for _ in range(STEPS + 1):
                    sess.run(train_op)
                return [np.asarray(v).tobytes() for v in sess.run(tf.compat.v1.global_variables())]

        plain, again, hooked = train([]), train([]), train([BatchNormHook(steps=2, show=False)])
    return {"variables": len(plain), "plain twice": plain == again, "hooked": plain == hooked}


SCENARIOS = {f.__name__: f for f in (eval_session_updating_statistics, stops_the_session,
                                     minimize_without_update_ops, minimize_with_update_ops, momentum_0_1,
                                     momentum_0_1_measured, momentum_0_99_measured,
                                     estimator_model_fn_without_dependency, slim_create_train_op,
                                     slim_minimize_without_update_ops,
                                     plain_session_without_update_ops, training_unchanged_by_the_hook)}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from test_runtime_harness import run_scenarios

    return run_scenarios(__file__, tmp_path_factory)


def test_minimize_without_update_ops_is_bn001_naming_the_fetched_train_op(results):
    got = results["minimize_without_update_ops"]
    assert got["codes"] == [["BN001", "model/bn1"], ["BN001", "model/bn2"]]
    evidence = got["evidence"]["BN001 model/bn1"]
    assert evidence["train op"] == [got["train_op"]] == ["train"]
    assert evidence["unchanged"] == ["model/bn1/moving_mean", "model/bn1/moving_variance"]
    assert evidence["steps watched"] == STEPS


def test_minimize_with_update_ops_is_clean(results):
    assert results["minimize_with_update_ops"]["codes"] == []


def test_momentum_0_1_is_bn007_from_the_update_ops(results):
    got = results["momentum_0_1"]
    assert got["codes"] == [["BN007", "model/bn1"], ["BN007", "model/bn2"]]
    assert got["evidence"]["BN007 model/bn2"]["momentum"] == 0.1
    assert not any(k.startswith("measured") for k in got["evidence"]["BN007 model/bn2"])


def test_momentum_measured_on_a_step(results):
    assert results["momentum_0_99_measured"]["codes"] == []
    got = results["momentum_0_1_measured"]
    assert got["codes"] == [["BN007", "model/bn1"], ["BN007", "model/bn2"]]
    evidence = got["evidence"]["BN007 model/bn2"]
    assert evidence["measured moving_mean momentum (step 2)"] == pytest.approx(0.1, abs=1e-3)
    assert evidence["measured moving_variance momentum (step 2)"] == pytest.approx(0.1, abs=1e-3)


def test_estimator_model_fn_without_the_dependency_is_bn001(results):
    assert results["estimator_model_fn_without_dependency"]["codes"] == [
        ["BN001", "estimator/bn1"], ["BN001", "estimator/bn2"]]


def test_slim_create_train_op_is_clean(results):
    assert results["slim_create_train_op"]["codes"] == []


def test_slim_minimize_without_update_ops_is_bn001(results):
    got = results["slim_minimize_without_update_ops"]
    assert got["codes"] == [["BN001", "net/conv1/BatchNorm"], ["BN001", "net/conv2/BatchNorm"]]
    assert got["evidence"]["BN001 net/conv1/BatchNorm"]["steps watched"] == STEPS  # proved while training


def test_plain_session_loop_through_wrap(results):
    got = results["plain_session_without_update_ops"]
    assert got["codes"] == [["BN001", "model/bn1"], ["BN001", "model/bn2"]]
    assert got["evidence"]["BN001 model/bn1"]["train op"] == [got["train_op"]]


def test_eval_session_that_updates_moving_statistics_is_bn003(results):
    got = results["eval_session_updating_statistics"]
    assert got["codes"] == [["BN002", "model/bn1"], ["BN002", "model/bn2"], ["BN003", "model/bn1"],
                            ["BN003", "model/bn2"]]
    assert got["evidence"]["BN003 model/bn1"]["changed during evaluation"] == [
        "model/bn1/moving_mean", "model/bn1/moving_variance"]


def test_on_finding_stop_requests_the_session_stop(results):
    # the static check of the fetched train op finds BN001 before step one: the session stops after it
    got = results["stops_the_session"]
    assert (got["ran"], got["codes"]) == (1, [["BN001", "model/bn1"], ["BN001", "model/bn2"]])
    assert got["notes"] == ["the session ran 1 step(s), too few to judge the moving statistics"]


def test_the_hook_does_not_change_training(results):
    assert results["training_unchanged_by_the_hook"] == {"variables": 30, "plain twice": True, "hooked": True}


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_runtime_harness import main

    main(SCENARIOS)
