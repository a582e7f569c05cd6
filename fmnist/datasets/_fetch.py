"""Find, verify, download and cache the IDX files of a dataset.

For each file, every search location (see :func:`._home.search_locations`) is
tried in order, the decompressed file before the ``.gz`` archive. Every file
used is verified (see :mod:`._cache`). A verified archive is decompressed into
the cache folder with an atomic write, so later loads memory-map it. Files
still missing are downloaded from the registry's mirrors unless downloads are
off, in which case no network connection is ever opened.
"""

import logging
import os
import re
import shutil
import sys
import tempfile
import time

from . import _home
from ._cache import (
    DataIntegrityError,
    DataNotFoundError,
    atomic_write,
    check_archive,
    check_payload_file,
)
from ._cache import write_stamp as _write_stamp

__all__ = ["fetch_files"]

logger = logging.getLogger(__name__)

#: Download attempts per mirror, for errors that may be transient.
N_RETRIES = 3
#: Seconds to wait after the first failed attempt; doubled after each one.
RETRY_DELAY = 1.0
#: Longest wait between two attempts, in seconds.
MAX_RETRY_DELAY = 10.0
#: Seconds without an answer from a server before an attempt fails.
TIMEOUT = 30


_warn = _home.warn


def _fix_for(location, dataset):
    if location.strict:
        hint = ""
        if os.path.basename(location.path) != dataset:
            hint = (
                " MNIST and Fashion-MNIST use the same file names: keep each "
                f"dataset in its own subfolder, e.g. {location.path}/{dataset}/."
            )
        return (
            f"It was found through {location.origin}. Delete it and load again to "
            f"fetch a fresh copy, or replace it with the original file.{hint}"
        )
    return "Ignoring it."


def _is_system(path):
    path = os.path.abspath(path)
    for system in _home.SYSTEM_DIRS.values():
        system = os.path.abspath(system)
        if path == system or path.startswith(system + os.sep):
            return True
    return False


def _store(payload, digest, how, record, cache_dir):
    """Write a verified payload into the cache; return its path, or the payload."""
    if _is_system(cache_dir):
        return payload
    dest = os.path.join(cache_dir, record.name)
    try:
        os.makedirs(cache_dir, exist_ok=True)
        st = atomic_write(dest, payload)
    except OSError as err:
        _warn(
            f"Could not cache {record.name} in {cache_dir} ({err}); using it from "
            "memory, so every load decompresses it again. Make the folder "
            "writable, or choose another with data_home or FMNIST_DATA."
        )
        return payload
    _write_stamp(dest, st, digest, how)
    return dest


def _find(record, locations, cache_dir, dataset, verify=False):
    """Return the path of a verified decompressed file, a payload, or None."""
    for location in locations:
        base = os.path.join(location.path, record.name)
        for candidate, compressed in ((base, False), (base + ".gz", True)):
            if not os.path.isfile(candidate):
                continue
            fix = _fix_for(location, dataset)
            try:
                if not compressed:
                    check_payload_file(candidate, record, fix=fix, verify=verify)
                    return candidate
                payload, digest, how = check_archive(candidate, record, fix=fix)
            except DataIntegrityError as err:
                if location.strict:
                    raise
                _warn(str(err))
                continue
            return _store(payload, digest, how, record, cache_dir)
    return None


def _progressbar():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return sys.stderr is not None and sys.stderr.isatty()


# Prefixes that only repeat the URL: "HTTPSConnectionPool(host='h', port=443): "
# and "<urllib3.connection.HTTPSConnection object at 0x7f...>: ".
_NOISE = re.compile(r"^(?:\w*Connection\w*\(host=[^)]*\):\s*|<[^>]*>:\s*)+")


def _describe_error(err):
    """One line saying why a download attempt failed, with its whole reason.

    requests wraps the underlying failure (name resolution, refused
    connection, timeout) in a long "Max retries exceeded" message; the
    wrapped reason is what the user needs, so it is reported instead.
    """
    reason = err
    inner = err.args[0] if getattr(err, "args", None) else None
    if isinstance(getattr(inner, "reason", None), BaseException):
        reason = inner.reason
    text = _NOISE.sub("", " ".join(str(reason).split()))
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def _mirror_line(url, reasons):
    """``"<url>: <reason>"``, with how many attempts ended that way."""
    distinct = list(dict.fromkeys(reasons))
    if len(reasons) == 1:
        return f"{url}: {reasons[0]}"
    if len(distinct) == 1:
        return f"{url}: {len(reasons)} attempts, each {distinct[0]}"
    return f"{url}: {len(reasons)} attempts: " + "; then ".join(distinct)


def _download(record, cache_dir):
    """Download and verify one archive; return ``(payload, digest, how)``.

    Mirrors are tried in order. HTTP 4xx answers move on to the next mirror at
    once; other failures (connection errors, timeouts, interrupted or corrupt
    transfers, 5xx answers) are retried with exponential back-off. Transfers go
    to a private temporary folder that is always removed.
    """
    import pooch
    import requests

    known_hash = None
    if record.payload_sha256 is None:
        known_hash = f"sha256:{record.archive_sha256}"
    parent = (
        cache_dir if os.path.isdir(cache_dir) and not _is_system(cache_dir) else None
    )
    failures = []  # one line per mirror
    wrong_file = False  # a mirror answered, with a file that failed verification
    # pooch would suggest passing the printed hash as known_hash: the payload
    # digest is what we check, so keep its log quiet and log our own steps.
    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel("WARNING")
    try:
        with tempfile.TemporaryDirectory(dir=parent, prefix=".download-") as tmp:
            for url in record.urls:
                delay = RETRY_DELAY
                reasons = []
                for attempt in range(1, N_RETRIES + 1):
                    logger.info("Downloading %s (attempt %d)", url, attempt)
                    try:
                        path = pooch.retrieve(
                            url,
                            known_hash=known_hash,
                            fname=f"{record.name}.gz",
                            path=tmp,
                            downloader=pooch.HTTPDownloader(
                                timeout=TIMEOUT, progressbar=_progressbar()
                            ),
                        )
                        return check_archive(path, record, fix="")
                    except requests.HTTPError as err:
                        reasons.append(_describe_error(err))
                        status = getattr(err.response, "status_code", 500)
                        if 400 <= status < 500:
                            break
                    except (requests.RequestException, OSError, ValueError) as err:
                        reasons.append(_describe_error(err))
                        wrong_file = wrong_file or isinstance(err, DataIntegrityError)
                    shutil.rmtree(tmp, ignore_errors=True)
                    os.makedirs(tmp, exist_ok=True)
                    if attempt < N_RETRIES:
                        time.sleep(delay)
                        delay = min(2 * delay, MAX_RETRY_DELAY)
                failures.append(_mirror_line(url, reasons))
    finally:
        pooch_logger.setLevel(level)
    error = OSError(
        f"Could not download {record.name}.gz: every mirror failed.\n"
        + "\n".join(f"  - {failure}" for failure in failures)
    )
    error.failures = failures
    error.wrong_file = wrong_file
    raise error


def _not_found_message(title, dataset, missing, locations, reason, failures=()):
    files = [f"{r.name} (or {r.name}.gz)" for r in missing]
    lines = [
        f"{title} data not found: missing {', '.join(files)}. {reason}",
        "Looked in, in this order:",
    ]
    lines += [f"  - {loc.path} ({loc.origin})" for loc in locations]
    if failures:
        lines.append("Downloads failed, per mirror:")
        lines += [f"  - {failure}" for failure in failures]
    lines.append("To fix this, do one of:")
    lines.append(
        "  - connect to the internet and load with download_if_missing=True "
        f"and {_home.ENV_OFFLINE} unset;"
    )
    lines.append(
        f"  - set {_home.ENV_DATA} (or pass data_home) to a folder holding the "
        f"files, directly or in a subfolder named {dataset}/ (the subfolder keeps "
        "MNIST and Fashion-MNIST apart: they use the same file names);"
    )
    if dataset in _home.SYSTEM_DIRS:
        lines.append(
            f"  - install the Debian package: apt-get install dataset-{dataset}."
        )
    return "\n".join(lines)


def fetch_files(
    dataset, records, *, data_home=None, download_if_missing=True, verify=False
):
    """Return one verified source per record of ``dataset``, in the same order.

    Each source is the path of a verified, decompressed IDX file (to be
    memory-mapped) or, when it could not be cached, a bytearray holding it.
    With ``verify=True`` (or ``FMNIST_VERIFY=1``) every decompressed file is
    hashed again instead of being trusted on its stamp.

    Raises
    ------
    DataIntegrityError
        If a file named by the user (``data_home``, ``FMNIST_DATA``) is bad,
        or if a mirror served a file that failed verification.
    DataNotFoundError
        If files are missing and downloading is off or no mirror answered.
    """
    locations, cache_dir = _home.search_locations(dataset.name, data_home)
    verify = verify or _home.verify_always()
    sources = [
        _find(record, locations, cache_dir, dataset.name, verify) for record in records
    ]
    missing = [r for r, source in zip(records, sources) if source is None]
    if not missing:
        return sources
    if not download_if_missing or _home.offline():
        reason = (
            "Downloading is off (download_if_missing=False)."
            if not download_if_missing
            else f"Downloading is off ({_home.ENV_OFFLINE}=1)."
        )
        raise DataNotFoundError(
            _not_found_message(dataset.title, dataset.name, missing, locations, reason)
        )
    created = not os.path.isdir(cache_dir) and not _is_system(cache_dir)
    if created:
        try:
            os.makedirs(cache_dir)
        except OSError:
            created = False
    for i, record in enumerate(records):
        if sources[i] is not None:
            continue
        try:
            payload, digest, how = _download(record, cache_dir)
        except OSError as err:
            if created:
                try:
                    os.rmdir(cache_dir)  # only if still empty
                except OSError:
                    pass
            message = _not_found_message(
                dataset.title,
                dataset.name,
                [record],
                locations,
                "Downloading it failed.",
                getattr(err, "failures", [str(err)]),
            )
            if getattr(err, "wrong_file", False):
                raise DataIntegrityError(message) from err
            raise DataNotFoundError(message) from err
        sources[i] = _store(payload, digest, how, record, cache_dir)
    return sources
