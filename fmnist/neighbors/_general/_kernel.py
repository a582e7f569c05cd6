"""The blocked generic search: any per-pair distance, compiled into the loop.

:func:`search_rows` compares a block of queries with a chunk of training rows
at a time, as the tiled driver does, calling a jitted ``distance(x, y,
args)`` (:mod:`._distances`, or a wrapped user function) on each pair and
offering the key to the query's heap (:mod:`.._kernels._heap`). Both blocks
are first copied into float64 buffers, so that every distance reads
contiguous float64 rows whatever the stored dtype, and reads them from the
cache. The kernel releases the GIL; Python threads run it on their own query
blocks (:func:`~.._plan.run_blocks`). Memory is O(queries x k) plus the two
buffers. Nothing here validates its input: :func:`._search.search` checks
shapes and parameters first.

Kernels that take a function argument miss numba's on-disk cache, so this
one is compiled once per process and per distance (and dtypes).
"""

from typing import NamedTuple

import numba
import numpy as np

from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._jit import njit
from ._params import Arguments

__all__ = ["Rows", "offer_block", "search_rows", "user_pair_distance"]


class Rows(NamedTuple):
    """The queries ``X``, training rows ``Y`` and the distance's
    :class:`~._distances.Arguments` of one search."""

    X: object
    Y: object
    args: object


@numba.njit(nogil=True)
def search_rows(distance, prepare, rows, heaps, blocks):
    """Search queries ``[blocks.start, blocks.stop)`` of ``rows.X`` against
    every row of ``rows.Y`` with ``distance`` (on rows first given to
    ``prepare``); fill and sort their heaps (a
    :class:`~.._kernels._codes.Heaps`)."""
    X, Y, shared = rows
    keys, idx, exclude_self = heaps
    q_start, q_stop, q_block, t_block = blocks
    n_train, d = Y.shape
    scratch = np.empty(d, dtype=np.float64)  # this call's own
    args = Arguments(shared.vector, shared.matrix, shared.p, scratch)
    xs = np.empty((min(q_block, q_stop - q_start), d), dtype=np.float64)
    ys = np.empty((min(t_block, n_train), d), dtype=np.float64)
    for b0 in range(q_start, q_stop, q_block):
        b1 = min(b0 + q_block, q_stop)
        for i in range(b0, b1):
            for f in range(d):
                xs[i - b0, f] = X[i, f]
            prepare(xs[i - b0])
        for c0 in range(0, n_train, t_block):
            c1 = min(c0 + t_block, n_train)
            for j in range(c0, c1):
                for f in range(d):
                    ys[j - c0, f] = Y[j, f]
                prepare(ys[j - c0])
            for i in range(b0, b1):
                x = xs[i - b0]
                for j in range(c0, c1):
                    if exclude_self and i == j:
                        continue
                    heap_push(keys, idx, i, distance(x, ys[j - c0], args), j)
    heap_sort_rows(keys, idx, q_start, q_stop)
    _restore_nan(distance, prepare, rows, heaps, q_start, q_stop)


@numba.njit(nogil=True)
def _restore_nan(distance, prepare, rows, heaps, q_start, q_stop):
    """The heaps rank a NaN distance as +inf; give the NaN back to the
    neighbours at +inf whose distance is NaN (as scikit-learn returns it)."""
    X, Y, shared = rows
    keys, idx, _ = heaps
    d = Y.shape[1]
    args = Arguments(shared.vector, shared.matrix, shared.p, np.empty(d))
    x = np.empty(d, dtype=np.float64)
    y = np.empty(d, dtype=np.float64)
    for i in range(q_start, q_stop):
        for s in range(keys.shape[1]):
            if keys[i, s] != np.inf or idx[i, s] >= Y.shape[0]:
                continue
            for f in range(d):
                x[f] = X[i, f]
                y[f] = Y[idx[i, s], f]
            prepare(x)
            prepare(y)
            value = distance(x, y, args)
            if value != value:
                keys[i, s] = np.nan


@njit(nogil=True)
def offer_block(D, row0, col0, heaps):
    """Offer the distances ``D`` of queries ``row0 + r`` and training rows
    ``col0 + c`` to the heaps (for distances computed outside numba)."""
    keys, idx, exclude_self = heaps
    for r in range(D.shape[0]):
        for c in range(D.shape[1]):
            if exclude_self and row0 + r == col0 + c:
                continue
            heap_push(keys, idx, row0 + r, D[r, c], col0 + c)


_USER_PAIRS = {}


def user_pair_distance(function):
    """``distance(x, y, args)`` calling the numba-compiled ``function(x,
    y)``, made once per function."""
    pair = _USER_PAIRS.get(function)
    if pair is None:

        @numba.njit(nogil=True)
        def pair(x, y, args):
            return float(function(x, y))

        _USER_PAIRS[function] = pair
    return pair
