"""One search, planned: what the spine hands to brute force and the pruned search.

* :class:`SearchPlan`: the arrays, route, per-row values, heaps, blocks and
  threads of one search, built once by the spine (:mod:`._search`) and read
  by each algorithm (:mod:`._brute`, :mod:`._pruned`).
* :func:`run_blocks`: the one wrapper that hands blocks of queries to
  Python threads, each running a route's kernel (which releases the GIL).
* :class:`TrainingRows`: what is derived from the training rows and kept
  from one search to the next (per-row values, bound tables, panels).
* :func:`empty_heaps` and :func:`merge_topk`: heaps of ``k`` per query, and
  the exact merge of two sorted top-k lists.
"""

import threading
from dataclasses import dataclass

import numpy as np

from . import _pruned
from ._kernels import _codes

__all__ = [
    "SearchPlan",
    "TrainingRows",
    "empty_heaps",
    "merge_topk",
    "row_values",
    "run_blocks",
]


@dataclass(frozen=True)
class SearchPlan:
    """One search of the queries ``X`` in the training rows ``Y``.

    Attributes
    ----------
    route : tuple of (int, int)
        ``(tile, key)`` codes of the metric for these arrays (``._codes``).
    X, Y : ndarray
        Queries and training rows (validated kernel arrays).
    exclude_self : bool
        ``X`` is ``Y`` and a row is not its own neighbour.
    p : float
        Minkowski power.
    aux_x, aux_y : ndarray
        The per-row values the key rule needs (``._codes.KEY_AUX``).
    keys, idx : ndarray of shape (n_queries, k)
        The heaps, filled by the search.
    q_block, t_block : int
        Query rows and training rows per block.
    n_threads : int
        Threads of the search.
    training : TrainingRows
        What is derived from ``Y`` and kept between searches.
    y_digest : bytes or None
        Digest of ``Y``'s bytes when the caller has one (``._cache.digest``).
    """

    route: tuple
    X: np.ndarray
    Y: np.ndarray
    exclude_self: bool
    p: float
    aux_x: np.ndarray
    aux_y: np.ndarray
    keys: np.ndarray
    idx: np.ndarray
    q_block: int
    t_block: int
    n_threads: int
    training: "TrainingRows"
    y_digest: bytes = None

    def run(self, search_block):
        """:func:`run_blocks` of ``search_block(start, stop)`` over the
        queries, in the plan's blocks and threads."""
        run_blocks(search_block, self.X.shape[0], self.q_block, self.n_threads)

    def pairs(self):
        """The plan's :class:`~._kernels._codes.Pairs`: what every key reads."""
        return _codes.Pairs(self.X, self.Y, self.aux_x, self.aux_y, float(self.p))

    def heaps(self):
        """The plan's :class:`~._kernels._codes.Heaps`."""
        return _codes.Heaps(self.keys, self.idx, bool(self.exclude_self))

    def blocks(self, start, stop):
        """The :class:`~._kernels._codes.Blocks` of queries ``[start, stop)``
        in the plan's block sizes."""
        return _codes.Blocks(int(start), int(stop), self.q_block, self.t_block)


def run_blocks(search_block, n_queries, q_block, n_threads):
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
        """The values of :func:`row_values` of kind ``kind`` for the rows."""
        if kind not in self._values:
            self._values[kind] = row_values(kind, self.rows)
        return self._values[kind]

    def bound_tables(self, family):
        """The bound tables of the rows for the pruned search of ``family``
        (``Metric.pruned``): euclidean and squared euclidean share theirs."""
        if family not in self._tables:
            self._tables[family] = _pruned.bound_tables(self.rows, family)
        return self._tables[family]

    def panels(self, kind, digest):
        """The rows packed for the panel tiles of panel kind ``kind``, packed
        again when ``digest`` (of the rows' bytes, :func:`._cache.digest`)
        is not the one they were packed from."""
        from ._brute import _panels

        packed = self._panels.get(kind)
        if packed is None or packed[0] != digest:
            packed = self._panels[kind] = (digest, _panels.pack(self.rows, kind))
        return packed[1]


def row_values(kind, A):
    """The per-row values of ``kind`` (``._codes.AUX_*``) of the rows of
    ``A``: exact squared norms, inverse norms or norms; empty for none."""
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


def empty_heaps(metric, X, Y, k):
    """``(keys, idx)``: one empty heap of ``k`` per query, in the key dtype of
    ``metric`` for these arrays, every slot the sentinel (the largest key,
    index ``len(Y)``)."""
    key_dtype = metric.key_dtype(X.dtype, Y.dtype)
    sentinel = np.iinfo(np.int64).max if key_dtype == np.int64 else np.inf
    keys = np.full((X.shape[0], k), sentinel, dtype=key_dtype)
    idx = np.full((X.shape[0], k), Y.shape[0], dtype=np.intp)
    return keys, idx


def merge_topk(first, second, n_neighbors):
    """Merge two top-k lists of the same queries into one.

    Each argument is ``(keys, indices)`` (or distances) with one row per
    query, sorted by key then index. The result keeps the ``n_neighbors``
    smallest pairs of each row in the order (key, index), the order of a
    single search: ties go to the lower training index. Searches of disjoint
    parts of the training rows, their indices made global, merge into the
    search of all of them (:mod:`fmnist.distributed` merges its shards so).

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist.neighbors import merge_topk
    >>> first = (np.array([[1.0, 4.0]]), np.array([[7, 2]]))
    >>> second = (np.array([[1.0, 3.0]]), np.array([[5, 9]]))
    >>> keys, ind = merge_topk(first, second, 3)
    >>> keys.tolist(), ind.tolist()
    ([[1.0, 1.0, 3.0]], [[5, 7, 9]])
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
