"""Brute force within a radius: every pair whose key is at most a limit.

The loop nest of :func:`._driver.search_rows` (query blocks, training chunks
in the L2 cache, 4 x 4 tiles, the same tile and key rule per route as
compile-time constants, so the same keys bit for bit), with the heap offer
replaced by a test against ``limit``, a key in the route's key dtype. The
pairs that pass are appended, in the order found, to buffers that double
when full; at the end they are grouped by query, each query's in ascending
training index. Memory is the result of the block and nothing more.

:func:`radius_block` releases the GIL, so several Python threads run it on
their own blocks of queries (``fmnist.neighbors._plan.run_blocks``). Nothing
here validates its input: :mod:`fmnist.neighbors._radius` checks what memory
safety depends on before a kernel is reached.
"""

import numpy as np
from numba import literally

from .._kernels._cosine import _exact_cosine
from .._kernels._jit import njit, per_route
from .._kernels._tiles import pair_key, tile_4x4, tile_offsets, tile_tail

#: Pairs a block's buffers hold at first, per query.
INITIAL_PAIRS_PER_QUERY = 16


@njit(nogil=True)
def _grown(buffer, n):
    """A buffer twice the size of ``buffer`` holding its first ``n`` items."""
    larger = np.empty(2 * buffer.shape[0], dtype=buffer.dtype)
    larger[:n] = buffer[:n]
    return larger


@njit(nogil=True)
def _group_by_query(q_start, n_queries, queries, keys, rows, n):
    """``(offsets, keys, rows)``: the ``n`` pairs grouped by query (a stable
    counting sort, so each query keeps its pairs in the order found),
    query ``q_start + r`` owning ``[offsets[r], offsets[r + 1])``."""
    offsets = np.zeros(n_queries + 1, dtype=np.intp)
    for s in range(n):
        offsets[queries[s] - q_start + 1] += 1
    for r in range(n_queries):
        offsets[r + 1] += offsets[r]
    fill = offsets[:-1].copy()
    out_keys = np.empty(n, dtype=keys.dtype)
    out_rows = np.empty(n, dtype=np.intp)
    for s in range(n):
        r = queries[s] - q_start
        out_keys[fill[r]] = keys[s]
        out_rows[fill[r]] = rows[s]
        fill[r] += 1
    return offsets, out_keys, out_rows


@njit(nogil=True, inline="always")
def _count_within(key, values, pairs, limit, q, j):
    """How many of the pairs of query ``q`` with training rows ``j`` to
    ``j + 3`` (tile values ``values``, a 4-tuple) have a key at most
    ``limit``: most whole tiles have none, and one test on the count of
    sixteen keys then replaces sixteen branches."""
    X, Y, aux_x, aux_y, _ = pairs
    k0 = pair_key(key, values[0], X, Y, q, j, aux_x, aux_y)
    k1 = pair_key(key, values[1], X, Y, q, j + 1, aux_x, aux_y)
    k2 = pair_key(key, values[2], X, Y, q, j + 2, aux_x, aux_y)
    k3 = pair_key(key, values[3], X, Y, q, j + 3, aux_x, aux_y)
    return (
        np.int64(k0 <= limit)
        + np.int64(k1 <= limit)
        + np.int64(k2 <= limit)
        + np.int64(k3 <= limit)
    )


@njit(nogil=True)
def radius_block(tile, key, pairs, limit, exclude_self, blocks):
    """The pairs of the queries ``[blocks.start, blocks.stop)`` of
    ``pairs.X`` (a :class:`~.._kernels._codes.Pairs`) with every row of
    ``pairs.Y`` whose key is at most ``limit``.

    Returns ``(offsets, keys, rows)`` as :func:`_group_by_query` does; each
    query's training rows ascend. ``exclude_self``: ``X`` is ``Y`` and query
    ``q`` leaves out training row ``q``. A NaN key is never at most
    ``limit``.
    """
    literally(tile)
    literally(key)
    X, Y, aux_x, aux_y, p = pairs
    q_start, q_stop, q_block, t_block = blocks
    n_train, d = Y.shape
    capacity = max(64, INITIAL_PAIRS_PER_QUERY * (q_stop - q_start))
    found_queries = np.empty(capacity, dtype=np.intp)
    found_rows = np.empty(capacity, dtype=np.intp)
    found_keys = np.full(capacity, limit)  # the key dtype
    n = 0
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
                    if nr == 4 and nc == 4 and done == d:
                        o0, o1, o2, o3 = o
                        v0 = (v[0] + o0, v[1] + o0, v[2] + o0, v[3] + o0)
                        v1 = (v[4] + o1, v[5] + o1, v[6] + o1, v[7] + o1)
                        v2 = (v[8] + o2, v[9] + o2, v[10] + o2, v[11] + o2)
                        v3 = (v[12] + o3, v[13] + o3, v[14] + o3, v[15] + o3)
                        within = _count_within(key, v0, pairs, limit, i, j)
                        within += _count_within(key, v1, pairs, limit, i + 1, j)
                        within += _count_within(key, v2, pairs, limit, i + 2, j)
                        within += _count_within(key, v3, pairs, limit, i + 3, j)
                        if within == 0:
                            continue
                    # Tiles at the edge of a block repeat their last row:
                    # only the first nr x nc values are pairs.
                    for r in range(nr):
                        q = i + r
                        for c in range(nc):
                            t_row = j + c
                            value = v[4 * r + c] + o[r]
                            if done < d:
                                value += tile_tail(tile, X, Y, q, t_row, done)
                            k = pair_key(key, value, X, Y, q, t_row, aux_x, aux_y)
                            if not k <= limit or (exclude_self and q == t_row):
                                continue
                            if n == found_rows.shape[0]:
                                found_queries = _grown(found_queries, n)
                                found_rows = _grown(found_rows, n)
                                found_keys = _grown(found_keys, n)
                            found_queries[n] = q
                            found_rows[n] = t_row
                            found_keys[n] = k
                            n += 1
    return _group_by_query(
        q_start, q_stop - q_start, found_queries, found_keys, found_rows, n
    )


@njit(nogil=True)
def settle_cosine(X, Y, q_start, offsets, keys, rows, inv_x, inv_y):
    """Replace the key 0 of every integer cosine pair that may be parallel
    (``KEY_COSINE_INT``) by its exact cosine distance (0 only for rows that
    point the same way), as :mod:`.._kernels._cosine` settles a kNN result."""
    for r in range(offsets.shape[0] - 1):
        q = q_start + r
        for s in range(offsets[r], offsets[r + 1]):
            if keys[s] == 0.0:
                t = rows[s]
                keys[s] = _exact_cosine(X, Y, q, t, inv_x[q], inv_y[t])


@per_route
def entry_point(tile, key):
    """The radius kernel of one route, compiled for it (see
    :func:`._driver.entry_point`).

    Unlike the kNN entry points it returns arrays, whose boxing reads its
    compiled environment, found by the function's name: each route gets its
    own name, or two routes compiled in different processes (the same
    closure name and number) and loaded from the cache into one would share
    one environment and fail to box their results.
    """

    def search(pairs, limit, exclude_self, blocks):
        return radius_block(tile, key, pairs, limit, exclude_self, blocks)

    search.__name__ = search.__qualname__ = f"radius_search_tile{tile}_key{key}"
    return njit(nogil=True)(search)
