"""Source mode on the fixture scripts: exact (code, path, line, layer) for every mistake and its twin."""
from __future__ import annotations

import os

import pytest

from bncheck.findings import Severity
from bncheck.source import check_files
from conftest import FIXTURES

SOURCE = FIXTURES / "source"

EXPECTED = {
    "call_chain_across_files": [("BN001", "call_chain_across_files/train.py", 11, "block_bn")],
    "commented_out_call_entry_point.py": [("BN001", "commented_out_call_entry_point.py", 12, "bn")],
    "contrib_batch_norm_updates_collection.py": [("BN001", "contrib_batch_norm_updates_collection.py", 18, "mlp/bn1")],
    "contrib_layers_python_alias.py": [("BN001", "contrib_layers_python_alias.py", 10, "pose_bn")],
    "custom_loop_gradient_tape.py": [("BN009", "custom_loop_gradient_tape.py", 18, "bn1")],
    "deep_expression_momentum.py": [("BN007", "deep_expression_momentum.py", 6, "BatchNormalization@6")],
    "handwritten_batchnorm_layer.py": [
        ("BN001", "handwritten_batchnorm_layer.py", 38, "bn1"), ("BN001", "handwritten_batchnorm_layer.py", 38, "bn2"),
        ("BN007", "handwritten_batchnorm_layer.py", 11, "bn1"), ("BN007", "handwritten_batchnorm_layer.py", 11, "bn2")],
    "keras_conv_bias_before_bn.py": [("BN010", "keras_conv_bias_before_bn.py", 6, "bn1"),
                                     ("BN010", "keras_conv_bias_before_bn.py", 9, "bn2")],
    "keras_dropout_before_bn.py": [("BN011", "keras_dropout_before_bn.py", 8, "bn1")],
    "keras_functional_training_true.py": [("BN008", "keras_functional_training_true.py", 8, "bn1")],
    "keras_graph_mode_without_updates.py": [("BN001", "keras_graph_mode_without_updates.py", 18, "net/bn1")],
    "keras_momentum_pytorch.py": [("BN007", "keras_momentum_pytorch.py", 7, "bn1")],
    "keras_serving_signature_training_true.py": [("BN002", "keras_serving_signature_training_true.py", 22, "bn1")],
    "keras_set_learning_phase_export.py": [("BN002", "keras_set_learning_phase_export.py", 4, "bn1")],
    "keras_subclassed_call_training_true.py": [("BN008", "keras_subclassed_call_training_true.py", 13, "block_bn")],
    "keras_train_step_override.py": [("BN009", "keras_train_step_override.py", 21, "bn")],
    "nested_function_self_map_fn.py": [("BN001", "nested_function_self_map_fn.py", 16, "task_bn")],
    "project_helpers": [("BN001", "project_helpers/train.py", 18, "resnet/block1/bn"),
                        ("BN001", "project_helpers/train.py", 18, "resnet/stem/bn")],
    "slim_helper_in_arg_scope.py": [("BN001", "slim_helper_in_arg_scope.py", 19, "Conv/BatchNorm")],
    "slim_minimize_without_updates.py": [("BN001", "slim_minimize_without_updates.py", 23, "net/conv1/BatchNorm"),
                                         ("BN001", "slim_minimize_without_updates.py", 23, "net/conv2/BatchNorm")],
    "star_import_helpers": [("BN001", "star_import_helpers/train.py", 16, "d_bn")],
    "tf1_compat_layers_no_control_deps.py": [
        ("BN001", "tf1_compat_layers_no_control_deps.py", 27, "block1/bn"),
        ("BN001", "tf1_compat_layers_no_control_deps.py", 27, "block2/bn"),
        ("BN007", "tf1_compat_layers_no_control_deps.py", 9, "block1/bn"),
        ("BN007", "tf1_compat_layers_no_control_deps.py", 9, "block2/bn")],
    "tf1_frozen_export_training_true.py": [("BN002", "tf1_frozen_export_training_true.py", 15, "model/bn1"),
                                           ("BN002", "tf1_frozen_export_training_true.py", 17, "model/bn2")],
    "tf1_layers_update_ops_too_early.py": [("BN001", "tf1_layers_update_ops_too_early.py", 22, "model/bn1"),
                                           ("BN001", "tf1_layers_update_ops_too_early.py", 22, "model/bn2")],
    "tf1_placeholder_flag_default_true.py": [("BN004", "tf1_placeholder_flag_default_true.py", 8, "model/bn1")],
    "unchanged_helper_module": [("BN001", "unchanged_helper_module/ops.py", 12, "block1/bn"),
                                ("BN010", "unchanged_helper_module/ops.py", 7, "block1/bn")],
}


def _paths(name: str) -> list[str]:
    path = SOURCE / name
    if path.is_dir():
        return sorted(str(p) for p in path.glob("*.py"))
    return [str(path)]


def _found(name: str) -> list[tuple[str, str, int, str]]:
    result = check_files(_paths(name))
    assert not result.errors
    return sorted((f.code, os.path.relpath(f.loc.path, SOURCE), f.loc.line, f.layer) for f in result.findings)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mistake_found_at_its_line(name: str) -> None:
    assert _found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixed_twin_is_clean(name: str) -> None:
    twin = name.replace(".py", "_fixed.py") if name.endswith(".py") else name + "_fixed"
    assert (SOURCE / twin).exists()
    assert _found(twin) == []


def test_every_fixture_script_is_covered() -> None:
    names = {p.name for p in SOURCE.iterdir() if p.name not in ("graphs", "semantics", "bias")}  # test_source_semantics, _bias
    twins = {n.replace(".py", "_fixed.py") if n.endswith(".py") else n + "_fixed" for n in EXPECTED}
    inputs = {"python2", "encodings", "notebooks", "unity_project"}  # tests/test_source_inputs.py, test_folder_search.py
    assert names == set(EXPECTED) | twins | {"suppressions.py"} | inputs


def test_columns_severities_and_shared_fix_texts() -> None:
    from bncheck.rules import fixes

    findings = {f.code: f for name in EXPECTED for f in check_files(_paths(name)).findings}
    assert findings["BN010"].severity is Severity.INFO
    assert findings["BN011"].severity is Severity.WARNING
    assert findings["BN001"].severity is Severity.ERROR
    early = check_files(_paths("tf1_layers_update_ops_too_early.py")).findings[0]
    assert (early.loc.line, early.loc.col) == (22, 18)
    assert "before this layer is built at line 12" in early.message
    assert early.fix == fixes.updates_not_run("layers")
    slim = check_files(_paths("slim_minimize_without_updates.py")).findings[0]
    assert slim.fix == fixes.updates_not_run("slim")
    finding = early.to_finding()
    assert (finding.line, finding.column, finding.graph) == (22, 18, "source")
    assert finding.to_dict()["line"] == 22 and finding.to_dict()["column"] == 18
