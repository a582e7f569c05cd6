"""Exact search that skips most distances: integer lower bounds, shared parts.

For a partition of the features into groups ``g`` with sums ``S_g``, the
triangle inequality gives, exactly in integers::

    sum_g |S_g(x) - S_g(y)|          <= sum_i |x_i - y_i|       (manhattan)
    sum_g (S_g(x) - S_g(y))**2 / m   <= sum_i (x_i - y_i)**2    (squared L2)

where ``m`` is the largest group size (Cauchy-Schwarz). The coarser the
groups, the cheaper and looser the bound. Each query visits the training rows
in order of their total sum (one group of all features), outward from its
own, in chunks; within a chunk every row gets the coarsest bound and only rows
whose bound does not exceed the current ``k``-th best key go on to the finer
bounds and, at last, to the exact distance, computed by the same SIMD tile and
key rule as the brute-force search. The walk stops on each side when the sum
bound alone exceeds the ``k``-th best key. No row whose key could enter the
heap is ever skipped (a bound equal to the threshold is not skipped), so the
results, ties included, are those of the brute-force search.

:mod:`._pruned_l1` walks manhattan searches on bytes (group means),
:mod:`._pruned_sql2` squared euclidean ones on group sums; this module has
what both use. Nothing here validates its input:
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
