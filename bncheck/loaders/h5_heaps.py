"""HDF5 global heap collections, walked in Python before HDF5 reads one.

Variable-length strings (a tf-keras ``.h5``'s ``model_config``, ``keras_version``, any string
attribute written as ``str``) live in the file's global heap: collections of objects, each object
headed by its index and size. HDF5 1.14 walks a collection object by object and trusts each size:
an object that claims zero bytes (or so many that the next position wraps around) makes its walk
spin for ever inside C code, where no signal or exception reaches. So before any variable-length
value is read, every collection in the file is walked here the same way, and one whose objects do
not tile it exactly is refused with an :class:`InputError`.

Every place in the file that starts like a collection (the ``GCOL`` signature and version 1) is
checked, not only the ones a heap ID points to: a damaged ID can point anywhere, and HDF5 accepts
any address whose bytes start like a collection.
"""
from __future__ import annotations

import mmap
import struct
from typing import BinaryIO

from bncheck.errors import InputError

_SUPERBLOCK = b"\x89HDF\r\n\x1a\n"
_COLLECTION = b"GCOL"
_VERSION = 1


def _sizeof_lengths(data: mmap.mmap | bytes) -> int:
    """How many bytes a length takes in this file, from its superblock (found at 0, 512, 1024, ...
    as HDF5 looks for it); 8, HDF5's default, when no superblock says otherwise."""
    offset = 0
    while offset + 16 <= len(data):
        if data[offset:offset + 8] == _SUPERBLOCK:
            version = data[offset + 8]
            at = offset + (14 if version < 2 else 10)
            size = data[at] if at < len(data) else 8
            return size if size in (2, 4, 8, 16, 32) else 8
        offset = 512 if offset == 0 else offset * 2
    return 8


def _length(data: mmap.mmap | bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "little")


def collection_problem(data: mmap.mmap | bytes, start: int, lengths: int) -> str | None:
    """What is wrong with the collection at ``start`` (``None`` when its objects tile it exactly),
    walking it as HDF5 does: a header of 8 + ``lengths`` bytes, then objects of a 2-byte index, a
    2-byte reference count, 4 reserved bytes and a ``lengths``-byte size; objects other than the free
    space (index 0) are padded to 8 bytes; a tail too short for an object header is free space."""
    header = 8 + lengths
    object_header = 8 + lengths
    size = _length(data, start + 8, lengths)
    if size < header or start + size > len(data):
        return f"declares {size} bytes, beyond the file's {len(data)}"
    end = start + size
    at = start + header
    while at < end:
        if at + object_header > end:
            return None  # the tail: free space
        index = struct.unpack_from("<H", data, at)[0]
        claimed = _length(data, at + 8, lengths)
        need = claimed if index == 0 else object_header + (claimed + 7) // 8 * 8
        if need <= 0 or need > end - at:
            return f"object {index} at byte {at} claims {claimed} bytes, {end - at} are left"
        at += need
    return None


def check_global_heaps(fh: BinaryIO, source: str) -> None:
    """Refuse a file holding a global heap collection HDF5 could not walk to its end."""
    fh.seek(0, 2)
    if fh.tell() == 0:
        return
    fileno = fh.fileno()
    with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as data:
        lengths = _sizeof_lengths(data)
        at = data.find(_COLLECTION)
        while at >= 0:
            if at + 8 + lengths <= len(data) and data[at + 4] == _VERSION:
                problem = collection_problem(data, at, lengths)
                if problem is not None:
                    raise InputError(source, f"damaged HDF5 global heap at byte {at}: {problem}; "
                                     "its strings are not read")
            at = data.find(_COLLECTION, at + 1)
