"""Exact search with lower-bound pruning: the tables and when it pays.

:mod:`._kernels._pruned_l1` and :mod:`._kernels._pruned_sql2` walk the
training rows in order of their sums and rule most of them out with integer
lower bounds from sums over groups of features, before any full distance.
This module builds what they walk (the *bound tables* of a training set) and
decides where it applies:

* manhattan, euclidean and squared euclidean (Minkowski ``p`` of 1 and 2
  included), where sums over groups give exact integer bounds;
* uint8 queries against uint8 training rows of at most
  :data:`~._kernels._codes.WIDE_BYTES` features (group sums fit in int16);
* with ``algorithm='auto'``, training sets of at least
  :data:`MIN_TRAIN_ROWS` rows, and for (squared) euclidean batches of at most
  :data:`AUTO_SQUARED_MAX_QUERIES` queries: where it measured faster than
  brute force.

Groups are squares of 7x7, 4x4 and 2x2 pixels when the number of features is
a square (a square image; neighbouring pixels bound best), else runs of 49,
16 and 4 consecutive features. Either way the bounds are exact; the grouping
only changes how many rows they rule out. Manhattan keeps each group as a
byte, its sum divided by the group size (see :mod:`._kernels._pruned_l1`);
squared euclidean keeps the sums (int16).
"""

import math
from dataclasses import dataclass

import numpy as np

from ._kernels import _codes

__all__ = [
    "BoundTables", "MIN_TRAIN_ROWS", "applies", "bound_tables", "uses_means"
]

#: ``algorithm='auto'`` prunes from this many training rows.
MIN_TRAIN_ROWS = 2048
#: ``algorithm='auto'`` prunes squared-euclidean searches of at most this
#: many queries. Its bounds are looser than manhattan's: pruning measured
#: 2.5-3x faster than brute force for 1-16 queries, even at 64 and slower
#: from 256 (brute force reads each training row once per block of queries).
AUTO_SQUARED_MAX_QUERIES = 32
#: Fewest features for which the bounds are worth their cost.
MIN_FEATURES = 64
#: Group sides (square images) or sizes (runs), coarse to fine, of the group
#: sums (squared euclidean) and of the group means (manhattan). A 4x4 level
#: between 7x7 and 2x2 measured slower for manhattan, whose byte bounds are
#: cheap enough that the 2x2 level alone does better after the coarse one.
_SIDES = {False: (7, 4, 2), True: (7, 2)}
#: The uint8 routes of the metric registry that group sums bound, and whether
#: their keys are squared distances (euclidean and squared euclidean) rather
#: than sums of absolute differences (manhattan).
_SQUARED_BY_ROUTE = {
    (_codes.TILE_SAD_U8, _codes.KEY_RAW): False,
    (_codes.TILE_DOT_U8, _codes.KEY_SQL2_FROM_DOT): True,
}


def applies(spec, X, Y):
    """Whether the pruned search serves this search (else brute force)."""
    if spec.algorithm == "brute" or spec.metric.uint8 not in _SQUARED_BY_ROUTE:
        return False
    if X.dtype != np.uint8 or Y.dtype != np.uint8:
        return False
    n_features = Y.shape[1]
    if not MIN_FEATURES <= n_features <= _codes.WIDE_BYTES:
        return False
    if spec.algorithm == "pruned":
        return True
    if Y.shape[0] < MIN_TRAIN_ROWS:
        return False
    squared = _SQUARED_BY_ROUTE[spec.metric.uint8]
    return not squared or X.shape[0] <= AUTO_SQUARED_MAX_QUERIES


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


def _level_table(A, groups, size, n_groups, means):
    """Group sums of the rows of ``A`` (int16), or with ``means`` the sums
    divided by the group size ``size`` (uint8), padded with zero groups."""
    from ._kernels import _bounds

    out = np.zeros((A.shape[0], _padded(n_groups)), dtype=np.int16)
    _bounds.group_sums(A, groups, out)
    return (out // size).astype(np.uint8) if means else out


def uses_means(route):
    """Whether the tables of ``route`` hold group means (manhattan) rather
    than group sums (squared euclidean)."""
    return not _SQUARED_BY_ROUTE[route]


@dataclass(frozen=True)
class BoundTables:
    """The bound tables of one uint8 training set, in order of row sums.

    The tables are a snapshot of the training rows when they were built, as
    a tree index is: the rows themselves are kept, in sorted order.

    Attributes
    ----------
    order : ndarray of shape (n_train,), intp
        Training row at each sorted position.
    rows : ndarray of shape (n_train, n_features), uint8
        The training rows in sorted order.
    sums : ndarray of shape (n_train,), int64
        Row sums, ascending.
    groups : tuple of (ndarray, int, int)
        For each level, coarse to fine: the group of each feature, the
        largest group size and the number of groups.
    coarse_t : ndarray of shape (n_groups, n_train)
        Coarsest level, group-major.
    fine : tuple of ndarray of shape (n_train, n_groups_padded)
        Finer levels, row-major, padded with zero groups to a multiple of 16:
        4x4 and 2x2 for group sums, 2x2 for group means.
    means : bool
        The levels hold group means (uint8) rather than group sums (int16).
    """

    order: np.ndarray
    rows: np.ndarray
    sums: np.ndarray
    groups: tuple
    coarse_t: np.ndarray
    fine: tuple
    means: bool

    def query_tables(self, X):
        """``(sums, coarse, *fine)`` of the query rows ``X``."""
        from ._kernels import _bounds

        sums = np.empty(X.shape[0], dtype=np.int64)
        _bounds.row_sums(X, sums)
        tables = [
            _level_table(X, groups, size, n, self.means)
            for groups, size, n in self.groups
        ]
        return (sums, *tables)

    def offsets(self):
        """``G * (m - 1)`` of each level (``G`` groups of at most ``m``
        features): what a bound from group means gives away."""
        return tuple(n * (size - 1) for _, size, n in self.groups)


def bound_tables(Y, means=False):
    """The :class:`BoundTables` of uint8 training rows ``Y``: group sums, or
    with ``means`` group means."""
    from ._kernels import _bounds

    sums = np.empty(Y.shape[0], dtype=np.int64)
    _bounds.row_sums(Y, sums)
    order = np.argsort(sums, kind="stable")
    levels = []
    tables = []
    for side in _SIDES[means]:
        groups, size = _group_map(Y.shape[1], side)
        n_groups = int(groups.max()) + 1
        levels.append((groups, size, n_groups))
        tables.append(_level_table(Y, groups, size, n_groups, means)[order])
    return BoundTables(
        order=order,
        rows=Y[order],
        sums=sums[order],
        groups=tuple(levels),
        coarse_t=np.ascontiguousarray(tables[0][:, : levels[0][2]].T),
        fine=tuple(tables[1:]),
        means=means,
    )


def search(spec, route, X, tables, exclude_self, aux_x, aux_y, keys, idx, run):
    """Fill the heaps ``keys``/``idx`` of every query by the pruned search.

    ``route`` is the uint8 route of the metric and ``tables`` its
    :class:`BoundTables` (group means for manhattan, sums otherwise);
    ``run(serial, parallel)`` calls ``serial(q_block)`` or
    ``parallel(q_block)`` under the spine's thread and lock rules.
    """
    from ._kernels import _pruned_l1, _pruned_sql2

    q_sums, q_coarse, *q_fine = tables.query_tables(X)
    Y = tables.rows
    q_order = np.argsort(q_sums, kind="stable")
    if tables.means:
        (_, m0, _), (_, m1, _) = tables.groups
        b0, b1 = tables.offsets()
        common = (
            bool(exclude_self), keys, idx, tables.order, tables.sums, q_sums,
            tables.coarse_t, q_coarse, m0, b0, tables.fine[0], q_fine[0], m1, b1,
        )  # fmt: skip
        run(
            lambda q_block: _pruned_l1.pruned_l1_rows(
                X, Y, q_order, 0, X.shape[0], *common
            ),
            lambda q_block: _pruned_l1.pruned_l1_rows_parallel(
                X, Y, q_order, *common, q_block
            ),
        )
        return
    (_, m0, _), (_, m1, _), (_, m2, _) = tables.groups
    tile, key = route
    aux_y = aux_y[tables.order] if aux_y.size else aux_y
    common = (
        bool(exclude_self), float(spec.p), aux_x, aux_y, keys, idx,
        tables.order, tables.sums, q_sums, tables.coarse_t, q_coarse,
        float(m0), tables.fine[0], q_fine[0], float(m1), tables.fine[1],
        q_fine[1], float(m2),
    )  # fmt: skip
    serial, parallel = _pruned_sql2.entry_points(tile, key)
    run(
        lambda q_block: serial(X, Y, q_order, 0, X.shape[0], *common),
        lambda q_block: parallel(X, Y, q_order, *common, q_block),
    )
