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

import pytest
from source_support import write_sources

from bncheck.source import check_files, checker, walker

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


    g2 = B(momentum=0.2 if not False else 0.99, name="not2")


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
        _bn007(21, 16, "litx2", "0.19"), _bn007(24, 17, "not2", "0.2"), _bn007(27, 17, "spread", "0.3")],
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


LOOP_TARGETS = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization
    m = 0.1
    for m in sources:
        B(momentum=m, name="loopvar")
    for enumerate in sources:
        pass
    for i, m in enumerate([0.1, 0.2]):
        B(momentum=m, name=f"e{i}")
    """


def test_the_target_of_a_loop_walked_once_is_unknown_and_shadows_a_builtin(tmp_path: pathlib.Path) -> None:
    # `m` no longer holds 0.1 in the loop; `enumerate` is the program's own (unknown) name after the loop
    assert _check(tmp_path, {"m.py": LOOP_TARGETS}) == (
        [], [("m.py:6", "BN007 not judged for loopvar: momentum is a value bncheck cannot tell"),
             ("m.py:10", "BN007 not judged for BatchNormalization@10: momentum is a value bncheck cannot tell")], [])


TWO_IFS = """
    import tensorflow as tf

    x = tf.compat.v1.placeholder(tf.float32, [None, 4])
    if mode == "small":
        y = tf.compat.v1.layers.batch_normalization(x, training=True, name="bn")
    else:
        y = x
    if warm:
        loss = tf.reduce_mean(y)
    else:
        train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(tf.reduce_mean(y))
    """


def test_arms_of_two_different_ifs_are_not_exclusive(tmp_path: pathlib.Path) -> None:
    # the layer (first if, first arm) and the train op (second if, second arm) can run in one run
    assert _check(tmp_path, {"m.py": TWO_IFS}) == (
        [("BN001", "m.py", 11, 16, "bn", "the train op does not run this layer's moving-average updates: the "
                                         "moving statistics are never updated")], [], [])


# ---- instances of the program's Keras classes ------------------------------------------------------

NAMED_MODEL = """
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()


    class Net(tf.keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.bn = tf.keras.layers.BatchNormalization(name="bn")

        def call(self, x, training=False):
            return self.bn(x, training=training)


    class Tiny(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.out = self(tf.zeros([1, 4]))

        def call(self, x):
            return x


    net = Net(name="enc")
    tiny = Tiny()
    x = tf.compat.v1.placeholder(tf.float32, [None, 4])
    train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(tf.reduce_mean(net(x, training=True)))
    """


def test_a_keras_models_name_argument_prefixes_its_layers_in_graph_mode(tmp_path: pathlib.Path) -> None:
    # Tiny calls itself in its constructor, before it holds any layer: no batch norm, no error
    assert _check(tmp_path, {"m.py": NAMED_MODEL}) == (
        [("BN001", "m.py", 27, 12, "enc/bn", "the train op does not run this layer's moving-average updates: the "
                                             "moving statistics are never updated")], [], [])


def test_a_keras_classs_constructor_gets_the_keywords_its_instance_is_made_with(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        class Block(tf.keras.Model):
            def __init__(self, *sizes, **options):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(**options)


        block = Block(4, momentum=0.1, name="opt")
        """}) == ([_bn007(10, 27, "opt")], [], [])


# ---- with: what `as` binds, and control_dependencies by keyword --------------------------------------

WITH_AS = """
    import tensorflow as tf
    import tf_slim as slim


    def scope():
        with slim.arg_scope([slim.batch_norm], decay=0.1):
            with slim.arg_scope([slim.conv2d], padding="SAME") as sc:
                return sc


    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3])
    with slim.arg_scope(scope()):
        y = slim.batch_norm(x, scope="bn")
    with tf.compat.v1.variable_scope("outer"):
        with tf.compat.v1.variable_scope("inner") as vs:
            pass
    with tf.compat.v1.variable_scope(vs):
        z = tf.compat.v1.layers.batch_normalization(x, momentum=0.2, name="bn")
    with tf.control_dependencies(control_inputs=[y]):
        w = tf.identity(z)
    with slim.arg_scope([slim.batch_norm], decay=0.3):
        pass
    a = slim.batch_norm(x, scope="after_scope")
    m = 0.1
    with open("cfg") as m:
        b = tf.compat.v1.layers.batch_normalization(x, momentum=m, name="opened")
    with tf.compat.v1.variable_scope("s") as enumerate:
        pass
    for i, m in enumerate([0.1, 0.2]):
        tf.compat.v1.layers.batch_normalization(x, momentum=m, name=f"w{i}")
    with open("cfg") as enumerate:
        pass
    for i, m in enumerate([0.1, 0.2]):
        tf.compat.v1.layers.batch_normalization(x, momentum=m, name=f"o{i}")
    """


def test_an_arg_scope_bound_by_as_holds_every_enclosing_arg_scope_and_a_variable_scope_is_unknown(
        tmp_path: pathlib.Path) -> None:
    # `sc` holds the batch norm's decay of the outer arg_scope; `vs` reopens outer/inner, which bncheck
    # does not model: the scope is unknown (`?`), never the wrong `inner`; an arg_scope ends with its block;
    # `as` binds an unknown value, also over a name bound before and over a builtin's name
    assert _check(tmp_path, {"m.py": WITH_AS}) == (
        [("BN007", "m.py", 6, 50, "bn", "decay=0.1: the moving average is essentially the last batch"),
         ("BN007", "m.py", 18, 61, "?/bn", "momentum=0.2: the moving average is essentially the last batch")],
        [_unknown(26, "opened"), _unknown(30, "batch_normalization@30"), _unknown(34, "batch_normalization@34")], [])


def test_a_global_read_by_a_module_function_is_not_its_callers_local(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf

        m = 0.1


        def f():
            return tf.keras.layers.BatchNormalization(momentum=m, name="f")


        def g():
            m = 0.3
            return f()


        y = g()
        """}) == ([_bn007(3, 5, "f")], [], [])


def test_the_training_flag_of_a_model_without_batch_norm_is_not_looked_for(tmp_path: pathlib.Path) -> None:
    # Plain.call hands `training` on at more sites than the search reads: no note, it has no batch norm
    many = ", ".join(["training"] * 257)
    assert _check(tmp_path, {"m.py": f"""
        import tensorflow as tf


        class Plain(tf.keras.Model):
            def call(self, x, training=False):
                return tf.add(merge({many}), tf.identity(x))


        net = Plain()
        y = net(tf.zeros([1, 4]))
        z = tf.keras.layers.BatchNormalization(momentum=0.1, name="bn")(y)
        """}) == ([_bn007(11, 49, "bn")], [], [])


CALLS = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization
    model = tf.keras.Sequential([B(name="seq_bn")])


    def outer():
        m = 0.1

        def inner(momentum=m, weights=model.trainable_variables):
            return B(momentum=momentum, name="inner")
        return inner()


    def named(enumerate):
        for i, m in enumerate([0.1, 0.2]):
            B(momentum=m, name=f"p{i}")


    def kwonly_root(*, enumerate):
        for i, m in enumerate([0.1, 0.2]):
            B(momentum=m, name=f"q{i}")


    def keyword_only(*, enumerate):
        for i, m in enumerate([0.1, 0.2]):
            B(momentum=m, name=f"k{i}")


    def pick(c):
        if c:
            return 0.1
        return 0.2


    def recurse(n):
        return recurse(n - 1)


    def kw(momentum, **rest):
        return B(name="kw", **rest)


    def g(m=0.3):
        return B(momentum=m, name="g")


    def spread(*sizes, **options):
        g(*sizes)
        return tf.compat.v1.layers.batch_normalization(tf.zeros([1, 4]), name="spread", **options)


    y = outer()
    keyword_only(enumerate=source)
    z = B(momentum=pick(flag), name="pick")
    r = recurse(3)
    k = kw(momentum=0.1)
    """


def _unknown(line: int, layer: str) -> tuple[str, str]:
    return (f"m.py:{line}", f"BN007 not judged for {layer}: momentum is a value bncheck cannot tell")


def test_defaults_see_the_definers_names_and_unknown_arguments_stay_unknown(tmp_path: pathlib.Path) -> None:
    # inner's default is the enclosing m; a parameter given nothing (a root's, or a keyword-only one)
    # or an unknown value is unknown even when named like a builtin; a root's *sizes and **options are
    # unknown, so g's default is not used and spread's momentum may be in options; **rest holds no named
    # parameter; a recursive call is not followed again; two different returns are unknown
    assert _check(tmp_path, {"m.py": CALLS}) == (
        [_bn007(8, 9, "inner")],
        [_unknown(17, "BatchNormalization@17"), _unknown(22, "BatchNormalization@22"),
         _unknown(27, "BatchNormalization@27"), _unknown(45, "g"), _unknown(50, "spread"), _unknown(55, "pick")], [])


def test_a_constructor_walked_for_a_root_method_gets_unknown_keywords(tmp_path: pathlib.Path) -> None:
    # Net.call is walked on its own: the instance its `self` is made with no known arguments
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        class Net(tf.keras.Model):
            def __init__(self, **kwargs):
                super().__init__()
                self.y = tf.compat.v1.layers.batch_normalization(tf.zeros([1, 4]), name="bn", **kwargs)

            def call(self, x):
                return x
        """}) == ([], [_unknown(7, "bn")], [])


# ---- where a followed module's notes are placed: the given file's call that reached them ------------

FOLLOWED = {"m.py": """
    import helper


    def wrap():
        return helper.f(cfg.m)


    def back():
        return helper.g(cfg.m)


    def root(a=helper.h()):
        return a


    y = wrap()
    z = helper.call_back(back)
    """, "helper.py": """
    import tensorflow as tf


    def one():
        return 1


    def f(m):
        a = one()
        return tf.keras.layers.BatchNormalization(momentum=m, name="f")


    def g(m):
        return tf.keras.layers.BatchNormalization(momentum=m, name="g")


    def h():
        return tf.zeros([1])


    def call_back(fn):
        return fn()
    """}


def test_a_followed_modules_note_is_at_the_given_files_first_call_into_it(tmp_path: pathlib.Path) -> None:
    # f's note at wrap's call (not at `wrap()`), also after f's own call of one(); g's at `helper.call_back`,
    # the first call into helper (back, a given file's function, calls g from there); root's default
    # calls helper before any statement was walked
    assert _check(tmp_path, FOLLOWED, given=1) == (
        [], [_unknown(5, "f"), _unknown(17, "g")], [])


# ---- functions handed to calls bncheck does not model (tf.map_fn, strategy.run) ------------------------

PASSED = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization


    class Head:
        def __init__(self, m):
            self.m = m

        def step(self, x, scale=2, **extra):
            tf.compat.v1.layers.batch_normalization(x, name="head_v1", **extra)
            return B(momentum=self.m, name="head")(x, training=True)


    def plain(t, **extra):
        return tf.compat.v1.layers.batch_normalization(t, name="plain", **extra)


    def build(momentum=0.1):
        return B(momentum=momentum, name="run")


    def after(t):
        return B(name="after")(t)


    head = Head(0.2)
    inp = tf.keras.Input((4,))
    out = tf.map_fn(head.step, inp)
    model = tf.keras.Model(inp, out)
    p = tf.map_fn(plain, inp)
    strategy.run(build)
    d = tf.keras.layers.Dropout(0.5)(inp)
    q = tf.map_fn(after, d)
    r = tf.map_fn(elems=inp, fn=lambda t: B(momentum=0.3, name="keyed")(t))
    """


def test_functions_and_methods_handed_to_an_unmodelled_call_are_walked_there_with_its_tensor(
        tmp_path: pathlib.Path) -> None:
    # head.step on its own instance (m=0.2), its default and **extra known (empty: no note for head_v1 or
    # plain), its tensor flowing out into the functional model (BN008); build gets no tensor (its default
    # holds); `after` gets the dropout's output merged, so no producer (no BN011); a keyword fn after elems
    assert _check(tmp_path, {"m.py": PASSED}) == (
        [("BN008", "m.py", 12, 60, "head", "training=True is fixed on this layer inside the model built at line 30: "
                                           "inference runs it with batch statistics"),
         _bn007(19, 20, "run"), _bn007(27, 13, "head", "0.2"), _bn007(35, 50, "keyed", "0.3")], [], [])


def test_a_keras_models_train_step_is_a_train_step_without_a_tape(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        class M(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.norm = tf.keras.layers.BatchNormalization(name="bn")

            def train_step(self, batch):
                grads = tf.gradients(tf.reduce_mean(self(batch)), self.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, self.trainable_variables))

            def call(self, inputs, training=None):
                return self.norm(inputs, training=training)
        """}) == (
        [("BN009", "m.py", 10, 45, "bn", "self(...) without training=True in a train step: batch norm runs in "
                                         "inference mode while the optimizer trains its gamma/beta")], [], [])


def test_a_name_in_a_default_is_the_definers_not_the_functions_parameter(tmp_path: pathlib.Path) -> None:
    # `training=mode` in out's default reads the module's unknown `mode`, not serve's parameter: the
    # serving function's call is not judged (before the fix, it was taken for serve's own flag: no note)
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf

        model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
        mode = cfg.mode


        @tf.function
        def serve(x, mode=None, out=model(tf.zeros([1, 4]), training=mode)):
            return out
        """}) == ([], [("m.py:8", "BN002 not judged for model in the serving function 'serve': training= is a value "
                                   "bncheck cannot tell")], [])


# ---- expressions whose parts are walked for what they build ------------------------------------------

PARTS = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization
    if B(momentum=0.1, name="left") is not None:
        pass
    if None is not B(momentum=0.1, name="right"):
        pass
    names = [n for n in B(momentum=0.1, name="comp").weights]
    first = B(momentum=0.1, name="sub").weights[0]
    layers = [B(name="a"), B(name="b"), B(name="c")]
    seq = tf.keras.Sequential([tf.keras.layers.Dropout(0.5), layers[-1]])
    other = cfg.layers[-1]
    table = {"m": 0.3}
    t = B(momentum=table["m"], name="table")


    async def step():
        return await make()


    async def make():
        return B(momentum=0.4, name="awaited")


    f = lambda: B(momentum=0.45, name="lam")
    g = f()
    """


def test_both_sides_of_a_comparison_a_comprehensions_source_a_subscript_and_an_await_are_walked(
        tmp_path: pathlib.Path) -> None:
    # `layers[-1]` is the last layer of a literal list (c, after the dropout: BN011); `cfg.layers[-1]` unknown
    assert _check(tmp_path, {"m.py": PARTS}) == (
        [_bn007(4, 15, "left"), _bn007(6, 27, "right"), _bn007(8, 32, "comp"), _bn007(9, 20, "sub"),
         ("BN011", "m.py", 10, 37, "c", "dropout (line 11) feeds this batch norm directly: its moving variance "
                                        "will not match inference"),
         _bn007(13, 15, "table", "0.3"), _bn007(22, 23, "awaited", "0.4"), _bn007(25, 24, "lam", "0.45")], [], [])


def test_a_folded_training_flag_passed_in_a_mapping_is_reported_where_it_is_written(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import tensorflow.compat.v1 as tf

        opts = {"training": not False}
        x = tf.placeholder(tf.float32, [None, 4])
        y = tf.layers.batch_normalization(x, name="bn", **opts)
        saver = tf.train.Saver()
        sess = tf.Session()
        saver.restore(sess, "ckpt/model")
        print(sess.run(y))
        """}) == (
        [("BN002", "m.py", 3, 21, "bn", "the script restores a checkpoint at line 8 and runs predictions with this "
                                        "layer built only in training mode: each prediction is normalised with its "
                                        "own batch's statistics")], [], [])


# ---- the walk's statement limits ---------------------------------------------------------------------

def test_one_walk_stops_after_its_statement_limit_and_a_program_after_its_own(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = ("import tensorflow as tf\n" + "".join(f"a{i} = {i}\n" for i in range(12))
               + "bn = tf.keras.layers.BatchNormalization(momentum=0.1)\n")
    monkeypatch.setattr(walker, "MAX_STEPS", 10)
    assert _check(tmp_path / "walk", {"m.py": program}) == (
        [], [("m.py:11", "source analysis of m stopped here: one walk reads at most 10 statements; BN001 and the "
                         "export checks of BN002 are not judged for it, other rules only up to here")], [])
    # the program's budget runs out at the 10th statement, which is also the walk's 10th: the program's note
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 9)
    assert _check(tmp_path / "program", {"m.py": program}) == (
        [], [("m.py:10", "source analysis of m stopped here: a program (files that import each other) gets at most 9 "
                         "statements; BN001 and the export checks of BN002 are not judged for it, other rules only up "
                         "to here")], [])


# ---- lambdas: the frame they close over -------------------------------------------------------------

LAMBDAS = """
    import tensorflow as tf

    B = tf.keras.layers.BatchNormalization
    m = 0.1
    table = {"m": 0.3, "mm": 0.9}
    f = lambda: B(momentum=m, name="lam2")


    def root():
        m = tf.constant(0.4)
        return f()


    def wrap(x):
        m = 0.2
        return tf.map_fn(lambda t: B(momentum=m, name="inlam")(t), x)


    t = B(momentum=table["m"], name="prefixed")
    """


def test_a_lambda_sees_its_definers_names_wherever_it_is_called_and_a_key_is_read_exactly(
        tmp_path: pathlib.Path) -> None:
    # f, made by the module, called from root (whose own m is a tensor): the module's m; the lambda handed
    # to tf.map_fn in wrap: wrap's m; table["m"] is the key "m", not every key starting with it
    assert _check(tmp_path, {"m.py": LAMBDAS}) == (
        [_bn007(4, 5, "lam2"), _bn007(5, 15, "prefixed", "0.3"), _bn007(15, 9, "inlam", "0.2")], [], [])
