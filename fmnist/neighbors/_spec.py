"""The search specification: every rule of a search, decided once at ``fit``.

A :class:`SearchSpec` holds the metric record and Minkowski power, the dtype
the training rows are stored and searched in, the block sizes and the thread
setting. :meth:`SearchSpec.query_array` is the one rule for queries: a query
the training dtype represents exactly is converted to it (the fast path), any
other is kept in the narrowest exact type (int32 or its own float type) and
compared with the stored training rows as they are, with no widened copy of
the training set.

Kernel dtypes
-------------
uint8, int32, float32 and float64. Training data is stored as:

* uint8 when every value is a whole number in [0, 255] (bool, any integer or
  floating type: a float copy of images is searched as the images);
* int32 for other whole numbers small enough that no squared distance or dot
  product between two rows can overflow int64 (:func:`integer_limit`);
* float32 for float16 and float32 data, float64 for everything else.
"""

import math
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from ._general import arguments_digest, metric_arguments
from ._metrics import Metric, check_sparse_metric, is_metric_object, resolve_metric
from ._vote import class_votes

__all__ = ["SearchIndex", "SearchSpec", "integer_limit", "training_array"]

KERNEL_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.int32, np.float32, np.float64))


def check_n_neighbors(n_neighbors, n_samples_fit, exclude_self=False, n_samples=None):
    """Raise unless ``n_neighbors`` is an int the search can answer.

    The one check of ``n_neighbors`` (the estimators, the search spine and
    the sharded search call it), with scikit-learn's messages: at least 1,
    at most ``n_samples_fit`` (less than it when each training row leaves
    itself out, ``exclude_self``). ``n_samples``, the number of queries, is
    named in the message when given.
    """
    if isinstance(n_neighbors, (bool, np.bool_)) or not isinstance(
        n_neighbors, Integral
    ):
        raise TypeError(
            f"n_neighbors does not take {type(n_neighbors)} value, enter integer value"
        )
    if n_neighbors <= 0:
        raise ValueError(f"Expected n_neighbors > 0. Got {n_neighbors}")
    n_max = n_samples_fit - 1 if exclude_self else n_samples_fit
    if n_neighbors > n_max:
        inequality = "<" if exclude_self else "<="
        queries = "" if n_samples is None else f", n_samples = {n_samples}"
        raise ValueError(
            f"Expected n_neighbors {inequality} n_samples_fit, but n_neighbors = "
            f"{n_neighbors}, n_samples_fit = {n_samples_fit}{queries}"
        )


def integer_limit(n_features):
    """Largest magnitude of int32 data whose squared distances, squared norms
    and dot products over ``n_features`` cannot overflow int64.

    For 784 features it is 54,232,151 (about 5.4e7).
    """
    return min(math.isqrt((2**63 - 1) // max(1, n_features)) // 2, 2**31 - 1)


def _whole_range(X):
    """``(low, high)`` of ``X`` if every value is a whole number, else None."""
    if X.size == 0:
        return 0, 0
    if X.dtype.kind == "b":
        return 0, 1
    low, high = X.min(), X.max()
    if X.dtype.kind == "f" and not np.array_equal(X, np.trunc(X)):
        return None
    return low, high


def _integer_dtype(low, high, n_features, allow_uint8=True):
    if allow_uint8 and 0 <= low and high <= 255:
        return np.dtype(np.uint8)
    limit = integer_limit(n_features)
    if -limit <= low and high <= limit:
        return np.dtype(np.int32)
    return None


def _float32_holds(X):
    """Whether float32 holds every value of ``X`` exactly: float16 and float32
    data, integers of at most 16 bits, and whole numbers up to ``2**24``."""
    if X.dtype.kind == "f":
        return X.dtype.itemsize <= 4
    if X.dtype.itemsize <= 2:
        return True
    low, high = _whole_range(X)
    return -(2**24) <= low and high <= 2**24


def _check_supported(X):
    if X.dtype.kind not in "biuf" or (X.dtype.kind == "f" and X.dtype.itemsize > 8):
        raise TypeError(
            f"Unsupported data type {X.dtype}: expected bool, integer, float16, "
            "float32 or float64 data. Convert it with X.astype(np.float64) first."
        )


def training_array(X):
    """Training rows (validated, 2-D, numeric) in their kernel dtype.

    uint8 input is returned as is (no copy when C-contiguous), bool viewed as
    uint8.
    """
    if X.dtype == np.uint8:
        return np.ascontiguousarray(X)
    _check_supported(X)
    if X.dtype.kind == "b":
        return np.ascontiguousarray(X).view(np.uint8)
    whole = _whole_range(X)
    if whole is not None:
        dtype = _integer_dtype(*whole, X.shape[1])
        if dtype is not None:
            return np.ascontiguousarray(X, dtype=dtype)
    if X.dtype.kind == "f" and X.dtype.itemsize <= 4:
        return np.ascontiguousarray(X, dtype=np.float32)
    return np.ascontiguousarray(X, dtype=np.float64)


def _normalise_block_size(block_size):
    if block_size is None:
        return None
    if isinstance(block_size, Integral):
        return int(block_size), int(block_size)
    return tuple(int(b) for b in block_size)


@dataclass(frozen=True)
class SearchSpec:
    """A validated, immutable description of one kNN search setting.

    Attributes
    ----------
    metric : Metric
        The registry record of the distance.
    p : float
        Minkowski power (used by the 'minkowski' record only).
    train_dtype : numpy.dtype
        Kernel dtype of the stored training rows.
    block_size : (int, int) or None
        ``(query_rows, training_rows)`` per block; None sizes them from the
        L2 cache at each call.
    n_jobs : int or None
        Numba threads per call (None: numba's current setting; negative:
        counted back from all threads).
    algorithm : {'auto', 'brute', 'pruned'}
        'brute' compares every pair; 'pruned' rules most pairs out with
        exact lower bounds where the metric and data allow it
        (:mod:`._pruned`); 'auto' prunes where it pays.
    arguments : Arguments or None
        What the metrics of the generic search (:mod:`._general`) read:
        Minkowski weights, seuclidean variances, the mahalanobis matrix.
    metric_params : dict or None
        The keyword arguments of a callable metric computed in Python.
    identity : tuple or None
        What the search cache keys the distance on: the metric's name, ``p``
        and a digest of ``arguments``; None for callables, never reused.
    sparse : bool
        The training rows are sparse (:mod:`._sparse`): the metric is one
        the sparse search serves, and ``algorithm`` is ignored.
    """

    metric: Metric
    p: float
    train_dtype: np.dtype
    block_size: tuple = None
    n_jobs: int = None
    algorithm: str = "auto"
    arguments: object = field(default=None, compare=False)
    metric_params: dict = field(default=None, compare=False)
    identity: tuple = None
    sparse: bool = False

    @classmethod
    def build(
        cls,
        metric,
        p,
        train_dtype,
        *,
        block_size=None,
        n_jobs=None,
        algorithm="auto",
        metric_params=None,
        training=None,
        sparse=False,
    ):
        """A spec from parameter values (metric names and aliases as the
        estimator takes them, or a callable; ``block_size`` an int or a
        pair; ``metric_params`` a dict or None, its ``p`` taking precedence;
        ``training``, the training rows that size ``metric_params`` and from
        which seuclidean's ``V`` and mahalanobis' ``VI`` are derived when
        absent); ``sparse`` for sparse training rows, a ValueError for a
        metric they cannot be searched with."""
        if metric_params is not None and not isinstance(metric_params, dict):
            raise TypeError(
                "metric_params must be a dict or None. "
                f"Got {type(metric_params).__name__}."
            )
        params = dict(metric_params or {})
        weighted = params.get("w") is not None
        if not is_metric_object(metric):  # objects get their parameters as given
            p = params.pop("p", p)
            if not weighted:
                params.pop("w", None)
        record, p = resolve_metric(metric, p, weighted)
        if sparse:
            check_sparse_metric(record)
        arguments = metric_arguments(record, params, p, training)
        identity = None
        if record.function is None:
            identity = (record.name, float(p), arguments_digest(arguments))
        train_dtype = np.dtype(train_dtype)
        if train_dtype not in KERNEL_DTYPES:
            raise TypeError(
                f"train_dtype must be one of {[str(d) for d in KERNEL_DTYPES]}. "
                f"Got {train_dtype}."
            )
        if algorithm not in ("auto", "brute", "pruned"):
            raise ValueError(
                "algorithm must be 'auto', 'brute' or 'pruned'. "
                f"Got {algorithm!r} instead."
            )
        return cls(
            record,
            p,
            train_dtype,
            _normalise_block_size(block_size),
            n_jobs,
            algorithm,
            arguments,
            params if record.general == "python" else None,
            identity,
            bool(sparse),
        )

    @property
    def effective_metric(self):
        """The name of the distance computed (aliases and Minkowski
        resolved), or the callable metric itself."""
        if self.metric.function is not None:
            return self.metric.function
        return self.metric.name

    def query_array(self, X):
        """Validated 2-D numeric queries in the dtype they are searched in.

        Queries that the training dtype holds exactly are converted to it.
        Others keep their values: whole numbers become int32 (when the
        training rows are integers and they fit), everything else float32 (for
        float16/float32 input) or float64.
        """
        train = self.train_dtype
        if X.dtype == train:
            return np.ascontiguousarray(X)
        _check_supported(X)
        if X.dtype.kind == "b":
            X = np.ascontiguousarray(X).view(np.uint8)
        if train.kind in "iu":
            whole = _whole_range(X)
            if whole is not None:
                dtype = _integer_dtype(
                    *whole, X.shape[1], allow_uint8=train == np.uint8
                )
                if dtype is not None:
                    return np.ascontiguousarray(X, dtype=dtype)
        elif train == np.float32 and _float32_holds(X):
            return np.ascontiguousarray(X, dtype=np.float32)
        if X.dtype.kind == "f" and X.dtype.itemsize <= 4:
            return np.ascontiguousarray(X, dtype=np.float32)
        return np.ascontiguousarray(X, dtype=np.float64)


class SearchIndex:
    """What a fitted :class:`BlockKNNClassifier` searches and votes with.

    Returned by :meth:`BlockKNNClassifier.search_index`; read-only views.

    Attributes
    ----------
    spec : SearchSpec
        Metric, power, training dtype, blocks and threads.
    data : ndarray of shape (n_samples_fit, n_features)
        The training rows as searched (in ``spec.train_dtype``).
    labels : ndarray of shape (n_samples_fit,)
        Encoded training labels, indices into ``classes``.
    classes : ndarray of shape (n_classes,)
        The class labels.
    weights : {'uniform', 'distance'}, callable or None
        The vote's weights.
    """

    __slots__ = ("spec", "data", "labels", "classes", "weights")

    def __init__(self, spec, data, labels, classes, weights):
        self.spec = spec
        self.data = data
        self.labels = labels
        self.classes = classes
        self.weights = weights

    def votes(self, neigh_ind, neigh_dist=None):
        """Summed neighbour weights per class (see :func:`class_votes`)."""
        return class_votes(
            neigh_ind, neigh_dist, self.labels, len(self.classes), self.weights
        )

    def __repr__(self):
        return (
            f"SearchIndex(metric={self.spec.effective_metric!r}, "
            f"data={self.data.shape} {self.data.dtype})"
        )
