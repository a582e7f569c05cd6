"""Numba kernels for the exact k-nearest-neighbour search.

Only arrays and scalars go in; results are written into preallocated arrays.
Nothing here validates its input: :mod:`fmnist._knn_search` checks what memory
safety depends on (dimensions, dtypes, shapes, k, contiguity) before any
kernel is reached.

Modules
-------
``_kernels`` (this one)
    Heaps, pair distances and the generic search (chebyshev, minkowski, and
    every metric when nothing faster applies).
``_kernels_simd``
    4 x 4 SIMD register tiles for uint8 rows: ``psadbw`` for sums of absolute
    differences, ``vpdpbusd`` (AVX-512 VNNI) or ``pmaddwd`` for dot products.
``_kernels_uint8``
    Blocked uint8 search on those tiles (manhattan, euclidean, sqeuclidean,
    cosine).
``_kernels_tiles``
    The same blocking with 4 x 4 tiles in plain numba for int32 and floats.

Blocking and register tiles
    A block of queries is compared with a chunk of training rows small enough
    to stay in the L2 cache (the driver sizes both) before moving on to the
    next chunk, so each chunk comes from memory once per query block instead of
    once per query. Inside, 4 queries are compared with 4 training rows at
    once: 16 accumulators stay in registers while the 8 rows stream through,
    so every byte loaded serves 4 pairs.

psadbw
    LLVM does not turn ``sum(abs(int16(a) - int16(b)))`` over uint8 into
    ``psadbw`` (it emits ``vpmaxub``/``vpminub``/``vpsubb`` then widens to 64
    bits and adds); the uint8 tiles therefore call the x86 intrinsics directly
    (64 bytes per ``vpsadbw`` with AVX-512BW) and fall back to scalar code
    elsewhere.

Integer exactness
    For uint8 and int32 input, manhattan, squared euclidean and dot products
    are exact integers (int32 lanes for uint8, int64 for int32), so results do
    not depend on block sizes, thread counts or vector widths, and ties are
    exact. Euclidean ranks on the exact squared distance and the driver takes
    the square root of the final k only.

Top-k and ties
    Every query owns one row of ``keys`` and one row of ``indices`` holding a
    size-k max-heap ordered by the pair ``(key, training index)``. A candidate
    is rejected at the root in O(1) unless it is strictly smaller in that
    lexicographic order, so among equal distances the lower training index is
    kept whatever order the rows are visited in. ``_heap_sort_rows`` finally
    sorts each row ascending by the same pair. NaN keys rank as ``+inf``.

Threading
    The ``_search_rows*`` kernels are serial and release the GIL
    (``nogil=True``), so several Python threads can run them at once. Their
    ``*_parallel`` twins spread query blocks over numba threads with
    ``prange``; each iteration owns its output rows and allocates nothing. The
    driver runs a parallel kernel under a process-wide lock and falls back to
    the serial one when the lock is taken or in a forked child.

Caching
    Every kernel, parallel ones included, is compiled lazily and cached on disk
    (``cache=True``; numba 0.68 reloads cached parallel functions correctly
    across thread counts and threading layers, which the tests check). When
    numba has nowhere to write, caching is switched off with one warning.

fastmath is only applied to the distance accumulation, with the flags
``{"reassoc", "contract"}``: comparisons against the infinite sentinels of
the heaps never run under ``fastmath``.
"""

import warnings

import numba
import numpy as np

_ARITH = {"reassoc", "contract"}


_CACHE_WARNINGS = []


def _njit(**options):
    """``numba.njit(cache=True, **options)``, without the disk cache if numba
    has nowhere to write it (read-only install and no usable user cache)."""

    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError as err:  # "no locator available"
            if _CACHE_WARNINGS:
                return numba.njit(**options)(function)
            _CACHE_WARNINGS.append(err)
            warnings.warn(
                f"numba cannot cache the kNN kernels ({err}); they will be "
                "compiled in every process. Set NUMBA_CACHE_DIR to a writable "
                "folder to cache it.",
                RuntimeWarning,
                stacklevel=2,
            )
            return numba.njit(**options)(function)

    return decorate


METRIC_L1 = 0
METRIC_SQL2 = 1
METRIC_LINF = 2
METRIC_LP = 3
METRIC_COSINE = 4


# ----------------------------------------------------------------------------
# pair distances (keys)


@_njit(fastmath=_ARITH, nogil=True)
def _sum_abs_diff(x, y, acc):
    s = acc
    for t in range(x.shape[0]):
        a = x[t] - y[t] if x[t] > y[t] else y[t] - x[t]
        s += a
    return s


@_njit(fastmath=_ARITH, nogil=True)
def _sum_sq_diff(x, y, acc):
    s = acc
    for t in range(x.shape[0]):
        a = acc + x[t] - y[t]
        s += a * a
    return s


@_njit(nogil=True)
def _max_abs_diff(x, y, acc):
    s = acc
    for t in range(x.shape[0]):
        a = x[t] - y[t] if x[t] > y[t] else y[t] - x[t]
        if a > s:
            s = a
    return s


@_njit(fastmath=_ARITH, nogil=True)
def _sum_pow_diff(x, y, p):
    s = 0.0
    for t in range(x.shape[0]):
        s += abs(np.float64(x[t]) - np.float64(y[t])) ** p
    return s


@_njit(fastmath=_ARITH, nogil=True)
def _dot(x, y, acc):
    s = acc
    for t in range(x.shape[0]):
        s += (acc + x[t]) * y[t]
    return s


@_njit(nogil=True)
def _cosine_from_dot(dot, inv_norm_x, inv_norm_y):
    """``1 - dot / (|x| |y|)`` from inverse norms (0 for an all-zero row, giving
    1 as :func:`sklearn.metrics.pairwise_distances`), clipped to [0, 2]."""
    c = 1.0 - dot * (inv_norm_x * inv_norm_y)
    return min(max(c, 0.0), 2.0)


@_njit(nogil=True)
def _row_inv_norms(A, acc, out):
    """Write ``1 / |row|`` (0 for an all-zero row) of ``A`` into ``out``."""
    for i in range(A.shape[0]):
        norm = np.sqrt(np.float64(_dot(A[i], A[i], acc)))
        out[i] = 1.0 / norm if norm > 0.0 else 0.0


# ----------------------------------------------------------------------------
# top-k heaps


@_njit(nogil=True)
def _heap_push(keys, idx, row, key, j):
    """Offer ``(key, j)`` to the max-heap in row ``row``; reject at the root."""
    if key != key:  # NaN ranks last, like +inf
        key = np.inf
    if key > keys[row, 0] or (key == keys[row, 0] and j >= idx[row, 0]):
        return
    k = keys.shape[1]
    pos = 0
    while True:
        left = 2 * pos + 1
        if left >= k:
            break
        right = left + 1
        child = left
        if right < k and (
            keys[row, right] > keys[row, left]
            or (
                keys[row, right] == keys[row, left] and idx[row, right] > idx[row, left]
            )
        ):
            child = right
        if keys[row, child] < key or (keys[row, child] == key and idx[row, child] < j):
            break
        keys[row, pos] = keys[row, child]
        idx[row, pos] = idx[row, child]
        pos = child
    keys[row, pos] = key
    idx[row, pos] = j


@_njit(nogil=True)
def _sift_down(keys, idx, pos, end):
    key = keys[pos]
    j = idx[pos]
    while True:
        left = 2 * pos + 1
        if left >= end:
            break
        right = left + 1
        child = left
        if right < end and (
            keys[right] > keys[left]
            or (keys[right] == keys[left] and idx[right] > idx[left])
        ):
            child = right
        if keys[child] < key or (keys[child] == key and idx[child] < j):
            break
        keys[pos] = keys[child]
        idx[pos] = idx[child]
        pos = child
    keys[pos] = key
    idx[pos] = j


@_njit(nogil=True)
def _heap_sort_rows(keys, idx, row_start, row_stop):
    """Sort the heaps of rows ``[row_start, row_stop)`` ascending by (key, index)."""
    k = keys.shape[1]
    for i in range(row_start, row_stop):
        rk = keys[i]
        ri = idx[i]
        for end in range(k - 1, 0, -1):
            tk = rk[0]
            ti = ri[0]
            rk[0] = rk[end]
            ri[0] = ri[end]
            rk[end] = tk
            ri[end] = ti
            _sift_down(rk, ri, 0, end)


# ----------------------------------------------------------------------------
# generic blocked search


@_njit(nogil=True)
def _search_rows(
    X,
    Y,
    q_start,
    q_stop,
    metric,
    p,
    exclude_self,
    norms_x,
    norms_y,
    acc,
    keys,
    idx,
    q_block,
    t_block,
):
    """Search rows ``[q_start, q_stop)`` of ``X`` against all of ``Y``.

    ``keys``/``idx`` rows must hold initialised heaps (sentinels); they are
    updated in place and sorted at the end. ``acc`` is a zero of the
    accumulator type (int32, int64 or float64). ``q_block`` queries are
    compared with ``t_block`` training rows at a time.
    """
    n_train = Y.shape[0]
    for b0 in range(q_start, q_stop, q_block):
        b1 = min(b0 + q_block, q_stop)
        for c0 in range(0, n_train, t_block):
            c1 = min(c0 + t_block, n_train)
            for i in range(b0, b1):
                x = X[i]
                for j in range(c0, c1):
                    if exclude_self and i == j:
                        continue
                    if metric == METRIC_L1:
                        key = _sum_abs_diff(x, Y[j], acc)
                    elif metric == METRIC_SQL2:
                        key = _sum_sq_diff(x, Y[j], acc)
                    elif metric == METRIC_LINF:
                        key = _max_abs_diff(x, Y[j], acc)
                    elif metric == METRIC_LP:
                        key = _sum_pow_diff(x, Y[j], p)
                    else:
                        key = _cosine_from_dot(
                            np.float64(_dot(x, Y[j], acc)), norms_x[i], norms_y[j]
                        )
                    _heap_push(keys, idx, i, key, j)
    _heap_sort_rows(keys, idx, q_start, q_stop)


@_njit(nogil=True, parallel=True)
def _search_rows_parallel(
    X,
    Y,
    metric,
    p,
    exclude_self,
    norms_x,
    norms_y,
    acc,
    keys,
    idx,
    q_block,
    t_block,
):
    """Run :func:`_search_rows` over query blocks in parallel (``prange``)."""
    n_q = X.shape[0]
    n_blocks = (n_q + q_block - 1) // q_block
    for b in numba.prange(n_blocks):
        b0 = b * q_block
        b1 = min(b0 + q_block, n_q)
        _search_rows(
            X,
            Y,
            b0,
            b1,
            metric,
            p,
            exclude_self,
            norms_x,
            norms_y,
            acc,
            keys,
            idx,
            q_block,
            t_block,
        )
