"""Abstract execution of the scanned files: statements in order, calls into them followed.

Graph contexts (``control_dependencies``, ``variable_scope``, ``arg_scope``, ``GradientTape``) are
dynamic, like TensorFlow's: a helper called inside ``with tf.control_dependencies(update_ops)``
builds its train op under them. ``if`` branches whose test is unknown are both walked; loops over
short literal sequences (``for i in (1, 2)``, ``range(3)``) are unrolled so ``name=f"bn{i}"``
resolves, other loops are walked once.
"""
from __future__ import annotations

import ast
from typing import Iterable, Optional

from bncheck.source import apis
from bncheck.source.apis import canonical
from bncheck.source.inheritance import method_of
from bncheck.source.library import Library, handler_for, segment
from bncheck.source.loader import ClassInfo, FunctionInfo, ModuleInfo, bind_import
from bncheck.source.modes import MAX_DEPTH, MAX_SITES, MAX_VISITS, UNWORKED, ModeParam, mode_of
from bncheck.source.model import (
    UNKNOWN, UNKNOWN_KWARGS, Alias, ClassRef, Const, DictVal, FrameInfo, FuncRef, LayerObj, ListVal, Loc, ModelObj,
    ModelUpdates,
    Run, TensorVal, UpdateOp, UpdateOps, Value,
)
from bncheck.source.project import Project, decorated_tf_function, is_keras_class
from bncheck.source.branches import ArmEnds, BoundNames
from bncheck.source.value_ops import (
    MAX_UNROLL, ArgScopeVal, Bound, Choices, ContextVal, bn_of_attrs, dict_key, dict_load, dict_store, either, merge_tensors,
    one_of, single_input,
)

MAX_DEPTH = 12
MAX_STEPS = 200_000  # statements walked in one run (cost is linear in them)
MAX_INLINE_SAME = 32  # times one function is walked in one run (a loop of 16 layers needs 16)
MAX_PROGRAM_STEPS = 1_000_000  # statements walked for one program (files that import each other)


class Budget(Exception):
    """The walk took too long: the run is marked incomplete (and a note says where and why)."""

    def __init__(self, loc: Loc, reason: str) -> None:
        super().__init__(reason)
        self.loc = loc
        self.reason = reason


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


class Walker:
    """Walks one root (a module body or an uncalled function) into a :class:`Run`."""

    def __init__(self, project: Project, run: Run, budget: Optional[list[int]] = None) -> None:
        self.project = project
        self.run = run
        self.deps: list[ContextVal] = []
        self.scopes: list[Optional[str]] = []
        self.arg_scopes: list[ArgScopeVal] = []
        self.tape = 0
        self.branches: list[tuple[int, int]] = []  # (if statement, arm) of the if-statements being walked
        self.stack: list[int] = []
        self.steps = 0
        self.inlined: dict[int, int] = {}  # function node id -> times walked in this run
        # [statements left, limit], shared by a program's runs
        self.budget = budget if budget is not None else [MAX_PROGRAM_STEPS, MAX_PROGRAM_STEPS]
        self.walked: set[int] = set()  # ids of function nodes walked (inlined or as roots)
        self.bound_names = BoundNames()  # names each if statement binds
        self.pending: list[tuple[FunctionInfo, Frame]] = []  # nested defs never called
        # id(FunctionInfo) of a nested def or lambda -> (it, its defining frame); see closure_of
        self.closures: dict[int, tuple[FunctionInfo, Frame]] = {}
        self.given_site: Optional[Loc] = None  # the given file's call that led into a followed module
        self.here_stmt: Optional[ast.stmt] = None  # the statement being walked (for notes)
        self.here_module: Optional[ModuleInfo] = None
        self.library = Library(self)  # what calls into TensorFlow/Keras/slim mean

    @property
    def here(self) -> Optional[Loc]:
        if self.here_stmt is None or self.here_module is None:
            return None
        return self.here_module.loc(self.here_stmt)

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
        except Budget as exc:
            self.run.incomplete = True
            self.run.note(exc.loc, f"source analysis of {self.run.root} stopped here: {exc.reason}; BN001 and the "
                                   "export checks of BN002 are not judged for it, other rules only up to here")
        except RecursionError:
            self.run.incomplete = True
            self.run.note(self.here or Loc(self.run.path, 1, 1, 1, 1),
                          f"source analysis of {self.run.root} stopped here: nested too deeply for Python's stack; "
                          "BN001 and the export checks of BN002 are not judged for it")

    def finish(self) -> None:
        self.library.finish()

    def frame_kind(self, func: FunctionInfo) -> Optional[str]:
        if func.cls is not None and is_keras_class(self.project, func.cls):
            if func.name == "call":
                return "model_call"
            if func.name == "train_step":
                return "train_step"
        serving = self.project.serving.get(func.module, set())
        if func.name in serving or (func.name in apis.SERVING_NAMES and decorated_tf_function(func)):
            return "serving"
        return None

    # ---- functions ---------------------------------------------------------------------
    def call_function(self, func: FunctionInfo, args: list[Value], kwargs: dict[str, Value],
                      caller: Optional[Frame], closure: Optional[Frame] = None, self_obj: Optional[Value] = None,
                      as_root: bool = False) -> Value:
        key = id(func.node)
        if key in self.stack:
            return UNKNOWN  # recursion: its first walk covers it
        if len(self.stack) >= MAX_DEPTH:
            self.run.note(self.here or Loc(func.module.path, 1, 1, 1, 1),
                          f"{func.qualname} is not followed from here: calls nested deeper than {MAX_DEPTH} are "
                          "not walked, and what it returns is unknown")
            return UNKNOWN
        self.inlined[key] = self.inlined.get(key, 0) + 1
        if self.inlined[key] > MAX_INLINE_SAME:
            if self.inlined[key] == MAX_INLINE_SAME + 1:  # one note per function and walk
                self.run.note(self.here or Loc(func.module.path, 1, 1, 1, 1),
                              f"{func.qualname} is not followed from here on: one walk follows a function at most "
                              f"{MAX_INLINE_SAME} times; what its later calls build is not judged")
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
        def_frame = Frame(func.module, {}, closure, info, None)  # defaults are read where the def is: not inside func
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
        known_call = caller is not None and not as_root  # a root's arguments are unknown
        if params.vararg:
            extra = args[len(positional):] if known_call else None
            env[params.vararg.arg] = ListVal(tuple(extra)) if extra is not None else UNKNOWN
        if params.kwarg:
            names = {p.arg for p in positional} | {p.arg for p in params.kwonlyargs}
            rest = {k: v for k, v in kwargs.items() if k not in names}
            env[params.kwarg.arg] = DictVal(rest) if known_call and UNKNOWN_KWARGS not in rest else UNKNOWN
        frame = Frame(func.module, env, closure, info, func)
        self.stack.append(key)
        saved_tape, saved_here, saved_site = self.tape, (self.here_stmt, self.here_module), self.given_site
        followed = self.project.followed
        if followed and saved_site is None and func.module.path in followed and (
                self.here_module is not None and self.here_module.path not in followed):
            self.given_site = self.here  # a given file's call into a module that was only followed
        try:
            if isinstance(node, ast.Lambda):
                return self.expr(node.body, frame)
            self.body(node.body, frame)  # type: ignore[attr-defined]
        finally:
            self.stack.pop()
            self.tape = saved_tape
            self.here_stmt, self.here_module = saved_here
            self.given_site = saved_site
        returns = frame.returns
        if len(returns) == 1:
            return returns[0]
        if returns and all(isinstance(r, TensorVal) for r in returns):
            return either(returns)  # type: ignore[arg-type]
        return UNKNOWN

    def instance_for(self, cls: ClassInfo, args: Iterable[Value] = (), kwargs: Optional[dict[str, Value]] = None,
                     loc: Optional[Loc] = None, caller: Optional[Frame] = None) -> ModelObj:
        name = (kwargs or {}).get("name")
        obj = ModelObj((), name.value if isinstance(name, Const) and isinstance(name.value, str) else None, loc, cls)
        init = method_of(self.project, cls, "__init__")
        if init is not None and id(init.node) not in self.stack:
            self.call_function(init, list(args), dict(kwargs or {}), caller, self_obj=obj)
        obj.bn_layers = bn_of_attrs(obj.attrs)
        return obj

    # ---- statements --------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt], frame: Frame) -> None:
        for stmt in stmts:
            self.stmt(stmt, frame)

    def stmt(self, stmt: ast.stmt, frame: Frame) -> None:
        self.steps += 1
        self.budget[0] -= 1
        if self.steps > MAX_STEPS or self.budget[0] < 0:
            loc = frame.module.loc(stmt)
            if self.steps > MAX_STEPS:
                raise Budget(loc, f"one walk reads at most {MAX_STEPS:,} statements")
            raise Budget(loc, f"a program (files that import each other) gets at most {self.budget[-1]:,} "
                              "statements")
        self.here_stmt = stmt
        self.here_module = frame.module
        if self.given_site is not None:
            self._origin(stmt, frame)
        try:
            self._stmt(stmt, frame)
        except RecursionError:
            self._too_deep(stmt, frame)

    def _origin(self, stmt: ast.stmt, frame: Frame) -> None:
        """Lines of a followed module's statement map to the given file's call that reached them."""
        if frame.module.path not in self.project.followed or self.given_site is None:
            return
        body = getattr(stmt, "body", None)
        last = body[0].lineno - 1 if isinstance(body, list) and body else (stmt.end_lineno or stmt.lineno)
        for line in range(stmt.lineno, max(last, stmt.lineno) + 1):
            self.run.origins.setdefault((frame.module.path, line), self.given_site)

    def _too_deep(self, stmt: ast.stmt, frame: Frame) -> None:
        """A statement nested too deeply for Python's stack is skipped alone: what it binds is unknown,
        the statements after it are walked, and a note says so."""
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
                if isinstance(target, ast.Name):
                    frame.env[target.id] = UNKNOWN
        loc = frame.module.loc(stmt)
        lines = frame.module.lines[loc.line - 1:loc.end_line]
        # a skipped train op or update-op read would make BN001's verdict for this walk a guess
        judged = not any(word in line for line in lines for word in _BN001_WORDS)
        if not judged:
            self.run.incomplete = True
        self.run.note(loc, "this statement is nested too deeply for Python's stack and is not analysed (what it "
                           "assigns is unknown); the rest of the file is"
                      + ("" if judged else f"; BN001 and the export checks of BN002 are not judged for "
                                           f"{self.run.root}"))

    def _stmt(self, stmt: ast.stmt, frame: Frame) -> None:
        if isinstance(stmt, ast.Assign):  # the commonest statements first
            value = self.expr(stmt.value, frame, stmt=stmt)
            for target in stmt.targets:
                self.bind(target, value, frame)
        elif isinstance(stmt, ast.Expr):
            self.expr(stmt.value, frame, stmt=stmt)
        elif isinstance(stmt, ast.Return):
            frame.returns.append(self.expr(stmt.value, frame, stmt=stmt) if stmt.value is not None else Const(None))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bind_import(frame.module, stmt, frame.env)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.bind(stmt.target, self.expr(stmt.value, frame, stmt=stmt), frame)
        elif isinstance(stmt, ast.AugAssign):
            self.expr(stmt.value, frame)
            if isinstance(stmt.target, ast.Name):
                frame.env[stmt.target.id] = UNKNOWN
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
            frame.env[stmt.name] = self.closure_ref(info, frame)
            self.closures[id(info)] = (info, frame)  # a nested function sees its definer's names (`self`...)
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
                before = owner.attrs.get(target.attr)
                # only layers and models hold batch norms; those not held in an attribute (a Sequential's
                # add(), a functional model's tensors) are kept
                recount = value is not owner and any(isinstance(v, (LayerObj, ModelObj, ListVal)) for v in (value, before))
                kept = tuple(b for b in owner.bn_layers if b not in bn_of_attrs(owner.attrs)) if recount else ()
                owner.attrs[target.attr] = value
                if recount:
                    owner.bn_layers = tuple(dict.fromkeys(kept + bn_of_attrs(owner.attrs)))
        elif isinstance(target, ast.Starred):
            self.bind(target.value, UNKNOWN, frame)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, (ast.Name, ast.Attribute, ast.Subscript)):
            owner = self.expr(target.value, frame)  # weights['b1'] = ..., w['conv1']['b'] = ...: dicts read back
            if isinstance(owner, DictVal):
                dict_store(owner, *dict_key(target.slice, self.expr(target.slice, frame)), value)

    def if_stmt(self, stmt: ast.If, frame: Frame) -> None:
        test = self.expr(stmt.test, frame)
        if isinstance(test, Const) and not isinstance(test.value, str) or (
                isinstance(test, Const) and test.value in ("", )):
            self.body(stmt.body if test.value else stmt.orelse, frame)
            return
        ends = ArmEnds(stmt, frame.env, self.bound_names)
        for arm, body in enumerate((stmt.body, stmt.orelse)):  # both walked: events know which arm they are in
            self.branches.append((id(stmt), arm))
            try:
                self.body(body, frame)
            finally:
                self.branches.pop()
            ends.arm_done(body, frame.env)
        ends.settle(frame.env, lambda message: self.run.note(frame.module.loc(stmt), message))

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
                    reads = [v.order for v in (value.arg.items if isinstance(value.arg, ListVal) else (value.arg,))
                             if isinstance(v, (UpdateOps, ModelUpdates))]
                    if reads:  # when the update ops it holds were read (not when the block is entered)
                        self.run.update_contexts.append(max(reads))
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
        if isinstance(node, ast.Name):  # in the order of how often they occur in training code
            value = frame.lookup(node.id)
            if isinstance(value, UpdateOp):
                value.update.uses.append("escaped")
            return value if value is not None else UNKNOWN
        if isinstance(node, ast.Constant):
            return Const(node.value, None, node, frame.module)
        if isinstance(node, ast.Call):
            return self.call(node, frame, stmt)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, frame)
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
            values = [self.expr(operand, frame) for operand in node.values]
            consts = [value for value in values if isinstance(value, Const)]
            if len(consts) == len(values):
                result = consts[0].value
                for const in consts[1:]:
                    result = (result and const.value) if isinstance(node.op, ast.And) else (result or const.value)
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
            info = FunctionInfo("<lambda>", node, frame.module)
            self.closures[id(info)] = (info, frame)
            return self.closure_ref(info, frame)
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
            if isinstance(base, DictVal):  # weights['b1']: a bias variable kept in a dict
                return dict_load(base, *dict_key(node.slice, self.expr(node.slice, frame)))
            if isinstance(base, ListVal) and base.items and _is_last(node.slice):
                return base.items[-1]  # self.outputs[-1]: the layer appended last
            return UNKNOWN
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, frame)
            self.bind(node.target, value, frame)
            return value
        if isinstance(node, ast.Await):
            return self.expr(node.value, frame)
        return UNKNOWN

    def attribute(self, node: ast.Attribute, frame: Frame) -> Value:
        if node.attr in apis.TRAINED_ATTRS:
            frame.info.trained.add(segment(frame.module, node.value))
        base = self.expr(node.value, frame)
        if isinstance(base, Alias):
            return _member(base.qual, node.attr)
        if isinstance(base, ModelObj):
            if node.attr in base.attrs:
                return base.attrs[node.attr]
            if node.attr == "updates":
                return ModelUpdates(self.run.next_order())
            found = method_of(self.project, base.cls, node.attr) if base.cls is not None else None
            return Bound(found, base) if found is not None else UNKNOWN
        if isinstance(base, ClassRef) and (found := method_of(self.project, base.cls, node.attr)) is not None:
            return FuncRef(found)
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
        if isinstance(node.op, ast.Add):
            added = self.library.add(left, right, node, frame)
            if added is not None:
                return added
        tensors = [v for v in (left, right) if isinstance(v, TensorVal)]
        if tensors:
            return merge_tensors(tensors)
        return UNKNOWN

    # ---- calls -------------------------------------------------------------------------
    def call(self, node: ast.Call, frame: Frame, stmt: Optional[ast.stmt]) -> Value:
        func_node = node.func
        receiver: Value = UNKNOWN
        method: Optional[str] = None
        if isinstance(func_node, ast.Attribute):
            receiver = self.expr(func_node.value, frame)
            method = func_node.attr
            if isinstance(receiver, Alias):
                callee: Value = _member(receiver.qual, method)
            elif isinstance(receiver, ModelObj) and method in receiver.attrs:
                callee = receiver.attrs[method]
            elif isinstance(receiver, ModelObj) and receiver.cls is not None and (
                    found := method_of(self.project, receiver.cls, method)) is not None:
                callee = Bound(found, receiver)
            elif isinstance(receiver, ClassRef) and (found := method_of(self.project, receiver.cls, method)) is not None:
                callee = FuncRef(found)
            else:
                callee = UNKNOWN
        else:
            callee = self.expr(func_node, frame)
            if callee is UNKNOWN and isinstance(func_node, ast.Name) and func_node.id in _BUILTINS_MODELLED \
                    and frame.lookup(func_node.id) is None:
                callee = _member("builtins", func_node.id)  # enumerate(layers): a loop over it is unrolled
        if isinstance(callee, Alias):
            special = self.library.special_call(node, frame, callee, receiver, method, stmt)
            if special is not None:
                return special
        args: list[Value] = []
        for a in node.args:
            value = self.expr(a, frame)
            if isinstance(a, ast.Starred) and isinstance(value, ListVal):
                args.extend(value.items)  # f(x, *args) of a known tuple: its items, in place
            else:
                args.append(value)
        kwargs: dict[str, Value] = {}
        for kw in node.keywords:
            value = self.expr(kw.value, frame)
            if kw.arg is None:
                if isinstance(value, DictVal):
                    kwargs.update(value.items)
                else:
                    kwargs[UNKNOWN_KWARGS] = UNKNOWN  # keywords bncheck cannot list: no default is certain
            else:
                kwargs[kw.arg] = value
        if isinstance(callee, Alias):
            resolved = self.project.resolve(callee.qual)
            if resolved is not None:
                callee = resolved
            else:
                canon = canonical(callee.qual)
                if handler_for(canon) is None:  # most library calls (tf.nn.relu): only tensors flow through
                    tensors = [a for a in args if isinstance(a, TensorVal)]
                    tensors += [a for a in kwargs.values() if isinstance(a, TensorVal)]
                    tensors += self.call_passed_functions(args, kwargs, tensors, frame)  # tf.map_fn(task, x)
                    return merge_tensors(tensors) if tensors else UNKNOWN
                return self.library.call(canon, node, frame, args, kwargs, stmt)
        if isinstance(callee, Choices):  # bound in the arms of an undecided if: each one, same arguments
            return one_of([self.call_callable(option, args, kwargs, frame) for option in callee.options])
        if isinstance(callee, (FuncRef, Bound)):
            return self.call_callable(callee, args, kwargs, frame)
        loc = frame.module.loc(node)  # from here on, the call may be recorded
        if isinstance(callee, ClassRef):
            if is_keras_class(self.project, callee.cls):
                return self.instance_for(callee.cls, args, kwargs, loc, frame)
            obj = ModelObj((), None, loc, callee.cls)
            init = method_of(self.project, callee.cls, "__init__")
            if init is not None:
                self.call_function(init, args, kwargs, frame, self_obj=obj)
            return obj
        if isinstance(callee, ModelObj) and callee.cls is not None and not is_keras_class(self.project, callee.cls) \
                and (dunder := method_of(self.project, callee.cls, "__call__")) is not None:
            return self.call_function(dunder, args, kwargs, frame, self_obj=callee)  # an object with __call__
        if isinstance(callee, (LayerObj, ModelObj)):
            return self.library.call_layer(callee, node, frame, args, kwargs, loc, self.mode_of(callee, loc))
        if method is not None:
            known = self.library.method_call(method, receiver, node, frame, args, kwargs, loc, stmt)
            if known is not None:
                return known
        if callee is UNKNOWN:
            self.library.record_unknown_call(node, frame, args, kwargs)
        tensors = [a for a in args + list(kwargs.values()) if isinstance(a, TensorVal)]
        if callee is UNKNOWN:
            tensors += self.call_passed_functions(args, kwargs, tensors, frame)
        return merge_tensors(tensors) if tensors else UNKNOWN

    def call_callable(self, callee: Value, args: list[Value], kwargs: dict[str, Value], frame: Frame) -> Value:
        """Call a user function (``FuncRef``) or bound method (``Bound``)."""
        if isinstance(callee, FuncRef):
            closure = self.closure_of(callee.func) or callee.closure
            if closure is None and callee.func.module is frame.module and callee.func.name == "<lambda>":
                closure = frame
            return self.call_function(callee.func, args, kwargs, frame, closure=closure)
        if isinstance(callee, Bound):
            return self.call_function(callee.func, args, kwargs, frame, self_obj=callee.obj)
        return UNKNOWN

    def mode_of(self, callee: LayerObj | ModelObj, loc: Loc) -> Optional[ModeParam]:
        """A subclassed model's own training-flag parameter (``call(self, x, is_training=False)``)."""
        if not isinstance(callee, ModelObj) or callee.cls is None or not callee.bn_layers:
            return None
        mode, exhausted = mode_of(self.project, callee)
        if exhausted:
            self.run.note(loc, f"the training flag of {callee.cls.name}.call is not worked out: its call passes "
                               f"parameters on through more than bncheck follows ({MAX_VISITS:,} calls, {MAX_DEPTH} "
                               f"nested models or helpers, {MAX_SITES} calls in one method); the training mode "
                               "of its batch norms at this call is not judged")
            return UNWORKED
        return mode

    def closure_ref(self, info: FunctionInfo, frame: Frame) -> FuncRef:
        """A nested function with its defining frame: a later walk that calls it (a module's
        ``model = Chain([...])`` called from a function) sees the names it closes over."""
        ref = FuncRef(info, frame)
        self.project.closure_refs.append(ref)
        return ref

    def closure_of(self, func: FunctionInfo) -> Optional[Frame]:
        entry = self.closures.get(id(func))
        return entry[1] if entry is not None and entry[0] is func else None

    def call_passed_functions(self, args: list[Value], kwargs: dict[str, Value], tensors: list[TensorVal],
                              frame: Frame, as_is: bool = False) -> list[TensorVal]:
        """Functions of the program handed to a call bncheck does not model (``tf.map_fn(task, x)``,
        ``tf.while_loop``, ``strategy.run(step)``) are walked there, under the graph contexts of the
        call, with its tensors as their argument; the tensors they return flow out. ``as_is``: the one
        tensor is passed with its producer (a layer's ``activation_fn`` applied to its output)."""
        out: list[TensorVal] = []
        for value in list(args) + list(kwargs.values()):
            if not isinstance(value, (FuncRef, Bound)):
                continue
            passed: list[Value] = [single_input(tensors) if as_is else merge_tensors(tensors)] if tensors else []
            if isinstance(value, Bound):
                result = self.call_function(value.func, passed, {}, frame, self_obj=value.obj)
            else:
                closure = self.closure_of(value.func)
                result = self.call_function(value.func, passed, {}, frame, closure=closure)
            if isinstance(result, TensorVal):
                out.append(result)
        return out


def _is_last(index: ast.expr) -> bool:
    return isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(
        index.operand, ast.Constant) and index.operand.value == 1


_BN001_WORDS = ("minimize", "apply_gradients", "UPDATE_OPS", "update_ops", "control_dependencies", "updates",
                "train_op", "export", "save")

_MEMBERS: dict[tuple[str, str], Alias] = {}
_BUILTINS_MODELLED = frozenset({"enumerate"})  # builtins the library's table knows, called by their bare name


def _member(qual: str, attr: str) -> Alias:
    """``Alias(qual.attr)``, one shared object per name (aliases are never changed): the walker reads
    the same few dotted names (``tf.compat.v1.layers``...) thousands of times."""
    alias = _MEMBERS.get((qual, attr))
    if alias is None:
        if len(_MEMBERS) > 100_000:  # names from a hostile file: do not keep them all
            _MEMBERS.clear()
        alias = _MEMBERS[(qual, attr)] = Alias(f"{qual}.{attr}")
    return alias


def _is_static(func: FunctionInfo) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in getattr(func.node, "decorator_list", ()))


def _is_main_guard(node: ast.Compare) -> bool:
    return isinstance(node.left, ast.Name) and node.left.id == "__name__"


__all__ = ["Budget", "Frame", "Project", "Walker"]
