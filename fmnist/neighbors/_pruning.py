"""Exact search with lower-bound pruning: the tables and when it pays.

:mod:`._kernels._pruned_l1` (manhattan) and :mod:`._kernels._pruned_l2`
(euclidean, squared euclidean and cosine) walk the training rows in a sorted
order and rule most of them out with lower bounds, before any full distance. This
module builds what they walk (the *bound tables* of a training set) and
decides where it applies:

* manhattan, euclidean, squared euclidean (Minkowski ``p`` of 1 and 2
  included) and cosine, on uint8 queries against uint8 training rows and on
  float rows (``X / 255``, scaled or standardised features). Float rows also
  get uint8 codes (:class:`CodeTables`) that bound their distances (and,
  for manhattan, carry the whole walk); their exact stage computes the
  brute-force search's own float64 distances;
* rows of at least :data:`MIN_FEATURES` features, and at most
  :data:`~._kernels._codes.WIDE_BYTES` (manhattan: group sums fit in int16)
  or :data:`MAX_PROJECTED_FEATURES` (euclidean and cosine: the directions
  come from an eigendecomposition of a features x features matrix), and
  float values within :data:`MAX_FLOAT_SCALE` of 1 (whose squares and
  projections float64 and float32 hold with room to spare);
* with ``algorithm='auto'``, training sets of at least
  :data:`MIN_TRAIN_ROWS` rows: where it measured faster than brute force.

Manhattan bounds with group means, one byte per group: squares of 7x7 and
2x2 pixels when the number of features is a square (a square image;
neighbouring pixels bound best), else runs of 49 and 4 consecutive features.
Euclidean bounds with projections on principal directions of the training
rows, cosine bounds with those of the training rows scaled to unit length
(the cosine distance is half their squared distance). Either way the bounds
are exact (the projection ones within a margin for rounding); the grouping
and the directions only change how many rows they rule out.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ._kernels import _codes

__all__ = ["MIN_TRAIN_ROWS", "applies", "bound_tables"]

#: ``algorithm='auto'`` prunes from this many training rows.
MIN_TRAIN_ROWS = 2048
#: Fewest features for which the bounds are worth their cost.
MIN_FEATURES = 64
#: Most features for the euclidean bounds.
MAX_PROJECTED_FEATURES = 1024
#: Group sides (square images) or sizes (runs) of the manhattan tables,
#: coarse to fine. A 4x4 level in between measured slower.
_SIDES = (7, 2)
#: Principal directions of the euclidean tables: all of them for the fine
#: bound, the first ones for the coarse bound (24 measured 5% faster than
#: 16 on Fashion-MNIST once the coarse bound ran on integers; 32 and 40 no
#: faster than 24).
_DIRECTIONS = 64
_COARSE_DIRECTIONS = 24
#: Training rows sampled (evenly) for the directions.
_SAMPLE_ROWS = 10_000
#: The uint8 routes of the metric registry that are pruned: manhattan,
#: squared distances from exact dot products, and cosine.
_L1_ROUTE = (_codes.TILE_SAD_U8, _codes.KEY_RAW)
_L2_ROUTE = (_codes.TILE_DOT_U8, _codes.KEY_SQL2_FROM_DOT)
_COSINE_ROUTE = (_codes.TILE_DOT_U8, _codes.KEY_COSINE_INT)
#: The float routes of the registry that are pruned: manhattan, squared
#: distances and the chord of unit rows.
_FLOAT_L1_ROUTE = (_codes.TILE_L1, _codes.KEY_RAW)
_FLOAT_L2_ROUTE = (_codes.TILE_SQL2, _codes.KEY_RAW)
_FLOAT_COSINE_ROUTE = (_codes.TILE_CHORD, _codes.KEY_CHORD)
#: Float rows are pruned when their largest magnitude lies within this
#: factor of 1 either way (and every query's projections within
#: ``_MAX_QUERY_UNITS``); others take brute force.
MAX_FLOAT_SCALE = 1e100
#: Largest query projection, in table units, the float32 fine bound takes.
_MAX_QUERY_UNITS = 2.0**40


def applies(spec, X, Y):
    """Whether the pruned search serves this search (else brute force)."""
    if spec.algorithm == "brute":
        return False
    route = spec.metric.route(X.dtype, Y.dtype, X.shape[1])
    # Float routes need float training rows: their tables hold the codes.
    floating = Y.dtype.kind == "f"
    if route in (_L1_ROUTE, _L2_ROUTE, _COSINE_ROUTE):
        uint8 = X.dtype == np.uint8 and Y.dtype == np.uint8
    elif route in (_FLOAT_L1_ROUTE, _FLOAT_L2_ROUTE, _FLOAT_COSINE_ROUTE) and floating:
        uint8 = False
    else:
        return False
    manhattan = route in (_L1_ROUTE, _FLOAT_L1_ROUTE)
    widest = _codes.WIDE_BYTES if manhattan else MAX_PROJECTED_FEATURES
    if not (uint8 or floating) or not MIN_FEATURES <= Y.shape[1] <= widest:
        return False
    return spec.algorithm == "pruned" or Y.shape[0] >= MIN_TRAIN_ROWS


# ----------------------------------------------------------------------------
# manhattan: byte tables of group means


def _group_map(n_features, side):
    """Group of each feature and the largest group size."""
    edge = math.isqrt(n_features)
    if edge * edge == n_features:
        rows, cols = np.divmod(np.arange(n_features), edge)
        per_row = -(-edge // side)
        groups = (rows // side) * per_row + cols // side
        size = side * side
    else:
        size = side * side
        groups = np.arange(n_features) // size
    return groups.astype(np.intp), size


def _padded(n_groups):
    return -(-n_groups // 16) * 16


def _mean_table(A, groups, size, n_groups):
    """Group sums of the rows of ``A`` divided by the group size ``size``
    (uint8), padded with zero groups to a multiple of 16."""
    from ._kernels import _bounds

    out = np.zeros((A.shape[0], _padded(n_groups)), dtype=np.int16)
    _bounds.group_sums(A, groups, out)
    return (out // size).astype(np.uint8)


def _row_sums(A):
    from ._kernels import _bounds

    sums = np.empty(A.shape[0], dtype=np.int64)
    _bounds.row_sums(A, sums)
    return sums


@dataclass(frozen=True)
class MeanTables:
    """The manhattan bound tables of one uint8 training set, in order of row
    sums: a snapshot of the training rows, as a tree index keeps one.

    Attributes
    ----------
    order : ndarray of shape (n_train,), intp
        Training row at each sorted position.
    rows : ndarray of shape (n_train, n_features), uint8
        The training rows in sorted order.
    sums : ndarray of shape (n_train,), int64
        Row sums, ascending.
    groups : tuple of (ndarray, int, int)
        For each level, coarse and fine: the group of each feature, the
        largest group size and the number of groups.
    coarse_t : ndarray of shape (n_groups, n_train), uint8
        Coarse group means, group-major.
    fine : ndarray of shape (n_train, n_groups_padded), uint8
        Fine group means, row-major, padded with zero groups.
    codes : CodeTables or None
        For float rows: the tables are those of their uint8 codes (``rows``
        the sorted codes), and ``codes`` holds the coding and the manhattan
        norms of the rows' rests, in sorted order; None for uint8 rows.
    float_rows : ndarray or None
        For float rows, the rows themselves (training order).
    """

    order: np.ndarray
    rows: np.ndarray
    sums: np.ndarray
    groups: tuple
    coarse_t: np.ndarray
    fine: np.ndarray
    codes: "CodeTables" = None
    float_rows: np.ndarray = None

    def query_tables(self, X):
        """``(sums, coarse, fine)`` of the uint8 query rows ``X``."""
        tables = [_mean_table(X, *level) for level in self.groups]
        return (_row_sums(X), *tables)

    def offsets(self):
        """``G * (m - 1)`` of each level (``G`` groups of at most ``m``
        features): what a bound from group means gives away."""
        return tuple(n * (size - 1) for _, size, n in self.groups)


def _mean_tables(Y):
    sums = _row_sums(Y)
    order = np.argsort(sums, kind="stable")
    levels = []
    tables = []
    for side in _SIDES:
        groups, size = _group_map(Y.shape[1], side)
        levels.append((groups, size, int(groups.max()) + 1))
        tables.append(_mean_table(Y, *levels[-1])[order])
    return MeanTables(
        order=order,
        rows=Y[order],
        sums=sums[order],
        groups=tuple(levels),
        coarse_t=np.ascontiguousarray(tables[0][:, : levels[0][2]].T),
        fine=tables[1],
    )


# ----------------------------------------------------------------------------
# euclidean: projections on principal directions


def _inverse_norms(A):
    """``1 / |a|`` of each row (float64; 0 for a row of zeros), by the rule
    of the cosine keys: :func:`._kernels._tiles.row_inv_norms` for integer
    rows, the inverse of :func:`._kernels._tiles.row_norms` for float ones."""
    from ._kernels import _tiles

    out = np.empty(A.shape[0], dtype=np.float64)
    if A.dtype.kind in "biu":
        _tiles.row_inv_norms(A, out)
        return out
    _tiles.row_norms(A, out)
    zero = out == 0.0
    out[zero] = 1.0
    return np.where(zero, 0.0, 1.0 / out)


def _directions(Y, n_directions, unit):
    """Orthonormal columns: the leading eigenvectors of the covariance of
    (a sample of) the rows, scaled to unit length when ``unit``. Any
    orthonormal columns give exact bounds; these give tight ones."""
    from scipy.linalg import eigh
    from threadpoolctl import threadpool_limits

    step = max(1, Y.shape[0] // _SAMPLE_ROWS)
    sample = Y[::step].astype(np.float64)
    if unit:
        sample *= _inverse_norms(Y[::step])[:, None]
    sample -= sample.mean(axis=0)
    # One BLAS thread: BLAS threads that spin at their barriers collapse when
    # another process keeps the cores busy (the full 784 x 784 eigh took
    # 0.31 s alone, 5.5-7.0 s on two threads beside a busy process). Only the
    # leading eigenvectors are computed (LAPACK's syevr on a subset).
    with threadpool_limits(limits=1, user_api="blas"):
        gram = sample.T @ sample
        n = gram.shape[0]
        _, vectors = eigh(gram, subset_by_index=[n - n_directions, n - 1], driver="evr")
    return np.ascontiguousarray(vectors[:, ::-1])


#: Training rows per slab of the euclidean tables.
SLAB_ROWS = 1024


@dataclass(frozen=True)
class ProjectionTables:
    """The euclidean (or cosine) bound tables of one uint8 training set, in
    slabs: the rows sorted by their projection on the first direction, cut
    into slabs of :data:`SLAB_ROWS`, each slab sorted by the projection on
    the second. For cosine (``unit``) every projection is that of the row
    scaled to unit length (a row of zeros projects to zeros).

    Every projection is held in *table units*, divided by ``scale``; the
    two bound tables are rounded to int16 (half the bytes of float32: the
    walk reads them from memory, not from cache), each value within
    :data:`~._kernels._pruned_l2.TABLE_ROUNDING` of the exact one and
    within ``[-16000, 16000]`` (:data:`_TABLE_MAX`), so that the difference
    of two values fits in int16 too (the coarse bound is computed in
    integers).

    Attributes
    ----------
    order : ndarray of shape (n_train,), intp
        Training row at each sorted position.
    rows : ndarray of shape (n_train, n_features)
        The uint8 training rows in sorted order; float rows as they are, in
        training order (the code bound leaves their exact stage so few rows
        that a sorted copy, 188 MB of float32 for Fashion-MNIST, would not
        pay).
    basis : ndarray of shape (n_features, n_directions), float64
        Orthonormal directions, leading first.
    scale : float
        Pixel values (unit lengths for cosine) per table unit.
    slabs : ndarray of shape (n_slabs + 1,), int64
        First sorted position of each slab, then ``n_train``.
    slab_low, slab_high : ndarray of shape (n_slabs,), float32
        Least and greatest projection on the first direction in each slab.
    second : ndarray of shape (n_train,), float32
        Projection on the second direction, ascending within each slab.
    n_coarse : int
        Directions of the coarse bound.
    coarse_pairs : ndarray of shape (n_pairs, n_train + 64, 2), int16
        The coarse columns of each row, in pairs of columns (pair-major):
        its projections on the first ``n_coarse`` directions, the norm of
        the rest of the row outside them, and a zero column when that makes
        an odd count; then 64 rows of zeros, so that a block of 64 rows
        starting at any row lies in the table.
    fine : ndarray of shape (n_train, n_directions + 1), int16
        Projections on all directions, row-major, and last the norm of the
        rest of the row (its part outside the directions): with it the fine
        bound is ``|P'(x - y)|^2 + (r_x - r_y)^2``, since the rest of
        ``x - y`` is at least as long as ``|r_x - r_y|``.
    unit : bool
        Whether the rows are projected at unit length (cosine).
    codes : CodeTables or None
        For float rows, their uint8 codes (:class:`CodeTables`); None for
        uint8 rows.
    """

    order: np.ndarray
    rows: np.ndarray
    basis: np.ndarray
    scale: float
    slabs: np.ndarray
    slab_low: np.ndarray
    slab_high: np.ndarray
    second: np.ndarray
    n_coarse: int
    coarse_pairs: np.ndarray
    fine: np.ndarray
    unit: bool
    codes: "CodeTables" = None

    def query_tables(self, X):
        """``(coarse, fine)`` projections of the query rows ``X``, each with
        the norm of the rest of each row last, in table units: ``coarse``
        rounded as the tables are (:func:`_table_ints`) and padded like
        their pairs; ``fine`` float32."""
        coarse, fine = _project(X, self.basis, self.unit, self.n_coarse)
        coarse = _table_ints(_in_units(coarse, self.scale))
        return _even_columns(coarse), _in_units(fine, self.scale)

    def query_order(self, q_fine):
        """The order to search the queries in, from their fine projections
        ``q_fine``: by the slab their first projection falls in, then by the
        second, up and down in turn.

        A query's walk visits, in each slab, the window of rows whose
        second projection is near its own, so consecutive queries in this
        order walk nearly the same windows, which are then in cache."""
        from ._kernels._pruned_l2 import home_slabs

        # The slab each query's walk starts from, by the kernel's own rule.
        home = home_slabs(self.slab_low, np.ascontiguousarray(q_fine[:, 0]))
        second = q_fine[:, 1] if self.basis.shape[1] > 1 else np.zeros(len(home))
        return np.lexsort((np.where(home % 2 == 1, -second, second), home))


def _float_blocks(A, unit, rows=4096):
    """``(start, block)``: the rows of ``A`` from ``start`` in float64,
    ``rows`` at a time (no float64 copy of ``A``), scaled to unit length
    when ``unit`` by the rule of the cosine tiles (times the inverse of the
    norm; a row of zeros stays zeros)."""
    scale = _inverse_norms(A) if unit else None
    for start in range(0, A.shape[0], rows):
        block = A[start : start + rows].astype(np.float64)
        if unit:
            inverse = scale[start : start + rows]
            block *= np.where(inverse > 0, inverse, 1.0)[:, None]
        yield start, block


def _project(A, basis, unit, n_coarse, rows=4096):
    """``(coarse, fine)`` projection tables of the rows of ``A`` (scaled to
    unit length when ``unit``) on the orthonormal columns of ``basis``.

    Each bound on a set of directions ``P`` comes with the norm of the rest
    of each row outside them, ``r = sqrt(|a|^2 - |P'a|^2)``: the rest of
    ``x - y`` is at least as long as ``|r_x - r_y|``, so
    ``|P'(x - y)|^2 + (r_x - r_y)^2`` is still a lower bound. ``coarse`` is
    the projection on the first ``n_coarse`` directions and its rest;
    ``fine`` the projection on all directions and its rest.

    The rests are computed in float64 (so that the rounding the margins of
    :mod:`._kernels._pruned_l2` must cover is the float32 result, and the
    cancellation in the rest: about 3e-7 of the row's norm for rows of up
    to 1024 features), ``rows`` rows at a time so that no float64 copy of
    ``A`` is made."""
    n_directions = basis.shape[1]
    fine = np.empty((A.shape[0], n_directions + 1), dtype=np.float32)
    coarse = np.empty((A.shape[0], n_coarse + 1), dtype=np.float32)
    for start, block in _float_blocks(A, unit, rows):
        stop = start + len(block)
        projected = block @ basis
        squares = projected * projected
        norms = np.einsum("ij,ij->i", block, block)

        def rest(m):
            return np.sqrt(np.maximum(norms - squares[:, :m].sum(axis=1), 0.0))

        for out, m in ((coarse, n_coarse), (fine, n_directions)):
            out[start:stop, :m] = projected[:, :m]
            out[start:stop, m] = rest(m)
    return coarse, fine


#: Largest magnitude of a table value, in table units: half of int16's
#: range, so that differences of table values fit in int16.
_TABLE_MAX = 16_000


def _in_units(table, scale):
    """``table / scale`` (float32)."""
    return (table / np.float32(scale)).astype(np.float32)


def _table_ints(table):
    """Values in table units rounded to int16, clipped to ``[-_TABLE_MAX,
    _TABLE_MAX]`` (a no-op for the training rows, whose largest value sets
    the scale; for a query it only lowers a bound, as every table value
    lies in that range)."""
    return np.clip(np.rint(table), -_TABLE_MAX, _TABLE_MAX).astype(np.int16)


def _even_columns(table):
    """``table`` with a zero column added to an odd number of columns."""
    if table.shape[1] % 2 == 0:
        return table
    return np.column_stack([table, np.zeros(len(table), dtype=table.dtype)])


def _with_zero_rows(table, n):
    """``table`` with ``n`` rows of zeros after the last."""
    out = np.zeros((len(table) + n, table.shape[1]), dtype=table.dtype)
    out[: len(table)] = table
    return out


def _in_pairs(table):
    """The columns of ``table`` (rows x columns) in pairs, pair-major:
    ``out[p, i] = (table[i, 2p], table[i, 2p + 1])``, with a zero column
    added to an odd count."""
    even = _even_columns(table)
    pairs = even.reshape(len(even), even.shape[1] // 2, 2)
    return np.ascontiguousarray(pairs.transpose(1, 0, 2))


def _in_range(Y):
    """Whether rows ``Y`` are uint8, or floats whose largest magnitude lies
    within :data:`MAX_FLOAT_SCALE` of 1."""
    if Y.dtype.kind != "f" or not Y.size:
        return True
    magnitude = max(float(Y.max()), -float(Y.min()))  # no copy of Y
    return 1.0 / MAX_FLOAT_SCALE <= magnitude <= MAX_FLOAT_SCALE  # NaN: False


def _projection_tables(Y, unit):
    """:class:`ProjectionTables` of the rows ``Y``, or None for float rows
    beyond :data:`MAX_FLOAT_SCALE` (brute force serves them)."""
    if not _in_range(Y):
        return None
    n_directions = min(_DIRECTIONS, Y.shape[1])
    basis = _directions(Y, n_directions, unit)
    n_coarse = min(_COARSE_DIRECTIONS, n_directions)
    coarse, fine = _project(Y, basis, unit, n_coarse)
    # A training set of zeros has any scale.
    largest = max(float(np.abs(t).max(initial=0.0)) for t in (coarse, fine))
    scale = largest / _TABLE_MAX if largest > 0 else 1.0
    coarse, fine = _in_units(coarse, scale), _in_units(fine, scale)
    second = fine[:, 1] if n_directions > 1 else np.zeros(len(fine), np.float32)
    by_lead = np.argsort(fine[:, 0], kind="stable")
    slabs = np.append(np.arange(0, len(fine), SLAB_ROWS), len(fine)).astype(np.int64)
    order = np.concatenate([
        part[np.argsort(second[part], kind="stable")]
        for part in np.split(by_lead, slabs[1:-1])
    ])
    fine = fine[order]
    lead = fine[:, 0]
    bounds = list(zip(slabs[:-1], slabs[1:]))
    floating = Y.dtype.kind == "f"
    return ProjectionTables(
        order=order,
        rows=Y if floating else Y[order],
        basis=basis,
        scale=scale,
        slabs=slabs,
        slab_low=np.array([lead[a:b].min() for a, b in bounds], np.float32),
        slab_high=np.array([lead[a:b].max() for a, b in bounds], np.float32),
        second=np.ascontiguousarray(second[order]),
        n_coarse=n_coarse,
        coarse_pairs=_in_pairs(_with_zero_rows(_table_ints(coarse[order]), 64)),
        fine=_table_ints(fine),
        unit=unit,
        codes=_sorted_codes(_code_tables(Y, unit), order) if floating else None,
    )


# ----------------------------------------------------------------------------
# float rows: uint8 codes


@dataclass(frozen=True)
class CodeTables:
    """uint8 codes of float training rows (of the unit rows for cosine), in
    the tables' sorted order, for the code bound of the pruned search
    (:func:`._kernels._pruned_l2._code_filter`).

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
        codes, sqnorms, rests, largest = _coded(
            X, self.low, self.step, unit, self.manhattan
        )
        bound = max(abs(self.low), abs(self.low + 255 * self.step))
        rounding = _CODE_ROUNDING * X.shape[1] * (2 * bound + largest)
        return codes, sqnorms, rests + rounding


#: Relative rounding of the codes' rests and reconstructions, per feature
#: (float64: a few ulps per value, far above 2**-52 here).
_CODE_ROUNDING = 1e-12


def _coded(A, low, step, unit, manhattan=False, rows=4096):
    """``(codes, sqnorms, rests, largest)`` of the rows of ``A`` (scaled to
    unit length when ``unit``, by the rule of the cosine tiles): their uint8
    codes, the codes' exact squared norms, the norms of the rests (manhattan
    norms with ``manhattan``) and the largest magnitude of a (scaled)
    value."""
    from ._kernels import _tiles

    codes = np.empty(A.shape, dtype=np.uint8)
    rests = np.empty(A.shape[0], dtype=np.float64)
    largest = 0.0
    for start, block in _float_blocks(A, unit, rows):
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


def _code_tables(rows, unit, manhattan=False):
    """:class:`CodeTables` of the float rows ``rows``."""
    low, high = np.inf, -np.inf
    for _, block in _float_blocks(rows, unit):
        low = min(low, float(block.min(initial=np.inf)))
        high = max(high, float(block.max(initial=-np.inf)))
    step = (high - low) / 255 if high > low else 1.0
    codes, sqnorms, rests, _ = _coded(rows, low, step, unit, manhattan)
    return CodeTables(low, step, codes, sqnorms, rests, manhattan)


def _sorted_codes(codes, order):
    """:class:`CodeTables` ``codes`` with its rows in the sorted ``order``."""
    return dataclasses.replace(
        codes, codes=codes.codes[order], sqnorms=codes.sqnorms[order],
        rests=codes.rests[order],
    )  # fmt: skip


def _coded_mean_tables(Y):
    """:class:`MeanTables` of float rows ``Y``: those of their uint8 codes."""
    if not _in_range(Y):
        return None
    codes = _code_tables(Y, unit=False, manhattan=True)
    tables = _mean_tables(codes.codes)
    return dataclasses.replace(
        tables, codes=_sorted_codes(codes, tables.order), float_rows=Y
    )


def bound_tables(Y, route):
    """The bound tables of training rows ``Y`` for ``route``:
    :class:`MeanTables` for manhattan (of the codes of float rows),
    :class:`ProjectionTables` for the squared distances and (of the unit
    rows) for cosine; None where the rows cannot be pruned (float rows
    beyond :data:`MAX_FLOAT_SCALE`)."""
    if route == _L1_ROUTE:
        return _mean_tables(Y)
    if route == _FLOAT_L1_ROUTE:
        return _coded_mean_tables(Y)
    unit = route in (_COSINE_ROUTE, _FLOAT_COSINE_ROUTE)
    return _projection_tables(Y, unit=unit)


def _float_arguments(tables, X):
    """The ``floats`` tuple of the manhattan kernel: ``(XF, QC, YF, slack,
    rests, step, largest_rest)``, the float query rows and their codes, the
    float training rows, the queries' slack and the training rows' rests
    (sorted) of :class:`CodeTables`; empty arrays for uint8 rows."""
    codes = tables.codes
    if codes is None:
        none = np.empty((0, 0), dtype=np.float64)
        floats = np.empty(0, dtype=np.float64)
        return none, np.empty((0, 0), np.uint8), none, floats, floats, 1.0, 0.0
    q_codes, _, q_slack = codes.query_codes(X, unit=False)
    return (
        X, q_codes, tables.float_rows, q_slack, codes.rests, float(codes.step),
        float(codes.rests.max(initial=0.0)),
    )  # fmt: skip


def _code_arguments(tables, X):
    """The ``codes`` tuple of the euclidean kernel: the codes of the training
    rows and of the queries ``X`` (empty arrays for uint8 rows)."""
    codes = tables.codes
    if codes is None:
        none = np.empty((0, 0), dtype=np.uint8)
        ints, floats = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return none, ints, floats, none, ints, floats, 1.0
    q_codes, q_sqnorms, q_slack = codes.query_codes(X, tables.unit)
    return (
        codes.codes, codes.sqnorms, codes.rests, q_codes, q_sqnorms, q_slack,
        float(codes.step),
    )  # fmt: skip


def search(spec, route, X, tables, exclude_self, aux_x, aux_y, keys, idx, run):
    """Fill the heaps ``keys``/``idx`` of every query by the pruned search;
    False, with nothing done, for float queries whose projections lie beyond
    the range the bounds take (brute force serves them).

    ``route`` is the route of the metric and ``tables`` its bound tables;
    ``run(search_block)`` calls ``search_block(start, stop)`` on the blocks
    of queries, in the spine's threads (``_search._run``); here a block is a
    run of positions in the order of the queries' bounds.
    """
    from ._kernels import _pruned_l1, _pruned_l2

    Y = tables.rows
    if (tables.codes is None) != (route in (_L1_ROUTE, _L2_ROUTE, _COSINE_ROUTE)):
        # The kernels read the codes of float routes: never without them.
        raise ValueError(f"bound tables of the wrong kind for the route {route}")
    if route in (_L1_ROUTE, _FLOAT_L1_ROUTE):
        floats = _float_arguments(tables, X)
        if tables.codes is not None:  # the walk runs on the codes
            X = floats[1]
        q_sums, q_coarse, q_fine = tables.query_tables(X)
        (_, m0, _), (_, m1, _) = tables.groups
        b0, b1 = tables.offsets()
        kernel = _pruned_l1.pruned_l1_rows
        common = (
            bool(exclude_self), keys, idx, tables.order, tables.sums, q_sums,
            tables.coarse_t, q_coarse, m0, b0, tables.fine, q_fine, m1, b1,
            floats,
        )  # fmt: skip
        q_order = np.argsort(q_sums, kind="stable")
    else:
        q_coarse, q_fine = tables.query_tables(X)
        if not np.all(np.abs(q_fine) <= _MAX_QUERY_UNITS):  # NaN too
            return False
        kernel = _pruned_l2.entry_point(*route)
        # Float rows are searched in training order (see ProjectionTables).
        uint8 = tables.codes is None
        sorted_aux = aux_y[tables.order] if aux_y.size and uint8 else aux_y
        common = (
            bool(exclude_self), aux_x, sorted_aux, keys, idx,
            tables.order, tables.slabs, tables.slab_low, tables.slab_high,
            tables.second, tables.coarse_pairs, q_coarse, tables.fine, q_fine,
            1.0 / tables.scale, _code_arguments(tables, X),
        )  # fmt: skip
        q_order = tables.query_order(q_fine)

    run(lambda start, stop: kernel(X, Y, q_order, start, stop, *common))
    return True
