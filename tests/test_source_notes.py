"""When source mode cannot tell, it reports nothing, and ``--show-notes`` says why.

Every rule that gives up (a name it cannot resolve, a model defined outside the scanned files, a
value it cannot read, a walk budget) records a note with the place and the reason; each case below
is a program that would otherwise be judged, and the note is asserted exactly. The budgets: 20,000
statements per walk, 500,000 per program (lowered here with monkeypatch so the test stays fast), 12
nested calls, 32 walks of one function per walk.

BN011 has nothing to give up on: dropout is recognised by its type (its rate does not matter), and
a layer defined outside the scanned files feeding BN is not reported as anything (a note for every
unknown layer before a batch norm would drown the others).
"""
from __future__ import annotations

import textwrap

import pytest

from bncheck.source import check_files

# name -> (program, line of the note, note); none of them has a finding
GIVE_UPS = {
    "bn001_updates_collections_unknown": ('''
import tensorflow.compat.v1 as tf
import tf_slim as slim

def model(x, coll):
    return slim.batch_norm(x, updates_collections=coll, scope="bn")

loss = tf.reduce_mean(model(tf.placeholder(tf.float32), COLL))
train_op = tf.train.AdamOptimizer().minimize(loss)
''', 5,
        'BN001 not judged for bn: its updates_collections is a value bncheck cannot tell (an arg_scope or a parameter), so it may update in place'),
    "bn001_dependency_unknown": ('''
import tensorflow.compat.v1 as tf
from helpers import deps

x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=True, name="bn")
with tf.control_dependencies(deps()):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
''', 7,
        'BN001 not judged for bn: the train op may run its update ops through something bncheck cannot follow (a control dependency, a tf.group, or a loss computed under control_dependencies)'),
    "bn002_serving_dynamic": ('''
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
MODE = load_mode()

@tf.function
def serve(x):
    return model(x, training=MODE)
''', 8,
        "BN002 not judged for model in the serving function 'serve': training= is a value bncheck cannot tell"),
    "bn002_serving_unknown_model": ('''
import tensorflow as tf
from zoo import build_model

model = build_model()

@tf.function
def serve(x):
    return model(x, training=True)
''', 8,
        "BN002 not judged for model(..., training=True) in the serving function 'serve': its definition is not in the scanned files, so bncheck cannot tell whether it holds batch norm"),
    "bn002_learning_phase_dynamic": ('''
import tensorflow as tf
import sys

tf.keras.backend.set_learning_phase(int(sys.argv[1]))
model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
model.save("out")
''', 4,
        'BN002 not judged for this set_learning_phase: its argument is a value bncheck cannot tell'),
    "bn002_tf1_export_unknown": ('''
import tensorflow.compat.v1 as tf

x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=FLAGS.train, name="bn")
with tf.Session() as sess:
    frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["bn/FusedBatchNormV3"])
''', 6,
        'BN002 not judged for the graph exported here: the training mode of bn is a value bncheck cannot tell'),
    "bn004_default_unknown": ('''
import tensorflow.compat.v1 as tf

x = tf.placeholder(tf.float32, [None, 4])
is_training = tf.placeholder_with_default(FLAGS.train, [], name="is_training")
h = tf.layers.batch_normalization(x, training=is_training, name="bn")
''', 4,
        'BN004 not judged for bn: the default of this placeholder_with_default is a value bncheck cannot tell'),
    "bn007_momentum_unknown": ('''
import tensorflow as tf

bn = tf.keras.layers.BatchNormalization(momentum=config.momentum, name="bn")
''', 3,
        'BN007 not judged for bn: momentum is a value bncheck cannot tell'),
    "bn008_training_dynamic": ('''
import keras

class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.bn = keras.layers.BatchNormalization(name="bn")
        self.mode = read_mode()

    def call(self, x, training=None):
        return self.bn(x, training=self.mode)
''', 10,
        'BN008 not judged for self.bn in Net.call: training= is a value bncheck cannot tell'),
    "bn008_unknown_layer": ('''
import keras
from blocks import ResidualBlock

class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.block = ResidualBlock()

    def call(self, x, training=None):
        return self.block(x, training=True)
''', 10,
        'BN008 not judged for self.block(..., training=True) in Net.call: its definition is not in the scanned files, so bncheck cannot tell whether it holds batch norm'),
    "bn010_use_bias_unknown": ('''
import keras
from keras import layers

def block(x, cfg):
    x = layers.Conv2D(16, 3, use_bias=cfg.bias)(x)
    return layers.BatchNormalization(name="bn")(x)

y = block(keras.Input((8, 8, 3)), CFG)
''', 5,
        "BN010 not judged for bn: this layer's use_bias or activation is a value bncheck cannot tell"),
    "bn009_unknown_model": ('''
import tensorflow as tf
from zoo import build_model

model = build_model()
optimizer = tf.keras.optimizers.Adam()

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) - y)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
''', 10,
        "BN009 not judged for model(...) in train_step: the model's definition is not in the scanned files (or it is loaded), so bncheck cannot tell whether it holds batch norm"),
    "bn009_teacher": ('''
import tensorflow as tf

teacher = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="t_bn")])
student = tf.keras.Sequential([tf.keras.layers.Dense(4)])
optimizer = tf.keras.optimizers.Adam()

@tf.function
def train_step(x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(student(x, training=True) - teacher(x))
    grads = tape.gradient(loss, student.trainable_variables)
    optimizer.apply_gradients(zip(grads, student.trainable_variables))
''', 10,
        'BN009 not judged for teacher(...) in train_step: the train step does not read its trainable_variables, so it may be a model that is not trained here (a teacher, a frozen feature extractor)'),
    "bn009_frozen_layers": ('''
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.BatchNormalization(name="bn")])
model.layers[0].trainable = False
optimizer = tf.keras.optimizers.Adam()

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x) - y)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
''', 10,
        'BN009 not judged for model(...) in train_step: some layer in the scanned files is frozen with trainable = False, so inference-mode batch norm here may be deliberate fine-tuning'),
}


def _check(tmp_path, code: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent(code).lstrip())
    return str(path), check_files([str(path)])


@pytest.mark.parametrize("case", sorted(GIVE_UPS))
def test_a_rule_that_gives_up_says_why(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    code, line, note = GIVE_UPS[case]
    path, result = _check(tmp_path, code)
    code_of_rule = note[:5]
    assert [f for f in result.findings if f.code == code_of_rule] == []
    assert result.notes == [(f"{path}:{line}", note)]


KNOWN_TWINS = {  # the same programs with the unknown made known: the rule reports
    "bn002_serving_dynamic": ("MODE = load_mode()", "MODE = True", ("BN002", 8, "bn")),
    "bn004_default_unknown": ("FLAGS.train, [],", "True, [],", ("BN004", 4, "bn")),
    "bn007_momentum_unknown": ("config.momentum", "0.1", ("BN007", 3, "bn")),
    "bn008_training_dynamic": ("training=self.mode", "training=True", ("BN008", 10, "bn")),
    "bn010_use_bias_unknown": ("cfg.bias", "True", ("BN010", 5, "bn")),
    "bn009_teacher": ("- teacher(x))", "- teacher(x))\n        loss += tf.reduce_mean(teacher.trainable_variables[0])",
                      ("BN009", 10, "t_bn")),
}


@pytest.mark.parametrize("case", sorted(KNOWN_TWINS))
def test_the_known_twin_is_judged(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    old, new, finding = KNOWN_TWINS[case]
    code = GIVE_UPS[case][0]
    assert old in code
    _, result = _check(tmp_path, code.replace(old, new))
    assert finding in [(f.code, f.loc.line, f.layer) for f in result.findings]
    assert not [n for n in result.notes if n[1].startswith(finding[0])]


TF1_HEAD = ('import tensorflow.compat.v1 as tf\n'
            'x = tf.placeholder(tf.float32, [None, 4])\n'
            'h = tf.layers.batch_normalization(x, training=True, name="bn")\n'
            'loss = tf.reduce_mean(h)\n')
TF1_TRAIN = 'train_op = tf.train.AdamOptimizer().minimize(loss)\n'


def test_the_walk_budget_is_a_note_not_a_silent_no(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bncheck.source import walker

    monkeypatch.setattr(walker, "MAX_STEPS", 20_000)  # the real limit is larger: a smaller one keeps this test quick
    path, under = _check(tmp_path, TF1_HEAD + "a = 0\n" * 19_990 + TF1_TRAIN)
    assert [(f.code, f.loc.line, f.layer) for f in under.findings] == [("BN001", 19_995, "bn")]
    assert under.notes == []
    path, over = _check(tmp_path, TF1_HEAD + "a = 0\n" * 20_000 + TF1_TRAIN)
    assert over.findings == []
    assert over.notes == [(f"{path}:20001", "source analysis of m stopped here: one walk reads at most 20,000 "
                                            "statements; BN001 and the export checks of BN002 are not judged for "
                                            "it, other rules only up to here")]


def test_the_program_budget_is_a_note(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bncheck.source import checker

    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 53)
    funcs = "".join(f"def f{i}(x):\n    return tf.keras.layers.BatchNormalization(momentum=0.1)(x)\n" for i in range(8))
    path, result = _check(tmp_path, "import tensorflow as tf\n" + "a = 0\n" * 40 + funcs)
    # the module body takes 49 statements; the roots f0..f3 take one each, f4 runs out
    assert [(f.code, f.loc.line) for f in result.findings] == [("BN007", 43), ("BN007", 45), ("BN007", 47),
                                                               ("BN007", 49)]
    assert result.notes == [
        (f"{path}:51", "source analysis of f4 stopped here: a program (files that import each other) gets at most 53 "
                       "statements; BN001 and the export checks of BN002 are not judged for it, other rules only up "
                       "to here"),
        (f"{path}:52", "source analysis stopped: a program (files that import each other) gets at most 53 "
                       "statements, and 3 functions were not walked (f5, f6, f7); nothing is reported about them"),
    ]


def test_calls_nested_too_deep_are_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def chain(depth: int) -> str:
        return ("import tensorflow as tf\n" + "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(depth))
                + f"def f{depth}(x):\n    return tf.keras.layers.BatchNormalization(momentum=0.1, name='bn')(x)\n"
                + "y = f0(1)\n")
    _, shallow = _check(tmp_path, chain(10))
    assert [(f.code, f.loc.line, f.layer) for f in shallow.findings] == [("BN007", 23, "bn")]
    path, deep = _check(tmp_path, chain(14))
    assert deep.findings == []
    assert deep.notes == [(f"{path}:25", "f12 is not followed from here: calls nested deeper than 12 are not walked, "
                                         "and what it returns is unknown")]


def test_a_function_walked_too_often_is_one_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import tensorflow as tf\n"
            "def block(x, i):\n"
            "    return tf.keras.layers.BatchNormalization(momentum=0.1, name=f'bn{i}')(x)\n"
            + "".join(f"x = block(x, {i})\n" for i in range(40)))
    path, result = _check(tmp_path, code)
    assert sorted(f.layer for f in result.findings) == sorted(f"bn{i}" for i in range(32))
    assert result.notes == [(f"{path}:36", "block is not followed from here on: one walk follows a function at most "
                                           "32 times; what its later calls build is not judged")]


def test_notes_are_shown_by_the_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from bncheck.cli import main

    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent(GIVE_UPS["bn007_momentum_unknown"][0]).lstrip())
    hidden = CliRunner().invoke(main, [str(path)])
    shown = CliRunner().invoke(main, ["--show-notes", str(path)])
    assert hidden.exit_code == shown.exit_code == 0
    assert "BN007 not judged" not in hidden.output
    assert "BN007 not judged for bn: momentum is a value bncheck cannot tell" in shown.output


def test_nesting_too_deep_for_the_stack_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import tensorflow as tf\nx = " + " + ".join(["a"] * 900) + "\n"
            "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    path, result = _check(tmp_path, code)
    # only the deep statement is skipped: the batch norm after it is still judged
    assert result.errors == [] and [(f.code, f.loc.line) for f in result.findings] == [("BN007", 3)]
    assert result.notes == [(f"{path}:2", "this statement is nested too deeply for Python's stack and is not "
                                          "analysed (what it assigns is unknown); the rest of the file is")]


def _own_flag_model(call: str, flag: str = "") -> str:
    """A subclassed model whose ``call`` (``call``: its body and the methods after it) passes its own
    ``is_training`` on to its batch norm; the train step calls it with ``flag``."""
    return ("import tensorflow as tf\n\n\n"
            "class Maker(tf.keras.Model):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.fc = tf.keras.layers.Dense(16, use_bias=False)\n"
            "        self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')\n\n"
            "    def call(self, z, is_training=False):\n"
            + call
            + "\n\nmaker = Maker()\n"
            "opt = tf.keras.optimizers.Adam(2e-4)\n\n\n"
            "def train_step(noise):\n"
            "    with tf.GradientTape() as tape:\n"
            f"        loss = tf.reduce_mean(maker(noise{flag}))\n"
            "    grads = tape.gradient(loss, maker.trainable_variables)\n"
            "    opt.apply_gradients(zip(grads, maker.trainable_variables))\n")


def _passing_calls(extra_lines: int) -> str:
    """A ``call`` body that passes ``is_training`` to ``extra_lines`` other calls before the batch norm."""
    return ("        tf.debugging.assert_type(is_training, tf.bool)\n" * extra_lines
            + "        return tf.nn.relu(self.bn(self.fc(z), training=is_training))\n")


def test_a_mode_parameter_past_the_sites_limit_is_a_note_not_a_verdict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, few = _check(tmp_path, _own_flag_model(_passing_calls(3)))
    assert [(f.code, f.loc.line, f.layer) for f in few.findings] == [("BN009", 23, "maker_bn")]
    _, few_fixed = _check(tmp_path, _own_flag_model(_passing_calls(3), ", is_training=True"))
    assert few_fixed.findings == [] and few_fixed.notes == []
    for flag in ("", ", is_training=True"):  # past MAX_SITES: neither twin is judged (Keras' reading would guess)
        path, many = _check(tmp_path, _own_flag_model(_passing_calls(300), flag))
        assert many.findings == []
        assert many.notes == [(f"{path}:320", "the training flag of Maker.call is not worked out: its call passes "
                                              "parameters on through more than bncheck follows (2,000 calls, 12 nested "
                                              "models or helpers, 256 calls in one method); the training mode of its "
                                              "batch norms at this call is not judged")]


def test_a_mode_parameter_past_the_helper_depth_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def helpers(depth: int) -> str:
        chain = "".join(f"    def h{i}(self, z, t):\n        return self.h{i + 1}(z, t)\n\n" for i in range(depth))
        return _own_flag_model("        return self.h0(z, is_training)\n\n" + chain
                               + f"    def h{depth}(self, z, t):\n        return self.bn(z, training=t)\n")

    _, shallow = _check(tmp_path, helpers(4))
    assert [(f.code, f.loc.line, f.layer) for f in shallow.findings] == [("BN009", 35, "maker_bn")]
    path, deep = _check(tmp_path, helpers(14))
    assert deep.findings == []
    assert [note for note in deep.notes if "Maker.call" in note[1]] == [
        (f"{path}:65", "the training flag of Maker.call is not worked out: its call passes parameters on through "
                       "more than bncheck follows (2,000 calls, 12 nested models or helpers, 256 calls in one "
                       "method); the training mode of its batch norms at this call is not judged")]


def test_a_method_inherited_past_the_bases_limit_is_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def hierarchy(levels: int) -> str:
        classes = "".join(f"class B{i}(B{i - 1}):\n    pass\n\n\n" for i in range(1, levels + 1))
        return ("import tensorflow as tf\n\n\n"
                "class B0:\n"
                "    def block(self, x):\n"
                "        return tf.keras.layers.BatchNormalization(momentum=0.1, name='bn')(x)\n\n\n"
                + classes
                + f"class Top(B{levels}):\n"
                "    def run(self, x):\n"
                "        return self.block(x)\n\n\n"
                "Top().run(tf.zeros([1, 4]))\n")
    _, near = _check(tmp_path, hierarchy(5))
    assert [(f.code, f.loc.line, f.layer) for f in near.findings] == [("BN007", 6, "bn")]
    assert near.notes == []
    path, far = _check(tmp_path, hierarchy(40))
    assert far.findings == []
    assert far.notes == [(f"{path}:169", "methods Top inherits from more than 32 classes up are not looked for: calls "
                                         "of them are not followed, and nothing is reported about what they build")]
