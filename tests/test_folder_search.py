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
UNITY_NOTE = "skipped: a Unity asset .meta file, not a TensorFlow graph"
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
    assert report.notes == [(str(project / name), UNITY_NOTE) for name in (
        "Assets.meta", "Assets/Models.meta", "Assets/Scripts.meta", "Assets/Scripts/Agent.cs.meta",
        "Assets/Scripts/Arena.cs.meta")] + [(str(project / "training" / "checkpoint"), STRAY_NOTE)]


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
        (str(tmp_path / "empty.pb"), "skipped: an empty file"),
        (str(tmp_path / "notes.pbtxt"), "skipped: not a TensorFlow graph (neither a binary nor a text GraphDef, "
                                        "MetaGraphDef or SavedModel)"),
        (str(tmp_path / "weights.h5"), "skipped: not a Keras file (no zip or HDF5 signature)")]


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
