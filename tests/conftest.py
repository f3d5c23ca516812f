from __future__ import annotations

import os
import pathlib

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # live tf.compat.v1.layers graphs need tf-keras
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES

try:  # property tests: random locally, a fixed example sequence in CI (a red CI is then reproducible)
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # hypothesis is a test extra
    pass
