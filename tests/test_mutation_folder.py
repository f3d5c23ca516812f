"""Exact values of the constant folder (``bncheck.graph.analysis.ConstantFolder``) at each of its
boundaries: the surviving mutants of ``tools/mutation.py --core`` in ``ConstantFolder._compute``.

Each graph is a GraphDef built here (no TensorFlow) and read by the same loader as a ``.pb`` file;
each test asserts the folded value (array, dtype) or that nothing is folded (``None``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from bncheck.graph.analysis import ConstantFolder
from bncheck.graph.model import TensorRef
from bncheck.loaders.graphs import graph_from_proto
from bncheck.protos import message_class

DT_FLOAT, DT_INT32 = 1, 3
MAX = 1 << 20  # the most elements the folder computes (and a Const may hold)


def _graph(*nodes):
    """nodes: (name, op, [inputs], {attrs}); a ``value`` attr is ``(floats, shape)``, ``DstT`` an int."""
    graph = message_class("tensorflow.GraphDef")()
    for name, op, inputs, attrs in nodes:
        node = graph.node.add()
        node.name, node.op = name, op
        node.input.extend(inputs)
        for key, value in attrs.items():
            if key == "value":
                floats, shape = value
                tensor = node.attr["value"].tensor
                tensor.dtype = DT_FLOAT
                for size in shape:
                    tensor.tensor_shape.dim.add().size = size
                tensor.float_val.extend(floats)
            else:
                node.attr[key].type = value
    return graph_from_proto(graph)


def _const(name, floats, shape=None):
    return (name, "Const", [], {"value": (floats, (len(floats),) if shape is None else shape)})


def _fold(nodes, name: str, index: int = 0):
    return ConstantFolder(_graph(*nodes)).value(TensorRef(name, index))


def _same(got, expected, dtype=np.float32) -> bool:
    return got is not None and got.dtype == dtype and got.shape == np.shape(expected) and bool((got == expected).all())


# -- pass-through ops: Identity keeps any value, Reshape only a one-element one --------------------

def test_identity_passes_a_vector_through():
    assert _same(_fold([_const("c", [1.0, 2.0]), ("id", "Identity", ["c"], {})], "id"), [1.0, 2.0])


def test_reshape_passes_only_a_single_element():
    shape = _const("shape", [1.0])
    assert _fold([_const("c", [1.0, 2.0]), shape, ("r", "Reshape", ["c", "shape"], {})], "r") is None
    assert _same(_fold([_const("c", [5.0]), shape, ("r", "Reshape", ["c", "shape"], {})], "r"), [5.0])


def test_only_a_switch_passes_its_value_on_its_second_output():
    nodes = [_const("c", [3.0]), _const("p", [1.0]), ("sw", "Switch", ["c", "p"], {}),
             ("id", "Identity", ["c"], {})]
    assert _same(_fold(nodes, "sw", 1), [3.0])
    assert _fold(nodes, "id", 1) is None


# -- Cast: to the DstT dtype, nothing without one or without a constant input ------------------------

def test_cast_converts_to_its_destination_dtype():
    got = _fold([_const("c", [1.5, -2.0]), ("cast", "Cast", ["c"], {"DstT": DT_INT32})], "cast")
    assert _same(got, [1, -2], np.int32)


def test_cast_without_a_destination_dtype_or_a_constant_input_is_no_constant():
    assert _fold([_const("c", [1.5]), ("cast", "Cast", ["c"], {})], "cast") is None
    assert _fold([("x", "Placeholder", [], {}), ("cast", "Cast", ["x"], {"DstT": DT_INT32})], "cast") is None


# -- Merge: a value only when every live input agrees, in shape too -----------------------------------

def test_merge_of_equal_inputs_is_that_value_and_of_different_ones_none():
    same = [_const("a", [1.0]), _const("b", [1.0]), ("m", "Merge", ["a", "b"], {})]
    assert _same(_fold(same, "m"), [1.0])
    different = [_const("a", [1.0]), _const("b", [2.0]), ("m", "Merge", ["a", "b"], {})]
    assert _fold(different, "m") is None


def test_merge_of_inputs_equal_only_after_broadcasting_is_none():
    nodes = [_const("a", [1.0, 1.0]), _const("b", [1.0]), ("m", "Merge", ["a", "b"], {})]
    assert _fold(nodes, "m") is None


# -- binary ops: output 0 only, and at most MAX elements after broadcasting ---------------------------

def test_a_binary_op_has_a_value_on_its_first_output_only():
    nodes = [_const("a", [1.0]), _const("b", [2.0]), ("add", "AddV2", ["a", "b"], {})]
    assert _same(_fold(nodes, "add"), [3.0])
    assert _fold(nodes, "add", 1) is None


@pytest.mark.parametrize("big_first", [True, False])
def test_a_binary_op_broadcast_past_the_element_limit_is_not_computed(big_first):
    big, small = _const("big", [1.0], (MAX,)), _const("small", [1.0, 2.0], (2, 1))
    inputs = ["big", "small"] if big_first else ["small", "big"]
    assert _fold([big, small, ("add", "AddV2", inputs, {})], "add") is None


def test_a_binary_op_of_exactly_the_element_limit_is_computed():
    nodes = [_const("a", [1.0], (MAX,)), _const("b", [2.0]), ("mul", "Mul", ["a", "b"], {})]
    got = _fold(nodes, "mul")
    assert got is not None and got.shape == (MAX,) and bool((got == 2.0).all())


def test_a_division_by_zero_folds_to_infinity_without_a_warning():
    nodes = [_const("a", [1.0]), _const("z", [0.0]), ("div", "RealDiv", ["a", "z"], {})]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _fold(nodes, "div")
    assert _same(got, [np.inf])


def test_a_binary_op_folds_its_first_two_inputs_only():
    """A damaged graph may list a third data input on a binary op: it is not read."""
    nodes = [_const("a", [1.0]), _const("b", [2.0]), ("x", "Placeholder", [], {}), ("add", "AddV2", ["a", "b", "x"], {})]
    assert _same(_fold(nodes, "add"), [3.0])


def test_a_graph_has_one_memoised_dataflow():
    """``dataflow(graph)`` is built once per graph object: every query shares its memo."""
    from bncheck.graph.analysis import dataflow

    graph = _graph(_const("c", [1.0]), ("id", "Identity", ["c"], {}))
    first = dataflow(graph)
    assert dataflow(graph) is first
    assert dataflow(_graph(_const("c", [1.0]))) is not first


# -- walks up the graph: ancestors (skipping dead nodes) and upstream searches ----------------------

def test_ancestors_hold_the_roots_and_what_they_run_but_no_dead_or_missing_node():
    from bncheck.graph.analysis import ancestors

    graph = _graph(("a", "Identity", ["b", "d"], {}), ("b", "Identity", ["absent"], {}),
                   ("d", "Identity", ["e"], {}), ("e", "Placeholder", [], {}), ("f", "Placeholder", [], {}))
    assert ancestors(graph, ["a"], dead={"d"}) == {"a", "b"}
    assert ancestors(graph, ["a", "a", "missing", "d", "f"], dead={"d"}) == {"a", "b", "f"}
    with_control = _graph(("c", "NoOp", ["^b", "^d", "^absent"], {}), ("b", "Placeholder", [], {}),
                          ("d", "Identity", ["e"], {}), ("e", "Placeholder", [], {}))
    assert ancestors(with_control, ["c"], dead={"d"}) == {"c", "b"}


def test_an_upstream_search_goes_past_a_missing_input_and_remembers_clean_nodes():
    from bncheck.graph.analysis import UpstreamSearch

    graph = _graph(("h", "Placeholder", [], {}), ("q", "Identity", ["h", "absent"], {}),
                   ("b", "Placeholder", [], {}), ("a", "Identity", ["b"], {}))
    search = UpstreamSearch(graph, hit_nodes={"h"})
    assert [search(name) for name in ("q", "a", "b", "a", "h")] == [True, False, False, False, True]


def test_an_upstream_search_ends_on_a_cycle_and_follows_control_inputs_only_when_asked():
    from bncheck.graph.analysis import UpstreamSearch

    graph = _graph(("a", "Identity", ["b"], {}), ("b", "Identity", ["a"], {}), ("h", "Placeholder", [], {}),
                   ("after_h", "Identity", ["a", "^h"], {}))
    assert UpstreamSearch(graph, hit_nodes={"h"})("after_h") is False
    assert UpstreamSearch(graph, hit_nodes={"h"}, control=True)("after_h") is True
    control_cycle = _graph(("c", "NoOp", ["^d"], {}), ("d", "NoOp", ["^e"], {}), ("e", "NoOp", ["^d"], {}),
                           ("h", "Placeholder", [], {}))
    assert UpstreamSearch(control_cycle, hit_nodes={"h"}, control=True)("c") is False
