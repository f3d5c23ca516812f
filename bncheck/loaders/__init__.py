"""Loaders: find model artefacts under a path and read them into :class:`GraphModel` objects.

Nothing here imports TensorFlow or runs a graph: files are parsed as protobuf messages.
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bncheck.errors import NOT_AN_ARTEFACT, InputError, not_an_artefact_reason
from bncheck.source import SOURCE_SUFFIXES
from bncheck.source import wanted as source_wanted
from bncheck.loaders.safe_io import MAX_FILE_BYTES, open_regular, os_reason, read_bounded

if TYPE_CHECKING:
    from bncheck.graph.model import GraphModel

# Finding inputs needs only the file system; protobuf, numpy and the graph loaders are imported by
# load(), which runs in a worker: the command's parent process never imports them (bncheck.command).

GRAPH_SUFFIXES = (".pb", ".pbtxt", ".meta")
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
NOTEBOOK_SUFFIXES = (".ipynb",)  # source mode too: their code cells (bncheck.source.notebooks)
SOURCE_INPUTS = SOURCE_SUFFIXES + NOTEBOOK_SUFFIXES


NOTHING_FOUND = "no GraphDef, MetaGraph, SavedModel, checkpoint or Keras file found in this folder"


@dataclass(frozen=True)
class Target:
    """One artefact to check: ``kind`` is ``file``, ``saved_model`` or ``checkpoint``."""

    path: str
    kind: str


def discover(path: str, notes: list[tuple[str, str]] | None = None) -> list[Target]:
    """The artefacts at ``path``: the file itself, or everything recognisable under a folder.

    Only regular files and folders are taken: a FIFO, device or socket given as ``path`` is an
    :class:`InputError`, so nothing ever blocks on it or reads it endlessly. In a folder walk,
    what is skipped (such special files, symlinks that leave ``path`` or lead nowhere, symlinked
    folders, folders that cannot be listed) is told in ``notes`` as ``(path, what)`` pairs.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(path, "no such file or folder") from None
    except (OSError, ValueError) as exc:
        raise InputError(path, _os_reason(exc)) from None
    if stat.S_ISREG(mode):
        name, folder = os.path.basename(path), os.path.dirname(path) or "."
        if name in SAVED_MODEL_FILES or name == "checkpoint":  # given by name (a pre-commit hook): its folder
            own = _folder_target(folder)
            if own is not None:
                return [own]
        if _member_of_latest_checkpoint(path, folder):  # x.meta, x.index of the folder's checkpoint: one input
            return [Target(folder, "checkpoint")]
        return [Target(path, "source" if path.endswith(SOURCE_INPUTS) else "file")]
    if not stat.S_ISDIR(mode):
        raise InputError(path, f"not a regular file or folder ({_special_kind(mode)})")
    try:
        names = os.listdir(path)
    except OSError as exc:
        raise InputError(path, f"cannot list this folder ({_os_reason(exc)})") from None
    own = _folder_target(path, names)
    if own is not None and own.kind != "checkpoint":
        return [own]
    skipped: list[tuple[str, str]] = notes if notes is not None else []
    root_real = os.path.realpath(path)

    def unlistable(exc: OSError) -> None:
        skipped.append((exc.filename or path, f"skipped: cannot list this folder ({_os_reason(exc)})"))

    targets: list[Target] = []
    for root, dirs, files in os.walk(path, onerror=unlistable):
        dirs.sort()
        here = own if root == path else _folder_target(root, dirs + files)
        if here is not None and here.kind == "checkpoint" and root != path:
            problem = _checkpoint_problem(root)
            if problem is not None:  # a state file left without its checkpoint: the folder is searched
                skipped.append((os.path.join(root, "checkpoint"), f"skipped: {problem}"))
                here = None
        if here is not None:
            targets.append(here)
            if here.kind != "checkpoint":  # a SavedModel's subfolders are part of it
                dirs[:] = []
                continue
        for name in list(dirs):
            if os.path.islink(os.path.join(root, name)):
                skipped.append((os.path.join(root, name), "skipped: symlinked folder (not followed)"))
                dirs.remove(name)
        if here is not None:  # a checkpoint folder's files are the checkpoint; its subfolders are searched
            continue
        for name in sorted(files):
            source = name.endswith(SOURCE_INPUTS) and source_wanted(path, root)  # source mode: .py, .ipynb
            if not name.endswith(GRAPH_SUFFIXES + KERAS_SUFFIXES) and not source:
                continue
            file_path = os.path.join(root, name)
            why = _why_not_a_file(file_path, root_real) or (None if source else not_an_artefact(file_path))
            if why:
                skipped.append((file_path, f"skipped: {why}"))
            else:
                targets.append(Target(file_path, "source" if source else "file"))
    if not targets:
        unlisted = [why for _, why in skipped if why.startswith("skipped: cannot list")]
        cause = (f"; {len(unlisted)} folder{'s' if len(unlisted) != 1 else ''} in it could not be listed "
                 f"({unlisted[0].partition('(')[2]}" if unlisted else "")  # the real cause (a path too long ...)
        raise InputError(path, NOTHING_FOUND
                         + cause)
    return targets


def _member_of_latest_checkpoint(path: str, folder: str) -> bool:
    """Whether ``path`` is the ``.meta``, ``.index`` or a data shard of the checkpoint that the
    ``checkpoint`` state file beside it names as the latest (an older checkpoint's ``.meta`` is
    its own input)."""
    if not path.endswith((".meta", ".index")) and ".data-" not in os.path.basename(path):
        return False
    if not os.path.isfile(os.path.join(folder, "checkpoint")):
        return False
    try:
        prefix = latest_checkpoint_prefix(folder)
    except InputError:
        return False
    real, named = os.path.realpath(path), os.path.realpath(prefix)
    return real in (named + ".meta", named + ".index") or real.startswith(named + ".data-")


def _checkpoint_problem(folder: str) -> str | None:
    """Why the checkpoint a searched folder's ``checkpoint`` state file names cannot be read (no
    checkpoint files beside it, or not a state file at all), or None."""
    try:
        prefix = latest_checkpoint_prefix(folder)
    except InputError as exc:
        return f"a 'checkpoint' file that is not a usable TensorFlow checkpoint state file ({exc.reason})"
    if not os.path.isfile(prefix + ".index"):
        return (f"a checkpoint state file whose latest checkpoint {os.path.basename(prefix)!r} is not here "
                "(no .index file)")
    return None


# what a searched file holds when it is a TensorFlow graph: a binary protobuf's first field
# (GraphDef, MetaGraphDef, SavedModel), or a text protobuf's first field name
_GRAPH_FIRST_BYTES = frozenset(b"\x08\x0a\x12\x18\x1a\x22\x2a\x32\x3a")
_TEXT_FIELDS = frozenset({"node", "versions", "version", "library", "debug_info", "meta_info_def", "graph_def",
                          "saver_def", "collection_def", "signature_def", "asset_file_def", "object_graph_def",
                          "saved_model_schema_version", "meta_graphs"})
_TEXT_START = re.compile(rb"(?:\s|#[^\n]*\n)*([A-Za-z_]\w*)\s*[:{<]")
SNIFF_BYTES = 4096


def not_an_artefact(path: str) -> str | None:
    """Why a file found in a folder search is not a TensorFlow or Keras artefact by its first bytes
    (it is skipped with a note; a file the user names is always read, and its error reported)."""
    try:
        with open_regular(path) as fh:
            head = fh.read(SNIFF_BYTES)
    except (InputError, OSError):
        return None  # the loader reports what is wrong with it
    if path.endswith(KERAS_SUFFIXES):
        if head.startswith((b"PK\x03\x04", b"\x89HDF\r\n\x1a\n")):
            return None  # a zip or HDF5 file that Keras did not write: the worker says so (NotAnArtefact)
        return not_an_artefact_reason("no zip or HDF5 signature")
    if not head:
        return not_an_artefact_reason("empty")
    if head[0] in _GRAPH_FIRST_BYTES:
        return None
    text = _TEXT_START.match(head)
    if text is not None and text.group(1).decode() in _TEXT_FIELDS:
        return None
    if head.startswith(b"fileFormatVersion:"):
        return not_an_artefact_reason("Unity asset metadata")
    return not_an_artefact_reason("neither a binary nor a text GraphDef, MetaGraphDef or SavedModel")


SKIP_EXAMPLES = 3  # paths a grouped skip note names


def summarise_skips(searched: str, notes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A folder search's notes with its skips grouped: paths skipped for the same reason (two or
    more) become one note on the searched folder, with their count and the first few paths
    (relative to it); a reason met once keeps its own note. Other notes are kept as they are."""
    skipped: dict[str, list[str]] = {}
    for source, text in notes:
        if text.startswith("skipped: "):
            skipped.setdefault(text[len("skipped: "):], []).append(source)
    out: list[tuple[str, str]] = []
    done: set[str] = set()
    for source, text in notes:
        reason = text[len("skipped: "):] if text.startswith("skipped: ") else None
        if reason is None or len(skipped[reason]) == 1:
            out.append((source, text))
        elif reason not in done:
            done.add(reason)
            out.append((searched, _grouped_skip(searched, reason, sorted(set(skipped[reason])))))
    return out


def _grouped_skip(searched: str, reason: str, paths: list[str]) -> str:
    shown = ", ".join(os.path.relpath(p, searched) for p in paths[:SKIP_EXAMPLES])
    rest = len(paths) - SKIP_EXAMPLES
    examples = f"{shown} and {rest} more" if rest > 0 else shown
    prefix = NOT_AN_ARTEFACT + " ("
    if reason.startswith(prefix):
        return f"skipped {len(paths)} files that are not TensorFlow artefacts by content ({reason[len(prefix):]}: {examples}"
    return f"skipped {len(paths)} paths: {reason}: {examples}"


def _why_not_a_file(path: str, root_real: str) -> str | None:
    """Why a candidate found in a folder walk is not opened, or None for a regular file inside it."""
    import stat

    try:
        link = os.path.islink(path)
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"broken symlink or symlink loop ({_os_reason(exc)})" if os.path.islink(path) else _os_reason(exc)
    if not stat.S_ISREG(mode):
        return f"not a regular file ({_special_kind(mode)})"
    if link:
        real = os.path.realpath(path)
        if os.path.commonpath([real, root_real]) != root_real:
            return "symlink to a file outside the searched folder"
    return None


def _special_kind(mode: int) -> str:
    import stat

    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "an unusual file type"


def _os_reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__


def _folder_target(folder: str, names: list[str] | None = None) -> Target | None:
    if names is None:
        try:
            names = os.listdir(folder)
        except OSError:
            return None
    present = set(names)
    if present & set(SAVED_MODEL_FILES):
        return Target(folder, "saved_model")
    if "checkpoint" in present and os.path.isfile(os.path.join(folder, "checkpoint")):
        return Target(folder, "checkpoint")
    return None


def load(target: Target) -> list[GraphModel]:
    """Read one target; raises :class:`InputError` with a one-line reason when it cannot."""
    if target.kind == "saved_model":
        return _load_saved_model(target.path)
    if target.kind == "checkpoint":
        return _load_checkpoint_folder(target.path)
    return _load_file(target.path)


def _read(path: str) -> bytes:
    return read_bounded(path, MAX_FILE_BYTES, "file")


def _load_file(path: str) -> list[GraphModel]:
    with open_regular(path) as fh:
        try:
            magic = fh.read(8)
        except OSError as exc:
            raise InputError(path, os_reason(exc)) from None
    if magic.startswith(b"PK\x03\x04"):
        from bncheck.loaders.keras_files import load_keras_zip  # h5py only for Keras files

        return load_keras_zip(path)
    if magic.startswith(b"\x89HDF\r\n\x1a\n"):
        from bncheck.loaders.keras_files import load_h5

        return load_h5(path)
    if path.endswith(KERAS_SUFFIXES):
        raise InputError(path, "not a Keras file: no zip or HDF5 signature (truncated or another format)")
    from bncheck.loaders.graphs import model_from_graph_def, model_from_meta_graph, models_from_saved_model
    from bncheck.loaders.protobuf_io import META_GRAPH_DEF, SAVED_MODEL, parse_file

    kind, msg = parse_file(path, _read(path))
    if kind == SAVED_MODEL:
        return models_from_saved_model(msg, path)
    if kind == META_GRAPH_DEF:
        return [model_from_meta_graph(msg, path, "meta_graph", "MetaGraph")]
    return [model_from_graph_def(msg, path)]


def _load_saved_model(folder: str) -> list[GraphModel]:
    from bncheck.loaders.checkpoint_values import values_from_checkpoint
    from bncheck.loaders.graphs import models_from_saved_model
    from bncheck.loaders.object_graph import captured_variable_names, renamed_variables
    from bncheck.loaders.protobuf_io import SAVED_MODEL, parse_file

    for name in SAVED_MODEL_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            _, msg = parse_file(path, _read(path), expect=(SAVED_MODEL,))
            # the graphs and the checkpoint name captured variables alike: worked out once
            captured = [captured_variable_names(meta.object_graph_def) for meta in msg.meta_graphs]
            models = models_from_saved_model(msg, folder, captured)
            prefix = os.path.join(folder, "variables", "variables")
            if os.path.isfile(prefix + ".index"):
                values = values_from_checkpoint(prefix, "SavedModel variables", renamed_variables(msg, captured))
                for model in models:
                    model.values = values
            return models
    raise InputError(folder, "no saved_model.pb or saved_model.pbtxt in this folder")


_STATE_LINE = re.compile(r'^[ \t]*model_checkpoint_path[ \t]*:[ \t]*"((?:[^"\\\n]|\\.)*)"', re.M)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def latest_checkpoint_prefix(folder: str) -> str:
    """The prefix the folder's ``checkpoint`` state file names as the latest checkpoint.

    The prefix must stay inside ``folder``: Saver's absolute paths (or ``../`` paths) are resolved
    beside the state file, as a moved or copied folder needs, and refused when no checkpoint is
    there, so a state file never makes bncheck read files elsewhere on the machine."""
    state_path = os.path.join(folder, "checkpoint")
    try:
        state = read_bounded(state_path, 1 << 20, "checkpoint state file").decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(state_path, "checkpoint state file is not UTF-8 text") from None
    match = _STATE_LINE.search(state)
    if not match:
        raise InputError(state_path, "checkpoint state file names no model_checkpoint_path")
    try:
        prefix = codecs.escape_decode(match.group(1).encode("utf-8"))[0].decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InputError(state_path, "model_checkpoint_path is not a valid escaped UTF-8 string") from None
    if not prefix or _CONTROL.search(prefix):
        raise InputError(state_path, "model_checkpoint_path is empty or holds control characters")
    named = os.path.normpath(os.path.join(folder, prefix))
    if _inside(named, folder) and _has_checkpoint_files(named):
        return named
    # Saver records absolute paths; in a folder that was moved or copied, the files beside the
    # state file are the ones meant, whatever the old path still holds
    base = os.path.basename(prefix)
    beside = os.path.join(folder, base)
    if base not in ("", ".", "..") and _has_checkpoint_files(beside):
        return beside
    if _inside(named, folder):
        return named
    raise InputError(state_path, f"model_checkpoint_path {prefix!r} is outside this folder and no "
                     f"checkpoint {base!r} is beside the state file")


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` (resolved through symlinks) is inside ``folder``: not the folder itself, whose
    ``.index`` would be a file beside it."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real.startswith(root.rstrip(os.sep) + os.sep)


def _has_checkpoint_files(prefix: str) -> bool:
    return os.path.isfile(prefix + ".index") or os.path.isfile(prefix + ".meta")


def _load_checkpoint_folder(folder: str) -> list[GraphModel]:
    """The latest checkpoint's values, with its ``.meta`` graph when the folder has one (TF1 Saver)."""
    from bncheck.graph.model import Graph, GraphModel
    from bncheck.loaders.checkpoint_values import values_from_checkpoint
    from bncheck.loaders.graphs import model_from_meta_graph
    from bncheck.loaders.protobuf_io import META_GRAPH_DEF, parse_file

    prefix = latest_checkpoint_prefix(folder)
    label = f"checkpoint {os.path.basename(prefix)}"
    meta = prefix + ".meta"
    if not os.path.isfile(prefix + ".index"):
        raise InputError(folder, f"latest checkpoint {os.path.basename(prefix)} has no .index file")
    values = values_from_checkpoint(prefix, label)
    if not os.path.isfile(meta):
        return [GraphModel(graph=Graph([]), source=folder, kind="checkpoint", label=label, values=values)]
    _, msg = parse_file(meta, _read(meta), expect=(META_GRAPH_DEF,))
    model = model_from_meta_graph(msg, folder, "meta_graph", label)
    model.values = values
    return [model]


__all__ = ["Target", "discover", "load", "latest_checkpoint_prefix"]
