"""Coverage-guided fuzzing of one bncheck loader with atheris (libFuzzer for Python).

    pip install -e ".[fuzz]"
    python fuzz/atheris_target.py FORMAT [CORPUS_DIR] [libFuzzer flags, e.g. -atheris_runs=100000 -max_len=4000000]

FORMAT is one of the campaign's formats (``python fuzz/campaign.py --help`` lists them: pb, pbtxt,
meta, saved_model, ckpt_index, ckpt_data, ckpt_state, keras_config, keras_weights, keras_zip, h5).
The input bytes are the mutated file (for ``keras_config``/``keras_weights``: the zip member, put
back into a real ``.keras``), placed among the other files of a fixture artefact. The corpus folder
is seeded from ``fixtures/`` when empty. A finding is any verdict of the oracle other than ``ok``
(an exception other than ``InputError``, a multi-line error, a Python bug wrapped as an input error,
a read outside the artefact); libFuzzer then saves the input as ``crash-*``.

Mutation: libFuzzer's byte mutations, mixed with bncheck's own structure mutators (protobuf fields,
JSON values, tensor-bundle entries; see ``fuzz/mutators.py``) through atheris' custom mutator. For
GraphDef, MetaGraph and SavedModel, ``atheris-libprotobuf-mutator`` is used instead when it is
installed (it needs bazel to build from source; no wheel exists for every platform).
"""
from __future__ import annotations

import pathlib
import random
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["bncheck"]):
    import bncheck.engine  # noqa: F401
    import bncheck.loaders  # noqa: F401

from fuzz import harness  # noqa: E402

PROTO_FORMATS = {"pb": "tensorflow.GraphDef", "meta": "tensorflow.MetaGraphDef", "saved_model": "tensorflow.SavedModel"}


def _seed_corpus(fmt: str, corpus: pathlib.Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    spec = harness.FORMATS[fmt]
    for i, seed in enumerate(harness.seeds(fmt)):
        data = seed.files[seed.member]
        if spec.zip_member:
            data = harness._zip_member(data, spec.zip_member)
        (corpus / f"seed-{i}").write_bytes(data)


def make_target(fmt: str):
    spec = harness.FORMATS[fmt]
    seed = harness.seeds(fmt)[0]
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"bncheck-atheris-{fmt}-"))

    def test_one_input(data: bytes) -> None:
        member = harness._rebuild_zip(seed.files[seed.member], spec.zip_member, data) if spec.zip_member else data
        path = harness.materialize(seed, member, work / "m")
        verdict = harness.check_artefact(path, work / "m")
        if verdict.status != "ok":
            raise AssertionError(f"{verdict.status}: {verdict.detail}")

    def custom_mutator(data: bytes, max_size: int, seed_value: int) -> bytes:
        rng = random.Random(seed_value)
        if rng.random() < 0.5:
            return atheris.Mutate(data, max_size)
        try:
            return spec.mutate(rng, data)[:max_size]
        except Exception:  # noqa: BLE001 - a structure mutator choking on a weird input: bytes instead
            return atheris.Mutate(data, max_size)

    return test_one_input, custom_mutator


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in harness.FORMATS:
        sys.exit(f"usage: {sys.argv[0]} FORMAT [CORPUS_DIR] [libFuzzer flags]; FORMAT in {sorted(harness.FORMATS)}")
    fmt = sys.argv.pop(1)
    corpus_args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus_args:
        _seed_corpus(fmt, pathlib.Path(corpus_args[0]))
    test_one_input, custom_mutator = make_target(fmt)
    if fmt in PROTO_FORMATS:
        try:
            import atheris_libprotobuf_mutator  # type: ignore[import-not-found]

            from bncheck.protos import message_class

            def test_one_proto(msg) -> None:
                test_one_input(msg.SerializeToString())

            atheris_libprotobuf_mutator.Setup(sys.argv, test_one_proto, proto=message_class(PROTO_FORMATS[fmt]))
            atheris.Fuzz()
            return
        except ImportError:
            pass
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
