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

from source_support import write_sources

from bncheck.source import check_files

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
