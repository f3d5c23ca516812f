"""Artefacts behind fsspec URLs (``gs://``, ``s3://``, ``hf://``, ``memory://`` ...), with the
``remote`` extra (``pip install 'bncheck[remote]'``).

Only the bytes the rules need are fetched. :func:`fetch` lays the artefact out in a private
temporary folder as *placeholders*: its folders, and each file as an empty sparse file of the
remote file's size, so finding and recognising artefacts works as it does locally without reading
anything (a ``.py`` file is fetched whole: source mode reads it whole). The mirror is registered
(in this process and, for spawned workers, in ``BNCHECK_REMOTE_MOUNTS``), and every read of a
placeholder (:func:`open_mirrored`, called by :func:`bncheck.loaders.safe_io.open_regular` and by the
Keras loaders) goes to the remote file through a :class:`RemoteFile`: ranged reads on demand. So a
checkpoint's ``.data`` shards are read only at the offsets of the tensors the rules ask for, a
``.h5``/``.keras`` file only where HDF5 and the zip directory lead (its other datasets never), and a
protobuf whole (it is parsed whole). All the local checks still apply to the placeholders: sizes
declared against the limits before anything is fetched, offsets against the file's size, and only
names inside the artefact (a remote name such as ``..`` is never laid out).

Every path in the report is then written back as the URL the user gave. Without fsspec, a remote
path is a one-line error naming the extra.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bncheck.errors import InputError

if TYPE_CHECKING:
    from bncheck.report import Report

_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]+::)*[A-Za-z][A-Za-z0-9+.-]+://")  # chained: simplecache::s3://

MOUNTS_ENV = "BNCHECK_REMOTE_MOUNTS"
#: the most files and folders one remote folder may hold (each becomes a placeholder)
MAX_ENTRIES = 100_000
#: the largest ``.py`` file fetched whole for source mode
MAX_SOURCE_BYTES = 16 << 20
#: small reads (HDF5 metadata, a zip directory, a BN statistic) fetch this much around them
BLOCK = 32 << 10
_CACHED_BLOCKS = 64
#: a file fetched whole (see :meth:`RemoteFile.fileno`) comes in pieces of this size
WHOLE_CHUNK = 8 << 20

_mounts: dict[str, str] = {}  # local mirror root -> the URL it stands for
_filesystems: dict[str, tuple[Any, str]] = {}  # URL -> (fsspec filesystem, its root path)
_whole: set[str] = set()  # placeholders filled with their remote file's bytes, in this process
_blocks: OrderedDict[tuple[int, str, int], bytes] = OrderedDict()  # (filesystem, path, block number) -> bytes


def is_remote(path: str) -> bool:
    """Whether ``path`` is an fsspec URL (``file://`` and ``local://`` included)."""
    return bool(_URL.match(path))


def _local_root(fs: Any, root: str) -> str | None:
    """The local path an fsspec filesystem serving the local disk names (``file://``, ``local://``)."""
    fsspec = _fsspec()
    local = fsspec.implementations.local.LocalFileSystem if fsspec is not None else None
    return root if local is not None and type(fs) is local else None


LOCAL_ONLY = "--diff and --fix work on local files only"


def local_path(path: str) -> str:
    """``path``, or the local path a ``file://`` / ``local://`` URL names; any other URL is an
    :class:`InputError` (fixes are written to local files only)."""
    if not is_remote(path):
        return path
    fsspec = _fsspec()
    try:
        fs, root = fsspec.core.url_to_fs(path) if fsspec is not None else (None, "")
    except Exception:  # noqa: BLE001 - a URL fsspec cannot serve
        fs = None
    local = _local_root(fs, root) if fs is not None else None
    if local is None:
        raise InputError(path, LOCAL_ONLY)
    return local


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        return None
    return fsspec


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def fetch(url: str, scratch: str, notes: list[tuple[str, str]] | None = None) -> str:
    """Lay ``url`` out under ``scratch`` as placeholders and register it; returns the local path
    (same base name, so the format is recognised as it would be locally). Fetches no artefact
    bytes (only ``.py`` files). A URL of the local disk (``file://``, ``local://``) is its local
    path, walked as one. Symlinks in a folder obey the rules of a local folder walk: a symlinked
    folder is not followed, a link to a file is followed only to a regular file inside the folder;
    what is skipped goes to ``notes``. Raises :class:`InputError` with one line."""
    fsspec = _fsspec()
    if fsspec is None:
        raise InputError(url, "remote paths need fsspec: pip install 'bncheck[remote]'")
    try:
        fs, root = fsspec.core.url_to_fs(url)
        root = root.rstrip("/") or root
        local_root = _local_root(fs, root)
        if local_root is not None:  # file:// and local://: the local path, under the local rules
            return local_root
        name = os.path.basename(root) or "artefact"
        local = os.path.join(scratch, str(len(os.listdir(scratch))), name)
        os.makedirs(os.path.dirname(local))
        try:
            info = fs.info(root)
        except FileNotFoundError:
            raise InputError(url, "no such file or folder") from None
        if info.get("type") != "directory" and name in ("saved_model.pb", "saved_model.pbtxt", "checkpoint"):
            # locally such a file stands for its folder (variables/, the checkpoint's shards); remotely
            # only what the URL names is laid out, so the folder's values would go unread
            folder = url.rstrip("/").rpartition("/")[0]
            raise InputError(url, f"give the folder's URL ({folder}), not its {name}")
        if info.get("type") == "directory":
            os.mkdir(local)
            entries = fs.find(root, withdirs=True, detail=True)
            if len(entries) > MAX_ENTRIES:
                raise InputError(url, f"holds more than {MAX_ENTRIES} files and folders")
            skipped: list[str] = []  # symlinked folders: nothing below them is laid out
            for path, entry in sorted(entries.items()):
                rel = _relative(path, root)
                if rel is None or any(path.startswith(s + "/") for s in skipped):
                    continue  # the folder itself, a name that would leave the mirror, or under a link
                target = os.path.join(local, *rel)
                why = _link_refused(fs, path, root, entry)
                if why is not None:
                    skipped.append(path.rstrip("/"))
                    if notes is not None:
                        notes.append((target, f"skipped: {why}"))
                    continue
                if entry.get("type") == "directory":
                    os.makedirs(target, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    _placeholder(fs, path, target, entry)
        else:
            _placeholder(fs, root, local, info)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is one line for that URL
        raise InputError(url, f"cannot fetch ({type(exc).__name__}: {_one_line(exc)})") from None
    _mounts[os.path.abspath(local)] = url
    _filesystems[url] = (fs, root)
    os.environ[MOUNTS_ENV] = json.dumps(_mounts)
    return local


def _relative(path: str, root: str) -> list[str] | None:
    """``path``'s parts below ``root``, or None when it is ``root`` or not safely inside it."""
    path = path.rstrip("/")
    if not path.startswith(root.rstrip("/") + "/"):
        return None
    parts = path[len(root.rstrip("/")) + 1:].split("/")
    if any(p in ("", ".", "..") or "\0" in p or os.sep in p or (os.altsep and os.altsep in p) for p in parts):
        return None
    return parts


def _link_refused(fs: Any, path: str, root: str, entry: dict[str, Any]) -> str | None:
    """Why a symlink found in a remote folder is not followed (None: not a link, or a link to a
    regular file inside the folder, as a local folder walk decides)."""
    if not entry.get("islink"):
        return None
    destination = entry.get("destination")
    if not isinstance(destination, str):
        return "symlink whose target is unknown"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path.rstrip("/")), destination))
    try:
        info = fs.info(resolved)
    except Exception:  # noqa: BLE001 - a dangling link
        return "broken symlink or symlink loop"
    if info.get("type") == "directory":
        return "symlinked folder (not followed)"
    if _relative(resolved, root) is None:
        return "symlink to a file outside the searched folder"
    if info.get("islink") or info.get("type") != "file":
        return "chain of symlinks or a special file (not followed)"
    return None


def _placeholder(fs: Any, path: str, target: str, info: dict[str, Any]) -> None:
    """An empty sparse file of the remote file's size (a ``.py`` file: its content)."""
    size = info.get("size")
    if not isinstance(size, int) or size < 0:
        size = fs.size(path)
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"the size of {path} is unknown")
    if target.endswith(".py") and size > MAX_SOURCE_BYTES:
        raise ValueError(f"{path}: a .py file of {size} bytes (source mode reads at most {MAX_SOURCE_BYTES >> 20} MiB)")
    with open(target, "wb") as fh:
        if target.endswith(".py"):
            fh.write(fs.cat_file(path))
        else:
            fh.truncate(size)


def forget(scratch: str) -> None:
    """Unregister the mirrors under ``scratch`` (before it is removed)."""
    prefix = os.path.abspath(scratch) + os.sep
    for local in [m for m in _mounts if m.startswith(prefix)]:
        _filesystems.pop(_mounts.pop(local), None)
    if _mounts:
        os.environ[MOUNTS_ENV] = json.dumps(_mounts)
    else:
        os.environ.pop(MOUNTS_ENV, None)
    _blocks.clear()
    _whole.clear()


def _registered() -> dict[str, str]:
    if not _mounts and os.environ.get(MOUNTS_ENV):  # a spawned worker: the parent's mirrors
        try:
            mounts = json.loads(os.environ[MOUNTS_ENV])
        except ValueError:
            mounts = {}
        if isinstance(mounts, dict):
            _mounts.update({k: v for k, v in mounts.items() if isinstance(k, str) and isinstance(v, str)})
    return _mounts


def open_mirrored(path: str) -> "RemoteFile | None":
    """The remote file a placeholder stands for, opened for ranged reads; None for any other path."""
    mounts = _registered()
    if not mounts:
        return None
    full = os.path.abspath(path)
    for local, url in mounts.items():
        if full == local or full.startswith(local + os.sep):
            parts = full[len(local):].split(os.sep)[1:]
            fs, root = _filesystem(url)
            return RemoteFile(fs, "/".join([root.rstrip("/") or root] + parts) if parts else root, full)
    return None


def _filesystem(url: str) -> tuple[Any, str]:
    if url not in _filesystems:
        fsspec = _fsspec()
        if fsspec is None:
            raise InputError(url, "remote paths need fsspec: pip install 'bncheck[remote]'")
        fs, root = fsspec.core.url_to_fs(url)
        _filesystems[url] = (fs, root.rstrip("/") or root)
    return _filesystems[url]


class RemoteFile:
    """A read-only, seekable binary file whose bytes come from ``fs`` on demand.

    The size is the placeholder's (the remote size when the mirror was laid out; reads never go
    past it), and :meth:`fileno` is the placeholder's, so ``os.fstat`` tells the size as for a
    local file. A read of at least :data:`BLOCK` bytes fetches exactly its range; smaller reads
    fetch the blocks around them, kept in a small per-process cache. Backend failures are
    ``OSError``, as a local read's would be.
    """

    def __init__(self, fs: Any, remote_path: str, placeholder: str) -> None:
        self.fs, self.remote_path, self.name = fs, remote_path, placeholder
        self._fd = os.open(placeholder, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size
        self.pos = 0
        self.closed = False
        self._local = placeholder in _whole  # the placeholder holds the remote bytes already

    # the io.RawIOBase surface h5py, zipfile and the loaders use
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def fileno(self) -> int:
        """The placeholder's descriptor, once it holds the whole remote file: whatever reads the
        file through its descriptor (an ``mmap`` scan) sees the real bytes, never the placeholder's
        zeros. Fetches the whole file the first time."""
        if not self._local:
            self._materialise()
        return self._fd

    def _materialise(self) -> None:
        out = os.open(self.name, os.O_WRONLY)
        try:
            for start in range(0, self.size, WHOLE_CHUNK):
                data = self._cat(start, min(self.size, start + WHOLE_CHUNK))
                os.pwrite(out, data, start)
                if len(data) < min(WHOLE_CHUNK, self.size - start):  # the remote file shrank
                    os.ftruncate(out, start + len(data))
                    self.size = start + len(data)
                    break
        finally:
            os.close(out)
        _whole.add(self.name)
        self._local = True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        if base + offset < 0:
            raise OSError(22, "negative seek position")
        self.pos = base + offset
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        left = max(0, self.size - self.pos)
        n = left if n is None or n < 0 else min(n, left)
        if n == 0:
            return b""
        data = self._range(self.pos, self.pos + n)
        self.pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        raise OSError(9, "read-only remote file")

    def truncate(self, size: int | None = None) -> int:
        raise OSError(9, "read-only remote file")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)

    def __enter__(self) -> "RemoteFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    def _range(self, start: int, end: int) -> bytes:
        if self._local:
            return os.pread(self._fd, end - start, start)
        pieces = []
        while start < end:  # what the cache holds already (a file's head, read to tell its format)
            first = start // BLOCK * BLOCK
            cached = _blocks.get((id(self.fs), self.remote_path, first // BLOCK), b"")[start - first:end - first]
            if not cached:
                break
            pieces.append(cached)
            start += len(cached)
        if end - start >= BLOCK:
            pieces.append(self._cat(start, end))
        elif start < end:
            first, last = start // BLOCK, (end - 1) // BLOCK
            data = b"".join(self._block(b) for b in range(first, last + 1))
            pieces.append(data[start - first * BLOCK:end - first * BLOCK])
        return b"".join(pieces)

    def _block(self, number: int) -> bytes:
        key = (id(self.fs), self.remote_path, number)
        if key in _blocks:
            _blocks.move_to_end(key)
            return _blocks[key]
        data = self._cat(number * BLOCK, min(self.size, (number + 1) * BLOCK))
        _blocks[key] = data
        if len(_blocks) > _CACHED_BLOCKS:
            _blocks.popitem(last=False)
        return data

    def _cat(self, start: int, end: int) -> bytes:
        try:
            data = self.fs.cat_file(self.remote_path, start=start, end=end)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - a backend's own error types: a failed read
            raise OSError(5, f"remote read failed ({type(exc).__name__}: {_one_line(exc)})") from None
        return bytes(data[:end - start])


def _back(text: str, mapping: dict[str, str]) -> str:
    for local, url in mapping.items():
        if text == local or text.startswith(local + os.sep):
            return url.rstrip("/") + text[len(local):].replace(os.sep, "/") if text != local else url
    return text


def restore(report: "Report", mapping: dict[str, str]) -> "Report":
    """``report`` with the temporary copies' paths written back as the URLs they came from."""
    return replace(
        report,
        findings=[replace(f, path=_back(f.path, mapping)) for f in report.findings],
        errors=[InputError(_back(e.source, mapping), e.reason) for e in report.errors],
        checked=[_back(p, mapping) for p in report.checked],
        notes=[(_back(p, mapping), n) for p, n in report.notes],
    )
