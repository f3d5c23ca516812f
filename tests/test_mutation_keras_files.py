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

import bncheck
from bncheck.errors import InputError
from bncheck.graph.model import GraphModel
from bncheck.loaders import keras_files
from bncheck.loaders.keras_files import bn_layers, load_h5, load_keras_zip

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


# .keras archives ---------------------------------------------------------------------------------

KERAS_CONFIG = _model(_bn("bn"))
METADATA = b'{"keras_version": "3.1.0"}'


def _h5_bytes(build: Callable[[h5py.File], None]) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _bn_vars(names: tuple[str, ...] = ("0", "1", "2", "3")) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        for i, name in enumerate(names):
            f[f"layers/batch_normalization/vars/{name}"] = np.full(2, float(i), "f4")
    return build


WEIGHTS = _h5_bytes(_bn_vars())


def _keras(tmp_path: pathlib.Path, weights: bytes | None = WEIGHTS, metadata: bytes | None = METADATA,
           config: Any = KERAS_CONFIG, compress: int = zipfile.ZIP_STORED, after: bytes | None = None) -> str:
    """A .keras archive written by zipfile; ``after``: a stored member following the weights."""
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        if metadata is not None:
            archive.writestr("metadata.json", metadata)
        if weights is not None:
            archive.writestr("model.weights.h5", weights, compress_type=compress)
        if after is not None:
            archive.writestr("assets/after.bin", after)
    return str(path)


def _zip(members: list[tuple[str, bytes]], header_names: dict[str, bytes] | None = None,
         header_extras: dict[str, bytes] | None = None, declared: dict[str, int] | None = None,
         last_holds_directory: bool = False) -> bytes:
    """A zip of stored members built byte by byte: a local header may name another file or carry an
    extra field, a member may declare another unpacked size, and the last member's data may run on over the
    central directory to the archive's last byte."""
    header_names, header_extras, declared = header_names or {}, header_extras or {}, declared or {}
    directory_size = sum(46 + len(name.encode()) for name, _ in members)
    out, directory = bytearray(), bytearray()
    for i, (name, data) in enumerate(members):
        local, extra, crc = header_names.get(name, name.encode()), header_extras.get(name, b""), zlib.crc32(data)
        size = len(data) + directory_size + 22 if last_holds_directory and i == len(members) - 1 else len(data)
        unpacked = declared.get(name, size)
        directory += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 33, crc, size, unpacked,
                                 len(name.encode()), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 33, crc, size, unpacked, len(local), len(extra))
        out += local + extra + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out), 0)
    return bytes(out + directory + end)


def _write(tmp_path: pathlib.Path, data: bytes, name: str = "m.keras") -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


def _summary(model: GraphModel) -> dict[str, Any]:
    """What a loaded Keras file says: its class, format, flavour and version, its BN layers, where
    their trained values are, the step counters, and the notes."""
    keras, values = model.keras, model.values
    assert keras is not None
    return {"kind": model.kind, "label": model.label, "class": keras.model_class, "format": keras.format,
            "flavour": keras.flavour, "version": keras.version, "layers": [bn.path for bn in keras.layers],
            "values": None if values is None else values.layers, "steps": None if values is None else values.steps,
            "notes": model.graph.notes}


def _keras3(tmp_path: pathlib.Path, **kwargs: Any) -> dict[str, Any]:
    [model] = load_keras_zip(_keras(tmp_path, **kwargs))
    return _summary(model)


def _vars(*names: str) -> dict[str, dict[str, str]]:
    roles = ("gamma", "beta", "moving_mean", "moving_variance")
    return {"bn": {role: f"layers/batch_normalization/vars/{name}" for role, name in zip(roles, names)}}


def test_metadata_of_exactly_64_kib_is_read(tmp_path: pathlib.Path) -> None:
    metadata = METADATA[:-1] + b" " * (65536 - len(METADATA)) + b"}"
    assert len(metadata) == 65536
    assert _keras3(tmp_path, metadata=metadata) == {
        "kind": "keras", "label": "Keras 3 .keras", "class": "Functional", "format": "Keras 3 .keras",
        "flavour": "Keras 3", "version": "3.1.0", "layers": ["bn"], "values": _vars("0", "1", "2", "3"), "steps": {},
        "notes": []}


@pytest.mark.parametrize("metadata, version", [
    (b"{", ""), (b"[1]", ""), (b'{"keras_version": 3}', ""), (b'{"version": "3.1"}', ""),
    (b'{"keras_version": "3.' + b"1" * 50 + b'"}', "3." + "1" * 38),  # cut at 40 characters
])
def test_an_unusable_keras_version_in_the_metadata_is_empty(tmp_path: pathlib.Path, metadata: bytes,
                                                             version: str) -> None:
    summary = _keras3(tmp_path, metadata=metadata)
    assert (summary["version"], summary["flavour"]) == (version, "Keras 3" if version else "")


def test_weights_are_taken_in_the_order_of_their_index_then_their_name(tmp_path: pathlib.Path) -> None:
    # "0000000009" has 10 digits: no index, like "a"; "1" and "5" are indices; non-ASCII digits are no index
    weights = _h5_bytes(_bn_vars(("1", "a", "0000000009", "5")))
    assert _keras3(tmp_path, weights=weights)["values"] == _vars("0000000009", "a", "1", "5")
    weights = _h5_bytes(_bn_vars(("\u0661", "0", "2", "b")))
    assert _keras3(tmp_path, weights=weights)["values"] == _vars("0", "b", "\u0661", "2")


def _with_note(f: h5py.File) -> None:
    _bn_vars()(f)
    f.attrs["note"] = np.array(["a text in the global heap"], dtype=h5py.string_dtype())


NOTED = _h5_bytes(_with_note)
HEAP = NOTED.find(b"GCOL")


def _damaged_heap(data: bytes) -> bytes:
    """The global heap's first object claims 0 bytes: HDF5 would walk it for ever."""
    out = bytearray(data)
    struct.pack_into("<HHIQ", out, HEAP + 16, 0, 0, 0, 0)
    return bytes(out)


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_the_weights_heaps_are_checked_in_the_member_and_named_from_its_start(tmp_path: pathlib.Path,
                                                                              compress: int) -> None:
    path = _keras(tmp_path, weights=_damaged_heap(NOTED), compress=compress)
    assert _error(load_keras_zip, path) == (
        f"{path}: damaged HDF5 global heap at byte {HEAP}: object 0 at byte {HEAP + 16} claims 0 bytes, 4080 are "
        "left; refused before HDF5 reads it")


def test_the_heap_check_of_stored_weights_ends_at_the_member_s_end(tmp_path: pathlib.Path) -> None:
    assert _keras3(tmp_path, weights=NOTED, after=_damaged_heap(NOTED))["values"] == _vars("0", "1", "2", "3")


@pytest.mark.parametrize("weights", [b"not hdf5", b"\x89HDF\r\n\x1a\n" + bytes(100)])
def test_weights_hdf5_cannot_open_are_named_with_its_reason(tmp_path: pathlib.Path, weights: bytes) -> None:
    path = _keras(tmp_path, weights=weights)
    reason = "file signature not found" if weights == b"not hdf5" else "bad byte number in an address"
    assert _error(load_keras_zip, path) == (
        f"{path}: not a readable HDF5 file (OSError: Unable to synchronously open file ({reason}))")


def _members(weights: bytes = WEIGHTS) -> list[tuple[str, bytes]]:
    return [("config.json", json.dumps(KERAS_CONFIG).encode()), ("model.weights.h5", weights)]


def test_a_stored_weights_member_is_found_after_its_local_header_s_name_and_extra_field(tmp_path: pathlib.Path) -> None:
    extra = struct.pack("<HH", 0xCAFE, 32764) + bytes(32764)  # 32,768 bytes: a length with its top bit set
    [model] = load_keras_zip(_write(tmp_path, _zip(_members(), header_extras={"model.weights.h5": extra})))
    assert _summary(model)["values"] == _vars("0", "1", "2", "3")


def test_a_stored_weights_member_may_end_at_the_archive_s_last_byte(tmp_path: pathlib.Path) -> None:
    [model] = load_keras_zip(_write(tmp_path, _zip(_members(), last_holds_directory=True)))
    assert _summary(model)["values"] == _vars("0", "1", "2", "3")


def test_a_stored_weights_member_without_a_local_header_signature_is_refused(tmp_path: pathlib.Path) -> None:
    data = bytearray(_zip(_members()))
    weights = data.find(b"PK\x03\x04", 1)
    data[weights:weights + 4] = b"PK\x07\x08"
    path = _write(tmp_path, bytes(data))
    assert _error(load_keras_zip, path) == f"{path}: model.weights.h5: bad local zip header"


def test_a_member_shorter_than_it_declares_is_refused(tmp_path: pathlib.Path) -> None:
    config = json.dumps(KERAS_CONFIG).encode()
    path = _write(tmp_path, _zip(_members(), declared={"config.json": len(config) + 5}))
    assert _error(load_keras_zip, path) == (
        f"{path}: config.json unpacks to another size than the {len(config) + 5} bytes it declares")


def test_zip_reasons_are_cut_at_200_characters(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, _zip(_members(), header_names={"config.json": b"c" * 300}))
    reason = f"File name in directory 'config.json' and header {b'c' * 300!r} differ."[:200]
    assert _error(load_keras_zip, path) == f"{path}: not a readable .keras file (BadZipFile: {reason})"


@pytest.mark.parametrize("size", [16, 20, 24, 40, 64, 1000])
def test_a_truncated_stored_weights_member_reads_as_the_same_bytes_in_a_file_do(tmp_path: pathlib.Path,
                                                                               size: int) -> None:
    # HDF5 reads its superblock in one piece: past the member's end it gets zeros, as from a file
    # (not the archive's next bytes, nor whatever its buffer held before)
    path = _keras(tmp_path, weights=WEIGHTS[:size])
    (tmp_path / "w.h5").write_bytes(WEIGHTS[:size])
    error = _error(load_keras_zip, path)
    assert error.replace(path, "") == _error(load_h5, str(tmp_path / "w.h5")).replace(str(tmp_path / "w.h5"), "")
    if size == 64:
        assert error == (f"{path}: not a readable HDF5 file (OSError: Unable to synchronously open file (truncated "
                         f"file: eof = 64, sblock->base_addr = 0, stored_eof = {len(WEIGHTS)}))")


# .h5 files ---------------------------------------------------------------------------------------

ROLES = ("gamma", "beta", "moving_mean", "moving_variance")
NOT_KERAS = ("not a TensorFlow artefact by content (HDF5 without a Keras model or weights: no model_config, "
             "keras_version or layer_names attribute, no Keras 3 'vars' group)")


def _h5(tmp_path: pathlib.Path, build: Callable[[h5py.File], None], **options: Any) -> str:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w", **options) as f:
        build(f)
    return str(path)


def _tf_keras_group(f: h5py.File, group: str, scope: str, data: bool = True) -> None:
    """A tf-keras layer group: ``weight_names`` naming the four BN tensors under ``scope``."""
    names = [f"{scope}/{role}:0" for role in ROLES]
    f.require_group(group).attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())
    for i, name in enumerate(names if data else ()):
        f[f"{group}/{name}"] = np.full(2, float(i), "f4")


def _keys(prefix: str) -> dict[str, str]:
    return {role: f"{prefix}/{role}:0" for role in ROLES}


def _loaded(path: str) -> dict[str, Any]:
    [model] = load_h5(path)
    return _summary(model)


def test_a_weights_file_without_layer_names_is_read_by_its_root_groups(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["keras_version"] = "2.15.0"
        f.create_group(b"\xff")  # not UTF-8, and first: skipped, the next still read
        _tf_keras_group(f, "bn", "bn")

    assert _loaded(_h5(tmp_path, build, track_order=True)) == {
        "kind": "keras", "label": "tf-keras .h5", "class": "Model", "format": "tf-keras .h5", "flavour": "tf-keras",
        "version": "2.15.0", "layers": [], "values": {"bn": _keys("bn/bn")}, "steps": {}, "notes": []}


def _soft(target: str, at: str, *extra: str) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        for name in extra:
            if name == "keras_version":
                f.attrs[name] = "2.15.0"
            else:
                f.require_group(name)
        f[at] = h5py.SoftLink(target)
    return build


@pytest.mark.parametrize("build, link", [
    (_soft("/real", "model_weights", "real"), "model_weights"),  # looked for on the root
    (_soft("/real", "vars", "real"), "vars"),
    (_soft("/real", "a", "real"), "a"),  # a root member, looked into for a 'vars' group
    (_soft("/real", "layer/vars", "real"), "vars"),  # a root member's 'vars'
    (_soft("/real", "a", "real", "keras_version"), "a"),  # a root member read as a layer's group
])
def test_a_soft_link_on_the_way_is_refused_naming_the_file(tmp_path: pathlib.Path, build: Callable[[h5py.File], None],
                                                           link: str) -> None:
    path = _h5(tmp_path, build)
    assert _error(load_h5, path) == f"{path}: {link!r} is a soft link; bncheck follows hard links only"


def test_a_listed_layer_group_is_reached_through_hard_links_only(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = np.array(["blk/bn"], dtype=h5py.string_dtype())
        _tf_keras_group(f, "real/bn", "bn")
        f["blk"] = h5py.SoftLink("/real")

    path = _h5(tmp_path, build)
    assert _error(load_h5, path) == f"{path}: 'blk/bn' is a soft link; bncheck follows hard links only"


@pytest.mark.parametrize("build", [
    lambda f: f.attrs.create("layer_names", np.array(["dense"], dtype=h5py.string_dtype())),
    lambda f: f.create_group("model_weights"),
    lambda f: f.create_group("vars"),
    lambda f: f.create_group("dense/vars"),
], ids=["layer_names", "model_weights", "vars", "a layer's vars"])
def test_what_makes_an_hdf5_file_a_keras_one(tmp_path: pathlib.Path, build: Callable[[h5py.File], None]) -> None:
    summary = _loaded(_h5(tmp_path, build))
    assert (summary["version"], summary["flavour"], summary["values"]) == ("", "", {})


@pytest.mark.parametrize("others, keras", [(999, True), (1000, False)])
def test_the_first_1000_root_members_are_looked_into_for_a_vars_group(tmp_path: pathlib.Path, others: int,
                                                                      keras: bool) -> None:
    def build(f: h5py.File) -> None:
        for i in range(others):
            f.create_group(f"g{i:04d}")
        f.create_group("z/vars")

    path = _h5(tmp_path, build)
    if keras:
        assert _loaded(path)["values"] == {}
    else:
        assert _error(load_h5, path) == f"{path}: {NOT_KERAS}"


def _bn_file(f: h5py.File) -> None:
    f.attrs["layer_names"] = np.array(["bn"], dtype=h5py.string_dtype())
    _tf_keras_group(f, "bn", "bn")


def _read(tmp_path: pathlib.Path, build: Callable[[h5py.File], None], key: str) -> Any:
    [model] = load_h5(_h5(tmp_path, build))
    assert model.values is not None
    return model.values.read(key)


@pytest.mark.parametrize("empty, reason", [(False, "is missing or not a dataset"), (True, "has no usable shape")])
def test_a_weight_that_is_no_dataset_with_a_shape_is_refused(tmp_path: pathlib.Path, empty: bool, reason: str) -> None:
    def build(f: h5py.File) -> None:
        _bn_file(f)
        del f["bn/bn/moving_mean:0"]
        if empty:  # HDF5's null dataspace: no shape at all
            f["bn/bn"].create_dataset("moving_mean:0", data=h5py.Empty("f4"))

    assert _error(_read, tmp_path, build, "bn/bn/moving_mean:0") == (
        f"{tmp_path / 'm.h5'}: weight 'bn/bn/moving_mean:0' {reason}")


def test_a_weight_of_32_dimensions_is_read(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        _bn_file(f)
        del f["bn/bn/gamma:0"]
        f["bn/bn/gamma:0"] = np.ones((1,) * 32, "f4")

    assert _read(tmp_path, build, "bn/bn/gamma:0").shape == (1,) * 32


def test_a_weight_of_exactly_the_tensor_limit_is_read(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_files, "MAX_TENSOR_BYTES", 1 << 20)

    def build(f: h5py.File) -> None:
        _bn_file(f)
        del f["bn/bn/gamma:0"], f["bn/bn/beta:0"]
        f.create_dataset("bn/bn/gamma:0", shape=(1 << 18,), dtype="f4")  # 1 MiB, never written: small on disk
        f.create_dataset("bn/bn/beta:0", shape=((1 << 18) + 1,), dtype="f4")

    assert _read(tmp_path, build, "bn/bn/gamma:0").shape == (1 << 18,)
    assert _error(_read, tmp_path, build, "bn/bn/beta:0") == (
        f"{tmp_path / 'm.h5'}: weight 'bn/bn/beta:0' declares 1048580 bytes, more than the 1 MiB bncheck reads for one "
        "tensor (BNCHECK_MAX_TENSOR_MB)")


def test_a_weight_hdf5_cannot_read_is_named_with_its_reason(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        _bn_file(f)
        del f["bn/bn/moving_mean:0"]
        f.create_dataset("bn/bn/moving_mean:0", data=np.arange(100, dtype="f4"), compression="gzip", chunks=(100,))

    path = _h5(tmp_path, build)
    with h5py.File(path, "r") as f:
        chunk = f["bn/bn/moving_mean:0"].id.get_chunk_info(0)
    data = bytearray(pathlib.Path(path).read_bytes())
    data[chunk.byte_offset:chunk.byte_offset + chunk.size] = bytes(chunk.size)  # no deflate stream
    pathlib.Path(path).write_bytes(bytes(data))
    [model] = load_h5(path)
    assert model.values is not None
    assert _error(model.values.read, "bn/bn/moving_mean:0") == (
        f"{path}: cannot read weight 'bn/bn/moving_mean:0' (OSError: Can't synchronously read data (filter returned "
        "failure during read))")


def test_hdf5_damage_found_while_reading_a_keras_h5_is_one_input_error(tmp_path: pathlib.Path) -> None:
    path = _h5(tmp_path, _bn_file)
    with h5py.File(path, "r") as f:
        header = h5py.h5o.get_info(f["bn"].id).addr
    data = bytearray(pathlib.Path(path).read_bytes())
    data[header] = 0xFF  # the layer group's object header version
    pathlib.Path(path).write_bytes(bytes(data))
    assert _error(load_h5, path) == (f"{path}: not a readable Keras file (KeyError: 'Unable to synchronously open "
                                     "object (bad object header version number)')")


def test_the_loaders_keep_their_documentation() -> None:
    assert load_h5.__doc__ == 'A tf-keras ``model.save("m.h5")`` file (config in ``model_config``), or a weights-only ``.h5``.'
    assert load_keras_zip.__doc__ == "A Keras 3 ``.keras`` zip: ``config.json`` and ``model.weights.h5``."


def _config_file(tmp_path: pathlib.Path, config: Any, build: Callable[[h5py.File], None] | None = None) -> str:
    def write(f: h5py.File) -> None:
        f.attrs["model_config"] = config if isinstance(config, (str, bytes, np.ndarray)) else json.dumps(config)
        if build is not None:
            build(f)
    return _h5(tmp_path, write, libver="latest")  # dense attribute storage: attributes over 64 KiB


@pytest.mark.parametrize("config, model_class", [
    ("[1]", "Model"), (json.dumps({"config": {"layers": []}}), "Model"), (json.dumps({"class_name": 7}), "7")])
def test_the_model_class_is_model_when_the_config_does_not_name_one(tmp_path: pathlib.Path, config: str,
                                                                    model_class: str) -> None:
    summary = _loaded(_config_file(tmp_path, config))
    assert (summary["kind"], summary["class"], summary["layers"]) == ("keras", model_class, [])


def test_a_model_config_of_fixed_length_bytes_is_read_as_utf_8_replacing_what_is_not(tmp_path: pathlib.Path) -> None:
    config = json.dumps(_model(_bn("bn-"))).encode().replace(b"bn-", b"bn\xff")
    assert _loaded(_config_file(tmp_path, np.bytes_(config)))["layers"] == ["bn\ufffd"]


def test_a_model_config_that_is_a_list_of_one_string_is_no_string(tmp_path: pathlib.Path) -> None:
    path = _config_file(tmp_path, np.array([json.dumps(_model())], dtype=h5py.string_dtype()))
    assert _error(load_h5, path) == f"{path}: attribute 'model_config' is not a string"


@pytest.mark.parametrize("count, error", [(120000, "is not a string"), (131072, "is not a string"),
                                          (131073, "is larger than 1 MiB")])
def test_an_attribute_of_more_elements_than_an_eighth_of_its_limit_is_refused_before_it_is_read(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, count: int, error: str) -> None:
    monkeypatch.setattr(keras_files, "MAX_CONFIG_BYTES", 1 << 20)
    path = _config_file(tmp_path, np.zeros(count, "i1"))
    assert _error(load_h5, path) == f"{path}: attribute 'model_config' {error}"


def test_a_list_attribute_over_the_tensor_limit_is_refused_before_it_is_read(tmp_path: pathlib.Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_files, "MAX_TENSOR_BYTES", 1 << 20)
    path = _h5(tmp_path, lambda f: f.attrs.create("layer_names", np.zeros(131073, "i1")), libver="latest")
    assert _error(load_h5, path) == f"{path}: attribute 'layer_names' is larger than 1 MiB"


WEIGHTS_ONLY = ("a weights file without the model's config, whose weights are not named (Keras 3 .weights.h5 stores "
                "each layer's as vars/0, vars/1, ...): which layers are batch norms cannot be told, so none is judged; "
                "check the .keras file or the SavedModel instead")


@pytest.mark.parametrize("names", [np.array("bn", dtype=h5py.string_dtype()),  # one string, not a list
                                   np.array([["bn"]], dtype=h5py.string_dtype()),  # a list of 1 x 1
                                   np.array([b"bn", b"b\xffn"])])  # fixed-length bytes, one not UTF-8
def test_layer_names_are_any_strings_in_any_shape(tmp_path: pathlib.Path, names: np.ndarray) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = names
        _tf_keras_group(f, "bn", "bn")

    assert _loaded(_h5(tmp_path, build))["values"] == {"bn": _keys("bn/bn")}


def test_list_attributes_are_read_as_utf_8_replacing_what_is_not(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = np.array([b"b\xffn"])
        f.create_group("b\ufffdn")

    assert _loaded(_h5(tmp_path, build))["notes"] == [WEIGHTS_ONLY]



@pytest.mark.parametrize("value, version", [
    (None, ""), (3, ""),  # absent, not a string
    ("3." + "0" * 1022, "3." + "0" * 38),  # 1,024 characters: read, cut to 40
    ("3." + "0" * 1023, ""), ("3." + "0" * 1500, ""),  # longer than 1 KiB: unusable
    (np.array(b"3.1.0", dtype="S1024"), "3.1.0"), (np.array(b"3.1.0", dtype="S1025"), ""),  # its stored size counts
])
def test_the_keras_version_of_an_h5_is_a_string_of_at_most_1_kib(tmp_path: pathlib.Path, value: Any,
                                                                 version: str) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = np.array([], dtype=h5py.string_dtype())
        f.create_group("vars")
        if value is not None:
            f.attrs["keras_version"] = value

    summary = _loaded(_h5(tmp_path, build))
    assert (summary["version"], summary["flavour"]) == (version, "Keras 3" if version else "")


def _nested(*names: str) -> dict[str, Any]:
    """A model config whose BN layer ``names[-1]`` sits in models named by the names before it."""
    layer = _bn(names[-1])
    for name in reversed(names[:-1]):
        layer = {"class_name": "Functional", "config": {"name": name, "layers": [layer]}}
    return _model(layer)


@pytest.mark.parametrize("names, group, scope", [
    (("bn",), "other", "bn"),  # not in its own group: found by its name among all the file's weights
    (("outer", "bn"), "outer", "outer/bn"),  # in its model's group, under its path
    (("outer", "bn"), "outer", "bn"),  # in its model's group, under its own name
    (("a", "b", "bn"), "x", "bn"),  # not in its model's group: by the last part of its path
])
def test_a_config_bn_layer_s_weights_are_found_where_tf_keras_puts_them(tmp_path: pathlib.Path, names: tuple[str, ...],
                                                                        group: str, scope: str) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = np.array([group], dtype=h5py.string_dtype())
        _tf_keras_group(f, group, scope)

    summary = _loaded(_config_file(tmp_path, _nested(*names), build))
    assert (summary["layers"], summary["values"], summary["notes"]) == (
        ["/".join(names)], {"/".join(names): _keys(f"{group}/{scope}")}, [])


def test_weights_found_by_the_layer_s_name_in_another_group_are_judged_once(tmp_path: pathlib.Path) -> None:
    def build(f: h5py.File) -> None:
        f.attrs["layer_names"] = np.array(["other"], dtype=h5py.string_dtype())
        _tf_keras_group(f, "other", "bn")
        del f["other/bn/moving_variance:0"]
        f["other/bn/moving_variance:0"] = np.array([-1.0, 1.0], "f4")

    report = bncheck.check_path(_config_file(tmp_path, _nested("bn"), build))
    assert [(f.code, f.layer) for f in report] == [("BN006", "bn")]  # not again as a layer 'other/bn'
