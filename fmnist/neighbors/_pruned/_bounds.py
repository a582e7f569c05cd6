"""Exact search that skips most distances: what the pruned searches share.

A pruned search keeps the training rows sorted by one cheap lower bound (the
row sum for manhattan, the projection on the leading direction for
euclidean), visits them outward from the query's own value, in chunks, and
stops on each side when that bound alone exceeds the current ``k``-th best
key. Within a chunk every row gets a coarse bound, and only rows whose bound
does not exceed the ``k``-th best key go on to a finer bound and, at last, to
the exact distance, computed by the same SIMD tile and key rule as the
brute-force search. No row whose key could enter the heap is ever skipped (a
bound equal to the threshold is not skipped), so the results, ties included,
are those of the brute-force search.

:mod:`._walk_l1` walks manhattan searches on group means (bytes),
:mod:`._walk_l2` euclidean and cosine ones on projections (int16
tables, with margins for their rounding);
this module has what both use. Nothing here validates its input:
:mod:`._dispatch` checks what memory safety depends on before
a kernel is reached.
"""

import numpy as np
from llvmlite import ir
from numba import literally, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._kernels._jit import njit
from .._kernels._simd import _row_pointers
from .._kernels._tiles import tile_1x4, tile_tail
from ._coarse import lowest_bit


@intrinsic
def prefetch_row(typingctx, A, row, n_bytes):
    """Hint the CPU to fetch the first ``n_bytes`` of row ``row`` of the 2-D
    array ``A`` into the cache (``llvm.prefetch``; no effect on results, and
    a hint never faults, whatever the address)."""
    sig = types.void(A, row, n_bytes)

    def codegen(context, builder, sig, args):
        (ptr,) = _row_pointers(context, builder, sig.args[0], args[0], [args[1]])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        lines = builder.udiv(
            builder.add(args[2], ir.Constant(args[2].type, 63)),
            ir.Constant(args[2].type, 64),
        )
        with cgutils.for_range(builder, lines) as loop:
            offset = builder.mul(loop.index, ir.Constant(loop.index.type, 64))
            builder.call(
                fn,
                [
                    builder.gep(ptr, [offset]),
                    ir.Constant(i32, 0),
                    ir.Constant(i32, 3),
                    ir.Constant(i32, 1),
                ],
            )
        return context.get_dummy_value()

    return sig, codegen


#: Training rows per chunk of the walk.
CHUNK_ROWS = 512
#: How many survivors ahead their bound rows are prefetched.
AHEAD = 8


@njit(nogil=True, inline="always")
def four_rows(rows, v, n_rows):
    """``rows[v:v + 4]`` of ``rows[:n_rows]``, the last row repeated past
    its end, so that a tile of four rows reads only rows that exist.
    Inlined, as :func:`prefetch_rows` is: as calls, they made the pruned
    euclidean search 5-10% slower."""
    last = n_rows - 1
    j1, j2, j3 = rows[min(v + 1, last)], rows[min(v + 2, last)], rows[min(v + 3, last)]
    return rows[v], j1, j2, j3


@njit(nogil=True, inline="always")
def prefetch_rows(T, rows, start, stop, n_rows, width):
    """Prefetch the first ``width`` bytes of the rows ``rows[start:stop]`` of
    table ``T`` that are among ``rows[:n_rows]``."""
    for v in range(start, min(stop, n_rows)):
        prefetch_row(T, rows[v], width)


@njit(nogil=True, inline="always")
def four_values(tile, X, Y, q, at, aux, ahead):
    """The tile values of row ``q`` of X against the rows ``rows[v:v + 4]``
    of Y, ``at`` being ``(rows, v, n_rows)`` (of ``rows[:n_rows]``, the last
    one repeated past the end; tails added), with the per-row values ``aux``
    (``(aux_x, aux_y)``): the loop step of every stage that visits rows four
    at a time. It prefetches the first ``Y.shape[1]`` bytes of the rows
    ``ahead`` positions on (for float rows the hardware streams the rest),
    and at ``v == 0`` the first ``ahead`` rows."""
    rows, v, n_rows = at
    aux_x, aux_y = aux
    width = Y.shape[1]
    if v == 0:
        prefetch_rows(Y, rows, 0, ahead, n_rows, width)
    prefetch_rows(Y, rows, v + ahead, v + ahead + 4, n_rows, width)
    j0, j1, j2, j3 = four_rows(rows, v, n_rows)
    values, done = tile_1x4(tile, X, Y, q, j0, j1, j2, j3, aux_x, aux_y)
    v0, v1, v2, v3 = values
    if done < width:
        v0 += _tail(tile, X, Y, q, j0, done)
        v1 += _tail(tile, X, Y, q, j1, done)
        v2 += _tail(tile, X, Y, q, j2, done)
        v3 += _tail(tile, X, Y, q, j3, done)
    return v0, v1, v2, v3


@njit(nogil=True)
def _tail(tile, X, Y, q, j, done):
    """:func:`.._kernels._tiles.tile_tail` as a function of its own: its overload
    inlined several times into one function upsets numba's IR checks."""
    literally(tile)
    return tile_tail(tile, X, Y, q, j, done)


@njit(nogil=True)
def group_sums(A, group_of, out):
    """``out[i, group_of[f]] += A[i, f]`` for every row (``out`` zeroed)."""
    for i in range(A.shape[0]):
        row = out[i]
        for f in range(A.shape[1]):
            row[group_of[f]] += A[i, f]


@njit(nogil=True)
def row_sums(A, out):
    """Sum of each row of ``A`` (int64)."""
    for i in range(A.shape[0]):
        s = np.int64(0)
        for f in range(A.shape[1]):
            s += A[i, f]
        out[i] = s


#: A limit that rules nothing out.
NO_LIMIT = np.iinfo(np.int64).max
#: A query's heap is seeded with the rows of the lowest bins of a histogram of
#: coarse bounds that together hold at least this many rows ...
SEED_ROWS = 32
#: ... but no more than this many (when many bounds are equal), ...
MAX_SEEDS = 4 * SEED_ROWS
#: ... in a histogram of this many bins.
SEED_BINS = 256


@njit(nogil=True)
def seed_cut(histogram):
    """The last bin of the seeds: the lowest bins of ``histogram`` (counts
    of rows per bin) that together hold at least :data:`SEED_ROWS` rows."""
    last = histogram.shape[0] - 1
    cut = 0
    total = histogram[0]
    while total < SEED_ROWS and cut < last:
        cut += 1
        total += histogram[cut]
    return cut


@njit(nogil=True)
def take_mask(mask, start, order, excluded, visit, n_visit):
    """Append the sorted positions ``start + r`` of the set bits ``r`` of a
    uint64 ``mask`` (but not the query itself, ``excluded``) to
    ``visit[:n_visit]``; returns the new count."""
    while mask:
        j = start + lowest_bit(mask)
        visit[n_visit] = j
        n_visit += order[j] != excluded
        mask &= mask - np.uint64(1)
    return n_visit
