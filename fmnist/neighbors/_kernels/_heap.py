"""Size-k max-heaps ordered by ``(key, training index)``, one per query row.

A candidate is rejected at the root in O(1) unless it is strictly smaller in
that lexicographic order, so among equal keys the lower training index is kept
whatever order the training rows are visited in. NaN keys rank as ``+inf``.

Integer keys (exact distances of integer rows) are compared as integers:
:func:`heap_push` is selected by the key's type, so that an integer key is
never turned into a float on its way to the heap (a conversion per pair
that, on AVX2 code, cost the euclidean search a third of its time).
"""

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import njit


def heap_push(keys, idx, row, key, j):
    """Offer ``(key, j)`` to the max-heap in row ``row``; reject at the root
    (compiled code only)."""
    raise NotImplementedError


@overload(heap_push, jit_options={"nogil": True})
def _heap_push(keys, idx, row, key, j):
    if isinstance(key, types.Integer):

        def push_integer(keys, idx, row, key, j):
            _push(keys, idx, row, key, j)

        return push_integer

    def push_float(keys, idx, row, key, j):
        if key != key:  # NaN ranks last, like +inf
            key = np.inf
        _push(keys, idx, row, key, j)

    return push_float


@njit(nogil=True)
def _push(keys, idx, row, key, j):
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


@njit(nogil=True)
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


@njit(nogil=True)
def heap_sort_rows(keys, idx, row_start, row_stop):
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
