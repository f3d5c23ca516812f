"""Folder searches: files that are not TensorFlow's are skipped with a note (a named one is an error);
a checkpoint's members are one input, named or searched."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

import bncheck
from bncheck.cli import main
from bncheck.loaders import Target, discover
from conftest import FIXTURES, ROOT

UNITY = FIXTURES / "source" / "unity_project"
MOMENTUM = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 on model/bn1 and model/bn2
CKPT = FIXTURES / "tf1" / "layers_checkpoint_no_updates"  # checkpoint + model.ckpt-20.{meta,index,data}
UNITY_NOTE = ("skipped 5 files that are not TensorFlow artefacts by content (Unity asset metadata): Assets.meta, "
              "Assets/Models.meta, Assets/Scripts.meta and 2 more")
NOT_KERAS = ("not a TensorFlow artefact by content (HDF5 without a Keras model or weights: no model_config, "
             "keras_version or layer_names attribute, no Keras 3 'vars' group)")
STRAY_NOTE = "skipped: a checkpoint state file whose latest checkpoint 'model.ckpt-500' is not here (no .index file)"


def _run(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def project(tmp_path):  # type: ignore[no-untyped-def]
    """The Unity project with a real graph beside its assets."""
    root = tmp_path / "game"
    shutil.copytree(UNITY, root)
    shutil.copyfile(MOMENTUM, root / "Assets" / "Models" / "brain.meta")
    return root


def test_unity_meta_files_and_a_stray_checkpoint_state_file_are_skipped_with_notes(project) -> None:  # type: ignore[no-untyped-def]
    report = bncheck.check_path(str(project))
    brain = str(project / "Assets" / "Models" / "brain.meta")
    assert [(f.code, f.path, f.layer) for f in report.findings] == [("BN007", brain, "model/bn1"),
                                                                     ("BN007", brain, "model/bn2")]
    assert report.errors == [] and report.checked == [brain]
    assert report.notes == [(str(project), UNITY_NOTE), (str(project / "training" / "checkpoint"), STRAY_NOTE)]


def test_the_search_exits_1_for_the_real_graph_not_2(project) -> None:  # type: ignore[no-untyped-def]
    result = _run("--output-format", "json", "--fail-on", "warning", project)
    assert result.exit_code == 1 and result.stderr == ""
    assert len(json.loads(result.stdout)["findings"]) == 2


def test_a_named_unity_meta_file_is_an_error(project) -> None:  # type: ignore[no-untyped-def]
    named = project / "Assets" / "Scripts" / "Agent.cs.meta"
    result = _run(named, MOMENTUM)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"bncheck: error: {named}: not a readable GraphDef or MetaGraphDef or SavedModel")


def test_a_named_stray_checkpoint_is_an_error(project) -> None:  # type: ignore[no-untyped-def]
    for named in (project / "training", project / "training" / "checkpoint"):
        result = _run(named)
        assert result.exit_code == 2
        assert result.stderr == f"bncheck: error: {project / 'training'}: latest checkpoint model.ckpt-500 has no .index file\n"


def test_files_that_only_look_like_graphs_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty.pb").write_bytes(b"")
    (tmp_path / "notes.pbtxt").write_text("title: not a graph\n")
    (tmp_path / "text_graph.pbtxt").write_text('# a text GraphDef\nnode {\n  name: "x"\n  op: "Placeholder"\n}\n')
    (tmp_path / "weights.h5").write_text("not HDF5")
    shutil.copyfile(MOMENTUM, tmp_path / "m.meta")
    notes: list[tuple[str, str]] = []
    assert discover(str(tmp_path), notes) == [Target(str(tmp_path / "m.meta"), "file"),
                                              Target(str(tmp_path / "text_graph.pbtxt"), "file")]
    assert notes == [
        (str(tmp_path / "empty.pb"), "skipped: not a TensorFlow artefact by content (empty)"),
        (str(tmp_path / "notes.pbtxt"), "skipped: not a TensorFlow artefact by content (neither a binary nor a text "
                                        "GraphDef, MetaGraphDef or SavedModel)"),
        (str(tmp_path / "weights.h5"), "skipped: not a TensorFlow artefact by content (no zip or HDF5 signature)")]


def _data_h5(path) -> None:  # type: ignore[no-untyped-def]
    """Valid HDF5 that no Keras wrote: a data set file."""
    h5py = pytest.importorskip("h5py")
    import numpy as np

    with h5py.File(path, "w") as h5:
        h5["x_train"] = np.zeros((2, 3), dtype="float32")
        h5.create_group("labels").attrs["classes"] = 10


def test_hdf5_that_keras_did_not_write_is_skipped_in_a_search(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _data_h5(tmp_path / "data.h5")
    shutil.copyfile(FIXTURES / "tfkeras" / "momentum_0.1.h5", tmp_path / "model.h5")  # tf-keras model.save
    shutil.copyfile(FIXTURES / "keras3" / "subclassed_two_bn.weights.h5", tmp_path / "w.weights.h5")  # no attributes
    report = bncheck.check_path(str(tmp_path))
    assert report.errors == [] and report.checked == [str(tmp_path / "model.h5"), str(tmp_path / "w.weights.h5")]
    assert [n for n in report.notes if "skipped" in n[1]] == [(str(tmp_path / "data.h5"), f"skipped: {NOT_KERAS}")]
    assert {(f.code, f.path) for f in report.findings} == {("BN007", str(tmp_path / "model.h5"))}


def test_hdf5_that_keras_did_not_write_is_an_error_when_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _data_h5(tmp_path / "data.h5")
    result = _run(tmp_path / "data.h5", MOMENTUM)
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {tmp_path / 'data.h5'}: {NOT_KERAS}\n"
    report = bncheck.check_path(str(tmp_path / "data.h5"))
    assert [str(e) for e in report.errors] == [f"{tmp_path / 'data.h5'}: {NOT_KERAS}"] and report.notes == []


def test_a_folder_whose_every_file_is_skipped_by_content_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _data_h5(tmp_path / "a.h5")
    _data_h5(tmp_path / "b.hdf5")
    report = bncheck.check_path(str(tmp_path))
    assert [str(e) for e in report.errors] == [
        f"{tmp_path}: no GraphDef, MetaGraph, SavedModel, checkpoint or Keras file found in this folder"]
    assert report.notes == [(str(tmp_path), "skipped 2 files that are not TensorFlow artefacts by content (HDF5 "
                             "without a Keras model or weights: no model_config, keras_version or layer_names "
                             "attribute, no Keras 3 'vars' group): a.h5, b.hdf5")]


def test_a_zip_named_keras_without_a_config_is_skipped_in_a_search(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    with zipfile.ZipFile(tmp_path / "assets.keras", "w") as archive:
        archive.writestr("readme.txt", "not a model")
    shutil.copyfile(MOMENTUM, tmp_path / "m.meta")
    report = bncheck.check_path(str(tmp_path))
    assert report.errors == [] and report.checked == [str(tmp_path / "m.meta")]
    assert report.notes == [(str(tmp_path / "assets.keras"), "skipped: not a TensorFlow artefact by content (a zip "
                                                           "without the config.json of a .keras model)")]


# ---- skip notes: one per searched folder and reason ------------------------------------------

def test_many_skipped_files_are_one_note_per_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for i in range(560):
        (tmp_path / f"asset{i:03d}.cs.meta").write_text("fileFormatVersion: 2\nguid: 0\n")
    (tmp_path / "empty.pb").write_bytes(b"")
    (tmp_path / "x.pbtxt").write_text("title: no graph\n")
    (tmp_path / "y.pbtxt").write_text("title: no graph\n")
    (tmp_path / "sub").mkdir()
    shutil.copyfile(MOMENTUM, tmp_path / "sub" / "m.meta")
    report = bncheck.check_path(str(tmp_path))
    assert report.errors == [] and report.checked == [str(tmp_path / "sub" / "m.meta")]
    assert report.notes == [
        (str(tmp_path), "skipped 560 files that are not TensorFlow artefacts by content (Unity asset metadata): "
                        "asset000.cs.meta, asset001.cs.meta, asset002.cs.meta and 557 more"),
        (str(tmp_path / "empty.pb"), "skipped: not a TensorFlow artefact by content (empty)"),
        (str(tmp_path), "skipped 2 files that are not TensorFlow artefacts by content (neither a binary nor a text "
                        "GraphDef, MetaGraphDef or SavedModel): x.pbtxt, y.pbtxt")]
    result = _run("--show-notes", tmp_path)
    assert [line for line in result.stdout.splitlines() if line.startswith("note:")] == [
        f"note: {path}: {text}" for path, text in report.notes]


def test_two_searched_folders_keep_their_own_notes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name in ("one.meta", "two.meta"):
            (tmp_path / folder / name).write_text("fileFormatVersion: 2\n")
        shutil.copyfile(MOMENTUM, tmp_path / folder / "m.meta")
    report = bncheck.check_path([str(tmp_path / "a"), str(tmp_path / "b")])
    assert report.notes == [(str(tmp_path / f), "skipped 2 files that are not TensorFlow artefacts by content "
                                                "(Unity asset metadata): one.meta, two.meta") for f in ("a", "b")]


def test_other_skips_are_grouped_by_their_reason() -> None:
    from bncheck.loaders import summarise_skips

    notes = [("/r/x", "skipped: symlinked folder (not followed)"), ("/r/p.pb", "a note that is not a skip"),
             ("/r/d/y", "skipped: symlinked folder (not followed)"), ("/r/f.pb", "skipped: not a regular file (a FIFO)")]
    assert summarise_skips("/r", notes) == [
        ("/r", "skipped 2 paths: symlinked folder (not followed): d/y, x"), ("/r/p.pb", "a note that is not a skip"),
        ("/r/f.pb", "skipped: not a regular file (a FIFO)")]


def test_every_artefact_fixture_is_still_found() -> None:
    """The content check keeps every real graph: the searched fixture trees give the same targets
    as naming each file."""
    for group in ("tf1", "keras3", "tfkeras"):
        notes: list[tuple[str, str]] = []
        targets = discover(str(FIXTURES / group), notes)
        assert notes == [] and len(targets) > 10, group


# ---- a checkpoint's members are one input (issue 20, item 9) ------------------------------------

def test_named_members_of_the_latest_checkpoint_are_its_folder() -> None:
    members = [CKPT / "checkpoint", CKPT / "model.ckpt-20.meta", CKPT / "model.ckpt-20.index",
               CKPT / "model.ckpt-20.data-00000-of-00001"]
    for member in members:
        assert discover(str(member)) == [Target(str(CKPT), "checkpoint")], member
    report = bncheck.check_path([str(m) for m in members])
    assert report.checked == [str(CKPT)]
    assert [(f.code, f.layer) for f in report.findings] == [("BN001", "model/bn1"), ("BN005", "model/bn1"),
                                                            ("BN001", "model/bn2"), ("BN005", "model/bn2")]


def test_an_older_checkpoints_meta_is_its_own_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ckpt"
    shutil.copytree(CKPT, folder)
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-20"\n')
    shutil.copyfile(MOMENTUM, folder / "model.ckpt-10.meta")  # not the latest: its own graph
    assert discover(str(folder / "model.ckpt-10.meta")) == [Target(str(folder / "model.ckpt-10.meta"), "file")]
    report = bncheck.check_path([str(folder / "checkpoint"), str(folder / "model.ckpt-10.meta")])
    assert report.checked == [str(folder), str(folder / "model.ckpt-10.meta")]
    assert sorted((f.code, f.path) for f in report.findings) == sorted(
        [("BN001", str(folder))] * 2 + [("BN005", str(folder))] * 2 + [("BN007", str(folder / "model.ckpt-10.meta"))] * 2)


def test_the_artefact_hook_reports_a_checkpoint_once() -> None:
    """What pre-commit passes for a committed checkpoint folder: the files its pattern matches, in
    one call (``require_serial``: pre-commit would otherwise split them over processes, each of
    which reports the checkpoint again)."""
    yaml = pytest.importorskip("yaml")
    hook = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}["bncheck"]
    assert hook["require_serial"] is True
    pattern = re.compile(hook["files"])
    passed = sorted(str(p) for p in CKPT.iterdir() if pattern.search(str(p.relative_to(ROOT))))
    assert passed == [str(CKPT / "checkpoint"), str(CKPT / "model.ckpt-20.meta")]
    result = _run(*hook["entry"].split()[1:], *passed)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "4 findings in 1 input"
