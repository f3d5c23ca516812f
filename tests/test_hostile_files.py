"""Hand-made hostile inputs (generated at test time by ``fuzz/hostile.py``), each with its exact
outcome: one-line errors naming the file, no unhandled exception (the oracle runs loaders and rules
without the engine's catch-all), bounded memory, nothing read outside the artefact, and nothing
imported or run from a model file."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

import bncheck
from cli_support import bncheck_in_process
from conftest import ROOT

sys.path.insert(0, str(ROOT))
from fuzz import harness, hostile  # noqa: E402

MIB = 1 << 20


def reasons(path, root=None, max_mib: int = 32) -> list[str]:
    """Check ``path`` with the oracle; assert no bug, no outside read, a bounded Python heap; return
    the error reasons (what follows ``source: ``), each checked to name a file under ``root``."""
    tracemalloc.start()
    try:
        verdict = harness.check_artefact(path, root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert verdict.status == "ok", verdict.detail
    assert peak < max_mib * MIB, f"peak Python heap {peak / MIB:.0f} MiB"
    out = []
    for err in verdict.errors:
        source, _, reason = err.partition(": ")
        assert source.startswith(str(root or os.path.dirname(path))), err
        out.append(reason)
    return out


def timed_check(path: pathlib.Path, seconds: float) -> dict:
    """The oracle's verdict on ``path`` in a fresh interpreter that must finish within ``seconds``."""
    code = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[2])
        from fuzz import harness
        v = harness.check_artefact(sys.argv[1])
        print(json.dumps({"status": v.status, "detail": v.detail, "errors": v.errors, "findings": v.findings}))
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path), str(ROOT)], capture_output=True, text=True,
                              timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"checking {path.name} took more than {seconds} s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


# -- checkpoints: sizes, offsets and shards are checked against the files ----------------------

BN1 = "model/bn1/moving_mean"


@pytest.mark.parametrize("changes, expected", [
    ({"size": 1 << 40, "dims": [1 << 38]},
     r"\.data-00000-of-00001: tensor 'model/bn1/moving_mean' declares 1099511627776 bytes, more than the 64 MiB"),
    ({"size": 1 << 40}, r"\.index: tensor 'model/bn1/moving_mean': shape \[4\] of float32 needs 16 bytes, "
                        r"the index says 1099511627776"),
    ({"offset": 1 << 62}, r"\.data-00000-of-00001: truncated: tensor 'model/bn1/moving_mean' needs 16 bytes at "
                          r"4611686018427387904, the file has \d+"),
    ({"offset": (1 << 63) - 1}, r"truncated: tensor 'model/bn1/moving_mean' needs 16 bytes at 9223372036854775807"),
    ({"offset": -8}, r"\.index: tensor 'model/bn1/moving_mean' has a negative offset or size"),
    ({"shard_id": 7}, r"\.index: tensor 'model/bn1/moving_mean' names shard 7 of a 1-shard checkpoint"),
    ({"dtype": 7}, r"tensor 'model/bn1/moving_mean' has a dtype or slicing bncheck does not read"),
    ({"dims": [-1]}, r"\.index: tensor 'model/bn1/moving_mean' has an invalid shape \[-1\]"),
], ids=["huge-tensor", "size-not-shape", "offset-past-data", "offset-max-int64", "negative-offset", "missing-shard", "string-dtype",
        "negative-dim"])
def test_checkpoint_index_lies_are_one_line_errors(tmp_path, changes, expected):
    import re

    folder = hostile.checkpoint_with_entry(tmp_path / "ckpt", BN1, **changes)
    verdict = harness.check_artefact(folder)
    assert verdict.status == "ok", verdict.detail
    assert len(verdict.errors) == 1 and re.search(expected, verdict.errors[0]), verdict.errors
    assert verdict.errors[0].startswith(str(folder / "model.ckpt-20"))
    reasons(folder)  # and the heap stays small


def test_checkpoint_of_integer_statistics_is_judged_not_crashed(tmp_path):
    folder = hostile.checkpoint_with_entry(tmp_path / "ckpt", BN1, dtype=3)  # int32, same 16 bytes
    assert reasons(folder) == []


def test_checkpoint_object_graph_that_is_not_a_message_is_an_error(tmp_path):
    folder = hostile.checkpoint_with_garbage_object_graph(tmp_path / "ckpt")
    assert reasons(folder) == ["_CHECKPOINTABLE_OBJECT_GRAPH is not a readable object graph"]


# -- checkpoint state files --------------------------------------------------------------------

def _state(tmp_path, text: bytes | str) -> pathlib.Path:
    folder = hostile.checkpoint_copy(tmp_path / "ckpt")
    (folder / "checkpoint").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


@pytest.mark.parametrize("state, expected", [
    (b'model_checkpoint_path: "model.ckpt-20\xff\xfe"\n', "checkpoint state file is not UTF-8 text"),
    ('model_checkpoint_path: "model.ckpt-20\\nbncheck: error: forged"\n',
     "model_checkpoint_path is empty or holds control characters"),
    ('model_checkpoint_path: "model.ckpt-20\\x1b[2J"\n', "model_checkpoint_path is empty or holds control characters"),
    ('model_checkpoint_path: "bad \\x escape"\n', "model_checkpoint_path is not a valid escaped UTF-8 string"),
    ('model_checkpoint_path: "\\303\\050"\n', "model_checkpoint_path is not a valid escaped UTF-8 string"),
    ('all_model_checkpoint_paths: "model.ckpt-20"\n', "checkpoint state file names no model_checkpoint_path"),
], ids=["non-utf8", "escaped-newline", "escape-sequence", "bad-escape", "bad-utf8-escape", "no-path"])
def test_hostile_state_files_are_one_line_errors(tmp_path, state, expected):
    folder = _state(tmp_path, state)
    assert reasons(folder) == [expected]


@pytest.mark.parametrize("named", ["{outside}/model.ckpt-20", "../outside/model.ckpt-20"], ids=["absolute", "dotdot"])
def test_state_file_never_leads_outside_the_folder(tmp_path, named):
    outside = hostile.checkpoint_copy(tmp_path / "outside")  # a real checkpoint the path could reach
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "checkpoint").write_text(f'model_checkpoint_path: "{named.format(outside=outside)}"\n')
    assert reasons(folder) == [f"model_checkpoint_path {named.format(outside=outside)!r} is outside this folder and "
                               "no checkpoint 'model.ckpt-20' is beside the state file"]


def test_state_file_naming_the_folder_itself_never_reads_beside_it(tmp_path):
    """Prefix "." would make ``<folder>.index`` (a file next to the folder) the index."""
    outside = hostile.checkpoint_copy(tmp_path / "outside")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in ("index", "data-00000-of-00001"):
        (tmp_path / f"ckpt.{name}").write_bytes((outside / f"model.ckpt-20.{name}").read_bytes())
    (folder / "checkpoint").write_text('model_checkpoint_path: "."\n')
    assert reasons(folder) == ["model_checkpoint_path '.' is outside this folder and no checkpoint '.' is beside "
                               "the state file"]


def test_state_file_path_elsewhere_resolves_beside_it(tmp_path):
    folder = _state(tmp_path, 'model_checkpoint_path: "/no/such/training/run/model.ckpt-20"\n')
    verdict = harness.check_artefact(folder)
    assert (verdict.status, verdict.errors, verdict.findings) == ("ok", [], 4)  # BN001 and BN005 on bn1, bn2


# -- Keras .keras zips -------------------------------------------------------------------------

def test_zip_bomb_config_is_refused_before_unpacking(tmp_path):
    path = hostile.zip_bomb(tmp_path / "k", "config.json", 300 * MIB)
    assert path.stat().st_size < 1 * MIB
    assert reasons(path, max_mib=8) == [
        "config.json declares 314572800 bytes, more than the 32 MiB bncheck unpacks"]


def test_zip_whose_directory_understates_a_member_is_an_error(tmp_path):
    path = hostile.lying_zip(tmp_path / "k")
    [reason] = reasons(path)
    assert reason.startswith("not a readable .keras file (BadZipFile: Bad CRC-32 for file 'config.json')"), reason


def test_stored_weights_member_larger_than_the_archive_is_an_error(tmp_path):
    path = hostile.keras_weights_past_the_archive(tmp_path / "k")
    assert reasons(path, max_mib=8) == ["model.weights.h5: declares 2147483648 bytes that the archive does not hold"]


def test_compressed_weights_member_is_read_like_a_stored_one(tmp_path):
    import zipfile

    path = tmp_path / "deflated.keras"
    with zipfile.ZipFile(hostile.KERAS) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert reasons(path) == []
    assert bncheck.check_path(path).codes() == bncheck.check_path(hostile.KERAS).codes()


def test_deep_json_nesting_is_refused_without_recursion(tmp_path):
    config = json.dumps(hostile.keras_config()).replace('"trainable": true', '"trainable": ' + "[" * 50000 + "]" * 50000, 1)
    path = hostile.keras_with(tmp_path / "k", config.encode())
    assert reasons(path) == ["config.json nests JSON deeper than 100 levels"]


def _bn_layer(config: dict) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == "BatchNormalization")


@pytest.mark.parametrize("key, value, expected", [
    ("momentum", "0.99", "momentum is str '0.99', not a number"),
    ("momentum", True, "momentum is bool True, not a number"),
    ("center", None, "center is NoneType None, not true or false"),
    ("axis", ["x"], "axis is list ['x'], not an integer or a list of integers"),
    ("name", {"a": 1}, "name is dict {'a': 1}, not a string"),
])
def test_wrong_json_types_in_bn_configs_name_the_layer(tmp_path, key, value, expected):
    config = hostile.keras_config()
    layer = _bn_layer(config)
    name = layer["config"]["name"]
    layer["config"][key] = value
    path = hostile.keras_with(tmp_path / "k", config)
    assert reasons(path) == [f"layer {name!r}: {expected}"]


def test_huge_momentum_integer_is_out_of_range_not_a_crash(tmp_path):
    config = hostile.keras_config()
    _bn_layer(config)["config"]["momentum"] = 10 ** 400
    path = hostile.keras_with(tmp_path / "k", config)
    assert reasons(path) == []
    assert "BN007" in {code for code, _ in bncheck.check_path(path).codes()}


def test_wrong_json_types_elsewhere_in_the_config_are_ignored(tmp_path):
    config = hostile.keras_config()
    layers = config["config"]["layers"]
    layers[1]["inbound_nodes"] = 5
    layers.append(7)
    layers.append({"class_name": ["BatchNormalization"], "config": []})
    path = hostile.keras_with(tmp_path / "k", config)
    assert reasons(path) == []


def test_lambda_and_custom_objects_are_never_imported_or_run(tmp_path):
    """A config naming a Lambda (marshalled code that writes a marker) and custom objects whose
    module writes a marker on import, one of them ``os.system``: checking imports and runs none."""
    import base64
    import marshal

    marker = tmp_path / "marker"
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "bncheck_hostile_mod.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    payload = compile(f"open({str(marker)!r}, 'w').write('ran')", "<lambda>", "exec")
    config = hostile.keras_config()
    config["config"]["layers"][1:1] = [
        {"module": "keras.layers", "class_name": "Lambda", "name": "evil", "inbound_nodes": [],
         "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
             "code": base64.b64encode(marshal.dumps(payload)).decode(), "defaults": None, "closure": None}}}},
        {"module": "os", "class_name": "system", "registered_name": "os>system", "name": "sys_call",
         "inbound_nodes": [], "config": {"name": f"touch {marker}", "command": f"touch {marker}"}},
        {"module": "bncheck_hostile_mod", "class_name": "Custom", "registered_name": "bncheck_hostile_mod>Custom",
         "name": "custom", "inbound_nodes": [], "config": {"name": "custom"}},
    ]
    path = hostile.keras_with(tmp_path / "k", config)
    code = ("import sys, bncheck\n"
            "r = bncheck.check_path(sys.argv[1], jobs=1) if 'jobs' in bncheck.check_path.__code__.co_varnames "
            "else bncheck.check_path(sys.argv[1])\n"
            "print(r.errors, sorted(r.codes()))\n"
            "print(sorted(m for m in sys.modules if m.startswith(('bncheck_hostile', 'keras', 'tensorflow'))))\n")
    env = {**os.environ, "PYTHONPATH": f"{module_dir}{os.pathsep}{ROOT}"}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["[] []", "[]"]
    assert not marker.exists()
    assert reasons(path) == []


# -- tf-keras .h5 files --------------------------------------------------------------------------

VARIANCE = hostile.BN_VARIANCE


def _replace_variance(path: pathlib.Path, make) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        del f[VARIANCE]
        make(f, VARIANCE)


def test_h5_external_link_is_refused_and_never_followed(tmp_path):
    import h5py

    secret = hostile.canary_h5(tmp_path / "elsewhere")
    path = hostile.h5_copy(tmp_path / "art")
    _replace_variance(path, lambda f, key: f.__setitem__(key, h5py.ExternalLink(str(secret), "secret")))
    assert reasons(path) == [f"{VARIANCE!r} is an external link; bncheck follows hard links only"]
    report = bncheck.check_path(path)
    assert not any("secret" in str(e) or "nan" in str(e).lower() for e in report.errors)
    assert "BN006" not in {code for code, _ in report.codes()}


def test_h5_soft_link_is_refused(tmp_path):
    import h5py

    path = hostile.h5_copy(tmp_path / "art")
    _replace_variance(path, lambda f, key: f.__setitem__(key, h5py.SoftLink("/model_weights/bn1/bn1/gamma:0")))
    assert reasons(path) == [f"{VARIANCE!r} is a soft link; bncheck follows hard links only"]


def test_h5_external_storage_is_refused(tmp_path):
    secret = tmp_path / "elsewhere" / "secret.raw"
    secret.parent.mkdir()
    np.full(4, np.nan, dtype=np.float32).tofile(secret)
    path = hostile.h5_copy(tmp_path / "art")
    _replace_variance(path, lambda f, key: f.create_dataset(key, shape=(4,), dtype="f4", external=[(str(secret), 0, 16)]))
    assert reasons(path) == [f"weight {VARIANCE!r} keeps its data in external files; refused"]


def test_h5_virtual_dataset_is_refused(tmp_path):
    import h5py

    secret = hostile.canary_h5(tmp_path / "elsewhere")
    path = hostile.h5_copy(tmp_path / "art")

    def virtual(f, key):
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource(str(secret), "secret", shape=(4,))
        f.create_virtual_dataset(key, layout)

    _replace_variance(path, virtual)
    assert reasons(path) == [f"weight {VARIANCE!r} is a virtual dataset (its data is in other files); refused"]


def test_h5_dataset_declaring_gigabytes_is_refused_before_reading(tmp_path):
    path = hostile.h5_copy(tmp_path / "art")
    _replace_variance(path, lambda f, key: f.create_dataset(key, shape=(1 << 28,), dtype="f4", chunks=(1 << 16,),
                                                            fillvalue=1.0))
    assert path.stat().st_size < MIB
    assert reasons(path, max_mib=8) == [
        f"weight {VARIANCE!r} declares 1073741824 bytes, more than the 64 MiB bncheck reads for one tensor "
        "(BNCHECK_MAX_TENSOR_MB)"]


def test_h5_string_weights_are_refused(tmp_path):
    path = hostile.h5_copy(tmp_path / "art")
    _replace_variance(path, lambda f, key: f.create_dataset(key, data=np.array([b"a", b"b"])))
    assert reasons(path) == [f"weight {VARIANCE!r} holds |S1 data, not numbers"]


def test_h5_wrongly_shaped_and_integer_weights_are_judged(tmp_path):
    path = hostile.h5_copy(tmp_path / "art")
    bad = np.array([[1.0, np.nan, -2.0], [0.5, 0.5, 0.5]], dtype=np.float64)
    _replace_variance(path, lambda f, key: f.create_dataset(key, data=bad))
    assert reasons(path) == []
    assert ("BN006", "bn1") in bncheck.check_path(path).codes()
    path2 = hostile.h5_copy(tmp_path / "art2")
    _replace_variance(path2, lambda f, key: f.create_dataset(key, data=np.array([1, 2, 3, 4], dtype=np.int8)))
    assert reasons(path2) == []


def test_h5_model_config_of_the_wrong_type_is_an_error(tmp_path):
    import h5py

    path = hostile.h5_copy(tmp_path / "art")
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = np.arange(4)
    assert reasons(path) == ["attribute 'model_config' is not a string"]


def test_h5_weight_names_of_the_wrong_type_are_an_error(tmp_path):
    import h5py

    path = hostile.h5_copy(tmp_path / "art")
    with h5py.File(path, "r+") as f:
        f["model_weights/bn1"].attrs["weight_names"] = np.arange(3)
    assert reasons(path) == ["attribute 'weight_names' of '/model_weights/bn1' is not a list of strings"]


@pytest.mark.parametrize("index, claimed", [(0, 0), (5, (1 << 64) - 16)])
def test_h5_global_heap_that_would_spin_hdf5_is_refused_before_any_string_is_read(tmp_path, index, claimed):
    # HDF5 1.14 itself never returns on these (object 0 of 0 bytes; a padded size that wraps to 0)
    path = hostile.h5_looping_heap(tmp_path / "art", index, claimed)
    verdict = timed_check(path, 30)
    assert verdict["status"] == "ok", verdict["detail"]
    assert verdict["errors"] == [f"{path}: damaged HDF5 global heap at byte 2048: object {index} at byte 2064 "
                                 f"claims {claimed} bytes, 8176 are left; refused before HDF5 reads it"]
    proc = bncheck_in_process(path)  # its worker has a deadline, should the check spin after all
    assert (proc.returncode, proc.stderr.decode()) == (2, f"bncheck: error: {verdict['errors'][0]}\n")


@pytest.mark.parametrize("make, offset", [(hostile.h5_looping_free_list, 48), (hostile.keras_looping_free_list, 40)])
def test_h5_local_heap_free_list_that_loops_is_refused_before_hdf5_allocates(tmp_path, make, offset):
    # HDF5 1.14 follows such a list allocating a node per block until memory runs out
    path = make(tmp_path / "art")
    verdict = timed_check(path, 30)
    assert verdict["status"] == "ok", verdict["detail"]
    assert verdict["errors"] == [f"{path}: damaged HDF5 local heap at byte 680: its list of free blocks loops back "
                                 f"to offset {offset}; refused before HDF5 reads it"]


def test_every_fixture_h5_passes_the_heap_checks():
    import zipfile

    from bncheck.loaders.h5_heaps import check_file, check_heaps

    files = sorted((ROOT / "fixtures").rglob("*.h5"))
    kerases = sorted((ROOT / "fixtures").rglob("*.keras"))
    assert len(files) >= 10 and len(kerases) >= 10
    for path in files:
        with open(path, "rb") as fh:
            check_file(fh, str(path))  # raises on a false alarm
    for path in kerases:
        with zipfile.ZipFile(path) as archive:
            check_heaps(archive.read("model.weights.h5"), str(path))


# Without the heap check, HDF5's C code spins where no signal reaches: bncheck's worker deadline
# is then what ends it, with the same one-line error as any input that runs out of time.
_WITHOUT_HEAP_CHECK = textwrap.dedent("""
    import sys
    import bncheck.loaders.keras_files as keras_files
    keras_files.check_file = keras_files.check_heaps = lambda *args, **kwargs: None
    sys.argv[0] = "bncheck"
    from bncheck.cli import main
    main()
""")


def test_a_hang_inside_hdf5_is_given_up_at_the_timeout_in_one_line(tmp_path):
    path = hostile.h5_looping_heap(tmp_path / "art", 0, 0)
    clean = ROOT / "fixtures" / "tfkeras" / "fit_clean.h5"
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_HEAP_CHECK, str(path), str(clean), "--timeout", "2"],
                          capture_output=True, text=True, timeout=60)  # a hang guard
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the worker spinning in HDF5 was killed: the run's CPU time (bncheck and its reaped workers) is
    # about the 2 s deadline plus start-up, not the 60 s it would spin until the guard
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 15
    assert (proc.returncode, proc.stderr) == (2, f"bncheck: error: {path}: gave up after 2 s\n")
    assert proc.stdout == "✓ no batch-norm problems found in 1 input; 1 could not be read\n"  # the clean file


# -- graphs --------------------------------------------------------------------------------------

def test_deep_text_nesting_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.pbtxt"
    path.write_text(hostile.deep_text_graph(5000))
    assert reasons(path) == ["text GraphDef nests messages deeper than 100 levels"]


def test_deep_binary_nesting_is_an_error(tmp_path):
    path = tmp_path / "deep.pb"
    path.write_bytes(hostile.deep_binary_graph(5000))
    [reason] = reasons(path)
    assert reason.startswith("not a readable GraphDef or MetaGraphDef or SavedModel"), reason


def _chain_graph(count: int):
    from bncheck.protos import message_class

    graph = message_class("tensorflow.GraphDef")()
    for i in range(count):
        node = graph.node.add(name=f"n{i}", op="Identity" if i else "Placeholder")
        if i:
            node.input.append(f"n{i - 1}")
    return graph


@pytest.mark.parametrize("field, value, reason", [
    ("name", "", "not a readable graph: node #150 has no name (truncated or corrupt)"),
    ("op", "Ide\x00ntity", "not a readable graph: node 'n150' has op type 'Ide\\x00ntity', not an op name "
                           "(truncated or corrupt)"),
])
def test_a_bad_node_deep_inside_a_large_graph_is_an_error(tmp_path, field, value, reason):
    # the format guess samples the first and last 64 nodes; the graph builder checks every node
    graph = _chain_graph(300)
    setattr(graph.node[150], field, value)
    path = tmp_path / "bad_node.pb"
    path.write_bytes(graph.SerializeToString())
    assert reasons(path) == [reason]
    setattr(graph.node[150], field, "n150" if field == "name" else "Identity")
    path.write_bytes(graph.SerializeToString())
    assert reasons(path) == []


def test_wrong_kind_attrs_and_malformed_tensors_are_judged(tmp_path):
    path = tmp_path / "attrs.pb"
    path.write_bytes(hostile.wrong_kind_attrs().SerializeToString())
    assert reasons(path) == []


def test_cycle_of_ordinary_ops_terminates(tmp_path):
    path = tmp_path / "cycle.pb"
    path.write_bytes(hostile.cycle().SerializeToString())
    verdict = timed_check(path, 30)
    assert (verdict["status"], verdict["errors"]) == ("ok", []), verdict


def test_chain_of_200k_nodes_is_checked(tmp_path):
    path = tmp_path / "chain.pb"
    path.write_bytes(hostile.chain(200_000).SerializeToString())
    verdict = timed_check(path, 120)  # a hang guard, not a speed assertion
    assert (verdict["status"], verdict["errors"]) == ("ok", []), verdict


def test_cost_of_a_chain_is_linear_in_its_length(tmp_path):
    """CPU time of an 8x longer chain: about 8x if linear (9-10x measured: caches), 64x if quadratic."""
    def cpu(length: int) -> float:
        path = tmp_path / f"chain_{length}.pb"
        path.write_bytes(hostile.chain(length).SerializeToString())
        start = time.process_time()
        verdict = harness.check_artefact(path)
        spent = time.process_time() - start
        assert (verdict.status, verdict.errors) == ("ok", []), verdict
        return spent

    cpu(5_000)  # warm imports
    small, large = cpu(20_000), cpu(160_000)
    assert large / max(small, 1e-3) < 24


def test_recursive_function_library_terminates(tmp_path):
    path = tmp_path / "recursive.pb"
    path.write_bytes(hostile.function_library(24, recursive=True).SerializeToString())
    verdict = timed_check(path, 20)
    assert verdict["status"] == "ok", verdict
    assert all("\n" not in e for e in verdict["errors"])


def test_diamond_function_library_is_not_expanded_exponentially(tmp_path):
    """24 levels of a function calling the next twice: 2**24 copies if inlined naively."""
    path = tmp_path / "diamond.pb"
    path.write_bytes(hostile.function_library(24, recursive=False).SerializeToString())
    verdict = timed_check(path, 20)
    assert verdict["status"] == "ok", verdict
    assert all("\n" not in e for e in verdict["errors"])
