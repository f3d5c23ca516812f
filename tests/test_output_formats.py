"""Issue 10 (part): output formats, CI flags, and the slips that used to pass silently with exit 0."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

import bncheck
from bncheck.cli import main
from bncheck.engine import check_paths
from bncheck.reporters import FORMATS, render
from bncheck.reporters import sarif as sarif_reporter
from conftest import FIXTURES, ROOT
from test_output_escaping import HOSTILE, hostile_report

TF1 = FIXTURES / "tf1"
MOMENTUM = TF1 / "layers_momentum_0.1.meta"  # BN007 warning on model/bn1 and model/bn2
SAVED = TF1 / "saved_model_slim_is_training_true"  # BN002 + BN003 errors on two layers
CLEAN = TF1 / "layers_resource_update_ops_wired.meta"
RESNET = TF1 / "slim_resnet_v1_50_without_updates.meta"


def run(*args: object, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


# ---- never pass silently ---------------------------------------------------------------------

def test_misspelt_train_op_is_exit_2_naming_the_graph_and_what_was_found():
    result = run(RESNET, "--train-op", "typo")
    assert result.exit_code == 2
    assert result.stderr == (f"bncheck: error: {RESNET}: --train-op 'typo' is not a node of this graph "
                             "(MetaGraph); train ops found: Momentum\n")
    assert "nothing was checked" in result.stdout
    report = bncheck.check_path(RESNET, train_op="typo")
    assert [e.reason for e in report.errors] == ["--train-op 'typo' is not a node of this graph (MetaGraph); "
                                                 "train ops found: Momentum"]


def test_unknown_selector_is_a_usage_error_and_all_selects_everything():
    result = run(MOMENTUM, "--select", "BN999")
    assert result.exit_code == 2 and "--select BN999 matches no rule" in result.stderr
    assert run(MOMENTUM, "--ignore", "XX1").exit_code == 2
    path = TF1 / "handwritten_decay_1e-5_unwired.meta"
    codes = lambda *a: {f["code"] for f in json.loads(run("--output-format", "json", path, *a).stdout)["findings"]}  # noqa: E731
    assert codes("--select", "ALL") == {"BN001", "BN007"} == codes()
    assert codes("--ignore", "ALL") == set()


def test_api_reads_a_selector_string_as_a_comma_list_not_letter_by_letter():
    path = TF1 / "handwritten_decay_1e-5_unwired.meta"
    assert {c for c, _ in bncheck.check_path(path, select="BN007").codes()} == {"BN007"}
    assert {c for c, _ in bncheck.check_path(path, select="BN001,BN007").codes()} == {"BN001", "BN007"}
    assert {c for c, _ in bncheck.check_path(path, select="ALL").codes()} == {"BN001", "BN007"}
    with pytest.raises(TypeError):
        bncheck.check_path(path, select=7)


def test_old_output_option_warns_and_still_names_the_served_tensor():
    path = TF1 / "frozen_layers_training_true.pb"
    new = run("--output-format", "json", "--serve-output", "model/logits/BiasAdd", "--select", "BN002", path)
    old = run("--output-format", "json", "--output", "model/logits/BiasAdd", "--select", "BN002", path)
    assert json.loads(new.stdout)["findings"] == json.loads(old.stdout)["findings"] != []
    assert old.stderr == ("bncheck: warning: --output NAME is deprecated: use --serve-output NAME "
                          "(--output-file PATH writes the report to a file)\n")
    assert new.stderr == ""


def test_same_artefact_given_twice_is_checked_once():
    relative = os.path.relpath(MOMENTUM)
    report = check_paths([str(MOMENTUM), "./" + relative, str(TF1)])
    assert report.checked.count(str(MOMENTUM)) == 1
    assert sum(1 for c in report.checked if os.path.realpath(c) == os.path.realpath(MOMENTUM)) == 1
    assert len([f for f in report.findings if f.code == "BN007" and f.layer == "model/bn1"
                and os.path.realpath(f.path) == os.path.realpath(MOMENTUM)]) == 1


def test_checkpoint_folder_keeps_being_searched_for_exports_and_eval_graphs(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(TF1 / "layers_checkpoint_with_updates", run_dir)
    shutil.copytree(SAVED, run_dir / "export" / "1")
    (run_dir / "eval").mkdir()
    shutil.copy(MOMENTUM, run_dir / "eval" / "graph.meta")
    report = check_paths([str(run_dir)])
    assert report.checked == [str(run_dir), str(run_dir / "eval" / "graph.meta"), str(run_dir / "export" / "1")]
    assert {f.code for f in report.findings} >= {"BN002", "BN003", "BN007"}


def test_nothing_checked_is_never_a_pass(tmp_path):
    result = run(tmp_path / "missing.pb")
    assert result.exit_code == 2
    assert "✗ nothing was checked: 1 input could not be read" in result.stdout
    assert "no batch-norm problems" not in result.stdout
    (tmp_path / "notes.txt").write_text("not a model\n")
    folder = run(tmp_path)  # a folder with nothing bncheck can read
    assert folder.exit_code == 2 and "no batch-norm problems" not in folder.stdout
    assert folder.stderr == (f"bncheck: error: {tmp_path}: no GraphDef, MetaGraph, SavedModel, checkpoint or Keras "
                             "file found in this folder\n")


def test_misspelt_serve_output_is_exit_2_naming_the_graph():
    path = TF1 / "frozen_layers_training_true.pb"
    result = run(path, "--serve-output", "model/logits/BiasAd")
    assert result.exit_code == 2
    assert result.stderr == (f"bncheck: error: {path}: --serve-output 'model/logits/BiasAd' is not a node of this "
                             "graph (GraphDef)\n")
    assert run(path, "--serve-output", "model/logits/BiasAdd:0").exit_code == 1  # a tensor name is fine


def test_a_terminal_that_cannot_encode_the_symbols_gets_ascii(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="cp1252")
    result = subprocess.run([sys.executable, "-m", "bncheck", str(CLEAN)], capture_output=True, env=env, timeout=120)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode("cp1252").rstrip().endswith("ok: no batch-norm problems found in 1 input")


# ---- formats ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_report():
    return check_paths([str(SAVED), str(MOMENTUM), "missing.pb"])


def test_concise_is_one_greppable_line_per_finding(mixed_report):
    lines = render(mixed_report, "concise").splitlines()
    assert lines[0] == (f"{MOMENTUM}[MetaGraph]:model/bn1: BN007 warning momentum-out-of-range: moving-average "
                        "momentum is 0.1: the moving average is essentially the last batch")
    assert lines[2].startswith(f"{SAVED}[MetaGraph [serve]]:net/conv1/BatchNorm: BN002 error batch-stats-at-inference: ")
    assert lines[-1] == "6 findings in 2 inputs; 1 could not be read; 1 note (--show-notes)"  # issue 20 item 7
    assert len(lines) == 7
    assert render(mixed_report, "concise", quiet=True).splitlines() == lines[:-1]


def test_json_has_tool_version_and_schema_version(mixed_report):
    data = json.loads(render(mixed_report, "json"))
    assert (data["tool"], data["version"], data["schema_version"]) == ("bncheck", bncheck.__version__, 1)
    assert len(data["findings"]) == 6 and data["errors"] == [{"path": "missing.pb", "message": "no such file or folder"}]


def test_json_lines_one_object_per_line(mixed_report):
    rows = [json.loads(line) for line in render(mixed_report, "json-lines").splitlines()]
    assert [r["type"] for r in rows] == ["finding"] * 6 + ["error", "note"]
    assert rows[0]["code"] == "BN007" and rows[6]["path"] == "missing.pb" and rows[7]["path"] == str(SAVED)


GITHUB_LINE = re.compile(r"^::(error|warning|notice) file=([^,:]*),title=([^,:]*)::([^\r\n]*)$")


def _unescape(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations_parse_back(mixed_report):
    *lines, count = render(mixed_report, "github").splitlines()
    assert count == "::notice title=bncheck::1 note: what bncheck could not judge (--show-notes lists them)"
    parsed = [GITHUB_LINE.match(line).groups() for line in lines]
    assert parsed[0] == ("warning", os.path.relpath(MOMENTUM), "BN007 model/bn1 (MetaGraph)",
                         "moving-average momentum is 0.1: the moving average is essentially the last batch")
    assert parsed[2][:3] == ("error", os.path.relpath(SAVED / "saved_model.pb"), "BN002 net/conv1/BatchNorm (MetaGraph [serve])")
    assert parsed[-1] == ("error", "missing.pb", "bncheck could not read this input", "no such file or folder")


def test_github_annotations_of_hostile_names_stay_one_command_each():
    lines = render(hostile_report(), "github").splitlines()[:-1]  # the last: the note count (issue 20 item 7)
    assert len(lines) == 2
    level, file, title, message = GITHUB_LINE.match(lines[0]).groups()
    assert (level, _unescape(title).split(" ", 1)[0]) == ("warning", "BN007")
    assert "\x1b" not in "".join(lines) and _unescape(title).startswith("BN007 bn\\x1b[2J\\nbncheck")


SARIF_SCHEMA = ROOT / "tests" / "sarif" / "sarif-schema-2.1.0.json"  # the official OASIS file, see PROVENANCE.md
RELATIVE_URI = re.compile(r"^(?![A-Za-z][A-Za-z0-9+.-]*:)(?!/)(?!\.\./)[^\\ ]+$")


def assert_valid_sarif(log: dict, remote: bool = False) -> None:
    """``log`` is valid against the official SARIF 2.1.0 schema (Draft 7, as GitHub reads it, and
    the Draft 4 the file declares; URI and date-time formats checked) and meets GitHub code
    scanning's own requirements: a fingerprint per result, every ruleId/ruleIndex a rule of the
    driver, artefact URIs relative to the repository (an fsspec URL when ``remote``)."""
    jsonschema = pytest.importorskip("jsonschema")
    raw = SARIF_SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
    schema = json.loads(raw)
    checker = jsonschema.FormatChecker()
    assert {"uri", "uri-reference", "date-time"} <= set(checker.checkers)  # rfc3986/rfc3339 validators installed
    for validator in (jsonschema.Draft7Validator, jsonschema.Draft4Validator):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema, format_checker=checker).iter_errors(log)]
        assert errors == [], (validator.__name__, errors[:5])
    assert log["version"] == "2.1.0" and log["$schema"] == sarif_reporter.SCHEMA
    for run_ in log["runs"]:
        rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
        assert rules == [r.code for r in bncheck.rules.RULES] + ["BN010", "BN011"]
        for result in run_["results"]:
            assert result["ruleId"] in rules and rules[result["ruleIndex"]] == result["ruleId"]
            assert re.fullmatch(r"[0-9a-f]{32}", result["partialFingerprints"][sarif_reporter.FINGERPRINT_KEY])
            for location in result["locations"]:
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                assert (uri.startswith("memory://") if remote else RELATIVE_URI.match(uri)), uri
                assert location["logicalLocations"][0]["name"]


def test_sarif_of_every_fixture_is_valid_against_the_official_schema():
    report = check_paths([str(FIXTURES / "tf1"), str(FIXTURES / "keras3"), str(FIXTURES / "tfkeras"), "missing.pb"])
    log = json.loads(render(report, "sarif"))
    assert_valid_sarif(log)
    run_ = log["runs"][0]
    assert len(run_["results"]) == len(report.findings) > 200
    assert {r["level"] for r in run_["results"]} == {"error", "warning"}
    levels = [n["level"] for n in run_["invocations"][0]["toolExecutionNotifications"]]
    assert levels == ["error"] + ["note"] * len(report.notes) and len(report.notes) > 0


def test_sarif_of_source_mode_has_regions_and_is_valid():
    report = check_paths([str(FIXTURES / "source")])
    log = json.loads(render(report, "sarif"))
    assert_valid_sarif(log)
    places = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
               r["locations"][0]["physicalLocation"].get("region")) for r in log["runs"][0]["results"]]
    in_python = [region for uri, region in places if uri.endswith(".py")]
    assert len(in_python) > 20 and all(r["startLine"] >= 1 and r["startColumn"] >= 1 for r in in_python)
    assert all(region is None for uri, region in places if not uri.endswith(".py"))  # graphs/: artefacts
    first = next(f for f in report.findings if f.line is not None)
    assert places[report.findings.index(first)][1] == {"startLine": first.line, "startColumn": first.column}


def test_sarif_counts_suppressed_findings_without_making_them_results(mixed_report):
    from bncheck.baseline import apply
    from bncheck.config import Suppression

    rule = Suppression(reason="momentum 0.1 on purpose", code="BN007", origin="pyproject.toml suppress #1")
    report, unused = apply(mixed_report, [rule])
    assert unused == []
    log = json.loads(render(report, "sarif"))
    assert_valid_sarif(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["BN002", "BN003", "BN002", "BN003"]
    assert log["runs"][0]["invocations"][0]["properties"] == {
        "suppressed": 2, "suppressedBy": {"pyproject.toml suppress #1: momentum 0.1 on purpose": 2}}


def test_sarif_of_hostile_names_and_of_an_empty_run_is_valid():
    assert_valid_sarif(json.loads(render(hostile_report(), "sarif")))
    empty = json.loads(render(check_paths(["missing.pb"]), "sarif"))
    assert_valid_sarif(empty)
    assert empty["runs"][0]["results"] == [] and empty["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_sarif_structure_rules_locations_and_fingerprints(mixed_report):
    log = json.loads(render(mixed_report, "sarif"))
    assert_valid_sarif(log)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in bncheck.rules.RULES] + ["BN010", "BN011"]
    assert rules[-1]["help"]["text"].startswith("BN011 dropout-before-bn (warning, source mode only)")
    assert rules[0]["help"]["text"] == bncheck.catalogue.entry(bncheck.rules.RULES[0].code).explain()
    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["BN007", "BN007", "BN002", "BN003", "BN002", "BN003"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {os.path.relpath(MOMENTUM), os.path.relpath(SAVED / "saved_model.pb")}
    assert results[2]["locations"][0]["logicalLocations"][0]["name"] == "net/conv1/BatchNorm"
    prints = [r["partialFingerprints"][sarif_reporter.FINGERPRINT_KEY] for r in results]
    assert len(set(prints)) == 6  # distinct per (code, graph, layer)
    again = json.loads(render(check_paths([str(SAVED), str(MOMENTUM)]), "sarif"))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [r["partialFingerprints"] for r in results]
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert run_["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == "missing.pb: no such file or folder"


def test_sarif_uri_of_a_non_utf8_file_name_is_percent_encoded(tmp_path):
    name = os.fsdecode(b"caf\xe9 1.meta")
    shutil.copy(MOMENTUM, tmp_path / name)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        log = json.loads(render(check_paths([name]), "sarif"))
    finally:
        os.chdir(cwd)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"caf%E9%201.meta"}
    assert_valid_sarif(log)


def test_junit_xml_counts_cases_and_survives_hostile_names(mixed_report):
    suite = ET.fromstring(render(mixed_report, "junit")).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "4", "1")  # BN007 warnings pass
    all_fail = ET.fromstring(render(mixed_report, "junit", fail_on="info")).find("testsuite")
    assert all_fail.get("failures") == "6"
    first = suite.find("testcase")
    assert (first.get("classname"), first.get("name")) == (str(MOMENTUM), "BN007 model/bn1 [MetaGraph]")
    hostile = ET.fromstring(render(hostile_report(), "junit", fail_on="warning"))  # well-formed despite control characters
    assert hostile.find("testsuite/testcase/failure").get("type") == "BN007 momentum-out-of-range"


def test_every_format_escapes_model_supplied_text():
    report = hostile_report()
    for fmt in FORMATS[1:]:
        text = render(report, fmt)
        assert "\x1b" not in text and "\ud800" not in text and "\udcff" not in text, fmt
        text.encode("utf-8")
    assert HOSTILE not in render(report, "concise")


# ---- the CI flags --------------------------------------------------------------------------

def test_output_format_from_the_environment_and_the_old_flag():
    env_run = run(MOMENTUM, env={"BNCHECK_OUTPUT_FORMAT": "concise"})
    assert env_run.stdout.splitlines()[-1] == "2 findings in 1 input"
    assert json.loads(run("--format", "json", MOMENTUM).stdout)["tool"] == "bncheck"
    assert run("--format", "text", MOMENTUM).stdout == run(MOMENTUM).stdout


def test_output_file_receives_the_report(tmp_path):
    out = tmp_path / "report.sarif"
    result = run("--output-format", "sarif", "--output-file", out, MOMENTUM)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
    text_out = tmp_path / "report.txt"
    assert run("-o", text_out, SAVED).exit_code == 1
    assert "BN002" in text_out.read_text() and "\x1b" not in text_out.read_text()
    assert run("-o", tmp_path / "no" / "such" / "dir.txt", MOMENTUM).exit_code == 2


def test_exit_zero_quiet_statistics_and_notes():
    assert run(SAVED).exit_code == 1
    assert run(SAVED, "--exit-zero").exit_code == 0
    assert run(SAVED, "missing.pb", "--exit-zero").exit_code == 2  # unusable input is never waved through
    quiet = run(SAVED, "-q", "--output-format", "concise").stdout.splitlines()
    assert len(quiet) == 4 and all(" BN00" in line for line in quiet)
    stats = run(SAVED, "-q", "--output-format", "concise", "--statistics").stdout.splitlines()[4:]
    assert stats == ["    2  BN002  batch-stats-at-inference", "    2  BN003  inference-updates-stats"]
    untrained = FIXTURES / "keras3" / "untrained.keras"
    folded = run(untrained).stdout
    assert "note:" not in folded and "; 1 note (--show-notes)" in folded
    shown = run(untrained, "--show-notes").stdout
    assert "note: " in shown and "(--show-notes)" not in shown


def test_color_flag():
    assert "\x1b[" in run(SAVED, "--color", "always").stdout
    assert "\x1b[" not in run(SAVED, "--color", "never").stdout


COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-9]|4[0-9]|9[0-7])(?:;[0-9]+)*m")


def test_no_color_is_respected():
    forced = run(SAVED, env={"FORCE_COLOR": "1", "NO_COLOR": None}).stdout  # as on a terminal
    assert COLOUR.search(forced)
    assert not COLOUR.search(run(SAVED, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)
    assert "\x1b[" not in run(SAVED, env={"NO_COLOR": "1", "FORCE_COLOR": None}).stdout


def test_extend_select_adds_to_select_from_the_config(tmp_path):
    path = TF1 / "handwritten_decay_1e-5_unwired.meta"  # BN001 and BN007
    config = tmp_path / "bncheck.toml"
    codes = lambda: {f["code"] for f in json.loads(  # noqa: E731
        run("--config", config, "--output-format", "json", path).stdout)["findings"]}
    config.write_text('select = ["BN001"]\n')  # a bncheck.toml holds the table's keys at the top, as ruff.toml
    assert codes() == {"BN001"}
    config.write_text('select = ["BN001"]\nextend-select = ["BN007"]\n')
    assert codes() == {"BN001", "BN007"}


# ---- the Python API ------------------------------------------------------------------------

def test_severity_compares_with_its_names():
    from bncheck import Severity

    assert Severity.ERROR == "error" and Severity.WARNING != "error" and Severity.WARNING >= "warning"
    assert Severity.INFO < "warning" < Severity.ERROR and sorted(["error", Severity.INFO, Severity.WARNING]) == [
        Severity.INFO, Severity.WARNING, "error"]
    assert {Severity.ERROR: 1}[Severity.ERROR] == 1 and Severity.ERROR == 3
    with pytest.raises(ValueError):
        Severity.parse("fatal")


def test_report_exit_code_filter_records_sarif_and_strict(mixed_report):
    report = bncheck.check_path([SAVED, MOMENTUM])
    assert report.exit_code("warning") == 1 and report.exit_code() == 1
    assert report.filter(code="BN007").exit_code() == 0 and report.filter(code="BN007").exit_code("warning") == 1
    assert [f.layer for f in report.filter(severity="error", layer="net/conv1/*")] == ["net/conv1/BatchNorm"] * 2
    assert len(report.filter(path="*.meta")) == 2
    rows = report.to_records()
    assert rows[0]["code"] == "BN007" and rows[0]["evidence.momentum"] == 0.1
    assert rows[0]["evidence.update ops"].startswith("model/bn1/AssignMovingAvg/AssignSubVariableOp, ")
    assert report.to_sarif()["runs"][0]["results"][0]["ruleId"] == "BN007"
    with pytest.raises(bncheck.InputError, match="^missing.pb: no such file or folder$"):
        bncheck.check_path([MOMENTUM, "missing.pb"], strict=True)
    assert bncheck.Report([]).exit_code() == 2  # nothing checked is never a pass


def test_list_rules_one_line_each_and_as_json():
    lines = run("--list-rules").stdout.splitlines()
    assert len(lines) == len(bncheck.rules.RULES) + 2  # and the source-only BN010, BN011
    assert lines[0].split()[:3] == ["BN001", "update-not-run", "error"]
    assert lines[-1].startswith("BN011 dropout-before-bn") and lines[-1].endswith("(source mode)")
    rows = json.loads(run("--list-rules", "--output-format", "json").stdout)
    assert [r["code"] for r in rows] == [r.code for r in bncheck.rules.RULES] + ["BN010", "BN011"]
    assert rows[-1]["source_only"] is True
    assert rows[6] == {"code": "BN007", "name": "momentum-out-of-range", "severity": "warning",
                       "summary": bncheck.rules.RULES[6].summary, "analyses": ["artefact", "source", "runtime"]}


def test_full_report_to_a_pipe_is_never_wrapped_or_padded():
    result = run(TF1 / "slim_resnet_v1_50_without_updates.meta")  # CliRunner's stdout is not a terminal
    lines = result.stdout.splitlines()
    assert lines[0] == f"{TF1 / 'slim_resnet_v1_50_without_updates.meta'}  MetaGraph"  # no rule drawn to a width
    assert all(line == line.rstrip() for line in lines)
    assert ("      update ops not run: resnet_v1_50/block1/unit_1/bottleneck_v1/conv1/BatchNorm/AssignMovingAvg/"
            "AssignSubVariableOp, resnet_v1_50/block1/unit_1/bottleneck_v1/conv1/BatchNorm/AssignMovingAvg_1/"
            "AssignSubVariableOp") in lines
    assert lines[-1] == "✗ 53 findings (53 errors) on 53 layers in 1 input"


# ---- integrations --------------------------------------------------------------------------

def test_pre_commit_hook_for_artefacts_and_saved_model_pb_by_name_reads_its_folder():
    yaml = pytest.importorskip("yaml")
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["bncheck"]
    assert hook["entry"].split()[0] == "bncheck" and hook["language"] == "python"
    files = re.compile(hook["files"])
    for name in ("models/a.pb", "a.pbtxt", "x/model.meta", "m.keras", "w.h5", "w.hdf5", "export/1/saved_model.pb",
                 "ckpt/checkpoint", "checkpoint"):
        assert files.search(name), name
    for name in ("train.py", "checkpoint.txt", "notes.md", "model.pb.bak"):
        assert not files.search(name), name
    by_name = check_paths([str(SAVED / "saved_model.pb")])
    by_folder = check_paths([str(SAVED)])
    assert by_name.to_dict() == by_folder.to_dict() and by_name.checked == [str(SAVED)]
    ckpt = TF1 / "layers_checkpoint_with_updates"
    assert check_paths([str(ckpt / "checkpoint")]).checked == [str(ckpt)]


def test_github_action_uploads_sarif_and_fails_with_bncheck():
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    check = next(s for s in steps if s.get("id") == "check")
    assert "--output-format sarif --output-file" in check["run"] and "--output-format github" in check["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert steps[-1]["run"] == 'exit "${BNCHECK_STATUS:-2}"'  # issue 20 item 11: inputs as env, see test_action.py


def test_the_package_passes_mypy_strict():
    """The whole package, as pyproject's [tool.mypy] sets it (strict; untyped third-party modules listed)."""
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found in ")
    assert (ROOT / "bncheck" / "py.typed").exists()


def test_notebook_html_is_a_fragment_with_a_collapsible_block_per_file():
    report = bncheck.check_path([SAVED, MOMENTUM])
    html = report._repr_html_()
    assert html.startswith('<div class="bncheck-report">') and html.endswith("</div>")
    assert not any(tag in html.lower() for tag in ("<html", "<head", "<body", "<style", "<script"))
    assert html.count("<details open>") == 2
    assert f"<summary style=\"cursor:pointer\"><b>{MOMENTUM}</b>" in html and "&middot; 2 findings</summary>" in html
    assert "white-space:pre-wrap" in html  # wraps at the notebook cell's width, not at a console width
    assert not re.search(r" +(</span>)*\n", html)  # no padding to a console width
    assert str(report) == str(report)  # rendering has no side effect


def test_wrong_argument_types_raise_type_error_and_a_live_graph_typo_is_an_error():
    for call in (lambda: bncheck.check_path(123), lambda: bncheck.check_path(MOMENTUM, jobs="2"),
                 lambda: bncheck.check_path(MOMENTUM, timeout=0), lambda: bncheck.check_graph(3.5)):
        with pytest.raises(TypeError):
            call()
    from bncheck.loaders.protobuf_io import META_GRAPH_DEF, parse_file

    _, meta = parse_file(str(RESNET), RESNET.read_bytes())
    assert META_GRAPH_DEF
    report = bncheck.check_graph(meta, train_op="typo")
    assert [e.reason for e in report.errors] == ["--train-op 'typo' is not a node of this graph (MetaGraph); "
                                                 "train ops found: Momentum"]


# ---- remote artefacts (fsspec) -----------------------------------------------------------------

def test_remote_artefacts_through_fsspec_memory_filesystem(monkeypatch):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.put(str(MOMENTUM), "/bncheck-test/m.meta")
    fs.put(str(SAVED), "/bncheck-test/export", recursive=True)
    try:
        # in this process: memory:// lives in it, and once any test started threads (TensorFlow)
        # workers are spawned, not forked, and cannot see it
        report = check_paths(["memory://bncheck-test/export", "memory://bncheck-test/m.meta",
                              "memory://bncheck-test/missing.pb"], isolate=False)
    finally:
        fs.rm("/bncheck-test", recursive=True)
    assert report.checked == ["memory://bncheck-test/export", "memory://bncheck-test/m.meta"]
    assert {(f.path, f.code) for f in report} == {("memory://bncheck-test/export", "BN002"),
                                                 ("memory://bncheck-test/export", "BN003"),
                                                 ("memory://bncheck-test/m.meta", "BN007")}
    assert [str(e) for e in report.errors] == ["memory://bncheck-test/missing.pb: no such file or folder"]
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as without the extra
    result = run("gs://bucket/model.pb", MOMENTUM)
    assert result.exit_code == 2
    assert result.stderr == "bncheck: error: gs://bucket/model.pb: remote paths need fsspec: pip install 'bncheck[remote]'\n"


def test_pre_commit_try_repo_runs_the_artefact_hook(tmp_path):
    """The hook as pre-commit runs it: its own environment installed from this repository."""
    if shutil.which("pre-commit") is None and not shutil.which("git"):
        pytest.skip("pre-commit or git missing")
    pytest.importorskip("pre_commit")
    repo = tmp_path / "scratch"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    shutil.copytree(SAVED, repo / "export")
    shutil.copy(CLEAN, repo / "clean.meta")
    (repo / "notes.txt").write_text("not a model\n")
    git("add", ".")
    env = dict(os.environ, PRE_COMMIT_COLOR="never")
    result = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "bncheck", "--all-files"],
                            cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "bncheck (model artefacts)" in out and "Failed" in out
    assert "export[MetaGraph [serve]]:net/conv1/BatchNorm: BN002 error batch-stats-at-inference" in out
    assert "4 findings in 2 inputs" in out  # export/ (from saved_model.pb by name) and clean.meta


def test_the_declared_protobuf_floor_gives_the_same_findings(tmp_path):
    """pyproject declares protobuf>=4.25 (4.24 segfaults on TF2 SavedModels): protobuf at exactly
    the floor (installed alone, ahead of this environment's packages) checks the fixtures to the same findings."""
    floor = re.search(r'"protobuf>=([\d.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    target = tmp_path / "floor"  # only protobuf at the floor, ahead of this environment's packages
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                              f"protobuf=={floor}.*"], capture_output=True, text=True, timeout=900)
    if install.returncode != 0:
        pytest.skip(f"cannot install protobuf {floor} here: {install.stderr.strip().splitlines()[-1:]}")
    python = sys.executable
    paths = [str(TF1), str(FIXTURES / "keras3"), str(FIXTURES / "tfkeras")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(ROOT)]))
    version = subprocess.run([python, "-c", "import google.protobuf as p; print(p.__version__)"],
                             capture_output=True, text=True, env=env, check=True).stdout
    assert version.startswith(floor + ".")
    at_floor = subprocess.run([python, "-m", "bncheck", "--output-format", "json", *paths], capture_output=True,
                              text=True, env=env, timeout=900)
    here = subprocess.run([sys.executable, "-m", "bncheck", "--output-format", "json", *paths], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=900)
    assert at_floor.stderr == here.stderr == ""
    key = lambda out: sorted((f["path"], f["code"], f["layer"]) for f in json.loads(out)["findings"])  # noqa: E731
    assert key(at_floor.stdout) == key(here.stdout) != []
