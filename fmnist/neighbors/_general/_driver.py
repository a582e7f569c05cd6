"""The generic search of a planned search: checks, then compiled or Python.

:func:`search` fills the heaps of a :class:`~.._plan.SearchPlan` for a metric
that has no SIMD tile: with the compiled kernel (:mod:`._kernel`) for the
registry's per-pair distances and numba-compiled callables, or, for a plain
Python callable, with :func:`sklearn.metrics.pairwise_distances` on chunks
of queries (within scikit-learn's ``working_memory``) whose distances are
offered to the same heaps.
"""

import numpy as np

from .._kernels._heap import heap_sort_rows
from ._kernel import Rows, offer_block, search_rows, user_pair_distance
from ._params import check_arguments

__all__ = ["python_metric_kneighbors", "search"]


def search(plan, metric, arguments, metric_params=None):
    """Fill and sort the heaps of ``plan`` with the distance of ``metric``
    (a ``Metric`` record with ``general`` set) and its ``arguments``;
    ``metric_params`` go to a Python callable as keyword arguments."""
    check_arguments(metric, arguments, plan.Y.shape[1])
    if metric.general == "python":
        _search_python(plan, metric.function, metric_params or {})
        return
    from ._distances import PAIR_DISTANCES, PREPARATIONS, keep

    if metric.general == "numba":
        distance = user_pair_distance(metric.function)
    else:
        distance = PAIR_DISTANCES[metric.general]
    prepare = PREPARATIONS.get(metric.general, keep)
    rows = Rows(plan.X, plan.Y, arguments)
    heaps = plan.heaps()

    def search_block(b0, b1):
        search_rows(distance, prepare, rows, heaps, plan.blocks(b0, b1))

    plan.run(search_block)


def _search_python(plan, function, metric_params):
    """Chunks of :func:`~sklearn.metrics.pairwise_distances` with the
    callable, as scikit-learn's brute force computes them: all training rows
    against as many queries as scikit-learn's ``working_memory`` holds, on
    one thread (the callable holds the GIL)."""
    from sklearn import get_config
    from sklearn.metrics import DistanceMetric, pairwise_distances

    X, Y = plan.X, plan.Y
    heaps = plan.heaps()
    n_queries, n_train = X.shape[0], Y.shape[0]
    budget = int(get_config()["working_memory"] * (1 << 20))
    q_block = max(1, budget // (8 * n_train))
    Yf = Y.astype(np.float64)
    nan_pairs = set()
    for b0 in range(0, n_queries, q_block):
        b1 = min(b0 + q_block, n_queries)
        if isinstance(function, DistanceMetric):
            D = function.pairwise(X[b0:b1].astype(np.float64), Yf)
        else:
            D = pairwise_distances(
                X[b0:b1].astype(np.float64),
                Yf,
                metric=function,
                ensure_all_finite=False,
                **metric_params,
            )
        D = np.ascontiguousarray(D, dtype=np.float64)
        offer_block(D, b0, 0, heaps)
        nan_rows, nan_cols = np.nonzero(np.isnan(D))
        nan_pairs.update(zip(nan_rows + b0, nan_cols))
    heap_sort_rows(plan.keys, plan.idx, 0, n_queries)
    # The heaps rank NaN as +inf: give the NaN distances back.
    for q, j in nan_pairs:
        plan.keys[q][plan.idx[q] == j] = np.nan


def python_metric_kneighbors(X, Y, spec, n_neighbors, exclude_self):
    """``(distances, indices)`` of a plain Python callable metric on sparse
    rows, which it is given as they are (scipy CSR rows), as scikit-learn's
    brute force gives them: chunks of queries within ``working_memory``,
    each row's ``n_neighbors`` smallest by (distance, index)."""
    from sklearn import get_config
    from sklearn.metrics import pairwise_distances

    n_queries, n_train = X.shape[0], Y.shape[0]
    budget = int(get_config()["working_memory"] * (1 << 20))
    q_block = max(1, budget // (8 * n_train))
    dist = np.empty((n_queries, n_neighbors))
    ind = np.empty((n_queries, n_neighbors), dtype=np.intp)
    for b0 in range(0, n_queries, q_block):
        b1 = min(b0 + q_block, n_queries)
        D = pairwise_distances(
            X[b0:b1],
            Y,
            metric=spec.metric.function,
            ensure_all_finite=False,
            **(spec.metric_params or {}),
        ).astype(np.float64)
        if exclude_self:
            rows = np.arange(b1 - b0)
            D[rows, b0 + rows] = np.inf
        # NaN ranks last, as in the heaps; a stable sort keeps ties in order.
        order = np.argsort(np.where(np.isnan(D), np.inf, D), axis=1, kind="stable")
        ind[b0:b1] = order[:, :n_neighbors]
        dist[b0:b1] = np.take_along_axis(D, ind[b0:b1], axis=1)
    return dist, ind
