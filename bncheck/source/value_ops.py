"""Helpers over abstract values: tensors and what produced them, layer lists, literals, EMA updates."""
from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional, overload

from bncheck.source import apis
from bncheck.source.apis import canonical
from bncheck.source.loader import FunctionInfo
from bncheck.source.model import (
    UNKNOWN, Alias, Chain, Const, DictVal, FuncRef, LayerObj, ListVal, Loc, ModelObj, ModelUpdates, TensorVal, UpdateOps,
    Value, VariableVal,
)

MAX_UNROLL = 64  # loops over literal sequences up to this long are unrolled (a network as a list of layers)


@dataclass(frozen=True, eq=False)
class ArgScopeVal(Value):
    entries: tuple[tuple[frozenset[str], dict[str, Value]], ...]  # (canonical ops, kwargs); ops empty: unknown


@dataclass(frozen=True, eq=False)
class ContextVal(Value):
    """A ``with`` context the walker knows: control_dependencies, variable_scope, arg_scope, tape."""

    kind: str
    arg: Value = UNKNOWN
    locs: tuple[Loc, ...] = ()


@dataclass(frozen=True, eq=False)
class Bound(Value):
    func: FunctionInfo
    obj: ModelObj


MAX_CHOICES = 4  # functions one callable bound in the arms of an undecided if may be, all followed when called


@dataclass(frozen=True, eq=False)
class Choices(Value):
    """A name or attribute bound to different functions in the arms of an ``if`` bncheck cannot decide
    (``if conv: self.forward = self.forward_conv else: self.forward = self.forward_fc``): a call follows
    each, with the same arguments, and its result is what they agree on (:func:`one_of`)."""

    options: tuple[Value, ...]  # FuncRef or Bound, at most MAX_CHOICES, no two alike


def callable_key(value: Value) -> tuple[int, int]:
    """Two references to one function (and, for a bound method, one object) are the same option."""
    if isinstance(value, Bound):
        return id(value.func.node), id(value.obj)
    return id(value.func.node) if isinstance(value, FuncRef) else id(value), 0


def choices(values: list[Value]) -> tuple[Value | None, int]:
    """The callables ``values`` may be, as one value (None unless every value is a function, a bound
    method or a :class:`Choices`), and how many distinct options there were before the cap."""
    flat: dict[tuple[int, int], Value] = {}
    for value in values:
        if isinstance(value, Choices):
            items: tuple[Value, ...] = value.options
        elif isinstance(value, (FuncRef, Bound)):
            items = (value,)
        else:
            return None, 0
        for item in items:
            flat.setdefault(callable_key(item), item)
    options = tuple(flat.values())
    if len(options) == 1:
        return options[0], 1
    return Choices(options[:MAX_CHOICES]), len(options)


def one_of(values: list[Value]) -> Value:
    """One of ``values``, which one unknown (what one of several alternative functions returned): what
    they agree on. Tensors keep every producer, dicts every key (shared keys merged alike), variables
    of one rank stay one; anything else that differs is unknown."""
    first = values[0]
    if all(v is first for v in values):
        return first
    if all(isinstance(v, TensorVal) for v in values):
        return either(values)  # type: ignore[arg-type]
    if all(isinstance(v, VariableVal) for v in values) and all(_same_variable(first, v) for v in values):
        return first
    if all(isinstance(v, Const) for v in values) and all(
            type(v.value) is type(first.value) and v.value == first.value for v in values):  # type: ignore[attr-defined]
        return first
    if all(isinstance(v, DictVal) for v in values):
        dicts: list[DictVal] = values  # type: ignore[assignment]
        return DictVal(_merged(d.items for d in dicts), _merged(d.by_prefix for d in dicts))
    merged, _ = choices(values)
    return merged if merged is not None else UNKNOWN


def _merged(mappings: Iterable[dict[str, Value]]) -> dict[str, Value]:
    by_key: dict[str, list[Value]] = {}
    for mapping in mappings:
        for key, value in mapping.items():
            by_key.setdefault(key, []).append(value)
    return {key: one_of(vs) for key, vs in by_key.items()}


@overload
def as_flag(value: Value) -> Value: ...
@overload
def as_flag(value: None) -> None: ...
def as_flag(value: Optional[Value]) -> Optional[Value]:
    """A training flag as TensorFlow and Keras read it: the integers ``1`` and ``0`` are ``True`` and
    ``False`` (``smart_cond`` accepts them as booleans; Keras 3 tests the flag's truth)."""
    if isinstance(value, Const) and type(value.value) is int and value.value in (0, 1):
        return value.with_value(bool(value.value))
    return value


def const_str(value: Optional[Value]) -> Optional[str]:
    return value.value if isinstance(value, Const) and isinstance(value.value, str) else None


def collection_name(value: Value) -> Optional[str]:
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value
    if isinstance(value, Alias):
        return canonical(value.qual).rsplit(".", 1)[-1].lower()
    return None


def is_update_ops_key(value: Value) -> bool:
    if isinstance(value, Alias):
        return canonical(value.qual) in apis.UPDATE_OPS_NAMES or value.qual.endswith("GraphKeys.UPDATE_OPS")
    return isinstance(value, Const) and value.value == "update_ops"


def holds_updates(value: Value) -> bool:
    if isinstance(value, (UpdateOps, ModelUpdates)):
        return True
    if isinstance(value, ListVal):
        return any(holds_updates(v) for v in value.items)
    return False


def tensors_in(value: Value) -> list[TensorVal]:
    if isinstance(value, TensorVal):
        return [value]
    if isinstance(value, ListVal):
        return [t for v in value.items for t in tensors_in(v)]
    if isinstance(value, DictVal):
        return [t for v in value.items.values() for t in tensors_in(v)]
    return []


def single_input(tensors: list[TensorVal]) -> TensorVal:
    """A layer's input as it is (its producer kept) when there is exactly one."""
    if len(tensors) == 1:
        return tensors[0]
    return merge_tensors(tensors) if tensors else TensorVal()


def bias_kind(kwargs: dict[str, Value]) -> str:
    """``bias`` (a bias feeds what follows), ``other`` (no bias, or an activation after it), or
    ``bias?`` (``use_bias`` or ``activation`` is a value bncheck cannot tell, and the other allows a bias)."""
    use_bias, activation = kwargs.get("use_bias"), kwargs.get("activation")
    bias = True if use_bias is None else (use_bias.value is True if isinstance(use_bias, Const) else None)
    linear: Optional[bool] = None
    if activation is None:
        linear = True
    elif isinstance(activation, Const):
        linear = activation.value in (None, "linear")
    elif isinstance(activation, Alias):  # tf.nn.relu: an activation; tf.identity: none
        linear = canonical(activation.qual) in apis.IDENTITY_ACTIVATIONS
    elif isinstance(activation, (FuncRef, LayerObj)):
        linear = False  # a function or layer of the scanned files
    if bias is False or linear is False:
        return "other"
    return "bias" if bias and linear else "bias?"


def merge_tensors(tensors: list[TensorVal]) -> TensorVal:
    if len(tensors) == 1:
        return TensorVal(None, tensors[0].bn_layers, tensors[0].fixed_training)
    # shared, not copied: a copy per merge costs the square of a residual network's depth
    return TensorVal(None, Chain.join(t.bn_layers for t in tensors), Chain.join(t.fixed_training for t in tensors))


def either(tensors: list[TensorVal]) -> TensorVal:
    """One of these tensors, which one unknown (a function returning in both branches of an ``if``):
    the producers of all branches are kept, the first as ``producer``."""
    if len(tensors) == 1:
        return tensors[0]
    merged = merge_tensors(tensors)
    producers = tuple(dict.fromkeys(p for t in tensors for p in (t.producer, *t.alternatives) if p is not None))
    if not producers:
        return merged
    return TensorVal(producers[0], merged.bn_layers, merged.fixed_training, producers[1:])


def bn_of_attrs(attrs: dict[str, Value]) -> tuple[str, ...]:
    out: list[str] = []
    for value in attrs.values():
        items = value.items if isinstance(value, ListVal) else (value,)
        for item in items:
            if isinstance(item, LayerObj) and item.kind == "bn":
                out.append(item.name or f"BatchNormalization@{item.loc.line}")
            elif isinstance(item, ModelObj) and not item.is_self:
                out.extend(item.bn_layers)
    return tuple(dict.fromkeys(out))


def literal_range(args: list[Value]) -> Value:
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


def ema_decay(node: ast.expr, method: str) -> Optional[ast.expr]:
    """``d`` in ``a * d + b * (1 - d)`` (any operand order), or in ``(a - b) * (1 - d)`` for assign_sub.

    The helpers are module functions, not closures: a recursive closure is a reference cycle, which
    would keep syntax trees alive until the cyclic collector runs."""
    if method == "assign_sub":
        for f in _factors(node):
            d = _one_minus(f)
            if d is not None:
                return d
        return None
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
        return None
    left, right = _factors(node.left), _factors(node.right)
    for a, b in ((left, right), (right, left)):
        for f in b:
            d = _one_minus(f)
            if d is not None and any(same_tree(x, d) for x in a):
                return d
    return None


def _one_minus(n: ast.expr) -> Optional[ast.expr]:
    if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and isinstance(n.left, ast.Constant) \
            and n.left.value in (1, 1.0):
        return n.right
    return None


def _factors(n: ast.expr) -> list[ast.expr]:
    if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
        return _factors(n.left) + _factors(n.right)
    return [n]


def same_tree(a: object, b: object) -> bool:
    """Whether two syntax trees are the same code (``ast.dump(a) == ast.dump(b)``, positions ignored)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.AST):
        return all(same_tree(getattr(a, f, None), getattr(b, f, None)) for f in a._fields)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    return a == b


def dict_key(node: ast.expr, key: Value) -> tuple[Optional[str], Optional[str]]:
    """A dict subscript's key: (the key, None) when it is a known string, else (None, its literal start)
    for ``'b' + str(i)`` / ``f'b{i}'``, else (None, None)."""
    if isinstance(key, Const) and isinstance(key.value, str):
        return key.value, None
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return None, node.value
    return None, None


def dict_store(d: DictVal, key: Optional[str], prefix: Optional[str], value: Value) -> None:
    """``d[key] = value``; under an unknown key, a value stored under a literal start is kept by it."""
    if key is not None:
        d.items[key] = value
    elif prefix is not None:
        before = d.by_prefix.get(prefix)
        d.by_prefix[prefix] = value if before is None or _same_variable(before, value) else UNKNOWN


def dict_load(d: DictVal, key: Optional[str], prefix: Optional[str]) -> Value:
    """``d[key]``. Under an unknown key with a literal start, or a key not stored but starting like keys
    stored by their start, only a variable of one rank is known: every value that key can reach is one."""
    if key is not None and key in d.items:
        return d.items[key]
    if key is not None:
        reached = [v for p, v in d.by_prefix.items() if key.startswith(p)]
    elif prefix is not None:
        reached = [v for k, v in d.items.items() if k.startswith(prefix)]
        reached += [v for p, v in d.by_prefix.items() if p.startswith(prefix) or prefix.startswith(p)]
    else:
        return UNKNOWN
    first = reached[0] if reached else None
    if isinstance(first, VariableVal) and all(_same_variable(first, v) for v in reached):
        return first
    return UNKNOWN


def _same_variable(a: Value, b: Value) -> bool:
    return isinstance(a, VariableVal) and isinstance(b, VariableVal) and a.rank == b.rank
