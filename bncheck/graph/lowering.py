"""Inline function calls and lower functional control flow into one flat graph.

TF2 graphs keep the model in a function library: a signature's outputs come from
``StatefulPartitionedCall``/``PartitionedCall`` nodes whose bodies call further functions, and
``If``/``While``/``Case`` carry their branches as functions. Like TensorFlow's own
``LowerFunctionalOpsPass``, this module turns that into one graph the rules read like a TF1 graph:

- a call becomes its body, prefixed with the call's name (``StatefulPartitionedCall/...``); its
  arguments are ``Identity`` nodes of the call's inputs, and uses of its outputs are redirected to
  the body's return values. The call node stays as a ``NoOp`` that depends on the body's returns
  and control returns (every stateful op of a TF2 function runs when the function runs);
- ``If``/``StatelessIf`` become ``Switch``/``Merge`` as in a TF1 ``tf.cond``, so a fixed predicate
  kills the untaken branch with the same deadness rules;
- ``While`` bodies and every ``Case`` branch are inlined as running whenever the op runs.

Functions nobody calls (tf-keras SavedModels keep training traces of every layer) never enter the
flat graph: only what runs can be found.
"""
from __future__ import annotations

from typing import Mapping

from bncheck.graph.model import Graph, Node, TensorRef
from bncheck.graph.values import attr_value

CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
IF_OPS = frozenset({"If", "StatelessIf"})
WHILE_OPS = frozenset({"While", "StatelessWhile"})
CASE_OPS = frozenset({"Case", "StatelessCase"})
MAX_DEPTH = 200  # nested calls followed; deeper ones stay opaque calls, and a note says so
MIN_BUDGET = 50_000  # nodes inlining may emit: the larger of this and 20x the input's own nodes
GROWTH = 20


def _func_name(node: Node, attr: str) -> str | None:
    value = node.attrs.get(attr)
    if value is None:
        return None
    name = attr_value(value)
    return name if isinstance(name, str) else None


def has_functional_ops(graph: Graph, functions: Mapping[str, Graph]) -> bool:
    return any(op in CALL_OPS or op in IF_OPS or op in WHILE_OPS or op in CASE_OPS or op in functions
               for op in graph.ops)


class _Lowerer:
    def __init__(self, functions: Mapping[str, Graph], budget: int) -> None:
        self.functions = functions
        self.out: dict[str, Node] = {}
        self.redirect: dict[TensorRef, TensorRef] = {}
        self.budget = budget
        self.notes: list[str] = []
        self.calls: set[str] = set()  # call nodes replaced by their bodies (now NoOps)

    # -- helpers -----------------------------------------------------------------------------
    def _emit(self, node: Node) -> None:
        self.out[node.name] = node

    @staticmethod
    def _ref(prefix: str, ref: TensorRef) -> TensorRef:
        return TensorRef(prefix + ref.node, ref.index)

    # -- bodies ------------------------------------------------------------------------------
    def body(self, graph: Graph, prefix: str, args: list[TensorRef], pivot: str | None,
             stack: tuple[str, ...]) -> tuple[list[TensorRef | None], list[str]]:
        """Emit ``graph``'s nodes under ``prefix``; returns (its returns, its control returns)."""
        arg_index = {name: i for i, name in enumerate(graph.args)}
        new_ref, ref_type = tuple.__new__, TensorRef  # NamedTuple's Python __new__ is the hot spot here
        for node in graph:
            name = prefix + node.name
            inputs = tuple([new_ref(ref_type, (prefix + r[0], r[1])) for r in node.inputs])
            ctrl = tuple([prefix + c for c in node.control_inputs]) if node.control_inputs else ()
            if node.op == "_Arg":
                i = arg_index.get(node.name)
                data = (args[i],) if i is not None and i < len(args) else ()
                self._emit(Node(name, "Identity", data, (pivot,) if pivot and not data else (), {}))
                continue
            if pivot and not inputs and not ctrl:
                ctrl = (pivot,)
            lowered = self.functional(node, name, inputs, ctrl, pivot, stack)
            if not lowered:
                self._emit(Node(name, node.op, inputs, ctrl, node.attrs))
        returns = [self._ref(prefix, r) if r is not None else None for r in graph.returns]
        return returns, [prefix + c for c in graph.control_returns]

    def _inline(self, fname: str | None, prefix: str, args: list[TensorRef], pivot: str | None,
                stack: tuple[str, ...]) -> tuple[list[TensorRef | None], list[str]] | None:
        fn = self.functions.get(fname or "")
        if fn is None or fname in stack:
            return None
        if len(stack) >= MAX_DEPTH:
            self._note(f"function calls nest deeper than {MAX_DEPTH} levels; {fname} and what it calls were "
                       "not followed, so batch norms inside them are not judged")
            return None
        if len(self.out) + len(fn) > self.budget:
            self._note(f"inlining the function library would make more than {self.budget:,} nodes (calls that "
                       f"repeat the same functions); {fname} and further calls were not followed, so batch norms "
                       "inside them are not judged")
            return None
        return self.body(fn, prefix, args, pivot, stack + (fname,))  # type: ignore[operator]  # a tuple of names, typed loosely by the caller's stack

    def _note(self, text: str) -> None:
        if not self.notes:  # the first limit hit says what was cut; later hits are the same story
            self.notes.append(text)

    def functional(self, node: Node, name: str, inputs: tuple[TensorRef, ...], ctrl: tuple[str, ...],
                   pivot: str | None, stack: tuple[str, ...]) -> bool:
        op = node.op
        if op in CALL_OPS or op in self.functions:
            fname = _func_name(node, "f") if op in CALL_OPS else op
            done = self._inline(fname, name + "/", list(inputs), pivot, stack)
            if done is None:
                return False
            self._finish(name, done, ctrl)
            return True
        if op in IF_OPS and inputs:
            return self._if(node, name, inputs, ctrl, stack)
        if op in WHILE_OPS:
            cond = self._inline(_func_name(node, "cond"), name + "/cond/", list(inputs), pivot, stack)
            body = self._inline(_func_name(node, "body"), name + "/body/", list(inputs), pivot, stack)
            if body is None:
                return False
            returns, control = body
            if cond is not None:
                control = control + [r.node for r in cond[0] if r is not None] + cond[1]
            self._finish(name, (returns, control), ctrl)
            return True
        if op in CASE_OPS and inputs:
            branches = node.attrs.get("branches")
            names = [f.name for f in branches.list.func] if branches is not None else []
            inlined = [d for k, f in enumerate(names)
                       if (d := self._inline(f, f"{name}/branch_{k}/", list(inputs[1:]), pivot, stack)) is not None]
            if not inlined:
                return False
            self._merge_outputs(name, inlined, ctrl)
            return True
        return False

    def _finish(self, name: str, done: tuple[list[TensorRef | None], list[str]], ctrl: tuple[str, ...]) -> None:
        returns, control = done
        for k, ref in enumerate(returns):
            if ref is not None:
                self.redirect[TensorRef(name, k)] = ref
        deps = tuple(dict.fromkeys([r.node for r in returns if r is not None] + control + list(ctrl)))
        self._emit(Node(name, "NoOp", (), deps, {}))
        self.calls.add(name)

    def _merge_outputs(self, name: str, branches: list[tuple[list[TensorRef | None], list[str]]],
                       ctrl: tuple[str, ...]) -> None:
        width = max(len(r) for r, _ in branches)
        for k in range(width):
            refs = tuple(r[k] for r, _ in branches if k < len(r) and r[k] is not None)
            if refs:
                self._emit(Node(f"{name}/_merge_{k}", "Merge", refs, (), {}))  # type: ignore[arg-type]  # the refs filtered of None just above
                self.redirect[TensorRef(name, k)] = TensorRef(f"{name}/_merge_{k}", 0)
        done = []
        for b, (returns, control) in enumerate(branches):
            done_name = f"{name}/_done_{b}"
            deps = tuple(dict.fromkeys([r.node for r in returns if r is not None] + control))
            self._emit(Node(done_name, "NoOp", (), deps, {}))
            done.append(TensorRef(done_name))
        # the op itself "ran" when any branch did: a Merge is dead only when all its inputs are
        self._emit(Node(name, "Merge", tuple(done), ctrl, {}))

    def _if(self, node: Node, name: str, inputs: tuple[TensorRef, ...], ctrl: tuple[str, ...],
            stack: tuple[str, ...]) -> bool:
        pred, args = inputs[0], inputs[1:]
        switch_pred = f"{name}/_switch_pred"
        self._emit(Node(switch_pred, "Switch", (pred, pred), ctrl, {}))
        switches = []
        for i, arg in enumerate(args):
            self._emit(Node(f"{name}/_switch_{i}", "Switch", (arg, pred), (), {}))
            switches.append(f"{name}/_switch_{i}")
        done = []
        for attr, port, label in (("then_branch", 1, "then"), ("else_branch", 0, "else")):
            pivot = f"{name}/{label}/_pivot"
            self._emit(Node(pivot, "Identity", (TensorRef(switch_pred, port),), (), {}))
            branch_args = [TensorRef(s, port) for s in switches]
            result = self._inline(_func_name(node, attr), f"{name}/{label}/", branch_args, pivot, stack)
            if result is None:  # a missing branch function: the branch passes nothing through
                result = ([], [pivot])
            done.append(result)
        self._merge_outputs(name, done, ())
        return True

    # -- result ------------------------------------------------------------------------------
    def resolve(self, ref: TensorRef) -> TensorRef:
        """Where a call's output really comes from: follows nested calls' returns to the end of the
        chain (no length cap; a cycle, which only a hostile library could make, stops where it closes),
        and shortens the chain for the next reader."""
        redirect = self.redirect
        if ref not in redirect:
            return ref
        path: list[TensorRef] = []
        seen: set[TensorRef] = set()
        while ref in redirect and ref not in seen:
            seen.add(ref)
            path.append(ref)
            ref = redirect[ref]
        for step in path:
            redirect[step] = ref
        return ref

    def graph(self, name: str) -> Graph:
        nodes = []
        for node in self.out.values():
            inputs = tuple(self.resolve(r) for r in node.inputs)
            if inputs != node.inputs:
                node = Node(node.name, node.op, inputs, node.control_inputs, node.attrs)
            nodes.append(node)
        return Graph(nodes, name=name)


def lower(graph: Graph, functions: Mapping[str, Graph], function_nodes: int,
          rename: Mapping[str, str] | None = None) -> Graph:
    """``graph`` with every reachable function call inlined and functional control flow lowered.

    ``function_nodes``: how many nodes the library's bodies hold (for the inlining budget; a lazy
    library counts them without converting any). ``rename`` gives top-level nodes new names (a
    SavedModel's variable handles get the names the object graph gives their variables)."""
    if rename:
        graph = _renamed(graph, rename)
    if not has_functional_ops(graph, functions):
        return graph
    size = len(graph) + function_nodes
    lowerer = _Lowerer(functions, max(MIN_BUDGET, GROWTH * size))
    lowerer.body(graph, "", [], None, ())
    flat = lowerer.graph(graph.name)
    flat.tf2 = True
    flat.notes = list(lowerer.notes)
    flat.calls = frozenset(lowerer.calls)
    return flat


def _renamed(graph: Graph, rename: Mapping[str, str]) -> Graph:
    mapping = dict(rename)
    taken = set(mapping.values())
    for node in graph:
        if node.name in taken and node.name not in mapping:
            k = 1
            while f"{node.name}_unbound_{k}" in graph or f"{node.name}_unbound_{k}" in taken:
                k += 1
            mapping[node.name] = f"{node.name}_unbound_{k}"
            taken.add(mapping[node.name])

    def new(name: str) -> str:
        return mapping.get(name, name)

    nodes = [Node(new(n.name), n.op, tuple(TensorRef(new(r.node), r.index) for r in n.inputs),
                  tuple(new(c) for c in n.control_inputs), n.attrs) for n in graph]
    return Graph(nodes, name=graph.name)
