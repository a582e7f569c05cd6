"""The search spine: validate, plan, run, finish.

:func:`search` is the one path from a :class:`~._spec.SearchSpec` and two
arrays to sorted neighbours; the estimator, the grid-search reuse and the
sharded search all call it.

* **validate** checks what the kernels' memory safety depends on: 2-D
  C-contiguous arrays of kernel dtypes, equal widths, ``k`` in range, int32
  data within :func:`~._spec.integer_limit`. Nothing else reaches a kernel.
* **plan** builds one :class:`~._plan.SearchPlan`: the route ``(tile,
  key)`` from the metric record, the per-row values the key needs, the
  heaps in the key dtype, the block sizes (from the L2 cache unless the
  spec fixes them) and the thread count.
* **run** hands a metric without tiles to the generic search
  (:mod:`._general`), and otherwise the plan to one of two searches. The pruned search
  (:mod:`._pruned`, where ``algorithm`` and the data allow it) rules out
  most training rows with exact lower bounds first; brute force
  (:mod:`._brute`) compares every pair. Either runs its route's kernel,
  which releases the GIL, on blocks of queries that ``n_jobs`` Python
  threads take in turn (:func:`~._plan.run_blocks`): one kernel per route to
  compile, and no numba threading layer, so concurrent calls and forked
  children need no lock.
* **reuse**: results are kept in :data:`~._cache.search_cache`, keyed by the
  contents of both arrays and the distance, so a search repeated with the same
  or a smaller ``k`` (a grid over ``n_neighbors`` and ``weights``) is not run
  again.
* **finish** settles exactly the integer cosine pairs that may be parallel
  (:mod:`._kernels._cosine`) and turns the final keys into distances.
"""

import numpy as np

from . import _brute, _pruned
from ._cache import MIN_NEIGHBORS, search_cache
from ._kernels import _codes
from ._plan import SearchPlan, TrainingRows, empty_heaps, row_values
from ._spec import KERNEL_DTYPES, check_n_neighbors, integer_limit

__all__ = ["search", "validate_arrays"]

# ----------------------------------------------------------------------------
# validate


def validate_arrays(X, Y, exclude_self):
    """Raise unless ``X`` and ``Y`` are what a kernel may read: 2-D arrays of
    kernel dtypes, equal widths, at least one training row, int32 values
    within :func:`~._spec.integer_limit`, the same rows for
    ``exclude_self``."""
    for name, A in (("X", X), ("Y", Y)):
        if not isinstance(A, np.ndarray):
            raise TypeError(f"{name} must be a numpy array. Got {type(A).__name__}.")
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-D. Got {A.ndim} dimension(s).")
        if A.dtype not in KERNEL_DTYPES:
            raise TypeError(
                f"{name} must have dtype uint8, int32, float32 or float64. "
                f"Got {A.dtype}."
            )
        if A.dtype == np.int32 and A.size:
            limit = integer_limit(A.shape[1])
            if int(A.min()) < -limit or int(A.max()) > limit:
                raise ValueError(
                    f"{name} holds int32 values beyond +-{limit}, where int64 "
                    "distances could overflow; search it as float64."
                )
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features, but Y has {Y.shape[1]} features."
        )
    if X.shape[1] < 1 or Y.shape[0] < 1:
        raise ValueError(
            f"Y must have at least one row and one feature. Got {Y.shape}."
        )
    if exclude_self and X.shape[0] != Y.shape[0]:
        raise ValueError("exclude_self needs X and Y to be the same rows.")


def _validate(X, Y, n_neighbors, exclude_self):
    validate_arrays(X, Y, exclude_self)
    check_n_neighbors(n_neighbors, Y.shape[0], exclude_self)


# ----------------------------------------------------------------------------
# plan


def resolve_threads(n_jobs):
    """Numba threads for one call: None keeps numba's setting, negative counts
    back from ``NUMBA_NUM_THREADS`` (-1 is all), capped at it."""
    import numba

    if n_jobs is None:
        return numba.get_num_threads()
    limit = numba.config.NUMBA_NUM_THREADS
    if n_jobs < 0:
        return max(1, limit + 1 + int(n_jobs))
    return max(1, min(int(n_jobs), limit))


def _l2_cache_bytes(default=1 << 20):
    """Per-core L2 size from sysfs (Linux), else ``default`` (1 MiB)."""
    path = "/sys/devices/system/cpu/cpu0/cache/index2/size"
    try:
        with open(path) as f:
            text = f.read().strip().upper()
        scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
        size = int(text.rstrip("KM")) * scale
    except (OSError, ValueError):
        return default
    return size if (64 << 10) <= size <= (64 << 20) else default


def _working_memory_bytes():
    import sklearn

    return int(sklearn.get_config()["working_memory"] * (1 << 20))


def plan_blocks(block_size, n_queries, row_bytes, n_threads):
    """``(query_rows, training_rows)`` per block.

    A fixed ``block_size`` pair is used as it is. Otherwise half of the L2
    cache holds the training chunk and a quarter the query block (within
    sklearn's ``working_memory``), with at least 4 query blocks per thread.
    """
    if block_size is not None:
        return block_size
    row_bytes = max(1, row_bytes)
    budget = min(_l2_cache_bytes(), _working_memory_bytes())
    t_block = max(4, (budget // 2) // row_bytes)
    q_block = max(4, (budget // 4) // row_bytes)
    per_thread = -(-n_queries // max(1, 4 * n_threads))
    return max(1, min(q_block, per_thread)), t_block


# ----------------------------------------------------------------------------
# run and finish


def search(spec, X, Y, n_neighbors, *, exclude_self=False, reuse=True, training=None):
    """Exact ``n_neighbors`` nearest rows of ``Y`` for every row of ``X``.

    Parameters
    ----------
    spec : SearchSpec
        Metric, power, blocks and threads.
    X : ndarray of shape (n_queries, n_features)
        Queries in a kernel dtype (:meth:`SearchSpec.query_array`). Never
        written.
    Y : ndarray of shape (n_train, n_features)
        Training rows in a kernel dtype. Never written, never copied.
    n_neighbors : int
        ``1 <= n_neighbors <= n_train`` (``n_train - 1`` with
        ``exclude_self``).
    exclude_self : bool, default=False
        ``X`` is ``Y``: row ``i`` never gets itself as a neighbour.
    reuse : bool, default=True
        Answer from, and store into, :data:`~._cache.search_cache`; False
        always runs the search (warm-up).
    training : TrainingRows or None, default=None
        What is derived from ``Y`` and kept between calls (the estimator
        keeps one per fit); None derives it for this call.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Ascending along each row.
    indices : ndarray of shape (n_queries, n_neighbors), intp
        Row indices into ``Y``; at equal distance the lower index comes first.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist.neighbors import SearchSpec, search
    >>> Y = np.array([[0, 0], [3, 4], [6, 8]], dtype=np.uint8)
    >>> spec = SearchSpec.build("euclidean", 2, Y.dtype)
    >>> dist, ind = search(spec, Y[1:2], Y, 2)
    >>> dist.tolist(), ind.tolist()
    ([[0.0, 5.0]], [[1, 0]])
    """
    _validate(X, Y, n_neighbors, exclude_self)
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(Y)
    n_threads = resolve_threads(spec.n_jobs)
    key = None
    if reuse:
        key = search_cache.key(spec.identity, X, Y, exclude_self, n_threads)
    if key is None:  # reuse turned off, or a small batch on large rows
        return _run(spec, X, Y, int(n_neighbors), exclude_self, training)
    y_digest = key[1]
    cached = search_cache.get(key, n_neighbors)
    if cached is not None:
        return cached
    n_max = Y.shape[0] - 1 if exclude_self else Y.shape[0]
    k_search = min(max(int(n_neighbors), MIN_NEIGHBORS), n_max)
    dist, idx = _run(spec, X, Y, k_search, exclude_self, training, y_digest)
    search_cache.put(key, dist, idx)
    return dist[:, :n_neighbors].copy(), idx[:, :n_neighbors].copy()


def _planned(spec, X, Y, exclude_self, row_bytes, **route_fields):
    """The :class:`~._plan.SearchPlan` of ``X`` against ``Y``: blocks sized
    for rows of ``row_bytes``, threads from ``spec``; ``route_fields`` are
    the route's own (route, per-row values, heaps, training rows)."""
    n_threads = resolve_threads(spec.n_jobs)
    q_block, t_block = plan_blocks(spec.block_size, X.shape[0], row_bytes, n_threads)
    return SearchPlan(
        X=X,
        Y=Y,
        exclude_self=bool(exclude_self),
        p=float(spec.p),
        q_block=q_block,
        t_block=t_block,
        n_threads=n_threads,
        **route_fields,
    )


def _run(spec, X, Y, n_neighbors, exclude_self, training=None, y_digest=None):
    """Plan, run and finish one search (arrays already validated)."""
    if training is None or training.rows is not Y:
        training = TrainingRows(Y)
    metric = spec.metric
    if metric.general is not None:
        return _run_general(spec, X, Y, n_neighbors, exclude_self, training)
    route = metric.route(X.dtype, Y.dtype, X.shape[1])
    aux_kind = _codes.KEY_AUX[route[1]]
    aux_y = training.row_values(aux_kind)
    aux_x = aux_y if exclude_self else row_values(aux_kind, X)
    keys, idx = empty_heaps(metric, X, Y, int(n_neighbors))
    if X.shape[0]:
        row_bytes = X.shape[1] * max(X.dtype.itemsize, Y.dtype.itemsize)
        plan = _planned(
            spec,
            X,
            Y,
            exclude_self,
            row_bytes,
            route=route,
            aux_x=aux_x,
            aux_y=aux_y,
            keys=keys,
            idx=idx,
            training=training,
            y_digest=y_digest,
        )
        pruned = _pruned.applies(spec, X, Y)
        tables = training.bound_tables(metric.pruned) if pruned else None
        if tables is None or not _pruned.search(plan, tables):
            _brute.search(plan)
        if route[1] == _codes.KEY_COSINE_INT:
            from ._kernels import _cosine

            _cosine.settle_near_parallel(
                X, Y, bool(exclude_self), aux_x, aux_y, keys, idx
            )
    return metric.distances(keys, spec.p), idx


def _run_general(spec, X, Y, n_neighbors, exclude_self, training):
    """The generic search (:mod:`._general`) of a metric without tiles."""
    from ._general import _driver

    metric = spec.metric
    keys, idx = empty_heaps(metric, X, Y, int(n_neighbors))
    if X.shape[0]:
        row_bytes = X.shape[1] * 8  # the kernel's float64 copies of the blocks
        empty = np.empty(0, dtype=np.float64)
        plan = _planned(
            spec,
            X,
            Y,
            exclude_self,
            row_bytes,
            route=None,
            aux_x=empty,
            aux_y=empty,
            keys=keys,
            idx=idx,
            training=training,
        )
        _driver.search(plan, metric, spec.arguments, spec.metric_params)
    return metric.distances(keys, spec.p), idx
