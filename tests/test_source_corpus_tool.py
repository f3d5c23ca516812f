"""The real-code dev corpus (tools/source_corpus): its file's schema, and the scorer's matching.

No network and no mirror: the scorer's end-to-end path runs on a git repository built here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "source_corpus"


def _load_score() -> ModuleType:
    spec = importlib.util.spec_from_file_location("source_corpus_score", TOOL / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score = _load_score()

HEX = "0123456789abcdef0123456789abcdef01234567"


def _case(**overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": "tiny",
        "repo": "someone/tiny",
        "commit": HEX,
        "paths": ["train.py", "ops.py"],
        "expected": [{"code": "BN001", "path": "train.py", "line": 9, "reason": "minimize at line 9 runs no update ops"}],
        "silent": [{"code": "BN002", "reason": "nothing is served or exported"}],
    }
    case.update(overrides)
    return case


# --- the corpus file ---------------------------------------------------------------------------


def test_corpus_file_has_the_documented_schema() -> None:
    raw = json.loads((TOOL / "corpus.json").read_text(encoding="utf-8"))
    cases = score.parse_corpus(raw)
    for entry in raw["cases"]:
        assert len(entry["commit"]) == 40 and int(entry["commit"], 16) >= 0
        assert entry["paths"] and all(isinstance(p, str) for p in entry["paths"])
        for exp in entry["expected"]:
            assert {"code", "path", "line", "reason"} <= set(exp)
            assert exp["path"] in entry["paths"]
    assert len({c.id for c in cases}) == len(cases)


def test_corpus_is_at_least_thirty_files_from_fifteen_repositories() -> None:
    cases = score.load_corpus(TOOL / "corpus.json")
    assert sum(len(c.paths) for c in cases) >= 30
    assert len({c.repo for c in cases}) >= 15


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"commit": "abc123"}, "commit is 40 hex digits"),
        ({"commit": HEX.upper()}, "commit is 40 hex digits"),
        ({"repo": "no-slash"}, "repo is owner/name"),
        ({"paths": ["../escape.py"]}, "plain relative path"),
        ({"paths": ["/abs.py"]}, "plain relative path"),
        ({"expected": [{"code": "BN001", "path": "other.py", "line": 3, "reason": "a reason long enough"}]}, "not one of"),
        ({"expected": [{"code": "BN001", "path": "train.py", "line": 0, "reason": "a reason long enough"}]}, "positive"),
        ({"expected": [{"code": "BN001", "path": "train.py", "line": 3}]}, "reason"),
        ({"expected": [{"code": "XX1", "path": "train.py", "line": 3, "reason": "a reason long enough"}]}, "not a bncheck code"),
        ({"expected": [], "silent": []}, "judged for"),
        ({"silent": [{"code": "BN001", "reason": "judged absent, but expected"}]}, "both expected and silent"),
    ],
)
def test_schema_violations_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(score.CorpusError, match=message):
        score.parse_corpus({"cases": [_case(**change)]})


# --- matching (no bncheck run) -----------------------------------------------------------------


def _finding(code: str, path: str, line: int, **extra: Any) -> dict[str, Any]:
    return {"code": code, "path": path, "line": line, "message": "m", **extra}


def test_judge_matches_code_path_and_line_and_collapses_layers_at_one_line() -> None:
    (case,) = score.parse_corpus({"cases": [_case()]})
    report = {"findings": [_finding("BN001", "train.py", 9, layer="a"), _finding("BN001", "train.py", 9, layer="b")]}
    result = score.judge(case, report)
    assert [e.code for e in result.found] == ["BN001"]
    assert result.missed == [] and result.false_alarms == [] and result.all_right


def test_judge_wrong_line_is_a_miss_and_a_false_alarm() -> None:
    (case,) = score.parse_corpus({"cases": [_case()]})
    result = score.judge(case, {"findings": [_finding("BN001", "train.py", 10)]})
    assert [str(e.locations[0]) for e in result.missed] == ["train.py:9"]
    assert [(f.code, f.path, f.line) for f in result.false_alarms] == [("BN001", "train.py", 10)]
    assert not result.all_right


def test_judge_wrong_code_or_path_is_a_false_alarm() -> None:
    (case,) = score.parse_corpus({"cases": [_case()]})
    result = score.judge(case, {"findings": [_finding("BN001", "train.py", 9), _finding("BN010", "train.py", 9),
                                             _finding("BN001", "ops.py", 9)]})
    assert [(f.code, f.path) for f in result.false_alarms] == [("BN010", "train.py"), ("BN001", "ops.py")]


def test_judge_accepts_a_statement_span_and_documented_alternatives_only() -> None:
    exp = {"code": "BN010", "path": "ops.py", "line": 4, "end_line": 5, "reason": "bias at ops.py:4-5 feeds BN",
           "alternatives": [{"path": "train.py", "line": 7, "why": "the helper's call site"}]}
    (case,) = score.parse_corpus({"cases": [_case(expected=[exp])]})
    for path, line in (("ops.py", 4), ("ops.py", 5), ("train.py", 7)):
        assert score.judge(case, {"findings": [_finding("BN010", path, line)]}).all_right
    for path, line in (("ops.py", 3), ("ops.py", 6), ("train.py", 8)):
        result = score.judge(case, {"findings": [_finding("BN010", path, line)]})
        assert len(result.missed) == 1 and len(result.false_alarms) == 1


NOTEBOOK = json.dumps({"cells": [
    {"cell_type": "markdown", "source": ["# title\n"]},
    {"cell_type": "code", "source": ["import tensorflow as tf\n", "x = 1\n"]},
    {"cell_type": "code", "source": "with tape:\n    y = model(x)\n"},
]}).encode()


def test_notebook_lines_count_code_cells_in_order_with_cells_numbered_over_all_cells() -> None:
    assert score.notebook_lines(NOTEBOOK) == [(2, 1), (2, 2), (3, 1), (3, 2)]
    assert score.notebook_lines(b"not json") == [] and score.notebook_lines(b"[1]") == []


def test_judge_notebook_locations_by_cell_key_path_evidence_or_concatenated_line() -> None:
    exp = {"code": "BN009", "path": "nb.ipynb", "cell": 3, "line": 2, "reason": "model(x) without training=True"}
    (case,) = score.parse_corpus({"cases": [_case(paths=["nb.ipynb"], expected=[exp])]})
    nb = {"nb.ipynb": score.notebook_lines(NOTEBOOK)}
    for finding in (
        _finding("BN009", "nb.ipynb", 2, cell=3),
        _finding("BN009", "nb.ipynb:cell 3", 2),
        _finding("BN009", "nb.ipynb", 40, evidence={"at": "nb.ipynb:cell 3:2:5"}),
        _finding("BN009", "nb.ipynb", 4),  # the 4th line of the code cells written one after another
    ):
        assert score.judge(case, {"findings": [finding]}, nb).all_right, finding
    for finding in (_finding("BN009", "nb.ipynb", 2, cell=4), _finding("BN009", "nb.ipynb", 3)):
        wrong = score.judge(case, {"findings": [finding]}, nb)
        assert len(wrong.missed) == 1 and len(wrong.false_alarms) == 1, finding


def test_judge_counts_input_errors_and_crashes_against_the_case() -> None:
    (case,) = score.parse_corpus({"cases": [_case()]})
    errored = score.judge(case, {"findings": [_finding("BN001", "train.py", 9)],
                                 "errors": [{"path": "ops.py", "message": "not Python"}]})
    assert errored.errors == ["ops.py: not Python"] and not errored.all_right
    crashed = score.judge(case, {"crash": "exit 1, no JSON report"})
    assert crashed.skipped.startswith("bncheck failed") and not crashed.all_right


def test_per_code_counts_found_silences_and_false_alarms() -> None:
    cases = score.parse_corpus({"cases": [_case(), _case(id="clean", expected=[],
                                                       silent=[{"code": "BN001", "reason": "updates are wired"}])]})
    results = [score.judge(cases[0], {"findings": [_finding("BN001", "train.py", 9)]}),
               score.judge(cases[1], {"findings": [_finding("BN010", "ops.py", 2)]})]
    table = score.per_code(results)
    assert table["BN001"] == {"expected": 1, "found": 1, "silences": 1, "kept_silent": 1, "false_alarms": 0}
    assert table["BN002"] == {"expected": 0, "found": 0, "silences": 1, "kept_silent": 1, "false_alarms": 0}
    assert table["BN010"] == {"expected": 0, "found": 0, "silences": 0, "kept_silent": 0, "false_alarms": 1}
    text = "\n".join(score.render_table(table))
    assert "| BN001 | 1 of 1 | 1 of 1 | 0 |" in text and "| BN010 | - | - | 1 |" in text


# --- end to end on a git repository built here -------------------------------------------------

TRAIN = '''\
import tensorflow.compat.v1 as tf


def main():
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.layers.dense(x, 4, use_bias=False)
    y = tf.layers.batch_normalization(y, training=True)
    loss = tf.reduce_mean(y)
    return tf.train.AdamOptimizer(0.1).minimize(loss)


if __name__ == "__main__":
    main()
'''


def _git_repo(root: Path) -> str:
    work = root / "work"
    (work / "pkg").mkdir(parents=True)
    (work / "pkg" / "train.py").write_text(TRAIN)
    git = ["git", "-C", str(work), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tiny"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    mirror = root / "mirror" / "someone+tiny" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror)], check=True)
    return commit


def test_score_case_end_to_end_on_a_local_mirror(tmp_path: Path) -> None:
    commit = _git_repo(tmp_path)
    right = _case(commit=commit, paths=["pkg/train.py"],
                  expected=[{"code": "BN001", "path": "pkg/train.py", "line": 9, "reason": "minimize at line 9, no deps"}])
    wrong = _case(id="wrong", commit=commit, paths=["pkg/train.py"],
                  expected=[{"code": "BN001", "path": "pkg/train.py", "line": 8, "reason": "deliberately the wrong line"}])
    cases = score.parse_corpus({"cases": [right, wrong]})
    ok = score.score_case(cases[0], tmp_path / "mirror")
    assert ok.skipped == "" and ok.errors == []
    assert [str(e.locations[0]) for e in ok.found] == ["pkg/train.py:9"] and ok.false_alarms == []
    bad = score.score_case(cases[1], tmp_path / "mirror")
    assert [str(e.locations[0]) for e in bad.missed] == ["pkg/train.py:8"]
    assert [(f.code, f.path, f.line) for f in bad.false_alarms] == [("BN001", "pkg/train.py", 9)]


def test_missing_mirror_or_path_is_a_visible_skip(tmp_path: Path) -> None:
    commit = _git_repo(tmp_path)
    (absent,) = score.parse_corpus({"cases": [_case(repo="someone/elsewhere")]})
    result = score.score_case(absent, tmp_path / "mirror")
    assert "fetch tool with source github:someone/elsewhere" in result.skipped and not result.all_right
    (no_file,) = score.parse_corpus({"cases": [_case(commit=commit)]})
    assert "train.py not in the mirror" in score.score_case(no_file, tmp_path / "mirror").skipped


def test_main_prints_the_table_and_exits_zero_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps({"cases": [_case(repo="someone/elsewhere")]}))
    assert score.main(["--corpus", str(corpus), "--mirror", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SKIP  tiny: no mirror" in out and "skipped: 1" in out
    assert score.main(["--corpus", str(corpus), "--mirror", str(tmp_path), "--strict"]) == 1
    capsys.readouterr()
    assert score.main(["--corpus", str(corpus), "--mirror", str(tmp_path), "--json"]) == 0
    skipped = json.loads(capsys.readouterr().out)["skipped"]
    assert list(skipped) == ["tiny"] and skipped["tiny"].endswith("source github:someone/elsewhere")
    assert score.main(["--corpus", str(corpus), "--case", "nope"]) == 2


def test_a_silence_on_a_file_bncheck_could_not_read_is_not_kept() -> None:
    (case,) = score.parse_corpus({"cases": [_case(id="clean", expected=[],
                                                  silent=[{"code": "BN001", "reason": "updates are wired"}])]})
    result = score.judge(case, {"findings": [], "errors": [{"path": "train.py", "message": "not valid Python"}]})
    assert score.per_code([result])["BN001"] == {"expected": 0, "found": 0, "silences": 1, "kept_silent": 0, "false_alarms": 0}
    assert score.summary([result])["clean_cases_silent"] == 0


def test_repos_lists_fetch_sources_and_marks_missing_mirrors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps({"cases": [_case(), _case(id="b", repo="other/here")]}))
    (tmp_path / "other+here" / "repo").mkdir(parents=True)
    assert score.main(["--corpus", str(corpus), "--mirror", str(tmp_path), "--repos"]) == 0
    assert capsys.readouterr().out.splitlines() == ["github:other/here", "github:someone/tiny    (missing: fetch it)"]


def test_compare_lists_what_was_fixed_and_what_regressed() -> None:
    (case,) = score.parse_corpus({"cases": [_case()]})
    before = score.summary([score.judge(case, {"findings": [_finding("BN010", "ops.py", 2)]})])
    after = score.summary([score.judge(case, {"findings": [_finding("BN001", "train.py", 9)],
                                              "errors": [{"path": "ops.py", "message": "bad"}]})])
    assert score.compare(before, after)[2:] == [
        "tiny: now found: BN001 train.py:9",
        "tiny: false alarm gone: BN010 ops.py:2 (m)",
        "tiny: new input error: ops.py: bad",
    ]
    assert score.compare(after, after)[2:] == ["(none)"]
    assert score.compare({}, after)[2:] == ["tiny: not in the previous run"]


def test_a_case_shipping_its_own_bncheck_module_is_not_imported(tmp_path: Path) -> None:
    (tmp_path / "bncheck").mkdir()
    (tmp_path / "bncheck" / "__init__.py").write_text("raise SystemExit('the case folder was imported')\n")
    (tmp_path / "bncheck" / "__main__.py").write_text("raise SystemExit('the case folder was imported')\n")
    (tmp_path / "train.py").write_text(TRAIN)
    report = score.run_bncheck(tmp_path, ["train.py"])
    assert "crash" not in report
    assert [(f["code"], f["path"], f["line"]) for f in report["findings"]] == [("BN001", "train.py", 9)]


def test_tolerated_findings_are_neither_false_alarms_nor_misses() -> None:
    tolerated = [{"code": "BN002", "path": "train.py", "line": 5, "why": "samples drawn during training"}]
    (case,) = score.parse_corpus({"cases": [_case(tolerated=tolerated)]})
    reported = score.judge(case, {"findings": [_finding("BN001", "train.py", 9), _finding("BN002", "train.py", 5)]})
    assert reported.all_right and [(f.code, f.line) for f in reported.tolerated] == [("BN002", 5)]
    assert score.judge(case, {"findings": [_finding("BN001", "train.py", 9)]}).all_right
    elsewhere = score.judge(case, {"findings": [_finding("BN001", "train.py", 9), _finding("BN002", "train.py", 6)]})
    assert [(f.code, f.line) for f in elsewhere.false_alarms] == [("BN002", 6)]
    with pytest.raises(score.CorpusError, match="says why"):
        score.parse_corpus({"cases": [_case(tolerated=[{"code": "BN002", "path": "train.py", "line": 5}])]})
