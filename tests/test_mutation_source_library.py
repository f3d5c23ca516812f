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

from source_support import write_sources

from bncheck.source import check_files

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
            f"the train op does not run this hand-written layer's moving-average assignment (line {assigned}): "
            "the moving statistics are never updated",
            {"assignment": f"m.py:{assigned}", "built with": HANDWRITTEN}, FIX_HANDWRITTEN, [])


# ---- control_dependencies: update ops held in a list (a real bug, fixed) ------------------------

def test_update_ops_in_a_list_given_to_control_dependencies_are_run(tmp_path: pathlib.Path) -> None:
    # `updates = [assign, [assign]]` then `control_dependencies(updates)`: the batch norm's output depends on
    # both assignments, so the train op runs them. bncheck read only a name or item that is itself an update op,
    # and reported BN001 on both (a false alarm on correct code)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x, decay=0.999):
            mean, var = tf.nn.moments(x, [0])
            pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
            pop_var = tf.get_variable("pop_var", [4], trainable=False)
            updates = [tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay)),
                       [tf.assign(pop_var, pop_var * decay + var * (1 - decay))]]
            with tf.control_dependencies(updates):
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
        """) == ([], [])


def test_update_ops_starred_into_a_control_dependency_list_are_run(tmp_path: pathlib.Path) -> None:
    # `[assign, *more]`: the starred list's update op is run as well (BN001 on line 8 before the fix)
    assert _outcome(tmp_path, """
        import tensorflow.compat.v1 as tf


        def bn(x, decay=0.999):
            mean, var = tf.nn.moments(x, [0])
            pop_mean = tf.get_variable("pop_mean", [4], trainable=False)
            pop_var = tf.get_variable("pop_var", [4], trainable=False)
            more = [tf.assign(pop_var, pop_var * decay + var * (1 - decay))]
            with tf.control_dependencies([tf.assign(pop_mean, pop_mean * decay + mean * (1 - decay)), *more]):
                return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)


        x = tf.placeholder(tf.float32, [None, 4])
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(bn(x)))
        """) == ([], [])
