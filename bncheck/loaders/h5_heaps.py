"""HDF5 heaps, walked in Python before HDF5 reads them.

HDF5 1.14 trusts two structures in ways a damaged file turns into a loop inside C code, where no
signal or exception reaches:

- **Global heap collections** hold variable-length strings (a tf-keras ``.h5``'s
  ``model_config``). HDF5 walks a collection object by object, by the size each object claims: an
  object claiming zero bytes, or a size whose padded total wraps around, makes the walk spin for
  ever.
- **Local heaps** hold a group's member names, with a linked list of free blocks. HDF5 follows the
  list and allocates a node per block: a list that loops back allocates until memory runs out.

So every place in the file that starts like either (its signature and version; HDF5 accepts any
address whose bytes do, and a damaged address can point anywhere) is walked here the same way
first, and a structure HDF5 would not get through is refused with an :class:`InputError`. Other
damage is left to HDF5, which reports it as an error.
"""
from __future__ import annotations

import mmap
import struct
from typing import Any, BinaryIO

from bncheck.errors import InputError

_SUPERBLOCK = b"\x89HDF\r\n\x1a\n"
_COLLECTION = b"GCOL"
_LOCAL_HEAP = b"HEAP"
_FREE_NULL = 1  # the end of a local heap's free list


def _superblock(data: Any, lo: int, hi: int) -> tuple[int, int, int]:
    """(base, size of offsets, size of lengths) from the superblock, found at 0, 512, 1024, ...
    as HDF5 looks for it; (lo, 8, 8), HDF5's defaults, when none is found."""
    offset = 0
    while lo + offset + 16 <= hi:
        at = lo + offset
        if data[at:at + 8] == _SUPERBLOCK:
            version = data[at + 8]
            sizes = (at + 13, at + 14) if version < 2 else (at + 9, at + 10)
            got = [data[i] if i < hi else 8 for i in sizes]
            offsets, lengths = (s if s in (2, 4, 8, 16, 32) else 8 for s in got)
            return at, offsets, lengths
        offset = 512 if offset == 0 else offset * 2
    return lo, 8, 8


def _number(data: Any, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "little")


class _LargeObject(Exception):
    """A global heap object larger than the caller reads (its size)."""


def collection_problem(data: Any, start: int, hi: int, lengths: int, lo: int = 0,
                       max_object: int | None = None) -> str | None:
    """What is wrong with the global heap collection at ``start`` (``None`` when its objects tile
    it exactly), walking it as HDF5 does: a header of 8 + ``lengths`` bytes, then objects of a 2-byte
    index, a 2-byte reference count, 4 reserved bytes and a ``lengths``-byte size; objects other
    than the free space (index 0) are padded to 8 bytes; a tail too short for a header is free."""
    header = object_header = 8 + lengths
    size = _number(data, start + 8, lengths)
    if size < header or start + size > hi:
        return f"declares {size} bytes, beyond the file's end"
    end = start + size
    at = start + header
    while at < end:
        if at + object_header > end:
            return None  # the tail: free space
        index = struct.unpack_from("<H", data, at)[0]
        claimed = _number(data, at + 8, lengths)
        need = claimed if index == 0 else object_header + (claimed + 7) // 8 * 8
        if need <= 0 or need > end - at:
            return f"object {index} at byte {at - lo} claims {claimed} bytes, {end - at} are left"
        if index and max_object is not None and claimed > max_object:
            raise _LargeObject(claimed)
        at += need
    return None


def free_list_problem(data: Any, start: int, base: int, hi: int, offsets: int, lengths: int) -> str | None:
    """What is wrong with the free list of the local heap at ``start`` (``None`` when HDF5 gets to
    its end or stops on an error of its own): a list that comes back to a block it has visited."""
    size = _number(data, start + 8, lengths)
    block = _number(data, start + 8 + lengths, lengths)
    segment = base + _number(data, start + 8 + 2 * lengths, offsets)
    seen: set[int] = set()
    while block != _FREE_NULL:
        if block in seen:
            return f"its list of free blocks loops back to offset {block}"
        seen.add(block)
        at = segment + block
        if block >= size or at + 2 * lengths > hi:
            return None  # HDF5 stops: a free block outside the heap
        following, length = _number(data, at, lengths), _number(data, at + lengths, lengths)
        if following == 0 or block + length > size:
            return None  # HDF5 stops: a zero link or a block running past the heap
        block = following
    return None


def check_heaps(data: Any, source: str, lo: int = 0, hi: int | None = None, max_object: int | None = None) -> None:
    """Refuse an HDF5 file (``data[lo:hi]``, bytes or an mmap) holding a global heap collection
    HDF5 could not walk to its end, a local heap whose free list loops, or (with ``max_object``) a
    variable-length string longer than that: HDF5 would read it whole (a ``model_config``)."""
    hi = len(data) if hi is None else hi
    base, offsets, lengths = _superblock(data, lo, hi)
    for signature in (_COLLECTION, _LOCAL_HEAP):
        at = data.find(signature, lo, hi)
        while at >= 0:
            header = 8 + (lengths if signature == _COLLECTION else 2 * lengths + offsets)
            if at + header <= hi:
                if signature == _COLLECTION and data[at + 4] == 1:
                    try:
                        problem = collection_problem(data, at, hi, lengths, lo, max_object)
                    except _LargeObject as exc:
                        raise InputError(source, f"a variable-length string of {exc.args[0]} bytes (a model config) "
                                         f"is larger than the {(max_object or 0) >> 20} MiB bncheck reads "
                                         "(raise BNCHECK_MAX_CONFIG_MB)") from None
                    what = "global heap"
                elif signature == _LOCAL_HEAP and data[at + 4] == 0:
                    problem = free_list_problem(data, at, base, hi, offsets, lengths)
                    what = "local heap"
                else:
                    problem = None
                if problem is not None:
                    raise InputError(source, f"damaged HDF5 {what} at byte {at - lo}: {problem}; refused before "
                                     "HDF5 reads it")
            at = data.find(signature, at + 1, hi)


def check_file(fh: BinaryIO, source: str, start: int = 0, size: int | None = None,
               max_object: int | None = None) -> None:
    """:func:`check_heaps` on an open file, or on ``size`` bytes of it at ``start`` (a ``.keras``
    archive's stored weights member), mapped rather than read."""
    fh.seek(0, 2)
    total = fh.tell()
    size = total - start if size is None else min(size, total - start)  # an empty file cannot be mapped
    if size <= 0:
        return
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        check_heaps(data, source, start, min(start + size, total), max_object)
