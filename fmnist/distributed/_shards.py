"""Training sets split into contiguous shards held by dask workers."""

import numbers

import numpy as np

from ..neighbors import KERNEL_DTYPES, BlockKNNClassifier
from ._cluster import require_distributed

__all__ = ["TrainingShards", "as_kernel_array", "scatter_shards"]


class TrainingShards:
    """A training set split into contiguous shards held by dask workers.

    Made by :func:`scatter_shards`; pass it to :func:`sharded_kneighbors` or
    :func:`sharded_predict` to search the same training set many times
    without sending it again.

    Parameters
    ----------
    futures : list of distributed.Future
        One future per shard, each holding a C-contiguous array of shape
        ``(stops[i] - starts[i], n_features)``.
    starts : array-like of shape (n_shards,)
        Global index of the first row of each shard.
    stops : array-like of shape (n_shards,)
        Global index one past the last row of each shard.
    n_features : int
        Columns of the training set.
    dtype : numpy.dtype
        Dtype of every shard.
    workers : list of str
        Address of the worker each shard was placed on.

    Attributes
    ----------
    n_samples : int
        Rows in the whole training set, ``stops[-1]``.
    n_shards : int
        Number of shards.
    """

    def __init__(self, futures, starts, stops, n_features, dtype, workers):
        self.futures = list(futures)
        self.starts = np.asarray(starts, dtype=np.intp)
        self.stops = np.asarray(stops, dtype=np.intp)
        self.n_samples = int(self.stops[-1])
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype)
        self.workers = list(workers)

    @property
    def n_shards(self):
        """Number of shards."""
        return len(self.futures)

    def release(self):
        """Let the workers drop the shards."""
        for future in self.futures:
            future.release()
        self.futures = []

    def __repr__(self):
        return (
            f"TrainingShards(n_shards={self.n_shards}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, dtype={self.dtype})"
        )


def as_kernel_array(X, name):
    """Return ``X`` as a 2-D C-contiguous array of a dtype the kernel takes."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array for {name}, got an array of shape {X.shape}."
        )
    if X.dtype not in KERNEL_DTYPES:
        if X.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold numbers; got an array of dtype {X.dtype}."
            )
        X = X.astype(np.float64)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return np.ascontiguousarray(X)


def _shard_bounds(n_samples, n_shards):
    """Contiguous, near-equal ``(starts, stops)`` of ``n_shards`` shards."""
    edges = np.linspace(0, n_samples, n_shards + 1).round().astype(np.intp)
    return edges[:-1], edges[1:]


def _check_n_shards(n_shards, n_samples, n_workers):
    if n_shards is None:
        n_shards = max(1, n_workers)
    if (
        not isinstance(n_shards, numbers.Integral)
        or isinstance(n_shards, bool)
        or n_shards < 1
    ):
        raise ValueError(f"n_shards must be an int >= 1. Got {n_shards!r} instead.")
    if n_shards > n_samples:
        raise ValueError(
            f"Expected n_shards <= n_samples, but n_shards = {n_shards}, "
            f"n_samples = {n_samples}."
        )
    return int(n_shards)


def scatter_shards(client, X, n_shards=None):
    """Split ``X`` into contiguous shards and place them on the workers.

    Shard ``i`` holds rows ``starts[i]:stops[i]`` and goes to worker
    ``i % n_workers`` (workers sorted by address), so each worker keeps about
    ``1 / n_workers`` of the training set. The rows are sent once.

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster to use.
    X : array-like of shape (n_samples, n_features) or BlockKNNClassifier
        Training set, or a fitted :class:`~fmnist.BlockKNNClassifier` whose
        stored training data is sharded (as it stores it: uint8 images stay
        uint8). For arrays, uint8, int32, float32 and float64 are kept as they
        are; other numeric dtypes become float64.
    n_shards : int, default=None
        Number of shards; ``None`` means one per worker.

    Returns
    -------
    shards : TrainingShards
        Futures of the shards and their row ranges. Call
        :meth:`TrainingShards.release` when done, or let it be garbage
        collected.

    See Also
    --------
    sharded_kneighbors : Search the shards.
    sharded_predict : Predict with a classifier whose data are sharded.
    """
    require_distributed()
    if isinstance(X, BlockKNNClassifier):
        X = X.search_index().data
        _require_dense(X)
    else:
        X = as_kernel_array(X, "X")
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise RuntimeError("The cluster has no workers to hold the shards.")
    n_shards = _check_n_shards(n_shards, X.shape[0], len(workers))
    starts, stops = _shard_bounds(X.shape[0], n_shards)
    futures, placed_on = [], []
    for i, (start, stop) in enumerate(zip(starts, stops)):
        worker = workers[i % len(workers)]
        shard = np.ascontiguousarray(X[start:stop])
        futures.append(client.scatter(shard, workers=[worker], hash=False))
        placed_on.append(worker)
    return TrainingShards(futures, starts, stops, X.shape[1], X.dtype, placed_on)


def _require_dense(data):
    """Raise a TypeError for a classifier fitted on sparse rows."""
    if not isinstance(data, np.ndarray):
        raise TypeError(
            "The sharded search takes dense training rows; this classifier was "
            "fitted on sparse rows. Fit it on X.toarray() to shard it."
        )
