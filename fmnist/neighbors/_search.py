"""The search spine: validate, plan, run, finish.

:func:`kneighbors` is the one path from a :class:`~._spec.SearchSpec` and two
arrays to sorted neighbours; the estimator, the grid-search reuse and the
sharded search all call it.

* **validate** checks what the kernels' memory safety depends on: 2-D
  C-contiguous arrays of kernel dtypes, equal widths, ``k`` in range, int32
  data within :func:`~._spec.integer_limit`. Nothing else reaches a kernel.
* **plan** takes the route ``(tile, key)`` from the metric record, the
  per-row values the key needs, the key dtype, the block sizes (from the L2
  cache unless the spec fixes them) and the thread count.
* **run** takes one of two searches. The pruned search
  (:mod:`._pruning`, where ``algorithm`` and the data allow it) rules out
  most training rows with exact lower bounds first; brute force compares
  every pair. Either runs its route's kernel, which releases the GIL, on
  blocks of queries that ``n_jobs`` Python threads take in turn
  (:func:`_run`): one kernel per route to compile, and no numba threading
  layer, so concurrent calls and forked children need no lock. Brute
  force on a few queries (up to :data:`SPLIT_TRAINING_MAX_QUERIES`) splits the
  training rows between Python threads running the same kernel instead, and
  merges their heaps exactly (:func:`merge_topk`).
* **reuse**: results are kept in :data:`~._cache.search_cache`, keyed by the
  contents of both arrays and the distance, so a search repeated with the same
  or a smaller ``k`` (a grid over ``n_neighbors`` and ``weights``) is not run
  again.
* **finish** settles exactly the integer cosine pairs that may be parallel
  (:mod:`._kernels._cosine`) and turns the final keys into distances.
"""

import threading

import numpy as np

from . import _pruning
from ._cache import MIN_NEIGHBORS, SMALL_BATCH, digest, search_cache
from ._kernels import _codes
from ._spec import KERNEL_DTYPES, integer_limit

__all__ = ["kneighbors", "merge_topk"]

#: Up to this many queries, threads split the training rows between them
#: instead of the queries: a few queries are too few blocks to share out.
SPLIT_TRAINING_MAX_QUERIES = 256
#: ... and when each thread gets at least this many training rows.
SPLIT_TRAINING_MIN_ROWS = 1024


# ----------------------------------------------------------------------------
# validate


def _validate(X, Y, n_neighbors, exclude_self):
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
    if isinstance(n_neighbors, (bool, np.bool_)) or not isinstance(
        n_neighbors, (int, np.integer)
    ):
        raise TypeError(f"n_neighbors must be an int. Got {n_neighbors!r}.")
    n_max = Y.shape[0] - 1 if exclude_self else Y.shape[0]
    if not 1 <= n_neighbors <= n_max:
        raise ValueError(
            f"Expected 1 <= n_neighbors <= {n_max}, but n_neighbors = {n_neighbors}"
            f", n_samples_fit = {Y.shape[0]}."
        )


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


class TrainingRows:
    """What the search derives from the training rows, made once and kept.

    The per-row values a key rule needs (squared norms, inverse norms) and the
    bound tables of the pruned search, each computed at its first use. An
    estimator keeps one from ``fit`` to the next ``fit`` (a snapshot of its
    training rows, as a tree index is), so a search of a few queries does
    not pass over all the training rows again before it starts.
    """

    __slots__ = ("rows", "_values", "_tables", "_panels")

    # The panels of brute force are a packed copy of the rows: unlike the
    # other derived values they are checked against the rows' digest at every
    # use, so that rows changed in place after ``fit`` are searched as they
    # are now.

    def __init__(self, rows):
        self.rows = rows
        self._values = {}
        self._tables = {}
        self._panels = {}

    def row_values(self, kind):
        """The values of :func:`_row_values` of kind ``kind`` for the rows."""
        if kind not in self._values:
            self._values[kind] = _row_values(kind, self.rows)
        return self._values[kind]

    def bound_tables(self, route):
        """The bound tables of the rows for the pruned search of ``route``."""
        if route not in self._tables:
            self._tables[route] = _pruning.bound_tables(self.rows, route)
        return self._tables[route]

    def panels(self, kind, digest):
        """The rows packed for the panel tiles of panel kind ``kind``, packed
        again when ``digest`` (of the rows' bytes, :func:`._cache.digest`)
        is not the one they were packed from."""
        from ._kernels import _panels

        packed = self._panels.get(kind)
        if packed is None or packed[0] != digest:
            packed = self._panels[kind] = (digest, _panels.pack(self.rows, kind))
        return packed[1]


def _row_values(kind, A):
    from ._kernels import _tiles

    if kind == _codes.AUX_SQNORM:
        out = np.empty(A.shape[0], dtype=np.int64)
        _tiles.row_sqnorms(A, out)
    elif kind == _codes.AUX_INV_NORM:
        out = np.empty(A.shape[0], dtype=np.float64)
        _tiles.row_inv_norms(A, out)
    elif kind == _codes.AUX_NORM:
        out = np.empty(A.shape[0], dtype=np.float64)
        _tiles.row_norms(A, out)
    else:
        out = np.empty(0, dtype=np.float64)
    return out


# ----------------------------------------------------------------------------
# run and finish


def _run(search_block, n_queries, q_block, n_threads):
    """Call ``search_block(start, stop)`` on every block of ``q_block``
    queries: in this thread, or handed out one block at a time to
    ``n_threads`` threads (this one and ``n_threads - 1`` more).

    The kernels release the GIL, so the threads search side by side, and
    each block owns its rows of the heaps, so they share nothing else. A
    block goes to whichever thread is free, which evens out blocks of
    unequal cost (the pruned search visits the queries in the order of their
    bounds). Plain threads and one kernel per route: nothing depends on
    numba's threading layer, so concurrent calls, forked children and
    callers' own threads need no lock.
    """
    n_blocks = -(-n_queries // q_block)
    n_threads = min(n_threads, n_blocks)
    if n_threads <= 1:
        search_block(0, n_queries)
        return
    from concurrent.futures import ThreadPoolExecutor

    blocks = iter(range(n_blocks))
    taking = threading.Lock()
    failed = []

    def work():
        while not failed:
            with taking:
                b = next(blocks, None)
            if b is None:
                return
            try:
                search_block(b * q_block, min((b + 1) * q_block, n_queries))
            except BaseException:
                failed.append(True)  # the other threads stop taking blocks
                raise

    with ThreadPoolExecutor(max_workers=n_threads - 1) as pool:
        helpers = [pool.submit(work) for _ in range(n_threads - 1)]
        work()
        for helper in helpers:
            helper.result()


def kneighbors(
    spec, X, Y, n_neighbors, *, exclude_self=False, reuse=True, training=None
):
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
    """
    _validate(X, Y, n_neighbors, exclude_self)
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(Y)
    n_threads = resolve_threads(spec.n_jobs)
    key = None
    if reuse:
        key = search_cache.key(spec.metric, spec.p, X, Y, exclude_self, n_threads)
    if key is None:  # reuse turned off, or a small batch on large rows
        return _search(spec, X, Y, int(n_neighbors), exclude_self, training)
    y_digest = key[2]
    cached = search_cache.get(key, n_neighbors)
    if cached is not None:
        return cached
    n_max = Y.shape[0] - 1 if exclude_self else Y.shape[0]
    k_search = min(max(int(n_neighbors), MIN_NEIGHBORS), n_max)
    dist, idx = _search(spec, X, Y, k_search, exclude_self, training, y_digest)
    search_cache.put(key, dist, idx)
    return dist[:, :n_neighbors].copy(), idx[:, :n_neighbors].copy()


def merge_topk(first, second, n_neighbors):
    """Merge two top-k lists of the same queries into one.

    Each argument is ``(keys, indices)`` (or distances) with one row per
    query, sorted by key then index. The result keeps the ``n_neighbors``
    smallest pairs of each row in the order (key, index), the order of a
    single search: ties go to the lower training index.
    """
    keys = np.concatenate([first[0], second[0]], axis=1)
    ind = np.concatenate([first[1], second[1]], axis=1)
    k = min(n_neighbors, keys.shape[1])
    # lexsort sorts by the last key first: the key, then the global index.
    order = np.lexsort((ind, keys), axis=1)[:, :k]
    return (
        np.take_along_axis(keys, order, axis=1),
        np.take_along_axis(ind, order, axis=1),
    )


def _brute_force(route, X, Y, exclude_self, p, aux_x, aux_y, keys, idx, q_block,
                 t_block, n_threads, training=None, y_digest=None):  # fmt: skip
    from ._kernels import _driver

    kernel = _driver.entry_point(*route)
    n_queries, n_train = X.shape[0], Y.shape[0]
    if (
        n_threads > 1
        and not exclude_self
        and n_queries <= SPLIT_TRAINING_MAX_QUERIES
        and n_train >= SPLIT_TRAINING_MIN_ROWS * n_threads
    ):
        _split_training(kernel, X, Y, p, aux_x, aux_y, keys, idx, t_block,
                        n_threads)  # fmt: skip
        return
    kind = _panel_kind(route, X, Y) if n_queries >= PANELS["min_queries"] else None
    if kind is not None:
        _panel_search(kind, route, X, Y, exclude_self, aux_x, aux_y, keys, idx,
                      q_block, t_block, n_threads, training or TrainingRows(Y),
                      y_digest or digest(Y, n_threads))  # fmt: skip
        return
    args = (bool(exclude_self), float(p), aux_x, aux_y, keys, idx, q_block, t_block)
    _run(lambda b0, b1: kernel(X, Y, b0, b1, *args), n_queries, q_block, n_threads)


def _panel_kind(route, X, Y):
    """The panel kind (:mod:`._kernels._panels`) that runs brute force of
    ``route`` on these arrays, or None: uint8 rows, a target with the kind's
    instructions."""
    from ._kernels import _panels

    if X.dtype != np.uint8 or Y.dtype != np.uint8 or not PANELS["enabled"]:
        return None
    if PANELS["features"] is None:
        from ._kernels._isa import host_features

        PANELS["features"] = host_features()
    return _panels.kind_for(route[0], PANELS["features"], Y.shape[1])


#: ``enabled``: whether brute force may use the panel tiles where they serve
#: (tests switch them off to compare with the 4 x 4 tiles); ``min_queries``:
#: fewer queries keep the 4 x 4 tiles, since checking the packed copy against
#: the rows' digest costs more than searching them (``._cache.SMALL_BATCH``;
#: from there on the search cache's own digest serves when reuse is on);
#: ``features``: the target's CPU features, read at the first search.
PANELS = {"enabled": True, "min_queries": SMALL_BATCH, "features": None}


def warm_panels(spec, rows, n_threads):
    """Compile (or load) the panel kernels of ``spec`` for ``rows`` where they
    serve brute force: a warm-up's few rows take the 4 x 4 tiles."""
    route = spec.metric.route(rows.dtype, rows.dtype, rows.shape[1])
    kind = _panel_kind(route, rows, rows)
    if kind is None:
        return
    aux = _row_values(_codes.KEY_AUX[route[1]], rows)
    keys, idx = _empty_heaps(spec.metric, rows, rows, 1)
    _panel_search(kind, route, rows, rows, False, aux, aux, keys, idx, 1, 4,
                  n_threads, TrainingRows(rows), digest(rows))  # fmt: skip


def _panel_search(kind, route, X, Y, exclude_self, aux_x, aux_y, keys, idx,
                  q_block, t_block, n_threads, training, y_digest):  # fmt: skip
    from ._kernels import _panels

    P = training.panels(kind, y_digest)
    group = _panels.group_bytes(kind)
    # The tiles read their 2 or 4 panels from any multiple of that number and
    # every group of every row: the panels must be those of these rows' shape.
    if P.shape != _panels.panel_shape(kind, *Y.shape):
        raise ValueError(f"panels of shape {P.shape} do not fit rows {Y.shape}")
    kernel = _panels.entry_point(kind, route[1])
    args = (bool(exclude_self), aux_x, aux_y, keys, idx, q_block, t_block)
    _run(
        lambda b0, b1: kernel(X, Y, P, group, b0, b1, *args),
        X.shape[0], q_block, n_threads,
    )  # fmt: skip


def _split_training(kernel, X, Y, p, aux_x, aux_y, keys, idx, t_block,
                    n_threads):  # fmt: skip
    """Each of ``n_threads`` Python threads searches all queries in its own
    slice of the training rows (the kernel releases the GIL); the
    per-slice heaps are merged exactly into ``keys``/``idx``."""
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, Y.shape[0], n_threads + 1).astype(np.intp)
    slices = list(zip(bounds[:-1], bounds[1:]))

    def search(start, stop):
        part_keys = np.full_like(keys, keys.flat[0])
        part_idx = np.full_like(idx, stop - start)
        part_aux = aux_y[start:stop] if aux_y.size else aux_y
        kernel(X, Y[start:stop], 0, X.shape[0], False, float(p), aux_x, part_aux,
               part_keys, part_idx, X.shape[0], t_block)  # fmt: skip
        # Unfilled slots (k beyond the slice) keep the global sentinel index.
        unfilled = part_idx == stop - start
        return part_keys, np.where(unfilled, Y.shape[0], part_idx + start)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        parts = list(pool.map(lambda s: search(*s), slices))
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_topk(merged, part, keys.shape[1])
    keys[...] = merged[0]
    idx[...] = merged[1]


def _empty_heaps(metric, X, Y, k):
    """``(keys, idx)``: one empty heap of ``k`` per query, in the key dtype of
    ``metric`` for these arrays, every slot the sentinel (the largest key,
    index ``len(Y)``)."""
    key_dtype = metric.key_dtype(X.dtype, Y.dtype)
    sentinel = np.iinfo(np.int64).max if key_dtype == np.int64 else np.inf
    keys = np.full((X.shape[0], k), sentinel, dtype=key_dtype)
    idx = np.full((X.shape[0], k), Y.shape[0], dtype=np.intp)
    return keys, idx


def _search(spec, X, Y, n_neighbors, exclude_self, training=None, y_digest=None):
    """Plan, run and finish one search (arrays already validated)."""
    if training is None or training.rows is not Y:
        training = TrainingRows(Y)
    metric = spec.metric
    route = metric.route(X.dtype, Y.dtype, X.shape[1])
    aux_kind = _codes.KEY_AUX[route[1]]
    aux_y = training.row_values(aux_kind)
    aux_x = aux_y if exclude_self else _row_values(aux_kind, X)
    n_queries = X.shape[0]
    keys, idx = _empty_heaps(metric, X, Y, int(n_neighbors))
    if n_queries:
        n_threads = resolve_threads(spec.n_jobs)
        row_bytes = X.shape[1] * max(X.dtype.itemsize, Y.dtype.itemsize)
        q_block, t_block = plan_blocks(spec.block_size, n_queries, row_bytes, n_threads)
        tables = None
        if _pruning.applies(spec, X, Y):
            tables = training.bound_tables(route)
        if tables is None or not _pruning.search(
            spec, route, X, tables, exclude_self, aux_x, aux_y, keys, idx,
            lambda search_block: _run(search_block, n_queries, q_block, n_threads),
        ):
            _brute_force(route, X, Y, exclude_self, spec.p, aux_x, aux_y, keys, idx,
                         q_block, t_block, n_threads, training, y_digest)
        if route[1] == _codes.KEY_COSINE_INT:
            from ._kernels import _cosine

            _cosine.settle_near_parallel(
                X, Y, bool(exclude_self), aux_x, aux_y, keys, idx
            )
    return metric.distances(keys, spec.p), idx
