"""Decode ``AttrValue`` and ``TensorProto`` messages into Python and numpy values."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

# tensorflow/core/framework/types.proto: DataType -> (numpy dtype, TensorProto field of typed values)
DTYPES: dict[int, tuple[str, str]] = {
    1: ("float32", "float_val"),
    2: ("float64", "double_val"),
    3: ("int32", "int_val"),
    4: ("uint8", "int_val"),
    5: ("int16", "int_val"),
    6: ("int8", "int_val"),
    9: ("int64", "int64_val"),
    10: ("bool", "bool_val"),
    17: ("uint16", "int_val"),
    19: ("float16", "half_val"),
    22: ("uint32", "uint32_val"),
    23: ("uint64", "uint64_val"),
}
_MAX_ELEMENTS = 1 << 20  # bncheck only needs scalars and small vectors from graphs
_MAX_RANK = 32  # TensorFlow's own limit on a tensor's rank


def tensor_to_numpy(tensor: Any) -> np.ndarray | None:
    """A TensorProto as a numpy array; ``None`` for dtypes or sizes bncheck does not decode, and for
    malformed tensors (content not a whole number of elements, values out of the dtype's range,
    negative or absurd shapes). Never raises on a well-typed TensorProto message."""
    spec = DTYPES.get(tensor.dtype % 100)
    if spec is None:
        return None
    dtype, field = spec
    dims = [d.size for d in tensor.tensor_shape.dim]
    if len(dims) > _MAX_RANK or any(d < 0 for d in dims):
        return None
    shape = tuple(dims)
    count = math.prod(shape)
    # zero-sized dims hide the others from the count, but numpy still refuses absurd shapes
    if count > _MAX_ELEMENTS or math.prod(max(d, 1) for d in dims) > _MAX_ELEMENTS:
        return None
    try:
        if tensor.tensor_content:
            content = tensor.tensor_content
            if len(content) % np.dtype(dtype).itemsize or len(content) > count * np.dtype(dtype).itemsize:
                return None
            flat = np.frombuffer(content, dtype=np.dtype(dtype).newbyteorder("<"))
        else:
            values = getattr(tensor, field)
            if len(values) > count:
                return None
            if dtype == "float16":
                flat = np.array(list(values), dtype=np.uint16).view(np.float16)
            else:
                flat = np.array(list(values), dtype=dtype)
    except (ValueError, TypeError, OverflowError):
        return None
    if flat.size == count:
        return flat.reshape(shape)
    if flat.size == 0:
        return np.zeros(shape, dtype=dtype)
    # TensorFlow repeats the last value to fill the shape
    return np.concatenate([flat, np.repeat(flat[-1:], count - flat.size)]).reshape(shape)


def attr_value(attr: Any) -> Any:
    """Decode one AttrValue: bool/int/float/str/dtype, a numpy array, a function name, or a list."""
    kind = attr.WhichOneof("value")
    if kind == "b":
        return bool(attr.b)
    if kind in ("i", "f", "type"):
        return getattr(attr, kind)
    if kind == "s":
        return attr.s.decode("utf-8", "replace")
    if kind == "tensor":
        return tensor_to_numpy(attr.tensor)
    if kind == "func":
        return attr.func.name
    if kind == "shape":
        return None if attr.shape.unknown_rank else [d.size for d in attr.shape.dim]
    if kind == "list":
        lst = attr.list
        for name in ("s", "i", "f", "b", "type", "func"):
            items = getattr(lst, name)
            if len(items):
                if name == "s":
                    return [s.decode("utf-8", "replace") for s in items]
                if name == "func":
                    return [f.name for f in items]
                return list(items)
        return []
    return None


# -- typed accessors: rules and graph analysis read attributes only through these. A missing
# attribute or one of the wrong kind (a hostile or corrupt file) reads as None, never raises.

def _typed(attrs: Any, key: str, kind: str) -> Any:
    attr = attrs.get(key) if attrs else None
    if attr is None:
        return None
    try:
        return attr if attr.WhichOneof("value") == kind else None
    except (AttributeError, ValueError, TypeError):
        return None


def bool_attr(attrs: Any, key: str) -> bool | None:
    attr = _typed(attrs, key, "b")
    return None if attr is None else bool(attr.b)


def float_attr(attrs: Any, key: str) -> float | None:
    attr = _typed(attrs, key, "f")
    return None if attr is None else float(attr.f)


def int_attr(attrs: Any, key: str) -> int | None:
    attr = _typed(attrs, key, "i")
    return None if attr is None else int(attr.i)


def type_attr(attrs: Any, key: str) -> int | None:
    attr = _typed(attrs, key, "type")
    return None if attr is None else int(attr.type)


def str_attr(attrs: Any, key: str) -> str | None:
    attr = _typed(attrs, key, "s")
    return None if attr is None else attr.s.decode("utf-8", "replace")


def func_attr(attrs: Any, key: str) -> str | None:
    attr = _typed(attrs, key, "func")
    return None if attr is None else attr.func.name


def func_list_attr(attrs: Any, key: str) -> list[str]:
    attr = _typed(attrs, key, "list")
    return [] if attr is None else [f.name for f in attr.list.func]


def tensor_attr(attrs: Any, key: str) -> np.ndarray | None:
    """A tensor-valued attribute decoded, or None (absent, wrong kind, malformed, too large)."""
    attr = _typed(attrs, key, "tensor")
    if attr is None:
        return None
    try:
        return tensor_to_numpy(attr.tensor)
    except (ValueError, TypeError, OverflowError, MemoryError):
        return None
