"""Compile-time codes of the sparse search and the records its kernels read.

Plain integers and named tuples, importable without numba: the metric
registry names a sparse route ``(family, key)`` with them, and the kernels
receive both as literal constants, so numba compiles one loop per route.
"""

from typing import NamedTuple

# Families: what a shared column (nonzero in both rows) adds to a pair's value.
FAMILY_DOT = 0  # x_j * y_j: the dot product
FAMILY_L1 = 1  # |x_j - y_j| - |x_j| - |y_j|: the correction of |x|_1 + |y|_1

# Keys: how the heap key of a pair is made from its value and the rows' norms.
KEY_SQL2 = 0  # |x|^2 + |y|^2 - 2 x.y (exact for integers, at least 0 for floats)
KEY_COSINE = 1  # 1 - x.y / (|x| |y|), 1 for a zero row (integers: exactly 0
# when the rows point the same way)
KEY_L1 = 2  # |x|_1 + |y|_1 + the shared columns' corrections


class Compressed(NamedTuple):
    """A compressed sparse matrix as three arrays: rows (CSR) or columns
    (CSC), ``indptr`` int64, ``indices`` int32, ``data`` int32 or float64."""

    indptr: object
    indices: object
    data: object


class SparsePairs(NamedTuple):
    """What every pair of a sparse search reads: the queries (CSR), the
    training rows by column (CSC), and the per-row values of the key rule:
    ``norms_*`` (squared norms, or the l1 norms of ``KEY_L1``) and
    ``inv_*`` (inverse norms for ``KEY_COSINE``, empty otherwise)."""

    queries: object
    columns: object
    norms_x: object
    norms_y: object
    inv_x: object
    inv_y: object
