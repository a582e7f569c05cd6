"""The blocked search loop, for every route.

A block of queries is compared with a chunk of training rows small enough to
stay in the L2 cache (the caller sizes both) before moving on to the next
chunk, so each chunk comes from memory once per query block instead of once
per query. Inside, :func:`~.._kernels._tiles.tile_4x4` compares 4 queries with 4
training rows at once: every byte loaded serves 4 pairs. Tiles at the edge of a
block repeat their last row (never reading past it) and ignore the repeated
results.

``tile`` and ``key`` (codes of :mod:`.._kernels._codes`) are compile-time literals:
numba compiles one specialisation of this loop per route, with the tile and
the key rule fixed, and caches each on disk.

:func:`search_rows` releases the GIL, so several Python threads run it at
once on their own blocks of queries (``fmnist.neighbors._plan.run_blocks``).
Nothing here validates its input: :mod:`fmnist.neighbors._search` checks what
memory safety depends on before a kernel is reached.
"""

from numba import literally

from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._jit import njit, per_route
from .._kernels._tiles import pair_key, tile_4x4, tile_offsets, tile_tail


@njit(nogil=True, inline="always")
def offer_four(key, values, pairs, heaps, q, j):
    """Offer the pairs of query ``q`` with training rows ``j`` to ``j + 3``
    (tile values ``values``, a 4-tuple) of a whole tile.

    Most tiles improve no heap: when all four keys are above the root, none
    can enter, and one test on four keys replaces four heap probes. A NaN key
    fails ``>`` and goes to the heap, which ranks it as it always does.
    """
    X, Y, aux_x, aux_y, _ = pairs
    keys, idx, _ = heaps
    k0 = pair_key(key, values[0], X, Y, q, j, aux_x, aux_y)
    k1 = pair_key(key, values[1], X, Y, q, j + 1, aux_x, aux_y)
    k2 = pair_key(key, values[2], X, Y, q, j + 2, aux_x, aux_y)
    k3 = pair_key(key, values[3], X, Y, q, j + 3, aux_x, aux_y)
    root = keys[q, 0]
    if k0 > root and k1 > root and k2 > root and k3 > root:
        return
    heap_push(keys, idx, q, k0, j)
    heap_push(keys, idx, q, k1, j + 1)
    heap_push(keys, idx, q, k2, j + 2)
    heap_push(keys, idx, q, k3, j + 3)


@njit(nogil=True)
def search_rows(tile, key, pairs, heaps, blocks):
    """Search the queries ``[blocks.start, blocks.stop)`` of ``pairs.X``
    against all rows of ``pairs.Y`` (a :class:`~.._kernels._codes.Pairs`).

    The rows of ``heaps`` (a :class:`~.._kernels._codes.Heaps`) hold
    initialised heaps (sentinels); they are updated in place and sorted at
    the end.
    """
    literally(tile)
    literally(key)
    X, Y, aux_x, aux_y, p = pairs
    keys, idx, exclude_self = heaps
    q_start, q_stop, q_block, t_block = blocks
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
                o = tile_offsets(tile, X, i, i1, i2, i3)
                for j in range(c0, c1, 4):
                    nc = min(4, c1 - j)
                    j1 = j + min(1, nc - 1)
                    j2 = j + min(2, nc - 1)
                    j3 = j + min(3, nc - 1)
                    v, done = tile_4x4(
                        tile, X, Y, i, i1, i2, i3, j, j1, j2, j3, p, aux_x, aux_y
                    )
                    if nr == 4 and nc == 4 and done == d and not exclude_self:
                        o0, o1, o2, o3 = o
                        v0 = (v[0] + o0, v[1] + o0, v[2] + o0, v[3] + o0)
                        v1 = (v[4] + o1, v[5] + o1, v[6] + o1, v[7] + o1)
                        v2 = (v[8] + o2, v[9] + o2, v[10] + o2, v[11] + o2)
                        v3 = (v[12] + o3, v[13] + o3, v[14] + o3, v[15] + o3)
                        offer_four(key, v0, pairs, heaps, i, j)
                        offer_four(key, v1, pairs, heaps, i + 1, j)
                        offer_four(key, v2, pairs, heaps, i + 2, j)
                        offer_four(key, v3, pairs, heaps, i + 3, j)
                        continue
                    for r in range(nr):
                        q = i + r
                        for c in range(nc):
                            t_row = j + c
                            if exclude_self and q == t_row:
                                continue
                            value = v[4 * r + c] + o[r]
                            if done < d:
                                value += tile_tail(tile, X, Y, q, t_row, done)
                            k = pair_key(key, value, X, Y, q, t_row, aux_x, aux_y)
                            heap_push(keys, idx, q, k, t_row)
    heap_sort_rows(keys, idx, q_start, q_stop)


@per_route
def entry_point(tile, key):
    """The search kernel of one route, compiled for it.

    A small cached function calling the driver with ``tile`` and ``key`` as
    compile-time constants, so a call from Python dispatches on the array
    types alone (no literal re-typing per call).
    """

    @njit(nogil=True)
    def search(pairs, heaps, blocks):
        search_rows(tile, key, pairs, heaps, blocks)

    return search
