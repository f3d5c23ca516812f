"""The exact dataflow core (issue 8): layers found, momenta solved, APIs told from structure,
train ops found by dataflow, and "could not judge" as a visible note, on real-TF fixtures."""
from __future__ import annotations

import pytest

import bncheck
from bncheck.loaders import discover, load
from bncheck.rules import RULES
from bncheck.rules.context import Context
from conftest import FIXTURES, LazyModule


def contexts(fixture: str) -> list[Context]:
    return [Context(m) for t in discover(str(FIXTURES / fixture)) for m in load(t)]


def layers(fixture: str) -> dict[str, object]:
    return {layer.name: layer for ctx in contexts(fixture) for layer in ctx.layers}


# Every fixture a rule example names, with the batch-norm layers it really holds: a VALID example
# can never pass because nothing was recognised.
GEN = ("generator/g_bn0", "generator/g_bn1", "generator/g_bn2")
BN = ("model/bn1", "model/bn2")
SLIM = ("net/conv1/BatchNorm", "net/conv2/BatchNorm")
MOBILENET_V2 = ("bn_Conv1", "expanded_conv_depthwise_BN", "expanded_conv_project_BN", "Conv_1_bn") + tuple(
    f"block_{i}_{part}_BN" for i in range(1, 17) for part in ("expand", "depthwise", "project"))
MOBILENET_V3 = ("Conv/BatchNorm", "Conv_1/BatchNorm", "expanded_conv/depthwise/BatchNorm",
                "expanded_conv/project/BatchNorm") + tuple(
    f"expanded_conv_{i}/{part}/BatchNorm" for i in range(1, 11) for part in ("expand", "depthwise", "project"))
HOLDS = {
    "keras3/checkpoint_custom_loop_training_missing": ("bn1", "bn2"),
    "keras3/checkpoint_custom_loop_training_true": ("bn1", "bn2"),
    "keras3/checkpoint_nan_variance": ("bn1", "bn2"),
    "keras3/custom_loop_training_missing.keras": ("bn1", "bn2"),
    "keras3/export_clean": ("bn1", "bn2"),
    "keras3/fit_clean.keras": ("bn1", "bn2"),
    "keras3/momentum_0.1.keras": ("bn1", "bn2"),
    "keras3/saved_model_serving_training_false": ("bn1", "bn2"),
    "keras3/saved_model_serving_training_true": ("bn1", "bn2"),
    # two BNs of a subclassed model share their TF variable names (classifier/moving_mean): named by
    # their object paths in the SavedModel (module.model.bn_a / .bn_b)
    "keras3/subclassed_two_bn_serving_training_true": ("model/bn_a", "model/bn_b"),
    "keras3/subclassed_two_bn_serving_training_false": ("model/bn_a", "model/bn_b"),
    # a tf.train.Checkpoint of it on its own: named from the checkpoint's object graph
    "keras3/subclassed_two_bn_checkpoint_training_missing": ("model/bn_a", "model/bn_b"),
    "keras3/subclassed_two_bn_checkpoint_training_true": ("model/bn_a", "model/bn_b"),
    # the same model through keras.export.ExportArchive: its object graph lists variables flat
    "keras3/subclassed_two_bn_archive_training_true": ("classifier (batch_normalization_1)",
                                                       "classifier (batch_normalization_1_2)"),
    "keras3/subclassed_two_bn_archive_training_false": ("classifier (batch_normalization_1)",
                                                        "classifier (batch_normalization_1_2)"),
    "keras3/sequential_clean.keras": ("bn1",),
    "keras3/train_signature_bn_frozen": ("bn1", "bn2"),
    "keras3/train_signature_training_missing": ("bn1", "bn2"),
    "keras3/train_signature_axis3_training_missing": ("bn1", "bn2"),
    "keras3/train_signature_axis3_training_true": ("bn1", "bn2"),
    "keras3/untrained_scale_false_export": ("bn1", "bn2"),
    "keras3/train_signature_training_true": ("bn1", "bn2"),
    "keras3/training_kwarg.keras": ("block/bn1", "bn2"),
    "keras3/untrained.keras": ("bn1", "bn2"),
    "tf1/dcgan_sampler_train_false": GEN,
    "tf1/dcgan_sampler_train_true": GEN,
    "tf1/dcgan_train.meta": ("discriminator/d_bn1",) + GEN,
    "tf1/frozen_flag_default_true.pbtxt": BN,
    "tf1/frozen_layer_norm.pb": ("bn1",),
    "tf1/frozen_layers_training_false.pb": BN,
    "tf1/frozen_layers_training_true.pb": BN,
    "tf1/frozen_reshape_bn_scale_false_training_false.pb": ("bn_reshaped",),
    "tf1/frozen_reshape_bn_scale_false_training_true.pb": ("bn_reshaped",),
    "tf1/handwritten_decay_0.999_wired.meta": ("bn1", "bn2"),
    "tf1/handwritten_decay_1e-5_unwired.meta": ("bn1", "bn2"),
    "tf1/handwritten_ema_cond_decay_0.999.meta": ("bn1", "bn2"),
    "tf1/handwritten_ema_cond_decay_0.1.meta": ("bn1", "bn2"),
    "tf1/handwritten_ema_cond_unwired.meta": ("bn1", "bn2"),
    "tf1/layers_renorm_wired.meta": ("model/bn1", "model/bn2"),
    "tf1/layers_renorm_no_update_ops.meta": ("model/bn1", "model/bn2"),
    "tf1/layers_virtual_batch_wired.meta": ("model/bn1", "model/bn2"),
    "tf1/layers_virtual_batch_no_update_ops.meta": ("model/bn1", "model/bn2"),
    "tf1/handwritten_decay_1e-5_wired.meta": ("bn1", "bn2"),
    "tf1/handwritten_pop_stats_checkpoint_unwired": ("bn1", "bn2"),
    "tf1/handwritten_pop_stats_checkpoint_wired": ("bn1", "bn2"),
    "tf1/keras_graph_mode_model_updates.meta": ("net/bn1",),
    "tf1/keras_graph_mode_without_updates.meta": ("net/bn1",),
    "tf1/layers_checkpoint_no_updates": BN,
    "tf1/layers_checkpoint_with_updates": BN,
    "tf1/layers_cond_v2_flag_no_update_ops.meta": BN,
    "tf1/layers_cond_v2_flag_update_ops_wired.meta": BN,
    "tf1/layers_deep_dense_momentum_wired.meta": ("mlp/bn_deep", "mlp/bn_default"),
    "tf1/layers_momentum_1.0.meta": BN,
    "tf1/handwritten_assign_add_decay_0.9.meta": ("bn1",),
    "tf1/handwritten_assign_add_decay_0.1.meta": ("bn1",),
    "tf1/handwritten_checkpoint_only_variance_wired": ("bn1", "bn2"),
    "tf1/layers_checkpoint_step_0": BN,
    "tf1/layers_is_inference_flag_wired.meta": BN,
    "tf1/mixed_layers_and_keras_without_updates.meta": ("keras_bn", "layers_bn"),
    "tf1/layers_checkpoint_saver_trainable_only": BN,
    "tf1/layers_two_models_one_trained.meta": BN + ("unused/model/bn1", "unused/model/bn2"),
    "tf1/layers_momentum_0.1.meta": BN,
    "tf1/layers_ref_no_control_deps.meta": BN,
    "tf1/layers_ref_update_ops_wired.meta": BN,
    "tf1/layers_resource_update_ops_too_early.meta": BN,
    "tf1/layers_resource_update_ops_wired.meta": BN,
    "tf1/layers_towers_first_tower_updates.meta": BN,
    "tf1/layers_train_and_eval_graph.meta": BN,
    "tf1/maml_second_order.meta": ("maml/norm1", "maml/norm2"),
    "tf1/saved_model_flag_cond_v2_default_false": BN,
    "tf1/saved_model_flag_cond_v2_default_true": BN,
    "tf1/saved_model_flag_default_false": BN,
    "tf1/saved_model_flag_default_true": BN,
    "tf1/saved_model_flag_is_input": BN,
    "tf1/saved_model_pbtxt_training_false": BN,
    "tf1/saved_model_pbtxt_training_true": BN,
    "tf1/saved_model_slim_is_training_false": SLIM,
    "tf1/saved_model_slim_is_training_true": SLIM,
    "tf1/slim_bare_batch_norms_create_train_op.meta": ("resnet/BatchNorm", "resnet/BatchNorm_1", "resnet/preact"),
    "tf1/slim_bare_batch_norms_minimize.meta": ("resnet/BatchNorm", "resnet/BatchNorm_1", "resnet/preact"),
    "tf1/slim_create_train_op.meta": SLIM,
    "tf1/slim_minimize_without_updates.meta": SLIM,
    "tf1/slim_updates_collections_none.meta": SLIM,
    "tfkeras/fit_clean.h5": ("bn1", "bn2"),
    "tfkeras/momentum_0.1.h5": ("bn1", "bn2"),
    "tfkeras/saved_model_clean": ("bn1", "bn2"),
    "tfkeras/saved_model_layer_norm": ("bn1", "bn2"),
    "tfkeras/saved_model_serving_training_true": ("bn1", "bn2"),
    "tfkeras/training_kwarg.h5": ("bn1", "bn2"),  # tf-keras .h5 names nested layers by their own name
    "keras3/frozen_base_training_true.keras": ("base/bn1",),
    "keras3/frozen_base_training_false.keras": ("base/bn1",),
    "keras3/nested_training_true.keras": ("base/bn1",),
    "keras3/custom_bn_subclass_fit.keras": ("bn1", "bn2"),  # a registered BatchNormalization subclass
    "keras3/custom_bn_subclass_custom_loop.keras": ("bn1", "bn2"),
    "keras3/mobilenet_v2_serving_training_true": MOBILENET_V2,
    "keras3/mobilenet_v2_serving_training_false": MOBILENET_V2,
    "tfkeras/frozen_base_training_true.h5": ("base/bn1",),
    "tfkeras/frozen_base_training_false.h5": ("base/bn1",),
    "tfkeras/nested_training_true.h5": ("base/bn1",),
    "tfkeras/custom_bn_subclass_fit.h5": ("bn1", "bn2"),
    "tfkeras/custom_bn_subclass_custom_loop.h5": ("bn1", "bn2"),
    "tfkeras/custom_block.h5": ("block1/batch_normalization",),  # found by its weights only
    "tfkeras/mobilenet_v3_custom_loop_training_missing.h5": MOBILENET_V3,
    "tfkeras/mobilenet_v3_fit.h5": MOBILENET_V3,
    # BN007 boundaries (tests/test_mutation_kills.py): 0.5 fine, 1.0 not, mixed momenta
    "keras3/momentum_0.5_and_1.0.keras": ("bn1", "bn2"),
    "tf1/layers_momentum_0.5_then_0.1.meta": BN,
    "tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta": ("bn1",),
    "tf1/layers_checkpoint_two_optimizers_no_updates": BN,  # BN005's cause names both train ops
    "tf1/layers_checkpoint_two_optimizers_training_false": BN,
    "tf1/layers_mode_string_flag_wired.meta": BN,  # training = tf.equal(mode, "train")
    # a tf.cond the user wrote around the layers (frozen: the op scope keeps the cond's name)
    "tf1/cond_around_layers_default_true.pb": ("model/bn",),
    "tf1/cond_around_layers_default_false.pb": ("model/bn",),
    # frozen: the two branches' ops (model, model_1 name scopes) read the same constants, two layers
    "tf1/frozen_cond_around_layers_default_true.pb": ("model/bn",),  # both branches read model/bn/* constants
    "tf1/frozen_cond_around_layers_default_false.pb": ("model/bn",),
    "tf1/frozen_unfused_layers_training_true.pb": ("model/bn1", "model/bn2"),
    "tf1/frozen_unfused_layers_training_false.pb": ("model/bn1", "model/bn2"),  # named by the constants
    "keras3/frozen_inference.pb": ("net_1/bn1_1", "net_1/bn2_1"),  # the op scopes of the traced call
    "keras3/frozen_inference_axis3.pb": ("net_1/bn1_1", "net_1/bn2_1"),
    "keras3/subclassed_two_bn.weights.h5": (),  # no config, unnamed weights: none recognised, a note says why
}


def test_every_rule_example_is_in_the_holds_table():
    used = {e.fixture for r in RULES for e in r.invalid + r.valid}
    assert used <= set(HOLDS), sorted(used - set(HOLDS))


@pytest.mark.parametrize("fixture", sorted(HOLDS))
def test_fixture_holds_exactly_its_batch_norm_layers(fixture):
    assert sorted(layers(fixture)) == sorted(HOLDS[fixture])


@pytest.mark.parametrize(("fixture", "momenta"), [
    ("tf1/layers_deep_dense_momentum_wired.meta", {"mlp/bn_deep": 0.9, "mlp/bn_default": 0.99}),
    ("tf1/slim_bare_batch_norms_create_train_op.meta",
     {"resnet/BatchNorm": 0.95, "resnet/BatchNorm_1": 0.95, "resnet/preact": 0.95}),
    ("tf1/dcgan_train.meta", dict.fromkeys(("discriminator/d_bn1",) + GEN, 0.9)),
    ("tf1/maml_second_order.meta", {"maml/norm1": 0.999, "maml/norm2": 0.999}),
    ("tf1/layers_cond_v2_flag_update_ops_wired.meta", dict.fromkeys(BN, 0.99)),
    ("tf1/saved_model_flag_default_false", dict.fromkeys(BN, 0.99)),  # smart_cond(flag, 0.99, 1.0)
    ("tf1/layers_is_inference_flag_wired.meta", dict.fromkeys(BN, 0.99)),  # training = not is_inference
    ("tf1/handwritten_pop_stats_checkpoint_wired", {"bn1": 0.9, "bn2": 0.9}),
    ("tf1/layers_momentum_0.1.meta", dict.fromkeys(BN, 0.1)),
    ("keras3/train_signature_training_true", {"bn1": 0.99, "bn2": 0.99}),
    ("tf1/layers_momentum_1.0.meta", dict.fromkeys(BN, 1.0)),
    ("tf1/handwritten_assign_add_decay_0.9.meta", {"bn1": 0.9}),  # pop += (batch - pop) * 0.1
    ("tf1/layers_momentum_0.5_then_0.1.meta", {"model/bn1": 0.5, "model/bn2": 0.1}),
    ("tf1/layers_mode_string_flag_wired.meta", dict.fromkeys(BN, 0.99)),  # the predicate is a comparison
    ("tf1/layers_renorm_wired.meta", dict.fromkeys(BN, 0.99)),  # sqrt(variance + eps) averaged
    ("tf1/layers_virtual_batch_wired.meta", dict.fromkeys(BN, 0.99)),  # virtual batches' moments averaged
])
def test_momentum_is_solved_exactly(fixture, momenta):
    found = layers(fixture)
    for name, expected in momenta.items():
        solved = {round(u.momentum, 6) for u in found[name].updates}
        assert solved == {expected}, name


@pytest.mark.parametrize(("fixture", "api"), [
    ("tf1/slim_bare_batch_norms_minimize.meta", "slim"),  # BatchNorm_1 and scope="preact" too
    ("tf1/dcgan_train.meta", "slim"),  # tf.contrib.layers.batch_norm is tf-slim's
    ("tf1/maml_second_order.meta", "slim"),
    ("tf1/layers_cond_v2_flag_no_update_ops.meta", "layers"),  # lowered cond_v2 is not Keras
    ("tf1/layers_resource_update_ops_wired.meta", "layers"),
    ("tf1/keras_graph_mode_without_updates.meta", "keras-graph"),
    ("tf1/handwritten_pop_stats_checkpoint_unwired", "handwritten"),
    ("tf1/frozen_layers_training_true.pb", "unknown"),  # a frozen graph does not say who built it
    ("keras3/saved_model_serving_training_true", "keras"),
    ("tfkeras/saved_model_serving_training_true", "keras"),
])
def test_api_is_decided_from_structure(fixture, api):
    assert {layer.api for layer in layers(fixture).values()} == {api}


def test_unknown_api_gets_a_generic_fix_not_another_apis():
    (finding, _) = sorted(bncheck.check_path(FIXTURES / "tf1/frozen_layers_training_true.pb"), key=lambda f: f.layer)
    assert finding.evidence_dict["built with"] == "an unrecognised batch-norm implementation"
    assert "training=False / is_training=False" in finding.fix


def test_slim_fix_for_every_slim_scope():
    report = bncheck.check_path(FIXTURES / "tf1/slim_bare_batch_norms_minimize.meta")
    assert {f.evidence_dict["built with"] for f in report} == {"tf-slim batch_norm"}
    assert all("create_train_op" in f.fix for f in report)


def test_transposed_convolution_is_a_forward_op():
    (ctx,) = contexts("tf1/dcgan_sampler_train_true")
    assert ctx.graph.by_op("Conv2DBackpropInput"), "fixture lost its conv2d_transpose"
    assert ctx.train_ops[0] == () and ctx.optimizer_updates == frozenset()
    assert [e.name for e in ctx.entries] == ["signature 'serving_default'"]


def test_second_order_gradients_make_no_phantom_layers():
    (ctx,) = contexts("tf1/maml_second_order.meta")
    assert ctx.graph.by_op("FusedBatchNormGradV3"), "fixture lost its batch-norm gradients"
    assert any("FusedBatchNormGradV3_grad" in n.name for n in ctx.graph.by_op("SquaredDifference"))
    assert [layer.name for layer in ctx.layers] == ["maml/norm1", "maml/norm2"]


def test_hand_written_values_are_found_through_the_layers_own_variables():
    report = bncheck.check_path(FIXTURES / "tf1/handwritten_pop_stats_checkpoint_unwired", select=["BN005"])
    ev = next(f for f in report if f.layer == "bn1").evidence_dict
    assert ev["moving_mean"] == "all 0 (4 values)" and ev["moving_variance"] == "all 1 (4 values)"
    assert "gamma (trained)" in ev and "beta (trained)" in ev and ev["global_step"] == 20
    (ctx,) = contexts("tf1/handwritten_pop_stats_checkpoint_unwired")
    roles = ctx.variable_roles(next(layer for layer in ctx.layers if layer.name == "bn1"))
    assert roles == {"moving_mean": "bn1/pop_mean", "moving_variance": "bn1/pop_var",
                     "gamma": "bn1/scale", "beta": "bn1/beta"}


def test_layer_norm_is_not_a_batch_norm_but_a_reshaped_batch_norm_is():
    assert sorted(layers("tf1/frozen_layer_norm.pb")) == ["bn1"]
    (reshaped,) = layers("tf1/frozen_reshape_bn_scale_false_training_true.pb").values()
    assert [op.training for op in reshaped.ops] == [True]


tf = LazyModule("tensorflow")  # imported by the first test that uses it, not at collection
v1 = LazyModule("tensorflow.compat.v1")


def test_a_graph_without_batch_norm_is_a_note_not_a_clean_verdict():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3], name="images")
        tf.nn.relu(v1.layers.conv2d(x, 4, 3, name="conv"), name="features")
    report = bncheck.check_graph(graph.as_graph_def())
    assert report.codes() == set()
    assert [n for _, n in report.notes] == [
        "bncheck: no batch-norm layer was recognised in this graph, so nothing in it was judged "
        "(a model without batch norm, or one built in a way bncheck does not know)"]


def test_a_keras3_weights_file_says_why_nothing_is_judged():
    """model.save_weights: no config, and each layer's weights are vars/0, vars/1... (not named)."""
    report = bncheck.check_path(str(FIXTURES / "keras3" / "subclassed_two_bn.weights.h5"), jobs=1)
    assert (report.codes(), report.errors) == (set(), [])
    assert [n for _, n in report.notes] == [
        "bncheck: a weights file without the model's config, whose weights are not named (Keras 3 .weights.h5 "
        "stores each layer's as vars/0, vars/1, ...): which layers are batch norms cannot be told, so none is "
        "judged; check the .keras file or the SavedModel instead"]


def test_a_momentum_that_cannot_be_solved_is_a_note_never_a_number():
    """decay fed at run time: the update is not affine with a constant weight."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        decay = v1.placeholder(tf.float32, [], name="decay")
        with v1.variable_scope("bn"):
            pop_mean = v1.get_variable("pop_mean", [4], initializer=v1.zeros_initializer(), trainable=False)
            pop_var = v1.get_variable("pop_var", [4], initializer=v1.ones_initializer(), trainable=False)
            mean, var = tf.nn.moments(x, [0])
            updates = [v1.assign(pop_mean, pop_mean * decay + mean * (1 - decay)),
                       v1.assign(pop_var, pop_var * decay + var * (1 - decay))]
            y = tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
        w = v1.get_variable("w", [4, 1])
        with tf.control_dependencies(updates):
            v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(tf.matmul(y, w)))
    report = bncheck.check_graph(graph)
    assert report.codes() == set()
    notes = [n for _, n in report.notes]
    assert len(notes) == 2 and all(n.startswith("BN007: the assignment bn/Assign") for n in notes)
    assert all("its momentum is not judged" in n for n in notes)


def test_bn009_fix_for_a_hand_written_layer_says_use_batch_statistics():
    from bncheck.rules import fixes

    text = fixes.training_mode_in_train_step("handwritten")
    assert "tf.nn.moments" in text and "update_mean" in text and "pop_mean" not in text
    assert "training=True" in fixes.training_mode_in_train_step("unknown")


def test_bn005_tells_the_cause_it_sees_in_the_same_artefact():
    (bn009,) = [f for f in bncheck.check_path(FIXTURES / "keras3/train_signature_training_missing", select=["BN005"])
                if f.layer == "bn1"]
    assert bn009.message.startswith("signature 'train' runs this layer in inference mode (BN009), and indeed")
    (bn001,) = [f for f in bncheck.check_path(FIXTURES / "tf1/layers_checkpoint_no_updates", select=["BN005"])
                if f.layer == "model/bn1"]
    assert bn001.message.startswith("the update ops are not run by Adam (BN001), and indeed after 20 steps")


def test_only_the_mean_update_missing_is_named():
    (finding,) = [f for f in bncheck.check_path(FIXTURES / "tf1/handwritten_checkpoint_only_variance_wired")
                  if f.layer == "bn1"]
    assert finding.code == "BN001"
    assert finding.evidence_dict["moving variables"] == ("bn1/pop_mean",)
    assert finding.evidence_dict["update ops not run"] == ("bn1/Assign",)


def test_a_clean_verdict_only_when_everything_was_judged():
    from bncheck.reporters.terminal import summary

    judged = bncheck.check_path(FIXTURES / "tf1/slim_create_train_op.meta")
    assert str(summary(judged)) == "✓ no batch-norm problems found in 1 input"
    partly = bncheck.check_path(FIXTURES / "keras3/untrained.keras")
    assert str(summary(partly, notes_hidden=True)) == (
        "⚠ no findings, but not everything could be judged in 1 input; 1 note (--show-notes)")


def test_values_that_are_not_there_are_a_note():
    """Saver(var_list=trainable_variables()) leaves the moving statistics out of the checkpoint."""
    report = bncheck.check_path(FIXTURES / "tf1/layers_checkpoint_saver_trainable_only")
    assert report.codes() == set()
    assert [n for _, n in report.notes] == [
        "BN005 model/bn1, model/bn2: the moving statistics of 2 layer(s) were not found in checkpoint "
        "model.ckpt-5, so whether they were updated could not be judged"]


def test_assign_add_hand_written_layer_is_hand_written():
    assert {layer.api for layer in layers("tf1/handwritten_assign_add_decay_0.1.meta").values()} == {"handwritten"}


def test_a_keras_config_without_batch_norm_is_a_note(tmp_path):
    keras = pytest.importorskip("keras")
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LayerNormalization()(inp)))
    model.save(tmp_path / "no_bn.keras")
    report = bncheck.check_path(tmp_path / "no_bn.keras")
    assert report.codes() == set()
    assert [n for _, n in report.notes] == [
        "bncheck: no batch-norm layer was recognised in this model config, so nothing in it was judged "
        "(a model without batch norm, or one built in a way bncheck does not know)"]


@pytest.mark.parametrize(("fixture", "layer", "roles"), [
    # Keras 3 inference (unfused): Rsqrt(moving_variance + eps) * gamma, beta - moving_mean * inv
    ("keras3/export_clean", "bn1", {"gamma": "bn1/gamma", "beta": "bn1/beta",
                                    "moving_mean": "bn1/moving_mean", "moving_variance": "bn1/moving_variance"}),
    # tf-keras fused inference op: inputs 1-4
    ("tfkeras/saved_model_clean", "bn1", {"gamma": "bn1/gamma", "beta": "bn1/beta",
                                          "moving_mean": "bn1/moving_mean", "moving_variance": "bn1/moving_variance"}),
    # training-mode fused op with TF1.x empty mean/variance inputs: the moving variables come from the updates
    ("tf1/layers_resource_update_ops_wired.meta", "model/bn1", {
        "gamma": "model/bn1/gamma", "beta": "model/bn1/beta",
        "moving_mean": "model/bn1/moving_mean", "moving_variance": "model/bn1/moving_variance"}),
    # slim's default batch norm has no gamma (scale=False)
    ("tf1/slim_create_train_op.meta", "net/conv1/BatchNorm", {
        "beta": "net/conv1/BatchNorm/beta", "moving_mean": "net/conv1/BatchNorm/moving_mean",
        "moving_variance": "net/conv1/BatchNorm/moving_variance"}),
])
def test_variable_roles_come_from_dataflow(fixture, layer, roles):
    (ctx,) = contexts(fixture)
    found = next(item for item in ctx.layers if item.name == layer)
    assert ctx.variable_roles(found) == roles
    assert set(found.variables) == {roles["moving_mean"], roles["moving_variance"]}
    assert ctx.affine_variables(found) == sorted(v for r, v in roles.items() if r in ("gamma", "beta"))


def test_shared_subexpressions_are_solved_once():
    """200 AssignSub updates over a 16-deep Add(x, x) chain of a batch statistic: 2**16 paths each
    if re-explored, one memoised pass here (issue 12's 12 KB GraphDef that took 48 s)."""
    import sys
    import time

    sys.path.insert(0, str(FIXTURES.parent / "fuzz"))
    import hostile
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto

    graph_def = hostile._msg("tensorflow.GraphDef")
    hostile._node(graph_def, "x", "Placeholder")
    hostile._node(graph_def, "bn", "FusedBatchNormV3", "x", "x", "x", "x", "x", is_training=True)
    prev = "bn:1"
    for i in range(16):
        hostile._node(graph_def, f"add{i}", "AddV2", prev, prev)
        prev = f"add{i}"
    for k in range(200):
        hostile._node(graph_def, f"v{k}", "VariableV2")
        hostile._node(graph_def, f"update{k}", "AssignSub", f"v{k}", prev)
    start = time.process_time()
    (layer,) = find_layers(graph_from_proto(graph_def))
    assert time.process_time() - start < 10  # exponential re-exploration would take minutes
    assert len(layer.updates) == 200 and {u.momentum for u in layer.updates} == {1.0}


def _bn_heavy_keras(tmp_path, n: int):
    """A Keras 3 .keras file whose config lists ``n`` batch-norm layers (weights of the first only)."""
    import copy
    import json
    import zipfile

    src = FIXTURES / "keras3/sequential_clean.keras"
    with zipfile.ZipFile(src) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(members["config.json"])
    layers = config["config"]["layers"]
    bn = next(layer for layer in layers if layer["class_name"] == "BatchNormalization")
    copies = []
    for i in range(n):
        layer = copy.deepcopy(bn)
        layer["config"]["name"] = f"bn_{i}"
        copies.append(layer)
    config["config"]["layers"] = [layers[0]] + copies + [layer for layer in layers[1:] if layer is not bn]
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / f"bn_{n}.keras"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_cost_is_linear_in_the_number_of_keras_layers(tmp_path):
    """Issue 12's 30,000-layer config took minutes through per-layer list scans; the ratio of two
    sizes tells linear (about 8) from quadratic (about 64) on any machine."""
    import time

    from bncheck.engine import check_paths

    def cpu(n: int) -> float:
        path = _bn_heavy_keras(tmp_path, n)
        start = time.process_time()
        report = check_paths([str(path)], jobs=0, isolate=False)
        assert not report.errors and len(report.notes) == n - 1  # every layer without weights is a note
        return time.process_time() - start

    small, large = cpu(1000), cpu(8000)
    assert large / max(small, 1e-3) < 20


def test_cost_is_linear_in_the_number_of_h5_layers(tmp_path):
    """The tf-keras .h5 twin of the test above (issue 12: an 85 MB config with 100k layers took 266 s)."""
    import json
    import shutil
    import time

    import h5py

    from bncheck.engine import check_paths

    def cpu(n: int) -> float:
        path = tmp_path / f"bn_{n}.h5"
        shutil.copy(FIXTURES / "tfkeras/fit_clean.h5", path)
        with h5py.File(path, "r+") as f:
            config = json.loads(f.attrs["model_config"])
            layers = config["config"]["layers"]
            bn = next(layer for layer in layers if layer["class_name"] == "BatchNormalization")
            for i in range(n):
                layers.append(json.loads(json.dumps(bn).replace(f'"{bn["config"]["name"]}"', f'"extra_bn_{i}"')))
            f.attrs["model_config"] = json.dumps(config)
        start = time.process_time()
        report = check_paths([str(path)], jobs=0, isolate=False)
        assert not report.errors and len(report.notes) == n  # the extra layers have no weights: notes
        return time.process_time() - start

    small, large = cpu(1000), cpu(8000)
    assert large / max(small, 1e-3) < 20


def test_mixed_apis_in_one_graph_each_get_their_own_fix():
    """UPDATE_OPS holds the tf.compat.v1.layers updates only: the Keras layer is told apart by that."""
    found = layers("tf1/mixed_layers_and_keras_without_updates.meta")
    assert {name: layer.api for name, layer in found.items()} == {"layers_bn": "layers", "keras_bn": "keras-graph"}
    fixes = {f.layer: f.fix for f in bncheck.check_path(FIXTURES / "tf1/mixed_layers_and_keras_without_updates.meta")}
    assert "UPDATE_OPS" in fixes["layers_bn"] and "model.updates" in fixes["keras_bn"]
