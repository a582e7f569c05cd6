"""Scale-out on a ``dask.distributed`` cluster.

This module needs the optional ``distributed`` extra::

    pip install "fmnist[distributed]"

``import fmnist.distributed`` always works; dask is imported only when one of
the functions below that talks to a cluster or builds a dask array is called.
Without dask, those functions raise an :class:`ImportError` that names the
extra to install.

- :func:`worker_env` gives the environment a dask worker needs so that numba,
  torch and BLAS use as many threads as the worker has, and no more.
- :func:`scatter_shards` splits a training set into contiguous shards and
  places one copy of each on the workers.
- :func:`sharded_kneighbors` runs the exact neighbour search on every shard
  and merges the per-shard lists; :func:`sharded_predict` turns the merged
  neighbours of a fitted :class:`~fmnist.BlockKNNClassifier` into its
  predictions. Both give exactly the single-machine results, ties included.
- :func:`predict_blocks` predicts a chunked dask array with any fitted
  estimator, block by block.
"""

import numbers

import numpy as np

__all__ = [
    "TrainingShards",
    "predict_blocks",
    "scatter_shards",
    "sharded_kneighbors",
    "sharded_predict",
    "worker_env",
]

_INSTALL_HINT = 'pip install "fmnist[distributed]"'

# Dtypes the exact search kernel takes as they are; anything else is cast.
_KERNEL_DTYPES = (np.uint8, np.int32, np.float32, np.float64)

# Environment variables that cap the thread pools a worker process may start.
# NUMBA_NUM_THREADS and OMP_NUM_THREADS are read once, when numba and torch are
# imported, so they must be in the environment before the worker starts.
_THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


def _require_distributed():
    """Import ``dask.array`` and ``distributed`` or explain how to get them."""
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError as err:
        raise ImportError(
            "fmnist.distributed needs dask and distributed, which are not "
            f"installed. Install them with: {_INSTALL_HINT}"
        ) from err
    return distributed


def worker_env(n_threads=1):
    """Environment variables that keep a dask worker to ``n_threads`` threads.

    Numba reads ``NUMBA_NUM_THREADS`` once, when it is imported, and never
    starts more threads than that afterwards; torch sizes its intra-op pool
    from ``OMP_NUM_THREADS`` in the same way. The dask nanny sets the OpenMP,
    MKL and OpenBLAS variables to 1 but not the numba one, so a worker with a
    single thread slot would otherwise run the kNN kernel on every core.

    Pass the result as ``env=`` to ``LocalCluster`` (or ``Nanny``), or export
    the same variables in the shell that runs ``dask worker``.

    Parameters
    ----------
    n_threads : int, default=1
        Threads each worker process may use; usually the worker's
        ``nthreads`` (``threads_per_worker`` of ``LocalCluster``).

    Returns
    -------
    env : dict of str to str
        ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
        ``OPENBLAS_NUM_THREADS``, each set to ``str(n_threads)``.

    Examples
    --------
    >>> from fmnist.distributed import worker_env
    >>> worker_env(2)["NUMBA_NUM_THREADS"]
    '2'

    With dask installed::

        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=4, threads_per_worker=1, env=worker_env(1)
        )
        client = Client(cluster)
    """
    if (
        not isinstance(n_threads, numbers.Integral)
        or isinstance(n_threads, bool)
        or n_threads < 1
    ):
        raise ValueError(f"n_threads must be an int >= 1. Got {n_threads!r} instead.")
    return {name: str(int(n_threads)) for name in _THREAD_VARIABLES}


class TrainingShards:
    """A training set split into contiguous shards held by dask workers.

    Made by :func:`scatter_shards`; pass it to :func:`sharded_kneighbors` or
    :func:`sharded_predict` to search the same training set many times
    without sending it again.

    Parameters
    ----------
    futures : list of distributed.Future
        One future per shard, each holding a C-contiguous array of shape
        ``(stops[i] - starts[i], n_features)``.
    starts : array-like of shape (n_shards,)
        Global index of the first row of each shard.
    stops : array-like of shape (n_shards,)
        Global index one past the last row of each shard.
    n_features : int
        Columns of the training set.
    dtype : numpy.dtype
        Dtype of every shard.
    workers : list of str
        Address of the worker each shard was placed on.

    Attributes
    ----------
    n_samples : int
        Rows in the whole training set, ``stops[-1]``.
    n_shards : int
        Number of shards.
    """

    def __init__(self, futures, starts, stops, n_features, dtype, workers):
        self.futures = list(futures)
        self.starts = np.asarray(starts, dtype=np.intp)
        self.stops = np.asarray(stops, dtype=np.intp)
        self.n_samples = int(self.stops[-1])
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype)
        self.workers = list(workers)

    @property
    def n_shards(self):
        """Number of shards."""
        return len(self.futures)

    def release(self):
        """Let the workers drop the shards."""
        for future in self.futures:
            future.release()
        self.futures = []

    def __repr__(self):
        return (
            f"TrainingShards(n_shards={self.n_shards}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, dtype={self.dtype})"
        )


def _as_kernel_array(X, name):
    """Return ``X`` as a 2-D C-contiguous array of a dtype the kernel takes."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array for {name}, got an array of shape {X.shape}."
        )
    if X.dtype not in _KERNEL_DTYPES:
        if X.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold numbers; got an array of dtype {X.dtype}."
            )
        X = X.astype(np.float64)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return np.ascontiguousarray(X)


def _common_dtype(*dtypes):
    """The narrowest kernel dtype that holds every one of ``dtypes`` exactly."""
    dtype = np.result_type(*dtypes)
    return dtype if dtype in _KERNEL_DTYPES else np.dtype(np.float64)


def _shard_bounds(n_samples, n_shards):
    """Contiguous, near-equal ``(starts, stops)`` of ``n_shards`` shards."""
    edges = np.linspace(0, n_samples, n_shards + 1).round().astype(np.intp)
    return edges[:-1], edges[1:]


def _check_n_shards(n_shards, n_samples, n_workers):
    if n_shards is None:
        n_shards = max(1, n_workers)
    if (
        not isinstance(n_shards, numbers.Integral)
        or isinstance(n_shards, bool)
        or n_shards < 1
    ):
        raise ValueError(f"n_shards must be an int >= 1. Got {n_shards!r} instead.")
    if n_shards > n_samples:
        raise ValueError(
            f"Expected n_shards <= n_samples, but n_shards = {n_shards}, "
            f"n_samples = {n_samples}."
        )
    return int(n_shards)


def scatter_shards(client, X, n_shards=None):
    """Split ``X`` into contiguous shards and place them on the workers.

    Shard ``i`` holds rows ``starts[i]:stops[i]`` and goes to worker
    ``i % n_workers`` (workers sorted by address), so each worker keeps about
    ``1 / n_workers`` of the training set. The rows are sent once.

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster to use.
    X : array-like of shape (n_samples, n_features) or BlockKNNClassifier
        Training set, or a fitted :class:`~fmnist.BlockKNNClassifier` whose
        stored training data is sharded (as it stores it: uint8 images stay
        uint8). For arrays, uint8, int32, float32 and float64 are kept as they
        are; other numeric dtypes become float64.
    n_shards : int, default=None
        Number of shards; ``None`` means one per worker.

    Returns
    -------
    shards : TrainingShards
        Futures of the shards and their row ranges. Call
        :meth:`TrainingShards.release` when done, or let it be garbage
        collected.

    See Also
    --------
    sharded_kneighbors : Search the shards.
    sharded_predict : Predict with a classifier whose data are sharded.
    """
    _require_distributed()
    X = _training_data(X) if _is_block_knn(X) else _as_kernel_array(X, "X")
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise RuntimeError("The cluster has no workers to hold the shards.")
    n_shards = _check_n_shards(n_shards, X.shape[0], len(workers))
    starts, stops = _shard_bounds(X.shape[0], n_shards)
    futures, placed_on = [], []
    for i, (start, stop) in enumerate(zip(starts, stops)):
        worker = workers[i % len(workers)]
        shard = np.ascontiguousarray(X[start:stop])
        futures.append(client.scatter(shard, workers=[worker], hash=False))
        placed_on.append(worker)
    return TrainingShards(futures, starts, stops, X.shape[1], X.dtype, placed_on)


def _is_block_knn(estimator):
    from .neighbors import BlockKNNClassifier

    return isinstance(estimator, BlockKNNClassifier)


def _training_data(estimator):
    """The training rows a fitted BlockKNNClassifier searches, as stored."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    return estimator._fit_X


def _worker_threads():
    """Thread slots of the dask worker running the current task (1 elsewhere)."""
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return 1


def _search_shard(
    shard, X_query, offset, n_neighbors, metric, p, block_size, n_threads
):
    """Exact top-k of ``X_query`` in one shard, with global training indices."""
    from ._knn_search import kneighbors_search

    if n_threads is None:
        n_threads = _worker_threads()
    if shard.dtype != X_query.dtype:
        # Widening only (for example uint8 rows against float queries): the
        # same values the single-machine search compares.
        shard = shard.astype(X_query.dtype)
    k = min(n_neighbors, shard.shape[0])
    dist, ind = kneighbors_search(
        X_query,
        shard,
        k,
        metric=metric,
        p=p,
        n_threads=n_threads,
        block_size=block_size,
    )
    return dist, ind.astype(np.intp, copy=False) + offset


def _merge_topk(first, second, n_neighbors):
    """Merge two top-k lists of the same queries into one.

    Each argument is ``(distances, indices)`` with one row per query, sorted
    by distance then index. The result keeps the ``n_neighbors`` smallest
    pairs of each row in the order (distance, index), which is the order the
    single-machine search returns: ties go to the lower training index.
    """
    dist = np.concatenate([first[0], second[0]], axis=1)
    ind = np.concatenate([first[1], second[1]], axis=1)
    k = min(n_neighbors, dist.shape[1])
    # lexsort sorts by the last key first: distance, then the global index.
    order = np.lexsort((ind, dist), axis=1)[:, :k]
    return (
        np.take_along_axis(dist, order, axis=1),
        np.take_along_axis(ind, order, axis=1),
    )


def _reduce_pairwise(submit, parts, n_neighbors):
    """Merge per-shard results in a balanced binary tree.

    ``submit(func, *args)`` runs one merge; with a dask client it returns a
    future, so the merges run on the workers and only the final top-k lists
    travel to the client.
    """
    parts = list(parts)
    while len(parts) > 1:
        merged = [
            submit(_merge_topk, a, b, n_neighbors)
            for a, b in zip(parts[0::2], parts[1::2])
        ]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]


def _check_metric(metric, p):
    """The search engine's name of ``metric``; aliases as in BlockKNNClassifier."""
    from .neighbors import _METRIC_ALIASES

    if metric not in _METRIC_ALIASES:
        raise ValueError(
            f"metric must be one of {sorted(_METRIC_ALIASES)}. Got {metric!r} instead."
        )
    metric = _METRIC_ALIASES[metric]
    if metric == "minkowski" and not (isinstance(p, numbers.Real) and p >= 1):
        raise ValueError(f"p must be a real number >= 1. Got {p!r} instead.")
    return metric


def _check_search(train_shape, query_shape, n_neighbors):
    """Check shapes and ``n_neighbors`` before anything is sent."""
    if query_shape[1] != train_shape[1]:
        raise ValueError(
            f"X_query has {query_shape[1]} features, but the training set has "
            f"{train_shape[1]} features."
        )
    if (
        not isinstance(n_neighbors, numbers.Integral)
        or isinstance(n_neighbors, bool)
        or n_neighbors < 1
    ):
        raise ValueError(
            f"n_neighbors must be an int >= 1. Got {n_neighbors!r} instead."
        )
    if n_neighbors > train_shape[0]:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = "
            f"{n_neighbors}, n_samples_fit = {train_shape[0]}."
        )


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
        Query rows. They are broadcast to every worker once per call. When
        their dtype differs from the training set's, both are compared in the
        narrowest kernel dtype that holds each exactly (uint8 images against
        float32 queries: float32), the shards being widened on the workers.
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
    block_size : int, default=None
        Query block size of the kernel on each worker.
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
    _require_distributed()
    metric = _check_metric(metric, p)
    X_query = _as_kernel_array(X_query, "X_query")
    own_shards = not isinstance(X_train, TrainingShards)
    if own_shards:
        X_train = _as_kernel_array(X_train, "X_train")
        _check_search(X_train.shape, X_query.shape, n_neighbors)
        shards = scatter_shards(client, X_train, n_shards=n_shards)
    else:
        shards = X_train
        if not shards.futures:
            raise ValueError("These TrainingShards were released.")
        _check_search((shards.n_samples, shards.n_features), X_query.shape, n_neighbors)
    dtype = _common_dtype(shards.dtype, X_query.dtype)
    try:
        return _sharded_search(
            client,
            shards,
            np.ascontiguousarray(X_query, dtype=dtype),
            int(n_neighbors),
            metric=metric,
            p=p,
            block_size=block_size,
            n_threads=n_threads,
            timeout=timeout,
        )
    finally:
        if own_shards:
            shards.release()


def _sharded_search(
    client, shards, X_query, n_neighbors, *, metric, p, block_size, n_threads, timeout
):
    """Search validated queries in placed shards; merge on the workers."""
    if X_query.shape[0] == 0:
        return np.empty((0, n_neighbors)), np.empty((0, n_neighbors), np.intp)
    queries = client.scatter(X_query, broadcast=True, hash=False)
    parts = [
        client.submit(
            _search_shard,
            future,
            queries,
            int(start),
            n_neighbors,
            metric,
            p,
            block_size,
            n_threads,
            pure=False,
        )
        for future, start in zip(shards.futures, shards.starts)
    ]

    def submit(func, *args):
        return client.submit(func, *args, pure=False)

    return tuple(_reduce_pairwise(submit, parts, n_neighbors).result(timeout=timeout))


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

    The neighbours come from :func:`sharded_kneighbors` on the estimator's
    training set; the vote is the estimator's own (``weights``, tie rule and
    ``classes_``), so the labels equal ``estimator.predict(X)``.

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
    _require_distributed()
    if method not in ("predict", "predict_proba"):
        raise ValueError(
            f"method must be 'predict' or 'predict_proba'. Got {method!r} instead."
        )
    if not _is_block_knn(estimator):
        raise TypeError(
            "sharded_predict needs a fitted BlockKNNClassifier. Got "
            f"{type(estimator).__name__}; use predict_blocks for other estimators."
        )
    fit_X = _training_data(estimator)
    metric = _check_metric(estimator.metric, estimator.p)
    # The estimator's own query validation and dtype rules.
    X_query, _ = estimator._validate_query(X)
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

    def kneighbors(X=None, n_neighbors=None, return_distance=True):
        if n_neighbors is None:
            n_neighbors = estimator.n_neighbors
        _check_search(fit_X.shape, X_query.shape, n_neighbors)
        dist, ind = _sharded_search(
            client,
            shards,
            X_query,
            int(n_neighbors),
            metric=metric,
            p=estimator.p,
            block_size=estimator.block_size,
            n_threads=None,
            timeout=timeout,
        )
        return (dist, ind) if return_distance else ind

    # A shallow copy (the training data is shared, not copied) whose neighbour
    # search is the sharded one: predict and predict_proba then vote exactly as
    # the estimator does. Built from the instance dict, so that no pickling
    # hook of the estimator runs.
    view = object.__new__(type(estimator))
    view.__dict__.update(vars(estimator))
    view.kneighbors = kneighbors
    try:
        return getattr(view, method)(X_query)
    finally:
        if own_shards:
            shards.release()


def _predict_block(block, estimator, method, n_outputs, dtype):
    """Apply ``estimator.<method>`` to one block of rows (empty blocks too)."""
    if block.shape[0] == 0:
        shape = (0,) if n_outputs is None else (0, n_outputs)
        return np.empty(shape, dtype=dtype)
    return np.asarray(getattr(estimator, method)(block))


def predict_blocks(estimator, X, *, method="predict", dtype=None):
    """Predict a chunked dask array block by block with a fitted estimator.

    The estimator enters the task graph once (as a ``dask.delayed`` value)
    and every block of rows is predicted by one task, wherever the block is.
    Blocks of one row and empty blocks are handled: an empty block gives an
    empty result without calling the estimator, and nothing is predicted
    while the graph is built.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator, for example :class:`~fmnist.BlockKNNClassifier`
        or :class:`~fmnist.ConvNetClassifier`.
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        Rows to predict. Column chunks are merged so each task gets whole rows;
        a NumPy array becomes a single-chunk dask array.
    method : {'predict', 'predict_proba'}, default='predict'
        Estimator method to apply.
    dtype : dtype, default=None
        Dtype of the result; ``None`` means ``estimator.classes_.dtype`` (or
        float64 without ``classes_``) for ``'predict'`` and float64 for
        ``'predict_proba'``.

    Returns
    -------
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_classes)
        Lazy predictions with the row chunks of ``X``; call ``.compute()``.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from fmnist.distributed import predict_blocks
    >>> clf = KNeighborsClassifier(n_neighbors=1).fit([[0], [1]], ["a", "b"])
    >>> X = da.from_array(np.array([[0.1], [0.9], [0.2]]), chunks=2)
    >>> predict_blocks(clf, X).compute()
    array(['a', 'b', 'a'], dtype='<U1')
    """
    _require_distributed()
    import dask
    import dask.array as da

    if method not in ("predict", "predict_proba"):
        raise ValueError(
            f"method must be 'predict' or 'predict_proba'. Got {method!r} instead."
        )
    if not hasattr(estimator, method):
        raise AttributeError(f"{type(estimator).__name__} has no method {method!r}.")
    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X), chunks=(max(1, len(X)), -1))
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got an array of shape {X.shape}.")
    X = X.rechunk({1: -1})
    classes = getattr(estimator, "classes_", None)
    if method == "predict":
        n_outputs = None
        if dtype is None:
            dtype = np.float64 if classes is None else np.asarray(classes).dtype
        chunks = (X.chunks[0],)
        drop_axis = 1
    else:
        if classes is None:
            raise AttributeError(
                f"{type(estimator).__name__} has no classes_; is it a fitted "
                "classifier?"
            )
        n_outputs = len(classes)
        dtype = np.float64 if dtype is None else dtype
        chunks = (X.chunks[0], (n_outputs,))
        drop_axis = None
    dtype = np.dtype(dtype)
    meta = np.empty((0,) if n_outputs is None else (0, 0), dtype=dtype)
    return da.map_blocks(
        _predict_block,
        X,
        dask.delayed(estimator, pure=True),
        method,
        n_outputs,
        dtype,
        chunks=chunks,
        drop_axis=drop_axis,
        dtype=dtype,
        meta=meta,
    )
