"""Integrity checks, stamps and atomic writes for the files of a dataset.

A decompressed IDX file is trusted when its SHA-256 matches the registry. Hashing
every file on every load is avoided with a *stamp*: after a file has been
verified, ``<name>.verified.json`` next to it records its digest together with
its size, modification time (ns) and inode. While all of these match, the
digest is taken from the stamp. A change that alters one of them makes the file
hashed again; a change that keeps all three (bytes rewritten in place with the
modification time restored) is only caught by a full check, ``verify=True``.
"""

import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib

from ._idx import _fill_from_stream

__all__ = [
    "DataIntegrityError",
    "DataNotFoundError",
    "atomic_write",
    "check_archive",
    "check_payload_file",
    "sha256_file",
    "write_stamp",
]

_CHUNK = 1 << 20
_STAMP_SUFFIX = ".verified.json"


class DataIntegrityError(OSError, ValueError):
    """A data file exists but is not the file the registry describes.

    Raised for a bad file found through ``data_home`` or ``FMNIST_DATA``, and
    when every mirror served a file that failed verification.
    """


class DataNotFoundError(OSError):
    """The data is not on the machine and could not be downloaded.

    Raised when downloading is off or when no mirror could be reached; a
    mirror that served a wrong file raises :class:`DataIntegrityError` instead.
    """


def sha256_file(path):
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, data):
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    Returns the ``os.stat_result`` of the written file. On any error the
    temporary file is removed and the destination is left as it was.
    """
    fd, tmp = tempfile.mkstemp(
        dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0o600 would hide a shared cache
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return st


def _stamp_key(st):
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _read_stamp(path, st):
    """Digest recorded for ``path`` if the stamp still describes it, else None."""
    try:
        with open(path + _STAMP_SUFFIX, encoding="utf-8") as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("file") != _stamp_key(st):
        return None
    digest = stamp.get("payload_sha256")
    return digest if isinstance(digest, str) else None


def write_stamp(path, st, digest, verified_by):
    """Record that ``path`` (as described by ``st``) was verified.

    Failures (read-only folder, full disk) are ignored: the file is simply
    hashed again next time.
    """
    stamp = {
        "file": _stamp_key(st),
        "payload_sha256": digest,
        "verified_by": verified_by,
    }
    try:
        atomic_write(path + _STAMP_SUFFIX, json.dumps(stamp, indent=1).encode())
    except OSError:
        pass


def _mismatch(path, what, expected, found, fix):
    return DataIntegrityError(
        f"{path} is not the expected file: its {what} should be {expected}, "
        f"found {found}. {fix}"
    )


def check_payload_file(path, record, *, fix, verify=False):
    """Verify a decompressed IDX file and return its payload SHA-256.

    Unless ``verify`` is True, a stamp that still describes the file (see the
    module docstring) stands in for hashing it.

    Raises
    ------
    DataIntegrityError
        If the size or digest does not match, or if the registry has no
        payload digest and no stamp vouches for the file (it cannot be
        verified without its original archive).
    """
    path = os.fspath(path)
    st = os.stat(path)
    if st.st_size != record.payload_size:
        raise _mismatch(
            path, "size", f"{record.payload_size} bytes", f"{st.st_size} bytes", fix
        )
    stamped = _read_stamp(path, st)
    expected = record.payload_sha256
    if stamped is not None and (expected is None or stamped == expected):
        if not verify:
            return stamped
        if expected is None:  # known only from the stamp: compare with it
            expected = stamped
    if expected is None:
        raise DataIntegrityError(
            f"{path} cannot be verified: no SHA-256 of the decompressed "
            f"{record.name} is on record, only that of its official archive "
            f"(sha256 {record.archive_sha256}), and no stamp vouches for it. "
            f"Put the original {record.name}.gz there instead. {fix}"
        )
    found = sha256_file(path)
    if found != expected:
        raise _mismatch(path, "SHA-256", expected, found, fix)
    how = "payload-sha256" if record.payload_sha256 is not None else "archive-sha256"
    write_stamp(path, st, found, how)
    return found


def gunzip_bounded(compressed, limit, where):
    """Decompress a gzip stream into a bytearray, refusing more than ``limit`` bytes.

    Also checks the gzip CRC and length by reading to the end of the stream.
    """
    buffer = bytearray(limit)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed), mode="rb") as stream:
            filled, extra = _fill_from_stream(stream, buffer, 0)
    except (OSError, EOFError, zlib.error) as err:
        raise DataIntegrityError(
            f"{where} is not a valid gzip archive ({err}). Expected a complete "
            "gzip-compressed IDX file; it is damaged or truncated."
        ) from err
    if filled != limit or extra:
        found = f"{filled} bytes" if not extra else f"more than {limit} bytes"
        raise DataIntegrityError(
            f"{where} decompresses to the wrong size: expected {limit} bytes, "
            f"found {found}."
        )
    return buffer


def check_archive(path, record, *, fix):
    """Verify a ``.gz`` archive and return ``(payload, payload_sha256, how)``.

    The payload digest is checked when the registry has one; otherwise the
    archive digest is. ``payload`` is a writable bytearray.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        compressed = f.read()
    if record.payload_sha256 is None:
        found = hashlib.sha256(compressed).hexdigest()
        if found != record.archive_sha256:
            raise _mismatch(path, "archive SHA-256", record.archive_sha256, found, fix)
    try:
        payload = gunzip_bounded(compressed, record.payload_size, path)
    except DataIntegrityError as err:
        raise DataIntegrityError(f"{err} {fix}") from err
    digest = hashlib.sha256(payload).hexdigest()
    if record.payload_sha256 is None:
        return payload, digest, "archive-sha256"
    if digest != record.payload_sha256:
        raise _mismatch(
            path, "decompressed SHA-256", record.payload_sha256, digest, fix
        )
    return payload, digest, "payload-sha256"
