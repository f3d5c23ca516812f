"""Summaries of trained tensors for evidence: short, exact, and taken from the file."""
from __future__ import annotations

import numpy as np


def all_equal(value: np.ndarray, target: float) -> bool:
    return value.size > 0 and bool(np.all(value == target))


def describe(value: np.ndarray) -> str:
    """``all 0.0 (64 values)`` or ``min -0.0213, max 0.0187 (64 values)``."""
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    n = f"{flat.size} value{'s' if flat.size != 1 else ''}"
    if flat.size == 0:
        return "empty"
    if np.all(flat == flat[0]):
        return f"all {flat[0]:.6g} ({n})"
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        return f"no finite values ({n})"
    return f"min {finite.min():.6g}, max {finite.max():.6g} ({n})"
