"""BlockNearestNeighbors: the exact blocked search, unsupervised, with radius
queries."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, _fit_context
from ._base import (
    GRAPH_MODES,
    SEARCH_PARAMETER_CONSTRAINTS,
    KNeighborsSearchMixin,
    csr_graph,
)
from ._precomputed import precomputed_radius
from ._radius import FIRST_NEIGHBORS, check_radius, radius_search

__all__ = ["BlockNearestNeighbors"]


def _per_query(flat, indptr):
    """An object array holding, per query, its slice of ``flat`` (a view)."""
    out = np.empty(indptr.shape[0] - 1, dtype=object)
    for i in range(out.shape[0]):
        out[i] = flat[indptr[i] : indptr[i + 1]]
    return out


class BlockNearestNeighbors(KNeighborsSearchMixin, BaseEstimator):
    """Exact nearest neighbors and radius neighbors, unsupervised.

    A drop-in for :class:`sklearn.neighbors.NearestNeighbors` on dense data:
    :meth:`kneighbors` and :meth:`kneighbors_graph` run the exact blocked
    search of :class:`~fmnist.BlockKNNClassifier` (same metrics, dtype rules,
    exactness and tie rule), and :meth:`radius_neighbors` and
    :meth:`radius_neighbors_graph` return every training sample within a
    radius, exactly. Its ``algorithm`` is 'auto', 'brute' or 'pruned' (no
    trees); it does not take ``leaf_size``. It takes the classifier's
    metrics, ``metric_params``, callables, ``metric='precomputed'`` and
    sparse input; radius queries of the routes without SIMD tiles (sparse
    training rows, metrics of the generic search) find the k nearest with
    ``k`` doubled from 32 until every query's k-th lies beyond the radius.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbors of :meth:`kneighbors` by default.

    radius : float, default=1.0
        Radius of :meth:`radius_neighbors` by default (``>= 0``; samples at
        exactly this distance are included).

    algorithm : {'auto', 'brute', 'pruned'}, default='auto'
        How the exact neighbours are found, as in
        :class:`~fmnist.BlockKNNClassifier`; results never depend on it.
        For radius queries, 'brute' compares every pair; where the pruned
        search serves, 'auto' and 'pruned' first answer the queries with few
        neighbours within the radius from a pruned search of their 32
        nearest, and compare every pair for the others only (see
        :ref:`radius-neighbors`).

    metric : str or callable, default='minkowski'
        Distance between samples, as in :class:`~fmnist.BlockKNNClassifier`
        (every metric of scikit-learn's brute force, 'precomputed', or a
        callable). The default, Minkowski with ``p=2``, is the euclidean
        distance.

    p : float, default=2
        Power of the Minkowski metric, ``p > 0`` or ``numpy.inf``; only used
        when ``metric='minkowski'``.

    metric_params : dict, default=None
        Parameters of the metric, as in :class:`~fmnist.BlockKNNClassifier`.

    block_size : int or (int, int), default=None
        Rows per block of the search: an int for both queries and training
        rows, or a pair ``(query_rows, training_rows)``. None sizes the blocks
        to fit the CPU's L2 cache. Results never depend on it.

    n_jobs : int, default=None
        Number of threads searching in each call. None takes numba's current
        setting (``numba.get_num_threads()``), -1 uses all
        ``NUMBA_NUM_THREADS`` threads and -2 all but one.

    Attributes
    ----------
    effective_metric_ : str
        The distance computed: ``metric`` with aliases resolved, and
        'manhattan', 'euclidean' or 'chebyshev' for Minkowski with ``p`` equal
        to 1, 2 or infinity.

    n_features_in_ : int
        Number of features seen during :term:`fit` (``h * w`` for images of
        shape (h, w)).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    n_samples_fit_ : int
        Number of samples in the fitted data.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The scikit-learn estimator this one
        reproduces.
    fmnist.BlockKNNClassifier : The classifier over the same search.
    fmnist.BlockKNNTransformer : The same search as a graph transformer.

    Notes
    -----
    **Radius boundary.** A training sample is within the radius when the
    distance the search returns for it (float64, as :meth:`kneighbors`
    returns it) is at most ``radius``. On integer data (uint8 pixels) the
    distances come from exact integer sums, so the boundary is exact; on
    float data a sample whose distance is within a few ulps of the radius
    may fall on the other side than in scikit-learn, which rounds
    differently.

    **Order.** :meth:`radius_neighbors` returns each query's neighbors by
    ascending training index, or with ``sort_results=True`` by ascending
    distance, the lower index first among equal distances (the tie rule of
    :meth:`kneighbors`).

    **Memory.** Radius queries are answered one block of queries at a
    time: memory holds the block's neighbours and the result, never the
    distances of every query to every training sample.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist import BlockNearestNeighbors
    >>> samples = [[0, 0, 2], [1, 0, 0], [0, 0, 1]]
    >>> neigh = BlockNearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.fit(samples)
    BlockNearestNeighbors(n_neighbors=2, radius=0.4)
    >>> neigh.kneighbors([[0, 0, 1.3]], 2, return_distance=False)
    array([[2, 0]])
    >>> dist, ind = neigh.radius_neighbors([[0, 0, 1.3]])
    >>> ind[0], dist[0]
    (array([2]), array([0.3]))
    """

    _parameter_constraints: dict = {
        **SEARCH_PARAMETER_CONSTRAINTS,
        "radius": [Interval(Real, 0, None, closed="both")],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        algorithm="auto",
        metric="minkowski",
        p=2,
        metric_params=None,
        block_size=None,
        n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.block_size = block_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the nearest neighbors estimator from the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or \
(n_samples, height, width)
            Training data; image stacks are flattened.

        y : None
            Ignored.

        Returns
        -------
        self : BlockNearestNeighbors
            The fitted estimator.
        """
        self._store_training(self._validate_training(X))
        return self

    def _radius_search(self, X, radius, sort_results):
        """``(indptr, distances, indices)`` of the training samples within
        ``radius`` (the ``radius`` parameter when None) of each query."""
        check_is_fitted(self)
        radius = self.radius if radius is None else radius
        check_radius(radius)
        if X is None:
            queries, exclude_self = self._fit_X, True
        else:
            queries, exclude_self = self._validate_query(X), False
        spec = self._spec()
        if spec is None:
            found = precomputed_radius(queries, radius, exclude_self)
            return _sorted_by_distance(*found) if sort_results else found
        if not _kernel_serves(spec, self._fit_X):
            return self._radius_by_growing_k(
                queries, radius, exclude_self, sort_results
            )
        return radius_search(
            self._spec(),
            queries,
            self._fit_X,
            radius,
            exclude_self=exclude_self,
            sort_results=sort_results,
            training=self._training_rows,
        )

    def _radius_by_growing_k(self, queries, radius, exclude_self, sort_results):
        """The radius search of routes without a radius kernel (sparse rows,
        metrics without tiles): k nearest neighbours of every query, ``k``
        doubled until each query's k-th lies beyond ``radius`` or ``k`` is
        every training sample. Exact, as the k-nearest search is."""
        n_max = self.n_samples_fit_ - exclude_self
        k = min(FIRST_NEIGHBORS, n_max)
        while True:
            dist, ind = self._search(queries, k, exclude_self)
            if k == n_max or not (dist[:, -1] <= radius).any():
                break
            k = min(2 * k, n_max)
        kept = dist <= radius  # a prefix of each row
        counts = kept.sum(axis=1)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        dist, ind = dist[kept], ind[kept]
        if not sort_results:
            owner = np.repeat(np.arange(counts.shape[0]), counts)
            order = np.lexsort((ind, owner))
            dist, ind = dist[order], ind[order]
        return indptr, dist, ind

    def radius_neighbors(
        self, X=None, radius=None, return_distance=True, sort_results=False
    ):
        """Find the training samples within a radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or \
(n_queries, height, width), default=None
            The queries. If None, the neighbors of every training sample are
            returned, a sample never being its own neighbor (a duplicate of it
            can be).

        radius : float, default=None
            Largest distance of the neighbors returned (included); the
            ``radius`` parameter when None.

        return_distance : bool, default=True
            Whether to return the distances.

        sort_results : bool, default=False
            Whether to sort each query's neighbors by ascending distance (the
            lower index first at equal distance) instead of by ascending
            index. Needs ``return_distance=True``.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries,) of arrays
            Per query, the distances (float64) to its neighbors. Only present
            if ``return_distance=True``.

        neigh_ind : ndarray of shape (n_queries,) of arrays
            Per query, the indices (intp) of its neighbors in the training
            data.
        """
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        indptr, distances, indices = self._radius_search(X, radius, sort_results)
        neigh_ind = _per_query(indices, indptr)
        if return_distance:
            return _per_query(distances, indptr), neigh_ind
        return neigh_ind

    def radius_neighbors_graph(
        self, X=None, radius=None, mode="connectivity", sort_results=False
    ):
        """Compute the (weighted) graph of the neighbors within a radius.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or \
(n_queries, height, width), default=None
            The queries. If None, the neighbors of every training sample,
            a sample never being its own neighbor.

        radius : float, default=None
            Largest distance of the neighbors (included); the ``radius``
            parameter when None.

        mode : {'connectivity', 'distance'}, default='connectivity'
            'connectivity' gives the edges weight 1, 'distance' the distance
            between the samples.

        sort_results : bool, default=False
            Whether each row stores its entries by ascending distance instead
            of by ascending column. Only used with ``mode='distance'``.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit)
            CSR matrix (float64): ``A[i, j]`` is the weight of the edge from
            query ``i`` to training sample ``j``. A neighbor at distance 0 is
            an explicit zero in 'distance' mode.
        """
        if mode not in GRAPH_MODES:
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        sort_results = bool(sort_results) and mode == "distance"
        indptr, distances, indices = self._radius_search(X, radius, sort_results)
        if mode == "connectivity":
            distances = np.ones(indices.shape[0])
        return csr_graph(distances, indices, indptr, self.n_samples_fit_)


def _kernel_serves(spec, rows):
    """Whether the radius kernel serves the search: dense training rows and
    a metric with SIMD tiles."""
    return isinstance(rows, np.ndarray) and spec.metric.general is None


def _sorted_by_distance(indptr, distances, indices):
    """Each row of a CSR result ordered by (distance, index)."""
    owner = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    order = np.lexsort((indices, distances, owner))
    return indptr, distances[order], indices[order]
