"""``numba.njit`` with an on-disk cache keyed on every kernel source file, safe
for several processes at once.

numba's cache checks only the file of the function it compiled; a kernel that
inlines a tile or a heap from a sibling module would keep stale machine code
after that sibling changes. Each kernel's cache index key therefore also holds
a digest of all the source files of :mod:`fmnist.neighbors` (the tiles,
brute force and the pruned walks), computed at import.

numba saves a new entry by reading the function's index, picking the first
free data file number, and writing the index and then the data file. Two
processes compiling the same kernel for different types at once (pytest or
joblib workers, dask workers on a cold cache) can both read the index before
either writes it: one entry is lost, and both may write the same data file,
so that the index can point one signature to the other's machine code (numba
issue 10128). The kernels' cache therefore saves under an exclusive lock on a
file in the cache folder (``fcntl.flock``; where there is no ``fcntl``,
numba's own unlocked save).
"""

import contextlib
import functools
import hashlib
import os
import pathlib
import warnings

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: The lock file saves take, in each cache folder.
LOCK_NAME = "fmnist-kernels.lock"


def _sources_digest():
    digest = hashlib.sha256()
    package = pathlib.Path(__file__).parents[1]  # fmnist/neighbors
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCES_DIGEST = _sources_digest()
_CACHE_WARNINGS = []


@contextlib.contextmanager
def cache_lock(folder):
    """Hold the exclusive lock of cache folder ``folder`` across processes."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(os.path.join(folder, LOCK_NAME), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LockedCacheFile(IndexDataCacheFile):
    """numba's index and data files, each new entry saved under
    :func:`cache_lock`: the index read, the free data file picked and both
    written by one process at a time."""

    def save(self, key, data):
        with cache_lock(self._cache_path):
            super().save(key, data)


class _KernelCache(FunctionCache):
    """numba's function cache with the package's source digest in its key,
    saving through :class:`LockedCacheFile`."""

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = LockedCacheFile(
            cache_path=self._cache_path,
            filename_base=self._impl.filename_base,
            source_stamp=self._impl.locator.get_source_stamp(),
        )

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), SOURCES_DIGEST)


def njit(**options):
    """``numba.njit(**options)`` cached on disk, or uncached with one warning
    when numba has nowhere to write (read-only install, no user cache)."""

    def decorate(function):
        dispatcher = numba.njit(**options)(function)
        try:
            dispatcher._cache = _KernelCache(dispatcher.py_func)
        except RuntimeError as err:  # "no locator available"
            if not _CACHE_WARNINGS:
                _CACHE_WARNINGS.append(err)
                warnings.warn(
                    f"numba cannot cache the kNN kernels ({err}); they will be "
                    "compiled in every process. Set NUMBA_CACHE_DIR to a "
                    "writable folder to cache them.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return dispatcher

    return decorate


def per_route(factory):
    """Cache ``factory(tile, key)`` per route; ``.built`` maps each route
    made so far to its result."""
    built = {}

    @functools.wraps(factory)
    def entry_point(tile, key):
        route = (int(tile), int(key))
        if route not in built:
            built[route] = factory(*route)
        return built[route]

    entry_point.built = built
    return entry_point
