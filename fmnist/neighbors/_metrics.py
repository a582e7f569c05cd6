"""The metric registry: every metric name is interpreted here and nowhere else.

Each metric is one :class:`Metric` record. A metric with SIMD tiles names,
for each kind of data pair, its route through the kernels (the tile that
accumulates a value per pair and the rule that turns it into a heap key); any
other names its per-pair distance in :mod:`._general` (``general``) and the
``metric_params`` it takes. The finishing step turns the final keys into
distances. Ranking happens on the cheapest exact key (squared euclidean, the
``p``-th power for Minkowski); only the returned ``k`` are finished. A
callable ``metric`` becomes a record of its own (:func:`callable_metric`).
"""

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ._kernels import _codes as c
from ._sparse import _codes as s

__all__ = [
    "BOOLEAN_METRICS",
    "METRIC_ALIASES",
    "Metric",
    "callable_metric",
    "check_sparse_metric",
    "is_metric_object",
    "resolve_metric",
]


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
    general : str or None
        The per-pair distance of :mod:`._general` that serves the metric
        (one of ``_general.PAIR_DISTANCES``, or ``'numba'`` and ``'python'``
        for callables); None for the tiled metrics.
    params : tuple of str
        The ``metric_params`` the metric takes besides ``p``.
    boolean : bool
        Samples are compared as booleans (nonzero is True), as scikit-learn
        converts them for these metrics.
    n_features : int or None
        The only number of features the metric is defined for.
    function : callable or None
        A callable ``metric``: ``function(x, y, **metric_params)``.
    """

    name: str
    uint8: tuple = None
    integer: tuple = None
    floating: tuple = None
    finish: str = "none"
    pruned: str | None = None
    general: str | None = None
    params: tuple = ()
    boolean: bool = False
    n_features: int | None = None
    function: object = None
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
        if self.general is not None:
            return np.dtype(np.float64)
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
        if self.finish == "haversine":
            return 2.0 * np.arcsin(np.sqrt(keys))
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
    # Served by the generic search (``._general``): one per-pair distance each.
    "weighted_minkowski": Metric(
        "minkowski", finish="root", general="weighted_minkowski", params=("w",)
    ),
    "braycurtis": Metric("braycurtis", general="braycurtis"),
    "canberra": Metric("canberra", general="canberra"),
    "correlation": Metric("correlation", general="correlation"),
    "seuclidean": Metric(
        "seuclidean", finish="sqrt", general="seuclidean", params=("V",)
    ),
    "mahalanobis": Metric(
        "mahalanobis", finish="sqrt", general="mahalanobis", params=("V", "VI")
    ),
    "haversine": Metric(
        "haversine", finish="haversine", general="haversine", n_features=2
    ),
    "nan_euclidean": Metric("nan_euclidean", general="nan_euclidean"),
    "hamming": Metric("hamming", general="hamming"),
    **{
        name: Metric(name, general=name, boolean=True)
        for name in (
            "dice",
            "jaccard",
            "rogerstanimoto",
            "russellrao",
            "sokalsneath",
            "yule",
        )
    },
}

#: The metrics that compare samples as booleans.
BOOLEAN_METRICS = tuple(name for name, m in _REGISTRY.items() if m.boolean)

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
    **{
        name: name
        for name, record in _REGISTRY.items()
        if record.general is not None and name != "weighted_minkowski"
    },
}

# Minkowski powers that are another metric.
_MINKOWSKI_SPECIAL = {1.0: "manhattan", 2.0: "euclidean", math.inf: "chebyshev"}


def resolve_metric(metric, p=2, weighted=False):
    """Return ``(Metric, p)`` for a metric name and Minkowski power.

    Aliases are resolved, and Minkowski with ``p`` of 1, 2 or infinity is the
    manhattan, euclidean or chebyshev metric unless it is ``weighted`` (has
    weights ``w``). ``p`` is only checked (a real number > 0, or infinity
    unweighted) for ``metric='minkowski'``. A callable ``metric`` is
    :func:`callable_metric`.
    """
    if is_metric_object(metric):
        return callable_metric(metric), 2.0
    if not isinstance(metric, str) or metric not in METRIC_ALIASES:
        raise ValueError(
            f"metric must be one of {sorted(METRIC_ALIASES)} or a callable. "
            f"Got {metric!r} instead."
        )
    name = METRIC_ALIASES[metric]
    if name != "minkowski":
        return _REGISTRY[name], 2.0
    if isinstance(p, bool) or not isinstance(p, Real) or not p > 0:
        raise ValueError(
            "p must be a real number > 0 (or infinity) for the minkowski metric. "
            f"Got {p!r} instead."
        )
    p = float(p)
    if weighted:
        if math.isinf(p):
            raise ValueError(
                "The weighted minkowski metric requires a finite p. "
                "For p=inf, use metric='chebyshev'."
            )
        return _REGISTRY["weighted_minkowski"], p
    return _REGISTRY[_MINKOWSKI_SPECIAL.get(p, "minkowski")], p


def is_metric_object(metric):
    """Whether ``metric`` is a callable or a scikit-learn ``DistanceMetric``
    (the metrics that are objects, not names)."""
    from sklearn.metrics import DistanceMetric

    return callable(metric) or isinstance(metric, DistanceMetric)


def callable_metric(function):
    """The record of a callable ``metric``: run inside the compiled search
    when it is a numba dispatcher (``numba.njit``), else called on blocks
    of samples through :func:`sklearn.metrics.pairwise_distances` (a
    scikit-learn ``DistanceMetric``: through its ``pairwise``)."""
    general = "numba" if _is_numba_dispatcher(function) else "python"
    return Metric(
        getattr(function, "__name__", type(function).__name__),
        general=general,
        function=function,
    )


def _is_numba_dispatcher(function):
    """Whether ``function`` is compiled by ``numba.njit`` (numba is only
    imported when it already is)."""
    import sys

    numba = sys.modules.get("numba")
    if numba is None:
        return False
    from numba.core.dispatcher import Dispatcher

    return isinstance(function, Dispatcher)


def sparse_metric_names():
    """The metric names (aliases included) that sparse rows are searched with."""
    return sorted(
        name
        for name, entry in METRIC_ALIASES.items()
        if entry != "minkowski" and _REGISTRY[entry].sparse is not None
    )


def check_sparse_metric(record):
    """Raise a ValueError unless the metric ``record`` serves sparse rows
    (a plain Python callable does: it is given the sparse rows)."""
    if record.sparse is None and record.general != "python":
        names = ", ".join(repr(name) for name in sparse_metric_names())
        raise ValueError(
            f"Metric {record.name!r} not valid for sparse input. Sparse data is "
            f"searched with the metrics {names}, or 'minkowski' with p=1 or p=2; "
            "convert X to a dense array (X.toarray()) to use the others."
        )
