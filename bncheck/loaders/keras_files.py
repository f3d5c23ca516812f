"""Keras 3 ``.keras`` files and tf-keras ``.h5`` files, read as data: the model config as JSON and
the weights with h5py. Nothing is deserialised: no ``load_model``, no Lambda or custom-object code."""
from __future__ import annotations

import io
import functools
import json
import math
import numbers
import re
import struct
import zipfile
from typing import Any, Callable, Iterator

import numpy as np

from bncheck.errors import InputError, NotAnArtefact
from bncheck.loaders.h5_heaps import check_file, check_heaps
from bncheck.remote import open_mirrored
from bncheck.loaders.safe_io import (MAX_CONFIG_BYTES, MAX_MEMBER_BYTES, MAX_TENSOR_BYTES, file_size, load_json,
                                     open_regular)
from bncheck.graph.keras_model import (BN_CLASSES, BN_CONFIG_KEYS, KERAS3, TF_KERAS, KerasBnLayer, KerasConfig,
                                       TrainedValues, group_by_layer)
from bncheck.graph.model import Graph, GraphModel

_KEEP = ("momentum", "epsilon", "center", "scale", "trainable", "axis", "renorm", "name")


@functools.lru_cache(maxsize=4096)  # a config names a few classes many times
def _snake(name: str) -> str:
    """Keras' ``to_snake_case``: the weights file names layers by class, not by their own name."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _call_kwargs(layer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """kwargs of each call in ``inbound_nodes`` (Keras 3 dicts, or tf-keras ``[name, i, j, kwargs]``)."""
    nodes = layer.get("inbound_nodes")
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, dict):
            kwargs = node.get("kwargs")
            if isinstance(kwargs, dict):
                yield kwargs
        elif isinstance(node, list):
            for tensor in node:
                if isinstance(tensor, list) and len(tensor) >= 4 and isinstance(tensor[3], dict):
                    yield tensor[3]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_axis(value: Any) -> bool:
    def ints(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    return ints(value) or (isinstance(value, (list, tuple)) and len(value) <= 32 and all(ints(v) for v in value))


# What each kept BN config value must be; anything else is a damaged or hostile config.
_KEEP_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "momentum": ("a number", _is_number),
    "epsilon": ("a number", _is_number),
    "center": ("true or false", lambda v: isinstance(v, (bool, np.bool_))),
    "scale": ("true or false", lambda v: isinstance(v, (bool, np.bool_))),
    "trainable": ("true or false", lambda v: isinstance(v, (bool, np.bool_))),
    "renorm": ("true or false", lambda v: isinstance(v, (bool, np.bool_))),
    "axis": ("an integer or a list of integers", _is_axis),
    "name": ("a string", lambda v: isinstance(v, str)),
}


def _kept_config(lcfg: dict[str, Any], path: str, source: str | None) -> dict[str, Any]:
    """The BN config values bncheck uses, each of the type Keras writes. With ``source`` (a file)
    a wrong type is an :class:`InputError`; without (a live model) the value is left out."""
    kept: dict[str, Any] = {}
    for key in _KEEP:
        if key not in lcfg:
            continue
        what, valid = _KEEP_TYPES[key]
        value = lcfg[key]
        if valid(value):
            kept[key] = value
        elif source is not None:
            raise InputError(source, f"layer {path!r}: {key} is {type(value).__name__} "
                             f"{_short(value)}, not {what}")
    return kept


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _custom_class(layer: dict[str, Any]) -> str | None:
    """The class of a layer written from user code (a registered ``pkg>Name``, or a class whose
    module is not Keras'), ``None`` for a Keras built-in or when the config does not say."""
    cls, registered, module = layer.get("class_name"), layer.get("registered_name"), layer.get("module")
    for name in (registered, cls):
        if isinstance(name, str) and ">" in name:
            return name
    if isinstance(module, str) and module.split(".")[0] not in ("keras", "tf_keras", "tensorflow"):
        return f"{module}.{cls}" if isinstance(cls, str) else module
    return None


def _is_bn(cls: str, lcfg: dict[str, Any]) -> bool:
    """A BatchNormalization, or a subclass of it told by its config (it writes every BN key)."""
    return cls in BN_CLASSES or BN_CONFIG_KEYS <= lcfg.keys()


def bn_layers(model: dict[str, Any], source: str | None = None,
              notes: list[str] | None = None) -> tuple[list[KerasBnLayer], dict[str, str]]:
    """BN layers of a serialized model ({"class_name", "config"}), through nested models, and the
    Keras 3 weights-file folder of each (``layers/functional/layers/batch_normalization_1``).

    BatchNormalization subclasses are told by their config keys (their class is never imported).
    Layers of a custom class that is not one are listed in ``notes``: a batch norm inside them
    cannot be judged. ``source`` names the file the config came from: BN config values of the
    wrong JSON type are then an :class:`InputError` naming it and the layer."""
    found: list[KerasBnLayer] = []
    folders: dict[str, str] = {}

    def walk(cfg: dict[str, Any], prefix: str, folder: str, inherited: tuple[str, ...],
             names: tuple[str, ...], frozen_by: str) -> None:
        counts: dict[str, int] = {}
        layers = cfg.get("layers")
        for layer in layers if isinstance(layers, list) else ():
            if not isinstance(layer, dict):
                continue
            cls = layer.get("class_name")
            cls = cls if isinstance(cls, str) else ""
            given = layer.get("config")
            lcfg: dict[str, Any] = given if isinstance(given, dict) else {}
            name = next((n for n in (lcfg.get("name"), layer.get("name")) if isinstance(n, str) and n), cls)
            snake = _snake(cls)
            n = counts.get(snake, 0)
            counts[snake] = n + 1
            here = f"{folder}layers/{snake}" + (f"_{n}" if n else "")
            calls = tuple(f"{prefix}{name}(..., training=True)" for kw in _call_kwargs(layer)
                          if kw.get("training") is True)
            frozen = frozen_by or (f"{prefix}{name}" if lcfg.get("trainable") is False else "")
            if _is_bn(cls, lcfg):
                path = prefix + name
                found.append(KerasBnLayer(path, cls, _kept_config(lcfg, path, source), inherited + calls,
                                          names + (name,), frozen))
                folders[path] = here
            elif isinstance(lcfg.get("layers"), list):
                walk(lcfg, f"{prefix}{name}/", here + "/", inherited + calls, names + (name,), frozen)
            elif notes is not None and (custom := _custom_class(layer)) is not None:
                notes.append(f"layer {prefix + name!r} is of class {custom!r} (user code, never imported) and "
                             "its config is not a batch norm's: whether it runs a batch norm, and how, is not judged")

    given = model.get("config")
    config: dict[str, Any] = given if isinstance(given, dict) else {}
    top = "the model" if config.get("trainable") is False else ""
    walk(config, "", "", (), (), top)
    if notes is not None and not isinstance(config.get("layers"), list) and (custom := _custom_class(model)):
        notes.append(f"the model is of class {custom!r}, user code that bncheck never imports, and its "
                     "config lists no layers: none of its batch norms is judged")
    return found, folders


def keras_flavour(version: str, config: Any) -> str:
    """Which Keras wrote a config: from the recorded ``keras_version`` (2.x is tf-keras' semantics,
    3.x Keras 3), else from the modules the config names; "" when nothing tells."""
    major = version.strip().split(".")[0]
    if major == "3":
        return KERAS3
    if major == "2":
        return TF_KERAS
    text = json.dumps(config) if isinstance(config, dict) else ""
    if '"tf_keras.' in text or '"batch_input_shape":' in text:  # Keras 2's InputLayer key
        return TF_KERAS
    if '"keras.src.models.' in text or '"batch_shape":' in text:  # Keras 3's
        return KERAS3
    return ""


def _model_from_config(model: Any, source: str, fmt: str, values: TrainedValues | None,
                       layers: list[KerasBnLayer], version: str = "", notes: list[str] | None = None) -> GraphModel:
    keras = KerasConfig(str(model.get("class_name", "Model")) if isinstance(model, dict) else "Model",
                        tuple(layers), fmt, keras_flavour(version, model), version)
    graph = Graph([])
    graph.notes = list(notes or ())  # shown to the user as notes (Context.cannot_judge)
    return GraphModel(graph=graph, source=source, kind="keras", label=fmt, keras=keras, values=values)


def parse_json_config(data: bytes | str, source: str, what: str) -> Any:
    """A JSON model config, its nesting checked before Python's recursive parser sees it."""
    return load_json(data, source, what)


# -- HDF5, read defensively: hard links only (an external or soft link could name any file or
# object on the machine), plain numeric datasets stored inside the file, sizes checked first.

def _h5py() -> Any:
    import h5py

    return h5py


def h5_get(h5: Any, path: str, source: str) -> Any:
    """The object at ``path`` reached through hard links only; ``None`` when absent (or when the
    path is not text: h5py hands out names that are not UTF-8 as bytes)."""
    h5py = _h5py()
    if not isinstance(path, str):
        return None
    node = h5
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise InputError(source, f"{path!r} is {kind} link; bncheck follows hard links only")
        node = node[part]
    return node


def h5_children(group: Any, source: str) -> Iterator[tuple[str, Any]]:
    """(name, object) of a group's members, refusing any that is not a hard link."""
    for name in list(group.keys()):
        if not isinstance(name, str):  # not UTF-8: no weight or layer name can match it
            continue
        obj = h5_get(group, name, source)
        if obj is not None:
            yield name, obj


def h5_dataset(h5: Any, key: str, source: str) -> np.ndarray:
    """A numeric dataset's values, after checking where its data lives and how large it is."""
    h5py = _h5py()
    ds = h5_get(h5, key, source)
    if not isinstance(ds, h5py.Dataset):
        raise InputError(source, f"weight {key!r} is missing or not a dataset")
    if ds.is_virtual:
        raise InputError(source, f"weight {key!r} is a virtual dataset (its data is in other files); refused")
    if ds.external:
        raise InputError(source, f"weight {key!r} keeps its data in external files; refused")
    if ds.dtype.kind not in "biuf" or ds.dtype.fields is not None:
        raise InputError(source, f"weight {key!r} holds {ds.dtype} data, not numbers")
    if ds.shape is None or len(ds.shape) > 32:
        raise InputError(source, f"weight {key!r} has no usable shape")
    size = math.prod(ds.shape) * ds.dtype.itemsize
    if size > MAX_TENSOR_BYTES:
        raise InputError(source, f"weight {key!r} declares {size} bytes, more than the "
                         f"{MAX_TENSOR_BYTES >> 20} MiB bncheck reads for one tensor (BNCHECK_MAX_TENSOR_MB)")
    return np.asarray(ds[()])


def _check_attr_size(obj: Any, name: str, source: str, limit: int) -> None:
    """Refuse an attribute whose declared element count or fixed-size storage exceeds ``limit``
    (variable-length strings live in the file's heap; their total is bounded by the element count
    and checked again after reading)."""
    attr_id = obj.attrs.get_id(name)
    shape = attr_id.shape or ()
    count = math.prod(shape)
    item = attr_id.get_type().get_size()
    if count > limit // 8 or count * item > limit:
        raise InputError(source, f"attribute {name!r} is larger than {limit >> 20} MiB")


def _string_attr(obj: Any, name: str, source: str, limit: int) -> str | None:
    """A scalar string attribute, its stored size checked before it is read."""
    if name not in obj.attrs:
        return None
    _check_attr_size(obj, name, source, limit)
    value = obj.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "OSU":
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise InputError(source, f"attribute {name!r} is not a string")
    if len(value) > limit:
        raise InputError(source, f"attribute {name!r} is larger than {limit >> 20} MiB")
    return value


def _string_list_attr(obj: Any, name: str, source: str) -> list[str]:
    """A list-of-strings attribute (``weight_names``), its stored size checked before it is read."""
    if name not in obj.attrs:
        return []
    _check_attr_size(obj, name, source, MAX_TENSOR_BYTES)
    value = obj.attrs[name]
    items = value.reshape(-1).tolist() if isinstance(value, np.ndarray) else [value]
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str):
            raise InputError(source, f"attribute {name!r} of {obj.name!r} is not a list of strings")
        out.append(item)
    return out


class _H5Store:
    def __init__(self, source: str, h5: Any) -> None:
        self.source = source
        self.h5 = h5

    def read(self, key: str) -> np.ndarray:
        try:
            return h5_dataset(self.h5, key, self.source)
        except InputError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as exc:  # h5py's errors on damaged files
            raise InputError(self.source, f"cannot read weight {key!r} ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def _open_h5(data: Any, source: str) -> Any:
    h5py = _h5py()
    try:
        return h5py.File(data, "r")
    except Exception as exc:  # noqa: BLE001 - h5py raises many kinds on a file that is not HDF5
        raise InputError(source, f"not a readable HDF5 file ({_reason(exc)})") from None


def _guarded(load: Callable[[str], list[GraphModel]]) -> Callable[[str], list[GraphModel]]:
    """HDF5 damage surfaces as h5py's OSError/KeyError/ValueError/RuntimeError: one-line input
    errors. Other exception types are bncheck bugs and reach the engine's last guard."""
    def wrapper(path: str) -> list[GraphModel]:
        try:
            return load(path)
        except InputError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise InputError(path, f"not a readable Keras file ({_reason(exc)})") from None
    wrapper.__doc__ = load.__doc__
    return wrapper


class _Window:
    """A read-only, seekable view of ``size`` bytes at ``start`` of an open file: a ``.keras``
    archive's stored (uncompressed) weights member, read in place by h5py instead of into memory."""

    def __init__(self, fh: Any, start: int, size: int) -> None:
        self.fh, self.start, self.size, self.pos = fh, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        left = max(0, self.size - self.pos)
        n = left if n is None or n < 0 else min(n, left)
        self.fh.seek(self.start + self.pos)
        data: bytes = self.fh.read(n)
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        view[len(data):] = bytes(len(view) - len(data))  # past the end: zeros, as HDF5's own driver reads a file
        return len(data)


def _stored_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Window:
    """An uncompressed member as a window on the archive file, its place checked against the file."""
    fh = open_regular(path)
    total = file_size(fh)
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        fh.close()
        raise InputError(path, f"{info.filename}: bad local zip header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if info.compress_size != info.file_size or start + info.file_size > total:
        fh.close()
        raise InputError(path, f"{info.filename}: declares {info.file_size} bytes that the archive does not hold")
    return _Window(fh, start, info.file_size)


def _member_bytes(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member read whole, its declared and its actual size both held to ``limit`` (zip bombs)."""
    if info.file_size > limit:
        raise InputError(path, f"{info.filename} declares {info.file_size} bytes, more than the "
                         f"{limit >> 20} MiB bncheck unpacks")
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise InputError(path, f"{info.filename} unpacks to another size than the {info.file_size} bytes it declares")
    return data


@_guarded
def load_keras_zip(path: str) -> list[GraphModel]:
    """A Keras 3 ``.keras`` zip: ``config.json`` and ``model.weights.h5``."""
    try:
        with zipfile.ZipFile(open_mirrored(path) or path) as archive:  # a remote archive: ranged reads
            infos = {info.filename: info for info in archive.infolist()}
            if "config.json" not in infos:
                raise NotAnArtefact(path, "a zip without the config.json of a .keras model")
            raw_config = _member_bytes(path, archive, infos["config.json"], MAX_CONFIG_BYTES)
            raw_metadata = (_member_bytes(path, archive, infos["metadata.json"], MAX_METADATA_BYTES)
                            if "metadata.json" in infos else b"")
            weights: Any = None
            info = infos.get("model.weights.h5")
            if info is not None and info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
                weights = _stored_member(path, archive, info)
            elif info is not None:
                weights = io.BytesIO(_member_bytes(path, archive, info, MAX_MEMBER_BYTES))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, struct.error) as exc:
        raise InputError(path, f"not a readable .keras file ({_reason(exc)})") from None
    config = parse_json_config(raw_config, path, "config.json")
    if not isinstance(config, dict):
        raise InputError(path, "config.json is not a model config")
    notes: list[str] = []
    layers, folders = bn_layers(config, path, notes)
    version = _metadata_version(raw_metadata, path)
    values = None
    if weights is not None:
        _check_weights_heaps(weights, path)
        h5 = _open_h5(weights, path)
        values = TrainedValues(_H5Store(path, h5), origin="model.weights.h5")
        for layer in layers:
            folder = folders.get(layer.path, "")
            group = h5_get(h5, f"{folder}/vars", path)
            # a BN layer holds at most 4 variables: a group claiming more is not listed
            names = list(group.keys()) if hasattr(group, "keys") and len(group) <= _MAX_VARS else []
            stored = sorted((k for k in names if isinstance(k, str)), key=_index_order)
            roles = (["gamma"] if layer.config.get("scale", True) else []) + \
                    (["beta"] if layer.config.get("center", True) else []) + ["moving_mean", "moving_variance"]
            if len(stored) == len(roles):
                values.layers[layer.path] = {r: f"{folder}/vars/{k}" for r, k in zip(roles, stored)}
            else:  # e.g. a subclass that adds variables: which tensor is which cannot be told
                notes.append(f"layer {layer.path!r}: its weights ({folder}/vars) hold {len(stored)} tensors, "
                             f"not the {len(roles)} of a batch norm with its center/scale: its trained values "
                             "are not judged")
        if h5_get(h5, "optimizer/vars/0", path) is not None:  # Keras 3 optimizers keep the iteration count first
            values.steps["optimizer iterations"] = "optimizer/vars/0"
    fmt = "tf-keras .keras" if keras_flavour(version, config) == TF_KERAS else "Keras 3 .keras"
    return [_model_from_config(config, path, fmt, values, layers, version, notes)]


def _check_weights_heaps(weights: Any, source: str) -> None:
    """The HDF5 heap check (:mod:`bncheck.loaders.h5_heaps`) of a ``.keras`` weights member: in
    place in the archive when stored, else on its unpacked bytes."""
    if isinstance(weights, _Window):
        check_file(weights.fh, source, weights.start, weights.size)
    else:
        check_heaps(weights.getvalue(), source)


MAX_METADATA_BYTES = 1 << 16


def _metadata_version(raw: bytes, source: str) -> str:
    """``keras_version`` from a ``.keras`` file's ``metadata.json`` ("" when absent or unusable:
    it only decides how a fixed ``training=True`` is described)."""
    if not raw:
        return ""
    try:
        metadata = parse_json_config(raw, source, "metadata.json")
    except InputError:
        return ""
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return version[:40] if isinstance(version, str) else ""


_MAX_VARS = 16


def _index_order(name: str) -> tuple[int, str]:
    return (int(name), name) if name.isascii() and name.isdigit() and len(name) < 10 else (0, name)


@_guarded
def load_h5(path: str) -> list[GraphModel]:
    """A tf-keras ``model.save("m.h5")`` file (config in ``model_config``), or a weights-only ``.h5``."""
    with open_regular(path) as fh:  # heaps HDF5 would loop on are refused before it opens the file
        check_file(fh, path, max_object=MAX_CONFIG_BYTES)  # a model_config is read whole: its size first
    h5 = _open_h5(open_mirrored(path) or path, path)  # a remote file: HDF5 reads only what it visits
    if not _holds_keras(h5, path):
        raise NotAnArtefact(path, "HDF5 without a Keras model or weights: no model_config, keras_version or "
                                  "layer_names attribute, no Keras 3 'vars' group")
    raw = _string_attr(h5, "model_config", path, MAX_CONFIG_BYTES)
    config: Any = {} if raw is None else parse_json_config(raw, path, "model_config attribute")
    weights_group = h5_get(h5, "model_weights", path)
    root = weights_group if hasattr(weights_group, "keys") else h5
    # Each layer's group, by the names the file lists (a layer name may hold "/": MobileNetV3's
    # "expanded_conv/depthwise/BatchNorm" is a nested group path), else the root's members.
    listed = _string_list_attr(root, "layer_names", path)
    groups = [(n, h5_get(root, n, path)) for n in dict.fromkeys(listed)] if listed else list(h5_children(root, path))
    names: dict[str, str] = {}
    scopes: dict[str, dict[str, dict[str, str]]] = {}  # layer group -> weight scope -> role -> key
    for group_name, group in groups:
        if group is None or not hasattr(group, "attrs"):
            continue
        own = {weight: f"{root.name.strip('/')}/{group_name}/{weight}".lstrip("/")
               for weight in _string_list_attr(group, "weight_names", path)}
        names.update(own)
        scopes[group_name], _ = group_by_layer(own)
    by_layer, _ = group_by_layer(names)
    steps = {}
    for counter in ("optimizer_weights/Adam/iter:0", "optimizer_weights/iteration:0"):
        if h5_get(h5, counter, path) is not None:
            steps["optimizer iterations"] = counter
    values = TrainedValues(_H5Store(path, h5), {}, steps, origin="weights")
    notes: list[str] = []
    layers, _ = bn_layers(config, path, notes) if isinstance(config, dict) else ([], {})
    for layer in layers:
        found = _h5_layer_keys(layer, scopes, by_layer)
        if found:
            values.layers[layer.path] = found
        elif names:  # the file has weights, none of them this layer's
            notes.append(f"layer {layer.path!r}: none of the file's weights is named as this layer's moving "
                         "statistics: its trained values are not judged")
    if not layers:  # weights only: name layers after their weights
        values.layers.update(by_layer)
        if raw is None and not names and groups:
            notes.append("a weights file without the model's config, whose weights are not named (Keras 3 "
                         ".weights.h5 stores each layer's as vars/0, vars/1, ...): which layers are batch norms "
                         "cannot be told, so none is judged; check the .keras file or the SavedModel instead")
    else:  # moving statistics no config BN layer explains (inside a custom layer): judged by value
        # by what they hold: a layer found by its name among all weights has a copy of its group's keys
        claimed = {frozenset(keys.items()) for keys in values.layers.values()}
        for group_name, inside in scopes.items():
            for scope, keys in inside.items():
                if frozenset(keys.items()) not in claimed:
                    values.layers.setdefault(scope if scope.startswith(group_name + "/") else f"{group_name}/{scope}",
                                             keys)
    version = _h5_version(h5, path)
    fmt = "Keras 3 .h5" if keras_flavour(version, config) == KERAS3 else "tf-keras .h5"
    return [_model_from_config(config, path, fmt, values, layers, version, notes)]


_KERAS_ROOT_ATTRS = ("model_config", "keras_version", "layer_names", "layer_names0")  # tf-keras chunks a long list
_VARS_LOOKS = 1000  # root members looked into for a Keras 3 layer's 'vars' group


def _holds_keras(h5: Any, source: str) -> bool:
    """Whether an HDF5 file is one Keras writes: tf-keras' ``model.save`` (``model_config``,
    ``keras_version``; weights in ``model_weights``) or ``save_weights`` (``layer_names``,
    ``keras_version`` on the root), Keras 3's legacy ``.h5`` (the same), or Keras 3's
    ``.weights.h5`` (no attributes: a ``vars`` group for the model and for each layer)."""
    if any(name in h5.attrs for name in _KERAS_ROOT_ATTRS) or h5_get(h5, "model_weights", source) is not None:
        return True
    if h5_get(h5, "vars", source) is not None:
        return True
    for looked, (_, child) in enumerate(h5_children(h5, source)):
        if looked >= _VARS_LOOKS:
            break
        if hasattr(child, "keys") and h5_get(child, "vars", source) is not None:
            return True
    return False


def _h5_layer_keys(layer: KerasBnLayer, scopes: dict[str, dict[str, dict[str, str]]],
                   by_layer: dict[str, dict[str, str]]) -> dict[str, str]:
    """A config BN layer's weights: in the group of its outermost model (or its own group), under
    its own name (tf-keras names a nested layer's weights by the layer's own name) or its path."""
    if layer.names:
        inside = scopes.get(layer.names[0], {})
        for scope in (layer.names[-1], "/".join(layer.names)):
            if scope in inside:
                return inside[scope]
    return by_layer.get(layer.path.rpartition("/")[2], {})


def _h5_version(h5: Any, source: str) -> str:
    """The ``keras_version`` a legacy ``.h5`` records ("" when absent or unusable)."""
    try:
        version = _string_attr(h5, "keras_version", source, 1 << 10)
    except InputError:
        return ""
    return (version or "")[:40]
