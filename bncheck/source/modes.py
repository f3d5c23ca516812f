"""A Keras model's own training flag: the parameter of its ``call`` that it passes on as its batch
norms' ``training``.

``def call(self, x, is_training=False): ... self.bn(x, training=is_training)`` makes
``model(x, is_training=True)`` a call in training mode, although no ``training=`` is written at the
call. Keras itself only knows ``training``; any other name is plain Python, so the value the caller
binds to that parameter (or the signature's default) is what the batch norms get.
"""
from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from bncheck.source.inheritance import method_of
from bncheck.source.loader import FunctionInfo
from bncheck.source.model import UNKNOWN, UNKNOWN_KWARGS, Const, LayerObj, ListVal, ModelObj, Value
from bncheck.source.value_ops import as_flag

if TYPE_CHECKING:
    from bncheck.source.project import Project

MAX_DEPTH = 8  # nested models followed for one call (a hostile hierarchy stays cheap)
MAX_SITES = 256  # passing sites kept per call method
MAX_VISITS = 2_000  # passing sites looked at for one call of a model

ALL = ("*",)  # a flag passed as training= to a callee bncheck cannot name: it reaches every batch norm


@dataclass(frozen=True)
class PassSite:
    """In a model's ``call``: one of its parameters passed to a callee (``self.<attr>``, an item of
    ``self.<attr>[i]``, or something else) as a keyword or at a position."""

    param: str
    attr: Optional[str]  # self.<attr>(...) or self.<attr>[i](...); None: another callee
    keyword: Optional[str]
    position: Optional[int]


@dataclass(frozen=True)
class ModeParam:
    """The parameter of a model's ``call`` that carries its training mode."""

    name: str
    position: Optional[int]  # among the call's arguments (``self`` left out); None: keyword-only
    default: Optional[ast.expr]
    layers: tuple[str, ...]  # the batch norms it reaches (:data:`ALL`: all of the model's)

    def binding(self, node: ast.Call) -> tuple[bool, Optional[ast.expr]]:
        """(whether the call gives the parameter, the expression it gives or the default)."""
        for kw in node.keywords:
            if kw.arg == self.name:
                return True, kw.value
        if self.position is not None and len(node.args) > self.position and not any(
                isinstance(a, ast.Starred) for a in node.args[:self.position + 1]):
            return True, node.args[self.position]
        return False, self.default


# a model whose mode parameter could not be worked out within the limits: the training flag of every
# batch norm it holds is unknown at its calls (no verdict; the walker notes why)
UNWORKED = ModeParam("", None, None, ALL)

_SITES: "weakref.WeakKeyDictionary[FunctionInfo, tuple[tuple[PassSite, ...], bool]]" = weakref.WeakKeyDictionary()


def mode_param(project: "Project", model: ModelObj, depth: int = 0,
               budget: Optional[list[int]] = None) -> Optional[ModeParam]:
    """The one parameter of ``model``'s ``call`` passed on as the training flag of its batch norms
    (directly, through a helper method of the class, or as the mode parameter of a nested model); None
    when there is no such parameter, or more than one (then the call is read as Keras reads it)."""
    budget = [MAX_VISITS] if budget is None else budget
    if model.cls is None:
        return None
    if depth > MAX_DEPTH:
        budget[0] = -1  # cut: the caller's search says it ran out
        return None
    func = method_of(project, model.cls, "call")
    if func is None:
        return None
    reached: dict[str, list[str]] = {}
    for name in _params(func):
        layers = _param_reaches(project, model, func, name, depth, budget)
        if layers:
            reached[name] = layers
    if len(reached) != 1:
        return None
    name, layers = next(iter(reached.items()))
    args = func.node.args  # type: ignore[attr-defined]
    names = [a.arg for a in list(args.posonlyargs) + list(args.args)]
    defaults: dict[str, ast.expr] = dict(zip(names[len(names) - len(args.defaults):], args.defaults))
    defaults.update((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None)
    position = names.index(name) - 1 if name in names and names.index(name) > 0 else None
    covered = ALL if ALL[0] in layers else tuple(dict.fromkeys(layers))
    return ModeParam(name, position, defaults.get(name), covered)


def mode_of(project: "Project", model: ModelObj) -> tuple[Optional[ModeParam], bool]:
    """:func:`mode_param`, and whether the search hit one of its limits (:data:`MAX_VISITS` sites looked at,
    :data:`MAX_DEPTH` nested models or helpers, :data:`MAX_SITES` sites in one method): then no mode
    parameter is known."""
    budget = [MAX_VISITS]
    found = mode_param(project, model, budget=budget)
    return (None, True) if budget[0] < 0 else (found, False)


def _params(func: FunctionInfo) -> list[str]:
    """A method's parameters, ``self`` left out."""
    args = func.node.args  # type: ignore[attr-defined]
    return [a.arg for a in list(args.posonlyargs) + list(args.args)][1:] + [a.arg for a in args.kwonlyargs]


def _param_reaches(project: "Project", model: ModelObj, func: FunctionInfo, param: str, depth: int,
                   budget: list[int]) -> list[str]:
    """The batch norms that a method of ``model`` hands its parameter ``param`` to as their training
    flag (past the budget: none found, so the call is read as Keras reads it)."""
    out: list[str] = []
    sites, cut = _sites(func)
    if cut:
        budget[0] = -1
        return out
    for site in sites:
        budget[0] -= 1
        if budget[0] < 0:
            break
        if site.param == param:
            out.extend(_reached(project, model, site, depth, budget))
    return out


def call_training(mode: ModeParam, node: ast.Call, args: list[Value], kwargs: dict[str, Value],
                  module: object) -> tuple[Optional[Value], Optional[ast.expr]]:
    """What a call of the model binds to its mode parameter: (the value, or None for "no argument sets
    training mode"; the expression written at the call, if any). A default of ``True`` counts as
    training mode; any other default as no argument. A ``**mapping`` gives the parameter when bncheck
    knows it holds the name, and may give it when its keys are unknown, as may a ``*sequence`` before
    the parameter's position (an unknown value, not the default)."""
    passed, expr = mode.binding(node)
    if passed:
        if mode.name in kwargs and any(kw.arg == mode.name for kw in node.keywords):
            return as_flag(kwargs[mode.name]), expr
        if mode.position is not None and mode.position < len(args):
            return as_flag(args[mode.position]), expr
        return UNKNOWN, expr
    if mode.name in kwargs:  # f(x, **{"is_training": True}): a mapping bncheck knows
        return as_flag(kwargs[mode.name]), None
    starred = mode.position is not None and any(isinstance(a, ast.Starred) for a in node.args[:mode.position + 1])
    if UNKNOWN_KWARGS in kwargs or starred:
        return UNKNOWN, None
    if isinstance(expr, ast.Constant) and expr.value is True:
        return Const(True, node=expr, module=module), None
    return None, None


def _sites(func: FunctionInfo) -> tuple[tuple[PassSite, ...], bool]:
    """The passing sites of a method, and whether there were more than :data:`MAX_SITES`."""
    cached = _SITES.get(func)
    if cached is not None:
        return cached
    params = set(_params(func))
    out: list[PassSite] = []
    for node in ast.walk(func.node):
        if not isinstance(node, ast.Call):
            continue
        if len(out) >= MAX_SITES:
            result = (tuple(out), True)
            _SITES[func] = result
            return result
        attr = _self_attr(node.func)
        for i, a in enumerate(node.args):
            if isinstance(a, ast.Starred):
                break
            if isinstance(a, ast.Name) and a.id in params:
                out.append(PassSite(a.id, attr, None, i))
        for kw in node.keywords:
            if isinstance(kw.value, ast.Name) and kw.value.id in params and kw.arg is not None:
                out.append(PassSite(kw.value.id, attr, kw.arg, None))
    result = (tuple(out), False)
    _SITES[func] = result
    return result


def _self_attr(func: ast.expr) -> Optional[str]:
    """``self.<attr>`` or ``self.<attr>[i]`` as a callee: the attribute's name."""
    if isinstance(func, ast.Subscript):
        func = func.value
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        return func.attr
    return None


def _reached(project: "Project", model: ModelObj, site: PassSite, depth: int, budget: list[int]) -> list[str]:
    """The batch norms a passing site hands the parameter to as their training flag."""
    if site.attr is None:
        return list(ALL) if site.keyword == "training" and model.bn_layers else []
    target = model.attrs.get(site.attr)
    if target is None and model.cls is not None and (helper := method_of(project, model.cls, site.attr)) is not None:
        return _helper_reaches(project, model, helper, site, depth, budget)
    items = target.items if isinstance(target, ListVal) else (target,)
    out: list[str] = []
    for item in items:
        if isinstance(item, LayerObj) and item.kind == "bn":
            if site.keyword == "training" or site.position == 1:
                out.append(item.name or f"BatchNormalization@{item.loc.line}")
        elif isinstance(item, ModelObj) and item.bn_layers and not item.is_self:
            inner = mode_param(project, item, depth + 1, budget)
            if inner is None:
                if site.keyword == "training" or site.position == 1:
                    out.extend(item.bn_layers)
            elif site.keyword == inner.name or (site.keyword is None and site.position == inner.position):
                out.extend(item.bn_layers if inner.layers == ALL else inner.layers)
    return out


def _helper_reaches(project: "Project", model: ModelObj, helper: FunctionInfo, site: PassSite,
                    depth: int, budget: list[int]) -> list[str]:
    """``self.block(x, is_training)``: what the helper method does with the parameter it receives."""
    if depth >= MAX_DEPTH:
        budget[0] = -1
        return []
    names = _params(helper)
    args = helper.node.args  # type: ignore[attr-defined]
    positional = names[:max(len(args.posonlyargs) + len(args.args) - 1, 0)]
    if site.keyword is not None:
        name = site.keyword if site.keyword in names else None
    else:
        name = positional[site.position] if site.position is not None and site.position < len(positional) else None
    return [] if name is None else _param_reaches(project, model, helper, name, depth + 1, budget)
