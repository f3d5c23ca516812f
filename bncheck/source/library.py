"""What calls into TensorFlow, Keras and tf-slim mean for the walk: batch norms built, train ops,
collection reads, Keras layers and models called, exports.

The knowledge is a table: one handler per canonical name (:func:`handles`) or family of names
(:func:`handles_family`), and one per method name called on a value (:func:`handles_method`). A
handler reads a :class:`LibCall` and the :class:`Library`, which reaches the walker only through the
:class:`Interpreter` interface. Adding an API is adding a handler here; the walker does not change.
"""
from __future__ import annotations

import ast
import functools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, TypeVar

from bncheck.source import apis
from bncheck.source.apis import canonical
from bncheck.source.loader import FunctionInfo, ModuleInfo
from bncheck.source.model import (
    UNKNOWN, UNKNOWN_KWARGS, Adjacent, Alias, BnBuild, BnConstruct, CollectionVal, Const, DictVal, Export, FlagTrue,
    FlagUnknown, FlagUse, Fetch, InitOpVal,
    FrameInfo, FuncRef, FunctionalModel, HandUpdate, KerasCall, LayerObj, LearningPhase, ListVal, Loc, ModelObj,
    Optimizer, Run, SaverVal, TensorVal, TrainOp, TrainOpVal, UpdateOp, UpdateOps, Value, VariableVal,
)
from bncheck.source.modes import ALL, UNWORKED, ModeParam, call_training
from bncheck.source.value_ops import (
    ArgScopeVal, Bound, ContextVal, as_flag, bias_kind, collection_name, const_str, either, ema_decay, holds_updates,
    is_update_ops_key, literal_range, merge_tensors, single_input, tensors_in,
)

if TYPE_CHECKING:
    from bncheck.source.walker import Frame

ADJACENT_KINDS = ("bias", "bias?", "dropout")  # producers whose feeding batch norm directly is recorded


class Interpreter(Protocol):
    """What the library needs from the walker: the run being recorded, the graph contexts entered
    (``with`` blocks), and evaluating an expression in a frame."""

    run: Run
    project: Any  # the scanned modules (bncheck.source.project.Project)
    deps: list[ContextVal]
    scopes: list[Optional[str]]
    arg_scopes: list[ArgScopeVal]
    tape: int
    branches: list[tuple[int, int]]

    def expr(self, node: Optional[ast.expr], frame: "Frame", stmt: Optional[ast.stmt] = None) -> Value: ...

    def call_function(self, func: FunctionInfo, args: list[Value], kwargs: dict[str, Value],
                      caller: Optional["Frame"], closure: Optional["Frame"] = None, self_obj: Optional[Value] = None,
                      as_root: bool = False) -> Value: ...

    def call_passed_functions(self, args: list[Value], kwargs: dict[str, Value], tensors: list[TensorVal],
                              frame: "Frame", as_is: bool = False) -> list[TensorVal]: ...


@dataclass
class LibCall:
    """One call of a library function (``canon``) or of a method (``canon`` is the method's name)."""

    canon: str
    node: ast.Call
    frame: "Frame"
    args: list[Value]
    kwargs: dict[str, Value]
    loc: Loc
    stmt: Optional[ast.stmt]
    receiver: Value = UNKNOWN

    def arg(self, position: int, keyword: str) -> Value:
        """The argument at ``position``, else the keyword ``keyword``, else UNKNOWN."""
        return self.args[position] if position < len(self.args) else self.kwargs.get(keyword, UNKNOWN)

    def tensors(self) -> Value:
        """What the call returns when only its tensor arguments matter (``tf.nn.relu``)."""
        found = [a for a in self.args if isinstance(a, TensorVal)]
        found += [a for a in self.kwargs.values() if isinstance(a, TensorVal)]
        return merge_tensors(found) if found else UNKNOWN


Handler = Callable[["Library", LibCall], Value]
MethodHandler = Callable[["Library", LibCall], Optional[Value]]  # None: the call is not the library's

_BY_NAME: dict[str, Handler] = {}
_FAMILIES: list[tuple[str, Callable[[str], bool], Handler]] = []  # (prefix, accepts the rest, handler)
_METHODS: dict[str, MethodHandler] = {}


H = TypeVar("H", Handler, MethodHandler)


def _registrar(table: dict[str, H], names: tuple[str, ...]) -> Callable[[H], H]:
    def register(handler: H) -> H:
        for name in names:
            assert name not in table, name
            table[name] = handler
        return handler
    return register


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for these canonical names."""
    return _registrar(_BY_NAME, names)


def handles_family(prefix: str, accepts: Callable[[str], bool] = lambda rest: True) -> Callable[[Handler], Handler]:
    """Register a handler for every canonical name ``prefix + rest`` with ``accepts(rest)`` (a name
    of its own in the table wins)."""
    def register(handler: Handler) -> Handler:
        _FAMILIES.append((prefix, accepts, handler))
        return handler
    return register


def handles_method(*methods: str) -> Callable[[MethodHandler], MethodHandler]:
    """Register a handler for ``value.method(...)`` on a value that is not a library module."""
    return _registrar(_METHODS, methods)


@functools.lru_cache(maxsize=4096)
def handler_for(canon: str) -> Optional[Handler]:
    handler = _BY_NAME.get(canon)
    if handler is not None:
        return handler
    for prefix, accepts, family in _FAMILIES:
        if canon.startswith(prefix) and accepts(canon[len(prefix):]):
            return family
    return None


def handled(canon: str) -> bool:
    """Whether a library call means something of its own (else only its tensors flow through)."""
    return handler_for(canon) is not None


class Library:
    """The library calls of one walk, recorded into its run."""

    def __init__(self, interp: Interpreter) -> None:
        # a weak reference: the walker owns its library, and a cycle would keep syntax trees alive
        self.interp: Interpreter = weakref.proxy(interp)
        self.tape_frames: list[tuple[FrameInfo, FrameInfo]] = []  # (frame of a tape block, its function's)

    @property
    def run(self) -> Run:
        return self.interp.run

    def call(self, canon: str, node: ast.Call, frame: "Frame", args: list[Value], kwargs: dict[str, Value],
             stmt: Optional[ast.stmt]) -> Value:
        """A call of the library function or class ``canon`` (most, like ``tf.nn.relu``, only pass tensors on)."""
        handler = handler_for(canon)
        if handler is None:
            found = [a for a in args if isinstance(a, TensorVal)]
            found += [a for a in kwargs.values() if isinstance(a, TensorVal)]
            return merge_tensors(found) if found else UNKNOWN
        return handler(self, LibCall(canon, node, frame, args, kwargs, frame.module.loc(node), stmt))

    def method_call(self, method: str, receiver: Value, node: ast.Call, frame: "Frame", args: list[Value],
                    kwargs: dict[str, Value], loc: Loc, stmt: Optional[ast.stmt]) -> Optional[Value]:
        """``receiver.method(...)`` on a value the walker does not follow; None: nothing of the library's."""
        handler = _METHODS.get(method)
        if handler is None:
            return None
        return handler(self, LibCall(method, node, frame, args, kwargs, loc, stmt, receiver))

    def special_call(self, node: ast.Call, frame: "Frame", callee: Value, receiver: Value, method: Optional[str],
                     stmt: Optional[ast.stmt]) -> Optional[Value]:
        """Calls whose arguments must be read in a special way (before the generic evaluation)."""
        if not isinstance(callee, Alias):
            return None
        canon = canonical(callee.qual)
        if canon in apis.CONTROL_DEPENDENCIES:
            return self.control_dependencies(node, frame)
        if canon in apis.ADD_TO_COLLECTION and len(node.args) >= 2:
            name = self.interp.expr(node.args[0], frame)
            value = self._unescaped(node.args[1], frame)
            if isinstance(value, UpdateOp):
                coll = collection_name(name)
                value.update.uses.append(f"collection:{coll}" if coll else "escaped")
            return UNKNOWN
        return None

    def _unescaped(self, node: ast.expr, frame: "Frame") -> Value:
        """A name's value without marking an update op held there as escaped."""
        if isinstance(node, ast.Name):
            value = frame.lookup(node.id)
            return value if value is not None else UNKNOWN
        return self.interp.expr(node, frame)

    def control_dependencies(self, node: ast.Call, frame: "Frame") -> Value:
        if not node.args:
            return ContextVal("deps", UNKNOWN)
        arg_node = node.args[0]
        values = []
        for elt in (arg_node.elts if isinstance(arg_node, (ast.List, ast.Tuple)) else [arg_node]):
            value = self._unescaped(elt.value if isinstance(elt, ast.Starred) else elt, frame)
            _run_as_control(value)
            values.append(value)
        return ContextVal("deps", ListVal(tuple(values)), (frame.module.loc(arg_node),))

    # ---- batch norm ----------------------------------------------------------------------
    def scoped(self, name: Optional[str]) -> str:
        parts = [s if s is not None else "?" for s in self.interp.scopes]
        return "/".join(parts + [name or "?"])

    def bn_build(self, api: str, layer: str, loc: Loc, node: Optional[ast.Call], frame: "Frame",
                 params: dict[str, Value], training_kw: str, training_default: bool, momentum_kw: str,
                 momentum_default: float, inputs: list[TensorVal]) -> TensorVal:
        run = self.run
        if UNKNOWN_KWARGS in params:  # `**mapping` of unknown keys: what is not written may be in it
            params = {k: params.get(k, UNKNOWN) for k in (momentum_kw, training_kw, "updates_collections")} | params
        momentum = params.get(momentum_kw, Const(momentum_default))
        run.constructs.append(BnConstruct(api, layer, loc, momentum, momentum_kw))
        training = as_flag(params.get(training_kw, Const(training_default)))
        in_place: Optional[bool] = False
        if api == "slim":
            uc = params.get("updates_collections", Const("update_ops") if not self.unknown_arg_scope() else UNKNOWN)
            in_place = True if isinstance(uc, Const) and uc.value is None else (
                False if isinstance(uc, Const) or is_update_ops_key(uc) else None)
        training_loc = None
        if node is not None:
            for kw in node.keywords:
                if kw.arg == training_kw:
                    training_loc = frame.module.loc(kw.value)
        if isinstance(training, Const) and training.loc is not None and training_loc is None:
            training_loc = training.loc
        trainable = params.get("trainable")
        run.builds.append(BnBuild(api, layer, loc, run.next_order(), training, in_place, training_loc,
                                  tuple(self.interp.branches), defaulted=training_kw not in params,
                                  frozen=isinstance(trainable, Const) and trainable.value is False))
        self.flag(training, layer, loc)
        base = single_input(inputs)
        self.adjacent(layer, loc, base)
        fixed = base.fixed_training
        if isinstance(training, Const) and training.value is True and training_loc is not None:
            fixed = fixed + ((layer, training_loc),)
        return TensorVal(LayerObj("bn", api, layer, loc), base.bn_layers + (layer,), fixed)

    def flag(self, training: Optional[Value], layer: str, loc: Loc) -> None:
        """A placeholder_with_default used as this layer's training flag."""
        if isinstance(training, FlagTrue):
            self.run.flag_uses.append(FlagUse(training.loc, layer, loc))
        elif isinstance(training, FlagUnknown):
            self.run.note(training.loc, f"BN004 not judged for {layer}: the default of this placeholder_with_default "
                                        "is a value bncheck cannot tell")

    def adjacent(self, layer: str, loc: Loc, base: TensorVal) -> None:
        """The batch norm ``layer`` is fed by ``base``: a bias or dropout there is recorded."""
        for producer in (base.producer, *base.alternatives):
            if producer is not None and producer.kind in ADJACENT_KINDS:
                self.run.adjacent.append(Adjacent(layer, loc, producer))

    def add(self, left: Value, right: Value, node: ast.expr, frame: "Frame") -> Optional[TensorVal]:
        """``conv + b``: a raw conv/matmul's output plus a variable is a bias added (None: not that)."""
        for a, b in ((left, right), (right, left)):
            if isinstance(a, TensorVal) and a.producer is not None and a.producer.kind == "linear" and isinstance(
                    b, VariableVal) and b.rank in (1, None):
                bias = LayerObj("bias" if b.rank == 1 else "bias?", "nn", None, frame.module.loc(node))
                return TensorVal(bias, a.bn_layers, a.fixed_training)
        return None

    def unknown_arg_scope(self) -> bool:
        return any(not ops for a in self.interp.arg_scopes for ops, _ in a.entries)

    def arg_scope_kwargs(self, canon: str) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for scope in self.interp.arg_scopes:
            for ops, kwargs in scope.entries:
                if canon in ops:
                    out.update(kwargs)
        return out

    # ---- Keras layers and models called ----------------------------------------------------
    def call_layer(self, callee: LayerObj | ModelObj, node: ast.Call, frame: "Frame", args: list[Value],
                   kwargs: dict[str, Value], loc: Loc, mode: Optional[ModeParam] = None) -> Value:
        """A Keras layer or model called; ``mode``: the model's own training-flag parameter, if its
        ``call`` passes one on to its batch norms (:mod:`bncheck.source.modes`)."""
        inputs = tensors_in(args[0] if args else kwargs.get("inputs", UNKNOWN))
        base = single_input(inputs)
        training = as_flag(kwargs.get("training") if "training" in kwargs else (args[1] if len(args) > 1 else None))
        training_loc = None
        for kw in node.keywords:
            if kw.arg == "training":
                training_loc = frame.module.loc(kw.value)
        flag_node = _training_node(node)
        # where a training=True a model keeps is written: the keyword, or the second positional argument
        # (`bn(x, True)`; only a keyword gets the edits of BN002/BN008 that rewrite the flag)
        fixed_at = training_loc if "training" in kwargs else (frame.module.loc(flag_node) if flag_node else None)
        if _own_call_default(flag_node, frame, training):
            training = UNKNOWN  # `call(self, x, training=True)` passing training on: the caller's mode
        run = self.run
        if isinstance(callee, LayerObj):
            if callee.kind != "bn":
                return TensorVal(callee, base.bn_layers, base.fixed_training)
            name = callee.name or f"BatchNormalization@{callee.loc.line}"
            api = "keras-graph" if run.graph_mode and callee.api == "keras" else callee.api
            run.builds.append(BnBuild(api, name, loc, run.next_order(),
                                      training if training is not None else UNKNOWN, False, training_loc))
            self.flag(training, name, loc)
            self.adjacent(name, loc, base)
            self.record_keras_call(node, frame, loc, (name,), training, training_loc, flag_expr=flag_node)
            fixed = base.fixed_training
            if isinstance(training, Const) and training.value is True and fixed_at is not None:
                fixed = fixed + ((name, fixed_at),)
            return TensorVal(callee, base.bn_layers + (name,), fixed)
        # a model: its batch norms in groups that share one training flag
        # (layers, flag, where it is written, the parameter's name, its expression, where a fixed flag is)
        groups: list[tuple[tuple[str, ...], Optional[Value], Optional[Loc], str, Optional[ast.expr], Optional[Loc]]] = []
        rest = tuple(callee.bn_layers)
        if mode is UNWORKED and rest:
            groups.append((rest, UNKNOWN, None, "training", None, None))
            rest = ()
        elif mode is not None and rest:
            value, expr = call_training(mode, node, args, kwargs, frame.module)
            if _own_call_default(expr, frame, value):
                value = UNKNOWN  # the enclosing call()'s own default, passed on: its caller's mode
            own = rest if mode.layers == ALL or mode.name == "training" else tuple(
                b for b in rest if b in mode.layers)
            at = frame.module.loc(expr) if expr is not None else None
            groups.append((own, value, at, mode.name, expr, at))
            rest = tuple(b for b in rest if b not in own)
        if rest:
            groups.append((rest, training, training_loc, "training", flag_node, fixed_at))
        fixed = base.fixed_training
        for layers, flag, flag_loc, flag_name, flag_expr, flag_at in groups:
            if not layers:
                continue
            self.record_keras_call(node, frame, loc, layers, flag, flag_loc, mode_param=flag_name,
                                   flag_expr=flag_expr)
            if run.graph_mode:
                prefix = f"{callee.name}/" if callee.name else ""
                for bn in layers:
                    run.builds.append(BnBuild("keras-graph", prefix + bn, loc, run.next_order(),
                                              flag if flag is not None else UNKNOWN, False, flag_loc))
            if isinstance(flag, Const) and flag.value is True and flag_at is not None:
                fixed = fixed + tuple((b, flag_at) for b in layers)
        return TensorVal(None, base.bn_layers + tuple(callee.bn_layers), fixed)

    def record_keras_call(self, node: ast.Call, frame: "Frame", loc: Loc, bn_layers: tuple[str, ...],
                          training: Optional[Value], training_loc: Optional[Loc], known: bool = True,
                          mode_param: str = "training", flag_expr: Optional[ast.expr] = None) -> None:
        callee_text = segment(frame.module, node.func) or "model"
        end = Loc(loc.path, loc.end_line, loc.end_col - 1, loc.end_line, loc.end_col - 1)
        info = frame.info
        if self.interp.tape and info.kind not in ("train_step", "serving", "model_call"):
            info = FrameInfo(info.name, info.kind, in_tape=True)
            info.applies_gradients = False
            self.tape_frames.append((info, frame.info))
        self.run.keras_calls.append(KerasCall(loc, callee_text, bn_layers, training, training_loc, info, end, known,
                                              _training_is_param(flag_expr, frame), mode_param))

    def record_unknown_call(self, node: ast.Call, frame: "Frame", args: list[Value], kwargs: dict[str, Value]) -> None:
        """A call of something bncheck cannot follow, in a train step, a tape, a serving function or a
        model's ``call``: rules that would judge a model there say why they cannot."""
        if not (self.interp.tape or frame.info.kind in ("train_step", "serving", "model_call")):
            return
        training = as_flag(kwargs.get("training")) if "training" in kwargs else None
        training_loc = next((frame.module.loc(kw.value) for kw in node.keywords if kw.arg == "training"), None)
        self.record_keras_call(node, frame, frame.module.loc(node), (), training, training_loc, known=False,
                               flag_expr=_training_node(node))

    def finish(self) -> None:
        """Tape frames learn whether their enclosing function applied gradients."""
        for tape_info, outer in self.tape_frames:
            tape_info.applies_gradients = outer.applies_gradients
            tape_info.trained = outer.trained

    # ---- train ops and hand-written updates ------------------------------------------------
    def current_deps(self) -> tuple[Value, ...]:
        out: list[Value] = []
        for ctx in self.interp.deps:
            if isinstance(ctx.arg, ListVal):
                out.extend(ctx.arg.items)
            else:
                out.append(ctx.arg)
        return tuple(out)

    def assign(self, c: LibCall, args: list[Value], method: str) -> Value:
        node, frame = c.node, c.frame
        value_node = None
        if isinstance(node.func, ast.Attribute) and method in ("assign", "assign_sub") and not isinstance(
                self.interp.expr(node.func.value, frame), Alias):
            value_node = node.args[0] if node.args else None
        elif len(node.args) >= 2:
            value_node = node.args[1]
        if value_node is None:
            return UNKNOWN
        decay_node = ema_decay(value_node, method)
        if decay_node is None or not batch_norm_nearby(frame):
            return UNKNOWN
        decay = self.interp.expr(decay_node, frame)
        if isinstance(decay, Const) and isinstance(decay_node, ast.Constant):
            decay = Const(decay.value)  # a literal is written twice (`* 0.1`, `(1 - 0.1)`): no one place to fix
        elif isinstance(decay, Const) and decay.loc is None:
            decay = Const(decay.value, frame.module.loc(decay_node))
        scopes = self.interp.scopes
        layer = "/".join(s if s is not None else "?" for s in scopes) if scopes else (
            f"{frame.func.name if frame.func else frame.module.modname}@{c.loc.line}")
        update = HandUpdate(layer, c.loc, self.run.next_order(), decay)
        self.run.hand_updates.append(update)
        return UpdateOp(update)


# ==== the table: library functions and classes by canonical name =================================

@handles(*apis.BN_FUNCTIONS)
def _bn_function(lib: Library, c: LibCall) -> Value:
    api, training_kw, training_default, momentum_kw, momentum_default, name_kw = apis.BN_FUNCTIONS[c.canon]
    merged = dict(lib.arg_scope_kwargs(c.canon)) if api == "slim" else {}
    for key, pos in apis.BN_POSITIONAL[c.canon].items():
        if pos < len(c.args):
            merged[key] = c.args[pos]
    merged.update(c.kwargs)
    name = const_str(merged.get(name_kw))
    layer = lib.scoped(name if name else ("BatchNorm" if api == "slim" else f"batch_normalization@{c.loc.line}"))
    inp = tensors_in(c.args[0] if c.args else merged.get("inputs", UNKNOWN))
    return lib.bn_build(api, layer, c.loc, c.node, c.frame, merged, training_kw, training_default, momentum_kw,
                        momentum_default, inp)


@handles(*apis.SLIM_LAYERS)
def _slim_layer(lib: Library, c: LibCall) -> Value:
    params = dict(lib.arg_scope_kwargs(c.canon))
    params.update(c.kwargs)
    norm = params.get("normalizer_fn")
    inputs = tensors_in(c.args[0] if c.args else params.get("inputs", UNKNOWN))
    if isinstance(norm, Alias) and canonical(norm.qual) == "slim.batch_norm":
        scope = const_str(params.get("scope"))
        layer = lib.scoped(f"{scope or apis.SLIM_LAYERS[c.canon]}/BatchNorm")
        bn_params = dict(lib.arg_scope_kwargs("slim.batch_norm"))
        np_ = params.get("normalizer_params")
        if isinstance(np_, DictVal):
            bn_params.update(np_.items)
        elif np_ is not None and not (isinstance(np_, Const) and np_.value is None):
            bn_params = {"is_training": UNKNOWN, "updates_collections": UNKNOWN, "decay": UNKNOWN}
        out = lib.bn_build("slim", layer, c.loc, None, c.frame, bn_params, "is_training", True, "decay", 0.999, [])
        before = merge_tensors(inputs) if inputs else TensorVal()  # the batch norms behind the layer's input
        return TensorVal(out.producer, before.bn_layers + out.bn_layers, before.fixed_training + out.fixed_training)
    base = merge_tensors(inputs) if inputs else TensorVal()
    activation = params.get("activation_fn")
    if isinstance(activation, (FuncRef, Bound)):
        # an activation of the program (`activation_fn=relu_batch_norm`): walked on the layer's output
        # before any activation, so a batch norm it applies first is fed by the layer's bias
        linear = dict(params, activation_fn=Const(None))
        walked = lib.interp.call_passed_functions(
            [activation], {}, [TensorVal(_slim_bias(linear, c.loc), base.bn_layers, base.fixed_training)], c.frame, as_is=True)
        return walked[0] if walked else TensorVal(None, base.bn_layers, base.fixed_training)
    return TensorVal(_slim_bias(params, c.loc), base.bn_layers, base.fixed_training)


def _slim_bias(params: dict[str, Value], loc: Loc) -> Optional[LayerObj]:
    """A slim layer without a normalizer: its bias feeds what follows unless ``biases_initializer=None``
    or an activation (relu by default) comes after it; an activation bncheck cannot tell: ``bias?``."""
    norm = params.get("normalizer_fn")
    if norm is not None and not (isinstance(norm, Const) and norm.value is None):
        return None  # a normalizer (or something bncheck cannot tell) replaces the bias
    biases = params.get("biases_initializer")
    if isinstance(biases, Const) and biases.value is None:
        return None
    activation = params.get("activation_fn")
    scope = const_str(params.get("scope"))
    if activation is None:
        return None  # relu
    if (isinstance(activation, Const) and activation.value is None) or (
            isinstance(activation, Alias) and canonical(activation.qual) in apis.IDENTITY_ACTIVATIONS):
        return LayerObj("bias", "slim", scope, loc)
    return LayerObj("bias?", "slim", scope, loc) if activation is UNKNOWN else None


@handles(*apis.BN_CLASSES)
def _bn_class(lib: Library, c: LibCall) -> Value:
    name = const_str(c.kwargs.get("name"))
    layer = LayerObj("bn", apis.BN_CLASSES[c.canon], name, c.loc, c.kwargs.get("momentum", Const(0.99)))
    lib.run.constructs.append(BnConstruct(layer.api, name or f"BatchNormalization@{c.loc.line}", c.loc,
                                          layer.momentum, "momentum"))
    return layer


@handles(*apis.BIAS_LAYER_CLASSES)
def _bias_layer_class(lib: Library, c: LibCall) -> Value:
    use_bias = c.kwargs.get("use_bias")
    return LayerObj(bias_kind(c.kwargs), "keras", const_str(c.kwargs.get("name")), c.loc,
                    bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)


@handles(*apis.DROPOUT_CLASSES)
def _dropout_class(lib: Library, c: LibCall) -> Value:
    return LayerObj("dropout", "keras", const_str(c.kwargs.get("name")), c.loc)


@handles_family("keras.layers.", lambda rest: rest[:1].isupper())
def _other_keras_layer(lib: Library, c: LibCall) -> Value:
    return LayerObj("other", "keras", const_str(c.kwargs.get("name")), c.loc)


@handles(*apis.SEQUENTIAL)
def _sequential(lib: Library, c: LibCall) -> Value:
    layers = c.arg(0, "layers")
    model = ModelObj((), const_str(c.kwargs.get("name")), c.loc)
    if isinstance(layers, ListVal):
        for item in layers.items:
            _append_layer(lib, model, item)
    return model


def _append_layer(lib: Library, model: ModelObj, item: Value) -> None:
    """A layer appended to a Sequential (its list, or ``add``): its batch norms, and what feeds them."""
    if isinstance(item, LayerObj) and item.kind == "bn":
        layer_name = item.name or f"BatchNormalization@{item.loc.line}"
        model.bn_layers = tuple(dict.fromkeys(model.bn_layers + (layer_name,)))
        if isinstance(model.last, LayerObj) and model.last.kind in ADJACENT_KINDS:
            lib.run.adjacent.append(Adjacent(layer_name, item.loc, model.last))
    elif isinstance(item, ModelObj):
        model.bn_layers = tuple(dict.fromkeys(model.bn_layers + item.bn_layers))
    model.last = item


@handles(*apis.FUNCTIONAL)
def _functional(lib: Library, c: LibCall) -> Value:
    tensors = tensors_in(c.arg(1, "outputs"))
    fixed = tuple(f for t in tensors for f in t.fixed_training)
    if fixed:
        lib.run.functional_models.append(FunctionalModel(c.loc, fixed))
    return ModelObj(tuple(dict.fromkeys(b for t in tensors for b in t.bn_layers)), const_str(c.kwargs.get("name")),
                    c.loc)


@handles_family("keras.applications.")
def _application(lib: Library, c: LibCall) -> Value:
    app = c.canon.rsplit(".", 1)[-1]
    if app[:1].isupper() and app not in apis.APPLICATIONS_WITHOUT_BN:
        return ModelObj((f"{app} batch norms",), const_str(c.kwargs.get("name")) or app, c.loc)
    return UNKNOWN


@handles("keras.Input", "keras.layers.Input")
def _input(lib: Library, c: LibCall) -> Value:
    return TensorVal()


@handles(*apis.BIAS_LAYER_FUNCTIONS)
def _bias_layer_function(lib: Library, c: LibCall) -> Value:
    use_bias = c.kwargs.get("use_bias")
    inp = tensors_in(c.arg(0, "inputs"))
    base = merge_tensors(inp) if inp else TensorVal()
    kind = bias_kind(c.kwargs)
    if kind != "other":
        producer = LayerObj(kind, "layers", const_str(c.kwargs.get("name")), c.loc,
                            bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)
        return TensorVal(producer, base.bn_layers, base.fixed_training)
    return TensorVal(None, base.bn_layers, base.fixed_training)


@handles(*apis.DROPOUT_FUNCTIONS)
def _dropout_function(lib: Library, c: LibCall) -> Value:
    inp = tensors_in(c.args[0] if c.args else UNKNOWN)
    base = merge_tensors(inp) if inp else TensorVal()
    return TensorVal(LayerObj("dropout", "layers", None, c.loc), base.bn_layers, base.fixed_training)


# ---- raw ops: biases added by hand ------------------------------------------------------------

def _input_of(c: LibCall, keyword: str) -> TensorVal:
    inp = tensors_in(c.arg(0, keyword))
    return single_input(inp) if inp else TensorVal()


@handles(*apis.RAW_LINEAR_OPS)
def _raw_linear(lib: Library, c: LibCall) -> Value:
    base = _input_of(c, "input")
    return TensorVal(LayerObj("linear", "nn", None, c.loc), base.bn_layers, base.fixed_training)


@handles(*apis.RAW_BIAS_ADD)
def _raw_bias_add(lib: Library, c: LibCall) -> Value:
    base = _input_of(c, "value")
    return TensorVal(LayerObj("bias", "nn", None, c.loc), base.bn_layers, base.fixed_training)


@handles(*apis.SAME_TENSOR)
def _same_tensor(lib: Library, c: LibCall) -> Value:
    """``tf.identity(x)``, and ``tf.reshape(x, y.get_shape())`` (DCGAN's ops.py): x as it is. Another
    reshape moves values between channels, so what produced x no longer feeds what follows directly."""
    base = _input_of(c, "input" if c.canon.endswith("identity") else "tensor")
    if c.canon.endswith("reshape"):
        shape = c.node.args[1] if len(c.node.args) > 1 else next(
            (kw.value for kw in c.node.keywords if kw.arg == "shape"), None)
        if not _shape_of_a_tensor(shape, lib, c):
            return TensorVal(None, base.bn_layers, base.fixed_training)
    return base


def _shape_of_a_tensor(node: Optional[ast.expr], lib: Library, c: LibCall) -> bool:
    """``t.get_shape()``, ``t.shape`` or ``tf.shape(t)`` for a tensor ``t``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get_shape":
        node = node.func.value
    elif isinstance(node, ast.Attribute) and node.attr == "shape":
        node = node.value
    elif isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "shape":
        node = node.args[0]
    else:
        return False
    return isinstance(node, ast.Name) and isinstance(c.frame.lookup(node.id), TensorVal)


@handles(*apis.RAW_ADD)
def _raw_add(lib: Library, c: LibCall) -> Value:
    if len(c.args) == 2:
        added = lib.add(c.args[0], c.args[1], c.node, c.frame)
        if added is not None:
            return added
    return c.tensors()


@handles(*apis.VARIABLES)
def _variable(lib: Library, c: LibCall) -> Value:
    """The rank of ``get_variable("b", [n])``, or of ``Variable(tf.zeros([n]))`` (a literal shape)."""
    if c.canon in ("tensorflow.get_variable", "slim.variable", "slim.model_variable"):
        shape = c.arg(1, "shape")
        return VariableVal(len(shape.items) if isinstance(shape, ListVal) else None)
    initial = c.node.args[0] if c.node.args else next(
        (kw.value for kw in c.node.keywords if kw.arg == "initial_value"), None)
    if isinstance(initial, ast.Call):
        dims = initial.args[0] if initial.args else next(
            (kw.value for kw in initial.keywords if kw.arg == "shape"), None)
        if isinstance(dims, (ast.List, ast.Tuple)):
            return VariableVal(len(dims.elts))
    return VariableVal(None)


# ---- collections, graph contexts, train ops ---------------------------------------------------

@handles(*apis.GET_COLLECTION)
def _get_collection(lib: Library, c: LibCall) -> Value:
    key = c.arg(0, "key")
    if is_update_ops_key(key):
        return UpdateOps(lib.run.next_order(), c.loc)
    name = collection_name(key)
    return CollectionVal(name, lib.run.next_order(), c.loc) if name else UNKNOWN


@handles(*apis.VARIABLE_SCOPES)
def _variable_scope(lib: Library, c: LibCall) -> Value:
    scope = c.arg(0, "name_or_scope")
    if isinstance(scope, Const) and scope.value is None:
        scope = c.arg(1, "default_name")
    return ContextVal("scope", scope if isinstance(scope, Const) and isinstance(scope.value, str) else UNKNOWN)


@handles(*apis.ARG_SCOPE)
def _arg_scope(lib: Library, c: LibCall) -> Value:
    first = c.arg(0, "list_ops_or_scope")
    if isinstance(first, ArgScopeVal):
        return ContextVal("arg_scope", first)
    ops: set[str] = set()
    if isinstance(first, ListVal):
        for item in first.items:
            if isinstance(item, Alias):
                ops.add(canonical(item.qual))
            elif isinstance(item, FuncRef):
                ops.add(item.func.name)
    return ContextVal("arg_scope", ArgScopeVal(((frozenset(ops), c.kwargs),)))


@handles(*apis.GRADIENT_TAPE)
def _gradient_tape(lib: Library, c: LibCall) -> Value:
    return ContextVal("tape")


@handles(*apis.GROUP)
def _group(lib: Library, c: LibCall) -> Value:
    if any(holds_updates(a) for a in c.args + list(c.kwargs.values())):
        lib.run.groups.append(lib.run.next_order())
    return UNKNOWN


@handles(*apis.WIRED_TRAIN_OPS)
def _wired_train_op(lib: Library, c: LibCall) -> Value:
    update_ops = c.kwargs.get("update_ops")
    builtin = update_ops is None or holds_updates(update_ops)
    run = lib.run
    op = TrainOp(c.loc, c.frame.module.loc(c.stmt) if c.stmt else c.loc, run.next_order(), lib.current_deps(),
                 wired_builtin=builtin, branch=tuple(lib.interp.branches))
    run.train_ops.append(op)
    c.frame.info.applies_gradients = True
    return TrainOpVal(op)


@handles(*apis.PLACEHOLDER_WITH_DEFAULT)
def _placeholder_with_default(lib: Library, c: LibCall) -> Value:
    default = c.arg(0, "input")
    if isinstance(default, Const) and default.value is True:
        return FlagTrue(c.loc)
    return UNKNOWN if isinstance(default, Const) else FlagUnknown(c.loc)


@handles(*apis.ASSIGN_FUNCTIONS)
def _assign(lib: Library, c: LibCall) -> Value:
    return lib.assign(c, c.args, "assign")


@handles("tensorflow.assign_sub")
def _assign_sub(lib: Library, c: LibCall) -> Value:
    return lib.assign(c, c.args, "assign_sub")


@handles(*apis.SET_LEARNING_PHASE)
def _set_learning_phase(lib: Library, c: LibCall) -> Value:
    value = c.arg(0, "value")
    run = lib.run
    if isinstance(value, Const) and value.value in (1, True):
        run.learning_phases.append(LearningPhase(c.loc, run.next_order(), value.loc))
    elif not isinstance(value, Const):
        run.note(c.loc, "BN002 not judged for this set_learning_phase: its argument is a value bncheck cannot tell")
    return UNKNOWN


@handles(*apis.GRAPH_EXPORTS, *apis.TF2_EXPORTS)
def _export(lib: Library, c: LibCall) -> Value:
    lib.run.exports.append(Export(c.loc, lib.run.next_order(), c.canon.rsplit(".", 1)[-1], tuple(lib.interp.branches)))
    signatures = c.kwargs.get("signatures")
    functions: list[Optional[Value]] = list(signatures.items.values()) if isinstance(signatures, DictVal) else [signatures]
    if signatures is None and c.canon == "tensorflow.saved_model.save":
        functions = [_default_signature(lib.interp.project, c.arg(0, "obj"))]
    for function in functions:  # a serving function of an object made here (`Exported(model).serve`)
        if isinstance(function, Bound):
            lib.interp.call_function(function.func, [], {}, c.frame, self_obj=function.obj)
        elif isinstance(function, FuncRef):
            lib.interp.call_function(function.func, [], {}, c.frame)
    return UNKNOWN


def _default_signature(project: Any, obj: Value) -> Optional[Bound]:
    """What ``tf.saved_model.save(obj, path)`` without ``signatures`` serves: the one method of a
    (non-Keras) object's class decorated ``@tf.function(input_signature=...)``, if there is exactly one
    (TensorFlow's rule); a Keras model is served with its own inference signature."""
    from bncheck.source.inheritance import lineage
    from bncheck.source.project import decorated_tf_function, is_keras_class

    if not isinstance(obj, ModelObj) or obj.cls is None or is_keras_class(project, obj.cls):
        return None
    methods: dict[str, FunctionInfo] = {}
    for cls in lineage(project, obj.cls):  # a subclass's method first, as method_of finds it
        for name, method in cls.methods.items():
            methods.setdefault(name, method)
    signed = [m for m in methods.values() if decorated_tf_function(m) and any(
        isinstance(d, ast.Call) and any(k.arg == "input_signature" for k in d.keywords)
        for d in m.node.decorator_list)]  # type: ignore[attr-defined]  # a method's node is a def
    return Bound(signed[0], obj) if len(signed) == 1 else None


@handles(*apis.COND)
def _cond(lib: Library, c: LibCall) -> Value:
    """``tf.cond(pred, true_fn, false_fn)``: TF1 builds both functions into the graph."""
    results: list[TensorVal] = []
    for position, keywords in ((1, ("true_fn", "fn1")), (2, ("false_fn", "fn2"))):
        function = c.args[position] if position < len(c.args) else next(
            (c.kwargs[k] for k in keywords if k in c.kwargs), UNKNOWN)
        if isinstance(function, FuncRef):
            closure = c.frame if function.func.name == "<lambda>" and function.func.module is c.frame.module else None
            result = lib.interp.call_function(function.func, [], {}, c.frame, closure=closure)
            if isinstance(result, TensorVal):
                results.append(result)
    return either(results) if results else c.tensors()


@handles(*apis.SAVERS)
def _saver(lib: Library, c: LibCall) -> Value:
    return SaverVal()


@handles(*apis.TF_FUNCTION)
def _tf_function(lib: Library, c: LibCall) -> Value:
    return c.args[0] if c.args and isinstance(c.args[0], FuncRef) else UNKNOWN


@handles_family("tensorflow.train.", lambda rest: rest.endswith("Optimizer"))
def _tf1_optimizer(lib: Library, c: LibCall) -> Value:
    return Optimizer("tf1")


@handles_family("keras.optimizers.")
def _keras_optimizer(lib: Library, c: LibCall) -> Value:
    return Optimizer("keras")


@handles("enumerate", "builtins.enumerate")
def _enumerate(lib: Library, c: LibCall) -> Value:
    """``enumerate(layers)`` over a known list: its (index, item) pairs, so a loop over it is unrolled."""
    start = c.arg(1, "start") if len(c.args) > 1 or "start" in c.kwargs else Const(0)
    if not (c.args and isinstance(c.args[0], ListVal) and isinstance(start, Const) and isinstance(start.value, int)):
        return UNKNOWN
    return ListVal(tuple(ListVal((Const(start.value + i), item)) for i, item in enumerate(c.args[0].items)))


@handles("range", "builtins.range")
def _range(lib: Library, c: LibCall) -> Value:
    return literal_range(c.args)


@handles("str", "builtins.str")
def _str(lib: Library, c: LibCall) -> Value:
    return Const(str(c.args[0].value)) if c.args and isinstance(c.args[0], Const) else c.tensors()


# ==== the table: methods called on values bncheck does not follow ===============================

@handles_method(*apis.TRAIN_METHODS)
def _train_op(lib: Library, c: LibCall) -> Value:
    node, frame = c.node, c.frame
    for a in node.args:
        lib.interp.expr(a, frame)
    for kw in node.keywords:
        lib.interp.expr(kw.value, frame)
    stmt_loc = frame.module.loc(c.stmt) if c.stmt is not None else c.loc
    locs = tuple(l for ctx in lib.interp.deps for l in ctx.locs)
    receiver = lib.interp.expr(node.func.value, frame) if isinstance(node.func, ast.Attribute) else UNKNOWN
    graph_optimizer = (isinstance(node.func, ast.Attribute) and node.func.attr == "minimize") or (
        isinstance(receiver, Optimizer) and receiver.kind == "tf1")
    run = lib.run
    everything = c.canon == "minimize" and len(node.args) <= 2 and not any(
        kw.arg in ("var_list", None) for kw in node.keywords)
    op = TrainOp(c.loc, stmt_loc, run.next_order(), lib.current_deps(), deps_locs=locs,
                 graph_optimizer=graph_optimizer, branch=tuple(lib.interp.branches), all_variables=everything)
    run.train_ops.append(op)
    frame.info.applies_gradients = True
    return TrainOpVal(op)


@handles_method(*apis.MODEL_EXPORT_METHODS)
def _model_export(lib: Library, c: LibCall) -> Optional[Value]:
    if isinstance(c.receiver, ModelObj):
        lib.run.exports.append(Export(c.loc, lib.run.next_order(), c.canon))
    return None


@handles_method("add_meta_graph_and_variables")
def _builder_export(lib: Library, c: LibCall) -> Optional[Value]:
    lib.run.exports.append(Export(c.loc, lib.run.next_order(), c.canon))
    return None


@handles_method("restore")
def _restore(lib: Library, c: LibCall) -> Optional[Value]:
    """``saver.restore(sess, path)``: a Saver, or an unknown receiver given a session and a path."""
    if isinstance(c.receiver, SaverVal) or (c.receiver is UNKNOWN and len(c.args) + len(c.kwargs) == 2):
        lib.run.restores.append(Export(c.loc, lib.run.next_order(), "restore", tuple(lib.interp.branches)))
    return None


@handles_method("export_meta_graph")
def _export_meta_graph(lib: Library, c: LibCall) -> Optional[Value]:
    if isinstance(c.receiver, SaverVal):
        lib.run.exports.append(Export(c.loc, lib.run.next_order(), "export_meta_graph", tuple(lib.interp.branches)))
    return None


@handles_method("run")
def _session_run(lib: Library, c: LibCall) -> Optional[Value]:
    if c.receiver is UNKNOWN and c.args:
        order = lib.run.next_order()
        lib.run.session_runs.append(order)
        lib.run.fetches.append(Fetch(order, _flat_fetches(c.args[0]), tuple(lib.interp.branches)))
    return None


def _flat_fetches(value: Value, depth: int = 0) -> tuple[Value, ...]:
    """``sess.run``'s fetches: a value, or lists/tuples/dicts of them (nested a few levels)."""
    if depth < 4 and isinstance(value, ListVal):
        return tuple(v for item in value.items for v in _flat_fetches(item, depth + 1))
    if depth < 4 and isinstance(value, DictVal):
        return tuple(v for item in value.items.values() for v in _flat_fetches(item, depth + 1))
    return (value,)


@handles("importlib.import_module")
def _import_module(lib: Library, c: LibCall) -> Value:
    """``importlib.import_module(name, package)``: a scanned module. A name bncheck cannot tell names
    one of the scanned modules of ``package``; when exactly one was given, it is that one."""
    name, package = c.arg(0, "name"), c.arg(1, "package")
    pkg = package.value if isinstance(package, Const) and isinstance(package.value, str) else None
    if isinstance(name, Const) and isinstance(name.value, str):
        qual = name.value if not name.value.startswith(".") else (f"{pkg}{name.value}" if pkg else None)
        return Alias(qual) if qual and lib.interp.project.module(qual) is not None else UNKNOWN
    if pkg is None:
        return UNKNOWN
    found = sorted(m.modname for m in lib.interp.project.modules
                   if m.modname.startswith(pkg + ".") and "." not in m.modname[len(pkg) + 1:])
    if len(found) == 1:
        return Alias(found[0])
    if found:
        lib.run.note(c.loc, f"the module imported here by a name bncheck cannot tell is one of {len(found)} scanned "
                            f"modules of {pkg!r} ({', '.join(found[:3])}{'...' if len(found) > 3 else ''}): what it "
                            "builds is not followed")
    return UNKNOWN


@handles(*apis.INITIALIZERS)
def _initializer(lib: Library, c: LibCall) -> Value:
    return InitOpVal()


@handles_method("get_concrete_function")
def _concrete_function(lib: Library, c: LibCall) -> Optional[Value]:
    return c.receiver if isinstance(c.receiver, (Bound, FuncRef)) else None


@handles_method("add")
def _sequential_add(lib: Library, c: LibCall) -> Optional[Value]:
    """``model.add(layer)`` on a Sequential (a model with no class of the scanned files)."""
    if isinstance(c.receiver, ModelObj) and c.receiver.cls is None and len(c.args) == 1 and not c.kwargs:
        _append_layer(lib, c.receiver, c.args[0])
        return UNKNOWN
    return None


MAX_LIST_KEPT = 256  # a list grown by append keeps its last items (only the last is read: ``outputs[-1]``)


@handles_method("append")
def _list_append(lib: Library, c: LibCall) -> Optional[Value]:
    """``outputs.append(out)`` on a list: a model class chaining layers on ``self.outputs[-1]``."""
    if isinstance(c.receiver, ListVal) and len(c.args) == 1 and not c.kwargs:
        kept = c.receiver.items[-(MAX_LIST_KEPT - 1):] if len(c.receiver.items) >= MAX_LIST_KEPT else c.receiver.items
        c.receiver.items = kept + (c.args[0],)
        return Const(None)
    return None


@handles_method("assign", "assign_sub")
def _assign_method(lib: Library, c: LibCall) -> Value:
    return lib.assign(c, [c.receiver] + c.args, c.canon)


@handles_method("control_dependencies")
def _control_dependencies_method(lib: Library, c: LibCall) -> Value:
    return lib.control_dependencies(c.node, c.frame)


# ==== helpers ======================================================================================

def _run_as_control(value: Value, depth: int = 0) -> None:
    """A control dependency's update ops, alone or in a list of them (``updates = [assign, assign]``,
    nested a few levels), are run by what is built under it."""
    if isinstance(value, UpdateOp):
        value.update.uses.append("control")
    elif depth < 4 and isinstance(value, ListVal):
        for item in value.items:
            _run_as_control(item, depth + 1)


def _training_node(node: ast.Call) -> Optional[ast.expr]:
    """What a layer or model call passes as ``training``: the keyword, or the second positional argument
    (unless a starred argument comes first: then which one it is is not known)."""
    value = next((kw.value for kw in node.keywords if kw.arg == "training"), None)
    if value is None and len(node.args) > 1 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
        return node.args[1]
    return value


def _training_is_param(value: Optional[ast.expr], frame: "Frame") -> bool:
    """``training=training``: the enclosing function passes its own parameter through."""
    if not isinstance(value, ast.Name) or frame.func is None:
        return False
    params = getattr(frame.func.node, "args", None)
    if params is None:
        return False
    names = [a.arg for a in list(params.posonlyargs) + list(params.args) + list(params.kwonlyargs)]
    return value.id in names


def _own_call_default(value: Optional[ast.expr], frame: "Frame", training: Any) -> bool:
    """In a model's own ``call(self, x, training=True)``, ``training=training`` holding the signature's
    default: the mode is whatever the model's caller passes, not fixed in the model."""
    func = frame.func
    if not (frame.info.kind == "model_call" and func is not None and func.name == "call" and func.cls is not None
            and isinstance(training, Const)):
        return False
    if not _training_is_param(value, frame):
        return False
    params = func.node.args  # type: ignore[attr-defined]
    positional = list(params.posonlyargs) + list(params.args)
    defaults = list(zip(positional[len(positional) - len(params.defaults):], params.defaults))
    defaults += [(p, d) for p, d in zip(params.kwonlyargs, params.kw_defaults) if d is not None]
    name = value.id  # type: ignore[union-attr]
    return any(p.arg == name and training._node is d for p, d in defaults)


def segment(module: ModuleInfo, node: ast.AST) -> str:
    """The source text of a one-line node (the callee of a call), without re-splitting the file."""
    loc = module.loc(node)
    if loc.line != loc.end_line or not 0 < loc.line <= len(module.lines):
        return ""
    return module.lines[loc.line - 1][loc.col - 1:loc.end_col - 1]


def batch_norm_nearby(frame: "Frame") -> bool:
    """A moving-average assignment counts as a batch norm's only where batch statistics are computed
    (``tf.nn.moments``) or used (``batch_normalization``) in the same function (or module body)."""
    module = frame.module
    if frame.func is not None and hasattr(frame.func.node, "end_lineno"):
        node = frame.func.node
        text = "\n".join(module.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]
    else:
        text = module.text
    return "moments" in text or "batch_normalization" in text or "batch_norm" in text
