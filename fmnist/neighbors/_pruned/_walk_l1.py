"""Pruned manhattan search on bytes: group means bounded with ``psadbw``.

The walk visits training rows in order of their row sums, seeds the heap
from the query's region, and rules rows out with two levels of byte group
means (7x7 and 2x2) before the exact distance; float rows walk the tables of
their uint8 codes and get their float distance from :mod:`.._kernels._lanes`. The
bounds and why no row that could enter the heap is skipped:
``docs/design.rst``, "Pruned manhattan search: group means on bytes".
"""

import numpy as np
from numba import types
from numba.extending import overload

from .._kernels._codes import TILE_L1, TILE_SAD_U8
from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._jit import njit
from .._kernels._tiles import tile_1x4
from ._bounds import (
    AHEAD,
    CHUNK_ROWS,
    MAX_SEEDS,
    NO_LIMIT,
    SEED_BINS,
    four_rows,
    four_values,
    seed_cut,
    take_mask,
)
from ._coarse import coarse_mask_64

#: Relative margin on a float threshold (its own rounding is 1e-13 of it).
REL_MARGIN = 1e-9


def code_key(keys, q, floats):
    """The threshold key of query ``q`` in code units: the key itself for
    uint8 rows (integer keys), else the code threshold of the module."""
    raise NotImplementedError


@overload(code_key, jit_options={"nogil": True})
def _code_key(keys, q, floats):
    if isinstance(keys.dtype, types.Integer):
        return lambda keys, q, floats: keys[q, 0]

    def coded(keys, q, floats):
        thr = keys[q, 0]
        if thr == np.inf:
            return NO_LIMIT
        reach = thr * (1.0 + REL_MARGIN) + floats.slack[q] + floats.largest_rest
        return np.int64(min(np.floor(reach / floats.step), NO_LIMIT // 4))

    return coded


def finish_l1(pairs, heaps, q, rows, n_rows, order, floats):
    """Offer the rows that passed the bounds to the heap of query ``q``:
    :func:`_exact_l1` for uint8 rows, :func:`_exact_float_l1` for codes."""
    raise NotImplementedError


@overload(finish_l1, jit_options={"nogil": True})
def _finish_l1(pairs, heaps, q, rows, n_rows, order, floats):
    keys_type = heaps.types[heaps.fields.index("keys")]
    if isinstance(keys_type.dtype, types.Integer):

        def exact(pairs, heaps, q, rows, n_rows, order, floats):
            _exact_l1(pairs, heaps, q, rows, n_rows, order)

        return exact

    def coded(pairs, heaps, q, rows, n_rows, order, floats):
        _exact_float_l1(pairs, heaps, q, rows, n_rows, order, floats)

    return coded


@njit(nogil=True)
def _sad_limit(thr, m, b):
    """Largest byte-table sum ``s`` whose bound ``m * s - b`` does not exceed
    the threshold key ``thr``: rows above it are ruled out."""
    if thr >= NO_LIMIT // 2:
        return NO_LIMIT
    return (thr + b) // m


@njit(nogil=True, fastmath={"reassoc", "contract"})
def _coarse_sad(qrow, coarse_t, c0, c1, out):
    """Byte-table L1 of the query's coarsest means against sorted rows
    ``[c0, c1)`` into ``out`` (uint16: at most 257 groups of 255)."""
    n = c1 - c0
    for jj in range(n):
        out[jj] = 0
    for g in range(coarse_t.shape[0]):
        qg = qrow[g]
        column = coarse_t[g, c0:c1]
        for jj in range(n):
            # Written on the bytes so that LLVM vectorises it on bytes.
            t = column[jj]
            out[jj] += (t - qg) if t > qg else (qg - t)


@njit(nogil=True)
def _coarse_survivors(qc, means, c0, c1, limit, excluded, scratch):
    """Sorted positions in ``[c0, c1)`` whose coarse bound is at most
    ``limit`` (except the query itself, ``excluded``) into ``visit``, 64 rows
    per bit mask; returns their number. ``scratch`` is ``(coarse, visit)``:
    room for the coarse bounds, and the positions' output."""
    coarse_t, order = means.coarse, means.order
    coarse, visit = scratch
    n_visit = 0
    start = c0
    while start + 64 <= c1:
        mask = coarse_mask_64(qc, coarse_t, start, limit)
        n_visit = take_mask(mask, start, order, excluded, visit, n_visit)
        start += 64
    if start < c1:
        _coarse_sad(qc, coarse_t, start, c1, coarse)
        for v in range(c1 - start):
            visit[n_visit] = start + v
            n_visit += (coarse[v] <= limit) & (order[start + v] != excluded)
    return n_visit


@njit(nogil=True)
def _sad_filter(QT, q, T, rows, n_rows, limit, out):
    """Keep the sorted positions ``rows[:n_rows]`` whose byte-table L1
    ``sum |QT[q] - T[j]|`` is at most ``limit``, in order, in ``out`` (which
    may be ``rows``); returns their number. Four rows per ``psadbw`` tile."""
    n_out = 0
    for v in range(0, n_rows, 4):
        values = four_values(
            TILE_SAD_U8, QT, T, q, (rows, v, n_rows), (None, None), 2 * AHEAD
        )
        for c in range(min(4, n_rows - v)):
            out[n_out] = rows[v + c]
            n_out += values[c] <= limit
    return n_out


@njit(nogil=True)
def _exact_l1(pairs, heaps, q, rows, n_rows, order):
    """Offer the sorted positions ``rows[:n_rows]`` to the heap of query
    ``q`` with their exact manhattan distances, four per tile."""
    X, Y = pairs.X, pairs.Y
    keys, idx = heaps.keys, heaps.idx
    for v in range(0, n_rows, 4):
        values = four_values(
            TILE_SAD_U8, X, Y, q, (rows, v, n_rows), (None, None), AHEAD
        )
        for c in range(min(4, n_rows - v)):
            heap_push(keys, idx, q, values[c], order[rows[v + c]])


@njit(nogil=True)
def _exact_float_l1(pairs, heaps, q, rows, n_rows, order, floats):
    """For float rows (``X``, ``Y`` their codes): keep the rows whose code
    bound ``step * |c_x - c_y|_1 - |e_y|_1`` is within the threshold plus the
    query's slack, then offer them with their float distances (the lane sums
    of the float rows ``floats``, training rows by index), four per tile."""
    X, Y = pairs.X, pairs.Y
    keys, idx = heaps.keys, heaps.idx
    XF, YF, rests, step = floats.queries, floats.rows, floats.rests, floats.step
    slack = floats.slack
    reach = keys[q, 0] * (1.0 + REL_MARGIN) + slack[q]
    kept = 0
    for v in range(0, n_rows, 4):
        # Rows v.. are read before any is written back (kept <= v).
        values = four_values(
            TILE_SAD_U8, X, Y, q, (rows, v, n_rows), (None, None), AHEAD
        )
        for c in range(min(4, n_rows - v)):
            j = rows[v + c]
            rows[kept] = j
            kept += step * np.float64(values[c]) - rests[j] <= reach
    for v in range(0, kept, 4):
        j0, j1, j2, j3 = four_rows(rows, v, kept)
        t0, t1, t2, t3 = order[j0], order[j1], order[j2], order[j3]
        values, _ = tile_1x4(TILE_L1, XF, YF, q, t0, t1, t2, t3, None, None)
        for c in range(min(4, kept - v)):
            heap_push(keys, idx, q, values[c], order[rows[v + c]])


@njit(nogil=True)
def _l1_cascade(pairs, heaps, q, rows, n_rows, means, floats):
    """The rows that passed the coarse bound through the fine bound (against
    the threshold as it stands) and then the exact distance."""
    limit = _sad_limit(code_key(heaps.keys, q, floats), means.m1, means.b1)
    n_rows = _sad_filter(means.q_fine, q, means.fine, rows, n_rows, limit, rows)
    finish_l1(pairs, heaps, q, rows, n_rows, means.order, floats)


#: The first region walked: this many chunks around the query's sum.
_SEED_CHUNKS = 4
#: Coarse bounds are binned for the seeds shifted right by this much (the
#: last bin takes all larger bounds).
_SEED_SHIFT = 4
#: The coarse bound a seed is given once offered (above any real bound: at
#: most 100 groups of 255 for rows of up to WIDE_BYTES features).
_SEEN = 65535


@njit(nogil=True)
def _seeds(coarse, n, first, order, excluded, histogram, visit):
    """The seeds (:data:`._bounds.SEED_ROWS`) among positions ``first + v``
    by their coarse bounds ``coarse[v]`` into ``visit``; their bounds become
    :data:`_SEEN`. Returns their number."""
    last = histogram.shape[0] - 1
    histogram[:] = 0
    for v in range(n):
        histogram[min(np.int64(coarse[v]) >> _SEED_SHIFT, last)] += 1
    cut = seed_cut(histogram)
    n_seed = 0
    for v in range(n):
        if n_seed == MAX_SEEDS:  # many equal bounds: the rest come later
            break
        if (
            min(np.int64(coarse[v]) >> _SEED_SHIFT, last) <= cut
            and order[first + v] != excluded
        ):
            visit[n_seed] = first + v
            n_seed += 1
            coarse[v] = _SEEN
    return n_seed


@njit(nogil=True)
def pruned_l1_rows(pairs, heaps, walk, means, floats):
    """Manhattan search of the queries of ``walk`` (a
    :class:`~.._kernels._codes.Walk`) through the byte-table cascade; the
    rows of ``heaps`` hold initialised heaps, sorted at the end.

    The training rows ``pairs.Y`` and the byte tables of group means
    ``means`` (a :class:`~.._kernels._codes.MeansL1`) are in ascending order
    of the row sums. For float rows ``pairs.X`` and ``pairs.Y`` are their
    codes and ``floats`` their :class:`~.._kernels._codes.FloatRowsL1`
    (empty arrays for uint8 rows).
    """
    Y = pairs.Y
    keys, exclude_self = heaps.keys, heaps.exclude_self
    order, sums, coarse_t = means.order, means.sums, means.coarse
    m0, b0 = means.m0, means.b0
    q_sums, q_coarse = means.q_sums, means.q_coarse
    n = Y.shape[0]
    chunk = min(CHUNK_ROWS, n)
    region = min(_SEED_CHUNKS * CHUNK_ROWS, n)
    coarse = np.empty(region, dtype=np.uint16)
    visit = np.empty(region, dtype=np.int64)
    histogram = np.empty(SEED_BINS, dtype=np.int64)
    scratch = (coarse, visit)
    for position in range(walk.start, walk.stop):
        q = walk.order[position]
        excluded = q if exclude_self else -1
        s = q_sums[q]
        qc = q_coarse[q]
        centre = np.searchsorted(sums, s)
        lo = min(max(0, centre - region // 2), n - region)
        hi = lo + region
        # The rows of the region around the query's sum with the smallest
        # coarse bounds fill the heap first, so that the threshold is close
        # to its final value before the rest is walked.
        _coarse_sad(qc, coarse_t, lo, hi, coarse)
        n_visit = _seeds(coarse, region, lo, order, excluded, histogram, visit)
        _l1_cascade(pairs, heaps, q, visit, n_visit, means, floats)
        # The seeds' bounds are now _SEEN: no limit lets them in again.
        limit = min(_sad_limit(code_key(keys, q, floats), m0, b0), _SEEN - 1)
        n_visit = 0
        for v in range(region):
            visit[n_visit] = lo + v
            n_visit += (coarse[v] <= limit) & (order[lo + v] != excluded)
        _l1_cascade(pairs, heaps, q, visit, n_visit, means, floats)
        # Then outward, one chunk each side at a time, while the sum bound
        # lets rows in.
        while True:
            thr = code_key(keys, q, floats)
            right = hi < n and sums[hi] - s <= thr
            left = lo > 0 and s - sums[lo - 1] <= thr
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
                limit = _sad_limit(code_key(keys, q, floats), m0, b0)
                n_visit = _coarse_survivors(qc, means, c0, c1, limit, excluded, scratch)
                _l1_cascade(pairs, heaps, q, visit, n_visit, means, floats)
        heap_sort_rows(keys, heaps.idx, q, q + 1)
