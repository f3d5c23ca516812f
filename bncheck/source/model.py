"""The small model of a program that source rules read: abstract values and the events of a run.

A *run* is one abstract execution of a module body or of a function nobody in the scanned files
calls (``main``, an Estimator ``model_fn``, a Keras ``call``/``train_step``), with every call into
the scanned files followed. Values are what the walker can tell about an expression; anything
else is :data:`UNKNOWN`, and rules stay silent on unknowns.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(unsafe_hash=True, slots=True)
class Loc:
    """A span in a source file: 1-based lines, 1-based character columns (end exclusive).

    Never changed once made (not ``frozen``: a frozen dataclass costs four times as much to build,
    and the walker builds one per call it reads); hashable by value."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int


class Value:
    """Base of the abstract values."""


class Chain:
    """An ordered set of items (batch-norm names, fixed ``training=True`` calls) that values share.

    A tensor keeps the batch norms behind it; copying a tuple per layer would cost the square of the
    network's depth. A chain appends by pointing at its parents, and is flattened (each item once, in
    the order added) only when read, in time linear in what it holds."""

    __slots__ = ("items", "parents")

    def __init__(self, items: Any = (), parents: tuple["Chain", ...] = ()) -> None:
        self.items: tuple[Any, ...] = tuple(items)
        self.parents: tuple[Chain, ...] = tuple(p for p in parents if p.items or p.parents)

    def __add__(self, items: Any) -> "Chain":
        """This chain with ``items`` (a tuple or another chain) after it."""
        if isinstance(items, Chain):
            return Chain.join((self, items))
        return Chain(items, (self,)) if items else self

    @staticmethod
    def join(chains: Any) -> "Chain":
        parts: list[Chain] = [c for c in chains if c.items or c.parents]
        parts = list({id(c): c for c in parts}.values())
        if len(parts) == 1:
            return parts[0]
        return Chain((), tuple(parts)) if parts else EMPTY_CHAIN

    def __iter__(self) -> Any:
        return iter(self._flat())

    def _flat(self) -> list[Any]:
        # not tuple(self): tuple() and list() ask __len__ for a size hint, which would ask them again
        seen: set[Any] = set()
        out: list[Any] = []
        visited: set[int] = set()
        stack: list[tuple[Chain, bool]] = [(self, False)]
        while stack:  # post-order: parents' items before a chain's own
            node, expanded = stack.pop()
            if expanded:
                for item in node.items:
                    if item not in seen:
                        seen.add(item)
                        out.append(item)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents))
        return out

    def __bool__(self) -> bool:
        return bool(self.items or self.parents)

    def __len__(self) -> int:
        return len(self._flat())

    def __contains__(self, item: object) -> bool:
        return item in self._flat()

    def __repr__(self) -> str:
        return f"Chain{tuple(self._flat())!r}"


EMPTY_CHAIN = Chain()


class _Unknown(Value):
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


class Const(Value):
    """A literal value, with where it is written (worked out on first use from ``node``: most
    constants the walker reads are never reported)."""

    __slots__ = ("value", "_loc", "_node", "_module")

    def __init__(self, value: Any, loc: Optional[Loc] = None, node: Any = None, module: Any = None) -> None:
        self.value = value
        self._loc = loc
        self._node = node
        self._module = module

    @property
    def loc(self) -> Optional[Loc]:
        if self._loc is None and self._node is not None:
            self._loc = self._module.loc(self._node)
        return self._loc

    def __repr__(self) -> str:
        return f"Const({self.value!r})"

    def with_value(self, value: Any) -> "Const":
        """The same literal read as ``value`` (where it is written is kept)."""
        return Const(value, self._loc, self._node, self._module)


@dataclass(eq=False)
class Alias(Value):
    """A module or attribute path, e.g. ``tensorflow.compat.v1`` for ``tf`` (not yet canonical)."""

    qual: str


@dataclass(eq=False)
class ListVal(Value):
    items: tuple[Value, ...]


@dataclass(eq=False)
class DictVal(Value):
    items: dict[str, Value]
    # values stored under a key known only by its literal start (``weights['b' + str(i)] = ...``)
    by_prefix: dict[str, Value] = field(default_factory=dict)


@dataclass(eq=False)
class UpdateOps(Value):
    """``get_collection(UPDATE_OPS)``, read at event ``order``."""

    order: int
    loc: Loc


@dataclass(frozen=True, eq=False)
class CollectionVal(Value):
    """Another collection read (a hand-written layer's own collection)."""

    name: str
    order: int
    loc: Loc


@dataclass(frozen=True, eq=False)
class ModelUpdates(Value):
    """``model.updates``: a Keras model's update ops in graph mode."""

    order: int


@dataclass(frozen=True, eq=False)
class UpdateOp(Value):
    """The result of a hand-written moving-average assignment."""

    update: "HandUpdate"


@dataclass(frozen=True, eq=False)
class FlagTrue(Value):
    """``placeholder_with_default(True, ...)``."""

    loc: Loc


@dataclass(frozen=True, eq=False)
class FlagUnknown(Value):
    """``placeholder_with_default(<not a literal>, ...)``: a training flag whose default is not known."""

    loc: Loc


@dataclass(frozen=True, eq=False)
class Optimizer(Value):
    kind: str  # "tf1" or "keras"


@dataclass(frozen=True, eq=False)
class SaverVal(Value):
    """A ``tf.train.Saver``."""


@dataclass(frozen=True, eq=False)
class VariableVal(Value):
    """A variable (``tf.get_variable``, ``tf.Variable``): the rank of its shape when it is written out."""

    rank: Optional[int]


@dataclass(eq=False)
class LayerObj(Value):
    """A Keras / tf.layers layer object, or a raw op that produced a tensor (``api`` ``nn``); ``kind`` is
    ``bn``, ``bias``, ``bias?`` (a bias bncheck cannot be sure of), ``dropout``, ``linear`` (a raw
    conv/matmul, before any bias) or ``other``."""

    kind: str
    api: str
    name: Optional[str]
    loc: Loc
    momentum: Value = UNKNOWN
    bias_loc: Optional[Loc] = None  # where use_bias is (or would be written)


@dataclass(eq=False)
class ModelObj(Value):
    """A Keras model: its batch-norm layers (names), and for subclassed models its class."""

    bn_layers: tuple[str, ...]
    name: Optional[str]
    loc: Optional[Loc]
    cls: Any = None
    attrs: dict[str, Value] = field(default_factory=dict)
    is_self: bool = False
    last: Optional[Value] = None  # the layer a Sequential's add() appended last


@dataclass(eq=False)
class TensorVal(Value):
    """A tensor: which layer produced it (for bias/dropout before BN) and the BN layers behind it."""

    producer: Optional[LayerObj] = None
    bn_layers: Chain = EMPTY_CHAIN  # of names
    fixed_training: Chain = EMPTY_CHAIN  # of (name, loc): BN calls with training=True it went through
    alternatives: tuple[LayerObj, ...] = ()  # producers in other branches (a helper returning in if/else)


@dataclass(eq=False)
class FuncRef(Value):
    func: Any  # FunctionInfo
    closure: Any = None  # a nested def's or lambda's defining Frame, for walks other than the one that made it


UNKNOWN_KWARGS = "**"  # a call's keywords hold this key when a `**mapping` of unknown keys is passed


@dataclass(eq=False)
class ClassRef(Value):
    cls: Any  # ClassInfo


# ---- events -------------------------------------------------------------------------------------

_ids = itertools.count()


@dataclass(eq=False)
class BnBuild:
    """A batch-norm layer created in the graph (TF1 functions) or a Keras BN layer called."""

    api: str  # layers, slim, keras, keras-graph
    layer: str
    loc: Loc
    order: int
    training: Value
    in_place: Optional[bool]  # slim updates_collections=None -> True; unknown -> None
    training_loc: Optional[Loc] = None  # where training=... is written
    branch: tuple[tuple[int, int], ...] = ()  # the arms of the if-statements it is built in
    defaulted: bool = False  # training/is_training not given: the API's default
    frozen: bool = False  # trainable=False


@dataclass(eq=False)
class BnConstruct:
    """A BN constructor call with its momentum/decay value (for BN007)."""

    api: str
    layer: str
    loc: Loc
    momentum: Value
    keyword: str


@dataclass(eq=False)
class HandUpdate:
    """A hand-written ``assign(pop, pop * decay + batch * (1 - decay))``."""

    layer: str
    loc: Loc
    order: int
    decay: Value
    uses: list[str] = field(default_factory=list)  # "control", "collection:<name>", "escaped"
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(eq=False)
class TrainOp:
    loc: Loc
    stmt: Loc  # the whole statement, for the wrapping fix
    order: int
    deps: tuple[Value, ...]
    wired_builtin: bool = False  # slim.learning.create_train_op & co
    deps_locs: tuple[Loc, ...] = ()  # the control_dependencies arguments
    graph_optimizer: bool = True  # minimize(), or apply_gradients() of a tf.compat.v1.train optimizer
    branch: tuple[tuple[int, int], ...] = ()  # the arms of the if-statements it is built in
    all_variables: bool = False  # minimize(loss) without var_list: trains every trainable variable


@dataclass(frozen=True, eq=False)
class TrainOpVal(Value):
    """What ``minimize``/``apply_gradients``/``create_train_op`` return: a train op, which a later
    ``control_dependencies([op])`` runs together with whatever that op itself depends on."""

    op: TrainOp


@dataclass(eq=False)
class KerasCall:
    """A call of a Keras model or layer holding BN, with what ``training`` says."""

    loc: Loc
    callee: str  # as written
    bn_layers: tuple[str, ...]
    training: Optional[Value]  # None: no training argument
    training_loc: Optional[Loc]
    frame: "FrameInfo"
    call_end: Loc  # position just before the closing parenthesis (to add training=True)
    known: bool = True  # False: a callee bncheck cannot follow (defined outside the scanned files, loaded)
    training_is_param: bool = False  # training=<a parameter of the enclosing function>, passed through
    mode_param: str = "training"  # the argument that sets the mode (a model's own `is_training`)


@dataclass(eq=False)
class FrameInfo:
    """What kind of function a call happens in."""

    name: str
    kind: str  # module, function, serving, model_call, train_step
    in_tape: bool = False
    applies_gradients: bool = False
    trained: set[str] = field(default_factory=set)  # `X` of X.trainable_variables read in this function


@dataclass(eq=False)
class Adjacent:
    """A BN layer fed directly by a layer with a bias, or by dropout."""

    bn_layer: str
    bn_loc: Loc
    producer: LayerObj


@dataclass(eq=False)
class Export:
    loc: Loc
    order: int
    kind: str
    branch: tuple[tuple[int, int], ...] = ()  # the arms of the if-statements it happens in


def exclusive(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Whether two events are in different arms of one if-statement (``if phase == "train": ...
    else: ...``): no run of the program has both."""
    arms = dict(a)
    return any(node in arms and arms[node] != arm for node, arm in b)


@dataclass(eq=False)
class LearningPhase:
    loc: Loc
    order: int
    value_loc: Optional[Loc]


@dataclass(eq=False)
class FunctionalModel:
    """``keras.Model(inputs, outputs)``: outputs went through BN calls with training=True."""

    loc: Loc
    fixed_training: tuple[tuple[str, Loc], ...]


@dataclass(eq=False)
class FlagUse:
    """A ``placeholder_with_default(True)`` used as a BN layer's training flag."""

    flag: Loc
    layer: str
    use: Loc


@dataclass(frozen=True, eq=False)
class InitOpVal(Value):
    """``tf.global_variables_initializer()`` and the like: an op that trains nothing."""


@dataclass(eq=False)
class Fetch:
    """One ``sess.run(fetches)``: the values fetched (lists and dicts flattened)."""

    order: int
    values: tuple[Value, ...]
    branch: tuple[tuple[int, int], ...] = ()


@dataclass(eq=False)
class Run:
    """The events of one abstract execution, in order."""

    root: str
    path: str
    graph_mode: bool = False
    builds: list[BnBuild] = field(default_factory=list)
    constructs: list[BnConstruct] = field(default_factory=list)
    hand_updates: list[HandUpdate] = field(default_factory=list)
    train_ops: list[TrainOp] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # orders of tf.group(..., update_ops)
    update_contexts: list[int] = field(default_factory=list)  # read orders of update ops entered as control deps
    keras_calls: list[KerasCall] = field(default_factory=list)
    adjacent: list[Adjacent] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    learning_phases: list[LearningPhase] = field(default_factory=list)
    functional_models: list[FunctionalModel] = field(default_factory=list)
    flag_uses: list[FlagUse] = field(default_factory=list)
    restores: list[Export] = field(default_factory=list)  # Saver.restore: weights from a checkpoint
    session_runs: list[int] = field(default_factory=list)  # orders of sess.run(...)
    fetches: list["Fetch"] = field(default_factory=list)  # what each sess.run(...) fetched
    incomplete: bool = False  # the walk hit a budget: rules that need the whole run stay silent
    notes: list[tuple[Loc, str]] = field(default_factory=list)  # what the walk could not follow, and why
    # (path, line) in a followed module (not given) -> the given file's call that reached that line
    origins: dict[tuple[str, int], Loc] = field(default_factory=dict)
    _order: int = 0

    def next_order(self) -> int:
        self._order += 1
        return self._order

    def note(self, loc: Loc, message: str) -> None:
        """Something the walk gave up on (shown with ``--show-notes``); one note per place and message."""
        item = (loc, message)
        if item not in self.notes:
            self.notes.append(item)


def followed_calls(runs: "list[Run]") -> set[Loc]:
    """Where some walk followed a call to a model it knows. Another walk of the same code that could
    not (a method walked on its own, its attributes unknown) has nothing to say about those calls."""
    return {k.loc for run in runs for k in run.keras_calls if k.known}
