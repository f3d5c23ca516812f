"""Exact outcomes at the boundaries the loaders' surviving mutants showed (``tools/mutation.py
--loaders``): size limits, bracket counting, error messages, and small crafted files a damaged or
hostile input could be. Each test names what it pins down."""
from __future__ import annotations

import importlib
import pathlib

import pytest

from bncheck.errors import InputError
from bncheck.loaders import safe_io
from bncheck.loaders.safe_io import load_json, nesting_depth, os_reason, read_bounded


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return str(info.value)


# safe_io ---------------------------------------------------------------------------------------

def test_size_limits_are_read_from_the_environment_in_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BNCHECK_MAX_TENSOR_MB", "3")
    monkeypatch.setenv("BNCHECK_MAX_FILE_MB", "0")  # at least 1 MiB
    monkeypatch.setenv("BNCHECK_MAX_MEMBER_MB", "lots")  # not a number: the default
    monkeypatch.delenv("BNCHECK_MAX_CONFIG_MB", raising=False)
    monkeypatch.delenv("BNCHECK_MAX_TEXT_MB", raising=False)
    try:
        module = importlib.reload(safe_io)
        assert (module.MAX_TENSOR_BYTES, module.MAX_FILE_BYTES, module.MAX_MEMBER_BYTES,
                module.MAX_CONFIG_BYTES, module.MAX_TEXT_BYTES) == (3 << 20, 1 << 20, 512 << 20, 32 << 20, 32 << 20)
    finally:
        monkeypatch.undo()
        importlib.reload(safe_io)


def test_a_file_over_the_limit_is_named_a_file_by_default(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big.pb"
    path.write_bytes(b"x" * ((1 << 20) + 1))
    assert _error(read_bounded, str(path), 1 << 20) == (
        f"{path}: file of 1048577 bytes is larger than the 1 MiB bncheck reads (raise BNCHECK_MAX_FILE_MB to allow it)")
    assert read_bounded(str(path), 2 << 20) == b"x" * ((1 << 20) + 1)


def test_os_reason_prefers_the_strerror_then_the_message_then_the_type() -> None:
    assert os_reason(FileNotFoundError(2, "No such file or directory", "model.pb")) == "No such file or directory"
    assert os_reason(OSError("disk went away")) == "disk went away"
    assert os_reason(PermissionError()) == "PermissionError"


@pytest.mark.parametrize("text, depth", [
    ("node { op: X }", 1),  # letters are no brackets
    ("a {X b { } }", 2),
    ("{{}}{{", 2),  # the depth goes down at each closing bracket
    ("}}}{", 0),  # a closing bracket first never makes a negative depth count
])
def test_text_nesting_depth_counts_only_braces_and_angles(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


@pytest.mark.parametrize("text, depth", [
    ("{" * 100 + "}" * 100 + "{" * 4000, 4000),  # over 4,096 brackets: counted in numpy
    ("}" * 5000, 0),
    ("{}" * 2049, 1),
    ("[" * 3000 + "{" * 2000, 5000),
])
def test_nesting_depth_of_large_texts(text: str, depth: int) -> None:
    assert nesting_depth(text, "[{", "]}") == depth
    assert nesting_depth(text.replace("[", "{").replace("]", "}")) == depth


def test_json_errors_name_the_source_and_what_was_read() -> None:
    assert _error(load_json, b"\xff{}", "model.keras", "config.json") == "model.keras: config.json is not UTF-8 text"
    assert _error(load_json, b'{"a": ', "model.h5", "model_config") == (
        "model.h5: model_config is not JSON (Expecting value: line 1 column 7 (char 6))")


def test_json_nesting_is_counted_outside_strings_only() -> None:
    deep = "[" * 101 + "]" * 101
    assert _error(load_json, deep, "m", "config") == "m: config nests JSON deeper than 100 levels"
    assert load_json("[" * 100 + "]" * 100, "m", "config") == eval("[" * 100 + "]" * 100)
    # JSON has no comments: a '#' hides no bracket
    assert _error(load_json, "#" + "[" * 101, "m", "config") == "m: config nests JSON deeper than 100 levels"
    # letters are no brackets
    assert _error(load_json, "X" * 101, "m", "config") == (
        "m: config is not JSON (Expecting value: line 1 column 1 (char 0))")
    assert _error(load_json, "[X" * 101, "m", "config") == "m: config nests JSON deeper than 100 levels"
    assert load_json('{"a": "[[[[#' + "{" * 200 + '"}', "m", "config") == {"a": "[[[[#" + "{" * 200}
