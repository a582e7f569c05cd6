"""Exact radius search: every training row within a radius of each query.

:func:`radius_search` is the radius counterpart of :func:`._search.search`:
the same validation of the arrays, the same route, per-row values, blocks
and threads, and the same keys, computed by brute force
(:mod:`._brute._radius`) one block of queries at a time, so memory holds one
block's pairs and the result, never the query x training distance matrix.
Where the pruned search serves the data, it first answers the queries with
few neighbours within the radius (see :func:`radius_search`).

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

from . import _pruned
from ._kernels import _codes
from ._plan import TrainingRows, row_values, run_blocks
from ._search import plan_blocks, resolve_threads, search, validate_arrays

__all__ = ["check_radius", "key_limit", "radius_search"]

#: Neighbours a pruned kNN search finds first for every query, where the
#: pruned search serves (see :func:`radius_search`).
FIRST_NEIGHBORS = 32

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

    Where the pruned search serves the data (:func:`._pruned.applies`), the
    :data:`FIRST_NEIGHBORS` nearest of every query are found with it first:
    a query whose last one lies beyond the radius has all its neighbours
    within the radius among them. The other queries, and every query
    elsewhere, go to the radius kernel. Both give the same distances, bit
    for bit, so the answer does not depend on the path.

    Parameters
    ----------
    spec : SearchSpec
        Metric, power, blocks, threads and algorithm.
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
    options = (bool(exclude_self), bool(sort_results), training)
    if X.shape[0] and Y.shape[0] > exclude_self and _pruned.applies(spec, X, Y):
        parts = _pruned_first(spec, X, Y, radius, *options)
    else:
        parts = [(np.arange(X.shape[0]), *_by_kernel(spec, X, Y, radius, *options))]
    return _in_query_order(X.shape[0], parts)


def _pruned_first(spec, X, Y, radius, exclude_self, sort_results, training):
    """The parts (see :func:`_in_query_order`) of the queries answered by the
    pruned kNN search and of the others, answered by the kernel."""
    k = min(FIRST_NEIGHBORS, Y.shape[0] - exclude_self)
    dist, ind = search(
        spec, X, Y, k, exclude_self=exclude_self, reuse=False, training=training
    )
    # Done: the k-th nearest is beyond the radius, or k is every row.
    done = (dist[:, -1] > radius) | (k == Y.shape[0] - exclude_self)
    dist, ind = dist[done], ind[done]
    kept = dist <= radius  # a prefix of each row, sorted by (distance, index)
    counts = kept.sum(axis=1)
    dist, ind = dist[kept], ind[kept]
    if not sort_results:
        order = np.lexsort((ind, np.repeat(np.arange(counts.shape[0]), counts)))
        dist, ind = dist[order], ind[order]
    parts = [(np.flatnonzero(done), counts, dist, ind)]
    rest = np.flatnonzero(~done)
    if rest.size:
        # Gathered, the rest are no longer the training rows they were: each
        # drops its own row afterwards.
        options = (False, sort_results, training)
        counts, dist, ind = _by_kernel(spec, X[rest], Y, radius, *options)
        if exclude_self:
            owner = np.repeat(np.arange(rest.size), counts)
            kept = ind != rest[owner]
            dist, ind = dist[kept], ind[kept]
            counts = np.bincount(owner[kept], minlength=rest.size)
        parts.append((rest, counts, dist, ind))
    return parts


def _in_query_order(n_queries, parts):
    """``(indptr, distances, indices)`` of all queries from ``parts``, each
    ``(queries, counts, distances, indices)``: the results of the queries
    ``queries``, ``counts[r]`` of them for query ``queries[r]``, in order."""
    counts = np.zeros(n_queries, dtype=np.intp)
    for queries, part_counts, _, _ in parts:
        counts[queries] = part_counts
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    if len(parts) == 1 and np.array_equal(parts[0][0], np.arange(n_queries)):
        return indptr, parts[0][2], parts[0][3].astype(np.intp, copy=False)
    distances = np.empty(indptr[-1], dtype=np.float64)
    indices = np.empty(indptr[-1], dtype=np.intp)
    for queries, part_counts, part_dist, part_ind in parts:
        first = np.cumsum(part_counts) - part_counts
        shift = np.repeat(indptr[queries] - first, part_counts)
        at = np.arange(part_ind.shape[0]) + shift
        distances[at] = part_dist
        indices[at] = part_ind
    return indptr, distances, indices


def _by_kernel(spec, X, Y, radius, exclude_self, sort_results, training):
    """``(counts, distances, indices)`` of every query from the radius
    kernel, run on one block of queries at a time."""
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
            exclude_self,
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
    counts = np.concatenate([np.empty(0, np.intp)] + [part[0] for part in parts])
    distances = np.concatenate([np.empty(0)] + [part[1] for part in parts])
    indices = np.concatenate([np.empty(0, np.intp)] + [part[2] for part in parts])
    return counts.astype(np.intp, copy=False), distances, indices


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
