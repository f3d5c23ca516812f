"""Exact outcomes mutation testing of ``bncheck/source/inheritance.py`` and ``bncheck/source/model.py``
showed (issue 22, item 5).

Each test tells apart mutants the source tests let survive: the methods a class inherits (looked up
over the bases of small programs written here, up to :data:`MAX_BASES` classes, through cycles and
imports), and the chains, constants and event orders the walker builds. The survivors no program tells
apart are listed with their reason in ``tools/mutation_equivalents.md`` ("Files outside rules/").
"""
from __future__ import annotations

import ast
import textwrap

from bncheck.source.inheritance import MAX_BASES, method_of
from bncheck.source.loader import ModuleInfo
from bncheck.source.loader import parse_module as parse
from bncheck.source.model import EMPTY_CHAIN, UNKNOWN, Chain, Const, Run
from bncheck.source.project import Project


def _project(files: dict[str, str]) -> tuple[Project, dict[str, ModuleInfo]]:
    modules = {name: parse(f"{name}.py", textwrap.dedent(text).lstrip("\n"), name) for name, text in files.items()}
    return Project(modules.values()), modules


def _line(project: Project, module: ModuleInfo, cls: str) -> int | None:
    """The line of the ``call`` method ``cls`` gets, None when none is found."""
    found = method_of(project, module.classes[cls], "call")
    if found is None:
        return None
    assert isinstance(found.node, (ast.FunctionDef, ast.AsyncFunctionDef))
    return found.node.lineno


def _chain_of(length: int) -> str:
    """``M`` derives from ``C1``, which derives from ``C2`` ... up to ``C<length>``, which defines ``call``
    (on line 2)."""
    lines = [f"class C{length}:", "    def call(self, x):", "        return x"]
    lines += [f"class C{i}(C{i + 1}):\n    pass" for i in range(length - 1, 0, -1)]
    return "\n".join(lines + ["class M(C1):\n    pass"]) + "\n"


def _items(chain: Chain) -> list[object]:
    """The chain's items as iterating gives them (not ``list()``: that also asks ``len``, read apart below)."""
    return [item for item in chain]


def test_method_found_exactly_max_bases_classes_up() -> None:
    project, modules = _project({"m": _chain_of(MAX_BASES)})
    assert MAX_BASES == 32
    assert _line(project, modules["m"], "M") == 2
    assert project.cut_hierarchies == {}


def test_method_one_class_further_up_is_cut_and_recorded_once_per_class() -> None:
    text = _chain_of(MAX_BASES + 1) + "class N(C1):\n    pass\n"
    project, modules = _project({"m": text})
    m, n = modules["m"].classes["M"], modules["m"].classes["N"]
    assert _line(project, modules["m"], "M") is None
    assert _line(project, modules["m"], "N") is None
    assert _line(project, modules["m"], "M") is None
    assert project.cut_hierarchies == {id(m): m, id(n): n}


def test_cycle_of_bases_ends_without_a_cut() -> None:
    # B is bound twice: A's base names the second B, which derives from A again
    project, modules = _project({"m": """
        class B:
            pass
        class A(B):
            pass
        class B(A):
            pass
    """})
    assert _line(project, modules["m"], "A") is None
    assert project.cut_hierarchies == {}


def test_cycle_above_the_class_ends_without_a_cut() -> None:
    # M is outside the cycle C -> (second) D -> C
    project, modules = _project({"m": """
        class D:
            pass
        class C(D):
            pass
        class D(C):
            pass
        class M(C):
            pass
    """})
    assert _line(project, modules["m"], "M") is None
    assert project.cut_hierarchies == {}


def test_class_seen_again_through_a_cycle_costs_one_look() -> None:
    # A's bases: B (whose second binding leads back to A: one look), then C1 ... C30 (30 looks): 32 in all
    chain = [f"class C{i}(C{i + 1}):\n    pass" for i in range(29, 0, -1)]
    text = "\n".join(["class C30:", "    def call(self, x):", "        return x", *chain,
                      "class B:\n    pass", "class A(B, C1):\n    pass", "class B(A):\n    pass"]) + "\n"
    project, modules = _project({"m": text})
    assert _line(project, modules["m"], "A") == 2
    assert project.cut_hierarchies == {}


def test_base_not_scanned_is_skipped_for_the_next_one() -> None:
    project, modules = _project({"m": """
        from elsewhere import Unknown
        class A:
            pass
        class B:
            def call(self, x):
                return x
        class M(Unknown, B):
            pass
        class N(A, B):
            pass
    """})
    assert _line(project, modules["m"], "M") == 5
    assert _line(project, modules["m"], "N") == 5
    assert project.cut_hierarchies == {}


def test_base_imported_from_another_file() -> None:
    project, modules = _project({
        "base": """
            class Base:
                def call(self, x):
                    return x
        """,
        "m": """
            from base import Base
            class M(Base):
                pass
        """})
    assert _line(project, modules["m"], "M") == 2



def test_a_base_imported_as_a_module_is_not_the_class_its_name_also_aliases() -> None:
    """``import Real as Base`` binds module ``Real``, not the class ``Real`` names in the module."""
    project, modules = _project({
        "pkg": """
            class Thing:
                def call(self, x):
                    return x
        """,
        "m": """
            from pkg import Thing as Real
            import Real as Base
            class M(Base):
                pass
            class N(Real):
                pass
        """})
    assert _line(project, modules["m"], "M") is None
    assert _line(project, modules["m"], "N") == 2

def test_chain_reads_each_item_once_parents_first() -> None:
    a = Chain(("a",))
    deep = a + ("b",) + ("c",)
    assert _items(deep) == ["a", "b", "c"]
    assert a + () is a
    diamond = Chain.join((a + ("b",), Chain(("a", "c"))))
    assert _items(diamond) == ["a", "b", "c"]
    # a shared parent read once, then the second branch's own items
    assert _items(Chain.join((a + ("b",), a + ("c",)))) == ["a", "b", "c"]
    assert Chain.join([]) is EMPTY_CHAIN
    assert Chain.join([EMPTY_CHAIN, Chain()]) is EMPTY_CHAIN


def test_chain_ladder_reads_each_link_once() -> None:
    # each level joins two chains over the same one below: read once per link, not 2**levels times
    chain = Chain(("x",))
    expected = ["x"]
    for k in range(64):
        chain = Chain.join((chain + (f"l{k}",), chain + (f"r{k}",)))
        expected += [f"l{k}", f"r{k}"]
    assert _items(chain) == expected


def test_chain_truth() -> None:
    a = Chain(("a",))
    assert (bool(a), bool(Chain((), (a,))), bool(a + ("b",)), bool(EMPTY_CHAIN), bool(Chain((), (EMPTY_CHAIN,)))) == (
        True, True, True, False, False)


def test_chain_membership_length_and_repr() -> None:
    a = Chain(("a",))
    joined = Chain((), (a,))
    assert ("a" in joined, "b" in joined) == (True, False)
    assert (len(joined), len(Chain.join((a + ("b",), a + ("c",))))) == (1, 3)
    assert list(a + ("b",)) == ["a", "b"]
    assert repr(a + ("b",)) == "Chain('a', 'b')"


def test_unknown_repr() -> None:
    assert repr(UNKNOWN) == "UNKNOWN"


def test_const_with_value_keeps_where_it_is_written() -> None:
    module = parse("m.py", "x = 0.1\n", "m")
    assign = module.tree.body[0]
    assert isinstance(assign, ast.Assign)
    node = assign.value
    read = Const(0.1, None, node, module).with_value(0.9)
    assert (read.value, read.loc) == (0.9, module.loc(node))
    given = Const(0.1, module.loc(node)).with_value(0.9)
    assert (given.value, given.loc) == (0.9, module.loc(node))


def test_run_orders_count_from_one() -> None:
    run = Run("m", "m.py")
    assert [run.next_order(), run.next_order(), run.next_order()] == [1, 2, 3]
