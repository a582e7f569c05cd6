"""BlockKNNClassifier: the scikit-learn estimator over the exact blocked search."""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._compat import StrOptions, _fit_context
from ._base import SEARCH_PARAMETER_CONSTRAINTS, KNeighborsSearchMixin
from ._spec import SearchIndex
from ._vote import class_votes, needs_distances

__all__ = ["BlockKNNClassifier"]


class BlockKNNClassifier(KNeighborsSearchMixin, ClassifierMixin, BaseEstimator):
    """Exact k-nearest-neighbours classifier with a cache-blocked search.

    Computes what :class:`sklearn.neighbors.KNeighborsClassifier` with
    ``algorithm="brute"`` computes on dense data, with parallel numba kernels
    that never build the full query-by-training distance matrix and that keep
    uint8 images (such as Fashion-MNIST) in exact integer arithmetic. It
    takes the same ``n_neighbors``, ``weights``, ``metric`` (every metric of
    scikit-learn's brute force for dense data, or a callable), ``p`` and
    ``metric_params`` and has the same ``kneighbors``, ``kneighbors_graph``,
    ``predict``, ``predict_proba`` and ``score``. Its ``algorithm`` is 'auto',
    'brute' or 'pruned' (exact in every case; no trees); it does not take
    ``leaf_size``. It takes ``metric="precomputed"`` (dense distance
    matrices and sparse neighbours graphs) and multi-output targets, as
    scikit-learn's classifier does. Sparse input (any scipy sparse format,
    converted to CSR) is searched exactly with the euclidean, squared
    euclidean, manhattan and cosine metrics (see Notes).

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbors used by :meth:`predict`, :meth:`predict_proba` and
        by default by :meth:`kneighbors`.

    metric : str or callable, default='euclidean'
        Distance between samples. 'euclidean', 'sqeuclidean', 'manhattan',
        'cosine', 'chebyshev' and 'minkowski' run on SIMD tiles; 'braycurtis',
        'canberra', 'correlation', 'seuclidean', 'mahalanobis', 'haversine',
        'nan_euclidean', 'hamming' and the boolean 'dice', 'jaccard',
        'rogerstanimoto', 'russellrao', 'sokalsneath' and 'yule' on the
        generic compiled search (:ref:`generic-search`). ``'l1'`` and
        ``'cityblock'`` are aliases of ``'manhattan'``, ``'l2'`` of
        ``'euclidean'``. The cosine distance is ``1 - cos(x, y)``, exactly 0
        for samples pointing the same way (see Notes), and 1 when either
        sample is all zeros, as in
        :func:`sklearn.metrics.pairwise.cosine_distances`. A callable
        ``f(x, y)`` of two 1-D float64 rows returns their distance: decorated
        with ``numba.njit`` it runs inside the compiled search at compiled
        speed; a plain Python function runs at scikit-learn's speed (one
        call per pair, through :func:`sklearn.metrics.pairwise_distances`).
        'precomputed' reads the neighbours from distance matrices or sparse
        neighbours graphs given as ``X`` (see the user guide, "Precomputed
        distances and graphs").

    p : float, default=2
        Power of the Minkowski metric, ``p > 0`` or ``numpy.inf``; only used
        when ``metric='minkowski'``. ``p=1`` is the manhattan, ``p=2`` the
        euclidean and ``p=inf`` the chebyshev distance; ``0 < p < 1`` is not
        a metric (the triangle inequality fails) and warns as scikit-learn
        does.

    metric_params : dict, default=None
        Parameters of the metric: ``w`` (weights, one per feature) and ``p``
        for 'minkowski' (``p`` here wins over the ``p`` parameter, with a
        ``SyntaxWarning``), ``V`` (variances) for 'seuclidean', ``VI`` (the
        inverse covariance) or ``V`` for 'mahalanobis'; keyword arguments of
        a plain Python callable. ``V`` and ``VI`` are derived from the
        training data when absent. Others raise a ValueError.

    weights : {'uniform', 'distance'}, callable or None, default='uniform'
        Weight of each neighbor in the vote:

        - 'uniform' (or None): all neighbors weigh the same.
        - 'distance': weight by the inverse of the distance. A query with
          neighbors at distance zero gives those weight 1 and the others 0.
        - callable: a function taking the array of distances, of shape
          (n_queries, n_neighbors), and returning weights of the same shape.
          A query whose weights are all zero raises a ValueError.

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
        Rows per block of the search: an int sets both the number of queries
        processed together and the number of training rows compared with them
        at a time; a pair sets ``(query_rows, training_rows)``. None sizes the
        blocks to fit the CPU's L2 cache. Results never depend on it.

    n_jobs : int, default=None
        Number of threads searching in :meth:`kneighbors`,
        :meth:`kneighbors_graph`, :meth:`predict`, :meth:`predict_proba` and
        :meth:`score` (it does not affect
        :meth:`fit`, which only stores the data). None takes numba's current
        setting (``numba.get_num_threads()``, by default every core), -1 uses
        all ``NUMBA_NUM_THREADS`` threads and -2 all but one; numba's setting
        itself is never changed.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Class labels known to the classifier, sorted; one array per output
        when ``y`` was 2-d.

    outputs_2d_ : bool
        Whether ``y`` was 2-d (multi-output) at fit.

    effective_metric_ : str
        The distance computed: ``metric`` with aliases resolved, and
        'manhattan', 'euclidean' or 'chebyshev' for Minkowski with ``p`` equal
        to 1, 2 or infinity (without weights); the callable itself for a
        callable ``metric``.

    effective_metric_params_ : dict
        The metric's parameters as searched: ``p`` and ``w`` for
        'minkowski', ``V`` for 'seuclidean' and ``VI`` for 'mahalanobis'
        (derived from the training data where not given), a callable's
        ``metric_params``; empty for the other metrics.

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
    sklearn.neighbors.KNeighborsClassifier : The scikit-learn classifier this
        one reproduces, with tree-based searches.
    sklearn.neighbors.NearestNeighbors : Unsupervised neighbor searches.
    fmnist.BlockKNNTransformer : The same search as a sparse neighbors graph.
    fmnist.ConvNetClassifier : Convolutional network for the same images.

    Notes
    -----
    **Input.** ``X`` is an array of shape (n_samples, n_features), or a stack
    of images of shape (n_samples, height, width) that is flattened to
    (n_samples, height * width). How the training data is stored is decided
    once, at :meth:`fit`: whole numbers in [0, 255] (bool, any integer or
    floating type) as uint8, kept without a copy when the input is a
    C-contiguous uint8 array (so a read-only or memory-mapped training set is
    not duplicated); other whole numbers as int32 when no squared distance or
    dot product between them can overflow 64-bit integers (for 784 features,
    magnitudes up to about 5.4e7); float16 and float32 data as float32 and
    everything else as float64. A query is converted to the stored type when
    that holds it exactly; otherwise (fractional values on an integer model,
    float64 on a float32 model) its own values are compared with the stored
    training rows in float64, without a widened copy of the training data.

    **Other metrics.** The metrics without tiles and numba-compiled
    callables compare each pair in float64 in one compiled kernel that keeps
    the same running top-k; their ``V`` and ``VI``, where derived, are those
    of the training rows for every query (scikit-learn derives them only to
    search the training samples themselves and raises for other queries).
    Searches with a callable metric are never reused from the search cache.


    **Sparse input.** scipy sparse matrices and arrays of any format are
    converted to CSR; the training rows are kept as a private canonical copy
    (sorted column indices, duplicates summed), whole numbers as int32 and
    any other values as float64. Sparse training rows are searched by an
    exact sparse search (the rows sharing each column of a query, then every
    training row's distance from the norms), for the euclidean, squared
    euclidean, manhattan and cosine metrics (Minkowski with ``p`` of 1 or 2
    included); other metrics raise a ValueError, as in scikit-learn. Dense
    queries of sparse training rows are searched as sparse rows, sparse
    queries of dense training rows as dense rows (a bounded number of rows
    made dense at a time), with every metric. For whole numbers the
    distances are computed in exact integer arithmetic, so sparse and dense
    copies of the same integer data give the same neighbours and distances;
    float values use ``|x|^2 + |y|^2 - 2 x.y`` (and ``|x|_1 + |y|_1`` with a
    correction on shared columns for manhattan) in float64, as scikit-learn
    does for sparse rows.

    **Exactness.** For integer data the manhattan, euclidean, sqeuclidean,
    chebyshev and Minkowski ``p=1, 2, inf`` distances are computed in exact
    integer arithmetic at any number of features, so results are identical
    for every ``block_size`` and ``n_jobs``. The cosine distance of integer
    samples pointing the same way is exactly 0 (decided in exact integer
    arithmetic); for floating-point samples it is computed from the unit
    vectors, exactly 0 for equal samples. Floating-point data is compared
    directly (never with the ``|x|^2 - 2 x.y + |y|^2`` expansion) with float64
    accumulation.

    **Ties.** Among training samples at the same distance, the one with the
    lower index in the training data is the nearer neighbor. When the vote is
    tied, the smallest class label wins.

    .. warning::

       If neighbors `k` and `k+1` have identical distances but different
       labels, the result depends on the ordering of the training data.

    **Memory.** The search never materialises the (n_queries, n_samples_fit)
    distance matrix: it keeps a running top-k per query, so the extra memory
    is O(n_queries * n_neighbors).

    **Threads.** Each search cuts the queries into blocks that ``n_jobs``
    Python threads take in turn, running compiled kernels that release the
    GIL; numba's threading layer is not used. Searches are safe to call from
    several Python threads at once (thread pools, joblib's threading backend,
    dask's threaded scheduler) and in forked children. In process-based
    workers (joblib's loky, dask distributed) set ``NUMBA_NUM_THREADS=1`` in
    the worker environment, or ``n_jobs=1``, so that the workers do not
    oversubscribe the cores.

    Examples
    --------
    >>> X = [[0], [1], [2], [3]]
    >>> y = [0, 0, 1, 1]
    >>> from fmnist import BlockKNNClassifier
    >>> neigh = BlockKNNClassifier(n_neighbors=3)
    >>> neigh.fit(X, y)
    BlockKNNClassifier(n_neighbors=3)
    >>> print(neigh.predict([[1.1]]))
    [0]
    >>> print(neigh.predict_proba([[0.9]]))
    [[0.666... 0.333...]]
    """

    _parameter_constraints: dict = {
        **SEARCH_PARAMETER_CONSTRAINTS,
        "weights": [StrOptions({"uniform", "distance"}), callable, None],
    }

    def __init__(
        self,
        n_neighbors=5,
        *,
        metric="euclidean",
        p=2,
        metric_params=None,
        weights="uniform",
        algorithm="auto",
        block_size=None,
        n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.weights = weights
        self.algorithm = algorithm
        self.block_size = block_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the k-nearest-neighbours classifier from the training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, height, width)
            Training data; image stacks are flattened.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (numbers or strings); a 2-d ``y`` fits one vote per
            output column, as scikit-learn's multi-output classifiers do.

        Returns
        -------
        self : BlockKNNClassifier
            The fitted classifier.
        """
        X, y = self._validate_training(X, y, multi_output=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=2,
            )
            y = y.ravel()
        check_classification_targets(y)
        self._store_training(X)
        self.outputs_2d_ = y.ndim == 2
        columns = y.T if self.outputs_2d_ else [y]
        classes, encoded = zip(
            *(np.unique(column, return_inverse=True) for column in columns)
        )
        self.classes_ = list(classes) if self.outputs_2d_ else classes[0]
        self._y = np.stack(encoded, axis=1).astype(np.intp, copy=False)
        if not self.outputs_2d_:
            self._y = self._y[:, 0].copy()
        return self

    def _output_classes(self):
        """``(classes, labels)`` of each output: the class labels and the
        encoded training labels (one pair for single-output targets)."""
        if getattr(self, "outputs_2d_", False):
            return [(c, self._y[:, j]) for j, c in enumerate(self.classes_)]
        return [(self.classes_, self._y)]

    def search_index(self):
        """The fitted search: its specification, training rows and labels.

        For code that runs the same search elsewhere, such as
        :func:`fmnist.distributed.sharded_predict`.

        Returns
        -------
        index : SearchIndex
            ``spec`` (a frozen :class:`~fmnist.neighbors.SearchSpec`),
            ``data`` (the training rows as searched: an array, or for sparse
            training rows their canonical sparse copy, which the sharded
            search of :mod:`fmnist.distributed` does not take), ``labels``
            (encoded), ``classes`` and ``weights``.
        """
        check_is_fitted(self)
        if getattr(self, "outputs_2d_", False) or self._spec() is None:
            raise ValueError(
                "search_index serves classifiers fitted on features with a "
                "single-output y; this one was fitted on "
                + ("a 2-d y." if self.outputs_2d_ else "precomputed distances.")
            )
        return SearchIndex(
            self._spec(), self._fit_X, self._y, self.classes_, self.weights
        )

    def _votes(self, X):
        """Per output, ``(classes, votes)``: the summed neighbor weights per
        class, shape (n_queries, n_classes), from one search."""
        check_is_fitted(self)
        neigh_dist, neigh_ind = self.kneighbors(X)
        if not needs_distances(self.weights):
            neigh_dist = None
        return [
            (classes, class_votes(
                neigh_ind, neigh_dist, labels, len(classes), self.weights
            ))
            for classes, labels in self._output_classes()
        ]

    def predict(self, X):
        """Predict the class of each query by a vote of its neighbors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
(n_queries, height, width), or None
            The queries. If None, predict every training sample from its
            neighbors other than itself.

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            Predicted class labels. A tied vote goes to the smallest label.
        """
        predicted = [classes[np.argmax(v, axis=1)] for classes, v in self._votes(X)]
        if not getattr(self, "outputs_2d_", False):
            return predicted[0]
        y_pred = np.empty(
            (len(predicted[0]), len(predicted)), dtype=self.classes_[0].dtype
        )
        for j, column in enumerate(predicted):
            y_pred[:, j] = column
        return y_pred

    def predict_proba(self, X):
        """Return the class probabilities of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
(n_queries, height, width), or None
            The queries. If None, use every training sample, with its
            neighbors other than itself.

        Returns
        -------
        proba : ndarray of shape (n_queries, n_classes), or a list of them
            Weighted fraction of the neighbors in each class (float64); the
            columns follow :attr:`classes_`. A list with one array per output
            for a classifier fitted on a 2-d ``y``.
        """
        probas = []
        for _, votes in self._votes(X):
            votes /= votes.sum(axis=1, keepdims=True)
            probas.append(votes)
        return probas if getattr(self, "outputs_2d_", False) else probas[0]

    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
(n_samples, height, width), or None
            Test samples. If None, every training sample is predicted from
            its neighbors other than itself.

        y : array-like of shape (n_samples,)
            True labels for `X`.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to `y`.
        """
        return super().score(X, y, sample_weight)
