"""Keras 3 ``.keras`` files and tf-keras ``.h5`` files, read as data: the model config as JSON and
the weights with h5py. Nothing is deserialised: no ``load_model``, no Lambda or custom-object code."""
from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any, Iterator

import numpy as np

from bncheck.errors import InputError
from bncheck.graph.keras_model import BN_CLASSES, KerasBnLayer, KerasConfig, TrainedValues, group_by_layer
from bncheck.graph.model import Graph, GraphModel

_KEEP = ("momentum", "epsilon", "center", "scale", "trainable", "axis", "renorm", "name")


def _snake(name: str) -> str:
    """Keras' ``to_snake_case``: the weights file names layers by class, not by their own name."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _call_kwargs(layer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """kwargs of each call in ``inbound_nodes`` (Keras 3 dicts, or tf-keras ``[name, i, j, kwargs]``)."""
    for node in layer.get("inbound_nodes") or ():
        if isinstance(node, dict):
            kwargs = node.get("kwargs")
            if isinstance(kwargs, dict):
                yield kwargs
        elif isinstance(node, list):
            for tensor in node:
                if isinstance(tensor, list) and len(tensor) >= 4 and isinstance(tensor[3], dict):
                    yield tensor[3]


def bn_layers(model: dict[str, Any]) -> tuple[list[KerasBnLayer], dict[str, str]]:
    """BN layers of a serialized model ({"class_name", "config"}), through nested models, and the
    Keras 3 weights-file folder of each (``layers/functional/layers/batch_normalization_1``)."""
    found: list[KerasBnLayer] = []
    folders: dict[str, str] = {}

    def walk(cfg: dict[str, Any], prefix: str, folder: str, inherited: tuple[str, ...]) -> None:
        counts: dict[str, int] = {}
        for layer in cfg.get("layers") or ():
            if not isinstance(layer, dict):
                continue
            cls = str(layer.get("class_name", ""))
            lcfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
            name = str(lcfg.get("name") or layer.get("name") or cls)
            snake = _snake(cls)
            n = counts.get(snake, 0)
            counts[snake] = n + 1
            here = f"{folder}layers/{snake}" + (f"_{n}" if n else "")
            calls = tuple(f"{prefix}{name}(..., training=True)" for kw in _call_kwargs(layer)
                          if kw.get("training") is True)
            if cls in BN_CLASSES:
                path = prefix + name
                found.append(KerasBnLayer(path, cls, {k: lcfg[k] for k in _KEEP if k in lcfg}, inherited + calls))
                folders[path] = here
            elif isinstance(lcfg.get("layers"), list):
                walk(lcfg, f"{prefix}{name}/", here + "/", inherited + calls)

    config = model.get("config") if isinstance(model.get("config"), dict) else {}
    walk(config, "", "", ())
    return found, folders


def _model_from_config(model: Any, source: str, fmt: str, values: TrainedValues | None,
                       layers: list[KerasBnLayer]) -> GraphModel:
    keras = KerasConfig(str(model.get("class_name", "Model")) if isinstance(model, dict) else "Model",
                        tuple(layers), fmt)
    return GraphModel(graph=Graph([]), source=source, kind="keras", label=fmt, keras=keras, values=values)


class _H5Store:
    def __init__(self, source: str, h5: Any) -> None:
        self.source = source
        self.h5 = h5

    def read(self, key: str) -> np.ndarray:
        try:
            return np.asarray(self.h5[key][()])
        except Exception as exc:  # noqa: BLE001 - h5py raises many kinds on damaged files
            raise InputError(self.source, f"cannot read weight {key!r} ({type(exc).__name__})") from None


def _open_h5(data: Any, source: str) -> Any:
    import h5py

    try:
        return h5py.File(data, "r")
    except Exception as exc:  # noqa: BLE001
        raise InputError(source, f"not a readable HDF5 file ({type(exc).__name__}: {exc})") from None


def _guarded(load):
    """HDF5 damage surfaces as many exception types from h5py: all become one-line input errors."""
    def wrapper(path: str) -> list[GraphModel]:
        try:
            return load(path)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise InputError(path, f"not a readable Keras file ({type(exc).__name__}: {exc})") from None
    wrapper.__doc__ = load.__doc__
    return wrapper


@_guarded
def load_keras_zip(path: str) -> list[GraphModel]:
    """A Keras 3 ``.keras`` zip: ``config.json`` and ``model.weights.h5``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise InputError(path, "a zip without config.json is not a .keras model")
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5") if "model.weights.h5" in names else None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable .keras file ({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict):
        raise InputError(path, "config.json is not a model config")
    layers, folders = bn_layers(config)
    values = None
    if weights is not None:
        h5 = _open_h5(io.BytesIO(weights), path)
        values = TrainedValues(_H5Store(path, h5), origin="model.weights.h5")
        for layer in layers:
            folder = folders.get(layer.path, "")
            group = h5.get(f"{folder}/vars")
            stored = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else 0) if group is not None else []
            roles = (["gamma"] if layer.config.get("scale", True) else []) + \
                    (["beta"] if layer.config.get("center", True) else []) + ["moving_mean", "moving_variance"]
            if len(stored) == len(roles):
                values.layers[layer.path] = {r: f"{folder}/vars/{k}" for r, k in zip(roles, stored)}
        if "optimizer/vars/0" in h5:  # Keras 3 optimizers keep the iteration count first
            values.steps["optimizer iterations"] = "optimizer/vars/0"
    return [_model_from_config(config, path, "Keras 3 .keras", values, layers)]


@_guarded
def load_h5(path: str) -> list[GraphModel]:
    """A tf-keras ``model.save("m.h5")`` file (config in ``model_config``), or a weights-only ``.h5``."""
    h5 = _open_h5(path, path)
    raw = h5.attrs.get("model_config")
    config: Any = {}
    if raw is not None:
        try:
            config = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        except ValueError:
            raise InputError(path, "model_config attribute is not JSON") from None
    root = h5["model_weights"] if "model_weights" in h5 else h5
    names: dict[str, str] = {}
    for group in root.values():
        for weight in group.attrs.get("weight_names", ()):
            weight = weight.decode() if isinstance(weight, bytes) else str(weight)
            names[weight] = f"{root.name.strip('/')}/{group.name.rpartition('/')[2]}/{weight}".lstrip("/")
    by_layer, _ = group_by_layer(names)
    steps = {}
    for counter in ("optimizer_weights/Adam/iter:0", "optimizer_weights/iteration:0"):
        if counter in h5:
            steps["optimizer iterations"] = counter
    values = TrainedValues(_H5Store(path, h5), {}, steps, origin="weights")
    layers, _ = bn_layers(config) if isinstance(config, dict) else ([], {})
    for layer in layers:
        leaf = layer.path.rpartition("/")[2]
        if leaf in by_layer:
            values.layers[layer.path] = by_layer[leaf]
    if not layers:  # weights only: name layers after their weights
        values.layers.update(by_layer)
    return [_model_from_config(config, path, "tf-keras .h5", values, layers)]
