"""The blocked search loop, serial and parallel, for every route.

A block of queries is compared with a chunk of training rows small enough to
stay in the L2 cache (the caller sizes both) before moving on to the next
chunk, so each chunk comes from memory once per query block instead of once
per query. Inside, :func:`~._tiles.tile_4x4` compares 4 queries with 4
training rows at once: every byte loaded serves 4 pairs. Tiles at the edge of a
block repeat their last row (never reading past it) and ignore the repeated
results.

``tile`` and ``key`` (codes of :mod:`._codes`) are compile-time literals:
numba compiles one specialisation of this loop per route, with the tile and
the key rule fixed, and caches each on disk.

:func:`search_rows` is serial and releases the GIL, so several Python threads
can run it at once; :func:`search_rows_parallel` spreads query blocks over
numba's threads with ``prange``, each iteration owning its output rows.
Nothing here validates its input: :mod:`fmnist.neighbors._search` checks what
memory safety depends on before a kernel is reached.
"""

import numba
from numba import literally

from ._heap import heap_push, heap_sort_rows
from ._jit import njit, per_route
from ._tiles import pair_key, tile_4x4, tile_offsets, tile_tail


@njit(nogil=True)
def search_rows(
    tile,
    key,
    X,
    Y,
    q_start,
    q_stop,
    exclude_self,
    p,
    aux_x,
    aux_y,
    keys,
    idx,
    q_block,
    t_block,
):
    """Search rows ``[q_start, q_stop)`` of ``X`` against all rows of ``Y``.

    ``keys``/``idx`` rows hold initialised heaps (sentinels); they are updated
    in place and sorted at the end. ``aux_x``/``aux_y`` are the per-row values
    the key rule needs (squared norms or norms), ``p`` the Minkowski power.
    """
    literally(tile)
    literally(key)
    n_train, d = Y.shape
    for b0 in range(q_start, q_stop, q_block):
        b1 = min(b0 + q_block, q_stop)
        for c0 in range(0, n_train, t_block):
            c1 = min(c0 + t_block, n_train)
            for i in range(b0, b1, 4):
                nr = min(4, b1 - i)
                i1 = i + min(1, nr - 1)
                i2 = i + min(2, nr - 1)
                i3 = i + min(3, nr - 1)
                offsets = tile_offsets(tile, X, i, i1, i2, i3)
                for j in range(c0, c1, 4):
                    nc = min(4, c1 - j)
                    j1 = j + min(1, nc - 1)
                    j2 = j + min(2, nc - 1)
                    j3 = j + min(3, nc - 1)
                    values, done = tile_4x4(
                        tile, X, Y, i, i1, i2, i3, j, j1, j2, j3, p, aux_x, aux_y
                    )
                    for r in range(nr):
                        q = i + r
                        for c in range(nc):
                            t_row = j + c
                            if exclude_self and q == t_row:
                                continue
                            v = values[4 * r + c] + offsets[r]
                            if done < d:
                                v += tile_tail(tile, X, Y, q, t_row, done)
                            heap_push(
                                keys,
                                idx,
                                q,
                                pair_key(key, v, X, Y, q, t_row, aux_x, aux_y),
                                t_row,
                            )
    heap_sort_rows(keys, idx, q_start, q_stop)


@njit(nogil=True, parallel=True)
def search_rows_parallel(
    tile, key, X, Y, exclude_self, p, aux_x, aux_y, keys, idx, q_block, t_block
):
    """Run :func:`search_rows` over query blocks in parallel (``prange``)."""
    literally(tile)
    literally(key)
    n_q = X.shape[0]
    n_blocks = (n_q + q_block - 1) // q_block
    for b in numba.prange(n_blocks):
        b0 = b * q_block
        b1 = min(b0 + q_block, n_q)
        search_rows(
            tile,
            key,
            X,
            Y,
            b0,
            b1,
            exclude_self,
            p,
            aux_x,
            aux_y,
            keys,
            idx,
            q_block,
            t_block,
        )


@per_route
def entry_points(tile, key):
    """``(serial, parallel)`` kernels of one route, compiled for it.

    Each is a small cached function calling the driver with ``tile`` and
    ``key`` as compile-time constants, so a call from Python dispatches on
    the array types alone (no literal re-typing per call).
    """

    @njit(nogil=True)
    def serial(
        X,
        Y,
        q_start,
        q_stop,
        exclude_self,
        p,
        aux_x,
        aux_y,
        keys,
        idx,
        q_block,
        t_block,
    ):
        search_rows(
            tile, key, X, Y, q_start, q_stop, exclude_self, p, aux_x, aux_y,
            keys, idx, q_block, t_block,
        )  # fmt: skip

    @njit(nogil=True)
    def parallel(X, Y, exclude_self, p, aux_x, aux_y, keys, idx, q_block, t_block):
        search_rows_parallel(
            tile, key, X, Y, exclude_self, p, aux_x, aux_y, keys, idx, q_block, t_block
        )

    return serial, parallel
