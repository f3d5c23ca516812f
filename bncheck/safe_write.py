"""Writing a file of the scanned repository back (``--fix``) without ever damaging it.

The new content goes to a temporary file in the same folder, is flushed to disk (``fsync``) and
then replaces the original in one ``os.replace``: a run killed at any moment, a full disk or a
failed write leaves the original whole. The file keeps its permission bits, its UTF-8 byte-order
mark and its line endings (a CRLF file gets CRLF in the lines a fix adds), and its owner where the
process may set it.

Only regular files inside the paths the user named are written: a symlink (the file itself, or a
folder between the named path and it), a path outside every named path, a file marked read-only
(no write permission bit, even for root) or one on a read-only file system is refused with a
one-line :class:`~bncheck.errors.InputError`. Folders are opened one component at a time with
``O_NOFOLLOW`` where the system allows it, so a folder swapped for a symlink during the run is not
followed either.
"""
from __future__ import annotations

import os
import secrets
import stat
from typing import Sequence

from bncheck.errors import InputError

BOM = b"\xef\xbb\xbf"
_LINKED = "a symlinked folder is not written through"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: whether folders can be held open and named relative to (POSIX); elsewhere paths are checked with lstat
_AT = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd and bool(_NOFOLLOW and _DIRECTORY)  # replace as rename


def encode_like(original: bytes, text: str) -> bytes:
    """``text`` in the encoding it was read with (``text.encoding``, a PEP 263 declaration; UTF-8 by
    default) with ``original``'s byte-order mark, and CRLF line ends when ``original`` ends every
    line with CRLF (the lines a fix added end with a bare LF)."""
    data = str(text).encode(_encoding(text))
    lf = original.count(b"\n")
    if lf and original.count(b"\r\n") == lf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return BOM + data if original.startswith(BOM) and not data.startswith(BOM) else data


def _encoding(text: str) -> str:
    """The codec a source text was read with (UTF-8 unless a PEP 263 line said otherwise); the BOM
    is kept byte for byte by :func:`encode_like`, so ``utf-8-sig`` is written as UTF-8."""
    encoding = str(getattr(text, "encoding", None) or "utf-8")
    return "utf-8" if encoding.lower().replace("_", "-") in ("utf-8-sig", "utf8-sig") else encoding


def as_on_disk(path: str, text: str) -> tuple[str, str]:
    """The file ``path`` as it is and as :func:`write_fixed` would write ``text`` into it (its BOM and
    line ends kept), both decoded: what a patch of the fix must show. Raises ``OSError``."""
    with open(path, "rb") as fh:
        original = fh.read()
    encoding = _encoding(text)
    return (original.decode(encoding, "surrogateescape"),
            encode_like(original, text).decode(encoding, "surrogateescape"))


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _inside(path: str, roots: Sequence[str]) -> tuple[str, list[str]] | None:
    """The folder ``path`` is written from (a named folder, or the folder of a named file) and the
    components from it to ``path``; None when ``path`` is under no named path. A named folder that
    is a symlink is refused."""
    full = os.path.abspath(path)
    for root in roots:
        base = os.path.abspath(root)
        if full == base:
            return os.path.dirname(base), [os.path.basename(base)]
        rel = os.path.relpath(full, base) if os.path.splitdrive(full)[0] == os.path.splitdrive(base)[0] else ".."
        if rel != ".." and not rel.startswith(".." + os.sep):
            if os.path.islink(base):
                raise InputError(path, f"not fixed: {_LINKED} ({root})")
            return base, rel.split(os.sep)
    return None


def write_fixed(path: str, text: str, roots: Sequence[str]) -> None:
    """Replace the file ``path`` (under one of ``roots``, the paths the user named) by ``text``.

    Raises :class:`InputError` (one line naming ``path``) when it must not or cannot be written; the
    original is then unchanged."""
    where = _inside(path, roots)
    if where is None:
        raise InputError(path, "not fixed: outside the paths given")
    base, parts = where
    if not _AT:
        _write_by_path(path, base, parts, text)
        return
    try:
        folder = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise InputError(path, f"not fixed: {_reason(exc)}") from None
    try:
        for i, part in enumerate(parts[:-1], 1):  # each folder below the named path, never a symlink
            try:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=folder)
            except OSError as exc:
                why = _LINKED if os.path.islink(os.path.join(base, *parts[:i])) else _reason(exc)
                raise InputError(path, f"not fixed: {why}") from None
            os.close(folder)
            folder = inner
        _replace(path, folder, parts[-1], text)
    finally:
        os.close(folder)


def _check_target(path: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise InputError(path, "not fixed: a symlink is not written through")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not fixed: not a regular file")
    if not info.st_mode & 0o222:
        raise InputError(path, "not fixed: the file is read-only")


def _replace(path: str, folder: int, name: str, text: str) -> None:
    try:
        _check_target(path, os.stat(name, dir_fd=folder, follow_symlinks=False))
        src = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=folder)
        try:
            info = os.fstat(src)
            _check_target(path, info)
            original = _read_all(src)
        finally:
            os.close(src)
        if not os.access(name, os.W_OK, dir_fd=folder, follow_symlinks=False):
            raise InputError(path, "not fixed: no permission to write it")
    except OSError as exc:
        raise InputError(path, f"not fixed: {_reason(exc)}") from None
    temp = f".{name[:200]}.bncheck-{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=folder)
    except OSError as exc:
        raise InputError(path, f"not fixed: cannot write beside it ({_reason(exc)})") from None
    try:
        try:
            _write_all(fd, encode_like(original, text))
            _same_owner(fd, info)
            os.fchmod(fd, stat.S_IMODE(info.st_mode))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException as exc:
        try:
            os.unlink(temp, dir_fd=folder)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise InputError(path, f"not fixed: {_reason(exc)}; the file is unchanged") from None
        raise
    try:
        os.fsync(folder)  # the rename itself reaches the disk
    except OSError:
        pass


def _same_owner(fd: int, info: os.stat_result) -> None:
    """The original's owner and group, where this process may give them (as root in a CI container
    on a mounted checkout: a fixed file must not become root's)."""
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)
        except OSError:
            pass


def _write_by_path(path: str, base: str, parts: list[str], text: str) -> None:
    """The same checks by path, where folders cannot be held open (Windows)."""
    for i in range(1, len(parts)):
        if os.path.islink(os.path.join(base, *parts[:i])):
            raise InputError(path, f"not fixed: {_LINKED}")
    full = os.path.join(base, *parts)
    try:
        _check_target(path, os.lstat(full))
        with open(full, "rb") as fh:
            original = fh.read()
        mode = stat.S_IMODE(os.stat(full).st_mode)
    except OSError as exc:
        raise InputError(path, f"not fixed: {_reason(exc)}") from None
    temp = os.path.join(os.path.dirname(full), f".{parts[-1][:200]}.bncheck-{secrets.token_hex(6)}.tmp")
    try:
        with open(temp, "xb") as fh:
            fh.write(encode_like(original, text))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, mode)
        os.replace(temp, full)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise InputError(path, f"not fixed: {_reason(exc)}; the file is unchanged") from None
        raise


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def replace_file(path: str, data: bytes) -> None:
    """Write a file the user named as output (a baseline): a temporary file beside it, fsync, then
    ``os.replace``, so a reader never sees half of it; an existing file keeps its permission bits."""
    folder = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(folder, f".{os.path.basename(path)[:200]}.bncheck-{secrets.token_hex(6)}.tmp")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        with open(temp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
