"""Exact outcomes mutation testing of ``bncheck/source/modes.py`` showed (issue 22, item 5).

A model's own training-flag parameter (``call(self, z, is_training=False)`` passed on to its batch
norms, through helper methods, list items and nested models, within the depth/site/visit limits):
each survivor of the mutmut run that a program tells apart is killed here by a small program whose
findings (code, line, column, layer), notes and errors are asserted in full. The survivors no
program tells apart are listed with their reason in ``tools/mutation_equivalents.md``.
"""
from __future__ import annotations

import pathlib

from bncheck.source import check_files

Outcome = tuple[list[tuple[str, int, int, str]], list[tuple[str, str]], list[str]]
NOT_WORKED = ("the training flag of {}.call is not worked out: its call passes parameters on through more than "
              "bncheck follows (2,000 calls, 12 nested models or helpers, 256 calls in one method); the training "
              "mode of its batch norms at this call is not judged")


HEAD = ("import tensorflow as tf\n\n\n")
TRAIN = ("\n\nmaker = Maker()\nopt = tf.keras.optimizers.Adam(2e-4)\n\n\n"
         "def train_step(noise):\n    with tf.GradientTape() as tape:\n"
         "        loss = tf.reduce_mean(maker(noise{flag}))\n"
         "    grads = tape.gradient(loss, maker.trainable_variables)\n"
         "    opt.apply_gradients(zip(grads, maker.trainable_variables))\n")

def model(call: str, flag: str = "", sig: str = "self, z, is_training=False", base: str = "tf.keras.Model",
          extra: str = "") -> str:
    """A model ``Maker`` with one batch norm ``maker_bn`` (``extra``: code before it), its ``call`` of
    signature ``sig`` and body ``call``; the train step calls it with ``flag``."""
    return (HEAD + extra + f"class Maker({base}):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = tf.keras.layers.Dense(16, use_bias=False)\n"
            "        self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')\n\n"
            f"    def call({sig}):\n" + call + TRAIN.format(flag=flag))


def _check(tmp_path: pathlib.Path, source: str) -> Outcome:
    path = tmp_path / "m.py"
    path.write_text(source)
    result = check_files([str(path)])
    here = str(tmp_path) + "/"
    return ([(f.code, f.loc.line, f.loc.col, f.layer) for f in result.findings],
            [(where.replace(here, ""), note) for where, note in result.notes],
            [str(e).replace(here, "") for e in result.errors])


BN = "        return self.bn(self.fc(z), training=is_training)\n"

def helper(body: str, sig: str) -> str:
    """A ``call`` returning ``body``, and a helper ``block(sig)`` passing ``t`` to the batch norm."""
    return f"        return {body}\n\n    def block({sig}):\n        return self.bn(z, training=t)\n"

def chain(n: int) -> str:
    """Helpers h0..h{n} handing ``is_training`` on; h{n} passes it to the batch norm."""
    return ("        return self.h0(z, is_training)\n\n"
            + "".join(f"    def h{i}(self, z, t):\n        return self.h{i + 1}(z, t)\n\n" for i in range(n))
            + f"    def h{n}(self, z, t):\n        return self.bn(z, training=t)\n")

def nested(n: int) -> str:
    """Models M0 (outermost) .. M{n-1}, each passing ``is_training`` on; the innermost holds the batch norm ``bn``."""
    out = "import tensorflow as tf\n\n\n"
    for i in range(n - 1, -1, -1):
        inner = ("self.bn = tf.keras.layers.BatchNormalization(name='bn')" if i == n - 1 else f"self.inner = M{i + 1}()")
        use = ("self.bn(z, training=is_training)" if i == n - 1 else "self.inner(z, is_training=is_training)")
        out += (f"class M{i}(tf.keras.Model):\n    def __init__(self):\n        super().__init__()\n        {inner}\n\n"
                f"    def call(self, z, is_training=False):\n        return {use}\n\n\n")
    return out + ("maker = M0()\nopt = tf.keras.optimizers.Adam(2e-4)\n\n\n"
                  "def train_step(noise):\n    with tf.GradientTape() as tape:\n"
                  "        loss = tf.reduce_mean(maker(noise))\n"
                  "    grads = tape.gradient(loss, maker.trainable_variables)\n"
                  "    opt.apply_gradients(zip(grads, maker.trainable_variables))\n")


FLAG = ", is_training=True"
INNER2 = ("import tensorflow as tf\n\n\nclass Inner(tf.keras.Model):\n    def __init__(self):\n        super().__init__()\n"
          "        self.bn = tf.keras.layers.BatchNormalization(name='inner_bn')\n"
          "        self.bn2 = tf.keras.layers.BatchNormalization(name='inner_bn2')\n\n"
          "    def call(self, z, {sig}):\n{body}\n\n")
def outer(use: str, sig: str = "is_training=False", flag: str = "") -> str:
    return ("class Maker(tf.keras.Model):\n    def __init__(self):\n        super().__init__()\n"
            "        self.inner = Inner()\n        self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')\n\n"
            f"    def call(self, z, {sig}):\n        return self.bn({use}, training=True)\n\n\n"
            "maker = Maker()\nopt = tf.keras.optimizers.Adam(2e-4)\n\n\n"
            "def train_step(noise):\n    with tf.GradientTape() as tape:\n"
            f"        loss = tf.reduce_mean(maker(noise{flag}))\n"
            "    grads = tape.gradient(loss, maker.trainable_variables)\n"
            "    opt.apply_gradients(zip(grads, maker.trainable_variables))\n")
def inner_outer(isig: str, ibody: str, use: str, flag: str = "") -> str:
    """``Inner`` (two batch norms; its call has ``isig`` and body ``ibody``) held by ``Maker``, whose call passes
    ``is_training`` on as ``use``."""
    return INNER2.format(sig=isig, body=ibody) + outer(use, flag=flag)
CASES = {
 "kw_helper": model(helper("self.block(z, t=is_training)", "self, z, t")),
 "kw_helper_true": model(helper("self.block(z, t=is_training)", "self, z, t"), FLAG),
 "short_helper": model(helper("self.block(z, is_training)", "self, z")),
 "kwonly_helper": model(helper("self.block(z, is_training)", "self, z, *, t=True")),
 "selfless_helper": model(helper("self.block(is_training)", "*, t=True")),
 "chain7": model(chain(7)), "chain8": model(chain(8)),
 "nested8": nested(8), "nested9": nested(9),
 "kwonly_mode": model(BN, sig="self, z, *, is_training=True"),
 "kwonly_mode_false": model(BN, FLAG, sig="self, z, *, is_training=False"),
 "first_mode": model(BN, sig="self, is_training=False, z=None").replace("maker(noise)", "maker(True)"),
 "bare_call": model("        print(z)\n" + BN),
 "const_kw": model("        tf.reduce_mean(z, axis=0)\n" + BN),
 "starred": model("        tf.stack(*[z])\n" + BN, FLAG),
 "list_item": model("        return self.bns[0](z, is_training)\n").replace("self.bn = ", "self.bns = [").replace("maker_bn')", "maker_bn')]"),
 "list_item_true": model("        return self.bns[0](z, is_training)\n", FLAG).replace("self.bn = ", "self.bns = [").replace("maker_bn')", "maker_bn')]"),
 "inherited": model(BN, FLAG, base="Base", sig="self, z, unused=None", extra="class Base(tf.keras.Model):\n    def call(self, z, is_training=False):\n        return self.h(z, is_training)\n\n    def h(self, z, t):\n        return self.g(z, t)\n\n    def g(self, z, t):\n        return self.bn(z, training=t)\n\n\n").replace("    def call(self, z, unused=None):\n" + BN, "    def unused(self):\n        return 0\n"),
 "inherited_nested": inner_outer("flag=False", "        return self.h(z, flag)\n\n    def h(self, z, t):\n        return self.bn2(self.bn(z, training=t), training=t)", "self.inner(z, flag=is_training)").replace("class Inner(tf.keras.Model)", "class Base(tf.keras.Model):\n    pass\n\n\nclass Inner(Base)"),
 "many_local_kw": model("        tf.identity(y, name=nm)\n" * 300 + BN),
 "sites256": model("        tf.debugging.assert_type(is_training, tf.bool)\n" * 255 + "        return self.bn(z, training=is_training)\n"),
 "sites257": model("        tf.debugging.assert_type(is_training, tf.bool)\n" * 256 + "        return self.bn(z, training=is_training)\n"),
 "free_fn": model("        return batch_norm(self.fc(z), training=is_training)\n", FLAG),
 "print_flag": model("        tf.print(is_training)\n        return self.bn(z, training=True)\n"),
 "inner_plain_kw": inner_outer("training=None", "        return self.bn2(self.bn(z))", "self.inner(z, training=is_training)"),
 "inner_plain_other": inner_outer("training=None", "        return self.bn2(self.bn(z))", "self.inner(z, flag=is_training)"),
 "inner_plain_pos": inner_outer("training=None", "        return self.bn2(self.bn(z))", "self.inner(z, is_training)"),
 "inner_flag_pos": inner_outer("flag=False", "        return self.bn2(self.bn(z, training=flag))", "self.inner(z, is_training)"),
 "inner_flag_one": inner_outer("flag=False", "        return self.bn2(self.bn(z, training=flag), training=True)", "self.inner(z, flag=is_training)"),
 "inner_flag_all": inner_outer("flag=False", "        return batch_norm(self.bn2(self.bn(z)), training=flag)", "self.inner(z, flag=is_training)"),
 "mixed_all": model("        return batch_norm(self.bn(self.fc(z), training=is_training), training=is_training)\n"),
}
def visits(n_params_extra: int, n_sites: int) -> str:
    """``call`` with 2 + ``n_params_extra`` parameters and ``n_sites`` + 1 passing sites: visits = their product."""
    sig = "self, z, " + "".join(f"p{i}, " for i in range(n_params_extra)) + "is_training=False"
    return model("        tf.debugging.assert_type(is_training, tf.bool)\n" * (n_sites - 1)
                 + "        return self.bn(z, training=is_training)\n", sig=sig)


def chain_inner(k: int) -> str:
    """Helpers h0..h{k} handing ``is_training`` on; h{k} passes it to the nested model ``Inner`` as ``flag``."""
    return ("        return self.h0(z, is_training)\n\n"
            + "".join(f"    def h{i}(self, z, t):\n        return self.h{i + 1}(z, t)\n\n" for i in range(k))
            + f"    def h{k}(self, z, t):\n        return self.inner(z, flag=t)\n")


def chain_inner_prog(k: int) -> str:
    return (INNER2.format(sig="flag=False", body="        return self.bn2(self.bn(z, training=flag), training=flag)")
            + model(chain_inner(k)).replace("import tensorflow as tf\n\n\n", "").replace(
                "self.fc = tf.keras.layers.Dense(16, use_bias=False)", "self.inner = Inner()"))


CASES.update({
    "ci6": chain_inner_prog(6),  # Inner's mode parameter looked for at depth 8 (MAX_DEPTH): worked out
    "ci7": chain_inner_prog(7),  # at depth 9: cut
    "star_before": model(BN).replace("maker(noise)", "maker(*[noise], True)"),
    "star_after": model(BN).replace("maker(noise)", "maker(noise, True, *rest)"),
    "pos_unknown": model(BN).replace("maker(noise)", "maker(noise, cfg.train)"),
    "pos_true": model(BN).replace("maker(noise)", "maker(noise, True)"),
})


# a second batch norm, maker_bn2, beside maker_bn
BN2 = "self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')\n        self.bn2 = tf.keras.layers.BatchNormalization(name='maker_bn2')"
CASES.update({
 "mixed_all_true": model("        return self.bn2(batch_norm(self.bn(self.fc(z), training=is_training), training=is_training))\n", FLAG).replace("self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')", BN2),
 "inner_flag_all_true": inner_outer("flag=False", "        return batch_norm(self.bn2(self.bn(z)), training=flag)", "self.inner(z, flag=is_training)", FLAG),
 "inner_flag_one_true": inner_outer("flag=False", "        return self.bn2(self.bn(z, training=flag))", "self.inner(z, flag=is_training)", FLAG),
 "kwonly_helper_true": model(helper("self.block(z, is_training)", "self, z, *, t=False"), FLAG),
 "selfless_helper_true": model(helper("self.block(is_training)", "*, t=False"), FLAG),
 "inner_plain_kw_true": inner_outer("training=None", "        return self.bn2(self.bn(z))", "self.inner(z, training=is_training)", FLAG),
 "inner_plain_pos_true": inner_outer("training=None", "        return self.bn2(self.bn(z))", "self.inner(z, is_training)", FLAG),
 "inner_flag_pos_true": inner_outer("flag=False", "        return self.bn2(self.bn(z, training=flag))", "self.inner(z, is_training)", FLAG),
 "inner_kwonly_true": inner_outer("*, flag=False", "        return self.bn2(self.bn(z, training=flag))", "self.inner(z, other=is_training)", FLAG),
 "print_flag_true": model("        tf.print(is_training)\n        return self.bn(z)\n", FLAG),
})


def test_helper_reaches_binds_keywords_positions_and_the_depth_limit(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['kw_helper']) == ([('BN009', 23, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['kw_helper_true']) == ([], [], [])
    assert _check(tmp_path, CASES['short_helper']) == ([('BN009', 23, 31, 'maker_bn')], [('m.py:14', 'BN008 not judged for self.bn in Maker.call: training= is a value bncheck cannot tell')], [])
    assert _check(tmp_path, CASES['kwonly_helper']) == ([('BN008', 14, 36, 'maker_bn'), ('BN009', 23, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['selfless_helper']) == ([('BN009', 23, 31, 'maker_bn')], [('m.py:14', 'BN008 not judged for self.bn(..., training=True) in Maker.call: its definition is not in the scanned files, so bncheck cannot tell whether it holds batch norm')], [])
    assert _check(tmp_path, CASES['chain7']) == ([('BN009', 44, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['chain8']) == ([], [('m.py:47', NOT_WORKED.format("Maker"))], [])


def test_mode_param_depth_limit_of_nested_models(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['nested8']) == ([('BN009', 82, 31, 'bn')], [], [])
    assert _check(tmp_path, CASES['nested9']) == ([], [('m.py:91', NOT_WORKED.format("M0"))], [])


def test_mode_param_keyword_only_and_first_parameter(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['kwonly_mode']) == ([], [], [])
    assert _check(tmp_path, CASES['kwonly_mode_false']) == ([], [], [])
    assert _check(tmp_path, CASES['first_mode']) == ([], [], [])


def test_sites_read_bare_calls_constant_keywords_starred_and_locals(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['bare_call']) == ([('BN009', 21, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['const_kw']) == ([('BN009', 21, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['starred']) == ([], [], [])
    assert _check(tmp_path, CASES['many_local_kw']) == ([('BN009', 320, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['sites256']) == ([('BN009', 275, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['sites257']) == ([], [('m.py:276', NOT_WORKED.format("Maker"))], [])


def test_reached_list_items_and_inherited_methods(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['list_item']) == ([('BN009', 20, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['list_item_true']) == ([], [], [])
    assert _check(tmp_path, CASES['inherited']) == ([], [], [])
    assert _check(tmp_path, CASES['inherited_nested']) == ([('BN008', 27, 66, 'maker_bn'), ('BN009', 36, 31, 'inner_bn'), ('BN009', 36, 31, 'inner_bn2'), ('BN009', 36, 31, 'maker_bn')], [], [])


def test_reached_unnamed_callees_and_nested_models(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES['free_fn']) == ([], [], [])
    assert _check(tmp_path, CASES['print_flag']) == ([('BN008', 12, 36, 'maker_bn'), ('BN009', 21, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['mixed_all']) == ([('BN009', 20, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_plain_kw']) == ([('BN008', 20, 70, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_plain_other']) == ([('BN008', 20, 66, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_plain_pos']) == ([('BN008', 20, 61, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_flag_pos']) == ([('BN008', 20, 61, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_flag_one']) == ([('BN008', 11, 61, 'inner_bn2'), ('BN008', 20, 66, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_flag_all']) == ([('BN008', 20, 66, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])


def test_param_reaches_visits_exactly_the_limit(tmp_path: pathlib.Path) -> None:
    # 8 parameters x 250 sites = 2,000 visits (MAX_VISITS): worked out; 8 x 251: not
    assert _check(tmp_path, visits(6, 249)) == ([('BN009', 268, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, visits(6, 250)) == ([], [('m.py:269', NOT_WORKED.format("Maker"))], [])


def test_mode_param_depth_limit_through_helpers_and_binding_positions(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, CASES["ci6"]) == ([('BN009', 50, 31, 'inner_bn'), ('BN009', 50, 31, 'inner_bn2'),
                                               ('BN009', 50, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES["ci7"]) == ([], [("m.py:53", NOT_WORKED.format("Maker"))], [])
    # `*[noise], True` gives is_training=True as Python expands the list: a starred item before the parameter
    # makes its value unknown (no verdict), not the default
    for case in ("star_before", "star_after", "pos_unknown", "pos_true"):
        assert _check(tmp_path, CASES[case]) == ([], [], [])


# a base class in another file: its ``call`` and helpers are found only through the project's imports
BASE_FILE = 'import tensorflow as tf\n\n\nclass Base(tf.keras.Model):\n    def call(self, z, is_training=False):\n        return self.h(z, is_training)\n\n    def h(self, z, t):\n        return self.g(z, t)\n\n    def g(self, z, t):\n        return self.bn(z, training=t)\n'
SUB_FILE = "import tensorflow as tf\nfrom base import Base\n\n\nclass Inner(Base):\n    def __init__(self):\n        super().__init__()\n        self.bn = tf.keras.layers.BatchNormalization(name='inner_bn')\n\n\nclass Maker(Base):\n    def __init__(self):\n        super().__init__()\n        self.inner = Inner()\n        self.bn = tf.keras.layers.BatchNormalization(name='maker_bn')\n\n    def g(self, z, t):\n        return self.bn(self.inner(z, is_training=t), training=t)\n\n\nmaker = Maker()\nopt = tf.keras.optimizers.Adam(2e-4)\n\n\ndef train_step(noise):\n    with tf.GradientTape() as tape:\n        loss = tf.reduce_mean(maker(noise))\n    grads = tape.gradient(loss, maker.trainable_variables)\n    opt.apply_gradients(zip(grads, maker.trainable_variables))\n"


def test_methods_inherited_from_another_file_are_followed(tmp_path: pathlib.Path) -> None:
    (tmp_path / "base.py").write_text(BASE_FILE)
    (tmp_path / "m.py").write_text(SUB_FILE)
    result = check_files([str(tmp_path / "base.py"), str(tmp_path / "m.py")])
    here = str(tmp_path) + "/"
    assert [(f.loc.path.replace(here, ""), f.code, f.loc.line, f.loc.col, f.layer) for f in result.findings] == [
        ("m.py", "BN009", 27, 31, "inner_bn"), ("m.py", "BN009", 27, 31, "maker_bn")]
    assert result.notes == [] and result.errors == []


def test_helper_reaches_spends_no_visit_on_a_parameter_the_helper_lacks(tmp_path: pathlib.Path) -> None:
    # 8 parameters x 250 sites = 2,000 visits exactly (one site passes is_training to the helper as a keyword it
    # has no parameter of): nothing of the helper is visited, so the limit is not passed
    source = visits(6, 249).replace("        tf.debugging.assert_type(is_training, tf.bool)\n",
                                    "        self.block(flag=is_training)\n", 1).replace(
        "training=is_training)\n", "training=is_training)\n\n    def block(self, q):\n        return tf.identity(q)\n", 1)
    assert _check(tmp_path, source) == ([("BN009", 271, 31, "maker_bn")], [], [])


def test_flag_true_at_the_call_reaches_exactly_the_batch_norms_passed_to(tmp_path: pathlib.Path) -> None:
    # the train step passes is_training=True: the batch norms it reaches train; the others are read as Keras reads them
    assert _check(tmp_path, CASES['mixed_all_true']) == ([], [], [])
    assert _check(tmp_path, CASES['inner_flag_all_true']) == ([('BN008', 20, 66, 'maker_bn'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_flag_one_true']) == ([('BN008', 20, 66, 'maker_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['kwonly_helper_true']) == ([('BN009', 23, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['selfless_helper_true']) == ([('BN009', 23, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_plain_kw_true']) == ([('BN008', 20, 70, 'maker_bn'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_plain_pos_true']) == ([('BN008', 20, 61, 'maker_bn'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_flag_pos_true']) == ([('BN008', 20, 61, 'maker_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['inner_kwonly_true']) == ([('BN008', 20, 67, 'maker_bn'), ('BN009', 29, 31, 'inner_bn'), ('BN009', 29, 31, 'inner_bn2'), ('BN009', 29, 31, 'maker_bn')], [], [])
    assert _check(tmp_path, CASES['print_flag_true']) == ([('BN009', 21, 31, 'maker_bn')], [], [])


SERVING = ("import tensorflow as tf\n\n\nclass Net(tf.keras.Model):\n    def __init__(self):\n        super().__init__()\n"
           "        self.bn = tf.keras.layers.BatchNormalization()\n\n    def call(self, x, is_training=False):\n"
           "        return self.bn(x, training=is_training)\n\n\nmodel = Net()\nopts = load()\n\n\n"
           "@tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])\ndef serve(x):\n    return model({args})\n\n\n"
           "tf.saved_model.save(model, 'export', signatures=serve)\n")
NOT_JUDGED_SERVING = "BN002 not judged for model in the serving function 'serve': training= is a value bncheck cannot tell"


def test_a_serving_call_binds_the_models_own_flag_by_keyword_position_or_default(tmp_path: pathlib.Path) -> None:
    """The model's mode parameter at a serving call: a keyword, a position, and a default of ``True``."""
    layer = "BatchNormalization@7"
    assert _check(tmp_path, SERVING.format(args="x, is_training=True")) == ([("BN002", 19, 33, layer)], [], [])
    assert _check(tmp_path, SERVING.format(args="x, is_training=False")) == ([], [], [])
    assert _check(tmp_path, SERVING.format(args="x, True")) == ([("BN002", 19, 21, layer)], [], [])
    default_true = SERVING.replace("is_training=False):", "is_training=True):")
    assert _check(tmp_path, default_true.format(args="x")) == ([("BN002", 19, 12, layer)], [], [])
    assert _check(tmp_path, default_true.format(args="x, is_training=False")) == ([], [], [])


def test_a_mapping_or_sequence_unpacked_at_a_serving_call_gives_the_models_flag_or_a_note(tmp_path: pathlib.Path) -> None:
    """A ``**`` mapping bncheck knows gives the parameter (the finding at the call: no expression is
    written); one it cannot list, or a ``*`` sequence before the parameter, may give it: a note, not the
    default's silence (before, both were read as the default, ``False``, and said nothing)."""
    layer = "BatchNormalization@7"
    assert _check(tmp_path, SERVING.format(args="x, **{'is_training': True}")) == ([("BN002", 19, 12, layer)], [], [])
    assert _check(tmp_path, SERVING.format(args="x, **{'is_training': False}")) == ([], [], [])
    assert _check(tmp_path, SERVING.format(args="x, **opts")) == ([], [("m.py:19", NOT_JUDGED_SERVING)], [])
    assert _check(tmp_path, SERVING.format(args="*opts")) == ([], [("m.py:19", NOT_JUDGED_SERVING)], [])
