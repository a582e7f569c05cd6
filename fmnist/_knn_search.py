"""Exact blocked k-nearest-neighbour search: dispatch, blocking and threads.

The kernels live in :mod:`fmnist._kernels` (the design is described there);
this module checks what their memory safety depends on (dimensions, dtypes,
shapes, k, C-contiguity), picks the kernel for the dtype and metric, sizes the
blocks and controls numba's threads:

* uint8 with manhattan, (sq)euclidean or cosine runs the SIMD tiles of
  :mod:`fmnist._kernels_uint8`; int32 and floats with those metrics run the
  plain numba tiles of :mod:`fmnist._kernels_tiles`; chebyshev and minkowski
  run the generic kernel. int32 data large enough to overflow int64 sums of
  squares is searched in float64.
* ``n_threads`` is applied with ``numba.set_num_threads`` for the call only
  and restored in ``finally``.
* One parallel kernel runs at a time per process (a lock): numba's
  ``workqueue`` threading layer aborts the process when two Python threads
  enter parallel code at once. A call that finds the lock taken, or runs in a
  forked child (GNU OpenMP is not fork-safe), uses the serial kernel, which
  releases the GIL, so concurrent calls still run side by side.
"""

import os
import threading

import numpy as np

_METRICS = ("euclidean", "sqeuclidean", "manhattan", "cosine", "chebyshev", "minkowski")
_DTYPES = (
    np.dtype(np.uint8),
    np.dtype(np.int32),
    np.dtype(np.float32),
    np.dtype(np.float64),
)

# One parallel kernel at a time: numba's default ``workqueue`` threading layer
# aborts the process when a parallel region is entered from two threads at
# once. A caller that finds the lock taken runs the serial kernel, which
# releases the GIL.
_PARALLEL_LOCK = threading.Lock()
_TILED_METRICS = (0, 1, 4)  # METRIC_L1, METRIC_SQL2, METRIC_COSINE
_STATE = {"forked": False}


def _mark_forked():
    _STATE["forked"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)


def _kernels():
    from . import _kernels

    return _kernels


def _resolve_metric(metric, p):
    """Return ``(code, final)``: the kernel metric code and the key correction."""
    k = _kernels()
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}. Got {metric!r} instead.")
    if metric == "minkowski":
        try:
            p = float(p)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"p must be a real number >= 1. Got {p!r} instead."
            ) from err
        if not p >= 1:
            raise ValueError(f"p must be >= 1 for minkowski. Got {p!r} instead.")
        if p == 1:
            return k.METRIC_L1, "none", p
        if p == 2:
            return k.METRIC_SQL2, "sqrt", p
        if np.isinf(p):
            return k.METRIC_LINF, "none", p
        return k.METRIC_LP, "root", p
    return {
        "manhattan": (k.METRIC_L1, "none", 1.0),
        "euclidean": (k.METRIC_SQL2, "sqrt", 2.0),
        "sqeuclidean": (k.METRIC_SQL2, "none", 2.0),
        "chebyshev": (k.METRIC_LINF, "none", np.inf),
        "cosine": (k.METRIC_COSINE, "none", 2.0),
    }[metric]


def _check_arrays(X, Y, n_neighbors, exclude_self):
    for name, A in (("X", X), ("Y", Y)):
        if not isinstance(A, np.ndarray):
            raise TypeError(f"{name} must be a numpy array. Got {type(A).__name__}.")
        if A.ndim != 2:
            raise ValueError(f"{name} must be 2-D. Got {A.ndim} dimension(s).")
        if A.dtype not in _DTYPES:
            raise TypeError(
                f"{name} must have dtype uint8, int32, float32 or float64. "
                f"Got {A.dtype}."
            )
    if X.dtype != Y.dtype:
        raise TypeError(
            f"X and Y must have the same dtype. Got {X.dtype} and {Y.dtype}."
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


def _resolve_threads(n_threads):
    import numba

    if n_threads is None:
        return numba.get_num_threads()
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(
        n_threads, (int, np.integer)
    ):
        raise TypeError(f"n_threads must be an int or None. Got {n_threads!r}.")
    limit = numba.config.NUMBA_NUM_THREADS
    if n_threads == 0:
        raise ValueError("n_threads must be a non-zero int or None. Got 0.")
    if n_threads < 0:
        n_threads = max(1, limit + 1 + int(n_threads))
    return min(int(n_threads), limit)


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
    try:
        import sklearn

        return int(sklearn.get_config()["working_memory"] * (1 << 20))
    except Exception:  # sklearn missing or an odd setting
        return 1 << 30


def _resolve_blocks(block_size, n_queries, n_features, itemsize, n_threads):
    """Return ``(query_block, train_block)`` in rows."""
    if block_size is not None:
        if isinstance(block_size, (int, np.integer)) and not isinstance(
            block_size, (bool, np.bool_)
        ):
            q_block = t_block = int(block_size)
        else:
            try:
                q_block, t_block = (int(b) for b in block_size)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    "block_size must be None, an int or a pair of ints. "
                    f"Got {block_size!r}."
                ) from err
        if q_block < 1 or t_block < 1:
            raise ValueError(f"block_size must be positive. Got {block_size!r}.")
        return q_block, t_block
    row_bytes = max(1, n_features * itemsize)
    # Half of the L2 cache for the training chunk, a quarter for the queries,
    # within sklearn's working_memory.
    budget = min(_l2_cache_bytes(), _working_memory_bytes())
    t_block = max(4, (budget // 2) // row_bytes)
    q_block = max(4, (budget // 4) // row_bytes)
    # Enough blocks to keep every thread busy.
    per_thread = -(-n_queries // max(1, 4 * n_threads))
    q_block = max(1, min(q_block, per_thread))
    return q_block, t_block


def kneighbors_search(
    X,
    Y,
    n_neighbors,
    *,
    metric="euclidean",
    p=2.0,
    exclude_self=False,
    n_threads=None,
    block_size=None,
):
    """Exact k nearest rows of ``Y`` for every row of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_queries, n_features)
        Queries: uint8, int32, float32 or float64, finite. Never written.
    Y : ndarray of shape (n_train, n_features)
        Training rows, same dtype as ``X``. Never written, never copied when
        C-contiguous.
    n_neighbors : int
        Number of neighbours, ``1 <= n_neighbors <= n_train`` (``n_train - 1``
        when ``exclude_self``).
    metric : {"euclidean", "sqeuclidean", "manhattan", "cosine", "chebyshev", \
"minkowski"}, default="euclidean"
        Distance. Cosine distance is ``1 - x.y / (|x| |y|)``, 1 when a row is
        all zeros (as :func:`sklearn.metrics.pairwise_distances`).
    p : float, default=2.0
        Power of the minkowski metric, ``p >= 1`` (``inf`` is chebyshev).
    exclude_self : bool, default=False
        ``X`` is ``Y``: row ``i`` never gets itself (index ``i``) as neighbour.
    n_threads : int, default=None
        Numba threads for this call, capped at ``NUMBA_NUM_THREADS`` and
        restored afterwards. None uses numba's current setting; a negative
        value counts back from all threads (-1 is all).
    block_size : int or (int, int), default=None
        Tuning only; results do not depend on it. A pair
        ``(query_rows, train_rows)`` sets how many queries form one parallel
        block and how many training rows are compared with that block before
        moving on (both should fit in the L2 cache together); an int sets both.
        None takes half of the L2 cache (read from sysfs, else 1 MiB) for the
        training rows and a quarter for the queries, within
        ``sklearn.get_config()["working_memory"]``, and keeps at least 4 query
        blocks per thread.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Sorted ascending.
    indices : ndarray of shape (n_queries, n_neighbors), intp
        Row indices into ``Y``; at equal distance the lower index comes first.
    """
    _check_arrays(X, Y, n_neighbors, exclude_self)
    code, final, p = _resolve_metric(metric, p)
    n_threads = _resolve_threads(n_threads)
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(Y)
    n_queries, n_features = X.shape
    k = int(n_neighbors)
    q_block, t_block = _resolve_blocks(
        block_size, n_queries, n_features, X.dtype.itemsize, n_threads
    )

    kern = _kernels()
    if X.dtype == np.int32 and code in (kern.METRIC_SQL2, kern.METRIC_COSINE):
        X, Y = _widen_if_overflowing(X, Y, exclude_self)
    idx = np.full((n_queries, k), Y.shape[0], dtype=np.intp)
    if X.dtype == np.uint8 and code in _TILED_METRICS:
        keys = np.full((n_queries, k), np.inf, dtype=np.float64)
        args = _uint8_arguments(X, Y, code, exclude_self, keys, idx)
        kernels = ("_kernels_uint8", "_search_rows_uint8")
    else:
        keys, args = _generic_arguments(X, Y, code, p, exclude_self, idx)
        kernels = ("_kernels", "_search_rows")
        if code in _TILED_METRICS:  # 4 x 4 tiles in plain numba
            args = args[:1] + args[2:]  # no p
            kernels = ("_kernels_tiles", "_search_rows_tiled")
    if n_queries:
        _run(kernels, X, Y, args, q_block, t_block, n_threads)

    if final == "sqrt":
        dist = np.sqrt(keys.astype(np.float64))
    elif final == "root":
        dist = keys ** (1.0 / p)
    else:
        dist = keys.astype(np.float64, copy=False)
    return dist, idx


def _uint8_arguments(X, Y, code, exclude_self, keys, idx):
    from . import _kernels_uint8 as ku

    sq_y = np.empty(Y.shape[0], dtype=np.int64)
    ku._row_sqnorms_uint8(Y, sq_y)
    if exclude_self:
        sq_x = sq_y
    else:
        sq_x = np.empty(X.shape[0], dtype=np.int64)
        ku._row_sqnorms_uint8(X, sq_x)
    if code == _kernels().METRIC_COSINE:
        norms_x, norms_y = _inverse_sqrt(sq_x), _inverse_sqrt(sq_y)
    else:
        norms_x = norms_y = np.empty(0, dtype=np.float64)
    return (code, bool(exclude_self), sq_x, sq_y, norms_x, norms_y, keys, idx)


def _inverse_sqrt(squares):
    """``1 / sqrt(s)`` of exact squared norms, 0 where ``s`` is 0."""
    roots = np.sqrt(squares.astype(np.float64))
    out = np.zeros_like(roots)
    np.divide(1.0, roots, out=out, where=roots > 0)
    return out


def _generic_arguments(X, Y, code, p, exclude_self, idx):
    kern = _kernels()
    n_queries, k = idx.shape
    integer = X.dtype.kind in "iu"
    if integer and code in (kern.METRIC_L1, kern.METRIC_SQL2, kern.METRIC_LINF):
        acc = np.int64(0)
        keys = np.full((n_queries, k), np.iinfo(np.int64).max, dtype=np.int64)
    else:
        acc = np.int64(0) if integer else np.float64(0.0)
        keys = np.full((n_queries, k), np.inf, dtype=np.float64)
    if code == kern.METRIC_COSINE:
        norms_y = np.empty(Y.shape[0], dtype=np.float64)
        kern._row_inv_norms(Y, acc, norms_y)
        if exclude_self:
            norms_x = norms_y
        else:
            norms_x = np.empty(n_queries, dtype=np.float64)
            kern._row_inv_norms(X, acc, norms_x)
    else:
        norms_x = norms_y = np.empty(0, dtype=np.float64)
    args = (code, float(p), bool(exclude_self), norms_x, norms_y, acc, keys, idx)
    return keys, args


def _widen_if_overflowing(X, Y, exclude_self):
    """Return float64 copies when int64 sums of squares could overflow."""
    big = max(int(np.abs(A.min(), dtype=np.int64)) if A.size else 0 for A in (X, Y))
    big = max(big, int(X.max()), int(Y.max()))
    if (2 * big) ** 2 * X.shape[1] < 2**63:
        return X, Y
    Yf = Y.astype(np.float64)
    return (Yf if exclude_self else X.astype(np.float64)), Yf


def _run(kernels, X, Y, args, q_block, t_block, n_threads):
    import importlib

    import numba

    module = importlib.import_module(f"{__package__}.{kernels[0]}")
    serial = getattr(module, kernels[1])
    n_queries = X.shape[0]
    parallel = n_threads > 1 and n_queries > q_block and not _STATE["forked"]
    if parallel and _PARALLEL_LOCK.acquire(blocking=False):
        previous = numba.get_num_threads()
        try:
            numba.set_num_threads(n_threads)
            getattr(module, f"{kernels[1]}_parallel")(X, Y, *args, q_block, t_block)
        finally:
            numba.set_num_threads(previous)
            _PARALLEL_LOCK.release()
    else:
        serial(X, Y, 0, n_queries, *args, q_block, t_block)


def compile_kernels(dtypes=("uint8", "float32"), metrics=("manhattan", "euclidean")):
    """Compile (or load from numba's cache) the kernels for common cases.

    Parameters
    ----------
    dtypes : sequence of str, default=("uint8", "float32")
        Input dtypes to prepare.
    metrics : sequence of str, default=("manhattan", "euclidean")
        Metrics to prepare.
    """
    for dtype in dtypes:
        A = np.zeros((3, 2), dtype=dtype)
        for metric in metrics:
            kneighbors_search(A, A, 1, metric=metric, n_threads=1)
            kneighbors_search(A, A, 1, metric=metric, n_threads=2, block_size=1)
