"""How a report shows itself: terminal, notebook, JSON."""
from __future__ import annotations

import io
import json

from rich.console import Console

import bncheck
from bncheck.reporters.terminal import compact_layer_list
from conftest import FIXTURES


def _text(report, width=100) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True).print(report)
    return buf.getvalue()


def test_resnet_with_53_findings_fits_one_screen():
    report = bncheck.check_path(FIXTURES / "tf1" / "slim_resnet_v1_50_without_updates.meta")
    out = _text(report)
    assert len(out.splitlines()) <= 40
    assert "×53 layers" in out
    assert "block3/unit_6/bottleneck_v1/{conv1,conv2,conv3}" in out
    assert "create_train_op" in out
    assert out.strip().splitlines()[-1].startswith("✗ 53 findings (53 errors) on 53 layers in 1 input")


def test_few_findings_are_listed_by_layer_with_evidence_and_fix():
    out = _text(bncheck.check_path(FIXTURES / "tf1" / "saved_model_flag_default_true"))
    assert out.index("model/bn1") < out.index("model/bn2")
    assert "BN002 error" in out and "BN004 warning" in out
    assert "placeholder_with_default(False" in out
    assert "run by: signature 'serving_default'" in out


def test_notebook_html_and_plain_str():
    report = bncheck.check_path(FIXTURES / "tf1" / "layers_momentum_0.1.meta")
    html = report._repr_html_()
    assert html.startswith('<div class="bncheck-report">') and "BN007" in html  # a fragment, not a page
    assert "BN007 warning momentum-out-of-range" in str(report)
    assert repr(report) == "<Report 2 findings, 0 errors>"


def test_clean_report_says_so():
    out = _text(bncheck.check_path(FIXTURES / "tf1" / "slim_create_train_op.meta"))
    assert "✓ no batch-norm problems found in 1 input" in out


def test_compact_layer_list():
    assert compact_layer_list(["a/b1/conv1/BN", "a/b1/conv2/BN", "a/c/BN"]) == ("a/", "b1/{conv1,conv2}, c", "/BN")


def test_findings_are_immutable_and_serialisable():
    finding = next(iter(bncheck.check_path(FIXTURES / "tf1" / "layers_momentum_0.1.meta")))
    try:
        finding.layer = "x"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("Finding must be frozen")
    assert json.loads(json.dumps(finding.to_dict()))["code"] == "BN007"
