"""Keras configs read as data (issue 8): BN008 told per Keras flavour, BatchNormalization subclasses
told by their config, custom layers a visible note, tf-keras weights of layers whose names hold "/",
and a Keras 3 MobileNetV2 served with training=True. The fixture builders assert the Keras
behaviour each verdict describes (fixtures/builders/keras3.py, tfkeras.py)."""
from __future__ import annotations

import importlib.metadata
import io
import json
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import bncheck
from bncheck import Severity
from bncheck.loaders import discover, load
from bncheck.rules.context import Context
from conftest import FIXTURES, ROOT

W, E = Severity.WARNING, Severity.ERROR


def triples(path, select=None) -> set[tuple[str, str, Severity]]:
    report = bncheck.check_path(path, select=select)
    assert not report.errors, report.errors
    return {(f.code, f.layer, f.severity) for f in report}


def only(path, code: str):
    (finding,) = bncheck.check_path(path, select=[code])
    return finding


# -- (A) BN008 says what the Keras that wrote the file does --------------------------------------

@pytest.mark.parametrize(("fixture", "expected"), [
    # Keras 3: the caller's training wins; a fixed True applies only to model(x) without training
    ("keras3/training_kwarg.keras", {("BN008", "block/bn1", W), ("BN008", "bn2", W)}),
    ("keras3/nested_training_true.keras", {("BN008", "base/bn1", W)}),
    ("keras3/frozen_base_training_true.keras", {("BN008", "base/bn1", W)}),
    ("keras3/frozen_base_training_false.keras", set()),
    # tf-keras: the fixed True overrides the caller, except on a frozen layer
    ("tfkeras/training_kwarg.h5", {("BN008", "bn1", E), ("BN008", "bn2", E)}),
    ("tfkeras/nested_training_true.h5", {("BN008", "base/bn1", E)}),
    ("tfkeras/frozen_base_training_true.h5", {("BN008", "base/bn1", W)}),
    ("tfkeras/frozen_base_training_false.h5", set()),
])
def test_bn008_exact_code_layer_severity(fixture, expected):
    assert triples(FIXTURES / fixture) == expected


def test_bn008_keras3_names_when_batch_statistics_apply_and_what_is_fine():
    f = only(FIXTURES / "keras3/nested_training_true.keras", "BN008")
    assert "whenever the model is called without a training argument" in f.message
    assert "predict(), model(x, training=False) and export() run it in inference mode" in f.message
    assert f.evidence_dict["written by"] == "Keras 3.15.1"
    assert f.evidence_dict["call in the model config"] == ("base(..., training=True)",)
    assert f.fix.splitlines()[0].startswith("x = base(x)  # drop training=True on the nested model")
    assert f.fix.splitlines()[-1].startswith("outputs = model(x, training=False)")


def test_bn008_tf_keras_says_the_caller_is_overridden():
    f = only(FIXTURES / "tfkeras/nested_training_true.h5", "BN008")
    assert "tf-keras lets it override the caller" in f.message
    assert "predict(), model(x, training=False) and every export" in f.message
    assert f.evidence_dict["written by"] == "tf-keras 2.21.0"
    assert "model(x, training=False)" not in f.fix  # in tf-keras the caller cannot fix it


@pytest.mark.parametrize(("fixture", "when"), [
    ("keras3/frozen_base_training_true.keras", "whenever the model is called without a training argument (Keras 3)"),
    ("tfkeras/frozen_base_training_true.h5", "whatever the caller passes (tf-keras lets the fixed value win)"),
])
def test_bn008_frozen_base_is_a_warning_naming_unfreezing_with_the_guides_fix(fixture, when):
    f = only(FIXTURES / fixture, "BN008")
    assert f.severity == W
    assert f.message.startswith("training=True is fixed in the model, but base is frozen (trainable=False), "
                                "so this layer runs in inference mode for now; unfreeze it for fine-tuning")
    assert f.message.endswith(when)
    assert f.evidence_dict["frozen (trainable=False)"] == "base"
    assert f.fix == ("x = base(x, training=False)  # the transfer-learning guide: BN stays in inference mode, "
                     "also after unfreezing for fine-tuning")


def test_bn008_on_a_frozen_bn_layer_itself(tmp_path):
    """``bn.trainable = False`` on the layer called with training=True: a warning in both flavours."""
    src = FIXTURES / "keras3/training_kwarg.keras"
    config = _config(src)
    bn2 = next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == "bn2")
    bn2["config"]["trainable"] = False
    dst = tmp_path / "frozen_bn.keras"
    _rewrite_zip(src, dst, **{"config.json": json.dumps(config).encode()})
    assert triples(dst) == {("BN008", "block/bn1", W), ("BN008", "bn2", W)}
    f = next(f for f in bncheck.check_path(dst) if f.layer == "bn2")
    assert f.evidence_dict["frozen (trainable=False)"] == "bn2"
    assert f.fix == ("x = keras.layers.BatchNormalization()(x, training=False)  # the frozen layer stays in "
                     "inference mode, also after unfreezing for fine-tuning")
    path = _h5_copy(tmp_path, "tfkeras/training_kwarg.h5")
    with h5py.File(path, "r+") as h5:
        model = json.loads(h5.attrs["model_config"])
        next(la for la in model["config"]["layers"] if la["config"].get("name") == "bn1")["config"]["trainable"] = False
        h5.attrs["model_config"] = json.dumps(model)
    assert triples(path) == {("BN008", "bn1", W), ("BN008", "bn2", E)}


def test_every_bn008_example_states_its_severity():
    from bncheck.rules.bn008_training_hardcoded_in_model import TrainingHardcodedInModel

    assert all(e.severity is not None for e in TrainingHardcodedInModel.invalid)


def _rewrite_zip(src, dst, **members: bytes | None) -> None:
    """A copy of a .keras zip with members replaced (bytes) or dropped (None)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in members:
                continue
            zout.writestr(info, zin.read(info.filename))
        for name, data in members.items():
            if data is not None:
                zout.writestr(name, data)


def test_a_keras_file_written_by_tf_keras_gets_tf_keras_semantics(tmp_path):
    """tf-keras writes .keras files too (metadata keras_version 2.x)."""
    dst = tmp_path / "m.keras"
    _rewrite_zip(FIXTURES / "keras3/nested_training_true.keras", dst,
                 **{"metadata.json": json.dumps({"keras_version": "2.15.0"}).encode()})
    assert triples(dst) == {("BN008", "base/bn1", E)}
    assert only(dst, "BN008").evidence_dict["model"] == "Functional (tf-keras .keras)"


def test_a_keras_file_without_metadata_is_told_by_its_config(tmp_path):
    dst = tmp_path / "m.keras"
    _rewrite_zip(FIXTURES / "keras3/nested_training_true.keras", dst, **{"metadata.json": None})
    assert triples(dst) == {("BN008", "base/bn1", W)}
    assert only(dst, "BN008").evidence_dict["written by"] == "Keras 3"


def _h5_copy(tmp_path, fixture: str) -> str:
    dst = tmp_path / "m.h5"
    shutil.copy(FIXTURES / fixture, dst)
    return str(dst)


def test_an_h5_written_by_keras3_gets_keras3_semantics(tmp_path):
    path = _h5_copy(tmp_path, "tfkeras/training_kwarg.h5")
    with h5py.File(path, "r+") as h5:
        h5.attrs["keras_version"] = "3.15.1"
    assert triples(path) == {("BN008", "bn1", W), ("BN008", "bn2", W)}
    assert {f.graph for f in bncheck.check_path(path)} == {"Keras 3 .h5"}


@pytest.mark.parametrize("value", [None, np.int64(7), np.array([1.0, 2.0])])
def test_an_h5_without_a_usable_keras_version_is_told_by_its_config(tmp_path, value):
    """Keras 2 writes InputLayer ``batch_input_shape``: tf-keras semantics; a version attribute that
    is not a string is ignored, never an error."""
    path = _h5_copy(tmp_path, "tfkeras/training_kwarg.h5")
    with h5py.File(path, "r+") as h5:
        del h5.attrs["keras_version"]
        if value is not None:
            h5.attrs["keras_version"] = value
    assert triples(path) == {("BN008", "bn1", E), ("BN008", "bn2", E)}


def test_an_h5_that_does_not_say_which_keras_wrote_it_gets_a_hedged_warning(tmp_path):
    path = _h5_copy(tmp_path, "tfkeras/training_kwarg.h5")
    with h5py.File(path, "r+") as h5:
        del h5.attrs["keras_version"]
        h5.attrs["model_config"] = h5.attrs["model_config"].replace('"batch_input_shape"', '"input_shape"')
    assert triples(path) == {("BN008", "bn1", W), ("BN008", "bn2", W)}
    f = next(iter(bncheck.check_path(path, select=["BN008"])))
    assert "the file does not say which Keras wrote it" in f.message
    assert f.evidence_dict["written by"] == "unknown (the file records no Keras version)"


# -- (B) BatchNormalization subclasses and custom layers ------------------------------------------

@pytest.mark.parametrize("fixture", ["keras3/custom_bn_subclass_custom_loop.keras",
                                     "tfkeras/custom_bn_subclass_custom_loop.h5"])
def test_a_registered_bn_subclass_is_a_bn_layer_with_its_values(fixture):
    (ctx,) = [Context(m) for t in discover(str(FIXTURES / fixture)) for m in load(t)]
    keras_layers = {k.path: k.class_name for k in ctx.model.keras.layers}
    assert keras_layers == dict.fromkeys(("bn1", "bn2"),
                                         "ScaledBatchNorm" if fixture.endswith(".keras")
                                         else "bncheck_fixtures>ScaledBatchNorm")
    assert set(ctx.model.values.layers) == {"bn1", "bn2"}
    assert set(ctx.model.values.layers["bn1"]) == {"gamma", "beta", "moving_mean", "moving_variance"}
    assert triples(FIXTURES / fixture) == {("BN005", "bn1", E), ("BN005", "bn2", E)}
    assert not ctx.notes


def test_a_custom_layer_holding_a_bn_is_a_note_and_its_values_are_still_judged():
    report = bncheck.check_path(FIXTURES / "tfkeras/custom_block.h5")
    assert report.codes() == set() and not report.errors
    assert [n for _, n in report.notes] == [
        "bncheck: layer 'block1' is of class 'bncheck_fixtures>ConvBlock' (user code, never imported) and its "
        "config is not a batch norm's: whether it runs a batch norm, and how, is not judged"]
    (ctx,) = [Context(m) for t in discover(str(FIXTURES / "tfkeras/custom_block.h5")) for m in load(t)]
    assert set(ctx.model.values.layers) == {"block1/batch_normalization"}


def _config(path) -> dict:
    return json.loads(zipfile.ZipFile(path).read("config.json"))


def test_keras3_custom_layer_and_custom_model_are_notes(tmp_path):
    src = FIXTURES / "keras3/custom_bn_subclass_fit.keras"
    config = _config(src)
    bn2 = next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == "bn2")
    bn2.update({"class_name": "ConvBlock", "registered_name": "pkg>ConvBlock", "module": None,
                "config": {"name": "bn2", "trainable": True, "filters": 4}})
    dst = tmp_path / "block.keras"
    _rewrite_zip(src, dst, **{"config.json": json.dumps(config).encode()})
    report = bncheck.check_path(dst)
    assert not report.errors and report.codes() == set()
    assert [n for _, n in report.notes] == [
        "bncheck: layer 'bn2' is of class 'pkg>ConvBlock' (user code, never imported) and its config is not "
        "a batch norm's: whether it runs a batch norm, and how, is not judged"]
    subclassed = {"module": "my_project.models", "class_name": "ResNetLike", "registered_name": "ResNetLike",
                  "config": {"name": "resnet_like", "trainable": True}}
    dst2 = tmp_path / "subclassed.keras"
    _rewrite_zip(src, dst2, **{"config.json": json.dumps(subclassed).encode()})
    report = bncheck.check_path(dst2)
    assert [n for _, n in report.notes] == [
        "bncheck: the model is of class 'my_project.models.ResNetLike', user code that bncheck never imports, "
        "and its config lists no layers: none of its batch norms is judged"]


def test_bn_weights_that_cannot_be_told_apart_are_a_note(tmp_path):
    """A subclass that adds a variable: five tensors in the layer's folder, roles unknown."""
    src = FIXTURES / "keras3/custom_bn_subclass_custom_loop.keras"
    weights = io.BytesIO(zipfile.ZipFile(src).read("model.weights.h5"))
    with h5py.File(weights, "r+") as h5:
        h5["layers/scaled_batch_norm_1/vars/4"] = np.zeros(4, np.float32)
    dst = tmp_path / "extra.keras"
    _rewrite_zip(src, dst, **{"model.weights.h5": weights.getvalue()})
    report = bncheck.check_path(dst)
    assert report.codes() == {("BN005", "bn1")}
    assert [n for _, n in report.notes] == [
        "bncheck: layer 'bn2': its weights (layers/scaled_batch_norm_1/vars) hold 5 tensors, not the 4 of a "
        "batch norm with its center/scale: its trained values are not judged"]


def test_h5_bn_layer_without_its_weights_is_a_note(tmp_path):
    path = _h5_copy(tmp_path, "tfkeras/custom_bn_subclass_custom_loop.h5")
    with h5py.File(path, "r+") as h5:
        group = h5["model_weights/bn2"]
        group.attrs["weight_names"] = np.array([b"bn2/w0:0", b"bn2/w1:0", b"bn2/w2:0", b"bn2/w3:0"])
    report = bncheck.check_path(path)
    assert report.codes() == {("BN005", "bn1")}
    assert [n for _, n in report.notes] == [
        "bncheck: layer 'bn2': none of the file's weights is named as this layer's moving statistics: its "
        "trained values are not judged"]


def test_built_in_non_bn_layers_make_no_note():
    for fixture in ("keras3/fit_clean.keras", "keras3/training_kwarg.keras", "tfkeras/fit_clean.h5",
                    "keras3/custom_bn_subclass_fit.keras", "tfkeras/custom_bn_subclass_fit.h5"):
        assert bncheck.check_path(FIXTURES / fixture).notes == [], fixture


def test_reading_custom_classes_imports_no_keras_and_no_user_code():
    code = ("import sys, bncheck\n"
            "for p in sys.argv[1:]:\n"
            "    r = bncheck.check_path(p, jobs=1); assert not r.errors, r.errors\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'tensorflow', 'keras', 'tf_keras', 'builders', 'bncheck_fixtures'}))")
    paths = [str(FIXTURES / p) for p in ("keras3/custom_bn_subclass_custom_loop.keras",
                                         "tfkeras/custom_bn_subclass_custom_loop.h5", "tfkeras/custom_block.h5")]
    proc = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- (C) tf-keras weights of layers whose names hold "/" ------------------------------------------

def test_mobilenet_v3_values_are_found_under_names_with_slashes():
    fixture = FIXTURES / "tfkeras/mobilenet_v3_custom_loop_training_missing.h5"
    report = bncheck.check_path(fixture, select=["BN005"])
    assert len(list(report)) == 34 and {f.severity for f in report} == {E}
    finding = next(f for f in report if f.layer == "expanded_conv/depthwise/BatchNorm")
    with h5py.File(fixture, "r") as h5:
        group = h5["model_weights/expanded_conv/depthwise/BatchNorm/expanded_conv/depthwise/BatchNorm"]
        gamma, mean, var = group["gamma:0"][()], group["moving_mean:0"][()], group["moving_variance:0"][()]
    assert (mean == 0).all() and (var == 1).all() and not (gamma == 1).all()
    ev = finding.evidence_dict
    assert ev["moving_mean"] == f"all 0 ({mean.size} values)"
    assert ev["gamma (trained)"] == f"min {gamma.min():.6g}, max {gamma.max():.6g} ({gamma.size} values)"


def test_mobilenet_v3_trained_with_fit_has_every_layers_values_and_no_finding():
    fixture = FIXTURES / "tfkeras/mobilenet_v3_fit.h5"
    (ctx,) = [Context(m) for t in discover(str(fixture)) for m in load(t)]
    assert len(ctx.model.values.layers) == 34
    assert all(set(keys) == {"gamma", "beta", "moving_mean", "moving_variance"}
               for keys in ctx.model.values.layers.values())
    assert bncheck.check_path(fixture).codes() == set()


def test_layer_names_attribute_naming_missing_groups_is_skipped(tmp_path):
    path = _h5_copy(tmp_path, "tfkeras/fit_clean.h5")
    with h5py.File(path, "r+") as h5:
        names = [str(n).encode() for n in h5["model_weights"].attrs["layer_names"]] + [b"no/such/layer", b"../../etc"]
        h5["model_weights"].attrs["layer_names"] = np.array(names, dtype="S")
    report = bncheck.check_path(path)
    assert not report.errors and report.codes() == set()


# -- (D) a Keras 3 MobileNetV2 served with training=True -----------------------------------------

def test_mobilenet_v2_served_with_training_true_momentum_solved_and_no_bn007():
    fixture = FIXTURES / "keras3/mobilenet_v2_serving_training_true"
    (ctx,) = [Context(m) for t in discover(str(fixture)) for m in load(t)]
    assert len(ctx.layers) == 52
    assert {len(layer.updates) for layer in ctx.layers} == {2}
    assert {round(u.momentum, 6) for layer in ctx.layers for u in layer.updates} == {0.999}
    report = bncheck.check_path(fixture)
    assert {(f.code, f.severity) for f in report} == {("BN002", E), ("BN003", E)}
    assert len(list(report)) == 104 and report.notes == []
    assert bncheck.check_path(FIXTURES / "keras3/mobilenet_v2_serving_training_false").notes == []


# -- live models: the flavour comes from the object's package -------------------------------------

LIVE = r"""
import os, sys, json
os.environ["TF_USE_LEGACY_KERAS"] = sys.argv[1]
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf, bncheck
if sys.argv[1] == "1":
    import tf_keras as keras
else:
    import keras
keras.utils.set_random_seed(0)
def base():
    i = keras.Input((8, 8, 3))
    h = keras.layers.BatchNormalization(name="bn1")(keras.layers.Conv2D(4, 3, name="conv1")(i))
    return keras.Model(i, h, name="base")
def twin(frozen, training):
    b = base()
    b.trainable = not frozen
    i = keras.Input((8, 8, 3))
    h = b(i) if training is None else b(i, training=training)
    return keras.Model(i, keras.layers.GlobalAveragePooling2D()(h))
x = np.random.default_rng(0).normal(1.0, 3.0, (16, 8, 8, 3)).astype("float32")
def mode(model, call):
    # which statistics a call uses, told against a twin with no fixed training (weights copied)
    ref = twin(False, None)
    for a, b in zip(model.layers[1].layers, ref.layers[1].layers):
        b.set_weights(a.get_weights())
    inference, batch = np.asarray(ref(x, training=False)), np.asarray(ref(x, training=True))
    got = np.asarray(call(model))
    assert not np.allclose(inference, batch, atol=1e-3)
    return "inference" if np.allclose(got, inference, atol=1e-5) else "batch" if np.allclose(got, batch, atol=1e-5) else "?"
behaviour = {}
for frozen in (False, True):
    m = twin(frozen, True)
    m.layers[1].layers[2].moving_variance.assign(np.full(4, 7.0, "float32"))  # far from any batch's
    behaviour[str(frozen)] = [mode(m, lambda m: m.predict(x, verbose=0)), mode(m, lambda m: m(x, training=False)),
                              mode(m, lambda m: m(x))]
# training=True fixed on the BN inside a nested model that is called without training
i = keras.Input((8, 8, 3))
inner = keras.Model(i, keras.layers.BatchNormalization(name="bn1")(keras.layers.Conv2D(4, 3, name="conv1")(i),
                                                                   training=True), name="base")
j = keras.Input((8, 8, 3))
m = keras.Model(j, keras.layers.GlobalAveragePooling2D()(inner(j)))
m.layers[1].layers[2].moving_variance.assign(np.full(4, 7.0, "float32"))
behaviour["inner"] = [mode(m, lambda m: m.predict(x, verbose=0)), mode(m, lambda m: m(x, training=False)),
                      mode(m, lambda m: m(x))]
out = {"behaviour": behaviour, "inner": sorted([f.code, f.layer, str(f.severity)] for f in bncheck.check_model(m))}
for frozen in (False, True):
    b = base()
    b.trainable = not frozen
    i = keras.Input((8, 8, 3))
    m = keras.Model(i, keras.layers.GlobalAveragePooling2D()(b(i, training=True)))
    out[str(frozen)] = sorted([f.code, f.layer, str(f.severity), f.evidence_dict["written by"]]
                              for f in bncheck.check_model(m))
print(json.dumps(out))
"""


@pytest.mark.parametrize(("legacy", "unfrozen", "written_by", "unfrozen_modes"), [
    # Keras 3: predict() and training=False infer; only a call without training uses batch statistics
    ("0", "warning", "Keras " + importlib.metadata.version("keras"), ["inference", "inference", "batch"]),
    # tf-keras: the fixed training=True wins over every caller
    ("1", "error", "tf-keras " + importlib.metadata.version("tf-keras"), ["batch", "batch", "batch"]),
])
def test_live_models_get_their_own_flavours_semantics(legacy, unfrozen, written_by, unfrozen_modes):
    """Runs the Keras flavour for real: the behaviour each BN008 verdict describes, then the verdict."""
    proc = subprocess.run([sys.executable, "-c", LIVE, legacy], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"behaviour": {"False": unfrozen_modes, "True": ["inference"] * 3,  # a frozen base infers
                                 "inner": unfrozen_modes},
                   "inner": [["BN008", "base/bn1", unfrozen]],
                   "False": [["BN008", "base/bn1", unfrozen, written_by]],
                   "True": [["BN008", "base/bn1", "warning", written_by]]}
