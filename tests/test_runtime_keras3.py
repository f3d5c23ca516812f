"""BatchNormMonitor and watch() on real Keras 3 training: each scenario trains a tiny model a few
steps, all in one subprocess with test_runtime_distribute's (``test_runtime_harness.GROUPS``; alone:
``python tests/test_runtime_keras3.py``; Keras 3 needs ``TF_USE_LEGACY_KERAS`` unset)."""
from __future__ import annotations

import sys
from typing import Any

import pytest

STEPS = 3


def _keras() -> tuple[Any, Any]:
    from test_runtime_harness import seeded

    return seeded("keras")


def loop_without_training() -> dict[str, Any]:
    from test_runtime_harness import watched_loop

    return watched_loop(*_keras(), STEPS, None)


def loop_with_training() -> dict[str, Any]:
    from test_runtime_harness import watched_loop

    return watched_loop(*_keras(), STEPS, True)


def loop_fine_tuning_in_inference_mode() -> dict[str, Any]:
    """The transfer-learning guide's fine-tuning: trained statistics kept by calling the model in
    inference mode while gamma/beta train. A note, not BN009."""
    keras, tf = _keras()
    from test_runtime_harness import Quiet, convnet, custom_loop, outcome

    import bncheck.runtime

    model = convnet(keras)
    custom_loop(keras, tf, model, Quiet(), 2, True)  # "pretraining": the moving statistics move
    monitor = bncheck.runtime.watch(model, steps=STEPS, show=False)
    custom_loop(keras, tf, model, monitor, STEPS, False)
    return outcome(monitor)


def unlabelled_data_pipeline() -> dict[str, Any]:
    """BN005 early: moving statistics pulled away from the training batches by raw unlabelled
    images run in training mode; its twin preprocesses them like the labelled ones."""
    from test_runtime_harness import convnet, gap_twins

    keras, tf = _keras()
    return gap_twins(keras, tf, lambda: convnet(keras))


def nested_model_pipeline() -> dict[str, Any]:
    """BN005 early through a nested model: the sample runs into it, findings name ``base/bn1``."""
    from test_runtime_harness import convnet, gap_twins

    keras, tf = _keras()

    def nested() -> Any:
        inp = keras.Input((6, 6, 2))
        return keras.Model(inp, convnet(keras, name="base")(inp), name="outer")

    return gap_twins(keras, tf, nested)


def fit_frozen_base_with_sample() -> dict[str, Any]:
    """The transfer-learning recipe fitted with a sample: the frozen base runs in inference mode."""
    keras, _ = _keras()
    from test_runtime_harness import outcome, tiny_data, transfer_model

    return outcome(_fit(transfer_model(keras), keras, sample=tiny_data()[0][:8]))


def sequential_with_dropout_sample() -> dict[str, Any]:
    """A Sequential model fitted with a sample: dropout before bn2 means the sample cannot show what
    bn2 sees (a note); bn1 is measured (no finding)."""
    keras, _ = _keras()
    layers = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3, name="conv1"),
                              layers.BatchNormalization(name="bn1"), layers.Dropout(0.5, name="drop"),
                              layers.Conv2D(4, 3, name="conv2"), layers.BatchNormalization(name="bn2"),
                              layers.GlobalAveragePooling2D(), layers.Dense(3, name="logits")], name="seq")
    from test_runtime_harness import outcome, tiny_data

    return outcome(_fit(model, keras, sample=tiny_data()[0][:8]))


def fine_tuning_on_new_data() -> dict[str, Any]:
    """Statistics kept from pretraining (momentum 0.5, 20 steps: settled) while fine-tuning in
    inference mode, on the pretraining data and on data shifted by 20: a measured note for the latter."""
    keras, tf = _keras()
    from test_runtime_harness import Quiet, convnet, custom_loop, outcome, tiny_data

    import bncheck.runtime

    out = {}
    for shift in (0.0, 20.0):
        keras.utils.set_random_seed(0)
        model = convnet(keras, momentum=0.5)
        custom_loop(keras, tf, model, Quiet(), 20, True)
        monitor = bncheck.runtime.watch(model, steps=STEPS, show=False, sample=tiny_data()[0][:8] + shift)
        custom_loop(keras, tf, model, monitor, STEPS, False, shift=shift)
        out[str(shift)] = outcome(monitor)
    return out


def _fit(model: Any, module: Any, **monitor: Any) -> Any:
    from test_runtime_harness import tiny_data

    import bncheck.runtime

    x, y = tiny_data()
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False, **monitor)
    report = callback.report
    model.compile(module.optimizers.SGD(0.1), module.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert callback.report is report  # one Report object, taken before fit or after
    return callback


def fit_momentum_0_1() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import convnet, outcome

    return outcome(_fit(convnet(keras, momentum=0.1), keras))


def fit_frozen_base() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import outcome, transfer_model

    return outcome(_fit(transfer_model(keras), keras))


def fit_clean() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import convnet, outcome

    return {**outcome(_fit(convnet(keras), keras)), "type": type(_fit(convnet(keras), keras)).__mro__[1].__module__}


def subclassed_training_true_evaluated() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import outcome, tiny_data

    import bncheck.runtime

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="net")
            self.conv = keras.layers.Conv2D(4, 3, name="conv1")
            self.bn1 = keras.layers.BatchNormalization(name="bn1")
            self.bn2 = keras.layers.BatchNormalization(name="bn2")
            self.head = keras.layers.Dense(3, name="logits")

        def call(self, x: Any, training: Any = None) -> Any:
            x = self.bn2(self.bn1(self.conv(x), training=True), training=True)  # fixed: batch statistics
            return self.head(keras.ops.mean(x, axis=(1, 2)))

    x, y = tiny_data()
    model = Net()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(x[:1])
    callback = bncheck.runtime.BatchNormMonitor(steps=STEPS, show=False)
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[callback])
    return outcome(callback)


def decorated_step_stops() -> dict[str, Any]:
    keras, tf = _keras()
    from test_runtime_harness import convnet, outcome, tiny_data

    import bncheck.runtime

    model, (x, y) = convnet(keras), tiny_data()
    optimizer, loss_fn = keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    monitor = bncheck.runtime.watch(model, steps=2, on_finding="stop", show=False)

    @tf.function
    def compiled(xb: Any, yb: Any) -> None:
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    @monitor
    def train_step(xb: Any, yb: Any) -> None:
        compiled(xb, yb)

    ran = 0
    while not monitor.stopped and ran < 10:
        train_step(x[:8], y[:8])
        ran += 1
    return {**outcome(monitor), "ran": ran}


def raises() -> dict[str, Any]:
    keras, tf = _keras()
    from test_runtime_harness import convnet, custom_loop

    import bncheck.runtime

    model = convnet(keras)
    monitor = bncheck.runtime.watch(model, steps=2, on_finding="raise", show=False)
    try:
        custom_loop(keras, tf, model, monitor, 5, None)
    except bncheck.runtime.BatchNormError as exc:
        return {"raised": str(exc), "same report": exc.report is monitor.report}
    return {"raised": None}


def warns_and_shows() -> dict[str, Any]:
    """The default policy: each new finding is printed once (stderr) and warned about."""
    import contextlib
    import io
    import warnings

    keras, tf = _keras()
    from test_runtime_harness import convnet, custom_loop

    import bncheck.runtime

    model, err = convnet(keras, momentum=0.1), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        monitor = bncheck.runtime.watch(model, steps=STEPS)
        custom_loop(keras, tf, model, monitor, STEPS + 2, None)
    printed = [line for line in err.getvalue().splitlines() if line.startswith("bncheck ")]
    return {"printed": printed, "warned": [str(w.message)[:20] for w in caught
                                           if issubclass(w.category, bncheck.runtime.BatchNormWarning)]}


def wrong_callback_base() -> dict[str, Any]:
    keras, _ = _keras()
    from test_runtime_harness import convnet

    try:
        _fit(convnet(keras), keras, keras="tf_keras")
    except TypeError as exc:
        return {"error": str(exc)}
    return {"error": None}


def training_unchanged_by_the_callback() -> dict[str, Any]:
    """The same seeded fit (with validation) plain twice and with the monitor (which judges on step
    3): bit-identical weights. Last: it turns on op determinism for the process."""
    keras, tf = _keras()
    from test_runtime_harness import convnet, tiny_data

    import bncheck.runtime

    tf.config.experimental.enable_op_determinism()
    x, y = tiny_data()

    def train(callbacks: list[Any]) -> list[bytes]:
        keras.utils.set_random_seed(1)
        model = convnet(keras)
        model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=callbacks, validation_data=(x[:8], y[:8]))
        return [w.tobytes() for w in model.get_weights()]

    plain, again = train([]), train([])
    hooked = train([bncheck.runtime.BatchNormMonitor(steps=3, show=False)])
    sampled = train([bncheck.runtime.BatchNormMonitor(steps=3, show=False, sample=x[:8])])
    return {"weights": len(plain), "plain twice": plain == again, "monitored": plain == hooked,
            "monitored with a sample": plain == sampled}


SCENARIOS = {f.__name__: f for f in (loop_without_training, loop_with_training, loop_fine_tuning_in_inference_mode,
                                     fit_momentum_0_1, fit_frozen_base, fit_clean, subclassed_training_true_evaluated,
                                     decorated_step_stops, raises, warns_and_shows, wrong_callback_base,
                                     unlabelled_data_pipeline, sequential_with_dropout_sample,
                                     nested_model_pipeline, fit_frozen_base_with_sample, fine_tuning_on_new_data,
                                     training_unchanged_by_the_callback)}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from test_runtime_harness import run_scenarios

    return run_scenarios(__file__, tmp_path_factory)


def test_custom_loop_without_training_true_is_bn009(results):
    got = results["loop_without_training"]
    assert got["codes"] == [["BN009", "bn1"], ["BN009", "bn2"]]
    assert got["evidence"]["BN009 bn1"]["unchanged"] == ["bn1/moving_mean", "bn1/moving_variance"]
    assert got["evidence"]["BN009 bn1"]["moved"] == ["bn1/gamma", "bn1/beta"]


def test_custom_loop_with_training_true_is_clean(results):
    assert results["loop_with_training"]["codes"] == []
    from test_runtime_harness import NO_SAMPLE

    assert results["loop_with_training"]["notes"] == [NO_SAMPLE]


def test_fine_tuning_in_inference_mode_with_trained_statistics_is_a_note(results):
    got = results["loop_fine_tuning_in_inference_mode"]
    assert got["codes"] == []
    assert got["notes"] == [f"{layer}: runs in inference mode while its gamma/beta train, keeping moving statistics "
                            "that were already trained (the fine-tuning recipe); not reported" for layer in ("bn1", "bn2")]


def test_fit_with_momentum_0_1_is_bn007(results):
    assert results["fit_momentum_0_1"]["codes"] == [["BN007", "bn1"], ["BN007", "bn2"]]


def test_fit_with_a_frozen_base_is_clean_and_names_the_frozen_layers(results):
    got = results["fit_frozen_base"]
    assert got["codes"] == []
    assert [n for n in got["notes"] if "frozen on purpose" in n] == [
        ("frozen on purpose (trainable=False), not judged: base/bn1, base/bn2: their moving statistics did not "
         "move, as expected")]


def test_fit_clean_on_the_keras3_callback_base(results):
    assert results["fit_clean"]["codes"] == []
    assert results["fit_clean"]["type"] == "keras.src.callbacks.callback"


def test_training_true_fixed_in_call_evaluated_is_bn003_and_bn002(results):
    assert results["subclassed_training_true_evaluated"]["codes"] == [
        ["BN002", "bn1"], ["BN002", "bn2"], ["BN003", "bn1"], ["BN003", "bn2"]]


def test_decorated_step_stops_after_the_judgement(results):
    got = results["decorated_step_stops"]
    assert got["ran"] == 2
    assert got["codes"] == [["BN009", "bn1"], ["BN009", "bn2"]]


def test_on_finding_raise(results):
    got = results["raises"]
    assert got["raised"].startswith("bncheck: BN009 bn1: the moving statistics stayed at their initial 0 and 1 "
                                    "for 2 training steps") and got["raised"].endswith("(and 1 more)")
    assert got["same report"] is True


def test_findings_are_printed_once_and_warned(results):
    got = results["warns_and_shows"]
    assert got["printed"] == ["bncheck before step one:", "bncheck after 3 steps:"]
    assert got["warned"] == ["bncheck BN007 bn1: m", "bncheck BN007 bn2: m", "bncheck BN009 bn1: t",
                             "bncheck BN009 bn2: t"]


def test_a_callback_for_the_other_keras_says_which_to_pass(results):
    assert results["wrong_callback_base"]["error"] == (
        "this BatchNormMonitor is a tf_keras callback but the model is a keras model: pass "
        "BatchNormMonitor(keras='keras')")


def test_the_callback_does_not_change_training(results):
    assert results["training_unchanged_by_the_callback"] == {"weights": 12, "plain twice": True, "monitored": True,
                                                             "monitored with a sample": True}


def test_moving_statistics_pulled_to_other_data_are_bn005_early(results):
    from test_runtime_harness import twin_outcomes

    got = results["unlabelled_data_pipeline"]
    assert twin_outcomes(got) == (([], []), ([["BN005", "bn1"]], []))
    evidence = got["raw"]["evidence"]["BN005 bn1"]
    assert (evidence["steps watched"], evidence["momentum"], evidence["channels"]) == (20, 0.99, 4)
    assert evidence["median mean gap (channel std)"] > 10 and evidence["median variance gap (factor)"] > 100


def test_bn005_early_through_a_nested_model_names_the_nested_layer(results):
    from test_runtime_harness import twin_outcomes

    assert twin_outcomes(results["nested_model_pipeline"]) == (([], []), ([["BN005", "base/bn1"]], []))


def test_a_frozen_base_with_a_sample_is_clean(results):
    # its statistics were never trained (0 and 1): the note measures bn2's inputs 4.9 std away
    got = results["fit_frozen_base_with_sample"]
    assert got["codes"] == []
    assert [n.split(" (")[0] for n in got["notes"] if "far from" in n] == [
        ("base/bn2: runs in inference mode while the model trains, and its moving statistics are far from the "
         "training batches'")]


def _gap_in_note(note: str) -> tuple[float, float]:
    import re

    found = re.search(r"mean ([0-9.e+]+) channel std away, variance a factor ([0-9.e+]+) off", note)
    assert found, note
    return float(found.group(1)), float(found.group(2))


def test_fine_tuning_kept_statistics_on_new_data_is_a_measured_note(results):
    from test_runtime_harness import NO_SAMPLE

    same, shifted = results["fine_tuning_on_new_data"]["0.0"], results["fine_tuning_on_new_data"]["20.0"]
    recipe = [f"{layer}: runs in inference mode while its gamma/beta train, keeping moving statistics that were "
              "already trained (the fine-tuning recipe); not reported" for layer in ("bn1", "bn2")]
    assert (same["codes"], same["notes"]) == ([], recipe)
    assert shifted["codes"] == [] and shifted["notes"][:2] == recipe and len(shifted["notes"]) == 3
    assert shifted["notes"][2].startswith("bn1: runs in inference mode while the model trains, and its moving "
                                          "statistics are far from the training batches' (median channel: mean ")
    assert _gap_in_note(shifted["notes"][2])[0] > 30 and NO_SAMPLE not in shifted["notes"]


def test_a_sample_after_dropout_is_a_note_not_a_measure(results):
    got = results["sequential_with_dropout_sample"]
    assert got["codes"] == []
    assert [n for n in got["notes"] if "sample" in n] == [
        ("bn2: its statistics on the sample were not measured: a layer before it (dropout, noise) behaves "
         "differently in training")]


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from test_runtime_harness import main

    main(SCENARIOS)
