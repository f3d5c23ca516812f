"""Score bncheck's source mode against the real-code dev corpus (corpus.json).

Each case is a program from a public repository at a pinned commit: one or more files, with the
findings a reader expects (code, path, line, reason) and the codes the reader judged absent.
The files are taken from the local mirrors under ``/work/.mirror`` (``git show COMMIT:path``),
written to a temporary folder with their relative paths, and checked by the bncheck that comes
first on ``PYTHONPATH`` (run as ``python -m bncheck`` in a subprocess, every path named).

    PYTHONPATH=/work/wt/<yours> python tools/source_corpus/score.py [--json] [--case ID]...

Exit status 0 (a measurement), unless ``--strict``: then 1 when a case is not all right or was
skipped. Third-party code is never copied into this repository: only names, commits and lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / "corpus.json"
DEFAULT_MIRROR = Path("/work/.mirror")
CODES = tuple(f"BN{n:03d}" for n in range(1, 13))
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CELL_AT = re.compile(r"cell (\d+):(\d+)")
BNCHECK_TIMEOUT = 600.0


class CorpusError(ValueError):
    """corpus.json does not have the documented shape."""


@dataclass(frozen=True)
class Location:
    """Where a finding may be reported: a path in the case, a line (a span for one statement
    written over several lines), and for notebooks the cell (1-based over all cells, as ruff counts)."""

    path: str
    line: int
    end_line: int
    cell: int | None = None

    def holds(self, path: str, line: int, cell: int | None) -> bool:
        return path == self.path and cell == self.cell and self.line <= line <= self.end_line

    def __str__(self) -> str:
        cell = f":cell {self.cell}" if self.cell is not None else ""
        span = f"-{self.end_line}" if self.end_line != self.line else ""
        return f"{self.path}{cell}:{self.line}{span}"


@dataclass(frozen=True)
class Expectation:
    code: str
    reason: str
    locations: tuple[Location, ...]  # the first is where the reader expects it; others are accepted

    def matches(self, code: str, path: str, line: int, cell: int | None) -> bool:
        return code == self.code and any(loc.holds(path, line, cell) for loc in self.locations)


@dataclass(frozen=True)
class Case:
    id: str
    repo: str
    commit: str
    paths: tuple[str, ...]
    expected: tuple[Expectation, ...]
    silent: tuple[str, ...]  # codes judged absent by reading the program
    confirmed: str
    tolerated: tuple[Expectation, ...] = ()  # arguable: reported there is no false alarm, absent no miss

    @property
    def mirror_name(self) -> str:
        return self.repo.replace("/", "+")


@dataclass(frozen=True)
class Reported:
    """One finding as the scorer compares it: findings on several layers at one line are one."""

    code: str
    path: str
    line: int
    cell: int | None
    message: str

    def __str__(self) -> str:
        cell = f":cell {self.cell}" if self.cell is not None else ""
        return f"{self.code} {self.path}{cell}:{self.line} ({self.message})"


@dataclass
class CaseResult:
    case: Case
    skipped: str = ""  # why the case was not run (mirror missing, bncheck crashed)
    found: list[Expectation] = field(default_factory=list)
    missed: list[Expectation] = field(default_factory=list)
    false_alarms: list[Reported] = field(default_factory=list)
    tolerated: list[Reported] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def all_right(self) -> bool:
        return not (self.skipped or self.missed or self.false_alarms or self.errors)

    def reported_codes(self) -> set[str]:
        return {e.code for e in self.found} | {r.code for r in self.false_alarms}


# ---------------------------------------------------------------------------------------------
# corpus.json


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise CorpusError(f"{where}: {what}")


def _location(raw: Any, where: str, paths: Sequence[str]) -> Location:
    _require(isinstance(raw, Mapping), where, "a location is an object")
    path, line = raw.get("path"), raw.get("line")
    _require(isinstance(path, str) and path in paths, where, f"path {path!r} is not one of the case's paths")
    _require(type(line) is int and line >= 1, where, "line is a positive integer")
    end = raw.get("end_line", line)
    _require(type(end) is int and end >= line, where, "end_line is an integer >= line")
    cell = raw.get("cell")
    _require(cell is None or (type(cell) is int and cell >= 1), where, "cell is a positive integer")
    _require(cell is None or str(path).endswith(".ipynb"), where, "cell is only for .ipynb paths")
    return Location(str(path), int(line), int(end), cell)


def _expectation(raw: Any, where: str, paths: Sequence[str]) -> Expectation:
    _require(isinstance(raw, Mapping), where, "an expectation is an object")
    code, reason = raw.get("code"), raw.get("reason")
    _require(code in CODES, where, f"code {code!r} is not a bncheck code")
    _require(isinstance(reason, str) and len(reason) >= 10, where, "reason is a sentence citing lines")
    alternatives = raw.get("alternatives", [])
    _require(isinstance(alternatives, list), where, "alternatives is a list of locations")
    for alt in alternatives:
        _require(isinstance(alt, Mapping) and isinstance(alt.get("why"), str), where, "an alternative says why")
    locations = (_location(raw, where, paths),) + tuple(
        _location(alt, f"{where} alternative", paths) for alt in alternatives
    )
    return Expectation(str(code), str(reason), locations)


def parse_corpus(data: Any) -> list[Case]:
    """The cases of a loaded corpus.json, validated; :class:`CorpusError` names the first problem."""
    _require(isinstance(data, Mapping) and isinstance(data.get("cases"), list), "corpus", "has a 'cases' list")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["cases"]):
        where = f"case {i}"
        _require(isinstance(raw, Mapping), where, "is an object")
        cid = raw.get("id")
        _require(isinstance(cid, str) and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", cid or "") is not None, where, "id")
        where = f"case {cid}"
        _require(cid not in seen, where, "id is unique")
        seen.add(str(cid))
        repo, commit, paths = raw.get("repo"), raw.get("commit"), raw.get("paths")
        _require(isinstance(repo, str) and _REPO.match(repo) is not None, where, "repo is owner/name")
        _require(isinstance(commit, str) and _HEX40.match(commit) is not None, where, "commit is 40 hex digits")
        _require(isinstance(paths, list) and len(paths) >= 1, where, "paths is a non-empty list")
        for p in paths:
            pure = PurePosixPath(p) if isinstance(p, str) else None
            _require(
                pure is not None and not pure.is_absolute() and ".." not in pure.parts and str(pure) == p,
                where,
                f"path {p!r} is a plain relative path",
            )
        _require(len(set(paths)) == len(paths), where, "paths are unique")
        expected_raw, silent_raw = raw.get("expected"), raw.get("silent")
        _require(isinstance(expected_raw, list), where, "expected is a list")
        _require(isinstance(silent_raw, list), where, "silent is a list")
        expected = tuple(_expectation(e, f"{where} expectation {j}", paths) for j, e in enumerate(expected_raw))
        silent: list[str] = []
        for s in silent_raw:
            _require(isinstance(s, Mapping), where, "a silence is an object")
            _require(s.get("code") in CODES, where, f"silent code {s.get('code')!r}")
            _require(isinstance(s.get("reason"), str) and len(s["reason"]) >= 10, where, "a silence has a reason")
            _require(s["code"] not in {e.code for e in expected}, where, f"{s['code']} both expected and silent")
            silent.append(s["code"])
        _require(bool(expected) or bool(silent), where, "a clean case says which codes it was judged for")
        confirmed = raw.get("confirmed", "")
        _require(isinstance(confirmed, str), where, "confirmed is a string")
        tolerated_raw = raw.get("tolerated", [])
        _require(isinstance(tolerated_raw, list), where, "tolerated is a list")
        tolerated = []
        for j, t in enumerate(tolerated_raw):
            _require(isinstance(t, Mapping) and isinstance(t.get("why"), str), where, "a tolerated finding says why")
            tolerated.append(_expectation({**t, "reason": t["why"]}, f"{where} tolerated {j}", paths))
        cases.append(
            Case(str(cid), str(repo), str(commit), tuple(paths), expected, tuple(silent), str(confirmed), tuple(tolerated))
        )
    return cases


def load_corpus(path: Path) -> list[Case]:
    return parse_corpus(json.loads(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------
# materialising and running


def materialise(case: Case, mirror_root: Path, dest: Path) -> str:
    """Write the case's files at its commit under ``dest``; '' or why it could not."""
    git_dir = mirror_root / case.mirror_name / "repo"
    if (git_dir / ".git").is_dir():  # some snapshots arrive with a work tree
        git_dir = git_dir / ".git"
    if not git_dir.is_dir():
        return f"no mirror at {git_dir}: run the fetch tool with source github:{case.repo}"
    for rel in case.paths:
        shown = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{case.commit}:{rel}"],
            capture_output=True,
            check=False,
        )
        if shown.returncode != 0:
            reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
            return f"{case.repo}@{case.commit[:12]}:{rel} not in the mirror ({reason[-1] if reason else '?'}); fetch it again"
        target = dest.joinpath(*PurePosixPath(rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)
    return ""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    entries = [e for e in env.get("PYTHONPATH", "").split(os.pathsep) if e]
    env["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) for e in entries)
    env["NO_COLOR"] = "1"
    return env


def run_bncheck(folder: Path, paths: Sequence[str]) -> dict[str, Any]:
    """bncheck's JSON report on the named files (paths relative to ``folder``)."""
    # -P: the case folder (third-party files, maybe a bncheck.py of its own) is not put on sys.path
    command = [sys.executable, "-P", "-m", "bncheck", "--isolated", "--exit-zero", "--output-format", "json"]
    command += ["--jobs", "1", "--timeout", "300", "--", *paths]
    try:
        done = subprocess.run(
            command, cwd=folder, env=_child_env(), capture_output=True, timeout=BNCHECK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"crash": f"bncheck ran longer than {BNCHECK_TIMEOUT:.0f} s"}
    try:
        report = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return {"crash": f"exit {done.returncode}, no JSON report: {' | '.join(tail)}"}
    if not isinstance(report, dict):
        return {"crash": "the JSON report is not an object"}
    return report


# ---------------------------------------------------------------------------------------------
# matching


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


_CELL_PATH = re.compile(r"^(.*\.ipynb):cell (\d+)$")
NotebookLines = Mapping[str, Sequence[tuple[int, int]]]


def notebook_lines(source: bytes) -> list[tuple[int, int]]:
    """(cell, line in cell) for each line of a notebook's code cells written one after another.

    Cells are numbered from 1 over all cells, as ruff does; a notebook that does not parse maps
    nothing."""
    try:
        cells = json.loads(source.decode("utf-8")).get("cells", [])
    except (UnicodeDecodeError, ValueError, AttributeError):
        return []
    out: list[tuple[int, int]] = []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], 1):
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        out += [(number, i) for i in range(1, len(text.splitlines()) + 1)]
    return out


def _notebook_place(f: Mapping[str, Any], path: str, line: int | None, nb: NotebookLines) -> tuple[str, int | None, int | None]:
    """A notebook finding's (path, cell, line): an integer ``cell`` key, ``path.ipynb:cell N``,
    ``cell N:L`` in the evidence ``at``, or else ``line`` counted over the code cells in order."""
    cell = _int(f.get("cell"))
    m = _CELL_PATH.match(path)
    if cell is None and m:
        path, cell = m.group(1), int(m.group(2))
    evidence = f.get("evidence")
    at = evidence.get("at") if isinstance(evidence, Mapping) else None
    if cell is None and isinstance(at, str):
        hit = _CELL_AT.search(at)
        if hit:
            cell, line = int(hit.group(1)), int(hit.group(2))
    lines = nb.get(path, ())
    if cell is None and line is not None and 1 <= line <= len(lines):
        cell, line = lines[line - 1]
    return path, cell, line


def reported(findings: Iterable[Mapping[str, Any]], notebooks: NotebookLines | None = None) -> list[Reported]:
    """Findings reduced to (code, path, cell, line), one per place (several layers at one line are one).

    For notebooks see :func:`_notebook_place`."""
    out: dict[tuple[str, str, int | None, int], Reported] = {}
    for f in findings:
        code, path = str(f.get("code", "")), str(f.get("path", "")).replace(os.sep, "/")
        line, cell = _int(f.get("line")), None
        if ".ipynb" in path:
            path, cell, line = _notebook_place(f, path, line, notebooks or {})
        key = (code, path, cell, line if line is not None else 0)
        out.setdefault(key, Reported(code, path, key[3], cell, str(f.get("message", ""))[:160]))
    return list(out.values())


def judge(case: Case, report: Mapping[str, Any], notebooks: NotebookLines | None = None) -> CaseResult:
    """Compare one case's report with its expectations (``notebooks``: see :func:`notebook_lines`)."""
    result = CaseResult(case)
    if "crash" in report:
        result.skipped = f"bncheck failed: {report['crash']}"
        return result
    places = reported((f for f in report.get("findings", []) if isinstance(f, Mapping)), notebooks)
    used: set[int] = set()
    for exp in case.expected:
        hits = [i for i, r in enumerate(places) if exp.matches(r.code, r.path, r.line, r.cell)]
        (result.found if hits else result.missed).append(exp)
        used.update(hits)
    for i, r in enumerate(places):
        if i in used:
            continue
        if any(t.matches(r.code, r.path, r.line, r.cell) for t in case.tolerated):
            result.tolerated.append(r)
        else:
            result.false_alarms.append(r)
    for e in report.get("errors", []):
        if isinstance(e, Mapping):
            result.errors.append(f"{e.get('path')}: {e.get('message')}")
    for n in report.get("notes", []):
        if isinstance(n, Mapping):
            result.notes.append(f"{n.get('path')}: {n.get('message')}")
    return result


def score_case(case: Case, mirror_root: Path) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix=f"bncheck-corpus-{case.id}-") as tmp:
        why = materialise(case, mirror_root, Path(tmp))
        if why:
            return CaseResult(case, skipped=why)
        notebooks = {
            p: notebook_lines(Path(tmp).joinpath(*PurePosixPath(p).parts).read_bytes())
            for p in case.paths
            if p.endswith(".ipynb")
        }
        return judge(case, run_bncheck(Path(tmp), case.paths), notebooks)


# ---------------------------------------------------------------------------------------------
# summary


def per_code(results: Sequence[CaseResult]) -> dict[str, dict[str, int]]:
    """For each code: expected/found, judged silences/kept, false alarms (distinct places)."""
    table: dict[str, dict[str, int]] = {}
    for code in CODES:
        row = {"expected": 0, "found": 0, "silences": 0, "kept_silent": 0, "false_alarms": 0}
        for r in results:
            if r.skipped:
                continue
            row["expected"] += sum(e.code == code for e in r.case.expected)
            row["found"] += sum(e.code == code for e in r.found)
            if code in r.case.silent:
                row["silences"] += 1
                # a file bncheck could not read is silent for the wrong reason
                row["kept_silent"] += code not in r.reported_codes() and not r.errors
            row["false_alarms"] += sum(f.code == code for f in r.false_alarms)
        if any(row.values()):
            table[code] = row
    return table


def summary(results: Sequence[CaseResult]) -> dict[str, Any]:
    run = [r for r in results if not r.skipped]
    return {
        "bncheck": bncheck_origin(),
        "cases": len(results),
        "cases_run": len(run),
        "cases_all_right": sum(r.all_right for r in run),
        "clean_cases": sum(not r.case.expected for r in run),
        "clean_cases_silent": sum(not r.case.expected and not r.false_alarms and not r.errors for r in run),
        "files": sum(len(r.case.paths) for r in results),
        "repos": len({r.case.repo for r in results}),
        "false_alarms": sum(len(r.false_alarms) for r in run),
        "input_errors": sum(len(r.errors) for r in run),
        "skipped": {r.case.id: r.skipped for r in results if r.skipped},
        "per_code": per_code(results),
        "cases_detail": [
            {
                "id": r.case.id,
                "all_right": r.all_right,
                "skipped": r.skipped,
                "missed": [f"{e.code} {e.locations[0]}" for e in r.missed],
                "found": [f"{e.code} {e.locations[0]}" for e in r.found],
                "false_alarms": [str(f) for f in r.false_alarms],
                "tolerated": [str(f) for f in r.tolerated],
                "errors": r.errors,
                "notes": len(r.notes),
            }
            for r in results
        ],
    }


def compare(before: Any, after: Mapping[str, Any]) -> list[str]:
    """What changed between two summaries (the ``--json`` output): per case, what was missed, found
    or falsely reported before and is not now, and the reverse."""
    def places(summary_: Any) -> dict[str, dict[str, set[str]]]:
        cases = summary_.get("cases_detail", []) if isinstance(summary_, Mapping) else []
        return {
            str(c.get("id")): {k: set(map(str, c.get(k, []))) for k in ("missed", "false_alarms", "errors")}
            for c in cases
            if isinstance(c, Mapping)
        }

    old, new = places(before), places(after)
    lines = []
    for cid in sorted(set(old) & set(new)):
        for key, better, worse in (("missed", "now found", "now missed"), ("false_alarms", "false alarm gone", "new false alarm"),
                                   ("errors", "input error gone", "new input error")):
            lines += [f"{cid}: {better}: {x}" for x in sorted(old[cid][key] - new[cid][key])]
            lines += [f"{cid}: {worse}: {x}" for x in sorted(new[cid][key] - old[cid][key])]
    lines += [f"{cid}: not in the previous run" for cid in sorted(set(new) - set(old))]
    return ["", "changes since the previous run:", *(lines or ["(none)"])]


def bncheck_origin() -> str:
    spec = importlib.util.find_spec("bncheck")
    return str(Path(spec.origin).parent) if spec and spec.origin else "(bncheck not importable)"


def render_table(table: Mapping[str, Mapping[str, int]]) -> list[str]:
    lines = ["| code | real cases found | correct silences | false alarms |", "|---|---|---|---|"]
    for code, row in table.items():
        found = f"{row['found']} of {row['expected']}" if row["expected"] else "-"
        silent = f"{row['kept_silent']} of {row['silences']}" if row["silences"] else "-"
        lines.append(f"| {code} | {found} | {silent} | {row['false_alarms']} |")
    return lines


def render(results: Sequence[CaseResult], verbose: bool) -> str:
    s = summary(results)
    out = [f"bncheck: {s['bncheck']}", ""]
    for r in results:
        if r.skipped:
            out.append(f"SKIP  {r.case.id}: {r.skipped}")
            continue
        out.append(f"{'ok  ' if r.all_right else 'DIFF'}  {r.case.id} ({r.case.repo}@{r.case.commit[:10]})")
        rows: list[tuple[str, list[str]]] = [
            ("missed", [f"{e.code} {e.locations[0]}: {e.reason}" for e in r.missed]),
            ("false alarm", [str(f) for f in r.false_alarms]),
            ("input error", r.errors),
        ]
        if verbose:
            rows += [
                ("found", [f"{e.code} {e.locations[0]}" for e in r.found]),
                ("tolerated", [str(f) for f in r.tolerated]),
                ("note", r.notes),
            ]
        out += [f"      {label:<11} {text}" for label, texts in rows for text in texts]
    out += ["", *render_table(s["per_code"]), ""]
    out.append(
        f"cases all right: {s['cases_all_right']} of {s['cases_run']} run ({s['cases']} in the corpus, "
        f"{s['files']} files, {s['repos']} repositories); clean cases kept silent: "
        f"{s['clean_cases_silent']} of {s['clean_cases']}; false alarms: {s['false_alarms']}; "
        f"input errors: {s['input_errors']}; skipped: {len(s['skipped'])}"
    )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="folder of owner+name/repo git dirs")
    parser.add_argument("--case", action="append", default=[], help="only this case id (repeatable)")
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list found expectations and notes")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every case ran and is all right")
    parser.add_argument("--repos", action="store_true", help="list the repositories to fetch (and which are missing)")
    parser.add_argument("--compare", type=Path, metavar="JSON", help="a previous --json output: list what changed since")
    args = parser.parse_args(argv)
    try:
        cases = load_corpus(args.corpus)
    except (OSError, ValueError) as exc:
        print(f"{args.corpus}: {exc}", file=sys.stderr)
        return 2
    if args.repos:
        for repo in sorted({c.repo for c in cases}):
            here = (args.mirror / repo.replace("/", "+") / "repo").is_dir()
            print(f"github:{repo}{'' if here else '    (missing: fetch it)'}")
        return 0
    if args.case:
        unknown = sorted(set(args.case) - {c.id for c in cases})
        if unknown:
            print(f"unknown case id(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.id in args.case]
    results = [score_case(c, args.mirror) for c in cases]
    print(json.dumps(summary(results), indent=2) if args.json else render(results, args.verbose))
    if args.compare:
        try:
            before = json.loads(args.compare.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{args.compare}: {exc}", file=sys.stderr)
            return 2
        print("\n".join(compare(before, summary(results))))
    if args.strict and not all(r.all_right for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
