"""The sparse search loop in numba, one compiled specialisation per route.

For each query row, the training rows are reached through their columns
(an inverted index, CSC): each nonzero ``x_j`` of the query visits only the
training rows with a nonzero in column ``j`` and adds the family's term to
their value in a dense accumulator of one value per training row. A pass
over the accumulator then turns every training row's value into its key
(with the rows' norms), offers it to the query's heap and clears it. The
work per query is the number of shared nonzeros plus one step per training
row; memory is the accumulator and the heaps, never a distance matrix.

Integer rows (int32) accumulate in int64, exactly; float rows in float64.
``family`` and ``key`` (codes of :mod:`._codes`) are compile-time literals.
Nothing here validates its input: :mod:`._rows` builds every array a kernel
reads, checked.
"""

import numpy as np
from numba import literally, types
from numba.extending import overload

from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._jit import njit, per_route
from .._kernels._tiles import NEAR_PARALLEL, _wide_product
from ._codes import FAMILY_DOT, FAMILY_L1, KEY_COSINE, KEY_L1, KEY_SQL2

_SMALLEST = np.nextafter(0.0, 1.0)


def _literal(code):
    return code.literal_value if isinstance(code, types.IntegerLiteral) else None


def shared_term(family, x, y):
    """The family's term of one column shared by both rows (compiled code
    only)."""
    raise NotImplementedError


@overload(shared_term, inline="always", jit_options={"nogil": True})
def _shared_term(family, x, y):
    code = _literal(family)
    if isinstance(x, types.Integer) and isinstance(y, types.Integer):
        wide = np.int64
    else:
        wide = np.float64
    if code == FAMILY_DOT:

        def dot(family, x, y):
            return wide(x) * wide(y)

        return dot
    if code == FAMILY_L1:

        def l1(family, x, y):
            a = wide(x)
            b = wide(y)
            return abs(a - b) - abs(a) - abs(b)

        return l1
    return None


def pair_key(key, value, pairs, q, t):
    """The heap key of query ``q`` and training row ``t`` from their
    accumulated value (compiled code only)."""
    raise NotImplementedError


@overload(pair_key, inline="always", jit_options={"nogil": True})
def _pair_key(key, value, pairs, q, t):
    code = _literal(key)
    integer = isinstance(value, types.Integer)
    if code == KEY_SQL2:
        if integer:

            def sql2_exact(key, value, pairs, q, t):
                return pairs.norms_x[q] + pairs.norms_y[t] - 2 * value

            return sql2_exact

        def sql2(key, value, pairs, q, t):
            return max(pairs.norms_x[q] + pairs.norms_y[t] - 2.0 * value, 0.0)

        return sql2
    if code == KEY_L1:
        if integer:

            def l1_exact(key, value, pairs, q, t):
                return pairs.norms_x[q] + pairs.norms_y[t] + value

            return l1_exact

        def l1(key, value, pairs, q, t):
            return max(pairs.norms_x[q] + pairs.norms_y[t] + value, 0.0)

        return l1
    if code == KEY_COSINE:
        if integer:
            return _cosine_exact

        def cosine(key, value, pairs, q, t):
            inv = pairs.inv_x[q] * pairs.inv_y[t]
            if inv == 0.0:
                return 1.0
            return min(max(1.0 - value * inv, 0.0), 2.0)

        return cosine
    return None


def _cosine_exact(key, value, pairs, q, t):
    # The dense search's integer cosine, from the exact dot: 1 for a zero
    # row, exactly 0 when the rows point the same way (dot**2 equal to the
    # product of the squared norms, in 128 bits), else at least the smallest
    # positive double below NEAR_PARALLEL.
    inv_x = pairs.inv_x[q]
    inv_y = pairs.inv_y[t]
    if inv_x == 0.0 or inv_y == 0.0:
        return 1.0
    c = 1.0 - np.float64(value) * (inv_x * inv_y)
    if c < NEAR_PARALLEL:
        if value > 0 and _wide_product(value, value) == _wide_product(
            pairs.norms_x[q], pairs.norms_y[t]
        ):
            return 0.0
        return max(c, _SMALLEST)
    return min(c, 2.0)


@njit(nogil=True)
def search_rows(family, key, pairs, heaps, acc, start, stop):
    """Fill and sort the heaps of queries ``[start, stop)``.

    ``pairs`` is a :class:`~._codes.SparsePairs`, ``heaps`` a
    :class:`~.._kernels._codes.Heaps` of initialised heaps, ``acc`` a zeroed
    accumulator of one value per training row (left zeroed).
    """
    literally(family)
    literally(key)
    q_ptr, q_ind, q_val = pairs.queries
    c_ptr, c_rows, c_val = pairs.columns
    keys, idx, exclude_self = heaps
    n_train = acc.shape[0]
    for q in range(start, stop):
        for a in range(q_ptr[q], q_ptr[q + 1]):
            column = q_ind[a]
            x = q_val[a]
            for b in range(c_ptr[column], c_ptr[column + 1]):
                acc[c_rows[b]] += shared_term(family, x, c_val[b])
        for t in range(n_train):
            value = acc[t]
            acc[t] = 0
            if exclude_self and t == q:
                continue
            heap_push(keys, idx, q, pair_key(key, value, pairs, q, t), t)
    heap_sort_rows(keys, idx, start, stop)


@per_route
def entry_point(family, key):
    """The sparse search kernel of one route, compiled for it."""

    @njit(nogil=True)
    def search(pairs, heaps, acc, start, stop):
        search_rows(family, key, pairs, heaps, acc, start, stop)

    return search


@njit(nogil=True)
def row_norms(indptr, data, sqnorms, l1norms):
    """Squared and l1 norms of CSR rows: int64 for int32 values (exact),
    float64 for float64 values."""
    for i in range(indptr.shape[0] - 1):
        sq = 0
        l1 = 0
        for a in range(indptr[i], indptr[i + 1]):
            v = data[a]
            sq += v * v
            l1 += abs(v)
        sqnorms[i] = sq
        l1norms[i] = l1
