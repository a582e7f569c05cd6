"""The metric registry: every metric name is interpreted here and nowhere else.

Each metric is one :class:`Metric` record naming, for each kind of data pair,
its route through the kernels (the tile that accumulates a value per pair and
the rule that turns it into a heap key) and the finishing step that turns the
final keys into distances. Ranking happens on the cheapest exact key (squared
euclidean, the ``p``-th power for Minkowski); only the returned ``k`` are
finished.
"""

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ._kernels import _codes as c
from ._sparse import _codes as s

__all__ = ["METRIC_ALIASES", "Metric", "check_sparse_metric", "resolve_metric"]


@dataclass(frozen=True)
class Metric:
    """How one metric is computed.

    Attributes
    ----------
    name : str
        The distance computed, as ``effective_metric_`` reports it.
    uint8 : (int, int)
        ``(tile, key)`` codes for uint8 queries against uint8 training rows.
    integer : (int, int)
        The route for other pairs of integer arrays (int64 arithmetic).
    floating : (int, int)
        The route when either side holds floats (float64 arithmetic).
    finish : {'none', 'sqrt', 'root'}
        Step from the final keys to distances.
    pruned : {'l1', 'l2', 'cosine'} or None
        The family of the pruned search (:mod:`._pruned`) that serves the
        metric on uint8 and float training rows: bounds from group means
        (``'l1'``), from projections on principal directions (``'l2'``), or
        from those of the unit rows (``'cosine'``); None where only brute
        force serves.
    """

    name: str
    uint8: tuple
    integer: tuple
    floating: tuple
    finish: str = "none"
    pruned: str | None = None
    sparse: tuple | None = None

    def route(self, query_dtype, train_dtype, n_features=0):
        """``(tile, key)`` for queries of ``query_dtype`` against training
        rows of ``train_dtype`` with ``n_features`` columns."""
        if query_dtype == np.uint8 and train_dtype == np.uint8:
            tile, key = self.uint8
            if tile == c.TILE_DOT_U8 and n_features > c.WIDE_BYTES:
                return c.TILE_DOT_U8_WIDE, key
            return tile, key
        if query_dtype.kind in "iu" and train_dtype.kind in "iu":
            return self.integer
        return self.floating

    def key_dtype(self, query_dtype, train_dtype):
        """int64 for exact integer keys (raw sums of integer rows, which for
        int32 data can exceed 2**53, and squared distances from the exact
        dots of uint8 rows), float64 otherwise."""
        tile, key = self.route(query_dtype, train_dtype)
        integer = query_dtype.kind in "iu" and train_dtype.kind in "iu"
        exact = key in (c.KEY_RAW, c.KEY_SQL2_FROM_DOT) and tile != c.TILE_LP
        return np.dtype(np.int64 if integer and exact else np.float64)

    def distances(self, keys, p):
        """Distances (float64) from the sorted keys of the final neighbours."""
        if self.finish == "sqrt":
            return np.sqrt(keys.astype(np.float64))
        if self.finish == "root":
            return keys ** (1.0 / p)
        return keys.astype(np.float64, copy=False)


_L1 = (c.TILE_L1, c.KEY_RAW)
_SQL2 = (c.TILE_SQL2, c.KEY_RAW)
_SQL2_U8 = (c.TILE_DOT_U8, c.KEY_SQL2_FROM_DOT)

_REGISTRY = {
    "manhattan": Metric(
        "manhattan",
        (c.TILE_SAD_U8, c.KEY_RAW),
        _L1,
        _L1,
        pruned="l1",
        sparse=(s.FAMILY_L1, s.KEY_L1),
    ),
    "euclidean": Metric(
        "euclidean",
        _SQL2_U8,
        _SQL2,
        _SQL2,
        finish="sqrt",
        pruned="l2",
        sparse=(s.FAMILY_DOT, s.KEY_SQL2),
    ),
    "sqeuclidean": Metric(
        "sqeuclidean",
        _SQL2_U8,
        _SQL2,
        _SQL2,
        pruned="l2",
        sparse=(s.FAMILY_DOT, s.KEY_SQL2),
    ),
    "cosine": Metric(
        "cosine",
        (c.TILE_DOT_U8, c.KEY_COSINE_INT),
        (c.TILE_DOT, c.KEY_COSINE_INT),
        (c.TILE_CHORD, c.KEY_CHORD),
        pruned="cosine",
        sparse=(s.FAMILY_DOT, s.KEY_COSINE),
    ),
    "chebyshev": Metric("chebyshev", *[(c.TILE_LINF, c.KEY_RAW)] * 3),
    "minkowski": Metric("minkowski", *[(c.TILE_LP, c.KEY_RAW)] * 3, finish="root"),
}

#: Every accepted metric name and the registry entry it means.
METRIC_ALIASES = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "sqeuclidean": "sqeuclidean",
    "manhattan": "manhattan",
    "l1": "manhattan",
    "cityblock": "manhattan",
    "cosine": "cosine",
    "chebyshev": "chebyshev",
    "minkowski": "minkowski",
}

# Minkowski powers that are another metric.
_MINKOWSKI_SPECIAL = {1.0: "manhattan", 2.0: "euclidean", math.inf: "chebyshev"}


def resolve_metric(metric, p=2):
    """Return ``(Metric, p)`` for a metric name and Minkowski power.

    Aliases are resolved, and Minkowski with ``p`` of 1, 2 or infinity is the
    manhattan, euclidean or chebyshev metric. ``p`` is only checked (a real
    number >= 1, or infinity) for ``metric='minkowski'``.
    """
    if not isinstance(metric, str) or metric not in METRIC_ALIASES:
        raise ValueError(
            f"metric must be one of {sorted(METRIC_ALIASES)}. Got {metric!r} instead."
        )
    name = METRIC_ALIASES[metric]
    if name != "minkowski":
        return _REGISTRY[name], 2.0
    if isinstance(p, bool) or not isinstance(p, Real) or not p >= 1:
        raise ValueError(
            f"p must be a real number >= 1 (or infinity) for the minkowski metric. "
            f"Got {p!r} instead."
        )
    p = float(p)
    return _REGISTRY[_MINKOWSKI_SPECIAL.get(p, "minkowski")], p


def sparse_metric_names():
    """The metric names (aliases included) that sparse rows are searched with."""
    return sorted(
        name
        for name, entry in METRIC_ALIASES.items()
        if entry != "minkowski" and _REGISTRY[entry].sparse is not None
    )


def check_sparse_metric(record):
    """Raise a ValueError unless the metric ``record`` serves sparse rows."""
    if record.sparse is None:
        names = ", ".join(repr(name) for name in sparse_metric_names())
        raise ValueError(
            f"Metric {record.name!r} not valid for sparse input. Sparse data is "
            f"searched with the metrics {names}, or 'minkowski' with p=1 or p=2; "
            "convert X to a dense array (X.toarray()) to use the others."
        )
