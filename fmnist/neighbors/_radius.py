"""Exact radius search: every training row within a radius of each query.

:func:`radius_search` is the radius counterpart of :func:`._search.search`:
the same validation of the arrays, the same route, per-row values, blocks
and threads, and the same keys, computed by brute force
(:mod:`._brute._radius`) one block of queries at a time, so memory holds one
block's pairs and the result, never the query x training distance matrix.

The boundary is decided on the distances the search returns: a training row
is kept when the float64 distance the metric's finishing step makes of its
key (``Metric.distances``, as for the k nearest) is at most the radius. The
kernel keeps the keys up to :func:`key_limit`, a bound a little above every
key whose distance can be within the radius; the distances of those pairs
are then made and compared with the radius itself. On uint8 and other
integer rows the keys are exact integers, so the boundary is exact too.
"""

import math
from numbers import Real

import numpy as np

from ._kernels import _codes
from ._plan import TrainingRows, row_values, run_blocks
from ._search import plan_blocks, resolve_threads, validate_arrays

__all__ = ["check_radius", "key_limit", "radius_search"]

_EPS = np.finfo(np.float64).eps
# Relative slack of the Minkowski limit: far above the rounding of the power
# and of its root (a few ulps, times log(key) for the rounded exponent 1/p).
_POWER_SLACK = 1e-9


def check_radius(radius):
    """Raise unless ``radius`` is a real number >= 0 (infinity included)."""
    if isinstance(radius, (bool, np.bool_)) or not isinstance(radius, Real):
        raise TypeError(
            f"radius must be a real number >= 0. Got {radius!r} of type "
            f"{type(radius).__name__} instead."
        )
    if not radius >= 0:  # NaN too
        raise ValueError(f"radius must be a real number >= 0. Got {radius!r} instead.")


def key_limit(metric, p, radius, key_dtype):
    """The largest key :func:`radius_search` passes to its exact test.

    At least every key whose distance (``metric.distances``) is at most
    ``radius``, in ``key_dtype`` (int64 limits are clamped to int64).
    """
    radius = float(radius)
    if metric.finish == "sqrt":
        # A correctly rounded root at most r comes from a key at most
        # r**2 (1 + eps)**2; the key's conversion to float adds one eps more.
        limit = radius * radius * (1 + 8 * _EPS) + 5e-324
    elif metric.finish == "root":
        limit = (radius * (1 + _POWER_SLACK)) ** p * (1 + _POWER_SLACK)
    else:
        # Float keys are the distances; int64 keys round on their conversion.
        limit = radius * (1 + 4 * _EPS)
    if np.dtype(key_dtype) == np.int64:
        top = np.iinfo(np.int64).max
        return np.int64(top if not limit < 2.0**62 else math.floor(limit))
    return np.float64(limit)


def radius_search(
    spec, X, Y, radius, *, exclude_self=False, sort_results=False, training=None
):
    """Every row of ``Y`` within ``radius`` of each row of ``X``, in CSR form.

    Parameters
    ----------
    spec : SearchSpec
        Metric, power, blocks and threads (``algorithm`` is not used: every
        pair is compared).
    X : ndarray of shape (n_queries, n_features)
        Queries in a kernel dtype (:meth:`SearchSpec.query_array`).
    Y : ndarray of shape (n_train, n_features)
        Training rows in a kernel dtype.
    radius : float
        Largest distance kept (included), ``>= 0``.
    exclude_self : bool, default=False
        ``X`` is ``Y``: row ``i`` never gets itself as a neighbour.
    sort_results : bool, default=False
        Order each query's neighbours by distance (then training index)
        instead of by training index.
    training : TrainingRows or None, default=None
        What is derived from ``Y`` and kept between calls; None derives it.

    Returns
    -------
    indptr : ndarray of shape (n_queries + 1,), intp
        Query ``i`` owns positions ``[indptr[i], indptr[i + 1])``.
    distances : ndarray of shape (indptr[-1],), float64
        The distances, each at most ``radius``.
    indices : ndarray of shape (indptr[-1],), intp
        The training rows.
    """
    validate_arrays(X, Y, exclude_self)
    check_radius(radius)
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(Y)
    if training is None or training.rows is not Y:
        training = TrainingRows(Y)
    metric = spec.metric
    route = metric.route(X.dtype, Y.dtype, X.shape[1])
    aux_kind = _codes.KEY_AUX[route[1]]
    aux_y = training.row_values(aux_kind)
    aux_x = aux_y if exclude_self else row_values(aux_kind, X)
    limit = key_limit(metric, spec.p, radius, metric.key_dtype(X.dtype, Y.dtype))
    pairs = _codes.Pairs(X, Y, aux_x, aux_y, float(spec.p))
    n_threads = resolve_threads(spec.n_jobs)
    row_bytes = X.shape[1] * max(X.dtype.itemsize, Y.dtype.itemsize)
    q_block, t_block = plan_blocks(spec.block_size, X.shape[0], row_bytes, n_threads)

    from ._brute import _radius

    kernel = _radius.entry_point(*route)
    found = {}

    def search_blocks(start, stop):
        # One kernel call per block, even on one thread (run_blocks then
        # hands over all the queries at once): memory holds one block's pairs.
        for b0 in range(start, stop, q_block):
            search_block(b0, min(b0 + q_block, stop))

    def search_block(start, stop):
        offsets, keys, rows = kernel(
            pairs,
            limit,
            bool(exclude_self),
            _codes.Blocks(int(start), int(stop), q_block, t_block),
        )
        if route[1] == _codes.KEY_COSINE_INT:
            _radius.settle_cosine(X, Y, start, offsets, keys, rows, aux_x, aux_y)
        found[start] = _within(
            metric, spec.p, radius, offsets, keys, rows, sort_results
        )

    if X.shape[0]:
        run_blocks(search_blocks, X.shape[0], q_block, n_threads)
    parts = [found[start] for start in sorted(found)]
    counts = np.concatenate([[0]] + [part[0] for part in parts]).astype(np.intp)
    distances = np.concatenate([np.empty(0)] + [part[1] for part in parts])
    indices = np.concatenate([np.empty(0, np.intp)] + [part[2] for part in parts])
    return np.cumsum(counts), distances, indices


def _within(metric, p, radius, offsets, keys, rows, sort_results):
    """``(counts, distances, rows)`` of one block's pairs whose distance is
    at most ``radius``, each query's by training index or, with
    ``sort_results``, by (distance, training index)."""
    distances = metric.distances(keys, p)
    owner = np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets))
    kept = distances <= radius
    if not kept.all():
        distances, rows, owner = distances[kept], rows[kept], owner[kept]
    if sort_results:
        order = np.lexsort((rows, distances, owner))
        distances, rows = distances[order], rows[order]
    counts = np.bincount(owner, minlength=offsets.shape[0] - 1)
    return counts, distances, rows
