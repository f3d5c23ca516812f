"""BatchNormMonitor and watch() on real tf-keras training (``TF_USE_LEGACY_KERAS=1``), each scenario
a tiny model trained a few steps, all in one subprocess with test_runtime_tf1's
(``test_runtime_harness.GROUPS``; alone: ``python tests/test_runtime_tf_keras.py``)."""
from __future__ import annotations

import sys
from typing import Any

import pytest

STEPS = 3


def _keras() -> tuple[Any, Any]:
    from test_runtime_harness import seeded

    return seeded("tf_keras")


def loop_without_training() -> dict[str, Any]:
    from test_runtime_harness import watched_loop

    return watched_loop(*_keras(), STEPS, None)


def loop_with_training() -> dict[str, Any]:
    from test_runtime_harness import watched_loop

    return watched_loop(*_keras(), STEPS, True)


def _compiled(model: Any, keras: Any) -> Any:
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def fit_clean() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import convnet, outcome, tiny_data

    import bncheck.runtime

    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False)
    _compiled(convnet(keras), keras).fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback],
                                         validation_data=(x[:8], y[:8]))
    return {**outcome(callback), "type": type(callback).__mro__[1].__module__}


def fit_frozen_base() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import outcome, tiny_data, transfer_model

    import bncheck.runtime

    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False)
    _compiled(transfer_model(keras), keras).fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    return outcome(callback)


def training_true_fixed_evaluated() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import convnet, outcome, tiny_data

    import bncheck.runtime

    x, y = tiny_data()
    model = _compiled(convnet(keras, bn_training=True), keras)
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False)
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[callback])
    return outcome(callback)


def unlabelled_data_pipeline_sequential() -> dict[str, Any]:
    """BN005 early on a tf-keras Sequential model (the tf-keras models the sample runs through)."""
    from test_runtime_harness import gap_twins, sequential_convnet

    keras, tf = _keras()
    return gap_twins(keras, tf, lambda: sequential_convnet(keras))


def functional_sample() -> dict[str, Any]:
    from test_runtime_harness import convnet, semi_supervised_loop

    keras, tf = _keras()
    return semi_supervised_loop(keras, tf, convnet(keras), raw_unlabelled=True, steps=3)


SCENARIOS = {f.__name__: f for f in (loop_without_training, loop_with_training, fit_clean, fit_frozen_base,
                                     training_true_fixed_evaluated, unlabelled_data_pipeline_sequential,
                                     functional_sample)}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from test_runtime_harness import run_scenarios

    return run_scenarios(__file__, tmp_path_factory)


def test_custom_loop_without_training_true_is_bn009(results):
    got = results["loop_without_training"]
    assert got["codes"] == [["BN009", "bn1"], ["BN009", "bn2"]]
    assert got["evidence"]["BN009 bn2"]["unchanged"] == ["bn2/moving_mean", "bn2/moving_variance"]


def test_custom_loop_with_training_true_is_clean(results):
    assert results["loop_with_training"]["codes"] == []
    from test_runtime_harness import NO_SAMPLE

    assert results["loop_with_training"]["notes"] == [NO_SAMPLE]


def test_moving_statistics_pulled_to_other_data_are_bn005_early(results):
    from test_runtime_harness import twin_outcomes

    assert twin_outcomes(results["unlabelled_data_pipeline_sequential"]) == (([], []), ([["BN005", "bn1"]], []))


def test_a_tf_keras_functional_model_cannot_run_the_sample_a_note(results):
    got = results["functional_sample"]
    assert got["codes"] == []
    assert got["notes"] == [(
        "the sample could not be run through the model without updates (Functional models (only Keras 3 functional "
        "and Sequential models, and tf-keras Sequential models, are run on the sample)), so the moving statistics "
        "were not compared with the training batches' statistics")]


def test_fit_with_validation_is_clean_on_the_tf_keras_callback_base(results):
    assert results["fit_clean"]["codes"] == []
    assert results["fit_clean"]["type"] == "tf_keras.src.callbacks"


def test_fit_with_a_frozen_base_is_clean_and_names_the_frozen_layers(results):
    got = results["fit_frozen_base"]
    assert (got["codes"], got["notes"]) == ([], [
        ("frozen on purpose (trainable=False), not judged: base/bn1, base/bn2: their moving statistics did not "
         "move, as expected")])


def test_training_true_fixed_in_the_model_evaluated_is_bn003_and_bn002(results):
    # BN008 is the static check's, reported before the first batch; BN003/BN002 are proved by evaluate
    assert results["training_true_fixed_evaluated"]["codes"] == [
        ["BN002", "bn1"], ["BN002", "bn2"], ["BN003", "bn1"], ["BN003", "bn2"], ["BN008", "bn1"], ["BN008", "bn2"]]


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_runtime_harness import main

    main(SCENARIOS)
