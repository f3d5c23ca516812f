"""What the fuzz targets, the campaign and the quick test share: the formats (seed artefacts from
``fixtures/``, which file of each is mutated and how), building a mutant on disk, and the oracle
that judges one artefact.

The oracle runs the loaders and rules directly (no worker process, no catch-all), so any exception
other than :class:`bncheck.errors.InputError` is a bug, as is an error message that is not one
line, names no file, or wraps a Python bug type that a guard turned into an input error. An audit
hook records every file or folder Python opens or lists while the artefact is checked: anything
outside the artefact (and outside the Python installation) is a read outside the artefact.
"""
from __future__ import annotations

import io
import os
import pathlib
import random
import shutil
import sys
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from typing import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

from fuzz import mutators  # noqa: E402


@dataclass(frozen=True)
class Seed:
    """One artefact to mutate: its files (relative path -> bytes), the path bncheck is given
    (``"."`` for the folder) and the file that is mutated."""

    name: str
    files: dict[str, bytes]
    target: str
    member: str


@dataclass(frozen=True)
class Format:
    name: str
    mutate: Callable[[random.Random, bytes], bytes]
    seeds: Callable[[], list[Seed]]
    #: for ``.keras`` members: the member mutated inside the zip, which is rebuilt around it
    zip_member: str | None = None


def _proto(name: str) -> Callable[[random.Random, bytes], bytes]:
    def mutate(rng: random.Random, data: bytes) -> bytes:
        from bncheck.protos import message_class

        return mutators.mutate_proto_bytes(rng, data, message_class(name))
    return mutate


def _files(folder: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _single(pattern: str, skip: tuple[str, ...] = (), name: str = "model") -> Callable[[], list[Seed]]:
    def seeds() -> list[Seed]:
        out = []
        for path in sorted(FIXTURES.glob(pattern)):
            if path.name in skip or path.name.startswith("saved_model."):
                continue
            file_name = name + path.suffix
            out.append(Seed(str(path.relative_to(FIXTURES)), {file_name: path.read_bytes()}, file_name, file_name))
        return out
    return seeds


def _folders(marker: str, member: Callable[[dict[str, bytes]], str | None]) -> Callable[[], list[Seed]]:
    def seeds() -> list[Seed]:
        out = []
        for path in sorted(FIXTURES.glob(f"*/*/{marker}")):
            files = _files(path.parent)
            chosen = member(files)
            if chosen is not None:
                out.append(Seed(str(path.parent.relative_to(FIXTURES)), files, ".", chosen))
        return out
    return seeds


def _first(suffix: str) -> Callable[[dict[str, bytes]], str | None]:
    return lambda files: next((f for f in sorted(files) if f.endswith(suffix) or f.split(".")[-1].startswith(suffix)), None)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("pb", _proto("tensorflow.GraphDef"), _single("*/*.pb")),
    Format("pbtxt", mutators.mutate_text, lambda: _single("*/*.pbtxt")() + _single("*/*/saved_model.pbtxt")()
           + [Seed(str(p.parent.relative_to(FIXTURES)), {"model.pbtxt": p.read_bytes()}, "model.pbtxt", "model.pbtxt")
              for p in sorted(FIXTURES.glob("*/*/saved_model.pbtxt"))]),
    Format("meta", _proto("tensorflow.MetaGraphDef"), _single("*/*.meta", skip=("slim_resnet_v1_50_without_updates.meta",))),
    Format("saved_model", _proto("tensorflow.SavedModel"), _folders("saved_model.pb", lambda f: "saved_model.pb")),
    Format("ckpt_index", mutators.mutate_index,
           lambda: _folders("checkpoint", _first(".index"))() + _folders("saved_model.pb", _first(".index"))()),
    Format("ckpt_data", mutators.mutate_bytes,
           lambda: _folders("checkpoint", _first("data-"))() + _folders("saved_model.pb", _first("data-"))()),
    Format("ckpt_state", mutators.mutate_text, _folders("checkpoint", lambda f: "checkpoint")),
    Format("keras_config", mutators.mutate_json, _single("*/*.keras"), zip_member="config.json"),
    Format("keras_weights", mutators.mutate_bytes, _single("*/*.keras"), zip_member="model.weights.h5"),
    Format("keras_zip", mutators.mutate_bytes, _single("*/*.keras")),
    Format("h5", mutators.mutate_bytes, _single("*/*.h5")),
)}

_SEEDS: dict[str, list[Seed]] = {}


def seeds(fmt: str) -> list[Seed]:
    if fmt not in _SEEDS:
        _SEEDS[fmt] = FORMATS[fmt].seeds()
    return _SEEDS[fmt]


def _rebuild_zip(original: bytes, member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == member else src.read(info.filename))
    return out.getvalue()


def _zip_member(original: bytes, member: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(original)) as src:
        return src.read(member)


def mutant(fmt: str, number: int, base_seed: int = 0) -> tuple[Seed, bytes]:
    """Mutant ``number`` of a format: the seed artefact it came from and the mutated member's bytes.
    Deterministic in (fmt, number, base_seed)."""
    spec = FORMATS[fmt]
    rng = random.Random(f"{base_seed}:{fmt}:{number}")
    seed = rng.choice(seeds(fmt))
    data = seed.files[seed.member]
    if spec.zip_member:
        inner = spec.mutate(rng, _zip_member(data, spec.zip_member))
        return seed, _rebuild_zip(data, spec.zip_member, inner)
    return seed, spec.mutate(rng, data)


def materialize(seed: Seed, member_bytes: bytes, folder: pathlib.Path) -> pathlib.Path:
    """Write the artefact into an empty ``folder``; returns the path to give bncheck."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for rel, data in seed.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(member_bytes if rel == seed.member else data)
    return folder if seed.target == "." else folder / seed.target


# -- the oracle --------------------------------------------------------------------------------

#: exception types that are bugs in bncheck when they surface, even wrapped in an input error
BUG_TYPES = ("AttributeError", "TypeError", "IndexError", "RecursionError", "OverflowError", "ZeroDivisionError",
             "UnicodeDecodeError", "UnicodeEncodeError", "UnboundLocalError", "NameError", "AssertionError",
             "internal error", "could not be read (")


@dataclass
class Verdict:
    """What checking one artefact did: ``status`` ``ok`` (a report, or one-line input errors),
    ``bug`` (an unhandled exception or a malformed error), ``outside`` (a read outside the artefact)."""

    status: str = "ok"
    detail: str = ""
    errors: list[str] = field(default_factory=list)
    findings: int = 0
    seconds: float = 0.0
    outside: list[str] = field(default_factory=list)


_WATCH: list[str] = []
_OUTSIDE: list[str] = []
_ALLOWED = tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                        str(ROOT / "bncheck"), "/usr/lib", "/usr/local/lib",
                                                        "/proc/self", "/dev/null", "/dev/urandom")}
                         # under mutmut (tools/mutation.py), a mutated function's first call reads mutmut's config
                         | ({os.path.realpath("pyproject.toml")} if "MUTANT_UNDER_TEST" in os.environ else set())))


def _audit(event: str, args: tuple) -> None:
    if not _WATCH or event not in ("open", "os.listdir", "os.scandir", "os.chdir"):
        return
    path = args[0] if args else None
    if isinstance(path, int) or path is None:
        return
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return
    if any(real == a or real.startswith(a + os.sep) for a in _WATCH + list(_ALLOWED)):
        return
    if "__pycache__" in real or real.endswith((".py", ".pyc", ".so")):
        return
    if event != "open" and real in {os.path.realpath(p or ".") for p in sys.path}:
        return  # the import system listing sys.path entries for a first-time import
    _OUTSIDE.append(f"{event} {real}")


_HOOKED = False


def _install_hook() -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True


def check_artefact(path: pathlib.Path | str, artefact_root: pathlib.Path | str | None = None) -> Verdict:
    """Discover, load and check ``path`` the way the engine does, but with no catch-all."""
    from bncheck.engine import check_models
    from bncheck.errors import InputError
    from bncheck.loaders import discover, load

    _install_hook()
    verdict = Verdict()
    root = os.path.realpath(str(artefact_root or (path if os.path.isdir(path) else os.path.dirname(path))))
    _WATCH[:] = [root]
    del _OUTSIDE[:]
    since = time.monotonic()
    try:
        try:
            targets = discover(str(path))
        except InputError as exc:
            verdict.errors.append(str(exc))
            targets = []
        for target in targets:
            try:
                models = load(target)
                verdict.findings += len(check_models(models))
            except InputError as exc:
                verdict.errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - the point: any other exception is a bug
        verdict.status = "bug"
        tb = traceback.extract_tb(exc.__traceback__)
        frame = next((f for f in reversed(tb) if "/bncheck/" in f.filename), tb[-1] if tb else None)
        where = f"{pathlib.Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else "?"
        verdict.detail = f"{type(exc).__name__} at {where}: {' '.join(str(exc).split())[:200]}"
    finally:
        _WATCH[:] = []
        verdict.seconds = time.monotonic() - since
    verdict.outside = list(_OUTSIDE)
    if verdict.status == "ok":
        for err in verdict.errors:
            if "\n" in err or "\r" in err:
                verdict.status, verdict.detail = "bug", f"multi-line error: {err[:200]!r}"
            elif not err.split(":")[0]:
                verdict.status, verdict.detail = "bug", f"error names no file: {err[:200]!r}"
            elif any(t in err for t in BUG_TYPES):
                verdict.status, verdict.detail = "bug", f"a bug wrapped as an input error: {err[:300]}"
    if verdict.status == "ok" and verdict.outside:
        verdict.status, verdict.detail = "outside", "; ".join(verdict.outside[:3])
    return verdict
