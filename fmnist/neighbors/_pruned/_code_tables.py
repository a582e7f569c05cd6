"""uint8 codes of float rows, for the pruned search's bounds; the float
helpers every bound table shares.

The bound tables of float training rows (``X / 255``, scaled or
standardised features) hold uint8 codes of the rows (:class:`CodeTables`):
the uint8 tiles compare codes, and the norm of what the coding left out
turns the code distance into an exact bound (the class docstring).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

#: Float rows are pruned when their largest magnitude lies within this
#: factor of 1 either way (and every query's projections within
#: ``_MAX_QUERY_UNITS``); others take brute force.
MAX_FLOAT_SCALE = 1e100


def in_range(Y):
    """Whether rows ``Y`` are uint8, or floats whose largest magnitude lies
    within :data:`MAX_FLOAT_SCALE` of 1."""
    if Y.dtype.kind != "f" or not Y.size:
        return True
    magnitude = max(float(Y.max()), -float(Y.min()))  # no copy of Y
    return 1.0 / MAX_FLOAT_SCALE <= magnitude <= MAX_FLOAT_SCALE  # NaN: False


def inverse_norms(A):
    """``1 / |a|`` of each row (float64; 0 for a row of zeros), by the rule
    of the cosine keys: :func:`.._kernels._tiles.row_inv_norms` for integer
    rows, the inverse of :func:`.._kernels._tiles.row_norms` for float ones."""
    from .._kernels import _tiles

    out = np.empty(A.shape[0], dtype=np.float64)
    if A.dtype.kind in "biu":
        _tiles.row_inv_norms(A, out)
        return out
    _tiles.row_norms(A, out)
    zero = out == 0.0
    out[zero] = 1.0
    return np.where(zero, 0.0, 1.0 / out)


def float_blocks(A, unit, rows=4096):
    """``(start, block)``: the rows of ``A`` from ``start`` in float64,
    ``rows`` at a time (no float64 copy of ``A``), scaled to unit length
    when ``unit`` by the rule of the cosine tiles (times the inverse of the
    norm; a row of zeros stays zeros)."""
    scale = inverse_norms(A) if unit else None
    for start in range(0, A.shape[0], rows):
        block = A[start : start + rows].astype(np.float64)
        if unit:
            inverse = scale[start : start + rows]
            block *= np.where(inverse > 0, inverse, 1.0)[:, None]
        yield start, block


@dataclass(frozen=True)
class CodeTables:
    """uint8 codes of float training rows (of the unit rows for cosine), in
    the tables' sorted order, for the code bound of the pruned search
    (:func:`._walk_l2._code_filter`).

    Each value ``x`` is coded as ``c = clip(rint((x - low) / step), 0,
    255)``; the rest ``e = x - (low + step * c)`` of a row has norm ``rest``.
    Since ``x - y = step * (c_x - c_y) + (e_x - e_y)``, the distance of two
    rows is at least ``step * |c_x - c_y| - rest_x - rest_y``, and
    ``|c_x - c_y|`` is an exact integer from the uint8 dot tile (a quarter of
    the bytes of float32 rows). For ``X / 255`` the codes are the images and
    the rests a few 1e-9, so the bound is the distance itself but for them.

    Attributes
    ----------
    low, step : float
        The coding (``low`` the least value, ``step`` a 255th of the range).
    codes : ndarray of shape (n_train, n_features), uint8
    sqnorms : ndarray of shape (n_train,), int64
        Exact squared norms of the codes.
    rests : ndarray of shape (n_train,), float64
        Norm of each row's rest.
    manhattan : bool
        Whether the norms are manhattan norms (``|e|_1``, for the manhattan
        bound ``step * |c_x - c_y|_1 - |e_x|_1 - |e_y|_1``) rather than
        euclidean ones.
    """

    low: float
    step: float
    codes: np.ndarray
    sqnorms: np.ndarray
    rests: np.ndarray
    manhattan: bool = False

    def query_codes(self, X, unit):
        """``(codes, sqnorms, slack)`` of the query rows ``X``: ``slack`` is
        the norm of each query's rest plus what float rounding can take off
        the bound (``_CODE_ROUNDING`` of the largest value involved, per
        feature)."""
        codes, sqnorms, rests, largest = coded(
            X, self.low, self.step, unit, self.manhattan
        )
        bound = max(abs(self.low), abs(self.low + 255 * self.step))
        rounding = _CODE_ROUNDING * X.shape[1] * (2 * bound + largest)
        return codes, sqnorms, rests + rounding


#: Relative rounding of the codes' rests and reconstructions, per feature
#: (float64: a few ulps per value, far above 2**-52 here).
_CODE_ROUNDING = 1e-12


def coded(A, low, step, unit, manhattan=False, rows=4096):
    """``(codes, sqnorms, rests, largest)`` of the rows of ``A`` (scaled to
    unit length when ``unit``, by the rule of the cosine tiles): their uint8
    codes, the codes' exact squared norms, the norms of the rests (manhattan
    norms with ``manhattan``) and the largest magnitude of a (scaled)
    value."""
    from .._kernels import _tiles

    codes = np.empty(A.shape, dtype=np.uint8)
    rests = np.empty(A.shape[0], dtype=np.float64)
    largest = 0.0
    for start, block in float_blocks(A, unit, rows):
        stop = start + len(block)
        largest = max(largest, float(np.abs(block).max(initial=0.0)))
        c = np.clip(np.rint((block - low) / step), 0, 255)
        rest = block - (low + step * c)
        if manhattan:
            rests[start:stop] = np.abs(rest).sum(axis=1)
        else:
            rests[start:stop] = np.sqrt(np.einsum("ij,ij->i", rest, rest))
        codes[start:stop] = c
    sqnorms = np.empty(A.shape[0], dtype=np.int64)
    _tiles.row_sqnorms(codes, sqnorms)
    return codes, sqnorms, rests, largest


def code_tables(rows, unit, manhattan=False):
    """:class:`CodeTables` of the float rows ``rows``."""
    low, high = np.inf, -np.inf
    for _, block in float_blocks(rows, unit):
        low = min(low, float(block.min(initial=np.inf)))
        high = max(high, float(block.max(initial=-np.inf)))
    step = (high - low) / 255 if high > low else 1.0
    codes, sqnorms, rests, _ = coded(rows, low, step, unit, manhattan)
    return CodeTables(low, step, codes, sqnorms, rests, manhattan)


def sorted_codes(codes, order):
    """:class:`CodeTables` ``codes`` with its rows in the sorted ``order``."""
    return dataclasses.replace(
        codes,
        codes=codes.codes[order],
        sqnorms=codes.sqnorms[order],
        rests=codes.rests[order],
    )
