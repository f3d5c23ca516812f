"""Abstract execution of the scanned files: statements in order, calls into them followed.

Graph contexts (``control_dependencies``, ``variable_scope``, ``arg_scope``, ``GradientTape``) are
dynamic, like TensorFlow's: a helper called inside ``with tf.control_dependencies(update_ops)``
builds its train op under them. ``if`` branches whose test is unknown are both walked; loops over
short literal sequences (``for i in (1, 2)``, ``range(3)``) are unrolled so ``name=f"bn{i}"``
resolves, other loops are walked once.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Optional

from bncheck.source import apis
from bncheck.source.apis import canonical
from bncheck.source.loader import ClassInfo, FunctionInfo, ModuleInfo, bind_import
from bncheck.source.model import (
    UNKNOWN, Adjacent, Alias, BnBuild, BnConstruct, ClassRef, CollectionVal, Const, DictVal, Export, FlagTrue,
    FlagUse, FrameInfo, FuncRef, FunctionalModel, HandUpdate, KerasCall, LayerObj, LearningPhase, ListVal, Loc,
    ModelObj, ModelUpdates, Optimizer, Run, TensorVal, TrainOp, UpdateOp, UpdateOps, Value,
)

MAX_DEPTH = 12
MAX_STEPS = 200_000
MAX_UNROLL = 16


class Budget(Exception):
    """The walk took too long: the run is marked incomplete."""


@dataclass(frozen=True, eq=False)
class ArgScopeVal(Value):
    entries: tuple[tuple[frozenset[str], dict[str, Value]], ...]  # (canonical ops, kwargs); ops empty: unknown


@dataclass(frozen=True, eq=False)
class ContextVal(Value):
    """A ``with`` context the walker knows: control_dependencies, variable_scope, arg_scope, tape."""

    kind: str
    arg: Value = UNKNOWN
    locs: tuple[Loc, ...] = ()


class Frame:
    def __init__(self, module: ModuleInfo, env: dict[str, Value], parent: Optional["Frame"], info: FrameInfo,
                 func: Optional[FunctionInfo] = None) -> None:
        self.module = module
        self.env = env
        self.parent = parent  # enclosing function scope (closures), not the caller
        self.info = info
        self.func = func
        self.returns: list[Value] = []

    def lookup(self, name: str) -> Optional[Value]:
        frame: Optional[Frame] = self
        while frame is not None:
            if name in frame.env:
                return frame.env[name]
            frame = frame.parent
        return self.module.globals.get(name)


class Project:
    """All scanned modules, and how an import names one of them."""

    def __init__(self, modules: Iterable[ModuleInfo]) -> None:
        self.modules = list(modules)
        self._by_name: dict[str, Optional[ModuleInfo]] = {}
        for m in self.modules:
            parts = m.modname.split(".")
            for i in range(len(parts)):
                key = ".".join(parts[i:])
                if key in self._by_name and self._by_name[key] is not m:
                    self._by_name[key] = None if i else self._by_name.get(key) or m  # ambiguous suffix
                    if i == 0:
                        self._by_name[key] = m
                else:
                    self._by_name[key] = m
        self.serving: dict[ModuleInfo, set[str]] = {m: _serving_names(m) for m in self.modules}
        self.frozen = any("trainable = False" in m.text or "trainable=False" in m.text for m in self.modules)

    def resolve(self, qual: str) -> Optional[Value]:
        """A FuncRef/ClassRef/global for ``pkg.utils.helper`` when that module was scanned."""
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = self._by_name.get(".".join(parts[:i]))
            if module is None:
                continue
            value = module.globals.get(parts[i])
            for attr in parts[i + 1:]:
                if isinstance(value, ClassRef) and attr in value.cls.methods:
                    value = FuncRef(value.cls.methods[attr])
                else:
                    return None
            return value
        return None


def _serving_names(module: ModuleInfo) -> set[str]:
    """Names of functions passed as SavedModel signatures in this module."""
    names: set[str] = set()
    if "signatures" not in module.text:
        return names

    def add(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            if node.attr == "get_concrete_function":
                add(node.value)
            else:
                names.add(node.attr)
        elif isinstance(node, ast.Call):
            add(node.func)
        elif isinstance(node, ast.Dict):
            for v in node.values:
                add(v)

    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "signatures":
                    add(kw.value)
    return names


def _decorated_tf_function(func: FunctionInfo) -> bool:
    node = func.node
    for dec in getattr(node, "decorator_list", ()):
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute) and target.attr == "function":
            return True
        if isinstance(target, ast.Name) and target.id == "function":
            return True
    return False


def _is_keras_class(project: Project, cls: ClassInfo, seen: Optional[set[int]] = None) -> bool:
    seen = seen or set()
    if id(cls) in seen:
        return False
    seen.add(id(cls))
    for base in cls.bases:
        qual = _static_qual(cls.module, base)
        if qual is None:
            continue
        canon = canonical(qual)
        if canon.startswith("keras.") and canon.rsplit(".", 1)[-1] in ("Model", "Layer", "Sequential"):
            return True
        target = cls.module.globals.get(qual) if "." not in qual else project.resolve(qual)
        if target is None and "." not in qual:
            continue
        if isinstance(target, ClassRef) and _is_keras_class(project, target.cls, seen):
            return True
        if isinstance(target, Alias):
            resolved = project.resolve(target.qual)
            if isinstance(resolved, ClassRef) and _is_keras_class(project, resolved.cls, seen):
                return True
    return False


def _static_qual(module: ModuleInfo, node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Name):
        value = module.globals.get(node.id)
        if isinstance(value, Alias):
            return value.qual
        return node.id
    if isinstance(node, ast.Attribute):
        base = _static_qual(module, node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class Walker:
    """Walks one root (a module body or an uncalled function) into a :class:`Run`."""

    def __init__(self, project: Project, run: Run) -> None:
        self.project = project
        self.run = run
        self.deps: list[ContextVal] = []
        self.scopes: list[Optional[str]] = []
        self.arg_scopes: list[ArgScopeVal] = []
        self.tape = 0
        self.stack: list[int] = []
        self.steps = 0
        self.walked: set[int] = set()  # ids of function nodes walked (inlined or as roots)
        self.pending: list[tuple[FunctionInfo, Frame]] = []  # nested defs never called
        self.tape_frames: list[tuple[FrameInfo, FrameInfo]] = []  # (frame of a tape block, its function's)

    # ---- roots -------------------------------------------------------------------------
    def walk_module(self, module: ModuleInfo) -> None:
        frame = Frame(module, module.globals, None, FrameInfo(module.modname, "module"))
        self._guarded(lambda: self.body(module.tree.body, frame))
        self._drain()

    def walk_root(self, func: FunctionInfo, closure: Optional[Frame] = None) -> None:
        self._guarded(lambda: self.call_function(func, [], {}, None, closure=closure, as_root=True))
        self._drain()

    def _drain(self) -> None:
        while self.pending:
            func, closure = self.pending.pop(0)
            if id(func.node) not in self.walked:
                self._guarded(lambda: self.call_function(func, [], {}, None, closure=closure, as_root=True))

    def _guarded(self, action) -> None:  # type: ignore[no-untyped-def]
        try:
            action()
        except (Budget, RecursionError):
            self.run.incomplete = True

    def frame_kind(self, func: FunctionInfo) -> Optional[str]:
        if func.cls is not None and _is_keras_class(self.project, func.cls):
            if func.name == "call":
                return "model_call"
            if func.name == "train_step":
                return "train_step"
        serving = self.project.serving.get(func.module, set())
        if func.name in serving or (func.name in apis.SERVING_NAMES and _decorated_tf_function(func)):
            return "serving"
        return None

    # ---- functions ---------------------------------------------------------------------
    def call_function(self, func: FunctionInfo, args: list[Value], kwargs: dict[str, Value],
                      caller: Optional[Frame], closure: Optional[Frame] = None, self_obj: Optional[Value] = None,
                      as_root: bool = False) -> Value:
        key = id(func.node)
        if key in self.stack or len(self.stack) >= MAX_DEPTH:
            return UNKNOWN
        self.walked.add(key)
        kind = self.frame_kind(func)
        if kind is not None:
            info = FrameInfo(func.qualname, kind)
        elif caller is not None:
            info = caller.info
        else:
            info = FrameInfo(func.qualname, "function")
        env: dict[str, Value] = {}
        node = func.node
        params = node.args  # type: ignore[attr-defined]
        positional = list(params.posonlyargs) + list(params.args)
        defaults = list(params.defaults)
        default_of = {p.arg: d for p, d in zip(positional[len(positional) - len(defaults):], defaults)}
        default_of.update({p.arg: d for p, d in zip(params.kwonlyargs, params.kw_defaults) if d is not None})
        if func.cls is not None and positional and not _is_static(func):
            env[positional[0].arg] = self_obj if self_obj is not None else self.instance_for(func.cls)
            positional = positional[1:]
        def_frame = Frame(func.module, {}, closure, info, func)
        for i, p in enumerate(positional):
            if i < len(args):
                env[p.arg] = args[i]
            elif p.arg in kwargs:
                env[p.arg] = kwargs[p.arg]
            elif p.arg in default_of:
                env[p.arg] = self.expr(default_of[p.arg], def_frame)
            else:
                env[p.arg] = UNKNOWN
        for p in params.kwonlyargs:
            if p.arg in kwargs:
                env[p.arg] = kwargs[p.arg]
            elif p.arg in default_of:
                env[p.arg] = self.expr(default_of[p.arg], def_frame)
            else:
                env[p.arg] = UNKNOWN
        if params.vararg:
            env[params.vararg.arg] = UNKNOWN
        if params.kwarg:
            env[params.kwarg.arg] = UNKNOWN
        frame = Frame(func.module, env, closure, info, func)
        self.stack.append(key)
        saved_tape = self.tape
        try:
            if isinstance(node, ast.Lambda):
                return self.expr(node.body, frame)
            self.body(node.body, frame)  # type: ignore[attr-defined]
        finally:
            self.stack.pop()
            self.tape = saved_tape
        returns = frame.returns
        if len(returns) == 1:
            return returns[0]
        if returns and all(isinstance(r, TensorVal) for r in returns):
            return _merge_tensors(returns)  # type: ignore[arg-type]
        return UNKNOWN

    def instance_for(self, cls: ClassInfo, args: Iterable[Value] = (), kwargs: Optional[dict[str, Value]] = None,
                     loc: Optional[Loc] = None, caller: Optional[Frame] = None) -> ModelObj:
        name = (kwargs or {}).get("name")
        obj = ModelObj((), name.value if isinstance(name, Const) and isinstance(name.value, str) else None, loc, cls)
        init = cls.methods.get("__init__")
        if init is not None and id(init.node) not in self.stack:
            self.call_function(init, list(args), dict(kwargs or {}), caller, self_obj=obj)
        obj.bn_layers = _bn_of_attrs(obj.attrs)
        return obj

    # ---- statements --------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt], frame: Frame) -> None:
        for stmt in stmts:
            self.stmt(stmt, frame)

    def stmt(self, stmt: ast.stmt, frame: Frame) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bind_import(frame.module, stmt, frame.env)
        elif isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value, frame, stmt=stmt)
            for target in stmt.targets:
                self.bind(target, value, frame)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.bind(stmt.target, self.expr(stmt.value, frame, stmt=stmt), frame)
        elif isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, frame)
            if isinstance(stmt.target, ast.Name):
                frame.env[stmt.target.id] = UNKNOWN
        elif isinstance(stmt, ast.Expr):
            self.expr(stmt.value, frame, stmt=stmt)
        elif isinstance(stmt, ast.Return):
            frame.returns.append(self.expr(stmt.value, frame, stmt=stmt) if stmt.value is not None else Const(None))
        elif isinstance(stmt, ast.If):
            self.if_stmt(stmt, frame)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.for_stmt(stmt, frame)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.test, frame)
            self.body(stmt.body, frame)
            self.body(stmt.orelse, frame)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.with_stmt(stmt, frame)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.body(stmt.body, frame)  # type: ignore[attr-defined]
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                self.body(handler.body, frame)
            self.body(stmt.orelse, frame)  # type: ignore[attr-defined]
            self.body(stmt.finalbody, frame)  # type: ignore[attr-defined]
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if frame.func is None and frame.env is frame.module.globals:
                return  # module-level: collected by the loader, walked when called or as a root
            info = FunctionInfo(stmt.name, stmt, frame.module)
            frame.env[stmt.name] = FuncRef(info)
            self.pending.append((info, frame))
        elif isinstance(stmt, ast.ClassDef):
            return
        elif type(stmt).__name__ == "Match":
            for case in stmt.cases:  # type: ignore[attr-defined]
                self.body(case.body, frame)

    def bind(self, target: ast.expr, value: Value, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, ListVal) and len(value.items) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                self.bind(elt, items[i] if items else (value if isinstance(value, TensorVal) else UNKNOWN), frame)
        elif isinstance(target, ast.Attribute):
            owner = self.expr(target.value, frame)
            if isinstance(owner, ModelObj):
                owner.attrs[target.attr] = value
                if value is not owner:
                    owner.bn_layers = _bn_of_attrs(owner.attrs)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, UNKNOWN, frame)

    def if_stmt(self, stmt: ast.If, frame: Frame) -> None:
        test = self.expr(stmt.test, frame)
        if isinstance(test, Const) and not isinstance(test.value, str) or (
                isinstance(test, Const) and test.value in ("", )):
            self.body(stmt.body if test.value else stmt.orelse, frame)
            return
        self.body(stmt.body, frame)
        self.body(stmt.orelse, frame)

    def for_stmt(self, stmt: ast.For | ast.AsyncFor, frame: Frame) -> None:
        it = self.expr(stmt.iter, frame)
        items: Optional[tuple[Value, ...]] = None
        if isinstance(it, ListVal) and 0 < len(it.items) <= MAX_UNROLL:
            items = it.items
        if items is None:
            self.bind(stmt.target, UNKNOWN, frame)
            self.body(stmt.body, frame)
        else:
            for item in items:
                self.bind(stmt.target, item, frame)
                self.body(stmt.body, frame)
        self.body(stmt.orelse, frame)

    def with_stmt(self, stmt: ast.With | ast.AsyncWith, frame: Frame) -> None:
        pushed: list[str] = []
        for item in stmt.items:
            value = self.expr(item.context_expr, frame)
            if isinstance(value, ContextVal):
                if value.kind == "deps":
                    self.deps.append(value)
                elif value.kind == "scope":
                    self.scopes.append(value.arg.value if isinstance(value.arg, Const) else None)
                elif value.kind == "arg_scope":
                    self.arg_scopes.append(value.arg)  # type: ignore[arg-type]
                elif value.kind == "tape":
                    self.tape += 1
                pushed.append(value.kind)
                if item.optional_vars is not None:
                    bound = value.arg if value.kind == "arg_scope" else UNKNOWN
                    if value.kind == "arg_scope":
                        bound = ArgScopeVal(tuple(e for a in self.arg_scopes for e in a.entries))
                    self.bind(item.optional_vars, bound, frame)
            elif item.optional_vars is not None:
                self.bind(item.optional_vars, UNKNOWN, frame)
        try:
            self.body(stmt.body, frame)
        finally:
            for kind in reversed(pushed):
                if kind == "deps":
                    self.deps.pop()
                elif kind == "scope":
                    self.scopes.pop()
                elif kind == "arg_scope":
                    self.arg_scopes.pop()
                elif kind == "tape":
                    self.tape -= 1

    # ---- expressions -------------------------------------------------------------------
    def expr(self, node: Optional[ast.expr], frame: Frame, stmt: Optional[ast.stmt] = None) -> Value:
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return Const(node.value, frame.module.loc(node))
        if isinstance(node, ast.Name):
            value = frame.lookup(node.id)
            if isinstance(value, UpdateOp):
                value.update.uses.append("escaped")
            return value if value is not None else UNKNOWN
        if isinstance(node, ast.Attribute):
            return self.attribute(node, frame)
        if isinstance(node, ast.Call):
            return self.call(node, frame, stmt)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return ListVal(tuple(self.expr(e.value if isinstance(e, ast.Starred) else e, frame) for e in node.elts))
        if isinstance(node, ast.Dict):
            items: dict[str, Value] = {}
            for k, v in zip(node.keys, node.values):
                value = self.expr(v, frame)
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    items[k.value] = value
                elif k is None and isinstance(value, DictVal):
                    items.update(value.items)
                else:
                    return UNKNOWN
            return DictVal(items)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v, ast.FormattedValue):
                    inner = self.expr(v.value, frame)
                    if not isinstance(inner, Const) or v.format_spec is not None:
                        return UNKNOWN
                    parts.append(str(inner.value))
            return Const("".join(parts), frame.module.loc(node))
        if isinstance(node, ast.UnaryOp):
            operand = self.expr(node.operand, frame)
            if isinstance(operand, Const) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                if isinstance(node.op, ast.USub):
                    return Const(-operand.value, frame.module.loc(node))
                if isinstance(node.op, ast.UAdd):
                    return Const(operand.value, frame.module.loc(node))
            if isinstance(node.op, ast.Not) and isinstance(operand, Const):
                return Const(not operand.value, frame.module.loc(node))
            return UNKNOWN
        if isinstance(node, ast.BinOp):
            return self.binop(node, frame)
        if isinstance(node, ast.Compare):
            self.expr(node.left, frame)
            for c in node.comparators:
                self.expr(c, frame)
            if _is_main_guard(node):
                return Const(True)
            return UNKNOWN
        if isinstance(node, ast.BoolOp):
            values = [self.expr(v, frame) for v in node.values]
            if all(isinstance(v, Const) for v in values):
                result = values[0].value  # type: ignore[attr-defined]
                for v in values[1:]:
                    result = (result and v.value) if isinstance(node.op, ast.And) else (result or v.value)  # type: ignore[attr-defined]
                return Const(result)
            return UNKNOWN
        if isinstance(node, ast.IfExp):
            test = self.expr(node.test, frame)
            if isinstance(test, Const):
                return self.expr(node.body if test.value else node.orelse, frame)
            self.expr(node.body, frame)
            self.expr(node.orelse, frame)
            return UNKNOWN
        if isinstance(node, ast.Lambda):
            return FuncRef(FunctionInfo("<lambda>", node, frame.module))
        if isinstance(node, ast.Starred):
            return self.expr(node.value, frame)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            for gen in node.generators:
                self.expr(gen.iter, frame)
            return UNKNOWN
        if isinstance(node, ast.Subscript):
            base = self.expr(node.value, frame)
            if isinstance(base, TensorVal):
                return base
            if isinstance(base, (UpdateOps, ModelUpdates)):
                return base
            return UNKNOWN
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, frame)
            self.bind(node.target, value, frame)
            return value
        if isinstance(node, ast.Await):
            return self.expr(node.value, frame)
        return UNKNOWN

    def attribute(self, node: ast.Attribute, frame: Frame) -> Value:
        if node.attr in ("trainable_variables", "trainable_weights"):
            frame.info.trained.add(_segment(frame.module, node.value))
        base = self.expr(node.value, frame)
        if isinstance(base, Alias):
            return Alias(f"{base.qual}.{node.attr}")
        if isinstance(base, ModelObj):
            if node.attr in base.attrs:
                return base.attrs[node.attr]
            if node.attr == "updates":
                return ModelUpdates(self.run.next_order())
            if base.cls is not None and node.attr in base.cls.methods:
                return _Bound(base.cls.methods[node.attr], base)
            return UNKNOWN
        if isinstance(base, ClassRef) and node.attr in base.cls.methods:
            return FuncRef(base.cls.methods[node.attr])
        if node.attr == "updates" and base is UNKNOWN:
            return ModelUpdates(self.run.next_order())
        return UNKNOWN

    def binop(self, node: ast.BinOp, frame: Frame) -> Value:
        left, right = self.expr(node.left, frame), self.expr(node.right, frame)
        if isinstance(left, Const) and isinstance(right, Const):
            try:
                if isinstance(node.op, ast.Add):
                    return Const(left.value + right.value)
                if isinstance(node.op, ast.Sub):
                    return Const(left.value - right.value)
                if isinstance(node.op, ast.Mult):
                    return Const(left.value * right.value)
                if isinstance(node.op, ast.Div):
                    return Const(left.value / right.value)
                if isinstance(node.op, ast.Mod) and isinstance(left.value, str):
                    return Const(left.value % right.value)
            except Exception:  # noqa: BLE001 - folding a user's constant must never fail the check
                return UNKNOWN
        if isinstance(left, ListVal) and isinstance(right, ListVal) and isinstance(node.op, ast.Add):
            return ListVal(left.items + right.items)
        tensors = [v for v in (left, right) if isinstance(v, TensorVal)]
        if tensors:
            return _merge_tensors(tensors)
        return UNKNOWN

    # ---- calls -------------------------------------------------------------------------
    def call(self, node: ast.Call, frame: Frame, stmt: Optional[ast.stmt]) -> Value:
        loc = frame.module.loc(node)
        func_node = node.func
        receiver: Value = UNKNOWN
        method: Optional[str] = None
        if isinstance(func_node, ast.Attribute):
            receiver = self.expr(func_node.value, frame)
            method = func_node.attr
            if isinstance(receiver, Alias):
                callee: Value = Alias(f"{receiver.qual}.{method}")
            elif isinstance(receiver, ModelObj) and method in receiver.attrs:
                callee = receiver.attrs[method]
            elif isinstance(receiver, ModelObj) and receiver.cls is not None and method in receiver.cls.methods:
                callee = _Bound(receiver.cls.methods[method], receiver)
            elif isinstance(receiver, ClassRef) and method in receiver.cls.methods:
                callee = FuncRef(receiver.cls.methods[method])
            else:
                callee = UNKNOWN
        else:
            callee = self.expr(func_node, frame)
        special = self.special_call(node, frame, callee, receiver, method, loc, stmt)
        if special is not None:
            return special
        args = [self.expr(a, frame) for a in node.args]
        kwargs: dict[str, Value] = {}
        for kw in node.keywords:
            value = self.expr(kw.value, frame)
            if kw.arg is None:
                if isinstance(value, DictVal):
                    kwargs.update(value.items)
            else:
                kwargs[kw.arg] = value
        if isinstance(callee, Alias):
            resolved = self.project.resolve(callee.qual)
            if resolved is not None:
                callee = resolved
            else:
                return self.library_call(canonical(callee.qual), node, frame, args, kwargs, loc, stmt)
        if isinstance(callee, FuncRef):
            closure = frame if callee.func.module is frame.module and callee.func.name == "<lambda>" else None
            return self.call_function(callee.func, args, kwargs, frame, closure=closure)
        if isinstance(callee, _Bound):
            return self.call_function(callee.func, args, kwargs, frame, self_obj=callee.obj)
        if isinstance(callee, ClassRef):
            if _is_keras_class(self.project, callee.cls):
                return self.instance_for(callee.cls, args, kwargs, loc, frame)
            obj = ModelObj((), None, loc, callee.cls)
            init = callee.cls.methods.get("__init__")
            if init is not None:
                self.call_function(init, args, kwargs, frame, self_obj=obj)
            return obj
        if isinstance(callee, (LayerObj, ModelObj)):
            return self.call_layer(callee, node, frame, args, kwargs, loc)
        if method in apis.TRAIN_METHODS:
            return self.train_op(node, frame, loc, stmt)
        if method in apis.MODEL_EXPORT_METHODS and isinstance(receiver, ModelObj):
            self.run.exports.append(Export(loc, self.run.next_order(), method))
        if method == "add_meta_graph_and_variables":
            self.run.exports.append(Export(loc, self.run.next_order(), method))
        if method in ("assign", "assign_sub"):
            return self.assign(node, frame, loc, [receiver] + args, method)
        if method == "control_dependencies":
            return self.control_dependencies(node, frame, args)
        tensors = [a for a in args + list(kwargs.values()) if isinstance(a, TensorVal)]
        return _merge_tensors(tensors) if tensors else UNKNOWN

    def special_call(self, node: ast.Call, frame: Frame, callee: Value, receiver: Value, method: Optional[str],
                     loc: Loc, stmt: Optional[ast.stmt]) -> Optional[Value]:
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
                coll = _collection_name(name)
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
        run = self.run
        if canon in apis.BN_FUNCTIONS:
            return self.bn_function(canon, node, frame, args, kwargs, loc)
        if canon in apis.SLIM_LAYERS:
            return self.slim_layer(canon, node, frame, args, kwargs, loc)
        if canon in apis.BN_CLASSES:
            name = _str(kwargs.get("name"))
            layer = LayerObj("bn", apis.BN_CLASSES[canon], name, loc, kwargs.get("momentum", Const(0.99)))
            run.constructs.append(BnConstruct(layer.api, name or f"BatchNormalization@{loc.line}", loc,
                                              layer.momentum, "momentum"))
            return layer
        if canon in apis.BIAS_LAYER_CLASSES:
            use_bias = kwargs.get("use_bias")
            kind = "bias" if _has_bias(kwargs) else "other"
            return LayerObj(kind, "keras", _str(kwargs.get("name")), loc,
                            bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)
        if canon in apis.DROPOUT_CLASSES:
            return LayerObj("dropout", "keras", _str(kwargs.get("name")), loc)
        if canon.startswith("keras.layers.") and canon[13:14].isupper():
            return LayerObj("other", "keras", _str(kwargs.get("name")), loc)
        if canon in apis.SEQUENTIAL:
            return self.sequential(args, kwargs, loc)
        if canon in apis.FUNCTIONAL:
            outputs = kwargs.get("outputs", args[1] if len(args) > 1 else UNKNOWN)
            tensors = _tensors(outputs)
            fixed = tuple(f for t in tensors for f in t.fixed_training)
            if fixed:
                run.functional_models.append(FunctionalModel(loc, fixed))
            return ModelObj(tuple(dict.fromkeys(b for t in tensors for b in t.bn_layers)), _str(kwargs.get("name")),
                            loc)
        if canon.startswith("keras.applications."):
            app = canon.rsplit(".", 1)[-1]
            if app[:1].isupper() and app not in apis.APPLICATIONS_WITHOUT_BN:
                return ModelObj((f"{app} batch norms",), _str(kwargs.get("name")) or app, loc)
            return UNKNOWN
        if canon in ("keras.Input", "keras.layers.Input"):
            return TensorVal()
        if canon in apis.BIAS_LAYER_FUNCTIONS:
            use_bias = kwargs.get("use_bias")
            inp = _tensors(args[0] if args else kwargs.get("inputs", UNKNOWN))
            base = _merge_tensors(inp) if inp else TensorVal()
            if _has_bias(kwargs):
                producer = LayerObj("bias", "layers", _str(kwargs.get("name")), loc,
                                    bias_loc=use_bias.loc if isinstance(use_bias, Const) else None)
                return TensorVal(producer, base.bn_layers, base.fixed_training)
            return TensorVal(None, base.bn_layers, base.fixed_training)
        if canon in apis.DROPOUT_FUNCTIONS:
            inp = _tensors(args[0] if args else UNKNOWN)
            base = _merge_tensors(inp) if inp else TensorVal()
            return TensorVal(LayerObj("dropout", "layers", None, loc), base.bn_layers, base.fixed_training)
        if canon in apis.GET_COLLECTION:
            key = args[0] if args else kwargs.get("key", UNKNOWN)
            if _is_update_ops_key(key):
                return UpdateOps(run.next_order(), loc)
            name = _collection_name(key)
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
            if any(_holds_updates(a) for a in args + list(kwargs.values())):
                run.groups.append(run.next_order())
            return UNKNOWN
        if canon in apis.WIRED_TRAIN_OPS:
            update_ops = kwargs.get("update_ops")
            builtin = update_ops is None or _holds_updates(update_ops)
            run.train_ops.append(TrainOp(loc, frame.module.loc(stmt) if stmt else loc, run.next_order(),
                                         self.current_deps(), wired_builtin=builtin))
            frame.info.applies_gradients = True
            return UNKNOWN
        if canon in apis.PLACEHOLDER_WITH_DEFAULT:
            default = args[0] if args else kwargs.get("input", UNKNOWN)
            if isinstance(default, Const) and default.value is True:
                return FlagTrue(loc)
            return UNKNOWN
        if canon in apis.ASSIGN_FUNCTIONS or canon == "tensorflow.assign_sub":
            return self.assign(node, frame, loc, args, "assign_sub" if canon.endswith("_sub") else "assign")
        if canon in apis.SET_LEARNING_PHASE:
            value = args[0] if args else UNKNOWN
            if isinstance(value, Const) and value.value in (1, True):
                run.learning_phases.append(LearningPhase(loc, run.next_order(), value.loc))
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
            return _range(args)
        if canon in ("str", "builtins.str") and args and isinstance(args[0], Const):
            return Const(str(args[0].value))
        tensors = [a for a in args + list(kwargs.values()) if isinstance(a, TensorVal)]
        return _merge_tensors(tensors) if tensors else UNKNOWN

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
        name = _str(merged.get(name_kw))
        layer = self.scoped(name if name else ("BatchNorm" if api == "slim" else f"batch_normalization@{loc.line}"))
        inp = _tensors(args[0] if args else merged.get("inputs", UNKNOWN))
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
                False if isinstance(uc, Const) or _is_update_ops_key(uc) else None)
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
        base = _input(inputs)
        if base.producer is not None and base.producer.kind in ("bias", "dropout"):
            run.adjacent.append(Adjacent(layer, loc, base.producer))
        fixed = base.fixed_training
        if isinstance(training, Const) and training.value is True and training_loc is not None:
            fixed = fixed + ((layer, training_loc),)
        return TensorVal(LayerObj("bn", api, layer, loc), tuple(dict.fromkeys(base.bn_layers + (layer,))), fixed)

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
        inputs = _tensors(args[0] if args else params.get("inputs", UNKNOWN))
        if isinstance(norm, Alias) and canonical(norm.qual) == "slim.batch_norm":
            scope = _str(params.get("scope"))
            layer = self.scoped(f"{scope or apis.SLIM_LAYERS[canon]}/BatchNorm")
            bn_params = dict(self.arg_scope_kwargs("slim.batch_norm"))
            np_ = params.get("normalizer_params")
            if isinstance(np_, DictVal):
                bn_params.update(np_.items)
            elif np_ is not None and not (isinstance(np_, Const) and np_.value is None):
                bn_params = {"is_training": UNKNOWN, "updates_collections": UNKNOWN, "decay": UNKNOWN}
            return self.bn_build("slim", layer, loc, None, frame, bn_params, "is_training", True, "decay", 0.999,
                                 [])
        base = _merge_tensors(inputs) if inputs else TensorVal()
        return TensorVal(None, base.bn_layers, base.fixed_training)

    def sequential(self, args: list[Value], kwargs: dict[str, Value], loc: Loc) -> ModelObj:
        layers = args[0] if args else kwargs.get("layers", UNKNOWN)
        name = _str(kwargs.get("name"))
        bn: list[str] = []
        prev: Optional[Value] = None
        if isinstance(layers, ListVal):
            for item in layers.items:
                if isinstance(item, LayerObj) and item.kind == "bn":
                    layer_name = item.name or f"BatchNormalization@{item.loc.line}"
                    bn.append(layer_name)
                    if isinstance(prev, LayerObj) and prev.kind in ("bias", "dropout"):
                        self.run.adjacent.append(Adjacent(layer_name, item.loc, prev))
                elif isinstance(item, ModelObj):
                    bn.extend(item.bn_layers)
                prev = item
        return ModelObj(tuple(bn), name, loc)

    def call_layer(self, callee: LayerObj | ModelObj, node: ast.Call, frame: Frame, args: list[Value],
                   kwargs: dict[str, Value], loc: Loc) -> Value:
        inputs = _tensors(args[0] if args else kwargs.get("inputs", UNKNOWN))
        base = _input(inputs)
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
            if base.producer is not None and base.producer.kind in ("bias", "dropout"):
                self.run.adjacent.append(Adjacent(name, loc, base.producer))
            self.record_keras_call(node, frame, loc, (name,), training, training_loc)
            fixed = base.fixed_training
            if isinstance(training, Const) and training.value is True and training_loc is not None:
                fixed = fixed + ((name, training_loc),)
            return TensorVal(callee, tuple(dict.fromkeys(base.bn_layers + (name,))), fixed)
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
        return TensorVal(None, tuple(dict.fromkeys(base.bn_layers + callee.bn_layers)), fixed)

    def record_keras_call(self, node: ast.Call, frame: Frame, loc: Loc, bn_layers: tuple[str, ...],
                          training: Optional[Value], training_loc: Optional[Loc]) -> None:
        callee_text = _segment(frame.module, node.func) or "model"
        end = Loc(loc.path, loc.end_line, loc.end_col - 1, loc.end_line, loc.end_col - 1)
        info = frame.info
        if self.tape and info.kind not in ("train_step", "serving", "model_call"):
            info = FrameInfo(info.name, info.kind, in_tape=True)
            info.applies_gradients = False
            self.tape_frames.append((info, frame.info))
        self.run.keras_calls.append(KerasCall(loc, callee_text, bn_layers, training, training_loc, info, end))

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
        decay_node = _ema_decay(value_node, method)
        if decay_node is None or not _batch_norm_nearby(frame):
            return UNKNOWN
        decay = self.expr(decay_node, frame)
        if isinstance(decay, Const) and decay.loc is None:
            decay = Const(decay.value, frame.module.loc(decay_node))
        layer = "/".join(s if s is not None else "?" for s in self.scopes) if self.scopes else (
            f"{frame.func.name if frame.func else frame.module.modname}@{loc.line}")
        update = HandUpdate(layer, loc, self.run.next_order(), decay)
        self.run.hand_updates.append(update)
        return UpdateOp(update)


@dataclass(frozen=True, eq=False)
class _Bound(Value):
    func: FunctionInfo
    obj: ModelObj


def _segment(module: ModuleInfo, node: ast.AST) -> str:
    """The source text of a one-line node (the callee of a call), without re-splitting the file."""
    loc = module.loc(node)
    if loc.line != loc.end_line or not 0 < loc.line <= len(module.lines):
        return ""
    return module.lines[loc.line - 1][loc.col - 1:loc.end_col - 1]


def _batch_norm_nearby(frame: Frame) -> bool:
    """A moving-average assignment counts as a batch norm's only where batch statistics are computed
    (``tf.nn.moments``) or used (``batch_normalization``) in the same function (or module body)."""
    module = frame.module
    if frame.func is not None and hasattr(frame.func.node, "end_lineno"):
        node = frame.func.node
        text = "\n".join(module.lines[node.lineno - 1:node.end_lineno])  # type: ignore[attr-defined]
    else:
        text = module.text
    return "moments" in text or "batch_normalization" in text or "batch_norm" in text


def _is_static(func: FunctionInfo) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in getattr(func.node, "decorator_list", ()))


def _is_main_guard(node: ast.Compare) -> bool:
    return isinstance(node.left, ast.Name) and node.left.id == "__name__"


def _str(value: Optional[Value]) -> Optional[str]:
    return value.value if isinstance(value, Const) and isinstance(value.value, str) else None


def _collection_name(value: Value) -> Optional[str]:
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value
    if isinstance(value, Alias):
        return canonical(value.qual).rsplit(".", 1)[-1].lower()
    return None


def _is_update_ops_key(value: Value) -> bool:
    if isinstance(value, Alias):
        return canonical(value.qual) in apis.UPDATE_OPS_NAMES or value.qual.endswith("GraphKeys.UPDATE_OPS")
    return isinstance(value, Const) and value.value == "update_ops"


def _holds_updates(value: Value) -> bool:
    if isinstance(value, (UpdateOps, ModelUpdates)):
        return True
    if isinstance(value, ListVal):
        return any(_holds_updates(v) for v in value.items)
    return False


def _tensors(value: Value) -> list[TensorVal]:
    if isinstance(value, TensorVal):
        return [value]
    if isinstance(value, ListVal):
        return [t for v in value.items for t in _tensors(v)]
    if isinstance(value, DictVal):
        return [t for v in value.items.values() for t in _tensors(v)]
    return []


def _input(tensors: list[TensorVal]) -> TensorVal:
    """A layer's input as it is (its producer kept) when there is exactly one."""
    if len(tensors) == 1:
        return tensors[0]
    return _merge_tensors(tensors) if tensors else TensorVal()


def _has_bias(kwargs: dict[str, Value]) -> bool:
    """use_bias left at its default True (or written True), and no activation between it and BN."""
    use_bias = kwargs.get("use_bias")
    if use_bias is not None and not (isinstance(use_bias, Const) and use_bias.value is True):
        return False
    activation = kwargs.get("activation")
    return activation is None or (isinstance(activation, Const) and activation.value in (None, "linear"))


def _merge_tensors(tensors: list[TensorVal]) -> TensorVal:
    if len(tensors) == 1:
        return TensorVal(None, tensors[0].bn_layers, tensors[0].fixed_training)
    bn = tuple(dict.fromkeys(b for t in tensors for b in t.bn_layers))
    fixed = tuple(dict.fromkeys(f for t in tensors for f in t.fixed_training))
    return TensorVal(None, bn, fixed)


def _bn_of_attrs(attrs: dict[str, Value]) -> tuple[str, ...]:
    out: list[str] = []
    for value in attrs.values():
        items = value.items if isinstance(value, ListVal) else (value,)
        for item in items:
            if isinstance(item, LayerObj) and item.kind == "bn":
                out.append(item.name or f"BatchNormalization@{item.loc.line}")
            elif isinstance(item, ModelObj) and not item.is_self:
                out.extend(item.bn_layers)
    return tuple(dict.fromkeys(out))


def _range(args: list[Value]) -> Value:
    if not args or not all(isinstance(a, Const) and isinstance(a.value, int) for a in args):
        return UNKNOWN
    values = [a.value for a in args]  # type: ignore[attr-defined]
    try:
        r = range(*values)
    except (TypeError, ValueError):
        return UNKNOWN
    if len(r) > MAX_UNROLL:
        return UNKNOWN
    return ListVal(tuple(Const(i) for i in r))


def _ema_decay(node: ast.expr, method: str) -> Optional[ast.expr]:
    """``d`` in ``a * d + b * (1 - d)`` (any operand order), or in ``(a - b) * (1 - d)`` for assign_sub."""
    def one_minus(n: ast.expr) -> Optional[ast.expr]:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and isinstance(n.left, ast.Constant) \
                and n.left.value in (1, 1.0):
            return n.right
        return None

    def factors(n: ast.expr) -> list[ast.expr]:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
            return factors(n.left) + factors(n.right)
        return [n]

    if method == "assign_sub":
        for f in factors(node):
            d = one_minus(f)
            if d is not None:
                return d
        return None
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
        return None
    left, right = factors(node.left), factors(node.right)
    for a, b in ((left, right), (right, left)):
        for f in b:
            d = one_minus(f)
            if d is not None and any(ast.dump(x) == ast.dump(d) for x in a):
                return d
    return None
