"""The runtime monitor under tf.distribute.MirroredStrategy (two logical CPU devices) and with mixed
precision (float16 activations, float32 moving statistics), Keras 3, in one subprocess with
test_runtime_keras3's (``test_runtime_harness.GROUPS``)."""
from __future__ import annotations

import sys
from typing import Any

import pytest
from test_runtime_harness import NO_SAMPLE

STEPS = 3
STATIC_NOTE = ("the static checks could not read this model's config (a subclassed model?); the runtime watches its "
               "2 batch-norm layer(s)")


def _setup() -> tuple[Any, Any]:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if tf.config.get_logical_device_configuration(cpu) is None:  # once, before TF initialises its devices
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    keras.utils.set_random_seed(0)
    return keras, tf


def _subclassed(keras: Any, bn_training: bool | None, dtype: str | None) -> Any:
    """conv -> bn1 -> conv -> bn2 -> dense; ``bn_training`` fixes ``training`` in ``call`` (a
    functional model's fixed ``training=False`` is overridden by fit in Keras 3)."""
    kw = {"dtype": dtype} if dtype else {}

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="net")
            self.conv1 = keras.layers.Conv2D(4, 3, use_bias=False, name="conv1", **kw)
            self.bn1 = keras.layers.BatchNormalization(name="bn1", **kw)
            self.conv2 = keras.layers.Conv2D(4, 3, use_bias=False, name="conv2", **kw)
            self.bn2 = keras.layers.BatchNormalization(name="bn2", **kw)
            self.head = keras.layers.Dense(3, name="logits", dtype="float32")

        def call(self, x: Any, training: Any = None) -> Any:
            mode = training if bn_training is None else bn_training
            x = keras.ops.relu(self.bn1(self.conv1(x), training=mode))
            x = keras.ops.relu(self.bn2(self.conv2(x), training=mode))
            return self.head(keras.ops.mean(x, axis=(1, 2)))

    return Net()


def _fit(bn_training: bool | None, mirrored: bool, dtype: str | None) -> dict[str, Any]:
    keras, tf = _setup()
    from test_runtime_harness import outcome, tiny_data

    import bncheck.runtime

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mirrored else tf.distribute.get_strategy()
    with strategy.scope():
        model = _subclassed(keras, bn_training, dtype)
        model.build((None, 6, 6, 2))
        model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    return {**outcome(callback), "replicas": strategy.num_replicas_in_sync,
            "moving dtype": str(model.bn1.moving_mean.dtype), "conv dtype": str(model.conv1.compute_dtype)}


def mirrored_clean() -> dict[str, Any]:
    return _fit(None, True, None)


def mirrored_bn_fixed_inference() -> dict[str, Any]:
    return _fit(False, True, None)


def mixed_precision_clean() -> dict[str, Any]:
    return _fit(None, False, "mixed_float16")


def mixed_precision_bn_fixed_inference() -> dict[str, Any]:
    return _fit(False, False, "mixed_float16")


def mirrored_mixed_precision_bn_fixed_inference() -> dict[str, Any]:
    return _fit(False, True, "mixed_float16")


def mirrored_mixed_precision_functional_sample() -> dict[str, Any]:
    """BN005 early's sample run through a functional float16 model whose variables are mirrored."""
    keras, tf = _setup()
    from test_runtime_harness import convnet, outcome, tiny_data

    import bncheck.runtime

    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        model = convnet(keras, dtype="mixed_float16")
        model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False, sample=x[:8])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    return outcome(callback)


def subclassed_sample() -> dict[str, Any]:
    keras, _ = _setup()
    from test_runtime_harness import outcome, tiny_data

    import bncheck.runtime

    model = _subclassed(keras, None, None)
    model.build((None, 6, 6, 2))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False, sample=x[:8])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    return outcome(callback)


SCENARIOS = {f.__name__: f for f in (mirrored_clean, mirrored_bn_fixed_inference, mixed_precision_clean,
                                     mixed_precision_bn_fixed_inference, mirrored_mixed_precision_bn_fixed_inference,
                                     mirrored_mixed_precision_functional_sample, subclassed_sample)}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from test_runtime_harness import run_scenarios

    return run_scenarios(__file__, tmp_path_factory)


def test_mirrored_strategy_clean(results):
    got = results["mirrored_clean"]
    assert (got["replicas"], got["codes"]) == (2, [])
    assert got["notes"] == [STATIC_NOTE, NO_SAMPLE]


def test_mirrored_strategy_bn_fixed_in_inference_mode_is_bn009(results):
    got = results["mirrored_bn_fixed_inference"]
    assert got["replicas"] == 2
    assert got["codes"] == [["BN009", "bn1"], ["BN009", "bn2"]]


def test_mixed_precision_clean(results):
    got = results["mixed_precision_clean"]
    assert (got["conv dtype"], got["moving dtype"], got["codes"], got["notes"]) == ("float16", "float32", [], [
        STATIC_NOTE, ("the model was built during its first step: the moving statistics are compared with their "
                      "values after step 1"), NO_SAMPLE])


def test_mixed_precision_bn_fixed_in_inference_mode_is_bn009(results):
    assert results["mixed_precision_bn_fixed_inference"]["codes"] == [["BN009", "bn1"], ["BN009", "bn2"]]


def test_mirrored_and_mixed_precision_together(results):
    got = results["mirrored_mixed_precision_bn_fixed_inference"]
    assert (got["replicas"], got["codes"]) == (2, [["BN009", "bn1"], ["BN009", "bn2"]])


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_runtime_harness import main

    main(SCENARIOS)


def test_a_sample_through_a_mirrored_float16_model_is_measured_and_clean(results):
    got = results["mirrored_mixed_precision_functional_sample"]
    assert (got["codes"], [n for n in got["notes"] if "sample" in n]) == ([], [])


def test_a_subclassed_model_cannot_run_the_sample_a_note(results):
    got = results["subclassed_sample"]
    assert got["codes"] == []
    assert got["notes"] == [STATIC_NOTE, (
        "the sample could not be run through the model without updates (Net models (only Keras 3 functional and "
        "Sequential models, and tf-keras Sequential models, are run on the sample)), so the moving statistics were "
        "not compared with the training batches' statistics"),
        "the model was built during its first step: the moving statistics are compared with their values after step 1"]
