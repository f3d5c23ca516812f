"""Decode ``AttrValue`` and ``TensorProto`` messages into Python and numpy values."""
from __future__ import annotations

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


def tensor_to_numpy(tensor: Any) -> np.ndarray | None:
    """A TensorProto as a numpy array; ``None`` for dtypes or sizes bncheck does not decode."""
    spec = DTYPES.get(tensor.dtype % 100)
    if spec is None:
        return None
    dtype, field = spec
    shape = tuple(max(d.size, 0) for d in tensor.tensor_shape.dim)
    count = int(np.prod(shape)) if shape else 1
    if count > _MAX_ELEMENTS:
        return None
    if tensor.tensor_content:
        flat = np.frombuffer(tensor.tensor_content, dtype=dtype)
    else:
        values = list(getattr(tensor, field))
        if dtype == "float16":
            flat = np.array(values, dtype=np.uint16).view(np.float16)
        else:
            flat = np.array(values, dtype=dtype)
    if flat.size == count:
        return flat.reshape(shape)
    if flat.size == 0:
        return np.zeros(shape, dtype=dtype)
    if flat.size < count:  # TensorFlow repeats the last value to fill the shape
        flat = np.concatenate([flat, np.repeat(flat[-1:], count - flat.size)])
    return flat[:count].reshape(shape)


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
