"""Exact outcomes of the HDF5 heap walk (:mod:`bncheck.loaders.h5_heaps`) at the boundaries its
surviving mutants showed (``tools/mutation.py --loaders``): where the superblock is looked for and
which bytes give the sizes of offsets and lengths, the window of the file that is walked, and the
global heap collections and local heap free lists HDF5 would not get through. The inputs are small
crafted byte strings (one a real h5py file with one byte patched): each test names what it pins down.
"""
from __future__ import annotations

import pathlib

import h5py
import numpy as np
import pytest

from bncheck.errors import InputError
from bncheck.loaders.h5_heaps import check_file, check_heaps, collection_problem

SOURCE = "art/m.h5"
SIGNATURE = b"\x89HDF\r\n\x1a\n"
FF = b"\xff" * 40  # after a probe's last field: reading more bytes than the field holds shows


def _n(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def _file(size: int, parts: dict[int, bytes]) -> bytes:
    data = bytearray(size)
    for at, raw in parts.items():
        data[at:at + len(raw)] = raw
    return bytes(data)


def _refusal(data: bytes, *args: object, **kwargs: object) -> str | None:
    """``check_heaps``'s one-line refusal of ``data`` (its message, naming the file), or ``None``."""
    try:
        check_heaps(data, SOURCE, *args, **kwargs)  # type: ignore[arg-type]
    except InputError as exc:
        assert exc.source == SOURCE
        assert str(exc) == f"{SOURCE}: {exc.reason}"
        return exc.reason
    return None


def _global(at: int, problem: str) -> str:
    return f"damaged HDF5 global heap at byte {at}: {problem}; refused before HDF5 reads it"


def _local(at: int, offset: int = 8) -> str:
    return (f"damaged HDF5 local heap at byte {at}: its list of free blocks loops back to offset {offset}; "
            "refused before HDF5 reads it")


def superblock(version: int, offsets: int, lengths: int) -> bytes:
    """The first 16 bytes of a superblock. Where the other versions keep the two sizes, 2 (a valid
    size): reading the wrong bytes shows."""
    if version < 2:
        return SIGNATURE + bytes([version, 2, 2, 0, 0, offsets, lengths, 0])
    return SIGNATURE + bytes([version, offsets, lengths, 0, 0, 2, 2, 0])


def collection_probe() -> bytes:
    """A global heap collection declaring all-ones bytes: the number in the message shows how many
    bytes were read as its size."""
    return b"GCOL\x01\x00\x00\x00" + FF


def declares(lengths: int) -> str:
    return f"declares {(1 << 8 * lengths) - 1} bytes, beyond the file's end"


def local_heap(offsets: int, lengths: int, address: int, size: int = 64, head: int = 8, version: int = 0) -> bytes:
    """A local heap's header (data segment of ``size`` bytes at ``address`` from the base, free list
    starting at ``head``), then all-ones bytes: an address read wider than ``offsets`` is far away."""
    return b"HEAP" + bytes([version, 0, 0, 0]) + _n(size, lengths) + _n(head, lengths) + _n(address, offsets) + FF


def free_blocks(lengths: int, blocks: dict[int, tuple[int, int]], segment: int) -> dict[int, bytes]:
    """Free blocks at their offsets in a data segment: (next free block, length)."""
    return {segment + block: _n(following, lengths) + _n(length, lengths)
            for block, (following, length) in blocks.items()}


# Blocks 8 -> 24 -> 8: the list loops back to 8. Block 24 ends exactly at the heap's end (64 bytes).
LOOP = {8: (24, 16), 24: (8, 40)}


def looping_local_heap(offsets: int, lengths: int, base: int, at: int, segment: int) -> dict[int, bytes]:
    return {at: local_heap(offsets, lengths, segment - base), **free_blocks(lengths, LOOP, segment)}


# _superblock: where it is found, and which bytes give the sizes ------------------------------------

@pytest.mark.parametrize("version", [0, 1, 2, 3])
@pytest.mark.parametrize("lengths", [2, 4, 8, 16, 32])
def test_the_size_of_lengths_is_read_where_the_superblock_version_keeps_it(version: int, lengths: int) -> None:
    data = _file(4096, {0: superblock(version, 8, lengths), 1000: collection_probe()})
    assert _refusal(data) == _global(1000, declares(lengths))


@pytest.mark.parametrize("version", [0, 1, 2, 3])
@pytest.mark.parametrize("offsets", [2, 4])
def test_the_size_of_offsets_is_read_where_the_superblock_version_keeps_it(version: int, offsets: int) -> None:
    # the data segment's address is read in ``offsets`` bytes (all-ones follow it); lengths stay 8
    data = _file(4096, {0: superblock(version, offsets, 8), **looping_local_heap(offsets, 8, 0, 1000, 2000)})
    assert _refusal(data) == _local(1000)


@pytest.mark.parametrize("declared", [0, 1, 3, 5, 9, 17, 33, 255])
def test_a_size_hdf5_does_not_allow_counts_as_8_bytes(declared: int) -> None:
    gcol = _file(4096, {0: superblock(0, 8, declared), 1000: collection_probe()})
    assert _refusal(gcol) == _global(1000, declares(8))
    heap = _file(4096, {0: superblock(2, declared, 8), **looping_local_heap(8, 8, 0, 1000, 2000)})
    assert _refusal(heap) == _local(1000)


def test_a_superblock_needs_16_bytes_inside_the_window() -> None:
    # at 512: inside a window ending 16 bytes after it, not one ending 15 bytes after it (its two
    # sizes, bytes 13 and 14, are inside both)
    data = _file(2048, {512: superblock(0, 4, 4), 100: collection_probe()})
    assert _refusal(data, 0, 528) == _global(100, declares(4))
    assert _refusal(data, 0, 527) == _global(100, declares(8))


@pytest.mark.parametrize("at", [512, 1024, 2048])
def test_the_superblock_is_found_at_512_and_its_doublings_and_is_the_base_of_addresses(at: int) -> None:
    data = _file(5000, {at: superblock(0, 4, 4), 100: collection_probe()})
    assert _refusal(data) == _global(100, declares(4))
    # a local heap's data segment address counts from the superblock
    data = _file(5000, {at: superblock(0, 4, 4), **looping_local_heap(4, 4, at, 300, at + 600)})
    assert _refusal(data) == _local(300)


def test_the_superblock_is_looked_for_only_at_0_512_1024_and_so_on() -> None:
    for at in (1, 8, 256, 513, 1536):
        data = _file(4096, {at: superblock(0, 4, 4), 3000: collection_probe()})
        assert _refusal(data) == _global(3000, declares(8)), at


def test_without_a_superblock_offsets_and_lengths_are_8_and_addresses_count_from_the_start() -> None:
    assert _refusal(_file(4096, {1000: collection_probe()})) == _global(1000, declares(8))
    assert _refusal(_file(4096, looping_local_heap(8, 8, 0, 1000, 2000))) == _local(1000)
    # in a window of a larger file, from the window's start
    data = _file(4096, looping_local_heap(8, 8, 100, 1100, 2100))
    assert _refusal(data, 100) == _local(1000)


def test_the_superblock_is_looked_for_from_the_window_start() -> None:
    data = _file(5000, {300: superblock(0, 4, 4), 813: superblock(2, 8, 2),
                        400: collection_probe()})
    assert _refusal(data, 300) == _global(100, declares(4))
    assert _refusal(data, 301) == _global(99, declares(2))  # the next place: 301 + 512


# collection_problem: walking a global heap collection ----------------------------------------------

def _collection(size: int, objects: bytes) -> bytes:
    """A collection (sizes of 8 bytes) declaring ``size`` bytes, then ``objects``."""
    return b"GCOL\x01\x00\x00\x00" + _n(size, 8) + objects


def _object(index: int, claimed: int) -> bytes:
    """An object's header: index, reference count 1, 4 reserved bytes, the size it claims."""
    return _n(index, 2) + b"\x01\x00\x00\x00\x00\x00" + _n(claimed, 8)


def test_a_collection_smaller_than_its_header_is_refused() -> None:
    data = _collection(15, b"\x00" * 64)
    assert collection_problem(data, 0, len(data), 8) == "declares 15 bytes, beyond the file's end"
    assert collection_problem(_collection(0, b"\x00" * 64), 0, 80, 8) == "declares 0 bytes, beyond the file's end"


def test_a_collection_of_just_its_header_is_empty_and_fine() -> None:
    data = _collection(16, b"\x00" * 64)
    assert collection_problem(data, 0, len(data), 8) is None


def test_a_collection_ending_exactly_at_the_window_end_is_fine_one_byte_more_is_not() -> None:
    data = _collection(48, _object(1, 8) + b"x" * 8 + b"\x00" * 64)
    assert collection_problem(data, 0, 48, 8) is None
    assert collection_problem(data, 0, 47, 8) == "declares 48 bytes, beyond the file's end"
    assert collection_problem(b"\x00" * 100 + data, 100, 147, 8) == "declares 48 bytes, beyond the file's end"


def test_an_object_claiming_more_than_is_left_is_refused_with_its_unsigned_index_and_position() -> None:
    # the tail left is exactly one object header: it is walked, not taken as free space
    data = _collection(56, _object(1, 8) + b"x" * 8 + _object(0x8000, 100) + b"\x00" * 64)
    problem = "object 32768 at byte 40 claims 100 bytes, 16 are left"
    assert collection_problem(data, 0, len(data), 8) == problem
    assert collection_problem(b"\x00" * 10 + data, 10, len(data) + 10, 8, 10) == problem
    assert _refusal(b"\x00" * 10 + data, 10) == _global(0, problem)


def test_a_tail_shorter_than_an_object_header_is_free_space() -> None:
    data = _collection(55, _object(1, 8) + b"x" * 8 + _object(7, 100) + b"\x00" * 64)
    assert collection_problem(data, 0, len(data), 8) is None


def test_free_space_claiming_zero_bytes_is_refused_one_byte_is_walked() -> None:
    data = _collection(56, _object(1, 8) + b"x" * 8 + _object(0, 0) + b"\x00" * 64)
    assert collection_problem(data, 0, len(data), 8) == "object 0 at byte 40 claims 0 bytes, 16 are left"
    # one byte on, 15 are left: a tail too short for a header
    data = _collection(56, _object(1, 8) + b"x" * 8 + _object(0, 1) + b"\x00" * 64)
    assert collection_problem(data, 0, len(data), 8) is None


def test_an_object_as_large_as_the_limit_is_read_one_byte_more_is_refused() -> None:
    limit = 1 << 20
    # the object's header and its bytes padded to 8, then a tail of 8 bytes: free space
    data = _file(limit + 100, {20: _collection(limit + 40, _object(1, limit))})
    assert collection_problem(data, 20, len(data), 8, 20, limit) is None
    assert _refusal(data, 0, None, limit) is None
    data = _file(limit + 100, {20: _collection(limit + 40, _object(1, limit + 1))})
    assert _refusal(data, 0, None, limit) == (f"a variable-length string of {limit + 1} bytes (a model config) is "
                                              "larger than the 1 MiB bncheck reads (raise BNCHECK_MAX_CONFIG_MB)")


# free_list_problem: following a local heap's free list --------------------------------------------

def _heap(blocks: dict[int, tuple[int, int]], size: int = 64, head: int = 8) -> bytes:
    """A local heap at byte 64 (no superblock: sizes 8), its data segment at 256."""
    return _file(1024, {64: local_heap(8, 8, 256, size, head), **free_blocks(8, blocks, 256)})


def test_a_free_list_that_loops_back_is_refused_a_block_may_end_at_the_heaps_end() -> None:
    assert _refusal(_heap(LOOP)) == _local(64)
    assert _refusal(_heap({8: (24, 8), 24: (40, 8), 40: (24, 24)})) == _local(64, 24)


def test_a_free_list_ending_at_the_null_offset_is_fine() -> None:
    assert _refusal(_heap({8: (24, 8), 24: (1, 8)})) is None


def test_a_block_at_or_past_the_heaps_size_ends_the_walk() -> None:
    # block 64 of a 64-byte heap: HDF5 stops there, whatever the bytes at 64 say (they loop back)
    assert _refusal(_heap({8: (64, 8), 64: (8, 0)})) is None
    assert _refusal(_heap({8: (64, 8), 64: (8, 0)}, size=65)) == _local(64)


def test_a_zero_link_ends_the_walk() -> None:
    assert _refusal(_heap({16: (0, 8), 0: (16, 8)}, head=16)) is None


def test_a_block_running_past_the_heaps_end_ends_the_walk() -> None:
    # (the bytes before each block are zeros: a length read from there would let the walk go on)
    assert _refusal(_heap({8: (40, 100), 40: (8, 8)})) is None
    assert _refusal(_heap({8: (40, 57), 40: (8, 8)})) is None


def test_a_free_block_must_fit_inside_the_window() -> None:
    data = _heap(LOOP)  # block 24's link and length are bytes 280 to 295
    assert _refusal(data, 0, 296) == _local(64)
    assert _refusal(data, 0, 295) is None


# check_heaps: which places are walked, and the refusal --------------------------------------------

def test_every_collection_is_walked_and_the_first_damaged_one_is_reported() -> None:
    fine = _collection(40, _object(1, 8) + b"x" * 8)
    damaged = _collection(32, _object(1, 100))
    data = _file(1024, {100: fine, 200: damaged, 300: fine, 400: damaged, 500: fine})
    assert _refusal(data) == _global(200, "object 1 at byte 216 claims 100 bytes, 16 are left")


def test_a_heap_at_the_very_start_is_walked() -> None:
    data = _file(1024, {0: _collection(32, _object(1, 100))})
    assert _refusal(data) == _global(0, "object 1 at byte 16 claims 100 bytes, 16 are left")
    data = _file(1024, {0: local_heap(8, 8, 256), **free_blocks(8, LOOP, 256)})
    assert _refusal(data) == _local(0)


def test_a_collection_is_walked_when_its_header_fits_before_the_window_end() -> None:
    data = _file(1024, {500: collection_probe()})
    assert _refusal(data, 0, 516) == _global(500, declares(8))
    assert _refusal(data, 0, 515) is None
    assert _refusal(data, 0, 503) is None


def test_a_local_heap_is_walked_when_its_header_fits_before_the_window_end() -> None:
    data = _file(1024, {512: local_heap(8, 8, 256), **free_blocks(8, LOOP, 256)})  # header: bytes 512 to 543
    assert _refusal(data, 0, 544) == _local(512)
    assert _refusal(data, 0, 543) is None
    assert _refusal(data, 0, 530) is None


def test_nothing_past_the_window_end_is_walked() -> None:
    data = _file(2048, {1000: collection_probe(), **looping_local_heap(8, 8, 0, 1500, 300)})
    assert _refusal(data, 0, 1000) is None
    assert _refusal(data, 0, 1016) == _global(1000, declares(8))


def test_only_version_1_collections_and_version_0_local_heaps_are_walked() -> None:
    # each laid out so that the other walk would refuse it
    heap_v1 = _file(1024, {64: local_heap(8, 8, 256, version=1), **free_blocks(8, LOOP, 256)})
    assert _refusal(heap_v1) is None
    collection_v0 = _file(1024, {64: b"GCOL\x00\x00\x00\x00" + _n(64, 8) + _n(8, 8) + _n(256, 8),
                                 **free_blocks(8, LOOP, 256)})
    assert _refusal(collection_v0) is None
    collection_v2 = _file(1024, {64: b"GCOL\x02\x00\x00\x00" + _n(32, 8) + _object(1, 100)})
    assert _refusal(collection_v2) is None


def test_the_refusal_names_the_file_and_the_place_in_the_window() -> None:
    data = _file(2048, {1000: collection_probe(), **looping_local_heap(8, 8, 0, 1500, 300)})
    with pytest.raises(InputError) as info:
        check_heaps(data, SOURCE, 100)
    assert (info.value.source, info.value.reason) == (SOURCE, _global(900, declares(8)))
    assert str(info.value) == f"{SOURCE}: damaged HDF5 global heap at byte 900: {declares(8)}; refused before HDF5 reads it"
    heap = _file(2048, looping_local_heap(8, 8, 100, 1500, 300))  # its data segment at 200 from the base
    assert _refusal(heap, 100) == _local(1400)


# check_file: an open file, or a window of it ------------------------------------------------------

def _check_file(path: pathlib.Path, *args: int) -> str | None:
    with open(path, "rb") as fh:
        try:
            check_file(fh, str(path), *args)
        except InputError as exc:
            assert str(exc) == f"{path}: {exc.reason}"
            return exc.reason
    return None


def test_check_file_walks_the_whole_file_from_its_start(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.h5"
    path.write_bytes(_file(4096, {0: superblock(0, 8, 4), 1000: collection_probe()}))
    assert _check_file(path) == _global(1000, declares(4))


def test_check_file_walks_only_the_window_it_is_given(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.keras"
    path.write_bytes(_file(4096, {100: superblock(0, 8, 4), 300: collection_probe(), 2000: collection_probe()}))
    assert _check_file(path, 100, 212) == _global(200, declares(4))  # the collection's header: 12 bytes
    assert _check_file(path, 100, 211) is None
    assert _check_file(path, 1000, 1000) is None
    assert _check_file(path, 1000) == _global(1000, declares(8))
    assert _check_file(path, 2000, 10_000) == _global(0, declares(8))


def test_check_file_on_an_empty_file_or_past_the_end_checks_nothing(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    assert _check_file(empty) is None
    assert _check_file(empty, 4) is None
    path = tmp_path / "m.h5"
    path.write_bytes(_file(100, {85: b"GCOL\x01\x00\x00\x00" + b"\x00" * 7}))  # its size field one byte short
    assert _check_file(path) is None
    assert _check_file(path, 200) is None


def test_check_file_on_a_window_reaching_past_the_end_of_an_empty_file_checks_nothing(tmp_path: pathlib.Path) -> None:
    # (once mmap's "cannot mmap an empty file": the window was cut to the file only after mapping it)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    assert _check_file(empty, 0, 100) is None


# a real HDF5 file ------------------------------------------------------------------------------

def test_a_real_h5py_file_whose_string_is_patched_into_free_space_claiming_zero_bytes(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = np.array("abcdefgh" * 4, dtype=h5py.string_dtype())
    assert _check_file(path) is None
    raw = bytearray(path.read_bytes())
    at = raw.find(b"GCOL")
    first = at + 16  # after the collection's header (8 bytes and an 8-byte size): the string's object
    assert (bytes(raw[first:first + 2]), bytes(raw[first + 8:first + 16]), bytes(raw[first + 16:first + 48])) == (
        b"\x01\x00", _n(32, 8), b"abcdefgh" * 4)
    raw[first:first + 2] = b"\x00\x00"  # index 0: free space
    raw[first + 8:first + 16] = _n(0, 8)  # claiming 0 bytes: HDF5 would spin on it
    path.write_bytes(bytes(raw))
    left = int.from_bytes(raw[at + 8:at + 16], "little") - 16
    assert _check_file(path) == _global(at, f"object 0 at byte {first} claims 0 bytes, {left} are left")
