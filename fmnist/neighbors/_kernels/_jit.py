"""``numba.njit`` with an on-disk cache keyed on every kernel source file.

numba's cache checks only the file of the function it compiled; a kernel that
inlines a tile or a heap from a sibling module would keep stale machine code
after that sibling changes. Each kernel's cache index key therefore also holds
a digest of all the source files of this package, computed at import.
"""

import functools
import hashlib
import pathlib
import warnings

import numba
from numba.core.caching import FunctionCache


def _sources_digest():
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCES_DIGEST = _sources_digest()
_CACHE_WARNINGS = []


class _KernelCache(FunctionCache):
    """numba's function cache with the package's source digest in its key."""

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
    def entry_points(tile, key):
        route = (int(tile), int(key))
        if route not in built:
            built[route] = factory(*route)
        return built[route]

    entry_points.built = built
    return entry_points
