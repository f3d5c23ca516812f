"""Exact outcomes at the boundaries the surviving mutants of ``bncheck/loaders/keras_files.py`` showed
(``tools/mutation.py --loaders``): Keras configs of every shape a damaged or hostile file can hold,
and small ``.keras`` and ``.h5`` files built here (crafted zips, HDF5 attributes of unusual types,
soft links, damaged chunks). Each test names what it pins down."""
from __future__ import annotations

import io
import json
import pathlib
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
import pytest

import bncheck.loaders.keras_files as keras_files
from bncheck.errors import InputError
from bncheck.graph.model import GraphModel
from bncheck.loaders.keras_files import bn_layers, load_h5, load_keras_zip
from fuzz.hostile import looping_free_list

SOURCE = "m.keras"
BN_KEYS = {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
           "moving_mean_initializer": {}, "moving_variance_initializer": {}}


def _error(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(InputError) as info:
        call(*args)
    return str(info.value)


def _bn(name: str = "bn", **config: Any) -> dict[str, Any]:
    return {"class_name": "BatchNormalization", "config": {"name": name, **config}}


def _model(*layers: Any, **config: Any) -> dict[str, Any]:
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers), **config}}


def _layers(model: dict[str, Any], notes: list[str] | None = None) -> list[tuple[Any, ...]]:
    """Each BN layer found: path, class, kept config, fixed training calls, names, frozen by, folder."""
    found, folders = bn_layers(model, SOURCE, notes)
    return [(bn.path, bn.class_name, dict(bn.config), bn.training_calls, bn.names, bn.frozen_by, folders[bn.path])
            for bn in found]


# bn_layers and the config checks it makes ---------------------------------------------------------

def test_tf_keras_inbound_tensors_shorter_than_four_items_hold_no_kwargs() -> None:
    layer = {**_bn(), "inbound_nodes": [[["x", 0, 0], ["y", 0, 0, {"training": True}], "z"]]}
    assert _layers(_model(layer)) == [("bn", "BatchNormalization", {"name": "bn"}, ("bn(..., training=True)",),
                                       ("bn",), "", "layers/batch_normalization")]


def test_an_axis_list_holds_at_most_32_integers() -> None:
    assert _layers(_model(_bn(axis=[1] * 32)))[0][2] == {"axis": [1] * 32, "name": "bn"}
    assert _error(_layers, _model(_bn(axis=[1] * 33))) == (
        "m.keras: layer 'bn': axis is list [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ..., not an integer or a list of integers")


def test_every_kept_key_is_looked_for_when_an_earlier_one_is_absent() -> None:
    assert _layers(_model(_bn(epsilon=0.5, renorm=False)))[0][2] == {"epsilon": 0.5, "renorm": False, "name": "bn"}


@pytest.mark.parametrize("value, shown", [
    ("x" * 38, "'" + "x" * 38 + "'"),  # a repr of 40 characters is shown whole
    ("x" * 39, "'" + "x" * 36 + "..."),  # 41: cut to 37 and "..."
    ("x" * 100, "'" + "x" * 36 + "..."),
])
def test_a_wrong_value_is_shown_cut_to_40_characters(value: str, shown: str) -> None:
    assert _error(_layers, _model(_bn(momentum=value))) == f"m.keras: layer 'bn': momentum is str {shown}, not a number"


def test_keras_and_tensorflow_modules_are_no_user_code_and_a_custom_class_without_a_name_is_its_module() -> None:
    notes: list[str] = []
    layers = [{"class_name": "Dense", "module": "tf_keras.src.layers", "config": {"name": "d1"}},
              {"class_name": "Dense", "module": "tensorflow.python.keras", "config": {"name": "d2"}},
              {"class_name": "Dense", "module": "keras.layers", "config": {"name": "d3"}},
              {"module": "mypkg.layers", "config": {"name": "c1"}},
              {"class_name": "Block", "module": "mypkg.layers", "config": {"name": "c2"}}]
    assert _layers(_model(*layers), notes) == []
    tail = "(user code, never imported) and its config is not a batch norm's: whether it runs a batch norm, and how, is not judged"
    assert notes == [f"layer 'c1' is of class 'mypkg.layers' {tail}", f"layer 'c2' is of class 'mypkg.layers.Block' {tail}"]


def test_a_layer_of_another_class_whose_config_is_exactly_the_bn_keys_is_a_batch_norm() -> None:
    layer = {"class_name": "MyNorm", "name": "mine", "config": dict(BN_KEYS)}
    kept = {k: v for k, v in BN_KEYS.items() if k in ("axis", "momentum", "epsilon", "center", "scale")}
    assert _layers(_model(layer)) == [("mine", "MyNorm", kept, (), ("mine",), "", "layers/my_norm")]


def test_layers_that_are_no_objects_are_skipped_and_the_rest_still_read() -> None:
    assert [row[0] for row in _layers(_model(1, "bn0", _bn("bn1")))] == ["bn1"]


def test_a_layer_is_named_by_its_config_then_its_own_name_then_its_class() -> None:
    layers = [{**_bn("a"), "name": "b"}, {"class_name": "BatchNormalization", "name": "c", "config": {"name": ""}},
              {"class_name": "BatchNormalization", "config": {}}, {"class_name": 3, "config": dict(BN_KEYS)}]
    assert [(row[0], row[1], row[4], row[6]) for row in _layers(_model(*layers))] == [
        ("a", "BatchNormalization", ("a",), "layers/batch_normalization"),
        ("c", "BatchNormalization", ("c",), "layers/batch_normalization_1"),
        ("BatchNormalization", "BatchNormalization", ("BatchNormalization",), "layers/batch_normalization_2"),
        ("", "", ("",), "layers/")]


def test_a_batch_normalization_class_is_a_batch_norm_whatever_its_config_holds() -> None:
    assert _layers(_model({"class_name": "BatchNormalization", "config": {"name": "bn"}})) == [
        ("bn", "BatchNormalization", {"name": "bn"}, (), ("bn",), "", "layers/batch_normalization")]


def test_a_model_whose_own_config_is_not_trainable_freezes_every_bn_as_the_model() -> None:
    assert [row[5] for row in _layers(_model(_bn("a"), _bn("b", trainable=True), trainable=False))] == [
        "the model", "the model"]
    assert [row[5] for row in _layers(_model(_bn("a"), _bn("b", trainable=False), trainable=True))] == ["", "b"]
