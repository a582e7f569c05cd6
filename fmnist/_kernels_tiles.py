"""Blocked search with 4 x 4 register tiles in plain numba (int32, floats).

Sixteen scalar accumulators, one per (query, training row) pair of the tile,
are updated in one loop over the features; LLVM vectorises that loop along
the features (``fastmath`` reassociation only), so every pair is reduced in
the same order wherever it sits in a tile or block. Accumulators have the
type of ``acc``: int64 for int32 input (exact), float64 for float input.
"""

import numba
import numpy as np

from ._kernels import (
    _ARITH,
    METRIC_L1,
    METRIC_SQL2,
    _cosine_from_dot,
    _heap_push,
    _heap_sort_rows,
    _njit,
)

# numba's disk cache only notices changes to this file, not to the kernels it
# inlines from _kernels: this fingerprint of their sources (checked
# by the tests) changes this file whenever they change.
_DEPENDENCY_FINGERPRINT = "c322951f7e4eb100"


@_njit(fastmath=_ARITH, nogil=True)
def _tile_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3, metric, acc):
    """16 keys: sums of ``|a - b|`` (L1), of ``(a - b)**2`` (SQL2) or of ``a * b``."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = acc
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = acc
    for t in range(X.shape[1]):
        a0 = acc + X[i0, t]
        a1 = acc + X[i1, t]
        a2 = acc + X[i2, t]
        a3 = acc + X[i3, t]
        b0 = acc + Y[j0, t]
        b1 = acc + Y[j1, t]
        b2 = acc + Y[j2, t]
        b3 = acc + Y[j3, t]
        if metric == METRIC_L1:
            s00 += abs(a0 - b0)
            s01 += abs(a0 - b1)
            s02 += abs(a0 - b2)
            s03 += abs(a0 - b3)
            s10 += abs(a1 - b0)
            s11 += abs(a1 - b1)
            s12 += abs(a1 - b2)
            s13 += abs(a1 - b3)
            s20 += abs(a2 - b0)
            s21 += abs(a2 - b1)
            s22 += abs(a2 - b2)
            s23 += abs(a2 - b3)
            s30 += abs(a3 - b0)
            s31 += abs(a3 - b1)
            s32 += abs(a3 - b2)
            s33 += abs(a3 - b3)
        elif metric == METRIC_SQL2:
            s00 += (a0 - b0) * (a0 - b0)
            s01 += (a0 - b1) * (a0 - b1)
            s02 += (a0 - b2) * (a0 - b2)
            s03 += (a0 - b3) * (a0 - b3)
            s10 += (a1 - b0) * (a1 - b0)
            s11 += (a1 - b1) * (a1 - b1)
            s12 += (a1 - b2) * (a1 - b2)
            s13 += (a1 - b3) * (a1 - b3)
            s20 += (a2 - b0) * (a2 - b0)
            s21 += (a2 - b1) * (a2 - b1)
            s22 += (a2 - b2) * (a2 - b2)
            s23 += (a2 - b3) * (a2 - b3)
            s30 += (a3 - b0) * (a3 - b0)
            s31 += (a3 - b1) * (a3 - b1)
            s32 += (a3 - b2) * (a3 - b2)
            s33 += (a3 - b3) * (a3 - b3)
        else:
            s00 += a0 * b0
            s01 += a0 * b1
            s02 += a0 * b2
            s03 += a0 * b3
            s10 += a1 * b0
            s11 += a1 * b1
            s12 += a1 * b2
            s13 += a1 * b3
            s20 += a2 * b0
            s21 += a2 * b1
            s22 += a2 * b2
            s23 += a2 * b3
            s30 += a3 * b0
            s31 += a3 * b1
            s32 += a3 * b2
            s33 += a3 * b3
    return (
        s00, s01, s02, s03, s10, s11, s12, s13,
        s20, s21, s22, s23, s30, s31, s32, s33,
    )  # fmt: skip


@_njit(nogil=True)
def _search_rows_tiled(
    X,
    Y,
    q_start,
    q_stop,
    metric,
    exclude_self,
    norms_x,
    norms_y,
    acc,
    keys,
    idx,
    q_block,
    t_block,
):
    """Search rows ``[q_start, q_stop)`` of ``X`` with L1, SQL2 or cosine keys.

    Tiles at the edge of a block repeat their last row (never read past it) and
    ignore the repeated results.
    """
    n_train = Y.shape[0]
    for b0 in range(q_start, q_stop, q_block):
        b1 = min(b0 + q_block, q_stop)
        for c0 in range(0, n_train, t_block):
            c1 = min(c0 + t_block, n_train)
            for i in range(b0, b1, 4):
                nr = min(4, b1 - i)
                i1 = i + min(1, nr - 1)
                i2 = i + min(2, nr - 1)
                i3 = i + min(3, nr - 1)
                for j in range(c0, c1, 4):
                    nc = min(4, c1 - j)
                    j1 = j + min(1, nc - 1)
                    j2 = j + min(2, nc - 1)
                    j3 = j + min(3, nc - 1)
                    tile = _tile_4x4(X, Y, i, i1, i2, i3, j, j1, j2, j3, metric, acc)
                    for r in range(nr):
                        q = i + r
                        for c in range(nc):
                            t_row = j + c
                            if exclude_self and q == t_row:
                                continue
                            v = tile[4 * r + c]
                            if metric == METRIC_L1 or metric == METRIC_SQL2:
                                _heap_push(keys, idx, q, v, t_row)
                            else:
                                key = _cosine_from_dot(
                                    np.float64(v), norms_x[q], norms_y[t_row]
                                )
                                _heap_push(keys, idx, q, key, t_row)
    _heap_sort_rows(keys, idx, q_start, q_stop)


@_njit(nogil=True, parallel=True)
def _search_rows_tiled_parallel(
    X,
    Y,
    metric,
    exclude_self,
    norms_x,
    norms_y,
    acc,
    keys,
    idx,
    q_block,
    t_block,
):
    """Run :func:`_search_rows_tiled` over query blocks in parallel."""
    n_q = X.shape[0]
    n_blocks = (n_q + q_block - 1) // q_block
    for b in numba.prange(n_blocks):
        b0 = b * q_block
        b1 = min(b0 + q_block, n_q)
        _search_rows_tiled(
            X,
            Y,
            b0,
            b1,
            metric,
            exclude_self,
            norms_x,
            norms_y,
            acc,
            keys,
            idx,
            q_block,
            t_block,
        )
