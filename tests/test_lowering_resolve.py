"""Call-output redirects in lowering: followed to the end however long, cycles stop, no cap."""
from __future__ import annotations

from bncheck.graph.lowering import _Lowerer
from bncheck.graph.model import TensorRef


def _lowerer() -> _Lowerer:
    return _Lowerer({}, budget=10)


def test_a_chain_longer_than_any_old_cap_is_followed_to_its_end() -> None:
    low = _lowerer()
    for k in range(5000):
        low.redirect[TensorRef(f"call{k}", 0)] = TensorRef(f"call{k + 1}", 0)
    assert low.resolve(TensorRef("call0", 0)) == TensorRef("call5000", 0)
    # the chain was shortened: every step now points at the end
    assert low.redirect[TensorRef("call2500", 0)] == TensorRef("call5000", 0)


def test_a_cycle_of_redirects_terminates() -> None:
    low = _lowerer()
    low.redirect[TensorRef("a", 0)] = TensorRef("b", 0)
    low.redirect[TensorRef("b", 0)] = TensorRef("a", 0)
    assert low.resolve(TensorRef("a", 0)) in {TensorRef("a", 0), TensorRef("b", 0)}
    assert low.resolve(TensorRef("b", 0)) in {TensorRef("a", 0), TensorRef("b", 0)}


def test_a_ref_that_is_not_a_call_output_is_itself() -> None:
    assert _lowerer().resolve(TensorRef("x", 3)) == TensorRef("x", 3)
