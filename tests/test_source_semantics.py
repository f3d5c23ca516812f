"""Source mode on constructs real training code uses (issue 18, items 4-8): each a minimal fixture
twin under fixtures/source/semantics/ (written in fixtures/builders/source_scripts/semantics/, copied
by the generator), the mistake found at an exact (code, path, line, layer) and its fixed twin silent
(no finding of any severity)."""
from __future__ import annotations

import os

import pytest

from bncheck.source import check_files
from conftest import FIXTURES

SEMANTICS = FIXTURES / "source" / "semantics"

EXPECTED: dict[str, list[tuple[str, str, int, str]]] = {
    # 4: control_dependencies([d_train]) runs d_train's dependencies, and none are update ops
    "gan_train_op_depends_on_train_op.py": [("BN001", "gan_train_op_depends_on_train_op.py", 30, "disc/bn"),
                                            ("BN001", "gan_train_op_depends_on_train_op.py", 30, "gen/bn"),
                                            ("BN001", "gan_train_op_depends_on_train_op.py", 32, "disc/bn"),
                                            ("BN001", "gan_train_op_depends_on_train_op.py", 32, "gen/bn")],
    # 5: inference scripts that restore and predict, graph writes without training, a wrapped model served
    "restore_predict_slim_default_training.py": [
        ("BN002", "restore_predict_slim_default_training.py", 9, "conv1/BatchNorm"),
        ("BN002", "restore_predict_slim_default_training.py", 10, "conv2/BatchNorm")],
    "restore_predict_layers_training_true.py": [("BN002", "restore_predict_layers_training_true.py", 8, "bn1")],
    "restore_or_train_by_phase.py": [("BN002", "restore_or_train_by_phase.py", 29, "conv1/BatchNorm")],
    # a generic layer wrapper that drops is_training (f(x, *args, **kwargs)), its model built at a module's top
    # level and evaluated after a restore from another module: batch_norm keeps its default is_training=True
    "restore_predict_wrapper_drops_flag": [("BN002", "restore_predict_wrapper_drops_flag/blocks.py", 9, "bn1"),
                                           ("BN002", "restore_predict_wrapper_drops_flag/blocks.py", 9, "bn2")],
    # train ops built and run, then a checkpoint restored and only the generator sampled (a notebook's last
    # cell): the batch norms the fetched tensor goes through, not the discriminator's; slim layers with
    # normalizer_fn keep the batch norms behind their input
    "restore_sample_beside_training.py": [("BN002", "restore_sample_beside_training.py", 11, "gen/g_fc/BatchNorm"),
                                          ("BN002", "restore_sample_beside_training.py", 13, "gen/g_up1/BatchNorm")],
    # a training script that evaluates each epoch in a fresh graph after a restore, the model module chosen
    # by importlib from package models/ (the only one given), a network of 20 layers looped over with enumerate
    "train_evaluate_model_by_name": [("BN002", "train_evaluate_model_by_name/blocks.py", 9, "BatchNorm")],
    "export_meta_graph_training_mode.py": [("BN002", "export_meta_graph_training_mode.py", 8, "bn1")],
    "serving_module_wraps_model.py": [("BN002", "serving_module_wraps_model.py", 21, "bn1")],
    # 6: a bias from a helper, from a method inherited from another module's class, added by hand
    "bias_from_helper.py": [("BN010", "bias_from_helper.py", 12, "bn1"), ("BN010", "bias_from_helper.py", 12, "bn2"),
                            ("BN010", "bias_from_helper.py", 14, "bn1"), ("BN010", "bias_from_helper.py", 14, "bn2")],
    "bias_inherited_method": [("BN010", "bias_inherited_method/base.py", 7, "bn1")],
    "raw_op_bias_before_bn.py": [("BN010", "raw_op_bias_before_bn.py", 10, "conv1/bn"),
                                 ("BN010", "raw_op_bias_before_bn.py", 18, "fc1/bn"),
                                 ("BN010", "raw_op_bias_before_bn.py", 26, "conv2/bn")],
    # 7: tf.contrib.eager's tape and model.variables; a trainer's self.model set from its constructor
    "tfe_gradient_tape_loop.py": [("BN009", "tfe_gradient_tape_loop.py", 26, "bn")],
    "train_step_model_from_constructor.py": [("BN009", "train_step_model_from_constructor.py", 25, "bn1")],
    # TF1: tf.layers batch norm left at training=False in a graph that minimize() trains
    "tf1_layers_training_left_default.py": [("BN009", "tf1_layers_training_left_default.py", 10, "bn1")],
    # a Sequential built with add(), wrapped in a subclassed model, trained in a tape loop
    "sequential_add_tape_loop.py": [("BN009", "sequential_add_tape_loop.py", 30, "bn1"),
                                    ("BN009", "sequential_add_tape_loop.py", 30, "bn2"),
                                    ("BN010", "sequential_add_tape_loop.py", 15, "bn2")],
    # DCGAN's ops: bias_add then a reshape to the tensor's own shape, batch norm as an object with __call__,
    # a slim layer with activation_fn=tf.identity
    "dcgan_ops_helpers.py": [("BN010", "dcgan_ops_helpers.py", 21, "d_bn1"),
                             ("BN010", "dcgan_ops_helpers.py", 29, "d_bn2")],
    # tf.cond between a training and an inference batch norm: both branch functions are walked
    "cond_batch_norm_after_dropout.py": [("BN011", "cond_batch_norm_after_dropout.py", 9, "bn1"),
                                         ("BN011", "cond_batch_norm_after_dropout.py", 10, "bn1")],
    # a model's own training flag (call(self, x, is_training=False) passing it on as its batch norms'
    # training, through a helper method and a nested layer's train_mode): left at its default in the step
    "keras_own_mode_flag.py": [("BN009", "keras_own_mode_flag.py", 52, "unit_bn"),
                               ("BN009", "keras_own_mode_flag.py", 56, "maker_bn")],
    # 8: training=True as call()'s default, passed on, is the caller's mode; a literal is fixed
    "keras_call_training_default_true.py": [("BN008", "keras_call_training_default_true.py", 24, "enc_bn")],
}

# correct code with no mistake twin: silent, and no note either
SILENT = (
    "restore_continue_training.py",  # restores, then trains: a training script (BN002 is about predictions)
    "train_writes_graph.py",  # writes its training graph for TensorBoard and checkpoints
)


def _paths(name: str) -> list[str]:
    path = SEMANTICS / name
    if path.is_dir():
        return sorted(str(p) for p in path.rglob("*.py"))
    return [str(path)]


def _check(name: str):  # type: ignore[no-untyped-def]
    result = check_files(_paths(name))
    assert not result.errors
    return result


def _found(name: str) -> list[tuple[str, str, int, str]]:
    return sorted((f.code, os.path.relpath(f.loc.path, SEMANTICS), f.loc.line, f.layer)
                  for f in _check(name).findings)


def _twin(name: str) -> str:
    return name.replace(".py", "_fixed.py") if name.endswith(".py") else name + "_fixed"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mistake_found_at_its_line(name: str) -> None:
    assert _found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixed_twin_is_silent(name: str) -> None:
    assert (SEMANTICS / _twin(name)).exists()
    assert _found(_twin(name)) == []


def test_every_fixture_has_its_twin_and_its_expectation() -> None:
    names = {p.name for p in SEMANTICS.iterdir() if p.name != "__pycache__"}
    assert names == set(EXPECTED) | {_twin(n) for n in EXPECTED} | set(SILENT)


@pytest.mark.parametrize("name", SILENT)
def test_correct_code_is_silent(name: str) -> None:
    result = _check(name)
    assert (result.findings, result.notes) == ([], [])


def test_no_fixture_leaves_a_note() -> None:
    """Every construct here is judged: none of the twins is left to a note."""
    names = sorted(EXPECTED) + [_twin(n) for n in EXPECTED]
    assert {n: _check(n).notes for n in names} == {n: [] for n in names}


def test_restored_predictions_name_the_restore() -> None:
    finding = _check("restore_predict_layers_training_true.py").findings[0]
    assert finding.message == ("the script restores a checkpoint at line 22 and runs predictions with this layer "
                               "built only in training mode: each prediction is normalised with its own batch's "
                               "statistics")
    assert dict(finding.facts)["restored at"].endswith("restore_predict_layers_training_true.py:22")


def test_restored_predictions_with_a_fed_flag_are_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "predict.py"
    path.write_text("import tensorflow.compat.v1 as tf\n\n\ndef predict(ckpt, x):\n"
                    "    flag = tf.placeholder(tf.bool, [])\n"
                    "    y = tf.layers.batch_normalization(x, training=flag, name='bn')\n"
                    "    saver = tf.train.Saver()\n"
                    "    with tf.Session() as sess:\n"
                    "        saver.restore(sess, ckpt)\n"
                    "        return sess.run(y, {flag: False})\n")
    result = check_files([str(path)])
    assert result.findings == []
    assert result.notes == [(f"{path}:9", "BN002 not judged for the predictions after the checkpoint restored here: "
                                          "the training mode of bn is a value bncheck cannot tell")]


def test_raw_bias_findings_say_where_and_propose_no_edit() -> None:
    """A bias added by hand has no use_bias to turn off: the finding has no edit, and points at the add."""
    found = {f.loc.line: f for f in _check("raw_op_bias_before_bn.py").findings}
    assert [(f.loc.line, f.loc.col, f.edits) for f in found.values()] == [(10, 13, ()), (18, 13, ()), (26, 13, ())]
    assert found[26].message == "this bias is added right before batch norm (line 27): BN cancels it"


def test_a_bias_inherited_from_another_module_names_the_batch_norm_file() -> None:
    (finding,) = _check("bias_inherited_method").findings
    assert finding.message.endswith("bias_inherited_method/net.py:10): BN cancels it")


def test_a_variable_of_unknown_shape_added_before_bn_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.py"
    path.write_text("import tensorflow.compat.v1 as tf\n\n\ndef f(x, w, shape, t):\n"
                    "    b = tf.get_variable('b', shape)\n"
                    "    return tf.layers.batch_normalization(tf.nn.conv2d(x, w, 1, 'SAME') + b, training=t, name='bn')\n")
    result = check_files([str(path)])
    assert result.findings == []
    assert result.notes == [(f"{path}:6", "BN010 not judged for bn: the shape of the variable added here is a value "
                                          "bncheck cannot tell")]


@pytest.mark.parametrize("name", ["train_step_model_from_constructor.py", "train_step_model_from_constructor_fixed.py"])
def test_a_model_followed_through_a_constructor_leaves_no_note(name: str) -> None:
    """The train step walked on its own does not know self.model; the walk from main() does."""
    assert [n for n in _check(name).notes if "BN009" in n[1]] == []


def test_every_api_name_has_a_handler_in_the_table() -> None:
    """The library's knowledge is one table: each name apis lists is handled there, once."""
    from bncheck.source import apis
    from bncheck.source.library import handled

    listed = set().union(
        apis.BN_FUNCTIONS, apis.SLIM_LAYERS, apis.BN_CLASSES, apis.BIAS_LAYER_CLASSES, apis.BIAS_LAYER_FUNCTIONS,
        apis.DROPOUT_CLASSES, apis.DROPOUT_FUNCTIONS, apis.SEQUENTIAL, apis.FUNCTIONAL, apis.RAW_LINEAR_OPS,
        apis.RAW_BIAS_ADD, apis.RAW_ADD, apis.VARIABLES, apis.GET_COLLECTION, apis.VARIABLE_SCOPES, apis.ARG_SCOPE,
        apis.GRADIENT_TAPE, apis.GROUP, apis.WIRED_TRAIN_OPS, apis.PLACEHOLDER_WITH_DEFAULT, apis.ASSIGN_FUNCTIONS,
        apis.SET_LEARNING_PHASE, apis.GRAPH_EXPORTS, apis.TF2_EXPORTS, apis.TF_FUNCTION, apis.SAVERS,
        apis.INITIALIZERS)
    assert sorted(n for n in listed if not handled(n)) == []
    assert [handled(n) for n in ("tensorflow.nn.relu", "keras.layers.conv2d", "tensorflow.train.Checkpoint")] == [
        False, False, False]
    assert [handled(n) for n in ("keras.layers.ReLU", "tensorflow.train.MomentumOptimizer", "keras.optimizers.SGD",
                                 "keras.applications.ResNet50")] == [True, True, True, True]


@pytest.mark.parametrize(("code", "notes"), [
    # a reshape to another shape moves a dense layer's per-unit bias across positions: not cancelled
    ("x = tf.reshape(tf.layers.dense(z, 128), [-1, 4, 4, 8])\n", []),
    ("x = tf.reshape(tf.layers.dense(z, 128), shape)\n", []),
    # slim's default activation is relu: what feeds batch norm is not the bias
    ("x = slim.conv2d(z, 8, [3, 3])\n", []),
    ("x = slim.conv2d(z, 8, [3, 3], activation_fn=act)\n",
     ["BN010 not judged for bn: this layer's activation_fn is a value bncheck cannot tell"]),
])
def test_what_does_not_feed_a_bias_into_batch_norm(tmp_path, code: str, notes: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.py"
    path.write_text("import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n\n\ndef f(z, shape, act, t):\n"
                    f"    {code}    return tf.layers.batch_normalization(x, training=t, name='bn')\n")
    result = check_files([str(path)])
    assert result.findings == []
    assert [n[1] for n in result.notes] == notes


def test_a_train_op_in_the_other_arm_of_an_if_runs_nothing_of_this_arm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``if phase == "test": <eval graph> else: <train graph>``: the train op of one arm is not the eval
    arm's (BN001 would otherwise claim it skips the eval layer's updates)."""
    path = tmp_path / "main.py"
    path.write_text(
        "import sys\n\nimport tensorflow.compat.v1 as tf\n\n\ndef main(phase):\n"
        "    x = tf.placeholder(tf.float32, [None, 4])\n"
        "    if phase == 'test':\n"
        "        print(tf.layers.batch_normalization(x, training=True, name='bn_eval'))\n"
        "    else:\n"
        "        h = tf.layers.batch_normalization(x, training=True, name='bn')\n"
        "        op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))\n\n\nmain(sys.argv[1])\n")
    assert [(f.code, f.loc.line, f.layer) for f in check_files([str(path)]).findings] == [("BN001", 12, "bn")]


@pytest.mark.parametrize(("extra", "train", "notes"), [
    # minimize with a var_list may train only a head: not judged
    ("", "return tf.train.AdamOptimizer().minimize(loss, var_list=head)",
     ["BN009 not judged for bn: the train op's variables (var_list, or apply_gradients' pairs) are values bncheck "
      "cannot tell, so it may not train this layer"]),
    # the same layer also built in training mode: the default-mode build is an evaluation copy
    ("    tf.layers.batch_normalization(x, training=True, name='bn', reuse=True)\n",
     "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
     "        return tf.train.AdamOptimizer().minimize(loss)", []),
    # trainable=False: frozen on purpose
    ("", "return tf.train.AdamOptimizer().minimize(loss)", []),
])
def test_tf1_batch_norm_left_in_inference_mode_is_judged_only_when_trained(
        tmp_path, extra: str, train: str, notes: list[str]) -> None:  # type: ignore[no-untyped-def]
    frozen = ", trainable=False" if not extra and not notes else ""
    path = tmp_path / "m.py"
    path.write_text("import tensorflow.compat.v1 as tf\n\n\ndef f(x, head):\n"
                    f"    h = tf.layers.batch_normalization(x, name='bn'{frozen})\n{extra}"
                    f"    loss = tf.reduce_mean(h)\n    {train}\n")
    result = check_files([str(path)])
    assert (result.findings, [n[1] for n in result.notes]) == ([], notes)


def test_a_model_own_flag_is_what_the_fix_sets() -> None:
    """The fix for a model whose call() takes ``is_training`` sets that flag, not ``training``."""
    found = {f.loc.line: f for f in _check("keras_own_mode_flag.py").findings}
    assert found[56].message.startswith("maker(...) without is_training=True in a train step")
    assert [(e.loc.line, e.loc.col, e.text) for e in found[56].edits] == [(56, 52, ", is_training=True")]


@pytest.mark.parametrize(("signature", "call", "codes"), [
    # the default True is training mode; False, None or none at all is not
    ("is_training=True", "model(x)", []),
    ("is_training=False", "model(x)", ["BN009"]),
    ("is_training=None", "model(x)", ["BN009"]),
    ("is_training", "model(x, True)", []),
    ("is_training", "model(x, is_training=True)", []),
    ("is_training=False", "model(x, is_training=False)", []),  # given: freezing is deliberate
    # keyword-only, and a second parameter before it: bound by name, not by position
    ("*, is_training=False", "model(x, is_training=True)", []),
    ("mask=None, is_training=False", "model(x, True)", ["BN009"]),
    ("mask=None, is_training=False", "model(x, None, True)", []),
])
def test_a_model_own_flag_is_bound_as_python_binds_it(tmp_path, signature: str, call: str,  # type: ignore[no-untyped-def]
                                                      codes: list[str]) -> None:
    path = tmp_path / "m.py"
    path.write_text("import tensorflow as tf\n\n\nclass Net(tf.keras.Model):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.bn = tf.keras.layers.BatchNormalization(name='bn')\n\n"
                    f"    def call(self, x, {signature}):\n        return self.bn(x, training=is_training)\n\n\n"
                    "model = Net()\nopt = tf.keras.optimizers.SGD()\n\n\ndef step(x):\n"
                    f"    with tf.GradientTape() as tape:\n        loss = tf.reduce_mean({call})\n"
                    "    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), "
                    "model.trainable_variables))\n")
    result = check_files([str(path)])
    assert [(f.code, f.loc.line, f.layer) for f in result.findings] == [(c, 19, "bn") for c in codes]
    assert result.notes == []


def test_a_flag_that_reaches_only_some_batch_norms_leaves_the_others_in_inference_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``is_training`` set at the call reaches bn1; bn2, called without it, is still frozen."""
    path = tmp_path / "m.py"
    path.write_text("import tensorflow as tf\n\n\nclass Net(tf.keras.Model):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.bn1 = tf.keras.layers.BatchNormalization(name='bn1')\n"
                    "        self.bn2 = tf.keras.layers.BatchNormalization(name='bn2')\n\n"
                    "    def call(self, x, is_training=False):\n        return self.bn2(self.bn1(x, training=is_training))\n"
                    "\n\nmodel = Net()\nopt = tf.keras.optimizers.SGD()\n\n\ndef step(x):\n"
                    "    with tf.GradientTape() as tape:\n        loss = tf.reduce_mean(model(x, is_training=True))\n"
                    "    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), "
                    "model.trainable_variables))\n")
    result = check_files([str(path)])
    assert [(f.code, f.loc.line, f.layer, f.message.split(" in a")[0]) for f in result.findings] == [
        ("BN009", 20, "bn2", "model(...) without training=True")]


def test_keywords_of_unknown_keys_leave_the_training_mode_unknown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``f(x, **opts)`` with opts bncheck cannot list may set is_training: no default is assumed."""
    path = tmp_path / "predict.py"
    path.write_text("import tensorflow.compat.v1 as tf\nimport tf_slim as slim\n\n\n"
                    "def wrap(f, **kwargs):\n    return lambda x: f(x, **kwargs)\n\n\n"
                    "def predict(ckpt, x, opts):\n    y = wrap(slim.batch_norm, **opts)(x)\n"
                    "    saver = tf.train.Saver()\n    with tf.Session() as sess:\n"
                    "        saver.restore(sess, ckpt)\n        return sess.run(y)\n")
    result = check_files([str(path)])
    assert result.findings == []
    assert result.notes == [(f"{path}:6", "BN007 not judged for BatchNorm: decay is a value bncheck cannot tell"),
                            (f"{path}:13", "BN002 not judged for the predictions after the checkpoint restored here: "
                                           "the training mode of BatchNorm is a value bncheck cannot tell")]


def test_a_module_imported_by_an_unknown_name_among_several_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two scanned modules of the package: which one runs is not known, and nothing is guessed."""
    (tmp_path / "models").mkdir()
    for name in ("small", "large"):
        (tmp_path / "models" / f"{name}.py").write_text(
            "import tensorflow as tf\n\n\ndef model(x):\n    return tf.contrib.layers.batch_norm(x)\n")
    main = tmp_path / "main.py"
    main.write_text("import importlib\nimport sys\n\nimport tensorflow as tf\n\n\ndef predict(x, ckpt):\n"
                    "    m = importlib.import_module('.' + sys.argv[1], 'models')\n    y = m.model(x)\n"
                    "    with tf.Session() as sess:\n        tf.train.Saver().restore(sess, ckpt)\n"
                    "        return sess.run(y)\n")
    result = check_files([str(main), str(tmp_path / "models" / "large.py"), str(tmp_path / "models" / "small.py")])
    assert result.findings == []
    assert result.notes == [(f"{main}:8", "the module imported here by a name bncheck cannot tell is one of 2 scanned "
                                          "modules of 'models' (models.large, models.small): what it builds is not "
                                          "followed")]


_TF1_EXPORT = '''import tensorflow as tf


def export(path):
    x = tf.placeholder(tf.float32, [None, 32, 32, 3])
    h = tf.layers.batch_normalization(x, training=FLAG, name='bn')
    saver = tf.train.Saver()
    with tf.Session() as sess:
        saver.restore(sess, "ckpt/model")
        tf.saved_model.simple_save(sess, path, {"x": x}, {"y": h})
'''

_KERAS_SERVING = '''import tensorflow as tf


class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.bn = tf.keras.layers.BatchNormalization(name='bn')

    def call(self, x, training=None):
        return self.bn(x, training=FLAG)


class Serving(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 8])])
    def serve(self, x):
        return self.model(x, training=FLAG)


def export():
    module = Serving(Net())
    tf.saved_model.save(module, "out", signatures=module.serve)
'''


@pytest.mark.parametrize("flag, mode", [("True", True), ("1", True), ("False", False), ("0", False)])
def test_a_training_flag_of_1_or_0_is_read_as_tensorflow_reads_it(tmp_path, flag: str, mode: bool) -> None:  # type: ignore[no-untyped-def]
    """``smart_cond`` takes 1 and 0 as True and False, and Keras 3 tests the flag's truth: ``training=1``
    is training mode (it was silent), ``training=0`` inference."""
    tf1, keras = tmp_path / "export_tf1.py", tmp_path / "export_keras.py"
    tf1.write_text(_TF1_EXPORT.replace("FLAG", flag))
    keras.write_text(_KERAS_SERVING.replace("FLAG", flag))
    default = tmp_path / "export_default.py"  # no signatures=: TensorFlow serves the one input_signature function
    default.write_text(_KERAS_SERVING.replace("FLAG", flag).replace(', signatures=module.serve)', ')'))
    result = check_files([str(tf1), str(keras), str(default)], jobs=1)
    assert result.notes == [] and result.errors == []
    assert [(f.code, os.path.basename(f.loc.path), f.loc.line, f.loc.col, f.layer) for f in result.findings] == ([
        ("BN002", "export_tf1.py", 6, 51, "bn"),  # at the flag
        ("BN008", "export_keras.py", 10, 36, "bn"),
        ("BN002", "export_keras.py", 20, 39, "bn"),
        ("BN008", "export_default.py", 10, 36, "bn"),
        ("BN002", "export_default.py", 20, 39, "bn"),
    ] if mode else [])


def test_a_saved_object_with_two_signed_functions_and_no_signatures_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """TensorFlow picks a default signature only when exactly one method has an input_signature."""
    path = tmp_path / "export.py"
    path.write_text(_KERAS_SERVING.replace("FLAG", "True").replace(', signatures=module.serve)', ')').replace(
        "    def serve(self, x):", "    def other(self, x):\n        return x\n\n"
        "    @tf.function(input_signature=[tf.TensorSpec([None, 8])])\n    def serve(self, x):"))
    result = check_files([str(path)], jobs=1)
    assert [(f.code, f.loc.line, f.loc.col, f.layer) for f in result.findings] == [("BN008", 10, 36, "bn")]
    assert result.notes == [(f"{path}:24", "BN002 not judged for self.model(..., training=True) in the serving "
                                           "function 'Serving.serve': its definition is not in the scanned files, so "
                                           "bncheck cannot tell whether it holds batch norm")]
