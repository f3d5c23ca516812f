"""Special files and unreadable paths: only regular files are opened; anything else given on the
command line is a one-line error (the other paths still checked, exit 2), and in a folder walk a note.
Every case is built in tmp_path at test time; one test runs a folder mixing them with real fixtures."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import h5py
import pytest
from click.testing import CliRunner

import bncheck
from bncheck.cli import main
from bncheck.loaders import discover
from cli_support import bncheck_in_process
from conftest import FIXTURES, ROOT

META = FIXTURES / "tf1" / "layers_momentum_0.1.meta"
KERAS = FIXTURES / "keras3" / "momentum_0.1.keras"
SAVED_MODEL = FIXTURES / "tf1" / "saved_model_slim_is_training_true"
H5 = FIXTURES / "tfkeras" / "momentum_0.1.h5"


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def bncheck_process(*args: object, unprivileged: bool = False, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m bncheck ARGS`` in a real process; ``unprivileged`` drops root's power to read anything."""
    command = [sys.executable, "-m", "bncheck", *(a if isinstance(a, str) else os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a) for a in args)]
    if unprivileged and os.geteuid() == 0:
        command = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                   "--bounding-set=-dac_override,-dac_read_search", *command]
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run(command, capture_output=True, timeout=timeout, env=env)


def permissions_apply() -> bool:
    return os.geteuid() != 0 or shutil.which("setpriv") is not None


needs_permissions = pytest.mark.skipif(not permissions_apply(), reason="root without setpriv reads everything")


# ---- given on the command line -------------------------------------------------------------

def test_dev_zero_is_one_line_and_the_other_path_is_checked():
    result = run("/dev/zero", META)
    assert result.exit_code == 2
    assert result.stderr == "bncheck: error: /dev/zero: not a regular file or folder (a character device)\n"
    assert "BN007" in result.stdout and "in 1 input; 1 could not be read" in result.stdout


def test_fifo_path_is_one_line_and_never_opened(tmp_path):
    fifo = tmp_path / "model.pb"
    os.mkfifo(fifo)
    since = time.monotonic()
    result = run(fifo, META)
    assert time.monotonic() - since < 10
    assert result.exit_code == 2
    assert result.stderr == f"bncheck: error: {fifo}: not a regular file or folder (a FIFO)\n"


def test_symlink_loop_and_missing_path_on_the_command_line(tmp_path):
    loop = tmp_path / "loop.pb"
    loop.symlink_to(loop)
    result = run(loop, tmp_path / "missing.pb", META)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"bncheck: error: {loop}: Too many levels of symbolic links",
                                          f"bncheck: error: {tmp_path / 'missing.pb'}: no such file or folder"]


@needs_permissions
def test_unreadable_file_among_others_is_one_line_not_a_usage_error(tmp_path):
    tmp_path.chmod(0o755)
    secret = tmp_path / "secret.meta"
    shutil.copy(META, secret)
    secret.chmod(0)
    ok = tmp_path / "ok.meta"
    shutil.copy(META, ok)
    result = bncheck_process(secret, ok, unprivileged=True)
    assert result.returncode == 2
    assert result.stderr.decode() == f"bncheck: error: {secret}: Permission denied\n"
    assert "in 1 input; 1 could not be read" in result.stdout.decode()


@needs_permissions
def test_unreadable_folder_given_on_the_command_line_and_through_the_api(tmp_path):
    tmp_path.chmod(0o755)
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(META, locked / "model.meta")
    locked.chmod(0)
    result = bncheck_process(locked, META, unprivileged=True)
    assert result.returncode == 2
    assert result.stderr.decode() == f"bncheck: error: {locked}: cannot list this folder (Permission denied)\n"
    script = (f"import bncheck; r = bncheck.check_path([{str(locked)!r}, {str(META)!r}]); "
              "print([str(e) for e in r.errors], len(r.checked))")
    command = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        command = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                   "--bounding-set=-dac_override,-dac_read_search", *command]
    api = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         timeout=60)
    assert api.returncode == 0, api.stderr
    assert api.stdout == f"['{locked}: cannot list this folder (Permission denied)'] 1\n"


# ---- met in a folder walk ------------------------------------------------------------------

def build_walk_cases(root, outside, dry=None):
    """Every special case of a folder walk, with the note each must give (``dry``: only the notes
    for cases built earlier in that folder)."""
    if dry is not None:
        root = dry
        return {
            (str(root / "again"), "skipped: symlinked folder (not followed)"),
            (str(root / "dangling.pb"), "skipped: broken symlink or symlink loop (No such file or directory)"),
            (str(root / "fifo.pb"), "skipped: not a regular file (a FIFO)"),
            (str(root / "loop.pb"), "skipped: broken symlink or symlink loop (Too many levels of symbolic links)"),
            (str(root / "outside.meta"), "skipped: symlink to a file outside the searched folder"),
            (str(root / "zero.pb"), "skipped: not a regular file (a character device)"),
        }
    os.mkfifo(root / "fifo.pb")
    (root / "zero.pb").symlink_to("/dev/zero")
    shutil.copy(META, outside / "elsewhere.meta")
    (root / "outside.meta").symlink_to(outside / "elsewhere.meta")
    (root / "loop.pb").symlink_to(root / "loop.pb")
    (root / "dangling.pb").symlink_to(root / "nowhere.pb")
    (root / "again").symlink_to(root, target_is_directory=True)
    (root / "sub").mkdir()
    shutil.copy(META, root / "sub" / "real.meta")
    (root / "inside.meta").symlink_to(root / "sub" / "real.meta")
    return build_walk_cases(root, outside, dry=root)


def test_folder_walk_notes_every_special_file_and_opens_only_regular_files(tmp_path):
    root, outside = tmp_path / "models", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    expected_notes = build_walk_cases(root, outside)
    notes: list[tuple[str, str]] = []
    targets = discover(str(root), notes)
    assert [t.path for t in targets] == [str(root / "inside.meta"), str(root / "sub" / "real.meta")]
    assert set(notes) == expected_notes and len(notes) == len(expected_notes)
    since = time.monotonic()
    report = bncheck.check_path(root, timeout=20)
    assert time.monotonic() - since < 20
    assert report.errors == [] and report.checked == [str(root / "inside.meta")]  # the same file once
    assert set(report.notes) == expected_notes


def test_unreadable_subfolder_is_a_note_not_silence(tmp_path, monkeypatch):
    root = tmp_path / "models"
    (root / "locked").mkdir(parents=True)
    shutil.copy(META, root / "ok.meta")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(root / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # what os.walk meets in a folder it may not list
    notes: list[tuple[str, str]] = []
    assert [t.path for t in discover(str(root), notes)] == [str(root / "ok.meta")]
    assert notes == [(str(root / "locked"), "skipped: cannot list this folder (Permission denied)")]


@needs_permissions
def test_unreadable_subfolder_note_from_the_command_line(tmp_path):
    tmp_path.chmod(0o755)
    root = tmp_path / "models"
    (root / "locked").mkdir(parents=True)
    shutil.copy(META, root / "ok.meta")
    shutil.copy(META, root / "locked" / "hidden.meta")
    (root / "locked").chmod(0)
    result = bncheck_process("--format", "json", root, unprivileged=True)
    data = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert data["checked"] == [str(root / "ok.meta")]
    assert data["notes"] == [{"path": str(root / "locked"),
                              "message": "skipped: cannot list this folder (Permission denied)"}]


# ---- one folder mixing every hostile case with real fixtures --------------------------------

def _h5_with_external_link_to(fifo, path):
    shutil.copy(H5, path)
    with h5py.File(path, "r+") as h5:
        del h5["model_weights/bn1/bn1"]
        h5["model_weights/bn1/bn1"] = h5py.ExternalLink(str(fifo), "/weights")


def _h5_with_external_storage_on(fifo, path):
    shutil.copy(H5, path)
    with h5py.File(path, "r+") as h5:
        del h5["model_weights/bn1/bn1/moving_mean:0"]
        h5.create_dataset("model_weights/bn1/bn1/moving_mean:0", shape=(4,), dtype="<f4",
                          external=[(str(fifo), 0, 16)])


def build_mixed_folder(tmp_path):
    """Returns (folder, inputs that must be checked, inputs that must each get one error line)."""
    root = tmp_path / "mixed"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    build_walk_cases(root, outside)
    fifo = outside / "pipe"
    os.mkfifo(fifo)
    good = [root / "a_real.meta", root / "b_real.keras", root / "c_saved_model", root / "inside.meta"]
    # (sub/real.meta is inside.meta's target: the same artefact is checked once)
    shutil.copy(META, good[0])
    shutil.copy(KERAS, good[1])
    shutil.copytree(SAVED_MODEL, good[2])
    bad = {}
    # an HDF5 external link and external storage that point at a FIFO: block forever if followed
    bad["h5_link"] = root / "h5_link_to_fifo.h5"
    _h5_with_external_link_to(fifo, bad["h5_link"])
    bad["h5_storage"] = root / "h5_storage_on_fifo.h5"
    _h5_with_external_storage_on(fifo, bad["h5_storage"])
    # a SavedModel whose variables data file is a FIFO
    bad["variables_fifo"] = root / "saved_model_variables_fifo"
    shutil.copytree(SAVED_MODEL, bad["variables_fifo"])
    for data in (bad["variables_fifo"] / "variables").glob("variables.data-*"):
        data.unlink()
        os.mkfifo(data)
    # a checkpoint state file whose path holds a newline and a forged error line (in a searched
    # folder, a state file without its checkpoint is skipped with a note: tests/test_folder_search.py)
    (root / "ckpt_newline").mkdir()
    (root / "ckpt_newline" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt\\nbncheck: error: forged"\n')
    # file names with terminal control, a newline and bytes that are not UTF-8
    bad["control_name"] = root / "evil\x1b[2J\nbncheck: error: forged.pb"
    bad["control_name"].write_bytes(b"\x08\x96\x01 not a graph")
    bad["bytes_name"] = root / os.fsdecode(b"caf\xe9\xff.pb")
    bad["bytes_name"].write_bytes(b"\x0a\x01garbage")  # a GraphDef's first field, then garbage
    return root, good, bad


def _owner(error_path: str, bad: dict) -> str:
    """Which hostile input an error is about (the input itself or a file inside it)."""
    owners = [k for k, p in bad.items() if error_path == _json_path(p) or error_path.startswith(_json_path(p) + "/")]
    assert len(owners) == 1, (error_path, owners)
    return owners[0]


def _json_path(path) -> str:
    from bncheck.reporters.escaping import valid_unicode

    return valid_unicode(os.fspath(path))


def test_mixed_folder_finishes_within_the_deadline_and_checks_every_other_input(tmp_path):
    root, good, bad = build_mixed_folder(tmp_path)
    timeout = 3
    since = time.monotonic()
    result = bncheck_process("--format", "json", "--timeout", timeout, "--jobs", 2, root, timeout=90)
    assert time.monotonic() - since < 4 * timeout + 30  # far less than one hang would take
    assert result.returncode == 2
    data = json.loads(result.stdout)  # ASCII JSON: control characters as \u escapes, bad bytes as \xff
    assert set(data["checked"]) == {str(p) for p in good}
    assert sorted(_owner(e["path"], bad) for e in data["errors"]) == sorted(bad)
    assert {(n["path"], n["message"]) for n in data["notes"]} >= build_walk_cases(root, None, dry=root)
    assert result.stdout.isascii()
    # stderr: one line per unusable input, every model-chosen character escaped, no traceback
    stderr = result.stderr.decode("utf-8")
    lines = stderr.splitlines()
    assert len(lines) == len(bad) and all(line.startswith("bncheck: error: ") for line in lines)
    assert not any(c in stderr for c in "\x1b\r\x00") and "Traceback" not in stderr
    assert f"bncheck: error: {_shown(bad['control_name'])}: " in stderr
    assert f"bncheck: error: {_shown(bad['bytes_name'])}: " in stderr
    assert "evil\\x1b[2J\\nbncheck: error: forged.pb" in stderr and "caf\\xe9\\xff.pb" in stderr
    assert [n["message"] for n in data["notes"] if n["path"] == str(root / "ckpt_newline" / "checkpoint")] == [
        "skipped: a 'checkpoint' file that is not a usable TensorFlow checkpoint state file "
        "(model_checkpoint_path is empty or holds control characters)"]
    # the text report: no raw control character either
    text = bncheck_in_process("--timeout", timeout, root, env={"COLUMNS": "200"})  # the command in this process
    out = text.stdout.decode("utf-8")
    assert text.returncode == 2 and text.stderr.decode("utf-8") == stderr
    assert "\x1b" not in out and "Traceback" not in out
    assert f"in {len(good)} inputs; {len(bad)} could not be read" in out


def test_mixed_folder_with_inputs_that_hang_gives_up_on_each_and_checks_the_rest(tmp_path, monkeypatch):
    """Loading files named hang*.pb spins forever (as in HDF5's C code); forked workers inherit the patch."""
    import bncheck.engine

    root, good, bad = build_mixed_folder(tmp_path)
    hangs = [root / "hang_1.pb", root / "sub" / "hang_2.pb"]
    for path in hangs:
        shutil.copy(META, path)
    real_load = bncheck.engine.load

    def load(target):
        if os.path.basename(target.path).startswith("hang"):
            while True:
                time.sleep(0.05)
        return real_load(target)

    monkeypatch.setattr(bncheck.engine, "load", load)
    monkeypatch.setattr("bncheck.isolation.can_fork", lambda: True)
    since = time.monotonic()
    result = CliRunner().invoke(main, ["--format", "json", "--timeout", "2", "--jobs", "2", str(root)])
    assert time.monotonic() - since < 2 * 2 + 25  # two hangs given up in parallel, the rest checked
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert set(data["checked"]) == {str(p) for p in good}
    gave_up = [e["path"] for e in data["errors"] if e["message"] == "gave up after 2 s"]
    assert gave_up == [str(p) for p in hangs]
    assert len(data["errors"]) == len(bad) + len(hangs)
    assert [line for line in result.stderr.splitlines() if line.endswith("gave up after 2 s")] == [
        f"bncheck: error: {p}: gave up after 2 s" for p in hangs]


def _shown(path) -> str:
    from bncheck.reporters.escaping import printable

    return printable(os.fspath(path))
