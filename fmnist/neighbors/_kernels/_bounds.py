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

:mod:`._pruned_l1` walks manhattan searches on group means (bytes),
:mod:`._pruned_l2` euclidean ones on projections (float32, with a margin);
this module has what both use. Nothing here validates its input:
:mod:`fmnist.neighbors._pruning` checks what memory safety depends on before
a kernel is reached.
"""

import numpy as np

from ._jit import njit

#: Training rows per chunk of the walk.
CHUNK_ROWS = 512
#: How many survivors ahead their bound rows are prefetched.
AHEAD = 8


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
