"""Output a model cannot forge: every model-supplied string (node, layer and variable names, file
names, checkpoint paths) is escaped by every reporter, so no terminal control, no extra line, no
lone surrogate and no non-UTF-8 byte reaches the user raw, and nothing crashes on them."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner
from rich.console import Console

from bncheck.cli import main
from bncheck.errors import InputError
from bncheck.findings import Finding, Severity
from bncheck.report import Report
from bncheck.reporters import json as json_reporter
from bncheck.reporters import terminal
from bncheck.reporters.escaping import printable, printable_lines, valid_unicode
from cli_support import bncheck_in_process
from conftest import FIXTURES, ROOT

CLEAR = "\x1b[2J"
FORGE = "\nbncheck: error: forged"
HOSTILE = f"bn{CLEAR}{FORGE}\r\x00\x7f\x9b\u202e\u2028\ud800\udcff"
HOSTILE_SHOWN = "bn\\x1b[2J\\nbncheck: error: forged\\r\\x00\\x7f\\x9b\\u202e\\u2028\\ud800\\xff"
RAW = [CLEAR[0], "\r", "\x00", "\x7f", "\x9b", "\u202e", "\u2028", "\ud800", "\udcff"]


def test_printable_escapes_controls_format_characters_and_surrogates():
    assert printable(HOSTILE) == HOSTILE_SHOWN
    assert printable("model/bn1 ünïcødé 批量 ok") == "model/bn1 ünïcødé 批量 ok"  # printable text untouched
    assert printable("tab\there\u00a0nbsp") == "tab\\there\u00a0nbsp"
    assert printable(os.fsdecode(b"caf\xe9.pb")) == "caf\\xe9.pb"  # a non-UTF-8 byte shows as the byte
    assert printable_lines("a = 1\nname = 'x\x1b'") == "a = 1\nname = 'x\\x1b'"
    assert valid_unicode({"k\ud800": ["x\udcff", ("\x1b",)], "n": 1.5}) == {"k\\ud800": ["x\\xff", ["\x1b"]], "n": 1.5}


def hostile_report() -> Report:
    finding = Finding(
        code="BN007", rule="momentum-out-of-range", severity=Severity.WARNING, layer=HOSTILE,
        message=f"momentum of {HOSTILE} is 0.1", path=f"models/{HOSTILE}.meta", graph=f"MetaGraph [{HOSTILE}]",
        evidence=(("update ops", (f"{HOSTILE}/AssignSub", "other")), (f"key{CLEAR}", f"value{FORGE}")),
        fix=f"tf.compat.v1.layers.batch_normalization(x, name={HOSTILE!r}, momentum=0.99)\n# second line")
    return Report([finding], [InputError(f"broken{HOSTILE}.pb", f"bad value {HOSTILE}")],
                  [f"models/{HOSTILE}.meta"], [(f"models/{HOSTILE}.keras", f"note about {HOSTILE}")])


def assert_clean(text: str) -> None:
    for char in RAW:
        assert char not in text, repr(char)
    text.encode("utf-8")  # never raises: no surrogate left
    assert not any(line.lstrip().startswith("bncheck: error: forged") for line in text.splitlines())


@pytest.mark.parametrize("collapsed", [False, True], ids=["by layer", "collapsed block"])
def test_text_reporter_escapes_every_field(collapsed):
    report = hostile_report()
    if collapsed:  # four layers with the same finding render as one block listing the names
        base = report.findings[0]
        report.findings = [Finding(**{**base.__dict__, "layer": f"{HOSTILE}/{i}"}) for i in range(4)]
    out = io.StringIO()
    terminal.print_report(report, Console(file=out, width=400, force_terminal=False, color_system=None))
    text = out.getvalue()
    assert_clean(text)
    assert HOSTILE_SHOWN in text
    assert f"error: broken{HOSTILE_SHOWN}.pb: bad value {HOSTILE_SHOWN}" in text
    assert f"note: models/{HOSTILE_SHOWN}.keras: note about {HOSTILE_SHOWN}" in text


def test_notebook_and_str_renderings_escape_too():
    report = hostile_report()
    assert_clean(str(report))
    html = report._repr_html_()
    assert_clean(html)
    assert "bn\\x1b[2J\\nbncheck: error: forged\\r\\x00" in html


def test_json_reporter_is_ascii_valid_unicode_and_lossless_for_control_characters():
    text = json_reporter.render(hostile_report())
    assert text.isascii() and "\x1b" not in text
    data = json.loads(text)
    # control characters survive as JSON escapes (lossless); lone surrogates become visible escapes
    assert data["findings"][0]["layer"] == f"bn{CLEAR}{FORGE}\r\x00\x7f\x9b\u202e\u2028\\ud800\\xff"
    assert data["errors"][0]["path"] == f"broken{data['findings'][0]['layer']}.pb"
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # valid Unicode all through


def test_cli_stderr_is_one_escaped_line_per_error(monkeypatch):
    monkeypatch.setattr("bncheck.cli.check_paths", lambda *a, **k: hostile_report())
    result = CliRunner().invoke(main, ["whatever"])
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: broken{HOSTILE_SHOWN}.pb: bad value {HOSTILE_SHOWN}\n"
    assert_clean(result.stdout)
    result = CliRunner().invoke(main, ["--format", "json", "whatever"])
    assert result.exit_code == 2 and result.stdout.isascii()


# ---- end to end: hostile names inside real artefacts -----------------------------------------

def _real_bncheck(*args: str) -> subprocess.CompletedProcess:
    """The real command: its arguments pass through the interpreter's decoding and its output through a pipe."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="300")
    return subprocess.run([sys.executable, "-m", "bncheck", *args], capture_output=True, env=env, timeout=120)


def _bncheck(*args: str) -> subprocess.CompletedProcess:
    """The command in this process: the same exit status and stdout and stderr bytes as :func:`_real_bncheck`."""
    return bncheck_in_process(*args, env={"COLUMNS": "300"})


def test_graph_node_names_with_terminal_control(tmp_path):
    # same-length byte replacement keeps every protobuf length prefix valid
    data = (FIXTURES / "tf1" / "layers_momentum_0.1.meta").read_bytes()
    evil = tmp_path / "evil.meta"
    evil.write_bytes(data.replace(b"model/bn1", b"m\x1b[2J\nbn1").replace(b"model/bn2", "mo\u202e!bn2".encode()))
    result = _bncheck(str(evil))
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0 and result.stderr == b""
    assert_clean(out)
    assert "  m\\x1b[2J\\nbn1\n" in out and "  mo\\u202e!bn2\n" in out
    assert "update ops: m\\x1b[2J\\nbn1/AssignMovingAvg/AssignSubVariableOp" in out
    data = json.loads(_bncheck("--format", "json", str(evil)).stdout)
    assert sorted(f["layer"] for f in data["findings"]) == ["m\x1b[2J\nbn1", "mo\u202e!bn2"]


def _rename(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    return value


def test_keras_layer_names_with_a_lone_surrogate_and_a_forged_line(tmp_path):
    source = FIXTURES / "keras3" / "momentum_0.1.keras"
    evil = tmp_path / "evil.keras"
    names = {"bn1": f"bn1{FORGE}", "bn2": "bn2\ud800"}
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "config.json":
                content = json.dumps(_rename(json.loads(content), names)).encode()  # "\ud800" as a JSON escape
            dst.writestr(item, content)
    result = _bncheck(str(evil))
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert_clean(out)
    assert "  bn1\\nbncheck: error: forged\n" in out and "  bn2\\ud800\n" in out
    data = json.loads(_bncheck("--format", "json", str(evil)).stdout)
    assert sorted(f["layer"] for f in data["findings"]) == [f"bn1{FORGE}", "bn2\\ud800"]


def test_non_utf8_and_control_character_file_names(tmp_path):
    folder = tmp_path / os.fsdecode(b"d\xff\x1b[31m")
    folder.mkdir()
    shutil.copy(FIXTURES / "tf1" / "layers_momentum_0.1.meta", folder / os.fsdecode(b"m\xe9\n.meta"))
    (folder / "broken\r.pb").write_bytes(b"\x0a\x05garbage")
    result = _real_bncheck(str(folder))
    out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert result.returncode == 2
    assert_clean(out + err)
    shown = printable(str(folder))
    assert err == (f"bncheck: error: {shown}/broken\\r.pb: not a readable GraphDef or MetaGraphDef or SavedModel: "
                   f"truncated, corrupt or another format") + err.split("another format", 1)[1]
    assert len(err.splitlines()) == 1
    assert f"{shown}/m\\xe9\\n.meta" in out
    data = json.loads(_bncheck("--format", "json", str(folder)).stdout)
    assert data["checked"] == [f"{tmp_path}/d\\xff\x1b[31m/m\\xe9\n.meta"]


def test_checkpoint_state_path_with_a_newline_stays_one_line(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt\\nbncheck: error: forged\\x1b[2J"\n')
    result = _bncheck(str(folder), str(FIXTURES / "tf1" / "layers_momentum_0.1.meta"))
    err = result.stderr.decode("utf-8")
    assert result.returncode == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"bncheck: error: {folder}")
    assert_clean(err)
