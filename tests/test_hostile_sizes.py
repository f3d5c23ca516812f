"""Text formats are bounded by construction (issue 19 item 11): a text protobuf over the text cap is
refused before protobuf's text parser sees it, and an ``.h5`` model_config over the config cap before
HDF5 reads it."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest

import bncheck.loaders.keras_files as keras_files
import bncheck.loaders.protobuf_io as protobuf_io
from bncheck.engine import check_paths
from conftest import FIXTURES

TEXT_GRAPH = FIXTURES / "tf1" / "frozen_flag_default_true.pbtxt"
H5 = FIXTURES / "tfkeras" / "training_kwarg.h5"


def _errors(path: pathlib.Path) -> list[str]:
    report = check_paths([str(path)], isolate=False)
    return [str(e) for e in report.errors]


def test_a_text_protobuf_over_the_cap_is_refused_before_parsing(tmp_path: pathlib.Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from google.protobuf import text_format

    monkeypatch.setattr(protobuf_io, "MAX_TEXT_BYTES", 1 << 20)
    parsed: list[int] = []
    real = text_format.Parse
    monkeypatch.setattr(text_format, "Parse", lambda *a, **k: parsed.append(1) or real(*a, **k))
    big = tmp_path / "big.pbtxt"
    big.write_text(TEXT_GRAPH.read_text() + " " * (1 << 20))
    assert _errors(big) == [f"{big}: a text protobuf of {big.stat().st_size} bytes is larger than the 1 MiB bncheck "
                            "parses as text (about 10 MiB of memory and 0.6 s a MB): convert it to a binary .pb, or raise "
                            "BNCHECK_MAX_TEXT_MB"]
    assert parsed == []
    shutil.copy(TEXT_GRAPH, tmp_path / "small.pbtxt")  # under the cap: parsed as before
    assert _errors(tmp_path / "small.pbtxt") == [] and parsed == [1]


def test_an_h5_model_config_over_the_cap_is_refused_before_hdf5_reads_it(tmp_path: pathlib.Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    h5py = pytest.importorskip("h5py")
    monkeypatch.setattr(keras_files, "MAX_CONFIG_BYTES", 1 << 20)
    reads: list[str] = []
    real = keras_files._string_attr
    monkeypatch.setattr(keras_files, "_string_attr", lambda obj, name, *a: reads.append(name) or real(obj, name, *a))
    big = tmp_path / "big.h5"
    shutil.copy(H5, big)
    with h5py.File(big, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["padding"] = "x" * (1 << 20)
        f.attrs["model_config"] = json.dumps(config)
    size = len(json.dumps(config))
    assert _errors(big) == [f"{big}: a variable-length string of {size} bytes (a model config) is larger than the "
                            "1 MiB bncheck reads (raise BNCHECK_MAX_CONFIG_MB)"]
    assert reads == []
    assert _errors(H5) == [] and reads[0] == "model_config"
