"""``metric_params``: checked against the metric record, derived where absent.

:func:`metric_arguments` turns the ``metric_params`` of an estimator into the
:class:`~._distances.Arguments` the per-pair distances read, with the checks
scikit-learn's ``DistanceMetric`` makes (and its messages where it has one).
As scikit-learn's brute force does for the training samples
(``kneighbors()``), seuclidean without ``V`` takes the variances of the
training rows (``ddof=1``) and mahalanobis without ``V`` or ``VI`` the inverse
of their covariance; unlike scikit-learn, which then refuses other queries,
these are kept for every query.
"""

import hashlib
from typing import NamedTuple

import numpy as np

__all__ = [
    "Arguments",
    "arguments_digest",
    "check_arguments",
    "effective_metric_params",
    "metric_arguments",
]


class Arguments(NamedTuple):
    """What a per-pair distance may read besides the two rows.

    Attributes
    ----------
    vector : ndarray of shape (n_features,) or (0,), float64
        Minkowski weights ``w`` or seuclidean variances ``V``.
    matrix : ndarray of shape (n_features, n_features) or (0, 0), float64
        The inverse covariance ``VI`` of mahalanobis.
    p : float
        The Minkowski power.
    scratch : ndarray of shape (n_features,) or (0,), float64
        Working memory of one thread's distances (the search gives each
        call of its kernel its own); empty here.
    """

    vector: np.ndarray
    matrix: np.ndarray
    p: float
    scratch: np.ndarray


_EMPTY = (np.empty(0, dtype=np.float64), np.empty((0, 0), dtype=np.float64))
_NO_SCRATCH = _EMPTY[0]


def _vector(value, name, n_features):
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"metric_params[{name!r}] must be an array of numbers. Got {value!r}."
        ) from err
    if vector.ndim != 1 or vector.shape[0] != n_features:
        raise ValueError(
            f"metric_params[{name!r}] must have shape ({n_features},), one value "
            f"per feature. Got shape {vector.shape}."
        )
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"metric_params[{name!r}] must hold finite values.")
    return np.ascontiguousarray(vector)


def _matrix(value, name, n_features):
    try:
        matrix = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"metric_params[{name!r}] must be an array of numbers. Got {value!r}."
        ) from err
    if matrix.shape != (n_features, n_features):
        raise ValueError(
            f"metric_params[{name!r}] must be a square matrix of shape "
            f"({n_features}, {n_features}). Got shape {matrix.shape}."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"metric_params[{name!r}] must hold finite values.")
    return np.ascontiguousarray(matrix)


def _check_names(metric, params):
    allowed = set(metric.params) | {"p"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = ", ".join(repr(n) for n in metric.params) or "none but 'p'"
        raise ValueError(
            f"metric_params {unknown} are not parameters of the {metric.name!r} "
            f"metric, which takes {takes}."
        )


def _training_float64(training, metric):
    if training is None:
        raise ValueError(
            f"The {metric.params[0]!r} parameter is required for the "
            f"{metric.name!r} metric when there are no training rows to derive "
            "it from."
        )
    return np.asarray(training, dtype=np.float64)


def metric_arguments(metric, params, p, training=None):
    """The :class:`~._distances.Arguments` of ``metric`` (a ``Metric``
    record) for ``params`` (the ``metric_params`` dict or None), Minkowski
    power ``p`` and training rows ``training`` (2-D, to size and derive
    parameters from)."""
    params = {} if params is None else dict(params)
    vector, matrix = _EMPTY
    if metric.general == "numba" and params:
        raise ValueError(
            "metric_params cannot be passed to a numba-compiled metric: bind "
            "its parameters in the function instead (for example in a closure "
            f"decorated with numba.njit). Got {sorted(params)}."
        )
    if metric.general in ("numba", "python"):
        return Arguments(vector, matrix, float(p), _NO_SCRATCH)
    _check_names(metric, params)
    n_features = None if training is None else training.shape[1]
    name = metric.general
    if name == "weighted_minkowski":
        vector = _vector(params["w"], "w", n_features or len(params["w"]))
        if np.any(vector < 0):
            raise ValueError("w cannot contain negative weights")
    elif name == "seuclidean":
        if "V" in params:
            vector = _vector(params["V"], "V", n_features or len(params["V"]))
        else:
            vector = np.var(_training_float64(training, metric), axis=0, ddof=1)
    elif name == "mahalanobis":
        matrix = _mahalanobis_matrix(params, training, metric)
    arguments = Arguments(vector, matrix, float(p), _NO_SCRATCH)
    if n_features is not None:
        check_arguments(metric, arguments, n_features)
    return arguments


def _mahalanobis_matrix(params, training, metric):
    n_features = None if training is None else training.shape[1]
    if "VI" in params:
        size = n_features or np.shape(params["VI"])[0]
        return _matrix(params["VI"], "VI", size)
    if "V" in params:
        size = n_features or np.shape(params["V"])[0]
        V = _matrix(params["V"], "V", size)
    else:
        rows = _training_float64(training, metric)
        V = np.atleast_2d(np.cov(rows.T))
    try:
        # scikit-learn's DistanceMetric inverts V so; its brute force takes
        # np.linalg.inv(np.cov(X.T)).T for the training samples.
        return np.ascontiguousarray(np.linalg.inv(V).T)
    except np.linalg.LinAlgError as err:
        source = "V" if "V" in params else "the covariance of the training rows"
        raise ValueError(
            f"{source} is singular, so the mahalanobis metric is undefined; "
            "pass an invertible 'V' or the inverse 'VI' in metric_params."
        ) from err


def check_arguments(metric, arguments, n_features):
    """Raise unless ``arguments`` fit rows of ``n_features``: what keeps the
    kernel's reads in bounds."""
    if metric.n_features is not None and n_features != metric.n_features:
        raise ValueError(
            f"The {metric.name} distance is only defined for {metric.n_features} "
            f"features (latitude and longitude in radians). Got {n_features}."
        )
    vector, matrix = arguments.vector, arguments.matrix
    needs_vector = metric.general in ("weighted_minkowski", "seuclidean")
    if needs_vector and vector.shape != (n_features,):
        name = "w" if metric.general == "weighted_minkowski" else "V"
        raise ValueError(
            f"The size of {name} ({vector.shape[0]}) must match the number of "
            f"features ({n_features})."
        )
    if metric.general == "mahalanobis" and matrix.shape != (n_features,) * 2:
        raise ValueError(
            f"VI of shape {matrix.shape} does not match the number of features "
            f"({n_features}); it must be ({n_features}, {n_features})."
        )


def arguments_digest(arguments):
    """A digest of ``arguments``' values, for the search cache's key."""
    h = hashlib.blake2b(digest_size=16)
    for array in (arguments.vector, arguments.matrix):
        h.update(f"{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(repr(float(arguments.p)).encode())
    return h.digest()


def effective_metric_params(metric, arguments, p, metric_params):
    """The parameters ``metric`` (a ``Metric`` record) is searched with, as
    scikit-learn's ``effective_metric_params_``: Minkowski's ``p`` and ``w``,
    seuclidean's ``V`` and mahalanobis' ``VI`` (derived or given), a
    callable's ``metric_params``; empty for the other metrics."""
    if metric.function is not None:
        return dict(metric_params or {})
    if metric.general == "weighted_minkowski":
        return {"p": p, "w": arguments.vector}
    if metric.name == "minkowski":
        return {"p": p, "w": None}
    if metric.general == "seuclidean":
        return {"V": arguments.vector}
    if metric.general == "mahalanobis":
        return {"VI": arguments.matrix}
    return {}
