"""Exact outcomes mutation testing of ``bncheck/source/walker.py`` showed, part 2 (issue 22, item 5).

The survivors of the mutmut run (commit 060e6ba) in the walker's roots, function calls (arguments,
defaults, ``self``, closures, the depth and inline limits, the frame kinds), statements (``if``,
``for``, ``with``), expressions and the calls of functions handed to the library, each told apart
here by a small program written in the test: every finding (code, file, line, column, layer,
message), note and error of the check asserted in full. The survivors no program tells apart are
listed with their reason in ``tools/mutation_equivalents.md`` ("walker.py, part 2").
"""
from __future__ import annotations

import pathlib

from source_support import write_sources

from bncheck.source import check_files

Finding = tuple[str, str, int, int, str, str]
Outcome = tuple[list[Finding], list[tuple[str, str]], list[str]]

LAST_BATCH = "momentum={}: the moving average is essentially the last batch"


def _check(folder: pathlib.Path, files: dict[str, str], given: int | None = None) -> Outcome:
    """Write ``files``, check the first ``given`` of them (all by default) with one job: the findings
    (code, file, line, column, layer, message), notes and errors, paths relative to ``folder``."""
    paths = write_sources(folder, files)
    result = check_files(paths[:given], jobs=1)
    here = str(folder) + "/"
    return ([(f.code, f.loc.path.replace(here, ""), f.loc.line, f.loc.col, f.layer, f.message.replace(here, ""))
             for f in result.findings],
            [(str(where).replace(here, ""), str(note).replace(here, "")) for where, note in result.notes],
            [str(e).replace(here, "") for e in result.errors])


def _bn007(line: int, col: int, layer: str, momentum: str = "0.1", path: str = "m.py") -> Finding:
    return ("BN007", path, line, col, layer, LAST_BATCH.format(momentum))


# ---- expressions: constants folded through operators, names bound on the way ----------------------

FOLDED = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization
    a = B(momentum=+0.1, name="plus")
    b = B(momentum=-0.1, name="minus")
    c = B(momentum=-True, name="negbool")
    d = B(momentum=0.2 or 0.3, name="or")
    e = B(momentum=1 and 0.4, name="and")
    f = B(momentum=0 or 0.3, name="or0")
    g = B(momentum=0.99 if not True else 0.2, name="not")
    h = B(momentum=0.1 if 1 else 0.99, name="ifexp")
    i = B(momentum=0.1, name="t1") if flag else B(momentum=0.2, name="t2")
    j = B(momentum=(m := 0.3), name="walrus")
    k = B(momentum=m, name="walrus2")
    cfg = {"momentum": 0.15, "name": "dict"}
    n = B(**cfg)
    o = B(**{**cfg, "name": "merged"})
    p = B(momentum=0.16, name=f"f{1}")
    q = B(momentum=0.17, name=f"g{1:d}")
    r = B(momentum=0.18, name=f"h{cfg}")
    s = B(momentum=0.19, name=f"lit{'x'}{2}")


    def mk(momentum=0.3, name="spread"):
        return B(momentum=momentum, name=name)


    u = mk(**{**options, "name": "spread2"})
    w = mk(**{"momentum": 0.25, 1: 0, "name": "intkey"})
    """


def test_constants_are_folded_through_unary_boolean_and_conditional_operators(tmp_path: pathlib.Path) -> None:
    # a folded literal is reported where it is written (+0.1, -0.1, the arm of the if taken); an and/or
    # result at the call; -True is no number bncheck folds; both arms of an undecided if are built; a
    # dict with a `**` of unknown keys or a key that is no string is unknown (mk keeps its defaults)
    assert _check(tmp_path, {"m.py": FOLDED}) == ([
        _bn007(4, 16, "plus"), _bn007(5, 16, "minus", "-0.1"), _bn007(7, 5, "or", "0.2"), _bn007(8, 5, "and", "0.4"),
        _bn007(9, 5, "or0", "0.3"), _bn007(10, 38, "not", "0.2"), _bn007(11, 16, "ifexp"), _bn007(12, 16, "t1"),
        _bn007(12, 56, "t2", "0.2"), _bn007(13, 22, "walrus", "0.3"), _bn007(13, 22, "walrus2", "0.3"),
        _bn007(15, 20, "dict", "0.15"), _bn007(15, 20, "merged", "0.15"), _bn007(18, 16, "f1", "0.16"),
        _bn007(19, 16, "BatchNormalization@19", "0.17"), _bn007(20, 16, "BatchNormalization@20", "0.18"),
        _bn007(21, 16, "litx2", "0.19"), _bn007(24, 17, "spread", "0.3")],
        [("m.py:6", "BN007 not judged for negbool: momentum is a value bncheck cannot tell")], [])


# ---- calls of the program's functions: how arguments meet parameters ------------------------------

PARAMETERS = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization


    def pos(a, b=0.2, /, c=0.3, *, d=0.4, e):
        return [B(momentum=a, name="a"), B(momentum=b, name="b"), B(momentum=c, name="c"), B(momentum=d, name="d"),
                B(momentum=e, name="e")]


    def star(first, *rest, **named):
        return B(**named)


    def star2(*rest):
        return B(momentum=rest[-1], name="last")


    class Maker:
        def __init__(self, m=0.11):
            self.m = m

        def make(self, name):
            return B(momentum=self.m, name=name)

        @staticmethod
        def fixed(m, name):
            return B(momentum=m, name=name)


    layers = pos(0.1, e=0.45)
    x = star(1, 0.9, momentum=0.12, name="starred")
    y = star2(0.9, 0.13)
    z = Maker(0.14).make("made")
    w = Maker.fixed(0.15, "static")
    v = Maker().make("default")
    """


def test_arguments_meet_positional_keyword_only_starred_and_default_parameters(tmp_path: pathlib.Path) -> None:
    # defaults (positional-only, keyword-only) are reported at the default, passed values at the call;
    # `self` takes the instance, a staticmethod's first parameter the first argument
    assert _check(tmp_path, {"m.py": PARAMETERS}) == ([
        _bn007(6, 14, "b", "0.2"), _bn007(6, 24, "c", "0.3"), _bn007(6, 34, "d", "0.4"),
        _bn007(20, 26, "default", "0.11"), _bn007(31, 14, "a"), _bn007(31, 21, "e", "0.45"),
        _bn007(32, 27, "starred", "0.12"), _bn007(33, 16, "last", "0.13"), _bn007(34, 11, "made", "0.14"),
        _bn007(35, 17, "static", "0.15")], [], [])


# ---- statements: which arms of an if and which loop bodies are walked ------------------------------

def _statements() -> str:
    return ("import tensorflow as tf\n\nB = tf.keras.layers.BatchNormalization\n"
            "if False:\n    a = B(momentum=0.1, name='never')\n"
            "if '':\n    b = B(momentum=0.1, name='empty')\nelse:\n    b = B(momentum=0.2, name='else_of_empty')\n"
            "if 'text':\n    c = B(momentum=0.3, name='body_of_text')\nelse:\n    c = B(momentum=0.4, name='else_of_text')\n"
            "if __name__ == '__main__':\n    d = B(momentum=0.45, name='main')\n"
            "else:\n    d = B(momentum=0.1, name='imported')\n"
            "for m in [0.11]:\n    B(momentum=m, name='single')\n"
            "for m in []:\n    B(momentum=m, name='empty_loop')\n"
            f"for i in [{', '.join(str(i) for i in range(64))}]:\n    B(momentum=0.12, name=f'u{{i}}')\n"
            f"for i in [{', '.join(str(i) for i in range(65))}]:\n    B(momentum=0.13, name=f'v{{i}}')\n"
            "for m in (0.2,):\n    pass\nelse:\n    B(momentum=0.14, name='for_else')\n")


def test_decided_ifs_walk_one_arm_and_short_literal_loops_are_unrolled(tmp_path: pathlib.Path) -> None:
    # `if False` and `if ''` are decided, a non-empty string is not (both arms); the main guard is true;
    # a loop over 1 to 64 literal items is unrolled, over none or 65 walked once with an unknown item
    assert _check(tmp_path, {"m.py": _statements()}) == (
        [_bn007(9, 20, "else_of_empty", "0.2"), _bn007(11, 20, "body_of_text", "0.3"),
         _bn007(13, 20, "else_of_text", "0.4"), _bn007(15, 20, "main", "0.45"), _bn007(18, 11, "single", "0.11")]
        + [_bn007(23, 16, name, "0.12") for name in sorted(f"u{i}" for i in range(64))]  # by line, column, layer
        + [_bn007(25, 16, "BatchNormalization@25", "0.13"), _bn007(29, 16, "for_else", "0.14")],
        [("m.py:21", "BN007 not judged for empty_loop: momentum is a value bncheck cannot tell")], [])


NESTED_TAPES = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(4, use_bias=False), tf.keras.layers.BatchNormalization(name="bn")])
    opt = tf.keras.optimizers.Adam()
    x = tf.zeros([2, 4])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * 2
        loss = tf.reduce_mean(model(x))
    grads = outer.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    preds = model(x)
    """


def test_a_call_after_an_inner_tape_is_still_in_the_outer_one_and_after_both_in_none(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": NESTED_TAPES}) == (
        [("BN009", "m.py", 9, 27, "bn", "model(...) without training=True in a train step: batch norm runs in "
                                        "inference mode while the optimizer trains its gamma/beta")], [], [])


def _deep() -> str:
    return ("import tensorflow as tf\n" + "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(13))
            + "def f13(x):\n    return tf.keras.layers.BatchNormalization(momentum=0.1, name='deep')(x)\n"
            "def g1(m):\n    return g2(m)\n"
            "def g2(m):\n    return tf.keras.layers.BatchNormalization(momentum=m, name='nested')\n"
            "y = f0(1)\nz = g1(0.2)\n")


def test_calls_are_followed_twelve_deep_and_the_next_is_a_note_at_its_call(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": _deep()}) == (
        [_bn007(35, 8, "nested", "0.2")],
        [("m.py:25", "f12 is not followed from here: calls nested deeper than 12 are not walked, and what it "
                     "returns is unknown")], [])


def _inlined() -> str:
    return ("import tensorflow as tf\n\n\ndef block(i):\n"
            "    return tf.keras.layers.BatchNormalization(momentum=0.1, name=f'bn{i}')\n\n\n"
            f"for i in [{', '.join(str(i) for i in range(33))}]:\n    block(i)\nblock(99)\n")


def test_a_function_is_followed_32_times_in_one_walk_and_one_note_is_at_the_33rd_call(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": _inlined()}) == (
        [_bn007(5, 56, name) for name in sorted(f"bn{i}" for i in range(32))],
        [("m.py:9", "block is not followed from here on: one walk follows a function at most 32 times; what its "
                    "later calls build is not judged")], [])


def test_limits_reached_before_a_roots_first_statement_are_notes_at_its_files_first_line(
        tmp_path: pathlib.Path) -> None:
    # a root's defaults are evaluated before any of its statements: a 33rd call of one function, or a
    # lambda called 13 deep, has no statement to be placed at
    defaults = ", ".join(f"a{i}=f()" for i in range(34))
    lambdas = "tf.keras.layers.BatchNormalization(momentum=0.1, name='l')"
    for _ in range(13):
        lambdas = f"(lambda: {lambdas})()"
    assert _check(tmp_path, {"m.py": f"""
        import tensorflow as tf


        def f():
            return 0.1


        def root({defaults}):
            return tf.keras.layers.BatchNormalization(momentum=a0, name='r')


        def other(a={lambdas}):
            return a
        """}) == (
        [_bn007(5, 12, "r")],
        [("m.py:1", "<lambda> is not followed from here: calls nested deeper than 12 are not walked, and what it "
                    "returns is unknown"),
         ("m.py:1", "f is not followed from here on: one walk follows a function at most 32 times; what its later "
                    "calls build is not judged")], [])
