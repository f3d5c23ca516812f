"""bncheck: find batch-normalization mistakes in TensorFlow and Keras artefacts.

>>> import bncheck
>>> report = bncheck.check_path("model_dir")          # files: no TensorFlow needed
>>> report = bncheck.check_graph(tf.compat.v1.get_default_graph())
>>> report = bncheck.check_model(keras_model)          # config + weights, no forward pass
>>> for finding in report: print(finding.code, finding.layer, finding.message)
"""
from __future__ import annotations

from bncheck.api import check_graph, check_model, check_path
from bncheck.errors import InputError
from bncheck.findings import Finding, Severity
from bncheck.report import Report

__version__ = "0.1.0"
__all__ = ["check_graph", "check_model", "check_path", "Finding", "InputError", "Report", "Severity", "__version__"]
