"""BN010 on the bias constructs real training code uses (issue 18 item 6, the dev corpus's misses):
each a minimal fixture twin under fixtures/source/bias/ (written in
fixtures/builders/source_scripts/bias/, copied by the generator), the mistake found at an exact
(code, path, line, layer) and its fixed twin silent (no finding of any severity, no note).

The fixed twins hold what must stay silent: ``use_bias=False``, ``biases_initializer=None``, slim's
``normalizer_fn`` set, an activation between the bias and batch norm, a bias only on the output layer."""
from __future__ import annotations

import os

import pytest
from conftest import FIXTURES

from bncheck.source import check_files

BIAS = FIXTURES / "source" / "bias"

EXPECTED: dict[str, list[tuple[str, str, int, str]]] = {
    # weights in a dict: `matmul(x, weights['w1']) + weights['b1']`, and `weights['b' + str(i + 1)]` in a
    # loop, into a helper's batch_norm (its scope is str(i + 1), unknown: slim's default name)
    "dict_of_bias_variables.py": [("BN010", "dict_of_bias_variables.py", 24, "0"),
                                  ("BN010", "dict_of_bias_variables.py", 26, "BatchNorm")],
    # activation_fn=a helper that applies batch norm first; activation_fn=lrelu alone is an activation
    "slim_activation_applies_bn.py": [("BN010", "slim_activation_applies_bn.py", 17, "BatchNorm"),
                                      ("BN010", "slim_activation_applies_bn.py", 18, "BatchNorm")],
    # an object's __call__ that nothing in the file calls (chosen by importlib) is walked
    "callable_model_class.py": [("BN010", "callable_model_class.py", 14, "g_net/BatchNorm"),
                                ("BN010", "callable_model_class.py", 17, "g_net/BatchNorm")],
    # every arm of an undecided if/elif feeds the batch norm after it (the else raises)
    "keras_branches_conv_bn.py": [("BN010", "keras_branches_conv_bn.py", 13, "BatchNormalization@21"),
                                  ("BN010", "keras_branches_conv_bn.py", 16, "BatchNormalization@21"),
                                  ("BN010", "keras_branches_conv_bn.py", 18, "BatchNormalization@21")],
    # methods chaining on self.outputs (append, read at [-1]); the scope is "%s_L%03d" % (...), unknown
    "model_chain_outputs_list.py": [("BN010", "model_chain_outputs_list.py", 19, "?/BatchNorm")],
    # `self.forward` (and the weights' maker) bound to different methods in an undecided if's arms: a
    # call follows each, so the conv path gets its weights dict and its bias variable is known
    "method_chosen_in_if.py": [("BN010", "method_chosen_in_if.py", 31, "conv1")],
}


def _check(name: str):  # type: ignore[no-untyped-def]
    result = check_files([str(BIAS / name)])
    assert not result.errors
    return result


def _found(name: str) -> list[tuple[str, str, int, str]]:
    return sorted((f.code, os.path.relpath(f.loc.path, BIAS), f.loc.line, f.layer) for f in _check(name).findings)


def _twin(name: str) -> str:
    return name.replace(".py", "_fixed.py")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mistake_found_at_its_line(name: str) -> None:
    assert _found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixed_twin_is_silent(name: str) -> None:
    result = _check(_twin(name))
    assert (result.findings, result.notes) == ([], [])


def test_every_fixture_has_its_twin_and_its_expectation() -> None:
    assert {p.name for p in BIAS.iterdir() if p.name != "__pycache__"} == set(EXPECTED) | {
        _twin(n) for n in EXPECTED}


def test_the_bias_in_a_dict_is_reported_at_the_add() -> None:
    """A bias added by hand proposes no edit, and points at the `+` expression."""
    found = sorted(_check("dict_of_bias_variables.py").findings, key=lambda f: f.loc.line)
    assert [(f.loc.line, f.loc.col, f.edits) for f in found] == [(24, 28, ()), (26, 32, ())]
    assert found[0].message == "this bias is added right before batch norm (line 10): BN cancels it"


def test_a_bias_through_an_activation_helper_names_the_batch_norm_line() -> None:
    found = sorted(_check("slim_activation_applies_bn.py").findings, key=lambda f: f.loc.line)
    assert [f.message for f in found] == ["this layer's bias feeds batch norm directly (line 12): BN cancels it"] * 2


@pytest.mark.parametrize("key, bias", [
    ("weights['b1']", True),  # stored under the key itself
    ("weights['b' + str(i)]", True),  # every key starting with 'b' is a rank-1 variable
    ("weights[f'b{i}']", True),
    ("weights['b3']", True),  # not stored by name, but every key written 'b' + ... is a rank-1 variable
    ("weights['w' + str(i)]", False),  # rank 2: a matrix, not a bias
    ("weights[k]", False),  # a key with no literal start: any value of the dict
    ("weights['c1']", False),  # never stored
])
def test_dict_subscripts_of_variables(tmp_path, key: str, bias: bool) -> None:  # type: ignore[no-untyped-def]
    """A variable read from a dict: a rank-1 one added to a conv is a bias (a finding), a rank-2 one
    or an unknown value is not a bias bncheck can tell (a note, or nothing)."""
    path = tmp_path / "m.py"
    path.write_text(
        "import tensorflow.compat.v1 as tf\n\n\n"
        "def f(x, i, k, t):\n"
        "    weights = {}\n"
        "    weights['w1'] = tf.get_variable('w1', [3, 3, 8, 8])\n"
        "    weights['b1'] = tf.Variable(tf.zeros([8]))\n"
        "    for j in range(2, 4):\n"
        "        weights['w' + str(j)] = tf.get_variable('w' + str(j), [8, 8])\n"
        "        weights['b' + str(j)] = tf.Variable(tf.zeros([8]))\n"
        f"    y = tf.nn.conv2d(x, weights['w1'], 1, 'SAME') + {key}\n"
        "    return tf.layers.batch_normalization(y, training=t, name='bn')\n")
    result = check_files([str(path)])
    found = [(f.code, f.loc.line, f.layer) for f in result.findings]
    assert (found, result.notes) == ([("BN010", 11, "bn")] if bias else [], [])


def test_a_bias_added_only_in_one_arm_of_an_if(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`if use_bias: y = y + b` with no else: the arm with the bias feeds batch norm (reported), the
    value from before the if is kept too, and an arm that returns early adds nothing."""
    path = tmp_path / "m.py"
    path.write_text(
        "import tensorflow.compat.v1 as tf\n\n\n"
        "def f(x, w, use_bias, early, t):\n"
        "    y = tf.nn.conv2d(x, w, 1, 'SAME')\n"
        "    if early:\n"
        "        return tf.nn.bias_add(y, tf.get_variable('c', [8]))\n"
        "    if use_bias:\n"
        "        y = tf.nn.bias_add(y, tf.get_variable('b', [8]))\n"
        "    return tf.layers.batch_normalization(y, training=t, name='bn')\n")
    result = check_files([str(path)])
    assert ([(f.code, f.loc.line, f.layer) for f in result.findings], result.notes) == ([("BN010", 9, "bn")], [])


def test_names_an_if_binds_are_computed_once_per_if_statement(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An elif chain of n arms is n nested ifs: each is scanned once (not once per enclosing if)."""
    import ast

    from bncheck.source import branches

    arms = "".join(f"elif k == {i}:\n    x{i} = f(x)\n" for i in range(1, 200))
    tree = ast.parse("if k == 0:\n    x0 = f(x)\n" + arms + "else:\n    def g():\n        hidden = 1\n    raise E\n")
    outer = tree.body[0]
    assert isinstance(outer, ast.If)
    scanned: list[ast.If] = []
    direct = branches._direct_names
    monkeypatch.setattr(branches, "_direct_names", lambda s: (scanned.append(s), direct(s))[1])
    bound = branches.BoundNames()
    assert bound.of(outer) == frozenset(f"x{i}" for i in range(200))  # not `hidden`: g's own name space
    inner = outer.orelse[0]
    assert isinstance(inner, ast.If)
    assert bound.of(inner) == frozenset(f"x{i}" for i in range(1, 200))
    assert len(scanned) == 200 and len({id(s) for s in scanned}) == 200


def test_a_function_chosen_among_too_many_in_an_if_is_followed_up_to_the_cap(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`f` bound to one of 5 functions in an if/elif chain: a call of it follows the first 4 (each a
    finding), and the if carries a note that the others are not judged."""
    from bncheck.source.value_ops import MAX_CHOICES

    assert MAX_CHOICES == 4
    helpers = "".join(f"def g{i}(x, w):\n    return tf.nn.bias_add(tf.nn.conv2d(x, w, 1, 'SAME'), "
                      f"tf.get_variable('b{i}', [8]))\n\n\n" for i in range(5))
    arms = "".join(f"    elif k == {i}:\n        f = g{i}\n" for i in range(1, 4))
    path = tmp_path / "m.py"
    path.write_text("import tensorflow.compat.v1 as tf\n\n\n" + helpers +
                    "def build(x, w, k, t):\n    if k == 0:\n        f = g0\n" + arms + "    else:\n        f = g4\n"
                    "    return tf.layers.batch_normalization(f(x, w), training=t, name='bn')\n")
    result = check_files([str(path)])
    assert [(f.code, f.loc.line, f.layer) for f in result.findings] == [("BN010", line, "bn") for line in (5, 9, 13, 17)]
    note = ("f may be any of 5 functions after this if; a call of it follows only 4 of them, and what the "
            "others build is not judged")
    assert result.notes == [(f"{path}:25", note)]
