"""One catalogue of rules: every entry implemented and documented, every implementation entered."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bncheck import catalogue
from bncheck.catalogue import ANALYSES, ENTRIES, Entry, implementations
from bncheck.findings import Severity


def test_every_entry_has_an_implementation_and_bad_and_good_code():
    implemented = {impl.code for analysis in ANALYSES for impl in implementations(analysis)}
    assert [e.code for e in ENTRIES] == [f"BN{i:03d}" for i in range(1, len(ENTRIES) + 1)]  # one entry per code
    for e in ENTRIES:
        assert e.code in implemented, f"{e.code} has no implementation"
        assert e.bad.strip() and e.good.strip() and e.doc.strip() and e.summary, e.code
        assert e.bad.strip() != e.good.strip(), e.code


def test_every_implementation_has_an_entry_and_takes_its_description_from_it():
    for analysis in ANALYSES:
        codes = [impl.code for impl in implementations(analysis)]
        assert len(codes) == len(set(codes)), analysis  # one implementation per code and analysis
        for impl in implementations(analysis):
            e = catalogue.entry(impl.code)
            assert e is not None, f"{analysis} {impl.__name__}: {impl.code} not in the catalogue"
            # what it says is the entry's; the runtime brings its own Bad/Good (the monitor attached)
            own = ("name", "severity", "summary") if analysis == "runtime" else ("name", "severity", "summary", "bad",
                                                                                 "good")
            for attribute in own:
                assert getattr(impl, attribute, getattr(e, attribute)) == getattr(e, attribute), impl


def test_which_analyses_implement_each_code():
    both, all3 = ("artefact", "source"), ("artefact", "source", "runtime")
    assert {e.code: e.analyses for e in ENTRIES} == {
        "BN001": all3, "BN002": all3, "BN003": ("artefact", "runtime"), "BN004": both, "BN005": ("artefact", "runtime"),
        "BN006": ("artefact",), "BN007": all3, "BN008": both, "BN009": all3, "BN010": ("source",),
        "BN011": ("source",)}


def test_an_implementation_without_an_entry_cannot_be_defined():
    from bncheck.source.rules import SourceRule

    with pytest.raises(LookupError, match="code 'BN999' has no entry in bncheck.catalogue"):
        type("Stray", (SourceRule,), {"code": "BN999"})


def test_a_registry_line_adds_an_analysis(monkeypatch):
    """What a third analysis (runtime) needs: one ANALYSES line naming its tuple of classes."""
    module = type(sys)("fake_runtime_rules")
    module.RUNTIME_RULES = (type("Watch", (), {"code": "BN001", "__doc__": "Watches the update ops run."}),)
    monkeypatch.setitem(sys.modules, "fake_runtime_rules", module)
    monkeypatch.setitem(ANALYSES, "runtime", "fake_runtime_rules:RUNTIME_RULES")
    implementations.cache_clear()
    catalogue.codes_of.cache_clear()
    try:
        bn001 = catalogue.entry("BN001")
        assert bn001 is not None and bn001.analyses == ("artefact", "source", "runtime")
        assert bn001.explain().endswith("In runtime mode:\n\nWatches the update ops run.\n")
        assert catalogue.usable_codes(["BN00"], None, ["runtime"]) == ["BN001"]
        assert catalogue.markdown_table().splitlines()[0] == \
            "| Code | Name | Severity | Artefact | Source | Runtime | Summary |"
    finally:
        implementations.cache_clear()
        catalogue.codes_of.cache_clear()


def test_explain_shows_each_analysis_docs():
    text = catalogue.entry("bn007").explain()  # type: ignore[union-attr]
    assert text.startswith("BN007 momentum-out-of-range (warning)\n\nThe moving-average momentum (decay)")
    assert "\nBad:\n\n    tf.compat.v1.layers.batch_normalization(x, momentum=0.1," in text
    # the artefact rule's first paragraph is the entry's own first sentence: not said twice
    assert "\nIn artefact mode:\n\nTensorFlow's momentum is the weight of the *old* moving value" in text
    assert text.count("The moving-average momentum (decay) is below 0.5, or not below 1.") == 1
    assert "\nIn source mode:\n\nA literal ``momentum``/``decay`` below 0.5" in text
    assert catalogue.entry("BN010").explain().startswith(  # type: ignore[union-attr]
        "BN010 bias-before-bn (info, source mode only)\n")


@pytest.mark.parametrize(("code", "select", "ignore", "chosen"), [
    ("BN010", None, None, True),
    ("BN010", ["ALL"], None, True),
    ("BN010", None, ["ALL"], False),
    ("BN010", ["BN0"], ["BN01"], False),
    ("BN007", ["BN00"], ["BN01"], True),
    ("BN007", ["BN001"], None, False),
    ("BN007", ["BN007"], ["BN007"], False),
])
def test_one_selection_rule(code, select, ignore, chosen):
    assert catalogue.is_selected(code, select, ignore) is chosen


def test_unusable_selection_says_why():
    assert catalogue.unusable_selection(["BN010"], ["artefact"]) == (
        "--select BN010 selects only BN010, which no rule checks on model artefacts")
    assert catalogue.unusable_selection(["BN005", "BN006"], ["source"]) == (
        "--select BN005,BN006 selects only BN005, BN006, which no rule checks on .py files")
    assert catalogue.unusable_selection(["BN005", "BN010"], ["source"]) is None
    assert catalogue.unusable_selection(["BN01"], ["source", "artefact"]) is None
    assert catalogue.unusable_selection(None, ["source"]) is None
    assert catalogue.unusable_selection(["BN010"], []) is None  # no input found: their errors say why
    with pytest.raises(catalogue.SelectionError, match=r"^--select BN999 matches no rule \(known: BN001, "):
        catalogue.check_known(["BN999"], "--select")


def test_importing_the_catalogue_loads_no_rule_and_no_numpy():
    code = ("import sys, bncheck.catalogue as c; c.entry('BN001'); c.is_selected('BN001', None, None); "
            "print(sorted(m for m in sys.modules if m.startswith(('numpy', 'bncheck.rules', 'bncheck.source'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_rules_json_rows_carry_the_analyses():
    from click.testing import CliRunner

    from bncheck.cli import main

    rows = json.loads(CliRunner().invoke(main, ["--list-rules", "--output-format", "json"]).stdout)
    assert [r["code"] for r in rows] == [e.code for e in ENTRIES]
    assert rows[2] == {"code": "BN003", "name": "inference-updates-stats", "severity": "error",
                       "summary": "serving the model assigns to the moving mean/variance", "analyses": ["artefact", "runtime"]}
    assert rows[9]["analyses"] == ["source"] and rows[9]["source_only"] is True


def test_entries_are_plain_records():
    e = Entry("BN999", "x", Severity.INFO, "s", "d", "b", "g")
    assert e.analyses == ()  # no implementation anywhere
