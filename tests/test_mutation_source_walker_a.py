"""Exact outcomes the mutants of ``bncheck/source/walker.py`` (part 1: ``call``, the statements,
``bind``, ``attribute``, ``binop``, the budget guard, the given-file origins and the small helpers)
that the source tests let survive showed (issue 22, item 5).

Each test checks a small program written here with :func:`bncheck.source.check_files` and asserts
every finding (code, file, line, column, layer, message) and every note of the outcome. The
survivors no program tells apart are listed with their reason in ``tools/mutation_equivalents.md``
("walker.py, part 1").
"""
from __future__ import annotations

import pathlib

import pytest
from source_support import write_sources

from bncheck.source import check_files, walker

Finding = tuple[str, str, int, int, str, str]
Outcome = tuple[list[Finding], list[tuple[str, str]], list[str]]


def _check(folder: pathlib.Path, files: dict[str, str], given: int | None = None) -> Outcome:
    """Write ``files``, check the first ``given`` (all by default) with one job: the findings as
    (code, file, line, column, layer, message), the notes and the errors, paths relative to ``folder``."""
    here = str(folder) + "/"
    result = check_files(write_sources(folder, files)[:given], jobs=1)
    return ([(f.code, f.loc.path.replace(here, ""), f.loc.line, f.loc.col, f.layer, f.message.replace(here, ""))
             for f in result.findings],
            [(str(where).replace(here, ""), note.replace(here, "")) for where, note in result.notes],
            [str(e).replace(here, "") for e in result.errors])


def _last_batch(momentum: str) -> str:
    return f"momentum={momentum}: the moving average is essentially the last batch"


def _bias(line: int) -> str:
    return f"this layer's bias feeds batch norm directly (line {line}): BN cancels it"


# ---- _is_main_guard, _is_static: what a module's main guard and a class's static methods walk ----


def test_a_main_guard_walks_only_its_body_and_static_and_class_methods_take_no_self(tmp_path: pathlib.Path) -> None:
    code = """
        import tensorflow as tf


        class Net(tf.keras.Model):
            @staticmethod
            def block(x, momentum):
                return tf.keras.layers.BatchNormalization(momentum=momentum, name="static_bn")(x)

            @classmethod
            def make(cls, momentum):
                return tf.keras.layers.BatchNormalization(momentum=momentum, name="class_bn")

            def call(self, x):
                y = self.block(x, 0.1)
                return Net.make(0.2)(y)


        if __name__ == "__main__":
            bn = tf.keras.layers.BatchNormalization(momentum=0.3, name="main_bn")
        else:
            bn = tf.keras.layers.BatchNormalization(momentum=0.4, name="imported_bn")
        """
    assert _check(tmp_path, {"m.py": code}) == (
        [("BN007", "m.py", 14, 27, "static_bn", _last_batch("0.1")),
         ("BN007", "m.py", 15, 25, "class_bn", _last_batch("0.2")),
         ("BN007", "m.py", 19, 54, "main_bn", _last_batch("0.3"))], [], [])


# ---- _origin: the lines of a followed module mapped to the given file's call that reached them ----

ORIGIN_TRAIN = """
    import tensorflow as tf
    from blocks import late, early, flagged


    def build(x):
        y = late(x)
        z = flagged(y, False)
        w = flagged(z, True)
        return early(w)
    """

ORIGIN_BLOCKS = """
    import tensorflow as tf


    def early(x):
        return tf.keras.layers.BatchNormalization(
            momentum=0.1, name="early_bn")(x)


    def flagged(x, deep):
        if deep:
            x = tf.keras.layers.BatchNormalization(momentum=0.2, name="deep_bn")(x)
        return x


    def late(x):
        for layer in [tf.keras.layers.Conv2D(8, 3, name="conv"),
                      tf.keras.layers.BatchNormalization(momentum=0.3, name="late_bn")]:
            x = layer(x)
        return tf.nn.relu(x)
    """


def test_each_line_of_a_followed_module_is_reported_at_the_first_call_that_walked_it(tmp_path: pathlib.Path) -> None:
    # every line of a statement without a body (early's second line), a header's lines up to its body
    # (late's `for` over two lines), not the body of an `if` the first call skipped (deep_bn: the second
    # call), and no line before the statement (early's lines are not late's, walked first)
    assert _check(tmp_path, {"train.py": ORIGIN_TRAIN, "blocks.py": ORIGIN_BLOCKS}, given=1) == (
        [("BN007", "train.py", 6, 5, "late_bn", _last_batch("0.3")),
         ("BN010", "train.py", 6, 5, "late_bn", _bias(18)),
         ("BN007", "train.py", 8, 5, "deep_bn", _last_batch("0.2")),
         ("BN007", "train.py", 9, 5, "early_bn", _last_batch("0.1"))], [], [])


# ---- binop: constants folded, lists joined, tensors carried through arithmetic ----

FOLDED = """
    import tensorflow as tf


    def build(x):
        a = tf.keras.layers.BatchNormalization(momentum=0.05 + 0.05, name="bn" + "_add")
        b = tf.keras.layers.BatchNormalization(momentum=0.5 * 0.4, name="bn_%d" % 2)
        c = tf.keras.layers.BatchNormalization(momentum=3 / 10, name="bn_div")
        d = tf.keras.layers.BatchNormalization(momentum=5 % 4, name="bn_%s" ** 2)
        repeated = [tf.keras.layers.Conv2D(8, 3, name="twice")] * 2
        for layer in [tf.keras.layers.Conv2D(8, 3, name="conv")] + [a]:
            x = layer(x)
        return b(c(x))
    """

SCALED_OUTPUT = """
    import tensorflow as tf

    inputs = tf.keras.Input((4,))
    h = tf.keras.layers.BatchNormalization(name="bn")(inputs, training=True) * 2.0
    model = tf.keras.Model(inputs, h)
    """


def test_constants_are_folded_lists_joined_and_tensors_carried_through_arithmetic(tmp_path: pathlib.Path) -> None:
    # +, *, / of numbers and strings, `%` formatting of a string only (5 % 4 and ** are not folded);
    # a list repeated is not a list the walk knows, two lists joined are (the loop is unrolled)
    assert _check(tmp_path, {"m.py": FOLDED}) == (
        [("BN007", "m.py", 5, 9, "bn_add", _last_batch("0.1")),
         ("BN007", "m.py", 6, 9, "bn_2", _last_batch("0.2")),
         ("BN007", "m.py", 7, 9, "bn_div", _last_batch("0.3")),
         ("BN010", "m.py", 10, 19, "bn_add", _bias(11))],
        [("m.py:8", "BN007 not judged for BatchNormalization@8: momentum is a value bncheck cannot tell")], [])
    # a tensor scaled by a constant still holds the batch norm it went through (and its fixed flag)
    assert _check(tmp_path, {"k.py": SCALED_OUTPUT}) == (
        [("BN008", "k.py", 4, 68, "bn", ("training=True is fixed on this layer inside the model built at line 5: "
          "inference runs it with batch statistics"))], [], [])


# ---- _too_deep: a statement too deeply nested for the stack costs only itself ----

DEEP = " + ".join(["a"] * 900)
TOO_DEEP = f"""import tensorflow as tf
export_dir = "out"
total: float = {DEEP}
total += {DEEP}


def build(x, a):
    enumerate = {DEEP}
    for i, layer in enumerate([tf.keras.layers.Conv2D(8, 3, name="conv"), tf.keras.layers.BatchNormalization(name="bn")]):
        x = layer(x)
    return x
"""
SKIPPED = ("this statement is nested too deeply for Python's stack and is not analysed (what it assigns is unknown); "
           "the rest of the file is")


def test_a_too_deep_annotated_or_augmented_assignment_is_a_note_and_what_it_binds_is_unknown(
        tmp_path: pathlib.Path) -> None:
    # the line before the deep statement names an export (`export_dir`): only the statement's own lines
    # decide whether BN001 is judged; the name it binds is unknown, not unbound (this `enumerate` is not
    # the builtin: the loop over it is not unrolled, so no layer is known to feed the batch norm)
    assert _check(tmp_path, {"m.py": TOO_DEEP}) == (
        [], [("m.py:3", SKIPPED), ("m.py:4", SKIPPED), ("m.py:8", SKIPPED)], [])


# ---- _guarded: a walk the stack cannot hold outside any statement (a parameter's default) ----

DEEP_DEFAULT = f"""import tensorflow as tf


def main(x, scale={DEEP}):
    return tf.keras.layers.BatchNormalization(momentum=0.1, name="bn")(x)
"""


def test_a_roots_too_deep_default_stops_its_walk_with_a_note_at_the_files_first_line(tmp_path: pathlib.Path) -> None:
    # the default is read before any statement of the walk: the note is at the file's first line
    assert _check(tmp_path, {"m.py": DEEP_DEFAULT}) == (
        [], [("m.py:1", ("source analysis of main stopped here: nested too deeply for Python's stack; BN001 and the "
                        "export checks of BN002 are not judged for it"))], [])


DEEP_NESTED_DEFAULT = f"""import tensorflow.compat.v1 as tf


def main():
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.batch_normalization(x, training=True, name="bn")

    def unused(y, shift={DEEP}):
        return y

    return tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
"""


def test_a_nested_defs_too_deep_default_leaves_bn001_unjudged_for_the_walk(tmp_path: pathlib.Path) -> None:
    # without the nested def, BN001 is found at the train op (line 11); the never-called def is walked
    # after main's body, and its default stops that walk: the train op's verdict would be a guess
    assert _check(tmp_path, {"m.py": DEEP_NESTED_DEFAULT}) == (
        [], [("m.py:1", ("source analysis of main stopped here: nested too deeply for Python's stack; BN001 and the "
                        "export checks of BN002 are not judged for it"))], [])


# ---- _drain: nested functions never called are walked once, with the names they close over ----

NESTED = """
    import tensorflow as tf


    def build(x):
        m = 0.1

        def called(y, momentum):
            return tf.keras.layers.BatchNormalization(momentum=momentum, name="called_bn")(y)

        def never(y):
            return tf.keras.layers.BatchNormalization(momentum=m, name="never_bn")(y)

        return called(x, 0.2)
    """


def test_a_nested_function_never_called_is_walked_with_its_definers_names_and_a_called_one_is_not_walked_again(
        tmp_path: pathlib.Path) -> None:
    # `called` walked again on its own would read an unknown momentum (a note)
    assert _check(tmp_path, {"m.py": NESTED}) == (
        [("BN007", "m.py", 5, 9, "never_bn", _last_batch("0.1")),
         ("BN007", "m.py", 13, 22, "called_bn", _last_batch("0.2"))], [], [])


# ---- _stmt, call: the statement a train op is built in (BN001's edit wraps it) ----

TRAIN_OPS = """
    import tensorflow.compat.v1 as tf


    def assigned(x):
        h = tf.layers.batch_normalization(x, training=True, name="bn1")
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        return train_op


    def annotated(x):
        h = tf.layers.batch_normalization(x, training=True, name="bn2")
        train_op: tf.Operation = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        return train_op


    def returned(x):
        h = tf.layers.batch_normalization(x, training=True, name="bn3")
        return tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))


    def expression(x):
        h = tf.layers.batch_normalization(x, training=True, name="bn4")
        tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))


    def parenthesised(x):
        h = tf.layers.batch_normalization(x, training=True, name="bn5")
        (tf.train.AdamOptimizer().minimize(tf.reduce_mean(h)))
    """


WIRED = """
    import tensorflow.compat.v1 as tf
    import tf_slim as slim


    def wired(x):
        h = slim.batch_norm(x, is_training=True, scope="bn")
        train_op = slim.learning.create_train_op(tf.reduce_mean(h), tf.train.AdamOptimizer(), update_ops=[])
        return train_op
    """


def _edits(folder: pathlib.Path, files: dict[str, str]) -> list[tuple[str, int, int, str, list[tuple[object, ...]]]]:
    """(code, line, column, layer, edits as (line, column, end line, end column, text)) of each finding."""
    result = check_files(write_sources(folder, files), jobs=1)
    return [(f.code, f.loc.line, f.loc.col, f.layer,
             [(e.loc.line, e.loc.col, e.loc.end_line, e.loc.end_col, e.text) for e in f.edits]) for f in result.findings]


def test_bn001s_edit_wraps_the_whole_statement_that_builds_the_train_op(tmp_path: pathlib.Path) -> None:
    wrap = "    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n        {}"
    minimize = "tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))"
    assert _edits(tmp_path, {"m.py": TRAIN_OPS}) == [
        ("BN001", 6, 16, "bn1", [(6, 1, 6, 68, wrap.format(f"train_op = {minimize}"))]),
        ("BN001", 12, 30, "bn2", [(12, 1, 12, 82, wrap.format(f"train_op: tf.Operation = {minimize}"))]),
        ("BN001", 18, 12, "bn3", [(18, 1, 18, 64, wrap.format(f"return {minimize}"))]),
        ("BN001", 23, 5, "bn4", [(23, 1, 23, 57, wrap.format(minimize))]),
        ("BN001", 28, 6, "bn5", [(28, 1, 28, 59, wrap.format(f"({minimize})"))])]
    # slim's train op told to run no update ops: the same edit, around its assignment
    assert _edits(tmp_path, {"w.py": WIRED}) == [("BN001", 7, 16, "bn", [(7, 1, 7, 105, wrap.format(
        "train_op = slim.learning.create_train_op(tf.reduce_mean(h), tf.train.AdamOptimizer(), update_ops=[])"))])]


# ---- bind: unpacking, starred names, a model's attributes and the batch norms they hold ----

UNPACKED = """
    import tensorflow as tf

    inputs = tf.keras.Input((4,))
    h = tf.keras.layers.BatchNormalization(name="fixed_bn")(inputs, training=True)
    out, aux = tf.split(h, 2)
    split_model = tf.keras.Model(inputs, out)
    first, second = "ab"
    named = tf.keras.layers.BatchNormalization(momentum=0.1, name=first)


    def build(x, parts):
        head, *enumerate = parts
        for i, layer in enumerate([tf.keras.layers.Conv2D(8, 3, name="conv"), tf.keras.layers.BatchNormalization(name="bn")]):
            x = layer(x)
        return x
    """


def test_unpacking_gives_each_name_the_tensor_or_nothing_known_and_a_starred_name_nothing_known(
        tmp_path: pathlib.Path) -> None:
    # a tensor unpacked: each part still went through fixed_bn; a string unpacked: `first` is not the
    # whole string; a starred name is unknown, not unbound (this `enumerate` is not the builtin)
    assert _check(tmp_path, {"m.py": UNPACKED}) == (
        [("BN008", "m.py", 4, 74, "fixed_bn", ("training=True is fixed on this layer inside the model built at line 6: "
          "inference runs it with batch statistics")),
         ("BN007", "m.py", 8, 53, "BatchNormalization@8", _last_batch("0.1"))], [], [])


ATTRIBUTES = """
    import tensorflow as tf


    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(4, name="dense")
            self.norm = tf.keras.layers.BatchNormalization(name="dropped_bn")

        def call(self, x):
            return self.dense(x)


    net = Net()
    net.norm = None
    seq = tf.keras.Sequential()
    seq.add(tf.keras.layers.BatchNormalization(name="added_bn"))
    seq.trained_epochs = 0
    plain = tf.keras.Sequential([tf.keras.layers.Dense(4, name="head")])
    plain.norm = tf.keras.layers.BatchNormalization(name="set_bn")
    opt = tf.keras.optimizers.Adam()


    def train_step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(net(x)) + tf.reduce_mean(seq(x)) + tf.reduce_mean(plain(x))
        variables = net.trainable_variables + seq.trainable_variables + plain.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
    """
INFERENCE_MODE = ("{}(...) without training=True in a train step: batch norm runs in inference mode while the "
                  "optimizer trains its gamma/beta")


def test_a_models_batch_norms_follow_its_layer_attributes(tmp_path: pathlib.Path) -> None:
    # a batch norm replaced by None is gone; a number set on a Sequential keeps what add() put in;
    # a batch norm set on a built model after its construction is in it
    assert _check(tmp_path, {"t.py": ATTRIBUTES}) == (
        [("BN009", "t.py", 26, 56, "added_bn", INFERENCE_MODE.format("seq")),
         ("BN009", "t.py", 26, 81, "set_bn", INFERENCE_MODE.format("plain"))], [], [])


def test_a_layer_set_on_a_sequential_keeps_the_batch_norms_add_put_in(tmp_path: pathlib.Path) -> None:
    # a bug the mutants of bind showed: a layer attribute recounted the model's batch norms from its
    # attributes alone, dropping added_bn (BN009 missed)
    code = ATTRIBUTES.replace('plain.norm', 'seq.norm')
    assert _check(tmp_path, {"t.py": code}) == (
        [("BN009", "t.py", 26, 56, "added_bn", INFERENCE_MODE.format("seq")),
         ("BN009", "t.py", 26, 56, "set_bn", INFERENCE_MODE.format("seq"))], [], [])


WEIGHTS = """
    import tensorflow.compat.v1 as tf


    def conv_bn(x, w, is_training):
        weights = {"conv": {}}
        key = "b1"
        weights[key] = tf.get_variable("b1", [8])
        weights["conv"]["b"] = tf.get_variable("b2", [8])
        y = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + weights["b1"]
        h = tf.layers.batch_normalization(y, training=is_training, name="bn1")
        z = tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME") + weights["conv"]["b"]
        return tf.layers.batch_normalization(z, training=is_training, name="bn2")
    """
ADDED_BIAS = "this bias is added right before batch norm (line {}): BN cancels it"


def test_a_bias_stored_under_a_key_held_in_a_name_is_read_back(tmp_path: pathlib.Path) -> None:
    code = WEIGHTS.replace('        weights["conv"]["b"] = tf.get_variable("b2", [8])\n', "")
    assert _check(tmp_path, {"m.py": code}) == ([("BN010", "m.py", 8, 9, "bn1", ADDED_BIAS.format(9))], [], [])


def test_a_bias_stored_in_a_nested_dict_is_read_back(tmp_path: pathlib.Path) -> None:
    # a bug bind's mutants showed: `weights["conv"]["b"] = ...` was not stored (only a name's or an
    # attribute's dict was), so the bias added before bn2 was missed
    assert _check(tmp_path, {"m.py": WEIGHTS}) == (
        [("BN010", "m.py", 9, 9, "bn1", ADDED_BIAS.format(10)),
         ("BN010", "m.py", 11, 9, "bn2", ADDED_BIAS.format(12))], [], [])


# ---- _member: one alias object per dotted name ----

CHOSEN_CLASS = """
    import tensorflow as tf


    def keras_norm():
        return tf.keras.layers.BatchNormalization


    def also_keras_norm():
        return tf.keras.layers.BatchNormalization


    def build(x, use_first):
        if use_first:
            pick = keras_norm
        else:
            pick = also_keras_norm
        norm = pick()
        return norm(momentum=0.1, name="bn")(x)
    """


def test_two_functions_returning_the_same_library_class_agree_on_it(tmp_path: pathlib.Path) -> None:
    # either function may be called: what both return is the one alias of the dotted name
    assert _check(tmp_path, {"m.py": CHOSEN_CLASS}) == ([("BN007", "m.py", 18, 26, "bn", _last_batch("0.1"))], [], [])


# ---- attribute: a class's method read off the class ----

CLASS_METHOD_READ = """
    import tensorflow as tf


    class Builder:
        @staticmethod
        def block(x, momentum):
            return tf.keras.layers.BatchNormalization(momentum=momentum, name="bn")(x)


    def build(x):
        layer_fn = Builder.block
        return layer_fn(x, 0.1)
    """


def test_a_static_method_read_off_its_class_is_the_function(tmp_path: pathlib.Path) -> None:
    # block is also walked on its own (nothing calls it by name), where its momentum is unknown
    assert _check(tmp_path, {"m.py": CLASS_METHOD_READ}) == (
        [("BN007", "m.py", 12, 24, "bn", _last_batch("0.1"))],
        [("m.py:7", "BN007 not judged for bn: momentum is a value bncheck cannot tell")], [])


INHERITED_STATIC = """
    import tensorflow as tf
    from blocks import Builder


    class Child(Builder):
        pass


    def build(x):
        layer_fn = Child.block
        y = layer_fn(x, 0.1, "read_bn")
        return Child.block(y, 0.2, "called_bn")
    """
BUILDER = """
    import tensorflow as tf


    class Builder:
        @staticmethod
        def block(x, momentum, name):
            return tf.keras.layers.BatchNormalization(momentum=momentum, name=name)(x)
    """


def test_a_static_method_a_class_inherits_is_found_read_or_called_off_the_class(tmp_path: pathlib.Path) -> None:
    # the base class is another module's, imported by name
    assert _check(tmp_path, {"m.py": INHERITED_STATIC, "blocks.py": BUILDER}) == (
        [("BN007", "m.py", 11, 21, "read_bn", _last_batch("0.1")),
         ("BN007", "m.py", 12, 27, "called_bn", _last_batch("0.2"))], [], [])


# ---- call: a keras class's keywords, a choice of functions, an object with an inherited __call__, the
# functions and tensors handed to an unknown call ----

CALLS = """
    import tensorflow as tf
    from blocks import Head


    class Net(tf.keras.Model):
        def __init__(self, momentum, **kwargs):
            super().__init__(**kwargs)
            self.bn = tf.keras.layers.BatchNormalization(momentum=momentum, name="net_bn")

        def call(self, x):
            return self.bn(x)


    class Scaled(Head):
        pass


    def first(x, momentum):
        return tf.keras.layers.BatchNormalization(momentum=momentum, name="first_bn")(x)


    def second(x, momentum):
        return tf.keras.layers.BatchNormalization(momentum=momentum, name="second_bn")(x)


    def build(x, use_first, api):
        net = Net(momentum=0.1, name="net")
        y = net(x)
        if use_first:
            pick = first
        else:
            pick = second
        z = pick(y, momentum=0.2)
        inputs = tf.keras.Input((4,))
        fixed = tf.keras.layers.BatchNormalization(name="fixed_bn")(inputs, training=True)
        model = tf.keras.Model(inputs, api.transform(fixed))
        w = api.map(lambda t: tf.keras.layers.BatchNormalization(momentum=0.3, name="lambda_bn")(t), z)
        return Scaled()(w)
    """
HEAD = """
    import tensorflow as tf


    class Head:
        def __call__(self, x):
            return tf.keras.layers.BatchNormalization(momentum=0.4, name="head_bn")(x)
    """


def test_what_each_kind_of_callee_gets_and_gives(tmp_path: pathlib.Path) -> None:
    # Net's keywords reach its __init__; both functions of the choice get the keyword; Scaled's
    # __call__ is found in the followed module's Head; a lambda handed to an unknown call is walked, and
    # the unknown call gives the tensors it was handed (fixed_bn is in the model)
    assert _check(tmp_path, {"m.py": CALLS, "blocks.py": HEAD}, given=1) == (
        [("BN007", "m.py", 27, 24, "net_bn", _last_batch("0.1")),
         ("BN007", "m.py", 33, 26, "first_bn", _last_batch("0.2")),
         ("BN007", "m.py", 33, 26, "second_bn", _last_batch("0.2")),
         ("BN008", "m.py", 35, 82, "fixed_bn", ("training=True is fixed on this layer inside the model built at "
                                               "line 36: inference runs it with batch statistics")),
         ("BN007", "m.py", 37, 71, "lambda_bn", _last_batch("0.3")),
         ("BN007", "m.py", 38, 5, "head_bn", _last_batch("0.4"))],
        [("m.py:8", "BN007 not judged for net_bn: momentum is a value bncheck cannot tell"),
         ("m.py:19", "BN007 not judged for first_bn: momentum is a value bncheck cannot tell"),
         ("m.py:23", "BN007 not judged for second_bn: momentum is a value bncheck cannot tell")], [])


# ---- _stmt: a bare return gives None, an annotated assignment binds ----

ANNOTATED = """
    import tensorflow as tf


    def no_activation():
        return


    def build(x):
        conv = tf.keras.layers.Conv2D(8, 3, activation=no_activation(), name="conv")
        bn: tf.keras.layers.Layer = tf.keras.layers.BatchNormalization(name="bn")
        return bn(conv(x))
    """


def test_a_bare_return_gives_none_and_an_annotated_assignment_binds_its_value(tmp_path: pathlib.Path) -> None:
    # activation=None is known (no activation: the bias feeds bn); `bn` is the batch norm
    assert _check(tmp_path, {"m.py": ANNOTATED}) == ([("BN010", "m.py", 9, 12, "bn", _bias(11))], [], [])


# ---- attribute: `.updates` of a model the walk does not know ----

UNKNOWN_MODELS_UPDATES = """
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    keras = tf.keras


    def train(trainer, images, labels):
        net = keras.Sequential([keras.layers.Dense(4, use_bias=False, name="dense"),
                                keras.layers.BatchNormalization(name="bn1")], name="net")
        logits = net(images, training=True)
        h = tf.compat.v1.layers.batch_normalization(logits, training=True, name="bn2")
        loss = tf.reduce_mean(h)
        with tf.control_dependencies(trainer.net.updates):
            train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss)
        return train_op
    """
NOT_FOLLOWED = ("BN001 not judged for {}: the train op may run its update ops through something bncheck cannot "
                "follow (a control dependency, a tf.group, or a loss computed under control_dependencies)")


def test_the_updates_of_an_unknown_model_cover_keras_batch_norms_in_a_graph_and_another_attribute_does_not(
        tmp_path: pathlib.Path) -> None:
    other = UNKNOWN_MODELS_UPDATES.replace("trainer.net.updates", "[trainer.extra_op]")
    assert _check(tmp_path, {"m.py": UNKNOWN_MODELS_UPDATES, "n.py": other}) == (
        [], [("m.py:14", NOT_FOLLOWED.format("bn2")), ("n.py:14", NOT_FOLLOWED.format("bn2")),
             ("n.py:14", NOT_FOLLOWED.format("net/bn1"))], [])


# ---- _stmt: augmented assignments, while loops, every part of a try, match cases ----

STATEMENTS = """
    import tensorflow as tf


    def epoch_loss(x):
        return tf.keras.layers.BatchNormalization(momentum=0.1, name="while_bn")(x)


    def build(x, enumerate):
        enumerate += 1
        for i, layer in enumerate([tf.keras.layers.Conv2D(8, 3, name="conv"), tf.keras.layers.BatchNormalization(name="bn")]):
            x = layer(x)
        while epoch_loss(x) is None:
            x = tf.nn.relu(x)
        else:
            x = tf.nn.relu(x)
        try:
            x = tf.keras.layers.BatchNormalization(momentum=0.2, name="try_bn")(x)
        except* ValueError:
            pass
        try:
            x = tf.nn.relu(x)
        except ValueError:
            pass
        else:
            x = tf.keras.layers.BatchNormalization(momentum=0.3, name="else_bn")(x)
        finally:
            x = tf.keras.layers.BatchNormalization(momentum=0.4, name="finally_bn")(x)
        match x:
            case None:
                x = tf.keras.layers.BatchNormalization(momentum=0.45, name="case_bn")(x)
        return x
    """


def test_a_while_test_and_else_every_part_of_a_try_and_a_match_case_are_walked(tmp_path: pathlib.Path) -> None:
    # `enumerate += 1` leaves the parameter unknown, not unbound (the loop over it is not unrolled)
    assert _check(tmp_path, {"m.py": STATEMENTS}) == (
        [("BN007", "m.py", 5, 56, "while_bn", _last_batch("0.1")),
         ("BN007", "m.py", 17, 57, "try_bn", _last_batch("0.2")),
         ("BN007", "m.py", 25, 57, "else_bn", _last_batch("0.3")),
         ("BN007", "m.py", 27, 57, "finally_bn", _last_batch("0.4")),
         ("BN007", "m.py", 30, 61, "case_bn", _last_batch("0.45"))], [], [])


# ---- call: a method of a value the walk does not know ----

UNKNOWN_SAVER = """
    import tensorflow.compat.v1 as tf


    def evaluate(saver, batch):
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, training=True, name="bn")
        with tf.Session() as sess:
            saver.restore(sess, "ckpt/model")
            return sess.run(h, {x: batch})
    """


def test_restore_on_an_unknown_saver_given_a_session_and_a_path_is_a_restore(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": UNKNOWN_SAVER}) == (
        [("BN002", "m.py", 6, 51, "bn", ("the script restores a checkpoint at line 8 and runs predictions with this "
                                         "layer built only in training mode: each prediction is normalised with its "
                                         "own batch's statistics"))], [], [])


# ---- Walker.__init__: a walk starts with no statement and no module being walked ----

FOLLOWED_CALLER = """
    import tensorflow as tf
    from blocks import block


    def build(x):
        return block(x)
    """
NESTED_UNUSED = """
    import tensorflow as tf


    def block(x):
        def unused(y):
            return tf.keras.layers.BatchNormalization(momentum=0.2, name="unused_bn")(y)

        return tf.keras.layers.BatchNormalization(momentum=0.1, name="bn")(x)
    """


def test_a_followed_modules_nested_def_never_called_is_walked_after_the_walk_and_reported_nowhere(
        tmp_path: pathlib.Path) -> None:
    # `unused` is walked once build's walk is over, outside any given file's call: nothing maps its lines
    assert _check(tmp_path, {"train.py": FOLLOWED_CALLER, "blocks.py": NESTED_UNUSED}, given=1) == (
        [("BN007", "train.py", 6, 5, "bn", _last_batch("0.1"))], [], [])


# ---- Walker.__init__: a walk starts outside any tape, with no statement counted ----

NO_TAPE = """
    import tensorflow as tf

    seq = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
    opt = tf.keras.optimizers.Adam()


    def evaluate(x, tape):
        loss = tf.reduce_mean(seq(x))
        opt.apply_gradients(zip(tape.gradient(loss, seq.trainable_variables), seq.trainable_variables))
        return loss
    """


def test_a_model_called_outside_a_gradient_tape_is_not_a_train_steps_call(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": NO_TAPE}) == ([], [], [])


def test_one_walk_reads_exactly_max_steps_statements(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the module has 4 statements (its def is one): the 4th (line 7) is the first past a limit of 3
    monkeypatch.setattr(walker, "MAX_STEPS", 3)
    assert _check(tmp_path, {"m.py": NO_TAPE}) == (
        [], [("m.py:7", ("source analysis of m stopped here: one walk reads at most 3 statements; BN001 and the "
                        "export checks of BN002 are not judged for it, other rules only up to here"))], [])
