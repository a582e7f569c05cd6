"""Tests for fmnist.idx: round trips, header checks and fuzzing."""

import gzip
import io
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmnist.idx import read_idx, write_idx

DTYPES = ["u1", "i1", "i2", "i4", "f4", "f8"]


def _header(code, shape):
    return bytes([0, 0, code, len(shape)]) + b"".join(
        d.to_bytes(4, "big") for d in shape
    )


@pytest.mark.parametrize("dtype", DTYPES + [">i4", "<f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(-12, 12) * 3).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        result = read_idx(source)
        np.testing.assert_array_equal(result, array)
        assert result.dtype == np.dtype(dtype).newbyteorder("=")
        assert result.dtype.isnative and result.flags.writeable
        assert result.flags.owndata or result.base is not None
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left


def test_gzip_is_recognised_by_content_and_written_by_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    (tmp_path / "renamed").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "renamed"), array)
    write_idx(tmp_path / "b", array)
    assert (tmp_path / "b").read_bytes() == _header(8, (10,)) + array.tobytes()


def test_magic_numbers_of_images_and_labels(tmp_path):
    write_idx(tmp_path / "images", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "labels", np.zeros(2, np.uint8))
    assert (tmp_path / "images").read_bytes()[:4] == (2051).to_bytes(4, "big")
    assert (tmp_path / "labels").read_bytes()[:4] == (2049).to_bytes(4, "big")


@pytest.mark.parametrize("mode", ["r", "c", "r+"])
def test_memory_map(tmp_path, mode):
    array = np.arange(24, dtype=">i4").reshape(4, 6)
    write_idx(tmp_path / "a", array)
    mapped = read_idx(tmp_path / "a", mmap_mode=mode)
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, array)
    assert mapped.flags.writeable == (mode != "r")
    if mode == "c":
        mapped[0, 0] = 99
        np.testing.assert_array_equal(read_idx(tmp_path / "a"), array)


def test_memory_map_errors(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="gzip-compressed and cannot be memory"):
        read_idx(tmp_path / "a.gz", mmap_mode="r")
    with pytest.raises(ValueError, match="mmap_mode must be one of"):
        read_idx(tmp_path / "a.gz", mmap_mode="w+")
    with pytest.raises(TypeError, match="needs the path"):
        read_idx(b"", mmap_mode="r")
    (tmp_path / "short").write_bytes(_header(8, (5,)) + b"abc")
    with pytest.raises(ValueError, match="short is truncated"):
        read_idx(tmp_path / "short", mmap_mode="r")


def test_empty_arrays(tmp_path):
    for suffix in ("", ".gz"):
        write_idx(tmp_path / f"e{suffix}", np.zeros((0, 28, 28), np.uint8))
        assert read_idx(tmp_path / f"e{suffix}").shape == (0, 28, 28)
    assert read_idx(tmp_path / "e", mmap_mode="r").shape == (0, 28, 28)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "expected a 4-byte magic number, found only 0"),
        (b"\x00\x00\x08", "found only 3 byte"),
        (b"\x00\x00\x07\x01" + bytes(8), r"found 1793 \(0x00000701\)"),
        (b"\x01\x00\x08\x01" + bytes(8), "is not an IDX file"),
        (b"\x00\x00\x08\x00", "NN >= 1 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "needs a 16-byte header, found only 8"),
        (
            _header(8, (2, 3)) + bytes(5),
            r"truncated: .*needs 12 \+ 6 bytes, found 12 \+ 5",
        ),
        (_header(8, (2, 3)) + bytes(7), "longer than its header says"),
        (_header(0x0C, (2,)) + bytes(7), r"int32, shape \(2,\)\) needs 8 \+ 8"),
        (_header(8, (2**32 - 1,) * 3), "impossible header"),
        (_header(8, (2**20,) * 3), "truncated|lying header"),
        (_header(8, (0, 2**32 - 1, 2**32 - 1)), "impossible header"),
    ],
)
def test_bad_files_raise_value_error_naming_the_file(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        read_idx(data)
    path = tmp_path / "bad-file"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="bad-file"):
        read_idx(path)
    with pytest.raises(ValueError, match=match):
        read_idx(gzip.compress(data))
    with pytest.raises(ValueError, match="my-name"):
        read_idx(data, name="my-name")


def test_bad_gzip(tmp_path):
    good = gzip.compress(_header(8, (100,)) + bytes(range(100)))
    with pytest.raises(ValueError, match="not a valid gzip stream"):
        read_idx(good[:-6])  # truncated trailer: CRC and length are checked
    corrupt = bytearray(good)
    corrupt[-8] ^= 0xFF  # wrong CRC
    with pytest.raises(ValueError, match="not a valid gzip stream"):
        read_idx(bytes(corrupt))
    with pytest.raises(ValueError, match="not a valid gzip stream"):
        read_idx(b"\x1f\x8b" + bytes(30))
    with pytest.raises(ValueError, match="not a valid gzip stream"):
        read_idx(good + b"garbage")


def test_lying_gzip_header_allocates_nothing_large():
    lying = gzip.compress(_header(8, (60000, 28, 28)) + bytes(100))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="lying header"):
            read_idx(lying)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def test_read_errors():
    with pytest.raises(OSError):
        read_idx("/nonexistent/folder/file-idx1-ubyte")
    with pytest.raises(TypeError, match="expects a path"):
        read_idx(42)
    with pytest.raises(TypeError, match="binary file object"):
        read_idx(io.StringIO("text"))


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros(3, np.int64), "dtype int64"),
        (np.zeros(3, bool), "dtype bool"),
        (np.zeros(3, np.uint16), "dtype uint16"),
        (np.array(5, np.uint8), r"got shape \(\)"),
    ],
)
def test_write_errors_leave_nothing(tmp_path, array, match):
    with pytest.raises(ValueError, match=match):
        write_idx(tmp_path / "x.gz", array)
    assert os.listdir(tmp_path) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    write_idx(tmp_path / "a", np.arange(3, dtype=np.uint8))

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_idx(tmp_path / "a", np.arange(5, dtype=np.uint8))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["a"]
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), np.arange(3))


def _valid_files():
    arrays = st.sampled_from(DTYPES).flatmap(
        lambda dtype: st.lists(st.integers(0, 4), min_size=1, max_size=3).map(
            lambda shape: np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
        )
    )
    return arrays.map(
        lambda a: (
            _header(
                {"u1": 8, "i1": 9, "i2": 11, "i4": 12, "f4": 13, "f8": 14}[
                    a.dtype.str[1:]
                ],
                a.shape,
            )
            + a.astype(a.dtype.newbyteorder(">")).tobytes()
        )
    )


def _check_fuzz(data):
    for blob in (data, gzip.compress(data, mtime=0)):
        try:
            read_idx(blob)
        except ValueError:
            pass


FUZZ = settings(
    max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(data):
    _check_fuzz(data)


@FUZZ
@given(
    _valid_files(),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    st.integers(-8, 8),
)
def test_fuzz_mutated_valid_files(data, flips, cut):
    mutated = bytearray(data)
    for position, value in flips:
        if mutated:
            mutated[position % len(mutated)] = value
    mutated = bytes(mutated[:cut] if cut < 0 else mutated + bytes(cut))
    _check_fuzz(mutated)
    compressed = bytearray(gzip.compress(data, mtime=0))
    for position, value in flips:
        compressed[position % len(compressed)] = value
    try:
        read_idx(bytes(compressed))
    except ValueError:
        pass


@FUZZ
@given(
    st.sampled_from([8, 9, 11, 12, 13, 14]),
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4),
    st.binary(max_size=32),
)
def test_fuzz_lying_headers(code, shape, payload):
    data = _header(code, shape) + payload
    itemsize = {8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8}[code]
    expected_ok = int(np.prod(shape, dtype=object)) * itemsize == len(payload)
    nominal = int(np.prod([d for d in shape if d], dtype=object)) * itemsize
    expected_ok = expected_ok and nominal <= np.iinfo(np.intp).max
    for blob in (data, gzip.compress(data, mtime=0)):
        if expected_ok:
            assert read_idx(blob).shape == tuple(shape)
        else:
            with pytest.raises(ValueError):
                read_idx(blob)
