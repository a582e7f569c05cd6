"""Neighbours read from precomputed distances (``metric="precomputed"``).

Two inputs, as scikit-learn takes them:

* a dense distance matrix of shape ``(n_queries, n_samples_fit)``, every
  entry a distance (non-negative);
* a sparse neighbours graph (CSR, CSC, COO or LIL) of the same shape, as
  :meth:`~fmnist.BlockKNNTransformer.transform` or
  :func:`sklearn.neighbors.kneighbors_graph` return it: only the stored
  entries are candidates (an explicitly stored zero is a neighbour at
  distance 0), so each row must store at least ``n_neighbors`` of them.

The k smallest entries of each row are found exactly with the library's tie
rule (at equal distance the lower training index first); a row of the
training matrix (``kneighbors(X=None)``) never gets its own column. Dense
rows are processed in blocks, so no more than one block of sort keys is
ever allocated.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array

__all__ = ["check_precomputed", "precomputed_kneighbors", "precomputed_radius"]

#: Query rows of a dense matrix ordered at a time.
_BLOCK_ROWS = 256


def check_precomputed(D, n_samples_fit=None):
    """A validated distance matrix or graph: dense float or CSR, sorted rows.

    Parameters
    ----------
    D : array-like or sparse matrix of shape (n_queries, n_samples_fit)
        Distances from each query to each training sample.
    n_samples_fit : int or None
        The number of training samples it must have as columns (None at
        ``fit``, where the matrix must be square).

    Returns
    -------
    D : ndarray (float64, C order) or scipy.sparse.csr_matrix
        A sparse graph is returned in CSR with each row's column indices
        sorted (on a copy: the caller's matrix is never modified).
    """
    if sparse.issparse(D):
        if D.format not in ("csr", "csc", "coo", "lil"):
            raise TypeError(
                f"Sparse matrix in {D.format!r} format is not supported due to "
                "its handling of explicit zeros; pass CSR, CSC, COO or LIL."
            )
        D = sparse.csr_matrix(D, dtype=np.float64, copy=True)
        D.sort_indices()
        D.check_format(full_check=True)
        data = D.data
    else:
        D = check_array(D, dtype=np.float64, order="C", input_name="X")
        data = D
    if data.size and not np.isfinite(data).all():
        raise ValueError("Precomputed distances must be finite; got NaN or infinity.")
    if data.size and data.min() < 0:
        raise ValueError(
            "Negative values in data passed to precomputed distance matrix."
        )
    n_rows, n_cols = D.shape
    if n_samples_fit is None and n_rows != n_cols:
        raise ValueError(
            f"Precomputed matrix must be square. Input is a {n_rows}x{n_cols} matrix."
        )
    if n_samples_fit is not None and n_cols != n_samples_fit:
        raise ValueError(
            f"Precomputed metric requires shape (n_queries, n_indexed). Got "
            f"({n_rows}, {n_cols}) for {n_samples_fit} indexed."
        )
    return D


def _dense_rows(block, first_row, n_neighbors, exclude_self):
    """k smallest entries of each row of a dense block, ties to lower index."""
    if exclude_self:
        block = block.copy()
        rows = np.arange(block.shape[0])
        block[rows, first_row + rows] = np.inf
    n_cols = block.shape[1]
    if n_neighbors < n_cols:
        part = np.argpartition(block, n_neighbors - 1, axis=1)[:, :n_neighbors]
        kth = np.take_along_axis(block, part, axis=1).max(axis=1, keepdims=True)
        # Rows whose k-th distance is shared beyond the k chosen are ordered
        # in full, so that the tie goes to the lower index.
        tied = (block <= kth).sum(axis=1) > n_neighbors
    else:
        part = np.broadcast_to(np.arange(n_cols), block.shape)
        tied = np.zeros(block.shape[0], dtype=bool)
    ind = np.empty((block.shape[0], n_neighbors), dtype=np.intp)
    for r in range(block.shape[0]):
        if tied[r]:
            ind[r] = np.argsort(block[r], kind="stable")[:n_neighbors]
        else:
            cols = np.sort(part[r])
            ind[r] = cols[np.argsort(block[r, cols], kind="stable")]
    return np.take_along_axis(block, ind, axis=1), ind


def _graph_rows(graph, n_neighbors, exclude_self):
    """k smallest stored entries of each row of a CSR graph."""
    needed = n_neighbors + 1 if exclude_self else n_neighbors
    counts = np.diff(graph.indptr)
    if counts.size and counts.min() < needed:
        raise ValueError(
            f"{needed} neighbors per samples are required, but some samples "
            f"have only {counts.min()} neighbors in precomputed graph matrix. "
            "Decrease number of neighbors used or recompute the graph with "
            "more neighbors."
        )
    n_rows = graph.shape[0]
    dist = np.empty((n_rows, n_neighbors))
    ind = np.empty((n_rows, n_neighbors), dtype=np.intp)
    for r in range(n_rows):
        start, stop = graph.indptr[r], graph.indptr[r + 1]
        cols = graph.indices[start:stop]
        values = graph.data[start:stop]
        if exclude_self:
            keep = cols != r
            cols, values = cols[keep], values[keep]
        # Column indices are sorted, so a stable sort leaves ties in index order.
        order = np.argsort(values, kind="stable")[:n_neighbors]
        dist[r], ind[r] = values[order], cols[order]
    return dist, ind


def precomputed_kneighbors(D, n_neighbors, exclude_self=False):
    """The ``n_neighbors`` nearest columns of each row of a checked matrix.

    Parameters
    ----------
    D : ndarray or csr_matrix of shape (n_queries, n_samples_fit)
        A matrix from :func:`check_precomputed`.
    n_neighbors : int
        Neighbours per row, already checked against ``n_samples_fit``.
    exclude_self : bool, default=False
        ``D`` is the training matrix: row ``i`` never gets column ``i``.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
    indices : ndarray of shape (n_queries, n_neighbors), intp
    """
    if sparse.issparse(D):
        return _graph_rows(D, n_neighbors, exclude_self)
    dist = np.empty((D.shape[0], n_neighbors))
    ind = np.empty((D.shape[0], n_neighbors), dtype=np.intp)
    for start in range(0, D.shape[0], _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, D.shape[0])
        dist[start:stop], ind[start:stop] = _dense_rows(
            D[start:stop], start, n_neighbors, exclude_self
        )
    return dist, ind


def precomputed_radius(D, radius, exclude_self=False):
    """Every column within ``radius`` of each row of a checked matrix.

    Dense: every entry at most ``radius``; sparse: the stored ones. Row ``i``
    of the training matrix (``exclude_self``) never gets column ``i``.

    Returns
    -------
    indptr, distances, indices : ndarray
        CSR form, each row's columns in increasing order.
    """
    if sparse.issparse(D):
        D = D.tocoo()
        rows, cols, values = D.row, D.col, D.data
        order = np.lexsort((cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
    else:
        rows, cols = np.nonzero(D <= radius)
        values = D[rows, cols]
    kept = values <= radius
    if exclude_self:
        kept &= rows != cols
    rows, cols, values = rows[kept], cols[kept], values[kept]
    counts = np.bincount(rows, minlength=D.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return indptr, values.astype(np.float64), cols.astype(np.intp)
