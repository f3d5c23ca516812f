"""One selection everywhere (artefacts and source alike), and options that apply to none of the inputs
are usage errors: the bugs of the two catalogues (issue 18) and issue 20 item 3, each reproduced."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

import bncheck
from bncheck.catalogue import SelectionError, UsageError
from bncheck.cli import main
from conftest import FIXTURES

SOURCE = FIXTURES / "source"
BIAS = SOURCE / "keras_conv_bias_before_bn.py"  # BN010 at 6:5 (bn1) and 9:5 (bn2)
MOMENTUM_PY = SOURCE / "keras_momentum_pytorch.py"  # BN007 at 7:50, a safe fix
META = FIXTURES / "tf1" / "handwritten_decay_1e-5_unwired.meta"  # BN001, BN007
KERAS = FIXTURES / "keras3" / "momentum_0.1.keras"  # a model config: no graph nodes


def _run(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--isolated", *map(str, args)])


def _found(result) -> list[tuple[str, str, int | None]]:  # type: ignore[no-untyped-def]
    return sorted((f["code"], f["layer"], f.get("line")) for f in json.loads(result.stdout)["findings"])


def test_ignore_all_ignores_source_only_rules_too():
    result = _run("--ignore", "ALL", "--output-format", "json", BIAS)
    assert result.exit_code == 0 and _found(result) == []  # BN010 was still reported
    assert _found(_run("--ignore", "BN01", "--output-format", "json", BIAS)) == []


def test_extend_select_in_the_config_keeps_source_only_rules(tmp_path):
    config = tmp_path / "bncheck.toml"
    config.write_text('extend-select = ["BN007"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--output-format", "json", str(BIAS)])
    assert _found(result) == [("BN010", "bn1", 6), ("BN010", "bn2", 9)]  # was []: select became BN001-BN009
    config.write_text('select = ["BN007"]\nextend-select = ["BN011", "BN010"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--output-format", "json", str(BIAS)])
    assert _found(result) == [("BN010", "bn1", 6), ("BN010", "bn2", 9)]


def test_statistics_name_every_code():
    result = _run("--statistics", "--output-format", "concise", BIAS, MOMENTUM_PY)
    assert result.stdout.splitlines()[-2:] == ["    1  BN007  momentum-out-of-range", "    2  BN010  bias-before-bn"]


def test_diff_with_ignore_all_proposes_no_fix():
    result = _run("--diff", "--ignore", "ALL", MOMENTUM_PY)
    assert (result.exit_code, result.stdout) == (0, "")  # the diff of the BN007 fix was printed
    assert "bncheck: 0 fixable findings in 0 files" in result.stderr
    assert "+        keras.layers.BatchNormalization(momentum=0.9," in _run("--diff", MOMENTUM_PY).stdout


def test_exclude_applies_to_py_files_found_in_folders(tmp_path):
    (tmp_path / "vendored").mkdir()
    shutil.copy(BIAS, tmp_path / "vendored" / "bias.py")
    shutil.copy(BIAS, tmp_path / "bias.py")
    config = tmp_path / "bncheck.toml"
    config.write_text('exclude = ["*/vendored/*"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--output-format", "json", str(tmp_path)])
    data = json.loads(result.stdout)
    assert data["checked"] == [str(tmp_path / "bias.py")]
    assert sorted({f["path"] for f in data["findings"]}) == [str(tmp_path / "bias.py")]
    fixed = CliRunner().invoke(main, ["--config", str(config), "--diff", str(tmp_path)])
    assert fixed.stdout == ""  # nothing fixable outside vendored/: BN010's fix is unsafe


def test_per_path_settings_apply_to_py_files(tmp_path):
    shutil.copy(BIAS, tmp_path / "legacy.py")
    shutil.copy(BIAS, tmp_path / "new.py")
    shutil.copy(MOMENTUM_PY, tmp_path / "ported.py")
    config = tmp_path / "bncheck.toml"
    config.write_text('[per-path."*/legacy.py"]\nignore = ["BN010"]\n[per-path."*/ported.py"]\nselect = ["BN010"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--output-format", "json", str(tmp_path)])
    got = sorted((f["path"].rsplit("/", 1)[1], f["code"], f["line"]) for f in json.loads(result.stdout)["findings"])
    assert got == [("new.py", "BN010", 6), ("new.py", "BN010", 9)]  # legacy.py ignores BN010, ported.py BN007


def test_a_selection_no_input_can_use_is_a_usage_error():
    only_source = _run("--select", "BN010", META)
    assert only_source.exit_code == 2
    assert "--select BN010 selects only BN010, which no rule checks on model artefacts" in only_source.stderr
    only_artefact = _run("--select", "BN005,BN006", BIAS)
    assert only_artefact.exit_code == 2
    assert "--select BN005,BN006 selects only BN005, BN006, which no rule checks on .py files" in only_artefact.stderr
    both = _run("--select", "BN005,BN010", "--output-format", "json", BIAS, META)
    assert both.exit_code == 0 and _found(both) == [("BN010", "bn1", 6), ("BN010", "bn2", 9)]


def test_the_api_raises_for_a_selection_that_cannot_apply():
    with pytest.raises(SelectionError, match=r"^select BN999 matches no rule \(known: BN001, "):
        bncheck.check_path(META, select=["BN999"])  # checked nothing, silently
    with pytest.raises(SelectionError, match="^ignore XX matches no rule"):
        bncheck.check_path(META, ignore="XX")
    with pytest.raises(UsageError, match="^--select BN010 selects only BN010, which no rule checks on model"):
        bncheck.check_path(META, select="BN010")
    with pytest.raises(UsageError, match=r"^--select BN005 selects only BN005, which no rule checks on \.py files$"):
        bncheck.check_path(str(BIAS), select="BN005")
    assert isinstance(UsageError("x"), ValueError) and isinstance(SelectionError("x"), ValueError)


@pytest.mark.parametrize("option", ["--train-op", "--serve-output"])
def test_graph_options_no_input_uses_are_a_usage_error(option):
    on_config = _run(KERAS, option, "typo")  # exited 0: a Keras config has no graph node to name
    assert on_config.exit_code == 2
    assert f"{option} typo applies to none of the inputs (no input holds a graph: it names a graph node)" \
        in on_config.stderr
    on_source = _run(BIAS, option, "typo")
    assert on_source.exit_code == 2
    assert f"{option} typo applies to none of the inputs (the inputs are .py files: it names a graph node)" \
        in on_source.stderr
    on_graph = _run(META, option, "typo")  # a graph: the name is checked against its nodes, as before
    assert on_graph.exit_code == 2 and "is not a node of this graph" in on_graph.stderr


def test_check_graph_raises_for_options_that_cannot_apply():
    from bncheck.protos import message_class

    meta = message_class("tensorflow.MetaGraphDef").FromString(META.read_bytes())
    assert {c for c, _ in bncheck.check_graph(meta, select="BN007").codes()} == {"BN007"}
    with pytest.raises(UsageError, match="^--select BN010 selects only BN010, which no rule checks on model"):
        bncheck.check_graph(meta, select="BN010")
    with pytest.raises(SelectionError, match="^select BN999 matches no rule"):
        bncheck.check_graph(meta, select="BN999")


def test_an_unreadable_artefact_is_its_own_error_not_an_unused_graph_option(tmp_path):
    broken = tmp_path / "broken.pb"
    broken.write_bytes(b"\xff\xff not a graph")
    result = _run(KERAS, broken, "--train-op", "train_op")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"bncheck: error: {broken}: ") and "applies to none" not in result.stderr
