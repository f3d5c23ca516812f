"""bncheck while training: prove in the first steps what static checks can only suspect.

>>> model.fit(x, y, callbacks=[bncheck.runtime.BatchNormMonitor()])        # Keras 3 / tf-keras
>>> hooks = [bncheck.runtime.BatchNormHook()]                               # TF1 sessions
>>> monitor = bncheck.runtime.watch(model)                                  # custom loops
>>> ...; train_step(x, y); monitor.step()
>>> monitor.report                                                          # a bncheck.Report

Importing this package does not import TensorFlow; each entry point imports it when first used
(it runs inside your training process, which has it already).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bncheck.runtime.core import BatchNormError, BatchNormWarning
    from bncheck.runtime.keras_callback import BatchNormMonitor
    from bncheck.runtime.session_hook import BatchNormHook
    from bncheck.runtime.watcher import Monitor, watch

_EXPORTS = {"BatchNormHook": "bncheck.runtime.session_hook", "BatchNormMonitor": "bncheck.runtime.keras_callback",
            "watch": "bncheck.runtime.watcher", "Monitor": "bncheck.runtime.watcher",
            "BatchNormWarning": "bncheck.runtime.core", "BatchNormError": "bncheck.runtime.core"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bncheck.runtime' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = ["BatchNormError", "BatchNormHook", "BatchNormMonitor", "BatchNormWarning", "Monitor", "watch"]
