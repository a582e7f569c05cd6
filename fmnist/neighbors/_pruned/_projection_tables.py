"""The euclidean and cosine bound tables: projections on principal directions.

Euclidean bounds with projections on principal directions of the training
rows, cosine bounds with those of the training rows scaled to unit length
(the cosine distance is half their squared distance). The bounds are exact
within a margin for rounding; the directions only change how many rows
they rule out. :mod:`._walk_l2` walks them.
"""

from dataclasses import dataclass

import numpy as np

from ._code_tables import (
    CodeTables,
    code_tables,
    float_blocks,
    in_range,
    inverse_norms,
    sorted_codes,
)

#: Principal directions of the euclidean tables: all of them for the fine
#: bound, the first ones for the coarse bound (why 24: ``docs/design.rst``,
#: "Measured choices").
_DIRECTIONS = 64
_COARSE_DIRECTIONS = 24
#: Training rows sampled (evenly) for the directions.
_SAMPLE_ROWS = 10_000


def directions(Y, n_directions, unit):
    """Orthonormal columns: the leading eigenvectors of the covariance of
    (a sample of) the rows, scaled to unit length when ``unit``. Any
    orthonormal columns give exact bounds; these give tight ones."""
    from scipy.linalg import eigh

    step = max(1, Y.shape[0] // _SAMPLE_ROWS)
    sample = Y[::step].astype(np.float64)
    if unit:
        sample *= inverse_norms(Y[::step])[:, None]
    sample -= sample.mean(axis=0)
    # Only the leading eigenvectors are computed (LAPACK's syevr on a
    # subset), on the one BLAS thread of ``_dispatch.bound_tables``.
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
    :data:`~._walk_l2.TABLE_ROUNDING` of the exact one and
    within ``[-16000, 16000]`` (:data:`TABLE_MAX`), so that the difference
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
        coarse, fine = project(X, self.basis, self.unit, self.n_coarse)
        coarse = _table_ints(_in_units(coarse, self.scale))
        return _even_columns(coarse), _in_units(fine, self.scale)

    def query_order(self, q_fine):
        """The order to search the queries in, from their fine projections
        ``q_fine``: by the slab their first projection falls in, then by the
        second, up and down in turn.

        A query's walk visits, in each slab, the window of rows whose
        second projection is near its own, so consecutive queries in this
        order walk nearly the same windows, which are then in cache."""
        from ._walk_l2 import home_slabs

        # The slab each query's walk starts from, by the kernel's own rule.
        home = home_slabs(self.slab_low, np.ascontiguousarray(q_fine[:, 0]))
        second = q_fine[:, 1] if self.basis.shape[1] > 1 else np.zeros(len(home))
        return np.lexsort((np.where(home % 2 == 1, -second, second), home))


def project(A, basis, unit, n_coarse, rows=4096):
    """``(coarse, fine)`` projection tables of the rows of ``A`` (scaled to
    unit length when ``unit``) on the orthonormal columns of ``basis``.

    Each bound on a set of directions ``P`` comes with the norm of the rest
    of each row outside them, ``r = sqrt(|a|^2 - |P'a|^2)``: the rest of
    ``x - y`` is at least as long as ``|r_x - r_y|``, so
    ``|P'(x - y)|^2 + (r_x - r_y)^2`` is still a lower bound. ``coarse`` is
    the projection on the first ``n_coarse`` directions and its rest;
    ``fine`` the projection on all directions and its rest.

    The rests are computed in float64 (so that the rounding the margins of
    :mod:`._walk_l2` must cover is the float32 result, and the
    cancellation in the rest: about 3e-7 of the row's norm for rows of up
    to 1024 features), ``rows`` rows at a time so that no float64 copy of
    ``A`` is made."""
    n_directions = basis.shape[1]
    fine = np.empty((A.shape[0], n_directions + 1), dtype=np.float32)
    coarse = np.empty((A.shape[0], n_coarse + 1), dtype=np.float32)
    for start, block in float_blocks(A, unit, rows):
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
TABLE_MAX = 16_000


def _in_units(table, scale):
    """``table / scale`` (float32)."""
    return (table / np.float32(scale)).astype(np.float32)


def _table_ints(table):
    """Values in table units rounded to int16, clipped to ``[-TABLE_MAX,
    TABLE_MAX]`` (a no-op for the training rows, whose largest value sets
    the scale; for a query it only lowers a bound, as every table value
    lies in that range)."""
    return np.clip(np.rint(table), -TABLE_MAX, TABLE_MAX).astype(np.int16)


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


def in_pairs(table):
    """The columns of ``table`` (rows x columns) in pairs, pair-major:
    ``out[p, i] = (table[i, 2p], table[i, 2p + 1])``, with a zero column
    added to an odd count."""
    even = _even_columns(table)
    pairs = even.reshape(len(even), even.shape[1] // 2, 2)
    return np.ascontiguousarray(pairs.transpose(1, 0, 2))


def projection_tables(Y, unit):
    """:class:`ProjectionTables` of the rows ``Y``, or None for float rows
    beyond :data:`MAX_FLOAT_SCALE` (brute force serves them)."""
    if not in_range(Y):
        return None
    n_directions = min(_DIRECTIONS, Y.shape[1])
    basis = directions(Y, n_directions, unit)
    n_coarse = min(_COARSE_DIRECTIONS, n_directions)
    coarse, fine = project(Y, basis, unit, n_coarse)
    # A training set of zeros has any scale.
    largest = max(float(np.abs(t).max(initial=0.0)) for t in (coarse, fine))
    scale = largest / TABLE_MAX if largest > 0 else 1.0
    coarse, fine = _in_units(coarse, scale), _in_units(fine, scale)
    second = fine[:, 1] if n_directions > 1 else np.zeros(len(fine), np.float32)
    by_lead = np.argsort(fine[:, 0], kind="stable")
    slabs = np.append(np.arange(0, len(fine), SLAB_ROWS), len(fine)).astype(np.int64)
    order = np.concatenate(
        [
            part[np.argsort(second[part], kind="stable")]
            for part in np.split(by_lead, slabs[1:-1])
        ]
    )
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
        coarse_pairs=in_pairs(_with_zero_rows(_table_ints(coarse[order]), 64)),
        fine=_table_ints(fine),
        unit=unit,
        codes=sorted_codes(code_tables(Y, unit), order) if floating else None,
    )
