"""Exact outcomes mutation testing of ``bncheck/source/__init__.py`` and ``bncheck/source/following.py``
showed (issue 22, item 5).

``bncheck.source``'s public names (the lazy ``check_files``/``SourceResult``), which folders hold the
user's code (``wanted``) and a program that selects no source rule (``check_program``); the import
statements ``following.imports_of`` reads from a text, and the project modules ``follow_imports`` finds
on disk for small trees written here (packages, relative imports, symlinks, unreadable candidates),
every found ``(path, text)`` and note asserted in full. The survivors no input tells apart are listed
with their reason in ``tools/mutation_equivalents.md``.
"""
from __future__ import annotations

import os
import pathlib

import pytest

# `import a.b as b`, not `from a import b`: a submodule's import never asks the package's __getattr__
import bncheck.source
import bncheck.source.checker as checker  # noqa: PLR0402
import bncheck.source.following as following  # noqa: PLR0402
from bncheck.source import check_program, wanted
from bncheck.source.following import follow_imports, imports_of

Followed = tuple[list[tuple[str, str]], list[tuple[str, str]]]
NOT_FOLLOWED = "import {} not followed to {}: {}; what it defines is unknown to bncheck"
HELPER = "X = 1\n"


# ---- __init__.py --------------------------------------------------------------------------------

def test_the_public_names_of_source_mode_are_those_of_the_checker() -> None:
    # check_files and SourceResult come from bncheck.source.checker on first use, each time they are read
    assert {name: getattr(bncheck.source, name) for name in bncheck.source.__all__} == {
        "SOURCE_SUFFIXES": (".py",), "SourceResult": checker.SourceResult, "check_files": checker.check_files,
        "check_program": check_program, "plan": bncheck.source.plan, "wanted": wanted}
    with pytest.raises(AttributeError) as raised:
        bncheck.source.check_file  # noqa: B018  (a name the package does not have)
    assert raised.value.args == ("check_file",)


def test_only_hidden_installed_and_generated_folders_are_not_the_users_code() -> None:
    dirs = ["/p", "/p/src", "/p/src/models", "/p/.git", "/p/src/.cache", "/p/venv", "/p/src/venv",
            "/p/lib/site-packages/keras", "/p/__pycache__", "/p/src/build", "/p/env2", "/p/.."]
    assert [d for d in dirs if wanted("/p", d)] == ["/p", "/p/src", "/p/src/models", "/p/env2"]


def test_a_program_that_selects_no_source_rule_is_checked_and_not_analysed(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "m.py")
    text = "import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1)\n"
    assert check_program([(path, text)], str(tmp_path), [(None, ["ALL"])]) == checker.SourceResult(checked=[path])


# ---- following.imports_of -----------------------------------------------------------------------

def test_an_import_is_on_the_line_it_starts_counted_from_the_first_character() -> None:
    assert list(imports_of("\nimport ops\n\n\nfrom pkg import a\n")) == [(2, 0, ["ops"], []), (5, 0, ["pkg"], ["a"])]


def test_each_module_of_an_import_list_with_its_dotted_parts() -> None:
    assert list(imports_of("import ops, pkg.sub.mod as m,  util  as  u\n")) == [
        (1, 0, ["ops"], []), (1, 0, ["pkg", "sub", "mod"], []), (1, 0, ["util"], [])]


def test_an_empty_part_of_an_import_list_names_no_module() -> None:
    # a file being edited (not valid Python yet) still has its imports followed
    assert list(imports_of("import ops,\nimport ops, ,pkg\n")) == [
        (1, 0, ["ops"], []), (2, 0, ["ops"], []), (2, 0, ["pkg"], [])]


def test_the_names_of_a_parenthesised_import_over_several_lines() -> None:
    assert list(imports_of("from pkg.sub import (\n    a,\n    b as c,\n)\nx = 1\n")) == [
        (1, 0, ["pkg", "sub"], ["a", "b"])]


def test_the_names_of_a_relative_import_list() -> None:
    assert list(imports_of("from . import a, b as c\nfrom ..pkg.mod import d as e\n")) == [
        (1, 1, [], ["a", "b"]), (2, 2, ["pkg", "mod"], ["d"])]


# ---- following.follow_imports ------------------------------------------------------------------

def _tree(root: pathlib.Path, files: dict[str, str | None]) -> None:
    """Each ``name: text`` written under ``root``; ``None``: a folder of that name."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def _follow(root: pathlib.Path, *given: str) -> Followed:
    """``follow_imports`` of the ``given`` files under ``root`` (read from disk), every path relative to ``root``."""
    here = str(root) + os.sep
    found, notes = follow_imports([(str(root / p), (root / p).read_text()) for p in given])
    return ([(path.replace(here, ""), text) for path, text in found],
            [(where.replace(here, ""), note.replace(here, "")) for where, note in notes])


@pytest.fixture
def project(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """An empty project folder; the working directory is its (empty) parent."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proj").mkdir()
    return tmp_path / "proj"


def test_an_absolute_import_is_looked_up_from_the_package_root(project: pathlib.Path) -> None:
    _tree(project, {"pkg/__init__.py": "", "pkg/model.py": "from pkg.ops import make\n", "pkg/ops.py": HELPER})
    assert _follow(project, "pkg/model.py") == ([("pkg/ops.py", HELPER)], [])


def test_a_package_nested_64_deep_is_looked_up_from_its_64th_parent(project: pathlib.Path) -> None:
    # 65 nested packages: the lookup goes up 64 folders (a bound), not to the project's root
    deep = project.joinpath(*["p"] * 65)
    deep.mkdir(parents=True)
    for folder in [deep, *deep.parents][:65]:
        (folder / "__init__.py").write_text("")
    (deep / "model.py").write_text("import helper\nimport top\n")
    (project / "helper.py").write_text(HELPER)
    (project / "p" / "top.py").write_text(HELPER)
    assert _follow(project, str(deep / "model.py")) == ([("p/top.py", HELPER)], [])


def test_a_folder_that_links_to_its_own_package_is_its_own_root(project: pathlib.Path) -> None:
    _tree(project, {"pkg/__init__.py": "", "pkg/model.py": "import ops\n", "pkg/ops.py": HELPER})
    (project / "pkg" / "self").symlink_to(".")
    assert _follow(project, "pkg/self/model.py") == ([("pkg/self/ops.py", HELPER)], [])


def test_a_package_is_its_init_file(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import helpers\n", "helpers/__init__.py": HELPER})
    assert _follow(project, "main.py") == ([("helpers/__init__.py", HELPER)], [])


def test_a_module_imported_from_its_package_by_name(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "from helpers import ops\n", "helpers/ops.py": HELPER})
    assert _follow(project, "main.py") == ([("helpers/ops.py", HELPER)], [])


def test_a_name_that_is_no_identifier_names_no_module_file(project: pathlib.Path) -> None:
    # an import in a docstring (only read for the lookup) of `*` and of a name Python cannot import
    _tree(project, {"main.py": '"""\nfrom helpers import 2d, *\n"""\n', "helpers/__init__.py": "",
                    "helpers/2d.py": HELPER, "helpers/*.py": HELPER})
    assert _follow(project, "main.py") == ([("helpers/__init__.py", "")], [])


def test_a_relative_import_of_a_module_named_as_a_library_is_the_projects(project: pathlib.Path) -> None:
    _tree(project, {"pkg/__init__.py": "", "pkg/train.py": "from .io import load\nimport os\n", "pkg/io.py": HELPER,
                    "pkg/os.py": HELPER})
    assert _follow(project, "pkg/train.py") == ([("pkg/io.py", HELPER)], [])


def test_relative_imports_one_and_two_levels_up(project: pathlib.Path) -> None:
    _tree(project, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/common.py": "Y = 2\n",
                    "pkg/sub/train.py": "from .ops import make\nfrom ..common import setup\n", "pkg/sub/ops.py": HELPER})
    assert _follow(project, "pkg/sub/train.py") == ([("pkg/sub/ops.py", HELPER), ("pkg/common.py", "Y = 2\n")], [])


def test_a_missing_relative_module_is_a_note_and_the_next_import_is_followed(project: pathlib.Path) -> None:
    _tree(project, {"pkg/__init__.py": "", "pkg/train.py": "from .missing.mod import x\nfrom .ops import make\n",
                    "pkg/ops.py": HELPER})
    assert _follow(project, "pkg/train.py") == (
        [("pkg/ops.py", HELPER)], [("pkg/train.py:1", "import .missing.mod not followed: no such module beside train.py")])


def test_a_candidate_that_is_a_folder_is_a_note_naming_the_import(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import pkg.ops\n", "pkg/ops.py": None,
                    "pkg/train.py": "from . import ops\n"})
    assert _follow(project, "main.py") == (
        [], [("main.py:1", NOT_FOLLOWED.format("pkg.ops", "pkg/ops.py", "it is not a regular file"))])
    assert _follow(project, "pkg/train.py") == (
        [], [("pkg/train.py:1", NOT_FOLLOWED.format("ops", "pkg/ops.py", "it is not a regular file"))])


def test_a_symlink_into_a_hidden_folder_of_the_project_is_not_followed(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import ops\n", "src/.cache/ops.py": HELPER})
    (project / "ops.py").symlink_to(project / "src" / ".cache" / "ops.py")
    assert _follow(project, "main.py") == (
        [], [("main.py:1", NOT_FOLLOWED.format("ops", "ops.py", "it is installed or generated code, not the project's"))])


def test_a_dangling_symlink_is_a_note_with_the_systems_reason(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import ops\n"})
    (project / "ops.py").symlink_to(project / "gone.py")
    assert _follow(project, "main.py") == (
        [], [("main.py:1", NOT_FOLLOWED.format("ops", "ops.py", "No such file or directory"))])


def test_a_module_of_exactly_the_size_limit_is_followed(project: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(project, {"main.py": "import ops\n", "ops.py": HELPER})
    monkeypatch.setattr(following, "MAX_FOLLOWED_BYTES", len(HELPER))
    assert _follow(project, "main.py") == ([("ops.py", HELPER)], [])


def test_a_module_imported_twice_is_read_once(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import ops\nfrom ops import make\n", "ops.py": HELPER})
    assert _follow(project, "main.py") == ([("ops.py", HELPER)], [])


def test_a_module_that_is_not_utf8_is_a_note_with_the_readers_reason(project: pathlib.Path) -> None:
    _tree(project, {"main.py": "import ops\n"})
    (project / "ops.py").write_bytes(b"X = '\xff'\n")
    assert _follow(project, "main.py") == (
        [], [("main.py:1", NOT_FOLLOWED.format("ops", "ops.py", "not a UTF-8 Python file (byte b'\\xff' on line 1) "
                                                                "and declares no other encoding (PEP 263)"))])


def test_the_imports_of_every_given_file_are_followed(project: pathlib.Path) -> None:
    _tree(project, {"a.py": "import util\n", "b.py": "import ops\n", "util.py": "Y = 2\n", "ops.py": HELPER})
    assert _follow(project, "a.py", "b.py") == ([("util.py", "Y = 2\n"), ("ops.py", HELPER)], [])


# ---- real bugs the survivors showed (fixed after 060e6ba: these fail on that tree) ------------------

def test_an_import_continued_by_a_backslash_or_aliased_after_a_tab_is_read() -> None:
    assert list(imports_of("import ops\tas o\nimport os, \\\n    util\nfrom pkg import a, \\\n    b \\\n as c\n"
                           "import cfg\n")) == [
        (1, 0, ["ops"], []), (2, 0, ["os"], []), (2, 0, ["util"], []), (4, 0, ["pkg"], ["a", "b"]), (7, 0, ["cfg"], [])]


OPS = ("import tensorflow.compat.v1 as tf\n"
       "def train(x):\n"
       "    h = tf.layers.batch_normalization(x, training=True, name='bn')\n"
       "    return tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))\n")


@pytest.mark.parametrize("imports", ["import ops\tas o\n", "import numpy, \\\n    ops as o\n"])
def test_a_helper_imported_by_a_backslash_continued_or_tab_aliased_import_is_followed(
        project: pathlib.Path, imports: str) -> None:
    # 060e6ba looked for a module named `ops\tas o`, or stopped at the backslash: no finding at all
    lines = imports.count("\n")
    _tree(project, {"train.py": f"import tensorflow.compat.v1 as tf\n{imports}x = tf.placeholder(tf.float32, [2, 4])\n"
                                "train_op = o.train(x)\n", "ops.py": OPS})
    result = checker.check_files([str(project / "train.py")], jobs=1)
    assert [(f.code, f.loc.path, f.loc.line, f.loc.col, f.layer, dict(f.facts)["in imported code"])
            for f in result.findings] == [("BN001", str(project / "train.py"), 3 + lines, 1, "bn",
                                           f"{project / 'ops.py'}:4")]
    assert (result.notes, result.errors, result.checked) == ([], [], [str(project / "train.py")])


def test_a_note_on_a_name_of_an_import_list_names_that_module(project: pathlib.Path) -> None:
    # 060e6ba's note said "import ops.util", joining the names imported
    _tree(project, {"pkg/__init__.py": "", "pkg/ops.py": None, "pkg/util.py": HELPER,
                    "pkg/train.py": "from . import ops, util\n"})
    assert _follow(project, "pkg/train.py") == (
        [("pkg/util.py", HELPER)],
        [("pkg/train.py:1", NOT_FOLLOWED.format("ops", "pkg/ops.py", "it is not a regular file"))])
