"""The fitted search the kNN estimators share.

:class:`KNeighborsSearchMixin` owns what every estimator over the exact search
does the same way: the search parameters' constraints, the validation of the
training data and of queries, the stored training rows, the
:class:`~fmnist.neighbors.SearchSpec` built at ``fit`` (rebuilt only when
``set_params`` changed a search parameter), ``kneighbors``,
``kneighbors_graph`` and pickling. The estimators add only what is theirs
(labels and the vote; the graph as a transform).
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import DistanceMetric
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, Options, StrOptions
from .._images import flatten_image_stack
from .._persistence import stamp_version, warn_if_other_version
from . import _search
from ._general import effective_metric_params
from ._metrics import METRIC_ALIASES
from ._precomputed import check_precomputed, precomputed_kneighbors
from ._sparse import _rows as _sparse_rows
from ._sparse import _search as _sparse_search
from ._spec import SearchSpec, check_n_neighbors, training_array

__all__ = [
    "SEARCH_PARAMETER_CONSTRAINTS",
    "KNeighborsSearchMixin",
    "csr_graph",
    "neighbors_graph",
]

#: The ``metric`` that reads neighbours from distance matrices or graphs.
PRECOMPUTED = "precomputed"


class _BlockSizePair(Options):
    """Constraint: a pair ``(query_rows, training_rows)`` of positive ints.

    An ``Options`` subclass only because scikit-learn's parameter validation
    accepts its own constraint classes alone.
    """

    def __init__(self):
        super().__init__(tuple, set())

    def is_satisfied_by(self, val):
        return (
            isinstance(val, tuple)
            and len(val) == 2
            and all(
                isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
                for v in val
            )
        )

    def __str__(self):
        return "a pair (query_rows, training_rows) of ints >= 1"


SEARCH_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "metric": [StrOptions({*METRIC_ALIASES, PRECOMPUTED}), callable, DistanceMetric],
    "p": [Interval(Real, 0, None, closed="neither"), Options(Real, {np.inf})],
    "metric_params": [dict, None],
    "algorithm": [StrOptions({"auto", "brute", "pruned"})],
    "block_size": [Interval(Integral, 1, None, closed="left"), _BlockSizePair(), None],
    "n_jobs": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Integral, None, -1, closed="right"),
        None,
    ],
}

GRAPH_MODES = ("connectivity", "distance")


def neighbors_graph(neigh_dist, neigh_ind, n_samples_fit, mode):
    """The CSR graph of a kNN result, as scikit-learn's ``kneighbors_graph``.

    Row ``i`` holds its neighbours in the order found (nearest first, so the
    column indices are not sorted), with the distance (an explicit 0 for a
    sample at distance zero) or 1.0 as value, in float64, with intp indices.
    The sparse container (``csr_matrix`` or ``csr_array``) follows
    scikit-learn's ``sparse_interface`` setting.
    """
    n_queries, n_neighbors = neigh_ind.shape
    if mode == "connectivity":
        data = np.ones(n_queries * n_neighbors)
    else:
        data = np.ravel(neigh_dist)
    indptr = np.arange(0, n_queries * n_neighbors + 1, n_neighbors)
    return csr_graph(data, neigh_ind.ravel(), indptr, n_samples_fit)


def csr_graph(data, indices, indptr, n_samples_fit):
    """The CSR matrix of a neighbors graph (float64 ``data``, intp
    ``indices``), in the sparse container of scikit-learn's
    ``sparse_interface`` setting."""
    shape = (indptr.shape[0] - 1, n_samples_fit)
    graph = sparse.csr_array((data, indices, indptr), shape=shape)
    # Converted as scikit-learn converts it, keeping the intp indices.
    if get_config().get("sparse_interface", "spmatrix") == "spmatrix":
        graph = sparse.csr_matrix(graph)
    return graph


def _params_token(metric_params):
    """A comparable snapshot of ``metric_params`` (arrays by their values),
    so that a changed or replaced dict rebuilds the search spec."""
    if not isinstance(metric_params, dict):
        return metric_params
    token = []
    for name, value in sorted(metric_params.items(), key=lambda item: str(item[0])):
        try:
            array = np.asarray(value)
            value = (array.dtype.str, array.shape, array.tobytes())
        except (TypeError, ValueError):
            value = ("object", id(value))
        token.append((name, value))
    return tuple(token)


class KNeighborsSearchMixin:
    """Training rows, search spec, queries and neighbours of a kNN estimator.

    The estimator declares ``n_neighbors``, ``metric``, ``p``,
    ``metric_params``, ``block_size`` and ``n_jobs`` (constraints in
    :data:`SEARCH_PARAMETER_CONSTRAINTS`), calls :meth:`_validate_training`
    then :meth:`_store_training` in ``fit`` and searches with
    :meth:`kneighbors`. It goes left of ``BaseEstimator``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.metric == "nan_euclidean"
        # A precomputed matrix is split by rows and columns in cross-validation.
        tags.input_tags.pairwise = self.metric == PRECOMPUTED
        tags.input_tags.sparse = True
        return tags

    def _finite(self):
        """``ensure_all_finite`` of ``validate_data``: NaN is a missing value
        for the nan_euclidean metric only."""
        return "allow-nan" if self.metric == "nan_euclidean" else True

    def _validate_training(self, X, y="no_validation", **checks):
        """``validate_data`` of ``fit``: image stacks flattened, dense arrays
        in C order, sparse input in CSR; a precomputed matrix dense or sparse,
        square and non-negative.

        ``X`` may also be a fitted neighbours index (a fitted fmnist or
        scikit-learn neighbours estimator, or a scikit-learn ``BallTree`` or
        ``KDTree``), whose training rows are then used.
        """
        X = _indexed_rows(X)
        if self.metric == PRECOMPUTED:
            X, y = _split_xy(
                validate_data(self, X, y, accept_sparse=True, **checks), y
            )
            X = check_precomputed(X)
            return X if _no_y(y) else (X, y)
        return validate_data(
            self,
            flatten_image_stack(X)[0],
            y,
            dtype="numeric",
            order="C",
            accept_sparse="csr",
            ensure_all_finite=self._finite(),
            **checks,
        )

    def _store_training(self, X):
        """Store validated training rows in their kernel dtype (sparse input
        as a private canonical copy); build the spec."""
        if self.metric == PRECOMPUTED:
            self._fit_X = X
            self._training_rows = None
            self.n_samples_fit_ = X.shape[0]
            self._search_spec = None
            self._search_spec_params = self._spec_params()
            self.effective_metric_ = PRECOMPUTED
            self.effective_metric_params_ = dict(self.metric_params or {})
            return
        if sparse.issparse(X):
            self._fit_X = _sparse_rows.sparse_rows(X, copy=True)
        else:
            self._fit_X = training_array(X)
        # What the search derives from the rows, each computed at first use.
        self._training_rows = _training_rows(self._fit_X)
        self.n_samples_fit_ = self._fit_X.shape[0]
        self._search_spec = self._build_spec()
        self._warn_as_sklearn(X)
        self.effective_metric_ = self._search_spec.effective_metric
        self.effective_metric_params_ = self._effective_metric_params()

    def _warn_as_sklearn(self, X):
        """The warnings scikit-learn's neighbours give at ``fit`` for these
        parameters and data."""
        spec = self._search_spec
        if self.metric_params is not None and "p" in self.metric_params:
            warnings.warn(
                "Parameter p is found in metric_params. The corresponding "
                "parameter from __init__ is ignored.",
                SyntaxWarning,
                stacklevel=3,
            )
        if spec.metric.name == "minkowski" and spec.p < 1:
            warnings.warn(
                "Mind that for 0 < p < 1, Minkowski metrics are not distance "
                "metrics. Continuing the execution with `algorithm='brute'`.",
                stacklevel=3,
            )
        if spec.metric.boolean and X.dtype != bool:
            warnings.warn(
                f"Data was converted to boolean for metric {spec.metric.name}",
                DataConversionWarning,
                stacklevel=3,
            )

    def _effective_metric_params(self):
        """``metric_params`` as the search uses them (scikit-learn's
        ``effective_metric_params_``): Minkowski's ``p`` and ``w``, the
        derived ``V`` or ``VI``, a callable's own parameters."""
        spec = self._search_spec
        return effective_metric_params(
            spec.metric, spec.arguments, spec.p, self.metric_params
        )

    def _spec_params(self):
        return (
            self.metric,
            self.p,
            _params_token(self.metric_params),
            self.algorithm,
            self.block_size,
            self.n_jobs,
        )

    def _build_spec(self):
        spec = SearchSpec.build(
            self.metric,
            self.p,
            self._fit_X.dtype,
            block_size=self.block_size,
            n_jobs=self.n_jobs,
            algorithm=self.algorithm,
            metric_params=self.metric_params,
            training=self._fit_X,
            sparse=_is_sparse_rows(self._fit_X),
        )
        self._search_spec_params = self._spec_params()
        return spec

    def _spec(self):
        """The fitted search spec; rebuilt (and re-validated) only when
        ``set_params`` changed a search parameter after ``fit``."""
        if (self.metric == PRECOMPUTED) != self._fit_precomputed():
            raise ValueError(
                f"metric was changed to {self.metric!r} after fitting with "
                f"{self._search_spec_params[0]!r}; distances and features "
                "are different data: call fit again."
            )
        if self._fit_precomputed():
            return None
        if self._search_spec_params != self._spec_params():
            self._validate_params()
            self._search_spec = self._build_spec()
        return self._search_spec

    def _fit_precomputed(self):
        return self.effective_metric_ == PRECOMPUTED

    def _validate_query(self, X):
        if self._spec() is None:
            X = validate_data(self, X, reset=False, accept_sparse=True)
            return check_precomputed(X, self.n_samples_fit_)
        X = validate_data(
            self,
            flatten_image_stack(X)[0],
            reset=False,
            dtype="numeric",
            order="C",
            accept_sparse="csr",
            ensure_all_finite=self._finite(),
        )
        if _is_sparse_rows(self._fit_X):
            return _sparse_search.query_rows(X, self._fit_X)
        if sparse.issparse(X):
            return _sparse_search.checked_queries(X)
        return self._spec().query_array(X)

    def _search(self, X, n_neighbors, exclude_self):
        """Neighbours of validated queries ``X`` (the training rows when
        ``exclude_self``), after checking ``n_neighbors`` against the fit.

        Sparse training rows are searched by the sparse search; sparse
        queries of dense training rows by the dense search, made dense a
        chunk of rows at a time."""
        check_n_neighbors(n_neighbors, self.n_samples_fit_, exclude_self, X.shape[0])
        if self._spec() is None:
            return precomputed_kneighbors(X, int(n_neighbors), exclude_self)
        if _is_sparse_rows(self._fit_X) and self._spec().metric.general == "python":
            from ._general._driver import python_metric_kneighbors

            return python_metric_kneighbors(
                X.toscipy(),
                self._fit_X.toscipy(),
                self._spec(),
                int(n_neighbors),
                exclude_self,
            )
        if _is_sparse_rows(self._fit_X):
            return _sparse_search.search(
                self._spec(),
                X,
                self._fit_X,
                int(n_neighbors),
                exclude_self=exclude_self,
                training=self._training_rows,
            )
        if sparse.issparse(X):
            return _sparse_search.search_densified(
                self._spec(), X, self._fit_X, int(n_neighbors), self._training_rows
            )
        return _search.search(
            self._spec(),
            X,
            self._fit_X,
            int(n_neighbors),
            exclude_self=exclude_self,
            training=self._training_rows,
        )

    def _neighbors_of(self, X, n_neighbors):
        """``kneighbors`` with its arguments checked: ``X`` None means the
        training samples, each without itself."""
        check_is_fitted(self)
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        if X is None:
            return self._search(self._fit_X, n_neighbors, exclude_self=True)
        return self._search(self._validate_query(X), n_neighbors, exclude_self=False)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest training samples of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
(n_queries, height, width), default=None
            The queries. If None, the neighbors of every training sample are
            returned, a sample never being its own neighbor (a duplicate of it
            can be).

        n_neighbors : int, default=None
            Number of neighbors; the ``n_neighbors`` parameter when None.

        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances to the neighbors, ascending (float64). Only present if
            ``return_distance=True``.

        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbors in the training data. At equal distance
            the lower index comes first.
        """
        neigh_dist, neigh_ind = self._neighbors_of(X, n_neighbors)
        if return_distance:
            return neigh_dist, neigh_ind
        return neigh_ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Compute the (weighted) graph of k-neighbors of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features) or \
(n_queries, height, width), default=None
            The queries. If None, the neighbors of every training sample,
            a sample never being its own neighbor.

        n_neighbors : int, default=None
            Number of neighbors of each query; the ``n_neighbors`` parameter
            when None.

        mode : {'connectivity', 'distance'}, default='connectivity'
            'connectivity' gives the edges weight 1, 'distance' the distance
            between the samples.

        Returns
        -------
        A : sparse matrix of shape (n_queries, n_samples_fit)
            CSR matrix (float64) with ``n_neighbors`` stored entries per row,
            nearest first: ``A[i, j]`` is the weight of the edge from query
            ``i`` to training sample ``j``. A neighbor at distance 0 is an
            explicit zero in 'distance' mode.
        """
        if mode not in GRAPH_MODES:
            raise ValueError(
                'Unsupported mode, must be one of "connectivity", '
                f'or "distance" but got "{mode}" instead'
            )
        neigh_dist, neigh_ind = self._neighbors_of(X, n_neighbors)
        return neighbors_graph(neigh_dist, neigh_ind, self.n_samples_fit_, mode)

    def __getstate__(self):
        # A copy: ``object.__getstate__`` may return the live ``__dict__``.
        # The search spec and the effective metric parameters are derived
        # state, rebuilt on load, so pickles hold only arrays and plain values.
        state = stamp_version(super().__getstate__())
        state.pop("_search_spec", None)
        state.pop("_search_spec_params", None)
        state.pop("_training_rows", None)
        state.pop("effective_metric_params_", None)
        return state

    def __setstate__(self, state):
        state = warn_if_other_version(self, state)
        # Pickles from before metric_params existed searched without them.
        state.setdefault("metric_params", None)
        super().__setstate__(state)
        if "_fit_X" in state and state.get("effective_metric_") == PRECOMPUTED:
            self._search_spec = None
            self._search_spec_params = self._spec_params()
            self._training_rows = None
            self.effective_metric_params_ = dict(self.metric_params or {})
        elif "_fit_X" in state:
            self._search_spec = self._build_spec()
            self._training_rows = _training_rows(self._fit_X)
            self.effective_metric_params_ = self._effective_metric_params()


def _no_y(y):
    return isinstance(y, str) and y == "no_validation"


def _split_xy(validated, y):
    """``(X, y)`` from ``validate_data``'s result (X alone when no ``y``)."""
    return (validated, y) if _no_y(y) else validated


def _indexed_rows(X):
    """The training rows of a fitted neighbours index, else ``X`` itself.

    As scikit-learn's neighbours estimators do, ``fit`` takes a fitted
    neighbours estimator (its ``_fit_X``) or a ``BallTree``/``KDTree`` (its
    ``data``) in place of the rows.
    """
    from sklearn.neighbors import BallTree, KDTree

    if isinstance(X, (BallTree, KDTree)):
        return np.asarray(X.data)
    fitted_rows = getattr(X, "_fit_X", None)
    if isinstance(fitted_rows, _sparse_rows.SparseRows):
        return fitted_rows.toscipy()
    if fitted_rows is not None and hasattr(X, "kneighbors"):
        return fitted_rows
    return X


def _is_sparse_rows(rows):
    return isinstance(rows, _sparse_rows.SparseRows)


def _training_rows(rows):
    """What the search derives from the stored rows, kept between searches."""
    if _is_sparse_rows(rows):
        return _sparse_rows.SparseTrainingRows(rows)
    return _search.TrainingRows(rows)
