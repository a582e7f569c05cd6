"""Blocked uint8 search with 4 x 4 SIMD register tiles.

Manhattan uses the ``psadbw`` tile and keeps the exact integer sum as key.
Euclidean keys are the exact squared distances ``|x|^2 + |y|^2 - 2 x.y`` from
the integer dot tile; cosine keys are ``1 - x.y / (|x| |y|)`` in float64 from
the same exact dot. See :mod:`fmnist._kernels` for the heaps and the design.
"""

import numba
import numpy as np

from ._kernels import (
    METRIC_L1,
    METRIC_SQL2,
    _cosine_from_dot,
    _heap_push,
    _heap_sort_rows,
    _njit,
)
from ._kernels_simd import _dot_plan, _dot_tile_4x4, _sad_tile_4x4

# numba's disk cache only notices changes to this file, not to the kernels it
# inlines from _kernels, _kernels_simd: this fingerprint of their sources (checked
# by the tests) changes this file whenever they change.
_DEPENDENCY_FINGERPRINT = "bab25dd47915e870"


@_njit(nogil=True)
def _row_sqnorms_uint8(A, out):
    """Write the exact squared norm of every row of ``A`` into ``out`` (int64)."""
    for i in range(A.shape[0]):
        s = np.int64(0)
        for t in range(A.shape[1]):
            v = np.int64(A[i, t])
            s += v * v
        out[i] = s


@_njit(nogil=True)
def _tile_tail(X, Y, i, j, start, metric):
    """The bytes ``[start, n_features)`` the SIMD tile left out, for one pair."""
    s = np.int64(0)
    for t in range(start, X.shape[1]):
        a = np.int64(X[i, t])
        b = np.int64(Y[j, t])
        if metric == METRIC_L1:
            s += a - b if a > b else b - a
        else:
            s += a * b
    return s


@_njit(nogil=True)
def _search_rows_uint8(
    X,
    Y,
    q_start,
    q_stop,
    metric,
    exclude_self,
    sq_x,
    sq_y,
    norms_x,
    norms_y,
    keys,
    idx,
    q_block,
    t_block,
):
    """Search rows ``[q_start, q_stop)`` of uint8 ``X`` against uint8 ``Y``.

    ``metric`` is ``METRIC_L1``, ``METRIC_SQL2`` or ``METRIC_COSINE``;
    ``sq_x``/``sq_y`` are the exact squared row norms (int64) and
    ``norms_x``/``norms_y`` the inverses of their square roots (float64, 0 for
    an all-zero row); the first pair serves euclidean, the second cosine.
    Tiles at the edge of a block repeat their last row (never read past it) and
    ignore the repeated results.
    """
    n_train, d = Y.shape
    handled, bias = _dot_plan(d)
    for b0 in range(q_start, q_stop, q_block):
        b1 = min(b0 + q_block, q_stop)
        for c0 in range(0, n_train, t_block):
            c1 = min(c0 + t_block, n_train)
            for i in range(b0, b1, 4):
                nr = min(4, b1 - i)
                i1 = i + min(1, nr - 1)
                i2 = i + min(2, nr - 1)
                i3 = i + min(3, nr - 1)
                xs0 = xs1 = xs2 = xs3 = np.int64(0)
                if metric != METRIC_L1 and bias != 0:
                    for t in range(handled):
                        xs0 += X[i, t]
                        xs1 += X[i1, t]
                        xs2 += X[i2, t]
                        xs3 += X[i3, t]
                xs = (bias * xs0, bias * xs1, bias * xs2, bias * xs3)
                for j in range(c0, c1, 4):
                    nc = min(4, c1 - j)
                    j1 = j + min(1, nc - 1)
                    j2 = j + min(2, nc - 1)
                    j3 = j + min(3, nc - 1)
                    if metric == METRIC_L1:
                        tile = _sad_tile_4x4(X, Y, i, i1, i2, i3, j, j1, j2, j3, d)
                    else:
                        tile = _dot_tile_4x4(X, Y, i, i1, i2, i3, j, j1, j2, j3, d)
                    done = tile[16]
                    for r in range(nr):
                        q = i + r
                        for c in range(nc):
                            t_row = j + c
                            if exclude_self and q == t_row:
                                continue
                            v = tile[4 * r + c]
                            if done < d:
                                v += _tile_tail(X, Y, q, t_row, done, metric)
                            if metric == METRIC_L1:
                                _heap_push(keys, idx, q, np.float64(v), t_row)
                                continue
                            dot = v + xs[r]
                            if metric == METRIC_SQL2:
                                key = sq_x[q] + sq_y[t_row] - 2 * dot
                                _heap_push(keys, idx, q, np.float64(key), t_row)
                            else:
                                key = _cosine_from_dot(
                                    np.float64(dot), norms_x[q], norms_y[t_row]
                                )
                                _heap_push(keys, idx, q, key, t_row)
    _heap_sort_rows(keys, idx, q_start, q_stop)


@_njit(nogil=True, parallel=True)
def _search_rows_uint8_parallel(
    X,
    Y,
    metric,
    exclude_self,
    sq_x,
    sq_y,
    norms_x,
    norms_y,
    keys,
    idx,
    q_block,
    t_block,
):
    """Run :func:`_search_rows_uint8` over query blocks in parallel."""
    n_q = X.shape[0]
    n_blocks = (n_q + q_block - 1) // q_block
    for b in numba.prange(n_blocks):
        b0 = b * q_block
        b1 = min(b0 + q_block, n_q)
        _search_rows_uint8(
            X,
            Y,
            b0,
            b1,
            metric,
            exclude_self,
            sq_x,
            sq_y,
            norms_x,
            norms_y,
            keys,
            idx,
            q_block,
            t_block,
        )
