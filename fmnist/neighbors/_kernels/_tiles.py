"""4 x 4 register tiles and the key of each pair, chosen at compile time.

:func:`tile_4x4` compares 4 query rows with 4 training rows and returns the
16 accumulated values followed by the number of leading features it covered;
:func:`tile_tail` adds the features a SIMD tile left out for one pair;
:func:`pair_key` turns one pair's value into its heap key. Each is a numba
``overload`` selected by a literal code from :mod:`._codes`, so the blocked
driver is compiled once per route with its tile and key rule fixed.

uint8 pairs run the SIMD tiles of :mod:`._simd`. Squared and manhattan
distances of float rows (euclidean, cosine as the chord of unit rows,
manhattan) run the tiles of :mod:`._float_tiles` over the lane sums of
:mod:`._lanes`: float64 sums in one fixed order, so a pair's value is the
same bits in every tile, in the pruned search and on every target. Every
other pair runs a tile in plain numba: sixteen scalar accumulators updated in
one loop over the features, which LLVM vectorises along the features
(``fastmath`` reassociation only, never on comparisons with the heaps'
sentinels), so every pair is reduced in the same order wherever it sits in a
tile or block. Accumulators are int64 when both sides are integers (exact)
and float64 otherwise.

Cosine is exact where it can be: for integer rows the dot product is an exact
integer; pairs that may point the same way get key 0 here and are settled
exactly afterwards (:mod:`._cosine`): 0 for rows pointing the same way, at
least the smallest positive double for every other pair. Floating rows are
compared as ``|x/|x| - y/|y||^2 / 2``, which is exactly 0 for equal rows and
for rows that differ by a power of two, and does not cancel near 0. An
all-zero row is at distance 1 from everything, as in
:func:`sklearn.metrics.pairwise.cosine_distances`.
"""

import numpy as np
from numba import types
from numba.extending import overload

from ._codes import (
    KEY_CHORD,
    KEY_COSINE_INT,
    KEY_RAW,
    KEY_SQL2_FROM_DOT,
    TILE_DOT,
    TILE_DOT_U8,
    TILE_DOT_U8_WIDE,
    TILE_L1,
    TILE_LINF,
    TILE_LP,
    TILE_SAD_U8,
    TILE_SQL2,
)
from ._float_tiles import lane_kind, lane_row_tile, lane_tile
from ._jit import njit
from ._simd import (
    dot_plan,
    dot_tile_1x4,
    dot_tile_4x4,
    sad_tile_1x4,
    sad_tile_4x4,
    wide_dot_tile_4x4,
)

_ARITH = {"reassoc", "contract"}
_SMALLEST = np.nextafter(0.0, 1.0)


def tile_4x4(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
    """``(values, done)``: the 16 values of rows ``i*`` of X against rows
    ``j*`` of Y over their first ``done`` features (compiled code only)."""
    raise NotImplementedError


def tile_1x4(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
    """``(values, done)``: 4 values of row ``i`` of X against rows ``j*`` of
    Y, for the uint8 SIMD tiles and the float lane-sum tiles (compiled code
    only; ``aux_*`` are the rows' norms for ``TILE_CHORD``, unused by the
    others)."""
    raise NotImplementedError


def tile_tail(tile, X, Y, i, j, start):
    """The features ``[start, n)`` a tile left out, for one pair."""
    raise NotImplementedError


def tile_offsets(tile, X, i0, i1, i2, i3):
    """Per-query constants the tile's values need added (the VNNI bias)."""
    raise NotImplementedError


def pair_key(key, value, X, Y, q, t, aux_x, aux_y):
    """The heap key of pair ``(q, t)`` from its tile value."""
    raise NotImplementedError


def _literal(code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    return code.literal_value


def _is_integer(array_type):
    return isinstance(array_type.dtype, types.Integer)


# ----------------------------------------------------------------------------
# plain tiles


@njit(fastmath=_ARITH, nogil=True)
def _op_l1(a, b, p):
    return abs(a - b)


@njit(fastmath=_ARITH, nogil=True)
def _op_sql2(a, b, p):
    d = a - b
    return d * d


@njit(fastmath=_ARITH, nogil=True)
def _op_dot(a, b, p):
    return a * b


@njit(fastmath=_ARITH, nogil=True)
def _op_pow(a, b, p):
    return abs(a - b) ** p


@njit(fastmath=_ARITH, nogil=True)
def _add(s, v):
    return s + v


@njit(nogil=True)
def _max(s, v):
    return v if v > s else s


@njit(nogil=True)
def _load_int(v):
    return np.int64(v)


@njit(nogil=True)
def _load_float(v):
    return np.float64(v)


def _plain_tile(op, combine, integer):
    """A plain tile: ``combine(s, op(a, b, p))`` over the features, with int64
    accumulators for ``integer`` pairs and float64 otherwise."""
    load = _load_int if integer else _load_float
    zero = np.int64(0) if integer else np.float64(0.0)

    def impl(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
        s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
        s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
        for t in range(X.shape[1]):
            a0 = load(X[i0, t])
            a1 = load(X[i1, t])
            a2 = load(X[i2, t])
            a3 = load(X[i3, t])
            b0 = load(Y[j0, t])
            b1 = load(Y[j1, t])
            b2 = load(Y[j2, t])
            b3 = load(Y[j3, t])
            s00 = combine(s00, op(a0, b0, p))
            s01 = combine(s01, op(a0, b1, p))
            s02 = combine(s02, op(a0, b2, p))
            s03 = combine(s03, op(a0, b3, p))
            s10 = combine(s10, op(a1, b0, p))
            s11 = combine(s11, op(a1, b1, p))
            s12 = combine(s12, op(a1, b2, p))
            s13 = combine(s13, op(a1, b3, p))
            s20 = combine(s20, op(a2, b0, p))
            s21 = combine(s21, op(a2, b1, p))
            s22 = combine(s22, op(a2, b2, p))
            s23 = combine(s23, op(a2, b3, p))
            s30 = combine(s30, op(a3, b0, p))
            s31 = combine(s31, op(a3, b1, p))
            s32 = combine(s32, op(a3, b2, p))
            s33 = combine(s33, op(a3, b3, p))
        row0 = (s00, s01, s02, s03)
        row1 = (s10, s11, s12, s13)
        row2 = (s20, s21, s22, s23)
        row3 = (s30, s31, s32, s33)
        return row0 + row1 + row2 + row3, np.int64(X.shape[1])

    return impl


def _simd_tile(intrinsic):
    def impl(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
        result = intrinsic(X, Y, i0, i1, i2, i3, j0, j1, j2, j3, X.shape[1])
        return result[0:16], result[16]

    return impl


@overload(tile_4x4, inline="always", jit_options={"fastmath": _ARITH, "nogil": True})
def _tile_4x4(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
    code = _literal(tile)
    if code == TILE_SAD_U8:
        return _simd_tile(sad_tile_4x4)
    if code == TILE_DOT_U8:
        return _simd_tile(dot_tile_4x4)
    if code == TILE_DOT_U8_WIDE:
        return _simd_tile(wide_dot_tile_4x4)
    kind = lane_kind(code, not (_is_integer(X) and _is_integer(Y)))
    if kind is not None:
        return lane_tile(kind)
    integer = _is_integer(X) and _is_integer(Y)
    if code == TILE_L1:
        return _plain_tile(_op_l1, _add, integer)
    if code == TILE_SQL2:
        return _plain_tile(_op_sql2, _add, integer)
    if code == TILE_DOT:
        return _plain_tile(_op_dot, _add, integer)
    if code == TILE_LINF:
        return _plain_tile(_op_l1, _max, integer)
    if code == TILE_LP:
        return _plain_tile(_op_pow, _add, False)
    return None


@overload(tile_1x4, inline="always", jit_options={"nogil": True})
def _tile_1x4(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
    code = _literal(tile)
    kind = lane_kind(code, not (_is_integer(X) and _is_integer(Y)))
    if kind is not None:
        return lane_row_tile(kind)
    intrinsic = {TILE_SAD_U8: sad_tile_1x4, TILE_DOT_U8: dot_tile_1x4}.get(code)
    if intrinsic is None:
        return None

    def impl(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
        result = intrinsic(X, Y, i, j0, j1, j2, j3, X.shape[1])
        return result[0:4], result[4]

    return impl


@overload(tile_tail, inline="always", jit_options={"nogil": True})
def _tile_tail(tile, X, Y, i, j, start):
    code = _literal(tile)
    if code in (TILE_SAD_U8, TILE_DOT_U8, TILE_DOT_U8_WIDE):
        op = _op_l1 if code == TILE_SAD_U8 else _op_dot

        def simd_tail(tile, X, Y, i, j, start):
            s = np.int64(0)
            for t in range(start, X.shape[1]):
                s += op(np.int64(X[i, t]), np.int64(Y[j, t]), 0.0)
            return s

        return simd_tail
    if code is not None:

        def no_tail(tile, X, Y, i, j, start):
            return np.int64(0)

        return no_tail
    return None


@overload(tile_offsets, inline="always", jit_options={"nogil": True})
def _tile_offsets(tile, X, i0, i1, i2, i3):
    code = _literal(tile)
    if code in (TILE_DOT_U8, TILE_DOT_U8_WIDE):

        def bias_offsets(tile, X, i0, i1, i2, i3):
            handled, bias = dot_plan(X.shape[1])
            s0 = s1 = s2 = s3 = np.int64(0)
            if bias != 0:
                for t in range(handled):
                    s0 += X[i0, t]
                    s1 += X[i1, t]
                    s2 += X[i2, t]
                    s3 += X[i3, t]
            return (bias * s0, bias * s1, bias * s2, bias * s3)

        return bias_offsets
    if code is not None:

        def no_offsets(tile, X, i0, i1, i2, i3):
            zero = np.int64(0)
            return (zero, zero, zero, zero)

        return no_offsets
    return None


# ----------------------------------------------------------------------------
# keys


@njit(nogil=True)
def _wide_product(a, b):
    """``a * b`` of two int64 values in [0, 2**63) as (high, low) uint64 words."""
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    ua = np.uint64(a)
    ub = np.uint64(b)
    a0 = ua & mask
    a1 = ua >> shift
    b0 = ub & mask
    b1 = ub >> shift
    low_low = a0 * b0
    mid1 = a1 * b0
    mid2 = a0 * b1
    middle = (low_low >> shift) + (mid1 & mask) + (mid2 & mask)
    low = (low_low & mask) | ((middle & mask) << shift)
    high = a1 * b1 + (mid1 >> shift) + (mid2 >> shift) + (middle >> shift)
    return high, low


@njit(nogil=True)
def _exact_sqnorm(A, i):
    s = np.int64(0)
    for t in range(A.shape[1]):
        v = np.int64(A[i, t])
        s += v * v
    return s


# Rounding moves 1 - x.y / (|x| |y|) by a few 1e-16 at most: below this the
# pair may point the same way and is decided exactly.
NEAR_PARALLEL = 1e-12


@njit(nogil=True)
def points_same_way(dot, X, Y, q, t):
    """Whether integer rows ``X[q]``, ``Y[t]`` with dot product ``dot > 0``
    point the same way: ``dot**2 == |x|^2 |y|^2``, compared in 128 bits."""
    return _wide_product(dot, dot) == _wide_product(
        _exact_sqnorm(X, q), _exact_sqnorm(Y, t)
    )


@overload(pair_key, inline="always", jit_options={"nogil": True})
def _pair_key(key, value, X, Y, q, t, aux_x, aux_y):
    code = _literal(key)
    if code == KEY_RAW:

        def raw(key, value, X, Y, q, t, aux_x, aux_y):
            return value

        return raw
    if code == KEY_SQL2_FROM_DOT:

        def sql2(key, value, X, Y, q, t, aux_x, aux_y):
            return aux_x[q] + aux_y[t] - 2 * value

        return sql2
    if code == KEY_COSINE_INT:

        # Cosine distance from the exact integer dot product and the inverse
        # norms: 1 when either row is all zeros (inverse 0), else
        # 1 - x.y / (|x| |y|) up to 2, except that a pair closer than
        # NEAR_PARALLEL (one that may point the same way) gets exactly 0: such
        # pairs rank first among themselves by index and ._cosine settles
        # them exactly. Written out here, not called, so that it is inlined
        # into the hot loop.
        def cosine(key, value, X, Y, q, t, aux_x, aux_y):
            c = min(max(1.0 - np.float64(value) * (aux_x[q] * aux_y[t]), 0.0), 2.0)
            return np.float64(c >= NEAR_PARALLEL) * c  # no branch: +0.0 or c

        return cosine
    if code == KEY_CHORD:

        def chord(key, value, X, Y, q, t, aux_x, aux_y):
            if aux_x[q] == 0.0 or aux_y[t] == 0.0:
                return 1.0
            return min(0.5 * value, 2.0)

        return chord
    return None


# ----------------------------------------------------------------------------
# per-row values


@njit(nogil=True)
def row_sqnorms(A, out):
    """Exact squared norm of every integer row of ``A`` (int64) into ``out``."""
    for i in range(A.shape[0]):
        out[i] = _exact_sqnorm(A, i)


@njit(nogil=True)
def row_inv_norms(A, out):
    """``1 / |row|`` of every integer row of ``A`` (0 for a zero row)."""
    for i in range(A.shape[0]):
        s = _exact_sqnorm(A, i)
        out[i] = 1.0 / np.sqrt(np.float64(s)) if s > 0 else 0.0


@njit(nogil=True)
def row_norms(A, out):
    """Euclidean norm of every row of ``A`` (float64) into ``out``."""
    for i in range(A.shape[0]):
        s = 0.0
        for t in range(A.shape[1]):
            v = np.float64(A[i, t])
            s += v * v
        out[i] = np.sqrt(s)
