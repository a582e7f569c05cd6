"""The sparse search spine: validate, reuse, run, finish.

:func:`search` finds the exact neighbours of :class:`~._rows.SparseRows`
queries among sparse training rows; :func:`search_densified` serves sparse
queries of dense training rows by the dense search, a bounded number of
query rows at a time; :func:`query_rows` is the one rule for the queries of
sparse training rows.

Results are kept in :data:`~.._cache.search_cache` under keys that name the
sparse layout, so that they can never meet the key of a dense search; the
training rows' digest is computed once per fit (the rows are a private
copy).
"""

import hashlib

import numpy as np
from scipy import sparse

from .._cache import MIN_NEIGHBORS, SMALL_BATCH, digest, search_cache
from .._kernels._codes import Heaps
from .._plan import run_blocks
from .._spec import check_n_neighbors
from ._codes import KEY_COSINE, KEY_L1, SparsePairs
from ._rows import SparseRows, SparseTrainingRows, _checked_csr, row_values, sparse_rows

__all__ = ["query_rows", "search", "search_densified"]

#: Dense training rows meet sparse queries converted to dense rows at most
#: this many bytes at a time.
DENSE_CHUNK_BYTES = 64 << 20

#: Queries per block of a thread, at most.
MAX_QUERY_BLOCK = 64


def query_rows(X, training):
    """Queries (sparse or dense, validated 2-d) of the sparse training rows
    ``training`` (:class:`SparseRows`) as :class:`SparseRows`: integer when
    the training rows are and the query values are whole numbers within
    their limit, float64 otherwise."""
    if not sparse.issparse(X):
        X = sparse.csr_array(np.asarray(X))
    return sparse_rows(X, integer=training.dtype.kind == "i")


def checked_queries(X):
    """A sparse query matrix, in CSR, once its structure is checked (safe to
    convert to dense rows)."""
    X = X.tocsr() if X.format != "csr" else X
    _checked_csr(X)
    return X


def search_densified(spec, X, Y, n_neighbors, training=None):
    """Neighbours of sparse queries ``X`` (checked CSR) in dense training
    rows ``Y``: rows of ``X`` made dense a chunk at a time
    (:data:`DENSE_CHUNK_BYTES`) and searched as dense queries, so the results
    are those of the dense search of ``X.toarray()``."""
    from .._search import search as dense_search

    n_queries, n_features = X.shape
    step = max(1, DENSE_CHUNK_BYTES // max(1, 8 * n_features))
    parts = []
    for start in range(0, n_queries, step):
        chunk = spec.query_array(X[start : start + step].toarray())
        parts.append(dense_search(spec, chunk, Y, n_neighbors, training=training))
    if not parts:
        chunk = spec.query_array(np.zeros((0, n_features), dtype=Y.dtype))
        return dense_search(spec, chunk, Y, n_neighbors, training=training)
    return (
        np.concatenate([dist for dist, _ in parts]),
        np.concatenate([ind for _, ind in parts]),
    )


def _validate(spec, X, Y, n_neighbors, exclude_self):
    for name, A in (("X", X), ("Y", Y)):
        if not isinstance(A, SparseRows):
            raise TypeError(f"{name} must be SparseRows. Got {type(A).__name__}.")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features, but Y has {Y.shape[1]} features."
        )
    if Y.shape[0] < 1 or Y.shape[1] < 1:
        raise ValueError(
            f"Y must have at least one row and one feature. Got {Y.shape}."
        )
    if exclude_self and X is not Y:
        raise ValueError("exclude_self needs X to be the training rows Y.")
    if spec.metric.sparse is None:
        raise ValueError(f"Metric {spec.metric.name!r} not valid for sparse input.")
    check_n_neighbors(n_neighbors, Y.shape[0], exclude_self)


def rows_digest(rows):
    """Digest of :class:`SparseRows`: its layout, shape and three arrays."""
    h = hashlib.blake2b(b"sparse-csr", digest_size=16)
    h.update(f"{rows.shape}".encode())
    for array in (rows.indptr, rows.indices, rows.data):
        h.update(digest(array))
    return h.digest()


def search(spec, X, Y, n_neighbors, *, exclude_self=False, reuse=True, training=None):
    """Exact ``n_neighbors`` nearest rows of sparse ``Y`` for every row of
    sparse ``X``.

    Parameters
    ----------
    spec : SearchSpec
        Its metric must have a sparse route (``Metric.sparse``).
    X, Y : SparseRows
        Queries and training rows (:func:`~._rows.sparse_rows`).
    n_neighbors : int
        ``1 <= n_neighbors <= len(Y)`` (``len(Y) - 1`` with ``exclude_self``).
    exclude_self : bool, default=False
        ``X`` is ``Y``: row ``i`` never gets itself as a neighbour.
    reuse : bool, default=True
        Answer from, and store into, :data:`~.._cache.search_cache`.
    training : SparseTrainingRows or None, default=None
        What is derived from ``Y`` and kept between calls.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
    indices : ndarray of shape (n_queries, n_neighbors), intp
        Ascending by distance, then by training index.
    """
    _validate(spec, X, Y, n_neighbors, exclude_self)
    if training is None or training.rows is not Y:
        training = SparseTrainingRows(Y)
    from .._search import resolve_threads

    n_threads = resolve_threads(spec.n_jobs)
    key = _key(spec, X, training, exclude_self) if reuse else None
    if key is None:
        return _run(spec, X, training, int(n_neighbors), exclude_self, n_threads)
    cached = search_cache.get(key, n_neighbors)
    if cached is not None:
        return cached
    n_max = Y.shape[0] - 1 if exclude_self else Y.shape[0]
    k_search = min(max(int(n_neighbors), MIN_NEIGHBORS), n_max)
    dist, idx = _run(spec, X, training, k_search, exclude_self, n_threads)
    search_cache.put(key, dist, idx)
    return dist[:, :n_neighbors].copy(), idx[:, :n_neighbors].copy()


def _key(spec, X, training, exclude_self):
    if not search_cache.max_bytes:
        return None
    if not exclude_self and X.shape[0] < SMALL_BATCH and training.digest is None:
        return None  # hashing the training rows would cost more than searching
    if training.digest is None:
        training.digest = rows_digest(training.rows)
    query = b"self" if exclude_self else rows_digest(X)
    return ("sparse", spec.metric.name, float(spec.p), training.digest, query)


def _run(spec, X, training, n_neighbors, exclude_self, n_threads):
    """Run one search (arrays already validated)."""
    from ._kernels import entry_point

    Y = training.rows
    floating = X.dtype.kind == "f" or Y.dtype.kind == "f"
    family, key_rule = spec.metric.sparse
    sq_y, l1_y, inv_y = training.row_values(floating)
    if exclude_self:
        queries, (sq_x, l1_x, inv_x) = training.rows_as(floating), (sq_y, l1_y, inv_y)
    else:
        queries = X.as_float() if floating else X
        sq_x, l1_x, inv_x = row_values(queries)
    if key_rule == KEY_L1:
        norms_x, norms_y = l1_x, l1_y
    else:
        norms_x, norms_y = sq_x, sq_y
    if key_rule != KEY_COSINE:
        inv_x = inv_y = np.zeros(0)
    key_dtype = spec.metric.key_dtype(queries.dtype, training.rows_as(floating).dtype)
    sentinel = np.iinfo(np.int64).max if key_dtype == np.int64 else np.inf
    n_queries, n_train = X.shape[0], Y.shape[0]
    keys = np.full((n_queries, n_neighbors), sentinel, dtype=key_dtype)
    idx = np.full((n_queries, n_neighbors), n_train, dtype=np.intp)
    if n_queries:
        pairs = SparsePairs(
            queries.compressed(),
            training.columns(floating),
            norms_x,
            norms_y,
            inv_x,
            inv_y,
        )
        heaps = Heaps(keys, idx, bool(exclude_self))
        kernel = entry_point(family, key_rule)
        acc_dtype = np.float64 if floating else np.int64

        def search_block(start, stop):
            kernel(pairs, heaps, np.zeros(n_train, dtype=acc_dtype), start, stop)

        run_blocks(
            search_block, n_queries, _query_block(spec, n_queries, n_threads), n_threads
        )
    return spec.metric.distances(keys, spec.p), idx


def _query_block(spec, n_queries, n_threads):
    if spec.block_size is not None:
        return spec.block_size[0]
    per_thread = -(-n_queries // max(1, 4 * n_threads))
    return max(1, min(MAX_QUERY_BLOCK, per_thread))
