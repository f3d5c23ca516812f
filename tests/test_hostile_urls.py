"""Local and chained fsspec URLs obey the rules of local paths (issue 19 item 10, issue 20 item 5):
``file://`` works, symlinks out of a folder are skipped with the note a local walk gives."""
from __future__ import annotations

import pathlib
import shutil

import pytest

from bncheck.engine import check_paths
from bncheck.remote import is_remote
from conftest import FIXTURES

pytest.importorskip("fsspec")
MOMENTUM = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warnings on model/bn1, model/bn2


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    """in/model.meta inside; in/leak.meta and in/passwd.pbtxt lead out, in/linkdir is a symlinked folder."""
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    shutil.copy(MOMENTUM, inside / "model.meta")
    shutil.copy(MOMENTUM, outside / "secret.meta")
    (inside / "leak.meta").symlink_to(outside / "secret.meta")
    (inside / "passwd.pbtxt").symlink_to("/etc/passwd")
    (inside / "linkdir").symlink_to(outside)
    return inside


def _seen(report, prefix: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:  # type: ignore[no-untyped-def]
    return (sorted({f.path.removeprefix(prefix) for f in report.findings}),
            sorted((p.removeprefix(prefix), n) for p, n in report.notes if n.startswith("skipped")),
            [str(e) for e in report.errors])


# skips of one reason are one note on the searched folder (its path: ""); a reason met once keeps its path
SKIPPED = [("", "skipped 2 paths: symlink to a file outside the searched folder: leak.meta, passwd.pbtxt"),
           ("/linkdir", "skipped: symlinked folder (not followed)")]


@pytest.mark.parametrize("scheme", ["", "file://", "local://", "simplecache::file://"])
def test_a_url_folder_skips_the_symlinks_a_local_walk_skips(folder: pathlib.Path, scheme: str) -> None:
    report = check_paths([scheme + str(folder)], isolate=False)
    assert _seen(report, scheme + str(folder)) == (["/model.meta"], SKIPPED, [])
    assert {f.code for f in report.findings} == {"BN007"}


def test_a_file_url_names_a_file() -> None:
    report = check_paths([f"file://{MOMENTUM}"], isolate=False)
    assert sorted((f.path, f.layer) for f in report.findings) == [
        (f"file://{MOMENTUM}", "model/bn1"), (f"file://{MOMENTUM}", "model/bn2")]
    assert report.errors == []


def test_chained_and_file_urls_are_urls() -> None:
    assert is_remote("file:///x") and is_remote("simplecache::s3://b/x") and is_remote("zip://a::file:///b.zip")
    assert not is_remote("models/x::y.pb")


def test_fix_on_a_remote_url_says_it_fixes_local_files_only(tmp_path: pathlib.Path) -> None:
    from click.testing import CliRunner

    from bncheck.cli import main

    script = tmp_path / "train.py"
    shutil.copy(FIXTURES / "source" / "keras_momentum_pytorch.py", script)
    for option in ("--diff", "--fix"):
        result = CliRunner().invoke(main, [option, "memory://repo/train.py", f"local://{script}", "-q"])
        assert result.exit_code == 2
        assert result.stderr.splitlines()[0] == ("bncheck: error: memory://repo/train.py: --diff and --fix work on "
                                                 "local files only")
    assert b"momentum=0.9," in script.read_bytes()  # the local:// one was fixed
