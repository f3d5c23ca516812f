"""Exact (code, layer) outcomes of all rules together on every TF1 fixture."""
from __future__ import annotations

import functools

import pytest

import bncheck
from bncheck.engine import check_paths
from conftest import FIXTURES

BN = ("model/bn1", "model/bn2")
SLIM = ("net/conv1/BatchNorm", "net/conv2/BatchNorm")
HAND = ("bn1", "bn2")
GEN = ("generator/g_bn0", "generator/g_bn1", "generator/g_bn2")


def pairs(code: str, layers: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(code, layer) for layer in layers}


EXPECTED = {
    "layers_resource_update_ops_too_early.meta": pairs("BN001", BN),
    "layers_resource_update_ops_wired.meta": set(),
    "layers_ref_no_control_deps.meta": pairs("BN001", BN),
    "layers_ref_update_ops_wired.meta": set(),
    "layers_towers_first_tower_updates.meta": set(),
    "layers_train_and_eval_graph.meta": set(),
    "layers_checkpoint_no_updates": pairs("BN001", BN) | pairs("BN005", BN),
    "layers_checkpoint_with_updates": set(),
    "layers_momentum_0.1.meta": pairs("BN007", BN),
    "slim_minimize_without_updates.meta": pairs("BN001", SLIM),
    "slim_updates_collections_none.meta": set(),
    "slim_create_train_op.meta": set(),
    "handwritten_decay_1e-5_unwired.meta": pairs("BN001", HAND) | pairs("BN007", HAND),
    "handwritten_decay_1e-5_wired.meta": pairs("BN007", HAND),
    "handwritten_decay_0.999_wired.meta": set(),
    "handwritten_ema_cond_decay_0.999.meta": set(),
    "handwritten_ema_cond_decay_0.1.meta": pairs("BN007", HAND),
    "handwritten_ema_cond_unwired.meta": pairs("BN001", HAND),
    "layers_renorm_wired.meta": set(),
    "layers_renorm_no_update_ops.meta": pairs("BN001", ["model/bn1", "model/bn2"]),
    "layers_virtual_batch_wired.meta": set(),
    "layers_virtual_batch_no_update_ops.meta": pairs("BN001", ["model/bn1", "model/bn2"]),
    "frozen_layers_training_true.pb": pairs("BN002", BN),
    "frozen_layers_training_false.pb": set(),
    "frozen_flag_default_true.pbtxt": pairs("BN002", BN) | pairs("BN004", BN),
    # the user's own tf.cond around the layers (issue 8: the fused op is ops away from the Switch)
    "cond_around_layers_default_true.pb": pairs("BN002", ["model/bn"]) | pairs("BN004", ["model/bn"]),
    "cond_around_layers_default_false.pb": set(),
    "frozen_cond_around_layers_default_true.pb": pairs("BN002", ["model/bn"]) | pairs("BN004", ["model/bn"]),
    "frozen_cond_around_layers_default_false.pb": set(),
    "frozen_unfused_layers_training_true.pb": pairs("BN002", ["model/bn1", "model/bn2"]),
    "frozen_unfused_layers_training_false.pb": set(),
    "saved_model_slim_is_training_true": pairs("BN002", SLIM) | pairs("BN003", SLIM),
    "saved_model_slim_is_training_false": set(),
    "saved_model_flag_default_true": pairs("BN002", BN) | pairs("BN004", BN),
    "saved_model_flag_default_false": set(),
    "saved_model_flag_is_input": pairs("BN002", BN),
    "saved_model_flag_cond_v2_default_true": pairs("BN002", BN) | pairs("BN004", BN),
    "saved_model_flag_cond_v2_default_false": set(),
    "saved_model_pbtxt_training_true": pairs("BN002", BN),
    "saved_model_pbtxt_training_false": set(),
    "frozen_layer_norm.pb": set(),
    "keras_graph_mode_without_updates.meta": {("BN001", "net/bn1")},
    "keras_graph_mode_model_updates.meta": set(),
    # issue 8: real-project styles that got wrong verdicts before the exact dataflow core
    "layers_deep_dense_momentum_wired.meta": set(),
    "slim_bare_batch_norms_minimize.meta": pairs("BN001", ("resnet/BatchNorm", "resnet/BatchNorm_1", "resnet/preact")),
    "slim_bare_batch_norms_create_train_op.meta": set(),
    "dcgan_train.meta": set(),
    "dcgan_sampler_train_true": pairs("BN002", GEN) | pairs("BN003", GEN),
    "dcgan_sampler_train_false": set(),
    "layers_cond_v2_flag_no_update_ops.meta": pairs("BN001", BN),
    "layers_cond_v2_flag_update_ops_wired.meta": set(),
    "frozen_reshape_bn_scale_false_training_true.pb": {("BN002", "bn_reshaped")},
    "frozen_reshape_bn_scale_false_training_false.pb": set(),
    "maml_second_order.meta": pairs("BN001", ("maml/norm1", "maml/norm2")),
    "handwritten_pop_stats_checkpoint_unwired": pairs("BN001", HAND) | pairs("BN005", HAND),
    "handwritten_pop_stats_checkpoint_wired": set(),
    # boundary cases: each tells a right rule from a nearly right one
    "layers_momentum_1.0.meta": pairs("BN007", BN),
    "handwritten_assign_add_decay_0.9.meta": set(),
    "handwritten_assign_add_decay_0.1.meta": {("BN007", "bn1")},
    "handwritten_checkpoint_only_variance_wired": pairs("BN001", HAND),
    "layers_checkpoint_step_0": pairs("BN001", BN),
    "layers_two_models_one_trained.meta": set(),
    "layers_checkpoint_saver_trainable_only": set(),
    "layers_is_inference_flag_wired.meta": set(),
    "mixed_layers_and_keras_without_updates.meta": {("BN001", "keras_bn"), ("BN001", "layers_bn")},  # training = logical_not(is_inference): momentum 0.99  # a note: the moving statistics were never saved
    # BN007 boundaries: a layer at exactly 0.5 is fine; two momenta in one layer
    "layers_momentum_0.5_then_0.1.meta": {("BN007", "model/bn2")},
    "handwritten_mean_decay_0.1_variance_decay_0.2.meta": {("BN007", "bn1")},
    # two train ops (GAN-style), 20 steps saved: BN005 names both as the cause
    "layers_checkpoint_two_optimizers_no_updates": pairs("BN001", BN) | pairs("BN005", BN),
    "layers_checkpoint_two_optimizers_training_false": pairs("BN009", BN) | pairs("BN005", BN),
    "layers_mode_string_flag_wired.meta": set(),  # training = tf.equal(mode, "train"): momentum 0.99
}


@functools.cache
def checked(name: str) -> bncheck.Report:
    """The report on one fixture, computed once per worker (the two tests below read the same ones), in
    this process: the report does not depend on it (test_isolation.py), a worker forked per fixture
    cost more than the check of a small one."""
    return check_paths([str(FIXTURES / "tf1" / name)], isolate=False)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(name):
    report = checked(name)
    assert not report.errors
    assert report.codes() == EXPECTED[name]


def test_clean_models_have_no_error_findings():
    for name, expected in EXPECTED.items():
        if not expected:
            report = checked(name)
            assert not [f for f in report if f.severity >= bncheck.Severity.WARNING], name


def test_resnet_v1_50_reports_all_53_batch_norms():
    report = bncheck.check_path(FIXTURES / "tf1" / "slim_resnet_v1_50_without_updates.meta")
    layers = {f.layer for f in report if f.code == "BN001"}
    assert len(report) == 53 and len(layers) == 53
    assert "resnet_v1_50/conv1/BatchNorm" in layers
    assert "resnet_v1_50/block4/unit_3/bottleneck_v1/conv3/BatchNorm" in layers
    assert "resnet_v1_50/block1/unit_1/bottleneck_v1/shortcut/BatchNorm" in layers


def test_bn001_evidence_names_variables_updates_and_train_op():
    (finding,) = [f for f in bncheck.check_path(FIXTURES / "tf1" / "layers_resource_update_ops_too_early.meta")
                  if f.layer == "model/bn1"]
    ev = finding.evidence_dict
    assert ev["moving variables"] == ("model/bn1/moving_mean", "model/bn1/moving_variance")
    assert ev["update ops not run"] == ("model/bn1/AssignMovingAvg/AssignSubVariableOp",
                                       "model/bn1/AssignMovingAvg_1/AssignSubVariableOp")
    assert ev["train op"] == ("Adam",)
    assert ev["train op found from"] == "the MetaGraph's train_op collection"
    assert "UPDATE_OPS" in finding.fix and "control_dependencies" in finding.fix


def test_fix_is_written_for_the_api_that_built_the_layer():
    slim = next(iter(bncheck.check_path(FIXTURES / "tf1" / "slim_minimize_without_updates.meta")))
    hand = next(iter(bncheck.check_path(FIXTURES / "tf1" / "handwritten_decay_1e-5_unwired.meta", select=["BN001"])))
    assert "create_train_op" in slim.fix and "updates_collections=None" in slim.fix
    assert "update_mean" in hand.fix and "UPDATE_OPS" not in hand.fix
    keras = next(iter(bncheck.check_path(FIXTURES / "tf1" / "keras_graph_mode_without_updates.meta")))
    assert "model.updates" in keras.fix


def test_bn007_reads_the_decay_from_graph_constants():
    momenta = {f.evidence_dict["momentum"] for f in bncheck.check_path(FIXTURES / "tf1" / "layers_momentum_0.1.meta")}
    assert momenta == {0.1}
    hand = {f.evidence_dict["momentum"] for f in bncheck.check_path(
        FIXTURES / "tf1" / "handwritten_decay_1e-5_wired.meta")}
    assert hand == {1e-05}


def test_bn002_names_the_signature_and_op():
    report = bncheck.check_path(FIXTURES / "tf1" / "saved_model_slim_is_training_true", select=["BN002"])
    f = next(iter(report))
    assert f.graph == "MetaGraph [serve]"
    assert f.evidence_dict["run by"] == ("signature 'serving_default'",)
    assert f.evidence_dict["ops"] == ("net/conv1/BatchNorm/FusedBatchNormV3",)


def test_bn002_is_a_warning_when_the_caller_feeds_the_flag():
    report = bncheck.check_path(FIXTURES / "tf1" / "saved_model_flag_is_input", select=["BN002"])
    assert {f.severity for f in report} == {bncheck.Severity.WARNING}
    assert all(f.evidence_dict["training flag fed by the caller"] == ("is_training",) for f in report)


def test_train_op_named_by_user_overrides_the_collection():
    path = FIXTURES / "tf1" / "layers_resource_update_ops_wired.meta"
    assert bncheck.check_path(path).codes() == set()
    # a fetch that runs the training-mode forward pass but none of the update ops
    report = bncheck.check_path(path, train_op="model/logits/BiasAdd")
    assert report.codes() == pairs("BN001", BN)
    assert next(iter(report)).evidence_dict["train op found from"] == "named by you"
    assert next(iter(report)).evidence_dict["train op"] == ("model/logits/BiasAdd",)


def test_named_outputs_make_a_training_graph_an_inference_graph():
    path = FIXTURES / "tf1" / "layers_train_and_eval_graph.meta"
    assert bncheck.check_path(path, outputs="eval_probabilities").codes() == set()
    train_logits = "model/logits/BiasAdd"
    assert bncheck.check_path(path, outputs=train_logits, select=["BN002"]).codes() == pairs("BN002", BN)


def test_folder_is_searched_for_every_artefact():
    report = bncheck.check_path(FIXTURES / "tf1")
    assert not report.errors
    assert len(report.checked) == len(EXPECTED) + 1
    assert {f.path.split("/")[-1] for f in report if f.code == "BN003"} == {"saved_model_slim_is_training_true",
                                                                          "dcgan_sampler_train_true"}


def test_cond_v2_batch_norm_is_found_inside_the_if_branches():
    report = bncheck.check_path(FIXTURES / "tf1" / "saved_model_flag_cond_v2_default_true", select=["BN004"])
    f = next(iter(report))
    assert f.evidence_dict["flag"] == "is_training"
    # the If is lowered to Switch/Merge: the training BN is named inside its then-branch
    assert f.evidence_dict["ops"] == ("model/bn1/cond/then/FusedBatchNormV3",)


def test_layer_norm_fixture_really_holds_a_training_mode_fused_op():
    """Guards the layer-norm test above: the fused op is there, and only the layer-norm check silences it."""
    from bncheck.graph.values import attr_value
    from bncheck.loaders import Target, load

    (model,) = load(Target(str(FIXTURES / "tf1" / "frozen_layer_norm.pb"), "file"))
    fused = [n for n in model.graph.by_op("FusedBatchNormV3") if n.name.startswith("layer_norm/")]
    assert fused and all(attr_value(n.attrs["is_training"]) if "is_training" in n.attrs else True for n in fused)
