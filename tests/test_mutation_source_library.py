"""Exact outcomes mutation testing of ``bncheck/source/library.py`` showed (issue 22, item 5).

The walker's knowledge of TensorFlow/Keras calls (batch norms built, Keras layers and models called,
train ops, control dependencies, collections, exports), each survivor of the run of 060e6ba told apart
here by a small program written in the test and checked through :func:`bncheck.source.check_files`:
every finding (code, line, column, layer, message, evidence, fix, edits) and note asserted in full.
The survivors no program tells apart are listed with their reason in ``tools/mutation_equivalents.md``
("library.py (mutants of 060e6ba)").
"""
from __future__ import annotations

import pathlib
import uuid

import pytest
from source_support import write_sources

from bncheck.source import check_files
from bncheck.source.library import (
    LibCall,
    Library,
    handled,
    handler_for,
    handles,
    handles_family,
    handles_method,
)
from bncheck.source.model import UNKNOWN, Value

Outcome = tuple[list[tuple[object, ...]], list[tuple[str, str]]]

# the rules' fix texts that recur below, exactly as the findings give them
FIX_HANDWRITTEN = ('# make the train op depend on the moving-average assignments:\n'
                   'with tf.control_dependencies([update_mean, update_var]):\n'
                   '    train_op = optimizer.minimize(loss)')
FIX_KERAS_TRAINING = ('logits = model(x, training=True)  # in the train step, inside the GradientTape\n'
                      '# to freeze BN on purpose instead: layer.trainable = False (since TF 2.0 this also runs it\n'
                      '# in inference mode) so gamma/beta are not trained either')
HANDWRITTEN = "a hand-written batch norm (tf.nn.moments + assign)"
KERAS = "a Keras BatchNormalization layer"
SLIM = "tf-slim batch_norm"
LAYERS = "tf.compat.v1.layers.batch_normalization"


def _outcome(folder: pathlib.Path, text: str, name: str = "m.py") -> Outcome:
    """Check the program ``text`` (written as ``folder/name``): every finding as (code, line, column,
    layer, message, evidence, fix, edits as ((line, col, end line, end col), text, safe)), and the
    notes as (place, note); paths relative to ``folder``."""
    result = check_files(write_sources(folder, {name: text}), jobs=1)
    assert not result.errors, result.errors
    here = str(folder) + "/"

    def rel(value: object) -> object:
        return value.replace(here, "") if isinstance(value, str) else value

    found: list[tuple[object, ...]] = [
        (f.code, f.loc.line, f.loc.col, f.layer, rel(f.message), {k: rel(v) for k, v in f.facts}, f.fix,
         [((e.loc.line, e.loc.col, e.loc.end_line, e.loc.end_col), e.text, e.safe) for e in f.edits])
        for f in result.findings]
    return found, [(str(rel(where)), str(rel(note))) for where, note in result.notes]


def _not_run(line: int, col: int, layer: str, assigned: int) -> tuple[object, ...]:
    """BN001 on a hand-written layer whose assignment at line ``assigned`` of m.py the train op does not run."""
    return ("BN001", line, col, layer,
            (f"the train op does not run this hand-written layer's moving-average assignment (line {assigned}): "
            "the moving statistics are never updated"),
            {"assignment": f"m.py:{assigned}", "built with": HANDWRITTEN}, FIX_HANDWRITTEN, [])


FIX_FIXED = ("x = layers.BatchNormalization()(x)  # no training argument: the caller's mode decides\n"
             "# in a subclassed model: self.bn(x, training=training)")


def _fixed(line: int, col: int, layer: str, model: int, width: int = 4) -> tuple[object, ...]:
    """BN008 on a batch norm fixed in training mode by the flag written at (line, col), ``width`` characters
    (`True`), inside the functional model built at line ``model`` of m.py: the edit writes None there."""
    return ("BN008", line, col, layer,
            (f"training=True is fixed on this layer inside the model built at line {model}: inference runs it with "
            "batch statistics"), {"model": f"m.py:{model}", "built with": KERAS}, FIX_FIXED,
            [((line, col, line, col + width), "None", False)])


# ---- control_dependencies: update ops held in a list (a real bug, fixed) ------------------------

UNDER_CONTROL = """
    import tensorflow.compat.v1 as tf


    def bn(x, decay=0.999):
        mean, var = tf.nn.moments(x, [0])
        pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
        pop_var = tf.get_variable("pop_var", [4], trainable=False)
        UPDATES
        with tf.control_dependencies(DEPS):
            return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


    x = tf.placeholder(tf.float32, [None, 4])
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
    """
MEAN = "tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay))"
VAR = "tf.assign(pop_var, pop_var * decay + var * (1 - decay))"


@pytest.mark.parametrize(("updates", "deps"), [
    # update ops held in a list (`updates = [assign, [assign]]`, or starred into the argument's list): bncheck
    # read only an item that is itself an update op, and reported BN001 on both (a false alarm, fixed)
    pytest.param(f"updates = [{MEAN}, [{VAR}]]", "updates", id="fixed_nested_list"),
    pytest.param(f"more = [{VAR}]", f"[{MEAN}, *more]", id="fixed_starred_list"),
    # an assignment made inside the list and one named there
    pytest.param(f"update_var = {VAR}", f"[{MEAN}, update_var]", id="inline_and_named"),
])
def test_update_ops_given_to_control_dependencies_are_run(tmp_path: pathlib.Path, updates: str, deps: str) -> None:
    # the batch norm's output depends on both assignments, so the train op runs them
    assert _outcome(tmp_path, UNDER_CONTROL.replace("UPDATES", updates).replace("DEPS", deps)) == ([], [])


def test_update_ops_read_before_the_layers_are_refreshed_where_the_dependency_is_entered(
        tmp_path: pathlib.Path) -> None:
    # the edit rewrites the argument of control_dependencies (line 6, columns 30-40), where it is written
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        h = tf.layers.batch_normalization(x, training=True, name="bn1")
        with tf.control_dependencies(update_ops):
            train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([("BN001", 4, 14, "bn1",
                   ("UPDATE_OPS is read at line 4, before this layer is built at line 5: the train op's control "
                    "dependency does not hold its update ops"),
                   {"layer built at": "m.py:5", "train op": "m.py:7", "built with": LAYERS},
                   ("# after the whole model is built, before minimize():\n"
                    "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
                    "with tf.control_dependencies(update_ops):\n"
                    "    train_op = optimizer.minimize(loss, global_step=global_step)"),
                   [((6, 30, 6, 40), "tf.get_collection(tf.GraphKeys.UPDATE_OPS)", False)])], [])


def test_a_control_dependency_given_by_keyword_is_a_dependency_bncheck_cannot_follow(tmp_path: pathlib.Path) -> None:
    # `control_inputs=`: no positional argument to read, so the train op may run the updates (a note, no finding)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, training=True, name="bn1")
        with tf.control_dependencies(control_inputs=tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([], [("m.py:6", ("BN001 not judged for bn1: the train op may run its update ops through something "
                                  "bncheck cannot follow (a control dependency, a tf.group, or a loss computed under "
                                  "control_dependencies)"))])


# ---- add_to_collection: which collection a hand-written update op is put in ----------------------

def test_a_hand_written_update_is_run_only_through_the_collection_it_is_added_to(tmp_path: pathlib.Path) -> None:
    # `mine` is read into the train op's control dependencies: run; a collection named by a value bncheck cannot
    # tell: the op escapes (not judged); `others` is never read: BN001. The one-argument call adds nothing
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x, name, key, decay=0.999):
            with tf.variable_scope(name):
                mean, var = tf.nn.moments(x, [0])
                pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
                update = tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay))
                tf.add_to_collection(key, update)
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        h = bn(x, "mine", "mine") + bn(x, "unknown", keys()) + bn(x, "others", "others")
        tf.add_to_collection("others")
        with tf.control_dependencies(tf.get_collection("mine")):
            train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([_not_run(17, 16, "others", 8)], [])


# ---- hand-written updates: the method form, and the module body ----------------------------------

def test_a_moving_average_assigned_by_the_variables_own_assign_method_is_a_hand_written_update(
        tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x, decay=0.999):
            with tf.variable_scope("bn1"):
                mean, var = tf.nn.moments(x, [0])
                pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
                update = pop_mean.assign(pop_mean * decay + mean * (1 - decay))
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
        """) == ([_not_run(13, 12, "bn1", 8)], [])


def test_a_hand_written_update_in_the_module_body_with_a_literal_decay(tmp_path: pathlib.Path) -> None:
    # the batch statistics are computed in the module body (its whole text is read), no scope: the layer is
    # named after the module and the line. The literal decay is written twice, so BN007 is at the assignment
    # with no edit (rewriting one of the two would break the average: a bug, fixed)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        mean, var = tf.nn.moments(x, [0])
        pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
        update = tf.assign(pop_mean, pop_mean * 1e-5 + mean * (1 - 1e-5))
        h = tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([("BN007", 6, 10, "m@6", "decay=1e-05: the moving average is essentially the last batch",
                   {"decay": 1e-05, "built with": HANDWRITTEN},
                   "decay = 0.99  # new = decay * moving + (1 - decay) * batch", []),
                  _not_run(8, 12, "m@6", 6)], [])


# ---- tensors passed through: tf.add, reshape by a tensor's own shape, sess.run's fetches ----------

def test_a_batch_norm_fixed_in_training_mode_is_still_behind_tf_add(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((4,))
        h = tf.keras.layers.BatchNormalization(name="bn")(inp, training=True)
        model = tf.keras.Model(inp, tf.add(h, 1.0))
        """) == ([_fixed(4, 65, "bn", 5)], [])


def test_training_true_passed_by_position_is_fixed_in_the_functional_model(tmp_path: pathlib.Path) -> None:
    # `bn(x, True)` and `inner(h, True)` fix training mode as the keyword does (BN008 at each `True`; before
    # the fix no finding: a silent miss); behind a starred argument the flag's place is not known
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((4,))
        inner = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="inner_bn")])
        h = tf.keras.layers.BatchNormalization(name="bn")(inp, True)
        h = inner(h, True)
        h = tf.keras.layers.BatchNormalization(name="free")(*[h, True])
        model = tf.keras.Model(inp, h)
        """) == ([_fixed(5, 56, "bn", 8), _fixed(6, 14, "inner_bn", 8)], [])


def test_raw_ops_given_their_input_by_keyword_pass_the_batch_norms_behind_it_on(tmp_path: pathlib.Path) -> None:
    # conv2d(input=), bias_add(value=), identity(input=), reshape(tensor=): the batch norm fixed in training
    # mode is still behind the model's output (BN008)
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((8, 8, 3))
        w = tf.Variable(tf.zeros([3, 3, 3, 3]))
        b = tf.Variable(tf.zeros([3]))
        h = tf.keras.layers.BatchNormalization(name="bn")(inp, training=True)
        h = tf.nn.conv2d(input=h, filters=w, strides=1, padding="SAME")
        h = tf.nn.bias_add(value=h, bias=b)
        h = tf.identity(input=h)
        h = tf.reshape(tensor=h, shape=h.shape)
        model = tf.keras.Model(inp, h)
        """) == ([_fixed(6, 65, "bn", 11)], [])


def test_a_reshape_to_a_tensors_own_shape_keeps_the_bias_that_feeds_batch_norm(tmp_path: pathlib.Path) -> None:
    # `tf.shape(h)` and `g.shape` of the reshaped tensor itself: the dense layer's bias still feeds the batch
    # norm; `tf.shape(x)` of another tensor: values may move between channels, no finding
    fix = "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset"
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.dense(x, 4, name="d1")
        h = tf.layers.batch_normalization(tf.reshape(h, tf.shape(h)), training=True, name="bn1")
        g = tf.layers.dense(x, 4, name="d2")
        g = tf.layers.batch_normalization(tf.reshape(g, g.shape), training=True, name="bn2")
        k = tf.layers.dense(x, 4, name="d3")
        k = tf.layers.batch_normalization(tf.reshape(k, tf.shape(x)), training=True, name="bn3")
        """) == ([("BN010", 4, 5, "bn1", "this layer's bias feeds batch norm directly (line 5): BN cancels it",
                   {"batch norm at": "m.py:5"}, fix, [((4, 36, 4, 36), ", use_bias=False", False)]),
                  ("BN010", 6, 5, "bn2", "this layer's bias feeds batch norm directly (line 7): BN cancels it",
                   {"batch norm at": "m.py:7"}, fix, [((6, 36, 6, 36), ", use_bias=False", False)])], [])


# ---- Keras models: a Sequential inside a Sequential ---------------------------------------------

def test_the_batch_norms_of_a_sequential_inside_a_sequential_are_the_outer_models(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inner = tf.keras.Sequential([tf.keras.layers.Dense(4, use_bias=False), tf.keras.layers.BatchNormalization(name="bn")])
        outer = tf.keras.Sequential([inner, tf.keras.layers.Dense(2)])
        opt = tf.keras.optimizers.Adam()


        @tf.function
        def train_step(x):
            with tf.GradientTape() as tape:
                y = outer(x)
            grads = tape.gradient(y, outer.trainable_variables)
            opt.apply_gradients(zip(grads, outer.trainable_variables))
        """) == ([("BN009", 11, 13, "bn", ("outer(...) without training=True in a train step: batch norm runs in "
                                          "inference mode while the optimizer trains its gamma/beta"),
                   {"training function": "train_step", "built with": KERAS}, FIX_KERAS_TRAINING,
                   [((11, 20, 11, 20), ", training=True", False)])], [])


# ---- batch norms built by TF1 functions: what their arguments say -------------------------------

FIX_SLIM_INFERENCE = ("slim.batch_norm(x, is_training=False)  # e.g. via arg_scope / resnet_arg_scope, or the net's "
                      "is_training=False")


def _exported(line: int, col: int, layer: str, export: int) -> tuple[object, ...]:
    """BN002 on a slim batch norm built only in training mode in the graph exported at line ``export``."""
    return ("BN002", line, col, layer,
            (f"the graph exported at line {export} builds this layer only in training mode: serving normalises each "
            "request with its own batch's statistics"), {"export": f"m.py:{export}", "built with": SLIM},
            FIX_SLIM_INFERENCE, [])


def test_a_training_flag_passed_by_position_is_where_bn002_points(tmp_path: pathlib.Path) -> None:
    # is_training is slim.batch_norm's eighth parameter: the finding is at that `True` (column 59)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim

        x = tf.placeholder(tf.float32, [None, 4])
        h = slim.batch_norm(x, 0.9, True, True, None, None, None, True)
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, "out", {"x": x}, {"y": h})
        """) == ([_exported(5, 59, "BatchNorm", 7)], [])


def test_a_training_flag_set_by_an_arg_scope_is_where_bn002_points(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim

        x = tf.placeholder(tf.float32, [None, 4])
        with slim.arg_scope([slim.batch_norm], is_training=True):
            h = slim.batch_norm(x, scope="bn1")
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, "out", {"x": x}, {"y": h})
        """) == ([_exported(5, 52, "bn1", 8)], [])


def test_a_placeholder_with_default_true_used_as_a_training_flag_by_each_kind_of_batch_norm(
        tmp_path: pathlib.Path) -> None:
    # BN004 at the placeholder for the TF1 function and the Keras layer it is fed to (line of each use); a
    # default bncheck cannot tell: a note at that placeholder
    fix = ("is_training = tf.compat.v1.placeholder_with_default(False, [], name='is_training')\n"
           "# and feed {is_training: True} in the training loop only")
    message = ("the training flag defaults to True and is used by this layer (line {}): a caller that does not feed "
               "it runs batch norm in training mode")
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        is_training = tf.placeholder_with_default(True, [], name="is_training")
        maybe = tf.placeholder_with_default(default_flag(), [])
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, training=is_training, name="bn1")
        h = tf.keras.layers.BatchNormalization(name="bn2")(h, training=is_training)
        h = tf.layers.batch_normalization(h, training=maybe, name="bn3")
        """) == ([("BN004", 3, 15, "bn1", message.format(6), {"used at": "m.py:6"}, fix, []),
                  ("BN004", 3, 15, "bn2", message.format(7), {"used at": "m.py:7"}, fix, [])],
                 [("m.py:4", ("BN004 not judged for bn3: the default of this placeholder_with_default is a value "
                             "bncheck cannot tell"))])


def test_keywords_bncheck_cannot_list_leave_momentum_and_training_unknown(tmp_path: pathlib.Path) -> None:
    # `**config()`: momentum may be anything (a BN007 note) and training may be True (BN001 judged, not BN009)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def block(x):
            return tf.layers.batch_normalization(x, name="bn1", **config())


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(block(x)))
        """) == ([("BN001", 9, 12, "bn1",
                   ("the train op does not run this layer's moving-average updates: the moving statistics are never "
                   "updated"), {"layer built at": "m.py:5", "built with": LAYERS},
                   ("# after the whole model is built, before minimize():\n"
                   "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
                   "with tf.control_dependencies(update_ops):\n"
                   "    train_op = optimizer.minimize(loss, global_step=global_step)"),
                   [((9, 1, 9, 71), ("with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
                                    "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(block(x)))"),
                     False)])],
                 [("m.py:5", "BN007 not judged for bn1: momentum is a value bncheck cannot tell")])


def test_keywords_bncheck_cannot_list_may_set_a_slim_batch_norms_updates_collections(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim


        def block(x):
            return slim.batch_norm(x, scope="bn1", **config())


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(block(x)))
        """) == ([], [("m.py:6", ("BN001 not judged for bn1: its updates_collections is a value bncheck cannot tell "
                                  "(an arg_scope or a parameter), so it may update in place")),
                      ("m.py:6", "BN007 not judged for bn1: decay is a value bncheck cannot tell")])


def test_an_arg_scope_over_ops_bncheck_cannot_tell_may_set_updates_collections(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim


        def net(x, ops):
            with slim.arg_scope(ops, updates_collections=None):
                return slim.batch_norm(x, scope="bn1")


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(net(x, layer_ops())))
        """) == ([], [("m.py:7", ("BN001 not judged for bn1: its updates_collections is a value bncheck cannot tell "
                                  "(an arg_scope or a parameter), so it may update in place"))])


def test_a_batch_norm_built_with_trainable_false_is_frozen_on_purpose(tmp_path: pathlib.Path) -> None:
    # BN009's TF1 form skips the frozen layer; the other one is only a note, as a frozen layer exists
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, name="frozen", trainable=False)
        g = tf.layers.batch_normalization(x, name="trained", trainable=True)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h + g))
        """) == ([], [("m.py:5", ("BN009 not judged for trained: some layer in the scanned files is frozen with "
                                  "trainable = False, so inference-mode batch norm here may be deliberate"))])


def test_which_slim_layers_bias_feeds_the_batch_norm_after_it(tmp_path: pathlib.Path) -> None:
    # another normalizer, no biases, or relu after the bias: none; no normalizer and no activation: BN010; an
    # activation bncheck cannot tell: a note
    fix = "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset"
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim

        x = tf.placeholder(tf.float32, [None, 8, 8, 3])
        a = slim.batch_norm(slim.conv2d(x, 4, 3, normalizer_fn=slim.layer_norm, activation_fn=None, scope="a"), scope="bn_a")
        b = slim.batch_norm(slim.conv2d(x, 4, 3, normalizer_fn=None, activation_fn=None, scope="b"), scope="bn_b")
        c = slim.batch_norm(slim.conv2d(x, 4, 3, activation_fn=None, scope="c"), scope="bn_c")
        d = slim.batch_norm(slim.conv2d(x, 4, 3, activation_fn=act(), scope="d"), scope="bn_d")
        e = slim.batch_norm(slim.conv2d(x, 4, 3, activation_fn=tf.identity, biases_initializer=None, scope="e"), scope="bn_e")
        f = slim.batch_norm(slim.conv2d(x, 4, 3, activation_fn=tf.nn.relu, scope="f"), scope="bn_f")
        """) == ([("BN010", 6, 21, "bn_b", "this layer's bias feeds batch norm directly (line 6): BN cancels it",
                   {"batch norm at": "m.py:6"}, fix, [((6, 91, 6, 91), ", biases_initializer=None", False)]),
                  ("BN010", 7, 21, "bn_c", "this layer's bias feeds batch norm directly (line 7): BN cancels it",
                   {"batch norm at": "m.py:7"}, fix, [((7, 71, 7, 71), ", biases_initializer=None", False)])],
                 [("m.py:8", "BN010 not judged for bn_d: this layer's activation_fn is a value bncheck cannot tell")])


# ---- a model's own call(): its training default passed on, or a value it sets ----------------------

def test_a_calls_own_training_default_passed_on_is_the_callers_mode(tmp_path: pathlib.Path) -> None:
    # the default of a positional, keyword-only or positional-only `training` passed on to the batch norm (as a
    # keyword or by position) is whatever the caller passes; `training = True` set in the body is fixed (BN008)
    assert _outcome(tmp_path, """
        import tensorflow as tf


        class A(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn_a")

            def call(self, x, training=True):
                return self.bn(x, training=training)


        class B(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn_b")

            def call(self, x, *, training=True):
                return self.bn(x, training=training)


        class C(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn_c")

            def call(self, x, training=None):
                training = True
                return self.bn(x, training=training)


        class D(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn_d")

            def call(self, x, training=True, /):
                return self.bn(x, training)


        for m in (A(), B(), C(), D()):
            m.predict(tf.zeros([1, 4]))
        """) == ([("BN008", 29, 36, "bn_c", ("C.call calls self.bn with training=True: inference runs it with batch "
                                           "statistics"), {"model method": "C.call", "built with": KERAS},
                   FIX_FIXED, [((29, 36, 29, 44), "training", False)])],
                 [])


def test_the_training_default_of_a_method_or_function_other_than_call_is_fixed(tmp_path: pathlib.Path) -> None:
    # E.call passes nothing to forward, whose default True reaches the batch norm; helper's default reaches
    # the functional model's: both fixed in training mode (BN008), unlike call's own default passed on
    assert _outcome(tmp_path, """
        import tensorflow as tf


        class E(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn_e")

            def call(self, x):
                return self.forward(x)

            def forward(self, x, training=True):
                return self.bn(x, training=training)


        def helper(bn, x, training=True):
            return bn(x, training=training)


        inp = tf.keras.Input((4,))
        out = helper(tf.keras.layers.BatchNormalization(name="bn_f"), inp)
        model = tf.keras.Model(inp, out)
        E().predict(tf.zeros([1, 4]))
        """) == ([("BN008", 13, 36, "bn_e", ("E.call calls self.bn with training=True: inference runs it with batch "
                                           "statistics"), {"model method": "E.call", "built with": KERAS}, FIX_FIXED,
                   [((13, 36, 13, 44), "training", False)]),
                  _fixed(17, 27, "bn_f", 22, width=len("training"))], [])


# ---- calls of what bncheck cannot follow, and training values it cannot tell ------------------------

def test_calls_bncheck_cannot_follow_in_a_serving_function_and_a_tape_are_notes(tmp_path: pathlib.Path) -> None:
    # a loaded model called with training=True when serving, or without training in a tape that applies
    # gradients to it: not judged (its definition is not scanned); a known model given a training value bncheck
    # cannot tell: a note, unless it is the serving function's own parameter passed through
    assert _outcome(tmp_path, """
        import tensorflow as tf

        backbone = tf.keras.models.load_model("backbone.keras")
        model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
        opt = tf.keras.optimizers.Adam()


        @tf.function(input_signature=[tf.TensorSpec([None, 4])])
        def serve(x, flag=None):
            a = backbone(x, training=True)
            b = model(x, training=flag)
            return model(a + b, training=settings.training)


        def fit(x):
            with tf.GradientTape() as tape:
                loss = backbone(x)
            grads = tape.gradient(loss, backbone.trainable_variables)
            opt.apply_gradients(zip(grads, backbone.trainable_variables))


        tf.saved_model.save(model, "out", signatures={"serving_default": serve})
        """) == ([], [("m.py:10", ("BN002 not judged for backbone(..., training=True) in the serving function 'serve': "
                                   "its definition is not in the scanned files, so bncheck cannot tell whether it "
                                   "holds batch norm")),
                      ("m.py:12", ("BN002 not judged for model in the serving function 'serve': training= is a value "
                                   "bncheck cannot tell")),
                      ("m.py:17", ("BN009 not judged for backbone(...) in fit: the model's definition is not in the "
                                   "scanned files (or it is loaded), so bncheck cannot tell whether it holds batch norm"))])


def test_a_call_bncheck_cannot_follow_outside_the_tape_of_a_train_step_is_a_note(tmp_path: pathlib.Path) -> None:
    # a train_step's own frame, not only its tape: the loaded backbone whose variables it trains is not judged
    assert _outcome(tmp_path, """
        import tensorflow as tf

        backbone = tf.keras.models.load_model("backbone.keras")


        class Trainer(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.head = tf.keras.layers.Dense(2)

            def train_step(self, data):
                x, y = data
                features = backbone(x)
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(self.head(features))
                grads = tape.gradient(loss, backbone.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, backbone.trainable_variables))
                return {"loss": loss}
        """) == ([], [("m.py:13", ("BN009 not judged for backbone(...) in Trainer.train_step: the model's definition is "
                                   "not in the scanned files (or it is loaded), so bncheck cannot tell whether it "
                                   "holds batch norm"))])


def test_a_call_bncheck_cannot_follow_with_training_true_in_a_models_call_is_a_note(tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow as tf

        hub_layer = tf.keras.models.load_model("features.keras")


        class Net(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(name="bn")

            def call(self, x, training=None):
                return self.bn(hub_layer(x, training=True), training=training)


        Net().predict(tf.zeros([1, 4]))
        """) == ([], [("m.py:12", ("BN008 not judged for hub_layer(..., training=True) in Net.call: its definition is "
                                   "not in the scanned files, so bncheck cannot tell whether it holds batch norm"))])


def test_a_training_flag_that_is_any_kind_of_parameter_of_the_serving_function_is_passed_through(
        tmp_path: pathlib.Path) -> None:
    # positional-only, positional or keyword-only: the caller's value (no note); a local name: a note
    assert _outcome(tmp_path, """
        import tensorflow as tf

        model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])


        @tf.function(input_signature=[tf.TensorSpec([None, 4])])
        def serve(x, p=None, /, q=None, *, k=None):
            a = model(x, training=p)
            b = model(x, training=q)
            c = model(x, training=k)
            t = settings.training
            return model(a + b + c, training=t)


        tf.saved_model.save(model, "out", signatures={"serving_default": serve})
        """) == ([], [("m.py:12", ("BN002 not judged for model in the serving function 'serve': training= is a value "
                                   "bncheck cannot tell"))])


def test_a_bias_added_by_hand_passes_on_the_batch_norms_behind_it(tmp_path: pathlib.Path) -> None:
    # `matmul(h, w) + b` after a batch norm fixed in training mode: still behind the functional model's output
    # (BN008), and behind the tensor a TF1 script runs after restoring a checkpoint (BN002)
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((4,))
        w = tf.Variable(tf.zeros([4, 4]))
        b = tf.Variable(tf.zeros([4]))
        h = tf.keras.layers.BatchNormalization(name="bn")(inp, training=True)
        model = tf.keras.Model(inp, tf.matmul(h, w) + b)
        """) == ([_fixed(6, 65, "bn", 7)], [])
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        w = tf.get_variable("w", [4, 4])
        b = tf.get_variable("b", [4])
        h = tf.layers.batch_normalization(x, training=True, name="bn1")
        y = tf.matmul(h, w) + b
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(y))
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, "ckpt")
            print(sess.run(y))
        """, "tf1.py") == ([("BN002", 6, 47, "bn1",
                             ("a checkpoint is restored at line 12 and the tensors run after it (no train op) go "
                              "through this layer, built only in training mode: each prediction is normalised with "
                              "its own batch's statistics"),
                             {"restored at": "tf1.py:12", "built with": LAYERS},
                             ("tf.compat.v1.layers.batch_normalization(x, training=False)  # or feed the training flag "
                             "as False"), [])], [])


def test_a_variable_added_to_a_matmul_is_a_bias_by_its_rank(tmp_path: pathlib.Path) -> None:
    # rank 1 on either side of `+`: a bias (BN010); rank 2: not a bias; a shape bncheck cannot tell (tf.add): a note
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        x = tf.placeholder(tf.float32, [None, 4])
        w = tf.get_variable("w", [4, 4])
        b1 = tf.get_variable("b1", [4])
        b2 = tf.Variable(tf.zeros(shape=(4, 4)))
        b3 = tf.get_variable("b3", shape)
        h1 = tf.layers.batch_normalization(b1 + tf.matmul(x, w), training=True, name="bn1")
        h2 = tf.layers.batch_normalization(tf.matmul(x, w) + b2, training=True, name="bn2")
        h3 = tf.layers.batch_normalization(tf.add(tf.matmul(x, w), b3), training=True, name="bn3")
        h4 = tf.layers.batch_normalization(tf.matmul(x, w) + w, training=True, name="bn4")
        """) == ([("BN010", 8, 36, "bn1", "this bias is added right before batch norm (line 8): BN cancels it",
                   {"batch norm at": "m.py:8"},
                   "y = tf.nn.conv2d(x, w, strides, padding)  # no bias_add / + b: batch norm's beta provides the offset",
                   [])],
                 [("m.py:10", ("BN010 not judged for bn3: the shape of the variable added here is a value bncheck "
                              "cannot tell"))])


def test_saved_model_save_without_signatures_serves_the_one_signed_method_a_subclass_does_not_override(
        tmp_path: pathlib.Path) -> None:
    # Exporter serves its one @tf.function(input_signature=...) method (debug has no signature): BN002. Plain
    # overrides serve without a signature, so nothing of its is served (its own walk as a function named serve is
    # a note); a Keras model is served with its own inference signature
    assert _outcome(tmp_path, """
        import tensorflow as tf

        model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
        other = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="other_bn")])


        class Exporter(tf.Module):
            def __init__(self, net):
                self.net = net

            @tf.function(input_signature=[tf.TensorSpec([None, 4])])
            def serve(self, x):
                return self.net(x, training=True)

            @tf.function
            def debug(self, x):
                return self.net(x, training=True)


        class Plain(Exporter):
            @tf.function
            def serve(self, x):
                return self.net(x, training=True)


        tf.saved_model.save(Exporter(model), "a")
        tf.saved_model.save(Plain(other), "b")
        tf.saved_model.save(model, "c")
        """) == ([("BN002", 13, 37, "bn", ("the serving function 'Exporter.serve' calls self.net with training=True: each "
                                          "request is normalised with its own batch's statistics"),
                   {"serving function": "Exporter.serve", "built with": KERAS},
                   ("serve = tf.function(lambda x: model(x, training=False), input_signature=[...])\n"
                   "# or model.export(path): Keras serving endpoints run in inference mode"),
                   [((13, 37, 13, 41), "False", True)])],
                 [("m.py:23", ("BN002 not judged for self.net(..., training=True) in the serving function 'Plain.serve': "
                              "its definition is not in the scanned files, so bncheck cannot tell whether it holds "
                              "batch norm"))])


def test_what_feeds_each_batch_norm_appended_to_a_sequential(tmp_path: pathlib.Path) -> None:
    # in the list and by add(): a dense layer's bias feeds the unnamed batch norm (BN010; the same layer again
    # after it is fed by a batch norm), dropout feeds after_dropout (BN011), relu after the bias feeds after_relu
    assert _outcome(tmp_path, """
        import tensorflow as tf

        bn = tf.keras.layers.BatchNormalization()
        model = tf.keras.Sequential([tf.keras.layers.Dense(4), bn, bn])
        model.add(tf.keras.layers.Dropout(0.5))
        model.add(tf.keras.layers.BatchNormalization(name="after_dropout"))
        model.add(tf.keras.layers.Dense(2, activation="relu"))
        model.add(tf.keras.layers.BatchNormalization(name="after_relu"))
        """) == ([("BN010", 4, 30, "BatchNormalization@3", ("this layer's bias feeds batch norm directly (line 3): BN "
                                                           "cancels it"), {"batch norm at": "m.py:3"},
                   "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset",
                   [((4, 53, 4, 53), ", use_bias=False", False)]),
                  ("BN011", 6, 11, "after_dropout", ("dropout (line 5) feeds this batch norm directly: its moving "
                                                    "variance will not match inference"), {"dropout at": "m.py:5"},
                   "x = BatchNormalization()(x)\nx = Dropout(rate)(x)  # dropout after batch norm (or after the block)",
                   [])], [])


# ---- Keras in a TF1 graph: layers and models called build batch norms there --------------------------

def test_keras_batch_norms_called_in_graph_mode_are_named_after_their_model(tmp_path: pathlib.Path) -> None:
    # a named model's batch norm is `net/bn`; in inference mode (training=False) a layer or model creates no
    # updates; a layer called without training may run in training mode: BN001 for it and for `net/bn`
    fix = ("# Keras layers keep their updates on the model, not in UPDATE_OPS:\n"
           "with tf.control_dependencies(model.updates):\n"
           "    train_op = optimizer.minimize(loss)")
    edit = [((10, 1, 10, 64), ("with tf.control_dependencies(model.updates):\n"
                              "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))"), False)]
    message = "the train op does not run this layer's moving-average updates: the moving statistics are never updated"
    graph = "a Keras BatchNormalization layer in graph mode"
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        tf.disable_v2_behavior()
        net = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")], name="net")
        anon = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn2")])
        x = tf.placeholder(tf.float32, [None, 4])
        h = net(x, training=True) + anon(x, training=False)
        h = tf.keras.layers.BatchNormalization(name="bn3")(h, training=False)
        h = tf.keras.layers.BatchNormalization(name="bn4")(h)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([("BN001", 10, 12, "bn4", message, {"layer built at": "m.py:9", "built with": graph}, fix, edit),
                  ("BN001", 10, 12, "net/bn", message, {"layer built at": "m.py:7", "built with": graph}, fix, edit)],
                 [])


def test_a_scope_named_by_a_value_bncheck_cannot_tell_is_a_question_mark_in_the_layer_name(
        tmp_path: pathlib.Path) -> None:
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def block(x, scope):
            with tf.variable_scope("outer"):
                with tf.variable_scope(scope):
                    return tf.layers.batch_normalization(x, training=True)


        def hand(x, scope, decay=0.9):
            with tf.variable_scope("outer"), tf.variable_scope(scope):
                mean, var = tf.nn.moments(x, [0])
                pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
                update = tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay))
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        h = hand(block(x, make_scope()), make_scope())
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([_not_run(20, 12, "outer/?", 14),
                  ("BN001", 20, 12, "outer/?/batch_normalization@7",
                   ("the train op does not run this layer's moving-average updates: the moving statistics are never "
                   "updated"), {"layer built at": "m.py:7", "built with": LAYERS},
                   ("# after the whole model is built, before minimize():\n"
                   "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
                   "with tf.control_dependencies(update_ops):\n"
                   "    train_op = optimizer.minimize(loss, global_step=global_step)"),
                   [((20, 1, 20, 64), ("with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
                                      "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))"), False)])],
                 [])


def test_a_moving_average_is_a_batch_norms_only_where_its_function_computes_or_names_batch_statistics(
        tmp_path: pathlib.Path) -> None:
    # ema's own lines hold no `moments`/`batch_norm` (the functions just before and after it do): an average of
    # something else, not judged; ema_bn names batch_norm: its assignment is a batch norm's (BN001)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def stats(x):
            return tf.nn.moments(x, [0])
        def ema(pop, value, decay=0.9):
            return tf.assign(pop, pop * decay + value * (1 - decay))
        def more(x):
            return tf.nn.moments(x, [1])


        def ema_bn(pop, value, decay=0.9):
            # as slim.batch_norm does
            return tf.assign(pop, pop * decay + value * (1 - decay))


        x = tf.placeholder(tf.float32, [None, 4])
        w = tf.get_variable("w", [4])
        avg = tf.get_variable("avg", [4], trainable=False)
        up = ema(avg, w)
        up2 = ema_bn(avg, w)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(x * w))
        """) == ([_not_run(22, 12, "ema_bn@14", 14)], [])


def test_a_decay_computed_from_literals_is_judged_where_the_update_names_it(tmp_path: pathlib.Path) -> None:
    # `decay = 1.0 - 0.9` has no one literal to point at: BN007 is at the name in the update, with no edit; the
    # update op named in control_dependencies runs (no BN001)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x):
            decay = 1.0 - 0.9
            mean, var = tf.nn.moments(x, [0])
            pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
            update = tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay))
            with tf.control_dependencies([update]):
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
        """) == ([("BN007", 8, 65, "bn@8", "decay=0.1: the moving average is essentially the last batch",
                   {"decay": 0.1, "built with": HANDWRITTEN},
                   "decay = 0.99  # new = decay * moving + (1 - decay) * batch", [])], [])


def test_a_decay_written_as_a_default_is_fixed_there_and_one_passed_in_is_a_note(tmp_path: pathlib.Path) -> None:
    # `decay=0.1`: BN007 at the default, rewritten to 0.9; a decay passed as a value bncheck cannot tell: a note
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x, decay=0.1, other=None):
            mean, var = tf.nn.moments(x, [0])
            pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
            pop_var = tf.get_variable("pop_var", [4], trainable=False)
            update_mean = tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay))
            update_var = tf.assign(pop_var, pop_var * other + var * (1 - other))
            with tf.control_dependencies([update_mean, update_var]):
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x, other=momentum())))
        """) == ([("BN007", 4, 17, "bn@8", "decay=0.1: the moving average is essentially the last batch",
                   {"decay": 0.1, "built with": HANDWRITTEN},
                   "decay = 0.99  # new = decay * moving + (1 - decay) * batch", [((4, 17, 4, 20), "0.9", True)])],
                 [("m.py:9", "BN007 not judged for bn@9: decay is a value bncheck cannot tell")])


def test_the_forms_of_a_hand_written_moving_average_assignment(tmp_path: pathlib.Path) -> None:
    # tf.assign_sub(pop, (pop - batch) * (1 - decay)), its method form, and assign imported by name: each a
    # hand-written update nothing runs; an assign without a value is none
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf
        from tensorflow.compat.v1 import assign


        def bn(x, decay=0.9):
            mean, var = tf.nn.moments(x, [0])
            pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
            pop_var = tf.get_variable("pop_var", [4], trainable=False)
            pop_a = tf.get_variable("pop_a", [4], trainable=False)
            pop_b = tf.get_variable("pop_b", [4], trainable=False)
            u1 = tf.assign_sub(pop_mean, (pop_mean - mean) * (1 - decay))
            u2 = pop_var.assign_sub((pop_var - var) * (1 - decay))
            u3 = assign(pop_a, pop_a * decay + mean * (1 - decay))
            u4 = tf.assign(pop_b)
            u5 = pop_b.assign()
            return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
        """) == ([_not_run(20, 12, "bn@11", 11), _not_run(20, 12, "bn@12", 12), _not_run(20, 12, "bn@13", 13)], [])


def test_a_callee_on_the_files_last_line_is_named_as_written(tmp_path: pathlib.Path) -> None:
    # the model call is the last line of the file (no line after it): still read back as `net`
    assert _outcome(tmp_path, """
        import tensorflow as tf

        net = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
        opt = tf.keras.optimizers.Adam()


        @tf.function
        def train_step(x, grads):
            with tf.GradientTape() as tape:
                opt.apply_gradients(zip(grads, net.trainable_variables))
                return net(x)""") == ([("BN009", 11, 16, "bn", ("net(...) without training=True in a train step: batch "
                                                                  "norm runs in inference mode while the optimizer trains "
                                                                  "its gamma/beta"),
                                         {"training function": "train_step", "built with": KERAS}, FIX_KERAS_TRAINING,
                                         [((11, 21, 11, 21), ", training=True", False)])], [])


def test_a_callee_written_over_two_lines_is_named_model(tmp_path: pathlib.Path) -> None:
    # the one-line callee is named as written (BN009 on it); the text of one over two lines is not read back,
    # so that call is named `model`, which the step's trainable_variables do not name: a note, not a guess
    assert _outcome(tmp_path, """
        import tensorflow as tf

        models = {"a": tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])}
        opt = tf.keras.optimizers.Adam()


        @tf.function
        def train_step(x):
            with tf.GradientTape() as tape:
                y = models[
                    "a"](x)
                z = models["a"](x)
            grads = tape.gradient(y + z, models["a"].trainable_variables)
            opt.apply_gradients(zip(grads, models["a"].trainable_variables))
        """) == ([("BN009", 12, 13, "bn", ('models["a"](...) without training=True in a train step: batch norm runs in '
                                          "inference mode while the optimizer trains its gamma/beta"),
                   {"training function": "train_step", "built with": KERAS}, FIX_KERAS_TRAINING,
                   [((12, 26, 12, 26), ", training=True", False)])],
                 [("m.py:10", ("BN009 not judged for model(...) in train_step: the train step does not read its "
                              "trainable_variables, so it may be a model that is not trained here (a teacher, a "
                              "frozen feature extractor)"))])


RESTORED_AND_RUN = """
    import tensorflow.compat.v1 as tf

    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.batch_normalization(x, training=True, name="bn1")
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
    saver = tf.train.Saver()
    with tf.Session() as sess:
        saver.restore(sess, "ckpt")
        print(sess.run(FETCHES))
    """


@pytest.mark.parametrize(("fetches", "read"), [
    ("h", True), ("[[[[h]]]]", True), ("[h, tf.add(step(), 1)]", False), ('{"a": [{"b": [h]}]}', True), ('{"out": {"h": h}, "more": [(h,)]}', True),
    ("[[[[[h]]]]]", False), ('{"a": [{"b": [{"c": h}]}]}', False)])
def test_sess_run_fetches_are_read_four_lists_or_dicts_deep(tmp_path: pathlib.Path, fetches: str, read: bool) -> None:
    # deeper, the fetch is a value bncheck does not read: it may be a train op, so nothing is judged; so is
    # tf.add of values bncheck cannot tell (the call passes on only the tensors it is given)
    predicted: tuple[object, ...] = ("BN002", 4, 47, "bn1",
                 ("a checkpoint is restored at line 9 and the tensors run after it (no train op) go through this "
                 "layer, built only in training mode: each prediction is normalised with its own batch's statistics"),
                 {"restored at": "m.py:9", "built with": LAYERS},
                 "tf.compat.v1.layers.batch_normalization(x, training=False)  # or feed the training flag as False", [])
    assert _outcome(tmp_path, RESTORED_AND_RUN.replace("FETCHES", fetches)) == ([predicted] if read else [], [])


# ---- the table: handlers registered by name, family and method ----------------------------------

def _fake(lib: Library, c: LibCall) -> Value:
    return UNKNOWN


def test_a_handler_registered_for_names_handles_each_and_a_name_is_registered_once() -> None:
    one, two = f"bncheck_test_{uuid.uuid4().hex}.one", f"bncheck_test_{uuid.uuid4().hex}.two"
    assert handles(one, two)(_fake) is _fake
    assert (handler_for(one), handler_for(two), handled(one), handled(f"{one}x")) == (_fake, _fake, True, False)
    with pytest.raises(AssertionError, match=one):
        handles(one)(_fake)


def test_a_family_handler_handles_the_names_it_accepts() -> None:
    prefix = f"bncheck_test_{uuid.uuid4().hex}."
    assert handles_family(prefix, lambda rest: rest.startswith("Yes"))(_fake) is _fake
    assert (handler_for(prefix + "YesPlease"), handler_for(prefix + "no")) == (_fake, None)


def test_the_library_knows_batch_norm_functions_and_lets_other_tensorflow_calls_pass_tensors() -> None:
    assert (handled("tensorflow.layers.batch_normalization"), handled("tensorflow.nn.relu")) == (True, False)


def test_a_method_handler_is_called_on_a_value_bncheck_does_not_follow(tmp_path: pathlib.Path) -> None:
    method = f"bncheck_test_{uuid.uuid4().hex}"
    calls: list[tuple[str, int, int, int]] = []

    def record(lib: Library, c: LibCall) -> Value:
        calls.append((c.canon, c.loc.line, len(c.args), len(c.kwargs)))
        return UNKNOWN

    assert handles_method(method)(record) is record
    assert _outcome(tmp_path, f"""
        import tensorflow as tf

        bn = tf.keras.layers.BatchNormalization(name="bn")
        thing.{method}(1, 2, k=3)
        """) == ([], [])
    assert calls == [(method, 4, 2, 1)]
    with pytest.raises(AssertionError, match=method):
        handles_method(method)(record)


def test_a_tf_layers_batch_norm_fixed_in_training_mode_inside_a_functional_model(tmp_path: pathlib.Path) -> None:
    # bn_build's own fixed flag: only `training=True` written at the call is fixed (BN008 at the `True`);
    # `training=False` written there is not
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((4,))
        h = tf.compat.v1.layers.batch_normalization(inp, training=True, name="bn")
        h = tf.compat.v1.layers.batch_normalization(h, training=False, name="off")
        model = tf.keras.Model(inp, h)
        """) == ([_fixed(4, 59, "bn", 6)], [])


def test_a_keras_layer_given_its_input_by_keyword_passes_on_the_batch_norm_fixed_before_it(
        tmp_path: pathlib.Path) -> None:
    # `layer(inputs=h)`: the tensor given by keyword is the layer's input, so the model still holds `a`'s fix
    assert _outcome(tmp_path, """
        import tensorflow as tf

        inp = tf.keras.Input((4,))
        h = tf.keras.layers.BatchNormalization(name="a")(inp, training=True)
        h = tf.keras.layers.BatchNormalization(name="b")(inputs=h)
        model = tf.keras.Model(inp, h)
        """) == ([_fixed(4, 64, "a", 6)], [])


def test_a_moving_average_in_a_function_computing_tf_nn_moments_is_a_batch_norms(tmp_path: pathlib.Path) -> None:
    # `moments` alone (no `batch_norm` in the function's lines) makes the assignment a batch norm's: BN001
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def ema_m(pop, x, decay=0.9):
            mean, _ = tf.nn.moments(x, [0])
            return tf.assign(pop, pop * decay + mean * (1 - decay))


        x = tf.placeholder(tf.float32, [None, 4])
        w = tf.get_variable("w", [4])
        avg = tf.get_variable("avg", [4], trainable=False)
        up = ema_m(avg, x * w)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(x * w))
        """) == ([_not_run(13, 12, "ema_m@6", 6)], [])


def test_the_batch_norm_of_an_unnamed_model_called_in_graph_mode_keeps_its_own_name(tmp_path: pathlib.Path) -> None:
    # no model name: no prefix (`bn2`, not `None/bn2`)
    fix = ("# Keras layers keep their updates on the model, not in UPDATE_OPS:\n"
           "with tf.control_dependencies(model.updates):\n"
           "    train_op = optimizer.minimize(loss)")
    edit = [((7, 1, 7, 64), ("with tf.control_dependencies(model.updates):\n"
                            "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))"), False)]
    message = "the train op does not run this layer's moving-average updates: the moving statistics are never updated"
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf

        tf.disable_v2_behavior()
        anon = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn2")])
        x = tf.placeholder(tf.float32, [None, 4])
        h = anon(x)
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """) == ([("BN001", 7, 12, "bn2", message, {"layer built at": "m.py:6",
                   "built with": "a Keras BatchNormalization layer in graph mode"}, fix, edit)], [])
