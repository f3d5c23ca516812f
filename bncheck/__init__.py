"""bncheck: find batch-normalization mistakes in TensorFlow and Keras artefacts.

>>> import bncheck
>>> report = bncheck.check_path("model_dir")          # files: no TensorFlow needed
>>> report = bncheck.check_graph(tf.compat.v1.get_default_graph())
>>> report = bncheck.check_model(keras_model)          # config + weights, no forward pass
>>> for finding in report: print(finding.code, finding.layer, finding.message)
>>> model.fit(x, y, callbacks=[bncheck.runtime.BatchNormMonitor()])   # while training
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from bncheck.api import check_graph, check_model, check_path
    from bncheck.errors import InputError
    from bncheck.findings import Finding, Severity
    from bncheck.report import Report

_EXPORTS = {"check_graph": "bncheck.api", "check_model": "bncheck.api", "check_path": "bncheck.api",
            "InputError": "bncheck.errors", "Finding": "bncheck.findings", "Severity": "bncheck.findings",
            "Report": "bncheck.report"}


def __getattr__(name: str) -> Any:
    # imported on first use: the ``bncheck`` command imports bncheck.isolation before anything else
    if name == "runtime":  # the package imports TensorFlow only when an entry point is used
        import importlib

        module = importlib.import_module("bncheck.runtime")
        globals()[name] = module
        return module
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bncheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | {"runtime"})
__all__ = ["check_graph", "check_model", "check_path", "Finding", "InputError", "Report", "Severity", "__version__"]
