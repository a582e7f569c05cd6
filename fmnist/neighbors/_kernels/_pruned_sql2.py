"""Pruned squared-euclidean search on group sums (int16 tables).

The bounds of :mod:`._bounds` for squared distances, ``sum_g (S_g(x) -
S_g(y))**2 / m``, with the sums of 7x7, 4x4 and 2x2 groups. The first chunk
around the query's sum is visited in order of its coarse bound, so the heap
fills with good candidates and the threshold is tight from the start; the
visit stops at the first row whose coarse bound exceeds the threshold.
"""

import numba
import numpy as np
from numba import literally

from ._bounds import AHEAD, CHUNK_ROWS, NO_LIMIT
from ._heap import heap_push, heap_sort_rows
from ._jit import njit, per_route
from ._simd import prefetch_row
from ._tiles import pair_key, tile_1x4, tile_offsets, tile_tail

#: Rows of the first chunk visited between two looks at the threshold.
_FIRST_STEP = 32


@njit(nogil=True)
def _limit(scale, thr):
    """Largest integer bound (a sum of squared group-sum differences) that
    does not rule a row out against the threshold key ``thr``: ``scale *
    thr``, the keys being exact integers."""
    value = scale * thr
    if value >= 9.0e18:
        return NO_LIMIT
    return np.int64(np.floor(value))


@njit(nogil=True, fastmath={"reassoc", "contract"})
def _fine_bound(qrow, trow):
    s = np.int64(0)
    for g in range(qrow.shape[0]):
        d = np.int64(qrow[g]) - np.int64(trow[g])
        s += d * d
    return s


@njit(nogil=True, fastmath={"reassoc", "contract"})
def _coarse_bounds(qrow, coarse_t, c0, c1, out):
    """Coarse bound of the query against sorted rows ``[c0, c1)`` into ``out``."""
    n = c1 - c0
    for jj in range(n):
        out[jj] = 0
    for g in range(coarse_t.shape[0]):
        qg = np.int32(qrow[g])
        column = coarse_t[g, c0:c1]
        for jj in range(n):
            d = np.int64(qg - np.int32(column[jj]))
            out[jj] += d * d


@njit(nogil=True)
def _flush(tile, key, X, Y, q, cand, n_cand, order, aux_x, aux_y, offset, keys, idx):
    """Exact keys of the buffered candidates (up to 4 sorted positions) of
    query ``q``, offered to its heap under their training indices."""
    d = Y.shape[1]
    last = cand[n_cand - 1]
    j0 = cand[0]
    j1 = cand[1] if n_cand > 1 else last
    j2 = cand[2] if n_cand > 2 else last
    j3 = cand[3] if n_cand > 3 else last
    values, done = tile_1x4(tile, X, Y, q, j0, j1, j2, j3)
    for c in range(n_cand):
        j = cand[c]
        v = values[c] + offset
        if done < d:
            v += tile_tail(tile, X, Y, q, j, done)
        heap_push(keys, idx, q, pair_key(key, v, X, Y, q, j, aux_x, aux_y), order[j])


@njit(nogil=True)
def _survivors(coarse, n, first, limit, visit):
    """Sorted positions ``first + v`` with ``coarse[v] <= limit`` into
    ``visit`` (branch-free); returns their number."""
    n_visit = 0
    for v in range(n):
        visit[n_visit] = first + v
        n_visit += coarse[v] <= limit
    return n_visit


@njit(nogil=True)
def _visit(
    tile, key, X, Y, q, exclude_self, p, aux_x, aux_y, keys, idx, offset,
    order, visit, n_visit, qf1, fine1, m1, qf2, fine2, m2, cand,
):  # fmt: skip
    """Offer the sorted rows ``visit[:n_visit]`` to the heap of query ``q``
    through the finer bounds, 4 exact distances at a time."""
    n_cand = 0
    limit1 = _limit(m1, keys[q, 0])
    limit2 = _limit(m2, keys[q, 0])
    bytes1 = fine1.shape[1] * fine1.itemsize
    bytes2 = fine2.shape[1] * fine2.itemsize
    for v in range(min(AHEAD, n_visit)):
        prefetch_row(fine1, visit[v], bytes1)
    for v in range(n_visit):
        # The rows are scattered: fetch ahead what the next rows will read.
        if v + AHEAD < n_visit:
            prefetch_row(fine1, visit[v + AHEAD], bytes1)
            prefetch_row(fine2, visit[v + AHEAD // 2], bytes2)
        j = visit[v]
        t = order[j]
        if exclude_self and t == q:
            continue
        if _fine_bound(qf1, fine1[j]) > limit1:
            continue
        if _fine_bound(qf2, fine2[j]) > limit2:
            continue
        prefetch_row(Y, j, Y.shape[1])
        cand[n_cand] = j
        n_cand += 1
        if n_cand == 4:
            _flush(tile, key, X, Y, q, cand, 4, order, aux_x, aux_y, offset, keys, idx)
            n_cand = 0
            limit1 = _limit(m1, keys[q, 0])
            limit2 = _limit(m2, keys[q, 0])
    if n_cand:
        _flush(tile, key, X, Y, q, cand, n_cand, order, aux_x, aux_y, offset, keys, idx)


@njit(nogil=True)
def _walk_chunk(
    tile, key, X, Y, q, exclude_self, p, aux_x, aux_y, keys, idx, offset,
    order, c0, c1, qc, coarse_t, m0, coarse, visit, qf1, fine1, m1, qf2, fine2, m2,
    cand,
):  # fmt: skip
    """Coarse bounds of sorted rows ``[c0, c1)``, then the survivors."""
    _coarse_bounds(qc, coarse_t, c0, c1, coarse)
    limit = _limit(m0, keys[q, 0])
    n_visit = _survivors(coarse, c1 - c0, c0, limit, visit)
    _visit(
        tile, key, X, Y, q, exclude_self, p, aux_x, aux_y, keys, idx,
        offset, order, visit, n_visit, qf1, fine1, m1, qf2, fine2, m2, cand,
    )  # fmt: skip


@njit(nogil=True)
def _sum_above(delta, n_features, thr):
    return np.float64(delta) * np.float64(delta) > n_features * thr




@njit(nogil=True)
def pruned_rows(
    tile, key, X, Y, q_order, q_start, q_stop, exclude_self, p, aux_x,
    aux_y, keys, idx, order, sums, q_sums, coarse_t, q_coarse, m0, fine1, q_fine1,
    m1, fine2, q_fine2, m2,
):  # fmt: skip
    """Search queries ``q_order[q_start:q_stop]`` of ``X`` through the bound
    cascade; ``keys``/``idx`` hold initialised heaps, sorted at the end.
    Queries visited in order of their sums walk nearly the same rows one
    after the other, which then come from the cache.

    The training rows ``Y``, their per-row values ``aux_y`` and sums ``sums``
    are in ascending order of the sums, and ``order`` maps each sorted
    position to the training index the heaps record. The ``coarse_t`` table
    is feature-group-major (groups, n_train), the ``fine`` tables row-major,
    all in sorted order.
    """
    literally(tile)
    literally(key)
    n = Y.shape[0]
    n_features = np.float64(Y.shape[1])
    chunk = min(CHUNK_ROWS, n)
    coarse = np.empty(chunk, dtype=np.int64)
    visit = np.empty(chunk, dtype=np.int64)
    cand = np.empty(4, dtype=np.int64)
    for position in range(q_start, q_stop):
        q = q_order[position]
        offset = tile_offsets(tile, X, q, q, q, q)[0]
        s = q_sums[q]
        qc = q_coarse[q]
        qf1 = q_fine1[q]
        qf2 = q_fine2[q]
        centre = np.searchsorted(sums, s)
        lo = min(max(0, centre - chunk // 2), n - chunk)
        hi = lo + chunk
        # The first chunk in order of its coarse bound fills the heap with
        # good candidates.
        _coarse_bounds(qc, coarse_t, lo, hi, coarse)
        ranked = np.argsort(coarse[:chunk])
        first = 0
        while first < chunk:
            # Ranked rows beyond the threshold are ruled out, and so are all
            # after them: stop there.
            limit = _limit(m0, keys[q, 0])
            n_visit = 0
            for v in range(first, min(chunk, first + _FIRST_STEP)):
                if coarse[ranked[v]] > limit:
                    break
                visit[n_visit] = lo + ranked[v]
                n_visit += 1
            _visit(
                tile, key, X, Y, q, exclude_self, p, aux_x, aux_y, keys,
                idx, offset, order, visit, n_visit, qf1, fine1, m1, qf2, fine2, m2,
                cand,
            )  # fmt: skip
            if n_visit < _FIRST_STEP:
                break
            first += _FIRST_STEP
        # Then outward, one chunk each side at a time, while the sum bound
        # lets rows in.
        while True:
            thr = keys[q, 0]
            right = hi < n and not _sum_above(sums[hi] - s, n_features, thr)
            left = lo > 0 and not _sum_above(s - sums[lo - 1], n_features, thr)
            if not (left or right):
                break
            for side in range(2):
                if side == 0 and right:
                    c0, c1 = hi, min(n, hi + chunk)
                    hi = c1
                elif side == 1 and left:
                    c0, c1 = max(0, lo - chunk), lo
                    lo = c0
                else:
                    continue
                _walk_chunk(
                    tile, key, X, Y, q, exclude_self, p, aux_x, aux_y,
                    keys, idx, offset, order, c0, c1, qc, coarse_t, m0, coarse,
                    visit, qf1, fine1, m1, qf2, fine2, m2, cand,
                )  # fmt: skip
        heap_sort_rows(keys, idx, q, q + 1)


@njit(nogil=True, parallel=True)
def pruned_rows_parallel(
    tile, key, X, Y, q_order, exclude_self, p, aux_x, aux_y, keys, idx,
    order, sums, q_sums, coarse_t, q_coarse, m0, fine1, q_fine1, m1, fine2,
    q_fine2, m2, q_block,
):  # fmt: skip
    """:func:`pruned_rows` over blocks of ``q_block`` queries (``prange``)."""
    literally(tile)
    literally(key)
    n_q = X.shape[0]
    n_blocks = (n_q + q_block - 1) // q_block
    for b in numba.prange(n_blocks):
        b0 = b * q_block
        b1 = min(b0 + q_block, n_q)
        pruned_rows(
            tile, key, X, Y, q_order, b0, b1, exclude_self, p, aux_x,
            aux_y, keys, idx, order, sums, q_sums, coarse_t, q_coarse, m0, fine1,
            q_fine1, m1, fine2, q_fine2, m2,
        )  # fmt: skip


@per_route
def entry_points(tile, key):
    """``(serial, parallel)`` pruned kernels of one route, each a small
    cached function with ``tile`` and ``key`` as compile-time constants (no
    literal re-typing per call, as in :func:`._driver.entry_points`)."""

    @njit(nogil=True)
    def serial(
        X, Y, q_order, q_start, q_stop, exclude_self, p, aux_x, aux_y,
        keys, idx, order, sums, q_sums, coarse_t, q_coarse, m0, fine1, q_fine1, m1,
        fine2, q_fine2, m2,
    ):  # fmt: skip
        pruned_rows(
            tile, key, X, Y, q_order, q_start, q_stop, exclude_self, p, aux_x,
            aux_y, keys, idx, order, sums, q_sums, coarse_t, q_coarse, m0, fine1,
            q_fine1, m1, fine2, q_fine2, m2,
        )  # fmt: skip

    @njit(nogil=True)
    def parallel(
        X, Y, q_order, exclude_self, p, aux_x, aux_y, keys, idx, order,
        sums, q_sums, coarse_t, q_coarse, m0, fine1, q_fine1, m1, fine2, q_fine2,
        m2, q_block,
    ):  # fmt: skip
        pruned_rows_parallel(
            tile, key, X, Y, q_order, exclude_self, p, aux_x, aux_y, keys, idx,
            order, sums, q_sums, coarse_t, q_coarse, m0, fine1, q_fine1, m1,
            fine2, q_fine2, m2, q_block,
        )  # fmt: skip

    return serial, parallel
