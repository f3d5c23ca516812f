"""TF2 SavedModels, Keras files, checkpoints: exact (code, layer) outcomes with Keras layer names,
and values in the evidence equal to the ones in the files."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
import io

import h5py
import numpy as np
import pytest

import bncheck
from bncheck.loaders import Target, load
from conftest import FIXTURES, ROOT

BN = ("bn1", "bn2")


def pairs(code: str, layers: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(code, layer) for layer in layers}


MOBILENET_V2 = ("bn_Conv1", "expanded_conv_depthwise_BN", "expanded_conv_project_BN", "Conv_1_bn") + tuple(
    f"block_{i}_{part}_BN" for i in range(1, 17) for part in ("expand", "depthwise", "project"))
MOBILENET_V3 = ("Conv/BatchNorm", "Conv_1/BatchNorm", "expanded_conv/depthwise/BatchNorm",
                "expanded_conv/project/BatchNorm") + tuple(
    f"expanded_conv_{i}/{part}/BatchNorm" for i in range(1, 11) for part in ("expand", "depthwise", "project"))

EXPECTED = {
    "keras3/export_clean": set(),
    "keras3/saved_model_serving_training_true": pairs("BN002", BN) | pairs("BN003", BN),
    "keras3/saved_model_serving_training_false": set(),
    "keras3/train_signature_training_missing": pairs("BN009", BN) | pairs("BN005", BN),
    "keras3/train_signature_training_true": set(),
    "keras3/train_signature_axis3_training_missing": pairs("BN009", BN) | pairs("BN005", BN),
    "keras3/train_signature_axis3_training_true": set(),
    "keras3/untrained_scale_false_export": set(),
    "keras3/train_signature_bn_frozen": pairs("BN005", BN),  # a warning: only the step counter moved
    "keras3/momentum_0.1.keras": pairs("BN007", BN),
    "keras3/training_kwarg.keras": pairs("BN008", ("block/bn1", "bn2")),
    "keras3/fit_clean.keras": set(),
    "keras3/sequential_clean.keras": set(),
    "keras3/custom_loop_training_missing.keras": pairs("BN005", BN),
    "keras3/untrained.keras": set(),
    "keras3/checkpoint_custom_loop_training_missing": pairs("BN005", BN),
    "keras3/checkpoint_custom_loop_training_true": set(),
    "keras3/checkpoint_nan_variance": {("BN006", "bn2")},
    "tfkeras/saved_model_clean": set(),
    "tfkeras/saved_model_serving_training_true": pairs("BN002", BN) | pairs("BN003", BN),
    "tfkeras/saved_model_layer_norm": set(),
    "tfkeras/momentum_0.1.h5": pairs("BN007", BN),
    "tfkeras/training_kwarg.h5": pairs("BN008", BN),
    "tfkeras/fit_clean.h5": set(),
    # issue 8: what a fixed training=True does depends on the Keras that wrote the file
    "keras3/frozen_base_training_true.keras": {("BN008", "base/bn1")},
    "keras3/frozen_base_training_false.keras": set(),
    "keras3/nested_training_true.keras": {("BN008", "base/bn1")},
    "tfkeras/frozen_base_training_true.h5": {("BN008", "base/bn1")},
    "tfkeras/frozen_base_training_false.h5": set(),
    "tfkeras/nested_training_true.h5": {("BN008", "base/bn1")},
    # BatchNormalization subclasses told by their config; a custom layer's BN by its weights
    "keras3/custom_bn_subclass_fit.keras": set(),
    "keras3/custom_bn_subclass_custom_loop.keras": pairs("BN005", BN),
    "tfkeras/custom_bn_subclass_fit.h5": set(),
    "tfkeras/custom_bn_subclass_custom_loop.h5": pairs("BN005", BN),
    "tfkeras/custom_block.h5": set(),
    # MobileNets: tf-keras layer names with "/", Keras 3 momentum 0.999 served with training=True
    "tfkeras/mobilenet_v3_custom_loop_training_missing.h5": pairs("BN005", MOBILENET_V3),
    "tfkeras/mobilenet_v3_fit.h5": set(),
    "keras3/mobilenet_v2_serving_training_true": pairs("BN002", MOBILENET_V2) | pairs("BN003", MOBILENET_V2),
    "keras3/mobilenet_v2_serving_training_false": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(name):
    report = bncheck.check_path(FIXTURES / name)
    assert not report.errors
    assert report.codes() == EXPECTED[name]


def test_clean_tf2_models_have_no_error_findings():
    for name, expected in EXPECTED.items():
        report = bncheck.check_path(FIXTURES / name)
        if not expected:
            assert not list(report), name
    frozen = bncheck.check_path(FIXTURES / "keras3/train_signature_bn_frozen")
    assert {f.severity for f in frozen} == {bncheck.Severity.WARNING}


def test_tf_keras_saved_model_keeps_unreachable_training_traces_that_raise_nothing():
    """The library really holds training-mode fused ops; only what a signature calls counts."""
    from bncheck.loaders.protobuf_io import parse_file
    from bncheck.graph.values import attr_value

    path = FIXTURES / "tfkeras/saved_model_clean/saved_model.pb"
    _, saved = parse_file(str(path), path.read_bytes())
    training = [f.signature.name for f in saved.meta_graphs[0].graph_def.library.function
                for n in f.node_def if n.op == "FusedBatchNormV3"
                and ("is_training" not in n.attr or attr_value(n.attr["is_training"]))]
    assert training, "fixture lost its training traces"
    assert bncheck.check_path(FIXTURES / "tfkeras/saved_model_clean").codes() == set()


def test_saved_model_variables_are_named_from_the_object_graph():
    report = bncheck.check_path(FIXTURES / "keras3/saved_model_serving_training_true", select=["BN003"])
    finding = next(f for f in report if f.layer == "bn1")
    assert finding.evidence_dict["moving variables"] == ("bn1/moving_mean", "bn1/moving_variance")
    assert finding.evidence_dict["built with"] == "a Keras BatchNormalization layer"
    assert "training=False" in finding.fix


def test_bn009_names_the_train_signature_and_trained_gamma_beta():
    report = bncheck.check_path(FIXTURES / "keras3/train_signature_training_missing", select=["BN009"])
    finding = next(f for f in report if f.layer == "bn2")
    assert finding.evidence_dict["training function"] == ("signature 'train'",)
    assert finding.evidence_dict["trained by the optimizer"] == ("bn2/beta", "bn2/gamma")
    assert "training=True" in finding.fix


def test_bn005_tells_cause_and_effect_in_a_tf1_training_folder():
    report = bncheck.check_path(FIXTURES / "tf1/layers_checkpoint_no_updates", select=["BN005"])
    finding = next(f for f in report if f.layer == "model/bn1")
    assert finding.message.startswith("the update ops are not run by Adam (BN001), and indeed after 20 steps")
    assert finding.evidence_dict["global_step"] == 20


def _keras_weights(name: str) -> h5py.File:
    return h5py.File(io.BytesIO(zipfile.ZipFile(FIXTURES / name).read("model.weights.h5")), "r")


def test_bn005_evidence_holds_the_values_in_the_file():
    finding = next(f for f in bncheck.check_path(FIXTURES / "keras3/custom_loop_training_missing.keras")
                   if f.layer == "bn1")
    gamma = _keras_weights("keras3/custom_loop_training_missing.keras")["layers/batch_normalization/vars/0"][()]
    ev = finding.evidence_dict
    assert ev["moving_mean"] == "all 0 (4 values)" and ev["moving_variance"] == "all 1 (4 values)"
    assert ev["gamma (trained)"] == f"min {gamma.min():.6g}, max {gamma.max():.6g} (4 values)"
    assert "optimizer iterations" not in ev  # a custom loop: the saved model has no compiled optimizer
    assert finding.severity == bncheck.Severity.ERROR


def test_bn006_evidence_points_at_the_bad_entries():
    (finding,) = bncheck.check_path(FIXTURES / "keras3/checkpoint_nan_variance")
    ev = finding.evidence_dict
    assert ev["moving_variance NaN at"] == "index 0 (1 of 4)"
    assert ev["moving_variance negative at"] == "index 1 (1 of 4)"
    assert "[0]=nan" in ev["moving_variance"] and "[1]=-0.5" in ev["moving_variance"]


def test_untrained_model_is_not_judged_and_the_report_says_so():
    report = bncheck.check_path(FIXTURES / "keras3/untrained.keras")
    assert not list(report) and report.exit_code() == 0
    assert len(report.notes) == 1 and "could not be judged" in report.notes[0][1]
    assert json.loads(report.to_json())["notes"][0]["message"].startswith("BN005: 2 layer(s) (bn1, bn2)")


def test_checkpoint_reads_only_batch_norm_tensors(monkeypatch):
    from bncheck.loaders.checkpoint_bundle import CheckpointReader

    read: list[str] = []
    original = CheckpointReader.read
    monkeypatch.setattr(CheckpointReader, "read", lambda self, key: read.append(key) or original(self, key))
    bncheck.engine.check_paths([str(FIXTURES / "tf1/layers_checkpoint_no_updates")], isolate=False)  # reads seen here
    assert read and all(k.startswith("model/bn") or k == "global_step" for k in read)
    assert not any("Adam" in k or "conv" in k or "logits" in k for k in read)


def test_reading_checkpoints_and_keras_files_imports_no_tensorflow():
    code = ("import sys, bncheck\n"
            "for p in sys.argv[1:]:\n"
            "    r = bncheck.check_path(p); assert not r.errors, r.errors; assert list(r), p\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow','keras','tf_keras'}))")
    paths = [str(FIXTURES / p) for p in ("keras3/checkpoint_nan_variance", "keras3/training_kwarg.keras",
                                         "tfkeras/training_kwarg.h5", "tf1/layers_checkpoint_no_updates")]
    proc = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


LIVE = r"""
import os, json
os.environ["TF_USE_LEGACY_KERAS"] = "0"
import tensorflow as tf, keras, bncheck
keras.utils.set_random_seed(0)
inp = keras.Input((8, 8, 3))
h = keras.layers.Conv2D(4, 3, name="conv1")(inp)
h = keras.layers.BatchNormalization(name="bn1")(h)
model = keras.Model(inp, keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(h)))
out = {"model": sorted(bncheck.check_model(model).codes())}
inp2 = keras.Input((8, 8, 3))
h2 = keras.layers.BatchNormalization(name="bn_fixed", momentum=0.1)(inp2, training=True)
out["hardcoded"] = sorted(bncheck.check_model(keras.Model(inp2, h2)).codes())
opt = keras.optimizers.Adam()
def step_fn(training):
    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3]), tf.TensorSpec([None], tf.int32)])
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x) if training is None else model(x, training=training)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    return step
out["step_missing"] = sorted(bncheck.check_model(step_fn(None).get_concrete_function()).codes())
out["step_true"] = sorted(bncheck.check_model(step_fn(True)).codes())
print(json.dumps(out))
"""


def test_live_keras_model_and_train_step():
    pytest.importorskip("keras")
    proc = subprocess.run([sys.executable, "-c", LIVE], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "model": [],
        "hardcoded": [["BN007", "bn_fixed"], ["BN008", "bn_fixed"]],
        "step_missing": [["BN009", "bn1"]],
        "step_true": [],
    }
