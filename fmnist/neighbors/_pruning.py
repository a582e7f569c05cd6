"""Exact search with lower-bound pruning: the tables and when it pays.

:mod:`._kernels._bounds` walks the training rows in order of their sums and
rules most of them out with integer lower bounds from sums over groups of
features, before any full distance. This module builds what it walks (the
*bound tables* of a training set) and decides where it applies:

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
only changes how many rows they rule out.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._kernels import _codes

__all__ = ["BoundTables", "MIN_TRAIN_ROWS", "applies", "bound_tables"]

#: ``algorithm='auto'`` prunes from this many training rows.
MIN_TRAIN_ROWS = 2048
#: ``algorithm='auto'`` prunes squared-euclidean searches of at most this
#: many queries. Its bounds are looser than manhattan's: pruning measured
#: 2.5-3x faster than brute force for 1-16 queries, even at 64 and slower
#: from 256 (brute force reads each training row once per block of queries).
AUTO_SQUARED_MAX_QUERIES = 32
#: Fewest features for which the bounds are worth their cost.
MIN_FEATURES = 64
#: Group sides (square images) or sizes (runs), coarse to fine.
_SIDES = (7, 4, 2)
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


def _sums_table(A, groups, n_groups):
    from ._kernels import _bounds

    out = np.zeros((A.shape[0], _padded(n_groups)), dtype=np.int16)
    _bounds.group_sums(A, groups, out)
    return out


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
    coarse_t : ndarray of shape (n_groups_padded, n_train), int16
        Coarsest group sums, group-major.
    fine1, fine2 : ndarray of shape (n_train, n_groups_padded), int16
        Finer group sums, row-major.
    """

    order: np.ndarray
    rows: np.ndarray
    sums: np.ndarray
    groups: tuple
    coarse_t: np.ndarray
    fine1: np.ndarray
    fine2: np.ndarray

    def query_tables(self, X):
        """``(sums, coarse, fine1, fine2)`` of the query rows ``X``."""
        from ._kernels import _bounds

        sums = np.empty(X.shape[0], dtype=np.int64)
        _bounds.row_sums(X, sums)
        tables = [_sums_table(X, groups, n) for groups, _, n in self.groups]
        return (sums, *tables)


def bound_tables(Y):
    """The :class:`BoundTables` of uint8 training rows ``Y``."""
    from ._kernels import _bounds

    sums = np.empty(Y.shape[0], dtype=np.int64)
    _bounds.row_sums(Y, sums)
    order = np.argsort(sums, kind="stable")
    levels = []
    tables = []
    for side in _SIDES:
        groups, size = _group_map(Y.shape[1], side)
        n_groups = int(groups.max()) + 1
        levels.append((groups, size, n_groups))
        tables.append(_sums_table(Y, groups, n_groups)[order])
    return BoundTables(
        order=order,
        rows=Y[order],
        sums=sums[order],
        groups=tuple(levels),
        coarse_t=np.ascontiguousarray(tables[0].T),
        fine1=tables[1],
        fine2=tables[2],
    )


def search(spec, route, X, tables, exclude_self, aux_x, aux_y, keys, idx, run):
    """Fill the heaps ``keys``/``idx`` of every query by the pruned search.

    ``route`` is the uint8 route of the metric; ``run(serial, parallel)``
    calls ``serial(q_block)`` or ``parallel(q_block)`` under the spine's
    thread and lock rules.
    """
    from ._kernels import _bounds

    tile, key = route
    squared = _SQUARED_BY_ROUTE[route]
    q_sums, q_coarse, q_fine1, q_fine2 = tables.query_tables(X)
    (_, m0, _), (_, m1, _), (_, m2, _) = tables.groups
    Y = tables.rows
    aux_y = aux_y[tables.order] if aux_y.size else aux_y
    common = (
        bool(exclude_self), float(spec.p), aux_x, aux_y, keys, idx,
        tables.order, tables.sums, q_sums, tables.coarse_t, q_coarse,
        float(m0), tables.fine1, q_fine1, float(m1), tables.fine2, q_fine2,
        float(m2),
    )  # fmt: skip
    serial, parallel = _bounds.entry_points(tile, key)
    q_order = np.argsort(q_sums, kind="stable")
    run(
        lambda q_block: serial(squared, X, Y, q_order, 0, X.shape[0], *common),
        lambda q_block: parallel(squared, X, Y, q_order, *common, q_block),
    )
