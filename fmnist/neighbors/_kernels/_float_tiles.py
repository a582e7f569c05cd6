"""The tiles of float rows whose values must be the same bits everywhere.

Squared, cosine (chord of unit rows) and manhattan distances of pairs with a
float side run the lane sums of :mod:`._lanes`: float64 sums in one fixed
order, so a pair's value is the same bits in every tile, in the pruned
search and on every target. numba applies a caller's fast-math flags to an
intrinsic's instructions too, so the lane sums are called here, from
functions compiled without fast-math; :mod:`._tiles` selects these tiles
(:func:`lane_kind`) for its routes.
"""

import numpy as np

from ._codes import TILE_CHORD, TILE_L1, TILE_SQL2
from ._jit import njit
from ._lanes import (
    lane_abs_1x4,
    lane_abs_4x4,
    lane_sums_1x4,
    lane_sums_1x4_scaled,
    lane_sums_4x4,
    lane_sums_4x4_scaled,
    square_add,
)


@njit(nogil=True)
def _inverse_norm_or_one(aux, i):
    return 1.0 / aux[i] if aux[i] > 0.0 else 1.0


@njit(nogil=True, fastmath=False)
def _lane_tail(X, Y, i, j0, j1, j2, j3, u, v0, v1, v2, v3, r, at):
    """Lane sums ``r[at:at + 4]`` of row ``i`` of X (times ``u``) against
    rows ``j*`` of Y (times ``v*``) plus the features after the whole groups
    of four, one by one."""
    r0, r1, r2, r3 = r[at], r[at + 1], r[at + 2], r[at + 3]
    n = X.shape[1]
    for t in range(n - n % 4, n):
        x = np.float64(X[i, t]) * u
        d0 = x - np.float64(Y[j0, t]) * v0
        d1 = x - np.float64(Y[j1, t]) * v1
        d2 = x - np.float64(Y[j2, t]) * v2
        d3 = x - np.float64(Y[j3, t]) * v3
        r0 = square_add(d0, r0)
        r1 = square_add(d1, r1)
        r2 = square_add(d2, r2)
        r3 = square_add(d3, r3)
    return r0, r1, r2, r3


# The lane sums and their tails, compiled on their own without fast-math
# (see :mod:`._lanes`): a pair's distance is the same bits in every tile shape
# and every caller.


@njit(nogil=True, fastmath=False)
def _abs_tail(X, Y, i, j0, j1, j2, j3, r, at):
    """As :func:`_lane_tail` for the sums of ``|x - y|``."""
    r0, r1, r2, r3 = r[at], r[at + 1], r[at + 2], r[at + 3]
    n = X.shape[1]
    for t in range(n - n % 4, n):
        x = np.float64(X[i, t])
        r0 += abs(x - np.float64(Y[j0, t]))
        r1 += abs(x - np.float64(Y[j1, t]))
        r2 += abs(x - np.float64(Y[j2, t]))
        r3 += abs(x - np.float64(Y[j3, t]))
    return r0, r1, r2, r3


@njit(nogil=True, fastmath=False)
def _abs_1x4(X, Y, i, j0, j1, j2, j3):
    return _abs_tail(X, Y, i, j0, j1, j2, j3, lane_abs_1x4(X, Y, i, j0, j1, j2, j3), 0)


@njit(nogil=True, fastmath=False)
def _abs_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3):
    r = lane_abs_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3)
    a = _abs_tail(X, Y, i0, j0, j1, j2, j3, r, 0)
    b = _abs_tail(X, Y, i1, j0, j1, j2, j3, r, 4)
    c = _abs_tail(X, Y, i2, j0, j1, j2, j3, r, 8)
    d = _abs_tail(X, Y, i3, j0, j1, j2, j3, r, 12)
    return a + b + c + d


@njit(nogil=True, fastmath=False)
def _squares_1x4(X, Y, i, j0, j1, j2, j3):
    r = lane_sums_1x4(X, Y, i, j0, j1, j2, j3)
    return _lane_tail(X, Y, i, j0, j1, j2, j3, 1.0, 1.0, 1.0, 1.0, 1.0, r, 0)


@njit(nogil=True, fastmath=False)
def _chords_1x4(X, Y, i, j0, j1, j2, j3, u, v0, v1, v2, v3):
    r = lane_sums_1x4_scaled(X, Y, i, j0, j1, j2, j3, u, v0, v1, v2, v3)
    return _lane_tail(X, Y, i, j0, j1, j2, j3, u, v0, v1, v2, v3, r, 0)


@njit(nogil=True, fastmath=False)
def _lanes_4x4(r, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, u0, u1, u2, u3, v0, v1, v2, v3):
    """The 16 values of the 4 x 4 tile from its lane sums ``r``."""
    a = _lane_tail(X, Y, i0, j0, j1, j2, j3, u0, v0, v1, v2, v3, r, 0)
    b = _lane_tail(X, Y, i1, j0, j1, j2, j3, u1, v0, v1, v2, v3, r, 4)
    c = _lane_tail(X, Y, i2, j0, j1, j2, j3, u2, v0, v1, v2, v3, r, 8)
    d = _lane_tail(X, Y, i3, j0, j1, j2, j3, u3, v0, v1, v2, v3, r, 12)
    return a + b + c + d


@njit(nogil=True, fastmath=False)
def _squares_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3):
    r = lane_sums_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3)
    one = 1.0
    return _lanes_4x4(
        r, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, one, one, one, one, one, one, one, one
    )


@njit(nogil=True, fastmath=False)
def _chords_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3, u0, u1, u2, u3, v0, v1, v2, v3):
    r = lane_sums_4x4_scaled(
        X, Y, i0, i1, i2, i3, j0, j1, j2, j3, u0, u1, u2, u3, v0, v1, v2, v3
    )
    return _lanes_4x4(
        r, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, u0, u1, u2, u3, v0, v1, v2, v3
    )


def lane_kind(code, floating):
    """Which lane sums serve tile ``code``: "abs" (manhattan) and "squares"
    (euclidean) for pairs with a float side (``floating``), "chords" for
    cosine of float rows, None for the other tiles."""
    if code == TILE_CHORD:
        return "chords"
    if floating and code == TILE_L1:
        return "abs"
    if floating and code == TILE_SQL2:
        return "squares"
    return None


def lane_row_tile(kind):
    """The 1 x 4 tile of the lane sums ``kind`` (:func:`lane_kind`; for
    chords ``aux`` holds the rows' norms)."""
    if kind == "abs":

        def abs_impl(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
            return _abs_1x4(X, Y, i, j0, j1, j2, j3), np.int64(X.shape[1])

        return abs_impl
    if kind == "chords":

        def chord_impl(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
            s = _inverse_norm_or_one
            values = _chords_1x4(
                X,
                Y,
                i,
                j0,
                j1,
                j2,
                j3,
                s(aux_x, i),
                s(aux_y, j0),
                s(aux_y, j1),
                s(aux_y, j2),
                s(aux_y, j3),
            )
            return values, np.int64(X.shape[1])

        return chord_impl

    def impl(tile, X, Y, i, j0, j1, j2, j3, aux_x, aux_y):
        return _squares_1x4(X, Y, i, j0, j1, j2, j3), np.int64(X.shape[1])

    return impl


def lane_tile(kind):
    """The 4 x 4 tile of the lane sums ``kind`` (:func:`lane_kind`)."""
    if kind == "abs":

        def abs_impl(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
            values = _abs_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3)
            return values, np.int64(X.shape[1])

        return abs_impl
    if kind == "chords":

        def chord_impl(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
            s = _inverse_norm_or_one
            values = _chords_4x4(
                X,
                Y,
                i0,
                i1,
                i2,
                i3,
                j0,
                j1,
                j2,
                j3,
                s(aux_x, i0),
                s(aux_x, i1),
                s(aux_x, i2),
                s(aux_x, i3),
                s(aux_y, j0),
                s(aux_y, j1),
                s(aux_y, j2),
                s(aux_y, j3),
            )
            return values, np.int64(X.shape[1])

        return chord_impl

    def impl(tile, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, p, aux_x, aux_y):
        values = _squares_4x4(X, Y, i0, i1, i2, i3, j0, j1, j2, j3)
        return values, np.int64(X.shape[1])

    return impl
