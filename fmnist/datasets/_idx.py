"""Read and write IDX files, the format of the (Fashion-)MNIST distribution.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the values in C order and big-endian byte order. The magic number is two
zero bytes, a type code and the number of dimensions:

========= ========= ==================
type code dtype     example magic
========= ========= ==================
``0x08``  ``uint8`` 2051 (``0x00000803``): a stack of images
``0x09``  ``int8``
``0x0B``  ``>i2``
``0x0C``  ``>i4``
``0x0D``  ``>f4``
``0x0E``  ``>f8``
========= ========= ==================

Labels are ``uint8`` with one dimension: magic number 2049 (``0x00000801``).
Files whose name ends in ``.gz`` are written gzip-compressed; gzip input is
recognised by its content, whatever the name.
"""

import gzip
import io
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx"]

_CODE_TO_DTYPE = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KIND_SIZE_TO_CODE = {
    (dt.kind, dt.itemsize): code for code, dt in _CODE_TO_DTYPE.items()
}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data by more than about 1032:1, so a gzip stream of n
# bytes holds at most this many times n bytes: no header may claim more.
_MAX_GZIP_RATIO = 1032
_CHUNK = 1 << 20


def _describe(source, name):
    if name is not None:
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"<{type(source).__name__}>"


def _parse_header(head, where):
    """Return ``(dtype, shape, header_size)`` from the first bytes of a file."""
    if len(head) < 4:
        raise ValueError(
            f"{where} is not an IDX file: expected a 4-byte magic number, "
            f"found only {len(head)} byte(s)."
        )
    zero0, zero1, code, ndim = head[0], head[1], head[2], head[3]
    magic = int.from_bytes(head[:4], "big")
    if zero0 != 0 or zero1 != 0 or code not in _CODE_TO_DTYPE or ndim == 0:
        raise ValueError(
            f"{where} is not an IDX file: expected a magic number 0x0000TTNN with "
            f"type code TT in {{08, 09, 0B, 0C, 0D, 0E}} and NN >= 1 dimensions "
            f"(2051 = 0x00000803 for images, 2049 = 0x00000801 for labels), "
            f"found {magic} (0x{magic:08X})."
        )
    header_size = 4 + 4 * ndim
    if len(head) < header_size:
        raise ValueError(
            f"{where} is truncated: its magic number 0x{magic:08X} announces {ndim} "
            f"dimension(s), which needs a {header_size}-byte header, "
            f"found only {len(head)} byte(s)."
        )
    shape = tuple(
        int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    dtype = _CODE_TO_DTYPE[code]
    # NumPy refuses such shapes even when a zero dimension makes them empty.
    if _expected_payload(dtype, [d for d in shape if d]) > np.iinfo(np.intp).max:
        raise ValueError(
            f"{where} has an impossible header: dtype {dtype.name} and shape "
            f"{shape} exceed the largest array NumPy can hold."
        )
    return dtype, shape, header_size


def _expected_payload(dtype, shape):
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def _check_length(where, dtype, shape, header_size, expected, found):
    if found != expected:
        kind = "truncated" if found < expected else "longer than its header says"
        raise ValueError(
            f"{where} is {kind}: its header (dtype {dtype.name}, shape {shape}) "
            f"needs {header_size} + {expected} bytes, found {header_size} + {found}. "
            "The file is damaged or not what its header claims; fetch it again."
        )


def _native(array):
    """Convert a freshly allocated big-endian array to native order in place."""
    if not array.dtype.isnative:
        array = array.byteswap(inplace=True).view(array.dtype.newbyteorder("="))
    return array


def _from_buffer(buffer, where):
    """Parse a complete, uncompressed IDX file held in ``buffer`` without copying.

    The returned array is a view of ``buffer`` (writable if ``buffer`` is).
    """
    dtype, shape, header_size = _parse_header(bytes(buffer[:1024]), where)
    expected = _expected_payload(dtype, shape)
    _check_length(where, dtype, shape, header_size, expected, len(buffer) - header_size)
    array = np.frombuffer(buffer, dtype=dtype, offset=header_size)
    return array.reshape(shape)


def _fill_from_stream(stream, buffer, start):
    """Fill ``buffer[start:]`` from ``stream`` in chunks; never read past its end.

    Returns ``(filled, extra)``: how many bytes of ``buffer`` now hold data, and
    whether the stream had more (1) or not (0). Reading that one byte further
    also makes a gzip stream check its CRC and length.
    """
    filled = start
    with memoryview(buffer) as view:
        while filled < len(buffer):
            n = stream.readinto(view[filled : filled + _CHUNK])
            if n == 0:
                break
            filled += n
    return filled, len(stream.read(1))


def _gunzip(compressed, where):
    """Decompress an in-memory gzip stream holding one IDX file into a bytearray."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed), mode="rb") as stream:
            head = stream.read(8)
            if len(head) >= 4:
                head += stream.read(max(0, 4 * head[3] - 4))
            dtype, shape, header_size = _parse_header(head, where)
            expected = _expected_payload(dtype, shape)
            limit = _MAX_GZIP_RATIO * len(compressed) + 1024
            if header_size + expected > limit:
                raise ValueError(
                    f"{where} has a lying header: dtype {dtype.name} and shape "
                    f"{shape} need {header_size + expected} bytes, but a gzip "
                    f"stream of {len(compressed)} bytes can hold at most {limit}."
                )
            buffer = bytearray(header_size + expected)
            buffer[:header_size] = head[:header_size]
            filled, extra = _fill_from_stream(stream, buffer, header_size)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{where} is not a valid gzip stream ({err}). Expected an IDX file "
            "compressed with gzip; the file is damaged or truncated: fetch it again."
        ) from err
    _check_length(
        where, dtype, shape, header_size, expected, filled - header_size + extra
    )
    return buffer


def _read_all(source):
    """Return the raw bytes of a path, bytes-like object or binary file object."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buffer = bytearray(size)
            n = f.readinto(buffer)
            if n != size:
                del buffer[n:]
            return buffer, True
    if isinstance(source, memoryview):
        return source.cast("B"), False
    if isinstance(source, (bytes, bytearray)):
        return source, False
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(
                f"read_idx needs a binary file object, but read() returned "
                f"{type(data).__name__}. Open the file with mode 'rb'."
            )
        return data, False
    raise TypeError(
        "read_idx expects a path, a bytes-like object or a binary file object, "
        f"got {type(source).__name__}."
    )


def read_idx(source, *, mmap_mode=None, name=None):
    """Read an IDX file into a NumPy array, checking its header against its size.

    Parameters
    ----------
    source : str, path-like, bytes-like or binary file object
        The IDX file, plain or gzip-compressed (recognised by content).
    mmap_mode : {None, 'r', 'c', 'r+'}, default=None
        If not None, memory-map the file instead of reading it (see
        :class:`numpy.memmap`); ``source`` must then be the path of an
        uncompressed file. Multi-byte values keep their big-endian dtype.
    name : str, default=None
        Name used for ``source`` in error messages; by default its path.

    Returns
    -------
    array : ndarray
        Values with the shape stored in the header. Without ``mmap_mode``,
        the array owns its memory, is writable and in native byte order.

    Raises
    ------
    ValueError
        If the magic number is unknown, the dimensions do not match the
        amount of data (truncated files, trailing bytes, lying headers) or
        the gzip stream is damaged. The message names the file and gives the
        expected and found values.
    OSError
        If the file cannot be opened or read.

    See Also
    --------
    write_idx : Write an array as an IDX file.

    Notes
    -----
    No buffer larger than the input justifies is ever allocated: the size in
    the header must match the file exactly, and a gzip stream may not claim
    more than deflate's maximum expansion of its compressed size.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist.idx import read_idx, write_idx
    >>> raw = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    >>> read_idx(raw)
    array([[1, 2, 3],
           [4, 5, 6]], dtype=uint8)
    >>> read_idx(raw[:-1])
    Traceback (most recent call last):
    ...
    ValueError: <bytes> is truncated: its header (dtype uint8, shape (2, 3)) ...
    """
    where = _describe(source, name)
    if mmap_mode is not None:
        if mmap_mode not in ("r", "c", "r+"):
            raise ValueError(
                f"mmap_mode must be one of None, 'r', 'c' or 'r+'. Got {mmap_mode!r}."
            )
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                f"mmap_mode={mmap_mode!r} needs the path of an uncompressed IDX "
                f"file, got {type(source).__name__}."
            )
        return _memmap(source, mmap_mode, where)
    data, owned = _read_all(source)
    if bytes(data[:2]) == _GZIP_MAGIC:
        return _native(_from_buffer(_gunzip(data, where), where))
    array = _from_buffer(data, where)
    if not owned or not array.flags.writeable:
        array = array.copy()
    return _native(array)


def _memmap(path, mode, where):
    with open(path, "rb") as f:
        head = f.read(1024)
        size = os.fstat(f.fileno()).st_size
    if head[:2] == _GZIP_MAGIC:
        raise ValueError(
            f"{where} is gzip-compressed and cannot be memory-mapped. "
            "Decompress it first, or read it with mmap_mode=None."
        )
    dtype, shape, header_size = _parse_header(head, where)
    expected = _expected_payload(dtype, shape)
    _check_length(where, dtype, shape, header_size, expected, size - header_size)
    if expected == 0:
        return np.empty(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode=mode, offset=header_size, shape=shape)


def _encode(array):
    array = np.asarray(array)
    code = _KIND_SIZE_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.dtype.kind not in "uif":
        raise ValueError(
            "IDX files hold uint8, int8, int16, int32, float32 or float64 values; "
            f"got an array of dtype {array.dtype}. Convert it with astype() first."
        )
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(
            "IDX files hold arrays of 1 to 255 dimensions, each below 2**32; "
            f"got shape {array.shape}."
        )
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        d.to_bytes(4, "big") for d in array.shape
    )
    big = array.astype(_CODE_TO_DTYPE[code], order="C", copy=False)
    return header, np.ascontiguousarray(big)


def write_idx(path, array):
    """Write an array as an IDX file, gzip-compressed if the name ends in ``.gz``.

    The file is written to a temporary file in the same folder and then
    renamed, so readers never see a partial file.

    Parameters
    ----------
    path : str or path-like
        Destination. A name ending in ``.gz`` gives a gzip-compressed file.
    array : array-like
        Values of dtype uint8, int8, int16, int32, float32 or float64 with
        1 to 255 dimensions.

    Raises
    ------
    ValueError
        If the dtype or the shape cannot be stored in an IDX file.

    See Also
    --------
    read_idx : Read an IDX file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fmnist.idx import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    header, values = _encode(array)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with open(fd, "wb") as raw:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
                    f.write(header)
                    f.write(values.reshape(-1).view(np.uint8))
            else:
                raw.write(header)
                raw.write(values.reshape(-1).view(np.uint8))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
