"""The tensor-bundle reader (groundwork for the values rules): same tensors as TensorFlow's reader."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from bncheck.errors import InputError
from bncheck.loaders import latest_checkpoint_prefix
from bncheck.loaders.checkpoint_bundle import CheckpointReader, crc32c
from conftest import FIXTURES

CKPT = FIXTURES / "tf1" / "layers_checkpoint_no_updates"
PREFIXES = [latest_checkpoint_prefix(str(CKPT)),
            str(FIXTURES / "tf1" / "saved_model_slim_is_training_true" / "variables" / "variables")]


def test_crc32c_known_answer():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value


@pytest.mark.parametrize("prefix", PREFIXES, ids=["checkpoint", "saved_model_variables"])
def test_every_tensor_matches_tensorflows_reader(prefix):
    tf = pytest.importorskip("tensorflow")
    theirs = tf.train.load_checkpoint(prefix)
    ours = CheckpointReader(prefix)
    assert ours.keys() == sorted(theirs.get_variable_to_shape_map())
    for key in ours.keys():
        np.testing.assert_array_equal(ours.read(key), theirs.get_tensor(key))


def test_untrained_moving_statistics_are_read_exactly():
    reader = CheckpointReader(PREFIXES[0])
    assert reader.read("global_step") == 20
    assert (reader.read("model/bn1/moving_mean") == 0).all()
    assert (reader.read("model/bn1/moving_variance") == 1).all()
    assert not np.allclose(reader.read("model/bn1/gamma"), 1.0)  # gamma trained, stats never moved


def test_moved_checkpoint_folder_still_resolves(tmp_path):
    """Saver writes absolute paths into the state file; a copied folder must still be readable."""
    copy = tmp_path / "moved"
    shutil.copytree(CKPT, copy)
    assert "/" in (copy / "checkpoint").read_text().split('"')[1]  # the real file holds an absolute path
    assert latest_checkpoint_prefix(str(copy)) == str(copy / "model.ckpt-20")


def test_corrupt_shard_fails_the_checksum(tmp_path):
    copy = tmp_path / "ckpt"
    shutil.copytree(CKPT, copy)
    shard = next(copy.glob("*.data-*"))
    data = bytearray(shard.read_bytes())
    reader = CheckpointReader(latest_checkpoint_prefix(str(copy)))
    entry = reader.entries["model/bn1/moving_mean"]
    data[entry.offset] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(InputError, match="checksum mismatch for tensor 'model/bn1/moving_mean'"):
        reader.read("model/bn1/moving_mean")


def test_truncated_index_is_an_input_error(tmp_path):
    index = tmp_path / "m.index"
    index.write_bytes((CKPT / "model.ckpt-20.index").read_bytes()[:-10])
    with pytest.raises(InputError, match="not a readable checkpoint index"):
        CheckpointReader(str(tmp_path / "m"))


def test_reading_a_checkpoint_imports_no_tensorflow():
    code = ("import sys; from bncheck.loaders.checkpoint_bundle import CheckpointReader\n"
            "r = CheckpointReader(sys.argv[1]); [r.read(k) for k in r.keys()]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'tensorflow', 'keras', 'tf_keras'}))")
    proc = subprocess.run([sys.executable, "-c", code, PREFIXES[0]], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
