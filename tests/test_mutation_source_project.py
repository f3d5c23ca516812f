"""Exact outcomes mutation testing of ``bncheck/source/project.py`` showed (issue 22, item 5).

The scanned files as one program: which module an import names (suffixes, ambiguous suffixes, library
roots), star imports, :meth:`Project.resolve`, the functions passed as SavedModel ``signatures=``,
``@tf.function`` decorators, Keras classes and :func:`static_qual`; each survivor of the run of 060e6ba
told apart here through the module's public functions, on modules parsed from small programs written in
the test, with every return value asserted in full. The survivors no program tells apart are listed
with their reason in ``tools/mutation_equivalents.md`` ("project.py (mutants of 060e6ba)").
"""
from __future__ import annotations

import ast
import textwrap

import pytest

from bncheck.source.loader import ModuleInfo, parse_module
from bncheck.source.model import Alias, ClassRef, Const, FuncRef, Value
from bncheck.source.project import (
    LIBRARY_ROOTS,
    Project,
    decorated_tf_function,
    is_keras_class,
    serving_names,
    static_qual,
)


def _mod(modname: str, text: str = "") -> ModuleInfo:
    path = "/src/" + modname.replace(".", "/") + ".py"
    return parse_module(path, textwrap.dedent(text).lstrip("\n"), modname)


def _show(value: Value | None) -> object:
    """A value as a comparable tuple: which function/class of which module, an alias's path, a constant."""
    if value is None:
        return None
    if isinstance(value, FuncRef):
        return ("func", value.func.module.modname, value.func.qualname)
    if isinstance(value, ClassRef):
        return ("class", value.cls.module.modname, value.cls.name)
    if isinstance(value, Alias):
        return ("alias", value.qual)
    if isinstance(value, Const):
        return ("const", value.value)
    return type(value).__name__


def _names(project: Project, quals: list[str]) -> list[object]:
    """Which module each qual names (its modname), None when none."""
    found = [project.module(q) for q in quals]
    return [m.modname if m is not None else None for m in found]


# ---- Project: modules and suffixes -----------------------------------------------------------------

def test_project_fresh_state() -> None:
    a = _mod("a", "x = 1\n")
    project = Project([a])
    assert project.modules == [a]
    assert project.followed == frozenset()
    assert project.closure_refs == []
    assert project.cut_hierarchies == {}
    assert project.serving == {a: set()}
    assert project.frozen is False
    assert Project([a], frozenset({"/src/a.py"})).followed == frozenset({"/src/a.py"})


@pytest.mark.parametrize("text, frozen", [
    ("layer.trainable = False\n", True),
    ("layer = Dense(trainable=False)\n", True),
    ("layer.trainable  = False\n", False),
    ("layer.trainable = True\n", False),
])
def test_project_frozen(text: str, frozen: bool) -> None:
    assert Project([_mod("a"), _mod("b", text)]).frozen is frozen


def test_release_closures() -> None:
    class Ref:
        closure: object = "frame"

    refs = [Ref(), Ref()]
    project = Project([])
    project.closure_refs.extend(refs)
    project.release_closures()
    assert [r.closure for r in refs] == [None, None]
    assert project.closure_refs == []


def test_module_suffixes() -> None:
    ops = _mod("pkg.sub.ops")
    project = Project([ops, _mod("main")])
    assert _names(project, ["pkg.sub.ops", "sub.ops", "ops", "main", "pkg", "pkg.sub", "x.pkg.sub.ops",
                            "y.x.pkg.sub.ops", "z.y.x.pkg.sub.ops", "a.b.c.ops", "b.c.ops",
                            "ops.x"]) == [
        "pkg.sub.ops", "pkg.sub.ops", "pkg.sub.ops", "main", None, None, "pkg.sub.ops",
        "pkg.sub.ops", None, None, "pkg.sub.ops", None]


def test_module_ambiguous_suffix() -> None:
    # two modules ending in .ops: "ops" names neither; a module named exactly "ops" wins over a suffix
    one, two = _mod("a.ops"), _mod("b.ops")
    assert _names(Project([one, two]), ["ops", "a.ops", "b.ops"]) == [None, "a.ops", "b.ops"]
    top = _mod("ops")
    assert _names(Project([one, two, top]), ["ops", "a.ops"]) == ["ops", "a.ops"]
    assert _names(Project([one, top]), ["ops", "a.ops"]) == ["ops", "a.ops"]
    assert _names(Project([top, one]), ["ops", "a.ops"]) == [None, "a.ops"]
    three = _mod("c.ops")
    assert _names(Project([one, two, three]), ["ops", "c.ops"]) == [None, "c.ops"]
    # the same module twice (a file given twice) stays known
    assert _names(Project([one, one]), ["ops", "a.ops"]) == ["a.ops", "a.ops"]


@pytest.mark.parametrize("root", sorted(LIBRARY_ROOTS))
def test_library_roots_are_never_scanned_modules(root: str) -> None:
    scanned = _mod(root, "def f():\n    pass\n")
    inner = _mod(root + ".inner", "def g():\n    pass\n")
    project = Project([scanned, inner])
    assert _names(project, [root, root + ".inner", "inner"]) == [None, None, root + ".inner"]
    assert project.resolve(root + ".f") is None
    assert project.resolve(root + ".inner.g") is None
    assert _show(project.resolve("inner.g")) == ("func", root + ".inner", "g")
    assert _names(project, ["x." + root]) == [root]


def test_library_roots() -> None:
    assert LIBRARY_ROOTS == frozenset({
        "tensorflow", "keras", "tf_keras", "tf_slim", "numpy", "torch", "os", "sys", "math", "functools",
        "collections", "typing", "builtins"})


# ---- star imports -------------------------------------------------------------------------------------

def test_star_imports() -> None:
    ops = _mod("pkg.ops", """
        import numpy as np
        def f():
            pass
        def _hidden():
            pass
        K = 3
    """)
    listed = _mod("pkg.listed", """
        __all__ = ["g", "missing", "_private"]
        def g():
            pass
        def h():
            pass
        def _private():
            pass
    """)
    user = _mod("main", """
        from numpy import *
        from pkg.ops import *
        from main import *
        from listed import *
        def f():
            pass
    """)
    project = Project([user, ops, listed])
    assert {k: _show(v) for k, v in user.globals.items()} == {
        "f": ("func", "main", "f"),
        "np": ("alias", "numpy"),
        "K": ("const", 3),
        "g": ("func", "pkg.listed", "g"),
        "_private": ("func", "pkg.listed", "_private"),
    }
    assert _show(project.resolve("main.g")) == ("func", "pkg.listed", "g")


def _chain(n: int) -> list[ModuleInfo]:
    """m0 defines f; m<i> star-imports m<i-1>; listed last first so each round binds one more link."""
    mods = [_mod("m0", "def f():\n    pass\n")] + [_mod(f"m{i}", f"from m{i - 1} import *\n") for i in range(1, n)]
    return mods[::-1]


@pytest.mark.parametrize("n, bound", [(3, 3), (17, 17), (18, 17), (20, 17)])
def test_star_import_chains_are_followed_a_bounded_number_of_rounds(n: int, bound: int) -> None:
    mods = _chain(n)
    Project(mods)
    have = sorted(int(m.modname[1:]) for m in mods if "f" in m.globals)
    assert have == list(range(bound))
    assert all(_show(m.globals["f"]) == ("func", "m0", "f") for m in mods if "f" in m.globals)


# ---- resolve ------------------------------------------------------------------------------------------

def test_resolve() -> None:
    utils = _mod("pkg.sub.utils", """
        import tensorflow as tf
        def helper():
            pass
        class Net:
            def call(self):
                pass
        N = 2
    """)
    project = Project([utils])
    assert [_show(project.resolve(q)) for q in [
        "pkg.sub.utils.helper", "sub.utils.helper", "utils.helper", "x.pkg.sub.utils.helper",
        "y.x.pkg.sub.utils.helper", "z.y.x.pkg.sub.utils.helper", "a.b.c.utils.helper", "b.c.utils.helper",
        "utils.Net", "utils.Net.call", "utils.Net.fit", "utils.Net.call.x", "utils.helper.x", "utils.N",
        "utils.tf", "utils.nothing", "utils", "helper", "pkg.sub", "pkg.sub.utils",
    ]] == [
        ("func", "pkg.sub.utils", "helper"), ("func", "pkg.sub.utils", "helper"),
        ("func", "pkg.sub.utils", "helper"), ("func", "pkg.sub.utils", "helper"),
        ("func", "pkg.sub.utils", "helper"), None, None, ("func", "pkg.sub.utils", "helper"),
        ("class", "pkg.sub.utils", "Net"), ("func", "pkg.sub.utils", "Net.call"), None, None, None,
        ("const", 2), ("alias", "tensorflow"), None, None, None, None, None,
    ]


def test_resolve_prefers_the_longest_module() -> None:
    pkg = _mod("pkg", "def ops():\n    pass\n")
    ops = _mod("pkg.ops", "def f():\n    pass\n")
    project = Project([pkg, ops])
    assert _show(project.resolve("pkg.ops.f")) == ("func", "pkg.ops", "f")
    assert _show(project.resolve("pkg.ops")) == ("func", "pkg", "ops")
    # a module found by the longest prefix without the name: no shorter prefix is tried
    assert project.resolve("pkg.ops.g") is None


# ---- serving_names ------------------------------------------------------------------------------------

def _serving(text: str) -> set[str]:
    return serving_names(_mod("m", text))


@pytest.mark.parametrize("text, names", [
    ("tf.saved_model.save(model, d, signatures=serve)\n", {"serve"}),
    ("tf.saved_model.save(model, d, signatures = serve)\n", {"serve"}),
    ("tf.saved_model.save(model, d, signatures=model.serve)\n", {"serve"}),
    ("tf.saved_model.save(model, d, signatures=serve.get_concrete_function(spec))\n", {"serve"}),
    ("tf.saved_model.save(model, d, signatures=m.serve.get_concrete_function)\n", {"serve"}),
    ("tf.saved_model.save(model, d, signatures=make()(x))\n", {"make"}),
    ("save(m, d, signatures={'a': f, **rest, 'b': g.get_concrete_function(), 'c': 3})\n", {"f", "rest", "g"}),
    ("save(m, d, signatures=3)\n", set()),
    ("save(m, d, other=serve)  # no signatures\n", set()),
    ("save(m, d, options=serve)\n", set()),
    ("save(m, d, mysignatures=serve)\n", set()),
    ("x = 1\n\n\n\nsave(m, d,\n     signatures\n     =serve)\n", {"serve"}),
])
def test_serving_names_values(text: str, names: set[str]) -> None:
    assert _serving(text) == names


def test_serving_names_in_nested_blocks() -> None:
    text = """
        import tensorflow as tf
        def export(model):
            x = 1
            if x:
                y = 2
                save(model, 'a', signatures=in_if)
            else:
                y = 3
                save(model, 'b', signatures=in_else)
            try:
                z = 1
                save(model, 'c', signatures=in_try)
            except ValueError:
                z = 2
                save(model, 'd', signatures=in_except)
            else:
                save(model, 'e', signatures=in_try_else)
            finally:
                z = 3
                save(model, 'f', signatures=in_finally)
            for i in range(2):
                pass
            else:
                save(model, 'g', signatures=in_for_else)
            with ctx(signatures=in_header):
                save(model, 'h', signatures=in_with)
            while x:
                save(model, 'i', signatures=in_while)
        class C:
            def m(self):
                save(self, 'j', signatures=in_method)
        save(model, 'k', signatures=top)
    """
    assert _serving(text) == {
        "in_if", "in_else", "in_try", "in_except", "in_try_else", "in_finally", "in_for_else", "in_header",
        "in_with", "in_while", "in_method", "top"}


@pytest.mark.parametrize("text, names", [
    # only the else branch holds one
    ("if x:\n    a = 1\n    b = 2\nelse:\n    a = 3\n    save(m, d, signatures=s)\n", {"s"}),
    # only the body
    ("if x:\n    a = 1\n    save(m, d, signatures=s)\nelse:\n    a = 3\n    b = 4\n", {"s"}),
    # one-line compound statement
    ("if x: save(m, d, signatures=s)\n", {"s"}),
    ("try:\n    a = 1\nexcept E:\n    save(m, d, signatures=s)\n", {"s"}),
    ("try:\n    a = 1\nfinally:\n    save(m, d, signatures=s)\n", {"s"}),
    ("try:\n    a = 1\nexcept save(m, d, signatures=s):\n    pass\n", {"s"}),
    ("def f(a=save(m, d, signatures=s)):\n    pass\n", {"s"}),
    ("x = 1\ny = 2\nsave(m, d, signatures=s)\nz = save(m, d, signatures=t)\n", {"s", "t"}),
    ("x = '''\nsignatures=s\n'''\nsave(m, d, options=o)\n", set()),
    ("# signatures=s\ndef f():\n    save(m, d, signatures=t)\n", {"t"}),
])
def test_serving_names_blocks(text: str, names: set[str]) -> None:
    assert _serving(text) == names


def test_serving_names_after_a_blank_first_line() -> None:
    module = parse_module("/src/m.py", "\nsave(m, d, signatures=s)\n", "m")
    assert serving_names(module) == {"s"}


def test_project_serving() -> None:
    a = _mod("a", "save(m, d, signatures=serve)\n")
    b = _mod("b", "def serve():\n    pass\n")
    assert Project([a, b]).serving == {a: {"serve"}, b: set()}


# ---- decorated_tf_function --------------------------------------------------------------------------

def test_decorated_tf_function() -> None:
    module = _mod("m", """
        import tensorflow as tf
        from tensorflow import function
        @tf.function
        def a():
            pass
        @tf.function(jit_compile=True)
        def b():
            pass
        @function
        def c():
            pass
        @function(reduce_retracing=True)
        def d():
            pass
        @tf.functions
        def e():
            pass
        @functional
        def f():
            pass
        @other
        @tf.function
        def g():
            pass
        def h():
            pass
        @deco()
        def i():
            pass
        @tf.function.x
        def j():
            pass
        @x[0]
        def k():
            pass
        l = lambda: 0
    """)
    got = {name: decorated_tf_function(info) for name, info in module.functions.items()}
    assert got == {"a": True, "b": True, "c": True, "d": True, "e": False, "f": False, "g": True, "h": False,
                   "i": False, "j": False, "k": False}
    lam = module.tree.body[-1].value  # type: ignore[attr-defined]
    assert isinstance(lam, ast.Lambda)
    from bncheck.source.loader import FunctionInfo

    assert decorated_tf_function(FunctionInfo("<lambda>", lam, module)) is False


# ---- is_keras_class / static_qual -----------------------------------------------------------------

def test_is_keras_class() -> None:
    base = _mod("pkg.base", """
        import tensorflow as tf
        class Base(tf.keras.Model):
            pass
        class Plain:
            pass
    """)
    main = _mod("main", """
        import tensorflow as tf
        import keras
        import tf_keras
        from tensorflow import keras as K
        from pkg.base import Base, Plain
        from pkg import base
        import pkg.base
        from numpy import ndarray
        class A(tf.keras.Model):
            pass
        class B(tf.keras.layers.Layer):
            pass
        class C(keras.Sequential):
            pass
        class D(tf_keras.models.Model):
            pass
        class E(K.Model):
            pass
        class F(tf.keras.layers.Dense):
            pass
        class G(A):
            pass
        class H(Base):
            pass
        class I(base.Base):
            pass
        class J(pkg.base.Base):
            pass
        class L(Plain):
            pass
        class M(object, G):
            pass
        class N(make_base()):
            pass
        class O(N, make_base(), H):
            pass
        class P(Q):
            pass
        class Q(P):
            pass
        class R(ndarray):
            pass
        class S(tf.Module):
            pass
        class T(tf.keras.Models):
            pass
        class U(base.Plain):
            pass
        class V(keras.Model.x):
            pass
        class W(mystery.Model):
            pass
        class X(tensorflow.keras.Model):
            pass
    """)
    project = Project([main, base])
    got = {name: is_keras_class(project, cls) for name, cls in main.classes.items()}
    assert got == {"A": True, "B": True, "C": True, "D": True, "E": True, "F": False, "G": True, "H": True,
                   "I": True, "J": True, "L": False, "M": True, "N": False, "O": True, "P": False, "Q": False,
                   "R": False, "S": False, "T": False, "U": False, "V": False, "W": False, "X": True}
    assert is_keras_class(project, base.classes["Base"]) is True
    assert is_keras_class(project, main.classes["G"], {id(main.classes["G"])}) is False


def test_is_keras_class_through_a_local_alias() -> None:
    base = _mod("lib.models", "import keras\nclass Net(keras.Model):\n    pass\n")
    main = _mod("main", """
        import lib.models as lm
        from lib import models
        Base = lm.Net
        Other = models.Net
        class A(Base):
            pass
        class B(Other):
            pass
        class C(lm.Missing):
            pass
    """)
    project = Project([main, base])
    assert {n: is_keras_class(project, c) for n, c in main.classes.items()} == {"A": True, "B": True, "C": False}


def test_is_keras_class_through_a_re_export() -> None:
    impl = _mod("impl", "import keras\nclass Net(keras.Model):\n    pass\nclass Plain:\n    pass\n")
    models = _mod("lib.models", "from impl import Net, Plain\nfrom numpy import ndarray\nfrom impl import Gone\n")
    main = _mod("main", """
        import lib.models
        class A(lib.models.Net):
            pass
        class B(lib.models.Plain):
            pass
        class C(lib.models.ndarray):
            pass
        class D(lib.models.Gone):
            pass
    """)
    project = Project([main, models, impl])
    assert {n: is_keras_class(project, c) for n, c in main.classes.items()} == {
        "A": True, "B": False, "C": False, "D": False}


def test_is_keras_class_re_export_cycle() -> None:
    p = _mod("p", "import r\nclass A(r.BB):\n    pass\n")
    r = _mod("r", "from q import B as BB\n")
    q = _mod("q", "import s\nclass B(s.AA):\n    pass\n")
    s = _mod("s", "from p import A as AA\n")
    project = Project([p, q, r, s])
    assert is_keras_class(project, p.classes["A"]) is False
    assert is_keras_class(project, q.classes["B"]) is False


def test_static_qual() -> None:
    module = _mod("m", """
        import tensorflow as tf
        from keras import layers as L
        x = 1
    """)

    def qual(expr: str) -> str | None:
        return static_qual(module, ast.parse(expr, mode="eval").body)

    assert [qual(e) for e in ["tf", "tf.keras.Model", "L.Dense", "x", "y", "y.z.w", "f().a", "a[0].b", "f()",
                              "x.y"]] == [
        "tensorflow", "tensorflow.keras.Model", "keras.layers.Dense", "x", "y", "y.z.w", None, None, None,
        "x.y"]
