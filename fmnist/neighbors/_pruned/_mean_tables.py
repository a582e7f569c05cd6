"""The manhattan bound tables: byte tables of group means, in order of row sums.

Manhattan bounds with group means, one byte per group: squares of 7x7 and
2x2 pixels when the number of features is a square (a square image;
neighbouring pixels bound best), else runs of 49 and 4 consecutive
features. :mod:`._walk_l1` walks them.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ._code_tables import CodeTables, code_tables, in_range, sorted_codes

#: Group sides (square images) or sizes (runs) of the manhattan tables,
#: coarse to fine (why no 4x4 level: ``docs/design.rst``, "Measured choices").
_SIDES = (7, 2)


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


def mean_table(A, groups, size, n_groups):
    """Group sums of the rows of ``A`` divided by the group size ``size``
    (uint8), padded with zero groups to a multiple of 16."""
    from . import _bounds

    out = np.zeros((A.shape[0], _padded(n_groups)), dtype=np.int16)
    _bounds.group_sums(A, groups, out)
    return (out // size).astype(np.uint8)


def row_sums(A):
    from . import _bounds

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
    codes: CodeTables = None
    float_rows: np.ndarray = None

    def query_tables(self, X):
        """``(sums, coarse, fine)`` of the uint8 query rows ``X``."""
        tables = [mean_table(X, *level) for level in self.groups]
        return (row_sums(X), *tables)

    def offsets(self):
        """``G * (m - 1)`` of each level (``G`` groups of at most ``m``
        features): what a bound from group means gives away."""
        return tuple(n * (size - 1) for _, size, n in self.groups)


def mean_tables(Y):
    sums = row_sums(Y)
    order = np.argsort(sums, kind="stable")
    levels = []
    tables = []
    for side in _SIDES:
        groups, size = _group_map(Y.shape[1], side)
        levels.append((groups, size, int(groups.max()) + 1))
        tables.append(mean_table(Y, *levels[-1])[order])
    return MeanTables(
        order=order,
        rows=Y[order],
        sums=sums[order],
        groups=tuple(levels),
        coarse_t=np.ascontiguousarray(tables[0][:, : levels[0][2]].T),
        fine=tables[1],
    )


def coded_mean_tables(Y):
    """:class:`MeanTables` of float rows ``Y``: those of their uint8 codes."""
    if not in_range(Y):
        return None
    codes = code_tables(Y, unit=False, manhattan=True)
    tables = mean_tables(codes.codes)
    return dataclasses.replace(
        tables, codes=sorted_codes(codes, tables.order), float_rows=Y
    )
