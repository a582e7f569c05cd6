"""Exact cosine for integer rows: settling the pairs that may be parallel.

The blocked search gives every pair of integer rows with
``1 - x.y / (|x| |y|) < NEAR_PARALLEL`` the key 0 (the ``KEY_COSINE_INT``
rule of :func:`._tiles.pair_key`), so these pairs rank first, among themselves by
training index, at no cost in the hot loop. This step then decides each of
them exactly: 0 when the rows point the same way (128-bit integer test), the
computed distance (at least the smallest positive double) otherwise; it
re-sorts only those leading slots, which stay ahead of every other pair.

When all ``k`` slots of a query were near-parallel and one of them is not
exactly parallel, the search may have dropped a parallel pair of higher
index for it; that query is searched again with the exact rule for every
pair (rare: it needs ``k`` training rows within 1e-12 of the query's
direction).
"""

import numpy as np

from ._heap import heap_push, heap_sort_rows
from ._jit import njit
from ._tiles import NEAR_PARALLEL, points_same_way

_SMALLEST = np.nextafter(0.0, 1.0)


@njit(nogil=True)
def _exact_cosine(X, Y, q, t, inv_x, inv_y):
    """The cosine distance of integer rows ``X[q]`` and ``Y[t]``, exactly 0
    when they point the same way."""
    if inv_x == 0.0 or inv_y == 0.0:
        return 1.0
    dot = np.int64(0)
    for f in range(X.shape[1]):
        dot += np.int64(X[q, f]) * np.int64(Y[t, f])
    c = 1.0 - np.float64(dot) * (inv_x * inv_y)
    if c < NEAR_PARALLEL and dot > 0 and points_same_way(dot, X, Y, q, t):
        return 0.0
    return min(max(c, _SMALLEST), 2.0)


@njit(nogil=True)
def _sort_prefix(keys, idx, q, n):
    """Insertion sort of ``keys[q, :n]`` by (key, index)."""
    for a in range(1, n):
        key = keys[q, a]
        j = idx[q, a]
        b = a - 1
        while b >= 0 and (keys[q, b] > key or (keys[q, b] == key and idx[q, b] > j)):
            keys[q, b + 1] = keys[q, b]
            idx[q, b + 1] = idx[q, b]
            b -= 1
        keys[q, b + 1] = key
        idx[q, b + 1] = j


@njit(nogil=True)
def settle_near_parallel(X, Y, exclude_self, inv_x, inv_y, keys, idx):
    """Decide exactly the near-parallel pairs of sorted neighbour rows."""
    n_train = Y.shape[0]
    k = keys.shape[1]
    for q in range(X.shape[0]):
        if keys[q, 0] != 0.0:
            continue
        n_near = 0
        while n_near < k and keys[q, n_near] == 0.0:
            n_near += 1
        all_parallel = True
        for s in range(n_near):
            keys[q, s] = _exact_cosine(X, Y, q, idx[q, s], inv_x[q], inv_y[idx[q, s]])
            if keys[q, s] != 0.0:
                all_parallel = False
        if n_near < k or all_parallel:
            _sort_prefix(keys, idx, q, n_near)
            continue
        for s in range(k):
            keys[q, s] = np.inf
            idx[q, s] = n_train
        for t in range(n_train):
            if exclude_self and t == q:
                continue
            heap_push(keys, idx, q, _exact_cosine(X, Y, q, t, inv_x[q], inv_y[t]), t)
        heap_sort_rows(keys, idx, q, q + 1)
