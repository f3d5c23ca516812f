"""Issue 20 items 1, 7, 10, 12 (formats) and 11 (several reports from one run): machine output
stays machine-readable, notes are shown or counted in every text format, JUnit agrees with the
exit status, GitLab Code Quality and reviewdog rdjson, and source read from stdin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from bncheck.cli import main
from bncheck.engine import check_paths
from bncheck.reporters import render
from cli_support import bncheck_in_process
from conftest import FIXTURES, ROOT

TF1 = FIXTURES / "tf1"
SAVED = TF1 / "saved_model_slim_is_training_true"  # BN002 + BN003 errors on two layers each
MOMENTUM = TF1 / "layers_momentum_0.1.meta"  # BN007 warning on model/bn1 and model/bn2
UNTRAINED = FIXTURES / "keras3" / "untrained.keras"  # clean, one note
DROPOUT = FIXTURES / "source" / "keras_dropout_before_bn.py"  # BN011 warning at 8:5 on bn1
STATS = [{"code": "BN002", "name": "batch-stats-at-inference", "count": 2},
         {"code": "BN003", "name": "inference-updates-stats", "count": 2}]
STATS_TEXT = "    2  BN002  batch-stats-at-inference\n    2  BN003  inference-updates-stats\n"
SCHEMAS = ROOT / "tests" / "schemas"


def real_bncheck(*args: object, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real command, as CI runs it: kept for one run with two reports and one reading a real pipe."""
    return subprocess.run([sys.executable, "-m", "bncheck", *map(str, args)], input=stdin, capture_output=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def bncheck(*args: object, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The command in this process, from the checkout as CI runs it: the same exit status and stdout and
    stderr bytes as :func:`real_bncheck`, without an interpreter's start per run."""
    return bncheck_in_process(*args, stdin=stdin, cwd=ROOT)


def run(*args: object, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def _validate(document: object, schema_file: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / schema_file).read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
    assert errors == []


# ---- item 1: --statistics inside machine formats or on stderr -------------------------------------

@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_statistics_keep_json_documents_valid_for_json_tool(fmt, tmp_path):
    result = bncheck(SAVED, "--output-format", fmt, "--statistics")
    assert result.returncode == 1 and result.stderr == b""
    tool = subprocess.run([sys.executable, "-m", "json.tool"], input=result.stdout, capture_output=True, timeout=60)
    assert tool.returncode == 0, tool.stderr
    data = json.loads(result.stdout)
    assert (data["statistics"] if fmt == "json" else data["runs"][0]["properties"]["statistics"]) == STATS
    out = tmp_path / f"report.{fmt}"  # the same in an --output-file
    assert bncheck(SAVED, "--output-format", fmt, "--statistics", "-o", out).stdout == b""
    assert json.loads(out.read_text()) == data


def test_statistics_are_json_lines_and_junit_properties():
    rows = [json.loads(line) for line in bncheck(SAVED, "--output-format", "json-lines", "--statistics")
            .stdout.splitlines()]
    assert [r for r in rows if r["type"] == "statistics"] == [{"type": "statistics", **s} for s in STATS]
    assert [r["type"] for r in rows] == ["finding"] * 4 + ["note"] + ["statistics"] * 2
    suite = ET.fromstring(bncheck(SAVED, "--output-format", "junit", "--statistics").stdout).find("testsuite")
    assert suite[0].tag == "properties"
    assert [(p.get("name"), p.get("value")) for p in suite[0]] == [
        ("statistics.BN002 batch-stats-at-inference", "2"), ("statistics.BN003 inference-updates-stats", "2")]


@pytest.mark.parametrize("fmt", ["github", "gitlab", "rdjson"])
def test_statistics_go_to_stderr_where_the_format_has_no_place(fmt):
    plain = bncheck(SAVED, "--output-format", fmt)
    result = bncheck(SAVED, "--output-format", fmt, "--statistics")
    assert result.stdout == plain.stdout
    assert result.stderr.decode() == STATS_TEXT


def test_statistics_end_the_text_formats():
    assert run(SAVED, "--output-format", "concise", "--statistics").stdout.endswith(STATS_TEXT)
    assert run(SAVED, "--statistics").stdout.endswith(STATS_TEXT)


# ---- item 7: --show-notes in concise and github --------------------------------------------------

def test_concise_lists_notes_with_show_notes_and_counts_them_without():
    report = check_paths([str(UNTRAINED)])
    assert len(report.notes) == 1
    path, note = report.notes[0]
    assert render(report, "concise").splitlines() == ["no batch-norm problems found in 1 input; 1 note (--show-notes)"]
    assert render(report, "concise", show_notes=True).splitlines() == [
        f"{path}: note: {note}", "no batch-norm problems found in 1 input"]
    shown = run(UNTRAINED, "--output-format", "concise", "--show-notes").stdout
    assert shown == f"{path}: note: {note}\nno batch-norm problems found in 1 input\n"


def test_github_annotates_notes_with_show_notes_and_counts_them_without():
    report = check_paths([str(UNTRAINED)])
    (path, _), = report.notes
    hidden = run(UNTRAINED, "--output-format", "github").stdout
    assert hidden == "::notice title=bncheck::1 note: what bncheck could not judge (--show-notes lists them)\n"
    shown = run(UNTRAINED, "--output-format", "github", "--show-notes").stdout.splitlines()
    assert len(shown) == 1
    assert shown[0].startswith(f"::notice file={os.path.relpath(path)},title=bncheck could not judge::")


def test_github_places_a_source_note_on_its_line(tmp_path):
    script = tmp_path / "m.py"
    script.write_text("from keras import layers\nx = layers.BatchNormalization()  # bncheck: ignroe[BN007]\n")
    shown = run(script, "--output-format", "github", "--show-notes").stdout.splitlines()
    assert shown == [f"::notice file={script.as_posix()},line=2,title=bncheck could not "  # outside the checkout: as given
                     "judge::malformed suppression `# bncheck: ignroe[BN007]`: it silences nothing (write "
                     "`# bncheck: ignore[BN001]` or `# bncheck: ignore`)"]


# ---- item 10: JUnit fails only at --fail-on -------------------------------------------------------

def _valid_junit(text: str) -> None:
    """Valid against tests/schemas/junit.xsd, and the suite's counts are what its cases hold."""
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd")).validate(text)
    for suite in ET.fromstring(text).iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)


def test_junit_with_statistics_errors_and_hostile_names_is_valid():
    from test_output_escaping import hostile_report

    _valid_junit(bncheck(SAVED, MOMENTUM, "missing.pb", "--output-format", "junit", "--statistics").stdout.decode())
    for fail_on in ("error", "info"):
        _valid_junit(render(hostile_report(), "junit", fail_on=fail_on))


@pytest.mark.parametrize("fail_on, failures, status", [("error", 0, 0), ("warning", 2, 1), ("info", 2, 1)])
def test_junit_failures_agree_with_the_exit_status(fail_on, failures, status):
    result = run(MOMENTUM, "--output-format", "junit", "--fail-on", fail_on)
    assert result.exit_code == status
    _valid_junit(result.stdout)
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", str(failures), "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["BN007 model/bn1 [MetaGraph]", "BN007 model/bn2 [MetaGraph]"]
    assert len(suite.findall("testcase/failure")) == failures
    if not failures:  # a passing case still carries the finding
        assert [c.find("system-out").text.splitlines()[0] for c in cases] == [
            "warning: moving-average momentum is 0.1: the moving average is essentially the last batch"] * 2


# ---- item 12: gitlab, rdjson, stdin ----------------------------------------------------------------

def test_gitlab_code_quality_report():
    result = bncheck(SAVED, MOMENTUM, "missing.pb", DROPOUT, "--output-format", "gitlab")
    assert result.returncode == 2
    issues = json.loads(result.stdout)
    _validate(issues, "gitlab-code-quality.schema.json")
    places = [(i["check_name"], i["severity"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues]
    saved_pb = os.path.relpath(SAVED / "saved_model.pb", ROOT)
    assert sorted(places) == sorted(
        [("BN002", "critical", saved_pb, 1)] * 2 + [("BN003", "critical", saved_pb, 1)] * 2
        + [("BN007", "major", os.path.relpath(MOMENTUM, ROOT), 1)] * 2
        + [("BN011", "major", os.path.relpath(DROPOUT, ROOT), 8), ("bncheck/unreadable-input", "blocker", "missing.pb", 1)])
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert json.loads(bncheck(SAVED, MOMENTUM, "missing.pb", DROPOUT, "--output-format", "gitlab").stdout) == issues


def test_rdjson_report():
    result = bncheck(MOMENTUM, "missing.pb", DROPOUT, "--output-format", "rdjson")
    document = json.loads(result.stdout)
    _validate(document, "rdjson.schema.json")
    assert document["source"] == {"name": "bncheck"}
    got = [(d["code"]["value"], d["severity"], d["location"]) for d in document["diagnostics"]]
    momentum = os.path.relpath(MOMENTUM, ROOT)
    assert got == [("BN011", "WARNING", {"path": os.path.relpath(DROPOUT, ROOT),
                                         "range": {"start": {"line": 8, "column": 5}}}),
                   ("BN007", "WARNING", {"path": momentum}), ("BN007", "WARNING", {"path": momentum}),
                   ("unreadable-input", "ERROR", {"path": "missing.pb"})]


def test_source_from_stdin_is_reported_under_its_stdin_filename():
    source = DROPOUT.read_bytes()
    result = real_bncheck("-", "--stdin-filename", "src/train.py", "--output-format", "concise", stdin=source)
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.decode().splitlines() == [
        "src/train.py:8:5: BN011 warning dropout-before-bn: bn1: dropout (line 7) feeds this batch norm directly: "
        "its moving variance will not match inference", "1 finding in 1 input"]
    default = run("-", "--output-format", "json", input=source)
    assert [(f["path"], f["line"]) for f in json.loads(default.stdout)["findings"]] == [("stdin.py", 8)]


def test_notes_on_stdin_source_name_the_stdin_filename():
    source = b"from keras import layers\nx = layers.BatchNormalization()  # bncheck: ignroe[BN007]\n"
    result = run("-", "--stdin-filename", "train.py", "--output-format", "concise", "--show-notes", input=source)
    assert result.stdout.splitlines()[0] == ("train.py:2: note: malformed suppression `# bncheck: ignroe[BN007]`: "
                                             "it silences nothing (write `# bncheck: ignore[BN001]` or "
                                             "`# bncheck: ignore`)")


@pytest.mark.parametrize("args, message", [
    (["-", "--stdin-filename", "model.pb"], "the name must end in .py"),
    (["x.py", "--stdin-filename", "a.py"], "--stdin-filename applies only to PATH - (stdin)"),
    (["-", "x.py"], "PATH - (stdin) is checked alone"),
])
def test_stdin_options_that_cannot_apply_are_usage_errors(args, message):
    result = run(*args, input=b"x = 1\n")
    assert result.exit_code == 2 and message in result.stderr


# ---- item 11: several reports from one run ---------------------------------------------------------

def test_one_run_writes_sarif_to_a_file_and_annotations_to_stdout(tmp_path):
    sarif = tmp_path / "out.sarif"
    result = real_bncheck(MOMENTUM, "--output-format", "sarif", "-o", sarif, "--output-format", "github",
                          "--fail-on", "warning")
    assert result.returncode == 1
    assert [line.split(",")[0] for line in result.stdout.decode().splitlines()] == [
        f"::warning file={os.path.relpath(MOMENTUM, ROOT)}"] * 2
    assert [r["ruleId"] for r in json.loads(sarif.read_text())["runs"][0]["results"]] == ["BN007", "BN007"]


@pytest.mark.parametrize("args, message", [
    (["--output-format", "json", "--output-format", "github"], "only one report can go to stdout"),
    (["-o", "a", "-o", "b"], "2 --output-file for 1 --output-format"),
    (["--output-format", "json", "-o", "a", "--output-format", "sarif", "-o", "a"], "the same --output-file"),
])
def test_output_pairs_that_do_not_pair_up_are_usage_errors(args, message, tmp_path):
    result = run(MOMENTUM, *args)
    assert result.exit_code == 2 and message in result.stderr
