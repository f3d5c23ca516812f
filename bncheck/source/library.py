"""What calls into TensorFlow, Keras and tf-slim mean for the walk: batch norms built, train ops,
collection reads, Keras layers and models called, exports. A mixin of :class:`~bncheck.source.walker.Walker`."""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Optional

from bncheck.source import apis
from bncheck.source.apis import canonical
from bncheck.source.loader import ModuleInfo
from bncheck.source.model import (
    UNKNOWN, Adjacent, Alias, BnBuild, BnConstruct, CollectionVal, Const, DictVal, Export, FlagTrue, FlagUnknown, FlagUse,
    FrameInfo, FuncRef, FunctionalModel, HandUpdate, KerasCall, LayerObj, LearningPhase, ListVal, Loc, ModelObj,
    Optimizer, Run, TensorVal, TrainOp, UpdateOp, UpdateOps, Value,
)
from bncheck.source.values import (
    ArgScopeVal, ContextVal, bias_kind, collection_name, const_str, ema_decay, holds_updates, is_update_ops_key,
    literal_range, merge_tensors, single_input, tensors_in,
)

if TYPE_CHECKING:
    from bncheck.source.walker import Frame

ADJACENT_KINDS = ("bias", "bias?", "dropout")  # producers whose feeding batch norm directly is recorded


class LibraryCalls:
    """Calls of the libraries' APIs, resolved to canonical names (:mod:`bncheck.source.apis`)."""

    run: Run
    deps: list[ContextVal]
    scopes: list[Optional[str]]
    arg_scopes: list[ArgScopeVal]
    tape: int
    tape_frames: list[tuple[FrameInfo, FrameInfo]]

    def expr(self, node: Optional[ast.expr], frame: "Frame", stmt: Optional[ast.stmt] = None) -> Value:
        raise NotImplementedError

    def special_call(self, node: ast.Call, frame: Frame, callee: Value, receiver: Value, method: Optional[str],
                     stmt: Optional[ast.stmt]) -> Optional[Value]:
        """Calls whose arguments must be read in a special way (before the generic evaluation)."""
        if not isinstance(callee, Alias):
            return None
        canon = canonical(callee.qual)
        if canon in apis.CONTROL_DEPENDENCIES:
            return self.control_dependencies(node, frame, None)
        if canon in apis.ADD_TO_COLLECTION and len(node.args) >= 2:
            name = self.expr(node.args[0], frame)
            value_node = node.args[1]
            value = frame.lookup(value_node.id) if isinstance(value_node, ast.Name) else self.expr(value_node, frame)
            if isinstance(value, UpdateOp):
                coll = collection_name(name)
                value.update.uses.append(f"collection:{coll}" if coll else "escaped")
            return UNKNOWN
        return None

    def control_dependencies(self, node: ast.Call, frame: Frame, args: Optional[list[Value]]) -> Value:
        if not node.args:
            return ContextVal("deps", UNKNOWN)
        arg_node = node.args[0]
        values = []
        for elt in (arg_node.elts if isinstance(arg_node, (ast.List, ast.Tuple)) else [arg_node]):
            target = elt.value if isinstance(elt, ast.Starred) else elt
            value = frame.lookup(target.id) if isinstance(target, ast.Name) else self.expr(target, frame)
            if value is None:
                value = UNKNOWN
            if isinstance(value, UpdateOp):
                value.update.uses.append("control")
            values.append(value)
        return ContextVal("deps", ListVal(tuple(values)), (frame.module.loc(arg_node),))

    def library_call(self, canon: str, node: ast.Call, frame: Frame, args: list[Value], kwargs: dict[str, Value],
                     loc: Loc, stmt: Optional[ast.stmt]) -> Value:
        if not apis.handled(canon):  # most library calls (tf.nn.relu, tf.reduce_mean): only tensors flow through
            tensors = [a for a in args if isinstance(a, TensorVal)]
            tensors += [a for a in kwargs.values() if isinstance(a, TensorVal)]
            return merge_tensors(tensors) if tensors else UNKNOWN
        run = self.run
        if canon in apis.BN_FUNCTIONS:
            return self.bn_function(canon, node, frame, args, kwargs, loc)
        if canon in apis.SLIM_LAYERS:
            return self.slim_layer(canon, node, frame, args, kwargs, loc)
        if canon in apis.BN_CLASSES:
            name = const_str(kwargs.get("name"))
            layer = LayerObj("bn", apis.BN_CLASSES[canon], name, loc, kwargs.get("momentum", Const(0.99)))
            run.constructs.append(BnConstruct(layer.api, name or f"BatchNormalization@{loc.line}", loc,
                                              layer.momentum, "momentum"))
            return layer
        if canon in apis.BIAS_LAYER_CLASSES:
            use_bias = kwargs.get("use_bias")
            kind = bias_kind(kwargs)
            return LayerObj(kind, "keras", const_str(kwargs.get("name")), loc,
                            bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)
        if canon in apis.DROPOUT_CLASSES:
            return LayerObj("dropout", "keras", const_str(kwargs.get("name")), loc)
        if canon.startswith("keras.layers.") and canon[13:14].isupper():
            return LayerObj("other", "keras", const_str(kwargs.get("name")), loc)
        if canon in apis.SEQUENTIAL:
            return self.sequential(args, kwargs, loc)
        if canon in apis.FUNCTIONAL:
            outputs = kwargs.get("outputs", args[1] if len(args) > 1 else UNKNOWN)
            tensors = tensors_in(outputs)
            fixed = tuple(f for t in tensors for f in t.fixed_training)
            if fixed:
                run.functional_models.append(FunctionalModel(loc, fixed))
            return ModelObj(tuple(dict.fromkeys(b for t in tensors for b in t.bn_layers)), const_str(kwargs.get("name")),
                            loc)
        if canon.startswith("keras.applications."):
            app = canon.rsplit(".", 1)[-1]
            if app[:1].isupper() and app not in apis.APPLICATIONS_WITHOUT_BN:
                return ModelObj((f"{app} batch norms",), const_str(kwargs.get("name")) or app, loc)
            return UNKNOWN
        if canon in ("keras.Input", "keras.layers.Input"):
            return TensorVal()
        if canon in apis.BIAS_LAYER_FUNCTIONS:
            use_bias = kwargs.get("use_bias")
            inp = tensors_in(args[0] if args else kwargs.get("inputs", UNKNOWN))
            base = merge_tensors(inp) if inp else TensorVal()
            kind = bias_kind(kwargs)
            if kind != "other":
                producer = LayerObj(kind, "layers", const_str(kwargs.get("name")), loc,
                                    bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)
                return TensorVal(producer, base.bn_layers, base.fixed_training)
            return TensorVal(None, base.bn_layers, base.fixed_training)
        if canon in apis.DROPOUT_FUNCTIONS:
            inp = tensors_in(args[0] if args else UNKNOWN)
            base = merge_tensors(inp) if inp else TensorVal()
            return TensorVal(LayerObj("dropout", "layers", None, loc), base.bn_layers, base.fixed_training)
        if canon in apis.GET_COLLECTION:
            key = args[0] if args else kwargs.get("key", UNKNOWN)
            if is_update_ops_key(key):
                return UpdateOps(run.next_order(), loc)
            name = collection_name(key)
            return CollectionVal(name, run.next_order(), loc) if name else UNKNOWN
        if canon in apis.VARIABLE_SCOPES:
            scope = args[0] if args else kwargs.get("name_or_scope", UNKNOWN)
            if isinstance(scope, Const) and scope.value is None:
                scope = args[1] if len(args) > 1 else kwargs.get("default_name", UNKNOWN)
            return ContextVal("scope", scope if isinstance(scope, Const) and isinstance(scope.value, str) else UNKNOWN)
        if canon in apis.ARG_SCOPE:
            return self.arg_scope(args, kwargs)
        if canon in apis.GRADIENT_TAPE:
            return ContextVal("tape")
        if canon in apis.GROUP:
            if any(holds_updates(a) for a in args + list(kwargs.values())):
                run.groups.append(run.next_order())
            return UNKNOWN
        if canon in apis.WIRED_TRAIN_OPS:
            update_ops = kwargs.get("update_ops")
            builtin = update_ops is None or holds_updates(update_ops)
            run.train_ops.append(TrainOp(loc, frame.module.loc(stmt) if stmt else loc, run.next_order(),
                                         self.current_deps(), wired_builtin=builtin))
            frame.info.applies_gradients = True
            return UNKNOWN
        if canon in apis.PLACEHOLDER_WITH_DEFAULT:
            default = args[0] if args else kwargs.get("input", UNKNOWN)
            if isinstance(default, Const) and default.value is True:
                return FlagTrue(loc)
            return UNKNOWN if isinstance(default, Const) else FlagUnknown(loc)
        if canon in apis.ASSIGN_FUNCTIONS or canon == "tensorflow.assign_sub":
            return self.assign(node, frame, loc, args, "assign_sub" if canon.endswith("_sub") else "assign")
        if canon in apis.SET_LEARNING_PHASE:
            value = args[0] if args else kwargs.get("value", UNKNOWN)
            if isinstance(value, Const) and value.value in (1, True):
                run.learning_phases.append(LearningPhase(loc, run.next_order(), value.loc))
            elif not isinstance(value, Const):
                run.note(loc, "BN002 not judged for this set_learning_phase: its argument is a value bncheck "
                              "cannot tell")
            return UNKNOWN
        if canon in apis.GRAPH_EXPORTS or canon in apis.TF2_EXPORTS:
            run.exports.append(Export(loc, run.next_order(), canon.rsplit(".", 1)[-1]))
            return UNKNOWN
        if canon in apis.TF_FUNCTION:
            return args[0] if args and isinstance(args[0], FuncRef) else UNKNOWN
        if canon.startswith("tensorflow.train.") and canon.endswith("Optimizer"):
            return Optimizer("tf1")
        if canon.startswith("keras.optimizers."):
            return Optimizer("keras")
        if canon in ("range", "builtins.range"):
            return literal_range(args)
        if canon in ("str", "builtins.str") and args and isinstance(args[0], Const):
            return Const(str(args[0].value))
        tensors = [a for a in args + list(kwargs.values()) if isinstance(a, TensorVal)]
        return merge_tensors(tensors) if tensors else UNKNOWN

    # ---- batch norm ----------------------------------------------------------------------
    def scoped(self, name: Optional[str]) -> str:
        parts = [s if s is not None else "?" for s in self.scopes]
        return "/".join(parts + [name or "?"])

    def bn_function(self, canon: str, node: ast.Call, frame: Frame, args: list[Value], kwargs: dict[str, Value],
                    loc: Loc) -> Value:
        api, training_kw, training_default, momentum_kw, momentum_default, name_kw = apis.BN_FUNCTIONS[canon]
        merged = dict(self.arg_scope_kwargs(canon)) if api == "slim" else {}
        for key, pos in apis.BN_POSITIONAL[canon].items():
            if pos < len(args):
                merged[key] = args[pos]
        merged.update(kwargs)
        name = const_str(merged.get(name_kw))
        layer = self.scoped(name if name else ("BatchNorm" if api == "slim" else f"batch_normalization@{loc.line}"))
        inp = tensors_in(args[0] if args else merged.get("inputs", UNKNOWN))
        return self.bn_build(api, layer, loc, node, frame, merged, training_kw, training_default, momentum_kw,
                             momentum_default, inp)

    def bn_build(self, api: str, layer: str, loc: Loc, node: Optional[ast.Call], frame: Frame,
                 params: dict[str, Value], training_kw: str, training_default: bool, momentum_kw: str,
                 momentum_default: float, inputs: list[TensorVal]) -> TensorVal:
        run = self.run
        momentum = params.get(momentum_kw, Const(momentum_default))
        run.constructs.append(BnConstruct(api, layer, loc, momentum, momentum_kw))
        training = params.get(training_kw, Const(training_default))
        in_place: Optional[bool] = False
        if api == "slim":
            uc = params.get("updates_collections", Const("update_ops") if not self._unknown_arg_scope() else UNKNOWN)
            in_place = True if isinstance(uc, Const) and uc.value is None else (
                False if isinstance(uc, Const) or is_update_ops_key(uc) else None)
        training_loc = None
        if node is not None:
            for kw in node.keywords:
                if kw.arg == training_kw:
                    training_loc = frame.module.loc(kw.value)
        if isinstance(training, Const) and training.loc is not None and training_loc is None:
            training_loc = training.loc
        run.builds.append(BnBuild(api, layer, loc, run.next_order(), training, in_place, training_loc))
        if isinstance(training, FlagTrue):
            run.flag_uses.append(FlagUse(training.loc, layer, loc))
        elif isinstance(training, FlagUnknown):
            run.note(training.loc, f"BN004 not judged for {layer}: the default of this placeholder_with_default "
                                   "is a value bncheck cannot tell")
        base = single_input(inputs)
        if base.producer is not None and base.producer.kind in ADJACENT_KINDS:
            run.adjacent.append(Adjacent(layer, loc, base.producer))
        fixed = base.fixed_training
        if isinstance(training, Const) and training.value is True and training_loc is not None:
            fixed = fixed + ((layer, training_loc),)
        return TensorVal(LayerObj("bn", api, layer, loc), base.bn_layers + (layer,), fixed)

    def _unknown_arg_scope(self) -> bool:
        return any(not ops for a in self.arg_scopes for ops, _ in a.entries)

    def arg_scope_kwargs(self, canon: str) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for scope in self.arg_scopes:
            for ops, kwargs in scope.entries:
                if canon in ops:
                    out.update(kwargs)
        return out

    def arg_scope(self, args: list[Value], kwargs: dict[str, Value]) -> Value:
        first = args[0] if args else kwargs.get("list_ops_or_scope", UNKNOWN)
        if isinstance(first, ArgScopeVal):
            return ContextVal("arg_scope", first)
        ops: set[str] = set()
        if isinstance(first, ListVal):
            for item in first.items:
                if isinstance(item, Alias):
                    ops.add(canonical(item.qual))
                elif isinstance(item, FuncRef):
                    ops.add(item.func.name)
        return ContextVal("arg_scope", ArgScopeVal(((frozenset(ops), kwargs),)))

    def slim_layer(self, canon: str, node: ast.Call, frame: Frame, args: list[Value], kwargs: dict[str, Value],
                   loc: Loc) -> Value:
        params = dict(self.arg_scope_kwargs(canon))
        params.update(kwargs)
        norm = params.get("normalizer_fn")
        inputs = tensors_in(args[0] if args else params.get("inputs", UNKNOWN))
        if isinstance(norm, Alias) and canonical(norm.qual) == "slim.batch_norm":
            scope = const_str(params.get("scope"))
            layer = self.scoped(f"{scope or apis.SLIM_LAYERS[canon]}/BatchNorm")
            bn_params = dict(self.arg_scope_kwargs("slim.batch_norm"))
            np_ = params.get("normalizer_params")
            if isinstance(np_, DictVal):
                bn_params.update(np_.items)
            elif np_ is not None and not (isinstance(np_, Const) and np_.value is None):
                bn_params = {"is_training": UNKNOWN, "updates_collections": UNKNOWN, "decay": UNKNOWN}
            return self.bn_build("slim", layer, loc, None, frame, bn_params, "is_training", True, "decay", 0.999,
                                 [])
        base = merge_tensors(inputs) if inputs else TensorVal()
        return TensorVal(None, base.bn_layers, base.fixed_training)

    def sequential(self, args: list[Value], kwargs: dict[str, Value], loc: Loc) -> ModelObj:
        layers = args[0] if args else kwargs.get("layers", UNKNOWN)
        name = const_str(kwargs.get("name"))
        bn: list[str] = []
        prev: Optional[Value] = None
        if isinstance(layers, ListVal):
            for item in layers.items:
                if isinstance(item, LayerObj) and item.kind == "bn":
                    layer_name = item.name or f"BatchNormalization@{item.loc.line}"
                    bn.append(layer_name)
                    if isinstance(prev, LayerObj) and prev.kind in ADJACENT_KINDS:
                        self.run.adjacent.append(Adjacent(layer_name, item.loc, prev))
                elif isinstance(item, ModelObj):
                    bn.extend(item.bn_layers)
                prev = item
        return ModelObj(tuple(bn), name, loc)

    def call_layer(self, callee: LayerObj | ModelObj, node: ast.Call, frame: Frame, args: list[Value],
                   kwargs: dict[str, Value], loc: Loc) -> Value:
        inputs = tensors_in(args[0] if args else kwargs.get("inputs", UNKNOWN))
        base = single_input(inputs)
        training = kwargs.get("training") if "training" in kwargs else (args[1] if len(args) > 1 else None)
        training_loc = None
        for kw in node.keywords:
            if kw.arg == "training":
                training_loc = frame.module.loc(kw.value)
        if isinstance(callee, LayerObj):
            if callee.kind != "bn":
                return TensorVal(callee, base.bn_layers, base.fixed_training)
            name = callee.name or f"BatchNormalization@{callee.loc.line}"
            api = "keras-graph" if self.run.graph_mode and callee.api == "keras" else callee.api
            self.run.builds.append(BnBuild(api, name, loc, self.run.next_order(),
                                           training if training is not None else UNKNOWN, False, training_loc))
            if isinstance(training, FlagTrue):
                self.run.flag_uses.append(FlagUse(training.loc, name, loc))
            elif isinstance(training, FlagUnknown):
                self.run.note(training.loc, f"BN004 not judged for {name}: the default of this "
                                            "placeholder_with_default is a value bncheck cannot tell")
            if base.producer is not None and base.producer.kind in ADJACENT_KINDS:
                self.run.adjacent.append(Adjacent(name, loc, base.producer))
            self.record_keras_call(node, frame, loc, (name,), training, training_loc)
            fixed = base.fixed_training
            if isinstance(training, Const) and training.value is True and training_loc is not None:
                fixed = fixed + ((name, training_loc),)
            return TensorVal(callee, base.bn_layers + (name,), fixed)
        # a model
        if callee.bn_layers:
            self.record_keras_call(node, frame, loc, callee.bn_layers, training, training_loc)
            if self.run.graph_mode:
                prefix = f"{callee.name}/" if callee.name else ""
                for bn in callee.bn_layers:
                    self.run.builds.append(BnBuild("keras-graph", prefix + bn, loc, self.run.next_order(),
                                                   training if training is not None else UNKNOWN, False,
                                                   training_loc))
        fixed = base.fixed_training
        if callee.bn_layers and isinstance(training, Const) and training.value is True and training_loc is not None:
            fixed = fixed + tuple((b, training_loc) for b in callee.bn_layers)
        return TensorVal(None, base.bn_layers + tuple(callee.bn_layers), fixed)

    def record_keras_call(self, node: ast.Call, frame: Frame, loc: Loc, bn_layers: tuple[str, ...],
                          training: Optional[Value], training_loc: Optional[Loc], known: bool = True) -> None:
        callee_text = segment(frame.module, node.func) or "model"
        end = Loc(loc.path, loc.end_line, loc.end_col - 1, loc.end_line, loc.end_col - 1)
        info = frame.info
        if self.tape and info.kind not in ("train_step", "serving", "model_call"):
            info = FrameInfo(info.name, info.kind, in_tape=True)
            info.applies_gradients = False
            self.tape_frames.append((info, frame.info))
        self.run.keras_calls.append(KerasCall(loc, callee_text, bn_layers, training, training_loc, info, end, known,
                                              _training_is_param(node, frame)))

    def record_unknown_call(self, node: ast.Call, frame: Frame, args: list[Value], kwargs: dict[str, Value]) -> None:
        """A call of something bncheck cannot follow, in a train step, a tape, a serving function or a
        model's ``call``: rules that would judge a model there say why they cannot."""
        if not (self.tape or frame.info.kind in ("train_step", "serving", "model_call")):
            return
        training = kwargs.get("training") if "training" in kwargs else None
        training_loc = next((frame.module.loc(kw.value) for kw in node.keywords if kw.arg == "training"), None)
        self.record_keras_call(node, frame, frame.module.loc(node), (), training, training_loc, known=False)

    def finish(self) -> None:
        """Tape frames learn whether their enclosing function applied gradients."""
        for tape_info, outer in self.tape_frames:
            tape_info.applies_gradients = outer.applies_gradients
            tape_info.trained = outer.trained

    # ---- train ops and hand-written updates ------------------------------------------------
    def current_deps(self) -> tuple[Value, ...]:
        out: list[Value] = []
        for ctx in self.deps:
            if isinstance(ctx.arg, ListVal):
                out.extend(ctx.arg.items)
            else:
                out.append(ctx.arg)
        return tuple(out)

    def train_op(self, node: ast.Call, frame: Frame, loc: Loc, stmt: Optional[ast.stmt]) -> Value:
        for a in node.args:
            self.expr(a, frame)
        for kw in node.keywords:
            self.expr(kw.value, frame)
        stmt_loc = frame.module.loc(stmt) if stmt is not None else loc
        locs = tuple(l for ctx in self.deps for l in ctx.locs)
        receiver = self.expr(node.func.value, frame) if isinstance(node.func, ast.Attribute) else UNKNOWN
        graph_optimizer = (isinstance(node.func, ast.Attribute) and node.func.attr == "minimize") or (
            isinstance(receiver, Optimizer) and receiver.kind == "tf1")
        self.run.train_ops.append(TrainOp(loc, stmt_loc, self.run.next_order(), self.current_deps(), deps_locs=locs,
                                          graph_optimizer=graph_optimizer))
        frame.info.applies_gradients = True
        return UNKNOWN

    def assign(self, node: ast.Call, frame: Frame, loc: Loc, args: list[Value], method: str) -> Value:
        value_node = None
        if isinstance(node.func, ast.Attribute) and method in ("assign", "assign_sub") and not isinstance(
                self.expr(node.func.value, frame), Alias):
            value_node = node.args[0] if node.args else None
        elif len(node.args) >= 2:
            value_node = node.args[1]
        if value_node is None:
            return UNKNOWN
        decay_node = ema_decay(value_node, method)
        if decay_node is None or not batch_norm_nearby(frame):
            return UNKNOWN
        decay = self.expr(decay_node, frame)
        if isinstance(decay, Const) and decay.loc is None:
            decay = Const(decay.value, frame.module.loc(decay_node))
        layer = "/".join(s if s is not None else "?" for s in self.scopes) if self.scopes else (
            f"{frame.func.name if frame.func else frame.module.modname}@{loc.line}")
        update = HandUpdate(layer, loc, self.run.next_order(), decay)
        self.run.hand_updates.append(update)
        return UpdateOp(update)


def _training_is_param(node: ast.Call, frame: Frame) -> bool:
    """``training=training``: the enclosing function passes its own parameter through."""
    value = next((kw.value for kw in node.keywords if kw.arg == "training"), None)
    if not isinstance(value, ast.Name) or frame.func is None:
        return False
    params = getattr(frame.func.node, "args", None)
    if params is None:
        return False
    names = [a.arg for a in list(params.posonlyargs) + list(params.args) + list(params.kwonlyargs)]
    return value.id in names


def segment(module: ModuleInfo, node: ast.AST) -> str:
    """The source text of a one-line node (the callee of a call), without re-splitting the file."""
    loc = module.loc(node)
    if loc.line != loc.end_line or not 0 < loc.line <= len(module.lines):
        return ""
    return module.lines[loc.line - 1][loc.col - 1:loc.end_col - 1]


def batch_norm_nearby(frame: Frame) -> bool:
    """A moving-average assignment counts as a batch norm's only where batch statistics are computed
    (``tf.nn.moments``) or used (``batch_normalization``) in the same function (or module body)."""
    module = frame.module
    if frame.func is not None and hasattr(frame.func.node, "end_lineno"):
        node = frame.func.node
        text = "\n".join(module.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]
    else:
        text = module.text
    return "moments" in text or "batch_normalization" in text or "batch_norm" in text
