"""BlockKNNTransformer: the exact blocked search as a sparse neighbors graph."""

from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted

from .._compat import StrOptions, _fit_context
from ._base import SEARCH_PARAMETER_CONSTRAINTS, KNeighborsSearchMixin, neighbors_graph

__all__ = ["BlockKNNTransformer"]


class BlockKNNTransformer(
    ClassNamePrefixFeaturesOutMixin,
    KNeighborsSearchMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Transform X into the graph of its exact k nearest training samples.

    A drop-in for :class:`sklearn.neighbors.KNeighborsTransformer` on dense
    data, computed by the exact blocked search of
    :class:`~fmnist.BlockKNNClassifier` (same metrics, dtype rules, exactness
    and tie rule). The sparse graph feeds estimators that take
    ``metric="precomputed"`` (:class:`~sklearn.manifold.TSNE`,
    :class:`~sklearn.manifold.Isomap`, :class:`~sklearn.cluster.DBSCAN`,
    :class:`~sklearn.neighbors.KNeighborsClassifier`) or
    ``affinity="precomputed_nearest_neighbors"``
    (:class:`~sklearn.cluster.SpectralClustering`), typically in a
    :class:`~sklearn.pipeline.Pipeline`. Its ``algorithm`` is 'auto',
    'brute' or 'pruned' (no trees); it does not take ``leaf_size``. It takes
    the classifier's metrics, ``metric_params`` and callables, and sparse
    input is searched as by :class:`~fmnist.BlockKNNClassifier`.
    With ``metric="precomputed"`` it reads the neighbours from distance
    matrices or sparse graphs, as scikit-learn's transformer does.

    Parameters
    ----------
    mode : {'distance', 'connectivity'}, default='distance'
        Values of the graph: the distances between neighbors, or 1 for every
        edge.

    n_neighbors : int, default=5
        Number of neighbors of each sample in the graph. As in scikit-learn,
        one extra neighbor is found when ``mode='distance'``, because each
        training sample counts as its own neighbor: the graph then holds
        ``n_neighbors + 1`` neighbors per row.

    metric : str or callable, default='euclidean'
        Distance between samples, as in :class:`~fmnist.BlockKNNClassifier`:
        every metric of scikit-learn's brute force for dense data (aliases
        included), or a callable (compiled into the search when decorated
        with ``numba.njit``).

    p : float, default=2
        Power of the Minkowski metric, ``p > 0`` or ``numpy.inf``; only used
        when ``metric='minkowski'``.

    metric_params : dict, default=None
        Parameters of the metric, as in :class:`~fmnist.BlockKNNClassifier`
        (``w``, ``p``, ``V``, ``VI``, or a Python callable's keyword
        arguments).

    algorithm : {'auto', 'brute', 'pruned'}, default='auto'
        How the exact neighbours are found; results never depend on it.
        'brute' computes every distance. 'pruned' first rules out most
        training rows with lower bounds of the distance (group means for
        manhattan, projections on principal directions for euclidean and
        cosine, see :ref:`pruned-search`) and computes full distances for the
        rest only; it serves manhattan (64 to 4096 features), euclidean,
        squared euclidean and cosine (64 to 1024) searches of uint8 rows and
        falls back to 'brute' elsewhere. 'auto' prunes these from 2048 training rows,
        where it measured faster for any number of queries.

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
        to 1, 2 or infinity (without weights); the callable itself for a
        callable ``metric``.

    effective_metric_params_ : dict
        The metric's parameters as searched, as in
        :class:`~fmnist.BlockKNNClassifier`.

    n_features_in_ : int
        Number of features seen during :term:`fit` (``h * w`` for images of
        shape (h, w)).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    n_samples_fit_ : int
        Number of samples in the fitted data (the number of columns of the
        graph).

    See Also
    --------
    sklearn.neighbors.KNeighborsTransformer : The scikit-learn transformer
        this one reproduces.
    fmnist.BlockKNNClassifier : The classifier over the same search; its
        ``kneighbors_graph`` gives the same graphs.

    Notes
    -----
    **Graph.** Each row of the CSR graph stores its neighbors nearest first,
    so its column indices are not sorted (as scikit-learn's, which
    estimators taking a precomputed sparse graph read without a sort). Values
    are float64; a neighbor at distance zero, such as a training sample
    itself in :meth:`fit_transform`, is an explicit zero.

    **Ties.** Among training samples at the same distance, the one with the
    lower index in the training data is the nearer neighbor. In
    :meth:`fit_transform` a sample is therefore preceded by its exact
    duplicates of lower index, and drops out of its own row when more than
    ``n_neighbors`` of them precede it.

    **Input.** ``X`` is an array of shape (n_samples, n_features), or a stack
    of images of shape (n_samples, height, width), flattened. The training
    data is stored once in its search dtype (uint8 pixels without a copy), as
    described in :class:`~fmnist.BlockKNNClassifier`.

    Examples
    --------
    >>> X = [[0], [1], [2], [4]]
    >>> from fmnist import BlockKNNTransformer
    >>> knn = BlockKNNTransformer(n_neighbors=1)
    >>> graph = knn.fit_transform(X)
    >>> graph.shape
    (4, 4)
    >>> graph.toarray()
    array([[0., 1., 0., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 2., 0.]])
    >>> knn.transform([[3.5]]).toarray()
    array([[0. , 0. , 1.5, 0.5]])
    """

    _parameter_constraints: dict = {
        **SEARCH_PARAMETER_CONSTRAINTS,
        "mode": [StrOptions({"distance", "connectivity"})],
    }

    def __init__(
        self,
        *,
        mode="distance",
        n_neighbors=5,
        metric="euclidean",
        p=2,
        metric_params=None,
        algorithm="auto",
        block_size=None,
        n_jobs=None,
    ):
        self.mode = mode
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.algorithm = algorithm
        self.block_size = block_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the k-nearest-neighbors transformer from the training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, height, width)
            Training data; image stacks are flattened.

        y : None
            Ignored.

        Returns
        -------
        self : BlockKNNTransformer
            The fitted transformer.
        """
        self._store_training(self._validate_training(X))
        self._n_features_out = self.n_samples_fit_
        return self

    def _graph_size(self):
        """Neighbors per row of the graph: one more in 'distance' mode."""
        return self.n_neighbors + (self.mode == "distance")

    def transform(self, X):
        """Compute the graph of the nearest training samples of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
(n_queries, height, width)
            The queries.

        Returns
        -------
        Xt : sparse matrix of shape (n_queries, n_samples_fit)
            CSR graph: ``Xt[i, j]`` is the weight of the edge from query
            ``i`` to training sample ``j``; each row stores its
            ``n_neighbors`` (``n_neighbors + 1`` in 'distance' mode) nearest
            training samples, nearest first.
        """
        check_is_fitted(self)
        return self.kneighbors_graph(X, mode=self.mode, n_neighbors=self._graph_size())

    def fit_transform(self, X, y=None):
        """Fit to the data, then compute its graph (same as ``fit(X).transform(X)``).

        Each training sample counts as its own neighbor, at distance zero.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, height, width)
            Training data; image stacks are flattened.

        y : None
            Ignored.

        Returns
        -------
        Xt : sparse matrix of shape (n_samples, n_samples)
            CSR graph: ``Xt[i, j]`` is the weight of the edge from sample
            ``i`` to sample ``j``; each row stores ``n_neighbors``
            (``n_neighbors + 1`` in 'distance' mode) samples, nearest first.
        """
        self.fit(X)
        # The stored rows are the validated X in its search dtype: the queries
        # ``transform(X)`` would build, without converting X a second time.
        neigh_dist, neigh_ind = self._search(
            self._fit_X, self._graph_size(), exclude_self=False
        )
        return neighbors_graph(neigh_dist, neigh_ind, self.n_samples_fit_, self.mode)
