"""Exact kNN search and prediction with the training set sharded over workers.

Every shard is searched with the same spine as on one machine
(:func:`fmnist.neighbors.search`) from the same
:class:`~fmnist.neighbors.SearchSpec`; the per-shard lists are merged by
(distance, global index), so the result is the single-machine one, ties
included.
"""

from dataclasses import replace

import numpy as np
from sklearn.utils import check_array

from .._images import flatten_image_stack
from ..neighbors import (
    BlockKNNClassifier,
    SearchSpec,
    check_n_neighbors,
    merge_topk,
    search,
)
from ._cluster import require_distributed
from ._shards import (
    TrainingShards,
    _require_dense,
    as_kernel_array,
    scatter_shards,
)

__all__ = ["sharded_kneighbors", "sharded_predict"]


def _worker_threads():
    """Thread slots of the dask worker running the current task (1 elsewhere)."""
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return 1


def _search_shard(shard, X_query, offset, n_neighbors, spec):
    """Exact top-k of ``X_query`` in one shard, with global training indices."""
    if spec.n_jobs is None:
        spec = replace(spec, n_jobs=_worker_threads())
    k = min(n_neighbors, shard.shape[0])
    dist, ind = search(spec, X_query, shard, k)
    return dist, ind + offset


def _reduce_pairwise(submit, parts, n_neighbors):
    """Merge per-shard results in a balanced binary tree.

    ``submit(func, *args)`` runs one merge; with a dask client it returns a
    future, so the merges run on the workers and only the final top-k lists
    travel to the client.
    """
    parts = list(parts)
    while len(parts) > 1:
        merged = [
            submit(merge_topk, a, b, n_neighbors)
            for a, b in zip(parts[0::2], parts[1::2])
        ]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]


def _check_search(train_shape, query_shape, n_neighbors):
    """Check shapes and ``n_neighbors`` before anything is sent."""
    if query_shape[1] != train_shape[1]:
        raise ValueError(
            f"X_query has {query_shape[1]} features, but the training set has "
            f"{train_shape[1]} features."
        )
    check_n_neighbors(n_neighbors, train_shape[0], n_samples=query_shape[0])


def _run_sharded(client, shards, spec, X_query, n_neighbors, timeout):
    """Search spec-converted queries in placed shards; merge on the workers."""
    if X_query.shape[0] == 0:
        return np.empty((0, n_neighbors)), np.empty((0, n_neighbors), np.intp)
    queries = client.scatter(X_query, broadcast=True, hash=False)
    parts = [
        client.submit(
            _search_shard, future, queries, int(start), n_neighbors, spec, pure=False
        )
        for future, start in zip(shards.futures, shards.starts)
    ]

    def submit(func, *args):
        return client.submit(func, *args, pure=False)

    return tuple(_reduce_pairwise(submit, parts, n_neighbors).result(timeout=timeout))


def sharded_kneighbors(
    client,
    X_train,
    X_query,
    n_neighbors=5,
    *,
    metric="euclidean",
    p=2,
    n_shards=None,
    block_size=None,
    n_threads=None,
    timeout=None,
):
    """Exact k nearest neighbours with the training set sharded over workers.

    Every worker searches the shards it holds for the ``n_neighbors`` nearest
    training rows of each query, with global indices. The per-shard lists are
    merged pairwise on the workers by (distance, global index), so the result
    is the one a single machine gives, ties included: among equal distances
    the lower training index comes first.

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster to use.
    X_train : array-like of shape (n_samples_fit, n_features) or TrainingShards
        Training set, or shards already placed by :func:`scatter_shards`
        (searching the same shards again sends no training data).
    X_query : array-like of shape (n_queries, n_features)
        Query rows. They are broadcast to every worker once per call, in the
        dtype :meth:`~fmnist.neighbors.SearchSpec.query_array` gives them:
        the training dtype when it holds them exactly, else their own exact
        type; the shards are searched as they are, never widened.
    n_neighbors : int, default=5
        Neighbours to return per query; at most ``n_samples_fit``. It may
        exceed the size of a shard.
    metric : {'euclidean', 'sqeuclidean', 'manhattan', 'cosine', \
'chebyshev', 'minkowski'}, default='euclidean'
        Distance, as in :class:`~fmnist.BlockKNNClassifier` (which also
        accepts the aliases 'l1', 'cityblock' and 'l2').
    p : float, default=2
        Power of the Minkowski distance; used with ``metric='minkowski'``.
    n_shards : int, default=None
        Shards to split ``X_train`` into when it is an array; ``None`` means
        one per worker. Ignored for :class:`TrainingShards`.
    block_size : int or (int, int), default=None
        Rows per block of the search on each worker, as in
        :class:`~fmnist.BlockKNNClassifier`: an int sets both the query and
        the training block, a pair sets ``(query_rows, training_rows)``; None
        sizes them from the L2 cache.
    n_threads : int, default=None
        Numba threads per shard search; ``None`` means the ``nthreads`` of the
        worker that runs it (further capped by the worker's
        ``NUMBA_NUM_THREADS``, see :func:`worker_env`).
    timeout : float, default=None
        Seconds to wait for the result before raising ``TimeoutError``.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Distances (float64), ascending along each row.
    indices : ndarray of shape (n_queries, n_neighbors)
        Indices into ``X_train`` of the neighbours.

    See Also
    --------
    fmnist.BlockKNNClassifier.kneighbors : The same search on one machine.
    sharded_predict : Labels from the sharded search.

    Notes
    -----
    Each worker holds only its shards (about ``1 / n_workers`` of the training
    set) plus the queries; the merge moves ``n_queries * n_neighbors`` pairs
    per shard. Distances of a (query, training row) pair do not depend on the
    shard the row is in, which is what makes the merge exact.
    """
    require_distributed()
    own_shards = not isinstance(X_train, TrainingShards)
    if own_shards:
        X_train = as_kernel_array(X_train, "X_train")
        train_shape, train_dtype = X_train.shape, X_train.dtype
    else:
        if not X_train.futures:
            raise ValueError("These TrainingShards were released.")
        train_shape = (X_train.n_samples, X_train.n_features)
        train_dtype = X_train.dtype
    spec = SearchSpec.build(
        metric, p, train_dtype, block_size=block_size, n_jobs=n_threads
    )
    X_query = spec.query_array(as_kernel_array(X_query, "X_query"))
    _check_search(train_shape, X_query.shape, n_neighbors)
    shards = (
        scatter_shards(client, X_train, n_shards=n_shards) if own_shards else X_train
    )
    try:
        return _run_sharded(client, shards, spec, X_query, int(n_neighbors), timeout)
    finally:
        if own_shards:
            shards.release()


def sharded_predict(
    client,
    estimator,
    X,
    *,
    method="predict",
    shards=None,
    n_shards=None,
    timeout=None,
):
    """Predict with a fitted BlockKNNClassifier, its training set sharded.

    The search specification, training rows, labels and weights come from
    ``estimator.search_index()``; the neighbours from the same search as
    :func:`sharded_kneighbors`, and the vote is the estimator's own function
    (:func:`fmnist.neighbors.class_votes`), so the labels equal
    ``estimator.predict(X)``.

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster to use.
    estimator : BlockKNNClassifier
        A fitted classifier; its ``n_neighbors``, ``metric``, ``p``,
        ``weights`` and ``block_size`` are used.
    X : array-like of shape (n_queries, n_features) or \
(n_queries, height, width)
        Rows to classify, validated and converted as ``estimator.predict``
        does.
    method : {'predict', 'predict_proba'}, default='predict'
        Estimator method to reproduce.
    shards : TrainingShards, default=None
        The estimator's training data, already placed with
        ``scatter_shards(client, estimator)`` (reuse them for many calls);
        ``None`` scatters it for this call only.
    n_shards : int, default=None
        Shards to make when ``shards`` is None; ``None`` means one per worker.
    timeout : float, default=None
        Seconds to wait for the neighbours before raising ``TimeoutError``.

    Returns
    -------
    y : ndarray of shape (n_queries,) or (n_queries, n_classes)
        Predicted labels from ``estimator.classes_``, or class probabilities
        for ``method='predict_proba'``.

    See Also
    --------
    fmnist.BlockKNNClassifier.predict : The same prediction on one machine.

    Notes
    -----
    The estimator's ``n_jobs`` is not used on the workers: each shard search
    runs with the worker's ``nthreads`` numba threads (see
    :func:`worker_env`).
    """
    require_distributed()
    if method not in ("predict", "predict_proba"):
        raise ValueError(
            f"method must be 'predict' or 'predict_proba'. Got {method!r} instead."
        )
    if not isinstance(estimator, BlockKNNClassifier):
        raise TypeError(
            "sharded_predict needs a fitted BlockKNNClassifier. Got "
            f"{type(estimator).__name__}; use predict_blocks for other estimators."
        )
    index = estimator.search_index()
    fit_X = index.data
    _require_dense(fit_X)
    # Threads on the workers follow each worker's nthreads.
    spec = replace(index.spec, n_jobs=None)
    X = check_array(flatten_image_stack(X)[0], dtype="numeric", accept_sparse=False)
    X_query = spec.query_array(X)
    n_neighbors = estimator.n_neighbors
    _check_search(fit_X.shape, X_query.shape, n_neighbors)
    own_shards = shards is None
    if own_shards:
        shards = scatter_shards(client, fit_X, n_shards=n_shards)
    elif not shards.futures:
        raise ValueError("These TrainingShards were released.")
    elif (shards.n_samples, shards.n_features, shards.dtype) != (
        fit_X.shape + (fit_X.dtype,)
    ):
        raise ValueError(
            "shards do not hold this estimator's training data: they have "
            f"shape {(shards.n_samples, shards.n_features)} and dtype "
            f"{shards.dtype}, the estimator {fit_X.shape} and {fit_X.dtype}. "
            "Make them with scatter_shards(client, estimator)."
        )
    try:
        dist, ind = _run_sharded(
            client, shards, spec, X_query, int(n_neighbors), timeout
        )
    finally:
        if own_shards:
            shards.release()
    votes = index.votes(ind, dist)
    if method == "predict":
        return index.classes[np.argmax(votes, axis=1)]
    return votes / votes.sum(axis=1, keepdims=True)
