"""What ``--fix`` writes and ``--diff`` prints, with a hostile repository (issue 19 items 1-4; issue 20
item 6): atomic writes that keep mode, BOM and line ends; never through a symlink or outside the named
paths; one line and exit 2 for what cannot be written or read; patches ``git apply`` and ``patch -p1``
accept."""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bncheck.cli import main
from bncheck.errors import InputError
from bncheck.safe_write import encode_like, write_fixed
from bncheck.source.edits import Edit, apply, patch_path, unified_diff
from bncheck.source.loader import python_lines
from bncheck.source.model import Loc
from conftest import FIXTURES, ROOT

SCRIPT = FIXTURES / "source" / "keras_momentum_pytorch.py"  # BN007 momentum=0.1 on line 7: a safe fix
BAD, GOOD = b"BatchNormalization(momentum=0.1,", b"BatchNormalization(momentum=0.9,"


def _run(*args: str, cwd: pathlib.Path | None = None):  # type: ignore[no-untyped-def]
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


@pytest.fixture(params=["folder descriptors", "paths"])
def both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The POSIX way (folders held open, O_NOFOLLOW) and the fallback by path (Windows)."""
    from bncheck import safe_write

    if request.param == "paths":
        monkeypatch.setattr(safe_write, "_AT", False)
    else:
        assert safe_write._AT or os.name != "posix"


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bncheck: error:")]


def test_fix_keeps_mode_bom_and_crlf(tmp_path: pathlib.Path, both_ways: None) -> None:
    script = tmp_path / "train.py"
    original = b"\xef\xbb\xbf" + SCRIPT.read_bytes().replace(b"\n", b"\r\n")
    script.write_bytes(original)
    script.chmod(0o751)
    result = _run("--fix", "-q", str(script))
    assert result.exit_code == 0, result.stderr
    assert script.read_bytes() == original.replace(BAD, GOOD)
    assert script.stat().st_mode & 0o7777 == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]  # no temporary file left


def test_lines_a_fix_adds_get_the_files_line_ends() -> None:
    assert encode_like(b"a\r\nb\r\n", "a\r\nnew\nb\r\n") == b"a\r\nnew\r\nb\r\n"
    assert encode_like(b"a\r\nb\n", "a\r\nnew\nb\n") == b"a\r\nnew\nb\n"  # mixed: left as they are
    assert encode_like(b"\xef\xbb\xbfx\n", "y\n") == b"\xef\xbb\xbfy\n"


def _symlinked_repo(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(SCRIPT, outside / "target.py")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.py").symlink_to(outside / "target.py")
    (tmp_path / "repolink").symlink_to(outside)
    return repo, outside


def test_fix_never_writes_through_a_named_symlink(tmp_path: pathlib.Path, both_ways: None) -> None:
    repo, outside = _symlinked_repo(tmp_path)
    result = _run("--fix", "-q", str(repo / "link.py"))
    assert result.exit_code == 2
    assert _errors(result.stderr) == [f"bncheck: error: {repo / 'link.py'}: not fixed: a symlink is not written through"]
    # the same file through a named symlinked folder (alone: given with link.py it is checked once)
    result = _run("--fix", "-q", str(tmp_path / "repolink"))
    assert result.exit_code == 2
    assert _errors(result.stderr) == [
        f"bncheck: error: {tmp_path / 'repolink' / 'target.py'}: not fixed: a symlinked folder is not written "
        f"through ({tmp_path / 'repolink'})"]
    assert (outside / "target.py").read_bytes() == SCRIPT.read_bytes()
    assert (repo / "link.py").is_symlink()


def test_write_refuses_paths_outside_the_named_ones_and_links_below_them(tmp_path: pathlib.Path, both_ways: None) -> None:
    repo, outside = _symlinked_repo(tmp_path)
    (repo / "sub").symlink_to(outside)
    with pytest.raises(InputError, match="outside the paths given"):
        write_fixed(str(outside / "target.py"), "x = 1\n", [str(repo)])
    with pytest.raises(InputError, match="a symlinked folder is not written through$"):
        write_fixed(str(repo / "sub" / "target.py"), "x = 1\n", [str(repo)])
    with pytest.raises(InputError, match="a symlink is not written through"):
        write_fixed(str(repo / "link.py"), "x = 1\n", [str(repo)])
    assert (outside / "target.py").read_bytes() == SCRIPT.read_bytes()


def test_fix_on_a_read_only_file_is_one_line_and_exit_2(tmp_path: pathlib.Path, both_ways: None) -> None:
    script = tmp_path / "train.py"
    shutil.copy(SCRIPT, script)
    script.chmod(0o444)
    result = _run("--fix", "-q", str(script))
    assert result.exit_code == 2
    assert _errors(result.stderr) == [f"bncheck: error: {script}: not fixed: the file is read-only"]
    assert script.read_bytes() == SCRIPT.read_bytes()
    assert "Traceback" not in result.stderr


_CHILD = """
import os, resource, signal, sys
sys.path.insert(0, {root!r})
from bncheck.safe_write import write_fixed
mode, path, text = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
if mode == "kill":  # killed after the new file is written, before it replaces the old one
    os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
else:  # a disk with room for 1 KiB more: the write fails half way (EFBIG, as ENOSPC would)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
try:
    write_fixed(path, text, [os.path.dirname(path)])
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.parametrize("mode", ["kill", "full"])
def test_an_interrupted_fix_leaves_the_original_whole(tmp_path: pathlib.Path, mode: str) -> None:
    script = tmp_path / "train.py"
    original = SCRIPT.read_bytes() * 20  # 8 KB, more than the 1 KiB the "full" disk takes
    script.write_bytes(original)
    new = tmp_path / "new.txt"
    new.write_bytes(original.replace(BAD, GOOD))
    done = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT)), mode, str(script), str(new)],
                          capture_output=True, text=True, timeout=60)
    assert script.read_bytes() == original
    if mode == "kill":
        assert done.returncode == -signal.SIGKILL
    else:
        assert done.stdout == f"InputError {script}: not fixed: File too large; the file is unchanged\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt", "train.py"]


def test_diff_names_each_unusable_input_and_exits_2(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\ndef f(:\n")
    fixable = tmp_path / "train.py"
    shutil.copy(SCRIPT, fixable)
    result = _run("--diff", str(tmp_path / "missing.py"), str(broken), "/dev/zero", str(fixable))
    assert result.exit_code == 2
    assert _errors(result.stderr) == [
        f"bncheck: error: {tmp_path / 'missing.py'}: no such file or folder",
        "bncheck: error: /dev/zero: not a regular file or folder (a character device)",
        f"bncheck: error: {broken}: not valid Python: invalid syntax (line 3)"]
    assert result.stdout.count("\n+++ ") == 1  # the usable input's fix is still shown
    assert fixable.read_bytes() == SCRIPT.read_bytes()


@pytest.mark.parametrize("given", ["./train.py", "sub/../train.py", "{tmp}/train.py"])
def test_diff_paths_are_accepted_by_git_apply_and_patch(tmp_path: pathlib.Path, given: str) -> None:
    shutil.copy(SCRIPT, tmp_path / "train.py")
    (tmp_path / "sub").mkdir()
    result = _run("--diff", given.format(tmp=tmp_path), cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == ["--- a/train.py", "+++ b/train.py"]
    (tmp_path / "fix.patch").write_text(result.stdout)
    for command in (["git", "apply", "--check", "fix.patch"], ["patch", "-p1", "--dry-run", "-i", "fix.patch"]):
        if shutil.which(command[0]):
            done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert (tmp_path / "train.py").read_bytes() == SCRIPT.read_bytes().replace(BAD, GOOD)


def test_diff_of_a_file_outside_the_working_directory_applies_from_the_root(tmp_path: pathlib.Path) -> None:
    shutil.copy(SCRIPT, tmp_path / "train.py")
    (tmp_path / "elsewhere").mkdir()
    result = _run("--diff", str(tmp_path / "train.py"), cwd=tmp_path / "elsewhere")
    name = str(tmp_path / "train.py").lstrip("/")
    assert result.stdout.splitlines()[:2] == [f"--- a/{name}", f"+++ b/{name}"]
    (tmp_path / "fix.patch").write_text(result.stdout)
    done = subprocess.run(["git", "apply", "--check", str(tmp_path / "fix.patch")], cwd="/", capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def test_diff_marks_a_last_line_without_line_end(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "train.py"
    text = b"import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)"
    script.write_bytes(text)
    result = _run("--diff", "train.py", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout.endswith("\n\\ No newline at end of file\n")
    (tmp_path / "fix.patch").write_text(result.stdout)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert script.read_bytes() == text.replace(b"momentum=0.1", b"momentum=0.9")


def test_edits_count_lines_as_python_does() -> None:
    """A form feed or a \\x1c inside a line is no line end for Python (str.splitlines splits there)."""
    text = "a = 1  # \x0c \x1c\nb = 0.1\n"
    assert apply(text, [Edit(Loc("t.py", 2, 5, 2, 8), "0.9", True)]) == "a = 1  # \x0c \x1c\nb = 0.9\n"
    assert python_lines(text) == ["a = 1  # \x0c \x1c", "b = 0.1"]


def test_patch_names_with_quotes_or_control_characters_are_quoted_as_git_does() -> None:
    diff = unified_diff('we"ird\n.py', "a\n", "b\n")
    assert diff.splitlines()[:2] == ['--- "a/we\\"ird\\n.py"', '+++ "b/we\\"ird\\n.py"']
    assert patch_path("./x/../y.py") == "y.py"


def test_a_form_feed_does_not_move_a_fix_onto_another_line(tmp_path: pathlib.Path) -> None:
    """Found by fuzz/surfaces.py (source:15, seed 1): rules read lines with str.splitlines, which also
    splits at a form feed, so the train op's wrapping was built from the line two above it."""
    source = (FIXTURES / "source" / "keras_graph_mode_without_updates.py").read_bytes()
    script = tmp_path / "train.py"
    script.write_bytes(source.replace(b"import tensorflow as tf\n", b"import tensorflow as tf  # \x0c\n", 1))
    result = _run("--diff", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert [line for line in result.stdout.splitlines() if line.startswith(("+", "-"))][2:] == [
        "-train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss)",
        "+with tf.control_dependencies(model.updates):",
        "+    train_op = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(loss)"]


def test_the_diff_of_a_bom_crlf_file_applies_to_what_fix_writes(tmp_path: pathlib.Path) -> None:
    """Found by fuzz/surfaces.py (source:5): the patch was made from the text without its BOM."""
    original = b"\xef\xbb\xbf" + b"import keras\r\nm = keras.layers.BatchNormalization(momentum=1.0)\r\n"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.py").write_bytes(original)
    diff = _run("--diff", "train.py", cwd=tmp_path / "a").stdout_bytes  # .stdout turns CRLF into LF
    (tmp_path / "a" / "fix.patch").write_bytes(diff)
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path / "a", check=True)
    assert _run("--fix", "-q", "train.py", cwd=tmp_path / "b").exit_code == 0
    fixed = (tmp_path / "b" / "train.py").read_bytes()
    assert fixed == original.replace(b"momentum=1.0", b"momentum=0.99")
    assert (tmp_path / "a" / "train.py").read_bytes() == fixed


def test_a_read_only_file_system_is_one_line_and_leaves_the_file(tmp_path: pathlib.Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """As root no permission stops a write, so the mount is stood in for: creating the temporary file
    fails with EROFS, as on a read-only mount."""
    import errno

    from bncheck import safe_write

    real_open = os.open

    def read_only_mount(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(safe_write.os, "open", read_only_mount)
    script = tmp_path / "train.py"
    shutil.copy(SCRIPT, script)
    result = _run("--fix", "-q", str(script))
    assert result.exit_code == 2
    assert _errors(result.stderr) == [
        f"bncheck: error: {script}: not fixed: cannot write beside it (Read-only file system)"]
    assert script.read_bytes() == SCRIPT.read_bytes()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root can give a file away")
def test_a_fixed_file_keeps_its_owner(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "train.py"
    shutil.copy(SCRIPT, script)
    os.chown(script, 1234, 5678)
    assert _run("--fix", "-q", str(script)).exit_code == 0
    assert (script.stat().st_uid, script.stat().st_gid) == (1234, 5678)
    assert script.read_bytes() == SCRIPT.read_bytes().replace(BAD, GOOD)
